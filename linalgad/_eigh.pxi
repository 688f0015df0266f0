# Hermitian eigendecomposition A = V diag(w) V^H (w ascending): the hot
# loops of rules/eigh.py, and the Hermitian "sandwich" helpers that
# _funm.pxi reuses. The math, with these symbols, is in docs/eigh.md.
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


cdef inline bint _vtouched(signed char* t, int n, const scalar_t* gV, int i) noexcept nogil:
    # does the cotangent touch eigenvector i? (exact zero test)
    if t[i] < 0:
        t[i] = col_nonzero(n, gV, n, i)
    return t[i] > 0


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
                    if fa:
                        if pol.mode == STRICT:
                            if _vtouched(touched, n, gV, i) or _vtouched(touched, n, gV, j):
                                return set_err(e, E_DEGENERATE, j, i, w[j], w[i], fabs(w[i] - w[j]), g.tol)
                        elif abs_(x) > glim:     # subspace: the block must be span-only
                            return set_err(e, E_GAUGE_BLOCK, j, i, w[j], w[i], abs_(x), glim)
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
            if fa and abs_(R[i * n + j]) > glim:
                if pol.mode == STRICT:
                    return set_err(e, E_DEGENERATE, i if i < j else j, j if i < j else i,
                                   w[i], w[j], fabs(w[i] - w[j]), g.tol)
            R[i * n + j] = f * R[i * n + j]           # C, in place
    gemm(c'N', c'N', n, n, n, one, V, n, R, n, zero, dV, n)
    return OK


# --- per-matrix adapters ------------------------------------------------------------

cdef struct EighCtx:
    Py_ssize_t B
    int n
    int tri
    void* V
    double* w
    double* gw      # vjp: dw (n) or NULL | jvp: out dw (n) | funm: D (n x n)
    void* g1        # vjp: dV or NULL | jvp: dA | funm: G
    void* out       # vjp/funm: (n x n) | jvp: out dV
    int tri2        # funm: how to finish the output
    bint check_finite   # vjp, 3x3 lanes: the kernel checks the cotangents it loads
    item_fn one     # 3x3 lanes: the general kernel for one matrix (degenerate lanes)
    Policy pol


