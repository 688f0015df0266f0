"""Batches of small matrices: 100,000 3 x 3 and 10,000 16 x 16, one thread.

``track_vjp_extra_memory``: the peak memory the pullback adds, over the size
of its output (output plus O(n^2) workspace per thread, so this stays near
1, never grows with B). The 3 x 3 speed targets (over ``B * B``, threads,
a busy machine) are in ``targets.py``.
"""

from .cases import RULES, Case
from .common import CPU_TIMER, extra_peak_bytes, linalgad, sig

SHAPES = ["100000x3x3", "10000x16x16"]


def _shape(s):
    B, m, n = (int(x) for x in s.split("x"))
    assert m == n
    return (B,), n


class Batch:
    """float64 stacks. 10,000 16 x 16 is timed for svd and eigh only (the
    others' setup costs seconds per job and the 3 x 3 case covers them)."""

    params = [RULES, SHAPES]
    param_names = ["rule", "batch"]
    timer = CPU_TIMER
    timeout = 300

    def setup(self, rule, shape):
        batch, n = _shape(shape)
        if n > 3 and rule not in ("svd", "eigh"):
            raise NotImplementedError("trimmed from the grid")
        self.case = Case(rule, "float64", n, batch)
        linalgad.set_num_threads(1)

    def time_vjp(self, rule, shape):
        self.case.pull()

    def time_jvp(self, rule, shape):
        """Includes the decompositions (the JVP form computes them)."""
        self.case.jvp()

    def peakmem_vjp(self, rule, shape):
        self.case.pull()

    def track_vjp_extra_memory(self, rule, shape):
        return sig(extra_peak_bytes(self.case.pull) / self.case.out_bytes)

    track_vjp_extra_memory.unit = "x output"
