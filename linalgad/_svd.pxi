# SVD A = U diag(s) Vh: the pullback and pushforward of rules/svd.py. The
# math, with the symbols used here, is in docs/svd.md.
#
# Thin SVD of an m x n matrix, k = min(m, n), s descending. A truncation
# keeps the first kk <= k triplets: its cotangents have kk columns and are
# the full-SVD cotangents padded with zeros (exact pullback of the truncated
# factors, coupling to the discarded spectrum included).
#
# VJP:  J = U^H dU, K = V^H dV;  X = J - J^H, Y = K - K^H;
#       M_ij = (X + Y)_ij / 2(s_j - s_i) + (X - Y)_ij / 2(s_j + s_i),  M_ii = dS_i
#       (+ i Im(J - K)_ii / 2 s_i, complex);  A_bar = U M Vh, plus the
#       rectangular terms (I - U U^H) dU S^-1 Vh (tall), U S^-1 dVh (I - V V^H) (wide).
#       Cost in GEMMs (square, both vector cotangents): J, K, U M, (U M) Vh = 4;
#       one vector cotangent: 3; singular values only: 1.
# JVP:  R = U^H dA V;  dS = Re diag R;  U^H dU = P, V^H dV = Q with
#       P = (R + R^H)/2 o G- + (R - R^H)/2 o G+,  Q = (R + R^H)/2 o G- - (R - R^H)/2 o G+
#       (G-_ij = 1/(s_j - s_i), G+_ij = 1/(s_j + s_i)), plus the rectangular terms.
#
# Sections: contexts, general kernels, the 3x3 lane kernel, entry points.


cdef struct SvdVjp:
    Batch batch
    int m, n, k, kk
    const void* U
    const double* s
    const void* Vh
    const void* dU      # m x kk, or NULL
    const double* dS    # kk, or NULL
    const void* dVh     # kk x n, or NULL
    void* out           # m x n
    Policy pol


cdef struct SvdJvp:
    int m, n, k, kk
    const void* U
    const double* s
    const void* Vh
    const void* dA      # m x n
    void* dU            # out: m x kk
    double* dS          # out: kk
    void* dVh           # out: kk x n
    Policy pol


cdef inline bint _svd_touches(signed char* memo, int i, int m, int n, int kk,
                              const scalar_t* gU, const scalar_t* gVh) noexcept nogil:
    # singular vector i is reached through column i of dU or row i of dVh
    return i < kk and touches(memo, i, m, gU, kk, n, gVh)


cdef inline int svd_ld(int k) noexcept nogil:
    # leading dimension padded past a multiple of 4 KiB: walking a column of a
    # k x k block with k * itemsize = 4096 hits one L1 set and thrashes it
    return k + 8 if k >= 64 else k


cdef inline size_t svd_sq(size_t k) noexcept nogil:
    # a k x svd_ld(k) block and 8 items more (consecutive blocks do not
    # start a multiple of 4 KiB apart)
    return ws_add(ws_mul(k, ws_add(k, 8) if k >= 64 else k), 8)


cdef struct SvdVjpWs:
    size_t M, W, sinv, touched, total


cdef SvdVjpWs svd_vjp_ws(size_t m, size_t n, size_t k, size_t isz) noexcept nogil:
    # M: J, then the core M formed over it pair by pair; K lives in the output
    # (k x k fits in m x n) until the products overwrite it. W: the m x k (tall)
    # or k x n (wide) middle product; a square one is formed in the output and
    # moved into M's storage, so the whole pullback holds one k x k block
    cdef SvdVjpWs w
    cdef size_t top = 0
    w.M = ws_take(&top, svd_sq(k), isz)
    w.W = ws_take(&top, ws_mul(m if m > n else n, k) if m != n else 0, isz)
    w.sinv = ws_take(&top, k, sizeof(double))
    w.touched = ws_take(&top, k, 1)
    w.total = top
    return w


