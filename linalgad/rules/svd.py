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
    follows ``degeneracy=`` (see linalgad._options).
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

from collections import namedtuple

import numpy as np

from .. import _core, gauge as _gauge
from ..project import finish_cotangent
from .._errors import GaugeError, raise_core
from .._options import batch_threads, options
from .._validate import cotangent, matrix_stack, real_dtype

__all__ = ["SVD", "svd", "svd_vjp", "svd_jvp"]

SVD = namedtuple("SVD", ["U", "S", "Vh"])

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
    res = SVD(Uo.reshape(st.batch + Uo.shape[1:]), s[..., :kk].reshape(st.batch + (kk,)),
              Vho.reshape(st.batch + Vho.shape[1:]))
    if readonly:
        for a in res:
            a.flags.writeable = False
    return res


def svd(A, *, full_matrices=False, k=None, gauge=None):
    """SVD of a stack of matrices (..., m, n): ``SVD(U, S, Vh)``.

    ``k`` keeps the top k triplets; ``gauge="canonical"`` makes the entry of
    largest modulus of each column of U real and positive (V follows).
    """
    st = matrix_stack(A)
    kk = _truncation(k, st)
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


def svd_vjp(A, *, full_matrices=False, k=None, gauge=None, project=None, method="full", **opts):
    """SVD and its pullback ``pullback(dU=None, dS=None, dVh=None) -> dA``.

    ``method="krylov"`` (one matrix, ``k`` << min(m, n)): linalgad.svds_vjp,
    ARPACK and MINRES instead of the full SVD; equal to "full" to its
    ``solver_tol`` (docs/sparse.md).
    ``**opts``: degeneracy, tol, eps, order, gauge_tol (linalgad._options).
    ``gauge="canonical"``: the factors are gauge-fixed and the pullback takes
    cotangents of the fixed factors (a loss may then depend on their phases).
    ``project``: the structure of the returned cotangent (linalgad.project;
    default: real for real input, the stored pattern for scipy.sparse input).
    The returned factors are read-only: the pullback depends on them.
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
    policy = opt.as_tuple()

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
        out = np.empty((st.B, m, n), st.dtype)
        err = _core.svd_vjp(
            U, s64, Vh,
            None if gU is None else gU.reshape(st.B, m, kk),
            None if gs is None else np.ascontiguousarray(gs, np.float64).reshape(st.B, kk),
            None if gVh is None else gVh.reshape(st.B, kk, n),
            out, kk, policy, batch_threads(st.B, max(m, n)), check_finite=not early)
        if err is not None:
            _raise(err, "svd_vjp", st)
        return finish_cotangent(out, st, project)

    return res, pullback


def svd_jvp(A, dA, *, full_matrices=False, k=None, gauge=None, method="full", **opts):
    """SVD and its tangent along ``dA``: ``(SVD(U, S, Vh), SVD(dU, dS, dVh))``.

    With ``gauge="canonical"`` both the factors and their tangents are those
    of the gauge-fixed SVD (so they match its finite differences); otherwise
    the imaginary diagonal of U^H dU - V^H dV is split evenly between the two.
    ``method="krylov"``: linalgad.svds_jvp (see svd_vjp).
    """
    if method != "full":
        from ..sparse import krylov_svd
        return krylov_svd(method, A, dA, k, full_matrices, gauge, **opts)
    st = matrix_stack(A)
    opt = options(st.dtype, **opts)
    kk = _truncation(k, st)
    _check_full(full_matrices, kk, st)
    dA3 = cotangent(dA, "dA", st.shape(st.m, st.n), st.dtype, of="A").reshape(st.data.shape)
    U, s, Vh, (Uf, Vhf) = _factor(st, full_matrices)
    m, n, r = st.m, st.n, min(st.m, st.n)
    dU = np.empty((st.B, m, kk), st.dtype)
    ds = np.empty((st.B, kk), np.float64)
    dVh = np.empty((st.B, kk, n), st.dtype)
    err = _core.svd_jvp(U, np.ascontiguousarray(s, dtype=np.float64), Vh, dA3, dU, ds, dVh, kk,
                        opt.as_tuple(), batch_threads(st.B, max(m, n)))
    if err is not None:
        _raise(err, "svd_jvp", st)
    if full_matrices:
        # the extra columns move only to stay orthogonal: dU2 = -U1 (dU1^H U2)
        if Uf.shape[-1] > r:
            U2 = Uf[..., r:]
            dU = np.concatenate([dU, -U @ (dU.conj().swapaxes(-1, -2) @ U2)], axis=-1)
        if Vhf.shape[-2] > r:
            V2h = Vhf[..., r:, :]
            dVh = np.concatenate([dVh, -(V2h @ dVh.conj().swapaxes(-1, -2)) @ Vh], axis=-2)
        U, Vh = Uf, Vhf
    res = _result(st, U, s, Vh, kk, full_matrices, readonly=False)
    tan = _result(st, dU, ds.astype(real_dtype(st.dtype)), dVh, kk, True, readonly=False)
    if _gauge.wants(gauge):
        return _gauge.fix_svd_jvp(res, tan)
    return res, tan
