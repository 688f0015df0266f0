"""Input checking and layout normalisation, done once at the API boundary.

Every rule calls ``matrix_stack`` on its input and ``cotangent`` on each
cotangent or tangent: after that the core sees C-contiguous, aligned,
native-endian stacks ``(B, m, n)`` of float32/float64/complex64/complex128.
Copies happen only when the caller's array is not already like that; the
caller's arrays are never written to.
"""

import numpy as np

from . import _core

__all__ = ["Stack", "matrix_stack", "cotangent", "tangent", "real_dtype", "is_sparse"]

_NATIVE = (np.float32, np.float64, np.complex64, np.complex128)


def is_sparse(A):
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover
        return False
    return sp.issparse(A)


def real_dtype(dtype):
    return np.empty(0, dtype).real.dtype


def _working_dtype(a, name):
    dt = a.dtype
    if dt.kind in "biu":
        return np.dtype(np.float64)  # integers and bools: promoted, as numpy.linalg does
    if dt.kind in "fc":
        for t in _NATIVE:
            if dt == np.dtype(t).newbyteorder("=") or dt.newbyteorder("=") == np.dtype(t):
                return np.dtype(t)
        raise TypeError(
            f"{name} has dtype {dt}, which linalgad does not support; use float32, float64, "
            f"complex64 or complex128"
        )
    raise TypeError(f"{name} must be a numeric array, got dtype {dt}")


class Stack:
    """A validated input: ``data`` is (B, m, n) C-contiguous in ``dtype``;
    ``batch`` the leading shape; ``sparse`` the original scipy.sparse input."""

    __slots__ = ("data", "batch", "dtype", "sparse", "m", "n")

    def __init__(self, data, batch, sparse=None):
        self.data = data
        self.batch = batch
        self.dtype = data.dtype
        self.sparse = sparse
        self.m, self.n = data.shape[1], data.shape[2]

    @property
    def B(self):
        return self.data.shape[0]

    def shape(self, *tail):
        return self.batch + tuple(tail)


def matrix_stack(A, name="A", *, square=False, check_finite=True):
    """Validate A (..., m, n) and return a Stack."""
    sparse = None
    if is_sparse(A):
        sparse = A
        A = A.toarray()
    a = np.asarray(A)
    if a.ndim < 2:
        raise ValueError(f"{name} must have at least 2 dimensions (..., m, n), got shape {a.shape}")
    dt = _working_dtype(a, name)
    if square and a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name} must be square in its last two axes, got shape {a.shape}")
    batch = a.shape[:-2]
    m, n = a.shape[-2:]
    data = _native(a, dt).reshape((int(np.prod(batch, dtype=np.int64)), m, n))
    if check_finite and data.size and not _core.all_finite(data):
        raise ValueError(f"{name} contains NaN or Inf")
    return Stack(data, batch, sparse)


def tangent(dA):
    """The tangent of a forward-mode rule, which is required (a cotangent
    may be None, meaning zero; a JVP without a direction has no meaning)."""
    if dA is None:
        raise TypeError("the tangent dA is required (the direction to differentiate along, an "
                        "array shaped like A); pass np.zeros_like(A) for a zero tangent")
    return dA


def cotangent(x, name, shape, dtype, *, of, finite=True):
    """Validate a cotangent/tangent ``x`` of an array of ``shape`` (a tuple)
    and ``dtype`` (``of`` names that array in messages). None stays None.
    Returns a C-contiguous array of exactly that shape and dtype.
    ``finite=False`` leaves the inf/nan check to the core entry point that
    reads ``x`` next (it checks while loading, without another pass)."""
    if x is None:
        return None
    if (type(x) is np.ndarray and x.dtype == dtype and x.shape == shape and x.flags.c_contiguous
            and x.flags.aligned):
        out = x   # fast path: already what the core needs (dtype equality implies native order)
    else:
        out = _convert(x, name, shape, dtype, of)
    if finite and out.size and not _core.all_finite(out):
        raise ValueError(f"{name} contains NaN or Inf")
    return out


def _convert(x, name, shape, dtype, of):
    if is_sparse(x):
        x = x.toarray()
    a = np.asarray(x)
    if a.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be a numeric array, got dtype {a.dtype}")
    if a.dtype.kind == "c" and np.dtype(dtype).kind != "c":
        raise TypeError(
            f"{name} is complex but {of} is real: the cotangent of a real array is real "
            f"(take the real part of your cotangent if that is what you mean)"
        )
    if a.shape != tuple(shape):
        raise ValueError(f"{name} has shape {a.shape}, expected {tuple(shape)} (the shape of {of})")
    return _native(a, dtype)


def _native(a, dtype):
    """a as a C-contiguous, aligned, native-endian array of dtype (the
    layout the core reads), copied only when it is not one already.
    (ascontiguousarray keeps an unaligned buffer, e.g. one sliced from a
    byte stream.)"""
    return np.require(a, dtype=np.dtype(dtype).newbyteorder("="), requirements=("C", "A"))
