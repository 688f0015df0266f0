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
    """1/d for a complex gap d under the policy (Lorentzian: conj(d) / (|d|^2 + eps));
    *flag set (and 0 returned) for a degenerate pair in strict/subspace mode.
    Formed as conj(d)/|d|^2 (no library complex division in the hot loop)."""
    cdef double a2 = d.real * d.real + d.imag * d.imag
    cdef cdouble_t r
    flag[0] = False
    if g.mode == LORENTZ:
        a2 = a2 + g.eps
    elif g.mode != EXACT and a2 <= g.tol * g.tol:
        flag[0] = True
        r.real = 0.0
        r.imag = 0.0
        return r
    r.real = d.real / a2
    r.imag = -d.imag / a2
    return r


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
    # max |w_i| (one square root, not n hypot calls)
    cdef int i
    cdef double s = 0.0, a
    for i in range(n):
        a = w[i].real * w[i].real + w[i].imag * w[i].imag
        if a > s:
            s = a
    return sqrt(s)


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


cdef int eig_vjp_kernel(int n, const scalar_t* V, const cdouble_t* w, const cdouble_t* gw,
                        const scalar_t* gV, scalar_t* out, bint lapack_norm, double cond_max,
                        char* work, const Policy* pol, ErrInfo* e) noexcept nogil:
    cdef scalar_t one = 1, zero = 0
    cdef scalar_t* Vb = <scalar_t*> work
    cdef scalar_t* Z = Vb + n * n
    cdef scalar_t* Bm = Z + n * n
    cdef scalar_t* LU = Bm + n * n          # LU of V, or V^{-1} when small
    cdef scalar_t* Wk = LU + n * n
    cdef char* cw = <char*> (Wk + n * n)
    cdef int* ipiv = <int*> (cw + 4 * n * sizeof(scalar_t) + 2 * n * sizeof(double) + n * sizeof(int))
    cdef signed char* touched = <signed char*> (ipiv + n)
    cdef scalar_t* gacc = <scalar_t*> ((<size_t> (touched + n) + 15) & ~(<size_t> 15))
    cdef double* cnrm = <double*> (gacc + n)
    cdef double* cbest = cnrm + n
    cdef int* kpiv = <int*> (cbest + n)
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
    if code != OK:
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
    cdef scalar_t* T = <scalar_t*> work      # V^T dA^T, then P^T
    cdef scalar_t* C = T + n * n
    cdef scalar_t* LU = C + n * n           # LU of V, or V^{-1} when small
    cdef char* cw = <char*> (LU + n * n)
    cdef bint small = _small(n)
    cdef int* ipiv = <int*> (cw + 4 * n * sizeof(scalar_t) + 2 * n * sizeof(double) + n * sizeof(int))
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


cdef size_t _eig_work(int t, int n, int nsq):
    # nsq n x n blocks, gecon's workspace, ipiv, flags, then the per-column
    # accumulators of the VJP (n scalars, 2n doubles, n ints) after 16-byte padding
    return (itemsize(t) * (nsq * n * n + 5 * n) + 4 * n * sizeof(double) + 3 * n * sizeof(int)
            + n + 128)


def eig_vjp(cnp.ndarray V, cnp.ndarray w, object gw, object gV, cnp.ndarray out,
            bint lapack_norm, double cond_max, tuple policy, int nthreads=1):
    """Pullback of a stack of eig: V (B,n,n), w (B,n) complex128; gw (B,n)
    complex128 or None, gV (B,n,n) or None; out (B,n,n) in V's dtype.
    Returns None or an error tuple."""
    cdef EigCtx c = _eig_ctx(V, w, lapack_norm, cond_max, policy)
    cdef ErrInfo e
    cdef int t = cnp.PyArray_TYPE(V)
    cdef Py_ssize_t B = V.shape[0]
    cdef size_t wb = _eig_work(t, c.n, 5)
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
    cdef size_t wb = _eig_work(t, c.n, 3)
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


