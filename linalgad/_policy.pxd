# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: nonecheck=False, cpow=True
# The degeneracy policy: how every rule treats a 1/gap coupling, and the one
# decision a kernel makes about a pair within tol. Cimported by the core.
#
# Thresholds are relative: a kernel turns them into absolute ones with the
# spectral scale of its own matrix (make_gap), so a batch may mix scales and
# a matrix of norm 1e20 behaves like one of norm 1. Nothing here squares a
# value or a gap: every rule is right from 1e-300 to 1e300 (a squared gap
# overflows beyond 1e154 and underflows below 1e-162).

from libc.math cimport fabs, fmax, hypot
from libc.stdint cimport SIZE_MAX

from linalgad._status cimport *
from linalgad._blas cimport cdouble_t, scalar_t, any_nonzero

cdef enum:
    STRICT = 0
    EXACT = 1
    SUBSPACE = 2
    LORENTZ = 3
    TAYLOR = 4


cdef struct Policy:
    int mode
    double rtol        # degeneracy threshold, relative to the spectral scale
    double eps         # Lorentzian broadening, relative to scale**2
    int order          # Taylor order
    double gauge_tol   # gauge residual threshold, relative to the cotangent


cdef struct Gap:       # per-matrix thresholds
    int mode
    int order
    double tol         # absolute: rtol * scale
    double eps         # relative (the Lorentzian works on gaps divided by scale)
    double scale       # the spectral scale, 1 for a zero spectrum
    double ctol        # strict: cotangents of a degenerate pair differ when |c_i - c_j| > ctol * max|c|


cdef inline Gap make_gap(const Policy* p, double scale) noexcept nogil:
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


cdef inline cdouble_t cinv_gap(cdouble_t d, const Gap* g, bint* flag) noexcept nogil:
    """1/d for a complex gap d under the policy (Lorentzian: conj(d) / (|d|^2 + eps scale^2));
    *flag set (and 0 returned) for a degenerate pair in strict/subspace mode.
    Formed as conj(d/m) / (m |d/m|^2), m = max(|Re d|, |Im d|) (or the scale,
    Lorentzian): |d|^2 itself would overflow beyond 1e154 and underflow below 1e-162."""
    cdef double m = fmax(fabs(d.real), fabs(d.imag)), a2
    cdef cdouble_t r
    flag[0] = False
    if g.mode == LORENTZ:
        m = g.scale
    elif g.mode != EXACT and hypot(d.real, d.imag) <= g.tol:
        flag[0] = True
        r.real = 0.0
        r.imag = 0.0
        return r
    r.real = d.real / m
    r.imag = d.imag / m
    a2 = r.real * r.real + r.imag * r.imag
    if g.mode == LORENTZ:
        a2 = a2 + g.eps
    r.real = r.real / a2 / m
    r.imag = -r.imag / a2 / m
    return r


cdef inline int csplit_check(int n, const cdouble_t* w, const cdouble_t* gw, const Gap* g,
                             ErrInfo* e) noexcept nogil:
    # split_check for complex eigenvalues and cotangents (eig: all pairs)
    cdef int i, j
    cdef double cmax = 0.0, lim, a
    if g.mode != STRICT or gw == NULL:
        return OK
    for i in range(n):
        a = hypot(gw[i].real, gw[i].imag)
        cmax = a if a > cmax else cmax
    lim = g.ctol * cmax
    for i in range(n):
        for j in range(i + 1, n):
            if hypot((w[i] - w[j]).real, (w[i] - w[j]).imag) <= g.tol:
                a = hypot((gw[i] - gw[j]).real, (gw[i] - gw[j]).imag)
                if a > lim:
                    return set_err(e, E_SPLIT, i, j, w[i].real, w[j].real, a, lim)
    return OK


# --- the decision about a degenerate pair -------------------------------------------

cdef inline int refuse_pair(const Gap* g, int code, bint touched, double rotation, double rlim,
                            int i, int j, double xi, double xj, double gap, ErrInfo* e) noexcept nogil:
    """For a pair within tol (inv_diff, inv_pos or cinv_gap flagged it, and
    its coupling is dropped): strict refuses it with `code` (E_DEGENERATE, or
    E_RANKDEF for a zero singular value or sum) when the cotangent or
    tangent reaches the pair (touched); subspace and taylor refuse a
    cotangent that rotates within the block (rotation > rlim: the loss sees
    more than the block's span). A forward rule passes rotation = rlim = 0."""
    if g.mode == STRICT:
        if touched:
            return set_err(e, code, i, j, xi, xj, gap, g.tol)
    elif rotation > rlim:
        return set_err(e, E_GAUGE_BLOCK, i, j, xi, xj, rotation, rlim)
    return OK


cdef inline bint touches(signed char* memo, int i, int m, const scalar_t* C, int ldc,
                         int n, const scalar_t* R) noexcept nogil:
    """Does a cotangent reach vector i: a nonzero in column i of C (m rows,
    leading dimension ldc) or in row i of R (n columns)? Either may be NULL.
    An exact zero test (a loss that ignores a vector gives exactly zero
    there), asked only of a degenerate pair; memoised in memo[i] (-1: not
    yet known)."""
    if memo[i] < 0:
        memo[i] = ((C != NULL and any_nonzero(m, C + i, ldc))
                   or (R != NULL and any_nonzero(n, R + <size_t> i * n, 1)))
    return memo[i] > 0


# --- workspaces ----------------------------------------------------------------------
#
# run_batch (linalgad/_core.pyx) hands each kernel call a workspace aligned
# to WS_ALIGN bytes. A kernel carves it into sub-buffers with ws_take, each
# aligned to WS_ALIGN too, in ONE layout function per kernel (`*_ws`, next
# to the kernel): the kernel calls it to carve, the def entry point to size
# the allocation. Sizes are size_t and saturate at SIZE_MAX instead of
# wrapping; the entry point turns that into MemoryError (ws_bytes) before
# anything is allocated.

cdef enum:
    WS_ALIGN = 64
    ERR_PAD = 64        # a thread's ErrInfo slot before its workspace, WS_ALIGN-aligned

cdef inline size_t ws_mul(size_t a, size_t b) noexcept nogil:
    if a == SIZE_MAX or b == SIZE_MAX or (a != 0 and b > SIZE_MAX // a):
        return SIZE_MAX
    return a * b


cdef inline size_t ws_add(size_t a, size_t b) noexcept nogil:
    if a >= SIZE_MAX - b:
        return SIZE_MAX
    return a + b


cdef inline size_t ws_take(size_t* top, size_t count, size_t elem) noexcept nogil:
    """Offset of a new sub-buffer of `count` items of `elem` bytes; moves
    *top past it, to the next WS_ALIGN boundary (SIZE_MAX on overflow)."""
    cdef size_t at = top[0], n = ws_mul(count, elem)
    if at >= SIZE_MAX - 2 * WS_ALIGN or n >= SIZE_MAX - 2 * WS_ALIGN - at:
        top[0] = SIZE_MAX
        return 0
    top[0] = (at + n + WS_ALIGN - 1) & ~(<size_t> (WS_ALIGN - 1))
    return at


cdef inline char* ws_align(char* p) noexcept nogil:
    return <char*> ((<size_t> p + WS_ALIGN - 1) & ~(<size_t> (WS_ALIGN - 1)))
