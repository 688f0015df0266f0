"""Docstring fragments shared by the public functions (one source of truth).

A line ``{{name}}`` in a docstring is replaced by the fragment ``name``,
indented like the marker; :func:`fill` does it when the module is imported,
so ``help()`` and Sphinx autodoc show the full text.
"""

import re
from typing import Any, Callable, TypeVar

from ._divdiff import NAMES
from ._options import DEFAULT_TOL_EPS, MAX_ORDER
from .rules._values import VALUES_TOL

F = TypeVar("F", bound=Callable[..., Any])

_MODES = """\
- ``"strict"`` (default): the exact formula; DegeneracyError where the
  cotangent (tangent) needs the vectors of a pair closer than ``tol``, or
  a zero singular value where the rule divides by it.
- ``"exact"``: the exact formula with no checks (inf/nan at an exact
  degeneracy, as other AD systems return).
- ``"subspace"``: drops the coupling inside each degenerate block (right
  for a loss that sees the block only through its span); GaugeError if
  the cotangent rotates the vectors inside a block.
- ``"lorentz"``: regularised, ``1/x -> x / (x**2 + eps * scale**2)``.
- ``"taylor"``: ``1/(a - b) -> (1/a) sum_{k<order} (b/a)**k``, the
  power-iteration series (positive semi-definite spectra)."""

