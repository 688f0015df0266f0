"""Canonical gauge, gauge-fixed tangents against finite differences, and the
gauge diagnostic."""


import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import linalgad as la
from linalgad import gauge as g
from linalgad import testing as T

from linalgad import EigResult, EighResult
DTYPES = [np.float64, np.complex128, np.float32, np.complex64]


def _pivots_canonical(X, tie):
    """Every non-zero column: the first entry within `tie` of the largest
    modulus is real and positive."""
    for idx in np.ndindex(X.shape[:-2]):
        for j in range(X.shape[-1]):
            x = X[idx][:, j]
            a = np.abs(x)
            if a.max() == 0:
                continue
            p = int(np.argmax(a >= a.max() * (1 - tie)))
            assert abs(x[p].imag) <= 1e-6 * a.max() and x[p].real > 0, (idx, j, x)


# ---------------------------------------------------------------- the canonical gauge

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 4, 3)])
@pytest.mark.parametrize("full", [False, True])
def test_fix_svd_is_canonical_and_an_svd(shape, dtype, full):
    A = T.random_matrix(shape, dtype, seed=1)
    res = g.fix_svd(la.svd(A, full_matrices=full))
    U, S, Vh = res
    k = S.shape[-1]
    _pivots_canonical(U, g.tie_rtol(U.real.dtype))
    if full and Vh.shape[-2] > k:  # extra right vectors have their own pivots
        _pivots_canonical(np.conj(Vh[..., k:, :]).swapaxes(-1, -2), g.tie_rtol(U.real.dtype))
    rtol = 1e-4 if np.dtype(dtype).itemsize <= 8 else 1e-12
    np.testing.assert_allclose((U[..., :k] * S[..., None, :]) @ Vh[..., :k, :], A,
                               rtol=rtol, atol=rtol * 10)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), cplx=st.booleans(), m=st.integers(1, 5), n=st.integers(1, 5))
def test_canonical_svd_does_not_depend_on_the_input_gauge(seed, cplx, m, n):
    """fix(U D, S, D^H Vh) == fix(U, S, Vh) for any phases D: the canonical
    form is unique (generic spectra)."""
    A = T.random_matrix((m, n), np.complex128 if cplx else np.float64, seed=seed)
    res = la.svd(A, full_matrices=False)
    k = res.S.shape[-1]
    rng = np.random.default_rng(seed)
    D = np.exp(1j * rng.uniform(0, 2 * np.pi, k)) if cplx else rng.choice([-1.0, 1.0], k)
    other = type(res)(res.U * D, res.S, np.conj(D)[:, None] * res.Vh)
    for a, b in zip(g.fix_svd(res), g.fix_svd(other)):
        np.testing.assert_allclose(a, b, atol=1e-13)
    for a, b in zip(g.fix_svd(res), g.fix_svd(g.fix_svd(res))):  # idempotent
        np.testing.assert_array_equal(a, b)


def test_svd_gauge_keyword_uses_it():
    A = T.random_matrix((4, 3), np.complex128, seed=2)
    for a, b in zip(la.svd(A, gauge="canonical", full_matrices=False), g.fix_svd(la.svd(A, full_matrices=False))):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="gauge must be None or 'canonical'"):
        la.svd(A, gauge="lapack", full_matrices=False)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
def test_ties_go_to_the_lowest_index_despite_roundoff(dtype):
    """Entries of equal modulus up to roundoff: the pivot must not depend on
    which one roundoff made larger."""
    eps = np.finfo(np.dtype(dtype)).eps
    c = 1 / np.sqrt(2)
    for bump in (+4 * eps, -4 * eps):
        X = np.array([[c, 0.6], [c * (1 + bump), 0.8]], dtype)
        assert list(g.pivot(X)) == [0, 1]
    ph = np.exp(0.3j) if np.dtype(dtype).kind == "c" else -1.0
    Y = g.gauge_fix(np.array([[c], [c * (1 + 4 * eps)]], dtype) * ph)
    assert Y[0, 0].real > 0 and abs(Y[0, 0].imag) < 10 * eps
    # a real difference (far above the threshold) is not a tie
    assert g.pivot(np.array([[0.7], [0.7 * (1 + 1e-3)]], dtype))[0] == 1
    assert g.tie_rtol(np.float64) < 1e-12 and g.tie_rtol(np.float32) < 1e-3


