# Hermitian eigendecomposition A = V diag(w) V^H (w ascending): the
# pullback and pushforward of rules/eigh.py, and the Hermitian "sandwich"
# helpers that _funm.pxi reuses. The math, with these symbols, is in
# docs/eigh.md.
#
# tri (which function of the raw input is differentiated):
#   TRI_HERM  (uplo=None) eigh(herm(A)); cotangent herm(A_bar), tangent herm(dA)
#   TRI_LOWER (uplo="L")  eigh(tril(A) + tril(A,-1)^H), real diagonal (NumPy's
#             UPLO="L"); cotangent diag(Re A_bar) + 2 tril(A_bar, -1), zero above
#   TRI_UPPER (uplo="U")  the mirror image
#
# VJP:  K = V^H dV;  C = diag(dw) + F o (K - K^H)/2,  F_ij = 1/(w_j - w_i);
#       A_bar = V C V^H, formed as W = V tril'(C) (trmm; tril' halves the
#       diagonal) and lower(W V^H + V W^H) (her2k; above HER2K_BLOCK the GEMM
#       Y = W V^H and lower(Y + Y^H)): 1 + 0.5 + 1 = 2.5 GEMMs.
#       Eigenvalues only: lower(V diag(dw) V^H) as two herks on sqrt|dw|-scaled
#       columns (positive and negative dw apart): 0.5 GEMM.
# JVP:  R = V^H H V (H the hermitised tangent);  dw = Re diag R;
#       dV = V C, C_ij = R_ij / (w_j - w_i), C_ii = 0 (parallel transport): 3 GEMMs.
#
# Sections: contexts, the Hermitian helpers, general kernels, the 3x3 lane
# kernel, entry points.


cdef struct EighVjp:
    Batch batch
    int n, tri
    const void* V
    const double* w
    const double* dw    # n, or NULL
    const void* dV      # n x n, or NULL
    void* out           # n x n
    Policy pol


cdef struct EighJvp:
    int n, tri
    const void* V
    const double* w
    const void* dA      # n x n, read as tri says
    double* dw          # out: n
    void* dV            # out: n x n
    Policy pol

cdef enum:
    TRI_HERM = 0
    TRI_LOWER = 1
    TRI_UPPER = 2


cdef void hermitise(int n, const scalar_t* G, scalar_t* H, int tri) noexcept nogil:
    """H = the Hermitian matrix a raw G stands for under `tri` (see above)."""
    cdef int i, j
    cdef scalar_t x
    for i in range(n):
        H[i * n + i] = re_(G[i * n + i])
        for j in range(i):
            if tri == TRI_LOWER:
                x = G[i * n + j]
            elif tri == TRI_UPPER:
                x = conj_(G[j * n + i])
            else:
                x = 0.5 * (G[i * n + j] + conj_(G[j * n + i]))
            H[i * n + j] = x
            H[j * n + i] = conj_(x)


cdef enum:
    TILE = 32      # transposed (i, j) / (j, i) sweeps go tile by tile (32 x 32) to stay in cache


cdef void tri_finish_from(int n, const scalar_t* src, scalar_t* out, int tri) noexcept nogil:
    """src holds (in its lower triangle) a Hermitian cotangent A_bar; write
    the cotangent of the raw input under `tri` (see above) into all of out."""
    cdef int i, j, ib, jb, ie, je
    cdef scalar_t x
    if tri == TRI_LOWER:
        for i in range(n):
            for j in range(i):
                out[i * n + j] = 2 * src[i * n + j]
            out[i * n + i] = re_(src[i * n + i])
            for j in range(i + 1, n):
                out[i * n + j] = 0
        return
    for i in range(n):
        out[i * n + i] = re_(src[i * n + i])
    for ib in range(0, n, 32):
        ie = ib + TILE if ib + TILE < n else n
        for jb in range(0, ib + 1, 32):
            je = jb + TILE if jb + TILE < n else n
            for i in range(ib, ie):
                for j in range(jb, je if je < i else i):
                    x = src[i * n + j]
                    if tri == TRI_UPPER:
                        out[j * n + i] = 2 * conj_(x)
                        out[i * n + j] = 0
                    else:
                        out[i * n + j] = x
                        out[j * n + i] = conj_(x)


cdef inline bint _small(int n) noexcept nogil:
    return <long> n * n * n <= SMALL_GEMM


