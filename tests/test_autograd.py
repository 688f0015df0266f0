"""linalgad.autograd against autograd's own checker (check_grads, both
modes), autograd's complex convention, degenerate inputs and errors."""

import os

import numpy as np
import pytest

if os.environ.get("CI"):
    import autograd                   # CI installs autograd: a missing one is a failure
else:
    autograd = pytest.importorskip("autograd", reason="autograd is not installed (pip install autograd)")

import autograd.numpy as anp
from autograd import grad, make_jvp
from autograd.builtins import tuple as atuple      # a tuple of boxes autograd can trace
from autograd.test_util import check_grads

import linalgad as la
import linalgad.autograd as lag
from linalgad import testing as T


def _check(f, A):
    check_grads(f, modes=["fwd", "rev"], order=1)(A)


DTYPES = [np.float64, np.complex128]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5), (2, 4, 3)], ids=str)
@pytest.mark.parametrize("full", [True, False])
def test_check_grads_svd(shape, full, dtype):
    A = T.random_matrix(shape, dtype, seed=1)
    k = min(shape[-2:])
    # gauge-invariant views of the factors
    _check(lambda A: (lambda U, S, Vh: atuple((anp.abs(U[..., :k]), S, anp.abs(Vh[..., :k, :]),
                                                  anp.matmul(U[..., :k], Vh[..., :k, :]))))(
        *lag.svd(A, full_matrices=full)), A)
    _check(lambda A: lag.svd(A, compute_uv=False), A)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("UPLO", ["L", "U", None])
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3)], ids=str)
def test_check_grads_eigh(shape, UPLO, dtype):
    A = T.random_matrix(shape, dtype, seed=2)        # not Hermitian: eigh reads one triangle
    _check(lambda A: (lambda w, V: atuple((w, anp.abs(V))))(*lag.eigh(A, UPLO=UPLO)), A)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3)], ids=str)
def test_check_grads_eig(shape, dtype):
    A = T.random_matrix(shape, dtype, seed=3)
    w, V = np.linalg.eig(A)
    assert np.iscomplexobj(w)                        # real A: complex pairs, real gradient
    _check(lambda A: (lambda w, V: atuple((w, anp.abs(V))))(*lag.eig(A)), A)


def test_agrees_with_autograds_own_rules_and_convention():
    A = T.random_matrix((4, 3), np.complex128, seed=4)
    loss_ours = lambda A: (lambda U, S, Vh: anp.sum(S) + anp.sum(anp.abs(anp.matmul(U, Vh)) ** 2 * np.arange(12).reshape(4, 3)))(*lag.svd(A, full_matrices=False))
    loss_theirs = lambda A: (lambda U, S, Vh: anp.sum(S) + anp.sum(anp.abs(anp.matmul(U, Vh)) ** 2 * np.arange(12).reshape(4, 3)))(*anp.linalg.svd(A, full_matrices=False))
    np.testing.assert_allclose(grad(loss_ours)(A), grad(loss_theirs)(A), rtol=1e-10, atol=1e-10)
    # autograd's convention is the conjugate of linalgad's
    (U, S, Vh), pullback = la.svd_vjp(A)
    np.testing.assert_allclose(grad(lambda A: anp.sum(lag.svd(A, compute_uv=False)))(A),
                               np.conj(pullback(None, np.ones(3))), rtol=1e-12)
    H = T.random_matrix((4, 4), np.float64, seed=5)
    f = lambda A: (lambda w, V: anp.sum(w * np.arange(4.0)) + anp.sum(anp.abs(V) ** 2 * np.arange(16.0).reshape(4, 4)))
    np.testing.assert_allclose(grad(lambda A: f(A)(*lag.eigh(A)))(H),
                               grad(lambda A: f(A)(*anp.linalg.eigh(A)))(H), rtol=1e-9, atol=1e-9)


def test_degenerate_inputs():
    I = np.eye(4)
    uvh = lambda r: anp.trace(anp.matmul(r[0], r[2]))
    # the native rule: NaN; linalgad strict: its error; subspace: finite differences
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.isnan(grad(lambda A: uvh(anp.linalg.svd(A, full_matrices=False)))(I)).all()
    with pytest.raises(la.DegeneracyError, match="svd_pullback: singular values"):
        grad(lambda A: uvh(lag.svd(A)))(I)
    check_grads(lambda A: uvh(lag.svd(A, degeneracy="subspace")), modes=["rev"], order=1)(I)
    # sum(S) is exact at the identity in reverse mode, and the values' forward mode
    # resolves a tangent that moves the equal values together
    np.testing.assert_allclose(grad(lambda A: anp.sum(lag.svd(A, compute_uv=False)))(I), I)
    np.testing.assert_allclose(make_jvp(lambda A: lag.svd(A, compute_uv=False))(I)(2 * I)[1],
                               2 * np.ones(4))
    with pytest.raises(la.DegeneracyError, match="equal to working precision"):
        make_jvp(lambda A: lag.svd(A, compute_uv=False))(I)(np.diag([1.0, 2, 3, 4]))
    with pytest.raises(la.DegeneracyError, match="eigh_pullback"):
        grad(lambda A: anp.sum(anp.abs(lag.eigh(A)[1]) * np.arange(16.0).reshape(4, 4)))(I)


def test_errors():
    A = T.random_matrix((3, 3), np.complex128, seed=6)
    with pytest.raises(la.GaugeError, match="phase"):
        grad(lambda A: anp.real(lag.svd(A)[0][0, 0]))(A)
    with pytest.raises(NotImplementedError, match="second-order"):
        grad(lambda A: anp.sum(grad(lambda B: anp.sum(lag.svd(B, compute_uv=False) ** 2))(A) ** 2))(A.real)
    with pytest.raises(NotImplementedError, match="second-order"):
        grad(lambda A: anp.sum(grad(lambda B: anp.sum(lag.eigh(B)[0] ** 2))(A) ** 2))(A.real)
    with pytest.raises(TypeError, match="unknown option"):
        lag.svd(A, degenracy="strict")
