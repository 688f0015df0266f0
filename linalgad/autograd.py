"""linalgad's rules inside autograd: drop-in ``svd``, ``eigh``, ``eig``.

``from linalgad.autograd import svd`` replaces ``autograd.numpy.linalg.svd``
(same NumPy signature, plus the degeneracy options as keyword arguments:
``degeneracy=``, ``tol=``, ``eps=``, ``order=``, ``gauge_tol=``); reverse mode
(``autograd.grad``) and forward mode (``autograd.make_jvp``) run linalgad's
rules. See docs/autograd.md.

Each decomposition is an ``autograd.extend.primitive`` with ``defvjp`` and
``defjvp``; its pullback and pushforward are primitives too, whose own
derivatives raise (second order is not implemented, and says so). autograd's
complex convention is the conjugate of linalgad's (``grad(|z|**2) = 2
conj(z)``): the conversion happens here, never for the user.
"""

import numpy as np
from autograd.extend import defjvp, defjvp_argnum, defvjp, defvjp_argnum, primitive

from ._docs import fill_from
from ._options import OPTION_NAMES, options
from .rules import eig as _eig, eigh as _eigh, svd as _svd

__all__ = ["svd", "eigh", "eig"]

# the Raises lines the public functions share ({{name}} lines in their docstrings)
_fill = fill_from({"autograd_raises": """\
TypeError
    An option is unknown.
NotImplementedError
    A second-order derivative is asked for."""})


def _opts(a, opts, **extra):
    """The options, validated now, as a hashable tuple of (name, value)."""
    options(np.float64, **opts)     # names and values (a may be an autograd box here)
    given = [(k, opts[k]) for k in OPTION_NAMES if opts.get(k) is not None]
    return tuple(given + [(k, v) for k, v in extra.items() if v is not None])


def _given(g, conj=True):
    """A cotangent autograd hands over, in linalgad's convention; None when it
    is all zeros (autograd passes zeros for unused outputs; None skips work)."""
    if g is None or not np.any(g):
        return None
    return np.conj(g) if conj and np.iscomplexobj(g) else g


def _first_order_only(prim):
    """The derivatives of a pullback or pushforward: a clear error."""
    def raising(*args):
        raise NotImplementedError(
            "linalgad.autograd: second-order derivatives are not implemented (the derivative "
            "of a linalgad pullback or pushforward: grad of grad, hessians); the first-order "
            "rules are exact but not themselves differentiable")

    defvjp_argnum(prim, lambda argnum, ans, args, kwargs: raising)
    defjvp_argnum(prim, lambda argnum, g, ans, args, kwargs: raising())
    return prim


# ---------------------------------------------------------------- SVD

@primitive
def _svd_p(a, full_matrices, opts):
    return tuple(_svd.svd(a, full_matrices=full_matrices))


@primitive
def _svdvals_p(a, opts):
    # the rules need the vectors: the derivative makers factor a again
    return _svd.svdvals(a)


@_first_order_only
@primitive
def _svd_pullback(U, S, Vh, gU, gS, gVh, opts):
    dA = _svd.svd_pullback(U, S, Vh, _given(gU), _given(gS), _given(gVh), **dict(opts))
    return np.conj(dA)


@_first_order_only
@primitive
def _svd_pushforward(U, S, Vh, dA, opts):
    return tuple(_svd.svd_pushforward(U, S, Vh, dA, **dict(opts)))


@_first_order_only
@primitive
def _svdvals_pushforward(U, S, Vh, dA, opts):
    return _svd.svdvals_pushforward(U, S, Vh, dA, **dict(opts))


defvjp(_svd_p, lambda ans, a, full, opts: lambda g: _svd_pullback(*ans, *g, opts))
defjvp(_svd_p, lambda g, ans, a, full, opts: _svd_pushforward(*ans, g, opts))


# the factors, through the primitive (a may be boxed by an outer derivative)
defvjp(_svdvals_p, lambda ans, a, opts: (lambda f: lambda g: _svd_pullback(
    f[0], f[1], f[2], None, g, None, opts))(_svd_p(a, False, opts)))
defjvp(_svdvals_p, lambda g, ans, a, opts: _svdvals_pushforward(*_svd_p(a, False, opts), g, opts))


@_fill
def svd(a, full_matrices=True, compute_uv=True, **opts):
    """``numpy.linalg.svd`` with linalgad's rules, for ``autograd``.

    Parameters
    ----------
    a : array_like
        A real or complex matrix (..., m, n); leading axes are a batch.
    full_matrices : bool, optional
        True (default, NumPy's): U is m x m and Vh n x n (the extra columns
        are differentiated too; a loss that depends on their basis raises
        GaugeError). False: the thin factors.
    compute_uv : bool, optional
        False: only S, whose forward mode forms the values' tangent (no
        vectors, no 1/gap).
    {{adapter_opts}}

    Returns
    -------
    tuple of ndarray or ndarray
        ``(U, S, Vh)``, S descending; or S alone for ``compute_uv=False``.

    Raises
    ------
    {{autograd_raises}}
    {{adapter_degeneracy}}
    {{adapter_gauge}}

    Examples
    --------
    >>> import autograd.numpy as anp
    >>> from autograd import grad
    >>> from linalgad.autograd import svd
    >>> grad(lambda A: anp.sum(svd(A, compute_uv=False)))(anp.diag([3.0, 1.0]))
    array([[1., 0.],
           [0., 1.]])
    """
    kw = _opts(a, opts)
    if not compute_uv:
        return _svdvals_p(a, kw)
    return _svd_p(a, bool(full_matrices), kw)


