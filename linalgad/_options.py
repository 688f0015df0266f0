"""The options every rule takes (``**opts`` in the API) and the thread count.

Thresholds are relative so that a batch may mix scales:

- ``tol``: two values are degenerate when ``|x_i - x_j| <= tol * scale``, with
  ``scale`` the largest singular value (SVD, polar) or largest ``|eigenvalue|``
  of that matrix; a singular value is zero when ``s_i <= tol * scale``.
  Default ``32 * eps`` of the dtype (7.1e-15 for float64, 3.8e-6 for float32).
  It marks the gaps where the vectors are not numerically determined, i.e.
  where the gap is at the level of the solver's backward error (a few eps
  times the scale), not every gap where accuracy degrades (the vectors'
  error is about eps * scale / gap). Measured (scripts/measure_tol.py): the
  rounding spread of an exactly repeated value is at most 8 eps * scale for
  n = 3 to 1000 (it does not grow with n there), and the smallest gap of
  random Gaussian matrices is at least 170 eps * scale at n = 1000 (larger
  for smaller n), so 32 eps has a margin of 4 on both sides. Until 0.x the
  default was 4096 eps, which refused 8 in 20 random 128 x 128 float32
  matrices; a float64 pair closer than 32 eps is now refused, one between
  32 eps and 4096 eps gets a gradient whose vector part has a relative
  error of about eps * scale / gap (up to 1e-2). Pass ``tol=`` for a wider
  margin (e.g. n beyond a few thousand).
- ``eps`` (lorentz): ``1/x -> x / (x**2 + eps * scale**2)``. Default
  ``eps(dtype) ** 0.75`` (a broadening width of about 1.3e-6 * scale in float64).
- ``order`` (taylor): number of terms of the geometric series (power iterations).
  Default 16, at most ``MAX_ORDER`` (10**6: the terms beyond that are below
  rounding for any spectrum the series converges on, and the loop costs
  ``order`` operations per pair).
- ``gauge_tol``: a gauge residual counts when larger than ``gauge_tol`` times
  the size of the projected cotangent. Default ``sqrt(eps)``. It also
  decides when the cotangents of the values of a degenerate pair are equal:
  ``|c_i - c_j| <= gauge_tol * max_k |c_k|`` (``dw``, ``dS``).

``degeneracy``: "strict" (default) refuses (DegeneracyError) what has no
derivative at a degenerate pair: a cotangent that touches the pair's
vectors, or value cotangents that differ across it (the largest of repeated
eigenvalues has no derivative; functions symmetric within the block, such
as the trace, do). "subspace" and "exact" apply unequal value cotangents in
the basis the solver returned: for a loss convex in the block (the largest
eigenvalue or singular value, the sum of the k largest) that is one
subgradient, not a gradient. "subspace" drops the in-block rotation of the
vectors (exact for losses of the block's span), "exact" takes 1/gap
literally, "lorentz" broadens it, "taylor" replaces it by a power series.
"""

import os
from dataclasses import dataclass

import numpy as np

__all__ = ["MODES", "OPTION_NAMES", "Options", "options", "set_num_threads", "get_num_threads",
           "MAX_THREADS"]

MODES = ("strict", "exact", "subspace", "lorentz", "taylor")
MAX_ORDER = 10**6
DEFAULT_TOL_EPS = 32     # tol = DEFAULT_TOL_EPS * eps (see above)


@dataclass(frozen=True)
class Options:
    degeneracy: str
    tol: float
    eps: float
    order: int
    gauge_tol: float

    def as_policy(self):
        """The options as the compiled core's Policy struct (its fields by name)."""
        return {"mode": MODES.index(self.degeneracy), "rtol": self.tol, "eps": self.eps,
                "order": self.order, "gauge_tol": self.gauge_tol}


OPTION_NAMES = ("degeneracy", "tol", "eps", "order", "gauge_tol")


def _unknown(extra):
    """TypeError for keywords that are no option (called through a rule's
    **opts, so it names the options, not this function)."""
    import difflib

    def named(k):
        close = difflib.get_close_matches(k, OPTION_NAMES, n=1)
        return f"{k!r} (did you mean {close[0]!r}?)" if close else repr(k)

    s = "s" if len(extra) > 1 else ""
    return TypeError(f"unknown option{s} {', '.join(named(k) for k in sorted(extra))}; "
                     f"the options are {', '.join(OPTION_NAMES)}")


