# Functions of a Hermitian matrix, f(A) = V diag(f(w)) V^H: the
# Daleckii-Krein map of rules/funm.py (the math is in docs/funm.md).
#
#   out = V (D o (V^H H V)) V^H,   D_ij = f[w_i, w_j] (first divided
#   differences, D_ii = f'(w_i), computed by linalgad/_divdiff.py)
#
# The map is self-adjoint, so one kernel serves both modes:
#   VJP: H = herm(F_bar) (tri_in = TRI_HERM), output finished for the
#        input's uplo (tri_out);
#   JVP: H = the tangent read as uplo says (tri_in), output the full
#        Hermitian dF (tri_out = TRI_HERM).
# Exact at any degeneracy: no 1/gap is ever formed.
# Cost: 2 GEMMs (V^H H V) + trmm + her2k (1.5) = 3.5 GEMMs; workspace n^2
# (the output buffer doubles as the scratch of both GEMM stages).


cdef int funm_kernel(int n, const scalar_t* V, const double* D, const scalar_t* G,
                     scalar_t* out, int tri_in, int tri_out, char* work,
                     const Policy* pol, ErrInfo* e) noexcept nogil:
    cdef scalar_t* R = <scalar_t*> (work + eigh_ws(n, sizeof(scalar_t), False).K)  # H, V^H H V, D o (.), lower(out)
    cdef int i, j
    if n == 0:
        return OK
    hermitise(n, G, R, tri_in)
    project_inplace(n, V, R, out)            # the output buffer as scratch
    for i in range(n):
        for j in range(n):
            R[i * n + j] = D[i * n + j] * R[i * n + j]
    sandwich_lower(n, V, R, out, R)
    tri_finish_from(n, R, out, tri_out)
    return OK


cdef inline int _funm_item(EighCtx* c, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef Py_ssize_t n = c.n
    return funm_kernel(c.n, (<scalar_t*> c.V) + b * n * n, c.gw + b * n * n,
                       (<scalar_t*> c.g1) + b * n * n, (<scalar_t*> c.out) + b * n * n,
                       c.tri, c.tri2, w, &c.pol, e)


cdef int _funm_f(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _funm_item(<EighCtx*> c, b, w, e, <float*> NULL)
cdef int _funm_d(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _funm_item(<EighCtx*> c, b, w, e, <double*> NULL)
cdef int _funm_c(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _funm_item(<EighCtx*> c, b, w, e, <cfloat_t*> NULL)
cdef int _funm_z(void* c, Py_ssize_t b, char* w, ErrInfo* e) noexcept nogil:
    return _funm_item(<EighCtx*> c, b, w, e, <cdouble_t*> NULL)


def funm_apply(cnp.ndarray V, cnp.ndarray w, cnp.ndarray D, cnp.ndarray G, cnp.ndarray out,
               int tri_in, int tri_out, tuple policy, int nthreads=1, str check_finite=None):
    """Daleckii-Krein map of a stack: V (B,n,n), w (B,n) float64, D (B,n,n)
    float64 divided differences, G (B,n,n) read as tri_in says; out (B,n,n)
    finished as tri_out says (0 Hermitian, 1 lower, 2 upper). check_finite:
    the name of G, to refuse inf or nan in it (ValueError naming it)."""
    cdef EighCtx c = _eigh_ctx(V, w, tri_in, policy)
    cdef int t = cnp.PyArray_TYPE(V)
    cdef Py_ssize_t B = V.shape[0]
    cdef size_t wb = ws_bytes(eigh_ws(c.n, itemsize(t), False).total, "funm_apply")
    if tri_out < 0 or tri_out > 2:
        raise ValueError("tri_out must be 0, 1 or 2")
    check_real(D, "D", 3)
    if D.shape[0] != B or D.shape[1] != c.n or D.shape[2] != c.n:
        raise ValueError("D has the wrong shape")
    check_like(G, V, "G", B, c.n, c.n)
    check_like(out, V, "out", B, c.n, c.n)
    c.tri2 = tri_out
    c.gw = <double*> cnp.PyArray_DATA(D)
    c.g1 = cnp.PyArray_DATA(G)
    c.out = cnp.PyArray_DATA(out)
    cdef item_fn fn = pick(t, _funm_f, _funm_d, _funm_c, _funm_z)
    return run_entry(fn, _funm3_blocks if funm3_fast(t, c.n) else <item_fn> NULL, &c, &c.check_finite,
                     &c.one, B, wb, nthreads, (G,), None if check_finite is None else (check_finite,))
