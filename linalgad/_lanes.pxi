# The machinery of the 3x3 lane kernels (each lives with its rule: svd3 in
# _svd.pxi, polar3 in _svfun.pxi, eigh3 in _eigh.pxi, funm3 in _funm.pxi,
# eig3 in _eig.pxi and _eig3.h). A lane kernel runs LANES float64 matrices
# at a time in struct-of-arrays temporaries, so that every arithmetic loop
# runs over the lanes and the compiler vectorises it across the batch (a
# 3x3 product is too small to vectorise on its own).
#
# A block with a pair within tol whose vectors carry a cotangent (or a mode
# other than strict/exact/subspace) is handed to the general kernel matrix
# by matrix (the context's `one`), so errors and every degeneracy mode keep
# their one implementation; tests check the two paths agree.
#
# These kernels move more data than they compute on: the loads and stores
# go through _lanes.h (register transposes with AVX-512), and the
# finiteness of the cotangents is checked on the loaded lanes rather than
# in a separate pass over the stacks. A kernel sees exactly LANES matrices
# and indexes its lane arrays with constants only, so the compiler keeps
# them in registers; _block pads a short last block with copies of its
# first matrix instead of a second, runtime-indexed path. A kernel that
# finds a lane it cannot take returns HAND_OVER, and _block runs the whole
# block through the general kernel, writing the output in place (a short
# block's scratch output is then never copied back).

cdef extern from "_lanes.h" nogil:
    enum: LANES_SIMD
    void lanes_load9(const double* src, double dst[][8])
    void lanes_load3(const double* src, double dst[][8])
    void lanes_store9(double src[][8], double* dst)
    bint lanes_any(const double acc[8])

cdef enum:
    LANES = 8     # _lanes.h is written for 8
    HAND_OVER = -1   # a lane kernel's answer: run this block matrix by matrix (never leaves _block)


# Two compiled versions of a kernel body, chosen by a tag type (the last
# argument of a lane kernel): work under a runtime `if` would give a lane
# array two definitions, and the merge keeps it in memory; a fused tag
# makes each flag a constant. `kernel[full_t]` is one version.
ctypedef signed char full_t       # every cotangent given that the body can take
ctypedef unsigned char part_t     # the optional one absent
ctypedef fused variant_t:
    full_t
    part_t

cdef enum:
    MAX_IN = 6     # inputs of a lane kernel at most (svd: U, s, Vh, dU, dS, dVh)
    MAX_SIZE = 18  # doubles a matrix of an input at most (eig: complex 3 x 3)


cdef double _ZEROS[MAX_SIZE * LANES]    # an absent cotangent's block (zero-initialised, never written)


cdef inline const double* _given(const double* src) noexcept nogil:
    # src, or zeros for an absent (NULL) input: a pointer select, so that
    # _lanes has one definition of its lanes (with a NULL branch beside
    # the loads the compiler keeps them in memory, not in registers)
    if src == NULL:
        return &_ZEROS[0]
    return src


cdef inline void _lanes(const double* src, int size, double dst[][LANES]) noexcept nogil:
    # dst[r][l] = src[l * size + r]: matrix l of a full block in lane l
    cdef int r, l
    if LANES_SIMD and size == 9:
        lanes_load9(src, dst)
    elif LANES_SIMD and size == 3:
        lanes_load3(src, dst)
    else:
        for l in range(LANES):
            for r in range(size):
                dst[r][l] = src[l * size + r]


cdef inline void _unlanes9(double src[][LANES], double* dst) noexcept nogil:
    # the inverse of _lanes for a full block of 3x3 matrices
    cdef int r, l
    if LANES_SIMD:
        lanes_store9(src, dst)
        return
    for l in range(LANES):
        for r in range(9):
            dst[l * 9 + r] = src[r][l]


cdef inline void _finite_acc(double x[][LANES], int size, double acc[LANES]) noexcept nogil:
    # acc += x * 0 lane by lane: it stays 0 while every entry is finite and
    # turns nan at an inf or nan (one multiply-add per entry, over the lanes)
    cdef int r, l
    for r in range(size):
        for l in range(LANES):
            acc[l] = acc[l] + x[r][l] * 0.0


