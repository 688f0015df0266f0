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


cdef inline bint any_nonzero(int count, const scalar_t* x, int stride) noexcept nogil:
    """Is any of x[0], x[stride], ..., x[(count - 1) stride] nonzero (a
    column: stride = lda; a row: stride = 1)?"""
    cdef int k
    for k in range(count):
        if x[k * stride] != 0:
            return True
    return False
