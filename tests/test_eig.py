"""eig rules: finite differences (invariant losses, and raw LAPACK-normalised
factors for normalization="lapack"), adjointness, the reference twin,
complex eigenvalues of real input, conjugate pairs, (nearly) defective and
degenerate input, batches, single precision, bad input and layouts."""

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import linalgad as la
from linalgad import _reference as ref
from linalgad import testing as lt

DTYPES = [np.float64, np.complex128, np.float32, np.complex64]
NORMS = ["lapack", "norm"]
SHAPES = [(4, 4), (2, 5, 5), (1, 1), (2, 1, 3, 3)]


def H(X):
    return np.conj(np.swapaxes(X, -1, -2))


def general(shape, dtype, seed):
    """A random non-normal matrix (random entries: real ones have complex
    eigenvalue pairs) whose eigenvalues are separated by >= 0.3 and whose
    eigenvectors are well conditioned (redrawn until so)."""
    rng = np.random.default_rng(seed)
    while True:
        A = rng.standard_normal(shape)
        if np.dtype(dtype).kind == "c":
            A = A + 1j * rng.standard_normal(shape)
        w, V = np.linalg.eig(A)
        n = shape[-1]
        if n > 1:
            gaps = np.abs(w[..., :, None] - w[..., None, :]) + np.eye(n) * 10
            if gaps.min() < 0.3 or np.linalg.cond(V).max() > 50:
                continue
        return A.astype(dtype)


def cots(res, seed):
    _, dloss = lt.invariant_loss("eig", res, seed=seed)
    return dloss(res)


# --- finite differences, adjointness, the reference ----------------------------------

@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_vjp_matches_finite_differences(shape, dtype, norm):
    A = general(shape, dtype, 1)
    vjp = functools.partial(la.eig_vjp, normalization=norm)
    loss, dloss = lt.invariant_loss("eig", vjp(A)[0], seed=2)
    lt.check_vjp(vjp, A, loss, dloss)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_jvp_matches_finite_differences(shape, dtype, norm):
    A = general(shape, dtype, 3)
    jvp = functools.partial(la.eig_jvp, normalization=norm)
    loss, dloss = lt.invariant_loss("eig", la.eig(A), seed=4)
    lt.check_jvp(jvp, A, loss, dloss)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 5), (3, 4, 4)])
def test_adjointness(shape, dtype, norm):
    A = general(shape, dtype, 5)
    vjp = functools.partial(la.eig_vjp, normalization=norm)
    jvp = functools.partial(la.eig_jvp, normalization=norm)
    _, dloss = lt.invariant_loss("eig", vjp(A)[0], seed=6)
    if np.dtype(dtype).kind == "f":
        # real input: the VJP is projected to real, so compare on real directions
        lt.check_adjoint(vjp, jvp, A, dloss, structure="real")
    else:
        lt.check_adjoint(vjp, jvp, A, dloss)


def raw_factor_loss(A, seed):
    """A loss of eig's raw output (not phase invariant): Re<C, V> + Re(c . w),
    the weights following each eigenvalue of A so LAPACK's reordering under a
    perturbation does not matter."""
    res = la.eig(A)
    rng = np.random.default_rng(seed)
    C = rng.standard_normal(res.eigenvectors.shape) + 1j * rng.standard_normal(res.eigenvectors.shape)
    c = rng.standard_normal(res.eigenvalues.shape) + 1j * rng.standard_normal(res.eigenvalues.shape)
    w0 = res.eigenvalues

    def perm(r):
        return np.array([int(np.argmin(np.abs(r.eigenvalues - x))) for x in w0])

    def loss(r):
        p = perm(r)
        return float(np.real(np.vdot(C, r.eigenvectors[:, p])) + np.real(np.sum(c * r.eigenvalues[p])))

    def dloss(r):
        inv = np.argsort(perm(r))
        return (np.conj(c)[inv].astype(r.eigenvalues.dtype), C[:, inv].astype(r.eigenvectors.dtype))
    return loss, dloss


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_lapack_normalisation_matches_finite_differences_of_numpy_eig_itself(dtype):
    """The default differentiates what numpy.linalg.eig returns (unit norm,
    largest component real): even a loss of the raw, phase-dependent V has
    the right gradient. normalization="norm" refuses that loss."""
    A = general((4, 4), dtype, 7)
    loss, dloss = raw_factor_loss(A, 8)
    lt.check_vjp(la.eig_vjp, A, loss, dloss)
    lt.check_jvp(la.eig_jvp, A, loss, dloss)
    res, pullback = la.eig_vjp(A, normalization="norm")
    if np.iscomplexobj(res.eigenvectors):
        with pytest.raises(la.GaugeError, match="phase"):
            pullback(*dloss(res))


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_the_two_normalisations_agree_on_phase_invariant_losses(dtype):
    A = general((5, 5), dtype, 9)
    res, pl = la.eig_vjp(A)
    _, pn = la.eig_vjp(A, normalization="norm")
    c = cots(res, 10)
    np.testing.assert_allclose(pl(*c), pn(*c), atol=1e-12)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("which", [(1, 1), (1, 0), (0, 1), (0, 0)])
