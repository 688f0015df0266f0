# General eigendecomposition A V = V diag(w) (columns of unit 2-norm): the
# hot loops of rules/eig.py. The math, with these symbols, is in docs/eig.md.
#
# w is passed as complex128 whatever V's dtype; V is real only when A is real
# and every eigenvalue is real (then all the arithmetic is real).
# F_ij = 1/(w_j - w_i) (i != j) under the degeneracy policy.
#
# Normalisation (the gauge of each column):
#   LAPACK ("lapack"): unit norm and the entry of largest modulus, row k_j,
#      real (what numpy.linalg.eig returns); the rule differentiates that
#      convention, so any loss is well defined.
#   "norm": unit norm only; a loss that sees the phase raises GaugeError.
# VJP:  g_j = v_j^H dV_j;  dV'_j = dV_j - Re(g_j) v_j [- i Im(g_j)/v_{k_j j} e_{k_j}] (lapack)
#       Z = diag(dw) + conj(F) o (V^H dV')  (off the diagonal);
#       A_bar = V^{-H} Z V^H, formed as its conjugate transpose (V Z^H) V^{-1}
#       with one LU of V (getrf) and a right solve (getrs): no inverse.
#       Cost (complex GEMMs): V^H dV' 1, V Z^H 1, getrf 1/3, getrs 1 = 3.3.
#       Tiny n (n^3 <= SMALL_GEMM): small_inverse forms V^-1 by Gauss-Jordan
#       and its exact condition number; a GEMM with it beats getrs there.
# JVP:  P = V^{-1} dA V (as P^T = (V^T dA^T) V^{-T});  dw = diag P;
#       X = V (F o P);  dV_j = X_j + c_j v_j with c_j = -Re(v_j^H X_j)
#       [- i Im(X_{k_j j}) / v_{k_j j}] (lapack): 3.3 GEMMs.
# cond(V) (LAPACK estimate, infinity norm; exact for tiny n) above cond_max: E_ILLCOND.
#
# Sections: contexts, general kernels, the real-arithmetic pullback of real
# input, the 3x3 lane kernel, entry points.


cdef struct EigVjp:
    Batch batch
    int n
    bint lapack_norm
    double cond_max
    const void* V
    const cdouble_t* w
    const cdouble_t* dw     # n, or NULL
    const void* dV          # n x n, or NULL
    void* out               # n x n (real for eig_vjp_real)
    Policy pol


cdef struct EigJvp:
    int n
    bint lapack_norm
    double cond_max
    const void* V
    const cdouble_t* w
    const void* dA          # n x n
    cdouble_t* dw           # out: n
    void* dV                # out: n x n
    Policy pol


cdef inline scalar_t from_c(const scalar_t* tag, cdouble_t z) noexcept nogil:
    return mkc(tag, z.real, z.imag)


cdef inline int _pivot_row(int n, const scalar_t* V, int j) noexcept nogil:
    # row of the entry of largest modulus of column j (first one on ties)
    cdef int i, k = 0
    cdef double a, best = -1.0
    for i in range(n):
        a = abs2_(V[i * n + j])
        if a > best:
            best = a
            k = i
    return k


cdef inline double _wmax(int n, const cdouble_t* w) noexcept nogil:
    # max |w_i| (hypot: a squared modulus overflows beyond 1e154)
    cdef int i
    cdef double s = 0.0, a
    for i in range(n):
        a = hypot(w[i].real, w[i].imag)
        if a > s:
            s = a
    return s


cdef inline int _lu_checked(int n, const scalar_t* V, scalar_t* LU, int* ipiv, char* cw,
                            double cond_max, ErrInfo* e) noexcept nogil:
    cdef double cond
    copy_block(n, n, V, n, LU, n)
    if getrf_(n, LU, ipiv) != 0:
        return set_err(e, E_ILLCOND, 0, 0, 0.0, 0.0, INFINITY, cond_max)
    cond = gecon_inf(n, V, LU, cw)
    if not (cond <= cond_max):
        return set_err(e, E_ILLCOND, 0, 0, 0.0, 0.0, cond, cond_max)
    return OK


cdef int small_inverse(int n, const scalar_t* V, scalar_t* Vinv, scalar_t* Wk,
                       double cond_max, ErrInfo* e) noexcept nogil:
    """Vinv = V^{-1} by Gauss-Jordan with partial pivoting, for the small
    matrices of a batch (no LAPACK call overhead); exact infinity-norm
    condition number checked against cond_max."""
    cdef int i, j, c, p
    cdef double best, a, nv = 0.0, ni = 0.0, row
    cdef scalar_t piv, f, t
    copy_block(n, n, V, n, Wk, n)
    for i in range(n):
        for j in range(n):
            Vinv[i * n + j] = 1 if i == j else 0
    for c in range(n):
        p = c
        best = abs2_(Wk[c * n + c])
        for i in range(c + 1, n):
            a = abs2_(Wk[i * n + c])
            if a > best:
                best = a
                p = i
        if best == 0.0:
            return set_err(e, E_ILLCOND, 0, 0, 0.0, 0.0, INFINITY, cond_max)
        if p != c:
            for j in range(n):
                t = Wk[p * n + j]
                Wk[p * n + j] = Wk[c * n + j]
                Wk[c * n + j] = t
                t = Vinv[p * n + j]
                Vinv[p * n + j] = Vinv[c * n + j]
                Vinv[c * n + j] = t
        piv = 1 / Wk[c * n + c]
        for j in range(n):
            Wk[c * n + j] = Wk[c * n + j] * piv
            Vinv[c * n + j] = Vinv[c * n + j] * piv
        for i in range(n):
            if i == c:
                continue
            f = Wk[i * n + c]
            if f == 0:
                continue
            for j in range(n):
                Wk[i * n + j] = Wk[i * n + j] - f * Wk[c * n + j]
                Vinv[i * n + j] = Vinv[i * n + j] - f * Vinv[c * n + j]
    for i in range(n):
        row = 0.0
        for j in range(n):
            row += abs_(V[i * n + j])
        nv = row if row > nv else nv
        row = 0.0
        for j in range(n):
            row += abs_(Vinv[i * n + j])
        ni = row if row > ni else ni
    if not (nv * ni <= cond_max):
        return set_err(e, E_ILLCOND, 0, 0, 0.0, 0.0, nv * ni, cond_max)
    return OK