# ---------------------------------------------------------------- eigh

@primitive
def _eigh_p(a, uplo, opts):
    return tuple(_eigh.eigh(a, UPLO=uplo))


@_first_order_only
@primitive
def _eigh_pullback(w, V, gw, gV, uplo, opts):
    return np.conj(_eigh.eigh_pullback(w, V, _given(gw), _given(gV), UPLO=uplo, **dict(opts)))


@_first_order_only
@primitive
def _eigh_pushforward(w, V, dA, uplo, opts):
    return tuple(_eigh.eigh_pushforward(w, V, dA, UPLO=uplo, **dict(opts)))


defvjp(_eigh_p, lambda ans, a, uplo, opts: lambda g: _eigh_pullback(*ans, *g, uplo, opts))
defjvp(_eigh_p, lambda g, ans, a, uplo, opts: _eigh_pushforward(*ans, g, uplo, opts))


@_fill
def eigh(a, UPLO="L", **opts):
    """``numpy.linalg.eigh`` with linalgad's rules, for ``autograd``.

    Parameters
    ----------
    a : array_like
        A square matrix (..., n, n), real symmetric or complex Hermitian.
    UPLO : {"L", "U", None}, optional
        "L" (default, NumPy's and autograd's) or "U": only that triangle is
        read, and the gradient lives on it (as in autograd's own rule);
        None: the Hermitian part of a.
    {{adapter_opts}}

    Returns
    -------
    tuple of ndarray
        ``(eigenvalues, eigenvectors)``: the eigenvalues ascending, the
        eigenvectors as columns.

    Raises
    ------
    ValueError
        UPLO is not "L", "U" or None.
    {{autograd_raises}}
    {{adapter_degeneracy}}
    {{adapter_gauge}}

    Examples
    --------
    A loss symmetric in repeated eigenvalues has a gradient at them:

    >>> import autograd.numpy as anp
    >>> from autograd import grad
    >>> from linalgad.autograd import eigh
    >>> grad(lambda A: anp.sum(eigh(A)[0] ** 2))(anp.eye(2))
    array([[2., 0.],
           [0., 2.]])
    """
    return _eigh_p(a, _eigh._uplo(UPLO), _opts(a, opts))


# ---------------------------------------------------------------- eig

@primitive
def _eig_p(a, opts):
    return tuple(_eig.eig(a))


@_first_order_only
@primitive
def _eig_pullback(w, V, gw, gV, real_input, opts):
    return np.conj(_eig.eig_pullback(w, V, _given(gw), _given(gV), real_input=real_input,
                                     **dict(opts)))


@_first_order_only
@primitive
def _eig_pushforward(w, V, dA, opts):
    return tuple(_eig.eig_pushforward(w, V, dA, **dict(opts)))


defvjp(_eig_p, lambda ans, a, opts: lambda g: _eig_pullback(
    *ans, *g, not np.iscomplexobj(a), opts))
defjvp(_eig_p, lambda g, ans, a, opts: _eig_pushforward(*ans, g, opts))


@_fill
def eig(a, *, normalization="lapack", cond_max=None, **opts):
    """``numpy.linalg.eig`` with linalgad's rules, for ``autograd``.

    Parameters
    ----------
    a : array_like
        A square matrix (..., n, n).
    normalization : {"lapack", "norm"}, optional
        "lapack" (default): unit columns with LAPACK's phase, the convention
        the rule differentiates; "norm": unit columns, the phase a gauge.
    cond_max : float, optional
        The largest eigenvector condition number the rules accept
        (None: linalgad's default, which also looks at the eigenvalue
        pairs; see ``linalgad.eig_vjp``).
    {{adapter_opts}}

    Returns
    -------
    tuple of ndarray
        ``(eigenvalues, eigenvectors)`` as NumPy returns them (complex when
        an eigenvalue is). The gradient of a real a is real.

    Raises
    ------
    ValueError
        normalization is not "lapack" or "norm".
    {{autograd_raises}}
    {{adapter_degeneracy}}
    {{adapter_gauge}}

    Examples
    --------
    >>> import autograd.numpy as anp
    >>> from autograd import grad
    >>> from linalgad.autograd import eig
    >>> grad(lambda A: anp.real(eig(A)[0][0]))(anp.array([[2.0, 1.0], [0.0, 1.0]]))
    array([[1., 0.],
           [1., 0.]])
    """
    _eig._normalization(normalization)
    return _eig_p(a, _opts(a, opts, normalization=normalization, cond_max=cond_max))
