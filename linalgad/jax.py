"""linalgad's rules inside JAX: ``jax.grad``, ``jax.jvp``, ``jax.jit``, ``jax.vmap``.

Two flavours of the same functions, because JAX cannot transpose a host
callback (so one function cannot carry both a custom JVP and a custom VJP):

- ``linalgad.jax.svd`` etc. (reverse): ``jax.custom_vjp``; works under
  ``grad``, ``vjp``, ``jacrev``, ``value_and_grad``, ``jit``, ``vmap``.
- ``linalgad.jax.forward.svd`` etc. (forward): ``jax.custom_jvp`` whose tangent
  is a host callback; works under ``jvp``, ``jacfwd``, ``linearize``, ``jit``,
  ``vmap``.

Each primal and each rule runs on the host through ``jax.pure_callback``
(``vmap_method="broadcast_all"``: a vmapped batch arrives as leading axes,
which linalgad batches itself). Called outside ``jit``/``vmap`` the host
functions are called directly, skipping the callback.

Complex convention: JAX's cotangent of a complex array is the conjugate of
linalgad's (``jax.grad`` returns dL/dRe - 1j dL/dIm); the reverse flavour
conjugates the incoming cotangents and the returned one on the host, so both
sides keep their own convention. Tangents (forward mode) need no conversion.

Errors: a ``DegeneracyError``/``GaugeError`` raised by a rule reaches the
caller as itself when the rule runs eagerly. Inside ``jit`` (or ``vmap``) the
rule runs in a callback and XLA reports a ``jax.errors.JaxRuntimeError`` whose
message ends with the linalgad error; ``with linalgad.jax.reraise():`` (or
``@linalgad.jax.reraise()``) turns it back into the linalgad error.
Details, and what works under which transformation: docs/jax.md.
"""

import contextlib
import threading
from collections import namedtuple
from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np

from ._options import options as _check_options
from ._validate import real_dtype
from .rules import eig as _eig, eigh as _eigh, funm as _funm, polar as _polar, svd as _svd
from .rules import svfunm as _svfunm

__all__ = ["svd", "svdvals", "eigh", "eigvalsh", "eig", "eigvals", "polar", "funm", "svfunm",
           "forward", "reverse", "reraise"]

_SymbolicZero = jax.custom_derivatives.SymbolicZero
_SUPPORTED = tuple(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))


# ---------------------------------------------------------------- host side
# One entry per op, NumPy in and out, in linalgad's conventions:
#   specs(batch, m, n, dtype, kw)     -> [(shape, dtype)] of the outputs
#   primal(A, kw)                     -> tuple of outputs
#   pullback(A, outs, cts, kw, opts)  -> dA (cts: tuple, None for zero)
#   pushforward(A, outs, dA, kw, opts) -> tangents
# kw: the primal's keywords (static); opts: degeneracy options (static).
_Op = namedtuple("_Op", "specs primal pullback pushforward result square")


def _complex(dtype):
    return np.result_type(dtype, np.complex64)


def _svd_specs(batch, m, n, dtype, kw):
    r = min(m, n)
    k = r if kw.get("k") is None else kw["k"]
    if kw.get("full_matrices"):
        return [(batch + (m, m), dtype), (batch + (r,), real_dtype(dtype)), (batch + (n, n), dtype)]
    return [(batch + (m, k), dtype), (batch + (k,), real_dtype(dtype)), (batch + (k, n), dtype)]


def _svdvals_specs(batch, m, n, dtype, kw):
    return [(batch + (min(m, n),), real_dtype(dtype))]


def _eigh_specs(batch, m, n, dtype, kw):
    return [(batch + (n,), real_dtype(dtype)), (batch + (n, n), dtype)]


def _eig_specs(batch, m, n, dtype, kw):
    return [(batch + (n,), _complex(dtype)), (batch + (n, n), _complex(dtype))]


def _polar_specs(batch, m, n, dtype, kw):
    return [(batch + (m, n), dtype), (batch + (n, n), dtype)]


def _same_specs(batch, m, n, dtype, kw):
    return [(batch + (m, n), dtype)]


