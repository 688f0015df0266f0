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
    _core.svfun_apply (see _svd.pxi).
Cost (square, GEMMs): 4 per mode, plus the primal's SVD.
"""

import numpy as np

from .. import _core
from .._divdiff import divided_differences, resolve
from .._errors import raise_core
from .._options import batch_threads, options
from .._validate import cotangent, matrix_stack
from .eigh import finish
from .svd import _factor

__all__ = ["svfunm", "svfunm_vjp", "svfunm_jvp"]

_REMEDIES = "pass degeneracy='lorentz' to regularise, or use a g with g(0) = 0"


def _prepare(A, g, dg, rule):
    fn = resolve(g, dg)
    st = matrix_stack(A)
    U, s, Vh, _ = _factor(st, False)
    s64 = np.ascontiguousarray(s, np.float64)
    k = s64.shape[-1]
    gv, Dm = divided_differences(fn, s64.reshape(st.shape(k)), where=(f"{rule}: ", "singular value"))
    gv, Dm = gv.reshape(s64.shape), Dm.reshape(s64.shape + (k,))
    G = (U * gv[..., None, :].astype(U.dtype)) @ Vh
    return st, U, s64, Vh, np.ascontiguousarray(gv), np.ascontiguousarray(Dm), G


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