def test_zero_columns_are_left_alone():
    X = np.array([[0.0, -0.6j], [0.0, 0.8]], complex)
    Y, dY = g._fix_cols(X, np.ones_like(X))
    np.testing.assert_array_equal(Y[:, 0], 0)
    np.testing.assert_array_equal(dY[:, 0], 1)  # no phase correction from a 0/0
    assert np.isfinite(dY).all() and Y[1, 1].real > 0 and abs(Y[1, 1].imag) < 1e-15
    assert g.gauge_fix(np.zeros((0, 3))).shape == (0, 3)


def test_gauge_fix_dispatch():
    A = T.random_matrix((3, 3), np.complex128, kind="hermitian", seed=3)
    w, V = np.linalg.eigh(A)
    res = g.gauge_fix(EighResult(w, V * 1j))
    assert isinstance(res, EighResult)
    _pivots_canonical(res.eigenvectors, 1e-12)
    np.testing.assert_allclose((res.eigenvectors * w) @ np.conj(res.eigenvectors.T), A, atol=1e-12)
    with pytest.raises(TypeError, match="gauge_fix takes"):
        g.gauge_fix((w, V, V))


# ---------------------------------------------------------------- gauge-fixed tangents

def _thin_svd(X):
    return la.svd(X, full_matrices=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 3, 3)])
def test_fixed_svd_jvp_matches_finite_differences(shape, dtype):
    A = T.random_matrix(shape, dtype, seed=4)
    rep = T.check_fd_gauge_fixed(la.svd_jvp, A, g.fix_svd, primal=_thin_svd)
    assert rep.ok


@pytest.mark.parametrize("shape", [(4, 3), (3, 4)])
def test_fixed_svd_jvp_full_matrices_one_extra_vector(shape):
    """One extra column is fixed by orthogonality up to its phase, so its
    canonical tangent is defined and must match too."""
    A = T.random_matrix(shape, np.complex128, seed=5)
    T.check_fd_gauge_fixed(lambda X, E, gauge=None: la.svd_jvp(X, E, full_matrices=True, gauge=gauge),
                           A, g.fix_svd, primal=lambda X: la.svd(X, full_matrices=True))


def test_without_the_phase_correction_fd_disagrees():
    """The -i theta y term is needed: dropping it fails for complex data."""
    A = T.random_matrix((4, 3), np.complex128, seed=6)

    def no_theta(X, E, gauge=None):
        res, tan = la.svd_jvp(X, E)
        ph, _, _, phv = g._svd_phases(res.U, res.Vh)
        return (type(res)(res.U * ph, res.S, res.Vh * phv[:, None]),
                type(tan)(tan.U * ph, tan.S, tan.Vh * phv[:, None]))
    with pytest.raises(AssertionError, match="dU"):
        T.check_fd_gauge_fixed(no_theta, A, g.fix_svd, primal=_thin_svd)


def _eigh_jvp_reference(A, dA, gauge=None):
    """Plain NumPy eigh JVP (docs/eigh.md), Hermitian A and dA, C_ii = 0."""
    w, V = np.linalg.eigh(A)
    R = np.conj(V.T) @ dA @ V
    dw = np.real(np.diag(R))
    F = w[None, :] - w[:, None]
    np.fill_diagonal(F, 1)
    C = R / F
    np.fill_diagonal(C, 0)
    res, tan = EighResult(w, V), EighResult(dw, V @ C)
    return g.fix_eigh_jvp(res, tan) if g.wants(gauge) else (res, tan)


def _eig_jvp_reference(A, dA, gauge=None):
    """Plain NumPy eig JVP keeping unit norm: C_ii = -Re sum_k (V^H V)_ik C_ki."""
    w, V = np.linalg.eig(A)
    R = np.linalg.solve(V, dA @ V)
    dw = np.diag(R).copy()
    F = w[None, :] - w[:, None]
    np.fill_diagonal(F, 1)
    C = R / F
    np.fill_diagonal(C, 0)
    Gm = np.conj(V.T) @ V
    C[np.diag_indices_from(C)] = -np.real(np.sum(Gm * C.T, axis=1))
    res, tan = EigResult(w, V), EigResult(dw, V @ C)
    return g.fix_eig_jvp(res, tan) if g.wants(gauge) else (res, tan)


