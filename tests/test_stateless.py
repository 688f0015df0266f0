"""The stateless rules (factors in, cotangent out): finite differences,
adjointness of each pullback/pushforward pair, agreement with the closures,
gufunc broadcasting, and argument checks."""

import subprocess
import sys

import numpy as np
import pytest

import linalgad as la
from linalgad import testing as T

DTYPES = [np.float64, np.complex128, np.float32, np.complex64]
SHAPES = [(4, 4), (5, 3), (3, 5), (2, 4, 3)]


def _npsvd(A):
    return la.SVDResult(*np.linalg.svd(A, full_matrices=False))


def _npeigh(A):
    return la.EighResult(*np.linalg.eigh(A))     # reads the lower triangle, as UPLO="L"


def _npeig(A):
    return la.EigResult(*np.linalg.eig(A))


# (factor(A), pullback(res, *ct), pushforward(res, dA), loss kind)
def _svd_case():
    return (_npsvd, lambda r, *ct: la.svd_pullback(*r, *ct),
            lambda r, E: la.svd_pushforward(*r, E), "svd")


def _eigh_case():
    return (_npeigh, lambda r, *ct: la.eigh_pullback(*r, *ct, UPLO="L"),
            lambda r, E: la.eigh_pushforward(*r, E, UPLO="L"), "eigh")


def _eig_case(real_input):
    return (_npeig, lambda r, *ct: la.eig_pullback(*r, *ct, real_input=real_input),
            lambda r, E: la.eig_pushforward(*r, E), "eig")


CASES = {"svd": _svd_case(), "eigh": _eigh_case()}


def _check(vjp, jvp, A, loss, dloss):
    """Finite differences of both modes, and their adjointness."""
    T.check_vjp(vjp, A, loss, dloss)
    T.check_jvp(jvp, A, loss, dloss)
    T.check_adjoint(vjp, jvp, A, dloss)


def _vjp_of(factor, pullback):
    def vjp(A):
        res = factor(A)
        return res, lambda *ct: pullback(res, *ct)
    return vjp


def _jvp_of(factor, pushforward):
    return lambda A, E: (factor(A), pushforward(factor(A), E))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ["svd", "eigh"])
def test_svd_eigh_fd_and_adjoint(name, shape, dtype):
    factor, pull, push, kind = CASES[name]
    if name == "eigh":
        shape = shape[:-1] + (shape[-2],)
    A = T.random_matrix(shape, dtype, kind="general", seed=3)
    res = factor(A)
    loss, dloss = T.invariant_loss(kind, res, seed=1)
    vjp, jvp = _vjp_of(factor, pull), _jvp_of(factor, push)
    _check(vjp, jvp, A, loss, dloss)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [(), (2,)])
def test_eig_fd_and_adjoint(batch, dtype):
    cplx = np.dtype(dtype).kind == "c"
    A = T.random_matrix(batch + (4, 4), dtype, seed=5)
    factor, pull, push, kind = _eig_case(None if cplx else True)
    res = factor(A)
    assert res.eigenvectors.dtype.kind == "c"           # complex eigenvalues of a real A: the hard case
    loss, dloss = T.invariant_loss(kind, res, seed=2)
    vjp, jvp = _vjp_of(factor, pull), _jvp_of(factor, push)
    _check(vjp, jvp, A, loss, dloss)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", SHAPES)
def test_polar_svfunm_fd_and_adjoint(shape, dtype):
    A = T.random_matrix(shape, dtype, seed=7)

    def polar_vjp(X):
        U, S, Vh = np.linalg.svd(X, full_matrices=False)
        res = la.polar(X)
        return res, lambda dQ, dP: la.polar_pullback(U, S, Vh, dQ, dP)

    def polar_jvp(X, E):
        return la.polar(X), la.polar_pushforward(*np.linalg.svd(X, full_matrices=False), E)

    loss, dloss = T.invariant_loss("polar", la.polar(A), seed=1)
    _check(polar_vjp, polar_jvp, A, loss, dloss)

    def sv_vjp(X):
        r = np.linalg.svd(X, full_matrices=False)
        return la.svfunm(X, "exp"), lambda dG: la.svfunm_pullback(*r, dG, "exp")

    def sv_jvp(X, E):
        return la.svfunm(X, "exp"), la.svfunm_pushforward(*np.linalg.svd(X, full_matrices=False),
                                                          E, "exp")

    loss, dloss = T.invariant_loss("funm", la.svfunm(A, "exp"), seed=2)
    _check(sv_vjp, sv_jvp, A, loss, dloss)


