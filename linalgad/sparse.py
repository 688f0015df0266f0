"""A few eigenpairs or singular triplets of a large operator, and their derivatives.

Primal
    ``eigsh``: k eigenpairs of a Hermitian A (dense array, scipy.sparse
    matrix/array, or ``scipy.sparse.linalg.LinearOperator``) selected by
    ``which`` (and ``sigma``) as ``scipy.sparse.linalg.eigsh`` does; returned
    ascending. ``svds``: the top k singular triplets (S descending). A dense
    or sparse A must be Hermitian for eigsh (checked); an operator is trusted.
    Both compute k + 1 values to see the cut (below).
Gauge
    As eigh_vjp(UPLO=None) / svd_vjp: phases always checked; a degenerate pair
    inside the k follows ``degeneracy=`` ("strict", "exact", "subspace"; the
    other modes broaden couplings the complement solves cannot broaden and
    are refused). A pair split by the cut (the k-th and (k+1)-th values equal
    to ``tol``) makes the k-dimensional space not a function of A: refused in
    "strict" and "subspace" when the cotangent/tangent touches a vector tied
    with the cut, and in "strict" when a value cotangent touches a value tied
    with it (the discarded one's is zero: a kink); "exact" goes on (the
    solve is then near-singular).
Rules (V the k vectors, P = I - V V^H, bars dropped)
    eigsh VJP  A = V M V^H + (X V^H + V X^H) / 2, M the eigh rule of the k x k
               problem (diag(w), K = V^H dV), x_i = (w_i - A)^-1 P dV_i on
               range(P) (MINRES, V deflated).
    eigsh JVP  dw, V C from the k x k rule on R = V^H herm(dA) V, plus
               x_i = (w_i - A)^-1 P herm(dA) v_i on range(P).
    svds VJP   A = U M V^H + Y V^H + U Z^H, M the svd rule of the k x k
               problem, [y_i; z_i] = (s_i - H)^-1 [P_U dU_i; P_V dV_i] on the
               complement of [U; 0], [0; V], H = [[0, A], [A^H, 0]].
    svds JVP   the k x k rule on U^H dA V plus [a_i; b_i] = (s_i - H)^-1
               [P_U dA v_i; P_V dA^H u_i].
    The complement terms are the discarded spectrum's coupling, exactly
    (the full rule with zero cotangents on the discarded pairs), never formed.
References: KrylovKit.jl (Haegeman), the eigsolve/svdsolve rrules; docs/sparse.md.
Cost: the primal's k + 1 pairs (ARPACK), then k MINRES solves in lockstep:
    one product of A with an n x k block and O(n k) deflation per iteration.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, Optional, Protocol, Sequence, Union

import numpy as np

from . import _core, gauge as _gauge
from ._docs import FRAGMENTS, expand
from ._errors import DegeneracyError, raise_core
from ._status import Status
from ._options import options
from ._results import EighResult, SVDResult
from ._typing import Array, ArrayLike, Pullback, Structure
from ._validate import _working_dtype, cotangent, is_sparse, real_dtype
from .project import _project, _rebuild, _stored
from .rules import eigh as _eigh, svd as _svd

__all__ = ["LowRank", "ConvergenceError", "eigsh", "eigsh_vjp", "eigsh_jvp",
           "svds", "svds_vjp", "svds_jvp", "transverse_field_ising", "zz_correlation"]


class OperatorLike(Protocol):
    """What the rules read of an operator: its shape, dtype and ``A @ X``
    (a scipy.sparse matrix or array, a scipy.sparse.linalg.LinearOperator)."""

    shape: tuple[int, ...]
    dtype: Any

    def __matmul__(self, other: Any) -> Any: ...


#: A of eigsh/svds: a dense array, a scipy.sparse matrix/array or a LinearOperator
Operator = Union[ArrayLike, OperatorLike]
#: which eigenvalues eigsh keeps (scipy.sparse.linalg.eigsh's ``which``)
Which = Literal["LA", "SA", "LM", "SM"]

_FRAGMENTS = {**FRAGMENTS,
    "op": """\
A : array_like, scipy.sparse matrix or array, or LinearOperator, shape (n, n)
    A Hermitian matrix (checked, to 1e3 eps, unless a LinearOperator,
    whose ``matvec`` only is used). One matrix, not a stack.""",
    "op_rect": """\
A : array_like, scipy.sparse matrix or array, or LinearOperator, shape (m, n)
    One matrix, not a stack. A LinearOperator needs ``A.H`` (its
    ``rmatvec``).""",
    "op_dA": """\
dA : array_like, scipy.sparse matrix or array, or LinearOperator
    The tangent, A's shape (real for real A). Its Hermitian part is used
    for eigsh_jvp (``dA.H`` is needed for a LinearOperator).""",
    "k": """\
k : int
    The number of eigenpairs (singular triplets), 1 <= k <= n.""",
    "which": """\
which : {"LA", "SA", "LM", "SM"}, default "LA"
    Keep the largest or smallest algebraic (LA, SA) or magnitude (LM, SM)
    eigenvalues, as ``scipy.sparse.linalg.eigsh``; with ``sigma``, of
    ``1/(w - sigma)`` (shift-invert).
sigma : float, optional
    The shift of shift-invert mode (needs a factorisable A).""",
    "arpack": """\
v0 : ndarray, optional
    ARPACK's start vector; by default a fixed random one, so that repeated
    calls on one A agree.
ncv, maxiter : int, optional
    ARPACK's Lanczos basis size and iteration limit (ARPACK runs at
    ``tol=0``, machine precision).""",
    "solver": """\
solver_tol : float, optional
    The relative residual of the MINRES solves on the complement (default
    1e-10; 1e-5 for 32-bit dtypes).
solver_maxiter : int, optional
    Their iteration limit (default 5 n).""",
    "sparse_opts": """\
**opts
    ``degeneracy`` (``"strict"`` default, ``"exact"``, ``"subspace"``: as
    for eigh_vjp/svd_vjp; the regularised modes have no counterpart in the
    complement solves and raise ValueError), ``tol``, ``gauge_tol``.""",
    "sparse_cotangent": """\
pullback : callable
    ``pullback(...) -> dA``: dense for dense A (shaped by ``project``), a
    sparse matrix on A's stored pattern for sparse A, a :class:`LowRank`
    for a LinearOperator. None for a cotangent means zero.""",
    "raises_sparse": """\
