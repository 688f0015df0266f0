# Batches of tiny real matrices: the SVD and eigh pullbacks of 3x3 float64
# stacks, LANES matrices at a time in struct-of-arrays temporaries so that
# every arithmetic loop runs over the lanes and the compiler vectorises it
# across the batch (a 3x3 product is too small to vectorise on its own).
#
# Same formulas as svd_vjp_kernel and eigh_vjp_kernel, for a square real
# matrix (no 1/s term, no rectangular terms, no phase gauge):
#   SVD   J = U^T dU, K = Vh dVh^T, M_ij = (X+Y)_ij/2(s_j - s_i) +
#         (X-Y)_ij/2(s_j + s_i), M_ii = dS_i, dA = U M Vh.
#   eigh  K = V^T dV, C_ij = (K_ij - K_ji)/2(w_j - w_i), C_ii = dw_i,
#         A_bar = V C V^T, finished for the triangle read (tri).
#   funm  (funm_kernel) H = G read as tri_in says, out = V (D o (V^T H V)) V^T
#         finished for tri_out; no 1/gap, so no lane is ever handed over.
#   polar (svfun_kernel with g = 1) Z = U^T dQ V + S X, X = Vh herm(dP) V,
#         C_ij = (Z_ij - Z_ji)/(s_i + s_j) + X_ij, C_ii = X_ii, dA = U C Vh.
# (eig's 3x3 lane kernel, for real input, is _eig3.h, wired at the end of _eig.pxi.)
# A block with a pair within tol whose vectors carry a cotangent (or a mode
# other than strict/exact/subspace) is handed to the general kernel matrix
# by matrix (through the context's `one`, the per-matrix adapter run_batch
# would call), so errors and every degeneracy mode keep their one
# implementation; tests check the two paths agree.
#
# These kernels move more data than they compute on: the loads and stores
# go through _lanes.h (register transposes with AVX-512), and the
# finiteness of the cotangents is checked here, on the loaded lanes, rather
# than in a separate pass over the stacks. Each kernel (`*_lanes`) sees
# exactly LANES matrices and indexes its lane arrays with constants only, so
# the compiler keeps them in registers (a runtime-indexed path for a short
# last block beside the fast one cost 1.2 ns of eigh's 12 a matrix);
# _block pads a short last block with copies of its first matrix instead.
# A kernel that finds a lane it cannot take returns HAND_OVER, and _block
# runs the whole block through the general kernel, writing the output in
# place (a short block's scratch output is then never copied back).

cdef extern from "_lanes.h" nogil:
    enum: LANES_SIMD
    void lanes_load9(const double* src, double dst[][8])
    void lanes_load3(const double* src, double dst[][8])
    void lanes_store9(double src[][8], double* dst)
    bint lanes_any(const double acc[8])

cdef enum:
    LANES = 8     # _lanes.h is written for 8
    HAND_OVER = -1   # a lane kernel's answer: run this block matrix by matrix (never leaves _block)


ctypedef int (*lanes_fn)(void* c, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
                        char* work, ErrInfo* e) noexcept nogil

# Two compiled versions of a kernel body, chosen by a tag type: work under a
# runtime `if` would give a lane array two definitions, and the merge keeps
# it in memory (2 ns of eigh's 11); a fused tag makes each flag a constant
ctypedef signed char full_t       # every cotangent given that the body can take
ctypedef unsigned char part_t     # the optional one absent
ctypedef fused variant_t:
    full_t
    part_t

cdef enum:
    MAX_IN = 6     # inputs of a lane kernel at most (svd: U, s, Vh, dU, dS, dVh)
    MAX_SIZE = 18  # doubles a matrix of an input at most (eig: complex 3 x 3)


cdef double _ZEROS[MAX_SIZE * LANES]    # an absent cotangent's block (zero-initialised, never written)


cdef inline const double* _given(const double* src) noexcept nogil:
    # src, or zeros for an absent (NULL) input: a pointer select, so that
    # _lanes has one definition of its lanes (with a NULL branch beside
    # the loads the compiler kept them in memory: 1.2 ns of eigh's 11)
    if src == NULL:
        return &_ZEROS[0]
    return src


