"""Bad input and memory layouts for the SVD and polar rules: a clear error or
the right answer, and inputs are never modified."""

import functools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import linalgad as la
from linalgad import _reference as ref
from linalgad import testing as lt

RULES = {
    "svd_vjp": lambda A: la.svd_vjp(A)[1](*_cots(la.svd_vjp(A)[0])),
    "svd_jvp": lambda A: la.svd_jvp(A, np.ones(A.shape, _dt(A)))[1].U,
    "polar_vjp": lambda A: la.polar_vjp(A)[1](dQ=np.ones(A.shape, _dt(A))),
    "polar_jvp": lambda A: la.polar_jvp(A, np.ones(A.shape, _dt(A)))[1].Q,
}


def _dt(A):
    return np.result_type(np.asarray(A).dtype, np.float32) if np.asarray(A).dtype.kind in "fc" else np.float64


def _cots(res):
    _, dloss = lt.invariant_loss("svd", res, seed=0)
    return dloss(res)


# --- layouts ----------------------------------------------------------------------------

def _layouts(A):
    ro = A.copy()
    ro.flags.writeable = False
    big = np.zeros(A.shape[:-1] + (2 * A.shape[-1],), A.dtype)
    big[..., ::2] = A
    return {
        "C": A,
        "F": np.asfortranarray(A),
        "strided": big[..., ::2],
        "negative": A[..., ::-1, :][..., ::-1, :],
        "byteswapped": A.astype(A.dtype.newbyteorder(">")),
        "readonly": ro,
    }


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
def test_every_layout_gives_the_contiguous_answer_and_is_not_modified(rule, dtype):
    A = lt.random_matrix((2, 5, 3), dtype, seed=1)
    want = RULES[rule](A)
    for name, X in _layouts(A).items():
        before = X.copy()
        got = RULES[rule](X)
        np.testing.assert_array_equal(X, before, err_msg=name)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)


def test_cotangents_in_any_layout_are_accepted_and_not_modified():
    A = lt.random_matrix((5, 4), np.complex128, seed=2)
    res, pullback = la.svd_vjp(A)
    cots = _cots(res)
    want = pullback(*cots)
    for dU, dVh in zip(_layouts(cots[0]).values(), _layouts(cots[2]).values()):
        keep = dU.copy(), dVh.copy()
        np.testing.assert_allclose(pullback(dU, cots[1], dVh), want, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(dU, keep[0])
        np.testing.assert_array_equal(dVh, keep[1])


def test_returned_factors_of_a_vjp_are_read_only():
    res, _ = la.svd_vjp(np.eye(3) + 1)
    with pytest.raises(ValueError):
        res.U[0, 0] = 1.0


# --- bad input --------------------------------------------------------------------------

@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_refused(rule, bad):
    A = np.eye(3)
    A[1, 2] = bad
    with pytest.raises(ValueError, match="NaN or Inf"):
        RULES[rule](A)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_wrong_rank_is_refused(rule):
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        RULES[rule](np.ones(3))


@pytest.mark.parametrize("dtype", [np.float16, np.longdouble, object, "U3"])
def test_unsupported_dtypes_raise_type_error(dtype):
    with pytest.raises(TypeError):
        la.svd_vjp(np.ones((3, 3)).astype(dtype))


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.bool_, np.uint16])
def test_integer_and_bool_input_is_promoted_to_float64(dtype):
    A = (np.arange(12).reshape(4, 3) % 5).astype(dtype)
    res, pullback = la.svd_vjp(A)
    assert res.U.dtype == np.float64
    dA = pullback(dS=np.ones(res.S.shape))
    assert dA.dtype == np.float64
    np.testing.assert_allclose(dA, res.U @ res.Vh, atol=1e-12)


def test_cotangent_shape_dtype_and_values_are_checked():
    A = lt.random_matrix((5, 4), np.float64, seed=3)
    res, pullback = la.svd_vjp(A)
    with pytest.raises(ValueError, match=r"dU has shape \(4, 4\), expected \(5, 4\)"):
        pullback(dU=np.ones((4, 4)))
    with pytest.raises(ValueError, match="dS has shape"):
        pullback(dS=np.ones(5))
    with pytest.raises(TypeError, match="dVh is complex but Vh is real"):
        pullback(dVh=np.ones((4, 4), complex))
    with pytest.raises(ValueError, match="NaN or Inf"):
        pullback(dS=np.array([1.0, np.nan, 0.0, 0.0]))
    with pytest.raises(TypeError, match="numeric"):
        pullback(dS=np.array(["a"] * 4))
    with pytest.raises(ValueError, match="dA has shape"):
        la.svd_jvp(A, np.ones((4, 5)))
    _, pb_polar = la.polar_vjp(A)
    with pytest.raises(ValueError, match="dP has shape"):
        pb_polar(dP=np.ones((5, 5)))