cdef int svd_vjp_kernel(int m, int n, int k, int kk,
                        const scalar_t* U, const double* s, const scalar_t* Vh,
                        const scalar_t* gU, const double* gs, const scalar_t* gVh,
                        scalar_t* out, char* work, const Policy* pol, ErrInfo* e) noexcept nogil:
    cdef int i, j, r
    cdef int ld = svd_ld(k)
    cdef SvdVjpWs ws = svd_vjp_ws(m, n, k, sizeof(scalar_t))
    cdef scalar_t* J = <scalar_t*> (work + ws.M)     # J, then M over it
    cdef scalar_t* M = J
    cdef scalar_t* K = out                           # K (k x k, row length n)
    cdef scalar_t* W = <scalar_t*> (work + ws.W)
    cdef double* sinv = <double*> (work + ws.sinv)
    cdef signed char* touched = <signed char*> (work + ws.touched)
    cdef bint hasU = gU != NULL, hasV = gVh != NULL, vec = hasU or hasV
    cdef bint cplx = is_cplx(U), fa, fb
    cdef bint tallU = m > k and hasU, wideV = n > k and hasV
    cdef scalar_t one = 1, zero = 0, x, y, mij, jij, jji, kij, kji
    cdef double c = 0.0, glim, a, bs, imJ, imK, gsum
    cdef Gap g

    if k == 0:
        zero_block(m, n, out, n)
        return OK
    g = make_gap(pol, s[0])

    # J = U^H dU, K = V^H dV = Vh dVh^H (k x kk; columns past kk are zero);
    # the gauge threshold (from max |J|, |K|) is needed by the phase check
    # (complex) and the block checks of subspace/taylor only: skip those
    # passes otherwise
    fa = cplx or pol.mode == SUBSPACE or pol.mode == TAYLOR
    if hasU:
        if kk < k:
            zero_block(k, k, J, ld)
        gemm(c'C', c'N', k, kk, m, one, U, k, gU, kk, zero, J, ld)
        c = max_abs(k, k, J, ld) if fa else 0.0
    if hasV:
        if kk < k:
            zero_block(k, k, K, n)
        gemm(c'N', c'C', k, kk, n, one, Vh, n, gVh, n, zero, K, n)
        a = max_abs(k, k, K, n) if fa else 0.0
        if a > c:
            c = a
    glim = pol.gauge_tol * c
    for i in range(k):
        touched[i] = -1
        sinv[i] = 0.0

    # 1/s where it appears: the complex diagonal and the rectangular terms
    if vec and (cplx or m != n):
        for i in range(k):
            sinv[i] = inv_pos(s[i], &g, &fa)
            if fa and refuse_pair(&g, E_RANKDEF, _svd_touches(touched, i, m, n, kk, gU, gVh),
                                  0.0, 0.0, i, i, s[i], s[i], s[i], e):
                return e.code

    # the k x k core M, one pair (i < j) at a time, written over J (the pair's
    # J and K entries are read first): with P = (X+Y)_ij a/2 and Q = (X-Y)_ij b/2
    # (a = 1/(s_j - s_i), b = 1/(s_j + s_i)), M_ij = P + Q and, since X, Y are
    # anti-Hermitian and a is odd, M_ji = conj(P - Q). The rectangular terms
    # (M - J S^-1 tall, M - S^-1 K^H wide) are folded in while J and K are at hand.
    for i in range(k):
        mij = gs[i] if (gs != NULL and i < kk) else 0.0
        if cplx and vec:
            imJ = im_(J[i * ld + i]) if hasU else 0.0
            imK = im_(K[i * n + i]) if hasV else 0.0
            if fabs(imJ + imK) > glim:
                return set_err(e, E_GAUGE_PHASE, i, i, s[i], s[i], fabs(imJ + imK), glim)
            mij = mij + mkc(U, 0.0, 0.5 * (imJ - imK) * sinv[i])
        if tallU:
            mij = mij - J[i * ld + i] * sinv[i]
        elif wideV:
            mij = mij - conj_(K[i * n + i]) * sinv[i]
        M[i * ld + i] = mij
        for j in range(i + 1, k):
            if not vec:
                M[i * ld + j] = 0
                M[j * ld + i] = 0
                continue
            jij = J[i * ld + j] if hasU else zero
            jji = J[j * ld + i] if hasU else zero
            kij = K[i * n + j] if hasV else zero
            kji = K[j * n + i] if hasV else zero
            x = jij - conj_(jji)
            y = kij - conj_(kji)
            a = inv_diff(s[j], s[i], -1, &g, &fa)
            bs = inv_pos(s[j] + s[i], &g, &fb)
            if (fa or fb) and refuse_pair(
                    &g, E_DEGENERATE if fa else E_RANKDEF,
                    pol.mode == STRICT and (_svd_touches(touched, i, m, n, kk, gU, gVh)
                                            or _svd_touches(touched, j, m, n, kk, gU, gVh)),
                    fmax(abs_(x + y) if fa else 0.0, abs_(x - y) if fb else 0.0), glim,
                    i, j, s[i], s[j], fabs(s[i] - s[j]), e):
                return e.code
            x, y = 0.5 * a * (x + y), 0.5 * bs * (x - y)
            mij = x + y
            x = conj_(x - y)
            if tallU:
                mij = mij - jij * sinv[j]
                x = x - jji * sinv[i]
            elif wideV:
                mij = mij - conj_(kji) * sinv[i]
                x = x - conj_(kij) * sinv[j]
            M[i * ld + j] = mij
            M[j * ld + i] = x
    # after the vector checks (a loss that touches the vectors hears about them first)
    if split_check(k, s, kk, gs, &g, e) != OK:
        return E_SPLIT

    # K (in out) is dead from here
    if m > k:
        # tall: A_bar = [dU S^-1 + U M] Vh   ((I - U U^H) never formed)
        if not vec:
            for r in range(m):        # singular values only: U diag(dS)
                for j in range(k):
                    W[r * k + j] = U[r * k + j] * M[j * ld + j]
        elif hasU:
            for r in range(m):
                for j in range(k):
                    W[r * k + j] = gU[r * kk + j] * sinv[j] if j < kk else zero
            gemm(c'N', c'N', m, k, k, one, U, k, M, ld, one, W, k)
        else:
            gemm(c'N', c'N', m, k, k, one, U, k, M, ld, zero, W, k)
        gemm(c'N', c'N', m, n, k, one, W, k, Vh, n, zero, out, n)
    elif n > k and vec:
        # wide: A_bar = U [S^-1 dVh + M Vh]
        if hasV:
            for i in range(k):
                for j in range(n):
                    W[i * n + j] = gVh[i * n + j] * sinv[i] if i < kk else zero
            gemm(c'N', c'N', k, n, k, one, M, ld, Vh, n, one, W, n)
        else:
            gemm(c'N', c'N', k, n, k, one, M, ld, Vh, n, zero, W, n)
        gemm(c'N', c'N', m, n, k, one, U, k, W, n, zero, out, n)
    else:
        # m = k: A_bar = (U M) Vh, U M formed in out and moved over M (dead);
        # singular values only, U diag(dS) (one GEMM)
        if vec:
            gemm(c'N', c'N', k, k, k, one, U, k, M, ld, zero, out, k)
        else:
            for r in range(k):
                for j in range(k):
                    out[r * k + j] = U[r * k + j] * M[j * ld + j]
        copy_block(k, k, out, k, M, ld)
        gemm(c'N', c'N', k, n, k, one, M, ld, Vh, n, zero, out, n)
    return OK


