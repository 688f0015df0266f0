"""Singular-value functions G = U g(S) Vh: finite differences, adjointness,
the reference twin, exactness at repeated singular values, zero singular
values, domain errors."""

import functools

import numpy as np
import pytest

import linalgad as la
from linalgad import _reference as ref
from linalgad import testing as lt

DTYPES = [np.float64, np.complex128, np.float32, np.complex64]
SHAPES = [(4, 4), (6, 3), (3, 6), (2, 5, 4)]
FUNCS = {
    "sqrt": dict(g="sqrt"),
    "exp": dict(g="exp"),
    "power 3": dict(g=3),
    "callable": dict(g=np.tanh, dg=lambda s: 1 / np.cosh(s) ** 2),
}


@pytest.mark.parametrize("name", list(FUNCS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_vjp_jvp_and_adjointness(shape, dtype, name):
    kw = FUNCS[name]
    A = lt.random_matrix(shape, dtype, seed=1)
    vjp = functools.partial(la.svfunm_vjp, **kw)
    jvp = lambda X, E: la.svfunm_jvp(X, E, **kw)
    loss, dloss = lt.invariant_loss("funm", vjp(A)[0], seed=2)
    lt.check_vjp(vjp, A, loss, dloss)
    lt.check_jvp(jvp, A, loss, dloss)
    lt.check_adjoint(vjp, jvp, A, dloss)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", SHAPES)
def test_core_matches_the_numpy_reference_and_the_primal(shape, dtype):
    A = lt.random_matrix(shape, dtype, seed=3)
    G = lt.direction(A, seed=4)
    Gm, pullback = la.svfunm_vjp(A, "sqrt")
    U, s, Vh = np.linalg.svd(A, full_matrices=False)
    np.testing.assert_allclose(Gm, (U * np.sqrt(s)[..., None, :]) @ Vh, atol=1e-13)
    want = ref.svfunm_vjp(A, np.sqrt, lambda x: 0.5 / np.sqrt(x), G)
    np.testing.assert_allclose(pullback(G), want, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_exact_at_repeated_singular_values(dtype):
    """U exp(S) Vh at an orthogonal matrix (all singular values equal): the
    SVD rule would be 0/0, the divided differences are exact."""
    A = lt.random_matrix((4, 4), dtype, kind="unitary", seed=5)
    vjp = functools.partial(la.svfunm_vjp, g="exp")
    loss, dloss = lt.invariant_loss("funm", vjp(A)[0], seed=6)
    lt.check_vjp(vjp, A, loss, dloss)
    lt.check_jvp(lambda X, E: la.svfunm_jvp(X, E, "exp"), A, loss, dloss)


def test_g_equal_one_is_the_polar_factor():
    A = lt.random_matrix((5, 3), np.complex128, seed=7)
    G = lt.direction(A, seed=8)
    one = dict(g=lambda s: np.ones_like(s), dg=lambda s: np.zeros_like(s))
    Q, pullback = la.svfunm_vjp(A, **one)
    np.testing.assert_allclose(Q, la.polar(A).Q, atol=1e-13)
    np.testing.assert_allclose(pullback(G), la.polar_vjp(A)[1](dQ=G), atol=1e-12)


def test_zero_singular_values_follow_the_degeneracy_modes():
    A = lt.random_matrix((5, 3), np.float64, rank=2, seed=9)
    G = lt.direction(A, seed=10)
    exp_ = la.svfunm_vjp(A, "exp")[1]
    with pytest.raises(la.DegeneracyError, match="zero"):
        exp_(G)
    assert np.isfinite(la.svfunm_vjp(A, "exp", degeneracy="lorentz")[1](G)).all()
    # g(0) = 0 and a square input: no g(s)/s term, exact at rank deficiency
    B = lt.random_matrix((4, 4), np.float64, rank=3, seed=11)
    cube = functools.partial(la.svfunm_vjp, g=3)
    loss, dloss = lt.invariant_loss("funm", cube(B)[0], seed=12)
    lt.check_vjp(cube, B, loss, dloss)


def test_domain_errors_and_bad_arguments():
    A = np.diag([2.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="log needs positive values, but singular value 2 is 0"):
        la.svfunm_vjp(A, "log")
    with pytest.raises(TypeError, match="dg|df="):
        la.svfunm_vjp(A, np.sin)
    G, pullback = la.svfunm_vjp(np.eye(3), "exp")
    with pytest.raises(ValueError, match="dG has shape"):
        pullback(np.ones((2, 2)))
    assert not pullback().any()


@pytest.mark.parametrize("shape", [(0, 3, 3), (2, 0, 4, 2), (3, 0)])
def test_empty(shape):
    A = np.zeros(shape)
    G, pullback = la.svfunm_vjp(A, "exp")
    assert G.shape == shape and pullback(np.ones(shape)).shape == shape
