"""General eigendecomposition: A V = V diag(w).

Primal
    ``numpy.linalg.eig``: w complex (real when A is real and, over the whole
    stack, every eigenvalue is real, as NumPy does), columns of V of unit
    2-norm. LAPACK also makes the entry of largest modulus of each column
    real (positive for complex A; for real A the sign is arbitrary).
Normalisation (``normalization=``)
    "lapack" (default): the rule differentiates exactly that convention, so
        its JVP matches finite differences of ``numpy.linalg.eig`` itself and
        every loss of (w, V) has a gradient. Default because it is the
        function the user actually calls.
    "norm": unit norm only; the phase of each column is a gauge, and a loss
        that sees it (Im(v_j^H dV_j) != 0) raises GaugeError.
    The two agree for every phase-invariant loss, and for real eigenvectors.
Gauge and degeneracy
    Repeated eigenvalues follow ``degeneracy=`` (strict, exact, subspace,
    lorentz; "taylor" is for positive semi-definite Hermitian spectra and is
    refused here). A (nearly) defective A has an ill-conditioned V:
    cond(V) > ``cond_max`` (default eps**(-2/3): 2.7e10 in float64, 4.1e4 in
    float32) raises DegeneracyError with the condition number.
Rules (G = V^H dV', F_ij = 1/(w_j - w_i), F_ii = 0; bars dropped)
    VJP  dV'_j = dV_j - Re(v_j^H dV_j) v_j  [- i Im(v_j^H dV_j)/v_kj e_k  (lapack, k the pivot row)]
         A_bar = V^{-H} (diag(dw) + conj(F) o G) V^H, by one LU of V and
         right solves (never V^{-1}). Real A: the real part (the default
         projection), which is exact even when the loss touches only one
         member of a conjugate pair.
    JVP  P = V^{-1} dA V; dw = diag P; X = V (F o P);
         dV_j = X_j - Re(v_j^H X_j) v_j  [- i Im(X_kj)/v_kj v_j  (lapack)].
Cost (complex GEMMs, n x n): VJP 3.3 (V^H dV', V Z^H, getrf, getrs); 1.3
    for eigenvalues only; JVP 3.3. Real A with complex eigenvalues: the VJP
    runs in real arithmetic through LAPACK's real eigenvector matrix Vr
    (V = Vr T, T block diagonal): 4.3 real GEMMs (1.3 for eigenvalues only);
    the JVP in complex arithmetic.
Derivation and references: docs/eig.md.
"""

from collections import namedtuple

import numpy as np

from .. import _core, gauge as _gauge
from .._errors import DegeneracyError, raise_core
from .._options import batch_threads, options
from .._validate import cotangent, matrix_stack, real_dtype
from ._factors import cotan, eig_frame
from ._values import resolve, values_options, where
from .eigh import _fix, finish

__all__ = ["Eig", "eig", "eig_vjp", "eig_jvp", "eig_pullback", "eig_pushforward",
           "eigvals", "eigvals_vjp", "eigvals_jvp", "eigvals_pushforward"]

Eig = namedtuple("Eig", ["w", "V"])

_NORMS = ("lapack", "norm")

_REMEDIES = (
    "if the loss depends on these eigenvectors only through their span, pass "
    "degeneracy='subspace'; for a Hermitian matrix use eigh_vjp or funm_vjp; to regularise, "
    "pass degeneracy='lorentz'"
)


def _raise(err, rule, st):
    raise_core(err, rule=rule, values="eigenvalues", vectors="V[:, {i}]", remedies=_REMEDIES,
               batch_shape=st.batch)


def _normalization(normalization):
    if normalization not in _NORMS:
        raise ValueError(f"normalization must be one of {_NORMS}, got {normalization!r}")
    return normalization == "lapack"


def _options(st, opts):
    opt = options(st.dtype, **opts)
    if opt.degeneracy == "taylor":
        raise ValueError(
            "eig: degeneracy='taylor' (the power-iteration series) needs a positive semi-definite "
            "Hermitian spectrum; use 'lorentz' or 'subspace' for eig, or eigh_vjp for Hermitian A"
        )
    return opt


def _cond_max(cond_max, dtype):
    if cond_max is None:
        return float(np.finfo(real_dtype(dtype)).eps) ** (-2.0 / 3.0)
    cond_max = float(cond_max)
    if not cond_max > 1:
        raise ValueError(f"cond_max must be > 1, got {cond_max!r}")
    return cond_max


def factor(st):
    """(w, V) as numpy.linalg.eig returns them for the stack, V contiguous."""
    n = st.n
    if st.m != n:
        raise ValueError(f"A must be square in its last two axes, got shape {st.shape(st.m, n)}")
    if st.data.size == 0:
        w = np.zeros((st.B, n), st.dtype)
        V = np.broadcast_to(np.eye(n, dtype=st.dtype), (st.B, n, n)).copy()
        return w, V
    w, V = np.linalg.eig(st.data)
    return w, np.ascontiguousarray(V)


