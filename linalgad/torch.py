"""linalgad's rules inside PyTorch: drop-in decompositions for torch.Tensors.

``from linalgad.torch import svd`` then ``U, S, Vh = svd(A)`` as
``torch.linalg.svd``; backward, forward mode (``torch.func.jvp``,
``torch.autograd.forward_ad``), ``torch.func.grad``/``vmap`` and
``torch.compile`` run linalgad's rules. Every function takes the degeneracy
options (``degeneracy=``, ``tol=``, ``eps=``, ``order=``, ``gauge_tol=``) as
keyword arguments. See docs/torch.md.

Design: each primal, pullback and pushforward is a ``torch.library.custom_op``
(NumPy kernels: the stateless rules ``svd_pullback``, ``svd_pushforward``, ...
of linalgad; fake kernels give shapes to ``torch.compile``). The derivatives
are attached by ``torch.autograd.Function`` classes, not by
``custom_op.register_autograd``, because PyTorch 2.13 has no way to register a
forward-mode (JVP) formula on a custom op; the Functions define ``jvp`` and a
``vmap`` rule (the kernels broadcast over leading axes like a gufunc, so vmap
only moves the mapped axis to the front). A pullback or pushforward is itself
a Function whose derivatives raise: second-order derivatives are not
implemented and say so instead of returning zeros.
"""

import inspect
import numbers

import numpy as np
import torch

from . import _divdiff
from ._docs import FRAGMENTS, fill_from
from ._options import OPTION_NAMES, options
from .rules import eig as _eig, eigh as _eigh, funm as _funm, polar as _polar, svd as _svd
from .rules import svfunm as _svfunm
from ._results import EigResult, EighResult, PolarResult, SVDResult

__all__ = ["svd", "svdvals", "eigh", "eigvalsh", "eig", "eigvals", "polar", "funm", "svfunm"]

_DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)
_REAL = {torch.complex64: torch.float32, torch.complex128: torch.float64}
_COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}


def _real(dt):
    return _REAL.get(dt, dt)


def _complex(dt):
    return _COMPLEX.get(dt, dt)


# ---------------------------------------------------------------- argument handling

def _check(A, name):
    if not isinstance(A, torch.Tensor):
        raise TypeError(f"linalgad.torch.{name}: A must be a torch.Tensor, got {type(A).__name__}")
    if A.device.type != "cpu":
        raise NotImplementedError(
            f"linalgad.torch.{name}: A is on {A.device}, but linalgad's rules run on the CPU "
            f"(NumPy/LAPACK); call it on A.cpu() and move the result back (the copy is yours "
            f"to see, not hidden)")
    if A.dtype not in _DTYPES:
        raise TypeError(f"linalgad.torch.{name}: A has dtype {A.dtype}; use float32, float64, "
                        f"complex64 or complex128")
    if A.dim() < 2:
        raise ValueError(f"linalgad.torch.{name}: A must have at least 2 dimensions (..., m, n), "
                         f"got shape {tuple(A.shape)}")


def _opts(A, opts, **extra):
    """The options, validated now (not at backward time), as a JSON string
    that the custom ops take. ``extra``: rule-specific keywords (eig)."""
    if not torch.compiler.is_compiling():   # (the kernels validate again when they run)
        options(np.dtype(str(_real(A.dtype)).replace("torch.", "")), **opts)
    given = [(k, opts[k]) for k in OPTION_NAMES if opts.get(k) is not None]
    given += [(k, v) for k, v in extra.items() if v is not None]
    # "name=repr;..." (json is not traceable by torch.compile); NumPy scalars as Python's
    return ";".join(f"{k}={_plain(v)!r}" for k, v in given)


def _plain(v):
    if isinstance(v, numbers.Integral):
        return int(v)
    return float(v) if isinstance(v, numbers.Real) else v


def _kw(opts):
    return {k: _value(v) for k, v in (item.split("=", 1) for item in opts.split(";") if item)}


def _value(v):
    if v[:1] in "'\"":
        return v[1:-1]
    if v.lstrip("-").isdigit():
        return int(v)
    return float(v)      # also inf and nan


_FUNCS: dict = {}   # key -> resolved scalar function, for callables (a custom op takes strings)


def _fspec(f, df):
    """A string naming f for the custom ops: a name, a power, or a key of a
    registered callable (kept alive here, as the compiled graph refers to it)."""
    # validated now; a callable is kept alive here (the custom ops take strings), so pass
    # the same function object to repeated calls rather than a new lambda each time
    fn = None if torch.compiler.is_compiling() else _divdiff.resolve(f, df)
    if isinstance(f, str):
        return f
    if isinstance(f, numbers.Real):
        return f"power:{float(f)!r}"
    key = f"callable:{id(f)}:{id(df)}"
    _FUNCS[key] = fn or _divdiff.resolve(f, df)
    return key