def _closure_pullback(vjp, select=None):
    """pullback(A, outs, cts, kw, opts) from a ``*_vjp`` closure (it factors
    A again); ``select`` names the cotangents a values-only op feeds."""
    def pullback(A, outs, cts, kw, opts):
        _, pb = vjp(A, **kw, **opts)
        return pb(**dict(zip(select, cts))) if select else pb(*cts)
    return pullback


def _eig_pullback(select=None):
    """eig's pullback: the outputs are complex for JAX (static dtypes), but
    when every eigenvalue of a real A is real linalgad's factors are real and
    stay real under real steps, so only the real part of a cotangent counts."""
    pullback = _closure_pullback(_eig.eig_vjp, select)

    def real_aware(A, outs, cts, kw, opts):
        if A.dtype.kind != "c" and not np.iscomplexobj(_eig.eig(A).w):
            cts = tuple(None if c is None else c.real for c in cts)
        return pullback(A, outs, cts, kw, opts)
    return real_aware


def _closure_pushforward(jvp, select=None):
    """pushforward(A, outs, dA, kw, opts) from a ``*_jvp`` (it factors A
    again); ``select``: the indices of the tangents a values-only op returns."""
    def pushforward(A, outs, dA, kw, opts):
        tan = jvp(A, dA, **kw, **opts)[1]
        if not isinstance(tan, tuple):
            return (tan,)
        return tuple(tan[i] for i in select) if select else tuple(tan)
    return pushforward


def _primal(fn, select=None):
    def primal(A, kw):
        out = fn(A, **kw)
        if not isinstance(out, tuple):
            return (out,)
        return tuple(out[i] for i in select) if select else tuple(out)
    return primal


_OPS = {
    "svd": _Op(_svd_specs, _primal(_svd.svd), _closure_pullback(_svd.svd_vjp),
               _closure_pushforward(_svd.svd_jvp), _svd.SVD, False),
    "svdvals": _Op(_svdvals_specs, _primal(_svd.svd, (1,)), _closure_pullback(_svd.svd_vjp, ("dS",)),
                   _closure_pushforward(_svd.svd_jvp, (1,)), None, False),
    "eigh": _Op(_eigh_specs, _primal(_eigh.eigh), _closure_pullback(_eigh.eigh_vjp),
                _closure_pushforward(_eigh.eigh_jvp), _eigh.Eigh, True),
    "eigvalsh": _Op(lambda *a: _eigh_specs(*a)[:1], _primal(_eigh.eigh, (0,)),
                    _closure_pullback(_eigh.eigh_vjp, ("dw",)),
                    _closure_pushforward(_eigh.eigh_jvp, (0,)), None, True),
    "eig": _Op(_eig_specs, _primal(lambda A, gauge=None, **_: _eig.eig(A, gauge=gauge)),
               _eig_pullback(), _closure_pushforward(_eig.eig_jvp), _eig.Eig, True),
    "eigvals": _Op(lambda *a: _eig_specs(*a)[:1], _primal(_eig.eig, (0,)),
                   _eig_pullback(("dw",)),
                   _closure_pushforward(_eig.eig_jvp, (0,)), None, True),
    "polar": _Op(_polar_specs, _primal(_polar.polar), _closure_pullback(_polar.polar_vjp),
                 _closure_pushforward(_polar.polar_jvp), _polar.Polar, False),
    "funm": _Op(_same_specs, _primal(_funm.funm), _closure_pullback(_funm.funm_vjp),
                _closure_pushforward(_funm.funm_jvp), None, True),
    "svfunm": _Op(_same_specs, _primal(_svfunm.svfunm), _closure_pullback(_svfunm.svfunm_vjp),
                  _closure_pushforward(_svfunm.svfunm_jvp), None, False),
}


def _conj(x):
    return np.conj(x) if x is not None and np.iscomplexobj(x) else x


# The last error raised inside a callback, for reraise(): XLA runs callbacks
# on its own threads and reports only the text of the exception.
_last_error = [None]
_lock = threading.Lock()


