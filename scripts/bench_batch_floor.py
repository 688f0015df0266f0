"""How close the 100,000 3 x 3 batch pullbacks are to what memory allows.

    python scripts/bench_batch_floor.py [--cpu N] [--wall]

The target for a 3 x 3 pullback over 100,000 matrices is at most 5 times an
elementwise product ``B * B`` of the stack (docs/benchmarks.md), where a plain
C loop does the SVD pullback in about 3 times. Both figures depend on where the data lives:
``B * B`` moves 14 MB, which stays in this machine's 32 MiB L3 from one call
to the next, while the SVD pullback reads six arrays and writes one (41 MB),
which do not. This script times, in one pinned process and with both
ratio protocols of bench_targets.py (interleaved samples, median of the
ratios): in cache (calls back to back, B * B's data stays in L3) and from
memory (the caches emptied before every timed call, as for a stack made
earlier in a program; bench_targets judges the target this way, and it
reproduces the issue's figure for the plain loop):

- ``B * B`` (numpy), the reference of the target;
- the traffic floor: one C pass that reads every array the pullback reads
  (residuals and cotangents) and writes an array of dA's size, nothing else
  (vectorised sums: it runs at memory speed, not at the speed of its adds);
- for the SVD, a plain scalar C loop of the square real rule (J = U^T dU,
  K = V^T dV, the split 1/(s_j - s_i), 1/(s_j + s_i) core, U C Vh), checked
  against linalgad's result before it is timed;
- linalgad's pullback.

A ratio under the floor's is out of reach for any code that reads these
arrays. The C is compiled here with the C compiler the build uses
(``cc -O3 -march=native``); the script stops if there is none.
"""

import ctypes
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "asv_bench"))
import timing  # noqa: E402  (no numpy: pins before numpy is imported)

if __name__ == "__main__":  # bench_targets.py imports floor_of and compile_c, and pins itself
    CPU = timing.pin_single_thread(sys.argv[sys.argv.index("--cpu") + 1] if "--cpu" in sys.argv else None)
    CLOCK = timing.set_clock("wall" if "--wall" in sys.argv else "cpu")

import numpy as np  # noqa: E402

from benchmarks.cases import Case  # noqa: E402

C_SOURCE = r"""
#ifdef _OPENMP
#include <omp.h>
#endif

/* this thread's number and its team's size (0 and 1 without OpenMP) */
static void team(int *t, int *nt)
{
#ifdef _OPENMP
    *t = omp_get_thread_num();
    *nt = omp_get_num_threads();
#else
    *t = 0;
    *nt = 1;
#endif
}

/* every array read once, then the output written once; 32 independent sums
   (each its own chain, so the compiler may use vectors without reassociating)
   let the adds keep up with memory. On nthreads threads, thread t takes the
   t-th slice of every array and of the output (equal work: a static split). */
double traffic(int nthreads, int narr, const double **arr, const long *len, double *out, long nout)
{
    double total = 0.0;
#pragma omp parallel num_threads(nthreads) reduction(+:total) if(nthreads > 1)
    {
        int t, nt;
        team(&t, &nt);
        double s[32] = {0}, acc = 0.0;
        for (int a = 0; a < narr; a++) {
            const double *x = arr[a] + len[a] * t / nt;
            long n = len[a] * (t + 1) / nt - len[a] * t / nt, i = 0;
            for (; i + 32 <= n; i += 32)
                for (int j = 0; j < 32; j++)
                    s[j] += x[i + j];
            for (; i < n; i++)
                acc += x[i];
        }
        for (int j = 0; j < 32; j++)
            acc += s[j];
        for (long i = nout * t / nt; i < nout * (t + 1) / nt; i++)
            out[i] = acc;
        total += acc;
    }
    return total;
}

/* the compute control of the two-thread rows: n rounds of 64 independent
   multiply-adds (8 chains of 8-wide vectors: the FMA units stay busy, no
   memory is touched) split over nthreads; its speedup is what the cores
   themselves gave a second thread in the same minutes */
static volatile double spin_m = 0.999999999, spin_c = 1e-9;

double spin(int nthreads, long n)
{
    double total = 0.0;
#pragma omp parallel num_threads(nthreads) reduction(+:total) if(nthreads > 1)
    {
        int t, nt;
        team(&t, &nt);
        /* m and c read at run time: with constants gcc found that the first
           rounds leave s as it is (a fixed point in rounding) and dropped
           the loop */
        const double m = spin_m, c = spin_c;
        double s[64];
        for (int j = 0; j < 64; j++)
            s[j] = 1.0 + j * 1e-3;
        for (long i = n * t / nt; i < n * (t + 1) / nt; i++)
            for (int j = 0; j < 64; j++)
                s[j] = s[j] * m + c;
        for (int j = 0; j < 64; j++)
            total += s[j];
    }
    return total;
}

/* 1 if traffic() and spin() can use threads */
int traffic_threads(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

/* the square real 3 x 3 SVD pullback, one matrix per iteration, no checks */
void plain_svd3(long B, const double *U, const double *S, const double *Vh, const double *dU,
                const double *dS, const double *dVh, double *out)
{
    for (long b = 0; b < B; b++) {
        const double *u = U + 9 * b, *v = Vh + 9 * b, *gu = dU + 9 * b, *gv = dVh + 9 * b;
        const double *s = S + 3 * b, *gs = dS + 3 * b;
        double J[9], K[9], C[9], T[9];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                double a = 0, c = 0;
                for (int k = 0; k < 3; k++) {
                    a += u[3 * k + i] * gu[3 * k + j];      /* (U^T dU)_ij */
                    c += v[3 * i + k] * gv[3 * j + k];      /* (Vh dVh^T)_ij = (V^T dV)_ij */
                }
                J[3 * i + j] = a;
                K[3 * i + j] = c;
            }
        for (int i = 0; i < 3; i++) {
            C[4 * i] = gs[i];
            for (int j = i + 1; j < 3; j++) {
                double a = J[3 * i + j] - J[3 * j + i], c = K[3 * i + j] - K[3 * j + i];
                double p = 0.5 * (a + c) / (s[j] - s[i]), q = 0.5 * (a - c) / (s[j] + s[i]);
                C[3 * i + j] = p + q;
                C[3 * j + i] = p - q;
            }
        }
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                double a = 0;
                for (int k = 0; k < 3; k++)
                    a += u[3 * i + k] * C[3 * k + j];
                T[3 * i + j] = a;
            }
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                double a = 0;
                for (int k = 0; k < 3; k++)
                    a += T[3 * i + k] * v[3 * k + j];
                out[9 * b + 3 * i + j] = a;
            }
    }
}
"""

