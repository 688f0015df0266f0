"""Where the default degeneracy tolerance must lie, in float32 and float64.

    python scripts/measure_tol.py [--sizes 3,10,128,500,1000] [--samples 20]

Two quantities, relative to the spectral scale (largest singular value, or
largest |eigenvalue|), as the rules compare them:

- the spread that rounding puts into an exactly repeated value: singular
  values of a random orthogonal matrix (all 1) and of Q diag(1, 1, 2, ...)
  Z^T, eigenvalues of U diag(1, 1, 2, ...) U^T (the largest |x_i - x_j| over
  the repeated ones). The tolerance must stay above it, or exactly
  degenerate matrices stop being refused.
- the smallest gap of random Gaussian matrices (singular values of G;
  eigenvalues of (G + G^T)/2; eigenvalues of G, complex). The tolerance must
  stay below it, or ordinary matrices are refused.

Both are printed divided by eps * sqrt(n), the form of the default
(linalgad/_options.py).
"""

import argparse

import numpy as np


def orth(n, rng, dtype):
    return np.linalg.qr(rng.standard_normal((n, n)))[0].astype(dtype)


def spreads(n, rng, dtype):
    Q, Z = orth(n, rng, dtype), orth(n, rng, dtype)
    s = np.linalg.svd(Q, compute_uv=False)
    rep = np.ones(n)
    rep[2:] = np.linspace(2, 3, n - 2)
    s2 = np.linalg.svd((Q * rep.astype(dtype)) @ Z.T, compute_uv=False)[::-1]
    w = np.linalg.eigvalsh((Q * rep.astype(dtype)) @ Q.T)
    return (np.ptp(s) / s.max(), abs(s2[1] - s2[0]) / s2.max(), abs(w[1] - w[0]) / np.abs(w).max())


def min_gaps(n, rng, dtype):
    G = rng.standard_normal((n, n)).astype(dtype)
    s = np.linalg.svd(G, compute_uv=False)
    w = np.linalg.eigvalsh((G + G.T) / 2)
    z = np.linalg.eigvals(G)
    d = np.abs(z[:, None] - z[None, :]) + np.diag(np.full(n, np.inf))
    return (min(np.diff(s[::-1]).min(), s.min()) / s.max(), np.diff(w).min() / np.abs(w).max(),
            d.min() / np.abs(z).max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="3,10,128,500,1000")
    ap.add_argument("--samples", type=int, default=20)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        eps = np.finfo(dtype).eps
        print(f"\n{np.dtype(dtype).name}: in units of eps*sqrt(n)")
        print(f"{'n':>5} | rounding spread, max: {'orth sv':>8} {'rep sv':>8} {'rep eigh':>8} "
              f"| smallest gap, min: {'svd':>8} {'eigh':>8} {'eig':>8}")
        for n in (int(x) for x in args.sizes.split(",")):
            samples = args.samples if n <= 128 else max(2, args.samples // 10)
            sp = np.max([spreads(n, rng, dtype) for _ in range(samples)], axis=0) / (eps * np.sqrt(n))
            mg = np.min([min_gaps(n, rng, dtype) for _ in range(samples)], axis=0) / (eps * np.sqrt(n))
            print(f"{n:5d} | {'':>22}{sp[0]:8.3g} {sp[1]:8.3g} {sp[2]:8.3g} | {'':>19}"
                  f"{mg[0]:8.3g} {mg[1]:8.3g} {mg[2]:8.3g}")


if __name__ == "__main__":
    main()
