"""eigh rules: finite differences for every uplo (raw directions for "L"/"U",
Hermitian ones for None), adjointness, the reference twin, every degeneracy
mode with its known answer or its error, the gauge (autograd PR #527), batches,
single precision, bad input and memory layouts."""

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import linalgad as la
from linalgad import _reference as ref
from linalgad import testing as lt

DTYPES = [np.float64, np.complex128, np.float32, np.complex64]
UPLOS = ["L", "U", None]
SHAPES = [(4, 4), (2, 5, 5), (1, 1), (2, 1, 3, 3)]
EPS = np.finfo(np.float64).eps


def H(X):
    return np.conj(np.swapaxes(X, -1, -2))


def wide(dtype):
    return np.complex128 if np.dtype(dtype).kind == "c" else np.float64


def raw_input(shape, dtype, seed, uplo, **kw):
    """A Hermitian matrix with a well-separated spectrum; for "L"/"U" plus a
    non-Hermitian perturbation of the triangle eigh does not read (and of the
    diagonal's imaginary part), so the tests see the triangle semantics."""
    A = lt.random_matrix(shape, dtype, kind="hermitian", seed=seed, **kw)
    if uplo is None:
        return A
    junk = lt.direction(A, seed=seed + 1000)
    mask = np.triu(np.ones(shape[-2:]), 1) if uplo == "L" else np.tril(np.ones(shape[-2:]), -1)
    A = A + (junk * mask).astype(A.dtype)
    if np.dtype(dtype).kind == "c":
        A = A + 1j * np.eye(shape[-1], dtype=A.dtype) * 0.3
    return A.astype(dtype)


def structure(uplo, A=None):
    """Directions for finite differences: any raw perturbation when eigh
    reads a triangle; Hermitian ones when A is taken as Hermitian. (A 1x1
    Hermitian direction is real, so testing's "imaginary part" direction
    would be exactly zero: raw directions there, which UPLO=None accepts
    too, since it differentiates eigh(herm(A)).)"""
    if A is not None and A.shape[-1] == 1:
        # ... and for complex 1x1 real directions only: eigh ignores the
        # imaginary part of the diagonal, so that derivative is exactly 0 and
        # its finite difference pure rounding, which no relative test accepts
        return "real" if np.iscomplexobj(A) else None
    return "hermitian" if uplo is None else None


def cots(res, seed):
    _, dloss = lt.invariant_loss("eigh", res, seed=seed)
    return dloss(res)


# --- finite differences, adjointness, the reference ----------------------------------

@pytest.mark.parametrize("uplo", UPLOS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_vjp_matches_finite_differences(shape, dtype, uplo):
    A = raw_input(shape, dtype, 1, uplo)
    vjp = functools.partial(la.eigh_vjp, UPLO=uplo)
    loss, dloss = lt.invariant_loss("eigh", vjp(A)[0], seed=2)
    lt.check_vjp(vjp, A, loss, dloss, structure=structure(uplo, A))


@pytest.mark.parametrize("uplo", UPLOS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_jvp_matches_finite_differences(shape, dtype, uplo):
    A = raw_input(shape, dtype, 3, uplo)
    jvp = functools.partial(la.eigh_jvp, UPLO=uplo)
    loss, dloss = lt.invariant_loss("eigh", la.eigh(A, UPLO=uplo), seed=4)
    lt.check_jvp(jvp, A, loss, dloss, structure=structure(uplo, A))


@pytest.mark.parametrize("uplo", UPLOS)
def test_the_triangle_rule_is_exact_for_raw_perturbations_and_the_hermitian_one_is_not(uplo):
    """NumPy's eigh(A, UPLO="L") reads one triangle: its gradient must be the
    triangle cotangent; the Hermitian-part cotangent fails finite
    differences in a raw direction (the survey's -15.5 vs -21.1)."""
    A = raw_input((5, 5), np.complex128, 5, uplo or "L")
    res, pullback = la.eigh_vjp(A, UPLO=uplo or "L")
    loss, dloss = lt.invariant_loss("eigh", res, seed=6)
    lt.check_vjp(functools.partial(la.eigh_vjp, UPLO=uplo or "L"), A, loss, dloss)
    herm = ref.eigh_vjp(res.eigenvalues, res.eigenvectors, *dloss(res), uplo=None)
    E = lt.direction(A, seed=7)
    fd = (loss(la.eigh(A + 1e-6 * E)) - loss(la.eigh(A - 1e-6 * E))) / 2e-6
    assert abs(np.real(np.vdot(herm, E)) - fd) > 1e-3 * abs(fd)


@pytest.mark.parametrize("uplo", UPLOS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 5), (3, 4, 4)])
def test_adjointness(shape, dtype, uplo):
    """Raw directions for every uplo: the JVP reads the tangent as the
    primal reads A, so the pair is adjoint on the whole space."""
    A = raw_input(shape, dtype, 8, uplo)
    vjp = functools.partial(la.eigh_vjp, UPLO=uplo)
    jvp = functools.partial(la.eigh_jvp, UPLO=uplo)
    _, dloss = lt.invariant_loss("eigh", vjp(A)[0], seed=9)
    lt.check_adjoint(vjp, jvp, A, dloss)