cdef inline size_t gecon_ws(size_t n, size_t isz) noexcept nogil:
    # bytes of gecon_inf's work: 4n scalars, 2n doubles, n ints, in that order
    # (each part stays aligned: 4n scalars and 2n doubles are multiples of 8 bytes)
    return ws_add(ws_add(ws_mul(ws_mul(4, n), isz), ws_mul(ws_mul(2, n), sizeof(double))),
                  ws_mul(n, sizeof(int)))


cdef struct NormWs:
    size_t g, cnrm, cbest, kpiv, total


cdef NormWs norm_ws(size_t n) noexcept nogil:
    cdef NormWs w
    cdef size_t top = 0
    w.g = ws_take(&top, n, sizeof(cdouble_t))
    w.cnrm = ws_take(&top, n, sizeof(double))
    w.cbest = ws_take(&top, n, sizeof(double))
    w.kpiv = ws_take(&top, n, sizeof(int))
    w.total = top
    return w


cdef int normalised_cotangent(int n, const scalar_t* V, const scalar_t* gV, scalar_t* Vb,
                              bint lapack_norm, double gauge_tol, const cdouble_t* w,
                              char* work, ErrInfo* e) noexcept nogil:
    """Vb = the cotangent that reaches the normalised eigenvectors:
    dV'_j = dV_j - Re(g_j) v_j [- i Im(g_j) / v_kj e_k], g_j = v_j^H dV_j, k
    the row of v_j's entry of largest modulus, which "lapack" makes real.
    "norm" (complex): a cotangent that turns a column's phase (|Im g_j|
    beyond gauge_tol times the largest column norm of dV) is E_GAUGE_PHASE.
    work: norm_ws(n).total bytes."""
    cdef NormWs ws = norm_ws(n)
    cdef cdouble_t* g = <cdouble_t*> (work + ws.g)
    cdef double* cnrm = <double*> (work + ws.cnrm)
    cdef double* cbest = <double*> (work + ws.cbest)
    cdef int* kpiv = <int*> (work + ws.kpiv)
    cdef bint cplx = is_cplx(V)
    cdef int i, j, k
    cdef double c = 0.0, nrm, glim
    cdef scalar_t v, a
    # column sums, norms and pivots row by row (row-major: a column sweep
    # would miss the cache); products in double whatever the dtype
    for j in range(n):
        g[j].real = 0.0
        g[j].imag = 0.0
        cnrm[j] = 0.0
        cbest[j] = -1.0
        kpiv[j] = 0
    for i in range(n):
        for j in range(n):
            v = V[i * n + j]
            a = gV[i * n + j]
            g[j].real += re_(v) * re_(a) + im_(v) * im_(a)
            g[j].imag += re_(v) * im_(a) - im_(v) * re_(a)
            cnrm[j] += abs2_(a)
            nrm = abs2_(v)
            if nrm > cbest[j]:
                cbest[j] = nrm
                kpiv[j] = i
    for j in range(n):
        c = cnrm[j] if cnrm[j] > c else c
    glim = gauge_tol * sqrt(c)
    if cplx and not lapack_norm:
        for j in range(n):
            if fabs(g[j].imag) > glim:
                return set_err(e, E_GAUGE_PHASE, j, j, w[j].real, w[j].imag, fabs(g[j].imag), glim)
    for i in range(n):
        for j in range(n):
            Vb[i * n + j] = gV[i * n + j] - g[j].real * V[i * n + j]
    if cplx and lapack_norm:
        for j in range(n):
            k = kpiv[j]
            Vb[k * n + j] = Vb[k * n + j] - mkc(V, 0.0, g[j].imag / re_(V[k * n + j]))
    return OK


cdef struct EigWs:
    size_t Vb, Z, LU, cw, ipiv, touched, norm, total


cdef EigWs eig_ws(size_t n, size_t isz, bint vjp) noexcept nogil:
    # n x n blocks (the JVP: Vb, Z, LU as T, C, LU; the VJP forms V Z^H over
    # Vb and uses Z as the small inverse's scratch), gecon's work, pivots;
    # the VJP's flags and per-column accumulators
    cdef EigWs w
    cdef size_t top = 0, sq = ws_mul(n, n), v = n if vjp else 0
    w.Vb = ws_take(&top, sq, isz)
    w.Z = ws_take(&top, sq, isz)
    w.LU = ws_take(&top, sq, isz)            # LU of V, or V^{-1} when small
    w.cw = ws_take(&top, gecon_ws(n, isz), 1)
    w.ipiv = ws_take(&top, n, sizeof(int))
    w.touched = ws_take(&top, v, 1)
    w.norm = ws_take(&top, norm_ws(v).total, 1)
    w.total = top
    return w


