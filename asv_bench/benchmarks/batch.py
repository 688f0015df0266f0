"""Batches of small matrices: 100,000 3 x 3 and 10,000 16 x 16.

``track_vjp_over_BB_from_memory``: the pullback over an elementwise product
``B * B`` of the same stack (a memory-bound reference measured in the same
run), the caches emptied before every timed call of either, as for a stack
made earlier in a program; the 100,000 3 x 3 target (<= 5) is judged this
way. ``track_vjp_over_BB``: the same with the calls back to back, where
B * B's 14 MB stay in L3 and the pullback's 26-46 MB do not (2.5-3 times
the from-memory figure; kept for its history). ``track_vjp_extra_memory``:
the peak memory the pullback adds, over the size of its output (target:
output plus O(n^2) workspace per thread, so this stays near 1, never grows
with B).
``BatchThreads`` times the OpenMP batch loop with one and two threads.
"""

import time

from .cases import RULES, Case
from .common import (CPU_TIMER, extra_peak_bytes, linalgad, median_time, median_time_from_memory,
                     sig)

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

    def track_vjp_over_BB(self, rule, shape):
        A = self.case.A
        return sig(median_time(self.case.pull) / median_time(lambda: A * A))

    track_vjp_over_BB.unit = "B*B"

    def track_vjp_over_BB_from_memory(self, rule, shape):
        A = self.case.A
        return sig(median_time_from_memory(self.case.pull) / median_time_from_memory(lambda: A * A))

    track_vjp_over_BB_from_memory.unit = "B*B"

    def track_vjp_extra_memory(self, rule, shape):
        return sig(extra_peak_bytes(self.case.pull) / self.case.out_bytes)

    track_vjp_extra_memory.unit = "x output"


class BatchThreads:
    """The batch loop (run_batch) with 1 and 2 OpenMP threads; BLAS stays at
    one thread. Target: 2 threads at least 1.6x faster on 100,000 3 x 3."""

    params = [["svd", "eigh"], [1, 2]]
    param_names = ["rule", "threads"]
    timeout = 300

    def setup(self, rule, threads):
        # a pullback reads the thread count when it runs
        linalgad.set_num_threads(threads)
        self.case = Case(rule, "float64", 3, (100_000,))

    def teardown(self, rule, threads):
        linalgad.set_num_threads(1)

    def time_vjp(self, rule, threads):
        self.case.pull()

    def track_speedup(self, rule, threads):
        """Time with one thread over time with `threads` threads."""
        def at(n):
            def run():
                linalgad.set_num_threads(n)
                self.case.pull()
            return run

        wall = time.perf_counter
        speedup = median_time(at(1), clock=wall) / median_time(at(threads), clock=wall)
        linalgad.set_num_threads(threads)     # what time_vjp measures
        return sig(speedup)

    track_speedup.unit = "x"