def options(dtype, degeneracy="strict", tol=None, eps=None, order=None, gauge_tol=None, **extra):
    """Validate the degeneracy/gauge options and fill in the dtype defaults.

    Any other keyword raises TypeError naming it and listing the options."""
    if extra:
        raise _unknown(extra)
    if degeneracy not in MODES:
        raise ValueError(f"degeneracy must be one of {MODES}, got {degeneracy!r}")
    feps = float(np.finfo(np.dtype(dtype)).eps)
    tol = DEFAULT_TOL_EPS * feps if tol is None else float(tol)
    eps = feps**0.75 if eps is None else float(eps)
    order = 16 if order is None else order
    gauge_tol = feps**0.5 if gauge_tol is None else float(gauge_tol)
    if not (tol >= 0 and np.isfinite(tol)):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    if not (eps > 0 and np.isfinite(eps)):
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or not 1 <= order <= MAX_ORDER:
        raise ValueError(f"order must be an integer in [1, {MAX_ORDER}], got {order!r}")
    if not gauge_tol >= 0:
        raise ValueError(f"gauge_tol must be >= 0 (inf disables the gauge checks), got {gauge_tol!r}")
    return Options(degeneracy, tol, eps, int(order), gauge_tol)


# --- threads ----------------------------------------------------------------------------
#
# The batch loop's thread count follows the ecosystem's conventions, read at
# call time: the OpenMP runtime's max threads (OMP_NUM_THREADS, or what
# threadpoolctl.threadpool_limits set), the CPUs this process may run on
# (sched_getaffinity: taskset, a batch scheduler) and a cgroup CPU quota (a
# container's --cpus); the smallest wins. set_num_threads(n), or
# LINALGAD_NUM_THREADS at import, overrides them all.
# After fork the child runs serially until it calls set_num_threads itself:
# GNU OpenMP's thread pool does not survive fork, and a child's first
# parallel region waits forever for the parent's threads.

# more threads than this is a mistake (and can make libgomp abort creating them)
MAX_THREADS = max(64, 4 * (os.cpu_count() or 1))

_THREADS_RULE = (f"an integer in [1, {MAX_THREADS}]")


def _cgroup_cpus(root="/sys/fs/cgroup"):
    """CPUs allowed by a cgroup CPU quota (v2 cpu.max, v1 cfs quota), or None."""
    import math
    for quota_file, period_file in (("cpu.max", None),
                                    ("cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us")):
        try:
            with open(os.path.join(root, quota_file)) as f:
                fields = f.read().split()
            if period_file is not None:
                with open(os.path.join(root, period_file)) as f:
                    fields += f.read().split()
            quota, period = fields[0], fields[1]
            if quota in ("max", "-1"):
                return None
            return max(1, math.ceil(int(quota) / int(period)))
        except (OSError, ValueError, IndexError):
            continue
    return None


_CGROUP_CPUS = _cgroup_cpus()


def _usable_cpus():
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return min(n, _CGROUP_CPUS) if _CGROUP_CPUS else n


def _env_threads():
    """LINALGAD_NUM_THREADS, or None. A bad value warns (naming the variable)
    and is ignored: the environment must not make ``import linalgad`` fail."""
    import warnings
    env = os.environ.get("LINALGAD_NUM_THREADS", "").strip()
    if not env:
        return None
    try:
        n = int(env)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_THREADS:
        warnings.warn(f"LINALGAD_NUM_THREADS={env!r} ignored: it must be {_THREADS_RULE}; "
                      f"the thread count follows OMP_NUM_THREADS, threadpoolctl and the CPUs "
                      f"this process may use", RuntimeWarning, stacklevel=2)
        return None
    return n


_threads = _env_threads()     # an override, or None: follow the conventions above


def _blas_thread_functions():
    """(getter, setter) addresses of the thread count of the BLAS SciPy's
    cython_blas calls, when it is a pthreads OpenBLAS (the library whose own
    threads would run inside the batch loop's); (0, 0) otherwise. The library
    is the OpenBLAS loaded from SciPy's wheel (scipy.libs), or the only OpenBLAS
    loaded (a system or conda SciPy)."""
    import ctypes
    import scipy
    import scipy.linalg.cython_blas  # noqa: F401 - loads the library
    mapped = _dispatch.mapped_files()
    if mapped is None:  # pragma: no cover - not Linux
        return 0, 0
    libs = {p for p in mapped if "openblas" in p.lower()}
    wheel = os.path.join(os.path.dirname(os.path.dirname(scipy.__file__)), "scipy.libs")
    ours = [p for p in libs if os.path.dirname(p) == wheel] or (list(libs) if len(libs) == 1 else [])
    if len(ours) != 1:
        return 0, 0
    try:
        lib = ctypes.CDLL(ours[0])
    except OSError:  # pragma: no cover
        return 0, 0
    for prefix in ("scipy_openblas", "openblas"):
        for suffix in ("", "64_"):
            names = [f"{prefix}_{what}{suffix}" for what in
                     ("get_parallel", "get_num_threads", "set_num_threads")]
            if all(hasattr(lib, n) for n in names):
                parallel, get, set_ = (getattr(lib, n) for n in names)
                if parallel() != 1:     # sequential, or OpenMP (which runs serially in ours)
                    return 0, 0
                return (ctypes.cast(get, ctypes.c_void_p).value,
                        ctypes.cast(set_, ctypes.c_void_p).value)
    return 0, 0