def test_options_are_validated():
    A = np.eye(3) + 1
    with pytest.raises(ValueError, match="degeneracy must be one of"):
        la.svd_vjp(A, degeneracy="nan")
    with pytest.raises(ValueError, match="tol"):
        la.svd_vjp(A, tol=-1)
    with pytest.raises(ValueError, match="order"):
        la.svd_vjp(A, degeneracy="taylor", order=0)
    with pytest.raises(ValueError, match="eps"):
        la.svd_vjp(A, degeneracy="lorentz", eps=0)
    with pytest.raises(TypeError):
        la.svd_vjp(A, degenerasy="strict")
    with pytest.raises(ValueError, match="threads"):
        la.set_num_threads(0)


_OPTION_TAKERS = {
    "svd_vjp": lambda A, **kw: la.svd_vjp(A, **kw),
    "svd_jvp": lambda A, **kw: la.svd_jvp(A, A, **kw),
    "polar_vjp": lambda A, **kw: la.polar_vjp(A, **kw),
    "polar_jvp": lambda A, **kw: la.polar_jvp(A, A, **kw),
    "eigh_vjp": lambda A, **kw: la.eigh_vjp(A, **kw),
    "eigh_jvp": lambda A, **kw: la.eigh_jvp(A, A, **kw),
    "eig_vjp": lambda A, **kw: la.eig_vjp(A, **kw),
    "eig_jvp": lambda A, **kw: la.eig_jvp(A, A, **kw),
    "svfunm_vjp": lambda A, **kw: la.svfunm_vjp(A, np.sqrt, dg=lambda s: 0.5 / np.sqrt(s), **kw),
}


@pytest.mark.parametrize("rule", sorted(_OPTION_TAKERS))
def test_unknown_options_are_named_with_the_valid_ones(rule):
    """An unknown keyword names itself and the options, not an internal function."""
    A = np.eye(3) + 1
    valid = "the options are degeneracy, tol, eps, order, gauge_tol"
    with pytest.raises(TypeError, match=f"unknown option 'foo'; {valid}$") as info:
        _OPTION_TAKERS[rule](A, foo=1)
    assert "options()" not in str(info.value)
    with pytest.raises(TypeError, match=r"unknown options 'bar', 'foo';"):
        _OPTION_TAKERS[rule](A, foo=1, bar=2)
    with pytest.raises(TypeError, match=r"'degenerasy' \(did you mean 'degeneracy'\?\)"):
        _OPTION_TAKERS[rule](A, degenerasy="strict")


@pytest.mark.parametrize("shape", [(0, 3, 3), (2, 0, 3), (2, 3, 0), (0, 0), (1, 1)])
def test_empty_batches_and_empty_matrices(shape):
    A = np.zeros(shape)
    res, pullback = la.svd_vjp(A)
    dA = pullback(np.ones(res.U.shape), np.ones(res.S.shape), np.ones(res.Vh.shape))
    assert dA.shape == shape
    _, tan = la.svd_jvp(A, A)
    assert tan.U.shape == res.U.shape
    assert la.polar_vjp(A)[1](np.ones(shape)).shape == shape


# --- property tests ---------------------------------------------------------------------

dtypes = st.sampled_from([np.float64, np.complex128])


@st.composite
def problems(draw):
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    m, n = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    dtype = draw(dtypes)
    layout = draw(st.sampled_from(["C", "F", "strided", "negative", "byteswapped", "readonly"]))
    seed = draw(st.integers(0, 2**16))
    scale = draw(st.sampled_from([1.0, 1e-8, 1e8]))
    return batch + (m, n), dtype, layout, seed, scale


@settings(max_examples=60, deadline=None)
@given(problems())
def test_property_core_equals_reference_in_any_layout(problem):
    shape, dtype, layout, seed, scale = problem
    A = scale * lt.random_matrix(shape, dtype, seed=seed)
    X = _layouts(A)[layout]
    before = X.copy()
    res, pullback = la.svd_vjp(X, degeneracy="exact")
    cots = _cots(res)
    got = pullback(*cots)
    want = ref.svd_vjp(res.U, res.S, res.Vh, *cots)
    tol = 1e-8 * max(1.0, np.abs(want).max())
    np.testing.assert_allclose(got, want, atol=tol, rtol=1e-7)
    np.testing.assert_array_equal(X, before)
    # polar: pullback of dQ = the pushforward along dA (self-adjoint)
    G = lt.direction(A, seed=seed)
    np.testing.assert_allclose(la.polar_vjp(X)[1](dQ=G), la.polar_jvp(X, G)[1].Q,
                               atol=1e-8 * max(1.0, 1.0 / scale))


