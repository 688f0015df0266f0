# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: nonecheck=False, cpow=True
"""linalgad's compiled core: the VJP/JVP kernels of every rule.

One file per primal, each with its math, workspace layout, general kernels,
3x3 lane kernels and entry points: _svd.pxi, _svfun.pxi (polar and
svfunm), _eigh.pxi, _funm.pxi, _eig.pxi. They build on the blocks declared
once and cimported: _blas.pxd (the fused scalar type, BLAS/LAPACK),
_policy.pxd (the degeneracy decision, workspaces), _status.pxd (the status
codes and error record); _lapack.pxi holds the LAPACK-level helpers and
_lanes.pxi the machinery of the lane kernels. This file has what the
entry points share: the array checks and the batch loop. Kernels are ``noexcept nogil`` and return a status; the
``def`` entry points take their output as a typed memoryview (its fused
scalar type picks the kernel) and their inputs as checked ndarrays,
release the GIL, run the batch and hand any failure back as a tuple that
linalgad/_errors.py turns into an exception. The Python layer
(linalgad/rules/) validates inputs and calls these.
"""

cimport numpy as cnp
from cython.parallel cimport parallel
cimport openmp
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

from linalgad._status cimport *
from linalgad._blas cimport *
from linalgad._policy cimport *

cnp.import_array()


# --- array checks shared by the def entry points -----------------------------------

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX


cdef inline int npy_type(const scalar_t* tag) noexcept nogil:
    # NumPy's type number of scalar_t
    if scalar_t is float:
        return cnp.NPY_FLOAT32
    elif scalar_t is double:
        return cnp.NPY_FLOAT64
    elif scalar_t is cfloat_t:
        return cnp.NPY_COMPLEX64
    else:
        return cnp.NPY_COMPLEX128


cdef int expect(str name, const Py_ssize_t* shape, int ndim, Py_ssize_t a, Py_ssize_t b,
                Py_ssize_t c) except -1:
    """ValueError unless a shape is (a, b[, c])."""
    if shape[0] != a or shape[1] != b or (ndim == 3 and shape[2] != c):
        got = tuple(shape[i] for i in range(ndim))
        raise ValueError(f"{name} has shape {got}, expected {(a, b, c)[:ndim]}")
    return 0


cdef int arg(object x, str name, int typenum, int ndim, Py_ssize_t a, Py_ssize_t b, Py_ssize_t c,
             const void** data) except -1:
    """data[0] = the data of an argument (NULL for None) after checking it:
    an ndarray of typenum, C-contiguous, aligned and native-endian, of
    shape (a, b[, c]). The entry points take their inputs so (cheaply) and
    their output as a typed memoryview, whose dtype picks the kernel."""
    cdef cnp.ndarray y
    if x is None:
        data[0] = NULL
        return 0
    if not isinstance(x, cnp.ndarray) or cnp.PyArray_TYPE(<cnp.ndarray> x) != typenum:
        raise TypeError(f"{name} must be a {cnp.PyArray_DescrFromType(typenum)} array")
    y = <cnp.ndarray> x
    if (cnp.PyArray_NDIM(y) != ndim or not cnp.PyArray_IS_C_CONTIGUOUS(y)
            or not cnp.PyArray_ISALIGNED(y) or not cnp.PyArray_ISNOTSWAPPED(y)):
        raise ValueError(f"{name} must be a C-contiguous, aligned, native-endian {ndim}-d array")
    expect(name, <const Py_ssize_t*> cnp.PyArray_DIMS(y), ndim, a, b, c)
    data[0] = cnp.PyArray_DATA(y)
    return 0


cdef Py_ssize_t dim(object x, str name, int ndim, int axis) except -1:
    """x.shape[axis] of an ndarray of ndim dimensions (a size the others are checked against)."""
    if not isinstance(x, cnp.ndarray) or cnp.PyArray_NDIM(<cnp.ndarray> x) != ndim:
        raise ValueError(f"{name} must be a {ndim}-d array")
    return cnp.PyArray_DIMS(<cnp.ndarray> x)[axis]


