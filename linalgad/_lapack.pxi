# The LAPACK-level helpers of eigh, eig and funm, included once by the core.
# Not in _blas.pxd, whose functions are inline: inlined into every kernel,
# these made the small-matrix loops of the eigh pullback slower (the asv
# batch benchmark of 16x16 matrices).
#
#   herk_lower(n, k, alpha, A, lda, beta, C)      lower(C) = alpha A A^H + beta lower(C)
#   her2k_lower(n, k, A, lda, B, ldb, C, ldc)     lower(C) = A B^H + B A^H
#   lower_plus_adjoint(n, Y)                      lower(Y) = lower(Y + Y^H)
#   trmm_lower_right(m, k, L, ldl, W, ldw)        W = W tril(L)      (W is m x k)
#   trmm_lower_right_blocked(...)                 the same, off-diagonal blocks as GEMMs
#   getrf_ / getrs_right / gecon_inf              LU of V^T, right solves, rcond
#
# "lower(C)" is the row-major lower triangle, diagonal included; the strict
# upper triangle is not touched.

cdef void herk_lower(int n, int k, double alpha, const scalar_t* A, int lda,
                     double beta, scalar_t* C) noexcept nogil:
    # Fortran sees A as A^T (k x n): C^T = alpha (A^T)^H (A^T) ('C' form),
    # whose Fortran upper triangle is the row-major lower triangle of C.
    cdef char u = c'U', t = c'C'
    cdef float fa = <float> alpha, fb = <float> beta
    if n <= 0:
        return
    if scalar_t is float:
        t = c'T'
        blas.ssyrk(&u, &t, &n, &k, &fa, <float*> A, &lda, &fb, C, &n)
    elif scalar_t is double:
        t = c'T'
        blas.dsyrk(&u, &t, &n, &k, &alpha, <double*> A, &lda, &beta, C, &n)
    elif scalar_t is cfloat_t:
        blas.cherk(&u, &t, &n, &k, &fa, <blas.c*> A, &lda, &fb, <blas.c*> C, &n)
    else:
        blas.zherk(&u, &t, &n, &k, &alpha, <blas.z*> A, &lda, &beta, <blas.z*> C, &n)


cdef void her2k_lower(int n, int k, const scalar_t* A, int lda, const scalar_t* B, int ldb,
                      scalar_t* C, int ldc) noexcept nogil:
    # C^T = (A^T)^H B^T + (B^T)^H A^T = (B A^H + A B^H)^T, upper in Fortran.
    cdef char u = c'U', t = c'C'
    cdef scalar_t one = 1, zero = 0
    cdef float fz = 0.0
    cdef double dz = 0.0
    if n <= 0:
        return
    if scalar_t is float:
        t = c'T'
        blas.ssyr2k(&u, &t, &n, &k, &one, <float*> A, &lda, <float*> B, &ldb, &zero, C, &ldc)
    elif scalar_t is double:
        t = c'T'
        blas.dsyr2k(&u, &t, &n, &k, &one, <double*> A, &lda, <double*> B, &ldb, &zero, C, &ldc)
    elif scalar_t is cfloat_t:
        blas.cher2k(&u, &t, &n, &k, <blas.c*> &one, <blas.c*> A, &lda, <blas.c*> B, &ldb,
                    &fz, <blas.c*> C, &ldc)
    else:
        blas.zher2k(&u, &t, &n, &k, <blas.z*> &one, <blas.z*> A, &lda, <blas.z*> B, &ldb,
                    &dz, <blas.z*> C, &ldc)


cdef enum:
    HER2K_BLOCK = 192   # above this OpenBLAS's syr2k and trmm run well below GEMM speed


cdef void lower_plus_adjoint(int n, scalar_t* Y) noexcept nogil:
    """lower(Y) := lower(Y + Y^H), 32 x 32 tile by tile (Y_ji is a column
    read); the upper triangle is read, never written. With Y = W V^H it is
    her2k's lower(W V^H + V W^H): one GEMM and this O(n^2) pass ran faster
    than syr2k, even split into GEMMs, above HER2K_BLOCK."""
    cdef int ib, jb, ie, je, i, j
    for ib in range(0, n, 32):
        ie = ib + 32 if ib + 32 < n else n
        for jb in range(0, ib + 1, 32):
            je = jb + 32 if jb + 32 < n else n
            for i in range(ib, ie):
                for j in range(jb, je if je < i + 1 else i + 1):
                    Y[i * n + j] = Y[i * n + j] + conj_(Y[j * n + i])


cdef void trmm_lower_right(int m, int k, const scalar_t* L, int ldl, scalar_t* W, int ldw) noexcept nogil:
    # W (m x k) := W tril(L) (L k x k). Fortran: W^T := (L^T) W^T, and the
    # row-major lower triangle of L is the Fortran upper triangle of L^T.
    cdef char side = c'L', u = c'U', t = c'N', d = c'N'
    cdef scalar_t one = 1
    if m <= 0 or k <= 0:
        return
    if scalar_t is float:
        blas.strmm(&side, &u, &t, &d, &k, &m, &one, <float*> L, &ldl, W, &ldw)
    elif scalar_t is double:
        blas.dtrmm(&side, &u, &t, &d, &k, &m, &one, <double*> L, &ldl, W, &ldw)
    elif scalar_t is cfloat_t:
        blas.ctrmm(&side, &u, &t, &d, &k, &m, <blas.c*> &one, <blas.c*> L, &ldl, <blas.c*> W, &ldw)
    else:
        blas.ztrmm(&side, &u, &t, &d, &k, &m, <blas.z*> &one, <blas.z*> L, &ldl, <blas.z*> W, &ldw)