DegeneracyError
    (``degeneracy="strict"``) where a cotangent touches a vector of a
    degenerate pair, or (``"strict"``, ``"subspace"``) a vector tied with the
    first discarded value, whose span is then not a function of A.
GaugeError
    Where the cotangent depends on the arbitrary phases of the vectors.
ConvergenceError
    Where a complement solve does not reach ``solver_tol``, or ARPACK
    returns dependent vectors.
ValueError
    For NaN/Inf, a non-Hermitian A, a bad ``k``, ``which`` or option value.
TypeError
    For an unknown option or an unsupported dtype.""",
    "sparse_cost": """\
Cost: ARPACK for k + 1 pairs, then k MINRES solves in lockstep (one
product of A with an n x k block per iteration, O(n k) deflation); the
discarded spectrum is never formed. Gauge: as :func:`eigh` and
:func:`svd` with ``gauge="canonical"``, so the factors are a function of
A; the returned factors are read-only. See the sparse guide.""",
}


def _fill(fn):
    """:func:`linalgad._docs.fill` with this module's fragments too."""
    fn.__doc__ = expand(fn.__doc__, _FRAGMENTS)
    return fn


# The modes whose in-block rule does not change the complement's exact coupling.
SUPPORTED_MODES = ("strict", "exact", "subspace")

# Default relative residual of the adjoint solves, by precision.
SOLVE_TOL = {4: 1e-5, 8: 1e-10}

_WHICH = ("LA", "SA", "LM", "SM")


class ConvergenceError(RuntimeError):
    """An adjoint linear solve did not reach its tolerance."""


class LowRank(NamedTuple):
    """The cotangent ``dA = left @ right^H`` of an operator input, never formed.

    eigsh_vjp and svds_vjp return it for a ``LinearOperator`` A, whose
    cotangent would be a dense n x n matrix: ``left`` and ``right`` have
    ``r = 2k`` columns (k when only the values have a cotangent), so it
    costs O(n k) memory.

    Parameters
    ----------
    left : ndarray, shape (m, r)
        The left factor.
    right : ndarray, shape (n, r)
        The right factor (conjugated in the product).

    Notes
    -----
    ``dA = left @ right^H``; the chain rule to the parameters theta of A is
    ``dL/dtheta = Re <dA, dA/dtheta> = dA.vdot(dA_dtheta)``, one product of
    ``dA/dtheta`` with an (n, r) block.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> from scipy.sparse.linalg import aslinearoperator
    >>> A = np.diag(np.arange(1.0, 31.0))
    >>> (w, V), pullback = la.eigsh_vjp(aslinearoperator(A), 2)
    >>> dA = pullback(dw=np.ones(2))        # the gradient of w[0] + w[1]
    >>> dA.shape, dA.left.shape
    ((30, 30), (30, 2))
    >>> np.allclose(dA.toarray(), V @ V.T)
    True
    >>> bool(np.isclose(dA.vdot(np.eye(30)), 2.0))  # d(w0 + w1)/dt along A + t I
    True
    """

    left: Array
    right: Array

    @property
    def shape(self) -> tuple[int, int]:
        """``(m, n)``: the shape of A."""
        return (self.left.shape[0], self.right.shape[0])

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the factors' product."""
        return np.result_type(self.left, self.right)

    def toarray(self) -> Array:
        """The dense cotangent ``left @ right^H`` (small m, n only).

        Returns
        -------
        ndarray, shape (m, n)
            The cotangent, formed.

        Examples
        --------
        >>> import numpy as np
        >>> from linalgad import LowRank
        >>> LowRank(np.ones((3, 1)), np.arange(2.0)[:, None]).toarray()
        array([[0., 1.],
               [0., 1.],
               [0., 1.]])
        """
        return self.left @ self.right.conj().T

    def at(self, rows: ArrayLike, cols: ArrayLike) -> Array:
        """The entries ``dA[rows[i], cols[i]]``, without forming dA.

        Parameters
        ----------
        rows, cols : array_like of int, shape (p,)
            Row and column indices.

        Returns
        -------
        ndarray, shape (p,)
            The entries, in O(p) memory (one factor column at a time).

        Examples
        --------
        >>> import numpy as np
        >>> from linalgad import LowRank
        >>> LowRank(np.ones((3, 1)), np.arange(2.0)[:, None]).at([0, 2], [1, 0])
        array([1., 0.])
        """
        rows, cols = np.asarray(rows), np.asarray(cols)
        out = np.zeros(len(rows), self.dtype)
        for c in range(self.left.shape[1]):
            out += self.left[rows, c] * self.right[cols, c].conj()
        return out

    def vdot(self, E: Operator) -> float:
        """``Re <dA, E> = Re sum(conj(dA) * E)``, without forming dA.

        Parameters
        ----------
        E : array_like, scipy.sparse matrix or LinearOperator, shape (m, n)
            A direction in A's space, e.g. ``dA/dtheta`` of a parameter.

        Returns
        -------
        float
            ``Re trace(left^H E right)``: the chain rule's ``dL/dtheta``.

        Examples
        --------
        >>> import numpy as np
        >>> from linalgad import LowRank
        >>> LowRank(np.ones((3, 1)), np.arange(2.0)[:, None]).vdot(np.ones((3, 2)))
        3.0
        """
        return float(np.vdot(self.left, E @ self.right).real)


# ------------------------------------------------------------------ inputs

