"""The same pullbacks in JAX and PyTorch, when they are importable (skipped
otherwise): their reverse pass alone on stored residuals, on the inputs and
cotangents the linalgad benchmarks use (generic mode).

- JAX: ``jax.vjp`` once in setup; the timed call is a jitted
  ``lambda f_vjp, ct: f_vjp(ct)`` (residuals passed as arguments), result
  blocked on; float64 enabled. XLA:CPU ignores its thread flags for dot
  products, so the process is pinned to one CPU while a JAX benchmark runs.
- PyTorch: ``torch.autograd.grad(outputs, A, cotangents, retain_graph=True)``
  with ``torch.set_num_threads(1)``.

Imported lazily in setup, so the other benchmarks' memory figures do not
carry a framework. eig in JAX uses ``jax.lax.linalg.eig(...,
enable_eigvec_derivs=True)``; ``jnp.linalg.eig`` refuses vector derivatives.
"""

import importlib.util
import os

import numpy as np

from .common import (CPU_TIMER, eig_input, gemm_time, generator, herm_input, median_time,
                     pin_threads, row_cotangent, sig, svd_input, value_cotangent, vector_cotangent)

PEERS = ["jax", "torch"]


def _have(name):
    return importlib.util.find_spec(name) is not None


def _input(rule, dtype, n, batch=()):
    if rule == "svd":
        return svd_input(n, dtype, "generic", batch)
    if rule == "eigh":
        return herm_input(n, dtype, "generic", batch)
    return eig_input(n, dtype, "generic", batch)


def _cotangents(rule, outs):
    """Generic-mode cotangents built from the peer's own outputs (NumPy arrays).

    Phase invariance holds only for the vectors they were made from: another
    LAPACK's eigenvectors differ by phases (and eig's order may too), and
    PyTorch then rightly rejects the loss as gauge dependent."""
    g = generator("peer", rule, outs[0].dtype.name, outs[0].shape)
    if rule == "svd":
        U, S, Vh = outs
        return (vector_cotangent(g, U, "generic"), value_cotangent(g, S),
                row_cotangent(g, Vh, "generic"))
    w, V = outs
    return (value_cotangent(g, w), vector_cotangent(g, V, "generic"))


def jax_pullback(rule, A):
    """A zero-argument callable running JAX's reverse pass alone."""
    if "jax" not in __import__("sys").modules:
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                           "intra_op_parallelism_threads=1")
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    if rule == "svd":
        def f(X):
            return tuple(jnp.linalg.svd(X, full_matrices=False))
    elif rule == "eigh":
        def f(X):
            return tuple(jnp.linalg.eigh(X))
    else:
        def f(X):
            w, v = jax.lax.linalg.eig(X, compute_left_eigenvectors=False, enable_eigvec_derivs=True)
            return (w, v)
    outs, f_vjp = jax.vjp(f, jnp.asarray(A))
    cts = tuple(jnp.asarray(c) for c in _cotangents(rule, [np.asarray(o) for o in outs]))
    pb = jax.jit(lambda fv, c: fv(c))
    return lambda: pb(f_vjp, cts)[0].block_until_ready()


def torch_pullback(rule, A):
    import torch
    torch.set_num_threads(1)
    X = torch.from_numpy(np.array(A)).requires_grad_(True)
    if rule == "svd":
        outs = torch.linalg.svd(X, full_matrices=False)
    elif rule == "eigh":
        outs = torch.linalg.eigh(X)
    else:
        outs = torch.linalg.eig(X)
    cts = [torch.from_numpy(c) for c in _cotangents(rule, [o.detach().numpy() for o in outs])]
    return lambda: torch.autograd.grad(tuple(outs), X, cts, retain_graph=True)


class _Peer:
    timeout = 300

    def _start(self, peer, rule, dtype, n, batch=()):
        if not _have(peer):
            raise NotImplementedError(f"{peer} is not importable")
        self._old_cpus = pin_threads({min(os.sched_getaffinity(0))})
        A = _input(rule, dtype, n, batch)
        self.pullback = (jax_pullback if peer == "jax" else torch_pullback)(rule, A)
        self.pullback()  # compile / warm up

    def teardown(self, *params):
        if getattr(self, "_old_cpus", None):
            pin_threads(self._old_cpus)


class PeerDense(_Peer):
    params = [PEERS, ["svd", "eigh", "eig"], ["float64", "complex128"], [8, 512]]
    param_names = ["peer", "rule", "dtype", "n"]
    timer = CPU_TIMER

    def setup(self, peer, rule, dtype, n):
        self._start(peer, rule, dtype, n)

    def time_vjp(self, peer, rule, dtype, n):
        self.pullback()

    def track_vjp_gemm(self, peer, rule, dtype, n):
        """Over one numpy n x n GEMM of the same dtype, as linalgad's figure."""
        return sig(median_time(self.pullback) / gemm_time(n, dtype))

    track_vjp_gemm.unit = "GEMM"


class PeerBatch(_Peer):
    params = [PEERS, ["svd", "eigh"], ["100000x3x3", "10000x16x16"]]
    param_names = ["peer", "rule", "batch"]
    timer = CPU_TIMER

    def setup(self, peer, rule, shape):
        B, _, n = (int(x) for x in shape.split("x"))
        self._start(peer, rule, "float64", n, (B,))

    def time_vjp(self, peer, rule, shape):
        self.pullback()
