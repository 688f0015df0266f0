"""The rules on dask arrays: stacks (..., m, n) chunked along the batch axes.

    import linalgad.dask as lad
    res, pullback = lad.svd_vjp(A)        # A a dask.array; res lazy (an SVD of dask arrays)
    dA = pullback(dU, None, dVh)          # lazy, chunked like A
    dask.compute(res.S, dA)               # runs chunk by chunk (threads, processes, a cluster)

Every chunk is a stack handed to the in-memory rule (linalgad.svd_vjp, ...),
so the math, options (``k=``, ``uplo=``, ``degeneracy=``, ...) and errors are
those of the in-memory rules; an error names the matrix by its index inside
its chunk. The matrix axes must be whole in each chunk: chunked ones are
rechunked to one chunk (matrices are small; the batch chunks set the memory).
A lazy graph cannot hold a chunk's pullback closure, so each chunk of dA
recomputes its chunk's decomposition and then pulls back: the cost of dA
alone is that of the in-memory ``rule_vjp(A)`` plus its pullback (the
decomposition is deterministic: the factors match ``res`` exactly).

Forward mode: ``res, tan = lad.svd_jvp(A, dA)``. Rules: svd, eigh, eig, polar.
Importing linalgad does not import dask; ``linalgad.dask`` does.
"""

import dask.array as da
import numpy as np

from .rules.eig import eig_jvp as _eig_jvp, eig_vjp as _eig_vjp
from .rules.eigh import eigh_jvp as _eigh_jvp, eigh_vjp as _eigh_vjp
from .rules.polar import polar_jvp as _polar_jvp, polar_vjp as _polar_vjp
from .rules.svd import svd_jvp as _svd_jvp, svd_vjp as _svd_vjp

__all__ = ["svd_vjp", "svd_jvp", "eigh_vjp", "eigh_jvp", "eig_vjp", "eig_jvp",
           "polar_vjp", "polar_jvp"]


def _as_stack(A, name="A"):
    if not isinstance(A, da.Array):
        raise TypeError(f"{name} must be a dask.array.Array (use the linalgad rules for NumPy "
                        f"arrays), got {type(A).__name__}")
    if A.ndim < 2:
        raise ValueError(f"{name} must have at least 2 dimensions (..., m, n), got shape {A.shape}")
    if any(np.isnan(c) for c in A.shape):
        raise ValueError(f"{name} has unknown chunk sizes; call {name}.compute_chunk_sizes() first")
    if len(A.chunks[-1]) > 1 or len(A.chunks[-2]) > 1:
        A = A.rechunk({A.ndim - 2: -1, A.ndim - 1: -1})
    return A


def _probe(vjp, A, kw):
    """The in-memory rule on one seeded matrix of A's shape and dtype: the
    result's type, core shapes and dtypes (the lazy graph needs them)."""
    m, n = A.shape[-2:]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((m, n))
    if np.dtype(A.dtype).kind == "c":
        X = X + 1j * rng.standard_normal((m, n))
    res, pullback = vjp(X.astype(A.dtype), **kw)
    return res, pullback()


def _meta(res):
    """Empty arrays of each output's dtype (dask's meta: no inference call)."""
    return tuple(np.empty((0,) * np.ndim(x), np.asarray(x).dtype) for x in res)


def _core_sig(shapes, tag):
    return ",".join("(" + ",".join(f"{tag}{i}_{a}" for a in range(len(s))) + ")"
                    for i, s in enumerate(shapes))


def _sizes(shapes, tag):
    return {f"{tag}{i}_{a}": d for i, s in enumerate(shapes) for a, d in enumerate(s)}


def _forward_block(A, *, vjp, kw):
    return tuple(vjp(A, **kw)[0])


def _pullback_block(A, *cts, vjp, kw, present):
    it = iter(cts)
    return vjp(A, **kw)[1](*(next(it) if p else None for p in present))


def _jvp_block(A, dA, *, jvp, kw):
    res, tan = jvp(A, dA, **kw)
    return tuple(res) + tuple(tan)