cdef int eig_vjp_kernel(int n, const scalar_t* V, const cdouble_t* w, const cdouble_t* gw,
                        const scalar_t* gV, scalar_t* out, bint lapack_norm, double cond_max,
                        char* work, const Policy* pol, ErrInfo* e) noexcept nogil:
    cdef scalar_t one = 1, zero = 0
    cdef EigWs ws = eig_ws(n, sizeof(scalar_t), True)
    cdef scalar_t* Vb = <scalar_t*> (work + ws.Vb)
    cdef scalar_t* Z = <scalar_t*> (work + ws.Z)
    cdef scalar_t* Bm = Vb     # V Z^H, over dV' (dead once V^H dV' is formed)
    cdef scalar_t* LU = <scalar_t*> (work + ws.LU)
    cdef scalar_t* Wk = Z      # small: small_inverse's scratch, then Bm V^{-1}
    cdef char* cw = work + ws.cw
    cdef int* ipiv = <int*> (work + ws.ipiv)
    cdef signed char* touched = <signed char*> (work + ws.touched)
    cdef bint small = _small(n)
    cdef int i, j, k, code
    cdef bint cplx = is_cplx(V), fa
    cdef scalar_t zij
    cdef double c = 0.0, nrm, glim, zlim
    cdef cdouble_t f
    cdef Gap g

    if n == 0:
        return OK
    g = make_gap(pol, _wmax(n, w))
    if small:
        code = small_inverse(n, V, LU, Wk, cond_max, e)
    else:
        code = _lu_checked(n, V, LU, ipiv, cw, cond_max, e)
    if code == OK and gV == NULL:
        code = csplit_check(n, w, gw, &g, e)
    if code != OK:
        if code == E_ILLCOND:
            e.i = gV != NULL    # did the cotangent reach the vectors? (the advice differs)
        return code
    if gV == NULL:
        # eigenvalues only: A_bar^H = V diag(conj(dw)) V^{-1}
        for i in range(n):
            for j in range(n):
                Bm[i * n + j] = V[i * n + j] * from_c(V, gw[j].conjugate()) if gw != NULL else 0
    else:
        for j in range(n):
            touched[j] = -1
        code = normalised_cotangent(n, V, gV, Vb, lapack_norm, pol.gauge_tol, w, work + ws.norm, e)
        if code != OK:
            return code
        gemm(c'C', c'N', n, n, n, one, V, n, Vb, n, zero, Z, n)
        zlim = pol.gauge_tol * max_abs(n, n, Z, n)
        for i in range(n):
            for j in range(n):
                if i == j:
                    Z[i * n + i] = from_c(V, gw[i]) if gw != NULL else 0
                    continue
                f = cinv_gap(w[j] - w[i], &g, &fa)
                if fa and refuse_pair(&g, E_DEGENERATE,
                                      pol.mode == STRICT and (touches(touched, i, n, gV, n, 0, <const scalar_t*> NULL)
                                                              or touches(touched, j, n, gV, n, 0, <const scalar_t*> NULL)),
                                      abs_(Z[i * n + j]), zlim, i, j, w[i].real, w[j].real,
                                      hypot((w[j] - w[i]).real, (w[j] - w[i]).imag), e):
                    return e.code
                Z[i * n + j] = from_c(V, f.conjugate()) * Z[i * n + j]
        code = csplit_check(n, w, gw, &g, e)     # after the vector checks
        if code != OK:
            return code
        gemm(c'N', c'C', n, n, n, one, V, n, Z, n, zero, Bm, n)   # V Z^H
    if small:
        gemm(c'N', c'N', n, n, n, one, Bm, n, LU, n, zero, Wk, n)
        copy_block(n, n, Wk, n, Bm, n)
    else:
        getrs_right(c'N', n, n, LU, ipiv, Bm)                                      # (V Z^H) V^{-1}
    for i in range(n):
        for j in range(n):
            out[i * n + j] = conj_(Bm[j * n + i])
    return OK