cdef int eig_vjp_real_kernel(int n, const real_t* Vc, const cdouble_t* w, const cdouble_t* gw,
                             const real_t* gVc, real_t* out, bint lapack_norm, double cond_max,
                             char* work, const Policy* pol, ErrInfo* e) noexcept nogil:
    # Vc, gVc: complex n x n as interleaved real n x 2n; out: real n x n
    cdef real_t one = 1, zero = 0
    cdef real_t* Vr = <real_t*> work
    cdef real_t* LU = Vr + n * n
    cdef real_t* Wk = LU + n * n
    cdef real_t* Vb = Wk + n * n            # n x 2n (complex dV')
    cdef real_t* Wm = Vb + 2 * n * n        # n x 2n (complex Vr^T dV')
    cdef real_t* Mr = Wm + 2 * n * n
    cdef cdouble_t* Z = <cdouble_t*> (Mr + n * n + 8)
    cdef char* cw = <char*> (Z + n * n)
    cdef int* ipiv = <int*> (cw + 4 * n * sizeof(real_t) + 2 * n * sizeof(double) + n * sizeof(int))
    cdef double* col = <double*> (ipiv + n + (n & 1))
    cdef double* cgr = col + n
    cdef double* cgi = cgr + n
    cdef double* cbest = cgi + n
    cdef int* kpiv = <int*> (cbest + n)
    cdef signed char* typ = <signed char*> (kpiv + n)   # 0 real, 1 first of a pair, 2 second
    cdef signed char* touched = typ + n
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
    if code != OK:
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
    cdef size_t isz = itemsize(rt)
    cdef size_t wb = isz * (8 * c.n * c.n + 4 * c.n + 8) + 16 * c.n * c.n + 16 * c.n + 8 * c.n + 2 * c.n + 128
    wb += 36 * c.n + 8
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
# accuracy to pivoting).
# Complex lane matrices keep re and im in alternate rows: entry (i, j) in
# rows 2 (3 i + j) and 2 (3 i + j) + 1.

cdef double _EIG3_COND = 1e6


cdef inline void _real_basis3(double v[][LANES], const double* p0, const double* p1,
                              double vr[][LANES]) noexcept nogil:
    # Vr (V = Vr T): column 0 Re v_0; column 1 Im v_0 where p0 (a pair in
    # columns 0, 1), else Re v_1; column 2 Im v_1 where p1, else Re v_2
    cdef int i, l
    for i in range(3):
        for l in range(LANES):
            vr[3 * i][l] = v[6 * i][l]
            vr[3 * i + 1][l] = v[6 * i + 1][l] if p0[l] != 0.0 else v[6 * i + 2][l]
            vr[3 * i + 2][l] = v[6 * i + 3][l] if p1[l] != 0.0 else v[6 * i + 4][l]


cdef inline void _rcofactor3(double m[][LANES], int r, int s, double C[][LANES]) noexcept nogil:
    # C_rs = m[r1,s1] m[r2,s2] - m[r1,s2] m[r2,s1] with r1, r2 (s1, s2) the
    # other two rows (columns) in cyclic order, which carries the sign
    cdef int l
    cdef int r1 = (r + 1) % 3, r2 = (r + 2) % 3, s1 = (s + 1) % 3, s2 = (s + 2) % 3
    for l in range(LANES):
        C[3 * r + s][l] = (m[3 * r1 + s1][l] * m[3 * r2 + s2][l]
                           - m[3 * r1 + s2][l] * m[3 * r2 + s1][l])


cdef inline double _max3(double a, double b, double c) noexcept nogil:
    a = a if a > b else b
    return a if a > c else c


