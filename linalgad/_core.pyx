# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# cython: nonecheck=False, cpow=True
"""linalgad's compiled core: the VJP/JVP kernels of every rule.

One file per primal is included below; they share the BLAS wrappers
(_blas.pxi) and the degeneracy policy and batching boundary (_policy.pxi).
Kernels are ``noexcept nogil`` and return a status code; the ``def`` entry
points check their arrays, release the GIL, run the batch and hand any
failure back as a tuple that linalgad/_errors.py turns into an exception.
The Python layer (linalgad/rules/) validates inputs and calls these.
"""

cimport numpy as cnp

cnp.import_array()

include "_blas.pxi"
include "_policy.pxi"


# --- array checks shared by the def entry points -----------------------------------

cdef inline size_t itemsize(int t):
    if t == cnp.NPY_FLOAT32:
        return 4
    if t == cnp.NPY_FLOAT64 or t == cnp.NPY_COMPLEX64:
        return 8
    return 16


cdef item_fn pick(int t, item_fn f, item_fn d, item_fn c, item_fn z) except NULL:
    if t == cnp.NPY_FLOAT32:
        return f
    if t == cnp.NPY_FLOAT64:
        return d
    if t == cnp.NPY_COMPLEX64:
        return c
    if t == cnp.NPY_COMPLEX128:
        return z
    raise TypeError("linalgad core: unsupported dtype")


cdef int check_stack(cnp.ndarray a, str name, int ndim) except -1:
    if cnp.PyArray_NDIM(a) != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions")
    if not cnp.PyArray_IS_C_CONTIGUOUS(a) or not cnp.PyArray_ISALIGNED(a) or not cnp.PyArray_ISNOTSWAPPED(a):
        raise ValueError(f"{name} must be C-contiguous, aligned and native-endian")
    return 0


cdef int check_real(object a, str name, int ndim) except -1:
    if not isinstance(a, cnp.ndarray) or cnp.PyArray_TYPE(<cnp.ndarray> a) != cnp.NPY_FLOAT64:
        raise TypeError(f"{name} must be a float64 array")
    return check_stack(<cnp.ndarray> a, name, ndim)


cdef int check_like(object a, cnp.ndarray ref, str name, Py_ssize_t B, Py_ssize_t m, Py_ssize_t n) except -1:
    cdef cnp.ndarray x
    if not isinstance(a, cnp.ndarray):
        raise TypeError(f"{name} must be an ndarray")
    x = <cnp.ndarray> a
    check_stack(x, name, 3)
    if cnp.PyArray_TYPE(x) != cnp.PyArray_TYPE(ref):
        raise TypeError(f"{name} has dtype {x.dtype}, expected {ref.dtype}")
    if x.shape[0] != B or x.shape[1] != m or x.shape[2] != n:
        raise ValueError(f"{name} has shape {(<object> x).shape}, expected {(B, m, n)}")
    if not cnp.PyArray_ISWRITEABLE(x) and name == "out":
        raise ValueError("out must be writeable")
    return 0


cdef bint _all_finite(cnp.ndarray a) except -1:
    # an OR-reduction of the exponent bits (all ones means inf or nan):
    # branch-free, so it vectorises; no temporary
    cdef Py_ssize_t i, size = cnp.PyArray_SIZE(a)
    cdef int t = cnp.PyArray_TYPE(a)
    cdef const unsigned long long* d
    cdef const unsigned int* f
    cdef unsigned long long bad64 = 0
    cdef unsigned int bad32 = 0
    if not cnp.PyArray_IS_C_CONTIGUOUS(a) or not cnp.PyArray_ISALIGNED(a):
        raise ValueError("all_finite needs a C-contiguous, aligned array")
    if t == cnp.NPY_COMPLEX128 or t == cnp.NPY_COMPLEX64:
        size *= 2
    if t == cnp.NPY_FLOAT64 or t == cnp.NPY_COMPLEX128:
        d = <const unsigned long long*> cnp.PyArray_DATA(a)
        with nogil:
            for i in range(size):
                bad64 |= (d[i] & 0x7ff0000000000000ULL) == 0x7ff0000000000000ULL
        return bad64 == 0
    if t == cnp.NPY_FLOAT32 or t == cnp.NPY_COMPLEX64:
        f = <const unsigned int*> cnp.PyArray_DATA(a)
        with nogil:
            for i in range(size):
                bad32 |= (f[i] & 0x7f800000U) == 0x7f800000U
        return bad32 == 0
    raise TypeError("all_finite: unsupported dtype")