cdef int eig_jvp_kernel(int n, const scalar_t* V, const cdouble_t* w, const scalar_t* dA,
                        cdouble_t* dw, scalar_t* dV, bint lapack_norm, double cond_max,
                        char* work, const Policy* pol, ErrInfo* e) noexcept nogil:
    cdef scalar_t one = 1, zero = 0
    cdef EigWs ws = eig_ws(n, sizeof(scalar_t), False)
    cdef scalar_t* T = <scalar_t*> (work + ws.Vb)   # V^T dA^T, then P^T
    cdef scalar_t* C = <scalar_t*> (work + ws.Z)
    cdef scalar_t* LU = <scalar_t*> (work + ws.LU)  # LU of V, or V^{-1} when small
    cdef char* cw = work + ws.cw
    cdef bint small = _small(n)
    cdef int* ipiv = <int*> (work + ws.ipiv)
    cdef int i, j, k, code
    cdef bint cplx = is_cplx(V), fa
    cdef scalar_t r, p
    cdef double glim
    cdef cdouble_t f
    cdef Gap g

    if n == 0:
        return OK
    g = make_gap(pol, _wmax(n, w))
    if small:
        code = small_inverse(n, V, LU, C, cond_max, e)
    else:
        code = _lu_checked(n, V, LU, ipiv, cw, cond_max, e)
    if code != OK:
        return code
    gemm(c'T', c'T', n, n, n, one, V, n, dA, n, zero, T, n)   # (dA V)^T
    if small:
        gemm(c'N', c'T', n, n, n, one, T, n, LU, n, zero, C, n)                # P^T = T V^{-T}
        copy_block(n, n, C, n, T, n)
    else:
        getrs_right(c'T', n, n, LU, ipiv, T)                                   # P^T
    glim = pol.gauge_tol * max_abs(n, n, T, n)
    for i in range(n):
        p = T[i * n + i]
        dw[i].real = re_(p)
        dw[i].imag = im_(p)
        for j in range(n):
            if i == j:
                C[i * n + i] = 0
                continue
            p = T[j * n + i]                   # P_ij
            f = cinv_gap(w[j] - w[i], &g, &fa)
            if fa and refuse_pair(&g, E_DEGENERATE, abs_(p) > glim, 0.0, 0.0, i, j, w[i].real, w[j].real,
                                  hypot((w[j] - w[i]).real, (w[j] - w[i]).imag), e):
                return e.code
            C[i * n + j] = from_c(V, f) * p
    gemm(c'N', c'N', n, n, n, one, V, n, C, n, zero, dV, n)   # X = V (F o P)
    # c_j = -Re(v_j^H x_j) [- i Im(x_kj)/v_kj], accumulated row by row in C's first row
    for j in range(n):
        C[j] = 0
    for i in range(n):
        for j in range(n):
            C[j] = C[j] + conj_(V[i * n + j]) * dV[i * n + j]
    for j in range(n):
        r = mkc(V, -re_(C[j]), 0.0)
        if cplx and lapack_norm:
            k = _pivot_row(n, V, j)
            r = r + mkc(V, 0.0, -im_(dV[k * n + j]) / re_(V[k * n + j]))
        C[j] = r
    for i in range(n):
        for j in range(n):
            dV[i * n + j] = dV[i * n + j] + C[j] * V[i * n + j]
    return OK


# --- real input with complex eigenvalues: the pullback in real arithmetic ----------------
#
# For real A, LAPACK's complex V is V = Vr T, with Vr real (the columns dgeev
# returns: a real eigenvector, or the real and imaginary parts of the first
# member of a conjugate pair) and T block diagonal: 1, or [[1, 1], [i, -i]]
# on a pair. Then A_bar = Re(V^{-H} Z V^H) = Vr^{-T} Re(T^{-H} Z T^H) Vr^T, and
# V^H dV' = T^H (Vr^T dV'), where Vr^T dV' is ONE real GEMM of n x n by the
# n x 2n real view of the complex dV'. Cost: 2 (Vr^T dV') + 1 (Vr Re(M)^T)
# + 1/3 (getrf) + 1 (getrs) = 4.3 real GEMMs, against 3.3 complex ones
# (~13 real) for the complex path.

ctypedef fused real_t:
    float
    double


cdef inline double _cre(const real_t* Vc, int n, int i, int j) noexcept nogil:
    return Vc[2 * (i * n + j)]


cdef inline double _cim(const real_t* Vc, int n, int i, int j) noexcept nogil:
    return Vc[2 * (i * n + j) + 1]


cdef inline void _transpose_into(int n, const real_t* X, real_t* out) noexcept nogil:
    # out = X^T, 32 x 32 tiles
    cdef int ib, jb, i, j, ie, je
    for ib in range(0, n, 32):
        ie = ib + 32 if ib + 32 < n else n
        for jb in range(0, n, 32):
            je = jb + 32 if jb + 32 < n else n
            for i in range(ib, ie):
                for j in range(jb, je):
                    out[i * n + j] = X[j * n + i]


cdef inline bint _eig_real_touches(signed char* memo, int j, int n, const real_t* gVc) noexcept nogil:
    # column j of the complex cotangent, stored as interleaved reals
    if real_t is double:
        return touches(memo, j, n, <const cdouble_t*> gVc, n, 0, <const cdouble_t*> NULL)
    return touches(memo, j, n, <const cfloat_t*> gVc, n, 0, <const cfloat_t*> NULL)


cdef struct EigRealWs:
    size_t LU, Vb, Z, Mr, Wm, P, rows, cw, ipiv, norm, typ, touched, total


cdef enum:
    EIG_PANEL = 512     # real columns of a panel of Vr^T dV' (its buffer: n x EIG_PANEL)


