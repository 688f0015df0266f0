"""Polar decomposition A = Q P: primal, pullback, pushforward, memory, GEMMs.

Polar needs no degeneracy option (only sums of singular values appear), so
its "degeneracy" axis is the input: distinct singular values, repeated ones,
and an orthogonal/unitary A (every singular value 1), all in default mode.
"""

from .common import (CPU_TIMER, DTYPES, SIZES, gaussian, gemm_equivalents, generator, haar,
                     linalgad, svd_input, trim)


def polar_input(n, dtype, mode):
    if mode == "orthogonal":
        return haar(generator("polar", n, dtype, mode), n, dtype).astype(dtype)
    return svd_input(n, dtype, "generic" if mode == "generic" else "subspace", key="polar")


class Polar:
    params = [DTYPES, SIZES, ["generic", "repeated", "orthogonal"]]
    param_names = ["dtype", "n", "degeneracy"]
    timer = CPU_TIMER
    timeout = 300

    def setup(self, dtype, n, mode):
        trim(dtype, n, mode)
        self.A = polar_input(n, dtype, mode)
        res, self.pullback = linalgad.polar_vjp(self.A)
        g = generator("polar-cot", n, dtype, mode)
        self.dQ = gaussian(g, res.Q.shape, dtype)
        self.dP = gaussian(g, res.P.shape, dtype)
        self.dA = gaussian(g, self.A.shape, dtype)

    def time_primal(self, dtype, n, mode):
        linalgad.polar(self.A)

    def time_vjp(self, dtype, n, mode):
        self.pullback(self.dQ, self.dP)

    def time_vjp_Q(self, dtype, n, mode):
        self.pullback(self.dQ)

    def time_jvp(self, dtype, n, mode):
        # includes the decomposition: subtract time_primal
        linalgad.polar_jvp(self.A, self.dA)

    def peakmem_vjp(self, dtype, n, mode):
        self.pullback(self.dQ, self.dP)

    def track_vjp_gemm(self, dtype, n, mode):
        """dQ and dP present (header: 4 GEMMs for dQ, 2 more for dP)."""
        return gemm_equivalents(lambda: self.pullback(self.dQ, self.dP), n, dtype)

    track_vjp_gemm.unit = "GEMM"