@pytest.mark.parametrize("uplo", [None, "L", "U"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_funm_fd_and_adjoint(dtype, uplo):
    A = T.random_matrix((2, 4, 4), dtype, kind="general", seed=9)

    def fac(X):
        return la.eigh(X, UPLO=uplo)

    def vjp(X):
        w, V = fac(X)
        return la.funm(X, "exp", UPLO=uplo), lambda dF: la.funm_pullback(w, V, dF, "exp", UPLO=uplo)

    def jvp(X, E):
        return la.funm(X, "exp", UPLO=uplo), la.funm_pushforward(*fac(X), E, "exp", UPLO=uplo)

    loss, dloss = T.invariant_loss("funm", la.funm(A, "exp", UPLO=uplo), seed=3)
    _check(vjp, jvp, A, loss, dloss)


# ---------------------------------------------------------------- the closures are the same rule

@pytest.mark.parametrize("dtype", DTYPES)
def test_closures_agree_with_stateless(dtype):
    rng = np.random.default_rng(0)
    A = T.random_matrix((3, 5, 4), dtype, seed=11)
    H = T.random_matrix((3, 4, 4), dtype, seed=12)
    tight = dict(rtol=1e-12, atol=1e-12) if np.dtype(dtype).itemsize in (8, 16) and \
        np.dtype(dtype) != np.complex64 else dict(rtol=1e-5, atol=1e-5)

    def ct(x):
        x = np.asarray(x)
        c = rng.standard_normal(x.shape) + (1j * rng.standard_normal(x.shape) if x.dtype.kind == "c" else 0)
        return c.astype(x.dtype)

    res, pb = la.svd_vjp(A)
    cts = [ct(x) for x in res]
    # phase-invariant cotangents for complex factors: the rule raises otherwise
    cts[0] = (2 * res.U * ct(res.S)[..., None, :].real).astype(res.U.dtype)
    cts[2] = np.zeros_like(res.Vh)
    np.testing.assert_allclose(la.svd_pullback(*res, *cts), pb(*cts), **tight)
    E = ct(A)
    for a, b in zip(la.svd_pushforward(*res, E), la.svd_jvp(A, E)[1]):
        np.testing.assert_allclose(a, b, **tight)

    for uplo in ("L", "U", None):
        res, pb = la.eigh_vjp(H, UPLO=uplo)
        dw, dV = ct(res.eigenvalues), (2 * res.eigenvectors * ct(res.eigenvalues)[..., None, :]).astype(res.eigenvectors.dtype)
        np.testing.assert_allclose(la.eigh_pullback(*res, dw, dV, UPLO=uplo), pb(dw, dV), **tight)
        E = ct(H)
        for a, b in zip(la.eigh_pushforward(*res, E, UPLO=uplo), la.eigh_jvp(H, E, UPLO=uplo)[1]):
            np.testing.assert_allclose(a, b, **tight)

    res, pb = la.eig_vjp(H)
    dw = ct(res.eigenvalues)
    got = la.eig_pullback(*res, dw, None, real_input=np.dtype(dtype).kind == "f")
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, pb(dw, None), **tight)
    E = ct(H)
    for a, b in zip(la.eig_pushforward(*res, E), la.eig_jvp(H, E)[1]):
        np.testing.assert_allclose(a, b, **tight)

    U, S, Vh = la.svd(A, full_matrices=False)
    res, pb = la.polar_vjp(A)
    dQ, dP = ct(res.Q), ct(res.P)
    np.testing.assert_allclose(la.polar_pullback(U, S, Vh, dQ, dP), pb(dQ, dP), **tight)
    E = ct(A)
    for a, b in zip(la.polar_pushforward(U, S, Vh, E), la.polar_jvp(A, E)[1]):
        np.testing.assert_allclose(a, b, **tight)

    G, pb = la.svfunm_vjp(A, "sqrt")
    dG = ct(G)
    np.testing.assert_allclose(la.svfunm_pullback(U, S, Vh, dG, "sqrt"), pb(dG), **tight)
    np.testing.assert_allclose(la.svfunm_pushforward(U, S, Vh, E, "sqrt"),
                               la.svfunm_jvp(A, E, "sqrt")[1], **tight)

    w, V = la.eigh(H, UPLO=None)
    F, pb = la.funm_vjp(H, "exp", UPLO=None)
    dF = ct(F)
    np.testing.assert_allclose(la.funm_pullback(w, V, dF, "exp", UPLO=None), pb(dF), **tight)
    E = ct(H)
    np.testing.assert_allclose(la.funm_pushforward(w, V, E, "exp", UPLO=None), la.funm_jvp(H, E, "exp", UPLO=None)[1],
                               **tight)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 6)])