cdef inline void _eig3_project(double v[][LANES], double g[][LANES], int j, bint lapack_norm,
                               const double* gtol2, double* bad) noexcept nogil:
    # column j of dV' = dV - Re(g_j) v_j [- i Im(g_j) / v_kj e_k] in place,
    # g_j = v_j^H dV_j; "norm": bad[l] set where Im(g_j)^2 > gtol2 |dV|^2
    # (gtol2 = gauge_tol^2 times the largest squared column norm, below).
    # Sums as trees and the pivot's reciprocal from v alone: this is the
    # kernel's critical path (the products below wait for it)
    cdef int l
    cdef int e0 = 2 * j, e1 = 2 * (3 + j), e2 = 2 * (6 + j)
    cdef double gr, gi, n0, n1, n2, m1, m2, rk
    for l in range(LANES):
        gr = ((v[e0][l] * g[e0][l] + v[e0 + 1][l] * g[e0 + 1][l])
              + (v[e1][l] * g[e1][l] + v[e1 + 1][l] * g[e1 + 1][l])
              + (v[e2][l] * g[e2][l] + v[e2 + 1][l] * g[e2 + 1][l]))
        gi = ((v[e0][l] * g[e0 + 1][l] - v[e0 + 1][l] * g[e0][l])
              + (v[e1][l] * g[e1 + 1][l] - v[e1 + 1][l] * g[e1][l])
              + (v[e2][l] * g[e2 + 1][l] - v[e2 + 1][l] * g[e2][l]))
        if lapack_norm:
            # the pivot row k: the entry of largest modulus (first on ties),
            # as 0/1 weights m (exact: q is finite)
            n0 = v[e0][l] * v[e0][l] + v[e0 + 1][l] * v[e0 + 1][l]
            n1 = v[e1][l] * v[e1][l] + v[e1 + 1][l] * v[e1 + 1][l]
            n2 = v[e2][l] * v[e2][l] + v[e2 + 1][l] * v[e2 + 1][l]
            m2 = 1.0 if n2 > (n1 if n1 > n0 else n0) else 0.0
            m1 = (1.0 if n1 > n0 else 0.0) * (1.0 - m2)
            rk = 1.0 / (v[e2][l] if m2 != 0.0 else (v[e1][l] if m1 != 0.0 else v[e0][l]))
            gi = gi * rk
            g[e0 + 1][l] = g[e0 + 1][l] - gr * v[e0 + 1][l] - gi * (1.0 - m1 - m2)
            g[e1 + 1][l] = g[e1 + 1][l] - gr * v[e1 + 1][l] - gi * m1
            g[e2 + 1][l] = g[e2 + 1][l] - gr * v[e2 + 1][l] - gi * m2
        else:
            bad[l] = bad[l] + (1.0 if gi * gi > gtol2[l] else 0.0)
            g[e0 + 1][l] = g[e0 + 1][l] - gr * v[e0 + 1][l]
            g[e1 + 1][l] = g[e1 + 1][l] - gr * v[e1 + 1][l]
            g[e2 + 1][l] = g[e2 + 1][l] - gr * v[e2 + 1][l]
        g[e0][l] = g[e0][l] - gr * v[e0][l]
        g[e1][l] = g[e1][l] - gr * v[e1][l]
        g[e2][l] = g[e2][l] - gr * v[e2][l]


cdef void _eig3_projections(double v[][LANES], double g[][LANES], bint lapack_norm,
                            const double* gtol2, double* bad) noexcept nogil:
    # the three columns' projections, each inlined with a constant flag
    # (with the flag tested in its loop the projection was not vectorised);
    # a function of its own, so that the kernel's size cannot stop the
    # inlining (gcc's large-function-growth limit did)
    if lapack_norm:
        _eig3_project(v, g, 0, True, gtol2, bad)
        _eig3_project(v, g, 1, True, gtol2, bad)
        _eig3_project(v, g, 2, True, gtol2, bad)
    else:
        _eig3_project(v, g, 0, False, gtol2, bad)
        _eig3_project(v, g, 1, False, gtol2, bad)
        _eig3_project(v, g, 2, False, gtol2, bad)


