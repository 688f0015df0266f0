"""SVD: primal, pullback, pushforward, peak memory, pullback in GEMMs."""

from .common import (CPU_TIMER, DTYPES, MODES, SIZES, gaussian, gemm_equivalents, generator,
                     linalgad, opts, row_cotangent, svd_input, trim, value_cotangent,
                     vector_cotangent)


class Svd:
    """Square n x n, every cotangent present (dU, dS, dVh): the 4-GEMM case."""

    params = [DTYPES, SIZES, MODES]
    param_names = ["dtype", "n", "degeneracy"]
    timer = CPU_TIMER
    timeout = 300

    def setup(self, dtype, n, mode):
        trim(dtype, n, mode)
        self.A = svd_input(n, dtype, mode)
        self.opts = opts(mode)
        res, self.pullback = linalgad.svd_vjp(self.A, **self.opts)
        g = generator("svd-cot", n, dtype, mode)
        self.dU = vector_cotangent(g, res.U, mode)
        self.dS = value_cotangent(g, res.S)
        self.dVh = row_cotangent(g, res.Vh, mode)
        self.dA = gaussian(g, self.A.shape, dtype)

    def time_primal(self, dtype, n, mode):
        linalgad.svd(self.A)

    def time_vjp(self, dtype, n, mode):
        self.pullback(self.dU, self.dS, self.dVh)

    def time_jvp(self, dtype, n, mode):
        # the JVP form includes the decomposition: subtract time_primal
        linalgad.svd_jvp(self.A, self.dA, **self.opts)

    def peakmem_vjp(self, dtype, n, mode):
        self.pullback(self.dU, self.dS, self.dVh)

    def track_vjp_gemm(self, dtype, n, mode):
        """Pullback time over one n x n numpy matmul of the same dtype."""
        return gemm_equivalents(lambda: self.pullback(self.dU, self.dS, self.dVh), n, dtype)

    track_vjp_gemm.unit = "GEMM"


class SvdCotangents:
    """Which cotangents are present: the rule's cost header says 1 GEMM for
    dS alone, 3 with one vector cotangent, 4 with both."""

    params = [["float64", "complex128"], [128, 512], ["S", "U", "U+Vh", "all"]]
    param_names = ["dtype", "n", "cotangents"]
    timer = CPU_TIMER
    timeout = 300

    def setup(self, dtype, n, which):
        A = svd_input(n, dtype, "generic")
        res, self.pullback = linalgad.svd_vjp(A)
        g = generator("svd-which", n, dtype)
        ct = {"dU": vector_cotangent(g, res.U, "generic"), "dS": value_cotangent(g, res.S),
              "dVh": row_cotangent(g, res.Vh, "generic")}
        keep = {"S": ["dS"], "U": ["dU"], "U+Vh": ["dU", "dVh"], "all": ["dU", "dS", "dVh"]}[which]
        self.kw = {k: v for k, v in ct.items() if k in keep}

    def track_vjp_gemm(self, dtype, n, which):
        return gemm_equivalents(lambda: self.pullback(**self.kw), n, dtype)

    track_vjp_gemm.unit = "GEMM"


class SvdShapes:
    """Tall (2n x n), wide (n x 2n) and truncated (top n/4) SVDs; GEMMs are
    still counted in n x n products."""

    params = [["float64", "complex128"], [128, 256], ["tall", "wide", "truncated"]]
    param_names = ["dtype", "n", "shape"]
    timer = CPU_TIMER
    timeout = 300

    def setup(self, dtype, n, shape):
        g = generator("svd-shape", n, dtype, shape)
        if shape == "truncated":
            A, k = svd_input(n, dtype, "generic"), n // 4
        else:
            B = svd_input(2 * n, dtype, "generic")
            A, k = (B[:, :n] if shape == "tall" else B[:n, :]).copy(), None
        self.A = A
        res, self.pullback = linalgad.svd_vjp(A, k=k)
        self.ct = (vector_cotangent(g, res.U, "generic"), value_cotangent(g, res.S),
                   row_cotangent(g, res.Vh, "generic"))

    def track_vjp_gemm(self, dtype, n, shape):
        return gemm_equivalents(lambda: self.pullback(*self.ct), n, dtype)

    track_vjp_gemm.unit = "GEMM"