cdef EigRealWs eig_real_ws(size_t n, size_t isz) noexcept nogil:
    # isz: the real item size (float or double); Z is complex128 whatever it is.
    # Vr lives in the output until the last transpose overwrites it. One region
    # holds, in turn: dV' (n x 2n real), Vr^T dV' over it (formed a panel at a
    # time through P), Z over that (n x n complex, in place; float: beside
    # it), then Mr (formed
    # over Z two rows at a time through `rows`) and Vr Mr^T beside it.
    cdef EigRealWs w
    cdef size_t top = 0, sq = ws_mul(n, n), r0, end, t
    w.LU = ws_take(&top, sq, isz)            # LU of Vr, or Vr^{-1} when small
    r0 = top
    w.Vb = ws_take(&top, ws_mul(2, sq), isz)
    end = top
    if 2 * isz == sizeof(cdouble_t):
        top = r0        # Z over Vr^T dV', entry for entry (float: a region of its own)
    r0 = top
    w.Z = ws_take(&top, sq, sizeof(cdouble_t))
    t = r0
    w.Mr = ws_take(&t, sq, isz)              # also small_inverse's scratch, and Wm V^{-1} when small
    w.Wm = ws_take(&t, sq, isz)
    top = top if top > end else end
    top = top if top > t else t
    w.P = ws_take(&top, ws_mul(n, 2 * n if 2 * n < EIG_PANEL else EIG_PANEL), isz)
    w.rows = ws_take(&top, ws_mul(2, n), sizeof(cdouble_t))
    w.cw = ws_take(&top, gecon_ws(n, isz), 1)
    w.ipiv = ws_take(&top, n, sizeof(int))
    w.norm = ws_take(&top, norm_ws(n).total, 1)
    w.typ = ws_take(&top, n, 1)
    w.touched = ws_take(&top, n, 1)
    w.total = top
    return w