cdef int _report_nonfinite(const double** src, const int* size, int first, int last,
                           Py_ssize_t b0, Py_ssize_t nb, ErrInfo* e) noexcept nogil:
    # the slow path once a block failed lanes_any: E_NONFINITE naming the
    # first argument in src[first:last] (argument k - first) holding an inf
    # or nan and, in it, the first matrix; read from the sources, so the
    # kernels' lane arrays never leave their registers
    cdef int k, r
    cdef Py_ssize_t l
    for k in range(first, last):
        if src[k] == NULL:
            continue
        for l in range(nb):
            for r in range(size[k]):
                if not (src[k][l * size[k] + r] * 0.0 == 0.0):
                    e.b = b0 + l
                    return set_err(e, E_NONFINITE, k - first, k - first, 0.0, 0.0, 0.0, 0.0)
    return OK


cdef inline int _hand_over(item_d one, void* c, Py_ssize_t b0, Py_ssize_t nb, char* work,
                           ErrInfo* e) noexcept nogil:
    # a block with a degenerate lane: the general kernel, matrix by matrix,
    # into the real output (called through the context's pointer, so it is
    # not inlined here). Only _block calls it: a lane kernel returns HAND_OVER
    cdef Py_ssize_t l
    cdef int code
    for l in range(nb):
        e.b = b0 + l
        code = one(c, b0 + l, work, e, <double*> NULL)
        if code != OK:
            return code
    return OK


cdef int _block(int (*kernel)(void*, const double**, double*, Py_ssize_t, Py_ssize_t, char*,
                             ErrInfo*, variant_t*) noexcept nogil,
                Batch* batch, void* c, Py_ssize_t blk, int nin, const double** src,
                const int* size, double* out, char* work, ErrInfo* e) noexcept nogil:
    # block blk of a stack of B matrices: src[k] (size[k] doubles a matrix,
    # or NULL) and out already point at its first matrix. A short last block
    # runs on copies padded with its first matrix, into a scratch output.
    # batch.one: the general kernel for one matrix, run on the block's real
    # matrices when the lane kernel hands it over.
    cdef Py_ssize_t b0 = blk * LANES, nb = batch.B - b0, l
    cdef double pad[MAX_IN * MAX_SIZE * LANES]
    cdef double tmp[9 * LANES]
    cdef const double* p[MAX_IN]
    cdef int k, r, code
    if nb >= LANES:
        code = kernel(c, src, out, b0, LANES, work, e, <variant_t*> NULL)
        if code == HAND_OVER:
            return _hand_over(batch.one, c, b0, LANES, work, e)
        return code
    for k in range(nin):
        if src[k] == NULL:
            p[k] = NULL
            continue
        for l in range(LANES):
            for r in range(size[k]):
                pad[k * MAX_SIZE * LANES + l * size[k] + r] = src[k][(l if l < nb else 0) * size[k] + r]
        p[k] = pad + k * MAX_SIZE * LANES
    code = kernel(c, p, tmp, b0, nb, work, e, <variant_t*> NULL)
    if code == HAND_OVER:
        return _hand_over(batch.one, c, b0, nb, work, e)
    if code == OK:
        for l in range(nb * 9):
            out[l] = tmp[l]
    return code


cdef inline void _diag3(double d[][LANES], double M[][LANES]) noexcept nogil:
    # M = diag(d) for 3x3 lane matrices
    cdef int i, l
    for i in range(9):
        for l in range(LANES):
            M[i][l] = d[i // 3][l] if i % 4 == 0 else 0.0


cdef inline void _product3(double a[][LANES], bint ta, double b[][LANES], bint tb,
                           double c[][LANES]) noexcept nogil:
    # c = op(a) op(b) for 3x3 lane matrices, op = transpose when t*
    cdef int i, j, p, l
    cdef int sa_i = 1 if ta else 3, sa_p = 3 if ta else 1
    cdef int sb_p = 1 if tb else 3, sb_j = 3 if tb else 1
    for i in range(3):
        for j in range(3):
            for l in range(LANES):
                c[i * 3 + j][l] = (a[i * sa_i][l] * b[j * sb_j][l]
                                   + a[i * sa_i + sa_p][l] * b[sb_p + j * sb_j][l]
                                   + a[i * sa_i + 2 * sa_p][l] * b[2 * sb_p + j * sb_j][l])