cdef size_t ws_bytes(size_t total, str kernel) except? 0:
    """A layout's total, checked: MemoryError when it overflowed or is
    beyond what malloc could return (run_batch adds its ErrInfo slot and
    the alignment slack to it)."""
    if total >= (<size_t> PY_SSIZE_T_MAX) - 4 * WS_ALIGN:
        raise MemoryError(f"{kernel}: the per-matrix workspace would exceed the address space")
    return total


cdef int check_index_range(Py_ssize_t count, str what) except -1:
    """The kernels index one matrix's blocks with C int: refuse (ValueError)
    a matrix whose dimensions or largest block exceed INT_MAX entries."""
    if count > 2147483647:
        raise ValueError(f"{what}: a matrix dimension or block of {count} entries; the compiled "
                         f"core indexes a matrix with 32-bit integers (at most 2**31 - 1)")
    return 0


cdef inline bint finite_bits(const void* p, Py_ssize_t count, bint single) noexcept nogil:
    # an OR-reduction of the exponent bits (all ones means inf or nan) over
    # `count` floats (single) or doubles: branch-free, so it vectorises
    cdef Py_ssize_t i
    cdef const unsigned long long* d = <const unsigned long long*> p
    cdef const unsigned int* f = <const unsigned int*> p
    cdef unsigned long long bad64 = 0
    cdef unsigned int bad32 = 0
    if single:
        for i in range(count):
            bad32 |= (f[i] & 0x7f800000U) == 0x7f800000U
        return bad32 == 0
    for i in range(count):
        bad64 |= (d[i] & 0x7ff0000000000000ULL) == 0x7ff0000000000000ULL
    return bad64 == 0


cdef int finite(const scalar_t* p, Py_ssize_t count, str name) except -1:
    """ValueError naming an argument (NULL: absent) holding inf or nan."""
    cdef bint ok
    cdef bint single = scalar_t is float or scalar_t is cfloat_t
    if p == NULL:
        return 0
    with nogil:
        ok = finite_bits(p, count * (2 if is_cplx(<scalar_t*> NULL) else 1), single)
    if not ok:
        raise ValueError(f"{name} contains NaN or Inf")
    return 0


def all_finite(cnp.ndarray a):
    """True when every entry of a C-contiguous, aligned float32/64 or
    complex64/128 array is finite."""
    cdef int t = cnp.PyArray_TYPE(a)
    cdef Py_ssize_t size = cnp.PyArray_SIZE(a)
    cdef bint ok
    if not cnp.PyArray_IS_C_CONTIGUOUS(a) or not cnp.PyArray_ISALIGNED(a):
        raise ValueError("all_finite needs a C-contiguous, aligned array")
    if t not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64, cnp.NPY_COMPLEX64, cnp.NPY_COMPLEX128):
        raise TypeError("all_finite: unsupported dtype")
    if t == cnp.NPY_COMPLEX64 or t == cnp.NPY_COMPLEX128:
        size *= 2
    with nogil:
        ok = finite_bits(cnp.PyArray_DATA(a), size, t == cnp.NPY_FLOAT32 or t == cnp.NPY_COMPLEX64)
    return ok


# --- the batch loop -----------------------------------------------------------------
#
# Every rule runs one kernel per matrix of a contiguous (B, m, n) stack. The
# loop over B is here and only here: serial for one matrix or one thread,
# otherwise an OpenMP loop with one workspace per thread (never one per
# matrix). A kernel returns a status; the first failure (lowest batch index
# seen) is reported and the other threads stop early. Threads claim the
# items in chunks (8 a thread) from a shared counter: on a shared machine one
# core often runs slower for a while, and a static half each would leave the
# other core waiting.
#
# An item is fused over the scalar type through its last argument (a NULL
# tag): `svd_vjp_item[scalar_t]` is the kernel of one dtype, and the batch
# loop is compiled once per dtype to call it.

