"""Functions of matrices: funm (Hermitian A, F = V f(w) V^H) and svfunm
(G = U g(S) Vh). Skipped until linalgad.funm_vjp / svfunm_vjp exist.

Both rules are exact at any degeneracy (divided differences), so the
"degeneracy" axis is the input's spectrum in default options.
"""

import numpy as np

from .common import (CPU_TIMER, DTYPES, SIZES, gaussian, gemm_equivalents, generator, herm_input,
                     linalgad, need, svd_input, trim)

SPECTRA = ["generic", "repeated"]


def _spectrum_mode(mode):
    return "generic" if mode == "generic" else "subspace"


def _tanh_prime(s):
    return 1.0 - np.tanh(s) ** 2


class Funm:
    """F = expm(A) for Hermitian A (f = "exp")."""

    params = [DTYPES, SIZES, SPECTRA]
    param_names = ["dtype", "n", "degeneracy"]
    timer = CPU_TIMER
    timeout = 300

    def setup(self, dtype, n, mode):
        need("funm_vjp", "funm_jvp")
        trim(dtype, n, mode)
        self.A = herm_input(n, dtype, _spectrum_mode(mode), key="funm")
        F, self.pullback = linalgad.funm_vjp(self.A, "exp", UPLO=None)
        g = generator("funm-cot", n, dtype, mode)
        self.dF = gaussian(g, np.shape(F), dtype)
        dA = gaussian(g, self.A.shape, dtype)
        self.dA = (0.5 * (dA + dA.conj().T)).astype(dtype)

    def time_primal(self, dtype, n, mode):
        # forward of the VJP form: decomposition, f(w), residuals
        linalgad.funm_vjp(self.A, "exp", UPLO=None)

    def time_vjp(self, dtype, n, mode):
        self.pullback(self.dF)

    def time_jvp(self, dtype, n, mode):
        linalgad.funm_jvp(self.A, self.dA, "exp", UPLO=None)

    def peakmem_vjp(self, dtype, n, mode):
        self.pullback(self.dF)

    def track_vjp_gemm(self, dtype, n, mode):
        return gemm_equivalents(lambda: self.pullback(self.dF), n, dtype)

    track_vjp_gemm.unit = "GEMM"


class Svfunm:
    """G = U tanh(S) Vh (g a callable with its derivative)."""

    params = [DTYPES, SIZES, SPECTRA]
    param_names = ["dtype", "n", "degeneracy"]
    timer = CPU_TIMER
    timeout = 300

    def setup(self, dtype, n, mode):
        need("svfunm_vjp", "svfunm_jvp")
        trim(dtype, n, mode)
        self.A = svd_input(n, dtype, _spectrum_mode(mode), key="svfunm")
        G, self.pullback = linalgad.svfunm_vjp(self.A, np.tanh, dg=_tanh_prime)
        g = generator("svfunm-cot", n, dtype, mode)
        self.dG = gaussian(g, np.shape(G), dtype)
        self.dA = gaussian(g, self.A.shape, dtype)

    def time_primal(self, dtype, n, mode):
        linalgad.svfunm_vjp(self.A, np.tanh, dg=_tanh_prime)

    def time_vjp(self, dtype, n, mode):
        self.pullback(self.dG)

    def time_jvp(self, dtype, n, mode):
        linalgad.svfunm_jvp(self.A, self.dA, np.tanh, dg=_tanh_prime)

    def peakmem_vjp(self, dtype, n, mode):
        self.pullback(self.dG)

    def track_vjp_gemm(self, dtype, n, mode):
        return gemm_equivalents(lambda: self.pullback(self.dG), n, dtype)

    track_vjp_gemm.unit = "GEMM"
