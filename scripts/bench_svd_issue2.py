"""The figures issue 2 asks for: the speed of svd_vjp's pullback.

    python scripts/bench_svd_issue2.py

- Square n x n (n = 256, 512), float64 and complex128, every cotangent
  present (dU, dS, dVh): the pullback's time over one ``A @ A`` of the same
  matrix (numpy matmul, same dtype, same process). The rule costs 4 GEMMs
  (U^H dU, Vh dVh^H, U M, (U M) Vh), so the ratio is expected near 4.
- A batch of 100,000 3 x 3 float64 matrices: the pullback's absolute time
  and its ratio to the elementwise product ``B * B`` of the stack.

Pinned single thread (os.sched_setaffinity to one CPU, OPENBLAS/OMP/
LINALGAD_NUM_THREADS=1 set before numpy is imported); medians of 7 samples
after warm-up. Inputs and cotangents: asv_bench/benchmarks/common.py.
"""

import os
import sys

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "LINALGAD_NUM_THREADS"):
    os.environ[_v] = "1"
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "asv_bench"))
from benchmarks import common  # noqa: E402
from benchmarks.cases import Case  # noqa: E402


def median_time(f, min_time=0.5, repeat=7):
    f()
    f()
    t = time.perf_counter()
    f()
    k = max(1, int(min_time / repeat / max(time.perf_counter() - t, 1e-7)))
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(k):
            f()
        samples.append((time.perf_counter() - t) / k)
    return float(np.median(samples))


def fmt(s):
    return f"{s * 1e3:.3g} ms" if s >= 1e-3 else f"{s * 1e6:.3g} us"


def main():
    print(f"linalgad at {os.path.dirname(common.linalgad.__file__)}, numpy {np.__version__}, "
          f"pinned to CPU {sorted(os.sched_getaffinity(0))}, 1 thread\n")
    print("| case | pullback | reference | ratio |")
    print("|---|---|---|---|")
    for dtype in ("float64", "complex128"):
        for n in (256, 512):
            case = Case("svd", dtype, n)
            A = case.A
            tg = median_time(lambda: A @ A)
            tp = median_time(case.pull)
            print(f"| svd_vjp pullback, {n}x{n} {dtype} (dU, dS, dVh) | {fmt(tp)} | A @ A {fmt(tg)} | "
                  f"{tp / tg:.2f} |", flush=True)
    case = Case("svd", "float64", 3, (100_000,))
    B = case.A
    tb = median_time(lambda: B * B)
    tp = median_time(case.pull)
    print(f"| svd_vjp pullback, 100,000 3x3 float64 | {fmt(tp)} ({tp / 1e5 * 1e9:.0f} ns/matrix) | "
          f"B * B {fmt(tb)} | {tp / tb:.1f} |")


if __name__ == "__main__":
    main()