class _Op:
    """A (dense, sparse or LinearOperator) with its kind, dtype and adjoint."""

    def __init__(self, A, name="A", square=False):
        from scipy.sparse.linalg import LinearOperator

        if isinstance(A, LinearOperator):
            self.kind, self.A = "operator", A
            dt = A.dtype if A.dtype is not None else np.dtype(np.float64)
        elif is_sparse(A):
            self.kind, self.A = "sparse", A.tocsr() if A.format not in ("csr", "csc") else A
            dt = A.dtype
        else:
            a = np.asarray(A)
            if a.ndim != 2:
                raise ValueError(f"{name} must be 2-D (one matrix; batches go to the dense rules), "
                                 f"got shape {a.shape}")
            self.kind, self.A = "dense", a
            dt = a.dtype
        self.dtype = _working_dtype(np.empty(0, dt), name)
        if self.kind != "operator" and self.A.dtype != self.dtype:
            self.A = self.A.astype(self.dtype)
        if self.kind != "operator":
            data = self.A.data if self.kind == "sparse" else self.A
            if data.size and not np.isfinite(data).all():
                raise ValueError(f"{name} contains NaN or Inf")
        self.orig = A
        self.shape = tuple(int(s) for s in A.shape)
        if len(self.shape) != 2:
            raise ValueError(f"{name} must be 2-D, got shape {self.shape}")
        if square and self.shape[0] != self.shape[1]:
            raise ValueError(f"{name} must be square, got shape {self.shape}")

    def __matmul__(self, X):
        return np.asarray(self.A @ X)

    def rmat(self, X):
        """A^H X, without a conjugated copy of A."""
        if self.kind == "operator":
            return np.asarray(self.A.H @ X)
        if np.dtype(self.dtype).kind != "c":
            return np.asarray(self.A.T @ X)
        return np.asarray(X.conj().T @ self.A).conj().T

    def dense(self):
        if self.kind == "dense":
            return self.A
        if self.kind == "sparse":
            return self.A.toarray()
        return np.asarray(self.A @ np.eye(self.shape[1], dtype=self.dtype))

    def check_hermitian(self, rule, tol):
        if self.kind == "operator":
            return
        D = self.A - self.A.conj().T
        d = abs(D).max() if D.size else 0.0
        a = abs(self.A).max() if self.A.size else 0.0
        if d > tol * max(a, np.finfo(self.dtype).tiny):
            raise ValueError(f"{rule}: A is not Hermitian (max |A - A^H| = {d:.3g}, max |A| = {a:.3g})")


def _check_k(k, r, rule):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= r:
        raise ValueError(f"{rule}: k must be an integer in [1, {r}], got {k!r}")
    return int(k)


def _opts(dtype, rule, solver_tol, opts):
    opt = options(dtype, **opts)
    if opt.degeneracy not in SUPPORTED_MODES:
        raise ValueError(
            f"{rule}: degeneracy={opt.degeneracy!r} is not supported: its in-block broadening has "
            f"no counterpart in the exact complement solves; use one of {SUPPORTED_MODES}, or the "
            f"dense rule (eigh_vjp/svd_vjp) for a small matrix")
    if solver_tol is None:
        solver_tol = SOLVE_TOL[np.dtype(real_dtype(dtype)).itemsize]
    if not (0 < solver_tol < 1):
        raise ValueError(f"{rule}: solver_tol must be in (0, 1), got {solver_tol!r}")
    return opt, float(solver_tol)


# ------------------------------------------------------------------ primal

def _preference(w, which, sigma):
    """Larger is kept first: scipy's ``which`` applied to w, or to
    1/(w - sigma) in shift-invert mode."""
    x = w if sigma is None else 1.0 / (w - sigma)
    return {"LA": x, "SA": -x, "LM": np.abs(x), "SM": -np.abs(x)}[which]


def _tie_value(w, which, sigma):
    """What must differ across the cut: w itself, or its distance to sigma."""
    return w if which in ("LA", "SA") else np.abs(w - (0.0 if sigma is None else sigma))


def _seeded(arpack):
    """ARPACK's keywords; without v0 its start vector is drawn from a fixed
    seed, so that repeated calls on one A return the same vectors (gauge)."""
    kw = {a: b for a, b in arpack.items() if b is not None}
    if "v0" not in kw:
        kw["rng"] = np.random.default_rng(0)
    return kw


def _herm(X):
    return (X + X.conj().T) / 2


def _orth(X, rule):
    """An orthonormal basis of the span of ARPACK's k + 1 vectors."""
    Q, R = np.linalg.qr(X)
    d = np.abs(np.diag(R))
    if d.size and d.min() <= np.sqrt(np.finfo(X.dtype).eps) * d.max():
        raise ConvergenceError(f"{rule}: ARPACK returned linearly dependent vectors; pass another "
                               f"v0 or a larger ncv")
    return Q


def _eigsh_pairs(op, k, which, sigma, arpack):
    """k + 1 (or all, when ARPACK cannot) pairs, most preferred first."""
    from scipy.sparse.linalg import eigsh as _arpack

    n = op.shape[0]
    kk = min(k + 1, n)
    if kk >= n - 1:  # ARPACK needs k < n - 1: the problem is small, solve it densely
        w, V = np.linalg.eigh(op.dense())
    else:
        w, V = _arpack(op.A, kk, which=which, sigma=sigma, tol=0, **_seeded(arpack))
        # complex A runs ARPACK's non-Hermitian driver, whose vectors inside a
        # degenerate eigenspace are not orthogonal: Rayleigh-Ritz on their span
        Q = _orth(V, "eigsh")
        w, Y = np.linalg.eigh(_herm(Q.conj().T @ (op @ Q)))
        V = Q @ Y
    order = np.argsort(-_preference(w, which, sigma), kind="stable")[:kk]
    return w[order], V[:, order]


def _cut(ties, k, scale, opt):
    """Indices among the kept k tied (to opt.tol) with the first discarded
    value ties[k], or () when there is none."""
    if len(ties) <= k:
        return ()
    lim = opt.tol * scale
    return tuple(i for i in range(k) if abs(ties[i] - ties[k]) <= lim)


def _raise_cut(rule, values, ties, k, tied, lim, of_values=False):
    gap = min(abs(ties[i] - ties[k]) for i in tied)
    head = (f"{rule}: kept {values} {list(tied)} and the first discarded one are degenerate "
            f"(gap {gap:.3g} <= tol {lim:.3g}), so ")
    if of_values:  # the discarded value's cotangent is zero: they differ
        raise DegeneracyError(
            head + f"the kept {values} have no derivative there (the sorted values swap slopes, "
            f"like max(x, y) at x = y); choose k so that the cut falls in a gap of the spectrum, "
            f"or, for a subgradient, pass degeneracy='subspace', which uses the vectors the "
            f"solver returned.")
    raise DegeneracyError(
        head + f"the span of the kept vectors is not a function of A and the derivative of "
        f"their vectors is not defined; choose k so that the cut falls in a gap of the "
        f"spectrum, or use a loss of the kept {values} only.")


def _check_cut(rule, values, ties, k, tied, opt, scale, vectors_touched, gvalues=None):
    """Refuse a cotangent that needs the derivative across a tie at the cut:
    of a kept vector (strict, subspace), or of a kept value (strict; the
    first discarded value's cotangent is zero, so they differ)."""
    if not tied or opt.degeneracy == "exact":
        return
    if vectors_touched:
        _raise_cut(rule, values, ties, k, tied, opt.tol * scale)
    if opt.degeneracy == "strict" and gvalues is not None and np.any(gvalues[list(tied)]):
        _raise_cut(rule, values, ties, k, tied, opt.tol * scale, of_values=True)


