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
    # split_check (_policy.pxi) for complex eigenvalues and cotangents (all pairs)
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


cdef inline scalar_t from_c(scalar_t* tag, cdouble_t z) noexcept nogil:
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


cdef struct EigWs:
    size_t Vb, Z, Bm, LU, Wk, cw, ipiv, touched, gacc, cnrm, cbest, kpiv, total


cdef EigWs eig_ws(size_t n, size_t isz, bint vjp) noexcept nogil:
    # n x n blocks (the JVP: Vb, Z, LU as T, C, LU), gecon's work, pivots;
    # the VJP's flags and per-column accumulators
    cdef EigWs w
    cdef size_t top = 0, sq = ws_mul(n, n), v = n if vjp else 0
    w.Vb = ws_take(&top, sq, isz)
    w.Z = ws_take(&top, sq, isz)
    w.Bm = ws_take(&top, sq if vjp else 0, isz)
    w.LU = ws_take(&top, sq, isz)            # LU of V, or V^{-1} when small
    w.Wk = ws_take(&top, sq if vjp else 0, isz)
    w.cw = ws_take(&top, gecon_ws(n, isz), 1)
    w.ipiv = ws_take(&top, n, sizeof(int))
    w.touched = ws_take(&top, v, 1)
    w.gacc = ws_take(&top, v, isz)
    w.cnrm = ws_take(&top, v, sizeof(double))
    w.cbest = ws_take(&top, v, sizeof(double))
    w.kpiv = ws_take(&top, v, sizeof(int))
    w.total = top
    return w


cdef int eig_vjp_kernel(int n, const scalar_t* V, const cdouble_t* w, const cdouble_t* gw,
                        const scalar_t* gV, scalar_t* out, bint lapack_norm, double cond_max,
                        char* work, const Policy* pol, ErrInfo* e) noexcept nogil:
    cdef scalar_t one = 1, zero = 0
    cdef EigWs ws = eig_ws(n, sizeof(scalar_t), True)
    cdef scalar_t* Vb = <scalar_t*> (work + ws.Vb)
    cdef scalar_t* Z = <scalar_t*> (work + ws.Z)
    cdef scalar_t* Bm = <scalar_t*> (work + ws.Bm)
    cdef scalar_t* LU = <scalar_t*> (work + ws.LU)
    cdef scalar_t* Wk = <scalar_t*> (work + ws.Wk)
    cdef char* cw = work + ws.cw
    cdef int* ipiv = <int*> (work + ws.ipiv)
    cdef signed char* touched = <signed char*> (work + ws.touched)
    cdef scalar_t* gacc = <scalar_t*> (work + ws.gacc)
    cdef double* cnrm = <double*> (work + ws.cnrm)
    cdef double* cbest = <double*> (work + ws.cbest)
    cdef int* kpiv = <int*> (work + ws.kpiv)
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
        # g_j = v_j^H dV_j, column norms and pivots, row by row (cache-friendly)
        for j in range(n):
            touched[j] = -1
            gacc[j] = 0
            cnrm[j] = 0.0
            cbest[j] = -1.0
            kpiv[j] = 0
        for i in range(n):
            for j in range(n):
                gacc[j] = gacc[j] + conj_(V[i * n + j]) * gV[i * n + j]
                cnrm[j] += abs2_(gV[i * n + j])
                nrm = abs2_(V[i * n + j])
                if nrm > cbest[j]:
                    cbest[j] = nrm
                    kpiv[j] = i
        for j in range(n):
            c = cnrm[j] if cnrm[j] > c else c
        glim = pol.gauge_tol * sqrt(c)
        if cplx and not lapack_norm:
            for j in range(n):
                if fabs(im_(gacc[j])) > glim:
                    return set_err(e, E_GAUGE_PHASE, j, j, w[j].real, w[j].imag, fabs(im_(gacc[j])), glim)
        for i in range(n):
            for j in range(n):
                Vb[i * n + j] = gV[i * n + j] - re_(gacc[j]) * V[i * n + j]
        if cplx and lapack_norm:
            for j in range(n):
                k = kpiv[j]
                Vb[k * n + j] = Vb[k * n + j] - mkc(V, 0.0, im_(gacc[j]) / re_(V[k * n + j]))
        gemm(c'C', c'N', n, n, n, one, V, n, Vb, n, zero, Z, n)
        zlim = pol.gauge_tol * max_abs(n, n, Z, n)
        for i in range(n):
            for j in range(n):
                if i == j:
                    Z[i * n + i] = from_c(V, gw[i]) if gw != NULL else 0
                    continue
                f = cinv_gap(w[j] - w[i], &g, &fa)
                if fa:
                    if pol.mode == STRICT:
                        if _vtouched(touched, n, gV, i) or _vtouched(touched, n, gV, j):
                            return set_err(e, E_DEGENERATE, i, j, w[i].real, w[j].real,
                                           hypot((w[j] - w[i]).real, (w[j] - w[i]).imag), g.tol)
                    elif abs_(Z[i * n + j]) > zlim:
                        return set_err(e, E_GAUGE_BLOCK, i, j, w[i].real, w[j].real,
                                       abs_(Z[i * n + j]), zlim)
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
            if fa and pol.mode == STRICT and abs_(p) > glim:
                return set_err(e, E_DEGENERATE, i, j, w[i].real, w[j].real,
                               hypot((w[j] - w[i]).real, (w[j] - w[i]).imag), g.tol)
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