cdef inline double _vhg_re(double v[][LANES], double g[][LANES], int i, int j, int l) noexcept nogil:
    # Re (v_i^H g_j) for complex 3x3 lane matrices (columns i, j)
    return ((v[2 * i][l] * g[2 * j][l] + v[2 * i + 1][l] * g[2 * j + 1][l])
            + (v[2 * (3 + i)][l] * g[2 * (3 + j)][l] + v[2 * (3 + i) + 1][l] * g[2 * (3 + j) + 1][l])
            + (v[2 * (6 + i)][l] * g[2 * (6 + j)][l] + v[2 * (6 + i) + 1][l] * g[2 * (6 + j) + 1][l]))


cdef inline double _vhg_im(double v[][LANES], double g[][LANES], int i, int j, int l) noexcept nogil:
    # Im (v_i^H g_j)
    return ((v[2 * i][l] * g[2 * j + 1][l] - v[2 * i + 1][l] * g[2 * j][l])
            + (v[2 * (3 + i)][l] * g[2 * (3 + j) + 1][l] - v[2 * (3 + i) + 1][l] * g[2 * (3 + j)][l])
            + (v[2 * (6 + i)][l] * g[2 * (6 + j) + 1][l] - v[2 * (6 + i) + 1][l] * g[2 * (6 + j)][l]))


cdef inline void _eig3_pair(int i, int j, double v[][LANES], double g[][LANES], double w[][LANES],
                            const double* tol2, bint flag, const double* sc, double Z[][LANES],
                            double* bad) noexcept nogil:
    # Z_ij = (v_i^H dV'_j) sc / conj(w_j - w_i) and Z_ji = (v_j^H dV'_i) sc /
    # conj(w_i - w_j) (sc real), the products kept in registers; bad[l] set
    # at a gap within tol (flag: the mode tests it)
    cdef int l
    cdef int ij = 2 * (3 * i + j), ji = 2 * (3 * j + i)
    cdef double dr, di, a2, zr, zi, yr, yi
    for l in range(LANES):
        zr = _vhg_re(v, g, i, j, l)
        zi = _vhg_im(v, g, i, j, l)
        yr = _vhg_re(v, g, j, i, l)
        yi = _vhg_im(v, g, j, i, l)
        dr = w[2 * j][l] - w[2 * i][l]
        di = w[2 * j + 1][l] - w[2 * i + 1][l]
        a2 = dr * dr + di * di
        if flag:
            bad[l] = bad[l] + (1.0 if a2 <= tol2[l] else 0.0)
        a2 = sc[l] / a2                       # sc / conj(d) = (sc / |d|^2) d
        dr = dr * a2
        di = di * a2
        Z[ij][l] = zr * dr - zi * di
        Z[ij + 1][l] = zr * di + zi * dr
        Z[ji][l] = -(yr * dr - yi * di)
        Z[ji + 1][l] = -(yr * di + yi * dr)


cdef void _eig3_pairs(double v[][LANES], double g[][LANES], double w[][LANES], const double* tol2,
                      bint flag, const double* sc, double Z[][LANES], double* bad) noexcept nogil:
    # Z off the diagonal; a function of its own for the inlining (as
    # _eig3_projections), each flag constant at its call
    if flag:
        _eig3_pair(0, 1, v, g, w, tol2, True, sc, Z, bad)
        _eig3_pair(0, 2, v, g, w, tol2, True, sc, Z, bad)
        _eig3_pair(1, 2, v, g, w, tol2, True, sc, Z, bad)
    else:
        _eig3_pair(0, 1, v, g, w, tol2, False, sc, Z, bad)
        _eig3_pair(0, 2, v, g, w, tol2, False, sc, Z, bad)
        _eig3_pair(1, 2, v, g, w, tol2, False, sc, Z, bad)