@_fill
def eigsh(A: Operator, k: int, *, which: Which = "LA", sigma: Optional[float] = None,
          v0: Optional[ArrayLike] = None, ncv: Optional[int] = None,
          maxiter: Optional[int] = None) -> EighResult:
    """k eigenpairs of a large Hermitian matrix or operator (ARPACK).

    Parameters
    ----------
    {{op}}
    {{k}}
    {{which}}
    {{arpack}}

    Returns
    -------
    EighResult
        ``EighResult(eigenvalues, eigenvectors)``: the k selected
        eigenvalues ascending, shape (k,), and their vectors (n, k).

    Raises
    ------
    ValueError
        For NaN/Inf, a non-Hermitian A, a bad ``k`` or ``which``.
    TypeError
        For an unsupported dtype.

    Notes
    -----
    ``A V = V diag(w)``, ``V^H V = I``, the k values that ``which`` (and
    ``sigma``) prefer, as ``scipy.sparse.linalg.eigsh``; k + 1 are computed
    to see whether the cut falls in a gap. Where ARPACK cannot (k + 1 >=
    n - 1) the problem is solved densely.
    {{sparse_cost}}

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> from linalgad.sparse import transverse_field_ising
    >>> H, dH_dJ, dH_dh = transverse_field_ising(8, J=1.0, h=2.0)   # 256 x 256, sparse
    >>> w, V = la.eigsh(H, 2, which="SA")
    >>> np.allclose(w, np.linalg.eigvalsh(H.toarray())[:2])
    True
    """
    return _eigsh_forward(A, k, which, sigma, dict(v0=v0, ncv=ncv, maxiter=maxiter), "eigsh")[0]


def _eigsh_forward(A, k, which, sigma, arpack, rule, tol=None):
    op = _Op(A, square=True)
    if which not in _WHICH:
        raise ValueError(f"{rule}: which must be one of {_WHICH}, got {which!r}")
    k = _check_k(k, op.shape[0], rule)
    op.check_hermitian(rule, 1e3 * np.finfo(op.dtype).eps if tol is None else tol)
    w_all, V_all = _eigsh_pairs(op, k, which, sigma, arpack)
    up = np.argsort(w_all[:k], kind="stable")
    w = w_all[:k][up].astype(real_dtype(op.dtype))
    V = np.ascontiguousarray(V_all[:, :k][:, up], dtype=op.dtype)
    res = _gauge.fix_eigh(EighResult(w, V))  # ARPACK's phases vary from call to call
    # tie values of the kept (ascending order) then the first discarded one
    ties = np.append(_tie_value(w, which, sigma), _tie_value(w_all[k:], which, sigma))
    return res, op, ties, float(np.abs(w_all).max()) if w_all.size else 0.0


# ------------------------------------------------------------------ solves

def _solve(apply, Q, shifts, G, rtol, maxiter, rule, lockstep=True, first=0):
    """X on range(P), P = I - Q Q^H, with P (H - shifts[j]) x_j = P G[:, j];
    H Hermitian given by ``apply`` (n, p) -> (n, p). The tolerance is
    relative to ||G[:, j]|| (a column that P annihilates to rounding is 0).

    MINRES (Paige and Saunders 1975, the recurrences and the stopping test
    of scipy.sparse.linalg.minres) run for the p right-hand sides in
    lockstep: one product of H with an (n, p) block per iteration (a GEMM or
    a sparse matrix times a block, not p matrix-vector products),
    per-column scalars (real: H is Hermitian), complex H as is. A column
    stops when its residual estimate is below rtol (||T|| ||x_j|| +
    ||g_j||), ||T|| the norm of its Lanczos matrix so far (a lower bound on
    ||H - shift||); the true residual is checked against the same bound.
    ``lockstep=False`` solves one column at a time: for a sparse matrix or
    an operator a block product costs as much as p vector products, and
    converged columns would idle through the slowest one's iterations."""
    if not lockstep and G.shape[1] > 1:
        return np.hstack([_solve(apply, Q, shifts[j:j + 1], G[:, j:j + 1], rtol, maxiter, rule,
                                 first=j) for j in range(G.shape[1])])
    n, p = G.shape
    dt = np.result_type(G, Q, np.float32)
    maxiter = 5 * n if maxiter is None else int(maxiter)
    shifts = np.asarray(shifts, np.float64)

    def op(Y):  # P (H - shift) P on the block, P applied on both sides
        Y = Y - Q @ (Q.conj().T @ Y)
        Z = np.asarray(apply(Y), dt) - Y * shifts
        return Z - Q @ (Q.conj().T @ Z)

    def norms(Y):
        return np.sqrt(np.einsum("ij,ij->j", Y.conj(), Y).real)

    X = np.zeros((n, p), dt)
    B = (G - Q @ (Q.conj().T @ G)).astype(dt)
    beta1, gnorm = norms(B), norms(G)
    done = beta1 <= rtol * gnorm
    tnorm2 = np.zeros(p)
    r1, r2, y = B.astype(dt), B.astype(dt), B.astype(dt)
    W, W2 = np.zeros((n, p), dt), np.zeros((n, p), dt)
    beta, oldb = beta1.copy(), np.zeros(p)
    dbar, epsln, phibar = np.zeros(p), np.zeros(p), beta1.copy()
    cs, sn = -np.ones(p), np.zeros(p)
    itn = 0
    while not done.all() and itn < maxiter:
        itn += 1
        s = np.divide(1.0, beta, out=np.zeros(p), where=beta > 0)
        v = y * s
        y = op(v)
        if itn >= 2:
            y -= r1 * np.divide(beta, oldb, out=np.zeros(p), where=oldb > 0)
        alfa = np.einsum("ij,ij->j", v.conj(), y).real
        y -= r2 * (alfa * s)
        r1, r2 = r2, y
        oldb, beta = beta, norms(y)
        tnorm2 += np.where(done, 0.0, alfa**2 + oldb**2 + beta**2)
        oldeps = epsln
        delta = cs * dbar + sn * alfa
        gbar = sn * dbar - cs * alfa
        epsln = sn * beta
        dbar = -cs * beta
        gamma = np.maximum(np.hypot(gbar, beta), np.finfo(np.float64).tiny)
        cs, sn = gbar / gamma, beta / gamma
        phi = np.where(done, 0.0, cs * phibar)
        phibar = sn * phibar
        W1, W2 = W2, W
        W = (v - W1 * oldeps - W2 * delta) / gamma
        X += W * phi
        tol = rtol * (np.sqrt(tnorm2) * norms(X) + gnorm)
        done |= (phibar <= tol) | (beta == 0)
    X -= Q @ (Q.conj().T @ X)
    res = norms(op(X) - B)
    tol = rtol * (np.sqrt(tnorm2) * norms(X) + gnorm)
    bad = ~(res <= 10 * tol)  # also catches nan
    if bad.any():
        j = int(np.argmax(bad))
        raise ConvergenceError(
            f"{rule}: the adjoint solve for vector {first + j} (shift {shifts[j]:.6g}) did not "
            f"reach solver_tol={rtol:.3g} within {maxiter} MINRES iterations (relative residual "
            f"{res[j] / max(gnorm[j], np.finfo(float).tiny):.3g}); the gap between that value and the rest of the spectrum "
            f"may be tiny: raise solver_maxiter, loosen solver_tol, or choose k so that the cut "
            f"is in a gap")
    return X