cdef inline int _eigh_vjp_item(EighCtx* c, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef Py_ssize_t n = c.n
    return eigh_vjp_kernel(c.n, (<scalar_t*> c.V) + b * n * n, c.w + b * n,
                           NULL if c.gw == NULL else c.gw + b * n,
                           NULL if c.g1 == NULL else (<scalar_t*> c.g1) + b * n * n,
                           (<scalar_t*> c.out) + b * n * n, c.tri, w, &c.pol, e)


cdef inline int _eigh_jvp_item(EighCtx* c, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef Py_ssize_t n = c.n
    return eigh_jvp_kernel(c.n, (<scalar_t*> c.V) + b * n * n, c.w + b * n,
                           (<scalar_t*> c.g1) + b * n * n, c.gw + b * n,
                           (<scalar_t*> c.out) + b * n * n, c.tri, w, &c.pol, e)


cdef int _eigh_vjp_f(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eigh_vjp_item(<EighCtx*> c, b, w, e, <float*> NULL)
cdef int _eigh_vjp_d(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eigh_vjp_item(<EighCtx*> c, b, w, e, <double*> NULL)
cdef int _eigh_vjp_c(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eigh_vjp_item(<EighCtx*> c, b, w, e, <cfloat_t*> NULL)
cdef int _eigh_vjp_z(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eigh_vjp_item(<EighCtx*> c, b, w, e, <cdouble_t*> NULL)

cdef int _eigh_jvp_f(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eigh_jvp_item(<EighCtx*> c, b, w, e, <float*> NULL)
cdef int _eigh_jvp_d(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eigh_jvp_item(<EighCtx*> c, b, w, e, <double*> NULL)
cdef int _eigh_jvp_c(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eigh_jvp_item(<EighCtx*> c, b, w, e, <cfloat_t*> NULL)
cdef int _eigh_jvp_z(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _eigh_jvp_item(<EighCtx*> c, b, w, e, <cdouble_t*> NULL)


# --- def entry points ---------------------------------------------------------------

cdef EighCtx _eigh_ctx(cnp.ndarray V, cnp.ndarray w, int tri, tuple policy) except *:
    cdef EighCtx c
    check_stack(V, "V", 3)
    check_real(w, "w", 2)
    if V.shape[1] != V.shape[2] or w.shape[0] != V.shape[0] or w.shape[1] != V.shape[1]:
        raise ValueError("inconsistent eigh factors")
    if tri < 0 or tri > 2:
        raise ValueError("tri must be 0, 1 or 2")
    check_index_range(V.shape[1] * V.shape[1], "eigh")
    c.B = V.shape[0]
    c.n = <int> V.shape[1]
    c.tri = tri
    c.check_finite = False
    c.tri2 = TRI_HERM
    c.V = cnp.PyArray_DATA(V)
    c.w = <double*> cnp.PyArray_DATA(w)
    c.gw = NULL
    c.g1 = c.out = NULL
    c.pol = read_policy(policy)
    return c


def eigh_vjp(cnp.ndarray V, cnp.ndarray w, object gw, object gV, cnp.ndarray out,
             int tri, tuple policy, int nthreads=1, bint check_finite=True):
    """Pullback of a stack of eigh: V (B,n,n), w (B,n) float64 ascending; gw
    (B,n) float64 or None, gV (B,n,n) or None; out (B,n,n). tri: 0 Hermitian
    part, 1 lower triangle read, 2 upper. check_finite: refuse a cotangent
    holding inf or nan (ValueError naming it). Returns None or an error tuple."""
    cdef EighCtx c = _eigh_ctx(V, w, tri, policy)
    cdef int t = cnp.PyArray_TYPE(V)
    cdef Py_ssize_t B = V.shape[0]
    cdef size_t wb = ws_bytes(eigh_ws(c.n, itemsize(t), True).total, "eigh_vjp")
    check_like(out, V, "out", B, c.n, c.n)
    if gw is not None:
        check_real(gw, "dw", 2)
        if gw.shape[0] != B or gw.shape[1] != c.n:
            raise ValueError("dw has the wrong shape")
        c.gw = <double*> cnp.PyArray_DATA(<cnp.ndarray> gw)
    if gV is not None:
        check_like(gV, V, "dV", B, c.n, c.n)
        c.g1 = cnp.PyArray_DATA(<cnp.ndarray> gV)
    c.out = cnp.PyArray_DATA(out)
    cdef item_fn fn = pick(t, _eigh_vjp_f, _eigh_vjp_d, _eigh_vjp_c, _eigh_vjp_z)
    return run_entry(fn, _eigh3_vjp_blocks if eigh3_fast(t, c.n, &c.pol) else <item_fn> NULL,
                     &c, &c.check_finite, &c.one, B, wb, nthreads, (gw, gV),
                     ("dw", "dV") if check_finite else None)


def eigh_jvp(cnp.ndarray V, cnp.ndarray w, cnp.ndarray dA, cnp.ndarray dw, cnp.ndarray dV,
             int tri, tuple policy, int nthreads=1):
    """Pushforward of a stack of eigh along the raw tangent dA (B,n,n), read
    as `tri` says, into dw (B,n) float64 and dV (B,n,n). Returns None or an
    error tuple."""
    cdef EighCtx c = _eigh_ctx(V, w, tri, policy)
    cdef ErrInfo e
    cdef int t = cnp.PyArray_TYPE(V)
    cdef Py_ssize_t B = V.shape[0]
    cdef size_t wb = ws_bytes(eigh_ws(c.n, itemsize(t), False).total, "eigh_jvp")
    check_like(dA, V, "dA", B, c.n, c.n)
    check_like(dV, V, "dV", B, c.n, c.n)
    check_real(dw, "dw", 2)
    if dw.shape[0] != B or dw.shape[1] != c.n:
        raise ValueError("dw has the wrong shape")
    c.g1 = cnp.PyArray_DATA(dA)
    c.gw = <double*> cnp.PyArray_DATA(dw)
    c.out = cnp.PyArray_DATA(dV)
    cdef item_fn fn = pick(t, _eigh_jvp_f, _eigh_jvp_d, _eigh_jvp_c, _eigh_jvp_z)
    with nogil:
        run_batch(fn, &c, B, wb, nthreads, &e)
    return err_tuple(&e)