cdef int eig_vjp_real_kernel(int n, const real_t* Vc, const cdouble_t* w, const cdouble_t* gw,
                             const real_t* gVc, real_t* out, bint lapack_norm, double cond_max,
                             char* work, const Policy* pol, ErrInfo* e) noexcept nogil:
    # Vc, gVc: complex n x n as interleaved real n x 2n; out: real n x n
    cdef real_t one = 1, zero = 0
    cdef EigRealWs ws = eig_real_ws(n, sizeof(real_t))
    cdef real_t* Vr = out                         # until the last transpose
    cdef real_t* LU = <real_t*> (work + ws.LU)
    cdef real_t* Vb = <real_t*> (work + ws.Vb)    # n x 2n (complex dV')
    cdef real_t* Wm = Vb                          # n x 2n (complex Vr^T dV'), over dV'
    cdef real_t* P = <real_t*> (work + ws.P)
    cdef cdouble_t* Z = <cdouble_t*> (work + ws.Z)    # over Vr^T dV'
    cdef cdouble_t* rows = <cdouble_t*> (work + ws.rows)
    cdef real_t* Mr = <real_t*> (work + ws.Mr)    # over Z
    cdef real_t* Wk = Mr                          # small: scratch, then (Vr Mr^T) Vr^{-1}
    cdef real_t* Vm = <real_t*> (work + ws.Wm)    # Vr Mr^T, beside Mr
    cdef char* cw = work + ws.cw
    cdef int* ipiv = <int*> (work + ws.ipiv)
    cdef signed char* typ = <signed char*> (work + ws.typ)   # 0 real, 1 first of a pair, 2 second
    cdef signed char* touched = <signed char*> (work + ws.touched)
    cdef int i, j, k, code, c0, pw
    cdef bint small = _small(n), fa, hit
    cdef double c = 0.0, nrm, glim, zlim, gr, gi, vr, vi, ar, ai, vk
    cdef cdouble_t f, a, b
    cdef Gap gp

    if n == 0:
        return OK
    gp = make_gap(pol, _wmax(n, w))
    for j in range(n):
        typ[j] = 0 if w[j].imag == 0 else (1 if w[j].imag > 0 else 2)
        touched[j] = -1
    for i in range(n):
        for j in range(n):
            Vr[i * n + j] = <real_t> (_cim(Vc, n, i, j - 1) if typ[j] == 2 else _cre(Vc, n, i, j))
    if small:
        code = small_inverse(n, Vr, LU, Wk, cond_max, e)
    else:
        code = _lu_checked(n, Vr, LU, ipiv, cw, cond_max, e)
    if code == OK and gVc == NULL:
        code = csplit_check(n, w, gw, &gp, e)
    if code != OK:
        if code == E_ILLCOND:
            e.i = gVc != NULL   # as in eig_vjp_kernel
        return code

    if gVc == NULL:
        for i in range(n):
            for j in range(n):
                Z[i * n + j] = 0
            if gw != NULL:
                Z[i * n + i] = gw[i]
    else:
        if real_t is double:
            code = normalised_cotangent(n, <const cdouble_t*> Vc, <const cdouble_t*> gVc, <cdouble_t*> Vb,
                                        lapack_norm, pol.gauge_tol, w, work + ws.norm, e)
        else:
            code = normalised_cotangent(n, <const cfloat_t*> Vc, <const cfloat_t*> gVc, <cfloat_t*> Vb,
                                        lapack_norm, pol.gauge_tol, w, work + ws.norm, e)
        if code != OK:
            return code
        # Wm = Vr^T dV' (real GEMM, n x 2n): in P when it fits, else over dV'
        # a column panel at a time (a column of Wm needs that column of dV' only)
        pw = <int> (2 * n if 2 * n < EIG_PANEL else EIG_PANEL)
        if pw == 2 * n:
            gemm(c'T', c'N', n, 2 * n, n, one, Vr, n, Vb, 2 * n, zero, P, 2 * n)
            Wm = P
        else:
            c0 = 0
            while c0 < 2 * n:
                k = pw if c0 + pw <= 2 * n else 2 * n - c0
                gemm(c'T', c'N', n, k, n, one, Vr, n, Vb + c0, 2 * n, zero, P, k)
                copy_block(n, k, P, k, Vb + c0, 2 * n)
                c0 += pw
        # G' = T^H Wm row by row, into Z (in place over Wm: a pair's rows are read first)
        i = 0
        while i < n:
            for j in range(n):
                ar = Wm[2 * (i * n + j)]
                ai = Wm[2 * (i * n + j) + 1]
                if typ[i] == 1:
                    # rows i, i+1 of G' = T^H Wm: a - i b and a + i b
                    vr = Wm[2 * ((i + 1) * n + j)]
                    vi = Wm[2 * ((i + 1) * n + j) + 1]
                    Z[i * n + j].real = ar + vi
                    Z[i * n + j].imag = ai - vr
                    Z[(i + 1) * n + j].real = ar - vi
                    Z[(i + 1) * n + j].imag = ai + vr
                else:
                    Z[i * n + j].real = ar
                    Z[i * n + j].imag = ai
            i += 2 if typ[i] == 1 else 1
        zlim = 0.0
        if pol.mode == SUBSPACE:
            for i in range(n):
                for j in range(n):
                    nrm = Z[i * n + j].real ** 2 + Z[i * n + j].imag ** 2
                    if i != j and nrm > zlim:
                        zlim = nrm
            zlim = pol.gauge_tol * sqrt(zlim)
        for i in range(n):
            for j in range(n):
                if i == j:
                    Z[i * n + i] = gw[i] if gw != NULL else 0
                    continue
                f = cinv_gap(w[j] - w[i], &gp, &fa)
                if fa and refuse_pair(&gp, E_DEGENERATE,
                                      pol.mode == STRICT and (_eig_real_touches(touched, i, n, gVc)
                                                              or _eig_real_touches(touched, j, n, gVc)),
                                      abs_(Z[i * n + j]), zlim, i, j, w[i].real, w[j].real,
                                      hypot((w[j] - w[i]).real, (w[j] - w[i]).imag), e):
                    return e.code
                Z[i * n + j] = f.conjugate() * Z[i * n + j]
        code = csplit_check(n, w, gw, &gp, e)     # after the vector checks
        if code != OK:
            return code

    # Mr = Re(T^{-H} Z T^H): columns by T^H (a, b -> a + b, i (b - a)), then
    # rows by T^{-H} = T / 2 (a, b -> (a + b) / 2, i (a - b) / 2), real parts
    for i in range(n):
        j = 0
        while j < n:
            if typ[j] == 1:
                a = Z[i * n + j]
                b = Z[i * n + j + 1]
                Z[i * n + j].real = a.real + b.real
                Z[i * n + j].imag = a.imag + b.imag
                Z[i * n + j + 1].real = a.imag - b.imag
                Z[i * n + j + 1].imag = b.real - a.real
                j += 2
            else:
                j += 1
    # (Mr over Z: row i of Mr ends before row i + 1 of Z begins, and a pair's
    # two rows of Z are copied out first)
    i = 0
    while i < n:
        k = 2 if typ[i] == 1 else 1
        for j in range(k * n):
            rows[j] = Z[i * n + j]
        if k == 2:
            for j in range(n):
                a = rows[j]
                b = rows[n + j]
                Mr[i * n + j] = <real_t> (0.5 * (a.real + b.real))
                Mr[(i + 1) * n + j] = <real_t> (0.5 * (b.imag - a.imag))
        else:
            for j in range(n):
                Mr[i * n + j] = <real_t> rows[j].real
        i += k
    # A_bar^T = (Vr Mr^T) Vr^{-1}. Eigenvalues only: Mr is block diagonal
    # (1x1 and the 2x2 pair blocks), so Vr Mr^T is O(n^2), not a GEMM.
    if gVc == NULL:
        for i in range(n):
            for j in range(n):
                if typ[j] == 0:
                    Vm[i * n + j] = Vr[i * n + j] * Mr[j * n + j]
                else:
                    k = j if typ[j] == 1 else j - 1          # first column of j's pair
                    Vm[i * n + j] = Vr[i * n + k] * Mr[j * n + k] + Vr[i * n + k + 1] * Mr[j * n + k + 1]
    else:
        gemm(c'N', c'T', n, n, n, one, Vr, n, Mr, n, zero, Vm, n)
    # Vr (in out) and Mr are dead from here
    if small:
        gemm(c'N', c'N', n, n, n, one, Vm, n, LU, n, zero, Wk, n)
    else:
        getrs_right(c'N', n, n, LU, ipiv, Vm)
        Wk = Vm
    _transpose_into(n, Wk, out)
    return OK


# --- 3x3 real input, LANES matrices at a time (_lanes.pxi) -------------------------------
#
# eig_vjp_real for a stack of 3x3 float64 matrices, eight at a time, in the
# real basis above: A_bar = Vr^{-T} K Vr^T, K = Re(T^{-H} Z T^H), with
# Vr^{-T} = C / det(Vr) from the cofactors C of Vr. Z = V^H dV' is formed in
# complex arithmetic (dV is complex). A lane's pattern (all real, a pair in
# columns 0 and 1, or in 1 and 2: LAPACK's order, checked by _lapack_pairs)
# enters only where Vr and K are built, by selects. A block is handed to
# eig_vjp_real_kernel, matrix by matrix, when a lane has a pair within tol
# whose vectors carry a cotangent, a phase the loss sees ("norm"), or a
# bound on cond(Vr) above cond_max or _EIG3_COND (above it cofactors lose
# accuracy to pivoting). The bound: Vr's columns are parts of unit vectors,
# so each cofactor is at most 1 (Hadamard), ||Vr^{-1}|| <= 3 / |det| and,
# with ||Vr|| <= 3, cond(Vr) <= 9 / |det Vr|.
# The arithmetic is _eig3.h's, in C vector types: written as loops over
# lane arrays, as the other 3x3 kernels are, the compiler keeps every array
# in memory between its stages.