def _core_err(err, rule, values, vectors, remedies):
    if err is not None:
        raise_core(err, rule=rule, values=values, vectors=vectors, remedies=remedies)


def _touched(G, cols):
    return G is not None and any(np.any(G[:, c]) for c in cols)


def _check_inner(w, gV, opt, scale, rule):
    """strict: a degenerate pair inside the k whose vector the cotangent
    touches (also through its complement part, which the k x k rule does
    not see)."""
    if opt.degeneracy != "strict" or gV is None:
        return
    lim = opt.tol * scale
    for i in range(len(w)):
        for j in range(i + 1, len(w)):
            gap = abs(w[j] - w[i])
            if gap <= lim and _touched(gV, (i, j)):
                raise_core((Status.E_DEGENERATE, 0, i, j, w[i], w[j], gap, lim), rule=rule,
                           values="eigenvalues", vectors=_eigh._VECTORS, remedies=_eigh.REMEDIES)


# ------------------------------------------------------------------ cotangents

def _finish(op, left, right, project):
    """The cotangent left @ right^H in the structure of the input."""
    real = np.dtype(op.dtype).kind != "c"
    if real:
        left, right = left.real, right.real
    if op.kind == "operator":
        if project is not None:
            raise ValueError("project= does not apply to a LinearOperator input: its cotangent is "
                             "a LowRank factorisation (use .toarray() and linalgad.project if small)")
        return LowRank(np.ascontiguousarray(left, op.dtype), np.ascontiguousarray(right, op.dtype))
    if op.kind == "sparse" and project in (None, "pattern"):
        rows, cols = _stored(op.orig)
        vals = LowRank(left, right).at(rows, cols)
        return _rebuild(op.orig, vals.real if real else vals, rows, cols, op.dtype)
    if op.kind == "sparse" and project != "dense":
        raise ValueError(f"project={project!r}: a sparse input's cotangent is returned on its "
                         f"stored pattern (None/'pattern') or dense ('dense', small n only)")
    G = left @ right.conj().T
    if op.kind == "sparse":  # project="dense"
        return (G.real if real else G).astype(op.dtype)
    return _project(G, op.dtype, op.shape, None, project, copy=False)


# ------------------------------------------------------------------ eigsh rules

@_fill
def eigsh_vjp(A: Operator, k: int, *, which: Which = "LA", sigma: Optional[float] = None,
              v0: Optional[ArrayLike] = None, ncv: Optional[int] = None,
              maxiter: Optional[int] = None, solver_tol: Optional[float] = None,
              solver_maxiter: Optional[int] = None, project: Structure = None,
              **opts: Any) -> tuple[EighResult, Pullback]:
    """k eigenpairs and their pullback (reverse mode): ``res, pullback = eigsh_vjp(A, k)``.

    The exact derivative of the k kept pairs, including their coupling to
    the discarded spectrum, without computing that spectrum.

    Parameters
    ----------
    {{op}}
    {{k}}
    {{which}}
    {{arpack}}
    {{solver}}
    project : str or None, default None
        For a dense A, the structure of the returned cotangent, as
        :func:`linalgad.project` (None: Hermitian, real for real A). For a
        sparse A, None or "pattern" (A's stored entries) or "dense".
    {{sparse_opts}}

    Returns
    -------
    res : EighResult
        ``EighResult(eigenvalues, eigenvectors)`` as :func:`eigsh`.
    {{sparse_cotangent}}
        Called as ``pullback(dw=None, dV=None)``; dA is Hermitian (as
        ``eigh_vjp(A, UPLO=None)``).

    Raises
    ------
    {{raises_sparse}}

    Notes
    -----
    With V the k vectors, ``P = I - V V^H``, ``K = V^H dV``::

        dA = V M V^H + (X V^H + V X^H) / 2
        x_i = (w_i - A)^+ P dV_i          (on range(P), by MINRES)

    M the eigh rule of the k x k problem (``diag(w)``, ``dw``, ``K``):
    ``M_ii = dw_i``, ``M_ij = (K_ij - conj(K_ji)) / 2(w_j - w_i)``. The X
    term is the full rule's coupling to the discarded pairs (whose
    cotangents are zero), summed by the solves instead of formed.
    {{sparse_cost}}
    {{sign}}

    Examples
    --------
    The pullback of a vector loss equals the dense rule's with zero
    cotangents on the other n - k vectors:

    >>> import numpy as np, linalgad as la
    >>> X = np.random.default_rng(0).standard_normal((40, 40))
    >>> A = X + X.T
    >>> (w, V), pullback = la.eigsh_vjp(A, 3)           # the 3 largest
    >>> dV = np.ones((40, 3))
    >>> (wf, Vf), full = la.eigh_vjp(A, UPLO=None, gauge="canonical")
    >>> G = np.zeros((40, 40)); G[:, -3:] = dV
    >>> np.allclose(pullback(dV=dV), full(dV=G), atol=1e-8)
    True
    """
    rule = "eigsh_vjp"
    res, op, ties, scale = _eigsh_forward(A, k, which, sigma, dict(v0=v0, ncv=ncv, maxiter=maxiter),
                                          rule)
    opt, rtol = _opts(op.dtype, rule, solver_tol, opts)
    w, V = res
    k = len(w)
    tied = _cut(ties, k, scale, opt)
    for a in res:
        a.flags.writeable = False
    rdt = real_dtype(op.dtype)
    policy = opt.as_policy()
    eye = np.eye(k, dtype=op.dtype)[None]
    w64 = np.ascontiguousarray(w, np.float64)[None]

    def pullback(dw=None, dV=None):
        gw = cotangent(dw, "dw", (k,), rdt, of="eigenvalues")
        gV = cotangent(dV, "dV", (op.shape[0], k), op.dtype, of="eigenvectors")
        _check_cut(rule, "eigenvalues", ties, k, tied, opt, scale, _touched(gV, tied), gw)
        _check_inner(w, gV, opt, scale, rule)
        K = None if gV is None else np.ascontiguousarray((V.conj().T @ gV)[None])
        M = np.empty((1, k, k), op.dtype)
        err = _core.eigh_vjp(eye, w64, None if gw is None else np.asarray(gw, np.float64)[None],
                             K, M, 0, policy, 1)
        _core_err(err, rule, "eigenvalues", _eigh._VECTORS, _eigh.REMEDIES)
        M = M[0]
        if gV is None:
            return _finish(op, V, V @ M.conj().T, project)
        X = -_solve(lambda Y: op @ Y, V, w, gV, rtol, solver_maxiter, rule, op.kind == "dense")
        return _finish(op, np.hstack([V, X]), np.hstack([V @ M.conj().T + X / 2, V / 2]), project)

    return res, pullback


