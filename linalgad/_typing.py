"""Type aliases of the public API (for annotations and the docs)."""

from typing import Any, Callable, Literal, Optional, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["ArrayLike", "NDArray", "Array", "Mode", "UPLOType", "Gauge", "Structure",
           "ScalarFunction", "Derivative", "Pullback"]

Array = NDArray[Any]
#: degeneracy modes (``degeneracy=``)
Mode = Literal["strict", "exact", "subspace", "lorentz", "taylor"]
#: which triangle eigh reads: numpy.linalg.eigh's "L"/"U", or None for the Hermitian part
UPLOType = Optional[Literal["L", "U", "l", "u"]]
#: ``gauge=``: None (as the solver returns them) or "canonical"
Gauge = Optional[Literal["canonical"]]
#: ``project=`` / ``structure=``
Structure = Optional[Literal["real", "complex", "symmetric", "hermitian", "lower", "upper",
                             "diagonal", "pattern", "dense"]]
#: ``f``/``g`` of funm/svfunm: a name, a real power, or a callable on float64 values
ScalarFunction = Union[Literal["exp", "log", "sqrt", "abs", "inv"], float,
                       Callable[[NDArray[np.float64]], ArrayLike]]
Derivative = Optional[Callable[[NDArray[np.float64]], ArrayLike]]
#: a pullback: cotangents of the outputs -> cotangent of A
Pullback = Callable[..., Any]