cdef struct SvdJvpWs:
    size_t T, R, P, Q, sinv, total


cdef SvdJvpWs svd_jvp_ws(size_t m, size_t n, size_t k, size_t isz) noexcept nogil:
    cdef SvdJvpWs w
    cdef size_t top = 0
    w.T = ws_take(&top, ws_mul(m if m > n else n, k), isz)
    w.R = ws_take(&top, svd_sq(k), isz)
    w.P = ws_take(&top, svd_sq(k), isz)
    w.Q = ws_take(&top, svd_sq(k), isz)
    w.sinv = ws_take(&top, k, sizeof(double))
    w.total = top
    return w


cdef int svd_jvp_kernel(int m, int n, int k, int kk,
                        const scalar_t* U, const double* s, const scalar_t* Vh,
                        const scalar_t* dA, scalar_t* dU, double* ds, scalar_t* dVh,
                        char* work, const Policy* pol, ErrInfo* e) noexcept nogil:
    # R = U^H dA V; dS = Re diag R; U^H dU = P, V^H dV = Q with
    # P = (R + R^H)/2 o G- + (R - R^H)/2 o G+,  Q = (R + R^H)/2 o G- - (R - R^H)/2 o G+
    # (G-_ij = 1/(s_j - s_i), G+_ij = 1/(s_j + s_i)); the imaginary diagonal is
    # split evenly between P and Q (the tangent gauge).
    cdef int i, j, r
    cdef int ld = svd_ld(k)
    cdef SvdJvpWs ws = svd_jvp_ws(m, n, k, sizeof(scalar_t))
    cdef scalar_t* T = <scalar_t*> (work + ws.T)
    cdef scalar_t* R = <scalar_t*> (work + ws.R)
    cdef scalar_t* P = <scalar_t*> (work + ws.P)
    cdef scalar_t* Q = <scalar_t*> (work + ws.Q)
    cdef double* sinv = <double*> (work + ws.sinv)
    cdef bint cplx = is_cplx(U), fa, fb
    cdef scalar_t one = 1, zero = 0, x, y, t
    cdef double glim, a, bs
    cdef Gap g

    if kk == 0:
        return OK
    g = make_gap(pol, s[0])
    if m >= n:
        gemm(c'N', c'C', m, k, n, one, dA, n, Vh, n, zero, T, k)     # T = dA V
        gemm(c'C', c'N', k, k, m, one, U, k, T, k, zero, R, ld)      # R = U^H T
    else:
        gemm(c'C', c'N', k, n, m, one, U, k, dA, n, zero, T, n)      # T = U^H dA
        gemm(c'N', c'C', k, k, n, one, T, n, Vh, n, zero, R, ld)     # R = T V
    for i in range(kk):
        ds[i] = re_(R[i * ld + i])
    glim = pol.gauge_tol * max_abs(k, k, R, ld)
    for i in range(k):
        sinv[i] = 0.0
    if cplx or m != n:
        for i in range(k):
            sinv[i] = inv_pos(s[i], &g, &fa)
            if fa and refuse_pair(&g, E_RANKDEF, i < kk, 0.0, 0.0, i, i, s[i], s[i], s[i], e):
                return e.code
    # one pair (i < j) at a time: P and Q are anti-Hermitian
    for i in range(k):
        t = mkc(U, 0.0, 0.5 * im_(R[i * ld + i]) * sinv[i])
        P[i * ld + i] = t
        Q[i * ld + i] = -t
        for j in range(i + 1, k):
            x = R[i * ld + j] + conj_(R[j * ld + i])
            y = R[i * ld + j] - conj_(R[j * ld + i])
            a = inv_diff(s[j], s[i], -1, &g, &fa)
            bs = inv_pos(s[j] + s[i], &g, &fb)
            if fa and refuse_pair(&g, E_DEGENERATE, (i < kk or j < kk) and abs_(x) > glim, 0.0, 0.0,
                                  i, j, s[i], s[j], fabs(s[i] - s[j]), e):
                return e.code
            if fb and refuse_pair(&g, E_RANKDEF, (i < kk or j < kk) and abs_(y) > glim, 0.0, 0.0,
                                  i, j, s[i], s[j], s[i] + s[j], e):
                return e.code
            x, y = 0.5 * a * x, 0.5 * bs * y
            P[i * ld + j] = x + y
            Q[i * ld + j] = x - y
            P[j * ld + i] = -conj_(x + y)
            Q[j * ld + i] = -conj_(x - y)

    if m > k:
        # tall: dU = U (P - R S^-1) + T S^-1;  dVh = Q^H Vh
        for i in range(k):
            for j in range(k):
                P[i * ld + j] = P[i * ld + j] - R[i * ld + j] * sinv[j]
        for r in range(m):
            for j in range(kk):
                dU[r * kk + j] = T[r * k + j] * sinv[j]
        gemm(c'N', c'N', m, kk, k, one, U, k, P, ld, one, dU, kk)
        gemm(c'C', c'N', kk, n, k, one, Q, ld, Vh, n, zero, dVh, n)
    elif n > k:
        # wide: dU = U P;  dVh = (Q^H - S^-1 R) Vh + S^-1 T
        gemm(c'N', c'N', m, kk, k, one, U, k, P, ld, zero, dU, kk)
        for i in range(k):
            for j in range(k):
                P[i * ld + j] = conj_(Q[j * ld + i]) - R[i * ld + j] * sinv[i]
        for i in range(kk):
            for j in range(n):
                dVh[i * n + j] = T[i * n + j] * sinv[i]
        gemm(c'N', c'N', kk, n, k, one, P, ld, Vh, n, one, dVh, n)
    else:
        gemm(c'N', c'N', m, kk, k, one, U, k, P, ld, zero, dU, kk)
        gemm(c'C', c'N', kk, n, k, one, Q, ld, Vh, n, zero, dVh, n)
    return OK