def test_svd_full_factors_agree_with_the_closure(shape, dtype):
    A = T.random_matrix(shape, dtype, seed=17)
    res, pb = la.svd_vjp(A, full_matrices=True)
    loss, dloss = T.invariant_loss("svd", res, seed=4)
    ct = dloss(res)
    np.testing.assert_allclose(la.svd_pullback(*res, *ct), pb(*ct), rtol=1e-12, atol=1e-12)
    E = T.direction(A, seed=5)
    for a, b in zip(la.svd_pushforward(*res, E), la.svd_jvp(A, E, full_matrices=True)[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    # a cotangent on the basis of the extra columns has no gradient
    bad = [np.zeros_like(x) for x in res]
    if res.U.shape[-1] > res.S.shape[-1]:
        bad[0][..., -1] = res.U[..., 0]
    else:
        bad[2][..., -1, :] = res.Vh[..., 0, :]
    with pytest.raises(la.GaugeError, match="extra columns"):
        la.svd_pullback(*res, *bad)


# ---------------------------------------------------------------- broadcasting, dtypes, errors

def test_broadcasting_like_a_gufunc():
    A = T.random_matrix((3, 4, 4), np.float64, seed=13)
    U, S, Vh = la.svd(A, full_matrices=False)
    dS = np.arange(1.0, 5.0)                              # one cotangent for the whole batch
    got = la.svd_pullback(U, S, Vh, None, dS)
    assert got.shape == (3, 4, 4)
    want = np.stack([la.svd_pullback(U[i], S[i], Vh[i], None, dS) for i in range(3)])
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    # one matrix against a batch of tangents
    E = T.random_matrix((2, 1, 4, 4), np.float64, seed=14)
    tan = la.svd_pushforward(U[0], S[0], Vh[0], E)
    assert tan.U.shape == (2, 1, 4, 4) and tan.S.shape == (2, 1, 4)
    np.testing.assert_allclose(tan.S[1, 0], la.svd_jvp(A[0], E[1, 0])[1].S, rtol=1e-12)
    w, V = la.eigh(A + A.swapaxes(-1, -2))
    assert la.eigh_pullback(w, V, np.ones(4), UPLO=None).shape == (3, 4, 4)
    with pytest.raises(ValueError, match="do not broadcast"):
        la.svd_pullback(U, S, Vh, None, np.ones((2, 4)))


def test_real_input_of_eig():
    """eig of a real A: the factors are complex, the cotangent must be real."""
    A = T.random_matrix((4, 4), np.float64, seed=15)
    w, V = np.linalg.eig(A)
    assert V.dtype.kind == "c"
    dw = np.arange(4) + 0.5j
    real = la.eig_pullback(w, V, dw, real_input=True)
    cplx = la.eig_pullback(w, V, dw)
    assert real.dtype == np.float64 and cplx.dtype == np.complex128
    np.testing.assert_allclose(real, cplx.real, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="real_input=False"):
        la.eig_pullback(w.real, V.real, real_input=False)


def test_argument_checks():
    A = T.random_matrix((5, 3), np.float64, seed=16)
    U, S, Vh = np.linalg.svd(A, full_matrices=False)
    with pytest.raises(ValueError, match="thin SVD"):
        la.svd_pullback(U[:, :2], S[:2], Vh[:2], None, np.ones(2))
    Uf, Sf, Vhf = np.linalg.svd(A, full_matrices=True)
    with pytest.raises(ValueError, match="thin SVD"):
        la.polar_pullback(Uf, Sf, Vhf, np.ones((5, 3)))
    with pytest.raises(TypeError, match="same dtype"):
        la.svd_pullback(U.astype(np.float32), S, Vh, None, np.ones(3))
    with pytest.raises(ValueError, match="dS has shape"):
        la.svd_pullback(U, S, Vh, None, np.ones(4))
    with pytest.raises(ValueError, match="U contains NaN"):
        la.svd_pullback(np.full_like(U, np.nan), S, Vh, None, np.ones(3))
    with pytest.raises(ValueError, match="dS contains NaN"):
        la.svd_pullback(U, S, Vh, None, np.array([1.0, np.nan, 0.0]))
    with pytest.raises(TypeError, match="dU is complex"):
        la.svd_pullback(U, S, Vh, 1j * U)
    with pytest.raises(TypeError, match="unknown option"):
        la.svd_pullback(U, S, Vh, None, S, degeneracies="strict")


def test_errors_are_linalgad_errors_with_the_stateless_name():
    U, S, Vh = la.svd(np.eye(3), full_matrices=False)
    with pytest.raises(la.DegeneracyError, match="svd_pullback: singular values"):
        la.svd_pullback(U, S, Vh, np.ones((3, 3)))
    with pytest.raises(la.DegeneracyError, match="svd_pushforward"):
        la.svd_pushforward(U, S, Vh, np.triu(np.ones((3, 3))))
    # the loss that only sees S is exact at the degeneracy
    np.testing.assert_allclose(la.svd_pullback(U, S, Vh, None, np.ones(3)), np.eye(3), atol=1e-14)
    w, V = la.eigh(np.eye(3))
    with pytest.raises(la.DegeneracyError, match="eigh_pullback"):
        la.eigh_pullback(w, V, None, np.ones((3, 3)), UPLO=None)
    np.testing.assert_allclose(la.eigh_pullback(w, V, np.ones(3), UPLO=None), np.eye(3), atol=1e-14)


# ---------------------------------------------------------------- values-only forward mode

def _sorted_values_loss(w0, seed):
    """A smooth loss of eigenvalues in a fixed order (by Re + 0.1 Im, stable
    under small steps for separated eigenvalues, conjugate pairs included)."""
    c = np.random.default_rng(seed).standard_normal(np.shape(w0)) * (1 + 0.5j)

    def perm(w):
        return np.argsort(np.real(w) + 0.1 * np.imag(w), axis=-1)

    def loss(w):
        return float(np.real(np.sum(c * np.take_along_axis(np.asarray(w), perm(w), axis=-1))))

    def dloss(w):
        ct = np.empty(np.shape(w), complex)
        np.put_along_axis(ct, perm(w), np.conj(c), axis=-1)
        return (ct if np.iscomplexobj(w) else ct.real).astype(np.asarray(w).dtype)
    return loss, dloss


JVPS = {"svdvals": (la.svdvals_jvp, lambda A, E: la.svd_jvp(A, E)[1].S),
        "eigvalsh": (la.eigvalsh_jvp, lambda A, E: la.eigh_jvp(A, E)[1].eigenvalues),
        "eigvals": (la.eigvals_jvp, lambda A, E: la.eig_jvp(A, E)[1].eigenvalues)}


def _tight(dtype):
    return 1e-10 if np.dtype(dtype) in (np.float64, np.complex128) else 2e-3


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 4), (2, 5, 3), (3, 5)])
@pytest.mark.parametrize("name", ["svdvals", "eigvalsh", "eigvals"])
def test_values_jvp_matches_fd_and_the_full_rule(name, shape, dtype):
    jvp, full = JVPS[name]
    if name != "svdvals":
        shape = shape[:-1] + (shape[-2],)
    A = T.random_matrix(shape, dtype, seed=21)
    w, _ = jvp(A, A)
    if name == "eigvals":
        loss, dloss = _sorted_values_loss(w, 2)
        T.check_jvp(jvp, A, loss, lambda r: (dloss(r),))
    else:
        loss, dloss = T.invariant_loss(name, w, seed=2)
        T.check_jvp(jvp, A, loss, dloss)
    E = T.direction(A, seed=3)
    np.testing.assert_allclose(jvp(A, E)[1], full(A, E), rtol=_tight(dtype), atol=_tight(dtype))