def test_core_matches_the_numpy_reference_for_every_subset_of_none(dtype, norm, which):
    A = general((2, 6, 6), dtype, 11)
    res, pullback = la.eig_vjp(A, normalization=norm)
    given_ = [c if w else None for c, w in zip(cots(res, 12), which)]
    got = pullback(*given_)
    want = ref.eig_vjp(res.eigenvalues, res.eigenvectors, *given_, normalization=norm)
    if np.dtype(dtype).kind == "f":
        want = want.real
    np.testing.assert_allclose(got, want, atol=1e-12 * max(1.0, np.abs(want).max()))
    E = lt.direction(A, seed=13)
    _, tan = la.eig_jvp(A, E, normalization=norm)
    dw, dV = ref.eig_jvp(res.eigenvalues, res.eigenvectors, E, normalization=norm)
    np.testing.assert_allclose(tan.eigenvalues, dw, atol=1e-12)
    np.testing.assert_allclose(tan.eigenvectors, dV, atol=1e-11)


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_single_precision_is_computed_in_its_dtype_and_agrees_with_double(dtype):
    A = general((5, 5), dtype, 14)
    res, pullback = la.eig_vjp(A)
    assert res.eigenvectors.dtype in (np.dtype(np.float32), np.dtype(np.complex64))
    dA = pullback(*cots(res, 15))
    assert dA.dtype == dtype
    wide = np.complex128 if np.dtype(dtype).kind == "c" else np.float64
    res64, pb64 = la.eig_vjp(A.astype(wide))
    dA64 = pb64(*cots(res64, 15))
    rtol, atol = lt.tolerance(dtype)
    np.testing.assert_allclose(dA, dA64, rtol=rtol, atol=10 * atol * np.abs(dA64).max())


# --- real input, conjugate pairs -----------------------------------------------------------

def test_real_input_with_complex_eigenvalues_gets_a_real_cotangent():
    A = general((4, 4), np.float64, 16)
    res, pullback = la.eig_vjp(A)
    assert np.iscomplexobj(res.eigenvalues) and (np.abs(res.eigenvalues.imag) > 0.1).any()
    dA = pullback(*cots(res, 17))
    assert dA.dtype == np.float64
    # the real-arithmetic path (V = Vr T) is the real part of the complex rule
    full = la.eig_vjp(A, project="complex")[1](*cots(res, 17))
    assert np.iscomplexobj(full)
    np.testing.assert_allclose(dA, full.real, atol=1e-13 * np.abs(full).max())


@pytest.mark.parametrize("norm", NORMS)
def test_a_loss_touching_one_member_of_a_conjugate_pair_is_exact(norm):
    A = general((4, 4), np.float64, 16)
    res = la.eig(A)
    k = int(np.argmax(res.eigenvalues.imag))               # the member with positive imaginary part
    w0 = res.eigenvalues[k]
    Wk = np.array([1.0, -2.0, 0.5, 1.5])

    def pick(r):
        return int(np.argmin(np.abs(r.eigenvalues - w0)))

    def loss(r):
        j = pick(r)
        return float(np.real((0.7 - 0.4j) * r.eigenvalues[j]) + np.sum(Wk * np.abs(r.eigenvectors[:, j]) ** 2))

    def dloss(r):
        j = pick(r)
        dw = np.zeros_like(r.eigenvalues)
        dw[j] = np.conj(0.7 - 0.4j)
        dV = np.zeros_like(r.eigenvectors)
        dV[:, j] = 2 * Wk * r.eigenvectors[:, j]
        return dw, dV
    lt.check_vjp(functools.partial(la.eig_vjp, normalization=norm), A, loss, dloss)
    lt.check_jvp(functools.partial(la.eig_jvp, normalization=norm), A, loss, dloss)