def _lazy_vjp(vjp, A, kw):
    A = _as_stack(A)
    res0, dA0 = _probe(vjp, A, kw)
    shapes = [np.shape(x) for x in res0]
    sig_in = "(i,j)"
    out = da.apply_gufunc(_forward_block, f"{sig_in}->{_core_sig(shapes, 'o')}", A,
                          vjp=vjp, kw=kw, output_sizes=_sizes(shapes, "o"), meta=_meta(res0))
    res = type(res0)(*out)
    batch = A.shape[:-2]

    def pullback(*cts):
        if len(cts) > len(shapes):
            raise TypeError(f"the pullback takes at most {len(shapes)} cotangents, got {len(cts)}")
        cts = cts + (None,) * (len(shapes) - len(cts))
        present = tuple(c is not None for c in cts)
        given, sig = [], []
        for i, (c, s) in enumerate(zip(cts, shapes)):
            if c is None:
                continue
            c = da.asarray(c)
            if c.shape != batch + s:
                raise ValueError(f"cotangent #{i} has shape {c.shape}, expected {batch + s} "
                                 f"(the shape of {res0._fields[i]})")
            given.append(c.rechunk(A.chunks[:-2] + tuple((d,) for d in s)))
            sig.append("(" + ",".join(f"o{i}_{a}" for a in range(len(s))) + ")")
        if not given:
            return da.zeros(batch + np.shape(dA0), dtype=dA0.dtype, chunks=A.chunks[:-2] + (-1, -1))
        return da.apply_gufunc(_pullback_block, f"{sig_in},{','.join(sig)}->(i,j)", A, *given,
                               vjp=vjp, kw=kw, present=present, output_dtypes=dA0.dtype)

    return res, pullback


def _lazy_jvp(vjp, jvp, A, dA, kw):
    A = _as_stack(A)
    dA = da.asarray(dA)
    if dA.shape != A.shape:
        raise ValueError(f"dA has shape {dA.shape}, expected {A.shape} (the shape of A)")
    dA = dA.rechunk(A.chunks)
    res0, _ = _probe(vjp, A, kw)
    shapes = [np.shape(x) for x in res0]
    out = da.apply_gufunc(_jvp_block, f"(i,j),(i,j)->{_core_sig(shapes + shapes, 'o')}", A, dA,
                          jvp=jvp, kw=kw, output_sizes=_sizes(shapes + shapes, "o"),
                          meta=_meta(res0) * 2)
    p = len(shapes)
    return type(res0)(*out[:p]), type(res0)(*out[p:])


def svd_vjp(A, **kw):
    """Lazy ``linalgad.svd_vjp`` (same keywords) over the chunks of a dask stack."""
    return _lazy_vjp(_svd_vjp, A, kw)


def svd_jvp(A, dA, **kw):
    """Lazy ``linalgad.svd_jvp``: ``(SVD, SVD tangent)`` of dask arrays."""
    return _lazy_jvp(_svd_vjp, _svd_jvp, A, dA, kw)


def eigh_vjp(A, **kw):
    """Lazy ``linalgad.eigh_vjp`` over the chunks of a dask stack."""
    return _lazy_vjp(_eigh_vjp, A, kw)


def eigh_jvp(A, dA, **kw):
    """Lazy ``linalgad.eigh_jvp``."""
    return _lazy_jvp(_eigh_vjp, _eigh_jvp, A, dA, kw)


def eig_vjp(A, **kw):
    """Lazy ``linalgad.eig_vjp`` over the chunks of a dask stack."""
    return _lazy_vjp(_eig_vjp, A, kw)


def eig_jvp(A, dA, **kw):
    """Lazy ``linalgad.eig_jvp``."""
    return _lazy_jvp(_eig_vjp, _eig_jvp, A, dA, kw)


def polar_vjp(A, **kw):
    """Lazy ``linalgad.polar_vjp`` over the chunks of a dask stack."""
    return _lazy_vjp(_polar_vjp, A, kw)


def polar_jvp(A, dA, **kw):
    """Lazy ``linalgad.polar_jvp``."""
    return _lazy_jvp(_polar_vjp, _polar_jvp, A, dA, kw)
