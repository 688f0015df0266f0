"""float32 pullbacks of random matrices: how many the default refuses, and
how accurate the accepted ones are against the float64 rule.

    python scripts/measure_float32.py [--sizes 128,500,1000] [--samples 20,5,2]

For each size, random Gaussian A (svd) and (G + G^T)/2 (eigh) in float32,
with the gauge-invariant loss L = sum C o |X|^2 of the vectors (X = U, or V),
so the cotangent touches every vector. "refused" counts DegeneracyError
with the old default tol = 4096 eps and with the current one. The error is
||dA32 - dA64|| / ||dA64||, dA64 the float64 rule on the same (float32) A.
"""

import argparse

import numpy as np

import linalgad as la


def grads(vjp, A, C, tol):
    res, pb = vjp(A, tol=tol) if tol is not None else vjp(A)
    X = res[0] if vjp is la.svd_vjp else res[1]
    kw = {"dU": 2 * C * X} if vjp is la.svd_vjp else {"dV": 2 * C * X}
    return pb(**kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="128,500,1000")
    ap.add_argument("--samples", default="20,5,2")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    samples = [int(x) for x in args.samples.split(",")]
    old = 4096 * float(np.finfo(np.float32).eps)
    print(f"{'rule':>5} {'n':>5} {'samples':>5} {'refused (4096 eps)':>19} {'refused (now)':>14} "
          f"{'rel err median':>15} {'rel err max':>12}")
    for n, k in zip(sizes, samples):
        for vjp in (la.svd_vjp, la.eigh_vjp):
            ref_old = ref_new = 0
            errs = []
            for seed in range(k):
                rng = np.random.default_rng(seed)
                G = rng.standard_normal((n, n))
                A = (G if vjp is la.svd_vjp else (G + G.T) / 2).astype(np.float32)
                C = rng.standard_normal((n, n))
                try:
                    grads(vjp, A, C.astype(np.float32), old)
                except la.DegeneracyError:
                    ref_old += 1
                try:
                    g32 = grads(vjp, A, C.astype(np.float32), None)
                except la.DegeneracyError:
                    ref_new += 1
                    continue
                g64 = grads(vjp, A.astype(np.float64), C, None)
                errs.append(np.linalg.norm(g32 - g64) / np.linalg.norm(g64))
            name = vjp.__name__.replace("_vjp", "")
            med = f"{np.median(errs):15.2e}" if errs else f"{'-':>15}"
            mx = f"{np.max(errs):12.2e}" if errs else f"{'-':>12}"
            print(f"{name:>5} {n:5d} {k:5d} {ref_old:19d} {ref_new:14d} {med} {mx}", flush=True)


if __name__ == "__main__":
    main()
