"""Functions of a Hermitian matrix (Daleckii-Krein): finite differences for
every function and uplo, adjointness, the reference twin, exactness at any
degeneracy (A = I: tr(B expm(A)), and why the eigh chain is not the answer),
divided differences without cancellation, domain errors, batches, layouts."""

import functools

import numpy as np
import pytest
import scipy.linalg as sl
from hypothesis import HealthCheck, given, settings, strategies as hst

import linalgad as la
from linalgad import _divdiff as dd
from linalgad import _reference as ref
from linalgad import testing as lt

DTYPES = [np.float64, np.complex128, np.float32, np.complex64]
UPLOS = [None, "L", "U"]
EPS = np.finfo(np.float64).eps
FUNCS = {
    "exp": (np.exp, np.exp, "hermitian"),
    "log": (np.log, lambda x: 1 / x, "psd"),
    "sqrt": (np.sqrt, lambda x: 0.5 / np.sqrt(x), "psd"),
    "abs": (np.abs, np.sign, "hermitian"),
    "inv": (lambda x: 1 / x, lambda x: -1 / x**2, "psd"),
    2.5: (lambda x: x**2.5, lambda x: 2.5 * x**1.5, "psd"),
    -1.5: (lambda x: x**-1.5, lambda x: -1.5 * x**-2.5, "psd"),
    3: (lambda x: x**3, lambda x: 3 * x**2, "hermitian"),
    "sin (callable)": (np.sin, np.cos, "hermitian"),
}


def H(X):
    return np.conj(np.swapaxes(X, -1, -2))


def fargs(name):
    f, df, kind = FUNCS[name]
    if name == "sin (callable)":
        return dict(f=np.sin, df=np.cos), kind, f, df
    return dict(f=name), kind, f, df


def hermitian_input(shape, dtype, seed, kind, uplo):
    A = lt.random_matrix(shape, dtype, kind=kind, seed=seed)
    if uplo is not None:
        junk = lt.direction(A, seed=seed + 1000)
        mask = np.triu(np.ones(shape[-2:]), 1) if uplo == "L" else np.tril(np.ones(shape[-2:]), -1)
        A = (A + junk * mask).astype(dtype)
    return A


def structure(uplo, A):
    if A.shape[-1] == 1:   # see tests/test_eigh.py: a 1x1 Hermitian direction is real
        return "real" if np.iscomplexobj(A) else None
    return "hermitian" if uplo is None else None


@pytest.mark.parametrize("uplo", UPLOS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(FUNCS))
def test_vjp_and_jvp_match_finite_differences(name, dtype, uplo):
    kw, kind, _, _ = fargs(name)
    A = hermitian_input((2, 4, 4), dtype, 1, kind, uplo)
    vjp = functools.partial(la.funm_vjp, UPLO=uplo, **kw)
    jvp = lambda X, E: la.funm_jvp(X, E, UPLO=uplo, **kw)
    loss, dloss = lt.invariant_loss("funm", vjp(A)[0], seed=2)
    lt.check_vjp(vjp, A, loss, dloss, structure=structure(uplo, A))
    lt.check_jvp(jvp, A, loss, dloss, structure=structure(uplo, A))
    _, dloss = lt.invariant_loss("funm", vjp(A)[0], seed=3)
    lt.check_adjoint(vjp, jvp, A, dloss)