def _fn(spec):
    if spec.startswith("callable:"):
        return _FUNCS[spec]
    if spec.startswith("power:"):
        return float(spec[6:])
    return spec


def _uplo(UPLO):
    if UPLO is None:
        return "N"
    if isinstance(UPLO, str) and UPLO.upper() in ("L", "U"):
        return UPLO.upper()
    raise ValueError(f"UPLO must be 'L', 'U' or None (Hermitian part), got {UPLO!r}")


def _u(code):
    return None if code == "N" else code


# ---------------------------------------------------------------- custom ops (NumPy kernels)

def _np(t):
    return None if t is None else t.detach().resolve_conj().resolve_neg().numpy()


def _t(x, dtype=None):
    x = np.asarray(x)
    if dtype is not None:
        x = x.astype(str(dtype).replace("torch.", ""), copy=False)
    if not (x.flags.writeable and x.flags.c_contiguous):
        x = np.array(x, order="C")
    return torch.from_numpy(x)


def _batch(*pairs):
    """The broadcast batch shape of (tensor or None, number of core axes) pairs."""
    return torch.broadcast_shapes(*(t.shape[:t.dim() - k] for t, k in pairs if t is not None))


_is_legacy_batched = torch._C._functorch.is_legacy_batchedtensor


class _Op:
    """A custom op (what torch.compile traces, with its fake kernel) whose eager
    calls run the NumPy kernel directly: the dispatcher costs tens of
    microseconds a call, which is the whole budget of a small matrix."""

    def __init__(self, op, kernel):
        self.op, self.kernel = op, kernel
        self.name = op._qualname.split("::")[-1]

    def register_fake(self, fn):
        return self.op.register_fake(fn)

    def __call__(self, *args):
        # through the dispatcher when compiling, and for the legacy vmap of
        # gradcheck's batched checks (its per-sample fallback runs the kernel)
        if torch.compiler.is_compiling() or any(
                isinstance(a, torch.Tensor) and _is_legacy_batched(a) for a in args):
            return self.op(*args)
        return self.kernel(*args)


def _op(name, schema):
    def register(kernel):
        return _Op(torch.library.custom_op(f"linalgad::{name}", kernel, mutates_args=(),
                                           schema=schema), kernel)
    return register


# SVD -------------------------------------------------------------------------

@_op("svd", "(Tensor A, bool full_matrices) -> (Tensor, Tensor, Tensor)")
def _svd_op(A, full_matrices):
    return tuple(map(_t, _svd.svd(_np(A), full_matrices=full_matrices)))


@_svd_op.register_fake
def _(A, full_matrices):
    m, n = A.shape[-2:]
    k = min(m, n)
    b = A.shape[:-2]
    return (A.new_empty(b + (m, m if full_matrices else k)), A.new_empty(b + (k,), dtype=_real(A.dtype)),
            A.new_empty(b + (n if full_matrices else k, n)))


@_op("svd_pullback", "(Tensor U, Tensor S, Tensor Vh, Tensor? gU, Tensor? gS, Tensor? gVh, str opts) -> Tensor")
def _svd_pb_op(U, S, Vh, gU, gS, gVh, opts):
    return _t(_svd.svd_pullback(_np(U), _np(S), _np(Vh), _np(gU), _np(gS), _np(gVh), **_kw(opts)))


@_svd_pb_op.register_fake
def _(U, S, Vh, gU, gS, gVh, opts):
    b = _batch((U, 2), (S, 1), (Vh, 2), (gU, 2), (gS, 1), (gVh, 2))
    return U.new_empty(b + (U.shape[-2], Vh.shape[-1]))


@_op("svd_pushforward", "(Tensor U, Tensor S, Tensor Vh, Tensor dA, str opts) -> (Tensor, Tensor, Tensor)")
def _svd_pf_op(U, S, Vh, dA, opts):
    return tuple(map(_t, _svd.svd_pushforward(_np(U), _np(S), _np(Vh), _np(dA), **_kw(opts))))


@_svd_pf_op.register_fake
def _(U, S, Vh, dA, opts):
    b = _batch((U, 2), (S, 1), (Vh, 2), (dA, 2))
    return U.new_empty(b + U.shape[-2:]), S.new_empty(b + S.shape[-1:]), Vh.new_empty(b + Vh.shape[-2:])


@_op("svdvals_pushforward", "(Tensor U, Tensor S, Tensor Vh, Tensor dA, str opts) -> Tensor")
def _svdvals_pf_op(U, S, Vh, dA, opts):
    return _t(_svd.svdvals_pushforward(_np(U), _np(S), _np(Vh), _np(dA), **_kw(opts)))


