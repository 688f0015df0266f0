"""General eigendecomposition (eig): primal, pullback, pushforward, memory,
pullback in GEMMs. Skipped until linalgad.eig_vjp exists.

Real input has complex eigenvalues and vectors; its GEMM reference is the
real n x n GEMM (the target is stated in real-GEMM equivalents). The
"subspace" mode is not timed: a span-only loss of a non-normal matrix's
eigenvectors has no simple closed form to seed it with.
"""

import numpy as np

from .common import (CPU_TIMER, DTYPES, SIZES, eig_input, gaussian, gemm_equivalents, generator,
                     linalgad, need, opts, trim, value_cotangent, vector_cotangent)


class Eig:
    params = [DTYPES, SIZES, ["generic", "lorentz"]]
    param_names = ["dtype", "n", "degeneracy"]
    timer = CPU_TIMER
    timeout = 300

    def setup(self, dtype, n, mode):
        need("eig_vjp", "eig_jvp")
        trim(dtype, n, mode)
        self.A = eig_input(n, dtype, mode)
        self.opts = opts(mode)
        (w, V), self.pullback = linalgad.eig_vjp(self.A, **self.opts)
        g = generator("eig-cot", n, dtype, mode)
        self.dw = value_cotangent(g, np.asarray(w))
        self.dV = vector_cotangent(g, np.asarray(V), "generic")
        self.dA = gaussian(g, self.A.shape, dtype)

    def time_primal(self, dtype, n, mode):
        (linalgad.eig if hasattr(linalgad, "eig") else np.linalg.eig)(self.A)

    def time_vjp(self, dtype, n, mode):
        self.pullback(self.dw, self.dV)

    def time_jvp(self, dtype, n, mode):
        # includes the decomposition: subtract time_primal
        linalgad.eig_jvp(self.A, self.dA, **self.opts)

    def peakmem_vjp(self, dtype, n, mode):
        self.pullback(self.dw, self.dV)

    def track_vjp_gemm(self, dtype, n, mode):
        """In GEMMs of the input's dtype (real GEMMs for real input)."""
        return gemm_equivalents(lambda: self.pullback(self.dw, self.dV), n, dtype)

    track_vjp_gemm.unit = "GEMM"