cdef void sandwich_lower(int n, const scalar_t* V, scalar_t* C, scalar_t* W, scalar_t* out) noexcept nogil:
    """lower(out) = lower(V C V^H) for a Hermitian C (both triangles stored;
    C's diagonal is halved in place). W: n x n scratch, distinct from V and
    out; out may be C itself (C is consumed before out is written)."""
    cdef scalar_t one = 1, zero = 0
    cdef int i, j, q
    cdef scalar_t acc
    if n == 0:
        return
    if _small(n):
        gemm(c'N', c'N', n, n, n, one, V, n, C, n, zero, W, n)
        for i in range(n):
            for j in range(i + 1):
                acc = 0
                for q in range(n):
                    acc = acc + W[i * n + q] * conj_(V[j * n + q])
                out[i * n + j] = acc
        return
    for i in range(n):
        C[i * n + i] = 0.5 * C[i * n + i]
    copy_block(n, n, V, n, W, n)
    trmm_lower_right_blocked(n, n, C, n, W, n)   # W = V (tril(C, -1) + diag(C)/2)
    if n <= HER2K_BLOCK:
        her2k_lower(n, n, V, n, W, n, out, n)       # lower(W V^H + V W^H)
        return
    gemm(c'N', c'C', n, n, n, one, W, n, V, n, zero, out, n)   # Y = W V^H (C is consumed)
    lower_plus_adjoint(n, out)                                # lower(Y + Y^H)


cdef void sandwich_diag_lower(int n, const scalar_t* V, const double* d, scalar_t* W,
                              scalar_t* out, double* sc, int* dest) noexcept nogil:
    """lower(out) = lower(V diag(d) V^H), d real: herks on the columns
    sqrt(d_j) v_j (d_j > 0) and sqrt(-d_j) v_j (d_j < 0), half a GEMM.
    W: n x n scratch; sc, dest: n each."""
    cdef int i, j, p, q, kp = 0, km = 0
    cdef scalar_t acc
    if n == 0:
        return
    if _small(n):
        for i in range(n):
            for j in range(i + 1):
                acc = 0
                for p in range(n):
                    acc = acc + V[i * n + p] * (d[p] * conj_(V[j * n + p]))
                out[i * n + j] = acc
        return
    # destination column and scale of each eigenvector: positive d first
    for p in range(n):
        if d[p] > 0:
            kp += 1
        elif d[p] < 0:
            km += 1
    i = 0
    j = kp
    for p in range(n):
        sc[p] = sqrt(fabs(d[p]))
        if d[p] > 0:
            dest[p] = i
            i += 1
        elif d[p] < 0:
            dest[p] = j
            j += 1
        else:
            dest[p] = -1
    for q in range(n):
        for p in range(n):
            if dest[p] >= 0:
                W[q * n + dest[p]] = sc[p] * V[q * n + p]
    if kp == 0 and km == 0:
        for i in range(n):
            for j in range(i + 1):
                out[i * n + j] = 0
        return
    if kp > 0:
        herk_lower(n, kp, 1.0, W, n, 0.0, out)
    if km > 0:
        herk_lower(n, km, -1.0, W + kp, n, 1.0 if kp > 0 else 0.0, out)


cdef void project_inplace(int n, const scalar_t* V, scalar_t* R, scalar_t* T) noexcept nogil:
    """R := V^H R V (T: n x n scratch): 2 GEMMs."""
    cdef scalar_t one = 1, zero = 0
    gemm(c'N', c'N', n, n, n, one, R, n, V, n, zero, T, n)
    gemm(c'C', c'N', n, n, n, one, V, n, T, n, zero, R, n)


cdef inline double _wscale(int n, const double* w) noexcept nogil:
    if n == 0:
        return 0.0
    return fabs(w[0]) if fabs(w[0]) > fabs(w[n - 1]) else fabs(w[n - 1])


cdef struct EighWs:
    size_t K, d, sc, dest, touched, total


cdef EighWs eigh_ws(size_t n, size_t isz, bint vjp) noexcept nogil:
    # K: n x n (every kernel of this file and _funm.pxi); the VJP also has
    # d, sc (n doubles each, sandwich_diag_lower), dest (n ints), touched
    cdef EighWs w
    cdef size_t top = 0
    w.K = ws_take(&top, ws_mul(n, n), isz)
    w.d = ws_take(&top, n if vjp else 0, sizeof(double))
    w.sc = ws_take(&top, n if vjp else 0, sizeof(double))
    w.dest = ws_take(&top, n if vjp else 0, sizeof(int))
    w.touched = ws_take(&top, n if vjp else 0, 1)
    w.total = top
    return w