def test_values_stateless_forms_broadcast_and_agree():
    A = T.random_matrix((3, 4, 4), np.complex128, seed=22)
    E = T.random_matrix((4, 4), np.complex128, seed=23)
    np.testing.assert_allclose(la.svdvals_pushforward(*la.svd(A, full_matrices=False), E),
                               la.svdvals_jvp(A, np.broadcast_to(E, A.shape))[1], rtol=1e-12)
    for uplo in (None, "L", "U"):
        np.testing.assert_allclose(la.eigvalsh_pushforward(*la.eigh(A, UPLO=uplo), E, UPLO=uplo),
                                   la.eigvalsh_jvp(A, np.broadcast_to(E, A.shape), UPLO=uplo)[1],
                                   rtol=1e-12)
    Ar = A.real.copy()
    w, V = np.linalg.eig(Ar)
    got = la.eigvals_pushforward(w, V, E.real)
    np.testing.assert_allclose(got, la.eigvals_jvp(Ar, np.broadcast_to(E.real, A.shape))[1],
                               rtol=1e-12)
    np.testing.assert_allclose(la.svdvals(A), np.linalg.svd(A, compute_uv=False))
    np.testing.assert_allclose(la.eigvalsh(A, UPLO="U"), np.linalg.eigvalsh(A, UPLO="U"))
    np.testing.assert_allclose(la.eigvals(Ar), np.linalg.eigvals(Ar))