cdef extern from "_eig3.h" nogil:
    enum: EIG3_LANES     # 0 without GNU C vector types: no lane kernel
    int eig3_lanes(const double* V, const double* w, const double* gw, const double* gV,
                   double* out, Py_ssize_t nxt, double lim, double gtol2, double rtol2,
                   int lapack_norm, int flag, int check_finite)

cdef double _EIG3_COND = 1e6

cdef int[4] _EIG3_SIZE = [18, 6, 6, 18]


cdef int _eig3(void* ctx, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
               char* work, ErrInfo* e, variant_t* tag) noexcept nogil:
    # src: V, w, dw, dV (complex, interleaved; dw, dV NULL-able). The next
    # block's lines are fetched while this one computes (a part between
    # each stage); this block's again where the next is not whole (no branch)
    cdef EigVjp* c = <EigVjp*> ctx
    cdef Py_ssize_t nxt = LANES if b0 + 2 * LANES <= c.batch.B else 0
    cdef double lim = c.cond_max if c.cond_max < _EIG3_COND else _EIG3_COND
    # rtol^2 for the pair test: with dV always (the mode decides), with dw only
    # in strict (split_check); -1 turns it off
    cdef double rtol2 = (c.pol.rtol * c.pol.rtol * (1.0 + 1e-12)
                         if src[3] != NULL or (c.pol.mode == STRICT and src[2] != NULL) else -1.0)
    cdef int code = eig3_lanes(src[0], src[1], _given(src[2]), src[3], out, nxt, lim,
                               c.pol.gauge_tol * c.pol.gauge_tol, rtol2,
                               c.lapack_norm, c.pol.mode != EXACT, c.batch.check_finite)
    if code == 1:
        return _report_nonfinite(src, _EIG3_SIZE, 2, 4, b0, nb, e)
    if code == 2:
        return HAND_OVER
    return OK


cdef int eig3_blocks(void* ctx, Py_ssize_t blk, char* work, ErrInfo* e, double* tag) noexcept nogil:
    cdef EigVjp* c = <EigVjp*> ctx
    cdef Py_ssize_t b0 = blk * LANES
    cdef const double* src[4]
    src[0] = (<const double*> c.V) + b0 * 18
    src[1] = (<const double*> c.w) + b0 * 6
    src[2] = NULL if c.dw == NULL else (<const double*> c.dw) + b0 * 6
    src[3] = NULL if c.dV == NULL else (<const double*> c.dV) + b0 * 18
    return _block(_eig3[part_t], &c.batch, c, blk, 4, src, _EIG3_SIZE, (<double*> c.out) + b0 * 9, work, e)


# --- one matrix of a batch -------------------------------------------------------------