cdef inline void _lanes(const double* src, int size, double dst[][LANES]) noexcept nogil:
    # dst[r][l] = src[l * size + r]: matrix l of a full block in lane l
    cdef int r, l
    if LANES_SIMD and size == 9:
        lanes_load9(src, dst)
    elif LANES_SIMD and size == 3:
        lanes_load3(src, dst)
    else:
        for l in range(LANES):
            for r in range(size):
                dst[r][l] = src[l * size + r]


cdef inline void _unlanes9(double src[][LANES], double* dst) noexcept nogil:
    # the inverse of _lanes for a full block of 3x3 matrices
    cdef int r, l
    if LANES_SIMD:
        lanes_store9(src, dst)
        return
    for l in range(LANES):
        for r in range(9):
            dst[l * 9 + r] = src[r][l]


cdef inline void _finite_acc(double x[][LANES], int size, double acc[LANES]) noexcept nogil:
    # acc += x * 0 lane by lane: it stays 0 while every entry is finite and
    # turns nan at an inf or nan (one multiply-add per entry, over the lanes)
    cdef int r, l
    for r in range(size):
        for l in range(LANES):
            acc[l] = acc[l] + x[r][l] * 0.0


cdef int _report_nonfinite(const double** src, const int* size, int first, int last,
                           Py_ssize_t b0, Py_ssize_t nb, ErrInfo* e) noexcept nogil:
    # the slow path once a block failed lanes_any: E_NONFINITE naming the
    # first argument in src[first:last] (argument k - first) holding an inf
    # or nan and, in it, the first matrix; read from the sources, so the
    # kernels' lane arrays never leave their registers
    cdef int k, r
    cdef Py_ssize_t l
    for k in range(first, last):
        if src[k] == NULL:
            continue
        for l in range(nb):
            for r in range(size[k]):
                if not (src[k][l * size[k] + r] * 0.0 == 0.0):
                    e.b = b0 + l
                    return set_err(e, E_NONFINITE, k - first, k - first, 0.0, 0.0, 0.0, 0.0)
    return OK


cdef inline int _hand_over(item_fn one, void* c, Py_ssize_t b0, Py_ssize_t nb, char* work,
                           ErrInfo* e) noexcept nogil:
    # a block with a degenerate lane: the general kernel, matrix by matrix,
    # into the real output (called through the context's pointer, so it is
    # not inlined here). Only _block calls it: a lane kernel returns HAND_OVER
    cdef Py_ssize_t l
    cdef int code
    for l in range(nb):
        e.b = b0 + l
        code = one(c, b0 + l, work, e)
        if code != OK:
            return code
    return OK


cdef int _block(lanes_fn kernel, item_fn one, void* c, Py_ssize_t B, Py_ssize_t blk, int nin,
                const double** src, const int* size, double* out, char* work,
                ErrInfo* e) noexcept nogil:
    # block blk of a stack of B matrices: src[k] (size[k] doubles a matrix,
    # or NULL) and out already point at its first matrix. A short last block
    # runs on copies padded with its first matrix, into a scratch output.
    # one: the general kernel for one matrix (the context's adapter), run on
    # the block's real matrices when the lane kernel hands it over.
    cdef Py_ssize_t b0 = blk * LANES, nb = B - b0, l
    cdef double pad[MAX_IN * MAX_SIZE * LANES]
    cdef double tmp[9 * LANES]
    cdef const double* p[MAX_IN]
    cdef int k, r, code
    if nb >= LANES:
        code = kernel(c, src, out, b0, LANES, work, e)
        if code == HAND_OVER:
            return _hand_over(one, c, b0, LANES, work, e)
        return code
    for k in range(nin):
        if src[k] == NULL:
            p[k] = NULL
            continue
        for l in range(LANES):
            for r in range(size[k]):
                pad[k * MAX_SIZE * LANES + l * size[k] + r] = src[k][(l if l < nb else 0) * size[k] + r]
        p[k] = pad + k * MAX_SIZE * LANES
    code = kernel(c, p, tmp, b0, nb, work, e)
    if code == HAND_OVER:
        return _hand_over(one, c, b0, nb, work, e)
    if code == OK:
        for l in range(nb * 9):
            out[l] = tmp[l]
    return code


