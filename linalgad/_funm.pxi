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
#
# Sections: context, general kernel, the 3x3 lane kernel, entry point.


cdef struct Funm:
    Batch batch
    int n, tri_in, tri_out
    const void* V
    const double* D     # n x n divided differences
    const void* G       # n x n, read as tri_in says
    void* out           # n x n, finished as tri_out says


cdef int funm_kernel(int n, const scalar_t* V, const double* D, const scalar_t* G,
                     scalar_t* out, int tri_in, int tri_out, char* work, ErrInfo* e) noexcept nogil:
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

# --- 3x3 float64, LANES matrices at a time (_lanes.pxi) ---------------------------------
#
# funm_kernel for a real matrix: H = G read as tri_in says,
# out = V (D o (V^T H V)) V^T finished for tri_out; no 1/gap, so no lane is
# ever handed over.

cdef int[3] _FUNM3_SIZE = [9, 9, 9]


cdef int _funm3(void* ctx, const double** src, double* out, Py_ssize_t b0, Py_ssize_t nb,
                char* work, ErrInfo* e, variant_t* tag) noexcept nogil:
    # src: V, D (the divided differences), G of LANES matrices
    cdef Funm* c = <Funm*> ctx
    cdef int i, j, l
    cdef double v[9][LANES]
    cdef double d[9][LANES]
    cdef double g[9][LANES]
    cdef double H[9][LANES]
    cdef double R[9][LANES]
    cdef double acc[LANES]
    cdef double x, wl
    cdef bint use_l, use_u
    _lanes(src[0], 9, v)
    _lanes(src[1], 9, d)
    _lanes(src[2], 9, g)
    if c.batch.check_finite:
        for l in range(LANES):
            acc[l] = 0.0
        _finite_acc(g, 9, acc)
        if lanes_any(acc):
            return _report_nonfinite(src, _FUNM3_SIZE, 2, 3, b0, nb, e)
    # H: the symmetric matrix G stands for (hermitise), one weighted sum for
    # every tri (a branch per tri would keep H in memory); the triangle not
    # read is selected away, not multiplied by 0, so an inf there stays out
    wl = 0.5 if c.tri_in == TRI_HERM else 1.0
    use_l = c.tri_in != TRI_UPPER
    use_u = c.tri_in != TRI_LOWER
    for i in range(3):
        for l in range(LANES):
            H[i * 4][l] = g[i * 4][l]
        for j in range(i):
            for l in range(LANES):
                x = wl * ((g[i * 3 + j][l] if use_l else 0.0) + (g[j * 3 + i][l] if use_u else 0.0))
                H[i * 3 + j][l] = x
                H[j * 3 + i][l] = x
    _product3(v, True, H, False, R)           # V^T H
    _sym_product3(R, v, False, TRI_HERM, H)   # (V^T H) V
    for i in range(9):
        for l in range(LANES):
            H[i][l] = d[i][l] * H[i][l]       # C = D o R
    _product3(v, False, H, False, R)          # V C
    _sym_product3(R, v, True, c.tri_out, H)      # (V C) V^T, for the triangle written
    _unlanes9(H, out)
    return OK


cdef int funm3_blocks(void* ctx, Py_ssize_t blk, char* work, ErrInfo* e, double* tag) noexcept nogil:
    cdef Funm* c = <Funm*> ctx
    cdef Py_ssize_t b0 = blk * LANES
    cdef const double* src[3]
    src[0] = (<const double*> c.V) + b0 * 9
    src[1] = c.D + b0 * 9
    src[2] = (<const double*> c.G) + b0 * 9
    return _block(_funm3[part_t], &c.batch, c, blk, 3, src, _FUNM3_SIZE, (<double*> c.out) + b0 * 9, work, e)


# --- one matrix of a batch -------------------------------------------------------------

cdef int funm_item(void* ctx, Py_ssize_t b, char* w, ErrInfo* e, scalar_t* tag) noexcept nogil:
    cdef Funm* c = <Funm*> ctx
    cdef Py_ssize_t n = c.n
    return funm_kernel(c.n, (<const scalar_t*> c.V) + b * n * n, c.D + b * n * n,
                       (<const scalar_t*> c.G) + b * n * n, (<scalar_t*> c.out) + b * n * n,
                       c.tri_in, c.tri_out, w, e)


# --- entry point --------------------------------------------------------------------------

def funm_apply(const scalar_t[:, :, ::1] V, const double[:, ::1] w, const double[:, :, ::1] D,
               const scalar_t[:, :, ::1] G, scalar_t[:, :, ::1] out, int tri_in, int tri_out,
               int nthreads=1, str check_finite=None):
    """Daleckii-Krein map of a stack: V (B,n,n), w (B,n) float64, D (B,n,n)
    float64 divided differences, G (B,n,n) read as tri_in says; out (B,n,n)
    finished as tri_out says (0 Hermitian, 1 lower, 2 upper). No 1/gap is
    formed, so no degeneracy policy applies. check_finite: the name of G, to
    refuse inf or nan in it (ValueError naming it)."""
    cdef Funm c
    cdef size_t al = real_size(<scalar_t*> NULL)
    eigh_factors(V, w, tri_in)
    if tri_out < 0 or tri_out > 2:
        raise ValueError("tri_out must be 0, 1 or 2")
    c.batch.B = V.shape[0]
    c.batch.one = funm_item[double]
    c.n, c.tri_in, c.tri_out = V.shape[1], tri_in, tri_out
    expect("D", D.shape, 3, c.batch.B, c.n, c.n, &D[0, 0, 0], sizeof(double))
    expect("G", G.shape, 3, c.batch.B, c.n, c.n, &G[0, 0, 0], al)
    expect("out", out.shape, 3, c.batch.B, c.n, c.n, &out[0, 0, 0], al)
    c.V, c.D, c.G, c.out = &V[0, 0, 0], &D[0, 0, 0], &G[0, 0, 0], &out[0, 0, 0]
    cdef size_t wb = ws_bytes(eigh_ws(c.n, sizeof(scalar_t), False).total, "funm_apply")
    cdef item_d lanes = NULL
    if scalar_t is double and c.n == 3:
        lanes = funm3_blocks
    elif check_finite is not None:
        finite(<const scalar_t*> c.G, c.batch.B * c.n * c.n, check_finite)
    return run_entry(funm_item[scalar_t], lanes, &c.batch, &c, wb, nthreads,
                     None if check_finite is None else (check_finite,))
