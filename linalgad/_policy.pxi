# The degeneracy policy (how every rule treats a 1/gap coupling), the error
# record a kernel fills in, and the one batching boundary of the core.
#
# Thresholds are relative: a kernel turns them into absolute ones with the
# spectral scale of its own matrix (make_gap), so a batch may mix scales and
# a matrix of norm 1e20 behaves like one of norm 1.

from cython.parallel cimport parallel
cimport openmp

cdef enum:
    STRICT = 0
    EXACT = 1
    SUBSPACE = 2
    LORENTZ = 3
    TAYLOR = 4

# Status codes returned by kernels; linalgad/_errors.py turns them into
# exceptions with a message (keep the two lists in step).
# A kernel's workspace starts after its own ErrInfo slot, padded to keep
# it WS_ALIGN-aligned (see "workspaces" below).
cdef enum:
    ERR_PAD = 64

cdef enum:
    OK = 0
    E_DEGENERATE = 1    # strict: a degenerate pair whose vectors the cotangent touches
    E_RANKDEF = 2       # strict: a zero singular value whose vectors are needed
    E_GAUGE_PHASE = 3   # the cotangent depends on the phase of a vector
    E_GAUGE_BLOCK = 4   # subspace: the cotangent rotates inside a degenerate block
    E_NEGATIVE = 5      # taylor: the spectrum is not positive semi-definite
    E_DOMAIN = 6        # a matrix function outside its domain
    E_ILLCOND = 7       # eig: eigenvector matrix (nearly) singular
    E_NOMEM = 8
    E_NONFINITE = 9     # a cotangent holds inf or nan (i: which argument of the entry point)
    E_SPLIT = 10        # strict: unequal cotangents of the values of a degenerate pair


cdef struct Policy:
    int mode
    double rtol        # degeneracy threshold, relative to the spectral scale
    double eps         # Lorentzian broadening, relative to scale**2
    int order          # Taylor order
    double gauge_tol   # gauge residual threshold, relative to the cotangent


cdef struct ErrInfo:
    int code
    Py_ssize_t b       # batch index
    int i
    int j
    double x           # the two spectral values involved
    double y
    double val         # the offending quantity (gap, gauge residual, ...)
    double lim         # the threshold it broke


cdef struct Gap:       # per-matrix thresholds
    int mode
    int order
    double tol         # absolute: rtol * scale
    double eps         # relative (the Lorentzian works on gaps divided by scale)
    double scale       # the spectral scale, 1 for a zero spectrum
    double ctol        # strict: cotangents of a degenerate pair differ when |c_i - c_j| > ctol * max|c|


cdef inline Gap make_gap(const Policy* p, double scale) noexcept nogil:
    # Nothing here squares a value or a gap: every rule is right from 1e-300
    # to 1e300 (a squared gap overflows beyond 1e154 and underflows below 1e-162).
    cdef Gap g
    g.mode = p.mode
    g.order = p.order
    g.tol = p.rtol * scale
    g.eps = p.eps
    g.scale = scale if scale > 0 else 1.0
    g.ctol = p.gauge_tol
    return g


cdef inline double lorentz(double d, const Gap* g) noexcept nogil:
    # d / (d^2 + eps scale^2), on d / scale so that nothing overflows
    cdef double x = d / g.scale
    return x / (x * x + g.eps) / g.scale


cdef inline int split_check(int n, const double* x, int nc, const double* c, const Gap* g,
                            ErrInfo* e) noexcept nogil:
    """strict: a cotangent c of the sorted values x (c_i for i < nc, zero
    beyond: a truncated SVD) that differs across a degenerate pair
    (|x_i - x_j| <= tol) singles out members of a block, whose values have no
    derivative there: E_SPLIT. Equal means |c_i - c_j| <= ctol * max_k |c_k|
    (gauge_tol relative to this matrix's cotangent: a loss symmetric in the
    block gives cotangents that differ by its curvature times the block's
    rounding spread, far below that). x sorted: a block is a run of neighbours."""
    cdef int i
    cdef double cmax = 0.0, lim, a, ci, cj
    if g.mode != STRICT or c == NULL:
        return OK
    for i in range(nc):
        a = fabs(c[i])
        cmax = a if a > cmax else cmax
    lim = g.ctol * cmax
    for i in range(min(nc, n - 1)):
        ci = c[i]
        cj = c[i + 1] if i + 1 < nc else 0.0
        if fabs(x[i] - x[i + 1]) <= g.tol and fabs(ci - cj) > lim:
            return set_err(e, E_SPLIT, i, i + 1, x[i], x[i + 1], fabs(ci - cj), lim)
    return OK


cdef inline double taylor_inv(double a, double b, int order) noexcept nogil:
    # 1/(a - b) for a >= b >= 0 as (1/a) sum_{k<order} (b/a)^k: the gradient
    # of `order` steps of power iteration. Bounded by order/a at a tie.
    cdef double q, t = 1.0, acc = 0.0
    cdef int k
    if a <= 0.0:
        return 0.0
    q = b / a
    for k in range(order):
        acc += t
        t *= q
    return acc / a


