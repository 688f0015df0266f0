"""Hermitian eigendecomposition: A = V diag(w) V^H.

Primal
    ``numpy.linalg.eigh``: w ascending (real), V unitary. ``uplo="L"``
    (default, as NumPy) or ``"U"``: only that triangle of A is read and the
    imaginary part of its diagonal is ignored, i.e. the function is
    eigh(tril(A) + tril(A, -1)^H) (mirror for "U"). ``uplo=None``: A is taken
    as Hermitian, the function is eigh(herm(A)).
Gauge
    V -> V D with D diagonal unitary (phases; signs for real A), and any
    unitary mixing inside a block of equal eigenvalues. A complex cotangent
    whose loss sees the phases (Im K_ii != 0) raises GaugeError in every mode;
    a degenerate block follows ``degeneracy=`` (linalgad._options): strict
    raises DegeneracyError only when the cotangent touches a vector of the
    block, subspace drops the in-block coupling (GaugeError if skew(K) there
    is not ~0), lorentz broadens 1/gap, taylor uses its truncated series
    (power iteration; positive semi-definite spectra only).
Rules (K = V^H dV, F_ij = 1/(w_j - w_i), F_ii = 0; bars dropped)
    VJP  A_H = V (diag(dw) + F o (K - K^H)/2) V^H; then the cotangent of the
         raw input: A_H (uplo=None), diag(Re A_H) + 2 tril(A_H, -1) ("L"),
         diag(Re A_H) + 2 triu(A_H, 1) ("U"). dV None: V diag(dw) V^H, exact
         at any degeneracy.
    JVP  H = the tangent read as uplo says; R = V^H H V; dw = Re diag R;
         dV = V C, C_ij = R_ij F_ij, C_ii = 0 (parallel transport).
    Forward and reverse mode describe the same function for every uplo.
Cost (GEMMs): VJP 2.5 (K, trmm + her2k), 0.5 for eigenvalues only (two
    herks); JVP 3.
Derivation and references: docs/eigh.md.
"""

from collections import namedtuple

import numpy as np

from .. import _core, gauge as _gauge
from .._errors import raise_core
from .._options import batch_threads, options
from .._validate import Stack, cotangent, matrix_stack, real_dtype
from ..project import finish_cotangent
from ._factors import cotan, eig_frame
from ._values import resolve, values_options

__all__ = ["Eigh", "eigh", "eigh_vjp", "eigh_jvp", "eigh_pullback", "eigh_pushforward",
           "eigvalsh", "eigvalsh_vjp", "eigvalsh_jvp", "eigvalsh_pushforward"]

Eigh = namedtuple("Eigh", ["w", "V"])

_TRI = {None: 0, "L": 1, "U": 2}

REMEDIES = (
    "if the loss depends on these eigenvectors only through their span (a projector, a "
    "subspace), pass degeneracy='subspace'; if it is a function of A such as V f(w) V^H "
    "(expm, logm, sqrtm, ...), use funm_vjp, which is exact at any degeneracy (polar_vjp for "
    "the polar factor); to regularise, pass degeneracy='lorentz'"
)
_VECTORS = "V[:, {i}]"


def _raise(err, rule, st):
    raise_core(err, rule=rule, values="eigenvalues", vectors=_VECTORS, remedies=REMEDIES,
               batch_shape=st.batch)


def _uplo(uplo):
    if uplo is None:
        return None
    if isinstance(uplo, str) and uplo.upper() in ("L", "U"):
        return uplo.upper()
    raise ValueError(f"uplo must be 'L', 'U' or None, got {uplo!r}")


def _herm(X):
    return 0.5 * (X + X.conj().swapaxes(-1, -2))


def read(st, uplo):
    """The Hermitian matrices the function sees (a stack)."""
    if uplo is None:
        return _herm(st.data)
    A = st.data
    L = np.tril(A, -1) if uplo == "L" else np.triu(A, 1)
    H = L + L.conj().swapaxes(-1, -2)
    i = np.arange(st.n)
    H[..., i, i] = A[..., i, i].real
    return H