def _trapping(fn):
    def host(*args):
        try:
            return fn(*args)
        except Exception as e:
            with _lock:
                _last_error[0] = e
            raise
    return host


class reraise(contextlib.ContextDecorator):
    """Context manager and decorator: a linalgad error raised inside a
    compiled (``jit``/``vmap``) computation, which XLA reports as a
    ``jax.errors.JaxRuntimeError``, is raised again as itself (the same
    ``DegeneracyError``/``GaugeError`` object, the XLA error as its cause).
    Wrap the call and the place where its result is first read::

        with linalgad.jax.reraise():
            g = jax.jit(jax.grad(loss))(A)
    """

    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb):
        if isinstance(exc, jax.errors.JaxRuntimeError):
            with _lock:
                err, _last_error[0] = _last_error[0], None
            # the text check keeps a stale error from being blamed
            if err is not None and f"{type(err).__name__}: {err}" in str(exc):
                raise err from exc
        return False


# ---------------------------------------------------------------- JAX side

def _is_traced(args):
    return any(isinstance(a, jax.core.Tracer) for a in args)


def _call(fn, specs, *args):
    """fn(*numpy arrays) -> tuple of arrays matching specs: directly when no
    argument is traced, else through a pure_callback."""
    def host(*xs):
        out = fn(*(np.asarray(x) for x in xs))
        return tuple(np.asarray(o, dtype=d) for o, (_, d) in zip(out, specs))
    if not _is_traced(args):
        return tuple(jnp.asarray(o) for o in host(*args))
    shapes = tuple(jax.ShapeDtypeStruct(s, d) for s, d in specs)
    return jax.pure_callback(_trapping(host), shapes, *args, vmap_method="broadcast_all")


def _input(A, name, square):
    A = jnp.asarray(A)
    if A.dtype.kind in "biu":
        A = A.astype(jnp.result_type(float))
    if np.dtype(A.dtype) not in _SUPPORTED:
        raise TypeError(f"linalgad.jax.{name}: A has dtype {A.dtype}, which linalgad does not "
                        f"support; use float32, float64, complex64 or complex128")
    if A.ndim < 2 or (square and A.shape[-1] != A.shape[-2]):
        what = "a square matrix" if square else "a matrix"
        raise ValueError(f"linalgad.jax.{name}: A must be {what} or a stack of them (..., m, n), "
                         f"got shape {A.shape}")
    return A


def _specs(name, A, kw):
    *batch, m, n = A.shape
    return _OPS[name].specs(tuple(batch), m, n, np.dtype(A.dtype), dict(kw))


@lru_cache(maxsize=None)
def _reverse(name, kw, opts):
    """The custom_vjp function of A for one op and one set of static keywords."""
    op, kwd, optd = _OPS[name], dict(kw), dict(opts)

    def primal(A):
        return _call(lambda a: op.primal(a, kwd), _specs(name, A, kw), A)

    @jax.custom_vjp
    def f(A):
        return primal(A)

    def fwd(A):
        outs = primal(A.value)
        return outs, (A.value, outs)

    def bwd(res, cts):
        A, outs = res
        live = tuple(not isinstance(c, _SymbolicZero) for c in cts)
        if not any(live):
            return (jnp.zeros_like(A),)
        dt = np.dtype(A.dtype)

        def host(a, *rest):
            o, given = rest[:len(outs)], iter(rest[len(outs):])
            g = tuple(_conj(next(given)) if on else None for on in live)
            return (_conj(op.pullback(a, o, g, kwd, optd)),)

        given = [c for c, on in zip(cts, live) if on]
        return _call(host, [(A.shape, dt)], A, *outs, *given)

    f.defvjp(fwd, bwd, symbolic_zeros=True)
    return f


