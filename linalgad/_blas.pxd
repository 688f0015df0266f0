# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: nonecheck=False, cpow=True
# The fused scalar type and the BLAS/LAPACK wrappers every kernel uses:
# cimported by the core (linalgad/_core.pyx), inlined where called.
#
# Arrays are NumPy's row-major (C order). A row-major m x n matrix is the
# column-major n x m matrix of its transpose, so a row-major product
# C = op(A) op(B) is the column-major product C^T = op(B)^T op(A)^T: the
# wrappers swap the operands instead of copying. 'C' means conjugate
# transpose for complex types and plain transpose for real ones.

from libc.math cimport fabs, fmax, sqrt, hypot, isfinite, INFINITY
from libc.stdlib cimport malloc, free
from libc.string cimport memset, memcpy
from scipy.linalg cimport cython_blas as blas
from scipy.linalg cimport cython_lapack as lapack

ctypedef float complex cfloat_t
ctypedef double complex cdouble_t

ctypedef fused scalar_t:
    float
    double
    cfloat_t
    cdouble_t


# --- scalar helpers (compile-time branches, no runtime cost) -------------------

cdef inline bint is_cplx(const scalar_t* tag) noexcept nogil:
    if scalar_t is float or scalar_t is double:
        return False
    return True


cdef inline scalar_t conj_(scalar_t x) noexcept nogil:
    if scalar_t is float or scalar_t is double:
        return x
    else:
        return x.conjugate()


cdef inline double re_(scalar_t x) noexcept nogil:
    if scalar_t is float or scalar_t is double:
        return x
    else:
        return x.real


cdef inline double im_(scalar_t x) noexcept nogil:
    if scalar_t is float or scalar_t is double:
        return 0.0
    else:
        return x.imag


cdef inline double abs2_(scalar_t x) noexcept nogil:
    if scalar_t is float or scalar_t is double:
        return x * x
    else:
        return x.real * x.real + x.imag * x.imag


cdef inline double abs_(scalar_t x) noexcept nogil:
    if scalar_t is float or scalar_t is double:
        return fabs(x)
    else:
        return hypot(x.real, x.imag)


cdef inline scalar_t mkc(const scalar_t* tag, double re, double im) noexcept nogil:
    """re + i*im as scalar_t (the imaginary part is dropped for real types)."""
    cdef scalar_t z
    if scalar_t is float or scalar_t is double:
        z = <scalar_t> re
    else:
        z = re
        z.imag = im
    return z


# --- GEMM ----------------------------------------------------------------------

# Below this many multiply-adds a plain loop beats the BLAS call overhead
# (the 3x3 and 8x8 batches of asv_bench/benchmarks/batch.py gain from it).
cdef enum:
    SMALL_GEMM = 4096


cdef inline scalar_t _opget(char t, const scalar_t* A, int ld, int r, int c) noexcept nogil:
    # element (r, c) of op(A) for row-major A with leading dimension ld
    if t == c'N':
        return A[r * ld + c]
    elif t == c'T':
        return A[c * ld + r]
    else:
        return conj_(A[c * ld + r])


cdef inline void _gemm_loop(char ta, char tb, int m, int n, int k, scalar_t alpha,
                     const scalar_t* A, int lda, const scalar_t* B, int ldb,
                     scalar_t beta, scalar_t* C, int ldc) noexcept nogil:
    # Dot-product form with the transposes resolved outside the loops: for
    # the 3x3..16x16 problems of a batch this beats both a BLAS call and an
    # axpy-form loop. 'C' is conjugate transpose ('T' for real types).
    cdef int i, j, p
    cdef scalar_t acc
    cdef bint ca = ta != c'N', cb = tb != c'N'
    cdef bint conj_a = ta == c'C', conj_b = tb == c'C'
    if scalar_t is float or scalar_t is double:
        conj_a = ca     # transpose == conjugate transpose for real data
        conj_b = cb
    if (ca and not conj_a) or (cb and not conj_b):
        # plain transpose of a complex operand: not used by the kernels
        for i in range(m):
            for j in range(n):
                acc = 0
                for p in range(k):
                    acc = acc + _opget(ta, A, lda, i, p) * _opget(tb, B, ldb, p, j)
                C[i * ldc + j] = alpha * acc + (beta * C[i * ldc + j] if beta != 0 else 0)
        return
    for i in range(m):
        for j in range(n):
            acc = 0
            if not ca and not cb:
                for p in range(k):
                    acc = acc + A[i * lda + p] * B[p * ldb + j]
            elif ca and not cb:
                for p in range(k):
                    acc = acc + conj_(A[p * lda + i]) * B[p * ldb + j]
            elif not ca and cb:
                for p in range(k):
                    acc = acc + A[i * lda + p] * conj_(B[j * ldb + p])
            else:
                for p in range(k):
                    acc = acc + conj_(A[p * lda + i]) * conj_(B[j * ldb + p])
            if beta == 0:
                C[i * ldc + j] = alpha * acc
            else:
                C[i * ldc + j] = alpha * acc + beta * C[i * ldc + j]