def test_values_jvp_accepts_close_pairs_the_vector_rule_refuses():
    """A float32 pair 5e-6 apart (inside tol, 32 eps * 3 = 1.1e-5): svd_jvp
    and eigh_jvp must refuse any tangent that mixes the pair's vectors (dU
    has 1/gap); the values' tangent has no 1/gap and accepts one that moves
    the pair together (the projected tangent a multiple of the identity there)."""
    rng = np.random.default_rng(5)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    P, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    s = np.array([3.0, 1.000005, 1.0, 0.5])
    A = ((Q * s) @ P.T).astype(np.float32)
    E = T.direction(A, seed=6)
    with pytest.raises(la.DegeneracyError):
        la.svd_jvp(A, E)
    d = np.array([0.3, -1.0, -1.0, 2.0])              # moves the pair as a block
    G = ((Q * d) @ P.T).astype(np.float32)
    np.testing.assert_allclose(la.svdvals_jvp(A, G)[1], d, atol=1e-5)
    H = ((Q * s) @ Q.T).astype(np.float32)
    with pytest.raises(la.DegeneracyError):
        la.eigh_jvp(H, E)
    K = ((Q * d) @ Q.T).astype(np.float32)
    np.testing.assert_allclose(np.sort(la.eigvalsh_jvp(H, K)[1]), np.sort(d), atol=1e-5)


