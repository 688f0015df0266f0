"""Small-matrix overhead: one pullback of an n x n matrix (n <= 16),
including the Python call, argument checks and the dispatch to the core.
Target: an 8 x 8 SVD pullback in at most 15 us."""

from .cases import RULES, Case
from .common import CPU_TIMER


class SmallOverhead:
    params = [RULES, ["float64", "complex128"], [2, 3, 8, 16]]
    param_names = ["rule", "dtype", "n"]
    timer = CPU_TIMER

    def setup(self, rule, dtype, n):
        self.case = Case(rule, dtype, n)

    def time_vjp(self, rule, dtype, n):
        """The pullback alone (residuals precomputed)."""
        self.case.pull()

    def time_forward_and_vjp(self, rule, dtype, n):
        """What a user pays per step: the VJP form's forward, then the pullback."""
        self.case.vjp()[1](*self.case.ct)

    def time_jvp(self, rule, dtype, n):
        self.case.jvp()
