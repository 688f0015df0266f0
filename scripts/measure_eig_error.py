"""Which quantity predicts the error of eig_vjp: cond(V), or the pairs of
close eigenvalues with large eigenvalue condition numbers?

    python scripts/measure_eig_error.py [--full]

Same loss as scripts/measure_eig_cond.py (L = Re <C, A>, gradient C exactly,
cotangents formed in the input's precision, cond_max=inf so nothing is
refused). Families: perturbed Jordan blocks of size 2 and 3 (eigenvalues
1 + d^(1/k) roots of unity) embedded in a random matrix of size n = 3..50
and conjugated by a random S; random Gaussian real and complex matrices.
For each matrix: the relative error, cond(V) and the predictor
eps * linalgad.rules.eig.pair_cond(w, V); then a summary, and how many
random matrices each criterion refuses: cond(V) alone (above eps^(-1/3))
and the default (cond(V) above eps^(-1/3) and pair_cond above 0.05/eps).
About 3 s by default, 30 s with --full.
"""

import argparse
import sys
import pathlib

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from measure_eig_cond import one  # noqa: E402

from linalgad.rules.eig import _Defect, _cond_inf, pair_cond  # noqa: E402


def jordan_embedded(n, k, d, rng):
    """A k x k Jordan block at 1 with d in its corner, in a random n x n
    block upper-triangular matrix, conjugated by a random S."""
    T = np.triu(rng.standard_normal((n, n)) / np.sqrt(n))
    T[k:, k:] = 3.0 + rng.standard_normal((n - k, n - k)) / np.sqrt(max(n - k, 1))
    T[:k, :k] = np.eye(k) + np.eye(k, k=1)
    T[k - 1, 0] = d
    S = rng.standard_normal((n, n)) / np.sqrt(n) + np.eye(n)
    return S @ T @ np.linalg.inv(S)


def row(A, C, dtype):
    cond, err = one(A, C, dtype)
    w, V = np.linalg.eig(A.astype(dtype))
    return cond, err, float(np.finfo(dtype).eps) * float(pair_cond(w, V))


def refused(cond, pred, dtype):
    """The default test: cond(V) above its bound and eps * pair_cond above eps times its bound."""
    d = _Defect(None, dtype)
    return (cond > d.cond) & (pred > float(np.finfo(dtype).eps) * d.pair)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    reps = 4 if args.full else 2
    out = []
    for dtype in (np.float64, np.float32):
        eps = np.finfo(dtype).eps
        dmin = 1e-15 if dtype == np.float64 else 1e-7
        for k in (2, 3):
            for n in ((3, 6, 20, 50) if args.full else (3, 10, 30)):
                for d in np.logspace(-1, np.log10(dmin), 8 if args.full else 5):
                    for _ in range(reps):
                        A = jordan_embedded(max(n, k), k, d, rng)
                        out.append((np.dtype(dtype).name, f"jordan{k}", n) +
                                   row(A, rng.standard_normal(A.shape), dtype))
        for n in ((3, 10, 20, 50, 100) if args.full else (3, 10, 20, 50)):
            for kind in ("real", "complex"):
                for _ in range(reps if n < 50 else 2):
                    A = rng.standard_normal((n, n))
                    C = rng.standard_normal((n, n))
                    cdt = dtype
                    if kind == "complex":
                        A = A + 1j * rng.standard_normal((n, n))
                        C = C + 1j * rng.standard_normal((n, n))
                        cdt = np.result_type(dtype, 1j)
                    out.append((np.dtype(dtype).name, kind, n) + row(A, C, cdt))
    print(f"{'dtype':>8} {'family':>8} {'n':>4} {'cond(V)':>9} {'err':>9} {'pred':>9} {'err/pred':>9}")
    for dt, fam, n, cond, err, pred in out:
        print(f"{dt:>8} {fam:>8} {n:4d} {cond:9.2e} {err:9.2e} {pred:9.2e} {err / pred:9.2e}")
    print("\nsummary (err/pred: the largest, over errors in (100 eps, 1); "
          "old: cond(V) > eps^(-1/3) alone, new: the default)")
    print(f"{'dtype':>8} {'family':>8} {'cases':>5} {'err/pred':>9} {'err/(eps cond)':>14} "
          f"{'err>0.1':>7} {'refused old':>11} {'new':>4} {'max err passed new':>18}")
    for dt in ("float64", "float32"):
        eps = float(np.finfo(dt).eps)
        for fam in ("jordan2", "jordan3", "real", "complex"):
            r = np.array([o[3:] for o in out if o[0] == dt and o[1] == fam])
            cond, err, pred = r.T
            big = (err > 100 * eps) & (err < 1)
            old = cond > eps ** (-1.0 / 3.0)
            new = refused(cond, pred, dt)
            bad = err > 0.1
            print(f"{dt:>8} {fam:>8} {len(r):5d} {np.max(err[big] / pred[big], initial=0):9.2g} "
                  f"{np.max(err / (eps * cond)):14.3g} {bad.sum():7d} {old.sum():11d} "
                  f"{new.sum():4d} {np.max(err[~new], initial=0):18.2g}")

    refusals(args.full)


def refusals(full):
    """How many random Gaussian matrices each criterion refuses (no error
    computed: the prediction alone, so larger samples)."""
    print("\nrandom Gaussian matrices refused, cond(V) > eps^(-1/3) alone / the default")
    sizes = {np.float32: ((20, 100), (50, 100), (100, 30)) if full else ((20, 20), (50, 20), (100, 5)),
             np.float64: ((100, 10), (300, 3)) if full else ((100, 3), (300, 1))}
    for dtype, cases in sizes.items():
        eps = float(np.finfo(dtype).eps)
        for n, count in cases:
            for kind in ("real", "complex"):
                rng = np.random.default_rng(100 + n)
                old = new = 0
                for _ in range(count):
                    A = rng.standard_normal((n, n))
                    if kind == "complex":
                        A = (A + 1j * rng.standard_normal((n, n))).astype(np.result_type(dtype, 1j))
                    w, V = np.linalg.eig(A.astype(dtype) if kind == "real" else A)
                    cond = _cond_inf(V)
                    old += cond > eps ** (-1.0 / 3.0)
                    new += refused(cond, eps * pair_cond(w, V), dtype)
                print(f"{np.dtype(dtype).name:>8} {kind:>8} n = {n:3d}: {old:3d} / {new:3d} of {count}")


if __name__ == "__main__":
    main()