@pytest.mark.parametrize("uplo", UPLOS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("which", [(1, 1), (1, 0), (0, 1), (0, 0)])
def test_core_matches_the_numpy_reference_for_every_subset_of_none(dtype, uplo, which):
    A = raw_input((2, 6, 6), dtype, 10, uplo)
    res, pullback = la.eigh_vjp(A, UPLO=uplo)
    given_ = [c if w else None for c, w in zip(cots(res, 11), which)]
    got = pullback(*given_)
    want = ref.eigh_vjp(res.eigenvalues, res.eigenvectors, *given_, uplo=uplo)
    np.testing.assert_allclose(got, want, atol=1e-12 * max(1.0, np.abs(want).max()))
    E = lt.direction(A, seed=12)
    _, tan = la.eigh_jvp(A, E, UPLO=uplo)
    dw, dV = ref.eigh_jvp(res.eigenvalues, res.eigenvectors, E, uplo=uplo)
    np.testing.assert_allclose(tan.eigenvalues, dw, atol=1e-12)
    np.testing.assert_allclose(tan.eigenvectors, dV, atol=1e-11)


@pytest.mark.parametrize("uplo", UPLOS)
def test_uplo_none_is_the_hermitian_part_and_a_hermitian_cotangent(uplo):
    A = raw_input((5, 5), np.complex128, 13, "L")
    res, pullback = la.eigh_vjp(A, UPLO=uplo)
    dA = pullback(*cots(res, 14))
    if uplo is None:
        np.testing.assert_allclose(res.eigenvalues, np.linalg.eigvalsh(0.5 * (A + H(A))), atol=1e-12)
        np.testing.assert_allclose(dA, H(dA), atol=1e-13)
    else:
        np.testing.assert_allclose(res.eigenvalues, np.linalg.eigvalsh(A, UPLO=uplo), atol=1e-12)
        other = np.triu(dA, 1) if uplo == "L" else np.tril(dA, -1)
        assert not other.any()
        assert not np.diagonal(dA).imag.any()


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_single_precision_is_computed_in_its_dtype_and_agrees_with_double(dtype):
    A = raw_input((6, 6), dtype, 15, "L")
    res, pullback = la.eigh_vjp(A)
    assert res.eigenvectors.dtype == dtype and res.eigenvalues.dtype == np.float32
    c = cots(res, 16)
    dA = pullback(*c)
    assert dA.dtype == dtype
    _, pb64 = la.eigh_vjp(A.astype(wide(dtype)))
    dA64 = pb64(c[0].astype(np.float64), c[1].astype(wide(dtype)))
    rtol, atol = lt.tolerance(dtype)
    np.testing.assert_allclose(dA, dA64, rtol=rtol, atol=atol * np.abs(dA64).max())
    _, tan = la.eigh_jvp(A, lt.direction(A, seed=17))
    assert tan.eigenvalues.dtype == np.float32 and tan.eigenvectors.dtype == dtype


# --- degeneracy ------------------------------------------------------------------------

TIE = [1.0, 2.0, 3.0, 3.0]                      # eigenvalues 2 and 3 (0-based) tie
GAPS = [0.0, EPS ** (1 / 3) / 100, 1e-9]


def tie_input(dtype, seed, gap=0.0):
    return lt.random_matrix((4, 4), dtype, kind="hermitian", spectrum=[1.0, 2.0, 3.0, 3.0 + gap],
                            seed=seed)


@pytest.mark.parametrize("gap", GAPS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_eigenvalue_only_losses_are_exact_at_any_degeneracy(dtype, gap):
    """Weights equal on the (near-)tied pair: the loss is smooth, and the
    rule is V diag(dw) V^H with no 1/gap anywhere."""
    A = tie_input(dtype, 18, gap)
    c = np.array([0.5, -1.0, 2.0, 2.0])
    loss = lambda r: float(np.sum(c * r.eigenvalues))
    for uplo in UPLOS:
        lt.check_vjp(functools.partial(la.eigh_vjp, UPLO=uplo), A, loss, lambda r: (c, None),
                     structure="hermitian")
    res, pullback = la.eigh_vjp(A)
    np.testing.assert_allclose(pullback(dw=c), ref.triangle_cotangent((res.eigenvectors * c) @ H(res.eigenvectors), "L"),
                               atol=1e-12)


@pytest.mark.parametrize("mode", la.MODES)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_a_vector_outside_every_degenerate_block_is_exact(dtype, mode):
    if mode == "taylor":
        pytest.skip("taylor replaces every 1/gap by its series: not the exact rule")
    A = tie_input(dtype, 19)
    W = np.zeros((4, 4))
    W[:, 0] = [1.0, 2.0, 0.5, 1.5]              # only V[:, 0] (eigenvalue 1, simple)
    loss = lambda r: float(np.sum(W * np.abs(r.eigenvectors) ** 2))
    dloss = lambda r: (None, (2 * W * r.eigenvectors).astype(r.eigenvectors.dtype))
    with np.errstate(all="ignore"):
        lt.check_vjp(functools.partial(la.eigh_vjp, degeneracy=mode), A, loss, dloss,
                     structure="hermitian")


def projector_loss(G):
    """Re<G, P> with P the projector on the top-2 eigenvectors: depends on that
    block only through its span."""
    def loss(r):
        Vb = r.eigenvectors[..., 2:]
        return float(np.real(np.vdot(G, Vb @ H(Vb))))

    def dloss(r):
        dV = np.zeros_like(r.eigenvectors)
        dV[..., 2:] = ((G + H(G)) @ r.eigenvectors[..., 2:]).astype(r.eigenvectors.dtype)
        return None, dV
    return loss, dloss


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_strict_refuses_a_cotangent_touching_a_degenerate_block_and_points_to_funm(dtype):
    A = tie_input(dtype, 20)
    res, pullback = la.eigh_vjp(A)
    loss, dloss = projector_loss(lt.direction(A, seed=21))
    with pytest.raises(la.DegeneracyError) as e:
        pullback(*dloss(res))
    msg = str(e.value)
    assert "eigenvalues 2 and 3" in msg and "gap" in msg
    assert "subspace" in msg and "funm_vjp" in msg and "lorentz" in msg
    with pytest.raises(la.DegeneracyError):
        la.eigh_jvp(A, lt.direction(A, structure="hermitian", seed=22))


@pytest.mark.parametrize("gap", GAPS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_subspace_is_exact_for_a_span_only_loss(dtype, gap):
    """At an exact tie subspace drops the in-block coupling; at the tiny gaps
    (above tol) the exact formula runs, and skew(K) in the block is ~0 for
    this loss, so 1/gap amplifies only rounding."""
    A = tie_input(dtype, 23, gap)
    loss, dloss = projector_loss(lt.direction(A, seed=24))
    mode = "subspace" if gap == 0 else "strict"
    lt.check_vjp(functools.partial(la.eigh_vjp, degeneracy=mode), A, loss, dloss,
                 structure="hermitian")


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_subspace_refuses_a_cotangent_that_rotates_inside_the_block(dtype):
    A = tie_input(dtype, 25)
    res, pullback = la.eigh_vjp(A, degeneracy="subspace")
    dV = np.zeros_like(res.eigenvectors)
    dV[:, 2] = res.eigenvectors[:, 3]                       # d/dV of Re<V[:,3], V[:,2]>: basis-dependent
    with pytest.raises(la.GaugeError, match="span"):
        pullback(dV=dV)


def test_exact_mode_gives_ieee_inf_nan_at_a_tie():
    A = np.diag([1.0, 2.0, 3.0, 3.0])            # an exact tie in floating point too
    res, pullback = la.eigh_vjp(A, degeneracy="exact")
    _, dloss = lt.invariant_loss("eigh", res, seed=27)
    with np.errstate(all="ignore"):
        assert not np.isfinite(pullback(*dloss(res))).all()


def test_lorentz_is_finite_at_a_tie_and_converges_to_the_exact_rule_as_eps_shrinks():
    A = lt.random_matrix((5, 5), np.float64, kind="hermitian", spectrum=[0.5, 1, 2, 2 + 1e-3, 3],
                         seed=28)
    res, _ = la.eigh_vjp(A)
    c = cots(res, 29)
    exact = la.eigh_vjp(A, degeneracy="exact")[1](*c)
    errs = [np.abs(la.eigh_vjp(A, degeneracy="lorentz", eps=e)[1](*c) - exact).max()
            for e in (1e-8, 1e-10, 1e-12, 1e-14)]
    assert all(a > b for a, b in zip(errs, errs[1:]))
    assert errs[-1] < 1e-4 * np.abs(exact).max()
    tie = tie_input(np.float64, 30)
    res, pb = la.eigh_vjp(tie, degeneracy="lorentz")
    assert np.isfinite(pb(*cots(res, 31))).all()


def test_taylor_converges_to_the_exact_rule_and_stays_bounded_at_a_tie():
    A = lt.random_matrix((5, 5), np.float64, kind="psd", spectrum=[0.5, 1.0, 2.0, 3.0, 4.0],
                         seed=32)
    res, _ = la.eigh_vjp(A)
    c = cots(res, 33)
    exact = la.eigh_vjp(A)[1](*c)
    errs = [np.abs(la.eigh_vjp(A, degeneracy="taylor", order=K)[1](*c) - exact).max()
            for K in (1, 4, 16, 64, 256)]
    assert all(a > b for a, b in zip(errs, errs[1:]))
    assert errs[-1] < 1e-8 * np.abs(exact).max()
    tie = lt.random_matrix((4, 4), np.float64, kind="psd", spectrum=[1.0, 2.0, 3.0, 3.0], seed=34)
    res, pb = la.eigh_vjp(tie, degeneracy="taylor", order=8)
    c = cots(res, 35)
    out = pb(*c)
    assert np.isfinite(out).all()
    # 1/(w_j - w_i) -> at most order / w_i (= 8/3 here): bounded by the
    # cotangent's size times that
    bound = 8 / 3.0 * 2 * np.abs(c[1]).sum() + np.abs(c[0]).sum()
    assert np.abs(out).max() < bound


def test_taylor_equals_the_gradient_of_power_iteration():
    """For the top eigenvector of a PSD matrix, degeneracy='taylor' with
    order K is the K-step power-iteration gradient: the coupling of the top
    vector to vector j is (1/w_top) sum_{k<K} (w_j/w_top)^k. Check it on a
    loss that depends on the top vector only, against the exact geometric sum."""
    w = np.array([0.5, 1.0, 2.0, 3.0])
    A = lt.random_matrix((4, 4), np.float64, kind="psd", spectrum=w, seed=36)
    res, _ = la.eigh_vjp(A)
    V = res.eigenvectors
    g = lt.direction(V, seed=37)
    dV = np.zeros_like(V)
    dV[:, 3] = g[:, 3]
    K = 5
    out = la.eigh_vjp(A, degeneracy="taylor", order=K)[1](dV=dV)
    k = V.T @ dV
    S = k - k.T
    F = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            if i < j:
                F[i, j] = sum((w[i] / w[j]) ** p for p in range(K)) / w[j]
                F[j, i] = -F[i, j]
    np.testing.assert_allclose(out, ref.triangle_cotangent(V @ (F * S / 2) @ V.T, "L"), atol=1e-12)


def test_taylor_refuses_a_spectrum_that_is_not_positive_semidefinite():
    A = lt.random_matrix((4, 4), np.float64, kind="hermitian", spectrum=[-1.0, 1.0, 2.0, 3.0], seed=38)
    res, pullback = la.eigh_vjp(A, degeneracy="taylor")
    with pytest.raises(ValueError, match="positive semi-definite"):
        pullback(*cots(res, 39))


@pytest.mark.parametrize("rank", [1, 2])
def test_low_rank_input_the_null_block_is_a_degeneracy_and_the_top_vector_is_exact(rank):
    spectrum = [0.0] * (4 - rank) + [1.0, 2.0][:rank]
    A = lt.random_matrix((4, 4), np.float64, kind="psd", spectrum=spectrum, seed=40)
    res, pullback = la.eigh_vjp(A)
    c = cots(res, 41)
    with pytest.raises(la.DegeneracyError):
        pullback(*c)
    dw = c[0].copy()
    dw[: 4 - rank] = dw[0]                       # symmetric in the null block (unequal: test_edges.py)
    np.testing.assert_allclose(pullback(dw=dw), ref.eigh_vjp(res.eigenvalues, res.eigenvectors, dw, None, "L"),
                               atol=1e-12)
    W = np.zeros((4, 4))
    W[:, 3] = [1.0, -2.0, 0.5, 1.5]              # the top (simple) vector only
    loss = lambda r: float(np.sum(W * np.abs(r.eigenvectors) ** 2))
    lt.check_vjp(la.eigh_vjp, A, loss, lambda r: (None, 2 * W * r.eigenvectors), structure="hermitian")


# --- gauge (autograd PR #527) --------------------------------------------------------------

def autograd527_matrix(a):
    return np.array([[(1 + 1j) * a, 2, a],
                     [1j * a, 2 + np.abs(a + 1j), 1],
                     [np.conj(a), np.exp(a), np.abs(a)]])


def autograd527_vjp(index_sets):
    """Cotangent of |sum of V[i, j] over index_sets| w.r.t. V."""
    def loss(r):
        return float(np.abs(sum(r.eigenvectors[i, j] for i, j in index_sets)))

    def dloss(r):
        s = sum(r.eigenvectors[i, j] for i, j in index_sets)
        dV = np.zeros_like(r.eigenvectors)
        for i, j in index_sets:
            dV[i, j] += s / np.abs(s)
        return None, dV
    return loss, dloss


@pytest.mark.parametrize("index_sets", [[(0, 0)], [(0, 1), (1, 1)], [(1, 0)], [(2, 2)]])
def test_autograd527_phase_invariant_losses_are_accepted_and_exact(index_sets):
    A = autograd527_matrix(2.1 + 1.1j)
    loss, dloss = autograd527_vjp(index_sets)
    lt.check_vjp(la.eigh_vjp, A, loss, dloss)            # raw directions: UPLO="L" as NumPy
    lt.check_jvp(la.eigh_jvp, A, loss, dloss)


def test_autograd527_a_phase_dependent_loss_raises_gauge_error():
    A = autograd527_matrix(2.1 + 1.1j)
    res, pullback = la.eigh_vjp(A)
    _, dloss = autograd527_vjp([(0, 0), (1, 1)])
    with pytest.raises(la.GaugeError, match="phase of V"):
        pullback(*dloss(res))


@pytest.mark.parametrize("mode", la.MODES)
def test_phase_dependent_loss_raises_gauge_error_in_every_mode(mode):
    A = lt.random_matrix((4, 4), np.complex128, kind="psd", seed=42)
    res, pullback = la.eigh_vjp(A, degeneracy=mode)
    dV = np.zeros_like(res.eigenvectors)
    dV[0, 1] = 1.0
    dV[1, 1] = 1.0j
    with pytest.raises(la.GaugeError, match="phase"):
        pullback(dV=dV)


@pytest.mark.parametrize("uplo", UPLOS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_canonical_gauge_tangent_matches_finite_differences_of_the_fixed_factors(dtype, uplo):
    from linalgad import gauge
    A = raw_input((4, 4), dtype, 43, uplo)
    jvp = functools.partial(la.eigh_jvp, UPLO=uplo)
    lt.check_fd_gauge_fixed(jvp, A, gauge.fix_eigh, primal=lambda X: la.eigh(X, UPLO=uplo),
                            structure=structure(uplo))
    fixed = la.eigh(A, UPLO=uplo, gauge="canonical")
    np.testing.assert_allclose(fixed.eigenvectors, gauge.fix_eigh(la.eigh(A, UPLO=uplo)).eigenvectors)


# --- batches, threads, input checking, layouts -------------------------------------------------

@pytest.mark.parametrize("shape", [(0, 3, 3), (2, 0, 4, 4), (3, 0, 0), (0, 0)])
def test_empty_batches_and_matrices(shape):
    A = np.zeros(shape)
    res, pullback = la.eigh_vjp(A)
    assert res.eigenvalues.shape == shape[:-1] and res.eigenvectors.shape == shape
    assert pullback(np.zeros(res.eigenvalues.shape), np.zeros(res.eigenvectors.shape)).shape == shape
    res, tan = la.eigh_jvp(A, A)
    assert tan.eigenvectors.shape == shape


def test_parallel_batch_loop_gives_the_serial_answer():
    A = raw_input((64, 5, 5), np.complex128, 44, "L")
    res, pullback = la.eigh_vjp(A)
    c = cots(res, 45)
    old = la.set_num_threads(1)
    try:
        serial = pullback(*c)
    finally:
        la.set_num_threads(old)
    la.set_num_threads(2)
    try:
        np.testing.assert_array_equal(pullback(*c), serial)
    finally:
        la.set_num_threads(old)


def test_error_reports_the_batch_index_of_the_failing_matrix():
    A = raw_input((3, 4, 4), np.float64, 46, None)
    A[1] = tie_input(np.float64, 47)
    res, pullback = la.eigh_vjp(A)
    with pytest.raises(la.DegeneracyError, match=r"of matrix \(1,\)"):
        pullback(*cots(res, 48))


# --- the lane-vectorised path for 3x3 float64 stacks (the lane kernels of the core) --------

@pytest.mark.parametrize("uplo", UPLOS)
@pytest.mark.parametrize("B", [1, 7, 8, 9, 37])
@pytest.mark.parametrize("which", [(1, 1), (1, 0), (0, 1)])
def test_small_3x3_path_equals_the_reference(B, which, uplo):
    # B = 8, 9, 37: full blocks (register transposes) and a short last block
    A = raw_input((B, 3, 3), np.float64, 60, uplo)
    res, pullback = la.eigh_vjp(A, UPLO=uplo)
    c = [x if keep else None for x, keep in zip(cots(res, 61), which)]
    want = ref.eigh_vjp(res.eigenvalues, res.eigenvectors, *c, uplo=uplo)
    np.testing.assert_allclose(pullback(*c), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["strict", "subspace", "exact"])
def test_small_3x3_path_hands_degenerate_lanes_to_the_general_kernel(mode):
    A = raw_input((20, 3, 3), np.float64, 62, None)
    A[13] = lt.random_matrix((3, 3), np.float64, kind="hermitian", seed=63, spectrum=[1.0, 1.0, 3.0])
    res, pullback = la.eigh_vjp(A, degeneracy=mode)
    assert np.isclose(res.eigenvalues[13, 0], res.eigenvalues[13, 1])
    dw, dV = cots(res, 64)
    dw[13, 1] = dw[13, 0]          # symmetric in the tie (strict refuses unequal ones: test_edges.py)
    keep = np.arange(20) != 13
    # eigenvalues only: exact at the tie, in every lane
    np.testing.assert_allclose(pullback(dw, None), ref.eigh_vjp(res.eigenvalues, res.eigenvectors, dw, None, uplo="L"),
                               rtol=1e-10, atol=1e-12)
    if mode == "strict":
        with pytest.raises(la.DegeneracyError, match=r"of matrix \(13,\)"):
            pullback(dw, dV)
    elif mode == "subspace":
        with pytest.raises(la.GaugeError, match=r"of matrix \(13,\)"):
            pullback(dw, dV)     # these random cotangents rotate inside the block
        dV2 = np.zeros_like(dV)
        dV2[:, :, 2] = dV[:, :, 2]   # the vector outside the block: exact everywhere
        # the twin's 1/gap inside the block meets skew(K) = 0 there: split
        # the tie in its input so that 0 * inf does not turn into nan
        w = res.eigenvalues.copy()
        w[13, 1] += 1e-12
        np.testing.assert_allclose(pullback(dw, dV2), ref.eigh_vjp(w, res.eigenvectors, dw, dV2, uplo="L"),
                                   rtol=1e-9, atol=1e-11)
    else:
        with np.errstate(all="ignore"):
            got = pullback(dw, dV)
        # the computed gap is ~1e-16, not 0: IEEE gives a huge number or inf/nan
        assert not np.isfinite(got[13]).all() or np.abs(got[13]).max() > 1e10
        want = ref.eigh_vjp(res.eigenvalues[keep], res.eigenvectors[keep], dw[keep], dV[keep], uplo="L")
        np.testing.assert_allclose(got[keep], want, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("n", [3, 4])
@pytest.mark.parametrize("arg", ["dw", "dV"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_nonfinite_cotangent_anywhere_in_a_batch_is_refused_and_named(n, arg, bad):
    # n = 3: the lane kernels check the lanes they load; n = 4: a pass in the core
    A = raw_input((37, n, n), np.float64, 65, "L")
    res, pullback = la.eigh_vjp(A)
    c = dict(zip(("dw", "dV"), cots(res, 66)))
    for b in (0, 17, 36):           # a first, a middle and the short last block
        c2 = {k: v.copy() for k, v in c.items()}
        c2[arg][(b, 1) if arg == "dw" else (b, 2, 1)] = bad
        with pytest.raises(ValueError, match=f"{arg} contains NaN or Inf"):
            pullback(**c2)
    with pytest.raises(ValueError, match="dV contains NaN or Inf"):
        la.eigh_vjp(A, gauge="canonical")[1](dV=np.full(res.eigenvectors.shape, bad))


@pytest.mark.parametrize("bad", ["nan", "inf"])
def test_nan_and_inf_are_refused(bad):
    A = raw_input((3, 3), np.float64, 49, None)
    A[1, 0] = float(bad)
    for f in (la.eigh, la.eigh_vjp, lambda X: la.eigh_jvp(X, X)):
        with pytest.raises(ValueError, match="NaN or Inf"):
            f(A)


def test_bad_shapes_dtypes_and_arguments():
    A = raw_input((3, 3), np.float64, 50, None)
    with pytest.raises(ValueError, match="square"):
        la.eigh_vjp(np.ones((3, 4)))
    with pytest.raises(ValueError, match="2 dimensions"):
        la.eigh(np.ones(3))
    with pytest.raises(ValueError, match="UPLO"):
        la.eigh_vjp(A, UPLO="X")
    with pytest.raises(ValueError, match="degeneracy"):
        la.eigh_vjp(A, degeneracy="fuzzy")
    res, pullback = la.eigh_vjp(A)
    with pytest.raises(ValueError, match="dV has shape"):
        pullback(dV=np.ones((3, 2)))
    with pytest.raises(ValueError, match="dw has shape"):
        pullback(dw=np.ones(4))
    with pytest.raises(TypeError, match="complex"):
        pullback(dV=np.ones((3, 3), complex))
    with pytest.raises(ValueError, match="NaN"):
        pullback(dw=np.array([1.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="dA has shape"):
        la.eigh_jvp(A, np.ones((2, 2)))
    assert not res.eigenvectors.flags.writeable and not res.eigenvalues.flags.writeable


def test_integer_input_is_promoted():
    A = np.array([[2, 1], [1, 3]])
    res, pullback = la.eigh_vjp(A)
    assert res.eigenvectors.dtype == np.float64
    assert pullback(dw=np.ones(2)).dtype == np.float64


def _layouts(A):
    ro = A.copy()
    ro.flags.writeable = False
    big = np.zeros(A.shape[:-1] + (2 * A.shape[-1],), A.dtype)
    big[..., ::2] = A
    return {
        "C": A,
        "F": np.asfortranarray(A),
        "strided": big[..., ::2],
        "negative": A[..., ::-1, :][..., ::-1, :] if A.ndim > 1 else A[::-1][::-1],
        "byteswapped": A.astype(A.dtype.newbyteorder(">")),
        "readonly": ro,
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 6), batch=st.sampled_from([(), (2,), (0,), (2, 1)]),
       dtype=st.sampled_from(DTYPES), uplo=st.sampled_from(UPLOS),
       layout=st.sampled_from(["C", "F", "strided", "negative", "byteswapped", "readonly"]),
       seed=st.integers(0, 2**16))
def test_any_layout_gives_the_contiguous_answer_and_nothing_is_modified(n, batch, dtype, uplo,
                                                                        layout, seed):
    A = raw_input(batch + (n, n), dtype, seed, uplo) if 0 not in batch else np.zeros(batch + (n, n), dtype)
    res, pullback = la.eigh_vjp(A, UPLO=uplo)
    c = cots(res, seed + 1)
    want = pullback(*c)
    E = lt.direction(A, seed=seed + 2)
    want_t = la.eigh_jvp(A, E, UPLO=uplo)[1]
    X = _layouts(A)[layout]
    Xc = X.copy()
    cl = [_layouts(x)[layout] if x is not None else None for x in c]
    cl_before = [x.copy() for x in cl]
    El = _layouts(E)[layout]
    El_before = El.copy()
    res2, pb2 = la.eigh_vjp(X, UPLO=uplo)
    got = pb2(*cl)
    got_t = la.eigh_jvp(X, El, UPLO=uplo)[1]
    np.testing.assert_array_equal(X, Xc)
    np.testing.assert_array_equal(El, El_before)
    for a, b in zip(cl, cl_before):
        np.testing.assert_array_equal(a, b)
    rtol = 1e-4 if np.dtype(dtype).itemsize <= 8 and np.dtype(dtype) != np.float64 else 1e-10
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max(initial=1.0))
    np.testing.assert_allclose(got_t.eigenvalues, want_t.eigenvalues, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("uplo", UPLOS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
def test_large_matrices_take_the_blocked_blas_path_and_agree_with_the_reference(dtype, uplo):
    """n > 192: the trmm is split into GEMMs and the her2k is a GEMM and
    lower(Y + Y^H) (_blas.pxd); n^3 > 4096 uses trmm/her2k/herk
    instead of loops."""
    A = raw_input((300, 300), dtype, 51, uplo)
    res, pullback = la.eigh_vjp(A, UPLO=uplo)
    c = cots(res, 52)
    w64, V64 = res.eigenvalues.astype(np.float64), res.eigenvectors.astype(wide(dtype))
    c64 = (c[0].astype(np.float64), c[1].astype(wide(dtype)))
    for given_ in (c, (c[0], None)):
        got = pullback(*given_)
        want = ref.eigh_vjp(w64, V64, c64[0], None if given_[1] is None else c64[1], uplo=uplo)
        tol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, atol=tol * np.abs(want).max())


@pytest.mark.parametrize("mode", ["strict", "subspace", "exact", "lorentz"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_large_matrices_with_and_without_a_tie_in_every_mode(dtype, mode):
    """n = 40 (the trmm path): separated spectra take the branch-free pair
    loop in strict/subspace/exact, a tie the per-pair policy; both agree
    with the twin where the answer is defined."""
    spectrum = np.linspace(1.0, 5.0, 40)
    A = lt.random_matrix((40, 40), dtype, kind="hermitian", spectrum=spectrum, seed=53)
    res, pullback = la.eigh_vjp(A, degeneracy=mode)
    c = cots(res, 54)
    want = ref.eigh_vjp(res.eigenvalues, res.eigenvectors, *c, uplo="L")
    if mode == "lorentz":    # 1/gap broadened: close to the exact rule on this spectrum
        np.testing.assert_allclose(pullback(*c), want, rtol=1e-4, atol=1e-6 * np.abs(want).max())
    else:
        np.testing.assert_allclose(pullback(*c), want, atol=1e-11 * np.abs(want).max())
    spectrum[20] = spectrum[21]          # eigenvalues 20 and 21 tie
    A = lt.random_matrix((40, 40), dtype, kind="hermitian", spectrum=spectrum, seed=55)
    res, pullback = la.eigh_vjp(A, degeneracy=mode)
    dw, dV = cots(res, 56)
    dw[21] = dw[20]                      # symmetric in the tie (unequal: test_edges.py)
    if mode == "strict":
        with pytest.raises(la.DegeneracyError, match="eigenvalues 20 and 21"):
            pullback(dw, dV)
    elif mode == "subspace":
        with pytest.raises(la.GaugeError, match="eigenvalues 20 and 21"):
            pullback(dw, dV)
    if mode == "exact":
        return                           # IEEE: 0/gap is nan if LAPACK's gap is exactly 0
    dV[:, 20:22] = 0                     # the tie's vectors untouched: exact in the other modes
    w = res.eigenvalues.copy()
    w[21] += 1e-12 * w[-1]               # the twin's 1/gap meets skew(K) = 0 there
    got = pullback(dw, dV)
    want = ref.eigh_vjp(w, res.eigenvectors, dw, dV, uplo="L")
    tol = 1e-4 if mode == "lorentz" else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


@pytest.mark.parametrize("K", [1, 3, 10])
def test_taylor_is_the_gradient_of_K_steps_of_power_iteration(K):
    """v_{k+1} = A v_k / |A v_k| from the converged top eigenvector v_0 (held
    fixed): the derivative of v_K along a symmetric E couples v_top to v_j by
    (1/w_top) sum_{k<K} (w_j/w_top)^k, which is degeneracy='taylor', order=K.
    Checked against finite differences of the iteration itself."""
    A = lt.random_matrix((5, 5), np.float64, kind="psd", spectrum=[0.5, 1.0, 2.0, 3.0, 3.5], seed=53)
    v0 = np.linalg.eigh(A)[1][:, -1]
    c = np.random.default_rng(54).standard_normal(5)

    def power(X):
        v = v0
        for _ in range(K):
            v = X @ v
            v = v / np.linalg.norm(v)
        return v

    res, pullback = la.eigh_vjp(A, UPLO=None, degeneracy="taylor", order=K)
    dV = np.zeros((5, 5))
    dV[:, -1] = c * np.sign(res.eigenvectors[:, -1] @ v0)          # the same sign convention as v0
    G = pullback(dV=dV)
    for seed in range(3):
        E = lt.direction(A, structure="hermitian", seed=55 + seed)
        h = 1e-5
        fd = (c @ power(A + h * E) - c @ power(A - h * E)) / (2 * h)
        np.testing.assert_allclose(np.sum(G * E), fd, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("uplo", UPLOS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_reverse_mode_through_the_canonical_gauge_accepts_phase_dependent_losses(dtype, uplo):
    """gauge="canonical" fixes the phases first, so Re<C, V> of the fixed V
    is a function of A; the pullback matches its finite differences."""
    A = raw_input((4, 4), dtype, 56, uplo)
    C = lt.direction(A, seed=57)
    loss = lambda r: float(np.real(np.vdot(C, r.eigenvectors)))
    vjp = functools.partial(la.eigh_vjp, UPLO=uplo, gauge="canonical")
    lt.check_vjp(vjp, A, loss, lambda r: (None, C), structure=structure(uplo, A))
    if np.iscomplexobj(A):
        with pytest.raises(la.GaugeError):
            la.eigh_vjp(A, UPLO=uplo)[1](dV=C)


def test_sparse_lower_storage_with_uplo_L_gets_the_triangle_cotangent_on_its_pattern():
    """A matrix stored as its lower triangle (scipy.sparse) read with
    UPLO="L": the default sparse projection returns the triangle cotangent
    on the stored entries (the upper triangle, which eigh never reads,
    carries nothing to lose)."""
    sp = pytest.importorskip("scipy.sparse")
    dense = np.tril(raw_input((6, 6), np.float64, 58, None))
    dense[np.abs(dense) < 0.3] = 0.0
    np.fill_diagonal(dense, np.arange(1.0, 7.0))
    A = sp.csr_matrix(dense)
    res, pullback = la.eigh_vjp(A)
    c = cots(res, 59)
    got = pullback(*c)
    assert sp.issparse(got)
    want = la.eigh_vjp(dense)[1](*c)
    np.testing.assert_allclose(got.toarray(), want * (dense != 0), atol=1e-13)