def factor(st, uplo):
    """(w (B,n) real dtype, V (B,n,n)) of the function of the raw input."""
    if st.m != st.n:
        raise ValueError(f"A must be square in its last two axes, got shape {st.shape(st.m, st.n)}")
    n = st.n
    if st.data.size == 0:
        w = np.zeros((st.B, n), real_dtype(st.dtype))
        V = np.broadcast_to(np.eye(n, dtype=st.dtype), (st.B, n, n)).copy()
        return w, V
    if uplo is None:
        w, V = np.linalg.eigh(_herm(st.data))
    else:
        w, V = np.linalg.eigh(st.data, UPLO=uplo)
    return w, np.ascontiguousarray(V)


def finish(out, st, project, rule):
    """The cotangent the user gets: linalgad.project.finish_cotangent (real
    part for real input, the stored pattern for sparse input, or ``project=``)."""
    return finish_cotangent(out, st, project)


def _fix(name):
    fn = getattr(_gauge, name, None)
    if fn is None:
        raise NotImplementedError(f"gauge='canonical' needs linalgad.gauge.{name}, not available yet")
    return fn


def _result(st, w, V, readonly):
    res = Eigh(w.reshape(st.shape(st.n)), V.reshape(st.shape(st.n, st.n)))
    if readonly:
        for a in res:
            a.flags.writeable = False
    return res


def eigh(A, *, uplo="L", gauge=None):
    """Eigenvalues (ascending) and eigenvectors of a stack of Hermitian
    matrices (..., n, n): ``Eigh(w, V)``. ``uplo`` as in the module
    docstring; ``gauge="canonical"`` makes each eigenvector's entry of largest
    modulus real and positive."""
    uplo = _uplo(uplo)
    st = matrix_stack(A, square=True)
    w, V = factor(st, uplo)
    res = _result(st, w, V, readonly=False)
    return _fix("fix_eigh")(res) if _gauge.wants(gauge) else res


def eigh_vjp(A, *, uplo="L", gauge=None, project=None, **opts):
    """eigh and its pullback ``pullback(dw=None, dV=None) -> dA``.

    ``**opts``: degeneracy, tol, eps, order, gauge_tol (linalgad._options).
    ``gauge="canonical"``: the factors are gauge-fixed and the pullback takes
    cotangents of the fixed factors (a loss may then depend on their phases).
    ``project``: the structure of the returned cotangent (linalgad.project).
    The returned factors are read-only: the pullback depends on them.
    """
    uplo = _uplo(uplo)
    st = matrix_stack(A, square=True)
    opt = options(st.dtype, **opts)
    w, V = factor(st, uplo)
    res = _result(st, w, V, readonly=True)
    raw, fixed = res, _gauge.wants(gauge)
    if fixed:
        res = _fix("fix_eigh")(raw)
        for a in res:
            a.flags.writeable = False
    w64 = np.ascontiguousarray(w, dtype=np.float64)
    n, B = st.n, st.B
    policy = opt.as_tuple()
    tri = _TRI[uplo]
    # everything the pullback needs, computed once (it may run many times)
    rdt, wshape, Vshape, out_shape = real_dtype(st.dtype), res.w.shape, res.V.shape, st.shape(n, n)

    # inf/nan in a cotangent: the core checks what it reads, unless dV is
    # pulled through the gauge fixing first
    def pullback(dw=None, dV=None):
        gw = cotangent(dw, "dw", wshape, rdt, of="w", finite=fixed)
        gV = cotangent(dV, "dV", Vshape, st.dtype, of="V", finite=fixed)
        if fixed and gV is not None:
            gV = np.ascontiguousarray(_fix("pull_eigh")(raw, (gw, gV))[1])
        out = _pullback(V, w64, None if gw is None else gw.reshape(B, n),
                        None if gV is None else gV.reshape(B, n, n), tri, st, policy, not fixed,
                        "eigh_vjp")
        return finish_cotangent(out.reshape(out_shape), st, project)

    return res, pullback


