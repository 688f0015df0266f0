"""linalgad.jax: JAX's own gradient checker in both modes, jit, vmap, and
the degenerate inputs where JAX's native rules return NaN.

``jax.test_util.check_grads`` (``modes=["rev"]`` on the reverse flavour,
``["fwd"]`` on ``linalgad.jax.forward``) over shapes like those of JAX's
tests/linalg_test.py (square, tall, wide, batched) and the four dtypes.
Finite differences only see gauge-invariant outputs (values, projectors,
U @ Vh, V diag(c) V^-1): raw complex vectors have an arbitrary phase.
"""

import os

import numpy as np
import pytest

if os.environ.get("CI"):
    import jax  # CI installs jax: a missing one fails here instead of skipping
else:
    jax = pytest.importorskip("jax", reason="linalgad.jax needs jax (pip install 'linalgad[jax]')")
import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import linalgad  # noqa: E402
import linalgad.jax as lj  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def x64():
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", old)


DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
# check_grads' defaults suit float64; float32 finite differences need a
# larger step and looser bounds (JAX's own float32 linalg checks use 1e-2..1e-1)
TOL = {4: dict(atol=5e-2, rtol=5e-2, eps=1e-2), 8: dict(atol=1e-5, rtol=1e-5, eps=1e-4)}
ANY = [(1, 1), (4, 4), (7, 2), (2, 7), (3, 5, 5), (2, 3, 2, 7)]
SQUARE = [(1, 1), (4, 4), (5, 5), (2, 6, 6)]