def _eig_matched(w0):
    """eig with its eigenvalues put in the order of w0 (nearest match)."""
    def primal(X):
        w, V = np.linalg.eig(X)
        o = [int(np.argmin(np.abs(w - x))) for x in w0]
        assert len(set(o)) == len(o)
        return EigResult(w[o], V[:, o])
    return primal


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_fixed_eigh_jvp_matches_fd_reference(dtype):
    A = T.random_matrix((5, 5), dtype, kind="hermitian", seed=7)
    T.check_fd_gauge_fixed(_eigh_jvp_reference, A, g.fix_eigh,
                           primal=lambda X: EighResult(*np.linalg.eigh(X)), structure="hermitian")


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_fixed_eig_jvp_matches_fd_reference(dtype):
    """Real A has complex-conjugate pairs: the fixed pair stays conjugate."""
    A = T.random_matrix((5, 5), dtype, seed=8)
    w0 = np.linalg.eig(A)[0]
    T.check_fd_gauge_fixed(_eig_jvp_reference, A, g.fix_eig, primal=_eig_matched(w0))
    if dtype == np.float64 and np.iscomplexobj(w0):
        V = g.fix_eig(EigResult(*np.linalg.eig(A))).eigenvectors
        i = int(np.argmax(w0.imag > 0))
        j = int(np.argmin(np.abs(w0 - np.conj(w0[i]))))
        np.testing.assert_allclose(V[:, j], np.conj(V[:, i]), atol=1e-12)


def _rule(name):
    f = getattr(la, name, None)
    if f is None:
        pytest.skip(f"linalgad.{name} does not exist yet")
    return f


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_fixed_eigh_jvp_of_the_rule(dtype):
    eigh_jvp, eigh = _rule("eigh_jvp"), _rule("eigh")
    A = T.random_matrix((2, 4, 4), dtype, kind="hermitian", seed=9)
    T.check_fd_gauge_fixed(eigh_jvp, A, g.fix_eigh, primal=eigh, structure="hermitian")


