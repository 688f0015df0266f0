# SVD and singular-value functions (polar): the hot loops of rules/svd.py and
# rules/polar.py. The math, with the symbols used here, is in docs/svd.md.
#
# Thin SVD A = U diag(s) Vh of an m x n matrix, k = min(m, n), s descending.
# A truncation keeps the first kk <= k triplets: its cotangents have kk
# columns and are the full-SVD cotangents padded with zeros (exact pullback of
# the truncated factors, coupling to the discarded spectrum included).
#
# Cost in GEMMs (square, both vector cotangents): J, K, U M, (U M) Vh = 4;
# one vector cotangent: 3; singular values only: 1.

cdef struct SvdCtx:
    Py_ssize_t B
    int m
    int n
    int k
    int kk
    void* U
    double* s
    void* Vh
    void* g1        # vjp: dU (m x kk) | jvp: dA (m x n) | svfun: dG (m x n)
    double* gs      # vjp: dS (kk) | jvp: out dS (kk) | svfun: g(s) (k) or NULL
    void* g2        # vjp: dVh (kk x n) | jvp: out dVh (kk x n) | svfun: D- (k x k, double) or NULL
    void* out       # vjp/svfun: (m x n) | jvp: out dU (m x kk)
    void* g3        # svfun (polar, g = 1): dP (n x n) or NULL
    bint check_finite   # vjp, 3x3 lanes: the kernel checks the cotangents it loads
    item_fn one     # 3x3 lanes: the general kernel for one matrix (degenerate lanes)
    Policy pol


cdef inline bint _touched(signed char* t, int i, int m, int n, int kk,
                          const scalar_t* gU, const scalar_t* gVh) noexcept nogil:
    # does the cotangent touch singular vector i? (exact zero test: a loss
    # that ignores a vector gives exactly zero there)
    if t[i] < 0:
        t[i] = i < kk and ((gU != NULL and col_nonzero(m, gU, kk, i))
                           or (gVh != NULL and row_nonzero(n, gVh, n, i)))
    return t[i] > 0


cdef inline int svd_ld(int k) noexcept nogil:
    # leading dimension padded past a multiple of 4 KiB: walking a column of a
    # k x k block with k * itemsize = 4096 hits one L1 set and thrashes it
    return k + 8 if k >= 64 else k


cdef inline size_t svd_sq(size_t k) noexcept nogil:
    # a k x svd_ld(k) block and 8 items more (consecutive blocks do not
    # start a multiple of 4 KiB apart)
    return ws_add(ws_mul(k, ws_add(k, 8) if k >= 64 else k), 8)


cdef struct SvdVjpWs:
    size_t J, K, M, W, sinv, touched, total