def test_real_input_with_real_eigenvalues_stays_real():
    A = lt.random_matrix((4, 4), np.float64, kind="hermitian", seed=18) + 0.1 * np.triu(np.ones((4, 4)))
    res, pullback = la.eig_vjp(A)
    assert res.eigenvalues.dtype == np.float64 and res.eigenvectors.dtype == np.float64
    loss, dloss = lt.invariant_loss("eig", res, seed=19)
    lt.check_vjp(la.eig_vjp, A, loss, dloss)
    _, tan = la.eig_jvp(A, lt.direction(A, seed=20))
    assert tan.eigenvalues.dtype == np.float64 and tan.eigenvectors.dtype == np.float64


# --- defective, degenerate -----------------------------------------------------------------

@pytest.mark.parametrize("delta", [0.0, 1e-24])
def test_nearly_defective_input_is_refused_with_the_condition_number(delta):
    A = np.array([[1.0, 1.0, 0.0], [delta, 1.0, 0.0], [0.0, 0.0, 3.0]])
    res, pullback = la.eig_vjp(A)
    for call in (lambda: pullback(*cots(res, 21)), lambda: pullback(dw=np.ones_like(res.eigenvalues)),
                 lambda: la.eig_jvp(A, np.ones_like(A))):
        with pytest.raises(la.DegeneracyError, match="condition number") as e:
            call()
        assert "defective" in str(e.value)


def test_cond_max_sets_the_limit():
    A = np.array([[1.0, 1.0], [1e-8, 1.0]])        # cond(V) ~ 2e4
    res, pullback = la.eig_vjp(A)
    assert np.isfinite(pullback(dw=np.ones_like(res.eigenvalues))).all()
    with pytest.raises(la.DegeneracyError, match="condition number"):
        la.eig_vjp(A, cond_max=100)[1](dw=np.ones_like(res.eigenvalues))
    with pytest.raises(ValueError, match="cond_max"):
        la.eig_vjp(A, cond_max=0.5)


