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
    the lead's _core.svfun_apply (see _svd.pxi).
Cost (square, GEMMs): 4 per mode, plus the primal's SVD.
"""

import numpy as np

from .. import _core
from .._divdiff import divided_differences, resolve
from .._errors import raise_core
from .._options import batch_threads, options
from .._validate import cotangent, matrix_stack
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
    fn = resolve(g, dg)
    st = matrix_stack(A)
    U, s, Vh, _ = _factor(st, False)
    s64 = np.ascontiguousarray(s, np.float64)
    gv, Dm = _differences(fn, s64, st, rule)
    G = (U * gv[..., None, :].astype(U.dtype)) @ Vh
    return st, U, s64, Vh, gv, Dm, G


def _apply(st, U, s, Vh, gv, Dm, X, opt, rule):
    out = np.empty((st.B, st.m, st.n), st.dtype)
    err = _core.svfun_apply(U, s, Vh, X, gv, Dm, out, opt.as_tuple(),
                            batch_threads(st.B, max(st.m, st.n)))
    if err is not None:
        raise_core(err, rule=rule, values="singular values", vectors="U[:, {i}] and V[:, {i}]",
                   remedies=_REMEDIES, batch_shape=st.batch)
    return out


def svfunm(A, g, *, dg=None):
    """U diag(g(S)) Vh for a stack of matrices (..., m, n)."""
    st, U, s, Vh, gv, Dm, G = _prepare(A, g, dg, "svfunm")
    return G.reshape(st.shape(st.m, st.n))


def svfunm_vjp(A, g, *, dg=None, project=None, **opts):
    """G = U diag(g(S)) Vh and its pullback ``pullback(dG) -> dA``.
    ``**opts``: degeneracy, tol, eps (zero singular values only)."""
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


def svfunm_jvp(A, dA, g, *, dg=None, **opts):
    """G = U diag(g(S)) Vh and its tangent along ``dA``: ``(G, dG)``."""
    st, U, s, Vh, gv, Dm, G = _prepare(A, g, dg, "svfunm_jvp")
    opt = options(st.dtype, **opts)
    x = cotangent(dA, "dA", st.shape(st.m, st.n), st.dtype, of="A").reshape(st.B, st.m, st.n)
    dG = _apply(st, U, s, Vh, gv, Dm, x, opt, "svfunm_jvp")
    return G.reshape(st.shape(st.m, st.n)), dG.reshape(st.shape(st.m, st.n))


def _stateless(rule, U, S, Vh, X, name, g, dg, opts):
    fn = resolve(g, dg)
    fr, U3, s3, Vh3 = svd_frame(rule, U, S, Vh, [(name, X, 2)])
    opt = options(fr.dtype, **opts)
    x = cotan(X, name, fr.batch, (fr.m, fr.n), fr.dtype, of="G" if name == "dG" else "A",
              finite=True)
    gv, Dm = _differences(fn, s3, fr, rule)
    return fr, U3, s3, Vh3, gv, Dm, x, opt


def svfunm_pullback(U, S, Vh, dG, g, *, dg=None, **opts):
    """The svfunm pullback from the thin SVD of A: ``dA`` for a cotangent dG
    of G = U diag(g(S)) Vh.

    Stateless form of ``svfunm_vjp(A, g, dg=dg)[1]``: U (..., m, k),
    S (..., k), Vh (..., k, n), k = min(m, n); leading axes broadcast with
    dG. ``**opts``: degeneracy, tol, eps (zero singular values only).
    """
    rule = "svfunm_pullback"
    fr, U3, s3, Vh3, gv, Dm, x, opt = _stateless(rule, U, S, Vh, dG, "dG", g, dg, opts)
    if x is None:
        return np.zeros(fr.shape(fr.m, fr.n), fr.dtype)
    return _apply(fr, U3, s3, Vh3, gv, Dm, x, opt, rule).reshape(fr.shape(fr.m, fr.n))


def svfunm_pushforward(U, S, Vh, dA, g, *, dg=None, **opts):
    """The svfunm tangent dG along ``dA`` from the thin SVD of A (stateless
    form of ``svfunm_jvp(A, dA, g)[1]``; factors as in :func:`svfunm_pullback`)."""
    rule = "svfunm_pushforward"
    fr, U3, s3, Vh3, gv, Dm, x, opt = _stateless(rule, U, S, Vh, dA, "dA", g, dg, opts)
    return _apply(fr, U3, s3, Vh3, gv, Dm, x, opt, rule).reshape(fr.shape(fr.m, fr.n))
