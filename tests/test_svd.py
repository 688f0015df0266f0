"""SVD rules: finite differences on invariant losses, adjointness, the
reference twin, degeneracy modes, gauge, truncation, full matrices, scale."""

import functools

import numpy as np
import pytest

import linalgad as la
from linalgad import _reference as ref
from linalgad import testing as lt

DTYPES = [np.float64, np.complex128, np.float32, np.complex64]
SHAPES = [(4, 4), (6, 3), (3, 6), (2, 5, 5), (2, 3, 4, 3), (1, 1), (3, 1, 4)]
MODES = ["strict", "exact", "subspace", "lorentz"]


def H(X):
    return np.conj(np.swapaxes(X, -1, -2))


def cplx(dtype):
    return np.dtype(dtype).kind == "c"


def rand(shape, dtype, seed, **kw):
    return lt.random_matrix(shape, dtype, seed=seed, **kw)


def invariant_cotangents(res, seed, scale=1.0):
    """Random cotangents of an invariant loss (phase residual removed)."""
    _, dloss = lt.invariant_loss("svd", res, seed=seed)
    return tuple(None if c is None else scale * c for c in dloss(res))


# --- finite differences, adjointness, the reference ---------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_vjp_matches_finite_differences(shape, dtype):
    A = rand(shape, dtype, 1)
    res, _ = la.svd_vjp(A)
    loss, dloss = lt.invariant_loss("svd", res, seed=2)
    lt.check_vjp(la.svd_vjp, A, loss, dloss)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_jvp_matches_finite_differences(shape, dtype):
    A = rand(shape, dtype, 3)
    res, _ = la.svd_vjp(A)
    loss, dloss = lt.invariant_loss("svd", res, seed=4)
    lt.check_jvp(la.svd_jvp, A, loss, dloss)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(5, 5), (7, 4), (4, 7), (2, 3, 6, 4)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_mode_is_exact_on_a_well_separated_spectrum(mode, shape, dtype):
    """Gaps >= 0.75 with s_max <= 5.25: no pair is degenerate, so every mode
    is the exact rule at the dtype's tolerance (lorentz's relative bias,
    eps(dtype)**0.75 * (s_max / gap)**2, is 3e-4 in float32 and 1e-10 in
    float64; float32 runs the rule in float32 against a float64 difference)."""
    A = rand(shape, dtype, 5)
    res, _ = la.svd_vjp(A)
    loss, dloss = lt.invariant_loss("svd", res, seed=6)
    rtol, atol = lt.tolerance(dtype)
    lt.check_vjp(functools.partial(la.svd_vjp, degeneracy=mode), A, loss, dloss, rtol=rtol, atol=atol)
    lt.check_jvp(functools.partial(la.svd_jvp, degeneracy=mode), A, loss, dloss, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 5), (7, 4), (4, 7), (3, 4, 4)])
@pytest.mark.parametrize("k", [None, 2])
def test_adjointness(shape, dtype, k):
    A = rand(shape, dtype, 7)
    vjp = functools.partial(la.svd_vjp, k=k)
    jvp = functools.partial(la.svd_jvp, k=k)
    res, _ = vjp(A)
    _, dloss = lt.invariant_loss("svd", res, seed=8)
    lt.check_adjoint(vjp, jvp, A, dloss)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", [(5, 5), (7, 4), (4, 7), (2, 3, 6, 6)])