cdef inline double _kpair(double Z[][LANES], int a, int b, int r, int s, int l) noexcept nogil:
    # entry (r, s) of K = Re(T^{-H} Z T^H) for a pair in columns (a, b) and
    # a real column c: T = [[1, 1], [i, -i]] on the pair, T^{-H} = T / 2 there
    cdef int c = 3 - a - b
    cdef int aa = 2 * (3 * a + a), ab = 2 * (3 * a + b), ac = 2 * (3 * a + c)
    cdef int ba = 2 * (3 * b + a), bb = 2 * (3 * b + b), bc = 2 * (3 * b + c)
    cdef int ca = 2 * (3 * c + a), cb = 2 * (3 * c + b), cc = 2 * (3 * c + c)
    if r == a and s == a:
        return 0.5 * ((Z[aa][l] + Z[ab][l]) + (Z[ba][l] + Z[bb][l]))
    if r == a and s == b:
        return 0.5 * ((Z[aa + 1][l] - Z[ab + 1][l]) + (Z[ba + 1][l] - Z[bb + 1][l]))
    if r == b and s == a:
        return 0.5 * ((Z[ba + 1][l] + Z[bb + 1][l]) - (Z[aa + 1][l] + Z[ab + 1][l]))
    if r == b and s == b:
        return 0.5 * ((Z[aa][l] - Z[ab][l]) + (Z[bb][l] - Z[ba][l]))
    if r == a:
        return 0.5 * (Z[ac][l] + Z[bc][l])
    if r == b:
        return 0.5 * (Z[bc + 1][l] - Z[ac + 1][l])
    if s == a:
        return Z[ca][l] + Z[cb][l]
    if s == b:
        return Z[ca + 1][l] - Z[cb + 1][l]
    return Z[cc][l]


cdef inline void _real_part3(double Z[][LANES], const double* p0, const double* p1, int r,
                             int s, double K[][LANES]) noexcept nogil:
    # K_rs, K = Re(T^{-H} Z T^H) lane by lane: the pair's formula where p0
    # or p1, Re Z_rs where every column is real (T = I)
    cdef int l
    for l in range(LANES):
        K[3 * r + s][l] = (_kpair(Z, 0, 1, r, s, l) if p0[l] != 0.0 else
                           (_kpair(Z, 1, 2, r, s, l) if p1[l] != 0.0 else Z[2 * (3 * r + s)][l]))


cdef inline void _sandwich3(double C[][LANES], double K[][LANES], double vr[][LANES], int a,
                            double R[][LANES]) noexcept nogil:
    # row a of R = (C K) vr^T, the row of C K kept in registers
    cdef int l
    cdef double q0, q1, q2
    for l in range(LANES):
        q0 = C[3 * a][l] * K[0][l] + C[3 * a + 1][l] * K[3][l] + C[3 * a + 2][l] * K[6][l]
        q1 = C[3 * a][l] * K[1][l] + C[3 * a + 1][l] * K[4][l] + C[3 * a + 2][l] * K[7][l]
        q2 = C[3 * a][l] * K[2][l] + C[3 * a + 1][l] * K[5][l] + C[3 * a + 2][l] * K[8][l]
        R[3 * a][l] = q0 * vr[0][l] + q1 * vr[1][l] + q2 * vr[2][l]
        R[3 * a + 1][l] = q0 * vr[3][l] + q1 * vr[4][l] + q2 * vr[5][l]
        R[3 * a + 2][l] = q0 * vr[6][l] + q1 * vr[7][l] + q2 * vr[8][l]


cdef void _eig3_finish(double Z[][LANES], const double* p0, const double* p1, double C[][LANES],
                       double vr[][LANES], double* out) noexcept nogil:
    # out = A_bar = (C K) Vr^T, K = Re(T^{-H} Z T^H) (one entry a call:
    # constant arguments, a loop over them would not vectorise). A function
    # of its own, as _eig3_projections, with K and R its locals: with K the
    # caller's, the compiler tested at run time whether K overlapped Z
    # (1.6 ns of 24.7 a matrix)
    cdef double K[9][LANES]
    cdef double R[9][LANES]
    _real_part3(Z, p0, p1, 0, 0, K)
    _real_part3(Z, p0, p1, 0, 1, K)
    _real_part3(Z, p0, p1, 0, 2, K)
    _real_part3(Z, p0, p1, 1, 0, K)
    _real_part3(Z, p0, p1, 1, 1, K)
    _real_part3(Z, p0, p1, 1, 2, K)
    _real_part3(Z, p0, p1, 2, 0, K)
    _real_part3(Z, p0, p1, 2, 1, K)
    _real_part3(Z, p0, p1, 2, 2, K)
    _sandwich3(C, K, vr, 0, R)
    _sandwich3(C, K, vr, 1, R)
    _sandwich3(C, K, vr, 2, R)
    _unlanes9(R, out)