@_svdvals_pf_op.register_fake
def _(U, S, Vh, dA, opts):
    return S.new_empty(_batch((U, 2), (S, 1), (Vh, 2), (dA, 2)) + S.shape[-1:])


# eigh ------------------------------------------------------------------------

@_op("eigh", "(Tensor A, str uplo) -> (Tensor, Tensor)")
def _eigh_op(A, uplo):
    return tuple(map(_t, _eigh.eigh(_np(A), UPLO=_u(uplo))))


@_eigh_op.register_fake
def _(A, uplo):
    return A.new_empty(A.shape[:-1], dtype=_real(A.dtype)), A.new_empty(A.shape)


@_op("eigh_pullback", "(Tensor w, Tensor V, Tensor? gw, Tensor? gV, str uplo, str opts) -> Tensor")
def _eigh_pb_op(w, V, gw, gV, uplo, opts):
    return _t(_eigh.eigh_pullback(_np(w), _np(V), _np(gw), _np(gV), UPLO=_u(uplo), **_kw(opts)))


@_eigh_pb_op.register_fake
def _(w, V, gw, gV, uplo, opts):
    return V.new_empty(_batch((w, 1), (V, 2), (gw, 1), (gV, 2)) + V.shape[-2:])


@_op("eigh_pushforward", "(Tensor w, Tensor V, Tensor dA, str uplo, str opts) -> (Tensor, Tensor)")
def _eigh_pf_op(w, V, dA, uplo, opts):
    return tuple(map(_t, _eigh.eigh_pushforward(_np(w), _np(V), _np(dA), UPLO=_u(uplo), **_kw(opts))))


@_eigh_pf_op.register_fake
def _(w, V, dA, uplo, opts):
    b = _batch((w, 1), (V, 2), (dA, 2))
    return w.new_empty(b + w.shape[-1:]), V.new_empty(b + V.shape[-2:])


@_op("eigvalsh_pushforward", "(Tensor w, Tensor V, Tensor dA, str uplo, str opts) -> Tensor")
def _eigvalsh_pf_op(w, V, dA, uplo, opts):
    return _t(_eigh.eigvalsh_pushforward(_np(w), _np(V), _np(dA), UPLO=_u(uplo), **_kw(opts)))


@_eigvalsh_pf_op.register_fake
def _(w, V, dA, uplo, opts):
    return w.new_empty(_batch((w, 1), (V, 2), (dA, 2)) + w.shape[-1:])


# eig -------------------------------------------------------------------------

@_op("eig", "(Tensor A) -> (Tensor, Tensor)")
def _eig_op(A):
    w, V = _eig.eig(_np(A))
    cdt = _complex(A.dtype)     # complex always, as torch.linalg.eig
    return _t(w, cdt), _t(V, cdt)


@_eig_op.register_fake
def _(A):
    cdt = _complex(A.dtype)
    return A.new_empty(A.shape[:-1], dtype=cdt), A.new_empty(A.shape, dtype=cdt)


@_op("eig_pullback", "(Tensor w, Tensor V, Tensor? gw, Tensor? gV, bool real_input, str opts) -> Tensor")
def _eig_pb_op(w, V, gw, gV, real_input, opts):
    return _t(_eig.eig_pullback(_np(w), _np(V), _np(gw), _np(gV), real_input=real_input, **_kw(opts)))


@_eig_pb_op.register_fake
def _(w, V, gw, gV, real_input, opts):
    b = _batch((w, 1), (V, 2), (gw, 1), (gV, 2))
    return V.new_empty(b + V.shape[-2:], dtype=_real(V.dtype) if real_input else V.dtype)


@_op("eig_pushforward", "(Tensor w, Tensor V, Tensor dA, str opts) -> (Tensor, Tensor)")
def _eig_pf_op(w, V, dA, opts):
    return tuple(map(_t, _eig.eig_pushforward(_np(w), _np(V), _np(dA), **_kw(opts))))


@_eig_pf_op.register_fake
def _(w, V, dA, opts):
    b = _batch((w, 1), (V, 2), (dA, 2))
    return w.new_empty(b + w.shape[-1:]), V.new_empty(b + V.shape[-2:])


@_op("eigvals_pushforward", "(Tensor w, Tensor V, Tensor dA, str opts) -> Tensor")
def _eigvals_pf_op(w, V, dA, opts):
    return _t(_eig.eigvals_pushforward(_np(w), _np(V), _np(dA), **_kw(opts)))


@_eigvals_pf_op.register_fake
def _(w, V, dA, opts):
    return w.new_empty(_batch((w, 1), (V, 2), (dA, 2)) + w.shape[-1:])


# polar -----------------------------------------------------------------------

@_op("polar", "(Tensor A) -> (Tensor, Tensor, Tensor, Tensor, Tensor)")
def _polar_op(A):
    U, S, Vh = _svd.svd(_np(A), full_matrices=False)
    Q, P = _polar.polar(_np(A))
    return _t(Q), _t(P), _t(U), _t(S), _t(Vh)