cdef inline void _diag3(double d[][LANES], double M[][LANES]) noexcept nogil:
    # M = diag(d) for 3x3 lane matrices
    cdef int i, l
    for i in range(9):
        for l in range(LANES):
            M[i][l] = d[i // 3][l] if i % 4 == 0 else 0.0


cdef inline void _product3(double a[][LANES], bint ta, double b[][LANES], bint tb,
                           double c[][LANES]) noexcept nogil:
    # c = op(a) op(b) for 3x3 lane matrices, op = transpose when t*
    cdef int i, j, p, l
    cdef int sa_i = 1 if ta else 3, sa_p = 3 if ta else 1
    cdef int sb_p = 1 if tb else 3, sb_j = 3 if tb else 1
    for i in range(3):
        for j in range(3):
            for l in range(LANES):
                c[i * 3 + j][l] = (a[i * sa_i][l] * b[j * sb_j][l]
                                   + a[i * sa_i + sa_p][l] * b[sb_p + j * sb_j][l]
                                   + a[i * sa_i + 2 * sa_p][l] * b[2 * sb_p + j * sb_j][l])


# --- SVD ----------------------------------------------------------------------------

cdef inline void _svd3_pair(int i, int j, double sv[][LANES], double J[][LANES],
                            double K[][LANES], double M[][LANES]) noexcept nogil:
    # M_ij, M_ji from the split form; written per pair (not as a loop over
    # j > i) so that the compiler keeps the divisions in vector registers
    cdef int l
    cdef double a, bs, x, y, d, q
    for l in range(LANES):
        a = 0.5 / (sv[j][l] - sv[i][l])
        bs = 0.5 / (sv[j][l] + sv[i][l])
        x = J[i * 3 + j][l] - J[j * 3 + i][l]
        y = K[i * 3 + j][l] - K[j * 3 + i][l]
        d = a * (x + y)
        q = bs * (x - y)
        M[i * 3 + j][l] = d + q
        M[j * 3 + i][l] = d - q


cdef int[6] _SVD3_SIZE = [9, 3, 9, 9, 3, 9]


cdef int _svd3(void* ctx, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
               char* work, ErrInfo* e, variant_t* tag) noexcept nogil:
    # src: U, s, Vh, dU, dS, dVh (the last three NULL-able; dU or dVh given
    # in the full_t version)
    cdef bint vec = variant_t is full_t
    cdef SvdCtx* c = <SvdCtx*> ctx
    cdef int l
    cdef double u[9][LANES]
    cdef double vh[9][LANES]
    cdef double gu[9][LANES]
    cdef double gv[9][LANES]
    cdef double sv[3][LANES]
    cdef double gsv[3][LANES]
    cdef double gl
    cdef double J[9][LANES]
    cdef double K[9][LANES]
    cdef double M[9][LANES]
    cdef double acc[LANES]
    cdef double tl
    cdef bint degenerate = False

    _lanes(src[0], 9, u)
    _lanes(src[1], 3, sv)
    _lanes(src[2], 9, vh)
    _lanes(_given(src[4]), 3, gsv)
    if vec:
        _lanes(_given(src[3]), 9, gu)
        _lanes(_given(src[5]), 9, gv)
    if c.check_finite:
        for l in range(LANES):
            acc[l] = 0.0
        _finite_acc(gsv, 3, acc)
        if vec:
            _finite_acc(gu, 9, acc)
            _finite_acc(gv, 9, acc)
        if lanes_any(acc):     # one test a block (_lanes.h)
            return _report_nonfinite(src, _SVD3_SIZE, 3, 6, b0, nb, e)

    # singular values only: dA = U diag(dS) Vh, exact at any degeneracy
    _diag3(gsv, M)
    if vec or c.pol.mode == STRICT:
        # any pair within tol: let the general kernel decide (error, or its
        # mode); in strict, dS alone may single out a member of a block
        for l in range(LANES):
            tl = c.pol.rtol * sv[0][l]
            if vec:
                degenerate |= ((sv[0][l] - sv[1][l] <= tl) | (sv[1][l] - sv[2][l] <= tl)
                               | (sv[1][l] + sv[2][l] <= tl))
            else:       # dS alone: only a pair it splits (split_check's test) goes over
                gl = c.pol.gauge_tol * fmax(fmax(fabs(gsv[0][l]), fabs(gsv[1][l])), fabs(gsv[2][l]))
                degenerate |= (((sv[0][l] - sv[1][l] <= tl) & (fabs(gsv[0][l] - gsv[1][l]) > gl))
                               | ((sv[1][l] - sv[2][l] <= tl) & (fabs(gsv[1][l] - gsv[2][l]) > gl)))
        if degenerate and c.pol.mode != EXACT:
            return HAND_OVER
    if vec:
        _product3(u, True, gu, False, J)      # J = U^T dU
        _product3(vh, False, gv, True, K)     # K = Vh dVh^T
        _svd3_pair(0, 1, sv, J, K, M)
        _svd3_pair(0, 2, sv, J, K, M)
        _svd3_pair(1, 2, sv, J, K, M)
    _product3(u, False, M, False, J)          # W = U M
    _product3(J, False, vh, False, K)         # dA = W Vh
    _unlanes9(K, out)
    return OK


cdef int _svd3_vectors(void* c, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
                       char* work, ErrInfo* e) noexcept nogil:
    return _svd3(c, src, out, b0, nb, work, e, <full_t*> NULL)


cdef int _svd3_values(void* c, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
                      char* work, ErrInfo* e) noexcept nogil:
    return _svd3(c, src, out, b0, nb, work, e, <part_t*> NULL)


cdef int svd3_vjp_block(SvdCtx* c, Py_ssize_t blk, char* work, ErrInfo* e) noexcept nogil:
    cdef Py_ssize_t b0 = blk * LANES
    cdef const double* src[6]
    src[0] = (<const double*> c.U) + b0 * 9
    src[1] = c.s + b0 * 3
    src[2] = (<const double*> c.Vh) + b0 * 9
    src[3] = NULL if c.g1 == NULL else (<const double*> c.g1) + b0 * 9
    src[4] = NULL if c.gs == NULL else c.gs + b0 * 3
    src[5] = NULL if c.g2 == NULL else (<const double*> c.g2) + b0 * 9
    return _block(_svd3_vectors if src[3] != NULL or src[5] != NULL else _svd3_values,
                  c.one, c, c.B, blk, 6, src, _SVD3_SIZE, (<double*> c.out) + b0 * 9, work, e)


cdef bint svd3_fast(int t, int m, int n, int kk, const Policy* pol):
    return (t == cnp.NPY_FLOAT64 and m == 3 and n == 3 and kk == 3
            and (pol.mode == STRICT or pol.mode == EXACT or pol.mode == SUBSPACE))


cdef int _svd3_vjp_blocks(void* c, Py_ssize_t blk, char* w, ErrInfo* e) noexcept nogil:
    return svd3_vjp_block(<SvdCtx*> c, blk, w, e)


# --- polar --------------------------------------------------------------------------

cdef inline void _polar3_pair(int i, int j, double sv[][LANES], double Z[][LANES],
                              double C[][LANES]) noexcept nogil:
    cdef int l
    cdef double y
    for l in range(LANES):
        y = (Z[i * 3 + j][l] - Z[j * 3 + i][l]) / (sv[i][l] + sv[j][l])
        C[i * 3 + j][l] = C[i * 3 + j][l] + y
        C[j * 3 + i][l] = C[j * 3 + i][l] - y


cdef int[5] _POLAR3_SIZE = [9, 3, 9, 9, 9]


cdef int _polar3(void* ctx, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
                 char* work, ErrInfo* e, variant_t* tag) noexcept nogil:
    # src: U, s, Vh, dQ, dP (dQ NULL-able; dP given in the full_t version)
    cdef bint with_p = variant_t is full_t
    cdef SvdCtx* c = <SvdCtx*> ctx
    cdef int i, j, l
    cdef double u[9][LANES]
    cdef double vh[9][LANES]
    cdef double gq[9][LANES]
    cdef double gp[9][LANES]
    cdef double sv[3][LANES]
    cdef double T[9][LANES]
    cdef double Z[9][LANES]
    cdef double C[9][LANES]
    cdef double acc[LANES]
    cdef double tl
    cdef bint degenerate = False

    _lanes(src[0], 9, u)
    _lanes(src[1], 3, sv)
    _lanes(src[2], 9, vh)
    _lanes(_given(src[3]), 9, gq)
    if with_p:
        _lanes(src[4], 9, gp)
    if c.check_finite:
        for l in range(LANES):
            acc[l] = 0.0
        _finite_acc(gq, 9, acc)
        if with_p:
            _finite_acc(gp, 9, acc)
        if lanes_any(acc):
            return _report_nonfinite(src, _POLAR3_SIZE, 3, 5, b0, nb, e)

    # rank deficiency (two singular values summing to ~0): the general kernel decides
    for l in range(LANES):
        tl = c.pol.rtol * sv[0][l]
        degenerate |= sv[1][l] + sv[2][l] <= tl
    if degenerate and c.pol.mode != EXACT:
        return HAND_OVER

    _product3(u, True, gq, False, T)          # T = U^T dQ
    _product3(T, False, vh, True, Z)          # Z = T V
    for i in range(9):
        for l in range(LANES):
            C[i][l] = 0.0
    if with_p:
        for i in range(3):                    # T = herm(dP)
            for j in range(3):
                for l in range(LANES):
                    T[i * 3 + j][l] = 0.5 * (gp[i * 3 + j][l] + gp[j * 3 + i][l])
        _product3(vh, False, T, False, gp)    # W = Vh herm(dP)
        _product3(gp, False, vh, True, C)     # C = X = W V
        for i in range(9):
            for l in range(LANES):
                Z[i][l] = Z[i][l] + sv[i // 3][l] * C[i][l]
    _polar3_pair(0, 1, sv, Z, C)
    _polar3_pair(0, 2, sv, Z, C)
    _polar3_pair(1, 2, sv, Z, C)
    _product3(u, False, C, False, T)          # U C
    _product3(T, False, vh, False, Z)         # dA = (U C) Vh
    _unlanes9(Z, out)
    return OK


cdef int _polar3_qp(void* c, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
                    char* work, ErrInfo* e) noexcept nogil:
    return _polar3(c, src, out, b0, nb, work, e, <full_t*> NULL)


cdef int _polar3_q(void* c, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
                   char* work, ErrInfo* e) noexcept nogil:
    return _polar3(c, src, out, b0, nb, work, e, <part_t*> NULL)


cdef int polar3_block(SvdCtx* c, Py_ssize_t blk, char* work, ErrInfo* e) noexcept nogil:
    cdef Py_ssize_t b0 = blk * LANES
    cdef const double* src[5]
    src[0] = (<const double*> c.U) + b0 * 9
    src[1] = c.s + b0 * 3
    src[2] = (<const double*> c.Vh) + b0 * 9
    src[3] = NULL if c.g1 == NULL else (<const double*> c.g1) + b0 * 9
    src[4] = NULL if c.g3 == NULL else (<const double*> c.g3) + b0 * 9
    return _block(_polar3_qp if src[4] != NULL else _polar3_q,
                  c.one, c, c.B, blk, 5, src, _POLAR3_SIZE, (<double*> c.out) + b0 * 9, work, e)


cdef bint polar3_fast(int t, int m, int n, object gv, object Dm, const Policy* pol):
    return (t == cnp.NPY_FLOAT64 and m == 3 and n == 3 and gv is None and Dm is None
            and (pol.mode == STRICT or pol.mode == EXACT or pol.mode == SUBSPACE))


cdef int _polar3_blocks(void* c, Py_ssize_t blk, char* w, ErrInfo* e) noexcept nogil:
    return polar3_block(<SvdCtx*> c, blk, w, e)


# --- eigh ---------------------------------------------------------------------------

cdef inline void _eigh3_pair(int i, int j, double wv[][LANES], double K[][LANES],
                             double C[][LANES]) noexcept nogil:
    cdef int l
    cdef double x
    for l in range(LANES):
        x = 0.5 * (K[i * 3 + j][l] - K[j * 3 + i][l]) / (wv[j][l] - wv[i][l])
        C[i * 3 + j][l] = x
        C[j * 3 + i][l] = x


cdef inline void _sym_product3(double a[][LANES], double b[][LANES], bint tb, int tri,
                               double c[][LANES]) noexcept nogil:
    # c = a op(b) for a product known to be symmetric: its lower triangle
    # (6 of 9 dot products), stored as the cotangent of the triangle read
    # (TRI_HERM both halves; TRI_LOWER 2 x the off-diagonal below, zeros
    # above; TRI_UPPER the mirror image), so no weighting pass follows. The
    # triangle not read gets exact zeros through a select, not a multiply
    # by 0 (an inf would give nan) and not a branch per tri (three versions
    # of c would push it out of registers)
    cdef int i, j, l
    cdef int sb_k = 1 if tb else 3, sb_j = 3 if tb else 1
    cdef double x
    cdef double wl = 1.0 if tri == TRI_HERM else (2.0 if tri == TRI_LOWER else 0.0)
    cdef double wu = 1.0 if tri == TRI_HERM else (2.0 if tri == TRI_UPPER else 0.0)
    cdef bint keep_l = tri != TRI_UPPER, keep_u = tri != TRI_LOWER
    for i in range(3):
        for j in range(i + 1):
            for l in range(LANES):
                x = (a[i * 3][l] * b[j * sb_j][l] + a[i * 3 + 1][l] * b[sb_k + j * sb_j][l]
                     + a[i * 3 + 2][l] * b[2 * sb_k + j * sb_j][l])
                if i == j:
                    c[i * 4][l] = x
                else:
                    c[i * 3 + j][l] = x * wl if keep_l else 0.0
                    c[j * 3 + i][l] = x * wu if keep_u else 0.0


cdef int[4] _EIGH3_SIZE = [9, 3, 3, 9]


cdef int _eigh3(void* ctx, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
                char* work, ErrInfo* e, variant_t* tag) noexcept nogil:
    # src: V, w, dw, dV (dw NULL-able; dV given in the full_t version)
    cdef bint vec = variant_t is full_t
    cdef EighCtx* c = <EighCtx*> ctx
    cdef int l
    cdef double v[9][LANES]
    cdef double gv[9][LANES]
    cdef double wv[3][LANES]
    cdef double gwv[3][LANES]
    cdef double K[9][LANES]
    cdef double C[9][LANES]
    cdef double acc[LANES]
    cdef double tl, lo, hi, gl
    cdef bint degenerate = False

    _lanes(src[0], 9, v)
    _lanes(src[1], 3, wv)
    _lanes(_given(src[2]), 3, gwv)
    if vec:
        _lanes(src[3], 9, gv)
    if c.check_finite:
        for l in range(LANES):
            acc[l] = 0.0
        _finite_acc(gwv, 3, acc)
        if vec:
            _finite_acc(gv, 9, acc)
        if lanes_any(acc):
            return _report_nonfinite(src, _EIGH3_SIZE, 2, 4, b0, nb, e)

    _diag3(gwv, C)
    # eigenvalues only: A_bar = V diag(dw) V^T, exact at any degeneracy
    # unless (strict) dw singles out a member of a block: the general kernel decides
    if vec or c.pol.mode == STRICT:
        for l in range(LANES):
            lo = fabs(wv[0][l])
            hi = fabs(wv[2][l])
            tl = c.pol.rtol * (lo if lo > hi else hi)
            if vec:
                degenerate |= (wv[1][l] - wv[0][l] <= tl) | (wv[2][l] - wv[1][l] <= tl)
            else:       # dw alone: only a pair it splits (split_check's test) goes over
                gl = c.pol.gauge_tol * fmax(fmax(fabs(gwv[0][l]), fabs(gwv[1][l])), fabs(gwv[2][l]))
                degenerate |= (((wv[1][l] - wv[0][l] <= tl) & (fabs(gwv[1][l] - gwv[0][l]) > gl))
                               | ((wv[2][l] - wv[1][l] <= tl) & (fabs(gwv[2][l] - gwv[1][l]) > gl)))
        if degenerate and c.pol.mode != EXACT:
            return HAND_OVER
    if vec:
        _product3(v, True, gv, False, K)      # K = V^T dV
        _eigh3_pair(0, 1, wv, K, C)
        _eigh3_pair(0, 2, wv, K, C)
        _eigh3_pair(1, 2, wv, K, C)
    _product3(v, False, C, False, K)          # W = V C
    _sym_product3(K, v, True, c.tri, C)       # A_bar = W V^T, for the triangle read
    _unlanes9(C, out)
    return OK


cdef int _eigh3_vectors(void* c, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
                        char* work, ErrInfo* e) noexcept nogil:
    return _eigh3(c, src, out, b0, nb, work, e, <full_t*> NULL)


cdef int _eigh3_values(void* c, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
                       char* work, ErrInfo* e) noexcept nogil:
    return _eigh3(c, src, out, b0, nb, work, e, <part_t*> NULL)


cdef int eigh3_vjp_block(EighCtx* c, Py_ssize_t blk, char* work, ErrInfo* e) noexcept nogil:
    cdef Py_ssize_t b0 = blk * LANES
    cdef const double* src[4]
    src[0] = (<const double*> c.V) + b0 * 9
    src[1] = c.w + b0 * 3
    src[2] = NULL if c.gw == NULL else c.gw + b0 * 3
    src[3] = NULL if c.g1 == NULL else (<const double*> c.g1) + b0 * 9
    return _block(_eigh3_vectors if c.g1 != NULL else _eigh3_values,
                  c.one, c, c.B, blk, 4, src, _EIGH3_SIZE, (<double*> c.out) + b0 * 9, work, e)


cdef bint eigh3_fast(int t, int n, const Policy* pol):
    return (t == cnp.NPY_FLOAT64 and n == 3
            and (pol.mode == STRICT or pol.mode == EXACT or pol.mode == SUBSPACE))


cdef int _eigh3_vjp_blocks(void* c, Py_ssize_t blk, char* w, ErrInfo* e) noexcept nogil:
    return eigh3_vjp_block(<EighCtx*> c, blk, w, e)


# --- functions of a symmetric matrix -------------------------------------------------

cdef int[3] _FUNM3_SIZE = [9, 9, 9]


cdef int funm3_lanes(void* ctx, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
                     char* work, ErrInfo* e) noexcept nogil:
    # src: V, D (the divided differences), G of LANES matrices
    cdef EighCtx* c = <EighCtx*> ctx
    cdef int i, j, l
    cdef double v[9][LANES]
    cdef double d[9][LANES]
    cdef double g[9][LANES]
    cdef double H[9][LANES]
    cdef double R[9][LANES]
    cdef double acc[LANES]
    cdef double x, wl
    cdef bint use_l, use_u
    _lanes(src[0], 9, v)
    _lanes(src[1], 9, d)
    _lanes(src[2], 9, g)
    if c.check_finite:
        for l in range(LANES):
            acc[l] = 0.0
        _finite_acc(g, 9, acc)
        if lanes_any(acc):
            return _report_nonfinite(src, _FUNM3_SIZE, 2, 3, b0, nb, e)
    # H: the symmetric matrix G stands for (hermitise), one weighted sum for
    # every tri (a branch per tri would keep H in memory); the triangle not
    # read is selected away, not multiplied by 0, so an inf there stays out
    wl = 0.5 if c.tri == TRI_HERM else 1.0
    use_l = c.tri != TRI_UPPER
    use_u = c.tri != TRI_LOWER
    for i in range(3):
        for l in range(LANES):
            H[i * 4][l] = g[i * 4][l]
        for j in range(i):
            for l in range(LANES):
                x = wl * ((g[i * 3 + j][l] if use_l else 0.0) + (g[j * 3 + i][l] if use_u else 0.0))
                H[i * 3 + j][l] = x
                H[j * 3 + i][l] = x
    _product3(v, True, H, False, R)           # V^T H
    _sym_product3(R, v, False, TRI_HERM, H)   # (V^T H) V
    for i in range(9):
        for l in range(LANES):
            H[i][l] = d[i][l] * H[i][l]       # C = D o R
    _product3(v, False, H, False, R)          # V C
    _sym_product3(R, v, True, c.tri2, H)      # (V C) V^T, for the triangle written
    _unlanes9(H, out)
    return OK


cdef int funm3_block(EighCtx* c, Py_ssize_t blk, char* work, ErrInfo* e) noexcept nogil:
    cdef Py_ssize_t b0 = blk * LANES
    cdef const double* src[3]
    src[0] = (<const double*> c.V) + b0 * 9
    src[1] = c.gw + b0 * 9
    src[2] = (<const double*> c.g1) + b0 * 9
    return _block(funm3_lanes, c.one, c, c.B, blk, 3, src, _FUNM3_SIZE, (<double*> c.out) + b0 * 9, work, e)


cdef bint funm3_fast(int t, int n):
    return t == cnp.NPY_FLOAT64 and n == 3


cdef int _funm3_blocks(void* c, Py_ssize_t blk, char* w, ErrInfo* e) noexcept nogil:
    return funm3_block(<EighCtx*> c, blk, w, e)