cdef int eig_vjp_item(void* ctx, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef EigVjp* c = <EigVjp*> ctx
    cdef Py_ssize_t n = c.n
    return eig_vjp_kernel(c.n, (<const scalar_t*> c.V) + b * n * n, c.w + b * n,
                          NULL if c.dw == NULL else c.dw + b * n,
                          NULL if c.dV == NULL else (<const scalar_t*> c.dV) + b * n * n,
                          (<scalar_t*> c.out) + b * n * n, c.lapack_norm, c.cond_max, w, &c.pol, e)


cdef int eig_vjp_real_item(void* ctx, Py_ssize_t b, char* w, ErrInfo* e, real_t* tag) noexcept nogil:
    # V and dV complex, as interleaved reals; out real
    cdef EigVjp* c = <EigVjp*> ctx
    cdef Py_ssize_t n = c.n
    return eig_vjp_real_kernel(c.n, (<const real_t*> c.V) + 2 * b * n * n, c.w + b * n,
                               NULL if c.dw == NULL else c.dw + b * n,
                               NULL if c.dV == NULL else (<const real_t*> c.dV) + 2 * b * n * n,
                               (<real_t*> c.out) + b * n * n, c.lapack_norm, c.cond_max, w, &c.pol, e)


cdef int eig_jvp_item(void* ctx, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef EigJvp* c = <EigJvp*> ctx
    cdef Py_ssize_t n = c.n
    return eig_jvp_kernel(c.n, (<const scalar_t*> c.V) + b * n * n, c.w + b * n,
                          (<const scalar_t*> c.dA) + b * n * n, c.dw + b * n,
                          (<scalar_t*> c.dV) + b * n * n, c.lapack_norm, c.cond_max, w, &c.pol, e)


# --- entry points ---------------------------------------------------------------------

cdef int eig_factors(object V, object w, int typenum, Py_ssize_t B, Py_ssize_t n,
                     const void** pV, const void** pw) except -1:
    """V (B,n,n) of typenum and w (B,n) complex128 checked, and a matrix that
    can be indexed with C int."""
    arg(V, "V", typenum, 3, B, n, n, pV)
    arg(w, "w", cnp.NPY_COMPLEX128, 2, B, n, 0, pw)
    if pV[0] == NULL or pw[0] == NULL:
        raise TypeError("V and w are required")
    check_index_range(2 * n * n, "eig")
    return 0


cdef int eig_vjp_setup(EigVjp* c, object V, object w, object dw, object dV, int typenum,
                       Py_ssize_t B, Py_ssize_t n, bint lapack_norm, double cond_max,
                       Policy* policy) except -1:
    # V and dV of typenum (complex for the real-input pullback)
    eig_factors(V, w, typenum, B, n, &c.V, <const void**> &c.w)
    arg(dw, "dw", cnp.NPY_COMPLEX128, 2, B, n, 0, <const void**> &c.dw)
    arg(dV, "dV", typenum, 3, B, n, n, &c.dV)
    c.n, c.lapack_norm, c.cond_max, c.pol = n, lapack_norm, cond_max, policy[0]
    c.batch.B = B
    return 0


def eig_vjp(V, w, dw, dV, scalar_t[:, :, ::1] out, bint lapack_norm, double cond_max,
            Policy policy, int nthreads=1):
    """Pullback of a stack of eig: V (B,n,n), w (B,n) complex128; dw (B,n)
    complex128 or None, dV (B,n,n) or None; out (B,n,n) in V's dtype.
    Returns None or an error tuple."""
    cdef EigVjp c
    cdef ErrInfo e
    cdef Py_ssize_t B = out.shape[0], n = out.shape[1]
    expect("out", out.shape, 3, B, n, n)
    eig_vjp_setup(&c, V, w, dw, dV, npy_type(&out[0, 0, 0]), B, n, lapack_norm, cond_max, &policy)
    c.out = &out[0, 0, 0]
    cdef size_t wb = ws_bytes(eig_ws(n, sizeof(scalar_t), True).total, "eig_vjp")
    with nogil:
        run_batch(eig_vjp_item[scalar_t], &c, B, wb, nthreads, &e)
    return err_tuple(&e)


def eig_jvp(V, w, dA, dw, scalar_t[:, :, ::1] dV, bint lapack_norm, double cond_max,
            Policy policy, int nthreads=1):
    """Pushforward of a stack of eig along dA (B,n,n) into dw (B,n) complex128
    and dV (B,n,n). Returns None or an error tuple."""
    cdef EigJvp c
    cdef ErrInfo e
    cdef int t = npy_type(&dV[0, 0, 0])
    cdef Py_ssize_t B = dV.shape[0], n = dV.shape[1]
    expect("dV", dV.shape, 3, B, n, n)
    eig_factors(V, w, t, B, n, &c.V, <const void**> &c.w)
    arg(dA, "dA", t, 3, B, n, n, &c.dA)
    arg(dw, "dw", cnp.NPY_COMPLEX128, 2, B, n, 0, <const void**> &c.dw)
    if c.dA == NULL or c.dw == NULL:
        raise TypeError("dA and dw are required")
    c.dV = &dV[0, 0, 0]
    c.n, c.lapack_norm, c.cond_max, c.pol = n, lapack_norm, cond_max, policy
    cdef size_t wb = ws_bytes(eig_ws(n, sizeof(scalar_t), False).total, "eig_jvp")
    with nogil:
        run_batch(eig_jvp_item[scalar_t], &c, B, wb, nthreads, &e)
    return err_tuple(&e)


def eig_vjp_real(V, w, dw, dV, real_t[:, :, ::1] out, bint lapack_norm, double cond_max,
                 Policy policy, int nthreads=1, bint check_finite=True):
    """Pullback of eig for REAL input whose V is complex (conjugate pairs as
    numpy.linalg.eig returns them, first member with positive imaginary part):
    V (B,n,n) complex128/complex64, w (B,n) complex128, dw (B,n) complex128 or
    None, dV like V or None; out (B,n,n) float64/float32 (its dtype picks the
    precision), the real cotangent. Computed in real arithmetic. check_finite:
    refuse a cotangent holding inf or nan (ValueError naming it). Returns None
    or an error tuple."""
    cdef EigVjp c
    cdef Py_ssize_t B = out.shape[0], n = out.shape[1]
    expect("out", out.shape, 3, B, n, n)
    eig_vjp_setup(&c, V, w, dw, dV, cnp.NPY_COMPLEX128 if real_t is double else cnp.NPY_COMPLEX64,
                  B, n, lapack_norm, cond_max, &policy)
    c.out = &out[0, 0, 0]
    c.batch.one = eig_vjp_real_item[double]
    cdef size_t wb = ws_bytes(eig_real_ws(n, sizeof(real_t)).total, "eig_vjp_real")
    cdef item_d lanes = NULL
    if (EIG3_LANES and real_t is double and n == 3
            and (c.pol.mode == STRICT or c.pol.mode == EXACT or c.pol.mode == SUBSPACE)):
        lanes = eig3_blocks
    elif check_finite:
        finite(c.dw, B * n, "dw")
        finite(<const real_t*> c.dV, 2 * B * n * n, "dV")
    return run_entry(eig_vjp_real_item[real_t], lanes, &c.batch, &c, wb, nthreads,
                     ("dw", "dV") if check_finite else None)