def _lapack_pairs(w):
    """Do the complex eigenvalues come as LAPACK orders them for real input
    (each pair adjacent, positive imaginary part first, exact conjugates)?
    The real-arithmetic pullback relies on it; otherwise the complex path runs."""
    first, second = w.imag > 0, w.imag < 0
    if second[..., :1].any() or first[..., -1:].any():
        return False
    if not np.array_equal(second[..., 1:], first[..., :-1]):
        return False
    return bool(np.all(w[..., 1:][second[..., 1:]] == np.conj(w[..., :-1][second[..., 1:]])))


def _result(st, w, V, readonly):
    res = Eig(w.reshape(st.shape(st.n)), V.reshape(st.shape(st.n, st.n)))
    if readonly:
        for a in res:
            a.flags.writeable = False
    return res


def eig(A, *, gauge=None):
    """Eigenvalues and unit-norm eigenvectors of a stack of square matrices
    (..., n, n): ``Eig(w, V)``, as ``numpy.linalg.eig``. ``gauge="canonical"``
    makes each column's entry of largest modulus real and positive."""
    st = matrix_stack(A, square=True)
    w, V = factor(st)
    res = _result(st, w, V, readonly=False)
    return _fix("fix_eig")(res) if _gauge.wants(gauge) else res


def eig_vjp(A, *, normalization="lapack", cond_max=None, gauge=None, project=None, **opts):
    """eig and its pullback ``pullback(dw=None, dV=None) -> dA``.

    ``normalization``: "lapack" (default) or "norm" (module docstring);
    ``cond_max``: largest accepted condition number of V; ``gauge="canonical"``:
    the factors are gauge-fixed and the pullback takes cotangents of the fixed
    factors; ``project``: the structure of the returned cotangent (default:
    real for real A); ``**opts``: degeneracy, tol, eps, gauge_tol
    (linalgad._options).
    """
    lapack = _normalization(normalization)
    st = matrix_stack(A, square=True)
    opt = _options(st, opts)
    cmax = _cond_max(cond_max, st.dtype)
    w, V = factor(st)
    res = _result(st, w, V, readonly=True)
    raw, fixed = res, _gauge.wants(gauge)
    if fixed:
        res = _fix("fix_eig")(raw)
        for a in res:
            a.flags.writeable = False
    n = st.n
    w128 = np.ascontiguousarray(w, dtype=np.complex128).reshape(st.B, n)
    policy = opt.as_tuple()

    # real A with complex eigenvalues: the real cotangent in real arithmetic
    # (V = Vr T, see _eig.pxi), unless the complex one is asked for
    real_path = (st.dtype.kind == "f" and V.dtype.kind == "c" and project != "complex"
                 and _lapack_pairs(w))

    wshape, Vshape = res.w.shape, res.V.shape

    # inf/nan in a cotangent: the real path's core checks what it reads,
    # unless the gauge pull transforms the cotangents first
    early = fixed or not real_path

    def pullback(dw=None, dV=None):
        gw = cotangent(dw, "dw", wshape, w.dtype, of="w", finite=early)
        gV = cotangent(dV, "dV", Vshape, V.dtype, of="V", finite=early)
        if fixed and gV is not None:
            gV = np.ascontiguousarray(_fix("pull_eig")(raw, (gw, gV))[1])
        gw = None if gw is None else np.ascontiguousarray(gw, np.complex128).reshape(st.B, n)
        gV = None if gV is None else gV.reshape(st.B, n, n)
        out = _pullback(V, w128, gw, gV, st, real_path, lapack, cmax, policy, not early, "eig_vjp")
        return finish(out.reshape(st.shape(n, n)), st, project, "eig_vjp")

    return res, pullback


def eig_jvp(A, dA, *, normalization="lapack", cond_max=None, gauge=None, **opts):
    """eig and its tangent along ``dA``: ``(Eig(w, V), Eig(dw, dV))``.

    With normalization="lapack" (default) the tangent is the derivative of
    ``numpy.linalg.eig``'s own output (matches its finite differences);
    "norm" keeps only the unit norm (V^H dV has a real zero diagonal part).
    ``gauge="canonical"`` differentiates the gauge-fixed factors instead.
    """
    lapack = _normalization(normalization)
    st = matrix_stack(A, square=True)
    opt = _options(st, opts)
    cmax = _cond_max(cond_max, st.dtype)
    n = st.n
    dA3 = cotangent(dA, "dA", st.shape(n, n), st.dtype, of="A").reshape(st.data.shape)
    w, V = factor(st)
    dw, dV = _pushforward(V, np.ascontiguousarray(w, dtype=np.complex128).reshape(st.B, n), dA3,
                          st, lapack, cmax, opt.as_tuple(), "eig_jvp")
    res = _result(st, w, V, readonly=False)
    dw = dw.real if w.dtype.kind != "c" else dw
    tan = Eig(dw.astype(w.dtype).reshape(res.w.shape), dV.reshape(res.V.shape))
    if _gauge.wants(gauge):
        return _fix("fix_eig_jvp")(res, tan)
    return res, tan