@pytest.mark.parametrize("normalization", ["lapack", "norm"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_fixed_eig_jvp_of_the_rule(dtype, normalization):
    """"norm" leaves the phase to the gauge: only the -i theta v term of
    fix_eig_jvp makes it match."""
    eig_jvp, eig = _rule("eig_jvp"), _rule("eig")
    A = T.random_matrix((4, 4), dtype, seed=10)
    w0 = eig(A).eigenvalues

    def primal(X):
        w, V = eig(X)
        o = [int(np.argmin(np.abs(w - x))) for x in w0]
        return type(eig(A))(w[..., o], V[..., o])
    T.check_fd_gauge_fixed(lambda X, E, gauge=None: eig_jvp(X, E, normalization=normalization, gauge=gauge),
                           A, g.fix_eig, primal=primal)


# ---------------------------------------------------------------- gauge_report

def test_report_invariant_loss_is_clean():
    A = T.random_matrix((2, 5, 3), np.complex128, seed=11)
    res = la.svd(A, full_matrices=False)
    _, dloss = T.invariant_loss("svd", res)
    rep = g.gauge_report(res, dloss(res))
    assert rep.ok and rep.phase_rel < 1e-14 and rep.block_rel == 0
    assert rep.phase.shape == (2, 3) and rep.block.shape == (2, 3) and rep.scale.shape == (2,)
    assert "gauge invariant" in str(rep)


def test_report_measures_the_phase_part():
    """L = Re sum(U[:, 1]) sees the phase of u_1 only: its report has the
    derivative along that phase rotation, and nothing elsewhere."""
    A = T.random_matrix((4, 3), np.complex128, seed=12)
    res = la.svd(A, full_matrices=False)
    dU = np.zeros_like(res.U)
    dU[:, 1] = 1
    rep = g.gauge_report(res, (dU, None, None))
    assert not rep.ok and "GAUGE DEPENDENT" in str(rep)
    # finite difference of L along u_1 -> u_1 e^{i phi}
    expected = abs(np.imag(np.sum(res.U[:, 1])))
    np.testing.assert_allclose(rep.phase, [0, expected, 0], atol=1e-14)
    np.testing.assert_allclose(rep.scale, 2.0)
    assert "vector 1" in str(rep)
    # real data has no phase part
    Ar = T.random_matrix((4, 3), seed=12)
    assert g.gauge_report(la.svd(Ar, full_matrices=False), (np.ones((4, 3)), None, None)).phase_rel == 0


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_report_degenerate_block(dtype):
    """Repeated singular values: |U|^2 depends on the basis of the block,
    a projector loss does not."""
    A = T.random_matrix((5, 4), dtype, gap=0.0, seed=13)
    res = la.svd(A, full_matrices=False)
    rng = np.random.default_rng(0)
    W = rng.standard_normal(res.U.shape)
    rep = g.gauge_report(res, (2 * W * res.U, None, None))
    assert not rep.ok and rep.block_rel > 1e-3 and int(np.sum(rep.blocks)) == 1
    assert rep.block[2:].max() == 0  # only the block's vectors (0, 1) are named
    # L = Re tr(B P) with P = U_b U_b^H the block's projector: dU_b = 2 B U_b
    B = rng.standard_normal((5, 5)) + (1j * rng.standard_normal((5, 5)) if dtype == np.complex128 else 0)
    B = B + np.conj(B.T)
    dU = np.zeros_like(res.U)
    dU[:, :2] = 2 * B @ res.U[:, :2]
    rep = g.gauge_report(res, (dU, None, None))
    assert rep.ok and rep.block_rel < 1e-12, str(rep)


def test_report_eigh_and_eig():
    H = T.random_matrix((4, 4), np.complex128, kind="hermitian", spectrum=[1, 1, 2, 3], seed=14)
    w, V = np.linalg.eigh(H)
    W = np.random.default_rng(1).standard_normal(V.shape)
    rep = g.gauge_report(EighResult(w, V), (None, 2 * W * V))
    assert rep.kind == "eigh" and rep.phase_rel < 1e-13 and rep.block_rel > 1e-3
    assert g.gauge_report(EighResult(w, V), (np.ones(4), None)).ok  # eigenvalues only
    rep = g.gauge_report(EighResult(w, V), (None, np.ones_like(V)))
    assert rep.phase_rel > 1e-3
    A = T.random_matrix((4, 4), np.complex128, seed=15)
    w, V = np.linalg.eig(A)
    rep = g.gauge_report(EigResult(w, V), (None, 2 * W * V))
    assert rep.kind == "eig" and rep.ok
    rep = g.gauge_report(EigResult(w, V), (None, 1j * V + np.ones_like(V)))
    assert not rep.ok
    with pytest.raises(TypeError, match="gauge_report takes"):
        g.gauge_report((w, V), (None, V))


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_report_numbers_are_derivatives_along_the_gauge(dtype):
    """phase[j] = |dL/dphi| for u_j, v_j -> e^{i phi} u_j, e^{i phi} v_j, and
    block[j] = the size of dL along rotations mixing j with its block
    partner (real and imaginary generators), measured by finite differences
    of the linear loss L = Re<dU, U> + Re<dVh, Vh>."""
    from scipy.linalg import expm
    cplx = dtype == np.complex128
    A = T.random_matrix((5, 4), dtype, spectrum=[3.0, 2.0, 2.0, 1.0], seed=16)
    res = la.svd(A, full_matrices=False)
    rng = np.random.default_rng(2)
    dU, dVh = (_r(rng, res.U.shape, cplx), _r(rng, res.Vh.shape, cplx))
    rep = g.gauge_report(res, (dU, None, dVh))

    def L(R):  # the factors moved by a gauge transformation R (k x k unitary)
        U, Vh = res.U @ R, np.conj(R.T) @ res.Vh
        return np.real(np.vdot(dU, U)) + np.real(np.vdot(dVh, Vh))

    def dL(X, h=1e-6):
        return (L(expm(h * X)) - L(expm(-h * X))) / (2 * h)
    k = 4
    for j in range(k):
        Xp = np.zeros((k, k), complex)
        Xp[j, j] = 1j
        expected = abs(dL(Xp)) if cplx else 0.0
        assert rep.phase[j] == pytest.approx(expected, rel=1e-6, abs=1e-9)
    E = np.zeros((k, k))
    E[1, 2] = 1
    Xr, Xi = E - E.T, 1j * (E + E.T)
    size = np.hypot(dL(Xr), dL(Xi) if cplx else 0.0)
    assert rep.block[1] == pytest.approx(size, rel=1e-6) and rep.block[2] == pytest.approx(size, rel=1e-6)
    assert rep.block[0] == 0 and rep.block[3] == 0


def _r(rng, shape, cplx):
    X = rng.standard_normal(shape)
    return X + 1j * rng.standard_normal(shape) if cplx else X


def test_tied_entries_give_a_reproducible_canonical_gauge():
    """[[2, 1], [1, 2]] has eigenvectors [1, 1]/sqrt2 and [1, -1]/sqrt2: both
    entries of each tie. Roundoff-level perturbations must not flip the
    pivot (and so the sign) of the canonical vectors."""
    rng = np.random.default_rng(0)
    base = np.array([[2.0, 1.0], [1.0, 2.0]])
    ref = None
    for _ in range(200):
        N = rng.standard_normal((2, 2)) * 1e-15
        V = g.gauge_fix(EighResult(*np.linalg.eigh(base + N + N.T))).eigenvectors
        if ref is None:
            ref = V
        np.testing.assert_allclose(V, ref, atol=1e-12)
    # eigenvalue 1: [1, -1]/sqrt2, eigenvalue 3: [1, 1]/sqrt2; pivot row 0 for both
    np.testing.assert_allclose(ref, np.array([[1, 1], [-1, 1]]) / np.sqrt(2), atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32), m=st.integers(1, 5), n=st.integers(1, 5),
       batch=st.sampled_from([(), (2,)]))
def test_fixed_svd_jvp_matches_fd_random(seed, m, n, batch):
    A = T.random_matrix(batch + (m, n), np.complex128, seed=seed)
    T.check_fd_gauge_fixed(la.svd_jvp, A, g.fix_svd, primal=_thin_svd, n_directions=1, seed=seed)


# ---------------------------------------------------------------- pullbacks through the gauge

def _rand_like(rng, X):
    X = np.asarray(X)
    Z = rng.standard_normal(X.shape)
    return (Z + 1j * rng.standard_normal(X.shape)).astype(X.dtype) if np.iscomplexobj(X) else Z.astype(X.dtype)


def _rdot_all(a, b):
    return sum(float(np.real(np.vdot(x, y))) for x, y in zip(a, b) if x is not None and y is not None)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape,full", [((4, 4), False), ((5, 3), False), ((3, 5), False),
                                        ((2, 4, 3), False), ((4, 3), True), ((3, 5), True)])
