"""SVD: A = U diag(S) Vh.

Primal
    ``numpy.linalg.svd``: S descending; thin (k = min(m, n) columns) by
    default, ``full_matrices=True`` for square U and Vh, ``k=`` keeps the top k
    triplets.
Gauge
    U -> U D, V -> V D with D diagonal unitary (phases; signs for real A), and
    any unitary mixing inside a block of equal singular values or of the
    extra columns of ``full_matrices=True``. A complex cotangent whose loss
    sees the phases raises GaugeError in every mode; a degenerate block
    follows ``degeneracy=`` (the options of :func:`svd_vjp`).
Rules (J = U^H dU, K = V^H dV, X = J - J^H, Y = K - K^H; bars dropped)
    VJP  M_ij = (X+Y)_ij / 2(s_j - s_i) + (X-Y)_ij / 2(s_j + s_i),
         M_ii = dS_i + i Im(J_ii - K_ii) / 2 s_i,
         dA = U M Vh + (dU - U J) S^-1 Vh + U S^-1 (dVh - K^H Vh).
    JVP  R = U^H dA V; dS = Re diag R; U^H dU, V^H dV from the same split
         form; plus the rectangular terms.
    Only 1/(s_j - s_i) is a gauge coupling; 1/(s_j + s_i) is finite unless
    two singular values are zero and is kept in every mode. No
    1/(s_j^2 - s_i^2) is ever formed (it overflows outside +-sqrt(max)).
    Truncation (k): the full thin rule with zero cotangents on the discarded
    triplets, which keeps the coupling to the discarded spectrum.
Cost (square, GEMMs): VJP 4 (3 with one vector cotangent, 1 for S only);
    JVP 4.
Derivation and references: docs/svd.md.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .. import _core, gauge as _gauge
from .._compat import deprecate
from .._docs import fill
from .._results import SVDResult, deprecated_alias
from .._typing import Array, ArrayLike, Gauge, Pullback, Structure
from ..project import finish_cotangent
from .._errors import GaugeError, raise_core
from .._options import batch_threads, options
from .._validate import cotangent, tangent, matrix_stack, real_dtype
from ._factors import cotan, svd_frame
from ._values import resolve, values_options

__all__ = ["SVDResult", "svd", "svd_vjp", "svd_jvp", "svd_pullback", "svd_pushforward",
           "svdvals", "svdvals_vjp", "svdvals_jvp", "svdvals_pushforward"]



def __getattr__(name):  # the old result name SVD, deprecated
    return deprecated_alias(name, globals())

_REMEDIES = (
    "if the loss depends on these vectors only through their span, pass degeneracy='subspace'; "
    "if it is a function of A such as U @ Vh or U g(S) Vh, use polar_vjp or svfunm_vjp; "
    "to regularise, pass degeneracy='lorentz'"
)
_VECTORS = "U[:, {i}] and V[:, {i}]"


def _raise(err, rule, st):
    raise_core(err, rule=rule, values="singular values", vectors=_VECTORS,
               remedies=_REMEDIES, batch_shape=st.batch)


def _truncation(k, st):
    r = min(st.m, st.n)
    if k is None:
        return r
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= r:
        raise ValueError(f"k must be an integer in [0, min(m, n)] = [0, {r}], got {k!r}")
    return int(k)


def _factor(st, full):
    """Thin factors (contiguous stacks) and, for full_matrices on a
    rectangular stack, the full ones."""
    m, n = st.m, st.n
    r = min(m, n)
    if st.data.size == 0 or r == 0:
        U = np.zeros((st.B, m, r), st.dtype)
        s = np.zeros((st.B, r), real_dtype(st.dtype))
        Vh = np.zeros((st.B, r, n), st.dtype)
        if not full:    # empty in, empty out: no identity of size max(m, n)^2
            return U, s, Vh, (U, Vh)
        eye = np.broadcast_to(np.eye(max(m, n), dtype=st.dtype), (st.B, max(m, n), max(m, n)))
        return U, s, Vh, (eye[:, :m, :m].copy(), eye[:, :n, :n].copy())
    if full and m != n:
        Uf, s, Vhf = np.linalg.svd(st.data, full_matrices=True)
        return np.ascontiguousarray(Uf[..., :r]), s, np.ascontiguousarray(Vhf[..., :r, :]), (Uf, Vhf)
    U, s, Vh = np.linalg.svd(st.data, full_matrices=False)
    return U, s, Vh, (U, Vh)


def _result(st, U, s, Vh, kk, full, readonly):
    if full:
        Uo, Vho = U, Vh
    else:
        Uo, Vho = U[..., :kk], Vh[..., :kk, :]
    res = SVDResult(Uo.reshape(st.batch + Uo.shape[1:]), s[..., :kk].reshape(st.batch + (kk,)),
              Vho.reshape(st.batch + Vho.shape[1:]))
    if readonly:
        for a in res:
            a.flags.writeable = False
    return res


@fill
def svd(A: ArrayLike, full_matrices: bool | None = None, compute_uv: bool = True, *,
        k: int | None = None, gauge: Gauge = None) -> SVDResult | Array:
    """Singular value decomposition ``A = U @ diag(S) @ Vh``, as ``numpy.linalg.svd``.

    Parameters
    ----------
    {{A}}
    full_matrices : bool, optional
        True: U is (..., m, m) and Vh (..., n, n), numpy.linalg.svd's
        default; False: the thin factors, k = min(m, n) columns. Not given:
        False, with a FutureWarning when A is rectangular (where the two
        differ): the default becomes True, as NumPy's, in linalgad 0.3.
    compute_uv : bool, default True
        False: return the singular values S only (as NumPy).
    k : int, optional
        Keep the top ``k`` triplets (a truncated SVD); excludes
        ``full_matrices=True``.
    {{gauge}}

    Returns
    -------
    SVDResult or ndarray
        ``SVDResult(U, S, Vh)``: U (..., m, k), S (..., k) real, descending,
        Vh (..., k, n); with ``compute_uv=False``, S alone.

    Raises
    ------
    {{raises_input}}

    Notes
    -----
    The extra columns of ``full_matrices=True`` are an arbitrary orthonormal
    basis of the complement; the canonical gauge puts the entry of largest
    modulus of each column of U real and positive, and the paired row of Vh
    takes the conjugate phase so that ``A = U diag(S) Vh`` still holds.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.random.default_rng(0).standard_normal((4, 3))
    >>> U, S, Vh = la.svd(A, full_matrices=False)
    >>> U.shape, S.shape, Vh.shape
    ((4, 3), (3,), (3, 3))
    >>> np.allclose(U * S @ Vh, A)
    True
    >>> np.allclose(la.svd(A, compute_uv=False), np.linalg.svd(A, compute_uv=False))
    True
    """
    st = matrix_stack(A)
    kk = _truncation(k, st)
    if not compute_uv:
        if gauge is not None:
            raise ValueError("svd: gauge= concerns the vectors; compute_uv=False returns S only")
        return svdvals(A)[..., :kk]
    if full_matrices is None:
        if st.m != st.n and kk == min(st.m, st.n):
            deprecate("svd: the default of full_matrices changes to True (numpy.linalg.svd's: "
                      "U m x m, Vh n x n) in linalgad 0.3, which changes this rectangular result; "
                      "pass full_matrices=False to keep the thin factors or True for the full "
                      "ones", FutureWarning)
        full_matrices = False
    _check_full(full_matrices, kk, st)
    U, s, Vh, (Uf, Vhf) = _factor(st, full_matrices)
    if full_matrices:
        U, Vh = Uf, Vhf
    res = _result(st, U, s, Vh, kk, full_matrices, readonly=False)
    return _gauge.fix_svd(res) if _gauge.wants(gauge) else res


def _check_full(full, kk, st):
    if full and kk < min(st.m, st.n):
        raise ValueError("k (truncation) and full_matrices=True exclude each other")


def _full_to_thin(gU, gVh, Uf, Vhf, r, opt, st):
    """Cotangents of full factors -> cotangents of the thin ones.

    The extra columns U2 are an arbitrary basis of the complement of U1;
    to first order dU2 = -U1 dU1^H U2 + U2 (gauge), so dU1 gains -U2 dU2^H U1,
    and a loss that is a function of A has skew(U2^H dU2) = 0 (checked).
    """
    if gU is not None and Uf.shape[-1] > r:
        U1, U2 = Uf[..., :r], Uf[..., r:]
        gU1, gU2 = gU[..., :r], gU[..., r:]
        _check_null_block(U2, gU2, opt, "U")
        gU = np.ascontiguousarray(gU1 - U2 @ (gU2.conj().swapaxes(-1, -2) @ U1))
    if gVh is not None and Vhf.shape[-2] > r:
        # the same on V = Vh^H, written for the rows of Vh
        V1h, V2h = Vhf[..., :r, :], Vhf[..., r:, :]
        g1, g2 = gVh[..., :r, :], gVh[..., r:, :]
        _check_null_block(V2h.conj().swapaxes(-1, -2), g2.conj().swapaxes(-1, -2), opt, "V")
        gVh = np.ascontiguousarray(g1 - (V1h @ g2.conj().swapaxes(-1, -2)) @ V2h)
    return gU, gVh


def _full_tangent(dU, dVh, U, Vh, Uf, Vhf, r):
    """Thin tangents -> those of the full factors: the extra columns move
    only to stay orthogonal, dU2 = -U1 (dU1^H U2) (and the same for V)."""
    if Uf.shape[-1] > r:
        U2 = Uf[..., r:]
        dU = np.concatenate([dU, -U @ (dU.conj().swapaxes(-1, -2) @ U2)], axis=-1)
    if Vhf.shape[-2] > r:
        V2h = Vhf[..., r:, :]
        dVh = np.concatenate([dVh, -(V2h @ dVh.conj().swapaxes(-1, -2)) @ Vh], axis=-2)
    return dU, dVh


def _check_null_block(X2, gX2, opt, name):
    if opt.degeneracy in ("exact", "lorentz") or X2.size == 0:
        return
    Z = X2.conj().swapaxes(-1, -2) @ gX2
    skew = np.abs(Z - Z.conj().swapaxes(-1, -2)).max()
    scale = np.abs(Z).max()
    if skew > opt.gauge_tol * scale:
        raise GaugeError(
            f"svd_vjp: the loss depends on the basis chosen for the extra columns of {name} "
            f"(full_matrices=True), which is arbitrary (rotation residual {skew:.3g}); use the "
            f"thin SVD, or a loss that sees those columns only through {name}2 @ {name}2^H."
        )


@fill
def svd_vjp(A: ArrayLike, *, full_matrices: bool = False, k: int | None = None,
            gauge: Gauge = None, project: Structure = None,
            method: Literal["full", "krylov"] = "full",
            **opts: Any) -> tuple[SVDResult, Pullback]:
    r"""The SVD and its pullback (reverse mode): ``res, pullback = svd_vjp(A)``.

    Parameters
    ----------
    {{A}}
    full_matrices : bool, default False
        Thin factors by default, unlike ``numpy.linalg.svd``: the extra
        columns of the full factors are an arbitrary basis of a complement,
        so a loss that depends on them has no gradient (GaugeError), and the
        thin factors are what the stateless :func:`svd_pullback` takes.
        True returns the full factors and accepts cotangents that see the
        extra columns only through their span.
    k : int, optional
        Keep the top ``k`` triplets; the pullback is the exact derivative of
        the truncated factors (their coupling to the discarded spectrum
        included).
    gauge : {None, "canonical"}, default None
        "canonical": the factors are gauge-fixed (see :func:`svd`) and the
        pullback takes cotangents of the fixed factors, so a loss may depend
        on their phases.
    method : {"full", "krylov"}, default "full"
        "krylov" (one matrix, ``k`` much smaller than min(m, n)): the top
        ``k`` triplets by ARPACK and the pullback by MINRES solves on the
        complement (:func:`linalgad.svds_vjp`), instead of the full SVD;
        equal to "full" within its ``solver_tol`` (see the sparse guide).
    {{project}}
    {{opts}}

    Returns
    -------
    res : SVDResult
        ``SVDResult(U, S, Vh)`` (read-only: the pullback depends on them).
    pullback : callable
        ``pullback(dU=None, dS=None, dVh=None) -> dA``, the cotangent of A
        (None means a zero cotangent and costs nothing).

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    With ``J = U^H dU``, ``K = V^H dV``, ``X = J - J^H``, ``Y = K - K^H``::

        M_ij = (X + Y)_ij / 2(s_j - s_i) + (X - Y)_ij / 2(s_j + s_i)
        M_ii = dS_i + i Im(J_ii - K_ii) / 2 s_i
        dA = U M Vh + (dU - U J) S^-1 Vh + U S^-1 (dVh - K^H Vh)

    Only ``1/(s_j - s_i)`` is a gauge coupling (follows ``degeneracy``).
    {{sign}}

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.random.default_rng(0).standard_normal((4, 3))
    >>> (U, S, Vh), pullback = la.svd_vjp(A)
    >>> dA = pullback(dS=np.ones(3))   # the gradient of sum(S): U @ Vh
    >>> np.allclose(dA, U @ Vh)
    True
    """
    if method != "full":
        from ..sparse import krylov_svd
        return krylov_svd(method, A, None, k, full_matrices, gauge, project=project, **opts)
    st = matrix_stack(A)
    opt = options(st.dtype, **opts)
    kk = _truncation(k, st)
    _check_full(full_matrices, kk, st)
    U, s, Vh, (Uf, Vhf) = _factor(st, full_matrices)
    res = _result(st, *((Uf, s, Vhf) if full_matrices else (U, s, Vh)), kk, full_matrices, True)
    raw, fixed = res, _gauge.wants(gauge)
    if fixed:
        res = _gauge.fix_svd(raw)
        for a in res:
            a.flags.writeable = False
    s64 = np.ascontiguousarray(s, dtype=np.float64)
    m, n, r = st.m, st.n, min(st.m, st.n)
    rdt = real_dtype(st.dtype)
    policy = opt.as_policy()

    # inf/nan in a cotangent: the core checks what it reads, unless the
    # cotangents are transformed first (gauge pull, full -> thin)
    early = fixed or full_matrices

    def pullback(dU=None, dS=None, dVh=None):
        gU = cotangent(dU, "dU", res.U.shape, st.dtype, of="U", finite=early)
        gs = cotangent(dS, "dS", res.S.shape, rdt, of="S", finite=early)
        gVh = cotangent(dVh, "dVh", res.Vh.shape, st.dtype, of="Vh", finite=early)
        if fixed:
            gU, gs, gVh = (None if g is None else np.ascontiguousarray(g)
                           for g in _gauge.pull_svd(raw, (gU, gs, gVh)))
        if full_matrices:
            gU = None if gU is None else gU.reshape((st.B,) + Uf.shape[1:])
            gVh = None if gVh is None else gVh.reshape((st.B,) + Vhf.shape[1:])
            gU, gVh = _full_to_thin(gU, gVh, Uf, Vhf, r, opt, st)
        out = _pullback(U, s64, Vh, None if gU is None else gU.reshape(st.B, m, kk),
                        None if gs is None else gs.reshape(st.B, kk),
                        None if gVh is None else gVh.reshape(st.B, kk, n),
                        kk, st, policy, not early, "svd_vjp")
        return finish_cotangent(out, st, project)

    return res, pullback


@fill
def svd_jvp(A: ArrayLike, dA: ArrayLike, *, full_matrices: bool = False, k: int | None = None,
            gauge: Gauge = None, method: Literal["full", "krylov"] = "full",
            **opts: Any) -> tuple[SVDResult, SVDResult]:
    """The SVD and its tangent along ``dA`` (forward mode).

    Parameters
    ----------
    {{A}}
    {{dA}}
    full_matrices : bool, default False
        As in :func:`svd_vjp` (thin by default); True gives the full
        factors, the extra columns moving only to stay orthogonal.
    k : int, optional
        The top ``k`` triplets only.
    gauge : {None, "canonical"}, default None
        "canonical": factors and tangents of the gauge-fixed SVD (they match
        its finite differences); None: the imaginary diagonal of
        ``U^H dU - V^H dV`` is split evenly between U and V.
    method : {"full", "krylov"}, default "full"
        "krylov" (one matrix, ``k`` much smaller than min(m, n)): the top
        ``k`` triplets by ARPACK and the pullback by MINRES solves on the
        complement (:func:`linalgad.svds_jvp`), instead of the full SVD;
        equal to "full" within its ``solver_tol`` (see the sparse guide).
    {{opts}}

    Returns
    -------
    res : SVDResult
        ``SVDResult(U, S, Vh)``.
    tangent : SVDResult
        ``SVDResult(dU, dS, dVh)``.

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    With ``R = U^H dA V``: ``dS = Re diag(R)``, and ``U^H dU``, ``V^H dV``
    from the split ``(R + R^H)_ij / 2(s_j - s_i)``,
    ``(R - R^H)_ij / 2(s_j + s_i)``, plus the terms of the rectangular part.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> rng = np.random.default_rng(0)
    >>> A, E = rng.standard_normal((2, 4, 3))
    >>> (U, S, Vh), (dU, dS, dVh) = la.svd_jvp(A, E)
    >>> h = 1e-6
    >>> S2 = la.svd(A + h * E, full_matrices=False).S
    >>> np.allclose((S2 - S) / h, dS, atol=1e-5)
    True
    """
    if method != "full":
        from ..sparse import krylov_svd
        return krylov_svd(method, A, dA, k, full_matrices, gauge, **opts)
    st = matrix_stack(A)
    opt = options(st.dtype, **opts)
    kk = _truncation(k, st)
    _check_full(full_matrices, kk, st)
    dA3 = cotangent(tangent(dA), "dA", st.shape(st.m, st.n), st.dtype, of="A").reshape(st.data.shape)
    U, s, Vh, (Uf, Vhf) = _factor(st, full_matrices)
    m, n, r = st.m, st.n, min(st.m, st.n)
    dU, ds, dVh = _pushforward(U, np.ascontiguousarray(s, dtype=np.float64), Vh, dA3, kk, st,
                               opt.as_policy(), "svd_jvp")
    if full_matrices:
        dU, dVh = _full_tangent(dU, dVh, U, Vh, Uf, Vhf, r)
        U, Vh = Uf, Vhf
    res = _result(st, U, s, Vh, kk, full_matrices, readonly=False)
    tan = _result(st, dU, ds.astype(real_dtype(st.dtype)), dVh, kk, True, readonly=False)
    if _gauge.wants(gauge):
        return _gauge.fix_svd_jvp(res, tan)
    return res, tan


# The rule on (B, ...) stacks: what the closures and the stateless forms share.

def _pullback(U, s64, Vh, gU, gs, gVh, kk, st, policy, check_finite, rule):
    """dA (B, m, n) from thin factors and cotangents of the top kk triplets
    (gs any real dtype); ``st`` a Stack or Frame (batch shape, dtype)."""
    out = np.empty((st.B, st.m, st.n), st.dtype)
    if gs is not None and gs.dtype != np.float64:
        gs = gs.astype(np.float64)
    err = _core.svd_vjp(U, s64, Vh, gU, gs, gVh, out, kk, policy,
                        batch_threads(st.B, max(st.m, st.n)), check_finite=check_finite)
    if err is not None:
        _raise(err, rule, st)
    return out


def _pushforward(U, s64, Vh, dA3, kk, st, policy, rule):
    """(dU, dS float64, dVh) of the top kk triplets along dA3 (B, m, n)."""
    dU = np.empty((st.B, st.m, kk), st.dtype)
    ds = np.empty((st.B, kk), np.float64)
    dVh = np.empty((st.B, kk, st.n), st.dtype)
    err = _core.svd_jvp(U, s64, Vh, dA3, dU, ds, dVh, kk, policy,
                        batch_threads(st.B, max(st.m, st.n)))
    if err is not None:
        _raise(err, rule, st)
    return dU, ds, dVh


def _thin(U3, Vh3, k):
    return np.ascontiguousarray(U3[..., :k]), np.ascontiguousarray(Vh3[..., :k, :])


@fill
def svd_pullback(U: ArrayLike, S: ArrayLike, Vh: ArrayLike, dU: ArrayLike | None = None,
                 dS: ArrayLike | None = None, dVh: ArrayLike | None = None,
                 **opts: Any) -> Array:
    """The SVD pullback from the factors (stateless): ``dA`` for cotangents of U, S, Vh.

    The stateless form of ``svd_vjp(A)[1]``, for a framework's custom-rule
    hook that already has the factors.

    Parameters
    ----------
    U : array_like, shape (..., m, k) or (..., m, m)
        Left singular vectors: the thin SVD, k = min(m, n)
        (``numpy.linalg.svd(A, full_matrices=False)``), or the full one; a
        cotangent that depends on the basis of the extra columns then
        raises GaugeError.
    S : array_like, shape (..., k)
        Singular values, descending.
    Vh : array_like, shape (..., k, n) or (..., n, n)
        Right singular vectors, conjugate-transposed.
    dU, dS, dVh : array_like, optional
        Cotangents of U, S, Vh (None: zero). Leading axes of factors and
        cotangents broadcast as in a NumPy gufunc.
    {{opts}}

    Returns
    -------
    ndarray, shape (..., m, n)
        The cotangent of A, with U's dtype (real factors: real). Truncation
        (``k=``), ``gauge=`` and ``project=`` need A: use :func:`svd_vjp`.

    Raises
    ------
    {{raises_stateless}}

    Notes
    -----
    The formula of :func:`svd_vjp`, applied to the given factors.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.random.default_rng(0).standard_normal((4, 3))
    >>> U, S, Vh = np.linalg.svd(A, full_matrices=False)
    >>> np.allclose(la.svd_pullback(U, S, Vh, dS=np.ones(3)), U @ Vh)
    True
    """
    rule = "svd_pullback"
    fr, U3, s3, Vh3 = svd_frame(rule, U, S, Vh, [("dU", dU, 2), ("dS", dS, 1), ("dVh", dVh, 2)],
                                full=True)
    k = s3.shape[-1]
    opt = options(fr.dtype, **opts)
    full = U3.shape[-1] != k or Vh3.shape[-2] != k
    # full factors: the cotangents are transformed first, so checked here
    gU = cotan(dU, "dU", fr.batch, U3.shape[1:], fr.dtype, of="U", finite=full)
    gs = cotan(dS, "dS", fr.batch, (k,), real_dtype(fr.dtype), of="S", finite=full)
    gVh = cotan(dVh, "dVh", fr.batch, Vh3.shape[1:], fr.dtype, of="Vh", finite=full)
    if full:
        gU, gVh = _full_to_thin(gU, gVh, U3, Vh3, k, opt, fr)
        U3, Vh3 = _thin(U3, Vh3, k)
    out = _pullback(U3, s3, Vh3, gU, gs, gVh, k, fr, opt.as_policy(), not full, rule)
    return out.reshape(fr.shape(fr.m, fr.n))


@fill
def svd_pushforward(U: ArrayLike, S: ArrayLike, Vh: ArrayLike, dA: ArrayLike,
                    **opts: Any) -> SVDResult:
    """The SVD tangent from the factors (stateless): ``SVDResult(dU, dS, dVh)`` along ``dA``.

    Parameters
    ----------
    U, S, Vh : array_like
        The thin or the full SVD of A, as in :func:`svd_pullback` (full
        factors get full tangents).
    dA : array_like, shape (..., m, n)
        The tangent of A; leading axes broadcast with the factors'.
    {{opts}}

    Returns
    -------
    SVDResult
        ``SVDResult(dU, dS, dVh)``, the stateless form of
        ``svd_jvp(A, dA)[1]`` (the imaginary diagonal of ``U^H dU - V^H dV``
        split evenly).

    Raises
    ------
    {{raises_stateless}}

    Notes
    -----
    The formula of :func:`svd_jvp`, applied to the given factors.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> rng = np.random.default_rng(0)
    >>> A, E = rng.standard_normal((2, 4, 3))
    >>> U, S, Vh = np.linalg.svd(A, full_matrices=False)
    >>> dU, dS, dVh = la.svd_pushforward(U, S, Vh, E)
    >>> np.allclose(dS, np.diag(U.T @ E @ Vh.T))
    True
    """
    rule = "svd_pushforward"
    fr, U3, s3, Vh3 = svd_frame(rule, U, S, Vh, [("dA", dA, 2)], full=True)
    k = s3.shape[-1]
    opt = options(fr.dtype, **opts)
    dA3 = cotan(tangent(dA), "dA", fr.batch, (fr.m, fr.n), fr.dtype, of="A", finite=True)
    Ut, Vht = _thin(U3, Vh3, k)
    dU, ds, dVh = _pushforward(Ut, s3, Vht, dA3, k, fr, opt.as_policy(), rule)
    dU, dVh = _full_tangent(dU, dVh, Ut, Vht, U3, Vh3, k)
    return SVDResult(dU.reshape(fr.shape(*U3.shape[1:])), ds.astype(real_dtype(fr.dtype)).reshape(fr.shape(k)),
               dVh.reshape(fr.shape(*Vh3.shape[1:])))


# Singular values only (the forward mode skips the vectors' tangents: see rules/_values.py)

@fill
def svdvals(A: ArrayLike) -> Array:
    """The singular values, descending, as ``numpy.linalg.svdvals``.

    Parameters
    ----------
    {{A}}

    Returns
    -------
    ndarray, shape (..., k)
        Singular values, k = min(m, n), real, descending.

    Raises
    ------
    {{raises_input}}

    Notes
    -----
    ``svd(A, compute_uv=False)`` returns the same.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> la.svdvals(np.diag([1.0, -3.0]))
    array([3., 1.])
    """
    st = matrix_stack(A)
    s = np.linalg.svd(st.data, compute_uv=False) if st.data.size else \
        np.zeros((st.B, min(st.m, st.n)), real_dtype(st.dtype))
    return s.reshape(st.shape(min(st.m, st.n)))


@fill
def svdvals_vjp(A: ArrayLike, *, project: Structure = None,
                **opts: Any) -> tuple[Array, Pullback]:
    """The singular values and their pullback: ``S, pullback = svdvals_vjp(A)``.

    Parameters
    ----------
    {{A}}
    {{project}}
    {{opts}}

    Returns
    -------
    S : ndarray, shape (..., k)
        Singular values, descending.
    pullback : callable
        ``pullback(dS) -> dA``.

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    ``dA = U diag(dS) Vh``: the pullback of :func:`svd_vjp` with the vectors'
    cotangents zero (exact at any degeneracy but a zero singular value).

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.random.default_rng(0).standard_normal((3, 3))
    >>> S, pullback = la.svdvals_vjp(A)
    >>> np.allclose(pullback(2 * S), 2 * A)   # d ||A||_F^2 / dA = 2 A
    True
    """
    res, pullback = svd_vjp(A, project=project, **opts)
    return res.S, lambda dS=None: pullback(None, dS)


def _values_tangent(U, s64, Vh, dA3, st, opt, rule):
    """dS (B, k) = Re diag(U^H dA V), checked where the values cannot resolve it."""
    V = Vh.conj().swapaxes(-1, -2)
    dAV = dA3 @ V
    ds = np.einsum("bik,bik->bk", U.conj(), dAV).real

    def coupling(b):
        R = U[b].conj().T @ dAV[b]
        return 0.5 * (R + R.conj().T)

    def zero(b, z):
        # the block of U^H dA V on the zero values, and what leaves the other
        # values' column (row) space for a tall (wide) A
        R = U[b].conj().T @ dAV[b]
        out = np.abs(R[np.ix_(z, z)]).max()
        if st.m > st.n:
            out = max(out, np.abs(dAV[b][:, z] - U[b] @ R[:, z]).max())
        elif st.m < st.n:
            UzA = U[b][:, z].conj().T @ dA3[b]
            out = max(out, np.abs(UzA - R[z] @ Vh[b]).max())
        return out

    return resolve(rule, "singular values", s64, ds, coupling, opt, st.batch, zero=zero)


@fill
def svdvals_jvp(A: ArrayLike, dA: ArrayLike, **opts: Any) -> tuple[Array, Array]:
    """The singular values and their tangent along ``dA``: ``(S, dS)``.

    Parameters
    ----------
    {{A}}
    {{dA}}
    {{values_opts}}

    Returns
    -------
    S : ndarray, shape (..., k)
        Singular values, descending.
    dS : ndarray, shape (..., k)
        Their tangent.

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    ``dS = Re diag(U^H dA V)``: no ``1/gap``, so close pairs are no obstacle.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> S, dS = la.svdvals_jvp(np.diag([3.0, 1.0]), np.eye(2))
    >>> dS
    array([1., 1.])
    """
    st = matrix_stack(A)
    opt = values_options(st.dtype, opts)
    k = min(st.m, st.n)
    dA3 = cotangent(tangent(dA), "dA", st.shape(st.m, st.n), st.dtype, of="A").reshape(st.data.shape)
    U, s, Vh, _ = _factor(st, False)
    ds = _values_tangent(U, np.asarray(s, np.float64), Vh, dA3, st, opt, "svdvals_jvp")
    rdt = real_dtype(st.dtype)
    return s.astype(rdt).reshape(st.shape(k)), ds.astype(rdt).reshape(st.shape(k))


@fill
def svdvals_pushforward(U: ArrayLike, S: ArrayLike, Vh: ArrayLike, dA: ArrayLike,
                        **opts: Any) -> Array:
    """The singular values' tangent from the thin SVD (stateless): ``dS`` along ``dA``.

    Parameters
    ----------
    {{svd_factors}}
    dA : array_like, shape (..., m, n)
        The tangent of A; leading axes broadcast with the factors'.
    {{values_opts}}

    Returns
    -------
    ndarray, shape (..., k)
        ``dS``, the stateless form of ``svdvals_jvp(A, dA)[1]``.

    Raises
    ------
    {{raises_stateless}}

    Notes
    -----
    ``dS = Re diag(U^H dA V)``.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.random.default_rng(0).standard_normal((3, 3))
    >>> U, S, Vh = np.linalg.svd(A)
    >>> np.allclose(la.svdvals_pushforward(U, S, Vh, A), S)   # d/dt S(A + t A) = S
    True
    """
    rule = "svdvals_pushforward"
    fr, U3, s3, Vh3 = svd_frame(rule, U, S, Vh, [("dA", dA, 2)])
    opt = values_options(fr.dtype, opts)
    dA3 = cotan(tangent(dA), "dA", fr.batch, (fr.m, fr.n), fr.dtype, of="A", finite=True)
    ds = _values_tangent(U3, s3, Vh3, dA3, fr, opt, rule)
    return ds.astype(real_dtype(fr.dtype)).reshape(fr.shape(s3.shape[-1]))