def degenerate(dtype, seed):
    """S diag(1, 2, 2, 3) S^-1: a repeated eigenvalue, not defective."""
    rng = np.random.default_rng(seed)
    S = rng.standard_normal((4, 4)) + np.eye(4) * 3
    if np.dtype(dtype).kind == "c":
        S = S + 0.5j * rng.standard_normal((4, 4))
    return (S @ np.diag([1.0, 2.0, 2.0, 3.0]) @ np.linalg.inv(S)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_eigenvalue_losses_are_exact_at_a_repeated_eigenvalue_and_vectors_are_refused(dtype):
    A = degenerate(dtype, 22)
    res, pullback = la.eig_vjp(A)
    tied = np.abs(res.eigenvalues - 2.0) < 1e-6
    c = np.where(tied, 1.5, np.arange(4.0))       # symmetric in the tied pair: smooth
    loss = lambda r: float(np.real(np.sum(np.where(np.abs(r.eigenvalues - 2.0) < 1e-3, 1.5, 0.0) * r.eigenvalues
                                         + np.where(np.abs(r.eigenvalues - 2.0) < 1e-3, 0.0, 1.0) * r.eigenvalues.real ** 2)))
    dloss = lambda r: ((np.where(np.abs(r.eigenvalues - 2.0) < 1e-3, 1.5, 0.0)
                        + np.where(np.abs(r.eigenvalues - 2.0) < 1e-3, 0.0, 2 * r.eigenvalues.real)).astype(r.eigenvalues.dtype), None)
    lt.check_vjp(la.eig_vjp, A, loss, dloss, structure="real" if np.iscomplexobj(A) else None)
    assert np.isfinite(pullback(dw=c.astype(res.eigenvalues.dtype))).all()
    dV = np.zeros_like(res.eigenvectors)
    dV[:, np.flatnonzero(tied)[0]] = 1.0
    with pytest.raises(la.DegeneracyError, match="degenerate"):
        pullback(dV=dV)
    with np.errstate(all="ignore"):
        assert np.isfinite(la.eig_vjp(A, degeneracy="lorentz")[1](dV=dV)).all()


def test_taylor_is_refused_for_eig():
    with pytest.raises(ValueError, match="taylor"):
        la.eig_vjp(np.eye(2), degeneracy="taylor")


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_canonical_gauge_tangent_matches_finite_differences_of_the_fixed_factors(dtype):
    from linalgad import gauge
    A = general((4, 4), dtype, 23)
    lt.check_fd_gauge_fixed(la.eig_jvp, A, gauge.fix_eig, primal=la.eig)
    np.testing.assert_allclose(la.eig(A, gauge="canonical").eigenvectors, gauge.fix_eig(la.eig(A)).eigenvectors)


# --- batches, threads, input checking, layouts -------------------------------------------------

@pytest.mark.parametrize("shape", [(0, 3, 3), (2, 0, 4, 4), (3, 0, 0), (0, 0)])
def test_empty_batches_and_matrices(shape):
    A = np.zeros(shape)
    res, pullback = la.eig_vjp(A)
    assert res.eigenvalues.shape == shape[:-1] and res.eigenvectors.shape == shape
    assert pullback(np.zeros(res.eigenvalues.shape, res.eigenvalues.dtype), np.zeros(res.eigenvectors.shape, res.eigenvectors.dtype)).shape == shape
    assert la.eig_jvp(A, A)[1].eigenvectors.shape == shape


def test_parallel_batch_loop_gives_the_serial_answer():
    A = general((64, 4, 4), np.float64, 24)
    res, pullback = la.eig_vjp(A)
    c = cots(res, 25)
    old = la.set_num_threads(1)
    try:
        serial = pullback(*c)
        la.set_num_threads(2)
        np.testing.assert_array_equal(pullback(*c), serial)
    finally:
        la.set_num_threads(old)


def test_large_matrices_use_lapack_and_agree_with_the_reference():
    """n > 16 takes the getrf/getrs path (small ones use Gauss-Jordan)."""
    A = general((40, 40), np.float64, 26)
    res, pullback = la.eig_vjp(A, cond_max=1e8)
    c = cots(res, 27)
    want = ref.eig_vjp(res.eigenvalues, res.eigenvectors, *c).real
    np.testing.assert_allclose(pullback(*c), want, atol=1e-9 * np.abs(want).max())
    E = lt.direction(A, seed=28)
    dw, dV = ref.eig_jvp(res.eigenvalues, res.eigenvectors, E)
    tan = la.eig_jvp(A, E, cond_max=1e8)[1]
    np.testing.assert_allclose(tan.eigenvalues, dw, atol=1e-9 * np.abs(dw).max())
    np.testing.assert_allclose(tan.eigenvectors, dV, atol=1e-9 * np.abs(dV).max())


def test_bad_input():
    A = general((3, 3), np.float64, 29)
    with pytest.raises(ValueError, match="square"):
        la.eig_vjp(np.ones((3, 4)))
    bad = A.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        la.eig_vjp(bad)
    with pytest.raises(ValueError, match="normalization"):
        la.eig_vjp(A, normalization="unit")
    res, pullback = la.eig_vjp(A)
    with pytest.raises(ValueError, match="dV has shape"):
        pullback(dV=np.ones((3, 2), res.eigenvectors.dtype))
    with pytest.raises(ValueError, match="dw has shape"):
        pullback(dw=np.ones(2, res.eigenvalues.dtype))
    with pytest.raises(ValueError, match="dA has shape"):
        la.eig_jvp(A, np.ones((2, 2)))
    assert not res.eigenvectors.flags.writeable


def _layouts(A):
    ro = A.copy()
    ro.flags.writeable = False
    big = np.zeros(A.shape[:-1] + (2 * A.shape[-1],), A.dtype)
    big[..., ::2] = A
    return {
        "C": A, "F": np.asfortranarray(A), "strided": big[..., ::2],
        "negative": A[..., ::-1, :][..., ::-1, :] if A.ndim > 1 else A[::-1][::-1],
        "byteswapped": A.astype(A.dtype.newbyteorder(">")), "readonly": ro,
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 5), batch=st.sampled_from([(), (2,), (0,)]),
       dtype=st.sampled_from(DTYPES),
       layout=st.sampled_from(["C", "F", "strided", "negative", "byteswapped", "readonly"]),
       seed=st.integers(0, 2**16))