@lru_cache(maxsize=None)
def _forward(name, kw, opts):
    """The custom_jvp function of A: its tangent is one host call."""
    op, kwd, optd = _OPS[name], dict(kw), dict(opts)

    @jax.custom_jvp
    def f(A):
        return _call(lambda a: op.primal(a, kwd), _specs(name, A, kw), A)

    @f.defjvp
    def jvp(primals, tangents):
        (A,), (dA,) = primals, tangents
        # the primal by its own call: under vmap over tangents only (jacfwd)
        # it must stay unbatched
        outs = f(A)
        specs = _specs(name, A, kw)
        tans = _call(lambda a, *r: op.pushforward(a, r[:-1], r[-1], kwd, optd),
                     specs, A, *outs, jnp.asarray(dA, A.dtype))
        return outs, tans

    return f


def _hashable(d):
    return tuple(sorted(d.items()))


class Flavour:
    """The functions of one flavour: ``linalgad.jax.reverse`` (custom_vjp, the
    module-level functions) or ``linalgad.jax.forward`` (custom_jvp)."""

    def __init__(self, mode):
        self._make = {"reverse": _reverse, "forward": _forward}[mode]
        self.mode = mode

    def __repr__(self):
        return f"<linalgad.jax.{self.mode}: svd, svdvals, eigh, eigvalsh, eig, eigvals, polar, funm, svfunm>"

    def _run(self, name, A, kw, opts):
        A = _input(A, name, _OPS[name].square)
        _check_options(np.dtype(A.dtype), **opts)  # a wrong option fails here, not in XLA
        out = self._make(name, _hashable(kw), _hashable(opts))(A)
        wrap = _OPS[name].result
        return wrap(*out) if wrap is not None else out[0]

    def svd(self, A, *, full_matrices=False, k=None, gauge=None, **opts):
        """SVD of A (..., m, n): ``SVD(U, S, Vh)`` as ``linalgad.svd``, with
        linalgad's rule; ``**opts``: degeneracy, tol, eps, order, gauge_tol."""
        return self._run("svd", A, dict(full_matrices=full_matrices, k=k, gauge=gauge), opts)

    def svdvals(self, A, **opts):
        """Singular values of A (..., m, n), descending."""
        return self._run("svdvals", A, {}, opts)

    def eigh(self, A, *, uplo="L", gauge=None, **opts):
        """Eigendecomposition of Hermitian A: ``Eigh(w, V)``. ``uplo``: "L"/"U"
        read one triangle (the cotangent lives on it); None takes the
        Hermitian part, as ``jnp.linalg.eigh(symmetrize_input=True)``."""
        return self._run("eigh", A, dict(uplo=uplo, gauge=gauge), opts)

    def eigvalsh(self, A, *, uplo="L", **opts):
        """Eigenvalues of Hermitian A, ascending (``uplo`` as in ``eigh``)."""
        return self._run("eigvalsh", A, dict(uplo=uplo), opts)

    def eig(self, A, *, normalization="lapack", cond_max=None, gauge=None, **opts):
        """Eigendecomposition of a general square A: ``Eig(w, V)``, complex."""
        kw = dict(normalization=normalization, cond_max=cond_max, gauge=gauge)
        return self._run("eig", A, kw, opts)

    def eigvals(self, A, **opts):
        """Eigenvalues of a general square A (complex)."""
        return self._run("eigvals", A, {}, opts)

    def polar(self, A, **opts):
        """Polar decomposition A = Q P: ``Polar(Q, P)``."""
        return self._run("polar", A, {}, opts)

    def funm(self, A, f, *, df=None, uplo=None):
        """f(A) for Hermitian A (``linalgad.funm``: f a name, a power, or a
        callable on eigenvalues with its derivative ``df``)."""
        return self._run("funm", A, dict(f=f, df=df, uplo=uplo), {})

    def svfunm(self, A, g, *, dg=None, **opts):
        """U diag(g(S)) Vh (``linalgad.svfunm``)."""
        return self._run("svfunm", A, dict(g=g, dg=dg), opts)


reverse = Flavour("reverse")
forward = Flavour("forward")

svd, svdvals, eigh, eigvalsh = reverse.svd, reverse.svdvals, reverse.eigh, reverse.eigvalsh
eig, eigvals, polar = reverse.eig, reverse.eigvals, reverse.polar
funm, svfunm = reverse.funm, reverse.svfunm