cdef inline void gemm(char ta, char tb, int m, int n, int k, scalar_t alpha,
               const scalar_t* A, int lda, const scalar_t* B, int ldb,
               scalar_t beta, scalar_t* C, int ldc) noexcept nogil:
    """Row-major C (m x n) = alpha op(A) op(B) + beta C, op in {N, T, C}."""
    if m <= 0 or n <= 0:
        return
    if k <= 0:
        _gemm_loop(ta, tb, m, n, 0, alpha, A, lda, B, ldb, beta, C, ldc)
        return
    if <long> m * n * k <= SMALL_GEMM:
        _gemm_loop(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
        return
    if scalar_t is float or scalar_t is double:
        if ta == c'C':
            ta = c'T'
        if tb == c'C':
            tb = c'T'
    if scalar_t is float:
        blas.sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*> B, &ldb, <float*> A, &lda, &beta, C, &ldc)
    elif scalar_t is double:
        blas.dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> B, &ldb, <double*> A, &lda, &beta, C, &ldc)
    elif scalar_t is cfloat_t:
        blas.cgemm(&tb, &ta, &n, &m, &k, <blas.c*> &alpha, <blas.c*> B, &ldb, <blas.c*> A, &lda,
                   <blas.c*> &beta, <blas.c*> C, &ldc)
    else:
        blas.zgemm(&tb, &ta, &n, &m, &k, <blas.z*> &alpha, <blas.z*> B, &ldb, <blas.z*> A, &lda,
                   <blas.z*> &beta, <blas.z*> C, &ldc)


# --- small helpers on row-major blocks ---------------------------------------------

cdef inline void copy_block(int m, int n, const scalar_t* A, int lda, scalar_t* B, int ldb) noexcept nogil:
    cdef int i, j
    for i in range(m):
        for j in range(n):
            B[i * ldb + j] = A[i * lda + j]


cdef inline void zero_block(int m, int n, scalar_t* A, int lda) noexcept nogil:
    cdef int i, j
    for i in range(m):
        for j in range(n):
            A[i * lda + j] = 0


cdef inline double max_abs(int m, int n, const scalar_t* A, int lda) noexcept nogil:
    cdef int i, j
    cdef double v = 0.0, a
    for i in range(m):
        for j in range(n):
            a = abs2_(A[i * lda + j])
            if a > v:
                v = a
    return sqrt(v)


cdef inline bint col_nonzero(int m, const scalar_t* A, int lda, int j) noexcept nogil:
    cdef int i
    for i in range(m):
        if A[i * lda + j] != 0:
            return True
    return False


cdef inline bint row_nonzero(int n, const scalar_t* A, int lda, int i) noexcept nogil:
    cdef int j
    for j in range(n):
        if A[i * lda + j] != 0:
            return True
    return False


# --- the LAPACK-level helpers of eigh, eig and funm ---------------------------------
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

cdef inline void herk_lower(int n, int k, double alpha, const scalar_t* A, int lda,
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


cdef inline void her2k_lower(int n, int k, const scalar_t* A, int lda, const scalar_t* B, int ldb,
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


cdef inline void lower_plus_adjoint(int n, scalar_t* Y) noexcept nogil:
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


cdef inline void trmm_lower_right(int m, int k, const scalar_t* L, int ldl, scalar_t* W, int ldw) noexcept nogil:
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


cdef inline void trmm_lower_right_blocked(int m, int k, const scalar_t* L, int ldl, scalar_t* W,
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


cdef inline int getrf_(int n, scalar_t* LU, int* ipiv) noexcept nogil:
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


cdef inline int getrs_right(char trans, int n, int nrhs, const scalar_t* LU, const int* ipiv,
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


cdef inline double gecon_inf(int n, const scalar_t* V, const scalar_t* LU, char* work) noexcept nogil:
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