cdef void trmm_lower_right_blocked(int m, int k, const scalar_t* L, int ldl, scalar_t* W,
                                   int ldw) noexcept nogil:
    """W := W tril(L), recursively split above HER2K_BLOCK columns so the
    off-diagonal block is a GEMM (OpenBLAS's trmm kernel is not the tuned one):
    [W1 W2] [L11 0; L21 L22] = [W1 L11 + W2 L21, W2 L22], W2 updated last."""
    cdef int k1, k2
    cdef scalar_t one = 1
    if k <= HER2K_BLOCK:
        trmm_lower_right(m, k, L, ldl, W, ldw)
        return
    k1 = (k // 2 + 31) // 32 * 32
    k2 = k - k1
    trmm_lower_right_blocked(m, k1, L, ldl, W, ldw)
    gemm(c'N', c'N', m, k1, k2, one, W + k1, ldw, L + k1 * ldl, ldl, one, W, ldw)
    trmm_lower_right_blocked(m, k2, L + k1 * ldl + k1, ldl, W + k1, ldw)


cdef int getrf_(int n, scalar_t* LU, int* ipiv) noexcept nogil:
    # LU factorisation of the row-major buffer, i.e. of the column-major
    # matrix V^T when LU holds V. Returns LAPACK's info.
    cdef int info = 0
    if scalar_t is float:
        lapack.sgetrf(&n, &n, LU, &n, ipiv, &info)
    elif scalar_t is double:
        lapack.dgetrf(&n, &n, LU, &n, ipiv, &info)
    elif scalar_t is cfloat_t:
        lapack.cgetrf(&n, &n, <lapack.c*> LU, &n, ipiv, &info)
    else:
        lapack.zgetrf(&n, &n, <lapack.z*> LU, &n, ipiv, &info)
    return info


cdef int getrs_right(char trans, int n, int nrhs, const scalar_t* LU, const int* ipiv,
                     scalar_t* X) noexcept nogil:
    # With LU = getrf_ of a buffer holding V (row-major), and X a row-major
    # nrhs x n block: trans 'N' gives X := X V^{-1}, 'T' gives X := X V^{-T},
    # 'C' gives X := X V^{-H} (Fortran solves op(V^T) X^T = X^T).
    cdef int info = 0
    if scalar_t is float:
        lapack.sgetrs(&trans, &n, &nrhs, <float*> LU, &n, <int*> ipiv, X, &n, &info)
    elif scalar_t is double:
        lapack.dgetrs(&trans, &n, &nrhs, <double*> LU, &n, <int*> ipiv, X, &n, &info)
    elif scalar_t is cfloat_t:
        lapack.cgetrs(&trans, &n, &nrhs, <lapack.c*> LU, &n, <int*> ipiv, <lapack.c*> X, &n, &info)
    else:
        lapack.zgetrs(&trans, &n, &nrhs, <lapack.z*> LU, &n, <int*> ipiv, <lapack.z*> X, &n, &info)
    return info


cdef double gecon_inf(int n, const scalar_t* V, const scalar_t* LU, char* work) noexcept nogil:
    # Estimated infinity-norm condition number of V (row-major), from the LU
    # of V^T (= 1-norm condition of V^T). work: gecon_ws(n) bytes, aligned.
    cdef char nrm = c'1'
    cdef int info = 0, i, j
    cdef double anorm = 0.0, row, rcond = 0.0
    cdef float fanorm, frcond = 0.0
    cdef scalar_t* sw = <scalar_t*> work
    cdef double* dw = <double*> (sw + 4 * n)
    cdef int* iw = <int*> (dw + 2 * n)
    for i in range(n):
        row = 0.0
        for j in range(n):
            row += abs_(V[i * n + j])
        if row > anorm:
            anorm = row
    fanorm = <float> anorm
    if scalar_t is float:
        lapack.sgecon(&nrm, &n, <float*> LU, &n, &fanorm, &frcond, <float*> sw, iw, &info)
        rcond = frcond
    elif scalar_t is double:
        lapack.dgecon(&nrm, &n, <double*> LU, &n, &anorm, &rcond, <double*> sw, iw, &info)
    elif scalar_t is cfloat_t:
        lapack.cgecon(&nrm, &n, <lapack.c*> LU, &n, &fanorm, &frcond, <lapack.c*> sw, <float*> dw, &info)
        rcond = frcond
    else:
        lapack.zgecon(&nrm, &n, <lapack.z*> LU, &n, &anorm, &rcond, <lapack.z*> sw, dw, &info)
    if rcond <= 0.0:
        return INFINITY
    return 1.0 / rcond