cdef int eigh_vjp_kernel(int n, const scalar_t* V, const double* w, const double* gw,
                         const scalar_t* gV, scalar_t* out, int tri, char* work,
                         const Policy* pol, ErrInfo* e) noexcept nogil:
    cdef scalar_t one = 1, zero = 0
    cdef EighWs ws = eigh_ws(n, sizeof(scalar_t), True)
    cdef scalar_t* K = <scalar_t*> (work + ws.K)   # K = V^H dV, then C, then lower(A_bar)
    cdef scalar_t* W = out                   # the output buffer is the n x n scratch
    cdef double* d = <double*> (work + ws.d)
    cdef signed char* touched = <signed char*> (work + ws.touched)
    cdef int i, j, ib, jb, ie, je
    cdef bint cplx = is_cplx(V), fa, plain
    cdef scalar_t x, cij
    cdef double glim, f, imk
    cdef Gap g

    if n == 0:
        return OK
    g = make_gap(pol, _wscale(n, w))
    if pol.mode == TAYLOR and w[0] < -g.tol:
        return set_err(e, E_NEGATIVE, 0, 0, w[0], w[0], w[0], -g.tol)
    if gV == NULL:
        # eigenvalues only: A_bar = V diag(dw) V^H, exact at any degeneracy
        # unless dw tells a block's members apart (strict)
        if split_check(n, w, n, gw, &g, e) != OK:
            return E_SPLIT
        for i in range(n):
            d[i] = gw[i] if gw != NULL else 0.0
        sandwich_diag_lower(n, V, d, W, K, <double*> (work + ws.sc), <int*> (work + ws.dest))
        tri_finish_from(n, K, out, tri)
        return OK

    gemm(c'C', c'N', n, n, n, one, V, n, gV, n, zero, K, n)
    # the gauge threshold is needed by the phase check (complex) and by
    # subspace's block check only: skip the pass over K otherwise
    glim = pol.gauge_tol * max_abs(n, n, K, n) if (cplx or pol.mode == SUBSPACE) else 0.0
    for i in range(n):
        touched[i] = -1
    for i in range(n):
        if cplx:
            imk = im_(K[i * n + i])
            if fabs(imk) > glim:
                return set_err(e, E_GAUGE_PHASE, i, i, w[i], w[i], fabs(imk), glim)
        K[i * n + i] = gw[i] if gw != NULL else 0.0
    # C = diag(dw) + F o (K - K^H)/2 in place, pair (i, j) with i > j, so
    # w_j <= w_i and F_ij = 1/(w_j - w_i) <= 0; tile by tile (K_ji is a column read).
    # No pair within tol (w is sorted: neighbours tell) in a mode whose 1/gap
    # is then exact: a branch-free loop, and only the lower triangle, which is
    # all the trmm path of sandwich_lower reads
    plain = pol.mode == STRICT or pol.mode == SUBSPACE or pol.mode == EXACT
    for i in range(n - 1):
        if plain and pol.mode != EXACT and w[i + 1] - w[i] <= g.tol:
            plain = False
    for ib in range(0, n, 32):
        ie = ib + TILE if ib + TILE < n else n
        for jb in range(0, ib + 1, 32):
            je = jb + TILE if jb + TILE < n else n
            if plain and not _small(n):
                for i in range(ib, ie):
                    for j in range(jb, je if je < i else i):
                        K[i * n + j] = 0.5 * (K[i * n + j] - conj_(K[j * n + i])) / (w[j] - w[i])
                continue
            for i in range(ib, ie):
                for j in range(jb, je if je < i else i):
                    x = K[i * n + j] - conj_(K[j * n + i])
                    f = inv_diff(w[j], w[i], -1, &g, &fa)
                    if fa and refuse_pair(&g, E_DEGENERATE,
                                          pol.mode == STRICT and (touches(touched, i, n, gV, n, 0, NULL)
                                                                  or touches(touched, j, n, gV, n, 0, NULL)),
                                          abs_(x), glim, j, i, w[j], w[i], fabs(w[i] - w[j]), e):
                        return e.code
                    cij = 0.5 * f * x
                    K[i * n + j] = cij
                    K[j * n + i] = conj_(cij)
    # after the vector checks (a loss that touches the vectors hears about them first)
    if split_check(n, w, n, gw, &g, e) != OK:
        return E_SPLIT
    sandwich_lower(n, V, K, W, K)
    tri_finish_from(n, K, out, tri)
    return OK