@pytest.mark.parametrize("which", [(1, 1, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (0, 0, 0)])
def test_core_matches_the_numpy_reference_for_every_subset_of_none(shape, dtype, which):
    A = rand(shape, dtype, 9)
    res, pullback = la.svd_vjp(A)
    cots = invariant_cotangents(res, 10)
    given = [c if w else None for c, w in zip(cots, which)]
    got = pullback(*given)
    zeros = [c if w else np.zeros_like(c) for c, w in zip(cots, which)]
    want = ref.svd_vjp(res.U, res.S, res.Vh, *zeros)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    E = lt.direction(A, seed=11)
    _, tan = la.svd_jvp(A, E)
    for got_t, want_t in zip(tan, ref.svd_jvp(res.U, res.S, res.Vh, E)):
        np.testing.assert_allclose(got_t, want_t, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_single_precision_is_computed_in_its_dtype_and_agrees_with_double(dtype):
    A = rand((6, 4), dtype, 12)
    res, pullback = la.svd_vjp(A)
    assert res.U.dtype == dtype and res.S.dtype == np.float32
    cots = invariant_cotangents(res, 13)
    dA = pullback(*cots)
    assert dA.dtype == dtype
    wide = np.complex128 if cplx(dtype) else np.float64
    res64, pb64 = la.svd_vjp(A.astype(wide))
    dA64 = pb64(*[c.astype(np.result_type(c.dtype, np.float64)) for c in cots])
    rtol, atol = lt.tolerance(dtype)
    np.testing.assert_allclose(dA, dA64, rtol=rtol, atol=atol * np.abs(dA64).max())


# --- degeneracy ---------------------------------------------------------------------

def orthogonal(n, dtype, seed):
    return rand((n, n), dtype, seed, kind="unitary")


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_strict_refuses_vectors_of_a_degenerate_pair_and_says_what_to_do(dtype):
    A = rand((5, 5), dtype, 14, spectrum=[3.0, 2.0, 2.0, 1.0, 0.5])
    res, pullback = la.svd_vjp(A)
    cots = invariant_cotangents(res, 15)
    with pytest.raises(la.DegeneracyError) as e:
        pullback(*cots)
    msg = str(e.value)
    assert "1 and 2" in msg and "gap" in msg
    assert "subspace" in msg and "polar_vjp" in msg and "lorentz" in msg
    with pytest.raises(la.DegeneracyError):
        la.svd_jvp(A, lt.direction(A, seed=16))


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_singular_value_losses_and_untouched_vectors_are_fine_at_degeneracy(dtype):
    A = rand((5, 5), dtype, 17, spectrum=[3.0, 2.0, 2.0, 1.0, 0.5])
    res, pullback = la.svd_vjp(A)
    dS = np.array([1.0, 2.0, 2.0, 4.0, 5.0])   # symmetric in the tie (unequal: test_edges.py)
    np.testing.assert_allclose(pullback(dS=dS), (res.U * dS) @ res.Vh, atol=1e-12)
    # a cotangent on U[:, 0] alone (outside the degenerate block) is exact
    u0 = np.zeros_like(res.U)
    u0[:, 0] = 2 * res.U[:, 0] * np.array([1.0, 2.0, 0.5, 1.5, 1.0])   # from sum(w * |U[:, 0]|^2)
    dA = pullback(dU=u0)
    assert np.isfinite(dA).all()
    loss = lambda r: np.sum(np.array([1.0, 2.0, 0.5, 1.5, 1.0]) * np.abs(r.U[:, 0]) ** 2)
    lt.check_vjp(la.svd_vjp, A, loss, lambda r: (_u0_cot(r), None, None))


def _u0_cot(r):
    g = np.zeros_like(r.U)
    g[:, 0] = 2 * r.U[:, 0] * np.array([1.0, 2.0, 0.5, 1.5, 1.0])
    return g


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_orthogonal_input_exact_mode_is_nan_and_the_polar_gradient_is_exact(dtype):
    """ChainRules.jl issue #664: tr(U Vh) at an orthogonal A."""
    A = orthogonal(5, dtype, 18)
    G = lt.direction(A, seed=19)                 # cotangent of Q = U Vh
    Q = A
    exact = 0.5 * (G - Q @ H(G) @ Q)            # closed form at S = I
    _, pb_polar = la.polar_vjp(A)
    np.testing.assert_allclose(pb_polar(dQ=G), exact, atol=1e-12)
    res, pb = la.svd_vjp(A, degeneracy="subspace")
    np.testing.assert_allclose(pb(dU=G @ H(res.Vh), dVh=H(res.U) @ G), exact, atol=1e-12)
    with pytest.raises(la.DegeneracyError, match="polar_vjp"):
        la.svd_vjp(A)[1](dU=G @ H(res.Vh), dVh=H(res.U) @ G)
    with np.errstate(all="ignore"):
        bad = la.svd_vjp(A, degeneracy="exact")[1](dU=G @ H(res.Vh), dVh=H(res.U) @ G)
    assert not np.isfinite(bad).all()
    # and finite differences agree with the polar rule
    loss = lambda r: np.real(np.vdot(G, r.Q))
    lt.check_vjp(la.polar_vjp, A, loss, lambda r: (G, None))


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_subspace_refuses_a_cotangent_that_rotates_inside_the_block(dtype):
    A = rand((4, 4), dtype, 20, spectrum=[3.0, 2.0, 2.0, 1.0])
    res, pullback = la.svd_vjp(A, degeneracy="subspace")
    dU = np.zeros_like(res.U)
    dU[:, 1] = res.U[:, 2]                       # d/dU of Re<U[:,2], U[:,1]>: basis-dependent
    with pytest.raises(la.GaugeError, match="span"):
        pullback(dU=dU)


def test_lorentz_is_finite_and_biased_at_a_tie_and_converges_as_eps_shrinks():
    A = rand((5, 5), np.float64, 21, spectrum=[3.0, 2.0, 2.0 - 1e-3, 1.0, 0.5])
    res, _ = la.svd_vjp(A)
    cots = invariant_cotangents(res, 22)
    exact = la.svd_vjp(A, degeneracy="exact")[1](*cots)
    epss = (1e-6, 1e-8, 1e-10, 1e-12)
    errs = [np.abs(la.svd_vjp(A, degeneracy="lorentz", eps=e)[1](*cots) - exact).max()
            for e in epss]
    # relative bias ~ eps * scale**2 / gap**2 once the broadening is below the gap
    assert all(30 < a / b < 300 for a, b in zip(errs[1:], errs[2:]))
    assert errs[-1] < 1e-4 * np.abs(exact).max()
    tie = rand((5, 5), np.float64, 21, spectrum=[3.0, 2.0, 2.0, 1.0, 0.5])
    res, pb = la.svd_vjp(tie, degeneracy="lorentz")
    assert np.isfinite(pb(*invariant_cotangents(res, 22))).all()


def test_taylor_converges_to_the_exact_rule_as_the_order_grows():
    A = rand((5, 5), np.float64, 23, spectrum=[4.0, 3.0, 2.0, 1.0, 0.5])
    res, _ = la.svd_vjp(A)
    cots = invariant_cotangents(res, 24)
    exact = la.svd_vjp(A)[1](*cots)
    errs = [np.abs(la.svd_vjp(A, degeneracy="taylor", order=K)[1](*cots) - exact).max()
            for K in (1, 4, 16, 64)]
    assert all(a > b for a, b in zip(errs, errs[1:]))
    assert errs[-1] < 1e-6


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5)])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_rank_deficiency_is_a_degeneracy_not_a_nan(shape, dtype):
    A = rand(shape, dtype, 25, rank=2)
    res, pullback = la.svd_vjp(A)
    cots = invariant_cotangents(res, 26)
    with pytest.raises(la.DegeneracyError, match="rank-deficient|degenerate"):
        pullback(*cots)
    assert np.isfinite(la.svd_vjp(A, degeneracy="subspace")[1](dS=cots[1])).all()
    # the top-2 truncation touches no null vector: exact and finite
    loss, dloss = lt.invariant_loss("svd", la.svd(A, k=2), seed=27)
    lt.check_vjp(functools.partial(la.svd_vjp, k=2), A, loss, dloss)