def all_finite(cnp.ndarray a):
    """True when every entry of a C-contiguous float32/64 or complex64/128
    array is finite."""
    return _all_finite(a)


cdef int check_finite_args(tuple arrays, tuple names) except -1:
    """ValueError naming the first array (None skipped) that holds inf or nan."""
    for a, name in zip(arrays, names):
        if a is not None and cnp.PyArray_SIZE(<cnp.ndarray> a) and not _all_finite(<cnp.ndarray> a):
            raise ValueError(f"{name} contains NaN or Inf")
    return 0


cdef object status(ErrInfo* e, tuple names):
    """A kernel's status for the Python layer: None, an error tuple for
    linalgad._errors, or (E_NONFINITE, found by a kernel in the cotangent
    it loaded) the same ValueError as check_finite_args."""
    if e.code == E_NONFINITE:
        raise ValueError(f"{names[e.i]} contains NaN or Inf")
    return err_tuple(e)


cdef object run_entry(item_fn fn, item_fn lanes, void* ctx, bint* lane_check, item_fn* lane_one,
                      Py_ssize_t B, size_t work_bytes, int nthreads, tuple arrays, tuple names):
    """The common tail of the vjp entry points. lanes (a _small.pxi block
    kernel, or NULL): run it over blocks of LANES matrices, with fn as its
    per-matrix fallback and the inf/nan check of `arrays` done on the loaded
    lanes; otherwise check `arrays` in one pass, then run fn. names: the
    arrays' names for the error, or None for no check. Returns status()."""
    cdef ErrInfo e
    if lanes != NULL:
        lane_check[0] = names is not None
        lane_one[0] = fn
        with nogil:
            run_batch(lanes, ctx, (B + LANES - 1) // LANES, work_bytes, nthreads, &e)
    else:
        if names is not None:
            check_finite_args(arrays, names)
        with nogil:
            run_batch(fn, ctx, B, work_bytes, nthreads, &e)
    return status(&e, names)


# --- threads: what linalgad._options reads ---------------------------------------------

def omp_max_threads():
    """The OpenMP runtime's max threads now: OMP_NUM_THREADS, or what
    threadpoolctl set (omp_set_num_threads), or the CPUs it found at start."""
    return openmp.omp_get_max_threads()


def last_team():
    """Threads of the last batch loop the core ran (1: serial; 0: none yet).
    A diagnostic: one value for the process, whatever thread called."""
    return _last_team


# --- the rules ---------------------------------------------------------------------

include "_svd.pxi"
include "_lapack_extra.pxi"
include "_eigh.pxi"
include "_small.pxi"
include "_eig.pxi"
include "_funm.pxi"


# --- workspace layouts, for tests at sizes that are never allocated ---------------------

def workspace(str kernel, Py_ssize_t m, Py_ssize_t n, size_t itemsize):
    """The workspace layout one call of `kernel` carves for an m x n matrix
    (the square kernels take m = n) of `itemsize`-byte items (eig_vjp_real:
    the real item size): a dict of sub-buffer offsets and "total" bytes, as
    the entry points compute it. MemoryError when the size overflows.
    Kernels: svd_vjp, svd_jvp, svfun, polar (svfun with the P cotangent),
    eigh_vjp, eigh_jvp (also funm), eig_vjp, eig_jvp, eig_vjp_real."""
    cdef size_t um, un, uk
    if m < 0 or n < 0:
        raise ValueError("m and n must be >= 0")
    um, un = <size_t> m, <size_t> n
    uk = um if um < un else un
    if kernel == "svd_vjp":
        layout = svd_vjp_ws(um, un, uk, itemsize)
    elif kernel == "svd_jvp":
        layout = svd_jvp_ws(um, un, uk, itemsize)
    elif kernel == "svfun" or kernel == "polar":
        layout = svfun_ws(um, un, uk, itemsize, kernel == "polar")
    elif kernel == "eigh_vjp" or kernel == "eigh_jvp":
        layout = eigh_ws(un, itemsize, kernel == "eigh_vjp")
    elif kernel == "eig_vjp" or kernel == "eig_jvp":
        layout = eig_ws(un, itemsize, kernel == "eig_vjp")
    elif kernel == "eig_vjp_real":
        layout = eig_real_ws(un, itemsize)
    else:
        raise ValueError(f"unknown kernel {kernel!r}")
    ws_bytes(layout["total"], kernel)
    return layout