@pytest.mark.parametrize("uplo", UPLOS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("name", ["exp", "log", "sqrt", 2.5])
def test_primal_is_the_matrix_function(name, dtype, uplo):
    kw, kind, _, _ = fargs(name)
    A = hermitian_input((5, 5), dtype, 4, kind, uplo)
    Hm = ref.hermitian_read(A, uplo)
    want = {"exp": sl.expm, "log": sl.logm, "sqrt": sl.sqrtm,
            2.5: lambda X: sl.fractional_matrix_power(X, 2.5)}[name](Hm)
    F = la.funm(A, UPLO=uplo, **kw)
    np.testing.assert_allclose(F, want, atol=1e-10 * np.abs(want).max())
    np.testing.assert_allclose(la.funm_vjp(A, UPLO=uplo, **kw)[0], F)


@pytest.mark.parametrize("uplo", UPLOS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_core_matches_the_numpy_reference(dtype, uplo):
    A = hermitian_input((3, 5, 5), dtype, 5, "psd", uplo)
    G = lt.direction(A, seed=6)
    got = la.funm_vjp(A, "log", UPLO=uplo)[1](G)
    want = ref.funm_vjp(A, np.log, lambda x: 1 / x, G, uplo)
    np.testing.assert_allclose(got, want, atol=1e-12 * np.abs(want).max())
    got = la.funm_jvp(A, G, "log", UPLO=uplo)[1]
    want = ref.funm_jvp(A, G, np.log, lambda x: 1 / x, uplo)
    np.testing.assert_allclose(got, want, atol=1e-12 * np.abs(want).max())


# --- degeneracy: exact everywhere ----------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_trace_B_expm_at_the_identity_is_exact_and_the_eigh_chain_is_not(dtype):
    """L(A) = tr(B expm(A)) at A = I has gradient e B^T (cotangent of F is
    B^T, conjugated for complex: dL = Re tr(B dF) needs dF_bar = conj(B^T)
    for a real L; here B is real so dF_bar = B^T)."""
    n = 4
    B = np.random.default_rng(7).standard_normal((n, n))
    A = np.eye(n, dtype=dtype)
    G = B.T.astype(dtype)
    truth = np.e * 0.5 * (G + H(G))              # Hermitian part: UPLO=None
    F, pullback = la.funm_vjp(A, "exp", UPLO=None)
    np.testing.assert_allclose(pullback(G), truth, atol=1e-14)
    loss = lambda F: float(np.real(np.trace(B @ F)))
    lt.check_vjp(lambda X: la.funm_vjp(X, "exp", UPLO=None), A, loss, lambda F: (G,), structure="hermitian")
    # the same loss through eigh: F = V diag(exp(w)) V^H with the eigh rule
    res, eigh_pullback = la.eigh_vjp(A, UPLO=None)
    w, V = res
    ew = np.exp(w)
    dw = np.real(np.einsum("ij,ji->i", H(V) @ G, V)) * ew     # dL/dw
    dV = (G + H(G)) @ V * ew                                   # dL/dV (F Hermitian)
    with pytest.raises(la.DegeneracyError, match="funm_vjp"):
        eigh_pullback(dw, dV)
    # subspace silently drops the off-diagonal divided differences (teaching point)
    _, pb_sub = la.eigh_vjp(A, UPLO=None, degeneracy="subspace")
    wrong = pb_sub(dw, dV)
    np.testing.assert_allclose(wrong, np.e * V @ np.diag(np.diag(H(V) @ truth @ V / np.e)) @ H(V),
                               atol=1e-13)
    assert np.abs(wrong - truth).max() > 0.1 * np.abs(truth).max()
    with np.errstate(all="ignore"):
        _, pb_exact = la.eigh_vjp(A, UPLO=None, degeneracy="exact")
        assert not np.isfinite(pb_exact(dw, dV)).all()


@pytest.mark.parametrize("gap", [0.0, EPS ** (1 / 3) / 100, 1e-9])
@pytest.mark.parametrize("name", ["exp", "log", "sqrt", 2.5, "sin (callable)"])
def test_exact_at_ties_and_tiny_gaps(name, gap):
    """ChainRules' "stable for (almost-)singular input" fixture: half of the
    gaps are 0 or tiny; finite differences agree and nothing cancels."""
    kw, _, _, _ = fargs(name)
    w = np.array([1.0, 1.0 + gap, 2.0, 2.0 + gap, 3.5])
    A = lt.random_matrix((5, 5), np.complex128, kind="psd", spectrum=w, seed=8)
    loss, dloss = lt.invariant_loss("funm", la.funm(A, **kw, UPLO=None), seed=9)
    lt.check_vjp(lambda X: la.funm_vjp(X, **kw, UPLO=None), A, loss, dloss, structure="hermitian")
    lt.check_jvp(lambda X, E: la.funm_jvp(X, E, **kw, UPLO=None), A, loss, dloss, structure="hermitian")


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "inv", 2.5, -0.5, 3, -2])
@pytest.mark.parametrize("rel", [0.0, 1e-15, 1e-12, 1e-8, 1e-4, 0.1, 0.6, 3.0])
def test_divided_differences_have_no_cancellation(name, rel):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    mf = {"exp": mpmath.exp, "log": mpmath.log, "sqrt": mpmath.sqrt, "inv": lambda x: 1 / x}
    f = mf.get(name, lambda x, p=name: x ** p)
    worst = 0.0
    for a in (0.3, 1.0, 7.5):
        b = a * (1 + rel)
        _, D = dd.divided_differences(dd.resolve(name), np.array([a, b]))
        am, bm = mpmath.mpf(a), mpmath.mpf(b)
        exact = mpmath.diff(f, am) if a == b else (f(am) - f(bm)) / (am - bm)
        worst = max(worst, float(abs((D[0, 1] - exact) / exact)))
    assert worst < 1e-14