# the size of the last team run_batch ran (1 when serial): what a caller
# can observe of a thread-count setting (linalgad._options, tests)
cdef int _last_team = 0

# --- BLAS inside a parallel batch --------------------------------------------------------
#
# The kernels call SciPy's BLAS. A multi-threaded OpenBLAS (pthreads) runs its
# own threads inside each of the batch loop's, and they busy-wait: on a busy
# machine that made 64x64 batches many times slower than one thread. So while
# a batch the caller asked to run in parallel runs (small matrices: their BLAS
# calls gain nothing from BLAS threads), that BLAS runs on one thread, also
# when the busy-machine guard below runs the batch serially (after a switch
# to one thread and back, OpenBLAS's next threaded call waits for its threads
# to wake: 30-100 ms on a busy machine). The caller's setting is put back when
# the last such batch returns (a count, for batches run at once from several
# Python threads). linalgad._options finds the library's
# thread-count functions at import; when it finds none nothing is changed.

ctypedef int (*blas_get_fn)() noexcept nogil
ctypedef void (*blas_set_fn)(int) noexcept nogil

cdef blas_get_fn _blas_get = NULL
cdef blas_set_fn _blas_set = NULL
cdef openmp.omp_lock_t _batch_lock
openmp.omp_init_lock(&_batch_lock)
cdef int _blas_users = 0        # batches holding the BLAS at one thread now
cdef int _blas_saved = 1        # the caller's BLAS threads while they run
cdef int _blas_in_batch = 0     # BLAS threads inside the last such batch (0: not hooked)


def set_blas_thread_functions(size_t get_addr, size_t set_addr):
    """Hook the BLAS that the kernels call: the addresses of its thread-count
    getter (int f(void)) and setter (void f(int)); 0, 0 unhooks. Returns
    False (and changes nothing) while a parallel batch runs."""
    global _blas_get, _blas_set
    if (get_addr == 0) != (set_addr == 0):
        raise ValueError("set_blas_thread_functions: give both addresses or neither")
    openmp.omp_set_lock(&_batch_lock)
    busy = _blas_users != 0
    if not busy:
        _blas_get = <blas_get_fn> <void*> get_addr
        _blas_set = <blas_set_fn> <void*> set_addr
    openmp.omp_unset_lock(&_batch_lock)
    return not busy


def blas_threads_in_last_batch():
    """The BLAS thread count inside the last batch asked to run in parallel
    (0: BLAS not hooked, or no such batch yet). A diagnostic, as last_team()."""
    return _blas_in_batch


cdef inline void blas_one_thread() noexcept nogil:
    """Entering a batch asked to run in parallel: the hooked BLAS to one thread."""
    global _blas_users, _blas_saved, _blas_in_batch
    openmp.omp_set_lock(&_batch_lock)
    if _blas_set != NULL:
        if _blas_users == 0:
            _blas_saved = _blas_get()
            if _blas_saved > 1:
                _blas_set(1)
        _blas_in_batch = _blas_get()
    _blas_users += 1
    openmp.omp_unset_lock(&_batch_lock)


cdef inline void blas_restore() noexcept nogil:
    """Leaving it: the last one out restores the caller's setting."""
    global _blas_users
    openmp.omp_set_lock(&_batch_lock)
    _blas_users -= 1
    if _blas_users == 0 and _blas_set != NULL and _blas_saved > 1:
        _blas_set(_blas_saved)
    openmp.omp_unset_lock(&_batch_lock)


# --- the guard against a busy machine -------------------------------------------------
#
# On a busy machine a parallel batch can wait a whole time slice for a thread
# the scheduler has not run yet (to start, or to finish the chunk it holds):
# 17x slower than one thread for 5,000 3x3 matrices, measured with one
# CPU-bound process per core. Each parallel batch checks, from the calling
# thread's own pace, whether it beat running serially; when it did not, the
# following batches run serially for a while (BACKOFF_MIN seconds, doubling up
# to BACKOFF_MAX while the probes keep losing, halving when they win). The
# guard is on for the default thread count and off after set_num_threads(n).

