"""The project's speed and memory targets, one ``track_`` benchmark each.

Each returns a figure measured in this process against a reference timed
in the same process (one n x n GEMM, the elementwise product ``B * B`` of
the same stack, the same call on one thread), samples of the two
interleaved and the median of the per-sample ratios taken, so a spell of
load falls on both terms alike. The docstring's ``Limit:`` line states the
target; ``scripts/targets_table.py`` reads it, with the measured value, from
asv's results and prints the pass/fail table.

Single-thread figures are in process CPU time; figures comparing thread
counts are in wall time. Thread settings go through threadpoolctl (BLAS)
and ``linalgad.set_num_threads`` (the batch loop).
"""

import os
import subprocess
import sys


from .cases import RULES, Case
from .common import (WALL_TIMER, extra_peak_bytes, gemm_call, linalgad, median_time, ratio,
                     ratio_from_memory, set_threads, sig)

BATCHES = ["100000x3x3", "2000x64x64"]


def _batch_case(rule, shape):
    B, _, n = (int(x) for x in shape.split("x"))
    return Case(rule, "float64", n, (B,))


class _OverGemm:
    """A square pullback over one n x n numpy matmul of the same dtype."""

    rule, n = "svd", 512
    params = [["float64", "complex128"]]
    param_names = ["dtype"]
    timeout = 300

    def setup(self, dtype):
        self.case = Case(self.rule, dtype, self.n)

    def over_gemm(self):
        return sig(ratio(self.case.pull, gemm_call(self.n, self.case.dtype)))


class SvdGemm(_OverGemm):
    def track_pullback_over_gemm(self, dtype):
        """SVD pullback, n = 512 / one GEMM

        Every cotangent given.

        Limit: <= 4.5
        """
        return self.over_gemm()

    track_pullback_over_gemm.unit = "ratio"


class EighGemm(_OverGemm):
    rule = "eigh"

    def track_pullback_over_gemm(self, dtype):
        """eigh pullback, n = 512 / one GEMM

        dw and dV given.

        Limit: <= 3.0
        """
        return self.over_gemm()

    track_pullback_over_gemm.unit = "ratio"


class EigGemm(_OverGemm):
    rule, n = "eig", 256
    params = [["float64"]]

    def track_pullback_over_gemm(self, dtype):
        """eig pullback, real input, n = 256 / one real GEMM

        dw and dV given (the rule works in complex arithmetic).

        Limit: <= 16
        """
        return self.over_gemm()

    track_pullback_over_gemm.unit = "ratio"


class Latency8:
    params = [RULES]
    param_names = ["rule"]

    def setup(self, rule):
        self.case = Case(rule, "float64", 8)

    def track_pullback_us(self, rule):
        """One 8x8 pullback in microseconds, Python call included

        float64; an absolute time, there being no reference to divide by.

        Limit: <= 15
        """
        return sig(median_time(self.case.pull) * 1e6)

    track_pullback_us.unit = "us"


class BatchOverBB:
    params = [RULES]
    param_names = ["rule"]
    timeout = 300

    def setup(self, rule):
        self.case = _batch_case(rule, "100000x3x3")

    def track_pullback_over_BB(self, rule):
        """100,000 3x3 pullback / B * B, from memory, one thread

        float64. Both from memory: the caches are emptied before every timed
        call, as for a stack made earlier in a program.

        Limit: <= 5
        """
        A = self.case.A
        return sig(ratio_from_memory(self.case.pull, lambda: A * A))

    track_pullback_over_BB.unit = "ratio"


MEMORY_CASES = ["svd-512-float64", "svd-512-complex128", "eigh-512-float64",
                "eig-256-float64", "svd-100000x3x3", "polar-100000x3x3", "eigh-100000x3x3",
                "eig-100000x3x3"]


