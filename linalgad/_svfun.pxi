# Functions of the singular values, F(A) = U diag(g(s)) Vh: the derivative
# map of rules/svfunm.py and of the polar factor Q = U Vh (g = 1,
# rules/polar.py). The math is in docs/svd.md.
#
# The map is self-adjoint, so one kernel serves both modes (G: a cotangent
# of F, or a tangent dA). With Z = U^H G V:
#   C = (Z + Z^H)/2 o D- + (Z - Z^H)/2 o D+,
#   D-_ij = (g_i - g_j)/(s_i - s_j) (D-_ii = g'(s_i)), D+_ij = (g_i + g_j)/(s_i + s_j),
#   out = U C Vh + (I - U U^H) G V h V^H + U h U^H G (I - V V^H),  h = g/s.
# Polar (g = 1): D- = 0, only sums of singular values appear, so the rule is
# exact at any degeneracy (orthogonal input included), and the cotangent of
# P = Q^H A adds its own term (svfun_kernel).
#
# Sections: context, general kernel, the 3x3 polar lane kernel, entry point.


cdef struct Svfun:
    Batch batch
    int m, n, k
    const void* U
    const double* s
    const void* Vh
    const void* G       # m x n, or NULL for zero
    const double* g     # g(s): k, or NULL for g = 1
    const double* Dm    # D-: k x k, or NULL for zero
    const void* dP      # polar (g = 1): the cotangent of P, n x n, or NULL
    void* out           # m x n
    Policy pol


cdef struct SvfunWs:
    size_t Z, T, W, Hp, Wp, h, total


cdef enum:
    SVFUN_PANEL = 256   # columns of herm(dP) taken at a time (polar)


cdef SvfunWs svfun_ws(size_t m, size_t n, size_t k, size_t isz, bint polar_p) noexcept nogil:
    # Z: Z, then C over it (square: U C is formed in the output and moved
    # there). T: G V (tall, m x k) or U^H G (wide, k x n); square, it lives in
    # the output. polar_p, the polar P cotangent: Hp, a column panel of
    # herm(dP) (n x p); Wp, Vh times it (k x p), whose products with V
    # accumulate X = Vh herm(dP) V in the output (m >= n); wide, W = Vh herm(dP)
    # (k x n) whole, which the wide formula reads to the end
    cdef SvfunWs w
    cdef size_t top = 0, p = n if n < SVFUN_PANEL else SVFUN_PANEL
    w.Z = ws_take(&top, svd_sq(k), isz)
    w.T = ws_take(&top, ws_mul(m if m > n else n, k) if m != n else 0, isz)
    w.W = ws_take(&top, ws_mul(k, n) if polar_p and m < n else 0, isz)
    w.Hp = ws_take(&top, ws_mul(n, p) if polar_p else 0, isz)
    w.Wp = ws_take(&top, ws_mul(k, p) if polar_p and m >= n else 0, isz)
    w.h = ws_take(&top, k, sizeof(double))
    w.total = top
    return w