cdef double BACKOFF_MIN = 0.02
cdef double BACKOFF_MAX = 1.0
cdef int _guard_on = 1
cdef double _serial_until = 0.0     # omp_get_wtime() before which batches run serially
cdef double _backoff = 0.02


cdef inline bint guard_says_serial() noexcept nogil:
    cdef bint serial
    openmp.omp_set_lock(&_batch_lock)
    serial = _guard_on and openmp.omp_get_wtime() < _serial_until
    openmp.omp_unset_lock(&_batch_lock)
    return serial


cdef inline void guard_note(bint lost) noexcept nogil:
    """A parallel batch lost (or won) against the serial estimate."""
    global _serial_until, _backoff
    openmp.omp_set_lock(&_batch_lock)
    if lost:
        _serial_until = openmp.omp_get_wtime() + _backoff
        _backoff = min(2 * _backoff, BACKOFF_MAX)
    else:
        _backoff = max(_backoff / 2, BACKOFF_MIN)
    openmp.omp_unset_lock(&_batch_lock)


def batch_guard(on=None, lost=None, reset=False):
    """The busy-machine guard: turn it on/off (linalgad._options does, with
    set_num_threads), record a lost (True) or won (False) parallel batch as
    run_batch does, or reset it; returns (on, seconds of serial batches left,
    current backoff)."""
    global _guard_on, _serial_until, _backoff
    if on is not None:
        _guard_on = bool(on)
    if lost is not None:
        guard_note(bool(lost))
    openmp.omp_set_lock(&_batch_lock)
    if reset:
        _serial_until, _backoff = 0.0, BACKOFF_MIN
    left = max(0.0, _serial_until - openmp.omp_get_wtime())
    state = (bool(_guard_on), left, _backoff)
    openmp.omp_unset_lock(&_batch_lock)
    return state


cdef extern from *:
    """
    /* a worker takes the next chunk of the batch (the counter may pass B) */
    static inline Py_ssize_t linalgad_claim(Py_ssize_t* next, Py_ssize_t n) {
        return __atomic_fetch_add(next, n, __ATOMIC_RELAXED);
    }
    """
    Py_ssize_t linalgad_claim(Py_ssize_t* next, Py_ssize_t n) nogil


cdef int run_serial(int (*fn)(void*, Py_ssize_t, char*, ErrInfo*, scalar_t*) noexcept nogil, void* ctx,
                    Py_ssize_t B, size_t work_bytes, ErrInfo* err) noexcept nogil:
    """run_batch on the calling thread alone."""
    cdef Py_ssize_t b
    cdef int code
    cdef char* raw
    cdef char* work
    global _last_team
    _last_team = 1
    raw = <char*> malloc(work_bytes + WS_ALIGN)
    if raw == NULL:
        err.code = E_NOMEM
        return E_NOMEM
    work = ws_align(raw)
    for b in range(B):
        err.b = b      # a kernel that handles several matrices per item may refine it
        code = fn(ctx, b, work, err, <scalar_t*> NULL)
        if code != OK:
            err.code = code
            break
    free(raw)
    return err.code