# --- 3x3 float64, LANES matrices at a time (_lanes.pxi) ---------------------------------
#
# svd_vjp_kernel for a square real matrix (no 1/s term, no rectangular
# terms, no phase gauge): J = U^T dU, K = Vh dVh^T, M as above, dA = U M Vh.

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
    cdef SvdVjp* c = <SvdVjp*> ctx
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
    if c.batch.check_finite:
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


cdef int svd3_blocks(void* ctx, Py_ssize_t blk, char* work, ErrInfo* e, double* tag) noexcept nogil:
    cdef SvdVjp* c = <SvdVjp*> ctx
    cdef Py_ssize_t b0 = blk * LANES
    cdef const double* src[6]
    src[0] = (<const double*> c.U) + b0 * 9
    src[1] = c.s + b0 * 3
    src[2] = (<const double*> c.Vh) + b0 * 9
    src[3] = NULL if c.dU == NULL else (<const double*> c.dU) + b0 * 9
    src[4] = NULL if c.dS == NULL else c.dS + b0 * 3
    src[5] = NULL if c.dVh == NULL else (<const double*> c.dVh) + b0 * 9
    if src[3] != NULL or src[5] != NULL:
        return _block(_svd3[full_t], &c.batch, c, blk, 6, src, _SVD3_SIZE, (<double*> c.out) + b0 * 9, work, e)
    return _block(_svd3[part_t], &c.batch, c, blk, 6, src, _SVD3_SIZE, (<double*> c.out) + b0 * 9, work, e)


