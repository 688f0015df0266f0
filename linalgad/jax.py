"""linalgad's rules inside JAX: ``jax.grad``, ``jax.jvp``, ``jax.jit``, ``jax.vmap``.

Two flavours of the same functions, because JAX cannot transpose a host
callback (so one function cannot carry both a custom JVP and a custom VJP):

- ``linalgad.jax.svd`` etc. (reverse): ``jax.custom_vjp``; works under
  ``grad``, ``vjp``, ``jacrev``, ``value_and_grad``, ``jit``, ``vmap``.
- ``linalgad.jax.forward.svd`` etc. (forward): ``jax.custom_jvp`` whose tangent
  is a host callback; works under ``jvp``, ``jacfwd``, ``linearize``, ``jit``,
  ``vmap``.

Each primal and each rule runs on the host through ``jax.pure_callback``:
a vmapped batch arrives as leading axes, which linalgad batches itself (the
forward pass keeps the factors, the backward pass is linalgad's stateless
pullback on them). Called outside ``jit``/``vmap`` the host functions are
called directly, skipping the callback.

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
from functools import lru_cache
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np

from . import _validate
from ._docs import FRAGMENTS, fill_from
from ._options import options as _check_options
from ._results import EigResult, EighResult, PolarResult, SVDResult
from ._validate import real_dtype
from .rules import eig as _eig, eigh as _eigh, funm as _funm, polar as _polar, svd as _svd
from .rules import svfunm as _svfunm

__all__ = ["svd", "svdvals", "eigh", "eigvalsh", "eig", "eigvals", "polar", "funm", "svfunm",
           "forward", "reverse", "reraise"]

_SymbolicZero = jax.custom_derivatives.SymbolicZero
_SUPPORTED = tuple(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))


# ---------------------------------------------------------------- host side
# One entry per op, NumPy in and out, in linalgad's conventions; kw: the
# primal's keywords, opts: the degeneracy options (both static).
#   specs(batch, m, n, dtype, kw)    -> [(shape, dtype)] of the outputs
#   res_specs(batch, m, n, dtype, kw) -> the same for the factors the rules need
#   primal(A, kw)                    -> outputs
#   factor(A, kw)                    -> (outputs, factors)
#   pullback(factors, cts, real, kw, opts) -> dA   (cts: None for a zero cotangent)
#   pushforward(factors, dA, kw, opts)     -> tangents of the outputs
#   vmap_method: of the rule's callbacks (see _call)
_Op = namedtuple("_Op", "specs res_specs primal factor pullback pushforward result square "
                        "vmap_method", defaults=("expand_dims",))


def _complex(dtype):
    return np.result_type(dtype, np.complex64)


def _svd_specs(batch, m, n, dtype, kw):
    r = min(m, n)
    mu, nv = (m, n) if kw.get("full_matrices") else (r, r)
    return [(batch + (m, mu), dtype), (batch + (r,), real_dtype(dtype)), (batch + (nv, n), dtype)]


def _eigh_specs(batch, m, n, dtype, kw):
    return [(batch + (n,), real_dtype(dtype)), (batch + (n, n), dtype)]


def _eig_specs(batch, m, n, dtype, kw):
    return [(batch + (n,), _complex(dtype)), (batch + (n, n), _complex(dtype))]


def _pick(specs, i):
    """The specs of a values-only op: output i of the decomposition."""
    return lambda *a: specs(*a)[i:i + 1]


def _same(batch, m, n, dtype, kw):
    return [(batch + (m, n), dtype)]


def _thin_svd(A, kw=None):
    return tuple(_svd.svd(A, full_matrices=False))


def _eigh_factors(A, kw):
    return tuple(_eigh.eigh(A, UPLO=kw["UPLO"]))


def _eig_factors(A, kw=None):
    return tuple(_eig.eig(A))


def _rule_opts(kw, *names):
    return {k: kw[k] for k in names}


def _unstack(st, *xs):
    """(B, ...) stacks back to the caller's batch shape."""
    return tuple(x.reshape(st.shape(*x.shape[1:])) for x in xs)


def _polar_factor(A, kw):
    st = _validate.matrix_stack(A)
    U, s, Vh, Q, P = _polar._polar_factors(st)
    return _unstack(st, Q, P), _unstack(st, U, s, Vh)


def _funm_factor(A, kw):
    st, _, w, V, _, F = _funm._prepare(A, kw["f"], kw["df"], kw["UPLO"], "funm")
    return _unstack(st, F), _unstack(st, w, V)


