"""linalgad inside PyTorch and JAX: what an adapter costs over the bare rule,
and its backward pass against the framework's native one.

Every figure is a ratio or a difference of two timings taken in the same
``track_`` call, on one thread: BLAS and linalgad through common.py,
``torch.set_num_threads(1)``, and for JAX the XLA flags and the one-CPU pin
of peers.py. The reverse passes follow peers.py's protocol (the forward pass
once in setup; the timed call is the pullback alone on stored residuals: a
jitted ``f_vjp(ct)`` for JAX, ``torch.autograd.grad`` for PyTorch) on its
inputs and cotangents (generic mode, float64). A framework (or
``linalgad.torch``) that is not importable skips its benchmarks.

- ``Overhead``: the adapter's reverse pass minus linalgad's stateless pullback
  on the same factors and cotangents, in microseconds, and their ratio, at
  n = 8 and 512. Goal: below 30 us a call at n = 8.
- ``VsNative``: the adapter's reverse pass over the framework's native one
  (below 1: faster) at n = 8, 64, 512 and on a batch of 100,000 3x3.
  Goal: below 1 at n = 512 and on the batch.
"""

import functools
import importlib
import os
import importlib.util

import numpy as np

from .common import CPU_TIMER, median_time, sig
from .peers import _Peer, _cotangents, _input, jax_pullback, pin_threads, torch_pullback

FRAMEWORKS = ["torch", "jax"]
RULES = ["svd", "eigh"]


def _adapter(framework):
    """linalgad's adapter module, or NotImplementedError (asv skips)."""
    if importlib.util.find_spec(framework) is None:
        raise NotImplementedError(f"{framework} is not importable")
    try:
        return importlib.import_module("linalgad." + framework)
    except ImportError as e:
        raise NotImplementedError(f"linalgad.{framework} is not available: {e}") from e


def jax_adapter_pullback(rule, A):
    """peers.jax_pullback's protocol through linalgad.jax (call it after
    jax_pullback, which sets the XLA flags before jax is imported)."""
    import jax
    import jax.numpy as jnp
    lj = _adapter("jax")
    if rule == "svd":
        def f(X):
            return tuple(lj.svd(X, full_matrices=False))
    else:
        def f(X):
            return tuple(lj.eigh(X))
    outs, f_vjp = jax.vjp(f, jnp.asarray(A))
    cts = tuple(jnp.asarray(c) for c in _cotangents(rule, [np.asarray(o) for o in outs]))
    pb = jax.jit(lambda fv, c: fv(c))
    return lambda: pb(f_vjp, cts)[0].block_until_ready()


def torch_adapter_pullback(rule, A):
    import torch
    lt = _adapter("torch")
    torch.set_num_threads(1)
    X = torch.from_numpy(np.array(A)).requires_grad_(True)
    outs = lt.svd(X, full_matrices=False) if rule == "svd" else lt.eigh(X)
    cts = [torch.from_numpy(c) for c in _cotangents(rule, [o.detach().numpy() for o in outs])]
    return lambda: torch.autograd.grad(tuple(outs), X, cts, retain_graph=True)


def bare_pullback(rule, A):
    """linalgad's stateless pullback on NumPy factors and the same kind of cotangents."""
    import linalgad
    if rule == "svd":
        outs = tuple(linalgad.svd(A, full_matrices=False))
        rule_fn = linalgad.svd_pullback
    else:
        outs = tuple(linalgad.eigh(A, UPLO=None))
        rule_fn = functools.partial(linalgad.eigh_pullback, UPLO=None)
    cts = _cotangents(rule, outs)
    return lambda: rule_fn(*outs, *cts)


_NATIVE = {"jax": jax_pullback, "torch": torch_pullback}
_ADAPTER = {"jax": jax_adapter_pullback, "torch": torch_adapter_pullback}


class _Framework(_Peer):
    def _build(self, framework, rule, A, other):
        _adapter(framework)
        self._old_cpus = pin_threads({min(os.sched_getaffinity(0))})
        native = _NATIVE[framework](rule, A)  # first: sets the XLA flags before jax loads
        self.reference = native if other == "native" else bare_pullback(rule, A)
        self.adapter = _ADAPTER[framework](rule, A)
        self.adapter()  # compile / warm up
        self.reference()

    def _times(self):
        return median_time(self.adapter), median_time(self.reference)


class Overhead(_Framework):
    params = [FRAMEWORKS, RULES, [8, 512]]
    param_names = ["framework", "rule", "n"]
    timer = CPU_TIMER

    def setup(self, framework, rule, n):
        self._build(framework, rule, _input(rule, "float64", n), "bare")

    def track_overhead_us(self, framework, rule, n):
        adapter, bare = self._times()
        return sig((adapter - bare) * 1e6)

    track_overhead_us.unit = "us"

    def track_over_bare(self, framework, rule, n):
        adapter, bare = self._times()
        return sig(adapter / bare)

    track_over_bare.unit = "ratio"


class VsNative(_Framework):
    params = [FRAMEWORKS, RULES, ["8", "64", "512", "100000x3x3"]]
    param_names = ["framework", "rule", "size"]
    timer = CPU_TIMER

    def setup(self, framework, rule, size):
        B, n = (int(x) for x in size.split("x")[:2]) if "x" in size else (None, int(size))
        A = _input(rule, "float64", n, (B,) if B else ())
        self._build(framework, rule, A, "native")

    def track_over_native(self, framework, rule, size):
        adapter, native = self._times()
        return sig(adapter / native)

    track_over_native.unit = "ratio"