from . import _core, _dispatch  # noqa: E402 - _core installed by _dispatch, with its OpenMP wait policy
_core.set_blas_thread_functions(*_blas_thread_functions())
_core.batch_guard(on=_threads is None)   # the busy-machine guard: for the default count only
_forked = False


def _after_fork_in_child():
    global _forked
    _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def set_num_threads(n: int | None) -> int | None:
    """Set the number of threads of the core's batch loop.

    Parameters
    ----------
    n : int or None
        Threads, an integer in ``[1, MAX_THREADS]``, or None to follow the
        defaults again: the smallest of the OpenMP runtime's max threads
        (which ``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits``
        set), the CPUs this process may run on and a cgroup CPU quota.
        ``LINALGAD_NUM_THREADS`` in the environment sets it at import.

    Returns
    -------
    int or None
        The previous setting (None: the defaults), so that
        ``old = set_num_threads(1)`` ... ``set_num_threads(old)`` restores it.

    Raises
    ------
    ValueError
        If ``n`` is not None or an integer in ``[1, MAX_THREADS]``.

    Notes
    -----
    The batch loop runs in parallel over small matrices only (n <= 64) and
    only when the batch has enough work (``B * n**3 >= 2**17`` multiply-adds
    and 4 matrices a thread); large matrices leave the cores to BLAS. With the default
    count, a parallel batch that ran slower than the calling thread alone
    would have (a busy machine) makes the following batches run serially for
    a while (20 ms, doubling up to 1 s while it keeps happening); an explicit
    ``n`` turns that guard off. Inside a parallel batch SciPy's OpenBLAS runs
    on one thread; its setting is restored when the call returns. In a child
    process started by ``fork`` the batch loop is serial until the child
    calls this function (GNU OpenMP's threads do not survive a fork).

    Examples
    --------
    >>> import linalgad as la
    >>> old = la.set_num_threads(1)
    >>> la.get_num_threads()
    1
    >>> _ = la.set_num_threads(old)
    """
    global _threads, _forked
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer))
                          or not 1 <= n <= MAX_THREADS):
        raise ValueError(f"set_num_threads: the number of threads must be {_THREADS_RULE} "
                         f"(or None for the default), got {n!r}")
    old, _threads, _forked = _threads, None if n is None else int(n), False
    _core.batch_guard(on=n is None)
    return old


def get_num_threads() -> int:
    """The number of threads the core's batch loop uses now.

    Returns
    -------
    int
        The value set by :func:`set_num_threads`; by default the smallest of
        the OpenMP runtime's max threads, the CPUs this process may run on
        and a cgroup CPU quota (1 in a forked child until it sets its own).

    Notes
    -----
    The threads are used only for batches of small matrices (see
    :func:`set_num_threads`); BLAS has its own thread pool.

    Examples
    --------
    >>> import linalgad as la
    >>> la.get_num_threads() >= 1
    True
    """
    if _forked:
        return 1
    if _threads is not None:
        return _threads
    return max(1, min(_core.omp_max_threads(), _usable_cpus()))


# A batch runs in parallel only with at least this many multiply-adds
# (B * k**3: 4,855 3x3 matrices, about 40 us on one thread) and at least
# _PARALLEL_ITEMS matrices a thread. Measured with one CPU-bound process per
# core: 2,500 3x3 or two 64x64 matrices on two threads ran 1.2-1.8x slower
# than on one (waiting for a thread the scheduler had not run yet, which the
# guard in the core's run_batch can only notice afterwards); 5,000 3x3 or
# eight 64x64 matrices ran 1.0x.
_PARALLEL_WORK = 1 << 17
_PARALLEL_ITEMS = 4


def batch_threads(B, k):
    """Threads for a batch of B problems of size k: the batch loop runs in
    parallel for small matrices only (large ones leave the cores to BLAS),
    and only when the batch has enough work to pay for the threads."""
    if k > 64 or B * k**3 < _PARALLEL_WORK:
        return 1
    return max(1, min(get_num_threads(), B // _PARALLEL_ITEMS))