def _svfunm_factor(A, kw):
    st, U, s, Vh, _, _, G = _svfunm._prepare(A, kw["g"], kw["dg"], "svfunm")
    return _unstack(st, G), _unstack(st, U, s, Vh)


def _values(factors, i):
    """factor(A, kw) of a values-only op: the decomposition, output i alone."""
    def factor(A, kw):
        res = factors(A, kw)
        return (res[i],), res
    return factor


_EIG_KW = ("normalization", "cond_max")
# The rules are called with factors unpacked from tuples whose length is
# known only at run time, which mypy cannot match against their signatures.
_rsvd, _reigh, _reig, _rpolar, _rfunm, _rsvfunm = cast(Any, (_svd, _eigh, _eig, _polar, _funm, _svfunm))
_OPS = {
    "svd": _Op(
        _svd_specs, _svd_specs,
        lambda A, kw: tuple(_rsvd.svd(A, full_matrices=kw["full_matrices"])),
        lambda A, kw: (tuple(_rsvd.svd(A, full_matrices=kw["full_matrices"])),) * 2,
        lambda f, cts, real, kw, o: _rsvd.svd_pullback(*f, *cts, **o),
        lambda f, dA, kw, o: tuple(_rsvd.svd_pushforward(*f, dA, **o)),
        SVDResult, False),
    "svdvals": _Op(
        _pick(_svd_specs, 1), _svd_specs,
        lambda A, kw: (_rsvd.svdvals(A),), _values(_thin_svd, 1),
        lambda f, cts, real, kw, o: _rsvd.svd_pullback(*f, dS=cts[0], **o),
        lambda f, dA, kw, o: (_rsvd.svdvals_pushforward(*f, dA, **o),),
        None, False),
    "eigh": _Op(
        _eigh_specs, _eigh_specs, _eigh_factors, lambda A, kw: (_eigh_factors(A, kw),) * 2,
        lambda f, cts, real, kw, o: _reigh.eigh_pullback(*f, *cts, UPLO=kw["UPLO"], **o),
        lambda f, dA, kw, o: tuple(_reigh.eigh_pushforward(*f, dA, UPLO=kw["UPLO"], **o)),
        EighResult, True),
    "eigvalsh": _Op(
        _pick(_eigh_specs, 0), _eigh_specs,
        lambda A, kw: (_reigh.eigvalsh(A, UPLO=kw["UPLO"]),), _values(_eigh_factors, 0),
        lambda f, cts, real, kw, o: _reigh.eigh_pullback(*f, dw=cts[0], UPLO=kw["UPLO"], **o),
        lambda f, dA, kw, o: (_reigh.eigvalsh_pushforward(*f, dA, UPLO=kw["UPLO"], **o),),
        None, True),
    # JAX's eig outputs are complex (static dtypes); the pullback is told
    # whether A was real, which complex factors cannot say
    "eig": _Op(
        _eig_specs, _eig_specs, _eig_factors, lambda A, kw: (_eig_factors(A),) * 2,
        lambda f, cts, real, kw, o: _reig.eig_pullback(*f, *cts, real_input=real,
                                                      **_rule_opts(kw, *_EIG_KW), **o),
        lambda f, dA, kw, o: tuple(_reig.eig_pushforward(*f, dA, **_rule_opts(kw, *_EIG_KW), **o)),
        EigResult, True),
    "eigvals": _Op(
        _pick(_eig_specs, 0), _eig_specs,
        lambda A, kw: (_reig.eigvals(A),), _values(_eig_factors, 0),
        lambda f, cts, real, kw, o: _reig.eig_pullback(*f, dw=cts[0], real_input=real,
                                                      cond_max=kw["cond_max"], **o),
        lambda f, dA, kw, o: (_reig.eigvals_pushforward(*f, dA, cond_max=kw["cond_max"], **o),),
        None, True),
    "polar": _Op(
        lambda b, m, n, d, kw: [(b + (m, n), d), (b + (n, n), d)], _svd_specs,
        lambda A, kw: tuple(_rpolar.polar(A)), _polar_factor,
        lambda f, cts, real, kw, o: _rpolar.polar_pullback(*f, *cts, **o),
        lambda f, dA, kw, o: tuple(_rpolar.polar_pushforward(*f, dA, **o)),
        PolarResult, False),
    "funm": _Op(
        _same, _eigh_specs, lambda A, kw: (_rfunm.funm(A, **kw),), _funm_factor,
        lambda f, cts, real, kw, o: _rfunm.funm_pullback(*f, cts[0], **kw),
        lambda f, dA, kw, o: (_rfunm.funm_pushforward(*f, dA, **kw),),
        None, True),
    "svfunm": _Op(
        _same, _svd_specs, lambda A, kw: (_rsvfunm.svfunm(A, **kw),), _svfunm_factor,
        lambda f, cts, real, kw, o: _rsvfunm.svfunm_pullback(*f, cts[0], **kw, **o),
        lambda f, dA, kw, o: (_rsvfunm.svfunm_pushforward(*f, dA, **kw, **o),),
        None, False),
}