# --- gauge --------------------------------------------------------------------------

@pytest.mark.parametrize("mode", la.MODES)
def test_phase_dependent_loss_raises_gauge_error_in_every_mode(mode):
    A = rand((4, 3), np.complex128, 28)
    res, pullback = la.svd_vjp(A, degeneracy=mode)
    dU = np.zeros_like(res.U)
    dU[0, 0] = 1.0                               # L = Re U[0, 0]: depends on the phase of U[:, 0]
    if abs(res.U[0, 0].imag) < 1e-12:            # LAPACK's gauge can hide it at first order
        dU[1, 0] = 1.0
    with pytest.raises(la.GaugeError, match="phase"):
        pullback(dU=dU)


# --- truncation and full matrices ---------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,k", [((7, 5), 2), ((5, 7), 3), ((6, 6), 1), ((2, 6, 4), 3)])
def test_truncated_svd_matches_finite_differences_of_the_truncated_factors(shape, k, dtype):
    A = rand(shape, dtype, 29)
    res, _ = la.svd_vjp(A, k=k)
    assert res.U.shape[-1] == k and res.S.shape[-1] == k and res.Vh.shape[-2] == k
    loss, dloss = lt.invariant_loss("svd", res, seed=30)
    lt.check_vjp(functools.partial(la.svd_vjp, k=k), A, loss, dloss)
    lt.check_jvp(functools.partial(la.svd_jvp, k=k), A, loss, dloss)


