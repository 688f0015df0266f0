"""Deprecated spellings, kept working with a warning.

Every message starts with "linalgad" so that a test suite can turn exactly
these warnings into errors (``filterwarnings = error:linalgad:DeprecationWarning``).
"""

import functools
import warnings
from typing import Any, Callable, TypeVar

__all__ = ["UNSET", "deprecate", "uplo_keyword"]

F = TypeVar("F", bound=Callable[..., Any])


class _Unset:
    """The default of an argument whose default is changing: omitted."""

    def __repr__(self) -> str:
        return "<unset>"


UNSET: Any = _Unset()


def deprecate(message: str, category: type = DeprecationWarning, stacklevel: int = 3) -> None:
    warnings.warn(f"linalgad.{message}", category, stacklevel=stacklevel)


def uplo_keyword(transition: bool = False) -> Callable[[F], F]:
    """Accept the old keyword ``uplo=`` as ``UPLO=`` with a DeprecationWarning.

    ``transition``: the function's default was ``None`` (the Hermitian part)
    before 0.2 and becomes ``"L"``, numpy.linalg.eigh's; an omitted ``UPLO``
    still means None and warns (FutureWarning)."""
    def wrap(fn: F) -> F:
        name = fn.__name__

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            if "uplo" in kwargs:
                if "UPLO" in kwargs:
                    raise TypeError(f"{name}() got both UPLO= and uplo= (its deprecated spelling)")
                deprecate(f"{name}: uplo= is deprecated; use UPLO= (numpy.linalg.eigh's spelling)")
                kwargs["UPLO"] = kwargs.pop("uplo")
            if transition and kwargs.get("UPLO", UNSET) is UNSET:
                deprecate(f"{name}: the default of UPLO changes from None (the Hermitian part) to "
                          f"'L' (the lower triangle, numpy.linalg.eigh's default) in linalgad 0.3; "
                          f"pass UPLO=None to keep the current behaviour or UPLO='L' for the new one",
                          FutureWarning)
                kwargs["UPLO"] = None
            return fn(*args, **kwargs)

        return call  # type: ignore[return-value]
    return wrap