# The rule on (B, ...) stacks: what the closures and the stateless forms share.

def _pullback(V, w128, gw, gV, st, real_path, lapack, cmax, policy, check_finite, rule):
    """dA (B, n, n) for cotangents gw (B, n) complex128 and gV; ``real_path``:
    real A with LAPACK-paired complex eigenvalues, the real cotangent in real
    arithmetic (``check_finite`` there: the core refuses inf/nan)."""
    threads = batch_threads(st.B, st.n)     # read here: set_num_threads may follow eig_vjp
    if real_path:
        out = np.empty((st.B, st.n, st.n), st.dtype)
        err = _core.eig_vjp_real(V, w128, gw, gV, out, lapack, cmax, policy, threads,
                                 check_finite=check_finite)
    else:
        out = np.empty((st.B, st.n, st.n), V.dtype)
        err = _core.eig_vjp(V, w128, gw, gV, out, lapack, cmax, policy, threads)
    if err is not None:
        _raise(err, rule, st)
    return out


def _pushforward(V, w128, dA3, st, lapack, cmax, policy, rule):
    """(dw complex128 (B, n), dV (B, n, n)) along dA3."""
    dw = np.empty((st.B, st.n), np.complex128)
    dV = np.empty((st.B, st.n, st.n), V.dtype)
    err = _core.eig_jvp(V, w128, np.ascontiguousarray(dA3, dtype=V.dtype), dw, dV, lapack, cmax,
                        policy, batch_threads(st.B, st.n))
    if err is not None:
        _raise(err, rule, st)
    return dw, dV


def _eig_frame(rule, w, V, extra, real_input):
    fr, w3, V3 = eig_frame(rule, w, V, extra, hermitian=False)
    vdt = fr.dtype
    if real_input is None:
        real_input = vdt.kind == "f"
    if real_input:
        fr.dtype = real_dtype(vdt)
    elif vdt.kind == "f":
        raise ValueError(f"{rule}: real_input=False needs the complex factors of a complex A "
                         f"(numpy.linalg.eig of complex input returns complex w and V)")
    return fr, np.ascontiguousarray(w3, dtype=np.complex128), V3, vdt


def eig_pullback(w, V, dw=None, dV=None, *, real_input=None, normalization="lapack",
                 cond_max=None, **opts):
    """The eig pullback from the factors: ``dA`` for cotangents of w, V.

    Stateless form of ``eig_vjp(A)[1]``: w (..., n) and V (..., n, n) as
    ``numpy.linalg.eig`` returns them; leading axes broadcast with the
    cotangents. ``real_input``: whether A was real, which the factors of a
    real A with complex eigenvalues cannot tell; None (default) infers it
    from V's dtype (real V: real A). True returns the real cotangent of a
    real A (the exact one, also when the loss touches only one member of a
    conjugate pair); a complex V with ``real_input`` None is taken as the
    factors of a complex A and gets a complex cotangent. ``normalization``,
    ``cond_max`` and ``**opts`` as in :func:`eig_vjp`; ``gauge=`` and
    ``project=`` need the input: use :func:`eig_vjp`.
    """
    rule = "eig_pullback"
    lapack = _normalization(normalization)
    fr, w128, V3, vdt = _eig_frame(rule, w, V, [("dw", dw, 1), ("dV", dV, 2)], real_input)
    opt = _options(fr, opts)
    cmax = _cond_max(cond_max, vdt)
    n = fr.n
    real_path = fr.dtype != vdt and _lapack_pairs(w128)
    gw = cotan(dw, "dw", fr.batch, (n,), vdt, of="w", finite=not real_path)
    gV = cotan(dV, "dV", fr.batch, (n, n), vdt, of="V", finite=not real_path)
    gw = None if gw is None else np.ascontiguousarray(gw, np.complex128)
    out = _pullback(V3, w128, gw, gV, fr, real_path, lapack, cmax, opt.as_tuple(), True, rule)
    return finish(out, fr, None, rule)