cdef int svfun_kernel(int m, int n, int k,
                      const scalar_t* U, const double* s, const scalar_t* Vh,
                      const scalar_t* G, const double* gv, const double* Dm, const scalar_t* gP,
                      scalar_t* out, char* work, const Policy* pol, ErrInfo* e) noexcept nogil:
    # Derivative of F(A) = U diag(g(s)) Vh applied to G (a cotangent of F, or a
    # tangent dA: the map is self-adjoint). With Z = U^H G V:
    #   C = (Z + Z^H)/2 o D- + (Z - Z^H)/2 o D+,
    #   D-_ij = (g_i - g_j)/(s_i - s_j) (D-_ii = g'(s_i)), D+_ij = (g_i + g_j)/(s_i + s_j),
    #   out = U C Vh + (I - U U^H) G V h V^H + U h U^H G (I - V V^H),  h = g/s.
    # Polar (g = 1): D- = 0, only sums of singular values appear, so the rule
    # is exact at any degeneracy (orthogonal input included). gv NULL: g = 1;
    # Dm NULL: D- = 0; G NULL: zero.
    # Polar P = Q^H A (gv, Dm NULL): a cotangent gP of P feeds G + A H into the
    # Q map and adds Q H, H = herm(gP). With W = Vh H and X = W V, A H = U S W
    # is never formed: Z gains S X, and Q H = U X Vh (k = n) or U W (k = m).
    cdef int i, j, r, c0, q, p = n if n < SVFUN_PANEL else SVFUN_PANEL
    cdef int ld = svd_ld(k)
    cdef SvfunWs ws = svfun_ws(m, n, k, sizeof(scalar_t), gP != NULL)
    cdef scalar_t* Z = <scalar_t*> (work + ws.Z)
    cdef scalar_t* C = Z                            # C over Z, pair by pair
    cdef scalar_t* T = out if m == n else <scalar_t*> (work + ws.T)
    cdef scalar_t* X = out                          # gP, m >= n: X (k x k, row length n)
    cdef scalar_t* W = <scalar_t*> (work + ws.W)    # gP, m < n: k x n
    cdef scalar_t* Hp = <scalar_t*> (work + ws.Hp)
    cdef scalar_t* Wp = <scalar_t*> (work + ws.Wp)
    cdef double* h = <double*> (work + ws.h)
    cdef bint cplx = is_cplx(U), fa, xP = gP != NULL and m >= n
    cdef scalar_t one = 1, zero = 0, x, y, zij, zji, cij, cji
    cdef double glim, bs, gi, gj, sc
    cdef Gap g, gn

    if k == 0:
        zero_block(m, n, out, n)
        return OK
    g = make_gap(pol, s[0])
    # the reciprocals are taken of s / s0 (gn: the same policy at scale 1), so
    # h and bs below are s0 g_i / s_i and s0 (g_i + g_j) / (s_i + s_j), and
    # what they multiply is divided by s0 first: 1 / s_i itself overflows for
    # a subnormal s_i even where the result is of order 1 (the dP term)
    gn = make_gap(pol, 1.0)
    sc = g.scale
    if G == NULL:
        zero_block(m if m >= n else k, k if m >= n else n, T, k if m >= n else n)
        zero_block(k, k, Z, ld)
    elif m >= n:
        gemm(c'N', c'C', m, k, n, one, G, n, Vh, n, zero, T, k)      # T = G V
        gemm(c'C', c'N', k, k, m, one, U, k, T, k, zero, Z, ld)      # Z = U^H T
    else:
        gemm(c'C', c'N', k, n, m, one, U, k, G, n, zero, T, n)       # T = U^H G
    if gP != NULL:
        # H = herm(gP) a column panel at a time: W = Vh H, and X = W V (m >= n;
        # over the square T, which is dead) accumulated panel by panel
        c0 = 0
        while c0 < n:
            q = p if c0 + p <= n else n - c0
            for r in range(n):
                for j in range(q):
                    Hp[r * q + j] = 0.5 * (gP[r * n + c0 + j] + conj_(gP[(c0 + j) * n + r]))
            if xP:
                gemm(c'N', c'N', k, q, n, one, Vh, n, Hp, q, zero, Wp, q)
                gemm(c'N', c'C', k, k, q, one, Wp, q, Vh + c0, n, zero if c0 == 0 else one, X, n)
            else:
                gemm(c'N', c'N', k, q, n, one, Vh, n, Hp, q, zero, W + c0, n)
            c0 += p
    if xP:
        for i in range(k):
            for j in range(k):
                Z[i * ld + j] = Z[i * ld + j] + s[i] * X[i * n + j]
    elif gP != NULL:
        for i in range(k):
            for j in range(n):
                T[i * n + j] = T[i * n + j] + s[i] * W[i * n + j]     # T = U^H (G + A H)
    if m < n and (G != NULL or gP != NULL):
        gemm(c'N', c'C', k, k, n, one, T, n, Vh, n, zero, Z, ld)     # Z = T V
    glim = pol.gauge_tol * max_abs(k, k, Z, ld)
    for i in range(k):
        gi = gv[i] if gv != NULL else 1.0
        h[i] = gi * inv_pos(s[i] / sc, &gn, &fa)
        if fa and refuse_pair(&g, E_RANKDEF, gi != 0.0 and (m != n or (cplx and fabs(im_(Z[i * ld + i])) > glim)),
                              0.0, 0.0, i, i, s[i], s[i], s[i], e):
            return e.code
    # C over Z, one pair (i < j) at a time (both entries read first), with
    # Q H = U X Vh (X added to C; the tall term sees G only: U^H A H = S X)
    # and the rectangular terms (C - Z h tall, C - h Z wide) folded in
    for i in range(k):
        gi = gv[i] if gv != NULL else 1.0
        zij = Z[i * ld + i]
        cij = mkc(U, (Dm[i * k + i] * re_(zij)) if Dm != NULL else 0.0, im_(zij) / sc * h[i])
        if xP:
            cij = cij + X[i * n + i]
            zij = zij - s[i] * X[i * n + i]
        if m > k:
            cij = cij - zij / sc * h[i]
        elif n > k:
            cij = cij - zij / sc * h[i]
        C[i * ld + i] = cij
        for j in range(i + 1, k):
            gj = gv[j] if gv != NULL else 1.0
            zij = Z[i * ld + j]
            zji = Z[j * ld + i]
            x = zij + conj_(zji)
            y = zij - conj_(zji)
            bs = (gi + gj) * inv_pos((s[i] + s[j]) / sc, &gn, &fa)
            if fa and refuse_pair(&g, E_RANKDEF, gi + gj != 0.0 and abs_(y) > glim, 0.0, 0.0,
                                  i, j, s[i], s[j], s[i] + s[j], e):
                return e.code
            cij = 0.5 * bs * (y / sc)
            if Dm != NULL:
                cij = cij + 0.5 * Dm[i * k + j] * x
            x = zji + conj_(zij)
            y = zji - conj_(zij)
            cji = 0.5 * bs * (y / sc)
            if Dm != NULL:
                cji = cji + 0.5 * Dm[j * k + i] * x
            if xP:
                cij = cij + X[i * n + j]
                cji = cji + X[j * n + i]
                if m > k:
                    zij = zij - s[i] * X[i * n + j]
                    zji = zji - s[j] * X[j * n + i]
            if m > k:
                cij = cij - zij / sc * h[j]
                cji = cji - zji / sc * h[i]
            elif n > k:
                cij = cij - zij / sc * h[i]
                cji = cji - zji / sc * h[j]
            C[i * ld + j] = cij
            C[j * ld + i] = cji

    if m > k:
        # tall: out = [U (C - Z h) + T h] Vh
        for r in range(m):
            for j in range(k):
                T[r * k + j] = T[r * k + j] / sc * h[j]
        gemm(c'N', c'N', m, k, k, one, U, k, C, ld, one, T, k)
        gemm(c'N', c'N', m, n, k, one, T, k, Vh, n, zero, out, n)
    elif n > k:
        # wide: out = U [(C - h Z) Vh + h T]
        for i in range(k):
            for j in range(n):
                T[i * n + j] = T[i * n + j] / sc * h[i] + (W[i * n + j] if gP != NULL else zero)
        gemm(c'N', c'N', k, n, k, one, C, ld, Vh, n, one, T, n)
        gemm(c'N', c'N', m, n, k, one, U, k, T, n, zero, out, n)
    else:
        # square: U C formed in out (X is dead) and moved over C
        gemm(c'N', c'N', k, k, k, one, U, k, C, ld, zero, out, k)
        copy_block(k, k, out, k, C, ld)
        gemm(c'N', c'N', k, k, k, one, C, ld, Vh, k, zero, out, k)
    return OK

