"""Hermitian eigendecomposition: A = V diag(w) V^H.

Primal
    ``numpy.linalg.eigh``: w ascending (real), V unitary. ``UPLO="L"``
    (default, as NumPy) or ``"U"``: only that triangle of A is read and the
    imaginary part of its diagonal is ignored, i.e. the function is
    eigh(tril(A) + tril(A, -1)^H) (mirror for "U"). ``UPLO=None``: A is taken
    as Hermitian, the function is eigh(herm(A)).
Gauge
    V -> V D with D diagonal unitary (phases; signs for real A), and any
    unitary mixing inside a block of equal eigenvalues. A complex cotangent
    whose loss sees the phases (Im K_ii != 0) raises GaugeError in every mode;
    a degenerate block follows ``degeneracy=`` (the options of :func:`eigh_vjp`): strict
    raises DegeneracyError only when the cotangent touches a vector of the
    block or dw differs across it (no derivative; equal dw is exact), subspace drops the in-block coupling (GaugeError if skew(K) there
    is not ~0), lorentz broadens 1/gap, taylor uses its truncated series
    (power iteration; positive semi-definite spectra only).
Rules (K = V^H dV, F_ij = 1/(w_j - w_i), F_ii = 0; bars dropped)
    VJP  A_H = V (diag(dw) + F o (K - K^H)/2) V^H; then the cotangent of the
         raw input: A_H (UPLO=None), diag(Re A_H) + 2 tril(A_H, -1) ("L"),
         diag(Re A_H) + 2 triu(A_H, 1) ("U"). dV None: V diag(dw) V^H, exact
         at any degeneracy when dw is equal across each block.
    JVP  H = the tangent read as UPLO says; R = V^H H V; dw = Re diag R;
         dV = V C, C_ij = R_ij F_ij, C_ii = 0 (parallel transport).
    Forward and reverse mode describe the same function for every UPLO.
Cost (GEMMs): VJP 2.5 (K, trmm + her2k), 0.5 for eigenvalues only (two
    herks); JVP 3.
Derivation and references: docs/eigh.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core, gauge as _gauge
from .._compat import UNSET, uplo_keyword
from .._docs import fill
from .._results import EighResult, deprecated_alias
from .._typing import Array, ArrayLike, Gauge, Pullback, Structure, UPLOType
from .._errors import raise_core
from .._options import batch_threads, options
from .._validate import Stack, cotangent, tangent, matrix_stack, real_dtype
from ..project import finish_cotangent
from ._factors import cotan, eig_frame
from ._values import resolve, values_options

__all__ = ["EighResult", "eigh", "eigh_vjp", "eigh_jvp", "eigh_pullback", "eigh_pushforward",
           "eigvalsh", "eigvalsh_vjp", "eigvalsh_jvp", "eigvalsh_pushforward"]



def __getattr__(name):  # the old result name Eigh, deprecated
    return deprecated_alias(name, globals())

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
    raise ValueError(f"UPLO must be 'L', 'U' or None, got {uplo!r}")


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
    res = EighResult(w.reshape(st.shape(st.n)), V.reshape(st.shape(st.n, st.n)))
    if readonly:
        for a in res:
            a.flags.writeable = False
    return res


@uplo_keyword()
@fill
def eigh(A: ArrayLike, UPLO: UPLOType = "L", *, gauge: Gauge = None) -> EighResult:
    """Eigenvalues and eigenvectors of Hermitian matrices, as ``numpy.linalg.eigh``.

    Parameters
    ----------
    {{Ah}}
    {{UPLO}}
    {{gauge}}

    Returns
    -------
    EighResult
        ``EighResult(eigenvalues, eigenvectors)``: w (..., n) real,
        ascending, and V (..., n, n) with ``A = V diag(w) V^H``.

    Raises
    ------
    {{raises_input}}

    Notes
    -----
    With ``UPLO="L"`` the function differentiated by the rules is
    ``eigh(tril(A) + tril(A, -1)^H)`` with a real diagonal (mirrored for
    "U"); with None, ``eigh((A + A^H) / 2)``.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> w, V = la.eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w
    array([1., 3.])
    >>> np.allclose(V @ np.diag(w) @ V.T, [[2, 1], [1, 2]])
    True
    """
    uplo = _uplo(UPLO)
    st = matrix_stack(A, square=True)
    w, V = factor(st, uplo)
    res = _result(st, w, V, readonly=False)
    return _fix("fix_eigh")(res) if _gauge.wants(gauge) else res


@uplo_keyword()
@fill
def eigh_vjp(A: ArrayLike, *, UPLO: UPLOType = "L", gauge: Gauge = None,
             project: Structure = None, **opts: Any) -> tuple[EighResult, Pullback]:
    """eigh and its pullback (reverse mode): ``res, pullback = eigh_vjp(A)``.

    Parameters
    ----------
    {{Ah}}
    {{UPLO}}
    gauge : {None, "canonical"}, default None
        "canonical": the factors are gauge-fixed (see :func:`eigh`) and the
        pullback takes cotangents of the fixed factors, so a loss may depend
        on their phases.
    {{project}}
    {{opts}}

    Returns
    -------
    res : EighResult
        ``EighResult(eigenvalues, eigenvectors)`` (read-only: the pullback
        depends on them).
    pullback : callable
        ``pullback(dw=None, dV=None) -> dA`` (None means zero).

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    With ``K = V^H dV`` and ``F_ij = 1/(w_j - w_i)``, ``F_ii = 0``::

        A_H = V (diag(dw) + F o (K - K^H) / 2) V^H

    is the Hermitian cotangent (``UPLO=None``); "L" returns
    ``diag(Re A_H) + 2 tril(A_H, -1)`` ("U": ``triu``). With ``dV`` None the
    result ``V diag(dw) V^H`` is exact at any degeneracy.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> (w, V), pullback = la.eigh_vjp(A, UPLO=None)
    >>> np.allclose(pullback(dw=np.ones(2)), np.eye(2))   # d trace(A) / dA
    True
    """
    uplo = _uplo(UPLO)
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
    policy = opt.as_policy()
    tri = _TRI[uplo]
    # everything the pullback needs, computed once (it may run many times)
    rdt, wshape, Vshape, out_shape = real_dtype(st.dtype), res[0].shape, res[1].shape, st.shape(n, n)

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


@uplo_keyword()
@fill
def eigh_jvp(A: ArrayLike, dA: ArrayLike, *, UPLO: UPLOType = "L", gauge: Gauge = None,
             **opts: Any) -> tuple[EighResult, EighResult]:
    """eigh and its tangent along ``dA`` (forward mode).

    Parameters
    ----------
    {{Ah}}
    dA : array_like, shape (..., n, n)
        The tangent, read like A (the ``UPLO`` triangle, or its Hermitian
        part for None), so the tangent is the derivative of the function
        :func:`eigh_vjp` differentiates.
    {{UPLO}}
    gauge : {None, "canonical"}, default None
        "canonical": factors and tangents of the gauge-fixed eigenvectors;
        None: ``V^H dV`` has a zero diagonal.
    {{opts}}

    Returns
    -------
    res : EighResult
        ``EighResult(eigenvalues, eigenvectors)``.
    tangent : EighResult
        ``EighResult(dw, dV)``.

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    With H the tangent read as ``UPLO`` says and ``R = V^H H V``:
    ``dw = Re diag(R)``, ``dV = V C`` with ``C_ij = R_ij / (w_j - w_i)``,
    ``C_ii = 0``.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.diag([1.0, 3.0])
    >>> (w, V), (dw, dV) = la.eigh_jvp(A, np.diag([0.5, 2.0]))
    >>> dw
    array([0.5, 2. ])
    """
    uplo = _uplo(UPLO)
    st = matrix_stack(A, square=True)
    opt = options(st.dtype, **opts)
    n = st.n
    dA3 = cotangent(tangent(dA), "dA", st.shape(n, n), st.dtype, of="A").reshape(st.data.shape)
    w, V = factor(st, uplo)
    dw, dV = _pushforward(V, np.ascontiguousarray(w, dtype=np.float64), dA3, _TRI[uplo], st,
                          opt.as_policy(), "eigh_jvp")
    res = _result(st, w, V, readonly=False)
    tan = EighResult(dw.astype(real_dtype(st.dtype)).reshape(res[0].shape), dV.reshape(res[1].shape))
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


@uplo_keyword(transition=True)
@fill
def eigh_pullback(w: ArrayLike, V: ArrayLike, dw: ArrayLike | None = None,
                  dV: ArrayLike | None = None, *, UPLO: UPLOType = UNSET,
                  **opts: Any) -> Array:
    """The eigh pullback from the factors (stateless): ``dA`` for cotangents of w, V.

    The stateless form of ``eigh_vjp(A, UPLO=UPLO)[1]``, for a framework's
    custom-rule hook that already has the factors.

    Parameters
    ----------
    {{eigh_factors}}
    dw, dV : array_like, optional
        Cotangents of w and V (None: zero); leading axes broadcast with the
        factors'.
    {{UPLO_transition}}
    {{opts}}

    Returns
    -------
    ndarray, shape (..., n, n)
        The cotangent of A, with V's dtype: the Hermitian cotangent of
        ``A = V diag(w) V^H`` (None), or that of the raw input of an eigh
        that read one triangle ("L"/"U"). ``gauge=`` and ``project=`` need
        A: use :func:`eigh_vjp`.

    Raises
    ------
    {{raises_stateless}}

    Notes
    -----
    The formula of :func:`eigh_vjp`, applied to the given factors.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> w, V = np.linalg.eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> np.allclose(la.eigh_pullback(w, V, np.ones(2), UPLO=None), np.eye(2))
    True
    """
    uplo = _uplo(UPLO)
    fr, w3, V3 = eig_frame("eigh_pullback", w, V, [("dw", dw, 1), ("dV", dV, 2)], hermitian=True)
    opt = options(fr.dtype, **opts)
    n = fr.n
    gw = cotan(dw, "dw", fr.batch, (n,), real_dtype(fr.dtype), of="w")
    gV = cotan(dV, "dV", fr.batch, (n, n), fr.dtype, of="V")
    out = _pullback(V3, w3, gw, gV, _TRI[uplo], fr, opt.as_policy(), True, "eigh_pullback")
    return out.reshape(fr.shape(n, n))


@uplo_keyword(transition=True)
@fill
def eigh_pushforward(w: ArrayLike, V: ArrayLike, dA: ArrayLike, *, UPLO: UPLOType = UNSET,
                     **opts: Any) -> EighResult:
    """The eigh tangent from the factors (stateless): ``EighResult(dw, dV)`` along ``dA``.

    Parameters
    ----------
    {{eigh_factors}}
    dA : array_like, shape (..., n, n)
        The tangent of A, read as ``UPLO`` says; leading axes broadcast with
        the factors'.
    {{UPLO_transition}}
    {{opts}}

    Returns
    -------
    EighResult
        ``EighResult(dw, dV)``, the stateless form of
        ``eigh_jvp(A, dA, UPLO=UPLO)[1]`` (``V^H dV`` has a zero diagonal).

    Raises
    ------
    {{raises_stateless}}

    Notes
    -----
    The formula of :func:`eigh_jvp`, applied to the given factors.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> w, V = np.linalg.eigh(np.diag([1.0, 3.0]))
    >>> dw, dV = la.eigh_pushforward(w, V, np.diag([0.5, 2.0]), UPLO="L")
    >>> dw
    array([0.5, 2. ])
    """
    uplo = _uplo(UPLO)
    fr, w3, V3 = eig_frame("eigh_pushforward", w, V, [("dA", dA, 2)], hermitian=True)
    opt = options(fr.dtype, **opts)
    n = fr.n
    dA3 = cotan(tangent(dA), "dA", fr.batch, (n, n), fr.dtype, of="A", finite=True)
    dw, dV = _pushforward(V3, w3, dA3, _TRI[uplo], fr, opt.as_policy(), "eigh_pushforward")
    return EighResult(dw.astype(real_dtype(fr.dtype)).reshape(fr.shape(n)), dV.reshape(fr.shape(n, n)))


# Eigenvalues only (the forward mode skips the vectors' tangents: see rules/_values.py)

@uplo_keyword()
@fill
def eigvalsh(A: ArrayLike, UPLO: UPLOType = "L") -> Array:
    """The eigenvalues of Hermitian matrices, as ``numpy.linalg.eigvalsh``.

    Parameters
    ----------
    {{Ah}}
    {{UPLO}}

    Returns
    -------
    ndarray, shape (..., n)
        The eigenvalues, real, ascending.

    Raises
    ------
    {{raises_input}}

    Notes
    -----
    The eigenvalues of the Hermitian matrix read as in :func:`eigh`.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> la.eigvalsh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    array([1., 3.])
    """
    uplo = _uplo(UPLO)
    st = matrix_stack(A, square=True)
    if st.data.size == 0:
        return np.zeros(st.shape(st.n), real_dtype(st.dtype))
    w = np.linalg.eigvalsh(_herm(st.data)) if uplo is None else np.linalg.eigvalsh(st.data, UPLO=uplo)
    return w.reshape(st.shape(st.n))


@uplo_keyword()
@fill
def eigvalsh_vjp(A: ArrayLike, *, UPLO: UPLOType = "L", project: Structure = None,
                 **opts: Any) -> tuple[Array, Pullback]:
    """The eigenvalues and their pullback: ``w, pullback = eigvalsh_vjp(A)``.

    Parameters
    ----------
    {{Ah}}
    {{UPLO}}
    {{project}}
    {{opts}}

    Returns
    -------
    w : ndarray, shape (..., n)
        The eigenvalues, ascending.
    pullback : callable
        ``pullback(dw) -> dA``.

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    ``A_H = V diag(dw) V^H`` (the pullback of :func:`eigh_vjp` with
    ``dV = 0``, exact at any degeneracy), mapped to the ``UPLO`` triangle.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> w, pullback = la.eigvalsh_vjp(A, UPLO=None)
    >>> np.allclose(pullback(2 * w), 2 * A)   # d ||A||_F^2 / dA
    True
    """
    res, pullback = eigh_vjp(A, UPLO=UPLO, project=project, **opts)
    return res.eigenvalues, lambda dw=None: pullback(dw, None)


def _read_tangent(dA3, uplo):
    """The Hermitian tangent H (B, n, n) of dA as eigh reads it (``uplo``)."""
    return read(Stack(dA3, ()), uplo)


def _values_tangent(V, w64, dA3, uplo, st, opt, rule):
    """dw (B, n) = Re diag(V^H H V), checked where the values cannot resolve it."""
    H = _read_tangent(dA3, uplo)
    HV = H @ V
    dw = np.einsum("bik,bik->bk", V.conj(), HV).real
    return resolve(rule, "eigenvalues", w64, dw, lambda b: V[b].conj().T @ HV[b], opt, st.batch)


@uplo_keyword()
@fill
def eigvalsh_jvp(A: ArrayLike, dA: ArrayLike, *, UPLO: UPLOType = "L",
                 **opts: Any) -> tuple[Array, Array]:
    """The eigenvalues and their tangent along ``dA``: ``(w, dw)``.

    Parameters
    ----------
    {{Ah}}
    dA : array_like, shape (..., n, n)
        The tangent, read like A.
    {{UPLO}}
    {{values_opts}}

    Returns
    -------
    w : ndarray, shape (..., n)
        The eigenvalues, ascending.
    dw : ndarray, shape (..., n)
        Their tangent.

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    ``dw = Re diag(V^H H V)`` with H the tangent read as ``UPLO`` says: no
    ``1/gap``.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> w, dw = la.eigvalsh_jvp(np.diag([1.0, 3.0]), np.eye(2))
    >>> dw
    array([1., 1.])
    """
    uplo = _uplo(UPLO)
    st = matrix_stack(A, square=True)
    opt = values_options(st.dtype, opts)
    n = st.n
    dA3 = cotangent(tangent(dA), "dA", st.shape(n, n), st.dtype, of="A").reshape(st.data.shape)
    w, V = factor(st, uplo)
    dw = _values_tangent(V, np.asarray(w, np.float64), dA3, uplo, st, opt, "eigvalsh_jvp")
    rdt = real_dtype(st.dtype)
    return w.astype(rdt).reshape(st.shape(n)), dw.astype(rdt).reshape(st.shape(n))


@uplo_keyword(transition=True)
@fill
def eigvalsh_pushforward(w: ArrayLike, V: ArrayLike, dA: ArrayLike, *,
                         UPLO: UPLOType = UNSET, **opts: Any) -> Array:
    """The eigenvalues' tangent from the factors (stateless): ``dw`` along ``dA``.

    Parameters
    ----------
    {{eigh_factors}}
    dA : array_like, shape (..., n, n)
        The tangent of A, read as ``UPLO`` says.
    {{UPLO_transition}}
    {{values_opts}}

    Returns
    -------
    ndarray, shape (..., n)
        ``dw``, the stateless form of ``eigvalsh_jvp(A, dA)[1]``.

    Raises
    ------
    {{raises_stateless}}

    Notes
    -----
    ``dw = Re diag(V^H H V)``.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> w, V = np.linalg.eigh(np.diag([1.0, 3.0]))
    >>> la.eigvalsh_pushforward(w, V, np.eye(2), UPLO="L")
    array([1., 1.])
    """
    uplo = _uplo(UPLO)
    rule = "eigvalsh_pushforward"
    fr, w3, V3 = eig_frame(rule, w, V, [("dA", dA, 2)], hermitian=True)
    opt = values_options(fr.dtype, opts)
    dA3 = cotan(tangent(dA), "dA", fr.batch, (fr.n, fr.n), fr.dtype, of="A", finite=True)
    dw = _values_tangent(V3, w3, dA3, uplo, fr, opt, rule)
    return dw.astype(real_dtype(fr.dtype)).reshape(fr.shape(fr.n))