@_polar_op.register_fake
def _(A):
    m, n = A.shape[-2:]
    k = min(m, n)
    b = A.shape[:-2]
    return (A.new_empty(A.shape), A.new_empty(b + (n, n)), A.new_empty(b + (m, k)),
            A.new_empty(b + (k,), dtype=_real(A.dtype)), A.new_empty(b + (k, n)))


@_op("polar_pullback", "(Tensor U, Tensor S, Tensor Vh, Tensor? gQ, Tensor? gP, str opts) -> Tensor")
def _polar_pb_op(U, S, Vh, gQ, gP, opts):
    return _t(_polar.polar_pullback(_np(U), _np(S), _np(Vh), _np(gQ), _np(gP), **_kw(opts)))


@_polar_pb_op.register_fake
def _(U, S, Vh, gQ, gP, opts):
    return U.new_empty(_batch((U, 2), (S, 1), (Vh, 2), (gQ, 2), (gP, 2)) + (U.shape[-2], Vh.shape[-1]))


@_op("polar_pushforward", "(Tensor U, Tensor S, Tensor Vh, Tensor dA, str opts) -> (Tensor, Tensor)")
def _polar_pf_op(U, S, Vh, dA, opts):
    return tuple(map(_t, _polar.polar_pushforward(_np(U), _np(S), _np(Vh), _np(dA), **_kw(opts))))


@_polar_pf_op.register_fake
def _(U, S, Vh, dA, opts):
    b = _batch((U, 2), (S, 1), (Vh, 2), (dA, 2))
    n = Vh.shape[-1]
    return U.new_empty(b + (U.shape[-2], n)), U.new_empty(b + (n, n))


# funm / svfunm ---------------------------------------------------------------

@_op("funm", "(Tensor A, str f, str uplo) -> (Tensor, Tensor, Tensor)")
def _funm_op(A, f, uplo):
    a = _np(A)
    F = _funm.funm(a, _fn(f), UPLO=_u(uplo))
    w, V = _eigh.eigh(a, UPLO=_u(uplo))
    return _t(F), _t(w), _t(V)


@_funm_op.register_fake
def _(A, f, uplo):
    return A.new_empty(A.shape), A.new_empty(A.shape[:-1], dtype=_real(A.dtype)), A.new_empty(A.shape)


@_op("funm_pullback", "(Tensor w, Tensor V, Tensor gF, str f, str uplo) -> Tensor")
def _funm_pb_op(w, V, gF, f, uplo):
    return _t(_funm.funm_pullback(_np(w), _np(V), _np(gF), _fn(f), UPLO=_u(uplo)))


@_op("funm_pushforward", "(Tensor w, Tensor V, Tensor dA, str f, str uplo) -> Tensor")
def _funm_pf_op(w, V, dA, f, uplo):
    return _t(_funm.funm_pushforward(_np(w), _np(V), _np(dA), _fn(f), UPLO=_u(uplo)))


def _funm_fake(w, V, X, f, uplo):
    return V.new_empty(_batch((w, 1), (V, 2), (X, 2)) + V.shape[-2:])


_funm_pb_op.register_fake(_funm_fake)
_funm_pf_op.register_fake(_funm_fake)


@_op("svfunm", "(Tensor A, str g) -> (Tensor, Tensor, Tensor, Tensor)")
def _svfunm_op(A, g):
    a = _np(A)
    return (_t(_svfunm.svfunm(a, _fn(g))),) + tuple(map(_t, _svd.svd(a, full_matrices=False)))


@_svfunm_op.register_fake
def _(A, g):
    m, n = A.shape[-2:]
    k = min(m, n)
    b = A.shape[:-2]
    return (A.new_empty(A.shape), A.new_empty(b + (m, k)), A.new_empty(b + (k,), dtype=_real(A.dtype)),
            A.new_empty(b + (k, n)))


@_op("svfunm_pullback", "(Tensor U, Tensor S, Tensor Vh, Tensor gG, str g, str opts) -> Tensor")
def _svfunm_pb_op(U, S, Vh, gG, g, opts):
    return _t(_svfunm.svfunm_pullback(_np(U), _np(S), _np(Vh), _np(gG), _fn(g), **_kw(opts)))


@_op("svfunm_pushforward", "(Tensor U, Tensor S, Tensor Vh, Tensor dA, str g, str opts) -> Tensor")
def _svfunm_pf_op(U, S, Vh, dA, g, opts):
    return _t(_svfunm.svfunm_pushforward(_np(U), _np(S), _np(Vh), _np(dA), _fn(g), **_kw(opts)))