cdef int[4] _EIG3_SIZE = [18, 6, 6, 18]


cdef int _eig3(void* ctx, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
               char* work, ErrInfo* e, variant_t* tag) noexcept nogil:
    # src: V, w, dw, dV (complex, interleaved; dw NULL-able, dV given in the
    # full_t version)
    cdef bint vec = variant_t is full_t
    cdef EigCtx* c = <EigCtx*> ctx
    cdef int i, l
    cdef double v[18][LANES]
    cdef double w[6][LANES]
    cdef double gw[6][LANES]
    cdef double g[18][LANES]
    cdef double vr[9][LANES]
    cdef double C[9][LANES]
    cdef double Z[18][LANES]
    cdef double p0[LANES]
    cdef double p1[LANES]
    cdef double sc[LANES]
    cdef double bad[LANES]
    cdef double lim2[LANES]
    cdef double acc[LANES]
    cdef double det
    cdef double lim = c.cond_max if c.cond_max < _EIG3_COND else _EIG3_COND
    # the next block's lines (a block of matrices of k doubles spans k
    # lines) are fetched while this one computes, a part between each stage
    # (one burst of them at the start was no faster); this block's again
    # where the next is not whole (no branch)
    cdef Py_ssize_t nxt = LANES if b0 + 2 * LANES <= c.B else 0

    _lanes(src[0], 18, v)
    _lanes(src[1], 6, w)
    _lanes(_given(src[2]), 6, gw)
    if vec:
        _lanes(src[3], 18, g)
    lanes_prefetch(src[0] + nxt * 18, 0, 9)
    lanes_prefetch(src[1] + nxt * 6, 0, 6)
    lanes_prefetch(_given(src[2]) + nxt * 6, 0, 6)
    if c.check_finite:
        for l in range(LANES):
            acc[l] = 0.0
        _finite_acc(gw, 6, acc)
        if vec:
            _finite_acc(g, 18, acc)
        if lanes_any(acc):
            return _report_nonfinite(src, _EIG3_SIZE, 2, 4, b0, nb, e)

    # Vr and its cofactors C (Vr^{-T} = C / det Vr), sc = 1 / det Vr, and
    # the bound on cond(Vr): its columns are parts of unit vectors, so each
    # cofactor is at most 1 (Hadamard), ||Vr^{-1}|| <= 3 / |det| and, with
    # ||Vr|| <= 3, cond(Vr) <= 9 / |det Vr|
    for l in range(LANES):
        p0[l] = 1.0 if w[1][l] > 0.0 else 0.0           # Im w_0 > 0: a pair in 0, 1
        p1[l] = 1.0 if w[3][l] > 0.0 else 0.0           # Im w_1 > 0: in 1, 2
    _real_basis3(v, p0, p1, vr)
    _rcofactor3(vr, 0, 0, C)              # one call per entry: a loop over them
    _rcofactor3(vr, 0, 1, C)              # would not vectorise
    _rcofactor3(vr, 0, 2, C)
    _rcofactor3(vr, 1, 0, C)
    _rcofactor3(vr, 1, 1, C)
    _rcofactor3(vr, 1, 2, C)
    _rcofactor3(vr, 2, 0, C)
    _rcofactor3(vr, 2, 1, C)
    _rcofactor3(vr, 2, 2, C)
    for l in range(LANES):
        det = vr[0][l] * C[0][l] + vr[1][l] * C[1][l] + vr[2][l] * C[2][l]
        bad[l] = 0.0 if 81.0 <= lim * lim * (det * det) else 1.0      # nan: handed over too
        sc[l] = 1.0 / det
    lanes_prefetch(src[0] + nxt * 18, 9, 9)

    # Z = V^H dV', scaled by sc / conj(w_j - w_i) off the diagonal (zero
    # without vectors), sc dw on it after the hand-over test
    if vec:
        if not c.lapack_norm:
            for l in range(LANES):
                lim2[l] = c.pol.gauge_tol * c.pol.gauge_tol * _max3(
                    g[0][l] * g[0][l] + g[1][l] * g[1][l] + g[6][l] * g[6][l] + g[7][l] * g[7][l]
                    + g[12][l] * g[12][l] + g[13][l] * g[13][l],
                    g[2][l] * g[2][l] + g[3][l] * g[3][l] + g[8][l] * g[8][l] + g[9][l] * g[9][l]
                    + g[14][l] * g[14][l] + g[15][l] * g[15][l],
                    g[4][l] * g[4][l] + g[5][l] * g[5][l] + g[10][l] * g[10][l] + g[11][l] * g[11][l]
                    + g[16][l] * g[16][l] + g[17][l] * g[17][l])
        _eig3_projections(v, g, c.lapack_norm, lim2, bad)
        lanes_prefetch(src[3] + nxt * 18, 0, 9)
        for l in range(LANES):
            # make_gap's tol^2 with room for its rounding (no sqrt: a flag
            # at the margin only hands the block over)
            lim2[l] = c.pol.rtol * c.pol.rtol * (1.0 + 1e-12) * _max3(
                w[0][l] * w[0][l] + w[1][l] * w[1][l], w[2][l] * w[2][l] + w[3][l] * w[3][l],
                w[4][l] * w[4][l] + w[5][l] * w[5][l])
        _eig3_pairs(v, g, w, lim2, c.pol.mode != EXACT, sc, Z, bad)
        lanes_prefetch(src[3] + nxt * 18, 9, 9)
    else:
        for i in range(18):
            for l in range(LANES):
                Z[i][l] = 0.0             # its diagonal is written below
    if lanes_any(bad):
        return _one_by_one(c.one, c, b0, nb, work, e)
    for i in range(3):
        for l in range(LANES):
            Z[8 * i][l] = gw[2 * i][l] * sc[l]
            Z[8 * i + 1][l] = gw[2 * i + 1][l] * sc[l]
    _eig3_finish(Z, p0, p1, C, vr, out)                 # A_bar = Vr^{-T} K Vr^T
    return OK