def test_any_layout_gives_the_contiguous_answer_and_nothing_is_modified(n, batch, dtype, layout, seed):
    A = general(batch + (n, n), dtype, seed) if 0 not in batch else np.zeros(batch + (n, n), dtype)
    res, pullback = la.eig_vjp(A)
    c = cots(res, seed + 1)
    want = pullback(*c)
    X = _layouts(A)[layout]
    Xc = X.copy()
    cl = [_layouts(x)[layout] for x in c]
    before = [x.copy() for x in cl]
    got = la.eig_vjp(X)[1](*cl)
    np.testing.assert_array_equal(X, Xc)
    for a, b in zip(cl, before):
        np.testing.assert_array_equal(a, b)
    rtol = 1e-4 if np.dtype(dtype).char in "fF" else 1e-10
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max(initial=1.0))


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_subspace_and_exact_modes_at_a_repeated_eigenvalue(dtype):
    A = degenerate(dtype, 30)
    res = la.eig(A)
    i, j = np.flatnonzero(np.abs(res.eigenvalues - 2.0) < 1e-6)
    dV = np.zeros_like(res.eigenvectors)
    dV[:, i] = res.eigenvectors[:, j]                       # rotates v_i towards v_j: basis-dependent
    with pytest.raises(la.GaugeError, match="span"):
        la.eig_vjp(A, degeneracy="subspace")[1](dV=dV)
    k = int(np.argmin(np.abs(res.eigenvalues - 3.0)))      # a simple eigenvalue: fine in subspace mode
    dV = np.zeros_like(res.eigenvectors)
    dV[:, k] = 2 * res.eigenvectors[:, k] * np.array([1.0, 2.0, 0.5, 1.5])
    got = la.eig_vjp(A, degeneracy="subspace")[1](dV=dV)
    np.testing.assert_allclose(got, la.eig_vjp(A)[1](dV=dV), atol=1e-12)
    if np.isrealobj(res.eigenvalues):
        return
    exact = la.eig_vjp(A, degeneracy="exact")[1]
    dV[:, i] = 1.0
    with np.errstate(all="ignore"):
        assert not np.isfinite(exact(dV=dV)).all() or np.abs(exact(dV=dV)).max() > 1e8


def test_real_input_with_pairs_and_a_repeated_eigenvalue_takes_the_real_path_in_every_mode():
    rng = np.random.default_rng(31)
    S = rng.standard_normal((4, 4)) + 3 * np.eye(4)
    D = np.array([[0.0, -1.0, 0, 0], [1.0, 0.0, 0, 0], [0, 0, 2.0, 0], [0, 0, 0, 2.0]])
    A = S @ D @ np.linalg.inv(S)
    res = la.eig(A)
    assert np.iscomplexobj(res.eigenvectors)
    i, j = np.flatnonzero(np.abs(res.eigenvalues - 2.0) < 1e-6)
    rot = np.zeros_like(res.eigenvectors)
    rot[:, i] = res.eigenvectors[:, j]
    with pytest.raises(la.DegeneracyError):
        la.eig_vjp(A)[1](dV=rot)
    with pytest.raises(la.GaugeError, match="span"):
        la.eig_vjp(A, degeneracy="subspace")[1](dV=rot)
    assert np.isfinite(la.eig_vjp(A, degeneracy="lorentz")[1](dV=rot)).all()
    k = int(np.argmax(res.eigenvalues.imag))
    pair = np.zeros_like(res.eigenvectors)
    pair[:, k] = 2 * res.eigenvectors[:, k] * np.array([1.0, 2.0, 0.5, 1.5])
    for mode in ("strict", "subspace", "lorentz"):
        got = la.eig_vjp(A, degeneracy=mode)[1](dV=pair)
        want = la.eig_vjp(A, degeneracy=mode, project="complex")[1](dV=pair).real
        np.testing.assert_allclose(got, want, atol=1e-10 * np.abs(want).max())


# --- the lane-vectorised path for 3x3 float64 stacks (the end of linalgad/_eig.pxi) -------

def stack3(B, seed):
    """B real 3x3 matrices drawn one by one: complex pairs first or last, and
    real spectra, in one stack; the first has a pair, so V is complex and the
    real path runs."""
    first = next(s for s in range(seed, seed + 100)
                 if np.iscomplexobj(np.linalg.eigvals(general((3, 3), np.float64, s))))
    return np.stack([general((3, 3), np.float64, first + b) for b in range(B)])