# --- one matrix of a batch -------------------------------------------------------------

cdef int svd_vjp_item(void* ctx, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef SvdVjp* c = <SvdVjp*> ctx
    cdef Py_ssize_t m = c.m, n = c.n, k = c.k, kk = c.kk
    return svd_vjp_kernel(c.m, c.n, c.k, c.kk,
                          (<const scalar_t*> c.U) + b * m * k, c.s + b * k, (<const scalar_t*> c.Vh) + b * k * n,
                          NULL if c.dU == NULL else (<const scalar_t*> c.dU) + b * m * kk,
                          NULL if c.dS == NULL else c.dS + b * kk,
                          NULL if c.dVh == NULL else (<const scalar_t*> c.dVh) + b * kk * n,
                          (<scalar_t*> c.out) + b * m * n, w, &c.pol, e)


cdef int svd_jvp_item(void* ctx, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef SvdJvp* c = <SvdJvp*> ctx
    cdef Py_ssize_t m = c.m, n = c.n, k = c.k, kk = c.kk
    return svd_jvp_kernel(c.m, c.n, c.k, c.kk,
                          (<const scalar_t*> c.U) + b * m * k, c.s + b * k, (<const scalar_t*> c.Vh) + b * k * n,
                          (<const scalar_t*> c.dA) + b * m * n,
                          (<scalar_t*> c.dU) + b * m * kk, c.dS + b * kk, (<scalar_t*> c.dVh) + b * kk * n,
                          w, &c.pol, e)


# --- entry points (validated by the Python layer; re-checked cheaply here) ----------------

cdef Py_ssize_t svd_factors(object U, object s, object Vh, int typenum, Py_ssize_t B, Py_ssize_t m,
                            Py_ssize_t n, const void** pU, const void** ps, const void** pVh) except -1:
    """The thin SVD factors of a stack, U (B,m,k), s (B,k) float64, Vh (B,k,n),
    checked, and k; each matrix must be indexable with C int."""
    cdef Py_ssize_t k = dim(U, "U", 3, 2)
    arg(U, "U", typenum, 3, B, m, k, pU)
    arg(s, "s", cnp.NPY_FLOAT64, 2, B, k, 0, ps)
    arg(Vh, "Vh", typenum, 3, B, k, n, pVh)
    check_index_range(max(m, m * n, (k + 8) * (k + 8), n * (n + 8) + 8), "svd")
    return k


def svd_vjp(U, s, Vh, dU, dS, dVh, scalar_t[:, :, ::1] out, int kk, Policy policy, int nthreads=1,
            bint check_finite=True):
    """Pullback of a stack of thin SVDs: U (B,m,k), s (B,k) float64, Vh (B,k,n);
    dU (B,m,kk), dS (B,kk) float64, dVh (B,kk,n), each or None; out (B,m,n),
    whose dtype is the factors'. check_finite: refuse a cotangent holding inf
    or nan (ValueError naming it). Returns None, or an error tuple for
    linalgad._errors."""
    cdef SvdVjp c
    cdef int t = npy_type(&out[0, 0, 0])
    cdef Py_ssize_t B = out.shape[0]
    c.m, c.n, c.kk = out.shape[1], out.shape[2], kk
    c.k = svd_factors(U, s, Vh, t, B, c.m, c.n, &c.U, <const void**> &c.s, &c.Vh)
    arg(dU, "dU", t, 3, B, c.m, kk, &c.dU)
    arg(dS, "dS", cnp.NPY_FLOAT64, 2, B, kk, 0, <const void**> &c.dS)
    arg(dVh, "dVh", t, 3, B, kk, c.n, &c.dVh)
    c.out = &out[0, 0, 0]
    c.pol = policy
    c.batch.B = B
    c.batch.one = svd_vjp_item[double]
    cdef size_t wb = ws_bytes(svd_vjp_ws(c.m, c.n, c.k, sizeof(scalar_t)).total, "svd_vjp")
    cdef item_d lanes = NULL
    if (scalar_t is double and c.m == 3 and c.n == 3 and kk == 3
            and (c.pol.mode == STRICT or c.pol.mode == EXACT or c.pol.mode == SUBSPACE)):
        lanes = svd3_blocks
    elif check_finite:
        finite(<const scalar_t*> c.dU, B * c.m * kk, "dU")
        finite(c.dS, B * kk, "dS")
        finite(<const scalar_t*> c.dVh, B * kk * c.n, "dVh")
    return run_entry(svd_vjp_item[scalar_t], lanes, &c.batch, &c, wb, nthreads,
                     ("dU", "dS", "dVh") if check_finite else None)


def svd_jvp(U, s, Vh, dA, scalar_t[:, :, ::1] dU, dS, dVh, int kk, Policy policy, int nthreads=1):
    """Pushforward of a stack of thin SVDs along dA (B,m,n) into dU (B,m,kk),
    dS (B,kk) float64 and dVh (B,kk,n). Returns None or an error tuple."""
    cdef SvdJvp c
    cdef ErrInfo e
    cdef int t = npy_type(&dU[0, 0, 0])
    cdef Py_ssize_t B = dU.shape[0]
    expect("dU", dU.shape, 3, B, dU.shape[1], kk)
    c.m, c.n, c.kk = dU.shape[1], dim(dA, "dA", 3, 2), kk
    c.k = svd_factors(U, s, Vh, t, B, c.m, c.n, &c.U, <const void**> &c.s, &c.Vh)
    arg(dA, "dA", t, 3, B, c.m, c.n, &c.dA)
    arg(dS, "dS", cnp.NPY_FLOAT64, 2, B, kk, 0, <const void**> &c.dS)
    arg(dVh, "dVh", t, 3, B, kk, c.n, <const void**> &c.dVh)
    if c.dS == NULL or c.dVh == NULL:
        raise TypeError("dS and dVh are the outputs: arrays, not None")
    c.dU = &dU[0, 0, 0]
    c.pol = policy
    cdef size_t wb = ws_bytes(svd_jvp_ws(c.m, c.n, c.k, sizeof(scalar_t)).total, "svd_jvp")
    with nogil:
        run_batch(svd_jvp_item[scalar_t], &c, B, wb, nthreads, &e)
    return err_tuple(&e)
