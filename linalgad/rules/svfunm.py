"""Singular-value functions: G = U diag(g(S)) Vh (thin SVD of A, m x n).

Primal
    ``g``: a name of linalgad/_divdiff.py ("exp", "log", "sqrt", "abs",
    "inv"), a real power given as a number, or a callable on singular values
    with its derivative ``dg``. g = 1 is the polar factor (polar_vjp).
Gauge
    None: G is a function of A wherever it is differentiable, so the rule is
    exact at repeated singular values (divided differences, never 1/gap).
    Zero singular values of a rectangular or complex A (where g(s)/s
    appears) follow ``degeneracy=`` as in polar.
Rules (Z = U^H G_bar V; the map is self-adjoint, so one kernel serves both)
    C = (Z + Z^H)/2 o D- + (Z - Z^H)/2 o D+,
    D-_ij = (g_i - g_j)/(s_i - s_j) (D-_ii = g'(s_i)), D+_ij = (g_i + g_j)/(s_i + s_j),
    A_bar = U C Vh + (I - U U^H) G_bar V h Vh + U h U^H G_bar (I - V Vh), h = g/s.
    D- comes from linalgad/_divdiff.py (no cancellation); the kernel is
    _core.svfun_apply (see _svd.pxi), shared with polar.
Cost (square, GEMMs): 4 per mode, plus the primal's SVD.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from .._docs import fill
from .._typing import Array, ArrayLike, Derivative, Pullback, ScalarFunction, Structure
from .._divdiff import divided_differences, resolve
from .._errors import raise_core
from .._options import batch_threads, options
from .._validate import cotangent, tangent, matrix_stack
from .eigh import finish
from ._factors import cotan, svd_frame
from .svd import _factor

__all__ = ["svfunm", "svfunm_vjp", "svfunm_jvp", "svfunm_pullback", "svfunm_pushforward"]

_REMEDIES = "pass degeneracy='lorentz' to regularise, or use a g with g(0) = 0"


def _differences(fn, s64, st, rule):
    """g(s) and the divided differences D- (B, k, k) of g at s (B, k) float64."""
    k = s64.shape[-1]
    gv, Dm = divided_differences(fn, s64.reshape(st.shape(k)), where=(f"{rule}: ", "singular value"))
    return (np.ascontiguousarray(gv.reshape(s64.shape)),
            np.ascontiguousarray(Dm.reshape(s64.shape + (k,))))


def _prepare(A, g, dg, rule):
    fn = resolve(g, dg, ("g", "dg"))
    st = matrix_stack(A)
    U, s, Vh, _ = _factor(st, False)
    s64 = np.ascontiguousarray(s, np.float64)
    gv, Dm = _differences(fn, s64, st, rule)
    G = (U * gv[..., None, :].astype(U.dtype)) @ Vh
    return st, U, s64, Vh, gv, Dm, G


def _apply(st, U, s, Vh, gv, Dm, X, opt, rule):
    out = np.empty((st.B, st.m, st.n), st.dtype)
    err = _core.svfun_apply(U, s, Vh, X, gv, Dm, out, opt.as_policy(),
                            batch_threads(st.B, max(st.m, st.n)))
    if err is not None:
        raise_core(err, rule=rule, values="singular values", vectors="U[:, {i}] and V[:, {i}]",
                   remedies=_REMEDIES, batch_shape=st.batch)
    return out


@fill
def svfunm(A: ArrayLike, g: ScalarFunction, *, dg: Derivative = None) -> Array:
    """A singular-value function ``G = U diag(g(S)) Vh`` (thin SVD of A).

    Parameters
    ----------
    {{A}}
    {{g}}

    Returns
    -------
    ndarray, shape (..., m, n)
        ``G``. ``g = 1`` is the polar factor Q (:func:`polar`).

    Raises
    ------
    ValueError
        Outside the domain of ``g`` (the message names the singular value),
        or for NaN/Inf in A.
    TypeError
        For an unknown ``g``.

    Notes
    -----
    ``A = U diag(S) Vh``, ``G = U diag(g(S)) Vh``: a function of A wherever
    g is, independent of the gauge of U and V.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.random.default_rng(0).standard_normal((4, 3))
    >>> np.allclose(la.svfunm(A, 1.0), A)   # g(s) = s
    True
    """
    st, U, s, Vh, gv, Dm, G = _prepare(A, g, dg, "svfunm")
    return G.reshape(st.shape(st.m, st.n))


@fill
def svfunm_vjp(A: ArrayLike, g: ScalarFunction, *, dg: Derivative = None,
               project: Structure = None, **opts: Any) -> tuple[Array, Pullback]:
    """``G = U diag(g(S)) Vh`` and its pullback: ``G, pullback = svfunm_vjp(A, g)``.

    Parameters
    ----------
    {{A}}
    {{g}}
    {{project}}
    {{zero_opts}}

    Returns
    -------
    G : ndarray, shape (..., m, n)
        ``U diag(g(S)) Vh`` (read-only).
    pullback : callable
        ``pullback(dG) -> dA``.

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    With ``Z = U^H dG V``, ``D-_ij = (g_i - g_j)/(s_i - s_j)`` (divided
    differences, ``D-_ii = g'(s_i)``), ``D+_ij = (g_i + g_j)/(s_i + s_j)``
    and ``h = g/s``::

        C = (Z + Z^H)/2 o D- + (Z - Z^H)/2 o D+
        dA = U C Vh + (I - U U^H) dG V h Vh + U h U^H dG (I - V Vh)

    Exact at repeated singular values (never ``1/gap``).

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.random.default_rng(0).standard_normal((3, 3))
    >>> G, pullback = la.svfunm_vjp(A, 2.0)   # G = U S^2 Vh
    >>> U, S, Vh = np.linalg.svd(A)
    >>> np.allclose(G, U * S**2 @ Vh)
    True
    """
    st, U, s, Vh, gv, Dm, G = _prepare(A, g, dg, "svfunm_vjp")
    opt = options(st.dtype, **opts)
    G = G.reshape(st.shape(st.m, st.n))
    G.flags.writeable = False

    def pullback(dG=None):
        x = cotangent(dG, "dG", G.shape, st.dtype, of="G")
        if x is None:
            out = np.zeros((st.B, st.m, st.n), st.dtype)
        else:
            out = _apply(st, U, s, Vh, gv, Dm, x.reshape(st.B, st.m, st.n), opt, "svfunm_vjp")
        return finish(out, st, project, "svfunm_vjp")

    return G, pullback


@fill
def svfunm_jvp(A: ArrayLike, dA: ArrayLike, g: ScalarFunction, *, dg: Derivative = None,
               **opts: Any) -> tuple[Array, Array]:
    """``G = U diag(g(S)) Vh`` and its tangent along ``dA``: ``(G, dG)``.

    Parameters
    ----------
    {{A}}
    {{dA}}
    {{g}}
    {{zero_opts}}

    Returns
    -------
    G : ndarray, shape (..., m, n)
        ``U diag(g(S)) Vh``.
    dG : ndarray, shape (..., m, n)
        Its tangent.

    Raises
    ------
    {{raises_rule}}

    Notes
    -----
    The map of :func:`svfunm_vjp` is self-adjoint: ``dG`` is it applied to
    ``dA``.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> rng = np.random.default_rng(0)
    >>> A, E = rng.standard_normal((2, 3, 3))
    >>> G, dG = la.svfunm_jvp(A, E, 1.0)   # g(s) = s: G = A, dG = E
    >>> np.allclose(dG, E)
    True
    """
    st, U, s, Vh, gv, Dm, G = _prepare(A, g, dg, "svfunm_jvp")
    opt = options(st.dtype, **opts)
    x = cotangent(tangent(dA), "dA", st.shape(st.m, st.n), st.dtype, of="A").reshape(st.B, st.m, st.n)
    dG = _apply(st, U, s, Vh, gv, Dm, x, opt, "svfunm_jvp")
    return G.reshape(st.shape(st.m, st.n)), dG.reshape(st.shape(st.m, st.n))


def _stateless(rule, U, S, Vh, X, name, g, dg, opts):
    fn = resolve(g, dg, ("g", "dg"))
    fr, U3, s3, Vh3 = svd_frame(rule, U, S, Vh, [(name, X, 2)])
    opt = options(fr.dtype, **opts)
    x = cotan(X, name, fr.batch, (fr.m, fr.n), fr.dtype, of="G" if name == "dG" else "A",
              finite=True)
    gv, Dm = _differences(fn, s3, fr, rule)
    return fr, U3, s3, Vh3, gv, Dm, x, opt


@fill
def svfunm_pullback(U: ArrayLike, S: ArrayLike, Vh: ArrayLike, dG: ArrayLike | None,
                    g: ScalarFunction, *, dg: Derivative = None, **opts: Any) -> Array:
    """The svfunm pullback from the thin SVD of A (stateless): ``dA`` for a cotangent dG.

    Parameters
    ----------
    {{svd_factors}}
    dG : array_like, shape (..., m, n) or None
        The cotangent of ``G = U diag(g(S)) Vh`` (None: zero); leading axes
        broadcast with the factors'.
    {{g}}
    {{zero_opts}}

    Returns
    -------
    ndarray, shape (..., m, n)
        The cotangent of A, the stateless form of ``svfunm_vjp(A, g)[1]``.

    Raises
    ------
    {{raises_stateless}}

    Notes
    -----
    The formula of :func:`svfunm_vjp`, applied to the given factors.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.random.default_rng(0).standard_normal((3, 3))
    >>> U, S, Vh = np.linalg.svd(A)
    >>> dA = la.svfunm_pullback(U, S, Vh, np.eye(3), 1.0)   # G = A
    >>> np.allclose(dA, np.eye(3))
    True
    """
    rule = "svfunm_pullback"
    fr, U3, s3, Vh3, gv, Dm, x, opt = _stateless(rule, U, S, Vh, dG, "dG", g, dg, opts)
    if x is None:
        return np.zeros(fr.shape(fr.m, fr.n), fr.dtype)
    return _apply(fr, U3, s3, Vh3, gv, Dm, x, opt, rule).reshape(fr.shape(fr.m, fr.n))


@fill
def svfunm_pushforward(U: ArrayLike, S: ArrayLike, Vh: ArrayLike, dA: ArrayLike,
                       g: ScalarFunction, *, dg: Derivative = None, **opts: Any) -> Array:
    """The svfunm tangent from the thin SVD of A (stateless): ``dG`` along ``dA``.

    Parameters
    ----------
    {{svd_factors}}
    dA : array_like, shape (..., m, n)
        The tangent of A; leading axes broadcast with the factors'.
    {{g}}
    {{zero_opts}}

    Returns
    -------
    ndarray, shape (..., m, n)
        ``dG``, the stateless form of ``svfunm_jvp(A, dA, g)[1]``.

    Raises
    ------
    {{raises_stateless}}

    Notes
    -----
    The formula of :func:`svfunm_jvp`, applied to the given factors.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> rng = np.random.default_rng(0)
    >>> A, E = rng.standard_normal((2, 3, 3))
    >>> U, S, Vh = np.linalg.svd(A)
    >>> np.allclose(la.svfunm_pushforward(U, S, Vh, E, 1.0), E)
    True
    """
    rule = "svfunm_pushforward"
    fr, U3, s3, Vh3, gv, Dm, x, opt = _stateless(rule, U, S, Vh, tangent(dA), "dA", g, dg, opts)
    return _apply(fr, U3, s3, Vh3, gv, Dm, x, opt, rule).reshape(fr.shape(fr.m, fr.n))