ALL_DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


@st.composite
def spectral_problems(draw):
    """Every dtype, and spectra from random_matrix's knobs: its default
    (well separated), a graded spectrum at a drawn scale, two leading values
    ``gap`` apart, or a rank-deficient matrix (``rank`` < min(m, n))."""
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=1)))
    m, n = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    k = min(m, n)
    dtype = draw(st.sampled_from(ALL_DTYPES))
    seed = draw(st.integers(0, 2**16))
    knob = draw(st.sampled_from(["default", "spectrum", "gap", "rank"]))
    knobs = {}
    if knob == "spectrum":
        # 1.5 decades, consecutive ratio >= 0.5: separated, s^-1 terms <= 30x
        knobs["spectrum"] = np.logspace(0, -1.5, k) * draw(st.sampled_from([1.0, 1e-3, 1e3]))
    elif knob == "gap" and k >= 2:
        knobs["gap"] = draw(st.sampled_from([1e-2, 0.1, 0.5]))   # relative gap >= ~1.7e-3
    elif knob == "rank" and k >= 2:
        knobs["rank"] = draw(st.integers(1, k - 1))
    return batch + (m, n), dtype, seed, knobs


def _close_to_reference(got, want, dtype):
    rtol, atol = lt.tolerance(dtype)
    scale = max(np.abs(want).max(initial=0.0), 1e-300)
    assert np.abs(got - want).max(initial=0.0) <= (rtol + atol) * scale


def _up(x):
    return None if x is None else np.asarray(x).astype(np.result_type(x, np.float64))


@settings(max_examples=40, deadline=None)
@given(spectral_problems())
def test_property_rules_are_adjoint_on_random_spectra_in_every_dtype(problem):
    """svd (truncated to the rank when rank-deficient), polar (full rank) and
    eigh (square): the VJP/JVP dot-product test at the dtype's tolerance, and
    the svd pullback against the float64 reference on the same factors."""
    shape, dtype, seed, knobs = problem
    A = lt.random_matrix(shape, dtype, seed=seed, **knobs)
    k = knobs.get("rank")
    svd_vjp = functools.partial(la.svd_vjp, k=k)
    svd_jvp = functools.partial(la.svd_jvp, k=k)
    res, pullback = svd_vjp(A)
    _, dloss = lt.invariant_loss("svd", res, seed=seed + 1)
    lt.check_adjoint(svd_vjp, svd_jvp, A, dloss, n_directions=2, seed=seed)
    cots = dloss(res)
    got = pullback(*cots)
    assert got.dtype == np.dtype(dtype)
    # with the discarded singular values zero the plain thin formula is exact
    _close_to_reference(got, ref.svd_vjp(*map(_up, res), *map(_up, cots)), dtype)
    if k is None:
        _, dloss = lt.invariant_loss("polar", la.polar(A), seed=seed + 2)
        lt.check_adjoint(la.polar_vjp, la.polar_jvp, A, dloss, n_directions=2, seed=seed)
    if shape[-1] == shape[-2] and k is None:
        H = lt.random_matrix(shape, dtype, kind="hermitian", seed=seed, **knobs)
        eigh_vjp = functools.partial(la.eigh_vjp, UPLO=None)
        eigh_jvp = functools.partial(la.eigh_jvp, UPLO=None)
        _, dloss = lt.invariant_loss("eigh", la.eigh(H), seed=seed + 3)
        lt.check_adjoint(eigh_vjp, eigh_jvp, H, dloss, n_directions=2, structure="hermitian", seed=seed)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128, np.complex64])
def test_finite_check_sees_every_entry_and_both_parts(dtype):
    from linalgad import _core
    a = np.ones((4, 5, 7), dtype)
    assert _core.all_finite(a)
    a[3, 4, 6] = np.finfo(dtype).max
    assert _core.all_finite(a)
    for bad in (np.nan, np.inf, -np.inf):
        for where in [(0, 0, 0), (3, 4, 6), (2, 1, 3)]:
            b = a.copy()
            b[where] = bad
            assert not _core.all_finite(b)
            if np.dtype(dtype).kind == "c":
                b = a.copy()
                b[where] = complex(1.0, bad)
                assert not _core.all_finite(b)