def _tangent(dA, op, name="dA"):
    d = _Op(dA, name)
    if d.shape != op.shape:
        raise ValueError(f"{name} has shape {d.shape}, expected {op.shape} (the shape of A)")
    if np.dtype(d.dtype).kind == "c" and np.dtype(op.dtype).kind != "c":
        raise TypeError(f"{name} is complex but A is real: the tangent of a real array is real")
    return d


@_fill
def eigsh_jvp(A: Operator, dA: Operator, k: int, *, which: Which = "LA",
              sigma: Optional[float] = None, v0: Optional[ArrayLike] = None,
              ncv: Optional[int] = None, maxiter: Optional[int] = None,
              solver_tol: Optional[float] = None, solver_maxiter: Optional[int] = None,
              **opts: Any) -> tuple[EighResult, EighResult]:
    """k eigenpairs and their tangent along ``dA`` (forward mode).

    Parameters
    ----------
    {{op}}
    {{op_dA}}
    {{k}}
    {{which}}
    {{arpack}}
    {{solver}}
    {{sparse_opts}}

    Returns
    -------
    res : EighResult
        ``EighResult(eigenvalues, eigenvectors)`` as :func:`eigsh`.
    tan : EighResult
        Their tangents ``EighResult(dw, dV)``, shapes (k,) and (n, k).

    Raises
    ------
    {{raises_sparse}}

    Notes
    -----
    With ``H = (dA + dA^H) / 2``, ``R = V^H H V``, ``P = I - V V^H``::

        dw = Re diag(R),   C_ij = R_ij / (w_j - w_i),  C_ii = 0
        dV = V C + X,      x_i = (w_i - A)^+ P H v_i   (by MINRES)

    ``V^H dV`` has a zero diagonal (parallel transport), as
    :func:`eigh_jvp`. A tie across the cut raises unless
    ``degeneracy="exact"``.
    {{sparse_cost}}

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.standard_normal((2, 40, 40))
    >>> A, dA = X + X.T, Y + Y.T
    >>> (w, V), (dw, dV) = la.eigsh_jvp(A, dA, 3)
    >>> np.allclose(dw, np.diag(V.T @ dA @ V))          # Hellmann-Feynman
    True
    >>> (wf, Vf), (dwf, dVf) = la.eigh_jvp(A, dA, UPLO=None, gauge="canonical")
    >>> np.allclose(dV, dVf[:, -3:], atol=1e-8)
    True
    """
    rule = "eigsh_jvp"
    res, op, ties, scale = _eigsh_forward(A, k, which, sigma, dict(v0=v0, ncv=ncv, maxiter=maxiter),
                                          rule)
    opt, rtol = _opts(op.dtype, rule, solver_tol, opts)
    d = _tangent(dA, op)
    w, V = res
    k = len(w)
    tied = _cut(ties, k, scale, opt)
    if tied and opt.degeneracy != "exact":
        _raise_cut(rule, "eigenvalues", ties, k, tied, opt.tol * scale)
    HV = ((d @ V) + d.rmat(V)) / 2  # herm(dA) V
    R = V.conj().T @ HV
    dw = np.empty((1, k), np.float64)
    C = np.empty((1, k, k), op.dtype)
    err = _core.eigh_jvp(np.eye(k, dtype=op.dtype)[None], np.ascontiguousarray(w, np.float64)[None],
                         np.ascontiguousarray((R + R.conj().T)[None] / 2), dw, C, 0, opt.as_policy(), 1)
    _core_err(err, rule, "eigenvalues", _eigh._VECTORS, _eigh.REMEDIES)
    X = -_solve(lambda Y: op @ Y, V, w, HV, rtol, solver_maxiter, rule, op.kind == "dense")
    tan = EighResult(dw[0].astype(real_dtype(op.dtype)), (V @ C[0] + X).astype(op.dtype))
    return res, tan


# ------------------------------------------------------------------ svds rules

@_fill
def svds(A: Operator, k: int, *, v0: Optional[ArrayLike] = None, ncv: Optional[int] = None,
         maxiter: Optional[int] = None) -> SVDResult:
    """The top k singular triplets of a large matrix or operator (ARPACK).

    Parameters
    ----------
    {{op_rect}}
    k : int
        The number of triplets, 1 <= k <= min(m, n).
    {{arpack}}

    Returns
    -------
    SVDResult
        ``SVDResult(U, S, Vh)``: U (m, k), S (k,) descending, Vh (k, n).

    Raises
    ------
    ValueError
        For NaN/Inf or a bad ``k``.
    TypeError
        For an unsupported dtype.

    Notes
    -----
    ``A V = U diag(S)``, ``A^H U = V diag(S)`` for the k largest singular
    values, as ``scipy.sparse.linalg.svds``; k + 1 are computed to see
    whether the cut falls in a gap. Where ARPACK cannot (k + 1 >=
    min(m, n) - 1) the SVD is computed densely.
    {{sparse_cost}}

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.random.default_rng(0).standard_normal((60, 40))
    >>> U, S, Vh = la.svds(A, 3)
    >>> np.allclose(S, np.linalg.svd(A, compute_uv=False)[:3])
    True
    """
    return _svds_forward(A, k, dict(v0=v0, ncv=ncv, maxiter=maxiter), "svds")[0]