def eig_pushforward(w, V, dA, *, normalization="lapack", cond_max=None, **opts):
    """The eig tangent from the factors: ``Eig(dw, dV)`` along ``dA``.

    Stateless form of ``eig_jvp(A, dA)[1]``; w, V as in :func:`eig_pullback`
    (broadcasting with ``dA``). ``dA`` may be real when the factors are
    complex (a real A with complex eigenvalues); the tangents have the
    factors' dtypes.
    """
    rule = "eig_pushforward"
    lapack = _normalization(normalization)
    fr, w128, V3, vdt = _eig_frame(rule, w, V, [("dA", dA, 2)], None)
    opt = _options(fr, opts)
    cmax = _cond_max(cond_max, vdt)
    n = fr.n
    # a real dA stays real until the core's cast (a complex one needs complex factors)
    dA3 = cotan(dA, "dA", fr.batch, (n, n), vdt if np.iscomplexobj(dA) else real_dtype(vdt),
                of="A", finite=True)
    dw, dV = _pushforward(V3, w128, dA3, fr, lapack, cmax, opt.as_tuple(), rule)
    dw = dw.real if vdt.kind != "c" else dw
    return Eig(dw.astype(vdt).reshape(fr.shape(n)), dV.reshape(fr.shape(n, n)))


# Eigenvalues only (the forward mode skips the vectors' tangents: see rules/_values.py)

def eigvals(A):
    """The eigenvalues (..., n) as ``numpy.linalg.eigvals`` returns them
    (complex unless every eigenvalue of the real stack is real)."""
    st = matrix_stack(A, square=True)
    if st.data.size == 0:
        return np.zeros(st.shape(st.n), st.dtype)
    return np.linalg.eigvals(st.data).reshape(st.shape(st.n))


def eigvals_vjp(A, *, cond_max=None, project=None, **opts):
    """Eigenvalues and their pullback ``pullback(dw) -> dA`` (the eig pullback
    with dV zero: V^-H diag(dw) V^H)."""
    res, pullback = eig_vjp(A, cond_max=cond_max, project=project, **opts)
    return res.w, lambda dw=None: pullback(dw, None)


def _values_tangent(w, V, dA3, st, cmax, opt, rule):
    """dw (B, n) = diag(V^-1 dA V), after the check that V is invertible
    (a defective A has eigenvalues with no derivative)."""
    if st.n:
        cond = np.linalg.cond(V)
        bad = np.nonzero(~(cond <= cmax))[0]
        if bad.size:
            b = int(bad[0])
            raise DegeneracyError(
                f"{rule}: the eigenvector matrix{where(st.batch, b)} is (nearly) singular "
                f"(condition number {cond[b]:.3g} > cond_max {cmax:.3g}): the input is (nearly) "
                f"defective, and a defective eigenvalue moves like t**(1/k), with no derivative; "
                f"use a smooth function of A (its trace, determinant, a Schur form) instead.")
    C = np.linalg.solve(V, dA3.astype(V.dtype) @ V)
    dw = np.ascontiguousarray(np.diagonal(C, axis1=-2, axis2=-1))
    return resolve(rule, "eigenvalues", w, dw, lambda b: C[b], opt, st.batch)


def _values_out(dw, w, shape):
    return (dw.real if w.dtype.kind != "c" else dw).astype(w.dtype).reshape(shape)


def eigvals_jvp(A, dA, *, cond_max=None, **opts):
    """Eigenvalues and their tangent along ``dA``: ``(w, dw)``, dw =
    diag(V^-1 dA V) without the vectors' tangents. Refused: a (nearly)
    defective A (cond(V) > ``cond_max``, 2-norm), and, in strict mode,
    eigenvalues equal to working precision (``tol``, default 64 eps here)
    that the tangent does not move together (linalgad/rules/_values.py)."""
    st = matrix_stack(A, square=True)
    opt = values_options(st.dtype, opts)
    cmax = _cond_max(cond_max, st.dtype)
    n = st.n
    dA3 = cotangent(dA, "dA", st.shape(n, n), st.dtype, of="A").reshape(st.data.shape)
    w, V = factor(st)
    dw = _values_tangent(w, V, dA3, st, cmax, opt, "eigvals_jvp")
    return w.reshape(st.shape(n)), _values_out(dw, w, st.shape(n))


def eigvals_pushforward(w, V, dA, *, cond_max=None, **opts):
    """The eigenvalues' tangent from the factors of ``numpy.linalg.eig``:
    ``dw`` along ``dA`` (stateless form of ``eigvals_jvp(A, dA)[1]``)."""
    rule = "eigvals_pushforward"
    fr, w128, V3, vdt = _eig_frame(rule, w, V, [("dA", dA, 2)], None)
    opt = values_options(fr.dtype, opts)
    cmax = _cond_max(cond_max, vdt)
    dA3 = cotan(dA, "dA", fr.batch, (fr.n, fr.n), vdt if np.iscomplexobj(dA) else real_dtype(vdt),
                of="A", finite=True)
    wv = w128 if vdt.kind == "c" else w128.real
    dw = _values_tangent(wv, V3, dA3, fr, cmax, opt, rule)
    return _values_out(dw, np.empty(0, vdt), fr.shape(fr.n))
