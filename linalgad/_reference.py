"""Readable NumPy twins of every rule: the test oracle and the teaching aid.

Each function is the formula of the docs/ pages written as directly as
NumPy allows, for stacks (..., m, n), with no degeneracy policy:
1/gap is taken literally ("exact" mode). They are slow on purpose (they form
every intermediate) and must never be used by the library itself.
Symbols follow the math: J = U^H dU, K = V^H dV, X = skew(J), F, ...
"""

import numpy as np

__all__ = [
    "svd_vjp", "svd_jvp", "svd_vjp_truncated_naive", "polar_vjp", "polar_jvp",
    "hermitian_read", "triangle_cotangent", "eigh_vjp", "eigh_jvp", "eig_vjp", "eig_jvp",
    "divided_differences_naive", "funm_vjp", "funm_jvp", "svfunm_vjp",
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
    """dA from cotangents of the thin SVD (docs/svd.md)."""
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


# ---------------------------------------------------------------------------
# Hermitian eigendecomposition: A = V diag(w) V^H (w ascending)
# ---------------------------------------------------------------------------

def hermitian_read(A, uplo):
    """The Hermitian matrix eigh sees: herm(A) (uplo None) or the triangle
    mirrored with a real diagonal (uplo "L"/"U", numpy.linalg.eigh's UPLO)."""
    if uplo is None:
        return herm(A)
    T = np.tril(A, -1) if uplo == "L" else np.triu(A, 1)
    return T + H(T) + np.real(np.diagonal(A, 0, -2, -1))[..., :, None] * np.eye(A.shape[-1])


def triangle_cotangent(AH, uplo):
    """The cotangent of the raw input from the Hermitian-part one:
    diag(Re A_H) + 2 tril(A_H, -1) ("L"), mirror for "U", A_H for None."""
    if uplo is None:
        return AH
    T = np.tril(AH, -1) if uplo == "L" else np.triu(AH, 1)
    return 2 * T + np.real(np.diagonal(AH, 0, -2, -1))[..., :, None] * np.eye(AH.shape[-1])


def eigh_vjp(w, V, dw=None, dV=None, uplo=None):
    """dA of eigh: V (diag(dw) + F o skew(K)/2) V^H, K = V^H dV, then the
    triangle map for uplo "L"/"U" (docs/eigh.md)."""
    n = w.shape[-1]
    C = np.zeros(w.shape + (n,), np.result_type(V, 1.0))
    if dV is not None:
        K = H(V) @ dV
        F = _offdiag_inverse(w[..., None, :] - w[..., :, None])   # 1/(w_j - w_i)
        C = C + F * skew(K) / 2
    if dw is not None:
        C = C + dw[..., :, None] * np.eye(n)
    return triangle_cotangent(V @ C @ H(V), uplo)


def eigh_jvp(w, V, dA, uplo=None):
    """(dw, dV) of eigh along the raw tangent dA (read as uplo says);
    V^H dV has a zero diagonal."""
    R = H(V) @ hermitian_read(dA, uplo) @ V
    dw = np.real(np.diagonal(R, 0, -2, -1))
    F = _offdiag_inverse(w[..., None, :] - w[..., :, None])
    return dw, V @ (F * R)


# ---------------------------------------------------------------------------
# General eigendecomposition: A V = V diag(w), unit columns
# ---------------------------------------------------------------------------

def _pivots(V):
    """Row of the entry of largest modulus of each column (LAPACK's real entry)."""
    return np.argmax(np.abs(V), axis=-2)


def eig_vjp(w, V, dw=None, dV=None, normalization="lapack"):
    """dA of eig (complex; take the real part for real A):
    V^{-H} (diag(dw) + conj(F) o (V^H dV')) V^H, with dV' the cotangent
    corrected for the normalisation (docs/eig.md).
    "norm" does not check the phase condition (the core does)."""
    n = w.shape[-1]
    V = V.astype(np.result_type(V, 1j))
    Z = np.zeros(w.shape + (n,), V.dtype)
    if dV is not None:
        g = np.sum(np.conj(V) * dV, axis=-2)                       # v_j^H dV_j
        dVp = dV - V * np.real(g)[..., None, :]
        if normalization == "lapack":
            k = _pivots(V)
            vk = np.take_along_axis(V, k[..., None, :], axis=-2)[..., 0, :].real
            E = (np.arange(n)[:, None] == k[..., None, :])          # e_{k_j} as columns
            dVp = dVp - 1j * E * (np.imag(g) / vk)[..., None, :]
        F = _offdiag_inverse(w[..., None, :] - w[..., :, None])    # 1/(w_j - w_i)
        Z = Z + np.conj(F) * (H(V) @ dVp)
    if dw is not None:
        Z = Z + dw[..., :, None] * np.eye(n)
    return np.linalg.solve(H(V), Z @ H(V))


def eig_jvp(w, V, dA, normalization="lapack"):
    """(dw, dV) of eig along dA: P = V^{-1} dA V, dw = diag P, X = V (F o P),
    dV_j = X_j + c_j v_j keeping the unit norm (and LAPACK's real pivot)."""
    V = V.astype(np.result_type(V, 1j))
    P = np.linalg.solve(V, dA @ V)
    dw = np.diagonal(P, 0, -2, -1)
    F = _offdiag_inverse(w[..., None, :] - w[..., :, None])
    X = V @ (F * P)
    c = -np.real(np.sum(np.conj(V) * X, axis=-2)) + 0j
    if normalization == "lapack":
        k = _pivots(V)
        vk = np.take_along_axis(V, k[..., None, :], axis=-2)[..., 0, :].real
        xk = np.take_along_axis(X, k[..., None, :], axis=-2)[..., 0, :]
        c = c - 1j * np.imag(xk) / vk
    return dw, X + V * c[..., None, :]


# ---------------------------------------------------------------------------
# Functions of a Hermitian matrix: f(A) = V diag(f(w)) V^H (Daleckii-Krein)
# ---------------------------------------------------------------------------

def divided_differences_naive(f, df, w):
    """D_ij = (f(w_i) - f(w_j)) / (w_i - w_j), D_ii = f'(w_i): the textbook
    quotient, which cancels for close eigenvalues (the library uses
    linalgad/_divdiff.py instead)."""
    wi, wj = w[..., :, None], w[..., None, :]
    same = wi == wj
    with np.errstate(divide="ignore", invalid="ignore"):
        D = (f(wi) - f(wj)) / np.where(same, 1.0, wi - wj)
    return np.where(same, df(wi) + 0 * wj, D)


def funm_vjp(A, f, df, dF, uplo=None):
    """dA of f(A) for Hermitian A: V (D o (V^H herm(dF) V)) V^H, then the
    triangle map for uplo."""
    w, V = np.linalg.eigh(hermitian_read(A, uplo))
    D = divided_differences_naive(f, df, w)
    return triangle_cotangent(V @ (D * (H(V) @ herm(dF) @ V)) @ H(V), uplo)


def funm_jvp(A, dA, f, df, uplo=None):
    """dF of f(A) along the raw tangent dA (read as uplo says)."""
    w, V = np.linalg.eigh(hermitian_read(A, uplo))
    D = divided_differences_naive(f, df, w)
    return V @ (D * (H(V) @ hermitian_read(dA, uplo) @ V)) @ H(V)


def svfunm_vjp(A, g, dg, dG):
    """dA of U diag(g(S)) Vh through the singular-value map
    (C = herm-part o D- + skew-part o D+, plus the rectangular terms)."""
    U, S, Vh = np.linalg.svd(A, full_matrices=False)
    V = H(Vh)
    m, n = A.shape[-2:]
    gs = g(S)
    Dm = divided_differences_naive(g, dg, S)
    Dp = (gs[..., :, None] + gs[..., None, :]) / (S[..., :, None] + S[..., None, :])
    Z = H(U) @ dG @ V
    C = herm(Z) * Dm + 0.5 * skew(Z) * Dp
    dA = U @ C @ Vh
    h = gs / S
    if m > n:
        dA = dA + ((dG @ V - U @ Z) * h[..., None, :]) @ Vh
    if n > m:
        dA = dA + U @ (h[..., :, None] * (H(U) @ dG - Z @ Vh))
    return dA