def _svds_forward(A, k, arpack, rule):
    from scipy.sparse.linalg import svds as _arpack

    op = _Op(A)
    m, n = op.shape
    r = min(m, n)
    k = _check_k(k, r, rule)
    kk = min(k + 1, r)
    if kk >= r - 1:
        U, s, Vh = np.linalg.svd(op.dense(), full_matrices=False)
    else:
        U, s, Vh = _arpack(op.A, kk, tol=0, which="LM", **_seeded(arpack))
        # the same for the Gram matrix's eigenvectors: Rayleigh-Ritz on both spans
        Qu, Qv = _orth(U, "svds"), _orth(Vh.conj().T, "svds")
        Y, s, Zh = np.linalg.svd(Qu.conj().T @ (op @ Qv))
        U, Vh = Qu @ Y, Zh @ Qv.conj().T
    res = _gauge.fix_svd(SVDResult(np.ascontiguousarray(U[:, :k], op.dtype),
                              s[:k].astype(real_dtype(op.dtype)), np.ascontiguousarray(Vh[:k], op.dtype)))
    return res, op, s[:kk]


def _svd_block(op, U, V):
    """The Hermitian H = [[0, A], [A^H, 0]] on stacked (m + n, p) blocks,
    and the orthonormal basis [[U, 0], [0, V]] it is deflated by."""
    m = op.shape[0]

    def H(Y):
        return np.vstack([op @ Y[m:], op.rmat(Y[:m])])

    k = U.shape[1]
    Q = np.zeros((m + V.shape[0], 2 * k), np.result_type(U, V))
    Q[:m, :k], Q[m:, k:] = U, V
    return H, Q


def _svds_check_cut(rule, s, k, opt, touched, gs=None):
    scale = s[0] if len(s) else 0.0
    tied = _cut(s, k, scale, opt)
    _check_cut(rule, "singular values", s, k, tied, opt, scale, bool(tied) and touched(tied), gs)


@_fill
def svds_vjp(A: Operator, k: int, *, v0: Optional[ArrayLike] = None, ncv: Optional[int] = None,
             maxiter: Optional[int] = None, solver_tol: Optional[float] = None,
             solver_maxiter: Optional[int] = None, project: Structure = None,
             **opts: Any) -> tuple[SVDResult, Pullback]:
    """The top k singular triplets and their pullback: ``res, pullback = svds_vjp(A, k)``.

    The exact truncated-SVD gradient (as ``svd_vjp(A, k=k)``, the coupling
    to the discarded spectrum kept), by solves on the complement of the
    kept vectors instead of the full SVD.

    Parameters
    ----------
    {{op_rect}}
    k : int
        The number of triplets, 1 <= k <= min(m, n).
    {{arpack}}
    {{solver}}
    project : str or None, default None
        For a dense A, the structure of the returned cotangent, as
        :func:`linalgad.project`. For a sparse A, None or "pattern" (A's
        stored entries) or "dense".
    {{sparse_opts}}

    Returns
    -------
    res : SVDResult
        ``SVDResult(U, S, Vh)`` as :func:`svds`.
    {{sparse_cotangent}}
        Called as ``pullback(dU=None, dS=None, dVh=None)``.

    Raises
    ------
    {{raises_sparse}}

    Notes
    -----
    With ``H = [[0, A], [A^H, 0]]``, ``P_U = I - U U^H``, ``P_V = I - V V^H``::

        dA = U M V^H + Y V^H + U Z^H
        [y_i; z_i] = (s_i - H)^+ [P_U dU_i; P_V dV_i]    (by MINRES)

    M the svd rule of the k x k problem (:func:`svd_vjp`'s M with
    ``J = U^H dU``, ``K = V^H dV``); the solves run on the complement of
    ``[U; 0]`` and ``[0; V]``. They sum the full rule's coupling to the
    discarded triplets (zero cotangents) without forming them.
    {{sparse_cost}}
    {{sign}}

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.random.default_rng(0).standard_normal((60, 40))
    >>> (U, S, Vh), pullback = la.svds_vjp(A, 3)
    >>> dU = np.ones((60, 3))
    >>> _, full = la.svd_vjp(A, k=3, gauge="canonical")
    >>> np.allclose(pullback(dU=dU), full(dU=dU), atol=1e-8)
    True
    """
    rule = "svds_vjp"
    res, op, s_all = _svds_forward(A, k, dict(v0=v0, ncv=ncv, maxiter=maxiter), rule)
    opt, rtol = _opts(op.dtype, rule, solver_tol, opts)
    U, s, Vh = res
    for a in res:
        a.flags.writeable = False
    k, (m, n) = len(s), op.shape
    V = Vh.conj().T
    rdt = real_dtype(op.dtype)
    policy = opt.as_policy()
    eye = np.eye(k, dtype=op.dtype)[None]
    s64 = np.ascontiguousarray(s, np.float64)[None]

    def pullback(dU=None, dS=None, dVh=None):
        gU = cotangent(dU, "dU", (m, k), op.dtype, of="U")
        gs = cotangent(dS, "dS", (k,), rdt, of="S")
        gVh = cotangent(dVh, "dVh", (k, n), op.dtype, of="Vh")
        gV = None if gVh is None else gVh.conj().T
        _svds_check_cut(rule, s_all, k, opt, lambda t: _touched(gU, t) or _touched(gV, t), gs)
        M = np.empty((1, k, k), op.dtype)
        err = _core.svd_vjp(eye, s64, eye,
                            None if gU is None else np.ascontiguousarray((U.conj().T @ gU)[None]),
                            None if gs is None else np.asarray(gs, np.float64)[None],
                            None if gVh is None else np.ascontiguousarray((gVh @ V)[None]),
                            M, k, policy, 1)
        _core_err(err, rule, "singular values", _svd._VECTORS, _svd._REMEDIES)
        M = M[0]
        if gU is None and gV is None:
            return _finish(op, U, V @ M.conj().T, project)
        H, Q = _svd_block(op, U, V)
        G = np.zeros((m + n, k), np.result_type(op.dtype, Q))
        if gU is not None:
            G[:m] = gU
        if gV is not None:
            G[m:] = gV
        YZ = -_solve(H, Q, s, G, rtol, solver_maxiter, rule, op.kind == "dense")
        Y, Z = YZ[:m], YZ[m:]
        return _finish(op, np.hstack([U, Y]), np.hstack([V @ M.conj().T + Z, V]), project)

    return res, pullback


