"""Shared pieces of the benchmark suite: thread settings, seeded inputs with a
prescribed spectrum, gauge-invariant cotangents, an in-run GEMM reference.

Every benchmark runs single-threaded (BLAS limited to one thread through
threadpoolctl, the linalgad batch loop set to one thread) unless a class
says otherwise (``targets.Threads`` and ``targets.Busy`` compare thread counts).

Inputs are built from their spectrum, never drawn raw: a Gaussian matrix of
order 512 has relative singular-value gaps below float32's default
degeneracy threshold (32 eps), so ``degeneracy="strict"`` would raise.
Three degeneracy modes are timed:

``generic``   well separated values (relative gaps >= 1e-3), default strict
              mode, a phase-invariant cotangent (the gradient of
              ``sum(W * |U|**2)``-type losses, as PyTorch's and JAX's own
              timings use).
``subspace``  every value repeated twice, ``degeneracy="subspace"``, a
              cotangent that sees each degenerate pair only through its span
              (the gradient of ``tr(U^H G U)`` with G Hermitian).
``lorentz``   every value repeated twice, ``degeneracy="lorentz"``, the
              generic cotangent.
"""

import os
import sys
import time
import timeit

import numpy as np

try:
    import linalgad
except ImportError:  # benchmarks of the working tree after `build_ext --inplace`
    sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
    import linalgad

try:
    from threadpoolctl import threadpool_info, threadpool_limits
    # what BLAS would use unlimited (the busy-machine benchmark restores it)
    BLAS_DEFAULT_THREADS = max([p["num_threads"] for p in threadpool_info()
                                if p["user_api"] == "blas"] or [1])
    _BLAS_LIMIT = threadpool_limits(limits=1, user_api="blas")
except ImportError:  # pragma: no cover - threadpoolctl is in the bench extra
    BLAS_DEFAULT_THREADS, _BLAS_LIMIT = None, None
# linalgad's own default, restored by set_threads(None)
LINALGAD_DEFAULT_THREADS = linalgad.set_num_threads(1)


def set_threads(n):
    """BLAS (threadpoolctl) and linalgad's batch loop at n threads; None:
    both back to what they were before this module limited them."""
    if _BLAS_LIMIT is not None:
        threadpool_limits(limits=BLAS_DEFAULT_THREADS if n is None else n, user_api="blas")
    linalgad.set_num_threads(LINALGAD_DEFAULT_THREADS if n is None else n)


DTYPES = ["float64", "complex128", "float32"]
SIZES = [8, 32, 128, 512]
MODES = ["generic", "subspace", "lorentz"]
SEED = 20261122


def _seed_words(*key):
    return [SEED] + [sum(ord(c) * 131**i for i, c in enumerate(str(k))) % (2**31) for k in key]


def generator(*key):
    """Deterministic across processes (str hashes are salted, these are not)."""
    return np.random.default_rng(_seed_words(*key))


def is_complex(dtype):
    return np.dtype(dtype).kind == "c"


def gaussian(g, shape, dtype):
    x = g.standard_normal(shape)
    if is_complex(dtype):
        x = x + 1j * g.standard_normal(shape)
    return x.astype(dtype)


def haar(g, n, dtype, batch=()):
    """Random unitary (orthogonal for real dtypes), computed in double."""
    work = np.complex128 if is_complex(dtype) else np.float64
    Q, R = np.linalg.qr(gaussian(g, batch + (n, n), work))
    d = np.diagonal(R, axis1=-2, axis2=-1)
    return Q * (d / np.abs(d))[..., None, :]


