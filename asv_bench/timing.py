"""Timing helpers for scripts/bench_targets.py, bench_pullbacks.py and
bench_batch_floor.py (outside the benchmarks package, so asv does not
collect it).

``pin_single_thread()`` must run before numpy is imported: it sets the
thread variables of every BLAS/OpenMP runtime to 1 and binds the process to
one CPU, the idlest one on a shared machine unless told which.
"""

import os
import time

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "LINALGAD_NUM_THREADS")
XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def idlest_cpu(allowed=None, window=0.3):
    """The allowed CPU with the most idle time over `window` seconds."""

    def idle():
        out = {}
        with open("/proc/stat") as fh:
            for line in fh:
                f = line.split()
                if f[0].startswith("cpu") and f[0] != "cpu":
                    out[int(f[0][3:])] = int(f[4]) + int(f[5])
        return out

    allowed = sorted(allowed or os.sched_getaffinity(0))
    try:
        a = idle()
        time.sleep(window)
        b = idle()
    except (OSError, ValueError, IndexError):
        return allowed[0]
    return max(allowed, key=lambda c: (b.get(c, 0) - a.get(c, 0), -c))


ALLOWED = sorted(os.sched_getaffinity(0))  # the CPUs this process could use at import


def pin_single_thread(cpu=None):
    """Thread variables to 1 and the process bound to `cpu` (default: the
    idlest allowed CPU). Returns the CPU."""
    for v in THREAD_VARS:
        os.environ[v] = "1"
    os.environ.setdefault("XLA_FLAGS", XLA_FLAGS)
    cpu = idlest_cpu() if cpu is None else int(cpu)
    os.sched_setaffinity(0, {cpu})
    return cpu


_CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = time.perf_counter


def clock_name():
    return next(k for k, v in _CLOCKS.items() if v is _clock)


def set_clock(name):
    """"wall" (perf_counter) or "cpu" (process CPU time: on a pinned
    single-thread process it excludes the time other jobs hold the core,
    which on a shared machine is most of the noise; not for thread scaling)."""
    global _clock
    _clock = _CLOCKS[name]
    return name


def load_average():
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def median_time(f, min_time=0.3, repeat=7):
    """Median seconds per call over `repeat` samples of k calls (k so a
    sample lasts about min_time / repeat), after two warm-up calls."""
    import numpy as np
    f()
    f()
    t = time.perf_counter()
    f()
    k = max(1, int(min_time / repeat / max(time.perf_counter() - t, 1e-7)))
    samples = []
    for _ in range(repeat):
        t = _clock()
        for _ in range(k):
            f()
        samples.append((_clock() - t) / k)
    return float(np.median(samples))


def ratio(f, ref, min_time=0.3, repeat=9):
    """f's time over ref's: samples interleaved (f, ref, f, ref, ...) and the
    median of the per-sample ratios, so load drifting on a shared machine
    hits both alike. Returns (ratio, seconds of f, seconds of ref), medians."""
    return ratios([(f, ref)], min_time, repeat)[0]


def ratios(pairs, min_time=0.3, repeat=9):
    """``ratio`` of several (f, ref) pairs in one loop: each round takes one
    sample of every term in turn (f1, ref1, f2, ref2, ...), so a spell of
    load falls on all the pairs alike and their ratios can be read against
    each other. Each term's sample lasts about min_time / 2 / repeat.
    Returns [(ratio, seconds of f, seconds of ref)] in the order of pairs."""
    import numpy as np
    terms = [h for pair in pairs for h in pair]
    for _ in range(2):
        for h in terms:
            h()
    ks = []
    for h in terms:
        t = time.perf_counter()
        h()
        ks.append(max(1, int(min_time / 2 / repeat / max(time.perf_counter() - t, 1e-7))))
    samples = [[] for _ in terms]
    for _ in range(repeat):
        for h, k, acc in zip(terms, ks, samples):
            t = _clock()
            for _ in range(k):
                h()
            acc.append((_clock() - t) / k)
    out = []
    for i in range(0, len(terms), 2):
        tf, tr = np.array(samples[i]), np.array(samples[i + 1])
        out.append((float(np.median(tf / tr)), float(np.median(tf)), float(np.median(tr))))
    return out


def evict():
    """Push every cache line of earlier data out (benchmarks.common.evict:
    imported here, not at the top, since this module must load before numpy)."""
    from benchmarks.common import evict as _evict
    _evict()


def ratio_from_memory(f, ref, repeat=15):
    """As ``ratio``, with f's and ref's data coming from memory: each sample
    is evict, one call of f, evict, one call of ref. B * B of a 100,000 3x3
    stack (14 MB) stays in L3 between back-to-back calls while a pullback
    (40 MB) cannot, so in cache the reference is 3x faster than in a
    program whose stack was made earlier. This protocol reproduces the
    peer figures of docs/benchmarks.md (JAX ~10, PyTorch 35-60, a plain C loop ~3 x B * B).
    Returns (median of the per-sample ratios, median seconds of f, of ref)."""
    import numpy as np
    for _ in range(2):
        f()
        ref()
    tf, tr = [], []
    for _ in range(repeat):
        for h, acc in ((f, tf), (ref, tr)):
            evict()
            t = _clock()
            h()
            acc.append(_clock() - t)
    tf, tr = np.array(tf), np.array(tr)
    return float(np.median(tf / tr)), float(np.median(tf)), float(np.median(tr))