def _svfunm_fake(U, S, Vh, X, g, opts):
    return U.new_empty(_batch((U, 2), (S, 1), (Vh, 2), (X, 2)) + (U.shape[-2], Vh.shape[-1]))


_svfunm_pb_op.register_fake(_svfunm_fake)
_svfunm_pf_op.register_fake(_svfunm_fake)


# ---------------------------------------------------------------- autograd.Functions

def _second_order(what):
    return NotImplementedError(
        f"linalgad.torch: second-order derivatives are not implemented ({what} a linalgad "
        f"rule: double backward, hessians, jacfwd of jacrev); the first-order rules are "
        f"exact but not themselves differentiable. Differentiate once, or use finite "
        f"differences of the gradient")


def _signed(cls):
    """Function.apply binds its arguments with inspect.signature(forward) on
    every call (a third of a small matrix's time); computed once here."""
    cls.forward.__signature__ = inspect.signature(cls.forward)
    return cls


def _front(x, d):
    """Move a vmapped axis to the front; an unmapped tensor gets a leading 1
    so that it broadcasts against the mapped ones (the kernels broadcast
    leading axes like a gufunc)."""
    if not isinstance(x, torch.Tensor):
        return x
    return x.movedim(d, 0) if d is not None else x.unsqueeze(0)


def _rule_function(op, n_out):
    """A pullback or pushforward as a Function: vmappable, not differentiable."""

    class Rule(torch.autograd.Function):
        @classmethod
        def apply(cls, *args):
            # a plain first-order backward (grad mode off, no transform) records no
            # graph, so it needs no Function (whose apply costs as much as a small rule)
            if not (torch.is_grad_enabled() or torch._C._are_functorch_transforms_active()
                    or torch.compiler.is_compiling()):
                return op(*args)
            return super().apply(*args)

        @staticmethod
        def forward(*args):
            return op(*args)

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, *grads):
            raise _second_order("the backward of")

        @staticmethod
        def jvp(ctx, *tangents):
            raise _second_order("the forward-mode derivative of")

        @staticmethod
        def vmap(info, in_dims, *args):
            return Rule.apply(*(_front(x, d) for x, d in zip(args, in_dims))), \
                (0,) * n_out if n_out > 1 else 0

    Rule.__name__ = Rule.__qualname__ = op.name
    return _signed(Rule)


def _decomposition(name, primal, n_out, pullback, pushforward, nondiff=()):
    """The Function of one decomposition.

    ``primal(A, *static)`` -> outputs (the custom op); ``pullback(saved,
    grads, real, *static)`` -> dA; ``pushforward(saved, dA, *static)`` ->
    tangents of the differentiable outputs (None for the others).
    ``nondiff``: indices of outputs returned only to be saved (factors).
    """

    class Decomposition(torch.autograd.Function):
        @staticmethod
        def forward(A, *static):
            return primal(A, *static)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.static = inputs[1:]
            ctx.real = not inputs[0].is_complex()
            ctx.set_materialize_grads(False)
            ctx.mark_non_differentiable(*(output[i] for i in nondiff))
            ctx.save_for_backward(*output)
            ctx.save_for_forward(*output)

        @staticmethod
        def backward(ctx, *grads):
            none = (None,) * len(ctx.static)
            if all(g is None for g in grads):
                return (None,) + none
            return (pullback(ctx.saved_tensors, grads, ctx.real, *ctx.static),) + none

        @staticmethod
        def jvp(ctx, dA, *static_tangents):
            return pushforward(ctx.saved_tensors, dA, *ctx.static)

        @staticmethod
        def vmap(info, in_dims, A, *static):
            return Decomposition.apply(A.movedim(in_dims[0], 0), *static), (0,) * n_out

    Decomposition.__name__ = Decomposition.__qualname__ = f"{name}Function"
    return _signed(Decomposition)


# SVD
_SvdPB = _rule_function(_svd_pb_op, 1)
_SvdPF = _rule_function(_svd_pf_op, 3)
_SvdvalsPF = _rule_function(_svdvals_pf_op, 1)

_Svd = _decomposition(
    "Svd", lambda A, full, opts: _svd_op(A, full), 3,
    lambda s, g, real, full, opts: _SvdPB.apply(*s, *g, opts),
    lambda s, dA, full, opts: _SvdPF.apply(*s, dA, opts))

# svdvals: the factors are outputs only to be saved (thin SVD)
_Svdvals = _decomposition(
    "Svdvals", lambda A, opts: (lambda U, S, Vh: (S, U, Vh))(*_svd_op(A, False)), 3,
    lambda s, g, real, opts: _SvdPB.apply(s[1], s[0], s[2], None, g[0], None, opts),
    lambda s, dA, opts: (_SvdvalsPF.apply(s[1], s[0], s[2], dA, opts), None, None),
    nondiff=(1, 2))

