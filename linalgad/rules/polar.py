"""Polar decomposition: A = Q P.

Primal
    Q = U Vh (orthonormal columns for tall A, rows for wide A), P = V S Vh
    (n x n, Hermitian positive semi-definite), from the thin SVD.
Gauge
    None: Q and P are functions of A wherever A has full rank, even when its
    singular values are repeated (orthogonal/unitary A included). So
    ``gauge=`` takes None or "canonical" like the other rules and changes
    nothing: it is deprecated (DeprecationWarning); ``gauge_fix`` copies a
    PolarResult.
Rules (Z = U^H dQ V)
    dA = U ((Z - Z^H) o 1/(s_i + s_j)) Vh + (I - U U^H) dQ V S^-1 Vh
         + U S^-1 U^H dQ (I - V Vh)                          (Q part)
    A cotangent dP of P (P = Q^H A) adds Q herm(dP) and feeds A herm(dP)
    into dQ first. Only sums of singular values appear, so the rule is exact
    at any degeneracy; zero singular values (rank deficiency, where Q is not
    unique) follow ``degeneracy=``. The Q map is self-adjoint, so the JVP
    applies the same kernel to dA.
Cost (square, GEMMs): 4 for dQ; 2 more for dP (Vh H and (Vh H) V, in the
kernel: the pullback's memory is its output plus per-thread workspace).
Derivation: docs/svd.md (singular-value functions, g = 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core, gauge as _gauge
from .._compat import deprecate
from .._docs import fill
from .._results import PolarResult, deprecated_alias
from .._typing import Array, ArrayLike, Gauge, Pullback, Structure
from ..project import finish_cotangent
from .._errors import raise_core
from .._options import batch_threads, options
from .._validate import cotangent, tangent, matrix_stack
from ._factors import cotan, svd_frame
from .svd import _factor

__all__ = ["PolarResult", "polar", "polar_vjp", "polar_jvp", "polar_pullback", "polar_pushforward"]



def __getattr__(name):  # the old result name Polar, deprecated
    return deprecated_alias(name, globals())


def _no_gauge(gauge, rule):
    """gauge= on polar: validated, and deprecated (the factors have no gauge)."""
    _gauge.wants(gauge)
    if gauge is not None:
        deprecate(f"{rule}: gauge= is deprecated and does nothing (Q and P are unique for a "
                  f"full-rank A: there is no gauge to fix); it will be removed in linalgad 0.3", stacklevel=4)

_REMEDIES = "pass degeneracy='lorentz' to regularise"


def _herm(X):
    return 0.5 * (X + X.conj().swapaxes(-1, -2))


def _apply(U, s, Vh, G, st, opt, rule, gP=None, check_finite=None):
    """The derivative of Q = U Vh applied to G (cotangent of Q or tangent of A);
    gP, the cotangent of P, adds its term (in the kernel: no A H or Q H stack).
    check_finite: the names of G and gP when the core is to refuse inf/nan in them."""
    out = np.empty((st.B, st.m, st.n), st.dtype)
    err = _core.svfun_apply(U, np.ascontiguousarray(s, dtype=np.float64), Vh, G, None, None, out,
                            opt.as_policy(), batch_threads(st.B, max(st.m, st.n)), gP,
                            check_finite=check_finite)
    if err is not None:
        raise_core(err, rule=rule, values="singular values", vectors="Q", remedies=_REMEDIES,
                   batch_shape=st.batch)
    return out


def _polar_factors(st):
    U, s, Vh, _ = _factor(st, False)
    Q = U @ Vh
    P = _herm((Vh.conj().swapaxes(-1, -2) * s[..., None, :]) @ Vh)
    return U, s, Vh, Q, P


@fill
def polar(A: ArrayLike, *, gauge: Gauge = None) -> PolarResult:
    """The polar decomposition ``A = Q @ P``.

    Parameters
    ----------
    {{A}}
    gauge : None
        Deprecated: Q and P are unique for a full-rank A, there is no gauge,
        and the argument changes nothing; passing it warns
        (DeprecationWarning). It will be removed in linalgad 0.3.

    Returns
    -------
    PolarResult
        ``PolarResult(Q, P)``: Q (..., m, n) with orthonormal columns (rows
        for a wide A), P (..., n, n) Hermitian positive semi-definite.

    Raises
    ------
    {{raises_input}}

    Notes
    -----
    From the thin SVD ``A = U S Vh``: ``Q = U Vh``, ``P = V S Vh``.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.random.default_rng(0).standard_normal((3, 3))
    >>> Q, P = la.polar(A)
    >>> np.allclose(Q @ P, A), np.allclose(Q.T @ Q, np.eye(3))
    (True, True)
    """
    _no_gauge(gauge, "polar")
    st = matrix_stack(A)
    _, _, _, Q, P = _polar_factors(st)
    return PolarResult(Q.reshape(st.shape(st.m, st.n)), P.reshape(st.shape(st.n, st.n)))


@fill
def polar_vjp(A: ArrayLike, *, gauge: Gauge = None, project: Structure = None,
              **opts: Any) -> tuple[PolarResult, Pullback]:
    """The polar decomposition and its pullback: ``res, pullback = polar_vjp(A)``.

    Parameters
    ----------
    {{A}}
    gauge : None
        Deprecated, changes nothing (see :func:`polar`).
    {{project}}
    {{zero_opts}}

    Returns
    -------
    res : PolarResult
        ``PolarResult(Q, P)`` (read-only).
    pullback : callable
        ``pullback(dQ=None, dP=None) -> dA``.

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    With the thin SVD of A and ``Z = U^H dQ V``::

        dA = U ((Z - Z^H) o 1/(s_i + s_j)) Vh + (I - U U^H) dQ V S^-1 Vh
             + U S^-1 U^H dQ (I - V Vh)

    A cotangent dP adds ``Q herm(dP)`` and feeds ``A herm(dP)`` into dQ.
    Only sums of singular values appear: exact at repeated singular values.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.random.default_rng(0).standard_normal((3, 3))
    >>> (Q, P), pullback = la.polar_vjp(A)
    >>> np.allclose(pullback(dP=np.eye(3)), Q)   # d trace(P) / dA = Q
    True
    """
    _no_gauge(gauge, "polar_vjp")
    st = matrix_stack(A)
    opt = options(st.dtype, **opts)
    U, s, Vh, Q, P = _polar_factors(st)
    res = PolarResult(Q.reshape(st.shape(st.m, st.n)), P.reshape(st.shape(st.n, st.n)))
    for a in res:
        a.flags.writeable = False

    def pullback(dQ=None, dP=None):
        # inf/nan: the core checks the cotangents as it reads them
        gQ = cotangent(dQ, "dQ", res.Q.shape, st.dtype, of="Q", finite=False)
        gP = cotangent(dP, "dP", res.P.shape, st.dtype, of="P", finite=False)
        if gQ is None and gP is None:
            return finish_cotangent(np.zeros((st.B, st.m, st.n), st.dtype), st, project)
        out = _apply(U, s, Vh, None if gQ is None else gQ.reshape(st.B, st.m, st.n), st, opt,
                     "polar_vjp", None if gP is None else gP.reshape(st.B, st.n, st.n),
                     check_finite=("dQ", "dP"))
        return finish_cotangent(out, st, project)

    return res, pullback


@fill
def polar_jvp(A: ArrayLike, dA: ArrayLike, *, gauge: Gauge = None,
              **opts: Any) -> tuple[PolarResult, PolarResult]:
    """The polar decomposition and its tangent along ``dA`` (forward mode).

    Parameters
    ----------
    {{A}}
    {{dA}}
    gauge : None
        Deprecated, changes nothing (see :func:`polar`).
    {{zero_opts}}

    Returns
    -------
    res : PolarResult
        ``PolarResult(Q, P)``.
    tangent : PolarResult
        ``PolarResult(dQ, dP)``.

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    The map of :func:`polar_vjp` is self-adjoint: ``dQ`` is it applied to
    ``dA``; ``dP = herm(dQ^H A + Q^H dA)``.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.random.default_rng(0).standard_normal((3, 3))
    >>> (Q, P), (dQ, dP) = la.polar_jvp(A, A)   # scaling A leaves Q unchanged
    >>> np.allclose(dQ, 0), np.allclose(dP, P)
    (True, True)
    """
    _no_gauge(gauge, "polar_jvp")
    st = matrix_stack(A)
    opt = options(st.dtype, **opts)
    dA3 = cotangent(tangent(dA), "dA", st.shape(st.m, st.n), st.dtype, of="A").reshape(st.data.shape)
    U, s, Vh, Q, P = _polar_factors(st)
    dQ, dP = _pushforward(U, s, Vh, dA3, st, opt, "polar_jvp", Q, st.data)
    res = PolarResult(Q.reshape(st.shape(st.m, st.n)), P.reshape(st.shape(st.n, st.n)))
    return res, PolarResult(dQ.reshape(res.Q.shape), dP.reshape(res.P.shape))


def _pushforward(U, s, Vh, dA3, st, opt, rule, Q, A):
    """(dQ, dP) along dA3; Q = U Vh and A = U S Vh as (B, ...) stacks."""
    dQ = _apply(U, s, Vh, dA3, st, opt, rule)
    dP = _herm(dQ.conj().swapaxes(-1, -2) @ A + Q.conj().swapaxes(-1, -2) @ dA3)
    return dQ, dP


@fill
def polar_pullback(U: ArrayLike, S: ArrayLike, Vh: ArrayLike, dQ: ArrayLike | None = None,
                   dP: ArrayLike | None = None, **opts: Any) -> Array:
    """The polar pullback from the thin SVD of A (stateless): ``dA`` for cotangents of Q, P.

    Parameters
    ----------
    {{svd_factors}}
    dQ : array_like, shape (..., m, n), optional
        Cotangent of ``Q = U Vh`` (None: zero).
    dP : array_like, shape (..., n, n), optional
        Cotangent of ``P = V S Vh`` (None: zero). Leading axes broadcast
        with the factors'.
    {{zero_opts}}

    Returns
    -------
    ndarray, shape (..., m, n)
        The cotangent of A, the stateless form of ``polar_vjp(A)[1]``
        (``project=`` needs A: use :func:`polar_vjp`).

    Raises
    ------
    {{raises_stateless}}

    Notes
    -----
    The formula of :func:`polar_vjp`, applied to the given factors.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.random.default_rng(0).standard_normal((3, 3))
    >>> U, S, Vh = np.linalg.svd(A)
    >>> np.allclose(la.polar_pullback(U, S, Vh, dP=np.eye(3)), U @ Vh)
    True
    """
    rule = "polar_pullback"
    fr, U3, s3, Vh3 = svd_frame(rule, U, S, Vh, [("dQ", dQ, 2), ("dP", dP, 2)])
    opt = options(fr.dtype, **opts)
    gQ = cotan(dQ, "dQ", fr.batch, (fr.m, fr.n), fr.dtype, of="Q")
    gP = cotan(dP, "dP", fr.batch, (fr.n, fr.n), fr.dtype, of="P")
    if gQ is None and gP is None:
        return np.zeros(fr.shape(fr.m, fr.n), fr.dtype)
    out = _apply(U3, s3, Vh3, gQ, fr, opt, rule, gP, check_finite=("dQ", "dP"))
    return out.reshape(fr.shape(fr.m, fr.n))


@fill
def polar_pushforward(U: ArrayLike, S: ArrayLike, Vh: ArrayLike, dA: ArrayLike,
                      **opts: Any) -> PolarResult:
    """The polar tangent from the thin SVD of A (stateless): ``PolarResult(dQ, dP)`` along ``dA``.

    Parameters
    ----------
    {{svd_factors}}
    dA : array_like, shape (..., m, n)
        The tangent of A; leading axes broadcast with the factors'.
    {{zero_opts}}

    Returns
    -------
    PolarResult
        ``PolarResult(dQ, dP)``, the stateless form of ``polar_jvp(A, dA)[1]``.

    Raises
    ------
    {{raises_stateless}}

    Notes
    -----
    The formula of :func:`polar_jvp`, applied to the given factors.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.random.default_rng(0).standard_normal((3, 3))
    >>> U, S, Vh = np.linalg.svd(A)
    >>> dQ, dP = la.polar_pushforward(U, S, Vh, A)
    >>> np.allclose(dQ, 0)
    True
    """
    rule = "polar_pushforward"
    fr, U3, s3, Vh3 = svd_frame(rule, U, S, Vh, [("dA", dA, 2)])
    opt = options(fr.dtype, **opts)
    dA3 = cotan(tangent(dA), "dA", fr.batch, (fr.m, fr.n), fr.dtype, of="A", finite=True)
    Q, A = U3 @ Vh3, (U3 * s3[:, None, :].astype(fr.dtype)) @ Vh3
    dQ, dP = _pushforward(U3, s3, Vh3, dA3, fr, opt, rule, Q, A)
    return PolarResult(dQ.reshape(fr.shape(fr.m, fr.n)), dP.reshape(fr.shape(fr.n, fr.n)))