# --- per-matrix adapters ------------------------------------------------------------

cdef struct EigCtx:
    int n
    Py_ssize_t B
    bint lapack_norm
    bint check_finite   # the lane kernel checks the cotangents it loads
    double cond_max
    item_fn one         # the per-matrix kernel a lane block hands over to
    void* V
    cdouble_t* w
    cdouble_t* gw   # vjp: dw or NULL | jvp: out dw
    void* g1        # vjp: dV or NULL | jvp: dA
    void* out       # vjp: A_bar | jvp: out dV
    Policy pol


cdef inline int _eig_vjp_item(EigCtx* c, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef Py_ssize_t n = c.n
    return eig_vjp_kernel(c.n, (<scalar_t*> c.V) + b * n * n, c.w + b * n,
                          NULL if c.gw == NULL else c.gw + b * n,
                          NULL if c.g1 == NULL else (<scalar_t*> c.g1) + b * n * n,
                          (<scalar_t*> c.out) + b * n * n, c.lapack_norm, c.cond_max, w, &c.pol, e)


cdef inline int _eig_jvp_item(EigCtx* c, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef Py_ssize_t n = c.n
    return eig_jvp_kernel(c.n, (<scalar_t*> c.V) + b * n * n, c.w + b * n,
                          (<scalar_t*> c.g1) + b * n * n, c.gw + b * n,
                          (<scalar_t*> c.out) + b * n * n, c.lapack_norm, c.cond_max, w, &c.pol, e)


cdef int _eig_vjp_f(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eig_vjp_item(<EigCtx*> c, b, w, e, <float*> NULL)
cdef int _eig_vjp_d(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eig_vjp_item(<EigCtx*> c, b, w, e, <double*> NULL)
cdef int _eig_vjp_c(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eig_vjp_item(<EigCtx*> c, b, w, e, <cfloat_t*> NULL)
cdef int _eig_vjp_z(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eig_vjp_item(<EigCtx*> c, b, w, e, <cdouble_t*> NULL)

cdef int _eig_jvp_f(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eig_jvp_item(<EigCtx*> c, b, w, e, <float*> NULL)
cdef int _eig_jvp_d(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eig_jvp_item(<EigCtx*> c, b, w, e, <double*> NULL)
cdef int _eig_jvp_c(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eig_jvp_item(<EigCtx*> c, b, w, e, <cfloat_t*> NULL)
cdef int _eig_jvp_z(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eig_jvp_item(<EigCtx*> c, b, w, e, <cdouble_t*> NULL)


# --- def entry points ---------------------------------------------------------------

cdef int check_cw(object a, str name, Py_ssize_t B, Py_ssize_t n) except -1:
    if not isinstance(a, cnp.ndarray) or cnp.PyArray_TYPE(<cnp.ndarray> a) != cnp.NPY_COMPLEX128:
        raise TypeError(f"{name} must be a complex128 array")
    check_stack(<cnp.ndarray> a, name, 2)
    if a.shape[0] != B or a.shape[1] != n:
        raise ValueError(f"{name} has shape {a.shape}, expected {(B, n)}")
    return 0


cdef EigCtx _eig_ctx(cnp.ndarray V, cnp.ndarray w, bint lapack_norm, double cond_max,
                     tuple policy) except *:
    cdef EigCtx c
    check_stack(V, "V", 3)
    if V.shape[1] != V.shape[2]:
        raise ValueError("V must be square")
    check_cw(w, "w", V.shape[0], V.shape[1])
    check_index_range(2 * V.shape[1] * V.shape[1], "eig")
    c.n = <int> V.shape[1]
    c.B = V.shape[0]
    c.one = NULL
    c.check_finite = False
    c.lapack_norm = lapack_norm
    c.cond_max = cond_max
    c.V = cnp.PyArray_DATA(V)
    c.w = <cdouble_t*> cnp.PyArray_DATA(w)
    c.gw = NULL
    c.g1 = c.out = NULL
    c.pol = read_policy(policy)
    return c


def eig_vjp(cnp.ndarray V, cnp.ndarray w, object gw, object gV, cnp.ndarray out,
            bint lapack_norm, double cond_max, tuple policy, int nthreads=1):
    """Pullback of a stack of eig: V (B,n,n), w (B,n) complex128; gw (B,n)
    complex128 or None, gV (B,n,n) or None; out (B,n,n) in V's dtype.
    Returns None or an error tuple."""
    cdef EigCtx c = _eig_ctx(V, w, lapack_norm, cond_max, policy)
    cdef ErrInfo e
    cdef int t = cnp.PyArray_TYPE(V)
    cdef Py_ssize_t B = V.shape[0]
    cdef size_t wb = ws_bytes(eig_ws(c.n, itemsize(t), True).total, "eig_vjp")
    check_like(out, V, "out", B, c.n, c.n)
    if gw is not None:
        check_cw(gw, "dw", B, c.n)
        c.gw = <cdouble_t*> cnp.PyArray_DATA(<cnp.ndarray> gw)
    if gV is not None:
        check_like(gV, V, "dV", B, c.n, c.n)
        c.g1 = cnp.PyArray_DATA(<cnp.ndarray> gV)
    c.out = cnp.PyArray_DATA(out)
    cdef item_fn fn = pick(t, _eig_vjp_f, _eig_vjp_d, _eig_vjp_c, _eig_vjp_z)
    with nogil:
        run_batch(fn, &c, B, wb, nthreads, &e)
    return err_tuple(&e)


def eig_jvp(cnp.ndarray V, cnp.ndarray w, cnp.ndarray dA, cnp.ndarray dw, cnp.ndarray dV,
            bint lapack_norm, double cond_max, tuple policy, int nthreads=1):
    """Pushforward of a stack of eig along dA (B,n,n) into dw (B,n) complex128
    and dV (B,n,n). Returns None or an error tuple."""
    cdef EigCtx c = _eig_ctx(V, w, lapack_norm, cond_max, policy)
    cdef ErrInfo e
    cdef int t = cnp.PyArray_TYPE(V)
    cdef Py_ssize_t B = V.shape[0]
    cdef size_t wb = ws_bytes(eig_ws(c.n, itemsize(t), False).total, "eig_jvp")
    check_like(dA, V, "dA", B, c.n, c.n)
    check_like(dV, V, "dV", B, c.n, c.n)
    check_cw(dw, "dw", B, c.n)
    c.g1 = cnp.PyArray_DATA(dA)
    c.gw = <cdouble_t*> cnp.PyArray_DATA(dw)
    c.out = cnp.PyArray_DATA(dV)
    cdef item_fn fn = pick(t, _eig_jvp_f, _eig_jvp_d, _eig_jvp_c, _eig_jvp_z)
    with nogil:
        run_batch(fn, &c, B, wb, nthreads, &e)
    return err_tuple(&e)


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


cdef inline bint _ctouched(signed char* t, int n, const real_t* gVc, int j) noexcept nogil:
    # does the (interleaved complex) cotangent touch column j? (exact zero test)
    cdef int i
    if t[j] < 0:
        t[j] = 0
        for i in range(n):
            if gVc[2 * (i * n + j)] != 0 or gVc[2 * (i * n + j) + 1] != 0:
                t[j] = 1
                break
    return t[j] > 0


cdef struct EigRealWs:
    size_t Vr, LU, Wk, Vb, Wm, Mr, Z, cw, ipiv, col, cgr, cgi, cbest, kpiv, typ, touched, total


cdef EigRealWs eig_real_ws(size_t n, size_t isz) noexcept nogil:
    # isz: the real item size (float or double); Z is complex128 whatever it is
    cdef EigRealWs w
    cdef size_t top = 0, sq = ws_mul(n, n)
    w.Vr = ws_take(&top, sq, isz)
    w.LU = ws_take(&top, sq, isz)
    w.Wk = ws_take(&top, sq, isz)
    w.Vb = ws_take(&top, ws_mul(2, sq), isz)
    w.Wm = ws_take(&top, ws_mul(2, sq), isz)
    w.Mr = ws_take(&top, sq, isz)
    w.Z = ws_take(&top, sq, sizeof(cdouble_t))
    w.cw = ws_take(&top, gecon_ws(n, isz), 1)
    w.ipiv = ws_take(&top, n, sizeof(int))
    w.col = ws_take(&top, n, sizeof(double))
    w.cgr = ws_take(&top, n, sizeof(double))
    w.cgi = ws_take(&top, n, sizeof(double))
    w.cbest = ws_take(&top, n, sizeof(double))
    w.kpiv = ws_take(&top, n, sizeof(int))
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
    cdef real_t* Vr = <real_t*> (work + ws.Vr)
    cdef real_t* LU = <real_t*> (work + ws.LU)
    cdef real_t* Wk = <real_t*> (work + ws.Wk)
    cdef real_t* Vb = <real_t*> (work + ws.Vb)    # n x 2n (complex dV')
    cdef real_t* Wm = <real_t*> (work + ws.Wm)    # n x 2n (complex Vr^T dV')
    cdef real_t* Mr = <real_t*> (work + ws.Mr)
    cdef cdouble_t* Z = <cdouble_t*> (work + ws.Z)
    cdef char* cw = work + ws.cw
    cdef int* ipiv = <int*> (work + ws.ipiv)
    cdef double* col = <double*> (work + ws.col)
    cdef double* cgr = <double*> (work + ws.cgr)
    cdef double* cgi = <double*> (work + ws.cgi)
    cdef double* cbest = <double*> (work + ws.cbest)
    cdef int* kpiv = <int*> (work + ws.kpiv)
    cdef signed char* typ = <signed char*> (work + ws.typ)   # 0 real, 1 first of a pair, 2 second
    cdef signed char* touched = <signed char*> (work + ws.touched)
    cdef int i, j, k, code
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

    for i in range(n):
        for j in range(n):
            Z[i * n + j] = 0
        if gw != NULL:
            Z[i * n + i] = gw[i]
    if gVc != NULL:
        # column sums g_j = v_j^H dV_j, column norms and LAPACK pivots, row by
        # row (the arrays are row-major: a column sweep would miss the cache)
        for j in range(n):
            col[j] = 0.0
            cgr[j] = 0.0
            cgi[j] = 0.0
            cbest[j] = -1.0
            kpiv[j] = 0
        for i in range(n):
            for j in range(n):
                vr = _cre(Vc, n, i, j)
                vi = _cim(Vc, n, i, j)
                ar = _cre(gVc, n, i, j)
                ai = _cim(gVc, n, i, j)
                col[j] += ar * ar + ai * ai
                cgr[j] += vr * ar + vi * ai
                cgi[j] += vr * ai - vi * ar
                nrm = vr * vr + vi * vi
                if nrm > cbest[j]:
                    cbest[j] = nrm
                    kpiv[j] = i
        for j in range(n):
            c = col[j] if col[j] > c else c
        glim = pol.gauge_tol * sqrt(c)
        if not lapack_norm:
            for j in range(n):
                if fabs(cgi[j]) > glim:
                    return set_err(e, E_GAUGE_PHASE, j, j, w[j].real, w[j].imag, fabs(cgi[j]), glim)
        for i in range(n):
            for j in range(n):
                Vb[2 * (i * n + j)] = <real_t> (_cre(gVc, n, i, j) - cgr[j] * _cre(Vc, n, i, j))
                Vb[2 * (i * n + j) + 1] = <real_t> (_cim(gVc, n, i, j) - cgr[j] * _cim(Vc, n, i, j))
        if lapack_norm:
            for j in range(n):
                k = kpiv[j]
                vk = _cre(Vc, n, k, j)
                Vb[2 * (k * n + j) + 1] = <real_t> (Vb[2 * (k * n + j) + 1] - cgi[j] / vk)
        # Wm = Vr^T dV' (real GEMM, n x 2n), then G' = T^H Wm row by row
        gemm(c'T', c'N', n, 2 * n, n, one, Vr, n, Vb, 2 * n, zero, Wm, 2 * n)
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
                if fa:
                    if pol.mode == STRICT:
                        hit = _ctouched(touched, n, gVc, i) or _ctouched(touched, n, gVc, j)
                        if hit:
                            return set_err(e, E_DEGENERATE, i, j, w[i].real, w[j].real,
                                           hypot((w[j] - w[i]).real, (w[j] - w[i]).imag), gp.tol)
                    elif abs_(Z[i * n + j]) > zlim:
                        return set_err(e, E_GAUGE_BLOCK, i, j, w[i].real, w[j].real,
                                       abs_(Z[i * n + j]), zlim)
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
    i = 0
    while i < n:
        if typ[i] == 1:
            for j in range(n):
                a = Z[i * n + j]
                b = Z[(i + 1) * n + j]
                Mr[i * n + j] = <real_t> (0.5 * (a.real + b.real))
                Mr[(i + 1) * n + j] = <real_t> (0.5 * (b.imag - a.imag))
            i += 2
        else:
            for j in range(n):
                Mr[i * n + j] = <real_t> Z[i * n + j].real
            i += 1
    # A_bar^T = (Vr Mr^T) Vr^{-1}. Eigenvalues only: Mr is block diagonal
    # (1x1 and the 2x2 pair blocks), so Vr Mr^T is O(n^2), not a GEMM.
    if gVc == NULL:
        for i in range(n):
            for j in range(n):
                if typ[j] == 0:
                    Wm[i * n + j] = Vr[i * n + j] * Mr[j * n + j]
                else:
                    k = j if typ[j] == 1 else j - 1          # first column of j's pair
                    Wm[i * n + j] = Vr[i * n + k] * Mr[j * n + k] + Vr[i * n + k + 1] * Mr[j * n + k + 1]
    else:
        gemm(c'N', c'T', n, n, n, one, Vr, n, Mr, n, zero, Wm, n)
    if small:
        gemm(c'N', c'N', n, n, n, one, Wm, n, LU, n, zero, Wk, n)
    else:
        getrs_right(c'N', n, n, LU, ipiv, Wm)
        Wk = Wm
    _transpose_into(n, Wk, out)
    return OK


cdef int _eig_vjp_rf(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    cdef EigCtx* x = <EigCtx*> c
    cdef Py_ssize_t n = x.n
    return eig_vjp_real_kernel(x.n, (<float*> x.V) + 2 * b * n * n, x.w + b * n,
                               NULL if x.gw == NULL else x.gw + b * n,
                               NULL if x.g1 == NULL else (<float*> x.g1) + 2 * b * n * n,
                               (<float*> x.out) + b * n * n, x.lapack_norm, x.cond_max, w, &x.pol, e)


cdef int _eig_vjp_rd(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    cdef EigCtx* x = <EigCtx*> c
    cdef Py_ssize_t n = x.n
    return eig_vjp_real_kernel(x.n, (<double*> x.V) + 2 * b * n * n, x.w + b * n,
                               NULL if x.gw == NULL else x.gw + b * n,
                               NULL if x.g1 == NULL else (<double*> x.g1) + 2 * b * n * n,
                               (<double*> x.out) + b * n * n, x.lapack_norm, x.cond_max, w, &x.pol, e)


def eig_vjp_real(cnp.ndarray V, cnp.ndarray w, object gw, object gV, cnp.ndarray out,
                 bint lapack_norm, double cond_max, tuple policy, int nthreads=1,
                 bint check_finite=True):
    """Pullback of eig for REAL input whose V is complex (conjugate pairs as
    numpy.linalg.eig returns them, first member with positive imaginary part):
    V (B,n,n) complex128/complex64, w (B,n) complex128, gw (B,n) complex128 or
    None, gV like V or None; out (B,n,n) float64/float32, the real cotangent.
    Computed in real arithmetic. check_finite: refuse a cotangent holding inf
    or nan (ValueError naming it). Returns None or an error tuple."""
    cdef EigCtx c = _eig_ctx(V, w, lapack_norm, cond_max, policy)
    cdef ErrInfo e
    cdef int t = cnp.PyArray_TYPE(V)
    cdef Py_ssize_t B = V.shape[0]
    cdef int rt
    cdef item_fn fn
    if t == cnp.NPY_COMPLEX128:
        rt = cnp.NPY_FLOAT64
        fn = _eig_vjp_rd
    elif t == cnp.NPY_COMPLEX64:
        rt = cnp.NPY_FLOAT32
        fn = _eig_vjp_rf
    else:
        raise TypeError("V must be complex128 or complex64")
    cdef size_t wb = ws_bytes(eig_real_ws(c.n, itemsize(rt)).total, "eig_vjp_real")
    check_stack(out, "out", 3)
    if cnp.PyArray_TYPE(out) != rt or out.shape[0] != B or out.shape[1] != c.n or out.shape[2] != c.n:
        raise ValueError("out must be the real (B, n, n) array of V's precision")
    if gw is not None:
        check_cw(gw, "dw", B, c.n)
        c.gw = <cdouble_t*> cnp.PyArray_DATA(<cnp.ndarray> gw)
    if gV is not None:
        check_like(gV, V, "dV", B, c.n, c.n)
        c.g1 = cnp.PyArray_DATA(<cnp.ndarray> gV)
    c.out = cnp.PyArray_DATA(out)
    return run_entry(fn, _eig3_vjp_blocks if eig3_fast(t, c.n, &c.pol) else <item_fn> NULL,
                     &c, &c.check_finite, &c.one, B, wb, nthreads, (gw, gV),
                     ("dw", "dV") if check_finite else None)


# --- 3x3 real input, LANES matrices at a time (the machinery of _small.pxi) ------------
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
# lane arrays, as the other 3x3 kernels are, it kept every array in memory
# between its stages (docs/benchmarks.md).

cdef extern from "_eig3.h" nogil:
    enum: EIG3_LANES     # 0 without GNU C vector types: no lane kernel
    int eig3_lanes(const double* V, const double* w, const double* gw, const double* gV,
                   double* out, Py_ssize_t nxt, double lim, double gtol2, double rtol2,
                   int lapack_norm, int flag, int check_finite)

cdef double _EIG3_COND = 1e6

cdef int[4] _EIG3_SIZE = [18, 6, 6, 18]


cdef int _eig3(void* ctx, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
               char* work, ErrInfo* e) noexcept nogil:
    # src: V, w, dw, dV (complex, interleaved; dw, dV NULL-able). The next
    # block's lines are fetched while this one computes (a part between
    # each stage); this block's again where the next is not whole (no branch)
    cdef EigCtx* c = <EigCtx*> ctx
    cdef Py_ssize_t nxt = LANES if b0 + 2 * LANES <= c.B else 0
    cdef double lim = c.cond_max if c.cond_max < _EIG3_COND else _EIG3_COND
    # rtol^2 for the pair test: with dV always (the mode decides), with dw only
    # in strict (split_check); -1 turns it off
    cdef double rtol2 = (c.pol.rtol * c.pol.rtol * (1.0 + 1e-12)
                         if src[3] != NULL or (c.pol.mode == STRICT and src[2] != NULL) else -1.0)
    cdef int code = eig3_lanes(src[0], src[1], _given(src[2]), src[3], out, nxt, lim,
                               c.pol.gauge_tol * c.pol.gauge_tol, rtol2,
                               c.lapack_norm, c.pol.mode != EXACT, c.check_finite)
    if code == 1:
        return _report_nonfinite(src, _EIG3_SIZE, 2, 4, b0, nb, e)
    if code == 2:
        return HAND_OVER
    return OK


cdef int _eig3_vjp_blocks(void* ctx, Py_ssize_t blk, char* work, ErrInfo* e) noexcept nogil:
    cdef EigCtx* c = <EigCtx*> ctx
    cdef Py_ssize_t b0 = blk * LANES
    cdef const double* src[4]
    src[0] = (<const double*> c.V) + b0 * 18
    src[1] = (<const double*> c.w) + b0 * 6
    src[2] = NULL if c.gw == NULL else (<const double*> c.gw) + b0 * 6
    src[3] = NULL if c.g1 == NULL else (<const double*> c.g1) + b0 * 18
    return _block(_eig3, c.one, c, c.B, blk, 4, src, _EIG3_SIZE, (<double*> c.out) + b0 * 9, work, e)


cdef bint eig3_fast(int t, int n, const Policy* pol):
    return (EIG3_LANES and t == cnp.NPY_COMPLEX128 and n == 3
            and (pol.mode == STRICT or pol.mode == EXACT or pol.mode == SUBSPACE))