# --- 3x3 float64 polar, LANES matrices at a time (_lanes.pxi) ---------------------------
#
# svfun_kernel with g = 1 for a square real matrix: Z = U^T dQ V + S X,
# X = Vh herm(dP) V, C_ij = (Z_ij - Z_ji)/(s_i + s_j) + X_ij, C_ii = X_ii,
# dA = U C Vh.

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
    cdef Svfun* c = <Svfun*> ctx
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
    if c.batch.check_finite:
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


cdef int polar3_blocks(void* ctx, Py_ssize_t blk, char* work, ErrInfo* e, double* tag) noexcept nogil:
    cdef Svfun* c = <Svfun*> ctx
    cdef Py_ssize_t b0 = blk * LANES
    cdef const double* src[5]
    src[0] = (<const double*> c.U) + b0 * 9
    src[1] = c.s + b0 * 3
    src[2] = (<const double*> c.Vh) + b0 * 9
    src[3] = NULL if c.G == NULL else (<const double*> c.G) + b0 * 9
    src[4] = NULL if c.dP == NULL else (<const double*> c.dP) + b0 * 9
    if src[4] != NULL:
        return _block(_polar3[full_t], &c.batch, c, blk, 5, src, _POLAR3_SIZE, (<double*> c.out) + b0 * 9, work, e)
    return _block(_polar3[part_t], &c.batch, c, blk, 5, src, _POLAR3_SIZE, (<double*> c.out) + b0 * 9, work, e)