cdef inline double inv_diff(double xj, double xi, int tie_sign, const Gap* g, bint* flag) noexcept nogil:
    """1/(xj - xi) under the policy. *flag is set (and 0 returned) when the
    pair is degenerate and the mode needs the caller to decide (strict,
    subspace). tie_sign orders an exact tie as the sorted spectrum does."""
    cdef double d = xj - xi
    flag[0] = False
    if g.mode == EXACT:
        return 1.0 / d
    if g.mode == LORENTZ:
        return lorentz(d, g)
    if g.mode == TAYLOR:
        if d > 0 or (d == 0 and tie_sign > 0):
            return taylor_inv(xj, xi, g.order)
        return -taylor_inv(xi, xj, g.order)
    if fabs(d) <= g.tol:
        flag[0] = True
        return 0.0
    return 1.0 / d


cdef inline double inv_pos(double x, const Gap* g, bint* flag) noexcept nogil:
    """1/x for a non-negative x (a singular value or a sum of two) under the
    policy. Only x ~ 0 (rank deficiency) is degenerate."""
    flag[0] = False
    if g.mode == EXACT:
        return 1.0 / x
    if g.mode == LORENTZ:
        return lorentz(x, g)
    if x <= g.tol:
        flag[0] = True
        return 0.0
    return 1.0 / x


cdef inline int set_err(ErrInfo* e, int code, int i, int j, double x, double y,
                        double val, double lim) noexcept nogil:
    e.code = code
    e.i = i
    e.j = j
    e.x = x
    e.y = y
    e.val = val
    e.lim = lim
    return code


# --- the batching boundary -------------------------------------------------------
#
# Every rule runs one kernel per matrix of a contiguous (B, m, n) stack. The
# loop over B is here and only here: serial for one matrix or one thread,
# otherwise an OpenMP loop with one workspace per thread (never one per
# matrix). A kernel returns a status; the first failure (lowest batch index
# seen) is reported and the other threads stop early.
# The items are handed out in 8 chunks per thread (dynamic schedule): on a
# shared machine one core often runs slower for a while, and a static half
# each left the other core waiting (docs/benchmarks.md, "two threads").

ctypedef int (*item_fn)(void* ctx, Py_ssize_t b, char* work, ErrInfo* err) noexcept nogil


# --- workspaces ---------------------------------------------------------------------
#
# run_batch hands each kernel call a workspace aligned to WS_ALIGN bytes. A
# kernel carves it into sub-buffers with ws_take, each aligned to WS_ALIGN
# too (a float block never leaves the double block after it misaligned),
# in ONE layout function per kernel (`*_ws`, next to the kernel): the kernel
# calls it to carve, the def entry point to size the allocation. Sizes are
# size_t and saturate at WS_OVERFLOW instead of wrapping; ws_bytes turns
# that into MemoryError before anything is allocated.

from libc.stdint cimport SIZE_MAX

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX

cdef enum:
    WS_ALIGN = 64

cdef size_t WS_OVERFLOW = SIZE_MAX


cdef inline size_t ws_mul(size_t a, size_t b) noexcept nogil:
    if a == WS_OVERFLOW or b == WS_OVERFLOW or (a != 0 and b > WS_OVERFLOW // a):
        return WS_OVERFLOW
    return a * b


cdef inline size_t ws_add(size_t a, size_t b) noexcept nogil:
    if a >= WS_OVERFLOW - b:
        return WS_OVERFLOW
    return a + b


cdef inline size_t ws_take(size_t* top, size_t count, size_t elem) noexcept nogil:
    """Offset of a new sub-buffer of `count` items of `elem` bytes; moves
    *top past it, to the next WS_ALIGN boundary (WS_OVERFLOW on overflow)."""
    cdef size_t at = top[0], n = ws_mul(count, elem)
    if at >= WS_OVERFLOW - 2 * WS_ALIGN or n >= WS_OVERFLOW - 2 * WS_ALIGN - at:
        top[0] = WS_OVERFLOW
        return 0
    top[0] = (at + n + WS_ALIGN - 1) & ~(<size_t> (WS_ALIGN - 1))
    return at


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


cdef inline char* ws_align(char* p) noexcept nogil:
    return <char*> ((<size_t> p + WS_ALIGN - 1) & ~(<size_t> (WS_ALIGN - 1)))

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


cdef int run_serial(item_fn fn, void* ctx, Py_ssize_t B, size_t work_bytes,
                    ErrInfo* err) noexcept nogil:
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
        code = fn(ctx, b, work, err)
        if code != OK:
            err.code = code
            break
    free(raw)
    return err.code


cdef int run_batch(item_fn fn, void* ctx, Py_ssize_t B, size_t work_bytes,
                   int nthreads, ErrInfo* err) noexcept nogil:
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
                code = fn(ctx, b, work + ERR_PAD, <ErrInfo*> work)
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


# --- helpers for the def entry points ----------------------------------------------

cdef Policy read_policy(tuple p):
    """(mode, rtol, eps, order, gauge_tol) as built by linalgad._options."""
    cdef Policy q
    q.mode = p[0]
    q.rtol = p[1]
    q.eps = p[2]
    q.order = p[3]
    q.gauge_tol = p[4]
    return q


cdef object err_tuple(ErrInfo* e):
    if e.code == OK:
        return None
    return (e.code, e.b, e.i, e.j, e.x, e.y, e.val, e.lim)


cdef inline void* ptr_or_null(object a):
    if a is None:
        return NULL
    return cnp.PyArray_DATA(<cnp.ndarray> a)