def test_the_naive_truncated_rule_is_wrong_and_ours_is_not():
    A = rand((7, 5), np.float64, 31)
    res, pullback = la.svd_vjp(A, k=2)
    cots = invariant_cotangents(res, 32)
    naive = ref.svd_vjp_truncated_naive(res.U, res.S, res.Vh, *cots)
    ours = pullback(*cots)
    full_res, _ = la.svd_vjp(A)
    padded = [np.zeros_like(full_res.U), np.zeros_like(full_res.S), np.zeros_like(full_res.Vh)]
    padded[0][:, :2], padded[1][:2], padded[2][:2] = cots
    np.testing.assert_allclose(ours, ref.svd_vjp(*full_res, *padded), atol=1e-12)
    assert np.abs(naive - ours).max() > 1e-2 * np.abs(ours).max()


@pytest.mark.parametrize("shape", [(6, 3), (3, 6), (4, 4)])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_full_matrices(shape, dtype):
    A = rand(shape, dtype, 33)
    m, n = shape
    r = min(m, n)
    res, pullback = la.svd_vjp(A, full_matrices=True)
    assert res.U.shape == (m, m) and res.Vh.shape == (n, n)
    rng = np.random.default_rng(34)
    Wu = rng.uniform(0.5, 1.5, (m, r))
    Wv = rng.uniform(0.5, 1.5, (r, n))
    Gu = lt.direction(np.zeros((m, m), dtype), seed=35)
    Gv = lt.direction(np.zeros((n, n), dtype), seed=36)

    def loss(res):   # |U1|^2, |Vh1|^2 and the projectors of the extra columns (invariant)
        U2, V2h = res.U[:, r:], res.Vh[r:]
        return (np.sum(Wu * np.abs(res.U[:, :r]) ** 2) + np.sum(Wv * np.abs(res.Vh[:r]) ** 2)
                + np.real(np.vdot(Gu, U2 @ H(U2))) + np.real(np.vdot(Gv, H(V2h) @ V2h)))

    def dloss(res):
        dU = np.zeros_like(res.U)
        dVh = np.zeros_like(res.Vh)
        dU[:, :r] = 2 * Wu * res.U[:, :r]
        dVh[:r] = 2 * Wv * res.Vh[:r]
        dU[:, r:] = (Gu + H(Gu)) @ res.U[:, r:]
        dVh[r:] = res.Vh[r:] @ (Gv + H(Gv))
        return dU, None, dVh

    lt.check_vjp(functools.partial(la.svd_vjp, full_matrices=True), A, loss, dloss)
    lt.check_jvp(functools.partial(la.svd_jvp, full_matrices=True), A, loss, dloss)
    if m != n:   # a loss that sees the basis of the extra columns is refused
        dU = np.zeros_like(res.U)
        dVh = np.zeros_like(res.Vh)
        if m > n:
            dU[0, -1], dU[1, -2] = 1.0, -2.0
        else:
            dVh[-1, 0], dVh[-2, 1] = 1.0, -2.0
        with pytest.raises(la.GaugeError, match="extra columns"):
            pullback(dU=dU, dVh=dVh)


def test_k_argument_is_validated():
    A = np.ones((4, 3))
    for bad in (-1, 4, 1.5, True):
        with pytest.raises(ValueError, match="k must be"):
            la.svd_vjp(A, k=bad)
    with pytest.raises(ValueError, match="exclude"):
        la.svd(A, k=2, full_matrices=True)


