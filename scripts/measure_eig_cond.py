"""How accurate eig_vjp is as the eigenvector matrix V gets ill-conditioned.

    python scripts/measure_eig_cond.py [--quick]

The loss L = Re tr(C^H V diag(w) V^-1) = Re <C, A> is smooth in A even where
A is nearly defective, and its gradient is C exactly. The script forms the
cotangents dw, dV of L in the input's precision (what an autodiff framework
hands to the rule), pulls them back with eig_vjp (cond_max=inf, so nothing is
refused) and reports the relative error ||A_bar - C|| / ||C|| against
cond(V) = ||V||_inf ||V^-1||_inf, the quantity the rule checks.

Two families: near-Jordan matrices S [[1, 1], [d, 1]] (+) D S^-1 (the pair
1 +- sqrt(d) has cond(V) ~ 1/sqrt(d)), swept over d, and random Gaussian
matrices (real and complex) of ordinary sizes. The fitted constant k of
err ~ k eps cond(V)^2 is the error model of docs/eig.md.
"""

import argparse

import numpy as np

import linalgad as la


def cotangents(A, w, V, C):
    Vi = np.linalg.inv(V)
    VinvH = Vi.conj().T
    dV = C @ VinvH @ np.diag(w).conj() - A.conj().T @ C @ VinvH
    dw = np.diagonal(V.conj().T @ C @ VinvH).copy()
    return dw, dV


def one(A, C, dtype):
    A = A.astype(dtype)
    C = C.astype(dtype)
    (w, V), pb = la.eig_vjp(A, cond_max=np.inf, degeneracy="exact")  # measure, never refuse
    dw, dV = cotangents(A, np.asarray(w), np.asarray(V), C)
    if w.dtype.kind != "c":
        dw, dV = dw.real, dV.real
    g = pb(dw=dw.astype(w.dtype), dV=dV.astype(V.dtype))
    Vi = np.linalg.inv(V.astype(np.complex128))
    cond = np.abs(V).sum(1).max() * np.abs(Vi).sum(1).max()
    err = np.linalg.norm(g - C) / np.linalg.norm(C)
    return cond, err


def near_jordan(n, d, rng):
    J = np.zeros((n, n))
    J[0, 0] = J[1, 1] = 1.0
    J[0, 1], J[1, 0] = 1.0, d
    J[2:, 2:] = np.diag(rng.uniform(2.0, 4.0, n - 2))
    S = np.linalg.qr(rng.standard_normal((n, n)))[0] @ np.diag(rng.uniform(1, 2, n))
    return S @ J @ np.linalg.inv(S)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    reps = 3 if args.quick else 6
    for dtype in (np.float64, np.float32):
        eps = np.finfo(dtype).eps
        print(f"\n{np.dtype(dtype).name}: near-Jordan, n = 2, 6, 20")
        print(f"{'d':>9} {'cond(V)':>10} {'rel err':>10} {'err/(eps cond^2)':>17} {'err/(eps cond)':>15}")
        ks, worst = [], []
        dmin = 1e-14 if dtype == np.float64 else 1e-6
        for d in np.logspace(-2, np.log10(dmin), 7 if args.quick else 13):
            row = []
            for n in (2, 6, 20):
                for _ in range(reps):
                    C = rng.standard_normal((n, n))
                    row.append(one(near_jordan(n, d, rng), C, dtype))
            cond = np.array([r[0] for r in row])
            err = np.array([r[1] for r in row])
            k2 = err / (eps * cond**2)
            worst.append((cond[np.argmax(err)], np.max(err)))
            ks.extend(k2[err > 100 * eps])
            print(f"{d:9.1e} {np.median(cond):10.3g} {np.max(err):10.3g} {np.max(k2):17.3g} "
                  f"{np.max(err / (eps * cond)):15.3g}")
        print(f"k = max err/(eps cond^2) over the sweep: {max(ks):.3g} (median {np.median(ks):.3g})")
        # power law err = a eps cond^p through the worst case of each d (err between 100 eps and 1)
        pts = np.array([(c, e) for c, e in worst if 100 * eps < e < 1.0])
        p, la_ = np.polyfit(np.log(pts[:, 0]), np.log(pts[:, 1] / eps), 1)
        print(f"fit of the worst case: err = {np.exp(la_):.3g} eps cond(V)^{p:.2f}")
        cm = eps ** (-1.0 / 3.0)
        print(f"at cond(V) = eps^(-1/3) = {cm:.3g} (the default's first test): worst-case err about "
              f"{np.exp(la_) * eps * cm**p:.2g}")
        print(f"\n{np.dtype(dtype).name}: random Gaussian (real, complex)")
        print(f"{'n':>5} {'kind':>8} {'max cond(V)':>12} {'max rel err':>12} {'max err/(eps cond)':>19}")
        sizes = (10, 50, 200) if args.quick else (10, 50, 100, 200, 400)
        for n in sizes:
            for kind in ("real", "complex"):
                res = []
                for _ in range(2 if n >= 200 else reps):
                    A = rng.standard_normal((n, n))
                    C = rng.standard_normal((n, n))
                    if kind == "complex":
                        A = A + 1j * rng.standard_normal((n, n))
                        C = C + 1j * rng.standard_normal((n, n))
                    cdt = dtype if kind == "real" else np.result_type(dtype, 1j)
                    res.append(one(A, C, cdt))
                cond = np.array([r[0] for r in res])
                err = np.array([r[1] for r in res])
                print(f"{n:5d} {kind:>8} {cond.max():12.3g} {err.max():12.3g} {np.max(err / (eps * cond)):19.3g}")


if __name__ == "__main__":
    main()