def _through_input(name, primal_kw):
    """The op with A itself as the residual, for what the stateless rules
    leave to the closures (``gauge="canonical"``): the rule factors A again."""
    module = _GAUGE_RULES[name]
    primal, vjp, jvp = (getattr(module, name + x) for x in ("", "_vjp", "_jvp"))

    def outputs(A, kw):
        return tuple(primal(A, **_rule_opts(kw, *primal_kw)))

    def pullback(f, cts, real, kw, opts):
        res, pb = vjp(f[0], **kw, **opts)
        # an output JAX types complex that is real here (eig of a real A with
        # real eigenvalues) stays real under real steps: its real cotangent
        return pb(*(c.real if c is not None and not np.iscomplexobj(r) else c
                    for c, r in zip(cts, res)))

    return _OPS[name]._replace(
        res_specs=lambda b, m, n, d, kw: [(b + (m, n), d)],
        primal=outputs, factor=lambda A, kw: (outputs(A, kw), (A,)), pullback=pullback,
        pushforward=lambda f, dA, kw, o: tuple(jvp(f[0], dA, **kw, **o)[1]),
        vmap_method="broadcast_all")  # the closures do not broadcast


_GAUGE_RULES = {"svd": _svd, "eigh": _eigh, "eig": _eig}
_GAUGED = {"svd": _through_input("svd", ("full_matrices", "gauge")),
           "eigh": _through_input("eigh", ("UPLO", "gauge")),
           "eig": _through_input("eig", ("gauge",))}


def _op(name, kw):
    return _GAUGED[name] if kw.get("gauge") is not None else _OPS[name]


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
    compiled (``jit``/``vmap``) computation is raised again as itself.

    XLA reports an exception of a host callback as a
    ``jax.errors.JaxRuntimeError`` carrying only its text; inside
    ``reraise()`` the same ``DegeneracyError``/``GaugeError`` object is
    raised instead, the XLA error as its cause. Wrap the call and the place
    where its result is first read.

    Raises
    ------
    linalgad.DegeneracyError, linalgad.GaugeError
        The error a rule raised inside the compiled computation.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import linalgad, linalgad.jax as lj
    >>> loss = lambda A: lj.eigh(A).eigenvectors[0, 0] ** 2   # no derivative at A = I
    >>> try:
    ...     with lj.reraise():
    ...         g = jax.jit(jax.grad(loss))(jnp.eye(2)).block_until_ready()
    ... except linalgad.DegeneracyError as e:
    ...     print(type(e).__name__, "from", type(e.__cause__).__name__)
    DegeneracyError from JaxRuntimeError
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


def _call(fn, specs, *args, vmap_method="broadcast_all"):
    """fn(*numpy arrays) -> tuple of arrays matching specs: directly when no
    argument is traced, else through a pure_callback. Under vmap a mapped
    axis arrives as a leading batch axis: "broadcast_all" gives every
    argument the batch, "expand_dims" gives unmapped ones a leading 1 (for
    the stateless rules, which broadcast: jacfwd's factors are not copied
    once per tangent)."""
    def host(*xs):
        out = fn(*(np.asarray(x) for x in xs))
        return tuple(np.asarray(o, dtype=d) for o, (_, d) in zip(out, specs))
    if not _is_traced(args):
        return tuple(jnp.asarray(o) for o in host(*args))
    shapes = tuple(jax.ShapeDtypeStruct(s, d) for s, d in specs)
    return jax.pure_callback(_trapping(host), shapes, *args, vmap_method=vmap_method)


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


def _specs(op, A, kw):
    """The outputs' and the factors' (shape, dtype) for A."""
    *batch, m, n = A.shape
    args = (tuple(batch), m, n, np.dtype(A.dtype), kw)
    return op.specs(*args), op.res_specs(*args)


