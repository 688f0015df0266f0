# What a kernel returns, and the record of where it failed: cimported by the
# core, and (as the IntEnum linalgad._status.Status) read by
# linalgad/_errors.py, which turns each code into its exception.

cpdef enum Status:
    OK = 0
    E_DEGENERATE = 1    # strict: a degenerate pair whose vectors the cotangent touches
    E_RANKDEF = 2       # strict: a zero singular value whose vectors are needed
    E_GAUGE_PHASE = 3   # the cotangent depends on the phase of a vector
    E_GAUGE_BLOCK = 4   # subspace: the cotangent rotates inside a degenerate block
    E_NEGATIVE = 5      # taylor: the spectrum is not positive semi-definite
    E_DOMAIN = 6        # a matrix function outside its domain
    E_ILLCOND = 7       # eig: the eigenvector matrix is (nearly) singular
    E_NOMEM = 8
    E_NONFINITE = 9     # a cotangent holds inf or nan (i: which argument of the entry point)
    E_SPLIT = 10        # strict: unequal cotangents of the values of a degenerate pair


cdef struct ErrInfo:
    int code
    Py_ssize_t b        # batch index
    int i
    int j
    double x            # the two spectral values involved
    double y
    double val          # the offending quantity (gap, gauge residual, ...)
    double lim          # the threshold it broke


cdef inline int set_err(ErrInfo* e, int code, int i, int j, double x, double y,
                        double val, double lim) noexcept nogil:
    e.code = code
    e.i = i
    e.j = j
    e.x = x
    e.y = y
    e.val = val
    e.lim = lim
    return code