class Memory:
    params = [MEMORY_CASES]
    param_names = ["case"]
    timeout = 300

    def setup(self, name):
        rule, size, *dtype = name.split("-")
        if "x" in size:
            self.case, n = _batch_case(rule, size), 3
        else:
            n = int(size)
            self.case = Case(rule, dtype[0], n)
        # eig of real input works in complex arithmetic
        item = self.case.dtype.itemsize * (2 if rule == "eig" and self.case.dtype.kind == "f" else 1)
        self.allowance = self.case.out_bytes + 8 * n * n * item + 64 * 1024

    def extra(self):
        """Least peak memory a pullback added over three calls (after one warm-up)."""
        self.case.pull()
        return min(extra_peak_bytes(self.case.pull) for _ in range(3))

    def track_extra_memory(self, name):
        """Peak memory a pullback adds / (output + O(n^2) workspace)

        The workspace allowance is 8 n^2 itemsize + 64 KiB: never a
        workspace per matrix of a batch. One thread.

        Limit: <= 1
        """
        return sig(self.extra() / self.allowance)

    track_extra_memory.unit = "ratio"


class MemoryOverOutput(Memory):
    params = [["svd-2000-float64", "svd-2000-complex128", "polar-2000-float64"]]
    track_extra_memory = None   # the allowance figure is Memory's

    def track_extra_over_output(self, name):
        """Peak memory a 2000 x 2000 pullback adds / its output's size

        Every cotangent given; the output itself included. One thread.

        Limit: <= 3
        """
        return sig(self.extra() / self.case.out_bytes)

    track_extra_over_output.unit = "ratio"


class EigMemoryOverOutput(MemoryOverOutput):
    params = [["eig-2000-float64"]]

    def track_extra_over_output(self, name):
        """Peak memory a 2000 x 2000 eig pullback adds / its output's size

        Real input (the rule works in complex arithmetic, its cotangent dV
        is complex); dw and dV given; the output itself included. One thread.

        Limit: <= 5
        """
        return sig(self.extra() / self.case.out_bytes)

    track_extra_over_output.unit = "ratio"


class Threads:
    params = [RULES, BATCHES]
    param_names = ["rule", "batch"]
    timeout = 300

    def setup(self, rule, shape):
        if len(os.sched_getaffinity(0)) < 2:
            raise NotImplementedError("needs two CPUs")
        self.case = _batch_case(rule, shape)

    def teardown(self, rule, shape):
        set_threads(1)

    def track_two_thread_speedup(self, rule, shape):
        """Quiet machine: batch pullback on one thread / on two

        The batch loop's threads (BLAS at one thread); wall time. Meaningful
        only on an otherwise idle machine.

        Limit: >= 1.6
        """
        return sig(ratio(self.case.pull, self.case.pull, min_time=0.3, repeat=9, clock=WALL_TIMER,
                         f_setup=lambda: linalgad.set_num_threads(1),
                         ref_setup=lambda: linalgad.set_num_threads(2)))

    track_two_thread_speedup.unit = "ratio"


# One competing process per CPU: a Python spin loop that says when it runs,
# and ends by itself when its parent goes (asv kills a job that times out)
# or after LOAD_SECONDS, whichever comes first.
LOAD_SECONDS = 300
_SPIN = """
import os, sys, time
parent, end = os.getppid(), time.monotonic() + float(sys.argv[1])
print("spinning", flush=True)
while os.getppid() == parent and time.monotonic() < end:
    for _ in range(100_000):
        pass
"""


def start_load(n, seconds=LOAD_SECONDS):
    """n CPU-bound processes, each running once this returns."""
    procs = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen([sys.executable, "-c", _SPIN, str(seconds)],
                                          stdout=subprocess.PIPE, text=True))
        for p in procs:
            p.stdout.readline()
    except BaseException:
        stop_load(procs)
        raise
    return procs


def stop_load(procs):
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()
        if p.stdout:
            p.stdout.close()


class Busy:
    params = [RULES, BATCHES]
    param_names = ["rule", "batch"]
    timeout = LOAD_SECONDS - 60

    def setup(self, rule, shape):
        self.load = []
        self.case = _batch_case(rule, shape)
        self.load = start_load(len(os.sched_getaffinity(0)))

    def teardown(self, rule, shape):
        stop_load(self.load)
        set_threads(1)

    def track_busy_ratio(self, rule, shape):
        """Busy machine: batch pullback on the default threads / on one

        One competing CPU-bound process per CPU, started by this benchmark;
        the default threads of BLAS and of the batch loop against one
        thread for both; wall time.

        Limit: <= 1.3
        """
        return sig(ratio(self.case.pull, self.case.pull, min_time=0.3, repeat=7,
                         clock=WALL_TIMER, f_setup=lambda: set_threads(None),
                         ref_setup=lambda: set_threads(1)))

    track_busy_ratio.unit = "ratio"