# --- scale ----------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [1e-20, 1e20])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_extreme_scales_are_handled_by_the_split_form(scale, dtype):
    A = rand((5, 4), dtype, 37)
    res1, pb1 = la.svd_vjp(A)
    cots = invariant_cotangents(res1, 38)
    dA1 = pb1(*cots)
    res, pb = la.svd_vjp(scale * A)
    # U, V are scale free, S scales: d/dA of L(U, S/scale, V) at scale*A = dA1 / scale
    dA = pb(cots[0], cots[1] / scale, cots[2])
    assert np.isfinite(dA).all()
    np.testing.assert_allclose(dA * scale, dA1, rtol=1e-9, atol=1e-9 * np.abs(dA1).max())
    _, tan = la.svd_jvp(scale * A, scale * lt.direction(A, seed=39))
    _, tan1 = la.svd_jvp(A, lt.direction(A, seed=39))
    np.testing.assert_allclose(tan.U, tan1.U, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(tan.S / scale, tan1.S, rtol=1e-8, atol=1e-8)


# --- threads --------------------------------------------------------------------------

@pytest.mark.parametrize("shape,dtype", [((5000, 4, 3), np.complex128), ((6000, 3, 3), np.float64)])
def test_parallel_batch_loop_gives_the_serial_answer(shape, dtype):
    from linalgad._options import batch_threads
    A = rand(shape, dtype, 40)
    assert batch_threads(shape[0], max(shape[1:])) > 1 or la.get_num_threads() == 1
    res, pullback = la.svd_vjp(A)
    cots = invariant_cotangents(res, 41)
    old = la.set_num_threads(1)
    try:
        serial = pullback(*cots)
        la.set_num_threads(2)
        parallel = la.svd_vjp(A)[1](*cots)
    finally:
        la.set_num_threads(old)
    np.testing.assert_array_equal(serial, parallel)


@pytest.mark.parametrize("rule,kernel,value", [("svd_vjp", "svd_vjp", 1),
                                                ("eigh_vjp", "eigh_vjp", 0),
                                                ("eig_vjp", "eig_vjp_real", 0)])
def test_pullback_reads_the_thread_count_when_it_runs(monkeypatch, rule, kernel, value):
    # set_num_threads between the forward and the pullback must take effect
    from linalgad import _core
    seen, real = [], getattr(_core, kernel)
    monkeypatch.setattr(_core, kernel, lambda *a, **k: (seen.append(a[-1]), real(*a, **k))[1])
    A = rand((6000, 3, 3), np.float64, 43)
    A = A + np.swapaxes(A, -1, -2) if rule == "eigh_vjp" else A
    old = la.set_num_threads(1)
    try:
        res, pullback = getattr(la, rule)(A)
        la.set_num_threads(2)
        pullback(**{"dS" if rule == "svd_vjp" else "dw": np.ones_like(res[value])})
    finally:
        la.set_num_threads(old)
    assert seen == [2]


@pytest.mark.parametrize("bad", [7, 4321, 5999])
def test_parallel_batch_loop_names_the_failing_matrix(bad):
    # the chunks of the dynamic schedule go to either thread in any order:
    # the error still names the matrix, wherever it lies in the batch
    A = rand((6000, 3, 3), np.float64, 46)
    A[bad] = rand((3, 3), np.float64, 47, spectrum=[2.0, 1.0, 1.0])
    res, pullback = la.svd_vjp(A)
    cots = invariant_cotangents(res, 48)
    old = la.set_num_threads(2)
    try:
        with pytest.raises(la.DegeneracyError, match=rf"matrix \({bad},\)"):
            pullback(*cots)
    finally:
        la.set_num_threads(old)


def test_error_reports_the_batch_index_of_the_failing_matrix():
    A = rand((3, 4, 4), np.float64, 42)
    A[2] = rand((4, 4), np.float64, 43, spectrum=[2.0, 1.0, 1.0, 0.5])
    res, pullback = la.svd_vjp(A)
    with pytest.raises(la.DegeneracyError, match=r"matrix \(2,\)"):
        pullback(*invariant_cotangents(res, 44))


# --- structured input -------------------------------------------------------------------

def test_sparse_input_gets_a_pattern_cotangent_unless_asked_for_the_dense_one():
    sp = pytest.importorskip("scipy.sparse")
    A = sp.random(6, 5, density=0.5, random_state=3, format="csr") + sp.eye(6, 5)
    res, pullback = la.svd_vjp(A)
    cots = invariant_cotangents(res, 45)
    G = pullback(*cots)
    dense = la.svd_vjp(A.toarray())[1](*cots)
    assert sp.issparse(G) and G.format == "csr"
    mask = A.toarray() != 0
    np.testing.assert_allclose(G.toarray(), np.where(mask, dense, 0), atol=1e-12)
    np.testing.assert_allclose(la.svd_vjp(A, project="dense")[1](*cots), dense, atol=1e-12)
    assert np.abs(dense[~mask]).max() > 1e-3     # the two answers differ off the pattern


# --- the lane-vectorised path for 3x3 float64 stacks (the lane kernels of the core) --------

@pytest.mark.parametrize("B", [1, 7, 8, 9, 37])
@pytest.mark.parametrize("which", [(1, 1, 1), (0, 1, 0), (1, 0, 0), (0, 0, 1)])
def test_small_3x3_path_equals_the_reference(B, which):
    A = rand((B, 3, 3), np.float64, 46)
    res, pullback = la.svd_vjp(A)
    cots = [c if w else None for c, w in zip(invariant_cotangents(res, 47), which)]
    zeros = [c if c is not None else np.zeros_like(r) for c, r in zip(cots, res)]
    np.testing.assert_allclose(pullback(*cots), ref.svd_vjp(*res, *zeros), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["strict", "subspace", "exact"])
def test_small_3x3_path_hands_degenerate_lanes_to_the_general_kernel(mode):
    A = rand((20, 3, 3), np.float64, 48)
    A[13] = rand((3, 3), np.float64, 49, spectrum=[2.0, 1.0, 1.0])
    res, pullback = la.svd_vjp(A, degeneracy=mode)
    cots = invariant_cotangents(res, 50)
    keep = np.arange(20) != 13
    if mode == "strict":
        with pytest.raises(la.DegeneracyError, match=r"matrix \(13,\)"):
            pullback(*cots)
    elif mode == "subspace":
        with pytest.raises(la.GaugeError, match=r"matrix \(13,\)"):
            pullback(*cots)      # these random cotangents rotate inside the block
        dU = np.zeros_like(res.U)
        dU[:, :, 0] = cots[0][:, :, 0]   # outside the block: exact everywhere
        got = pullback(dU, cots[1], None)
        want = ref.svd_vjp(*res, dU, cots[1], np.zeros_like(res.Vh))
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
    else:
        with np.errstate(all="ignore"):
            got = pullback(*cots)
        # the computed gap is ~1e-16, not 0: IEEE gives a huge number or inf/nan
        assert not np.isfinite(got[13]).all() or np.abs(got[13]).max() > 1e10
        want = ref.svd_vjp(*(x[keep] for x in res), *(c[keep] for c in cots))
        np.testing.assert_allclose(got[keep], want, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("shape", [(37, 3, 3), (37, 4, 3)])
@pytest.mark.parametrize("arg", ["dU", "dS", "dVh"])
@pytest.mark.parametrize("bad", [np.nan, -np.inf])
def test_a_nonfinite_cotangent_anywhere_in_a_batch_is_refused_and_named(shape, arg, bad):
    # 3x3: the lane kernel checks the lanes it loads; 4x3: a pass in the core
    A = rand(shape, np.float64, 52)
    res, pullback = la.svd_vjp(A)
    c = dict(zip(("dU", "dS", "dVh"), invariant_cotangents(res, 53)))
    for b in (0, 17, 36):           # a first, a middle and the short last block
        c2 = {k: v.copy() for k, v in c.items()}
        c2[arg][(b, 2) if arg == "dS" else (b, 2, 1)] = bad
        with pytest.raises(ValueError, match=f"{arg} contains NaN or Inf"):
            pullback(**c2)
    for kw in ({"gauge": "canonical"}, {"full_matrices": True}):   # checked before the transforms
        res2, pb2 = la.svd_vjp(A, **kw)
        with pytest.raises(ValueError, match="dU contains NaN or Inf"):
            pb2(dU=np.full(res2.U.shape, bad))


# --- reverse mode through the canonical gauge -------------------------------------------

def _phase_loss(r):
    return (np.real(r.U[..., 0, 0]).sum() + np.real(r.U[..., 1, 0] + 2j * r.U[..., 2, 1]).sum()
            + np.imag(r.Vh[..., 1, 2]).sum())


def _phase_dloss(r):
    dU, dVh = np.zeros_like(r.U), np.zeros_like(r.Vh)
    dU[..., 0, 0] = dU[..., 1, 0] = 1
    if np.iscomplexobj(dU):
        dU[..., 2, 1] = -2j
        dVh[..., 1, 2] = 1j
    return dU, None, dVh


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 4, 3)])
@pytest.mark.parametrize("dtype", [np.complex128, np.float64, np.complex64])
def test_phase_dependent_loss_is_differentiable_in_the_canonical_gauge(shape, dtype, full):
    A = rand(shape, dtype, 51)
    vjp = functools.partial(la.svd_vjp, gauge="canonical", full_matrices=full)
    res, _ = vjp(A)
    np.testing.assert_allclose(res.U, la.svd(A, gauge="canonical", full_matrices=full).U)
    lt.check_vjp(vjp, A, _phase_loss, _phase_dloss)
    if np.dtype(dtype).kind == "c":   # the same loss on the raw factors is refused
        raw, pullback = la.svd_vjp(A, full_matrices=full)
        with pytest.raises(la.GaugeError):
            pullback(*_phase_dloss(raw))