def _primal(op, kw):
    """A's outputs by one host call: the function a flavour differentiates."""
    def f(A):
        return _call(lambda a: op.primal(a, kw), _specs(op, A, kw)[0], A)
    return f


def _factored(op, kw, A):
    """(output specs, outputs, factors): the outputs and the factors the
    rules need, by one host call."""
    specs, res_specs = _specs(op, A, kw)
    both = _call(lambda a: sum(op.factor(a, kw), ()), specs + res_specs, A)
    return specs, both[:len(specs)], both[len(specs):]


@lru_cache(maxsize=None)
def _reverse(name, kw, opts):
    """The custom_vjp function of A for one op and one set of static keywords."""
    kw, opts = dict(kw), dict(opts)
    op = _op(name, kw)
    f = jax.custom_vjp(_primal(op, kw))

    def fwd(A):
        A = A.value
        _, outs, factors = _factored(op, kw, A)
        # A rides along for its shape and dtype only
        return outs, (A, factors)

    def bwd(res, cts):
        A, factors = res
        live = tuple(not isinstance(c, _SymbolicZero) for c in cts)
        if not any(live):
            return (jnp.zeros_like(A),)
        real = np.dtype(A.dtype).kind != "c"

        def host(*xs):
            given = iter(xs[len(factors):])
            g = tuple(_conj(next(given)) if on else None for on in live)
            return (_conj(op.pullback(xs[:len(factors)], g, real, kw, opts)),)

        given = [c for c, on in zip(cts, live) if on]
        return _call(host, [(A.shape, A.dtype)], *factors, *given, vmap_method=op.vmap_method)

    f.defvjp(fwd, bwd, symbolic_zeros=True)
    return f


@lru_cache(maxsize=None)
def _forward(name, kw, opts):
    """The custom_jvp function of A: its tangent is one host call."""
    kw, opts = dict(kw), dict(opts)
    op = _op(name, kw)
    f = jax.custom_jvp(_primal(op, kw))

    @f.defjvp
    def jvp(primals, tangents):
        (A,), (dA,) = primals, tangents
        # the factors by their own call: under vmap over the tangents only
        # (jacfwd) the outputs must stay unbatched
        specs, outs, factors = _factored(op, kw, A)
        tans = _call(lambda *xs: op.pushforward(xs[:-1], xs[-1], kw, opts), specs,
                     *factors, jnp.asarray(dA, A.dtype), vmap_method=op.vmap_method)
        return outs, tans

    return f


def _hashable(d):
    return tuple(sorted(d.items()))


