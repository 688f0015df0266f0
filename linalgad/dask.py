"""The rules on dask arrays: stacks (..., m, n) chunked along the batch axes.

    import linalgad.dask as lad
    res, pullback = lad.svd_vjp(A)        # A a dask.array; res lazy (an SVDResult of dask arrays)
    dA = pullback(dU, None, dVh)          # lazy, chunked like A
    dask.compute(res.S, dA)               # runs chunk by chunk (threads, processes, a cluster)

Every chunk is a stack handed to the in-memory rule (linalgad.svd_vjp, ...),
so the math, options (``k=``, ``UPLO=``, ``degeneracy=``, ...) and errors are
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

from __future__ import annotations

from typing import Any, Union

import inspect

import dask.array as da
import numpy as np

from ._results import EigResult, EighResult, PolarResult, SVDResult
from ._typing import ArrayLike, Pullback
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
    result's type, core shapes and dtypes (the lazy graph needs them), the
    cotangent of zero cotangents, and the names of the pullback's cotangents."""
    m, n = A.shape[-2:]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((m, n))
    if np.dtype(A.dtype).kind == "c":
        X = X + 1j * rng.standard_normal((m, n))
    res, pullback = vjp(X.astype(A.dtype), **kw)
    return res, pullback(), tuple(inspect.signature(pullback).parameters)


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
    res0, dA0, names = _probe(vjp, A, kw)
    shapes = [np.shape(x) for x in res0]
    sig_in = "(i,j)"
    out = da.apply_gufunc(_forward_block, f"{sig_in}->{_core_sig(shapes, 'o')}", A,
                          vjp=vjp, kw=kw, output_sizes=_sizes(shapes, "o"), meta=_meta(res0))
    res = type(res0)(*out)
    batch = A.shape[:-2]

    def pullback(*cts, **named):
        # positional or by the in-memory pullback's names (dU=, dw=, dP=, ...)
        if len(cts) > len(shapes):
            raise TypeError(f"the pullback takes at most {len(shapes)} cotangents, got {len(cts)}")
        unknown = set(named) - set(names)
        if unknown:
            raise TypeError(f"unknown cotangent {sorted(unknown)}; the pullback takes {names}")
        twice = set(names[:len(cts)]) & set(named)
        if twice:
            raise TypeError(f"cotangent {sorted(twice)} given by position and by name")
        cts = cts + tuple(named.get(n) for n in names[len(cts):])
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
    res0 = _probe(vjp, A, kw)[0]
    shapes = [np.shape(x) for x in res0]
    out = da.apply_gufunc(_jvp_block, f"(i,j),(i,j)->{_core_sig(shapes + shapes, 'o')}", A, dA,
                          jvp=jvp, kw=kw, output_sizes=_sizes(shapes + shapes, "o"),
                          meta=_meta(res0) * 2)
    p = len(shapes)
    return type(res0)(*out[:p]), type(res0)(*out[p:])


# ------------------------------------------------------------------ the public rules

#: a tangent: a dask array, or anything dask.array.asarray takes
DaskLike = Union["da.Array", ArrayLike]

# per decomposition: (result type, pullback's cotangents, an example
# cotangent of the values, the tangent's field the example compares)
_RULES = {
    "svd": ("SVDResult(U, S, Vh)", "dU=None, dS=None, dVh=None", "dS=np.ones((6, 4))", "S"),
    "eigh": ("EighResult(eigenvalues, eigenvectors)", "dw=None, dV=None", "dw=np.ones((6, 4))",
             "eigenvalues"),
    "eig": ("EigResult(eigenvalues, eigenvectors)", "dw=None, dV=None", "dw=np.ones((6, 4))",
            "eigenvalues"),
    "polar": ("PolarResult(Q, P)", "dQ=None, dP=None", "dP=np.ones((6, 4, 4))", "P"),
}

_NOTES = """\
Every chunk of the batch axes is a stack handed to the in-memory
:func:`linalgad.{rule}_{mode}`, so the formula, the options and the errors
are its own (an error names the matrix by its index inside its chunk). The
matrix axes are rechunked to one chunk. {extra}"""

# the sections both templates share
_STACK = """\
A : dask.array.Array, shape (..., m, n)
    A stack of matrices chunked along the batch axes."""

_RAISES = """\
TypeError
    If A is not a dask array; an unknown option (at the first compute).
ValueError
    For fewer than 2 dimensions, unknown chunk sizes, or {wrong} of the
    wrong shape; the in-memory rule's errors arise at compute time."""