def test_pull_svd_is_the_transpose_of_fix_svd_jvp(shape, full, dtype):
    """pull_svd(res, ybar) must satisfy Re<ybar, fixed tangent> =
    Re<pull(ybar), raw tangent> for every raw tangent (exact, no FD)."""
    rng = np.random.default_rng(0)
    A = T.random_matrix(shape, dtype, seed=3)
    res = la.svd(A, full_matrices=full)
    for _ in range(3):
        tan = type(res)(*(_rand_like(rng, x) for x in res))
        ybar = type(res)(*(_rand_like(rng, x) for x in res))
        _, ftan = g.fix_svd_jvp(res, tan)
        lhs = _rdot_all(ybar, ftan)
        rhs = _rdot_all(g.pull_svd(res, ybar), tan)
        assert lhs == pytest.approx(rhs, rel=1e-11, abs=1e-11)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_pull_eigh_is_the_transpose_of_fix_eigh_jvp(dtype):
    rng = np.random.default_rng(1)
    H = T.random_matrix((2, 4, 4), dtype, kind="hermitian", seed=4)
    res = EighResult(*np.linalg.eigh(H))
    for _ in range(3):
        tan = EighResult(*(_rand_like(rng, x) for x in res))
        ybar = EighResult(*(_rand_like(rng, x) for x in res))
        lhs = _rdot_all(ybar, g.fix_eigh_jvp(res, tan)[1])
        rhs = _rdot_all(g.pull_eigh(res, ybar), tan)
        assert lhs == pytest.approx(rhs, rel=1e-11, abs=1e-11)
    assert g.pull_eigh(res, (None, None)) == (None, None)


# ---------------------------------------------------------------- subspace-mode GaugeError