cdef int eigh_jvp_kernel(int n, const scalar_t* V, const double* w, const scalar_t* dA,
                         double* dw, scalar_t* dV, int tri, char* work,
                         const Policy* pol, ErrInfo* e) noexcept nogil:
    cdef scalar_t one = 1, zero = 0
    cdef scalar_t* R = <scalar_t*> (work + eigh_ws(n, sizeof(scalar_t), False).K)   # H, R = V^H H V, C
    cdef scalar_t* T = dV                    # H V (the output buffer as scratch)
    cdef int i, j
    cdef bint fa
    cdef double glim, f
    cdef Gap g

    if n == 0:
        return OK
    g = make_gap(pol, _wscale(n, w))
    if pol.mode == TAYLOR and w[0] < -g.tol:
        return set_err(e, E_NEGATIVE, 0, 0, w[0], w[0], w[0], -g.tol)
    hermitise(n, dA, R, tri)
    project_inplace(n, V, R, T)
    glim = pol.gauge_tol * max_abs(n, n, R, n)
    for i in range(n):
        dw[i] = re_(R[i * n + i])
        R[i * n + i] = 0
        for j in range(n):
            if j == i:
                continue
            f = inv_diff(w[j], w[i], 1 if j > i else -1, &g, &fa)
            if fa and refuse_pair(&g, E_DEGENERATE, abs_(R[i * n + j]) > glim, 0.0, 0.0,
                                  i if i < j else j, j if i < j else i, w[i], w[j], fabs(w[i] - w[j]), e):
                return e.code
            R[i * n + j] = f * R[i * n + j]           # C, in place
    gemm(c'N', c'N', n, n, n, one, V, n, R, n, zero, dV, n)
    return OK

# --- 3x3 float64, LANES matrices at a time (_lanes.pxi) ---------------------------------
#
# eigh_vjp_kernel for a real matrix (no phase gauge): K = V^T dV,
# C_ij = (K_ij - K_ji)/2(w_j - w_i), C_ii = dw_i, A_bar = V C V^T, finished
# for the triangle read (tri).

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
    cdef EighVjp* c = <EighVjp*> ctx
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
    if c.batch.check_finite:
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


cdef int eigh3_blocks(void* ctx, Py_ssize_t blk, char* work, ErrInfo* e, double* tag) noexcept nogil:
    cdef EighVjp* c = <EighVjp*> ctx
    cdef Py_ssize_t b0 = blk * LANES
    cdef const double* src[4]
    src[0] = (<const double*> c.V) + b0 * 9
    src[1] = c.w + b0 * 3
    src[2] = NULL if c.dw == NULL else c.dw + b0 * 3
    src[3] = NULL if c.dV == NULL else (<const double*> c.dV) + b0 * 9
    if src[3] != NULL:
        return _block(_eigh3[full_t], &c.batch, c, blk, 4, src, _EIGH3_SIZE, (<double*> c.out) + b0 * 9, work, e)
    return _block(_eigh3[part_t], &c.batch, c, blk, 4, src, _EIGH3_SIZE, (<double*> c.out) + b0 * 9, work, e)


# --- one matrix of a batch -------------------------------------------------------------

