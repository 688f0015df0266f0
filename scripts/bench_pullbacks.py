"""A pullback's time over one n x n GEMM, and over B * B for a 3 x 3 batch.

    python scripts/bench_pullbacks.py [--rules svd,eigh,eig] [--cpu N] [--wall]

The figures docs/benchmarks.md quotes (default: --rules svd,eigh,eig):

- Square n x n (n = 256, 512), float64 and complex128, every cotangent
  present (svd: dU, dS, dVh; eigh and eig: dw, dV): the pullback's time over
  one ``A @ A`` of the same matrix (numpy matmul, same dtype, same process).
  The SVD rule costs 4 GEMMs (U^H dU, Vh dVh^H, U M, (U M) Vh), so its ratio
  is expected near 4; eigh 2.5 (V^H dV, a triangular product, a rank-2k
  update); eig of real input works in complex arithmetic (a solve and 3
  complex GEMMs, each about 4 real ones), so its float64 row is over a real
  GEMM.
- A batch of 100,000 3 x 3 float64 matrices: the pullback's absolute time
  and its ratio to the elementwise product ``B * B`` of the stack, in cache
  (calls back to back: B * B's 14 MB stay in L3) and from memory (caches
  emptied before every timed call, ``timing.ratio_from_memory``: how
  bench_targets.py judges the target of 5).

Pinned single thread (os.sched_setaffinity to the idlest CPU or --cpu N,
OPENBLAS/OMP/LINALGAD_NUM_THREADS=1 set before numpy is imported). Times are
process CPU time (--wall for wall time). Each ratio interleaves the samples
of its two terms and takes the median of the per-sample ratios
(asv_bench/timing.py). Inputs and cotangents: asv_bench/benchmarks/common.py.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "asv_bench"))
import timing  # noqa: E402  (no numpy: pins before numpy is imported)

CPU = timing.pin_single_thread(sys.argv[sys.argv.index("--cpu") + 1] if "--cpu" in sys.argv else None)
CLOCK = timing.set_clock("wall" if "--wall" in sys.argv else "cpu")

import numpy as np  # noqa: E402

from benchmarks import common  # noqa: E402
from benchmarks.cases import Case  # noqa: E402


def fmt(s):
    return f"{s * 1e3:.3g} ms" if s >= 1e-3 else f"{s * 1e6:.3g} us"


def main():
    rules = (sys.argv[sys.argv.index("--rules") + 1] if "--rules" in sys.argv else "svd,eigh,eig").split(",")
    load0 = timing.load_average()
    rows = []
    for rule in rules:
        for dtype in ("float64", "complex128"):
            for n in (256, 512):
                case = Case(rule, dtype, n)
                A = case.A
                r, tp, tg = timing.ratio(case.pull, lambda: A @ A, 1.0)
                rows.append(f"| {rule}_vjp pullback, {n}x{n} {dtype} | {fmt(tp)} | "
                            f"A @ A {fmt(tg)} | {r:.2f} |")
        case = Case(rule, "float64", 3, (100_000,))
        B = case.A
        r, tp, tb = timing.ratio(case.pull, lambda: B * B, 1.0)
        rows.append(f"| {rule}_vjp pullback, 100,000 3x3 float64, in cache | {fmt(tp)} ({tp / 1e5 * 1e9:.0f} "
                    f"ns/matrix) | B * B {fmt(tb)} | {r:.1f} |")
        r, tp, tb = timing.ratio_from_memory(case.pull, lambda: B * B)
        rows.append(f"| {rule}_vjp pullback, 100,000 3x3 float64, from memory | {fmt(tp)} | "
                    f"B * B {fmt(tb)} | {r:.1f} |")
    print(f"linalgad at {os.path.dirname(common.linalgad.__file__)}, numpy {np.__version__}, "
          f"pinned to CPU {CPU}, 1 thread, {CLOCK} clock; load average {load0} at start, "
          f"{timing.load_average()} at end (2 cores)\n")
    print("| case | pullback | reference | ratio |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