def test_callable_divided_differences_use_the_derivative_at_the_midpoint_when_close():
    fn = dd.resolve(np.sin, np.cos)
    _, D = dd.divided_differences(fn, np.array([1.0, 1.0 + 1e-9, 2.0]))
    np.testing.assert_allclose(D[0, 1], np.cos(1.0 + 0.5e-9), rtol=1e-15)
    np.testing.assert_allclose(D[0, 2], (np.sin(1.0) - np.sin(2.0)) / (1.0 - 2.0), rtol=1e-15)
    np.testing.assert_allclose(np.diagonal(D), np.cos([1.0, 1.0 + 1e-9, 2.0]))


# --- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name,spectrum,match", [
    ("log", [-1.0, 1.0, 2.0], "log needs positive values, but eigenvalue 0 is -1"),
    ("sqrt", [-0.5, 1.0, 2.0], "sqrt needs non-negative"),
    ("sqrt", [0.0, 1.0, 2.0], "sqrt is not differentiable at 0"),
    ("inv", [0.0, 1.0, 2.0], "inv is not differentiable at 0"),
    ("abs", [0.0, 1.0, 2.0], "abs is not differentiable at 0"),
    (0.5, [-1.0, 1.0, 2.0], "non-negative"),
    (-1, [0.0, 1.0, 2.0], "not defined at 0"),
])
def test_domain_errors_name_the_eigenvalue(name, spectrum, match):
    A = np.diag(spectrum)
    for call in (lambda: la.funm_vjp(A, name, UPLO=None), lambda: la.funm_jvp(A, A, name, UPLO=None), lambda: la.funm(A, name, UPLO=None)):
        with pytest.raises(ValueError, match=match):
            call()


def test_bad_functions_and_arguments():
    A = np.eye(3)
    with pytest.raises(TypeError, match="df="):
        la.funm_vjp(A, np.sin, UPLO=None)
    with pytest.raises(ValueError, match="unknown function"):
        la.funm_vjp(A, "expm", UPLO=None)
    with pytest.raises(TypeError, match="df is only for a callable"):
        la.funm_vjp(A, "exp", df=np.exp, UPLO=None)
    with pytest.raises(ValueError, match="square"):
        la.funm_vjp(np.ones((2, 3)), "exp", UPLO=None)
    with pytest.raises(ValueError, match="UPLO"):
        la.funm_vjp(A, "exp", UPLO="lower")
    F, pullback = la.funm_vjp(A, "exp", UPLO=None)
    with pytest.raises(ValueError, match="dF has shape"):
        pullback(np.ones((2, 2)))
    assert not pullback().any()
    assert not F.flags.writeable


@pytest.mark.parametrize("shape", [(0, 3, 3), (2, 0, 4, 4), (0, 0)])
def test_empty_batches(shape):
    A = np.zeros(shape)
    F, pullback = la.funm_vjp(A, "exp", UPLO=None)
    assert F.shape == shape and pullback(np.ones(shape)).shape == shape
    assert la.funm_jvp(A, A, "exp", UPLO=None)[1].shape == shape


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_single_precision_agrees_with_double(dtype):
    A = lt.random_matrix((5, 5), dtype, kind="psd", seed=10)
    G = lt.direction(A, seed=11)
    got = la.funm_vjp(A, "sqrt", UPLO=None)[1](G)
    assert got.dtype == dtype
    wide = np.complex128 if np.dtype(dtype).kind == "c" else np.float64
    want = la.funm_vjp(A.astype(wide), "sqrt", UPLO=None)[1](G.astype(wide))
    rtol, atol = lt.tolerance(dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * np.abs(want).max())


@pytest.mark.parametrize("layout", ["F", "strided", "negative", "byteswapped", "readonly"])
def test_layouts_and_inputs_are_not_modified(layout):
    A = lt.random_matrix((2, 4, 4), np.complex128, kind="psd", seed=12)
    G = lt.direction(A, seed=13)
    want = la.funm_vjp(A, "log", UPLO=None)[1](G)
    big = np.zeros(A.shape[:-1] + (8,), A.dtype)
    big[..., ::2] = A
    ro = A.copy()
    ro.flags.writeable = False
    X = {"F": np.asfortranarray(A), "strided": big[..., ::2], "negative": A[:, ::-1][:, ::-1],
         "byteswapped": A.astype(A.dtype.newbyteorder(">")), "readonly": ro}[layout]
    before = X.copy()
    np.testing.assert_allclose(la.funm_vjp(X, "log", UPLO=None)[1](G), want, atol=1e-13)
    np.testing.assert_array_equal(X, before)