def eigh_jvp(A, dA, *, uplo="L", gauge=None, **opts):
    """eigh and its tangent along ``dA``: ``(Eigh(w, V), Eigh(dw, dV))``.

    ``dA`` is read like A (the ``uplo`` triangle, or its Hermitian part for
    ``uplo=None``), so the tangent is the derivative of the same function the
    VJP differentiates. Gauge of the tangent: V^H dV has a zero diagonal; with
    ``gauge="canonical"`` both factors and tangents are those of the
    gauge-fixed eigenvectors.
    """
    uplo = _uplo(uplo)
    st = matrix_stack(A, square=True)
    opt = options(st.dtype, **opts)
    n = st.n
    dA3 = cotangent(dA, "dA", st.shape(n, n), st.dtype, of="A").reshape(st.data.shape)
    w, V = factor(st, uplo)
    dw, dV = _pushforward(V, np.ascontiguousarray(w, dtype=np.float64), dA3, _TRI[uplo], st,
                          opt.as_tuple(), "eigh_jvp")
    res = _result(st, w, V, readonly=False)
    tan = Eigh(dw.astype(real_dtype(st.dtype)).reshape(res.w.shape), dV.reshape(res.V.shape))
    if _gauge.wants(gauge):
        return _fix("fix_eigh_jvp")(res, tan)
    return res, tan


# The rule on (B, ...) stacks: what the closures and the stateless forms share.

def _pullback(V, w64, gw, gV, tri, st, policy, check_finite, rule):
    """dA (B, n, n) for cotangents gw (B, n) (any real dtype) and gV."""
    if gw is not None and gw.dtype != np.float64:
        gw = gw.astype(np.float64)
    out = np.empty((st.B, st.n, st.n), st.dtype)
    err = _core.eigh_vjp(V, w64, gw, gV, out, tri, policy, batch_threads(st.B, st.n),
                         check_finite=check_finite)
    if err is not None:
        _raise(err, rule, st)
    return out


def _pushforward(V, w64, dA3, tri, st, policy, rule):
    """(dw float64 (B, n), dV (B, n, n)) along dA3 read as ``tri`` says."""
    dw = np.empty((st.B, st.n), np.float64)
    dV = np.empty((st.B, st.n, st.n), st.dtype)
    err = _core.eigh_jvp(V, w64, dA3, dw, dV, tri, policy, batch_threads(st.B, st.n))
    if err is not None:
        _raise(err, rule, st)
    return dw, dV


def eigh_pullback(w, V, dw=None, dV=None, *, uplo=None, **opts):
    """The eigh pullback from the factors: ``dA`` for cotangents of w, V.

    Stateless form of ``eigh_vjp(A, uplo=uplo)[1]``: w (..., n) the
    eigenvalues (ascending, as ``numpy.linalg.eigh`` returns them) and
    V (..., n, n) the eigenvectors; leading axes broadcast with the
    cotangents. ``uplo=None`` (default here) returns the Hermitian cotangent
    of A = V diag(w) V^H; ``"L"``/``"U"`` the cotangent of the raw input of
    an eigh that read that triangle (as ``eigh_vjp``, whose default is
    ``"L"``). ``dA`` has V's dtype. ``**opts``: degeneracy, tol, eps, order,
    gauge_tol. ``gauge=`` and ``project=`` need the input: use
    :func:`eigh_vjp`.
    """
    uplo = _uplo(uplo)
    fr, w3, V3 = eig_frame("eigh_pullback", w, V, [("dw", dw, 1), ("dV", dV, 2)], hermitian=True)
    opt = options(fr.dtype, **opts)
    n = fr.n
    gw = cotan(dw, "dw", fr.batch, (n,), real_dtype(fr.dtype), of="w")
    gV = cotan(dV, "dV", fr.batch, (n, n), fr.dtype, of="V")
    out = _pullback(V3, w3, gw, gV, _TRI[uplo], fr, opt.as_tuple(), True, "eigh_pullback")
    return out.reshape(fr.shape(n, n))