cdef SvdVjpWs svd_vjp_ws(size_t m, size_t n, size_t k, size_t isz) noexcept nogil:
    cdef SvdVjpWs w
    cdef size_t top = 0
    w.J = ws_take(&top, svd_sq(k), isz)
    w.K = ws_take(&top, svd_sq(k), isz)
    w.M = ws_take(&top, svd_sq(k), isz)
    w.W = ws_take(&top, ws_mul(m if m > n else n, k), isz)
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
    cdef scalar_t* J = <scalar_t*> (work + ws.J)
    cdef scalar_t* K = <scalar_t*> (work + ws.K)
    cdef scalar_t* M = <scalar_t*> (work + ws.M)
    cdef scalar_t* W = <scalar_t*> (work + ws.W)
    cdef double* sinv = <double*> (work + ws.sinv)
    cdef signed char* touched = <signed char*> (work + ws.touched)
    cdef bint hasU = gU != NULL, hasV = gVh != NULL, vec = hasU or hasV
    cdef bint cplx = is_cplx(U), fa, fb
    cdef scalar_t one = 1, zero = 0, x, y, mij
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
            zero_block(k, k, K, ld)
        gemm(c'N', c'C', k, kk, n, one, Vh, n, gVh, n, zero, K, ld)
        a = max_abs(k, k, K, ld) if fa else 0.0
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
            if fa and pol.mode == STRICT and _touched(touched, i, m, n, kk, gU, gVh):
                return set_err(e, E_RANKDEF, i, i, s[i], s[i], s[i], g.tol)

    # the k x k core M, one pair (i < j) at a time: with P = (X+Y)_ij a/2 and
    # Q = (X-Y)_ij b/2 (a = 1/(s_j - s_i), b = 1/(s_j + s_i)), M_ij = P + Q and,
    # since X, Y are anti-Hermitian and a is odd, M_ji = conj(P - Q).
    for i in range(k):
        mij = gs[i] if (gs != NULL and i < kk) else 0.0
        if cplx and vec:
            imJ = im_(J[i * ld + i]) if hasU else 0.0
            imK = im_(K[i * ld + i]) if hasV else 0.0
            if fabs(imJ + imK) > glim:
                return set_err(e, E_GAUGE_PHASE, i, i, s[i], s[i], fabs(imJ + imK), glim)
            mij = mij + mkc(U, 0.0, 0.5 * (imJ - imK) * sinv[i])
        M[i * ld + i] = mij
        for j in range(i + 1, k):
            if not vec:
                M[i * ld + j] = 0
                M[j * ld + i] = 0
                continue
            x = (J[i * ld + j] - conj_(J[j * ld + i])) if hasU else zero
            y = (K[i * ld + j] - conj_(K[j * ld + i])) if hasV else zero
            a = inv_diff(s[j], s[i], -1, &g, &fa)
            bs = inv_pos(s[j] + s[i], &g, &fb)
            if fa or fb:
                if pol.mode == STRICT:
                    if _touched(touched, i, m, n, kk, gU, gVh) or _touched(touched, j, m, n, kk, gU, gVh):
                        return set_err(e, E_DEGENERATE if fa else E_RANKDEF, i, j, s[i], s[j],
                                       fabs(s[i] - s[j]), g.tol)
                elif pol.mode == SUBSPACE or pol.mode == TAYLOR:
                    if fa and abs_(x + y) > glim:
                        return set_err(e, E_GAUGE_BLOCK, i, j, s[i], s[j], abs_(x + y), glim)
                    if fb and abs_(x - y) > glim:
                        return set_err(e, E_GAUGE_BLOCK, i, j, s[i], s[j], abs_(x - y), glim)
            x, y = 0.5 * a * (x + y), 0.5 * bs * (x - y)
            M[i * ld + j] = x + y
            M[j * ld + i] = conj_(x - y)
    # after the vector checks (a loss that touches the vectors hears about them first)
    if split_check(k, s, kk, gs, &g, e) != OK:
        return E_SPLIT

    if not vec:
        # singular values only: A_bar = (U diag(dS)) Vh, one GEMM
        for r in range(m):
            for j in range(k):
                W[r * k + j] = U[r * k + j] * M[j * ld + j]
        gemm(c'N', c'N', m, n, k, one, W, k, Vh, n, zero, out, n)
    elif m > k:
        # tall: A_bar = [U (M - J S^-1) + dU S^-1] Vh   ((I - U U^H) never formed)
        if hasU:
            for r in range(m):
                for j in range(k):
                    W[r * k + j] = gU[r * kk + j] * sinv[j] if j < kk else zero
            for i in range(k):
                for j in range(k):
                    M[i * ld + j] = M[i * ld + j] - J[i * ld + j] * sinv[j]
            gemm(c'N', c'N', m, k, k, one, U, k, M, ld, one, W, k)
        else:
            gemm(c'N', c'N', m, k, k, one, U, k, M, ld, zero, W, k)
        gemm(c'N', c'N', m, n, k, one, W, k, Vh, n, zero, out, n)
    elif n > k:
        # wide: A_bar = U [(M - S^-1 K^H) Vh + S^-1 dVh]
        if hasV:
            for i in range(k):
                for j in range(n):
                    W[i * n + j] = gVh[i * n + j] * sinv[i] if i < kk else zero
            for i in range(k):
                for j in range(k):
                    M[i * ld + j] = M[i * ld + j] - conj_(K[j * ld + i]) * sinv[i]
            gemm(c'N', c'N', k, n, k, one, M, ld, Vh, n, one, W, n)
        else:
            gemm(c'N', c'N', k, n, k, one, M, ld, Vh, n, zero, W, n)
        gemm(c'N', c'N', m, n, k, one, U, k, W, n, zero, out, n)
    else:
        gemm(c'N', c'N', k, k, k, one, U, k, M, ld, zero, W, k)
        gemm(c'N', c'N', k, k, k, one, W, k, Vh, k, zero, out, k)
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
            if fa and pol.mode == STRICT and i < kk:
                return set_err(e, E_RANKDEF, i, i, s[i], s[i], s[i], g.tol)
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
            if (fa or fb) and pol.mode == STRICT and (i < kk or j < kk):
                if fa and abs_(x) > glim:
                    return set_err(e, E_DEGENERATE, i, j, s[i], s[j], fabs(s[i] - s[j]), g.tol)
                if fb and abs_(y) > glim:
                    return set_err(e, E_RANKDEF, i, j, s[i], s[j], s[i] + s[j], g.tol)
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