# eigh
_EighPB = _rule_function(_eigh_pb_op, 1)
_EighPF = _rule_function(_eigh_pf_op, 2)
_EigvalshPF = _rule_function(_eigvalsh_pf_op, 1)

_Eigh = _decomposition(
    "Eigh", lambda A, uplo, opts: _eigh_op(A, uplo), 2,
    lambda s, g, real, uplo, opts: _EighPB.apply(*s, *g, uplo, opts),
    lambda s, dA, uplo, opts: _EighPF.apply(*s, dA, uplo, opts))

_Eigvalsh = _decomposition(
    "Eigvalsh", lambda A, uplo, opts: _eigh_op(A, uplo), 2,
    lambda s, g, real, uplo, opts: _EighPB.apply(*s, g[0], None, uplo, opts),
    lambda s, dA, uplo, opts: (_EigvalshPF.apply(*s, dA, uplo, opts), None),
    nondiff=(1,))

# eig
_EigPB = _rule_function(_eig_pb_op, 1)
_EigPF = _rule_function(_eig_pf_op, 2)
_EigvalsPF = _rule_function(_eigvals_pf_op, 1)

_Eig = _decomposition(
    "Eig", lambda A, opts: _eig_op(A), 2,
    lambda s, g, real, opts: _EigPB.apply(*s, *g, real, opts),
    lambda s, dA, opts: _EigPF.apply(*s, dA, opts))

_Eigvals = _decomposition(
    "Eigvals", lambda A, opts: _eig_op(A), 2,
    lambda s, g, real, opts: _EigPB.apply(*s, g[0], None, real, opts),
    lambda s, dA, opts: (_EigvalsPF.apply(*s, dA, opts), None),
    nondiff=(1,))

# polar: outputs Q, P and the saved thin SVD
_PolarPB = _rule_function(_polar_pb_op, 1)
_PolarPF = _rule_function(_polar_pf_op, 2)

_Polar = _decomposition(
    "Polar", lambda A, opts: _polar_op(A), 5,
    lambda s, g, real, opts: _PolarPB.apply(*s[2:], g[0], g[1], opts),
    lambda s, dA, opts: _PolarPF.apply(*s[2:], dA, opts) + (None, None, None),
    nondiff=(2, 3, 4))

# funm: outputs F and the saved eigendecomposition
_FunmPB = _rule_function(_funm_pb_op, 1)
_FunmPF = _rule_function(_funm_pf_op, 1)

_Funm = _decomposition(
    "Funm", _funm_op, 3,
    lambda s, g, real, f, uplo: _FunmPB.apply(s[1], s[2], g[0], f, uplo),
    lambda s, dA, f, uplo: (_FunmPF.apply(s[1], s[2], dA, f, uplo), None, None),
    nondiff=(1, 2))

# svfunm: outputs G and the saved thin SVD
_SvfunmPB = _rule_function(_svfunm_pb_op, 1)
_SvfunmPF = _rule_function(_svfunm_pf_op, 1)

_Svfunm = _decomposition(
    "Svfunm", lambda A, g, opts: _svfunm_op(A, g), 4,
    lambda s, gr, real, g, opts: _SvfunmPB.apply(*s[1:], gr[0], g, opts),
    lambda s, dA, g, opts: (_SvfunmPF.apply(*s[1:], dA, g, opts), None, None, None),
    nondiff=(1, 2, 3))


# ---------------------------------------------------------------- public functions

# the docstring sections the public functions share ({{name}} lines)
_fill = fill_from({
    "tensor": """\
A : torch.Tensor
    A CPU tensor of float32, float64, complex64 or complex128, shape
    (..., m, n); leading axes are a batch.""",
    "square_tensor": """\
A : torch.Tensor
    A square CPU tensor (..., n, n) of float32, float64, complex64 or
    complex128.""",
    "torch_UPLO": """\
UPLO : {"L", "U", None}, optional
    "L" (default, torch.linalg's) or "U": only that triangle is read, and
    the gradient lives on it; None: the Hermitian part of A.""",
    "torch_opts": FRAGMENTS["adapter_opts"] + """
    Checked when the function is called, not at ``backward()``.""",
    "torch_raises": """\
TypeError
    A is not a torch.Tensor, has an unsupported dtype, or an option is
    unknown.
NotImplementedError
    A is not on the CPU, or a second-order derivative is asked for.""",
})