def test_a_domain_error_names_the_matrix_of_a_batch():
    A = np.stack([np.eye(3), np.diag([1.0, -2.0, 3.0])])[None]
    with pytest.raises(ValueError, match=r"eigenvalue 0 of matrix \(0, 1\) is -2"):
        la.funm_vjp(A, "sqrt", UPLO=None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=hst.integers(1, 6), batch=hst.sampled_from([(), (2,), (0,), (1, 2)]),
       dtype=hst.sampled_from(DTYPES), uplo=hst.sampled_from(UPLOS),
       name=hst.sampled_from(["exp", "log", "sqrt", 2.5, "sin (callable)"]),
       layout=hst.sampled_from(["C", "F", "strided", "negative", "byteswapped", "readonly"]),
       seed=hst.integers(0, 2**16))
def test_property_core_equals_reference_in_any_layout(n, batch, dtype, uplo, name, layout, seed):
    kw, kind, f, df = fargs(name)
    shape = batch + (n, n)
    A = (hermitian_input(shape, dtype, seed, "psd", uplo) if 0 not in batch
         else np.zeros(shape, dtype))
    if 0 not in batch:
        A = (A + np.eye(n, dtype=dtype)).astype(dtype)     # eigenvalues >= 1: every f is defined
    G = lt.direction(A, seed=seed + 1) if A.size else np.zeros(shape, dtype)
    big = np.zeros(shape[:-1] + (2 * n,), A.dtype)
    big[..., ::2] = A
    ro = A.copy()
    ro.flags.writeable = False
    X = {"C": A, "F": np.asfortranarray(A), "strided": big[..., ::2],
         "negative": A[..., ::-1, :][..., ::-1, :], "byteswapped": A.astype(A.dtype.newbyteorder(">")),
         "readonly": ro}[layout]
    before = X.copy()
    got = la.funm_vjp(X, UPLO=uplo, **kw)[1](G)
    got_t = la.funm_jvp(X, G, UPLO=uplo, **kw)[1]
    np.testing.assert_array_equal(X, before)
    wide = np.complex128 if np.dtype(dtype).kind == "c" else np.float64
    A64, G64 = A.astype(wide), G.astype(wide)
    want = ref.funm_vjp(A64, f, df, G64, uplo)
    want_t = ref.funm_jvp(A64, G64, f, df, uplo)
    tol = 1e-4 if np.dtype(dtype).char in "fF" else 1e-10
    scale = max(np.abs(want).max(initial=0.0), np.abs(want_t).max(initial=0.0), 1.0)
    np.testing.assert_allclose(got, want, atol=tol * scale)
    np.testing.assert_allclose(got_t, want_t, atol=tol * scale)


# --- the lane-vectorised path for 3x3 float64 stacks (the lane kernels of the core) --------

@pytest.mark.parametrize("uplo", UPLOS)
@pytest.mark.parametrize("B", [1, 7, 8, 9, 37])
def test_small_3x3_path_equals_the_reference(B, uplo):
    # B = 8, 9, 37: full blocks (register transposes) and a short last block;
    # the tangent is read as uplo says, the cotangent finished for it
    A = hermitian_input((B, 3, 3), np.float64, 30, "psd", uplo)
    A[B // 2] = lt.random_matrix((3, 3), np.float64, kind="psd", spectrum=[1.0, 1.0, 2.0], seed=31)
    G = lt.direction(A, seed=32)
    got = la.funm_vjp(A, "sqrt", UPLO=uplo)[1](G)
    want = ref.funm_vjp(A, np.sqrt, lambda x: 0.5 / np.sqrt(x), G, uplo)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    got = la.funm_jvp(A, G, "sqrt", UPLO=uplo)[1]
    want = ref.funm_jvp(A, G, np.sqrt, lambda x: 0.5 / np.sqrt(x), uplo)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n", [3, 4])
@pytest.mark.parametrize("bad", [np.nan, -np.inf])
def test_a_nonfinite_cotangent_or_tangent_anywhere_in_a_batch_is_refused_and_named(n, bad):
    # n = 3: the lane kernel checks the lanes it loads; n = 4: a pass in the core
    A = lt.random_matrix((37, n, n), np.float64, kind="hermitian", seed=33)
    F, pb = la.funm_vjp(A, "exp", UPLO=None)
    for b in (0, 17, 36):
        G = lt.direction(A, seed=34)
        G[b, 0, n - 1] = bad
        with pytest.raises(ValueError, match="dF contains NaN or Inf"):
            pb(G)
        with pytest.raises(ValueError, match="dA contains NaN or Inf"):
            la.funm_jvp(A, G, "exp", UPLO="L")     # even where the triangle read ignores it