cdef struct SvfunWs:
    size_t T, Z, C, H, W, h, total


cdef SvfunWs svfun_ws(size_t m, size_t n, size_t k, size_t isz, bint polar_p) noexcept nogil:
    # polar_p: the polar P cotangent's blocks H (n x n, or X: k x ld) and W
    cdef SvfunWs w
    cdef size_t top = 0
    w.T = ws_take(&top, ws_mul(m if m > n else n, k), isz)
    w.Z = ws_take(&top, svd_sq(k), isz)
    w.C = ws_take(&top, svd_sq(k), isz)
    w.H = ws_take(&top, ws_add(ws_mul(n, ws_add(n, 8)), 8) if polar_p else 0, isz)
    w.W = ws_take(&top, ws_mul(k, n) if polar_p else 0, isz)
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
    cdef int i, j, r
    cdef int ld = svd_ld(k)
    cdef SvfunWs ws = svfun_ws(m, n, k, sizeof(scalar_t), gP != NULL)
    cdef scalar_t* T = <scalar_t*> (work + ws.T)
    cdef scalar_t* Z = <scalar_t*> (work + ws.Z)
    cdef scalar_t* C = <scalar_t*> (work + ws.C)
    cdef scalar_t* H = <scalar_t*> (work + ws.H)   # gP only: n x n, then X (k x ld)
    cdef scalar_t* W = <scalar_t*> (work + ws.W)   # gP only: k x n
    cdef double* h = <double*> (work + ws.h)
    cdef bint cplx = is_cplx(U), fa
    cdef scalar_t one = 1, zero = 0, x, y
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
    if gP != NULL:
        for i in range(n):
            for j in range(n):
                H[i * n + j] = 0.5 * (gP[i * n + j] + conj_(gP[j * n + i]))
        gemm(c'N', c'N', k, n, n, one, Vh, n, H, n, zero, W, n)      # W = Vh H
    if G == NULL:
        zero_block(m if m >= n else k, k if m >= n else n, T, k if m >= n else n)
        zero_block(k, k, Z, ld)
    elif m >= n:
        gemm(c'N', c'C', m, k, n, one, G, n, Vh, n, zero, T, k)      # T = G V
        gemm(c'C', c'N', k, k, m, one, U, k, T, k, zero, Z, ld)      # Z = U^H T
    else:
        gemm(c'C', c'N', k, n, m, one, U, k, G, n, zero, T, n)       # T = U^H G
    if gP != NULL and m >= n:
        gemm(c'N', c'C', k, k, n, one, W, n, Vh, n, zero, H, ld)     # X = W V (in H)
        for i in range(k):
            for j in range(k):
                Z[i * ld + j] = Z[i * ld + j] + s[i] * H[i * ld + j]
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
        if fa and pol.mode == STRICT and gi != 0.0 and (m != n or (cplx and fabs(im_(Z[i * ld + i])) > glim)):
            return set_err(e, E_RANKDEF, i, i, s[i], s[i], s[i], g.tol)
    for i in range(k):
        gi = gv[i] if gv != NULL else 1.0
        for j in range(k):
            if i == j:
                C[i * ld + i] = mkc(U, (Dm[i * k + i] * re_(Z[i * ld + i])) if Dm != NULL else 0.0,
                                   im_(Z[i * ld + i]) / sc * h[i])
                continue
            gj = gv[j] if gv != NULL else 1.0
            x = Z[i * ld + j] + conj_(Z[j * ld + i])
            y = Z[i * ld + j] - conj_(Z[j * ld + i])
            bs = (gi + gj) * inv_pos((s[i] + s[j]) / sc, &gn, &fa)
            if fa and gi + gj != 0.0:
                if pol.mode == STRICT and abs_(y) > glim:
                    return set_err(e, E_RANKDEF, i, j, s[i], s[j], s[i] + s[j], g.tol)
            C[i * ld + j] = 0.5 * bs * (y / sc)
            if Dm != NULL:
                C[i * ld + j] = C[i * ld + j] + 0.5 * Dm[i * k + j] * x

    if gP != NULL and m >= n:
        # Q H = U X Vh; the tall term below sees G only (U^H A H = S X)
        for i in range(k):
            for j in range(k):
                C[i * ld + j] = C[i * ld + j] + H[i * ld + j]
                if m > k:
                    Z[i * ld + j] = Z[i * ld + j] - s[i] * H[i * ld + j]
    if m > k:
        # tall: out = [U (C - Z h) + T h] Vh
        for i in range(k):
            for j in range(k):
                C[i * ld + j] = C[i * ld + j] - Z[i * ld + j] / sc * h[j]
        for r in range(m):
            for j in range(k):
                T[r * k + j] = T[r * k + j] / sc * h[j]
        gemm(c'N', c'N', m, k, k, one, U, k, C, ld, one, T, k)
        gemm(c'N', c'N', m, n, k, one, T, k, Vh, n, zero, out, n)
    elif n > k:
        # wide: out = U [(C - h Z) Vh + h T]
        for i in range(k):
            for j in range(k):
                C[i * ld + j] = C[i * ld + j] - Z[i * ld + j] / sc * h[i]
        for i in range(k):
            for j in range(n):
                T[i * n + j] = T[i * n + j] / sc * h[i] + (W[i * n + j] if gP != NULL else zero)
        gemm(c'N', c'N', k, n, k, one, C, ld, Vh, n, one, T, n)
        gemm(c'N', c'N', m, n, k, one, U, k, T, n, zero, out, n)
    else:
        gemm(c'N', c'N', k, k, k, one, U, k, C, ld, zero, T, k)
        gemm(c'N', c'N', k, k, k, one, T, k, Vh, k, zero, out, k)
    return OK


