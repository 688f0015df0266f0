"""Polar decomposition rules: finite differences, adjointness, the reference,
orthogonal/unitary input (fully degenerate SVD) and rank deficiency."""

import functools

import numpy as np
import pytest

import linalgad as la
from linalgad import _reference as ref
from linalgad import testing as lt

DTYPES = [np.float64, np.complex128, np.float32, np.complex64]
SHAPES = [(4, 4), (6, 3), (3, 6), (2, 5, 5), (3, 4, 2)]


def H(X):
    return np.conj(np.swapaxes(X, -1, -2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_is_a_polar_decomposition(shape, dtype):
    A = lt.random_matrix(shape, dtype, seed=1)
    Q, P = la.polar(A)
    rtol, atol = lt.tolerance(dtype)
    np.testing.assert_allclose(Q @ P, A, atol=50 * atol)
    np.testing.assert_allclose(P, H(P), atol=50 * atol)
    assert np.linalg.eigvalsh(P).min() > -50 * atol


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_vjp_and_jvp_match_finite_differences(shape, dtype):
    A = lt.random_matrix(shape, dtype, seed=2)
    res, _ = la.polar_vjp(A)
    loss, dloss = lt.invariant_loss("polar", res, seed=3)
    lt.check_vjp(la.polar_vjp, A, loss, dloss)
    lt.check_jvp(la.polar_jvp, A, loss, dloss)
    lt.check_adjoint(la.polar_vjp, la.polar_jvp, A, dloss)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", SHAPES + [(70, 66), (66, 70), (2, 64, 64)])   # k >= 64: padded blocks
def test_core_matches_the_reference(shape, dtype):
    A = lt.random_matrix(shape, dtype, seed=4)
    G, Hp = lt.direction(A, seed=5), lt.direction(np.zeros(shape[:-2] + (shape[-1],) * 2, dtype), seed=6)
    _, pb = la.polar_vjp(A)
    for dQ, dP in [(G, Hp), (G, None), (None, Hp)]:
        np.testing.assert_allclose(pb(dQ, dP), ref.polar_vjp(A, dQ, dP), atol=1e-12)
    assert np.all(pb() == 0)
    _, tan = la.polar_jvp(A, G)
    for got, want in zip(tan, ref.polar_jvp(A, G)):
        np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("n", [1, 3, 8])
def test_exact_on_orthogonal_and_unitary_input(n, dtype):
    """Every singular value is 1: the SVD is fully degenerate, Q = A is smooth."""
    A = lt.random_matrix((n, n), dtype, kind="unitary", seed=7)
    res, pb = la.polar_vjp(A)
    np.testing.assert_allclose(res.Q, A, atol=1e-12)
    G = lt.direction(A, seed=8)
    np.testing.assert_allclose(pb(dQ=G), 0.5 * (G - A @ H(G) @ A), atol=1e-12)
    loss, dloss = lt.invariant_loss("polar", res, seed=9)
    lt.check_vjp(la.polar_vjp, A, loss, dloss)
    lt.check_jvp(la.polar_jvp, A, loss, dloss)


@pytest.mark.parametrize("shape", [(5, 5), (6, 4), (4, 6)])
def test_rank_deficient_input_is_refused_in_strict_mode(shape):
    A = lt.random_matrix(shape, np.float64, rank=2, seed=10)
    _, pb = la.polar_vjp(A)
    with pytest.raises(la.DegeneracyError, match="rank-deficient"):
        pb(dQ=lt.direction(A, seed=11))
    dA = la.polar_vjp(A, degeneracy="lorentz")[1](dQ=lt.direction(A, seed=11))
    assert np.isfinite(dA).all()


# --- the lane-vectorised path for 3x3 float64 stacks (the lane kernels of the core) --------

@pytest.mark.parametrize("B", [1, 7, 8, 9, 37])
@pytest.mark.parametrize("which", [(1, 1), (1, 0), (0, 1)])
@pytest.mark.parametrize("kind", ["general", "orthogonal"])
def test_small_3x3_path_equals_the_reference(B, which, kind):
    # B = 8, 9, 37: full blocks (register transposes) and a short last block;
    # orthogonal input: every singular value 1, the fully degenerate SVD
    A = lt.random_matrix((B, 3, 3), np.float64, kind="unitary" if kind == "orthogonal" else "general",
                         seed=12)
    res, pb = la.polar_vjp(A)
    c = [lt.direction(x, seed=13 + i) if keep else None
         for i, (x, keep) in enumerate(zip(res, which))]
    np.testing.assert_allclose(pb(*c), ref.polar_vjp(A, *c), rtol=1e-10, atol=1e-12)


def test_small_3x3_path_hands_rank_deficient_lanes_to_the_general_kernel():
    A = lt.random_matrix((20, 3, 3), np.float64, seed=14)
    A[13] = lt.random_matrix((3, 3), np.float64, rank=1, seed=15)
    _, pb = la.polar_vjp(A)
    G = lt.direction(A, seed=16)
    with pytest.raises(la.DegeneracyError, match=r"of matrix \(13,\).*rank-deficient"):
        pb(dQ=G)
    keep = np.arange(20) != 13
    got = la.polar_vjp(A, degeneracy="subspace")[1](dQ=G)
    np.testing.assert_allclose(got[keep], ref.polar_vjp(A[keep], G[keep]), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n", [3, 4])
@pytest.mark.parametrize("arg", ["dQ", "dP"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_nonfinite_cotangent_anywhere_in_a_batch_is_refused_and_named(n, arg, bad):
    # n = 3: the lane kernel checks the lanes it loads; n = 4: a pass in the core
    A = lt.random_matrix((37, n, n), np.float64, seed=17)
    res, pb = la.polar_vjp(A)
    for b in (0, 17, 36):
        c = {"dQ": lt.direction(res.Q, seed=18), "dP": lt.direction(res.P, seed=19)}
        c[arg][b, 2, 1] = bad
        with pytest.raises(ValueError, match=f"{arg} contains NaN or Inf"):
            pb(**c)
