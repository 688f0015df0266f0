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
# A block with a pair within tol whose vectors carry a cotangent (or a mode
# other than strict/exact/subspace) is handed to the general kernel matrix
# by matrix (through the context's `one`, the per-matrix adapter run_batch
# would call), so errors and every degeneracy mode keep their one
# implementation; tests check the two paths agree.
#
# These kernels move more data than they compute on: the loads and stores
# go through _lanes.h (register transposes with AVX-512), and the
# finiteness of the cotangents is checked here, on the loaded lanes, rather
# than in a separate pass over the stacks.

cdef extern from "_lanes.h" nogil:
    enum: LANES_SIMD
    void lanes_load9(const double* src, double dst[][8])
    void lanes_load3(const double* src, double dst[][8])
    void lanes_store9(double src[][8], double* dst)

cdef enum:
    LANES = 8     # _lanes.h is written for 8


cdef inline void _lanes(const double* src, int size, Py_ssize_t nb, double dst[][LANES]) noexcept nogil:
    # dst[r][l] = src[l * size + r]: matrix l of a block in lane l; missing
    # lanes (a short last block) repeat lane 0, a NULL source gives zeros
    cdef int r, l
    if src == NULL:
        for r in range(size):
            for l in range(LANES):
                dst[r][l] = 0.0
        return
    if nb >= LANES:
        if LANES_SIMD and size == 9:
            lanes_load9(src, dst)
            return
        if LANES_SIMD and size == 3:
            lanes_load3(src, dst)
            return
        for l in range(LANES):
            for r in range(size):
                dst[r][l] = src[l * size + r]
        return
    for l in range(LANES):
        for r in range(size):
            dst[r][l] = src[(l if l < nb else 0) * size + r]


cdef inline void _unlanes9(double src[][LANES], Py_ssize_t nb, double* dst) noexcept nogil:
    # the inverse of _lanes for the first nb lanes
    cdef int r, l
    if nb >= LANES and LANES_SIMD:
        lanes_store9(src, dst)
        return
    for l in range(nb if nb < LANES else LANES):
        for r in range(9):
            dst[l * 9 + r] = src[r][l]


cdef inline int _bad_lane(double x[][LANES], int size) noexcept nogil:
    # the first lane holding an inf or nan, or -1: x * 0 is 0 for a finite x
    # and nan otherwise (one multiply-add per entry, vectorised over lanes)
    cdef double acc[LANES]
    cdef int r, l
    for l in range(LANES):
        acc[l] = 0.0
    for r in range(size):
        for l in range(LANES):
            acc[l] = acc[l] + x[r][l] * 0.0
    for l in range(LANES):
        if acc[l] != 0.0:
            return l
    return -1


cdef inline int _load_cotangent(const double* src, int size, Py_ssize_t nb, double dst[][LANES],
                                bint check, int arg, Py_ssize_t b0, ErrInfo* e) noexcept nogil:
    # _lanes, then (check) E_NONFINITE naming argument `arg` and the matrix
    # of the first lane holding an inf or nan
    cdef int bad
    _lanes(src, size, nb, dst)
    if check and src != NULL:
        bad = _bad_lane(dst, size)
        if bad >= 0:
            e.b = b0 + bad
            return set_err(e, E_NONFINITE, arg, arg, 0.0, 0.0, 0.0, 0.0)
    return OK