def test_the_3x3_stacks_hold_every_pattern_of_real_and_paired_columns():
    res = la.eig(stack3(37, 60))
    pair_first = res.eigenvalues[:, 0].imag > 0
    pair_last = res.eigenvalues[:, 1].imag > 0
    real = (res.eigenvalues.imag == 0).all(axis=1)
    assert pair_first.any() and pair_last.any() and real.any()


@pytest.mark.parametrize("B", [1, 7, 8, 9, 37])
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("which", [(1, 1), (1, 0), (0, 1)])
def test_small_3x3_path_equals_the_reference(B, norm, which):
    # B = 8, 9, 37: full blocks (register transposes) and a short last block
    A = stack3(B, 60)
    res, pullback = la.eig_vjp(A, normalization=norm)
    assert np.iscomplexobj(res.eigenvectors)
    given_ = [c if w else None for c, w in zip(cots(res, 61), which)]
    got = pullback(*given_)
    assert got.dtype == np.float64
    want = ref.eig_vjp(res.eigenvalues, res.eigenvectors, *given_, normalization=norm).real
    np.testing.assert_allclose(got, want, atol=1e-12 * np.abs(want).max())


def test_small_3x3_path_differentiates_the_lapack_phase_convention():
    # a phase-dependent cotangent on every column (so each pivot row occurs):
    # exact for "lapack", refused for "norm"
    A = stack3(20, 62)
    res, pullback = la.eig_vjp(A)
    gw, gV = cots(res, 63)
    gV = gV + 1j * res.eigenvectors * np.random.default_rng(63).uniform(0.5, 1.5, (20, 1, 3))
    pivots = np.abs(res.eigenvectors).argmax(axis=1)
    assert all((pivots == k).any() for k in range(3))
    # the lane kernel takes a pair's pivot from column 1 (docs/eig.md): each
    # row occurs for pairs in columns (0, 1) and in (1, 2)
    for in_pair in (res.eigenvalues[:, 0].imag > 0, res.eigenvalues[:, 1].imag > 0):
        assert set(pivots[in_pair, 1]) == {0, 1, 2}
    np.testing.assert_allclose(pullback(gw, gV), ref.eig_vjp(res.eigenvalues, res.eigenvectors, gw, gV).real,
                               atol=1e-12 * np.abs(pullback(gw, gV)).max())
    one = cots(res, 63)[1].copy()
    one[13] = gV[13]
    with pytest.raises(la.GaugeError, match=r"phase .*matrix \(13,\)"):
        la.eig_vjp(A, normalization="norm")[1](gw, one)


def _with_repeated(B, seed, at):
    A = stack3(B, seed)
    rng = np.random.default_rng(seed)
    S = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    A[at] = S @ np.diag([1.0, 2.0, 2.0]) @ np.linalg.inv(S)
    return A


@pytest.mark.parametrize("mode", ["strict", "subspace", "exact"])
def test_small_3x3_path_hands_degenerate_lanes_to_the_general_kernel(mode):
    A = _with_repeated(20, 64, 13)
    res, pullback = la.eig_vjp(A, degeneracy=mode)
    gw, gV = cots(res, 65)
    k = int(np.argmin(np.abs(res.eigenvalues[13] - 1.0)))         # the simple eigenvalue of matrix 13
    i, j = np.flatnonzero(np.abs(res.eigenvalues[13] - 2.0) < 1e-6)
    gw[13, j] = gw[13, i]          # symmetric in the tie (strict refuses unequal ones: test_edges.py)
    safe = gV.copy()
    safe[13] = 0.0
    safe[13, :, k] = gV[13, :, k]                        # touches no tied vector
    rot = safe.copy()
    rot[13, :, i] = res.eigenvectors[13, :, j]                     # rotates inside the tied pair
    keep = np.arange(20) != 13
    if mode == "exact":
        with np.errstate(all="ignore"):
            got = pullback(gw, rot)
        assert not np.isfinite(got[13]).all() or np.abs(got[13]).max() > 1e8
        want = ref.eig_vjp(res.eigenvalues[keep], res.eigenvectors[keep], gw[keep], rot[keep]).real
        np.testing.assert_allclose(got[keep], want, atol=1e-12 * np.abs(want).max())
        return
    got = pullback(gw, safe)
    want = la.eig_vjp(A, degeneracy=mode, project="complex")[1](gw, safe).real
    np.testing.assert_allclose(got, want, atol=1e-12 * np.abs(want).max())
    err = la.DegeneracyError if mode == "strict" else la.GaugeError
    with pytest.raises(err, match=r"matrix \(13,\)"):
        pullback(gw, rot)