def spectrum(n, mode, lo=1.0, hi=3.0, batch=()):
    """Descending values in [lo, hi]: distinct (generic) or in equal pairs."""
    if mode == "generic":
        v = np.linspace(hi, lo, n)
    else:
        v = np.repeat(np.linspace(hi, lo, (n + 1) // 2), 2)[:n]
    return np.broadcast_to(v, batch + (n,)).copy()


def opts(mode):
    return {"generic": {}, "subspace": {"degeneracy": "subspace"},
            "lorentz": {"degeneracy": "lorentz"}}[mode]


def svd_input(n, dtype, mode, batch=(), key="svd"):
    """A = U diag(s) Vh with Haar U, V and the mode's singular values."""
    g = generator(key, n, dtype, mode, batch)
    U, V = haar(g, n, dtype, batch), haar(g, n, dtype, batch)
    s = spectrum(n, mode, batch=batch)
    return ((U * s[..., None, :]) @ V.conj().swapaxes(-1, -2)).astype(dtype)


def herm_input(n, dtype, mode, batch=(), key="eigh"):
    """A = V diag(w) V^H, eigenvalues in [1, 3] (positive: log, sqrt defined)."""
    g = generator(key, n, dtype, mode, batch)
    V = haar(g, n, dtype, batch)
    w = spectrum(n, mode, batch=batch)
    A = (V * w[..., None, :]) @ V.conj().swapaxes(-1, -2)
    return (0.5 * (A + A.conj().swapaxes(-1, -2))).astype(dtype)


def eig_input(n, dtype, mode, batch=(), key="eig"):
    """A = X D X^-1 with X = I + G / (2 sqrt n) (well conditioned).

    Real dtypes: D block diagonal with 2x2 blocks [[a, b], [-b, a]], b = a/2,
    so A is real with complex-conjugate eigenvalue pairs a +- ib, distinct
    (generic) or each pair twice (repeated modes). Complex dtypes: D diagonal
    with eigenvalues s (1 + i/2), s from spectrum().
    """
    g = generator(key, n, dtype, mode, batch)
    work = np.complex128 if is_complex(dtype) else np.float64
    X = np.eye(n) + gaussian(g, batch + (n, n), work) / (2 * np.sqrt(n))
    D = np.zeros((n, n), work)
    if is_complex(dtype):
        D[np.arange(n), np.arange(n)] = spectrum(n, mode) * (1 + 0.5j)
    else:
        a = spectrum(n // 2, mode)
        for j in range(n // 2):
            D[2 * j, 2 * j] = D[2 * j + 1, 2 * j + 1] = a[j]
            D[2 * j, 2 * j + 1], D[2 * j + 1, 2 * j] = 0.5 * a[j], -0.5 * a[j]
        if n % 2:
            D[-1, -1] = 4.0
    # A = X D X^-1, i.e. A^T = X^-T (X D)^T
    A = np.linalg.solve(X.swapaxes(-1, -2), (X @ D).swapaxes(-1, -2)).swapaxes(-1, -2)
    return np.ascontiguousarray(A).astype(dtype)


def weights(g, shape):
    return g.uniform(0.5, 1.5, shape)


def vector_cotangent(g, X, mode):
    """Cotangent of a factor X (..., p, q) whose columns are the vectors.

    generic/lorentz: gradient of sum(W |X|^2) (phase invariant);
    subspace: gradient of tr(X^H G X), G Hermitian (span invariant)."""
    if mode == "subspace":
        p = X.shape[-2]
        G = gaussian(g, X.shape[:-2] + (p, p), X.dtype)
        G = G + G.conj().swapaxes(-1, -2)
        return (G @ X).astype(X.dtype)
    return (2 * weights(g, X.shape) * X).astype(X.dtype)


def row_cotangent(g, Xh, mode):
    """The same for a factor whose rows are the (conjugated) vectors (Vh)."""
    return vector_cotangent(g, Xh.conj().swapaxes(-1, -2), mode).conj().swapaxes(-1, -2).copy()


def value_cotangent(g, values):
    """A random cotangent of spectral values (complex for eig's)."""
    return gaussian(g, values.shape, values.dtype)


# --- timing ------------------------------------------------------------------------
#
# Single-thread benchmarks time process CPU time (asv's `timer` attribute, and
# the track_ helpers below): on a shared machine other jobs take the core for
# a good part of a wall-clock sample, while the CPU time of a single-threaded
# call barely moves. Anything timing several threads uses wall time.
# The track_ helpers sample with timeit (asv's `track_` methods return one
# number, so the sampling inside them is theirs to do).

CPU_TIMER = time.process_time
WALL_TIMER = time.perf_counter


def _number(timer, min_time):
    """Calls per sample so that a sample lasts about min_time (one warm-up call)."""
    return max(1, int(min_time / max(timer.timeit(1), 1e-7)))


def median_time(f, min_time=0.05, repeat=5, clock=CPU_TIMER):
    """Median seconds per call over `repeat` timeit samples."""
    timer = timeit.Timer(f, timer=clock)
    k = _number(timer, min_time / repeat)
    return float(np.median(timer.repeat(repeat, k))) / k


def ratio(f, ref, min_time=0.1, repeat=7, clock=CPU_TIMER, f_setup="pass", ref_setup="pass"):
    """f's time over ref's, the samples of the two interleaved (f, ref, f,
    ref, ...) and the median of the per-sample ratios taken, so a spell of
    load on a shared machine falls on both terms alike. ``*_setup`` run,
    untimed, before each sample of their term (a thread setting)."""
    tf = timeit.Timer(f, setup=f_setup, timer=clock)
    tr = timeit.Timer(ref, setup=ref_setup, timer=clock)
    kf, kr = _number(tf, min_time / 2 / repeat), _number(tr, min_time / 2 / repeat)
    r = [(tf.timeit(kf) / kf) / (tr.timeit(kr) / kr) for _ in range(repeat)]
    return float(np.median(r))


L3_SIZE_FILE = "/sys/devices/system/cpu/cpu0/cache/index3/size"
_UNITS = {"K": 2**10, "M": 2**20, "G": 2**30}


def flush_bytes(size_file=L3_SIZE_FILE):
    """Bytes to write to empty the caches: 3 x the L3 (sysfs), at least
    64 MiB; 96 MiB when sysfs does not say."""
    try:
        with open(size_file) as fh:
            s = fh.read().strip().upper()
        l3 = int(s[:-1]) * _UNITS[s[-1]] if s[-1] in _UNITS else int(s)
    except (OSError, ValueError, IndexError):
        return 96 * 2**20
    return max(3 * l3, 64 * 2**20)


_FLUSH = []  # allocated on first use (not in the forkserver, not in peakmem jobs), then kept


def evict():
    """Push earlier data out of the caches: write a buffer of 3 x the L3."""
    if not _FLUSH:
        _FLUSH.append(np.zeros(flush_bytes() // 8))
    np.add(_FLUSH[0], 1.0, out=_FLUSH[0])


def ratio_from_memory(f, ref, repeat=9, clock=CPU_TIMER):
    """As ``ratio``, each term's data coming from memory: every sample is one
    call after emptying the caches (timeit's untimed setup). B * B of a
    100,000 3x3 stack (14 MB) stays in L3 between back-to-back calls while
    the pullback's arrays (26-46 MB) cannot, which would make the reference
    about 3x faster than in a program whose stack was made earlier."""
    f(), ref()
    tf = timeit.Timer(f, setup=evict, timer=clock)
    tr = timeit.Timer(ref, setup=evict, timer=clock)
    return float(np.median([tf.timeit(1) / tr.timeit(1) for _ in range(repeat)]))


def gemm_call(n, dtype):
    """A zero-argument n x n @ n x n numpy matmul of `dtype`: the GEMM reference."""
    g = generator("gemm", n, dtype)
    A, B = gaussian(g, (n, n), dtype), gaussian(g, (n, n), dtype)
    return lambda: A @ B


_GEMM = {}


def gemm_time(n, dtype):
    """Seconds of one n x n @ n x n numpy matmul of `dtype` (this process)."""
    key = (n, np.dtype(dtype).name)
    if key not in _GEMM:
        _GEMM[key] = median_time(gemm_call(n, dtype))
    return _GEMM[key]


def sig(x, digits=4):
    """A track_ value rounded for asv's tables."""
    return float(f"{x:.{digits}g}")


def gemm_equivalents(f, n, dtype):
    return sig(median_time(f) / gemm_time(n, dtype))


def trim(dtype, n, mode):
    """Keep a --quick run of the whole suite to minutes: n = 512 is timed for
    float64 and complex128 in the generic mode only (each of those jobs
    spends a second or more on the decomposition in setup); the degenerate
    modes and float32 are timed up to n = 128."""
    if n >= 512 and (mode != "generic" or np.dtype(dtype) == np.float32):
        raise NotImplementedError("trimmed from the grid (see common.trim)")


def need(*names):
    """Skip (asv: NotImplementedError in setup) until linalgad has `names`."""
    missing = [name for name in names if not hasattr(linalgad, name)]
    if missing:
        raise NotImplementedError("linalgad has no " + ", ".join(missing) + " yet")


# --- peak memory beyond the output -----------------------------------------------


def _status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(field)


def _libc_malloc_for_measuring():
    """glibc keeps freed blocks and raises its mmap threshold after a large
    free, so a repeated call reuses memory and adds no resident pages. Fix
    the threshold at 64 KiB (every larger block is mapped and unmapped) and
    give back free heap pages before measuring."""
    import ctypes
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: measure as is
        return
    M_MMAP_THRESHOLD = -3
    libc.mallopt(M_MMAP_THRESHOLD, 64 * 1024)
    libc.malloc_trim(0)


def extra_peak_bytes(f):
    """Peak resident memory that f() adds to the process, in bytes (Linux:
    VmHWM reset through /proc/self/clear_refs). Includes f's result. Sets
    glibc's mmap threshold for the rest of the process (see above)."""
    _libc_malloc_for_measuring()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    base = _status("VmRSS")
    out = f()
    peak = _status("VmHWM")
    del out
    return max(0, peak - base)


def pin_threads(cpus):
    """Restrict every thread of this process to `cpus`; returns the old set.
    (os.sched_setaffinity(0, ...) moves only the calling thread; XLA's pool
    would keep both cores.)"""
    old = os.sched_getaffinity(0)
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:  # a thread that just ended
            pass
    return old