P = ctypes.POINTER(ctypes.c_double)


def compile_c(tmp):
    src, lib = os.path.join(tmp, "floor.c"), os.path.join(tmp, "floor.so")
    with open(src, "w") as fh:
        fh.write(C_SOURCE)
    cc = os.environ.get("CC", "cc")
    for flags in (["-O3", "-march=native", "-fopenmp"], ["-O3", "-march=native"], ["-O3"]):
        done = subprocess.run([cc, *flags, "-shared", "-fPIC", "-o", lib, src], capture_output=True)
        if done.returncode == 0:
            return ctypes.CDLL(lib), " ".join(flags)
    sys.exit(f"no C compiler ({cc}): {done.stderr.decode()[-400:]}")


def ptr(x):
    assert x.dtype == np.float64 and x.flags.c_contiguous
    return x.ctypes.data_as(P)


FLOOR_RULES = ("svd", "eigh", "eig")  # the rules whose residuals are their outputs


def floor_of(lib, case, nthreads=1):
    """(callable, MB moved): the traffic floor of a Case's pullback, its
    pass split over `nthreads` threads (compile_c's library without OpenMP:
    ValueError for more than one)."""
    res = case.res
    read = (res.U, res.S, res.Vh) if case.rule == "svd" else res
    arrays = [np.ascontiguousarray(a).view(np.float64) for a in (*read, *case.ct)]  # complex as pairs
    out = np.empty_like(case.A)
    return floor_call(lib, arrays, out, nthreads), (sum(a.nbytes for a in arrays) + out.nbytes) / 1e6


def _check_threads(lib, nthreads):
    if nthreads > 1 and not lib.traffic_threads():
        raise ValueError("the C was built without OpenMP: one thread only")


def floor_call(lib, arrays, out, nthreads=1):
    _check_threads(lib, nthreads)
    arrays = [np.ascontiguousarray(a) for a in arrays]
    ptrs = (P * len(arrays))(*[ptr(a) for a in arrays])
    lens = (ctypes.c_long * len(arrays))(*[a.size for a in arrays])
    lib.traffic.restype = ctypes.c_double
    return lambda: lib.traffic(nthreads, len(arrays), ptrs, lens, ptr(out), out.size)


def spin_call(lib, nthreads, n=500_000):
    """spin() over n rounds (about 1 ms on one core here) on nthreads
    threads (ValueError as floor_call)."""
    _check_threads(lib, nthreads)
    lib.spin.restype = ctypes.c_double
    return lambda: lib.spin(nthreads, ctypes.c_long(n))


def plain_call(lib, res, ct, out):
    args = [ptr(np.ascontiguousarray(a)) for a in (res.U, res.S, res.Vh, *ct)]
    B = out.shape[0]
    return lambda: lib.plain_svd3(ctypes.c_long(B), *args, ptr(out))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        lib, flags = compile_c(tmp)
        rows = []
        for rule in FLOOR_RULES:
            case = Case(rule, "float64", 3, (100_000,))
            A, res = case.A, case.res
            out = np.empty_like(A)
            bb = lambda: A * A  # noqa: E731

            def both(f):
                return timing.ratio(f, bb), timing.ratio_from_memory(f, bb)

            floor_fn, moved = floor_of(lib, case)
            rows.append((f"{rule} pullback (linalgad)", *both(case.pull), moved))
            rows.append((f"{rule}: traffic floor (read its inputs, write dA)", *both(floor_fn), moved))
            if rule == "svd":
                plain = plain_call(lib, res, case.ct, out)
                plain()
                ref = case.pull()
                err = np.max(np.abs(out - ref)) / np.max(np.abs(ref))
                assert err < 1e-10, f"the plain C loop disagrees with linalgad: {err:.2e}"
                rows.append(("svd: plain scalar C loop", *both(plain), moved))
        print(f"100,000 3x3 float64, pinned CPU {CPU}, {CLOCK} time, C built with {flags}; "
              f"B * B moves {2 * A.nbytes / 1e6:.1f} MB\n")
        print("| case | in cache: time | B * B | ratio | from memory: time | B * B | ratio | MB moved |")
        print("|---|---|---|---|---|---|---|---|")
        for name, (r, t, tbb), (rm, tm, tbbm), mb in rows:
            print(f"| {name} | {t * 1e3:.2f} ms | {tbb * 1e3:.3f} ms | {r:.1f} | "
                  f"{tm * 1e3:.2f} ms | {tbbm * 1e3:.3f} ms | {rm:.1f} | {mb:.1f} |")


if __name__ == "__main__":
    main()