@_fill
def svd(A, full_matrices=True, **opts):
    """``torch.linalg.svd`` with linalgad's rules.

    Parameters
    ----------
    {{tensor}}
    full_matrices : bool, optional
        True (default, torch's): U is m x m and Vh n x n; the extra columns
        are differentiated too, and a loss that depends on their basis raises
        GaugeError. False: the thin factors.
    {{torch_opts}}

    Returns
    -------
    SVDResult
        ``(U, S, Vh)`` with ``A = U[..., :k] @ diag(S) @ Vh[..., :k, :]``, S
        descending.

    Raises
    ------
    {{torch_raises}}
    {{adapter_degeneracy}}
    {{adapter_gauge}}

    Examples
    --------
    >>> import torch
    >>> from linalgad.torch import svd
    >>> A = torch.tensor([[3.0, 0.0], [0.0, 1.0]], dtype=torch.float64, requires_grad=True)
    >>> U, S, Vh = svd(A)
    >>> S.sum().backward()        # the nuclear norm's gradient is U @ Vh
    >>> A.grad
    tensor([[1., 0.],
            [0., 1.]], dtype=torch.float64)
    """
    _check(A, "svd")
    return SVDResult(*_Svd.apply(A, bool(full_matrices), _opts(A, opts)))


@_fill
def svdvals(A, **opts):
    """``torch.linalg.svdvals`` with linalgad's rules.

    The forward mode forms the values' tangent only (no vectors, no 1/gap).

    Parameters
    ----------
    {{tensor}}
    {{torch_opts}}

    Returns
    -------
    torch.Tensor
        The singular values (..., min(m, n)), descending, real.

    Raises
    ------
    {{torch_raises}}
    {{adapter_degeneracy}}

    Examples
    --------
    >>> import torch
    >>> from linalgad.torch import svdvals
    >>> A = torch.tensor([[3.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> S, dS = torch.func.jvp(svdvals, (A,), (torch.eye(2, dtype=torch.float64),))
    >>> S, dS
    (tensor([3., 1.], dtype=torch.float64), tensor([1., 1.], dtype=torch.float64))
    """
    _check(A, "svdvals")
    return _Svdvals.apply(A, _opts(A, opts))[0]


@_fill
def eigh(A, UPLO="L", **opts):
    """``torch.linalg.eigh`` with linalgad's rules.

    Parameters
    ----------
    {{square_tensor}}
    {{torch_UPLO}}
    {{torch_opts}}

    Returns
    -------
    EighResult
        ``(eigenvalues, eigenvectors)``: the eigenvalues ascending (real), the
        eigenvectors as columns.

    Raises
    ------
    {{torch_raises}}
    ValueError
        UPLO is not "L", "U" or None.
    {{adapter_degeneracy}}
    {{adapter_gauge}}

    Examples
    --------
    A loss symmetric in repeated eigenvalues has a gradient at them:

    >>> import torch
    >>> from linalgad.torch import eigh
    >>> A = torch.eye(2, dtype=torch.float64, requires_grad=True)
    >>> w, V = eigh(A)
    >>> (w ** 2).sum().backward()
    >>> A.grad
    tensor([[2., 0.],
            [0., 2.]], dtype=torch.float64)
    """
    _check(A, "eigh")
    return EighResult(*_Eigh.apply(A, _uplo(UPLO), _opts(A, opts)))


@_fill
def eigvalsh(A, UPLO="L", **opts):
    """``torch.linalg.eigvalsh`` with linalgad's rules.

    The forward mode forms the values' tangent only (no vectors, no 1/gap).

    Parameters
    ----------
    {{square_tensor}}
    {{torch_UPLO}}
    {{torch_opts}}

    Returns
    -------
    torch.Tensor
        The eigenvalues (..., n), ascending, real.

    Raises
    ------
    {{torch_raises}}
    ValueError
        UPLO is not "L", "U" or None.
    {{adapter_degeneracy}}

    Examples
    --------
    >>> import torch
    >>> from linalgad.torch import eigvalsh
    >>> eigvalsh(torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64))
    tensor([1., 3.], dtype=torch.float64)
    """
    _check(A, "eigvalsh")
    return _Eigvalsh.apply(A, _uplo(UPLO), _opts(A, opts))[0]


@_fill
def eig(A, *, normalization="lapack", cond_max=None, **opts):
    """``torch.linalg.eig`` with linalgad's rules.

    Parameters
    ----------
    {{square_tensor}}
    normalization : {"lapack", "norm"}, optional
        "lapack" (default): unit columns with LAPACK's phase, the convention
        the rule differentiates (what ``torch.linalg.eig`` returns); "norm":
        unit columns, the phase a gauge.
    cond_max : float, optional
        The largest eigenvector condition number the rules accept
        (None: linalgad's default, which also looks at the eigenvalue
        pairs; see ``linalgad.eig_vjp``).
    {{torch_opts}}

    Returns
    -------
    EigResult
        ``(eigenvalues, eigenvectors)``, complex also for real A. The
        gradient of a real A is real.

    Raises
    ------
    {{torch_raises}}
    ValueError
        normalization is not "lapack" or "norm".
    {{adapter_degeneracy}}
    {{adapter_gauge}}

    Examples
    --------
    >>> import torch
    >>> from linalgad.torch import eig
    >>> A = torch.tensor([[2.0, 1.0], [0.0, 1.0]], dtype=torch.float64, requires_grad=True)
    >>> w, V = eig(A)
    >>> w
    tensor([2.+0.j, 1.+0.j], dtype=torch.complex128, grad_fn=<...>)
    >>> w.real[0].backward()
    >>> A.grad
    tensor([[1., 0.],
            [1., 0.]], dtype=torch.float64)
    """
    _check(A, "eig")
    _eig._normalization(normalization)
    return EigResult(*_Eig.apply(A, _opts(A, opts, normalization=normalization, cond_max=cond_max)))