def eigh_pushforward(w, V, dA, *, uplo=None, **opts):
    """The eigh tangent from the factors: ``Eigh(dw, dV)`` along ``dA``.

    Stateless form of ``eigh_jvp(A, dA, uplo=uplo)[1]`` (V^H dV has a zero
    diagonal); ``dA`` is read as ``uplo`` says: its Hermitian part for
    ``None`` (default here), one triangle for ``"L"``/``"U"``.
    """
    uplo = _uplo(uplo)
    fr, w3, V3 = eig_frame("eigh_pushforward", w, V, [("dA", dA, 2)], hermitian=True)
    opt = options(fr.dtype, **opts)
    n = fr.n
    dA3 = cotan(dA, "dA", fr.batch, (n, n), fr.dtype, of="A", finite=True)
    dw, dV = _pushforward(V3, w3, dA3, _TRI[uplo], fr, opt.as_tuple(), "eigh_pushforward")
    return Eigh(dw.astype(real_dtype(fr.dtype)).reshape(fr.shape(n)), dV.reshape(fr.shape(n, n)))


# Eigenvalues only (the forward mode skips the vectors' tangents: see rules/_values.py)

def eigvalsh(A, *, uplo="L"):
    """The eigenvalues (..., n), ascending, of the Hermitian matrices read as
    ``uplo`` says (see the module docstring)."""
    uplo = _uplo(uplo)
    st = matrix_stack(A, square=True)
    if st.data.size == 0:
        return np.zeros(st.shape(st.n), real_dtype(st.dtype))
    w = np.linalg.eigvalsh(_herm(st.data)) if uplo is None else np.linalg.eigvalsh(st.data, UPLO=uplo)
    return w.reshape(st.shape(st.n))


def eigvalsh_vjp(A, *, uplo="L", project=None, **opts):
    """Eigenvalues and their pullback ``pullback(dw) -> dA`` (V diag(dw) V^H,
    as the eigh pullback with dV zero)."""
    res, pullback = eigh_vjp(A, uplo=uplo, project=project, **opts)
    return res.w, lambda dw=None: pullback(dw, None)


def _read_tangent(dA3, uplo):
    """The Hermitian tangent H (B, n, n) of dA as eigh reads it (``uplo``)."""
    return read(Stack(dA3, ()), uplo)


def _values_tangent(V, w64, dA3, uplo, st, opt, rule):
    """dw (B, n) = Re diag(V^H H V), checked where the values cannot resolve it."""
    H = _read_tangent(dA3, uplo)
    HV = H @ V
    dw = np.einsum("bik,bik->bk", V.conj(), HV).real
    return resolve(rule, "eigenvalues", w64, dw, lambda b: V[b].conj().T @ HV[b], opt, st.batch)


def eigvalsh_jvp(A, dA, *, uplo="L", **opts):
    """Eigenvalues and their tangent along ``dA`` (read as ``uplo`` says):
    ``(w, dw)``. Only dw = Re diag(V^H dA V) is formed; strict refuses only
    eigenvalues equal to working precision (``tol``, default 64 eps here)
    that the tangent does not move together (linalgad/rules/_values.py)."""
    uplo = _uplo(uplo)
    st = matrix_stack(A, square=True)
    opt = values_options(st.dtype, opts)
    n = st.n
    dA3 = cotangent(dA, "dA", st.shape(n, n), st.dtype, of="A").reshape(st.data.shape)
    w, V = factor(st, uplo)
    dw = _values_tangent(V, np.asarray(w, np.float64), dA3, uplo, st, opt, "eigvalsh_jvp")
    rdt = real_dtype(st.dtype)
    return w.astype(rdt).reshape(st.shape(n)), dw.astype(rdt).reshape(st.shape(n))


def eigvalsh_pushforward(w, V, dA, *, uplo=None, **opts):
    """The eigenvalues' tangent from the factors: ``dw`` along ``dA`` (read
    as ``uplo`` says; stateless form of ``eigvalsh_jvp(A, dA)[1]``)."""
    uplo = _uplo(uplo)
    rule = "eigvalsh_pushforward"
    fr, w3, V3 = eig_frame(rule, w, V, [("dA", dA, 2)], hermitian=True)
    opt = values_options(fr.dtype, opts)
    dA3 = cotan(dA, "dA", fr.batch, (fr.n, fr.n), fr.dtype, of="A", finite=True)
    dw = _values_tangent(V3, w3, dA3, uplo, fr, opt, rule)
    return dw.astype(real_dtype(fr.dtype)).reshape(fr.shape(fr.n))