cdef int run_batch(int (*fn)(void*, Py_ssize_t, char*, ErrInfo*, scalar_t*) noexcept nogil,
                   void* ctx, Py_ssize_t B, size_t work_bytes, int nthreads,
                   ErrInfo* err) noexcept nogil:
    """Run fn(ctx, b, work, err) for b in [0, B): serially, or on up to
    nthreads OpenMP threads, each with its own work_bytes workspace (aligned
    to WS_ALIGN, never one per item). Returns the status of the failure with
    the lowest index seen (the others stop early), copied into err; OK when
    every item passed. Sets _last_team. When nthreads > 1 the hooked BLAS
    runs on one thread for the call, and the busy-machine guard may run
    the batch serially."""
    cdef Py_ssize_t b, lo, hi, done, next_item = 0
    cdef Py_ssize_t* next_p = &next_item
    cdef char* work
    cdef char* raw
    cdef int code, tid, stop = 0
    cdef int* stop_p = &stop
    cdef Py_ssize_t chunk
    cdef ErrInfo* errs
    cdef ErrInfo* mine
    cdef int team = 1
    cdef int* team_p = &team
    cdef double t0, t_in, wall
    cdef double span = 0.0          # the calling thread's time in items
    cdef double* span_p = &span
    cdef Py_ssize_t own = 0         # and the items it ran
    cdef Py_ssize_t* own_p = &own
    global _last_team
    err.code = OK
    if B <= 0:
        return OK
    if work_bytes < 16:
        work_bytes = 16
    if nthreads <= 1 or B == 1:
        return run_serial(fn, ctx, B, work_bytes, err)
    # a batch the caller would run in parallel holds small matrices: their
    # BLAS calls gain nothing from BLAS threads, serial or not (see above)
    blas_one_thread()
    if guard_says_serial():
        run_serial(fn, ctx, B, work_bytes, err)
        blas_restore()
        return err.code
    if nthreads > B:
        nthreads = <int> B
    # chunks from a shared counter, 8 per thread: a thread that starts late
    # (or runs slower for a while) takes fewer
    chunk = max(B // (8 * nthreads), 1)
    errs = <ErrInfo*> malloc(nthreads * sizeof(ErrInfo))
    if errs == NULL:
        blas_restore()
        err.code = E_NOMEM
        return E_NOMEM
    for tid in range(nthreads):
        errs[tid].code = OK
        errs[tid].b = B
    t0 = openmp.omp_get_wtime()
    with parallel(num_threads=nthreads):
        tid = openmp.omp_get_thread_num()
        if tid == 0:
            team_p[0] = openmp.omp_get_num_threads()
        mine = &errs[tid]
        raw = <char*> malloc(work_bytes + ERR_PAD + WS_ALIGN)
        work = NULL if raw == NULL else ws_align(raw)
        if work == NULL:
            mine.code = E_NOMEM
            mine.b = 0
            stop_p[0] = 1
        t_in = openmp.omp_get_wtime()
        done = 0
        while work != NULL and not stop_p[0]:
            lo = linalgad_claim(next_p, chunk)
            if lo >= B:
                break
            hi = min(lo + chunk, B)
            for b in range(lo, hi):
                (<ErrInfo*> work).b = b
                code = fn(ctx, b, work + ERR_PAD, <ErrInfo*> work, <scalar_t*> NULL)
                if code != OK:
                    (<ErrInfo*> work).code = code
                    if mine.code == OK or b < mine.b:
                        memcpy(mine, work, sizeof(ErrInfo))
                    stop_p[0] = 1
                    break
            done = done + (hi - lo)
        if tid == 0:
            span_p[0] = openmp.omp_get_wtime() - t_in
            own_p[0] = done
        free(raw)
    wall = openmp.omp_get_wtime() - t0
    blas_restore()
    _last_team = team
    # lost: slower than the calling thread's own pace would have run all B
    # items alone (it ran `own` of them in `span` seconds)
    if _guard_on and stop == 0 and own > 0:
        guard_note(wall * own > span * B)
    for tid in range(nthreads):
        if errs[tid].code != OK and (err.code == OK or errs[tid].b < err.b):
            memcpy(err, &errs[tid], sizeof(ErrInfo))
    free(errs)
    return err.code


# The 3x3 lane kernels (float64) run over blocks of LANES matrices; a block
# with a lane they cannot take goes to the general kernel, matrix by matrix.
ctypedef int (*item_d)(void* ctx, Py_ssize_t b, char* work, ErrInfo* e, double* tag) noexcept nogil

cdef struct Batch:          # the part of every entry point's context the lane blocks read
    Py_ssize_t B
    bint check_finite       # the lane kernel checks the cotangents it loads
    item_d one              # the general kernel of one float64 matrix


include "_lanes.pxi"


cdef object err_tuple(ErrInfo* e):
    if e.code == OK:
        return None
    return (e.code, e.b, e.i, e.j, e.x, e.y, e.val, e.lim)


cdef object run_entry(int (*fn)(void*, Py_ssize_t, char*, ErrInfo*, scalar_t*) noexcept nogil,
                      item_d lanes, Batch* batch, void* ctx, size_t work_bytes, int nthreads,
                      tuple names):
    """The common tail of the entry points: run fn over the batch or, when
    `lanes` (a block function, or NULL) is given, lanes over blocks of LANES
    matrices with fn as the fallback of one matrix. names: the checked
    cotangents' names, or None for no check (the lane kernels check what
    they load; otherwise the caller checked them with `finite`). Returns
    None or the error tuple; a lane kernel's inf/nan is the ValueError."""
    cdef ErrInfo e
    cdef Py_ssize_t B = batch.B
    if lanes != NULL:
        batch.check_finite = names is not None
        with nogil:
            run_batch(lanes, ctx, (B + LANES - 1) // LANES, work_bytes, nthreads, &e)
    else:
        with nogil:
            run_batch(fn, ctx, B, work_bytes, nthreads, &e)
    if e.code == E_NONFINITE:
        raise ValueError(f"{names[e.i]} contains NaN or Inf")
    return err_tuple(&e)


# --- threads: what linalgad._options reads ---------------------------------------------

def omp_max_threads():
    """The OpenMP runtime's max threads now: OMP_NUM_THREADS, or what
    threadpoolctl set (omp_set_num_threads), or the CPUs it found at start."""
    return openmp.omp_get_max_threads()


def last_team():
    """Threads of the last batch loop the core ran (1: serial; 0: none yet).
    A diagnostic: one value for the process, whatever thread called."""
    return _last_team


# --- the rules ---------------------------------------------------------------------

include "_lapack.pxi"
include "_svd.pxi"
include "_svfun.pxi"
include "_eigh.pxi"
include "_funm.pxi"
include "_eig.pxi"


# --- workspace layouts, for tests at sizes that are never allocated ---------------------

def workspace(str kernel, Py_ssize_t m, Py_ssize_t n, size_t itemsize):
    """The workspace layout one call of `kernel` carves for an m x n matrix
    (the square kernels take m = n) of `itemsize`-byte items (eig_vjp_real:
    the real item size): a dict of sub-buffer offsets and "total" bytes, as
    the entry points compute it. MemoryError when the size overflows.
    Kernels: svd_vjp, svd_jvp, svfun, polar (svfun with the P cotangent),
    eigh_vjp, eigh_jvp (also funm), eig_vjp, eig_jvp, eig_vjp_real."""
    cdef size_t um, un, uk
    if m < 0 or n < 0:
        raise ValueError("m and n must be >= 0")
    um, un = <size_t> m, <size_t> n
    uk = um if um < un else un
    if kernel == "svd_vjp":
        layout = svd_vjp_ws(um, un, uk, itemsize)
    elif kernel == "svd_jvp":
        layout = svd_jvp_ws(um, un, uk, itemsize)
    elif kernel == "svfun" or kernel == "polar":
        layout = svfun_ws(um, un, uk, itemsize, kernel == "polar")
    elif kernel == "eigh_vjp" or kernel == "eigh_jvp":
        layout = eigh_ws(un, itemsize, kernel == "eigh_vjp")
    elif kernel == "eig_vjp" or kernel == "eig_jvp":
        layout = eig_ws(un, itemsize, kernel == "eig_vjp")
    elif kernel == "eig_vjp_real":
        layout = eig_real_ws(un, itemsize)
    else:
        raise ValueError(f"unknown kernel {kernel!r}")
    ws_bytes(layout["total"], kernel)
    return layout
