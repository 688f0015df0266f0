"""Functions of a Hermitian matrix: F = f(A) = V diag(f(w)) V^H.

Primal
    A Hermitian, read as ``uplo`` says: None (default) takes its Hermitian
    part, "L"/"U" read one triangle as ``numpy.linalg.eigh`` does (see
    rules/eigh.py). ``f``: "exp", "log", "sqrt", "abs", "inv", a real power
    given as a number, or a callable on eigenvalues with its derivative
    ``df`` (both vectorised over float64 arrays).
Gauge
    None: F is a function of A, so no gauge check is needed, and the rule is
    exact at any degeneracy (A = I included): no 1/gap is ever formed.
Rules (Daleckii-Krein; D_ij = f[w_i, w_j], D_ii = f'(w_i), from linalgad/_divdiff.py)
    VJP  A_H = V (D o (V^H herm(F_bar) V)) V^H, then the cotangent of the raw
         input for uplo (as eigh: A_H, or diag + 2 tril/triu).
    JVP  dF = V (D o (V^H H V)) V^H with H the tangent read as uplo says.
    Divided differences without cancellation (expm1, log1p,
    1/(sqrt a + sqrt b), ...); outside the domain (log or sqrt of a
    non-positive eigenvalue, ...) a ValueError names the eigenvalue.
    Why not chain eigh and f: at A = I the eigenvector coupling is 0/0; the
    eigh rule raises (strict) or silently drops the off-diagonal divided
    differences (subspace). See docs/funm.md.
Cost (GEMMs): 3.5 per mode (V^H H V: 2, trmm + her2k: 1.5), plus the
    primal's eigh and one GEMM for F.
"""

import numpy as np

from .. import _core
from .._divdiff import divided_differences, resolve
from .._errors import raise_core
from .._options import batch_threads, options
from .._validate import cotangent, matrix_stack
from ._factors import cotan, eig_frame
from .eigh import _TRI, _uplo, factor, finish

__all__ = ["funm", "funm_vjp", "funm_jvp", "funm_pullback", "funm_pushforward"]


def _differences(fn, w, st, rule):
    """f(w) and the divided differences D (B, n, n) of f at w (B, n)."""
    # in the user's batch shape, so a domain error names the right matrix
    fw, D = divided_differences(fn, w.reshape(st.shape(st.n)), where=(f"{rule}: ", "eigenvalue"))
    return fw.reshape(w.shape), np.ascontiguousarray(D.reshape(w.shape + (st.n,)))


def _prepare(A, f, df, uplo, rule):
    uplo = _uplo(uplo)
    fn = resolve(f, df)
    st = matrix_stack(A, square=True)
    w, V = factor(st, uplo)
    fw, D = _differences(fn, w, st, rule)
    F = (V * fw[..., None, :].astype(V.dtype)) @ V.conj().swapaxes(-1, -2)
    F = 0.5 * (F + F.conj().swapaxes(-1, -2))
    return st, uplo, np.ascontiguousarray(w, np.float64), V, D, F


_POLICY = options(np.float64).as_tuple()   # the kernel has no 1/gap: the policy is unused


def _apply(st, w, V, D, G, tri_in, tri_out, rule, name):
    """The Daleckii-Krein map of G; the core refuses inf/nan in it (``name``)."""
    out = np.empty((st.B, st.n, st.n), st.dtype)
    err = _core.funm_apply(V, w, D, G, out, tri_in, tri_out, _POLICY, batch_threads(st.B, st.n),
                           check_finite=name)
    if err is not None:  # pragma: no cover - the kernel has no failure mode today
        raise_core(err, rule=rule, values="eigenvalues", vectors="V[:, {i}]", remedies="",
                   batch_shape=st.batch)
    return out


def funm(A, f, *, df=None, uplo=None):
    """f(A) for a stack of Hermitian matrices (..., n, n)."""
    st, uplo, w, V, D, F = _prepare(A, f, df, uplo, "funm")
    return F.reshape(st.shape(st.n, st.n))


def funm_vjp(A, f, *, df=None, uplo=None, project=None):
    """f(A) and its pullback ``pullback(dF) -> dA`` (exact at any degeneracy).

    ``project``: the structure of the returned cotangent (default: the real
    part for real A; see linalgad.project)."""
    st, uplo, w, V, D, F = _prepare(A, f, df, uplo, "funm_vjp")
    F = F.reshape(st.shape(st.n, st.n))
    F.flags.writeable = False
    n = st.n

    tri_out = _TRI[uplo]

    def pullback(dF=None):
        g = cotangent(dF, "dF", F.shape, st.dtype, of="F", finite=False)
        if g is None:
            return finish(np.zeros((st.B, n, n), st.dtype), st, project, "funm_vjp")
        out = _apply(st, w, V, D, g.reshape(st.B, n, n), _TRI[None], tri_out, "funm_vjp", "dF")
        return finish(out, st, project, "funm_vjp")

    return F, pullback


def funm_jvp(A, dA, f, *, df=None, uplo=None):
    """f(A) and its tangent along ``dA`` (read as ``uplo`` says): ``(F, dF)``."""
    st, uplo, w, V, D, F = _prepare(A, f, df, uplo, "funm_jvp")
    n = st.n
    g = cotangent(dA, "dA", st.shape(n, n), st.dtype, of="A", finite=False).reshape(st.B, n, n)
    dF = _apply(st, w, V, D, g, _TRI[uplo], _TRI[None], "funm_jvp", "dA")
    return F.reshape(st.shape(n, n)), dF.reshape(st.shape(n, n))


def _stateless(rule, w, V, X, name, f, df, uplo):
    uplo = _uplo(uplo)
    fn = resolve(f, df)
    fr, w3, V3 = eig_frame(rule, w, V, [(name, X, 2)], hermitian=True)
    n = fr.n
    x = cotan(X, name, fr.batch, (n, n), fr.dtype, of="F" if name == "dF" else "A")
    _, D = _differences(fn, w3, fr, rule)
    return fr, uplo, w3, V3, D, x


def funm_pullback(w, V, dF, f, *, df=None, uplo=None):
    """The funm pullback from the eigendecomposition of A: ``dA`` for a
    cotangent dF of F = f(A) (exact at any degeneracy).

    Stateless form of ``funm_vjp(A, f, df=df, uplo=uplo)[1]``: w (..., n),
    V (..., n, n) from ``numpy.linalg.eigh``; leading axes broadcast with dF.
    ``uplo``: the cotangent of the raw input as eigh read it (None: the
    Hermitian cotangent). ``project=`` needs the input: use :func:`funm_vjp`.
    """
    rule = "funm_pullback"
    fr, uplo, w3, V3, D, g = _stateless(rule, w, V, dF, "dF", f, df, uplo)
    if g is None:
        return np.zeros(fr.shape(fr.n, fr.n), fr.dtype)
    out = _apply(fr, w3, V3, D, g, _TRI[None], _TRI[uplo], rule, "dF")
    return out.reshape(fr.shape(fr.n, fr.n))


def funm_pushforward(w, V, dA, f, *, df=None, uplo=None):
    """The funm tangent dF along ``dA`` (read as ``uplo`` says) from the
    eigendecomposition of A (stateless form of ``funm_jvp(A, dA, f)[1]``)."""
    rule = "funm_pushforward"
    fr, uplo, w3, V3, D, g = _stateless(rule, w, V, dA, "dA", f, df, uplo)
    out = _apply(fr, w3, V3, D, g, _TRI[uplo], _TRI[None], rule, "dA")
    return out.reshape(fr.shape(fr.n, fr.n))