@_fill
def svds_jvp(A: Operator, dA: Operator, k: int, *, v0: Optional[ArrayLike] = None,
             ncv: Optional[int] = None, maxiter: Optional[int] = None,
             solver_tol: Optional[float] = None, solver_maxiter: Optional[int] = None,
             **opts: Any) -> tuple[SVDResult, SVDResult]:
    """The top k singular triplets and their tangent along ``dA`` (forward mode).

    Parameters
    ----------
    {{op_rect}}
    dA : array_like, scipy.sparse matrix or array, or LinearOperator
        The tangent, A's shape (real for real A); a LinearOperator needs
        ``dA.H``.
    k : int
        The number of triplets, 1 <= k <= min(m, n).
    {{arpack}}
    {{solver}}
    {{sparse_opts}}

    Returns
    -------
    res : SVDResult
        ``SVDResult(U, S, Vh)`` as :func:`svds`.
    tan : SVDResult
        Their tangents ``SVDResult(dU, dS, dVh)``, in :func:`svd_jvp`'s gauge.

    Raises
    ------
    {{raises_sparse}}

    Notes
    -----
    The k x k rule of :func:`svd_jvp` on ``R = U^H dA V`` gives ``dS = Re
    diag(R)`` and the in-span parts ``C_U``, ``C_Vh``; the rest is::

        [a_i; b_i] = (s_i - H)^+ [P_U dA v_i; P_V dA^H u_i]    (by MINRES)
        dU = U C_U + [a_1 .. a_k],   dVh = C_Vh Vh + [b_1 .. b_k]^H

    with ``H``, ``P_U``, ``P_V`` as in :func:`svds_vjp`.
    {{sparse_cost}}

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> rng = np.random.default_rng(0)
    >>> A, dA = rng.standard_normal((2, 60, 40))
    >>> (U, S, Vh), (dU, dS, dVh) = la.svds_jvp(A, dA, 3)
    >>> np.allclose(dS, np.diag(U.T @ dA @ Vh.T))
    True
    >>> _, (dUf, dSf, dVhf) = la.svd_jvp(A, dA, k=3, gauge="canonical")
    >>> np.allclose(dU, dUf, atol=1e-8) and np.allclose(dS, dSf)
    True
    """
    rule = "svds_jvp"
    res, op, s_all = _svds_forward(A, k, dict(v0=v0, ncv=ncv, maxiter=maxiter), rule)
    opt, rtol = _opts(op.dtype, rule, solver_tol, opts)
    d = _tangent(dA, op)
    U, s, Vh = res
    k, m = len(s), op.shape[0]
    V = Vh.conj().T
    _svds_check_cut(rule, s_all, k, opt, lambda t: True)
    dAV, dAhU = d @ V, d.rmat(U)
    dU = np.empty((1, k, k), op.dtype)
    ds = np.empty((1, k), np.float64)
    dVh = np.empty((1, k, k), op.dtype)
    err = _core.svd_jvp(np.eye(k, dtype=op.dtype)[None], np.ascontiguousarray(s, np.float64)[None],
                        np.eye(k, dtype=op.dtype)[None], np.ascontiguousarray((U.conj().T @ dAV)[None]),
                        dU, ds, dVh, k, opt.as_policy(), 1)
    _core_err(err, rule, "singular values", _svd._VECTORS, _svd._REMEDIES)
    H, Q = _svd_block(op, U, V)
    AB = -_solve(H, Q, s, np.vstack([dAV, dAhU]), rtol, solver_maxiter, rule, op.kind == "dense")
    tU = U @ dU[0] + AB[:m]
    tVh = dVh[0] @ Vh + AB[m:].conj().T
    return res, SVDResult(tU.astype(op.dtype), ds[0].astype(real_dtype(op.dtype)), tVh.astype(op.dtype))


def krylov_svd(method, A, dA, k, full_matrices, gauge, **kw):
    """``svd_vjp``/``svd_jvp(..., method="krylov")``: svds_vjp/svds_jvp (dA None:
    the VJP), after refusing what the Krylov path does not do."""
    if method != "krylov":
        raise ValueError(f"method must be 'full' or 'krylov', got {method!r}")
    if k is None or full_matrices or gauge is not None:
        raise ValueError("method='krylov' computes the top k triplets of one matrix: it needs k, "
                         "and takes neither full_matrices=True nor gauge=")
    if dA is None:
        return svds_vjp(A, k, **kw)
    return svds_jvp(A, dA, k, **kw)


# ------------------------------------------------------------------ example operator

def transverse_field_ising(L, J=1.0, h=1.0, *, periodic=False, format="csr"):
    """The transverse-field Ising chain of L spins, H = -J sum Z_i Z_{i+1} -
    h sum X_i, as a sparse 2^L x 2^L matrix, with its derivatives:
    ``(H, dH_dJ, dH_dh)`` (H = J dH_dJ + h dH_dh). Built by bit arithmetic in
    O(L 2^L), never a Kronecker product of dense factors."""
    import scipy.sparse as sp

    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 2:
        raise ValueError(f"L must be an integer >= 2, got {L!r}")
    n = 1 << L
    states = np.arange(n, dtype=np.int64)
    bonds = L if periodic else L - 1
    zz = sum(_z(states, i) * _z(states, (i + 1) % L) for i in range(bonds)).astype(np.float64)
    dJ = sp.diags_array(-zz, format=format)
    rows = np.repeat(states, L)
    cols = (states[:, None] ^ (1 << np.arange(L))).ravel()
    dh = sp.coo_array((-np.ones(n * L), (rows, cols)), shape=(n, n)).asformat(format)
    return J * dJ + h * dh, dJ, dh


def _z(states, i):
    """The eigenvalue (+-1) of Z_i on each basis state (bit i of its index)."""
    return 1 - 2 * ((states >> i) & 1)


def zz_correlation(L, i, j, *, format="csr"):
    """The diagonal operator Z_i Z_j on L spins (an observable of the chain)."""
    import scipy.sparse as sp

    if not (0 <= i < L and 0 <= j < L):
        raise ValueError(f"sites must be in [0, {L}), got {i} and {j}")
    states = np.arange(1 << L, dtype=np.int64)
    return sp.diags_array((_z(states, i) * _z(states, j)).astype(np.float64), format=format)