cdef int eigh_vjp_item(void* ctx, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef EighVjp* c = <EighVjp*> ctx
    cdef Py_ssize_t n = c.n
    return eigh_vjp_kernel(c.n, (<const scalar_t*> c.V) + b * n * n, c.w + b * n,
                           NULL if c.dw == NULL else c.dw + b * n,
                           NULL if c.dV == NULL else (<const scalar_t*> c.dV) + b * n * n,
                           (<scalar_t*> c.out) + b * n * n, c.tri, w, &c.pol, e)


cdef int eigh_jvp_item(void* ctx, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef EighJvp* c = <EighJvp*> ctx
    cdef Py_ssize_t n = c.n
    return eigh_jvp_kernel(c.n, (<const scalar_t*> c.V) + b * n * n, c.w + b * n,
                           (<const scalar_t*> c.dA) + b * n * n, c.dw + b * n,
                           (<scalar_t*> c.dV) + b * n * n, c.tri, w, &c.pol, e)


# --- entry points ---------------------------------------------------------------------

cdef int eigh_factors(const scalar_t[:, :, ::1] V, const double[:, ::1] w, int tri) except -1:
    """V (B,n,n) and w (B,n) agree, tri is 0, 1 or 2, and a matrix can be indexed with C int."""
    expect("V", V.shape, 3, V.shape[0], V.shape[1], V.shape[1], &V[0, 0, 0], real_size(<scalar_t*> NULL))
    expect("w", w.shape, 2, V.shape[0], V.shape[1], 0, &w[0, 0], sizeof(double))
    if tri < 0 or tri > 2:
        raise ValueError("tri must be 0, 1 or 2")
    check_index_range(V.shape[1] * V.shape[1], "eigh")
    return 0


def eigh_vjp(const scalar_t[:, :, ::1] V, const double[:, ::1] w, const double[:, ::1] dw,
             const scalar_t[:, :, ::1] dV, scalar_t[:, :, ::1] out, int tri, Policy policy,
             int nthreads=1, bint check_finite=True):
    """Pullback of a stack of eigh: V (B,n,n), w (B,n) float64 ascending; dw
    (B,n) float64 or None, dV (B,n,n) or None; out (B,n,n). tri: 0 Hermitian
    part, 1 lower triangle read, 2 upper. check_finite: refuse a cotangent
    holding inf or nan (ValueError naming it). Returns None or an error tuple."""
    cdef EighVjp c
    cdef size_t al = real_size(<scalar_t*> NULL)
    eigh_factors(V, w, tri)
    c.batch.B = V.shape[0]
    c.batch.one = eigh_vjp_item[double]
    c.n, c.tri = V.shape[1], tri
    c.V, c.w = &V[0, 0, 0], &w[0, 0]
    c.dw = c.dV = NULL
    c.pol = policy
    expect("out", out.shape, 3, c.batch.B, c.n, c.n, &out[0, 0, 0], al)
    c.out = &out[0, 0, 0]
    if dw is not None:
        expect("dw", dw.shape, 2, c.batch.B, c.n, 0, &dw[0, 0], sizeof(double))
        c.dw = &dw[0, 0]
    if dV is not None:
        expect("dV", dV.shape, 3, c.batch.B, c.n, c.n, &dV[0, 0, 0], al)
        c.dV = &dV[0, 0, 0]
    cdef size_t wb = ws_bytes(eigh_ws(c.n, sizeof(scalar_t), True).total, "eigh_vjp")
    cdef item_d lanes = NULL
    if (scalar_t is double and c.n == 3
            and (c.pol.mode == STRICT or c.pol.mode == EXACT or c.pol.mode == SUBSPACE)):
        lanes = eigh3_blocks
    elif check_finite:
        finite(c.dw, c.batch.B * c.n, "dw")
        finite(<const scalar_t*> c.dV, c.batch.B * c.n * c.n, "dV")
    return run_entry(eigh_vjp_item[scalar_t], lanes, &c.batch, &c, wb, nthreads,
                     ("dw", "dV") if check_finite else None)


def eigh_jvp(const scalar_t[:, :, ::1] V, const double[:, ::1] w, const scalar_t[:, :, ::1] dA,
             double[:, ::1] dw, scalar_t[:, :, ::1] dV, int tri, Policy policy, int nthreads=1):
    """Pushforward of a stack of eigh along the raw tangent dA (B,n,n), read
    as `tri` says, into dw (B,n) float64 and dV (B,n,n). Returns None or an
    error tuple."""
    cdef EighJvp c
    cdef ErrInfo e
    cdef size_t al = real_size(<scalar_t*> NULL)
    cdef Py_ssize_t B = V.shape[0]
    eigh_factors(V, w, tri)
    c.n, c.tri = V.shape[1], tri
    expect("dA", dA.shape, 3, B, c.n, c.n, &dA[0, 0, 0], al)
    expect("dV", dV.shape, 3, B, c.n, c.n, &dV[0, 0, 0], al)
    expect("dw", dw.shape, 2, B, c.n, 0, &dw[0, 0], sizeof(double))
    c.V, c.w, c.dA, c.dw, c.dV = &V[0, 0, 0], &w[0, 0], &dA[0, 0, 0], &dw[0, 0], &dV[0, 0, 0]
    c.pol = policy
    cdef size_t wb = ws_bytes(eigh_ws(c.n, sizeof(scalar_t), False).total, "eigh_jvp")
    with nogil:
        run_batch(eigh_jvp_item[scalar_t], &c, B, wb, nthreads, &e)
    return err_tuple(&e)
