"""Argument handling of the stateless rules (``svd_pullback(U, S, Vh, dU, ...)``).

They take the factors of a decomposition instead of its input, so they
validate those: shapes that fit together, a supported dtype, finite
entries. Leading axes of factors and cotangents broadcast against each other
as in a NumPy gufunc; the result has the broadcast batch shape. The factors
are trusted to be a decomposition (orthonormality is not checked: that
would cost as much as the rule).
"""

import math

import numpy as np

from .. import _core
from .._validate import _working_dtype, cotangent

__all__ = ["Frame", "batch_shape", "factor", "cotan", "svd_frame", "eig_frame"]


class Frame:
    """The input A the factors came from, as the rules see it: batch shape,
    size and dtype (the duck type of ``_validate.Stack`` that raise_core and
    finish_cotangent read)."""

    __slots__ = ("batch", "B", "m", "n", "dtype", "sparse")

    def __init__(self, batch, m, n, dtype):
        self.batch = tuple(batch)
        self.B = _size(self.batch)
        self.m, self.n = int(m), int(n)
        self.dtype = np.dtype(dtype)
        self.sparse = None

    def shape(self, *tail):
        return self.batch + tuple(tail)


def _shape(rule, name, x, core):
    s = np.shape(x)
    if len(s) < core:
        raise ValueError(f"{rule}: {name} must have at least {core} dimension(s), got shape {s}")
    return s


def batch_shape(rule, items):
    """The broadcast batch shape of ``items``, (name, array or None, number of
    core axes) triples; ValueError naming the arrays when they do not broadcast."""
    named = [(name, _shape(rule, name, x, core), core) for name, x, core in items if x is not None]
    batches = [s[:len(s) - core] for _, s, core in named]
    if all(b == batches[0] for b in batches):
        return batches[0]       # the common case, without broadcast_shapes' cost
    try:
        return np.broadcast_shapes(*batches)
    except ValueError:
        shapes = ", ".join(f"{name} {s}" for name, s, _ in named)
        raise ValueError(f"{rule}: the leading (batch) axes do not broadcast: {shapes}") from None


_NATIVE = frozenset(map(np.dtype, (np.float32, np.float64, np.complex64, np.complex128)))


def dtype_of(rule, name, x):
    """The working dtype of a factor (float32/64, complex64/128; integers promoted)."""
    if type(x) is np.ndarray and x.dtype in _NATIVE:
        return x.dtype
    return _working_dtype(np.asarray(x), f"{rule}: {name}")


def factor(rule, name, x, batch, core, dtype):
    """A factor as the core reads it: (B,) + core, C-contiguous, ``dtype``,
    finite. ``core`` is the shape it must have after the batch axes."""
    shape = tuple(batch) + tuple(core)
    a = x
    # a factor that is already what the core reads (the common case) is not copied
    if not (type(x) is np.ndarray and x.dtype == dtype and x.shape == shape
            and x.flags.c_contiguous):
        a = np.asarray(x)
        if a.shape[a.ndim - len(core):] != tuple(core):
            raise ValueError(f"{rule}: {name} has shape {a.shape}, expected (..., "
                             f"{', '.join(map(str, core))})")
        if a.dtype.kind == "c" and np.dtype(dtype).kind != "c":
            raise TypeError(f"{rule}: {name} is complex but must be real ({np.dtype(dtype)})")
        a = np.ascontiguousarray(np.broadcast_to(a, shape), dtype=dtype)
    if a.size and not _core.all_finite(a):
        raise ValueError(f"{rule}: {name} contains NaN or Inf")
    return a.reshape((_size(batch),) + tuple(core))


def _size(batch):
    return math.prod(batch)


def cotan(x, name, batch, core, dtype, *, of, finite=False):
    """A cotangent/tangent broadcast to ``batch + core`` and validated like the
    closures' (``_validate.cotangent``); None stays None. ``finite=False``
    leaves the inf/nan check to the core entry point that reads it."""
    if x is None:
        return None
    shape = tuple(batch) + tuple(core)
    s = np.shape(x)
    if s != shape and s[len(s) - len(core):] == tuple(core):
        x = np.broadcast_to(np.asarray(x), shape)
    return cotangent(x, name, shape, dtype, of=of, finite=finite).reshape((_size(batch),) + tuple(core))


def svd_frame(rule, U, S, Vh, extra=(), *, full=False):
    """Validate SVD factors U (..., m, k), S (..., k), Vh (..., k, n),
    k = min(m, n), broadcast with the (name, array, core axes) ``extra``;
    with ``full``, U (..., m, m) and Vh (..., n, n) (full_matrices=True) are
    accepted too. Returns (Frame, U, s (float64), Vh) as (B, ...) stacks."""
    m, ku = _shape(rule, "U", U, 2)[-2:]
    kv, n = _shape(rule, "Vh", Vh, 2)[-2:]
    k = _shape(rule, "S", S, 1)[-1]
    thin = ku == kv == k == min(m, n)
    if not (thin or (full and k == min(m, n) and (ku, kv) == (m, n))):
        what = " or the full ones, U (..., m, m), Vh (..., n, n)," if full else ""
        raise ValueError(
            f"{rule}: expected the thin SVD factors U (..., m, k), S (..., k), Vh (..., k, n)"
            f"{what} with k = min(m, n); got U {np.shape(U)}, S {np.shape(S)}, Vh {np.shape(Vh)}"
            f" (for a truncated SVD use svd_vjp/svd_jvp on A with k=...)")
    dt = dtype_of(rule, "U", U)
    if dtype_of(rule, "Vh", Vh) != dt:
        raise TypeError(f"{rule}: U and Vh must have the same dtype, got {np.asarray(U).dtype} "
                        f"and {np.asarray(Vh).dtype}")
    batch = batch_shape(rule, [("U", U, 2), ("S", S, 1), ("Vh", Vh, 2)] + list(extra))
    fr = Frame(batch, m, n, dt)
    return (fr, factor(rule, "U", U, batch, (m, ku), dt),
            factor(rule, "S", S, batch, (k,), np.float64),
            factor(rule, "Vh", Vh, batch, (kv, n), dt))


def eig_frame(rule, w, V, extra=(), *, hermitian):
    """Validate eigen-factors w (..., n), V (..., n, n) (w real for
    ``hermitian``), broadcast with ``extra``. Returns (Frame, w, V) as (B, ...)
    stacks; w is float64 (hermitian) or the working dtype of V's eigenvalues."""
    n, n2 = _shape(rule, "V", V, 2)[-2:]
    if n != n2 or _shape(rule, "w", w, 1)[-1] != n:
        raise ValueError(f"{rule}: expected eigenvalues w (..., n) and eigenvectors V (..., n, n), "
                         f"got w {np.shape(w)}, V {np.shape(V)}")
    dt = dtype_of(rule, "V", V)
    batch = batch_shape(rule, [("w", w, 1), ("V", V, 2)] + list(extra))
    fr = Frame(batch, n, n, dt)
    wdt = np.float64 if hermitian else (np.complex128 if dt.kind == "c" else np.float64)
    return fr, factor(rule, "w", w, batch, (n,), wdt), factor(rule, "V", V, batch, (n, n), dt)