_VJP_DOC = """Lazy :func:`linalgad.{rule}_vjp` over the chunks of a dask stack.

Parameters
----------
{stack}
**opts
    The keywords of :func:`linalgad.{rule}_vjp` (``degeneracy=``, ``gauge=``,
    ``project=``, ...), passed to every chunk.

Returns
-------
res : {result_type}
    ``{result}`` of lazy dask arrays, chunked like A's batch axes.
pullback : callable
    ``pullback({cotangents}) -> dA``: a lazy dask array chunked like A;
    cotangents are dask or NumPy arrays of the factors' shapes.

Raises
------
{raises}

Notes
-----
{notes}

Examples
--------
>>> import numpy as np, dask.array as da, linalgad as la, linalgad.dask as lad
>>> A = np.random.default_rng(0).standard_normal((6, 4, 4))
>>> res, pullback = lad.{rule}_vjp(da.from_array(A, chunks=2))
>>> dA = pullback({example})
>>> np.allclose(dA.compute(), la.{rule}_vjp(A)[1]({example}))
True
"""

_JVP_DOC = """Lazy :func:`linalgad.{rule}_jvp` over the chunks of a dask stack.

Parameters
----------
{stack}
dA : dask.array.Array or array_like
    The tangent, A's shape (rechunked like A).
**opts
    The keywords of :func:`linalgad.{rule}_jvp`, passed to every chunk.

Returns
-------
res : {result_type}
    ``{result}`` of lazy dask arrays.
tan : {result_type}
    Their tangents, of lazy dask arrays.

Raises
------
{raises}

Notes
-----
{notes}

Examples
--------
>>> import numpy as np, dask.array as da, linalgad as la, linalgad.dask as lad
>>> A, dA = np.random.default_rng(0).standard_normal((2, 6, 4, 4))
>>> res, tan = lad.{rule}_jvp(da.from_array(A, chunks=2), da.from_array(dA, chunks=2))
>>> np.allclose(tan.{field}.compute(), la.{rule}_jvp(A, dA)[1].{field})
True
"""

_VJP_EXTRA = ("A lazy graph cannot hold a closure, so each chunk of dA recomputes its "
              "chunk's decomposition (deterministic: the factors are those of ``res``) and "
              "then pulls back: dA costs the in-memory rule and its pullback.")
_JVP_EXTRA = "The factors and their tangents come from one call per chunk."


def _doc(rule, mode):
    """The docstring of the lazy rule_mode, from the templates above."""
    result, cotangents, example, field = _RULES[rule]
    extra = _VJP_EXTRA if mode == "vjp" else _JVP_EXTRA
    notes = _NOTES.format(rule=rule, mode=mode, extra=extra)
    template = _VJP_DOC if mode == "vjp" else _JVP_DOC
    raises = _RAISES.format(wrong="a cotangent" if mode == "vjp" else "a tangent dA")
    return template.format(rule=rule, result_type=result.split("(")[0], result=result,
                           cotangents=cotangents, example=example, field=field, notes=notes,
                           stack=_STACK, raises=raises)


def _documented(rule, mode):
    def deco(fn):
        fn.__doc__ = _doc(rule, mode)
        return fn
    return deco


@_documented("svd", "vjp")
def svd_vjp(A: da.Array, **opts: Any) -> tuple[SVDResult, Pullback]:
    return _lazy_vjp(_svd_vjp, A, opts)


@_documented("svd", "jvp")
def svd_jvp(A: da.Array, dA: DaskLike, **opts: Any) -> tuple[SVDResult, SVDResult]:
    return _lazy_jvp(_svd_vjp, _svd_jvp, A, dA, opts)


@_documented("eigh", "vjp")
def eigh_vjp(A: da.Array, **opts: Any) -> tuple[EighResult, Pullback]:
    return _lazy_vjp(_eigh_vjp, A, opts)


@_documented("eigh", "jvp")
def eigh_jvp(A: da.Array, dA: DaskLike, **opts: Any) -> tuple[EighResult, EighResult]:
    return _lazy_jvp(_eigh_vjp, _eigh_jvp, A, dA, opts)


@_documented("eig", "vjp")
def eig_vjp(A: da.Array, **opts: Any) -> tuple[EigResult, Pullback]:
    return _lazy_vjp(_eig_vjp, A, opts)


@_documented("eig", "jvp")
def eig_jvp(A: da.Array, dA: DaskLike, **opts: Any) -> tuple[EigResult, EigResult]:
    return _lazy_jvp(_eig_vjp, _eig_jvp, A, dA, opts)


@_documented("polar", "vjp")
def polar_vjp(A: da.Array, **opts: Any) -> tuple[PolarResult, Pullback]:
    return _lazy_vjp(_polar_vjp, A, opts)


@_documented("polar", "jvp")
def polar_jvp(A: da.Array, dA: DaskLike, **opts: Any) -> tuple[PolarResult, PolarResult]:
    return _lazy_jvp(_polar_vjp, _polar_jvp, A, dA, opts)
