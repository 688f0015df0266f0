"""Hermitian eigendecomposition (eigh): primal, pullback, pushforward,
memory, pullback in GEMMs. Skipped until linalgad.eigh_vjp exists."""

import numpy as np

from .common import (CPU_TIMER, DTYPES, MODES, SIZES, gaussian, gemm_equivalents, generator,
                     herm_input, linalgad, need, opts, trim, value_cotangent, vector_cotangent)


class Eigh:
    params = [DTYPES, SIZES, MODES]
    param_names = ["dtype", "n", "degeneracy"]
    timer = CPU_TIMER
    timeout = 300

    def setup(self, dtype, n, mode):
        need("eigh_vjp", "eigh_jvp")
        trim(dtype, n, mode)
        self.A = herm_input(n, dtype, mode)
        self.opts = opts(mode)
        (w, V), self.pullback = linalgad.eigh_vjp(self.A, **self.opts)
        g = generator("eigh-cot", n, dtype, mode)
        self.dw = value_cotangent(g, np.asarray(w))
        self.dV = vector_cotangent(g, np.asarray(V), mode)
        dA = gaussian(g, self.A.shape, dtype)
        self.dA = (0.5 * (dA + dA.conj().T)).astype(dtype)

    def time_primal(self, dtype, n, mode):
        (linalgad.eigh if hasattr(linalgad, "eigh") else np.linalg.eigh)(self.A)

    def time_vjp(self, dtype, n, mode):
        self.pullback(self.dw, self.dV)

    def time_jvp(self, dtype, n, mode):
        # includes the decomposition: subtract time_primal
        linalgad.eigh_jvp(self.A, self.dA, **self.opts)

    def peakmem_vjp(self, dtype, n, mode):
        self.pullback(self.dw, self.dV)

    def track_vjp_gemm(self, dtype, n, mode):
        return gemm_equivalents(lambda: self.pullback(self.dw, self.dV), n, dtype)

    track_vjp_gemm.unit = "GEMM"
