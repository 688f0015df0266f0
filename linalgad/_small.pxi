# Batches of tiny real matrices: the SVD pullback of 3x3 float64 stacks,
# LANES matrices at a time in struct-of-arrays temporaries so that every
# arithmetic loop runs over the lanes and the compiler vectorises it across
# the batch (a 3x3 product is too small to vectorise on its own).
#
# Same formula as svd_vjp_kernel (square, real: no 1/s term, no rectangular
# terms): J = U^T dU, K = Vh dVh^T, M_ij = (X+Y)_ij/2(s_j - s_i) +
# (X-Y)_ij/2(s_j + s_i), M_ii = dS_i, dA = U M Vh. A block with any pair
# within tol (or a mode other than strict/exact/subspace) is handed to
# svd_vjp_kernel matrix by matrix, so errors and every degeneracy mode keep
# their one implementation; tests check the two paths agree.

cdef enum:
    LANES = 8


cdef inline void _lanes(const double* src, int size, Py_ssize_t nb, double dst[][LANES]) noexcept nogil:
    # dst[r][l] = src[l * size + r]: matrix l of a block in lane l (zeros for NULL)
    cdef int r, l
    if src == NULL:
        for r in range(size):
            for l in range(LANES):
                dst[r][l] = 0.0
        return
    if nb >= LANES:
        # full block: a plain strided transpose the compiler can unroll
        for l in range(LANES):
            for r in range(size):
                dst[r][l] = src[l * size + r]
        return
    for l in range(LANES):
        for r in range(size):
            dst[r][l] = src[(l if l < nb else 0) * size + r]


cdef int svd3_vjp_block(SvdCtx* c, Py_ssize_t blk, char* work, ErrInfo* e) noexcept nogil:
    cdef Py_ssize_t B = c.B, b0 = blk * LANES, nb = B - b0
    cdef int i, j, p, r, l, code
    cdef double u[9][LANES]
    cdef double vh[9][LANES]
    cdef double gu[9][LANES]
    cdef double gv[9][LANES]
    cdef double sv[3][LANES]
    cdef double gsv[3][LANES]
    cdef double J[9][LANES]
    cdef double K[9][LANES]
    cdef double M[9][LANES]
    cdef double W[9][LANES]
    cdef double tl[LANES]
    cdef double d, a, bs, x, y, acc, tol
    cdef const double* U = (<const double*> c.U) + b0 * 9
    cdef const double* Vh = (<const double*> c.Vh) + b0 * 9
    cdef const double* gU = NULL if c.g1 == NULL else (<const double*> c.g1) + b0 * 9
    cdef const double* gVh = NULL if c.g2 == NULL else (<const double*> c.g2) + b0 * 9
    cdef const double* gs = NULL if c.gs == NULL else c.gs + b0 * 3
    cdef const double* s = c.s + b0 * 3
    cdef double* out = (<double*> c.out) + b0 * 9
    cdef bint degenerate = False
    if nb > LANES:
        nb = LANES

    # load (transpose to lanes); missing lanes repeat lane 0, missing cotangents are 0
    _lanes(U, 9, nb, u)
    _lanes(Vh, 9, nb, vh)
    _lanes(gU, 9, nb, gu)
    _lanes(gVh, 9, nb, gv)
    _lanes(s, 3, nb, sv)
    _lanes(gs, 3, nb, gsv)
    for l in range(LANES):
        tl[l] = c.pol.rtol * sv[0][l]

    # any pair within tol: let the general kernel decide (error, or its mode)
    for l in range(LANES):
        degenerate |= (sv[0][l] - sv[1][l] <= tl[l]) | (sv[1][l] - sv[2][l] <= tl[l]) | (sv[1][l] + sv[2][l] <= tl[l])
    if degenerate and c.pol.mode != EXACT:
        for l in range(nb):
            e.b = b0 + l
            code = svd_vjp_kernel(3, 3, 3, 3, U + l * 9, s + l * 3, Vh + l * 9,
                                  NULL if gU == NULL else gU + l * 9,
                                  NULL if gs == NULL else gs + l * 3,
                                  NULL if gVh == NULL else gVh + l * 9,
                                  out + l * 9, work, &c.pol, e)
            if code != OK:
                return code
        return OK

    # J = U^T dU, K = Vh dVh^T
    for i in range(3):
        for j in range(3):
            for l in range(LANES):
                J[i * 3 + j][l] = u[i][l] * gu[j][l] + u[3 + i][l] * gu[3 + j][l] + u[6 + i][l] * gu[6 + j][l]
                K[i * 3 + j][l] = vh[3 * i][l] * gv[3 * j][l] + vh[3 * i + 1][l] * gv[3 * j + 1][l] \
                    + vh[3 * i + 2][l] * gv[3 * j + 2][l]
    # the core M
    for i in range(3):
        for l in range(LANES):
            M[i * 4][l] = gsv[i][l]
        for j in range(i + 1, 3):
            for l in range(LANES):
                a = 0.5 / (sv[j][l] - sv[i][l])
                bs = 0.5 / (sv[j][l] + sv[i][l])
                x = J[i * 3 + j][l] - J[j * 3 + i][l]
                y = K[i * 3 + j][l] - K[j * 3 + i][l]
                d = a * (x + y)
                acc = bs * (x - y)
                M[i * 3 + j][l] = d + acc
                M[j * 3 + i][l] = d - acc
    # W = U M, dA = W Vh
    for r in range(3):
        for j in range(3):
            for l in range(LANES):
                W[r * 3 + j][l] = u[r * 3][l] * M[j][l] + u[r * 3 + 1][l] * M[3 + j][l] + u[r * 3 + 2][l] * M[6 + j][l]
    for r in range(3):
        for j in range(3):
            for l in range(LANES):
                J[r * 3 + j][l] = W[r * 3][l] * vh[j][l] + W[r * 3 + 1][l] * vh[3 + j][l] + W[r * 3 + 2][l] * vh[6 + j][l]
    if nb == LANES:
        for l in range(LANES):
            for r in range(9):
                out[l * 9 + r] = J[r][l]
        return OK
    for l in range(nb):
        for r in range(9):
            out[l * 9 + r] = J[r][l]
    return OK


cdef bint svd3_fast(int t, int m, int n, int kk, const Policy* pol):
    return (t == cnp.NPY_FLOAT64 and m == 3 and n == 3 and kk == 3
            and (pol.mode == STRICT or pol.mode == EXACT or pol.mode == SUBSPACE))


cdef int _svd3_vjp_blocks(void* c, Py_ssize_t blk, char* w, ErrInfo* e) noexcept nogil:
    return svd3_vjp_block(<SvdCtx*> c, blk, w, e)