# --- one matrix of a batch -------------------------------------------------------------

cdef int svfun_item(void* ctx, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef Svfun* c = <Svfun*> ctx
    cdef Py_ssize_t m = c.m, n = c.n, k = c.k
    return svfun_kernel(c.m, c.n, c.k,
                        (<const scalar_t*> c.U) + b * m * k, c.s + b * k, (<const scalar_t*> c.Vh) + b * k * n,
                        NULL if c.G == NULL else (<const scalar_t*> c.G) + b * m * n,
                        NULL if c.g == NULL else c.g + b * k,
                        NULL if c.Dm == NULL else c.Dm + b * k * k,
                        NULL if c.dP == NULL else (<const scalar_t*> c.dP) + b * n * n,
                        (<scalar_t*> c.out) + b * m * n, w, &c.pol, e)


# --- entry point --------------------------------------------------------------------------

def svfun_apply(U, s, Vh, G, g, Dm, scalar_t[:, :, ::1] out, Policy policy, int nthreads=1,
                dP=None, tuple check_finite=None):
    """Derivative of U diag(g(s)) Vh applied to G (B,m,n): a cotangent of the
    function (pullback) or a tangent of A (pushforward; the map is self-adjoint).
    g (B,k) = g(s) or None for g = 1; Dm (B,k,k) first divided differences or
    None for zero; G None for zero. dP (B,n,n): polar only (g = 1), the
    cotangent of P = Q^H A, added to the pullback. out (B,m,n), whose dtype is
    the factors'. check_finite: the names of G and dP, to refuse inf or nan in
    them (ValueError naming it); None: not checked here. Returns None or an
    error tuple."""
    cdef Svfun c
    cdef int t = npy_type(&out[0, 0, 0])
    cdef Py_ssize_t B = out.shape[0]
    c.m, c.n = out.shape[1], out.shape[2]
    c.k = svd_factors(U, s, Vh, t, B, c.m, c.n, &c.U, <const void**> &c.s, &c.Vh)
    arg(G, "G", t, 3, B, c.m, c.n, &c.G)
    arg(dP, "dP", t, 3, B, c.n, c.n, &c.dP)
    arg(g, "g", cnp.NPY_FLOAT64, 2, B, c.k, 0, <const void**> &c.g)
    arg(Dm, "Dm", cnp.NPY_FLOAT64, 3, B, c.k, c.k, <const void**> &c.Dm)
    if c.dP != NULL and (c.g != NULL or c.Dm != NULL):
        raise ValueError("dP is the polar P cotangent: g must be 1")
    c.out = &out[0, 0, 0]
    c.pol = policy
    c.batch.B = B
    c.batch.one = svfun_item[double]
    cdef size_t wb = ws_bytes(svfun_ws(c.m, c.n, c.k, sizeof(scalar_t), c.dP != NULL).total,
                              "svfun_apply")
    cdef item_d lanes = NULL
    if (scalar_t is double and c.m == 3 and c.n == 3 and c.g == NULL and c.Dm == NULL
            and (c.pol.mode == STRICT or c.pol.mode == EXACT or c.pol.mode == SUBSPACE)):
        lanes = polar3_blocks
    elif check_finite is not None:
        finite(<const scalar_t*> c.G, B * c.m * c.n, check_finite[0])
        finite(<const scalar_t*> c.dP, B * c.n * c.n, check_finite[1])
    return run_entry(svfun_item[scalar_t], lanes, &c.batch, &c, wb, nthreads, check_finite)
