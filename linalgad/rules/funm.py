"""Functions of a Hermitian matrix: F = f(A) = V diag(f(w)) V^H.

Primal
    A Hermitian, read as ``UPLO`` says: "L"/"U" read one triangle as
    ``numpy.linalg.eigh`` does (see rules/eigh.py), None takes its
    Hermitian part (the default until linalgad 0.3, with a FutureWarning
    when UPLO is omitted; then "L"). ``f``: "exp", "log", "sqrt", "abs", "inv", a real power
    given as a number, or a callable on eigenvalues with its derivative
    ``df`` (both vectorised over float64 arrays).
Gauge
    None: F is a function of A, so no gauge check is needed, and the rule is
    exact at any degeneracy (A = I included): no 1/gap is ever formed.
Rules (Daleckii-Krein; D_ij = f[w_i, w_j], D_ii = f'(w_i), from linalgad/_divdiff.py)
    VJP  A_H = V (D o (V^H herm(F_bar) V)) V^H, then the cotangent of the raw
         input for UPLO (as eigh: A_H, or diag + 2 tril/triu).
    JVP  dF = V (D o (V^H H V)) V^H with H the tangent read as UPLO says.
    Divided differences without cancellation (expm1, log1p,
    1/(sqrt a + sqrt b), ...); outside the domain (log or sqrt of a
    non-positive eigenvalue, ...) a ValueError names the eigenvalue.
    Why not chain eigh and f: at A = I the eigenvector coupling is 0/0; the
    eigh rule raises (strict) or silently drops the off-diagonal divided
    differences (subspace). See docs/funm.md.
Cost (GEMMs): 3.5 per mode (V^H H V: 2, trmm + her2k: 1.5), plus the
    primal's eigh and one GEMM for F.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from .._compat import UNSET, uplo_keyword
from .._docs import fill
from .._typing import Array, ArrayLike, Derivative, Pullback, ScalarFunction, Structure, UPLOType
from .._divdiff import divided_differences, resolve
from .._errors import raise_core
from .._options import batch_threads, options
from .._validate import cotangent, tangent, matrix_stack
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


def _apply(st, w, V, D, G, tri_in, tri_out, rule, name):
    """The Daleckii-Krein map of G; the core refuses inf/nan in it (``name``).
    No 1/gap is formed, so the degeneracy options (checked by the callers)
    do not reach the kernel."""
    out = np.empty((st.B, st.n, st.n), st.dtype)
    err = _core.funm_apply(V, w, D, G, out, tri_in, tri_out, batch_threads(st.B, st.n),
                           check_finite=name)
    if err is not None:  # pragma: no cover - the kernel has no failure mode today
        raise_core(err, rule=rule, values="eigenvalues", vectors="V[:, {i}]", remedies="",
                   batch_shape=st.batch)
    return out


@uplo_keyword(transition=True)
@fill
def funm(A: ArrayLike, f: ScalarFunction, *, df: Derivative = None,
         UPLO: UPLOType = UNSET) -> Array:
    """A function of Hermitian matrices, ``F = V diag(f(w)) V^H``.

    Parameters
    ----------
    {{Ah}}
    {{f}}
    {{UPLO_transition}}

    Returns
    -------
    ndarray, shape (..., n, n)
        ``f(A)``, Hermitian.

    Raises
    ------
    ValueError
        Outside the domain of ``f`` (e.g. ``log`` of a non-positive
        eigenvalue; the message names it), or for NaN/Inf in A.
    TypeError
        For an unknown ``f``, or ``df`` with a named ``f``.

    Notes
    -----
    ``A = V diag(w) V^H`` (``numpy.linalg.eigh``), ``F = V diag(f(w)) V^H``.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> np.allclose(la.funm(A, "sqrt", UPLO="L") @ la.funm(A, 0.5, UPLO="L"), A)
    True
    """
    st, uplo, w, V, D, F = _prepare(A, f, df, UPLO, "funm")
    return F.reshape(st.shape(st.n, st.n))


@uplo_keyword(transition=True)
@fill
def funm_vjp(A: ArrayLike, f: ScalarFunction, *, df: Derivative = None,
             UPLO: UPLOType = UNSET, project: Structure = None,
             **opts: Any) -> tuple[Array, Pullback]:
    """f(A) and its pullback: ``F, pullback = funm_vjp(A, f)`` (exact at any degeneracy).

    Parameters
    ----------
    {{Ah}}
    {{f}}
    {{UPLO_transition}}
    {{project}}
    {{funm_opts}}

    Returns
    -------
    F : ndarray, shape (..., n, n)
        ``f(A)`` (read-only).
    pullback : callable
        ``pullback(dF) -> dA``.

    Raises
    ------
    ValueError
        Outside the domain of ``f``, for NaN/Inf in A or dF, or a dF of
        the wrong shape.
    TypeError
        For an unknown ``f`` or option.

    Notes
    -----
    Daleckii-Krein: with ``D_ij = f[w_i, w_j]`` (divided differences,
    ``D_ii = f'(w_i)``)::

        A_H = V (D o (V^H herm(dF) V)) V^H

    then mapped to the ``UPLO`` triangle as in :func:`eigh_vjp`. No
    ``1/gap`` is formed: exact at A = I too.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> A = np.diag([1.0, 2.0])
    >>> F, pullback = la.funm_vjp(A, "exp", UPLO=None)
    >>> np.allclose(pullback(np.eye(2)), np.diag(np.exp([1.0, 2.0])))   # d trace(e^A)
    True
    """
    st, uplo, w, V, D, F = _prepare(A, f, df, UPLO, "funm_vjp")
    options(st.dtype, **opts)     # checked, though no 1/gap needs them
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


@uplo_keyword(transition=True)
@fill
def funm_jvp(A: ArrayLike, dA: ArrayLike, f: ScalarFunction, *, df: Derivative = None,
             UPLO: UPLOType = UNSET, **opts: Any) -> tuple[Array, Array]:
    """f(A) and its tangent along ``dA``: ``(F, dF)`` (exact at any degeneracy).

    Parameters
    ----------
    {{Ah}}
    dA : array_like, shape (..., n, n)
        The tangent, read like A (as ``UPLO`` says).
    {{f}}
    {{UPLO_transition}}
    {{funm_opts}}

    Returns
    -------
    F : ndarray, shape (..., n, n)
        ``f(A)``.
    dF : ndarray, shape (..., n, n)
        Its tangent.

    Raises
    ------
    ValueError
        Outside the domain of ``f``, or for NaN/Inf in A or dA.
    TypeError
        For an unknown ``f`` or option.

    Notes
    -----
    ``dF = V (D o (V^H H V)) V^H`` with H the tangent read as ``UPLO`` says
    and D the divided differences of f at the eigenvalues.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> F, dF = la.funm_jvp(np.eye(2), np.eye(2), "exp", UPLO="L")   # A = I: no gap
    >>> np.allclose(dF, np.e * np.eye(2))
    True
    """
    st, uplo, w, V, D, F = _prepare(A, f, df, UPLO, "funm_jvp")
    options(st.dtype, **opts)
    n = st.n
    g = cotangent(tangent(dA), "dA", st.shape(n, n), st.dtype, of="A", finite=False).reshape(st.B, n, n)
    dF = _apply(st, w, V, D, g, _TRI[uplo], _TRI[None], "funm_jvp", "dA")
    return F.reshape(st.shape(n, n)), dF.reshape(st.shape(n, n))


def _stateless(rule, w, V, X, name, f, df, uplo, opts):
    uplo = _uplo(uplo)
    fn = resolve(f, df)
    fr, w3, V3 = eig_frame(rule, w, V, [(name, X, 2)], hermitian=True)
    options(fr.dtype, **opts)
    n = fr.n
    x = cotan(X, name, fr.batch, (n, n), fr.dtype, of="F" if name == "dF" else "A")
    _, D = _differences(fn, w3, fr, rule)
    return fr, uplo, w3, V3, D, x


@uplo_keyword(transition=True)
@fill
def funm_pullback(w: ArrayLike, V: ArrayLike, dF: ArrayLike | None, f: ScalarFunction, *,
                  df: Derivative = None, UPLO: UPLOType = UNSET, **opts: Any) -> Array:
    """The funm pullback from the eigendecomposition of A (stateless): ``dA`` for a cotangent dF.

    Parameters
    ----------
    {{eigh_factors}}
    dF : array_like, shape (..., n, n) or None
        The cotangent of ``F = f(A)`` (None: zero); leading axes broadcast
        with the factors'.
    {{f}}
    {{UPLO_transition}}
    {{funm_opts}}

    Returns
    -------
    ndarray, shape (..., n, n)
        The cotangent of A, the stateless form of
        ``funm_vjp(A, f, UPLO=UPLO)[1]`` (``project=`` needs A: use
        :func:`funm_vjp`).

    Raises
    ------
    {{raises_funm_stateless}}

    Notes
    -----
    The Daleckii-Krein formula of :func:`funm_vjp`.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> w, V = np.linalg.eigh(np.diag([1.0, 2.0]))
    >>> dA = la.funm_pullback(w, V, np.eye(2), "exp", UPLO=None)
    >>> np.allclose(dA, np.diag(np.exp([1.0, 2.0])))
    True
    """
    rule = "funm_pullback"
    fr, uplo, w3, V3, D, g = _stateless(rule, w, V, dF, "dF", f, df, UPLO, opts)
    if g is None:
        return np.zeros(fr.shape(fr.n, fr.n), fr.dtype)
    out = _apply(fr, w3, V3, D, g, _TRI[None], _TRI[uplo], rule, "dF")
    return out.reshape(fr.shape(fr.n, fr.n))


@uplo_keyword(transition=True)
@fill
def funm_pushforward(w: ArrayLike, V: ArrayLike, dA: ArrayLike, f: ScalarFunction, *,
                     df: Derivative = None, UPLO: UPLOType = UNSET, **opts: Any) -> Array:
    """The funm tangent from the eigendecomposition of A (stateless): ``dF`` along ``dA``.

    Parameters
    ----------
    {{eigh_factors}}
    dA : array_like, shape (..., n, n)
        The tangent of A, read as ``UPLO`` says.
    {{f}}
    {{UPLO_transition}}
    {{funm_opts}}

    Returns
    -------
    ndarray, shape (..., n, n)
        ``dF``, the stateless form of ``funm_jvp(A, dA, f)[1]``.

    Raises
    ------
    {{raises_funm_stateless}}

    Notes
    -----
    The Daleckii-Krein formula of :func:`funm_jvp`.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> w, V = np.linalg.eigh(np.eye(2))
    >>> dF = la.funm_pushforward(w, V, np.eye(2), "exp", UPLO="L")
    >>> np.allclose(dF, np.e * np.eye(2))
    True
    """
    rule = "funm_pushforward"
    fr, uplo, w3, V3, D, g = _stateless(rule, w, V, tangent(dA), "dA", f, df, UPLO, opts)
    out = _apply(fr, w3, V3, D, g, _TRI[uplo], _TRI[None], rule, "dA")
    return out.reshape(fr.shape(fr.n, fr.n))