def _rotating_cotangent(rule, dtype):
    """A result with a degenerate pair (1, 2), its pullback in subspace mode,
    and a cotangent Re<x_2, x_1> that rotates inside the block."""
    if rule == "svd":
        A = T.random_matrix((4, 4), dtype, spectrum=[3.0, 2.0, 2.0, 1.0], seed=20)
        res, pullback = la.svd_vjp(A, degeneracy="subspace")
        dU = np.zeros_like(res.U)
        dU[:, 1] = res.U[:, 2]
        return lambda: pullback(dU=dU)
    if rule == "eigh":
        A = T.random_matrix((4, 4), dtype, kind="hermitian", spectrum=[1.0, 2.0, 2.0, 3.0], seed=21)
        res, pullback = la.eigh_vjp(A, degeneracy="subspace")
        dV = np.zeros_like(res.eigenvectors)
        dV[:, 1] = res.eigenvectors[:, 2]
        return lambda: pullback(dV=dV)
    S = T.random_matrix((4, 4), dtype, seed=22) + 3 * np.eye(4)       # eig: S diag S^-1
    A = (S * np.array([1.0, 2.0, 2.0, 3.0])) @ np.linalg.inv(S)
    res, pullback = la.eig_vjp(A, degeneracy="subspace")
    i, j = np.flatnonzero(np.abs(res.eigenvalues - 2.0) < 1e-6)
    dV = np.zeros_like(res.eigenvectors)
    dV[:, i] = res.eigenvectors[:, j]
    return lambda: pullback(dV=dV)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("rule,alternative", [("svd", "polar_vjp"), ("eigh", "funm_vjp"),
                                              ("eig", "eigh_vjp")])
def test_subspace_gauge_error_does_not_suggest_subspace(rule, alternative, dtype):
    """The GaugeError of degeneracy='subspace' is raised in that mode, so its
    remedies must be the other ones (not the DegeneracyError's list)."""
    with pytest.raises(la.GaugeError, match="rotates inside that span") as info:
        _rotating_cotangent(rule, dtype)()
    msg = str(info.value)
    remedies = msg.split("so the derivative is not defined;", 1)[1]
    assert "subspace" not in remedies, msg
    assert alternative in remedies and "degeneracy='lorentz'" in remedies, msg
    assert "only through their span" in remedies, msg


def test_subspace_remedies_always_offer_lorentz():
    from linalgad._errors import _subspace_remedies
    assert "subspace" not in _subspace_remedies("pass degeneracy='subspace'")
    assert "degeneracy='lorentz'" in _subspace_remedies("")


# ---------------------------------------------------------------- polar: no gauge

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (2, 3, 4)])
def test_polar_gauge_keyword_is_deprecated_and_changes_nothing(shape, dtype):
    """Q and P are unique for full-rank A: gauge='canonical' changes nothing
    and warns that it is deprecated; a bad value is refused as by the other
    rules."""
    A = T.random_matrix(shape, dtype, seed=23)
    E = T.direction(A, seed=24)
    want = la.polar(A)
    with pytest.warns(DeprecationWarning, match="polar: gauge= is deprecated"):
        got = la.polar(A, gauge="canonical")
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    with pytest.warns(DeprecationWarning, match="polar_vjp: gauge="):
        got = la.polar_vjp(A, gauge="canonical")[0]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    with pytest.warns(DeprecationWarning, match="polar_jvp: gauge="):
        got = la.polar_jvp(A, E, gauge="canonical")[1]
    for a, b in zip(got, la.polar_jvp(A, E)[1]):
        np.testing.assert_array_equal(a, b)
    for f in (lambda: la.polar(A, gauge="lapack"), lambda: la.polar_vjp(A, gauge=1),
              lambda: la.polar_jvp(A, E, gauge="Canonical")):
        with pytest.raises(ValueError, match="gauge must be None or 'canonical'"):
            f()


def test_gauge_fix_of_a_polar_result_is_a_copy_of_it():
    A = T.random_matrix((2, 4, 3), np.complex128, seed=25)
    res, _ = la.polar_vjp(A)                          # read-only factors
    fixed = la.gauge_fix(res)
    assert isinstance(fixed, la.PolarResult)
    for a, b in zip(fixed, res):
        np.testing.assert_array_equal(a, b)
        assert not np.shares_memory(a, b) and a.flags.writeable
    with pytest.raises(TypeError, match="gauge_report takes"):   # nothing to report on
        la.gauge_report(res, (None, None))