def tol(dtype):
    return TOL[np.dtype(dtype).itemsize // (2 if np.dtype(dtype).kind == "c" else 1)]


def sample(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        A = A + 1j * rng.standard_normal(shape)
    return jnp.asarray(A.astype(dtype))


def weights(n, dtype):
    return jnp.asarray(1.0 + np.arange(n) / max(n, 1), dtype)


def herm(X):
    return X.conj().swapaxes(-1, -2)


# Gauge-invariant outputs of each op, given the flavour's functions.
def _svd(F, A):
    U, S, Vh = F.svd(A, full_matrices=False)
    c = weights(S.shape[-1], S.dtype)
    return S, (U * c) @ herm(U), (herm(Vh) * c) @ Vh


def _eigh(F, A):
    w, V = F.eigh(A)
    return w, (V * weights(w.shape[-1], w.dtype)) @ herm(V)


# eig's order is LAPACK's, which finite differences can see change, and the
# sign (phase) of its unit eigenvectors is arbitrary: outputs invariant to both.
def _power_sums(w):
    return jnp.stack([jnp.sum(w ** k, axis=-1) for k in (1, 2, 3)], axis=-1)


def _eig(F, A):
    w, V = F.eig(A)
    return _power_sums(w), (V * w[..., None, :] ** 2) @ herm(V)


LOSSES = {
    "svd": (_svd, ANY),
    "svdvals": (lambda F, A: F.svdvals(A), ANY),
    "eigh": (_eigh, SQUARE),
    "eigvalsh": (lambda F, A: F.eigvalsh(A), SQUARE),
    "eig": (_eig, SQUARE),
    "eigvals": (lambda F, A: _power_sums(F.eigvals(A)), SQUARE),
    "polar": (lambda F, A: tuple(F.polar(A)), ANY),
    "funm": (lambda F, A: F.funm(A, "exp"), SQUARE),
    "svfunm": (lambda F, A: F.svfunm(A, "exp"), ANY),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("op", list(LOSSES))
@pytest.mark.parametrize("flavour", ["rev", "fwd"])
def test_check_grads(flavour, op, dtype):
    """All of an op's shapes in one jitted call (one compilation per test;
    check_grads then checks a random direction in all arguments at once)."""
    F = lj.reverse if flavour == "rev" else lj.forward
    loss, shapes = LOSSES[op]
    args = tuple(sample(shape, dtype, seed=i) for i, shape in enumerate(shapes))
    f = jax.jit(lambda *args: tuple(loss(F, A) for A in args))
    check_grads(f, args, order=1, modes=[flavour], **tol(dtype))


def test_flavours_refuse_the_other_mode():
    A = sample((3, 3), np.float64)
    with pytest.raises(TypeError, match="can't apply forward-mode autodiff"):
        jax.jvp(lambda A: lj.svd(A).S, (A,), (A,))
    with pytest.raises(Exception, match="[Tt]ranspos"):
        jax.grad(lambda A: lj.forward.svd(A).S.sum())(A)


def test_complex_convention_matches_jax():
    """jax.grad through linalgad.jax equals jax.grad through JAX's own rule
    (JAX's convention), and is the conjugate of linalgad's cotangent."""
    A = sample((4, 3), np.complex128)

    def loss(svd, A):
        U, S, Vh = svd(A)
        return jnp.sum(jnp.abs(U[:, :2] @ Vh[:2]) ** 2) + jnp.sum(S ** 3)

    g = jax.grad(lambda A: loss(lj.svd, A))(A)
    g_native = jax.grad(lambda A: loss(lambda A: jnp.linalg.svd(A, full_matrices=False), A))(A)
    np.testing.assert_allclose(g, g_native, atol=1e-12)
    res, pullback = linalgad.svd_vjp(np.asarray(A))
    # the loss' cotangents in linalgad's convention, by hand
    P = res.U[:, :2] @ res.Vh[:2]
    dP = 2 * P  # d|P|^2 in linalgad's convention is 2 P
    dU = np.concatenate([dP @ res.Vh[:2].conj().T, np.zeros((4, 1))], axis=1)
    dVh = np.concatenate([res.U[:, :2].conj().T @ dP, np.zeros((1, 3))], axis=0)
    np.testing.assert_allclose(np.conj(g), pullback(dU, 3 * res.S ** 2, dVh), atol=1e-12)


@pytest.mark.parametrize("op", ["svd", "eigh", "eig", "polar"])
def test_jit_and_vmap(op):
    loss, _ = LOSSES[op]
    A = sample((4, 3, 3), np.complex128, seed=3)

    def scalar(F):
        return lambda A: sum(jnp.sum(jnp.abs(x) ** 2) for x in jax.tree_util.tree_leaves(loss(F, A)))

    rev, fwd = scalar(lj.reverse), scalar(lj.forward)
    g_eager = np.stack([jax.grad(rev)(a) for a in A])
    np.testing.assert_allclose(jax.jit(jax.vmap(jax.grad(rev)))(A), g_eager, atol=1e-10)
    np.testing.assert_allclose(jax.vmap(jax.jit(jax.grad(rev)))(A), g_eager, atol=1e-10)
    dA = sample((4, 3, 3), np.complex128, seed=4)
    t_eager = np.stack([jax.jvp(fwd, (a,), (d,))[1] for a, d in zip(A, dA)])
    t = jax.jit(jax.vmap(lambda a, d: jax.jvp(fwd, (a,), (d,))[1]))(A, dA)
    np.testing.assert_allclose(t, t_eager, atol=1e-10)
    # both modes agree: <grad, dA> (JAX: Re sum(g * dA)) is the tangent
    np.testing.assert_allclose(np.real(np.sum(g_eager * dA, axis=(1, 2))), np.real(t_eager),
                               rtol=1e-9)
    # jacfwd vmaps the tangent only, jacrev the cotangent only
    a = jnp.real(A[0])
    J_fwd = jax.jit(jax.jacfwd(fwd))(a)
    J_rev = jax.jit(jax.jacrev(rev))(a)
    np.testing.assert_allclose(J_fwd, J_rev, atol=1e-10)


def test_vmap_of_grad_against_native():
    A = sample((5, 4, 4), np.float64, seed=5)

    def loss(eigh, A):
        w, V = eigh(A)
        return jnp.sum(w ** 2) + jnp.sum(((V * jnp.arange(4.0)) @ V.T) ** 3)

    g = jax.vmap(jax.grad(lambda A: loss(partial_uplo(lj.eigh), A)))(A)
    g_native = jax.vmap(jax.grad(lambda A: loss(partial_uplo(jnp.linalg.eigh), A)))(A)
    np.testing.assert_allclose(g, g_native, atol=1e-10)


def partial_uplo(eigh):
    """linalgad.jax's and JAX's defaults both read the Hermitian part."""
    if eigh is jnp.linalg.eigh:
        return lambda A: eigh(A, symmetrize_input=True)
    return lambda A: eigh(A)


def test_dtypes_follow_x64():
    A = np.random.default_rng(0).standard_normal((3, 3))
    assert lj.svd(A).U.dtype == jnp.float64
    assert lj.eigvals(A).dtype == jnp.complex128
    assert lj.svd(A.astype(np.complex64)).S.dtype == jnp.float32
    jax.config.update("jax_enable_x64", False)
    try:
        g = jax.jit(jax.grad(lambda A: lj.svdvals(A).sum()))(A)
        assert g.dtype == jnp.float32
        assert lj.svd(np.arange(9).reshape(3, 3)).S.dtype == jnp.float32
    finally:
        jax.config.update("jax_enable_x64", True)


def test_bad_input_fails_at_trace_time():
    with pytest.raises(TypeError, match="unknown option 'degenerasy'"):
        jax.jit(lambda A: lj.svd(A, degenerasy="subspace").S)(jnp.eye(3))
    with pytest.raises(ValueError, match="square"):
        lj.eigh(jnp.ones((2, 3)))
    with pytest.raises(TypeError, match="float16"):
        lj.svd(jnp.ones((2, 2), jnp.float16))


# ------------------------------------------------------------ degenerate input

def _pinned(A):
    """U @ Vh from the SVD: the orthogonal polar factor, a function of A."""
    U, S, Vh = A
    return U @ Vh


ORTHOGONAL = {"identity": np.eye(4),
              "orthogonal": np.linalg.qr(np.random.default_rng(7).standard_normal((4, 4)))[0]}


@pytest.mark.parametrize("which", list(ORTHOGONAL))
def test_orthogonal_input_native_nan_linalgad_raises_or_matches(which):
    """At an orthogonal A all singular values are 1: JAX's native SVD rule
    returns NaN for a loss of U @ Vh, linalgad's svd refuses it with its own
    error (eagerly, and under jit through reraise), and polar, the function
    of A that U @ Vh is, matches finite differences in both modes."""
    A = jnp.asarray(ORTHOGONAL[which])
    C = sample((4, 4), np.float64, seed=8)

    def loss(svd):
        return lambda A: jnp.sum(C * _pinned(svd(A)))

    g_native = jax.grad(loss(lambda A: jnp.linalg.svd(A, full_matrices=False)))(A)
    assert np.isnan(g_native).any()
    with pytest.raises(linalgad.DegeneracyError, match="svd_pullback: singular values .* degenerate"):
        jax.grad(loss(lj.svd))(A)
    with pytest.raises(linalgad.DegeneracyError, match="svd_pushforward: singular values .* degenerate"):
        jax.jvp(loss(lj.forward.svd), (A,), (C,))
    with pytest.raises(jax.errors.JaxRuntimeError, match="DegeneracyError: svd_pullback"):
        jax.jit(jax.grad(loss(lj.svd)))(A).block_until_ready()
    with pytest.raises(linalgad.DegeneracyError, match="svd_pullback") as info:
        with lj.reraise():
            jax.jit(jax.grad(loss(lj.svd)))(A).block_until_ready()
    assert isinstance(info.value.__cause__, jax.errors.JaxRuntimeError)

    polar_loss = lambda A: jnp.sum(C * lj.polar(A).Q)  # noqa: E731
    check_grads(polar_loss, (A,), order=1, modes=["rev"])
    check_grads(lambda A: jnp.sum(C * lj.forward.polar(A).Q), (A,), order=1, modes=["fwd"])
    # svd's own rule reaches the same answer with degeneracy="subspace"
    # (U @ Vh sees each block's vectors only through their span)
    g_sub = jax.grad(loss(lambda A: lj.svd(A, False, degeneracy="subspace")))(A)
    np.testing.assert_allclose(g_sub, jax.grad(polar_loss)(A), atol=1e-12)


def test_repeated_eigenvalues_span_loss():
    """A projector onto a repeated eigenvalue's eigenspace is a smooth
    function of A; JAX's native eigh rule returns NaN there, linalgad's
    'subspace' mode matches finite differences in both modes."""
    A = jnp.diag(jnp.array([1.0, 1.0, 2.0, 3.0]))
    C = sample((4, 4), np.float64, seed=9)
    C = C + C.T

    def loss(eigh):
        def f(A):
            w, V = eigh(A)
            return jnp.sum(C * (V[:, :2] @ V[:, :2].T))
        return f

    g_native = jax.grad(loss(lambda A: jnp.linalg.eigh(A, symmetrize_input=True)))(A)
    assert np.isnan(g_native).any()
    sub = loss(lambda A: lj.eigh(A, degeneracy="subspace"))
    sub_fwd = loss(lambda A: lj.forward.eigh(A, degeneracy="subspace"))
    check_grads(sub, (A,), order=1, modes=["rev"])
    check_grads(sub_fwd, (A,), order=1, modes=["fwd"])
    # a loss that rotates inside the block has no derivative: refused
    with pytest.raises(linalgad.GaugeError, match="degeneracy='subspace'"):
        jax.grad(lambda A: lj.eigh(A, degeneracy="subspace").eigenvectors[1, 0])(A)


def test_values_only_needs_no_vectors():
    """grad of the singular values at the identity: only dS reaches the rule
    (JAX's symbolic zeros become None), so the repeated values do not matter."""
    g = jax.grad(lambda A: jnp.sum(lj.svd(A).S))(jnp.eye(3))
    np.testing.assert_allclose(g, np.eye(3), atol=1e-15)
    g = jax.jit(jax.grad(lambda A: jnp.sum(lj.svdvals(A))))(jnp.eye(3))
    np.testing.assert_allclose(g, np.eye(3), atol=1e-15)


def test_gauge_error_reaches_the_user():
    A = sample((3, 3), np.complex128, seed=10)
    with pytest.raises(linalgad.GaugeError, match="complex phase"):
        jax.grad(lambda A: jnp.real(jnp.sum(lj.eigh(A).eigenvectors)))(A)
    with pytest.raises(linalgad.GaugeError, match="complex phase"):
        with lj.reraise():
            jax.jit(jax.grad(lambda A: jnp.real(jnp.sum(lj.eigh(A).eigenvectors))))(A).block_until_ready()
    # with the canonical gauge the loss is a function of A again
    f = lambda A: jnp.real(jnp.sum(lj.eigh(A, gauge="canonical").eigenvectors))  # noqa: E731
    check_grads(f, (A,), order=1, modes=["rev"])


@pytest.mark.parametrize("dtype", [np.float64, np.complex128], ids=["float64", "complex128"])
def test_full_matrices_and_canonical_gauge(dtype):
    """full_matrices=True (the extra columns through their projector, which
    is a function of A) and gauge='canonical' (raw factors), both modes."""
    A = sample((5, 3), dtype, seed=11)

    def full(F):
        def f(A):
            U, S, Vh = F.svd(A, full_matrices=True)
            return S, U[:, 3:] @ herm(U[:, 3:]), (U[:, :3] * S) @ Vh
        return f

    def canonical(F):
        return lambda A: tuple(F.svd(A, False, gauge="canonical"))

    for make in (full, canonical):
        check_grads(make(lj.reverse), (A,), order=1, modes=["rev"])
        check_grads(make(lj.forward), (A,), order=1, modes=["fwd"])


def test_eig_of_real_input_with_real_eigenvalues():
    """JAX types eig's outputs complex; for a real A with real eigenvalues
    linalgad's factors are real, and only the real part of a cotangent
    counts (both the stateless and the gauge='canonical' path)."""
    A = jnp.asarray(np.diag([1.0, 2.0, 3.0]) + 0.1 * np.asarray(sample((3, 3), np.float64, 12)))
    for gauge in (None, "canonical"):
        check_grads(lambda A: tuple(lj.eig(A, gauge=gauge)), (A,), order=1, modes=["rev"])
        check_grads(lambda A: tuple(lj.forward.eig(A, gauge=gauge)), (A,), order=1, modes=["fwd"])


def test_importing_linalgad_does_not_import_jax():
    import subprocess
    import sys
    code = "import sys, linalgad; assert 'jax' not in sys.modules, 'linalgad imported jax'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 0, done.stderr


def _flat_real(outputs):
    leaves = jax.tree_util.tree_leaves(outputs)
    return jnp.concatenate([part.ravel() for x in leaves for part in (jnp.real(x), jnp.imag(x))])


@pytest.mark.parametrize("op", list(LOSSES))
def test_jacfwd_equals_jacrev(op):
    """Whole Jacobians: jacrev batches the cotangents and jacfwd the tangents
    over unbatched factors (the rules broadcast them)."""
    loss, _ = LOSSES[op]
    a = jnp.real(sample((2, 4, 4), np.float64, seed=13))
    J_fwd = jax.jit(jax.jacfwd(lambda A: _flat_real(loss(lj.forward, A))))(a)
    J_rev = jax.jit(jax.jacrev(lambda A: _flat_real(loss(lj.reverse, A))))(a)
    np.testing.assert_allclose(J_fwd, J_rev, atol=1e-9)
