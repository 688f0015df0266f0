"""General eigendecomposition: A V = V diag(w).

Primal
    ``numpy.linalg.eig``: w complex (real when A is real and, over the whole
    stack, every eigenvalue is real, as NumPy does), columns of V of unit
    2-norm. LAPACK also makes the entry of largest modulus of each column
    real (positive for complex A; for real A the sign is arbitrary).
Normalisation (``normalization=``)
    "lapack" (default): the rule differentiates exactly that convention, so
        its JVP matches finite differences of ``numpy.linalg.eig`` itself and
        every loss of (w, V) has a gradient. Default because it is the
        function the user actually calls.
    "norm": unit norm only; the phase of each column is a gauge, and a loss
        that sees it (Im(v_j^H dV_j) != 0) raises GaugeError.
    The two agree for every phase-invariant loss, and for real eigenvectors.
Gauge and degeneracy
    Repeated eigenvalues follow ``degeneracy=`` (strict, exact, subspace,
    lorentz; "taylor" is for positive semi-definite Hermitian spectra and is
    refused here). A (nearly) defective A raises DegeneracyError. By
    default that is cond(V) > eps**(-1/3) (1.65e5 in float64, 203 in
    float32) together with a pair of close eigenvalues whose condition
    numbers make eps * pair_cond > 0.05 (the measured error model of
    docs/eig.md); an explicit ``cond_max`` bounds cond(V) alone.
Rules (G = V^H dV', F_ij = 1/(w_j - w_i), F_ii = 0; bars dropped)
    VJP  dV'_j = dV_j - Re(v_j^H dV_j) v_j  [- i Im(v_j^H dV_j)/v_kj e_k  (lapack, k the pivot row)]
         A_bar = V^{-H} (diag(dw) + conj(F) o G) V^H, by one LU of V and
         right solves (never V^{-1}). Real A: the real part (the default
         projection), which is exact even when the loss touches only one
         member of a conjugate pair.
    JVP  P = V^{-1} dA V; dw = diag P; X = V (F o P);
         dV_j = X_j - Re(v_j^H X_j) v_j  [- i Im(X_kj)/v_kj v_j  (lapack)].
Cost (complex GEMMs, n x n): VJP 3.3 (V^H dV', V Z^H, getrf, getrs); 1.3
    for eigenvalues only; JVP 3.3. Real A with complex eigenvalues: the VJP
    runs in real arithmetic through LAPACK's real eigenvector matrix Vr
    (V = Vr T, T block diagonal): 4.3 real GEMMs (1.3 for eigenvalues only);
    the JVP in complex arithmetic.
Derivation and references: docs/eig.md.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .. import _core, gauge as _gauge
from .._docs import FRAGMENTS, fill
from .._results import EigResult, deprecated_alias
from .._status import Status
from .._typing import Array, ArrayLike, Gauge, Pullback, Structure
from .._errors import raise_core, raise_defective
from .._options import batch_threads, options
from .._validate import cotangent, tangent, matrix_stack, real_dtype
from ._factors import cotan, eig_frame
from ._values import resolve, values_options
from .eigh import _fix, finish

__all__ = ["EigResult", "eig", "eig_vjp", "eig_jvp", "eig_pullback", "eig_pushforward",
           "eigvals", "eigvals_vjp", "eigvals_jvp", "eigvals_pushforward"]



def __getattr__(name):  # the old result name Eig, deprecated
    return deprecated_alias(name, globals())

_NORMS = ("lapack", "norm")

_REMEDIES = (
    "if the loss depends on these eigenvectors only through their span, pass "
    "degeneracy='subspace'; for a Hermitian matrix use eigh_vjp or funm_vjp; to regularise, "
    "pass degeneracy='lorentz'"
)


def _raise(err, rule, st):
    raise_core(err, rule=rule, values="eigenvalues", vectors="V[:, {i}]", remedies=_REMEDIES,
               batch_shape=st.batch)


def _normalization(normalization):
    if normalization not in _NORMS:
        raise ValueError(f"normalization must be one of {_NORMS}, got {normalization!r}")
    return normalization == "lapack"


def _options(st, opts):
    opt = options(st.dtype, **opts)
    if opt.degeneracy == "taylor":
        raise ValueError(
            "eig: degeneracy='taylor' (the power-iteration series) needs a positive semi-definite "
            "Hermitian spectrum; use 'lorentz' or 'subspace' for eig, or eigh_vjp for Hermitian A"
        )
    return opt


def _real_w_cotangent(dw, wdtype):
    """For a real w (every eigenvalue real: numpy.linalg.eig then returns real
    w, as it may part-way through an optimisation), a complex dw with a zero
    imaginary part is its real part; a nonzero one is refused with why."""
    if dw is None or np.dtype(wdtype).kind == "c" or not np.iscomplexobj(dw):
        return dw
    dw = np.asarray(dw)
    if np.any(dw.imag != 0):
        raise TypeError(
            f"dw is complex (max |Im dw| = {np.abs(dw.imag).max():.3g}) but w is real here (every "
            f"eigenvalue of this real A is real, and numpy.linalg.eig then returns a real w), so "
            f"its cotangent is real; pass dw.real (eigenvalues that are real and simple stay real "
            f"nearby, so the imaginary part's cotangent has nothing to act on)"
        )
    return dw.real


class _Defect:
    """The near-defective test of one call, or of one pullback closure.

    cond(V) alone cannot tell a near-defective block (derivative error about
    eps cond(V)^2 or worse) from eigenvectors that are merely far from
    orthogonal (error about eps cond(V)), and most random float32 matrices
    from n ~ 50 have cond(V) above its default bound. So under the default a
    matrix is refused when cond(V) > eps^(-1/3) (the core's test) *and* its
    pair condition number (``pair_cond``) > 0.05/eps; measured, eps * pair_cond
    is within a factor of about 4.5 of the error on both families (docs/eig.md).
    The pair test runs only on a stack the core refused, and once it passes,
    later calls of the same pullback skip the core's test. An explicit
    ``cond_max`` bounds cond(V) alone."""

    def __init__(self, cond_max, dtype):
        eps = float(np.finfo(real_dtype(dtype)).eps)
        if cond_max is None:
            self.cond, self.pair = eps ** (-1.0 / 3.0), 0.05 / eps
            return
        self.cond, self.pair = float(cond_max), None
        if not self.cond > 1:
            raise ValueError(f"cond_max must be > 1, got {cond_max!r}")

    def retry(self, err, w, V, st, rule, vectors):
        """After the core returned ``err`` for the factors w (B, n), V (B, n, n):
        the cond(V) bound to run it again with, or the error raised. vectors:
        does the cotangent or tangent reach V (the advice differs)."""
        if err[0] == Status.E_ILLCOND and self.pair is not None and self.cond < np.inf:
            self.check_pairs(w, V, st, rule, vectors)
            self.cond = np.inf
            return self.cond
        _raise(err, rule, st)

    def check_pairs(self, w, V, st, rule, vectors, cond=None):
        """Refuse the first matrix of the stack whose pair condition number is
        above the default bound (and whose cond(V), given as cond (B,), is
        above cond_max)."""
        c, at = pair_cond(w, V, pairs=True)
        bad = ~(c <= self.pair)
        if cond is not None:
            bad &= ~(cond <= self.cond)
        if bad.any():
            b = int(np.argmax(bad))
            i, j = (int(k) for k in at[b])
            raise_defective(rule, batch_shape=st.batch, b=b,
                            cond=_cond_inf(V[b]) if cond is None else float(cond[b]),
                            cond_max=self.cond, vectors=vectors,
                            pair=(i, j, w[b, i], w[b, j], float(c[b]), self.pair))


def _cond_inf(V):
    """The infinity-norm condition number of each matrix (the core's measure;
    inf for a singular one)."""
    V = np.asarray(V)
    with np.errstate(all="ignore"):
        return np.linalg.cond(V.astype(np.result_type(V.dtype, np.float64)), np.inf)


def pair_cond(w, V, pairs=False):
    """The pair condition number of each matrix of a stack (w (..., n), V
    (..., n, n)): the largest over pairs i != j of
    kappa_i kappa_j min(s / |w_i - w_j|, kappa_i kappa_j), where
    kappa_i = ||row i of V^-1|| ||column i of V|| is eigenvalue i's condition
    number and s = max |w|. The cap keeps a repeated eigenvalue with
    well-conditioned vectors (kappa ~ 1, gap 0) harmless; a singular V gives
    inf. pairs=True: also the pair (i, j) attaining it, per matrix."""
    w = np.asarray(w)
    V = np.asarray(V)
    n = V.shape[-1]
    if n < 2:
        c = np.ones(V.shape[:-2])
        return (c, np.zeros(V.shape[:-2] + (2,), int)) if pairs else c
    V = V.astype(np.result_type(V.dtype, np.float64))
    with np.errstate(all="ignore"):
        kap = np.linalg.norm(_inverse(V), axis=-1) * np.linalg.norm(V, axis=-2)
        s = np.abs(w).max(-1)[..., None, None]
        gap = np.abs(w[..., :, None] - w[..., None, :])
        kk = kap[..., :, None] * kap[..., None, :]
        p = kk * np.fmin(s / gap, kk)       # fmin: 0/0 (a zero matrix) is no pair
    p[..., np.arange(n), np.arange(n)] = 0
    p = np.nan_to_num(p, nan=np.inf, posinf=np.inf)
    flat = p.reshape(p.shape[:-2] + (n * n,))
    k = flat.argmax(-1)
    c = np.take_along_axis(flat, k[..., None], -1)[..., 0]
    return (c, np.stack(np.divmod(k, n), -1)) if pairs else c


def _inverse(V):
    """V^-1 of a stack; an exactly singular matrix gives inf (infinitely defective)."""
    try:
        return np.linalg.inv(V)
    except np.linalg.LinAlgError:
        if V.ndim > 2:
            return np.stack([_inverse(v) for v in V])
        return np.full(V.shape, np.inf, V.dtype)


FRAGMENTS["cond_max"] = f"""\
cond_max : float, optional
    Largest accepted infinity-norm condition number of V; a (nearly)
    defective A above it raises DegeneracyError. By default (None) a matrix
    with cond(V) above {_Defect(None, np.float64).cond:.3g} in float64 ({_Defect(None, np.float32).cond:.3g} in float32) is
    refused only when, in addition, a pair of close eigenvalues has
    ill-conditioned eigenvectors (pair condition number above 0.05 / eps),
    so that the derivative's error would pass a few percent; see docs/eig.md."""


def factor(st):
    """(w, V) as numpy.linalg.eig returns them for the stack, V contiguous."""
    n = st.n
    if st.m != n:
        raise ValueError(f"A must be square in its last two axes, got shape {st.shape(st.m, n)}")
    if st.data.size == 0:
        w = np.zeros((st.B, n), st.dtype)
        V = np.broadcast_to(np.eye(n, dtype=st.dtype), (st.B, n, n)).copy()
        return w, V
    w, V = np.linalg.eig(st.data)
    return w, np.ascontiguousarray(V)


def _lapack_pairs(w):
    """Do the complex eigenvalues come as LAPACK orders them for real input
    (each pair adjacent, positive imaginary part first, exact conjugates)?
    The real-arithmetic pullback relies on it; otherwise the complex path runs."""
    first, second = w.imag > 0, w.imag < 0
    if second[..., :1].any() or first[..., -1:].any():
        return False
    if not np.array_equal(second[..., 1:], first[..., :-1]):
        return False
    return bool(np.all(w[..., 1:][second[..., 1:]] == np.conj(w[..., :-1][second[..., 1:]])))


def _result(st, w, V, readonly):
    res = EigResult(w.reshape(st.shape(st.n)), V.reshape(st.shape(st.n, st.n)))
    if readonly:
        for a in res:
            a.flags.writeable = False
    return res


@fill
def eig(A: ArrayLike, *, gauge: Gauge = None) -> EigResult:
    """Eigenvalues and unit-norm eigenvectors, as ``numpy.linalg.eig``.

    Parameters
    ----------
    {{Asq}}
    {{gauge}}

    Returns
    -------
    EigResult
        ``EigResult(eigenvalues, eigenvectors)``: w (..., n), complex unless
        every eigenvalue of a real stack is real (as NumPy), and V
        (..., n, n) with unit-norm columns, ``A V = V diag(w)``.

    Raises
    ------
    {{raises_input}}

    Notes
    -----
    LAPACK makes each column's entry of largest modulus real (positive for
    complex A); ``gauge="canonical"`` makes it positive for real A too.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.array([[2.0, 1.0], [0.0, 3.0]])
    >>> w, V = la.eig(A)
    >>> w
    array([2., 3.])
    >>> np.allclose(A @ V, V * w)
    True
    """
    st = matrix_stack(A, square=True)
    w, V = factor(st)
    res = _result(st, w, V, readonly=False)
    return _fix("fix_eig")(res) if _gauge.wants(gauge) else res


@fill
def eig_vjp(A: ArrayLike, *, normalization: Literal["lapack", "norm"] = "lapack",
            cond_max: float | None = None, gauge: Gauge = None, project: Structure = None,
            **opts: Any) -> tuple[EigResult, Pullback]:
    """eig and its pullback (reverse mode): ``res, pullback = eig_vjp(A)``.

    Parameters
    ----------
    {{Asq}}
    {{normalization}}
    {{cond_max}}
    gauge : {None, "canonical"}, default None
        "canonical": the factors are gauge-fixed and the pullback takes
        cotangents of the fixed factors.
    {{project}}
    {{opts}}

    Returns
    -------
    res : EigResult
        ``EigResult(eigenvalues, eigenvectors)`` (read-only).
    pullback : callable
        ``pullback(dw=None, dV=None) -> dA`` (real for real A by default,
        exact also when the loss touches one member of a conjugate pair).

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    With ``G = V^H dV'`` (``dV'``: dV without its component along each
    column, and the LAPACK phase term) and ``F_ij = 1/(w_j - w_i)``::

        dA = V^-H (diag(dw) + conj(F) o G) V^H

    by one LU of V (never ``V^-1``). ``degeneracy="taylor"`` needs a
    positive semi-definite Hermitian spectrum and is refused (ValueError).

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.array([[2.0, 1.0], [0.0, 3.0]])
    >>> (w, V), pullback = la.eig_vjp(A)
    >>> np.allclose(pullback(dw=np.ones(2)), np.eye(2))   # d trace(A) / dA
    True
    """
    lapack = _normalization(normalization)
    st = matrix_stack(A, square=True)
    opt = _options(st, opts)
    defect = _Defect(cond_max, st.dtype)
    w, V = factor(st)
    res = _result(st, w, V, readonly=True)
    raw, fixed = res, _gauge.wants(gauge)
    if fixed:
        res = _fix("fix_eig")(raw)
        for a in res:
            a.flags.writeable = False
    n = st.n
    w128 = np.ascontiguousarray(w, dtype=np.complex128).reshape(st.B, n)
    policy = opt.as_policy()

    # real A with complex eigenvalues: the real cotangent in real arithmetic
    # (V = Vr T, see _eig.pxi), unless the complex one is asked for
    real_path = (st.dtype.kind == "f" and V.dtype.kind == "c" and project != "complex"
                 and _lapack_pairs(w))

    wshape, Vshape = res[0].shape, res[1].shape

    # inf/nan in a cotangent: the real path's core checks what it reads,
    # unless the gauge pull transforms the cotangents first
    early = fixed or not real_path

    def pullback(dw=None, dV=None):
        gw = cotangent(_real_w_cotangent(dw, w.dtype), "dw", wshape, w.dtype, of="w", finite=early)
        gV = cotangent(dV, "dV", Vshape, V.dtype, of="V", finite=early)
        if fixed and gV is not None:
            gV = np.ascontiguousarray(_fix("pull_eig")(raw, (gw, gV))[1])
        gw = None if gw is None else np.ascontiguousarray(gw, np.complex128).reshape(st.B, n)
        gV = None if gV is None else gV.reshape(st.B, n, n)
        out = _pullback(V, w128, gw, gV, st, real_path, lapack, defect, policy, not early, "eig_vjp")
        return finish(out.reshape(st.shape(n, n)), st, project, "eig_vjp")

    return res, pullback


@fill
def eig_jvp(A: ArrayLike, dA: ArrayLike, *, normalization: Literal["lapack", "norm"] = "lapack",
            cond_max: float | None = None, gauge: Gauge = None,
            **opts: Any) -> tuple[EigResult, EigResult]:
    """eig and its tangent along ``dA`` (forward mode).

    Parameters
    ----------
    {{Asq}}
    dA : array_like, shape (..., n, n)
        The tangent of A.
    {{normalization}}
    {{cond_max}}
    gauge : {None, "canonical"}, default None
        "canonical": factors and tangents of the gauge-fixed eigenvectors.
    {{opts}}

    Returns
    -------
    res : EigResult
        ``EigResult(eigenvalues, eigenvectors)``.
    tangent : EigResult
        ``EigResult(dw, dV)``; with "lapack" the derivative of
        ``numpy.linalg.eig``'s own output (it matches its finite
        differences).

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    ``P = V^-1 dA V``, ``dw = diag(P)``, ``X = V (F o P)`` with
    ``F_ij = 1/(w_j - w_i)``; ``dV_j = X_j - Re(v_j^H X_j) v_j`` (and the
    LAPACK phase term).

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.array([[2.0, 1.0], [0.0, 3.0]])
    >>> (w, V), (dw, dV) = la.eig_jvp(A, np.eye(2))
    >>> dw
    array([1., 1.])
    """
    lapack = _normalization(normalization)
    st = matrix_stack(A, square=True)
    opt = _options(st, opts)
    defect = _Defect(cond_max, st.dtype)
    n = st.n
    dA3 = cotangent(tangent(dA), "dA", st.shape(n, n), st.dtype, of="A").reshape(st.data.shape)
    w, V = factor(st)
    dw, dV = _pushforward(V, np.ascontiguousarray(w, dtype=np.complex128).reshape(st.B, n), dA3,
                          st, lapack, defect, opt.as_policy(), "eig_jvp")
    res = _result(st, w, V, readonly=False)
    dw = dw.real if w.dtype.kind != "c" else dw
    tan = EigResult(dw.astype(w.dtype).reshape(res[0].shape), dV.reshape(res[1].shape))
    if _gauge.wants(gauge):
        return _fix("fix_eig_jvp")(res, tan)
    return res, tan


# The rule on (B, ...) stacks: what the closures and the stateless forms share.

def _pullback(V, w128, gw, gV, st, real_path, lapack, defect, policy, check_finite, rule):
    """dA (B, n, n) for cotangents gw (B, n) complex128 and gV; ``real_path``:
    real A with LAPACK-paired complex eigenvalues, the real cotangent in real
    arithmetic (``check_finite`` there: the core refuses inf/nan)."""
    threads = batch_threads(st.B, st.n)     # read here: set_num_threads may follow eig_vjp
    out = np.empty((st.B, st.n, st.n), st.dtype if real_path else V.dtype)
    cond_max = defect.cond
    while True:
        if real_path:
            err = _core.eig_vjp_real(V, w128, gw, gV, out, lapack, cond_max, policy, threads,
                                     check_finite=check_finite)
        else:
            err = _core.eig_vjp(V, w128, gw, gV, out, lapack, cond_max, policy, threads)
        if err is None:
            return out
        cond_max = defect.retry(err, w128, V, st, rule, gV is not None)


def _pushforward(V, w128, dA3, st, lapack, defect, policy, rule):
    """(dw complex128 (B, n), dV (B, n, n)) along dA3."""
    dA3 = np.ascontiguousarray(dA3, dtype=V.dtype)
    dw = np.empty((st.B, st.n), np.complex128)
    dV = np.empty((st.B, st.n, st.n), V.dtype)
    cond_max = defect.cond
    while True:
        err = _core.eig_jvp(V, w128, dA3, dw, dV, lapack, cond_max, policy,
                            batch_threads(st.B, st.n))
        if err is None:
            return dw, dV
        cond_max = defect.retry(err, w128, V, st, rule, True)


def _eig_frame(rule, w, V, extra, real_input):
    fr, w3, V3 = eig_frame(rule, w, V, extra, hermitian=False)
    vdt = fr.dtype
    if real_input is None:
        real_input = vdt.kind == "f"
    if real_input:
        fr.dtype = real_dtype(vdt)
    elif vdt.kind == "f":
        raise ValueError(f"{rule}: real_input=False needs the complex factors of a complex A "
                         f"(numpy.linalg.eig of complex input returns complex w and V)")
    return fr, np.ascontiguousarray(w3, dtype=np.complex128), V3, vdt


@fill
def eig_pullback(w: ArrayLike, V: ArrayLike, dw: ArrayLike | None = None,
                 dV: ArrayLike | None = None, *, real_input: bool | None = None,
                 normalization: Literal["lapack", "norm"] = "lapack",
                 cond_max: float | None = None, **opts: Any) -> Array:
    """The eig pullback from the factors (stateless): ``dA`` for cotangents of w, V.

    The stateless form of ``eig_vjp(A)[1]``.

    Parameters
    ----------
    {{eig_factors}}
    dw, dV : array_like, optional
        Cotangents of w and V (None: zero); leading axes broadcast with the
        factors'.
    real_input : bool, optional
        Whether A was real, which the factors of a real A with complex
        eigenvalues cannot tell. None infers it from V's dtype (real V: real
        A; complex V: complex A, complex cotangent); True returns the real
        cotangent of a real A (exact also when the loss touches one member
        of a conjugate pair).
    {{normalization}}
    {{cond_max}}
    {{opts}}

    Returns
    -------
    ndarray, shape (..., n, n)
        The cotangent of A. ``gauge=`` and ``project=`` need A: use
        :func:`eig_vjp`.

    Raises
    ------
    {{raises_stateless}}

    Notes
    -----
    The formula of :func:`eig_vjp`, applied to the given factors.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> w, V = np.linalg.eig(np.array([[0.0, -1.0], [1.0, 0.0]]))   # w = +-1j
    >>> dA = la.eig_pullback(w, V, np.ones(2), real_input=True)
    >>> np.allclose(dA, np.eye(2))   # d Re(trace A) / dA
    True
    """
    rule = "eig_pullback"
    lapack = _normalization(normalization)
    fr, w128, V3, vdt = _eig_frame(rule, w, V, [("dw", dw, 1), ("dV", dV, 2)], real_input)
    opt = _options(fr, opts)
    defect = _Defect(cond_max, vdt)
    n = fr.n
    real_path = fr.dtype != vdt and _lapack_pairs(w128)
    gw = cotan(_real_w_cotangent(dw, vdt), "dw", fr.batch, (n,), vdt, of="w", finite=not real_path)
    gV = cotan(dV, "dV", fr.batch, (n, n), vdt, of="V", finite=not real_path)
    gw = None if gw is None else np.ascontiguousarray(gw, np.complex128)
    out = _pullback(V3, w128, gw, gV, fr, real_path, lapack, defect, opt.as_policy(), True, rule)
    return finish(out, fr, None, rule)


@fill
def eig_pushforward(w: ArrayLike, V: ArrayLike, dA: ArrayLike, *,
                    normalization: Literal["lapack", "norm"] = "lapack",
                    cond_max: float | None = None, **opts: Any) -> EigResult:
    """The eig tangent from the factors (stateless): ``EigResult(dw, dV)`` along ``dA``.

    Parameters
    ----------
    {{eig_factors}}
    dA : array_like, shape (..., n, n)
        The tangent of A (may be real when the factors are complex: a real A
        with complex eigenvalues); leading axes broadcast with the factors'.
    {{normalization}}
    {{cond_max}}
    {{opts}}

    Returns
    -------
    EigResult
        ``EigResult(dw, dV)`` with the factors' dtypes, the stateless form
        of ``eig_jvp(A, dA)[1]``.

    Raises
    ------
    {{raises_stateless}}

    Notes
    -----
    The formula of :func:`eig_jvp`, applied to the given factors.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> w, V = np.linalg.eig(np.array([[2.0, 1.0], [0.0, 3.0]]))
    >>> dw, dV = la.eig_pushforward(w, V, np.eye(2))
    >>> dw
    array([1., 1.])
    """
    rule = "eig_pushforward"
    lapack = _normalization(normalization)
    fr, w128, V3, vdt = _eig_frame(rule, w, V, [("dA", dA, 2)], None)
    opt = _options(fr, opts)
    defect = _Defect(cond_max, vdt)
    n = fr.n
    # a real dA stays real until the core's cast (a complex one needs complex factors)
    dA3 = cotan(tangent(dA), "dA", fr.batch, (n, n), vdt if np.iscomplexobj(dA) else real_dtype(vdt),
                of="A", finite=True)
    dw, dV = _pushforward(V3, w128, dA3, fr, lapack, defect, opt.as_policy(), rule)
    dw = dw.real if vdt.kind != "c" else dw
    return EigResult(dw.astype(vdt).reshape(fr.shape(n)), dV.reshape(fr.shape(n, n)))


# Eigenvalues only (the forward mode skips the vectors' tangents: see rules/_values.py)

@fill
def eigvals(A: ArrayLike) -> Array:
    """The eigenvalues, as ``numpy.linalg.eigvals``.

    Parameters
    ----------
    {{Asq}}

    Returns
    -------
    ndarray, shape (..., n)
        The eigenvalues, complex unless every eigenvalue of a real stack is
        real.

    Raises
    ------
    {{raises_input}}

    Notes
    -----
    The roots of ``det(A - w I) = 0``, as LAPACK's geev orders them.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> la.eigvals(np.array([[0.0, -1.0], [1.0, 0.0]]))
    array([0.+1.j, 0.-1.j])
    """
    st = matrix_stack(A, square=True)
    if st.data.size == 0:
        return np.zeros(st.shape(st.n), st.dtype)
    return np.linalg.eigvals(st.data).reshape(st.shape(st.n))


@fill
def eigvals_vjp(A: ArrayLike, *, cond_max: float | None = None, project: Structure = None,
                **opts: Any) -> tuple[Array, Pullback]:
    """The eigenvalues and their pullback: ``w, pullback = eigvals_vjp(A)``.

    Parameters
    ----------
    {{Asq}}
    {{cond_max}}
    {{project}}
    {{opts}}

    Returns
    -------
    w : ndarray, shape (..., n)
        The eigenvalues.
    pullback : callable
        ``pullback(dw) -> dA``.

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    ``dA = V^-H diag(dw) V^H``, the pullback of :func:`eig_vjp` with
    ``dV = 0``.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> w, pullback = la.eigvals_vjp(np.array([[2.0, 1.0], [0.0, 3.0]]))
    >>> np.allclose(pullback(np.ones(2)), np.eye(2))
    True
    """
    res, pullback = eig_vjp(A, cond_max=cond_max, project=project, **opts)
    return res.eigenvalues, lambda dw=None: pullback(dw, None)


def _values_tangent(w, V, dA3, st, defect, opt, rule):
    """dw (B, n) = diag(V^-1 dA V), after the check that A is not (nearly)
    defective (a defective eigenvalue moves like t**(1/k): no derivative)."""
    if st.n:
        cond = _cond_inf(V)
        if not np.all(cond <= defect.cond):
            if defect.pair is not None:
                defect.check_pairs(w, V, st, rule, False, cond)
            else:
                b = int(np.argmax(~(cond <= defect.cond)))
                raise_defective(rule, batch_shape=st.batch, b=b, cond=float(cond[b]),
                                cond_max=defect.cond, vectors=False)
    C = np.linalg.solve(V, dA3.astype(V.dtype) @ V)
    dw = np.ascontiguousarray(np.diagonal(C, axis1=-2, axis2=-1))
    return resolve(rule, "eigenvalues", w, dw, lambda b: C[b], opt, st.batch)


def _values_out(dw, w, shape):
    return (dw.real if w.dtype.kind != "c" else dw).astype(w.dtype).reshape(shape)


@fill
def eigvals_jvp(A: ArrayLike, dA: ArrayLike, *, cond_max: float | None = None,
                **opts: Any) -> tuple[Array, Array]:
    """The eigenvalues and their tangent along ``dA``: ``(w, dw)``.

    Parameters
    ----------
    {{Asq}}
    dA : array_like, shape (..., n, n)
        The tangent of A.
    {{cond_max}}
    {{values_opts}}

    Returns
    -------
    w : ndarray, shape (..., n)
        The eigenvalues.
    dw : ndarray, shape (..., n)
        Their tangent.

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    ``dw = diag(V^-1 dA V)``, without the vectors' tangents (no ``1/gap``).

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> w, dw = la.eigvals_jvp(np.array([[2.0, 1.0], [0.0, 3.0]]), np.eye(2))
    >>> dw
    array([1., 1.])
    """
    st = matrix_stack(A, square=True)
    opt = values_options(st.dtype, opts)
    defect = _Defect(cond_max, st.dtype)
    n = st.n
    dA3 = cotangent(tangent(dA), "dA", st.shape(n, n), st.dtype, of="A").reshape(st.data.shape)
    w, V = factor(st)
    dw = _values_tangent(w, V, dA3, st, defect, opt, "eigvals_jvp")
    return w.reshape(st.shape(n)), _values_out(dw, w, st.shape(n))


@fill
def eigvals_pushforward(w: ArrayLike, V: ArrayLike, dA: ArrayLike, *,
                        cond_max: float | None = None, **opts: Any) -> Array:
    """The eigenvalues' tangent from the factors (stateless): ``dw`` along ``dA``.

    Parameters
    ----------
    {{eig_factors}}
    dA : array_like, shape (..., n, n)
        The tangent of A.
    {{cond_max}}
    {{values_opts}}

    Returns
    -------
    ndarray, shape (..., n)
        ``dw``, the stateless form of ``eigvals_jvp(A, dA)[1]``.

    Raises
    ------
    {{raises_stateless}}

    Notes
    -----
    ``dw = diag(V^-1 dA V)``.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> w, V = np.linalg.eig(np.array([[2.0, 1.0], [0.0, 3.0]]))
    >>> la.eigvals_pushforward(w, V, np.eye(2))
    array([1., 1.])
    """
    rule = "eigvals_pushforward"
    fr, w128, V3, vdt = _eig_frame(rule, w, V, [("dA", dA, 2)], None)
    opt = values_options(fr.dtype, opts)
    defect = _Defect(cond_max, vdt)
    dA3 = cotan(tangent(dA), "dA", fr.batch, (fr.n, fr.n), vdt if np.iscomplexobj(dA) else real_dtype(vdt),
                of="A", finite=True)
    wv = w128 if vdt.kind == "c" else w128.real
    dw = _values_tangent(wv, V3, dA3, fr, defect, opt, rule)
    return _values_out(dw, np.empty(0, vdt), fr.shape(fr.n))