@pytest.mark.parametrize("name", ["svdvals", "eigvalsh", "eigvals"])
def test_values_jvp_at_equal_values(name):
    """Equal values: a tangent that moves the block as a whole has a
    derivative (checked against finite differences), one that splits it
    is refused in strict mode, averaged in subspace mode."""
    jvp = JVPS[name][0]
    rng = np.random.default_rng(8)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    A = (Q * np.array([2.0, 2.0, 2.0, 0.5])) @ Q.T        # symmetric: all three rules apply
    whole = (Q * np.array([1.0, 1.0, 1.0, -3.0])) @ Q.T   # moves the triple together
    w0, dw = jvp(A, whole)
    h = 1e-6
    fd = (np.sort(np.real(jvp(A + h * whole, whole)[0])) -
          np.sort(np.real(jvp(A - h * whole, whole)[0]))) / (2 * h)
    np.testing.assert_allclose(np.sort(np.real(dw)), fd, atol=1e-6)
    split = (Q * np.array([1.0, 2.0, 3.0, 0.0])) @ Q.T
    with pytest.raises(la.DegeneracyError, match="equal to working precision"):
        jvp(A, split)
    _, avg = jvp(A, split, degeneracy="subspace")
    np.testing.assert_allclose(np.sort(np.real(avg)), [0.0, 2.0, 2.0, 2.0], atol=1e-12)
    _, raw = jvp(A, split, degeneracy="exact")
    np.testing.assert_allclose(np.sum(np.real(raw)), 6.0, atol=1e-12)   # the trace is smooth


def test_values_jvp_refusals_zero_and_defective():
    with pytest.raises(la.DegeneracyError, match="zero"):
        la.svdvals_jvp(np.diag([1.0, 0.0]), np.diag([0.0, 1.0]))
    # the tangent leaves the zero singular value at zero: it has a derivative (0)
    np.testing.assert_allclose(la.svdvals_jvp(np.diag([1.0, 0.0]), [[0.0, 1.0], [0.0, 0.0]])[1],
                               [0.0, 0.0], atol=1e-15)
    # tall A: the component of dA outside the column space moves the zero value
    with pytest.raises(la.DegeneracyError, match="zero"):
        la.svdvals_jvp([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]], [[0, 0], [0, 0], [0, 1.0]])
    with pytest.raises(la.DegeneracyError, match="defective"):
        la.eigvals_jvp([[1.0, 1.0], [0.0, 1.0]], np.eye(2))
    with pytest.raises(la.DegeneracyError, match=r"matrix \(1,\)"):
        la.eigvalsh_jvp(np.stack([np.diag([1.0, 2.0]), np.eye(2)]), np.stack([np.diag([1.0, 2.0])] * 2))


def test_svd_subspace_pullback_at_equal_singular_values():
    """tr(U Vh) is a function of A (the trace of its polar factor Q). At
    A = c Q0, Q0 orthogonal (all singular values c), its gradient is
    (I - Q0^2) / (2c): 0 at the identity. Subspace mode must return exactly
    that, also from the 3x3 lane kernel."""
    rng = np.random.default_rng(3)
    for n in (4, 3):
        Q0 = np.linalg.qr(rng.standard_normal((n, n)))[0]
        for c, Q in ((1.0, np.eye(n)), (2.0, Q0)):
            (U, S, Vh), pullback = la.svd_vjp(c * Q, degeneracy="subspace")
            np.testing.assert_allclose(pullback(Vh.T, None, U.T), (np.eye(n) - Q @ Q) / (2 * c),
                                       atol=1e-13)


def test_importing_linalgad_imports_no_framework():
    """The adapters are optional: ``import linalgad`` (and its rules) must
    never import torch, jax or autograd."""
    code = ("import sys, linalgad, linalgad.testing, linalgad.gauge; "
            "print(sorted(m for m in ('torch', 'jax', 'autograd') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("shape", [(3, 0), (0, 3), (0, 3, 3), (2, 0, 4)], ids=str)
def test_empty_inputs(shape):
    A = np.zeros(shape)
    U, S, Vh = la.svd(A, full_matrices=False)
    assert la.svd_pullback(U, S, Vh, np.ones_like(U), np.ones_like(S), np.ones_like(Vh)).shape == shape
    assert la.svd_pushforward(U, S, Vh, A).U.shape == U.shape
    assert la.svdvals_pushforward(U, S, Vh, A).shape == S.shape
    if shape[-1] == shape[-2]:
        w, V = la.eigh(A)
        assert la.eigh_pullback(w, V, np.ones_like(w), UPLO=None).shape == shape
        assert la.eigvalsh_pushforward(w, V, A, UPLO=None).shape == w.shape