cdef int _eig3_vectors(void* c, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
                       char* work, ErrInfo* e) noexcept nogil:
    return _eig3(c, src, out, b0, nb, work, e, <full_t*> NULL)


cdef int _eig3_values(void* c, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
                      char* work, ErrInfo* e) noexcept nogil:
    return _eig3(c, src, out, b0, nb, work, e, <part_t*> NULL)


cdef int _eig3_vjp_blocks(void* ctx, Py_ssize_t blk, char* work, ErrInfo* e) noexcept nogil:
    cdef EigCtx* c = <EigCtx*> ctx
    cdef Py_ssize_t b0 = blk * LANES
    cdef const double* src[4]
    src[0] = (<const double*> c.V) + b0 * 18
    src[1] = (<const double*> c.w) + b0 * 6
    src[2] = NULL if c.gw == NULL else (<const double*> c.gw) + b0 * 6
    src[3] = NULL if c.g1 == NULL else (<const double*> c.g1) + b0 * 18
    return _block(_eig3_vectors if c.g1 != NULL else _eig3_values,
                  c, c.B, blk, 4, src, _EIG3_SIZE, (<double*> c.out) + b0 * 9, work, e)


cdef bint eig3_fast(int t, int n, const Policy* pol):
    return (t == cnp.NPY_COMPLEX128 and n == 3
            and (pol.mode == STRICT or pol.mode == EXACT or pol.mode == SUBSPACE))