cdef inline void _diag3(double d[][LANES], double M[][LANES]) noexcept nogil:
    # M = diag(d) for 3x3 lane matrices
    cdef int i, l
    for i in range(9):
        for l in range(LANES):
            M[i][l] = d[i // 3][l] if i % 4 == 0 else 0.0


cdef inline int _one_by_one(item_fn one, void* c, Py_ssize_t b0, Py_ssize_t nb, char* work,
                            ErrInfo* e) noexcept nogil:
    # a block with a degenerate lane: the general kernel, matrix by matrix
    # (called through the context's pointer, so it is not inlined here)
    cdef Py_ssize_t l
    cdef int code
    for l in range(nb):
        e.b = b0 + l
        code = one(c, b0 + l, work, e)
        if code != OK:
            return code
    return OK


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


cdef int svd3_vjp_block(SvdCtx* c, Py_ssize_t blk, char* work, ErrInfo* e) noexcept nogil:
    cdef Py_ssize_t b0 = blk * LANES, nb = c.B - b0
    cdef int l, code
    cdef double u[9][LANES]
    cdef double vh[9][LANES]
    cdef double gu[9][LANES]
    cdef double gv[9][LANES]
    cdef double sv[3][LANES]
    cdef double gsv[3][LANES]
    cdef double J[9][LANES]
    cdef double K[9][LANES]
    cdef double M[9][LANES]
    cdef double tl
    cdef const double* U = (<const double*> c.U) + b0 * 9
    cdef const double* Vh = (<const double*> c.Vh) + b0 * 9
    cdef const double* gU = NULL if c.g1 == NULL else (<const double*> c.g1) + b0 * 9
    cdef const double* gVh = NULL if c.g2 == NULL else (<const double*> c.g2) + b0 * 9
    cdef const double* gs = NULL if c.gs == NULL else c.gs + b0 * 3
    cdef const double* s = c.s + b0 * 3
    cdef double* out = (<double*> c.out) + b0 * 9
    cdef bint vec = gU != NULL or gVh != NULL, degenerate = False
    if nb > LANES:
        nb = LANES

    code = _load_cotangent(gU, 9, nb, gu, c.check_finite, 0, b0, e)
    code = code or _load_cotangent(gs, 3, nb, gsv, c.check_finite, 1, b0, e)
    code = code or _load_cotangent(gVh, 9, nb, gv, c.check_finite, 2, b0, e)
    if code != OK:
        return code
    _lanes(U, 9, nb, u)
    _lanes(Vh, 9, nb, vh)
    _lanes(s, 3, nb, sv)

    # singular values only: dA = U diag(dS) Vh, exact at any degeneracy
    _diag3(gsv, M)
    if vec:
        # any pair within tol: let the general kernel decide (error, or its mode)
        for l in range(LANES):
            tl = c.pol.rtol * sv[0][l]
            degenerate |= ((sv[0][l] - sv[1][l] <= tl) | (sv[1][l] - sv[2][l] <= tl)
                           | (sv[1][l] + sv[2][l] <= tl))
        if degenerate and c.pol.mode != EXACT:
            return _one_by_one(c.one, c, b0, nb, work, e)
        _product3(u, True, gu, False, J)      # J = U^T dU
        _product3(vh, False, gv, True, K)     # K = Vh dVh^T
        _svd3_pair(0, 1, sv, J, K, M)
        _svd3_pair(0, 2, sv, J, K, M)
        _svd3_pair(1, 2, sv, J, K, M)
    _product3(u, False, M, False, J)          # W = U M
    _product3(J, False, vh, False, K)         # dA = W Vh
    _unlanes9(K, nb, out)
    return OK


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


cdef int polar3_block(SvdCtx* c, Py_ssize_t blk, char* work, ErrInfo* e) noexcept nogil:
    cdef Py_ssize_t b0 = blk * LANES, nb = c.B - b0
    cdef int i, j, l, code
    cdef double u[9][LANES]
    cdef double vh[9][LANES]
    cdef double gq[9][LANES]
    cdef double gp[9][LANES]
    cdef double sv[3][LANES]
    cdef double T[9][LANES]
    cdef double Z[9][LANES]
    cdef double C[9][LANES]
    cdef double tl
    cdef const double* U = (<const double*> c.U) + b0 * 9
    cdef const double* Vh = (<const double*> c.Vh) + b0 * 9
    cdef const double* G = NULL if c.g1 == NULL else (<const double*> c.g1) + b0 * 9
    cdef const double* gP = NULL if c.g3 == NULL else (<const double*> c.g3) + b0 * 9
    cdef const double* s = c.s + b0 * 3
    cdef double* out = (<double*> c.out) + b0 * 9
    cdef bint degenerate = False
    if nb > LANES:
        nb = LANES

    code = _load_cotangent(G, 9, nb, gq, c.check_finite, 0, b0, e)
    code = code or _load_cotangent(gP, 9, nb, gp, c.check_finite, 1, b0, e)
    if code != OK:
        return code
    _lanes(U, 9, nb, u)
    _lanes(Vh, 9, nb, vh)
    _lanes(s, 3, nb, sv)

    # rank deficiency (two singular values summing to ~0): the general kernel decides
    for l in range(LANES):
        tl = c.pol.rtol * sv[0][l]
        degenerate |= sv[1][l] + sv[2][l] <= tl
    if degenerate and c.pol.mode != EXACT:
        return _one_by_one(c.one, c, b0, nb, work, e)

    _product3(u, True, gq, False, T)          # T = U^T dQ
    _product3(T, False, vh, True, Z)          # Z = T V
    for i in range(9):
        for l in range(LANES):
            C[i][l] = 0.0
    if gP != NULL:
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
    _unlanes9(Z, nb, out)
    return OK


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
    # above; TRI_UPPER the mirror image), so no weighting pass follows
    cdef int i, j, k, l
    cdef int sb_k = 1 if tb else 3, sb_j = 3 if tb else 1
    cdef double x
    for i in range(3):
        for j in range(i + 1):
            for l in range(LANES):
                x = (a[i * 3][l] * b[j * sb_j][l] + a[i * 3 + 1][l] * b[sb_k + j * sb_j][l]
                     + a[i * 3 + 2][l] * b[2 * sb_k + j * sb_j][l])
                if i == j:
                    c[i * 4][l] = x
                elif tri == TRI_HERM:
                    c[i * 3 + j][l] = x
                    c[j * 3 + i][l] = x
                elif tri == TRI_LOWER:
                    c[i * 3 + j][l] = 2.0 * x
                    c[j * 3 + i][l] = 0.0
                else:
                    c[i * 3 + j][l] = 0.0
                    c[j * 3 + i][l] = 2.0 * x


cdef int eigh3_vjp_block(EighCtx* c, Py_ssize_t blk, char* work, ErrInfo* e) noexcept nogil:
    cdef Py_ssize_t b0 = blk * LANES, nb = c.B - b0
    cdef int i, l, code
    cdef double v[9][LANES]
    cdef double gv[9][LANES]
    cdef double wv[3][LANES]
    cdef double gwv[3][LANES]
    cdef double K[9][LANES]
    cdef double C[9][LANES]
    cdef double tl, lo, hi
    cdef const double* V = (<const double*> c.V) + b0 * 9
    cdef const double* gV = NULL if c.g1 == NULL else (<const double*> c.g1) + b0 * 9
    cdef const double* gw = NULL if c.gw == NULL else c.gw + b0 * 3
    cdef const double* w = c.w + b0 * 3
    cdef double* out = (<double*> c.out) + b0 * 9
    cdef bint degenerate = False
    if nb > LANES:
        nb = LANES

    code = _load_cotangent(gw, 3, nb, gwv, c.check_finite, 0, b0, e)
    code = code or _load_cotangent(gV, 9, nb, gv, c.check_finite, 1, b0, e)
    if code != OK:
        return code
    _lanes(V, 9, nb, v)
    _lanes(w, 3, nb, wv)

    _diag3(gwv, C)
    # eigenvalues only: A_bar = V diag(dw) V^T, exact at any degeneracy
    if gV != NULL:
        for l in range(LANES):
            lo = fabs(wv[0][l])
            hi = fabs(wv[2][l])
            tl = c.pol.rtol * (lo if lo > hi else hi)
            degenerate |= (wv[1][l] - wv[0][l] <= tl) | (wv[2][l] - wv[1][l] <= tl)
        if degenerate and c.pol.mode != EXACT:
            return _one_by_one(c.one, c, b0, nb, work, e)
        _product3(v, True, gv, False, K)      # K = V^T dV
        _eigh3_pair(0, 1, wv, K, C)
        _eigh3_pair(0, 2, wv, K, C)
        _eigh3_pair(1, 2, wv, K, C)
    _product3(v, False, C, False, K)          # W = V C
    _sym_product3(K, v, True, c.tri, C)       # A_bar = W V^T, for the triangle read
    _unlanes9(C, nb, out)
    return OK


cdef bint eigh3_fast(int t, int n, const Policy* pol):
    return (t == cnp.NPY_FLOAT64 and n == 3
            and (pol.mode == STRICT or pol.mode == EXACT or pol.mode == SUBSPACE))


cdef int _eigh3_vjp_blocks(void* c, Py_ssize_t blk, char* w, ErrInfo* e) noexcept nogil:
    return eigh3_vjp_block(<EighCtx*> c, blk, w, e)


# --- functions of a symmetric matrix -------------------------------------------------

cdef int funm3_block(EighCtx* c, Py_ssize_t blk, char* work, ErrInfo* e) noexcept nogil:
    cdef Py_ssize_t b0 = blk * LANES, nb = c.B - b0
    cdef int i, j, l, code
    cdef double v[9][LANES]
    cdef double d[9][LANES]
    cdef double g[9][LANES]
    cdef double H[9][LANES]
    cdef double R[9][LANES]
    cdef double x
    if nb > LANES:
        nb = LANES
    code = _load_cotangent((<const double*> c.g1) + b0 * 9, 9, nb, g, c.check_finite, 0, b0, e)
    if code != OK:
        return code
    _lanes((<const double*> c.V) + b0 * 9, 9, nb, v)
    _lanes(c.gw + b0 * 9, 9, nb, d)
    # H: the symmetric matrix G stands for (hermitise)
    for i in range(3):
        for l in range(LANES):
            H[i * 4][l] = g[i * 4][l]
        for j in range(i):
            for l in range(LANES):
                if c.tri == TRI_LOWER:
                    x = g[i * 3 + j][l]
                elif c.tri == TRI_UPPER:
                    x = g[j * 3 + i][l]
                else:
                    x = 0.5 * (g[i * 3 + j][l] + g[j * 3 + i][l])
                H[i * 3 + j][l] = x
                H[j * 3 + i][l] = x
    _product3(v, True, H, False, R)           # V^T H
    _sym_product3(R, v, False, TRI_HERM, H)   # (V^T H) V
    for i in range(9):
        for l in range(LANES):
            H[i][l] = d[i][l] * H[i][l]       # C = D o R
    _product3(v, False, H, False, R)          # V C
    _sym_product3(R, v, True, c.tri2, H)      # (V C) V^T, for the triangle written
    _unlanes9(H, nb, (<double*> c.out) + b0 * 9)
    return OK


cdef bint funm3_fast(int t, int n):
    return t == cnp.NPY_FLOAT64 and n == 3


cdef int _funm3_blocks(void* c, Py_ssize_t blk, char* w, ErrInfo* e) noexcept nogil:
    return funm3_block(<EighCtx*> c, blk, w, e)
