"""Result types, with the field names of ``numpy.linalg``'s.

``SVDResult(U, S, Vh)``, ``EighResult(eigenvalues, eigenvectors)`` and
``EigResult(eigenvalues, eigenvectors)`` are named tuples, so
``w, V = eigh(A)`` keeps working. Before 0.2 they were called ``SVD``,
``Eigh`` and ``Eig`` with fields ``w`` and ``V``: those names still work and
warn (``DeprecationWarning``).
"""

from typing import NamedTuple

from numpy.typing import NDArray

from ._compat import deprecate

__all__ = ["SVDResult", "EighResult", "EigResult", "PolarResult", "deprecated_alias"]


def _warn_field(cls, old, new):
    deprecate(f"{cls}.{old} is deprecated; use .{new} (the name numpy.linalg uses)", stacklevel=4)


class SVDResult(NamedTuple):
    """``A = U @ (S[..., None] * Vh)``: left vectors, singular values
    (descending), right vectors (conjugate-transposed), as
    ``numpy.linalg.svd`` returns them."""

    U: NDArray
    S: NDArray
    Vh: NDArray


class EighResult(NamedTuple):
    """``A = V @ diag(w) @ V^H``: eigenvalues (ascending, real) and
    eigenvectors (columns), as ``numpy.linalg.eigh`` returns them."""

    eigenvalues: NDArray
    eigenvectors: NDArray

    @property
    def w(self) -> NDArray:
        """Deprecated alias of ``eigenvalues``."""
        _warn_field("EighResult", "w", "eigenvalues")
        return self.eigenvalues

    @property
    def V(self) -> NDArray:
        """Deprecated alias of ``eigenvectors``."""
        _warn_field("EighResult", "V", "eigenvectors")
        return self.eigenvectors


class EigResult(NamedTuple):
    """``A @ V = V @ diag(w)``: eigenvalues and unit-norm eigenvectors
    (columns), as ``numpy.linalg.eig`` returns them."""

    eigenvalues: NDArray
    eigenvectors: NDArray

    @property
    def w(self) -> NDArray:
        """Deprecated alias of ``eigenvalues``."""
        _warn_field("EigResult", "w", "eigenvalues")
        return self.eigenvalues

    @property
    def V(self) -> NDArray:
        """Deprecated alias of ``eigenvectors``."""
        _warn_field("EigResult", "V", "eigenvectors")
        return self.eigenvectors


class PolarResult(NamedTuple):
    """``A = Q @ P``: Q with orthonormal columns (rows for a wide A), P
    Hermitian positive semi-definite (n x n)."""

    Q: NDArray
    P: NDArray


# old name -> new name, for the module-level __getattr__ of linalgad and its rule modules
_RENAMED = {"SVD": "SVDResult", "Eigh": "EighResult", "Eig": "EigResult", "Polar": "PolarResult"}


def deprecated_alias(name, namespace):
    """The object an old result-type name stands for, with a DeprecationWarning;
    AttributeError (for ``__getattr__``) when ``name`` is no old name."""
    new = _RENAMED.get(name)
    if new is None or new not in namespace:
        raise AttributeError(name)
    deprecate(f"{name} is deprecated; use linalgad.{new} (numpy.linalg's name)", stacklevel=4)
    return namespace[new]
