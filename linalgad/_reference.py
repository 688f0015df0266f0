"""Readable NumPy twins of every rule: the test oracle and the teaching aid.

Each function is the formula of docs/ and ../spec/MATH.md written as
directly as NumPy allows, for stacks (..., m, n), with no degeneracy policy:
1/gap is taken literally ("exact" mode). They are slow on purpose (they form
every intermediate) and must never be used by the library itself.
Symbols follow the math: J = U^H dU, K = V^H dV, X = skew(J), F, ...
"""

import numpy as np

__all__ = [
    "svd_vjp", "svd_jvp", "svd_vjp_truncated_naive", "polar_vjp", "polar_jvp",
]


def H(X):
    """Conjugate transpose of the last two axes."""
    return np.conj(np.swapaxes(X, -1, -2))


def skew(X):
    return X - H(X)


def herm(X):
    return 0.5 * (X + H(X))


def _offdiag_inverse(D):
    """1/D off the diagonal, 0 on it (D has an exactly zero diagonal)."""
    k = D.shape[-1]
    eye = np.eye(k, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, D))


# ---------------------------------------------------------------------------
# SVD, thin: A = U diag(S) Vh
# ---------------------------------------------------------------------------

def svd_vjp(U, S, Vh, dU=None, dS=None, dVh=None):
    """dA from cotangents of the thin SVD (MATH.md, "SVD, thin")."""
    V = H(Vh)
    m, k = U.shape[-2], U.shape[-1]
    n = V.shape[-2]
    dtype = np.result_type(U, 1.0)
    zero = np.zeros(U.shape[:-2] + (k, k), dtype)
    J = H(U) @ dU if dU is not None else zero
    K = Vh @ H(dVh) if dVh is not None else zero          # V^H dV with dV = dVh^H
    X, Y = skew(J), skew(K)
    s_i, s_j = S[..., :, None], S[..., None, :]
    Gminus = _offdiag_inverse(s_j - s_i)                   # 1/(s_j - s_i)
    with np.errstate(divide="ignore"):
        Gplus = 1.0 / (s_j + s_i)                          # 1/(s_j + s_i)
    M = 0.5 * (X + Y) * Gminus + 0.5 * (X - Y) * Gplus * (1 - np.eye(k))
    diag = np.zeros(S.shape, dtype)
    if dS is not None:
        diag = diag + dS
    if np.iscomplexobj(U):
        diag = diag + 1j * (np.diagonal(J, 0, -2, -1).imag - np.diagonal(K, 0, -2, -1).imag) / (2 * S)
    M = M + diag[..., :, None] * np.eye(k)
    dA = U @ M @ Vh
    Sinv = 1.0 / S
    if m > k and dU is not None:
        dA = dA + ((dU - U @ J) * Sinv[..., None, :]) @ Vh   # (I - U U^H) dU S^-1 Vh
    if n > k and dVh is not None:
        dA = dA + U @ (Sinv[..., :, None] * (dVh - H(K) @ Vh))  # U S^-1 dV^H (I - V V^H)
    return dA


def svd_jvp(U, S, Vh, dA):
    """(dU, dS, dVh) of the thin SVD along dA; the imaginary diagonal of
    U^H dU - V^H dV split evenly."""
    V = H(Vh)
    m, k = U.shape[-2], U.shape[-1]
    n = V.shape[-2]
    R = H(U) @ dA @ V
    dS = np.real(np.diagonal(R, 0, -2, -1))
    s_i, s_j = S[..., :, None], S[..., None, :]
    F = _offdiag_inverse(s_j**2 - s_i**2)                  # fine for the oracle at moderate scale
    dP = F * (R * s_j + s_i * H(R))
    dQ = F * (R * s_i + H(R) * s_j)
    if np.iscomplexobj(U):
        t = 0.5j * np.diagonal(R, 0, -2, -1).imag / S
        dP = dP + t[..., :, None] * np.eye(k)
        dQ = dQ - t[..., :, None] * np.eye(k)
    dU = U @ dP
    dV = V @ dQ
    if m > k:
        dU = dU + (dA @ V - U @ R) / S[..., None, :]
    if n > k:
        dV = dV + (H(dA) @ U - V @ H(R)) / S[..., None, :]
    return dU, dS, H(dV)


def svd_vjp_truncated_naive(U, S, Vh, dU=None, dS=None, dVh=None):
    """The commonly used (and wrong) truncated rule: the thin formula applied
    to the kept triplets alone, as if A had rank k. It drops the coupling
    1/(s_j -+ s_a) between kept j and discarded a; exact only when the
    discarded singular values are zero (notebook 6)."""
    return svd_vjp(U, S, Vh, dU, dS, dVh)


# ---------------------------------------------------------------------------
# Polar: A = Q P, Q = U Vh, P = V S Vh
# ---------------------------------------------------------------------------

def polar_vjp(A, dQ=None, dP=None):
    U, S, Vh = np.linalg.svd(A, full_matrices=False)
    V = H(Vh)
    m, n = A.shape[-2:]
    Q = U @ Vh
    G = np.zeros_like(Q) if dQ is None else dQ
    if dP is not None:
        G = G + A @ herm(dP)                               # P = Q^H A feeds dQ
    Z = H(U) @ G @ V
    dA = U @ (skew(Z) / (S[..., :, None] + S[..., None, :])) @ Vh
    if m > n:
        dA = dA + (G @ V - U @ Z) / S[..., None, :] @ Vh   # (I - U U^H) G V S^-1 V^H
    if n > m:
        dA = dA + U @ ((H(U) @ G - Z @ Vh) / S[..., :, None])  # U S^-1 U^H G (I - V V^H)
    if dP is not None:
        dA = dA + Q @ herm(dP)
    return dA


def polar_jvp(A, dA):
    """(dQ, dP): the Q map is self-adjoint, so dQ = polar_vjp(A, dQ=dA)."""
    Q = np.linalg.svd(A, full_matrices=False)
    Q = Q[0] @ Q[2]
    dQ = polar_vjp(A, dQ=dA)
    dP = herm(H(dQ) @ A + H(Q) @ dA)
    return dQ, dP