# the docstring sections the functions share ({{name}} lines)
_fill = fill_from({
    "jax_A": """\
A : array_like
    float32, float64, complex64 or complex128 (integers are promoted),
    shape (..., m, n); leading axes are a batch.""",
    "jax_square": """\
A : array_like
    A square matrix (..., n, n) of a supported dtype.""",
    "jax_UPLO": """\
UPLO : {"L", "U", None}, optional
    None (default, as ``jnp.linalg.eigh``'s ``symmetrize_input=True``):
    the Hermitian part of A. "L"/"U": only that triangle is read (as
    ``symmetrize_input=False``), and the cotangent lives on it.""",
    "jax_gauge": """\
gauge : {None, "canonical"}, optional
    "canonical": gauge-fixed factors (see ``linalgad.gauge_fix``),
    differentiated by re-factoring A.""",
    "jax_opts": FRAGMENTS["adapter_opts"] + """
    Static, checked when the function is called.""",
    "jax_raises": """\
TypeError
    A has an unsupported dtype, or an option is unknown.
ValueError
    A is not a matrix (or not square where it must be).
linalgad.DegeneracyError
    In a derivative, at a degeneracy the loss does not allow in
    strict mode; inside ``jit``/``vmap`` XLA reports it as a
    ``JaxRuntimeError`` (see :class:`reraise`).""",
})


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

    @_fill
    def svd(self, A, full_matrices=True, *, gauge=None, **opts):
        """``jnp.linalg.svd`` with linalgad's rules.

        Parameters
        ----------
        {{jax_A}}
        full_matrices : bool, optional
            True (default, JAX's): U is m x m and Vh n x n; a loss may see
            the extra columns only through their projector (else
            GaugeError). Truncation: slice the thin factors (``U[..., :k]``);
            the zero cotangents of the rest give the exact truncated
            derivative.
        {{jax_gauge}}
        {{jax_opts}}

        Returns
        -------
        SVDResult
            ``(U, S, Vh)``, S descending.

        Raises
        ------
        {{jax_raises}}
        {{adapter_gauge}}

        Examples
        --------
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> import linalgad.jax as lj
        >>> g = jax.grad(lambda A: jnp.sum(lj.svd(A).S))(jnp.diag(jnp.array([3.0, 1.0])))
        >>> print(np.round(g, 6) + 0.0)      # the nuclear norm's gradient U @ Vh
        [[1. 0.]
         [0. 1.]]
        """
        return self._run("svd", A, dict(full_matrices=bool(full_matrices), gauge=gauge), opts)

    @_fill
    def svdvals(self, A, **opts):
        """``jnp.linalg.svdvals`` with linalgad's rules (forward mode: the
        values' tangent only, no 1/gap).

        Parameters
        ----------
        {{jax_A}}
        {{jax_opts}}

        Returns
        -------
        jax.Array
            The singular values (..., min(m, n)), descending, real.

        Raises
        ------
        {{jax_raises}}

        Examples
        --------
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> import linalgad.jax as lj
        >>> A = jnp.diag(jnp.array([3.0, 1.0]))
        >>> S, dS = jax.jvp(lj.forward.svdvals, (A,), (jnp.eye(2),))
        >>> print(np.round(S, 6), np.round(dS, 6))
        [3. 1.] [1. 1.]
        """
        return self._run("svdvals", A, {}, opts)

    @_fill
    def eigh(self, A, UPLO=None, *, gauge=None, **opts):
        """``jnp.linalg.eigh`` with linalgad's rules.

        Parameters
        ----------
        {{jax_square}}
        {{jax_UPLO}}
        {{jax_gauge}}
        {{jax_opts}}

        Returns
        -------
        EighResult
            ``(eigenvalues, eigenvectors)``: the eigenvalues ascending, the
            eigenvectors as columns.

        Raises
        ------
        {{jax_raises}}
        {{adapter_gauge}}

        Examples
        --------
        A loss symmetric in repeated eigenvalues has a gradient at them:

        >>> import jax, jax.numpy as jnp, numpy as np
        >>> import linalgad.jax as lj
        >>> g = jax.grad(lambda A: jnp.sum(lj.eigh(A).eigenvalues ** 2))(jnp.eye(2))
        >>> print(np.round(g, 6) + 0.0)
        [[2. 0.]
         [0. 2.]]
        """
        return self._run("eigh", A, dict(UPLO=UPLO, gauge=gauge), opts)

    @_fill
    def eigvalsh(self, A, UPLO=None, **opts):
        """``jnp.linalg.eigvalsh`` with linalgad's rules (forward mode: the
        values' tangent only).

        Parameters
        ----------
        {{jax_square}}
        {{jax_UPLO}}
        {{jax_opts}}

        Returns
        -------
        jax.Array
            The eigenvalues (..., n), ascending, real.

        Raises
        ------
        {{jax_raises}}

        Examples
        --------
        >>> import jax.numpy as jnp, numpy as np
        >>> import linalgad.jax as lj
        >>> print(np.round(lj.eigvalsh(jnp.array([[2.0, 1.0], [1.0, 2.0]])), 6))
        [1. 3.]
        """
        return self._run("eigvalsh", A, dict(UPLO=UPLO), opts)

    @_fill
    def eig(self, A, *, normalization="lapack", cond_max=None, gauge=None, **opts):
        """``jnp.linalg.eig`` with linalgad's rules.

        Parameters
        ----------
        {{jax_square}}
        normalization : {"lapack", "norm"}, optional
            "lapack" (default): unit columns with their largest entry real,
            LAPACK's convention, which the rule differentiates; "norm": unit
            columns, the phase a gauge.
        cond_max : float, optional
            The largest eigenvector condition number the rules accept
            (None: linalgad's default, which also looks at the eigenvalue
            pairs; see ``linalgad.eig_vjp``).
        {{jax_gauge}}
        {{jax_opts}}

        Returns
        -------
        EigResult
            ``(eigenvalues, eigenvectors)``, complex also for real A (as
            ``jnp.linalg.eig``), in LAPACK's order.

        Raises
        ------
        {{jax_raises}}
        {{adapter_gauge}}

        Examples
        --------
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> import linalgad.jax as lj
        >>> A = jnp.array([[2.0, 1.0], [0.0, 1.0]])
        >>> g = jax.grad(lambda A: jnp.real(lj.eig(A).eigenvalues[0]))(A)
        >>> print(np.round(g, 6) + 0.0)
        [[1. 0.]
         [1. 0.]]
        """
        kw = dict(normalization=normalization, cond_max=cond_max, gauge=gauge)
        return self._run("eig", A, kw, opts)

    @_fill
    def eigvals(self, A, *, cond_max=None, **opts):
        """``jnp.linalg.eigvals`` with linalgad's rules (forward mode: the
        values' tangent only).

        Parameters
        ----------
        {{jax_square}}
        cond_max : float, optional
            As in ``eig``.
        {{jax_opts}}

        Returns
        -------
        jax.Array
            The eigenvalues (..., n), complex, in LAPACK's order.

        Raises
        ------
        {{jax_raises}}

        Examples
        --------
        >>> import jax.numpy as jnp, numpy as np
        >>> import linalgad.jax as lj
        >>> print(np.round(lj.eigvals(jnp.array([[0.0, 1.0], [-1.0, 0.0]])), 6))
        [0.+1.j 0.-1.j]
        """
        return self._run("eigvals", A, dict(cond_max=cond_max), opts)

    @_fill
    def polar(self, A, **opts):
        """Polar decomposition A = Q P (as ``jax.scipy.linalg.polar(A)``),
        exact at repeated singular values.

        Parameters
        ----------
        {{jax_A}}
        {{jax_opts}}

        Returns
        -------
        PolarResult
            ``(Q, P)``: Q = U Vh with orthonormal columns (rows for a wide
            A), P = V S Vh Hermitian positive semi-definite (n x n).

        Raises
        ------
        {{jax_raises}}

        Examples
        --------
        At A = 2 I (all singular values equal) tr(Q) has the gradient 0:

        >>> import jax, jax.numpy as jnp, numpy as np
        >>> import linalgad.jax as lj
        >>> g = jax.grad(lambda A: jnp.trace(lj.polar(A).Q))(2 * jnp.eye(2))
        >>> print(np.round(g, 6) + 0.0)
        [[0. 0.]
         [0. 0.]]
        """
        return self._run("polar", A, {}, opts)

    @_fill
    def funm(self, A, f, *, df=None, UPLO=None):
        """f(A) for a Hermitian A (``linalgad.funm``), exact at any degeneracy.

        Parameters
        ----------
        {{jax_square}}
        f : str, float or callable
            "exp", "log", "sqrt", "abs", "inv", a real power, or a NumPy
            callable on the eigenvalues.
        df : callable, optional
            The derivative of a callable f.
        {{jax_UPLO}}

        Returns
        -------
        jax.Array
            f(A) = V diag(f(w)) V^H, shaped as A.

        Raises
        ------
        TypeError
            A has an unsupported dtype.
        ValueError
            A is not square, UPLO is not "L", "U" or None, or f is unknown
            (or a callable without df).

        Examples
        --------
        >>> import jax.numpy as jnp, numpy as np
        >>> import jax.scipy.linalg
        >>> import linalgad.jax as lj
        >>> A = jnp.array([[1.0, 2.0], [2.0, 1.0]])
        >>> bool(np.allclose(lj.funm(A, "exp"), jax.scipy.linalg.expm(A), rtol=1e-5))
        True
        """
        return self._run("funm", A, dict(f=f, df=df, UPLO=UPLO), {})

    @_fill
    def svfunm(self, A, g, *, dg=None, **opts):
        """U diag(g(S)) Vh (``linalgad.svfunm``), exact at repeated singular
        values.

        Parameters
        ----------
        {{jax_A}}
        g : str, float or callable
            As f in ``funm``, on the singular values.
        dg : callable, optional
            The derivative of a callable g.
        {{jax_opts}}

        Returns
        -------
        jax.Array
            U diag(g(S)) Vh from the thin SVD, shaped as A.

        Raises
        ------
        {{jax_raises}}

        Examples
        --------
        >>> import jax.numpy as jnp, numpy as np
        >>> import linalgad.jax as lj
        >>> print(np.round(lj.svfunm(jnp.diag(jnp.array([4.0, 9.0])), "sqrt"), 6) + 0.0)
        [[2. 0.]
         [0. 3.]]
        """
        return self._run("svfunm", A, dict(g=g, dg=dg), opts)


reverse = Flavour("reverse")
forward = Flavour("forward")

svd, svdvals, eigh, eigvalsh = reverse.svd, reverse.svdvals, reverse.eigh, reverse.eigvalsh
eig, eigvals, polar = reverse.eig, reverse.eigvals, reverse.polar
funm, svfunm = reverse.funm, reverse.svfunm