# --- per-matrix adapters (batch offsets) -----------------------------------------

cdef inline int _svd_vjp_item(SvdCtx* c, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef Py_ssize_t m = c.m, n = c.n, k = c.k, kk = c.kk
    return svd_vjp_kernel(c.m, c.n, c.k, c.kk,
                          (<scalar_t*> c.U) + b * m * k, c.s + b * k, (<scalar_t*> c.Vh) + b * k * n,
                          NULL if c.g1 == NULL else (<scalar_t*> c.g1) + b * m * kk,
                          NULL if c.gs == NULL else c.gs + b * kk,
                          NULL if c.g2 == NULL else (<scalar_t*> c.g2) + b * kk * n,
                          (<scalar_t*> c.out) + b * m * n, w, &c.pol, e)


cdef inline int _svd_jvp_item(SvdCtx* c, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef Py_ssize_t m = c.m, n = c.n, k = c.k, kk = c.kk
    return svd_jvp_kernel(c.m, c.n, c.k, c.kk,
                          (<scalar_t*> c.U) + b * m * k, c.s + b * k, (<scalar_t*> c.Vh) + b * k * n,
                          (<scalar_t*> c.g1) + b * m * n,
                          (<scalar_t*> c.out) + b * m * kk, c.gs + b * kk,
                          (<scalar_t*> c.g2) + b * kk * n, w, &c.pol, e)


cdef inline int _svfun_item(SvdCtx* c, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef Py_ssize_t m = c.m, n = c.n, k = c.k
    return svfun_kernel(c.m, c.n, c.k,
                        (<scalar_t*> c.U) + b * m * k, c.s + b * k, (<scalar_t*> c.Vh) + b * k * n,
                        NULL if c.g1 == NULL else (<scalar_t*> c.g1) + b * m * n,
                        NULL if c.gs == NULL else c.gs + b * k,
                        NULL if c.g2 == NULL else (<double*> c.g2) + b * k * k,
                        NULL if c.g3 == NULL else (<scalar_t*> c.g3) + b * n * n,
                        (<scalar_t*> c.out) + b * m * n, w, &c.pol, e)


cdef int _svd_vjp_f(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _svd_vjp_item(<SvdCtx*> c, b, w, e, <float*> NULL)
cdef int _svd_vjp_d(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _svd_vjp_item(<SvdCtx*> c, b, w, e, <double*> NULL)
cdef int _svd_vjp_c(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _svd_vjp_item(<SvdCtx*> c, b, w, e, <cfloat_t*> NULL)
cdef int _svd_vjp_z(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _svd_vjp_item(<SvdCtx*> c, b, w, e, <cdouble_t*> NULL)

cdef int _svd_jvp_f(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _svd_jvp_item(<SvdCtx*> c, b, w, e, <float*> NULL)
cdef int _svd_jvp_d(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _svd_jvp_item(<SvdCtx*> c, b, w, e, <double*> NULL)
cdef int _svd_jvp_c(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _svd_jvp_item(<SvdCtx*> c, b, w, e, <cfloat_t*> NULL)
cdef int _svd_jvp_z(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _svd_jvp_item(<SvdCtx*> c, b, w, e, <cdouble_t*> NULL)

cdef int _svfun_f(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _svfun_item(<SvdCtx*> c, b, w, e, <float*> NULL)
cdef int _svfun_d(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _svfun_item(<SvdCtx*> c, b, w, e, <double*> NULL)
cdef int _svfun_c(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _svfun_item(<SvdCtx*> c, b, w, e, <cfloat_t*> NULL)
cdef int _svfun_z(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _svfun_item(<SvdCtx*> c, b, w, e, <cdouble_t*> NULL)


# --- def entry points (validated by the Python layer; re-checked cheaply here) ------

cdef SvdCtx _svd_ctx(cnp.ndarray U, cnp.ndarray s, cnp.ndarray Vh, int kk, tuple policy) except *:
    cdef SvdCtx c
    check_stack(U, "U", 3)
    check_real(s, "s", 2)
    check_stack(Vh, "Vh", 3)
    check_index_range(max(U.shape[1], U.shape[1] * Vh.shape[2], (U.shape[2] + 8) * (U.shape[2] + 8),
                          Vh.shape[2] * (Vh.shape[2] + 8) + 8), "svd")
    c.B = U.shape[0]
    c.m = <int> U.shape[1]
    c.k = <int> U.shape[2]
    c.n = <int> Vh.shape[2]
    c.kk = kk
    if Vh.shape[1] != c.k or s.shape[1] != c.k or Vh.shape[0] != U.shape[0] or s.shape[0] != U.shape[0]:
        raise ValueError("inconsistent SVD factors")
    if cnp.PyArray_TYPE(Vh) != cnp.PyArray_TYPE(U):
        raise TypeError("U and Vh must have the same dtype")
    c.U = cnp.PyArray_DATA(U)
    c.s = <double*> cnp.PyArray_DATA(s)
    c.Vh = cnp.PyArray_DATA(Vh)
    c.g1 = c.g2 = c.g3 = c.out = NULL
    c.gs = NULL
    c.check_finite = False
    c.pol = read_policy(policy)
    return c


def svd_vjp(cnp.ndarray U, cnp.ndarray s, cnp.ndarray Vh, object gU, object gs, object gVh,
            cnp.ndarray out, int kk, tuple policy, int nthreads=1, bint check_finite=True):
    """Pullback of a stack of thin SVDs: U (B,m,k), s (B,k) float64, Vh (B,k,n);
    gU (B,m,kk), gs (B,kk) float64, gVh (B,kk,n), each or None; out (B,m,n).
    check_finite: refuse a cotangent holding inf or nan (ValueError naming it).
    Returns None, or an error tuple for linalgad._errors."""
    cdef SvdCtx c = _svd_ctx(U, s, Vh, kk, policy)
    cdef int t = cnp.PyArray_TYPE(U)
    cdef Py_ssize_t B = U.shape[0]
    cdef size_t wb = ws_bytes(svd_vjp_ws(c.m, c.n, c.k, itemsize(t)).total, "svd_vjp")
    check_like(out, U, "out", B, c.m, c.n)
    if gU is not None:
        check_like(gU, U, "dU", B, c.m, kk)
        c.g1 = cnp.PyArray_DATA(<cnp.ndarray> gU)
    if gVh is not None:
        check_like(gVh, U, "dVh", B, kk, c.n)
        c.g2 = cnp.PyArray_DATA(<cnp.ndarray> gVh)
    if gs is not None:
        check_real(gs, "dS", 2)
        if gs.shape[1] != kk:
            raise ValueError("dS has the wrong length")
        c.gs = <double*> cnp.PyArray_DATA(<cnp.ndarray> gs)
    c.out = cnp.PyArray_DATA(out)
    cdef item_fn fn = pick(t, _svd_vjp_f, _svd_vjp_d, _svd_vjp_c, _svd_vjp_z)
    return run_entry(fn, _svd3_vjp_blocks if svd3_fast(t, c.m, c.n, kk, &c.pol) else <item_fn> NULL,
                     &c, &c.check_finite, &c.one, B, wb, nthreads, (gU, gs, gVh),
                     ("dU", "dS", "dVh") if check_finite else None)


def svd_jvp(cnp.ndarray U, cnp.ndarray s, cnp.ndarray Vh, cnp.ndarray dA,
            cnp.ndarray dU, cnp.ndarray ds, cnp.ndarray dVh, int kk, tuple policy, int nthreads=1):
    """Pushforward of a stack of thin SVDs along dA (B,m,n) into dU (B,m,kk),
    ds (B,kk) float64 and dVh (B,kk,n). Returns None or an error tuple."""
    cdef SvdCtx c = _svd_ctx(U, s, Vh, kk, policy)
    cdef ErrInfo e
    cdef int t = cnp.PyArray_TYPE(U)
    cdef Py_ssize_t B = U.shape[0]
    cdef size_t wb = ws_bytes(svd_jvp_ws(c.m, c.n, c.k, itemsize(t)).total, "svd_jvp")
    check_like(dA, U, "dA", B, c.m, c.n)
    check_like(dU, U, "dU", B, c.m, kk)
    check_like(dVh, U, "dVh", B, kk, c.n)
    check_real(ds, "dS", 2)
    c.g1 = cnp.PyArray_DATA(dA)
    c.out = cnp.PyArray_DATA(dU)
    c.gs = <double*> cnp.PyArray_DATA(ds)
    c.g2 = cnp.PyArray_DATA(dVh)
    cdef item_fn fn = pick(t, _svd_jvp_f, _svd_jvp_d, _svd_jvp_c, _svd_jvp_z)
    with nogil:
        run_batch(fn, &c, B, wb, nthreads, &e)
    return err_tuple(&e)


def svfun_apply(cnp.ndarray U, cnp.ndarray s, cnp.ndarray Vh, object G,
                object gv, object Dm, cnp.ndarray out, tuple policy, int nthreads=1,
                object gP=None, tuple check_finite=None):
    """Derivative of U diag(g(s)) Vh applied to G (B,m,n): a cotangent of the
    function (pullback) or a tangent of A (pushforward; the map is self-adjoint).
    gv (B,k) = g(s) or None for g = 1; Dm (B,k,k) first divided differences or
    None for zero; G None for zero. gP (B,n,n): polar only (g = 1), the
    cotangent of P = Q^H A, added to the pullback. check_finite: the names of
    G and gP, to refuse inf or nan in them (ValueError naming it); None: not
    checked here. Returns None or an error tuple."""
    cdef SvdCtx c = _svd_ctx(U, s, Vh, 0, policy)
    cdef int t = cnp.PyArray_TYPE(U)
    cdef Py_ssize_t B = U.shape[0]
    cdef size_t wb = ws_bytes(svfun_ws(c.m, c.n, c.k, itemsize(t), gP is not None).total,
                              "svfun_apply")
    check_like(out, U, "out", B, c.m, c.n)
    if G is not None:
        check_like(G, U, "G", B, c.m, c.n)
        c.g1 = cnp.PyArray_DATA(<cnp.ndarray> G)
    if gP is not None:
        if gv is not None or Dm is not None:
            raise ValueError("gP is the polar P cotangent: g must be 1")
        check_like(gP, U, "dP", B, c.n, c.n)
        c.g3 = cnp.PyArray_DATA(<cnp.ndarray> gP)
    c.out = cnp.PyArray_DATA(out)
    if gv is not None:
        check_real(gv, "g", 2)
        c.gs = <double*> cnp.PyArray_DATA(<cnp.ndarray> gv)
    if Dm is not None:
        check_real(Dm, "Dm", 3)
        c.g2 = cnp.PyArray_DATA(<cnp.ndarray> Dm)
    cdef item_fn fn = pick(t, _svfun_f, _svfun_d, _svfun_c, _svfun_z)
    return run_entry(fn, _polar3_blocks if polar3_fast(t, c.m, c.n, gv, Dm, &c.pol) else <item_fn> NULL,
                     &c, &c.check_finite, &c.one, B, wb, nthreads, (G, gP), check_finite)