FRAGMENTS: dict[str, str] = {
    "A": """\
A : array_like or scipy.sparse matrix, shape (..., m, n)
    A matrix or a stack of them (leading axes are a batch). float32,
    float64, complex64 and complex128 are computed natively; integer and
    bool input is promoted to float64; sparse input is densified.""",
    "Ah": """\
A : array_like, shape (..., n, n)
    A Hermitian matrix or a stack of them, read as ``UPLO`` says.""",
    "Asq": """\
A : array_like, shape (..., n, n)
    A square matrix or a stack of them.""",
    "dA": """\
dA : array_like, shape (..., m, n)
    The tangent (direction) of A, same shape and dtype kind as A.""",
    "UPLO": """\
UPLO : {"L", "U", None}, default "L"
    Which triangle of A is read, as in ``numpy.linalg.eigh``: "L" (lower)
    or "U" (upper); the imaginary part of the diagonal is ignored and the
    cotangent lives on that triangle. None takes the Hermitian part
    ``(A + A^H) / 2`` and returns the Hermitian cotangent. The old
    spelling ``uplo=`` still works and warns (DeprecationWarning).""",
    "UPLO_transition": """\
UPLO : {"L", "U", None}, optional
    Which triangle of A is read, as in ``numpy.linalg.eigh``: "L" (lower)
    or "U" (upper), the cotangent then living on that triangle; None takes
    the Hermitian part and returns the Hermitian cotangent. The default
    becomes "L" (numpy.linalg.eigh's and eigh_vjp's) in linalgad 0.3; until
    then omitting it means None and warns (FutureWarning): pass it
    explicitly. ``uplo=`` is the deprecated spelling.""",
    "gauge": """\
gauge : {None, "canonical"}, default None
    None: the factors as LAPACK returns them. "canonical": each
    vector's entry of largest modulus is made real and positive (ties to
    the lowest index), so the result is a function of A that a
    phase-dependent loss may use (see :func:`gauge_fix`).""",
    "project": """\
project : str or None, default None
    The structure of the returned cotangent (:func:`linalgad.project`):
    None infers it (the real part for real A; the stored pattern, returned
    sparse, for scipy.sparse A); or one of "real", "complex", "symmetric",
    "hermitian", "lower", "upper", "diagonal", "pattern", "dense".""",
    "opts": """\
**opts
    The degeneracy and gauge options (keywords; any other name raises
    TypeError naming the options):

    - ``degeneracy`` (str, default ``"strict"``): what to do at a
      degenerate pair (two values closer than ``tol`` times the largest):

{modes}

    - ``tol`` (float, default ``{tol} * eps`` of the dtype): the degeneracy
      threshold, relative to the largest singular value or ``|eigenvalue|``
      of each matrix; a singular value below it counts as zero.
    - ``eps`` (float, default ``eps ** 0.75``): the Lorentzian width,
      relative to ``scale**2``.
    - ``order`` (int, default 16, at most {max_order}): the Taylor terms.
    - ``gauge_tol`` (float, default ``sqrt(eps)``): a gauge residual counts
      when larger than this times the projected cotangent (``numpy.inf``
      disables the gauge checks).""".replace("{modes}", re.sub("(?m)^", "      ", _MODES))
    .replace("{tol}", str(DEFAULT_TOL_EPS)).replace("{max_order}", f"{MAX_ORDER:,}"),
    "values_opts": """\
**opts
    ``degeneracy``, ``tol``, ``eps``, ``order``, ``gauge_tol`` as for the
    vector rules (``tol`` defaults to ``{tol} * eps`` here: values equal to
    working precision). The values have no ``1/gap``, so the modes mean:
    ``"strict"`` (default) raises DegeneracyError where the sorted values
    have a kink along the tangent (a block equal to working precision that
    the tangent splits, a zero singular value it moves off zero);
    ``"subspace"`` gives each such block the mean of its derivatives (the
    derivative of any symmetric function of the block); ``"exact"``,
    ``"lorentz"`` and ``"taylor"`` return the diagonal of the projected
    tangent as it comes (what PyTorch and JAX return).""".replace("{tol}", str(VALUES_TOL)),
    "zero_opts": """\
**opts
    ``degeneracy``, ``tol``, ``eps``, ``order``, ``gauge_tol``, as for
    :func:`svd_vjp`. The rule forms only sums of singular values and
    divided differences, never ``1/gap``, so the options matter only at a
    zero singular value (rank deficiency), where ``"strict"`` raises
    DegeneracyError, ``"lorentz"`` regularises and ``"exact"`` returns
    inf/nan.""",
    "funm_opts": """\
**opts
    ``degeneracy``, ``tol``, ``eps``, ``order``, ``gauge_tol``, as for
    every rule (validated: an unknown name or mode raises). The
    Daleckii-Krein formula has no ``1/gap`` and F has no gauge, so no value
    changes the result: the rule is exact at any degeneracy.""",
    "f": f"""\
f : str, float or callable
    The scalar function: one of {", ".join(f'"{n}"' for n in NAMES)} (``inv``
    is 1/x), a real power given as a number (``0.5`` is the square root),
    or a callable on a float64 array of eigenvalues, with its derivative
    ``df``. ``log``, ``sqrt`` and negative powers need positive values.
df : callable, optional
    The derivative of a callable ``f`` (vectorised like it); only with a
    callable.""",
    "g": f"""\
g : str, float or callable
    The function of the singular values: one of
    {", ".join(f'"{n}"' for n in NAMES)}, a real power given as a number,
    or a callable on a float64 array of singular values with its
    derivative ``dg``.
dg : callable, optional
    The derivative of a callable ``g``; only with a callable.""",
    "svd_factors": """\
U : array_like, shape (..., m, k)
    Left singular vectors of A: the thin SVD, k = min(m, n), as
    ``numpy.linalg.svd(A, full_matrices=False)`` returns them.
S : array_like, shape (..., k)
    Singular values, descending.
Vh : array_like, shape (..., k, n)
    Right singular vectors, conjugate-transposed.""",
    "eigh_factors": """\
w : array_like, shape (..., n)
    Eigenvalues, ascending, as ``numpy.linalg.eigh`` returns them.
V : array_like, shape (..., n, n)
    Eigenvectors (columns).""",
    "eig_factors": """\
w : array_like, shape (..., n)
    Eigenvalues as ``numpy.linalg.eig`` returns them.
V : array_like, shape (..., n, n)
    Unit-norm eigenvectors (columns).""",
    "normalization": """\
normalization : {"lapack", "norm"}, default "lapack"
    "lapack": differentiate ``numpy.linalg.eig``'s own convention (each
    column's entry of largest modulus real), so every loss of (w, V) has a
    derivative. "norm": unit norm only; the phase of each column is a
    gauge, and a loss that sees it raises GaugeError.""",
    "raises_rule": """\
DegeneracyError
    (``degeneracy="strict"``) where the formula would divide by a gap or
    a singular value below ``tol``; the message names the matrix, the pair
    and what to do instead.
GaugeError
    Where the cotangent depends on the arbitrary phase or basis of the
    vectors (see :func:`gauge_report`).
ValueError
    For NaN/Inf in an input or cotangent, a cotangent of the wrong shape,
    or an unknown option value.
TypeError
    For an unknown option, or an unsupported dtype.""",
    "raises_input": """\
ValueError
    For NaN/Inf in A, or a non-square A where a square one is needed.
TypeError
    For an unsupported dtype (float16, longdouble, non-numeric).""",
    "raises_funm_stateless": """\
ValueError
    Outside the domain of ``f``, or for factors that do not fit.
TypeError
    For an unknown ``f`` or option.""",
    "raises_stateless": """\
DegeneracyError
    (``degeneracy="strict"``) where the formula would divide by a gap or
    a value below ``tol``.
GaugeError
    Where the cotangent depends on the arbitrary phase of the vectors.
ValueError
    For factors whose shapes do not fit, or that do not broadcast with the
    cotangents, or NaN/Inf.
TypeError
    For an unknown option, or mismatched dtypes.""",
    # the framework adapters' (linalgad.torch, .autograd, .jax) shared sections
    "adapter_opts": """\
**opts
    The degeneracy options of linalgad's rules: ``degeneracy``, ``tol``,
    ``eps``, ``order``, ``gauge_tol`` (see linalgad's API reference).""",
    "adapter_degeneracy": """\
linalgad.DegeneracyError
    In a derivative, at a degeneracy the loss does not allow in strict
    mode (the message names the option that resolves it).""",
    "adapter_gauge": """\
linalgad.GaugeError
    In a derivative, when the loss depends on the arbitrary phase of a
    vector (or on the basis of a degenerate subspace).""",
    "sign": """\
Complex convention: for a real loss L of complex A the cotangent is
``dL/dRe(A) + 1j * dL/dIm(A)`` (PyTorch's; ``jax.grad`` returns its
conjugate).""",
}


def expand(doc: str, fragments: dict = FRAGMENTS) -> str:
    """``doc`` with each ``{{name}}`` line replaced by its fragment, indented."""
    def sub(m: "re.Match[str]") -> str:
        indent, name = m.group(1), m.group(2)
        return re.sub("(?m)^(?=.)", indent, fragments[name])
    return re.sub(r"(?m)^([ \t]*)\{\{(\w+)\}\}$", sub, doc)


def fill(fn: F) -> F:
    """Decorator: expand the fragments of ``fn.__doc__`` (see :func:`expand`)."""
    return fill_from({})(fn)


def fill_from(fragments: dict) -> Callable[[F], F]:
    """Decorator: :func:`fill` with a module's own ``fragments`` too (they
    win over FRAGMENTS on a shared name)."""
    merged = {**FRAGMENTS, **fragments}

    def deco(fn: F) -> F:
        if fn.__doc__:
            fn.__doc__ = expand(fn.__doc__, merged)
        return fn
    return deco