@_fill
def eigvals(A, *, cond_max=None, **opts):
    """``torch.linalg.eigvals`` with linalgad's rules.

    The forward mode forms the values' tangent only.

    Parameters
    ----------
    {{square_tensor}}
    cond_max : float, optional
        As in :func:`eig`.
    {{torch_opts}}

    Returns
    -------
    torch.Tensor
        The eigenvalues (..., n), complex, in LAPACK's order.

    Raises
    ------
    {{torch_raises}}
    {{adapter_degeneracy}}

    Examples
    --------
    >>> import torch
    >>> from linalgad.torch import eigvals
    >>> eigvals(torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64))
    tensor([0.+1.j, 0.-1.j], dtype=torch.complex128)
    """
    _check(A, "eigvals")
    return _Eigvals.apply(A, _opts(A, opts, cond_max=cond_max))[0]


@_fill
def polar(A, **opts):
    """Polar decomposition A = Q P with linalgad's rules, exact at repeated
    singular values.

    Parameters
    ----------
    {{tensor}}
    {{torch_opts}}

    Returns
    -------
    PolarResult
        ``(Q, P)``: Q = U Vh (m x n, orthonormal columns or rows), P = V S Vh
        (n x n, Hermitian positive semi-definite), from the thin SVD.

    Raises
    ------
    {{torch_raises}}
    {{adapter_degeneracy}}

    Examples
    --------
    At A = 2 I (all singular values equal) tr(Q) has the gradient 0:

    >>> import torch
    >>> from linalgad.torch import polar
    >>> A = (2 * torch.eye(2, dtype=torch.float64)).requires_grad_()
    >>> Q, P = polar(A)
    >>> torch.trace(Q).backward()
    >>> A.grad
    tensor([[0., 0.],
            [0., 0.]], dtype=torch.float64)
    """
    _check(A, "polar")
    Q, P, *_ = _Polar.apply(A, _opts(A, opts))
    return PolarResult(Q, P)


@_fill
def funm(A, f, *, df=None, UPLO="L"):
    """f(A) for a Hermitian A, exact at any degeneracy.

    Parameters
    ----------
    {{square_tensor}}
    f : str, float or callable
        "exp", "log", "sqrt", "abs", "inv", a real power, or a NumPy callable
        on the eigenvalues (pass the same object to repeated calls: it is
        kept alive for the compiled graph).
    df : callable, optional
        The derivative of a callable f.
    {{torch_UPLO}}

    Returns
    -------
    torch.Tensor
        f(A) = V diag(f(w)) V^H, shaped as A.

    Raises
    ------
    {{torch_raises}}
    ValueError
        UPLO is not "L", "U" or None, or f is unknown (or a callable without
        df).

    Examples
    --------
    >>> import torch
    >>> from linalgad.torch import funm
    >>> A = torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=torch.float64)
    >>> torch.allclose(funm(A, "exp"), torch.linalg.matrix_exp(A))
    True
    """
    _check(A, "funm")
    return _Funm.apply(A, _fspec(f, df), _uplo(UPLO))[0]


@_fill
def svfunm(A, g, *, dg=None, **opts):
    """U diag(g(S)) Vh, exact at repeated singular values.

    Parameters
    ----------
    {{tensor}}
    g : str, float or callable
        As f in :func:`funm`, on the singular values.
    dg : callable, optional
        The derivative of a callable g.
    {{torch_opts}}

    Returns
    -------
    torch.Tensor
        U diag(g(S)) Vh from the thin SVD, shaped as A.

    Raises
    ------
    {{torch_raises}}
    ValueError
        g is unknown (or a callable without dg).
    {{adapter_degeneracy}}

    Examples
    --------
    >>> import torch
    >>> from linalgad.torch import svfunm
    >>> svfunm(torch.tensor([[4.0, 0.0], [0.0, 9.0]], dtype=torch.float64), "sqrt")
    tensor([[2., 0.],
            [0., 3.]], dtype=torch.float64)
    """
    _check(A, "svfunm")
    return _Svfunm.apply(A, _fspec(g, dg), _opts(A, opts))[0]