def test_small_3x3_path_hands_ill_conditioned_lanes_to_the_general_kernel():
    A = stack3(20, 66)
    A[13] = [[1.0, 1.0, 0.0], [1e-14, 1.0, 0.0], [0.0, 0.0, 3.0]]   # cond(V) ~ 1e7 < cond_max
    res, pullback = la.eig_vjp(A, cond_max=1e9)      # above the default: the paths still agree
    gw, gV = cots(res, 67)
    got = pullback(gw, gV)
    want = la.eig_vjp(A, project="complex", cond_max=1e9)[1](gw, gV).real
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * np.abs(want[13]).max())
    keep = np.arange(20) != 13
    np.testing.assert_allclose(got[keep], want[keep], atol=1e-12 * np.abs(want[keep]).max())
    with pytest.raises(la.DegeneracyError, match=r"matrix \(13,\).*condition number"):
        la.eig_vjp(A, cond_max=1e5)[1](gw, gV)


def test_small_3x3_path_refuses_what_the_general_kernel_refuses_just_below_cond_max():
    A = stack3(20, 70)
    A[13] = [[1.0, 1.0, 0.0], [1e-6, 1.0, 0.0], [0.0, 0.0, 3.0]]    # cond ~ 2e3
    res = la.eig(A)
    Vr = res.eigenvectors[13].real                                              # real spectrum: V = Vr
    cond = np.linalg.norm(Vr, np.inf) * np.linalg.norm(np.linalg.inv(Vr), np.inf)
    gw, gV = cots(res, 71)
    for cmax, refused in ((0.9 * cond, True), (1.1 * cond, False)):
        pullback = la.eig_vjp(A, cond_max=cmax)[1]
        if refused:
            with pytest.raises(la.DegeneracyError, match=r"matrix \(13,\)"):
                pullback(gw, gV)
        else:
            want = la.eig_vjp(A, cond_max=cmax, project="complex")[1](gw, gV).real
            np.testing.assert_allclose(pullback(gw, gV), want, rtol=1e-8, atol=1e-9 * np.abs(want).max())


@pytest.mark.parametrize("arg", ["dw", "dV"])
@pytest.mark.parametrize("bad", [np.nan, -np.inf, complex(0.0, np.inf)])
def test_a_nonfinite_cotangent_anywhere_in_a_3x3_stack_is_refused_and_named(arg, bad):
    # the lane kernel checks the lanes it loads (real and imaginary parts)
    A = stack3(37, 68)
    res, pullback = la.eig_vjp(A)
    c = dict(zip(("dw", "dV"), cots(res, 69)))
    for b in (0, 17, 36):           # a first, a middle and the short last block
        c2 = {k: v.copy() for k, v in c.items()}
        c2[arg][(b, 2) if arg == "dw" else (b, 2, 2)] = bad     # the last entry of a matrix
        with pytest.raises(ValueError, match=f"{arg} contains NaN or Inf"):
            pullback(**c2)
        with pytest.raises(ValueError, match=f"{arg} contains NaN or Inf"):
            la.eig_vjp(A, gauge="canonical")[1](**c2)    # checked before the gauge pull


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_reverse_mode_through_the_canonical_gauge(dtype, norm):
    A = general((4, 4), dtype, 32)
    res = la.eig(A, gauge="canonical")
    rng = np.random.default_rng(33)
    C = (rng.standard_normal(res.eigenvectors.shape) + 1j * rng.standard_normal(res.eigenvectors.shape)).astype(res.eigenvectors.dtype)
    w0 = res.eigenvalues

    def perm(r):
        return np.array([int(np.argmin(np.abs(r.eigenvalues - x))) for x in w0])

    loss = lambda r: float(np.real(np.vdot(C, r.eigenvectors[:, perm(r)])))
    dloss = lambda r: (None, C[:, np.argsort(perm(r))])
    lt.check_vjp(functools.partial(la.eig_vjp, gauge="canonical", normalization=norm), A, loss, dloss)
