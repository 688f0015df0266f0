"""linalgad.torch against PyTorch's own checkers: gradcheck (reverse, forward
mode, batched gradients) on the kinds of samples PyTorch's linalg OpInfos
use, through gauge-invariant output wrappers; torch.func and torch.compile;
degenerate inputs where torch's native rule returns NaN; errors."""

import os

import numpy as np
import pytest

if os.environ.get("CI"):
    import torch                      # CI installs torch: a missing one is a failure
else:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch)")

import linalgad as la
import linalgad.torch as lt
from linalgad import EighResult
from torch.autograd import gradcheck

F64, C128, F32, C64 = torch.float64, torch.complex128, torch.float32, torch.complex64


def _unitary(n, dtype, gen):
    X = torch.randn(n, n, dtype=dtype, generator=gen)
    Q, R = torch.linalg.qr(X)
    return Q


def distinct_sv(shape, dtype, seed=0):
    """A batch of matrices with well separated singular values (PyTorch's
    make_fullrank_matrices_with_distinct_singular_values does the same)."""
    gen = torch.Generator().manual_seed(seed)
    *batch, m, n = shape
    k = min(m, n)
    out = torch.empty(shape, dtype=dtype)
    for idx in np.ndindex(*batch):
        s = torch.linspace(2.0, 0.5, k, dtype=torch.float64) if k else torch.empty(0, dtype=torch.float64)
        U = _unitary(m, dtype, gen)[:, :k]
        Vh = _unitary(n, dtype, gen)[:k, :]
        out[idx] = (U * s.to(dtype)) @ Vh
    return out


def random(shape, dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, dtype=dtype, generator=gen)


def _check(fn, A, batched=True, fast=True, forward=True):
    """gradcheck: reverse and forward mode, and the batched (vmap) gradients.
    fast: PyTorch's fast mode (random projections of the Jacobian) keeps the
    whole file to seconds; a few cases run the full Jacobian (fast=False)."""
    A = A.detach().clone().requires_grad_()
    assert gradcheck(fn, (A,), check_forward_ad=forward, check_batched_grad=batched,
                     check_batched_forward_grad=batched and forward, fast_mode=fast)


# ---------------------------------------------------------------- gradcheck on OpInfo-like samples

def _k(r):
    return r.S.shape[-1]


# gauge-invariant views of the outputs, as in PyTorch's sample_inputs_svd
SVD_WRAPPERS = {
    "U": lambda r: r.U[..., :_k(r)].abs(),
    "S": lambda r: r.S,
    "Vh": lambda r: (r.S, r.Vh[..., :_k(r), :].abs()),
    "UVh": lambda r: (r.U[..., :_k(r)] @ r.Vh[..., :_k(r), :], r.S),
}
SVD_SHAPES = [(3, 3), (5, 3), (3, 5), (2, 3, 3), (2, 5, 3), (0, 3, 3), (3, 0)]


# full_matrices=True differs from the thin SVD for rectangular shapes only
SVD_CASES = [(s, f) for s in SVD_SHAPES for f in ((True, False) if s[-1] != s[-2] else (False,))]


@pytest.mark.parametrize("dtype", [F64, C128], ids=["float64", "complex128"])
@pytest.mark.parametrize("wrapper", list(SVD_WRAPPERS))
@pytest.mark.parametrize("shape,full", SVD_CASES, ids=str)
def test_gradcheck_svd(shape, full, wrapper, dtype):
    w = SVD_WRAPPERS[wrapper]
    _check(lambda A: w(lt.svd(A, full_matrices=full)), distinct_sv(shape, dtype, seed=1),
           fast=shape != (5, 3))


@pytest.mark.parametrize("dtype", [F64, C128], ids=["float64", "complex128"])
@pytest.mark.parametrize("shape", SVD_SHAPES, ids=str)
def test_gradcheck_svdvals(shape, dtype):
    _check(lt.svdvals, distinct_sv(shape, dtype, seed=2))


# sample_inputs_linalg_eigh: inputs need not be Hermitian (eigh reads one triangle)
EIG_SHAPES = [(5, 5), (2, 5, 5), (1, 1, 5, 5), (0, 5, 5), (3, 3)]


@pytest.mark.parametrize("dtype", [F64, C128], ids=["float64", "complex128"])
@pytest.mark.parametrize("UPLO", ["L", "U"])
@pytest.mark.parametrize("shape", EIG_SHAPES, ids=str)
def test_gradcheck_eigh(shape, UPLO, dtype):
    _check(lambda A: (lambda r: (r.eigenvalues, r.eigenvectors.abs()))(lt.eigh(A, UPLO=UPLO)), random(shape, dtype, 3))
    _check(lambda A: lt.eigvalsh(A, UPLO=UPLO), random(shape, dtype, 4))


@pytest.mark.parametrize("dtype", [F64, C128], ids=["float64", "complex128"])
@pytest.mark.parametrize("shape", EIG_SHAPES, ids=str)
def test_gradcheck_eig(shape, dtype):
    # real input: complex outputs, a real gradient (conjugate pairs included)
    _check(lambda A: (lambda r: (r.eigenvalues, r.eigenvectors.abs()))(lt.eig(A)), random(shape, dtype, 5))
    _check(lt.eigvals, random(shape, dtype, 6))


@pytest.mark.parametrize("dtype", [F64, C128], ids=["float64", "complex128"])
@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5), (2, 4, 4)], ids=str)
def test_gradcheck_polar_svfunm(shape, dtype):
    A = distinct_sv(shape, dtype, seed=7)
    _check(lambda A: tuple(lt.polar(A)), A)
    _check(lambda A: lt.svfunm(A, "sqrt"), A)
    _check(lambda A: lt.svfunm(A, lambda s: s ** 3, dg=lambda s: 3 * s ** 2), A)


@pytest.mark.parametrize("dtype", [F64, C128], ids=["float64", "complex128"])
@pytest.mark.parametrize("UPLO", [None, "L", "U"])
def test_gradcheck_funm(UPLO, dtype):
    A = random((2, 4, 4), dtype, 8)
    _check(lambda A: lt.funm(A, "exp", UPLO=UPLO), A)
    _check(lambda A: lt.funm(A, 3), A)


@pytest.mark.parametrize("op", ["svd", "svdvals", "eigh", "eigvalsh", "eig", "eigvals", "polar"])
@pytest.mark.parametrize("cplx", [False, True], ids=["float32", "complex64"])
def test_float32_matches_float64(op, cplx):
    """Single precision: gradients and tangents within float32's tolerance of
    the float64 ones (gradcheck's finite differences are too coarse there)."""
    hi = C128 if cplx else F64
    lo = C64 if cplx else F32
    A64 = distinct_sv((2, 4, 4), hi, seed=9)
    E = random((2, 4, 4), hi, 10)
    wrap = {"svd": lambda r: SVD_WRAPPERS["UVh"](r)[0].abs().sum() + r.S.sum(),
            "eigh": lambda r: r.eigenvalues.sum() + r.eigenvectors.abs().sum(),
            "eig": lambda r: r.eigenvalues.real.sum() + r.eigenvectors.abs().sum(),
            "polar": lambda r: r.Q.abs().sum() + r.P.abs().sum()}.get(
        op, lambda r: (r.real if r.is_complex() else r).sum())
    fn = getattr(lt, op)

    def grads(dtype):
        A = A64.to(dtype).requires_grad_()
        g, = torch.autograd.grad(wrap(fn(A)), A)
        _, t = torch.func.jvp(lambda X: wrap(fn(X)), (A.detach(),), (E.to(dtype),))
        return g.to(hi), t.to(hi)

    (g64, t64), (g32, t32) = grads(hi), grads(lo)
    torch.testing.assert_close(g32, g64, rtol=2e-3, atol=2e-3)
    torch.testing.assert_close(t32, t64, rtol=2e-3, atol=2e-3)
    assert fn(A64.to(lo)).__class__ is fn(A64).__class__


# ---------------------------------------------------------------- torch.func, forward_ad, compile

def test_func_transforms():
    A = distinct_sv((3, 4, 4), F64, seed=11)
    loss = lambda X: (lambda r: r.S.sum() + (r.U @ r.Vh).diagonal(0, -2, -1).sum())(lt.svd(X))
    g = torch.func.grad(loss)(A[0])
    X = A[0].clone().requires_grad_()
    torch.testing.assert_close(g, torch.autograd.grad(loss(X), X)[0])
    gv = torch.func.vmap(torch.func.grad(loss))(A)
    torch.testing.assert_close(gv[0], g)
    J = torch.func.jacfwd(lt.eigvalsh)(A[0])
    torch.testing.assert_close(J, torch.func.jacrev(lt.eigvalsh)(A[0]))
    # torch's rule returns the symmetric gradient; linalgad's lives on the triangle read (L)
    torch.testing.assert_close((J + J.mT) / 2, torch.func.jacrev(torch.linalg.eigvalsh)(A[0]))
    assert (J.triu(1) == 0).all()
    import torch.autograd.forward_ad as fwAD
    with fwAD.dual_level():
        t = fwAD.unpack_dual(lt.eigvals(fwAD.make_dual(A, torch.ones_like(A)))).tangent
    torch.testing.assert_close(t, torch.func.jvp(lt.eigvals, (A,), (torch.ones_like(A),))[1])


def test_torch_compile():
    torch._dynamo.reset()
    A = distinct_sv((2, 4, 3), F64, seed=12).requires_grad_()
    loss = lambda X: (lambda r: r.S.sum() + (r.U @ r.Vh).abs().sum())(lt.svd(X, full_matrices=False))
    g_eager, = torch.autograd.grad(loss(A), A)
    g_comp, = torch.autograd.grad(torch.compile(loss, backend="aot_eager")(A), A)
    torch.testing.assert_close(g_comp, g_eager)
    # the linalgad error reaches the caller of a compiled function unchanged
    I = torch.eye(3, dtype=F64, requires_grad=True)
    bad = torch.compile(lambda X: (lt.svd(X).U * torch.arange(3.0, dtype=F64)).sum(), backend="aot_eager")
    with pytest.raises(la.DegeneracyError, match="svd_pullback"):
        torch.autograd.grad(bad(I), I)


# ---------------------------------------------------------------- degenerate inputs

def _orthogonal(n, seed):
    return _unitary(n, F64, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("make", [lambda: torch.eye(4, dtype=F64), lambda: _orthogonal(4, 13)],
                         ids=["identity", "orthogonal"])
def test_degenerate_svd_matches_fd_or_raises_where_native_is_nan(make):
    A = make().requires_grad_()
    uvh = lambda r: (r.U @ r.Vh).diagonal().sum()            # tr(polar factor): smooth in A
    # the native rule: NaN at the identity; at an orthogonal matrix, whose computed
    # singular values differ by rounding, finite and wrong (polar's rule is exact there)
    g, = torch.autograd.grad(uvh(torch.linalg.svd(A)), A)
    ref, = torch.autograd.grad(lt.polar(A).Q.diagonal().sum(), A)
    assert torch.isnan(g).all() or (g - ref).abs().max() > 1e-2
    # linalgad, strict: the pair's vectors have no derivative, it says so
    with pytest.raises(la.DegeneracyError, match="singular values 0 and 1 are degenerate"):
        torch.autograd.grad(uvh(lt.svd(A)), A)
    # a loss that is a function of the span: subspace mode is exact (finite differences)
    _check(lambda X: uvh(lt.svd(X, degeneracy="subspace")), A, batched=False)
    _check(lambda X: (lambda r: r.Q)(lt.polar(X)), A)       # polar: exact in every mode
    # sum(S), the nuclear norm: the pullback of S alone is exact in every mode; in
    # forward mode svd also forms the vectors' tangents (refused), svdvals does not,
    # and its subspace mode gives the equal values their mean tangent
    _check(lambda X: lt.svd(X).S.sum(), A, forward=False)
    with pytest.raises(la.DegeneracyError, match="svd_pushforward"):
        torch.func.jvp(lambda X: lt.svd(X).S.sum(), (A.detach(),), (random((4, 4), F64, 21),))
    _check(lambda X: lt.svdvals(X, degeneracy="subspace").sum(), A)


def test_degenerate_eigh_matches_fd_or_raises_where_native_is_nan():
    Q = _orthogonal(4, 14)
    A = ((Q * torch.tensor([1.0, 1.0, 2.0, 3.0], dtype=F64)) @ Q.T).requires_grad_()
    vloss = lambda r: r.eigenvectors.abs().sum()
    # the native rule: NaN, or (eigenvalues split by rounding) entries of order 1e14
    g, = torch.autograd.grad(vloss(EighResult(*torch.linalg.eigh(A))), A)
    assert not torch.isfinite(g).all() or g.abs().max() > 1e8
    with pytest.raises(la.DegeneracyError, match="eigenvalues 0 and 1"):
        torch.autograd.grad(vloss(lt.eigh(A)), A)
    # projector onto the repeated pair's span: a function of A, subspace mode exact
    proj = lambda X: (lambda V: (V[..., :2] @ V[..., :2].mT * torch.arange(16.0, dtype=F64).reshape(4, 4)).sum())(
        lt.eigh(X, UPLO=None, degeneracy="subspace").eigenvectors)
    _check(proj, A, batched=False)
    _check(lambda X: lt.funm(X, "exp"), A)
    _check(lambda X: lt.eigvalsh(X, UPLO=None, degeneracy="subspace").sum(), A)


def test_values_forward_mode_at_repeated_values():
    I = torch.eye(3, dtype=F64)
    # a tangent that moves the triple together: defined, and linalgad gives it
    _, t = torch.func.jvp(lt.eigvalsh, (I,), (2 * I,))
    torch.testing.assert_close(t, torch.full((3,), 2.0, dtype=F64))
    # a tangent that splits it: the sorted values have a kink, strict refuses
    with pytest.raises(la.DegeneracyError, match="equal to working precision"):
        torch.func.jvp(lt.eigvalsh, (I,), (torch.diag(torch.tensor([1.0, 2.0, 3.0], dtype=F64)),))
    # distinct values, outside the default tol (32 eps of the largest): the
    # values' tangent is torch's, and so is the full SVD's (a large but finite 1/gap)
    E = random((3, 3), F64, 15)
    A = torch.diag(torch.tensor([2.0, 1.0 + 2e-13, 1.0], dtype=F64))
    expected = torch.func.jvp(torch.linalg.svdvals, (A,), (E,))[1]
    torch.testing.assert_close(torch.func.jvp(lt.svdvals, (A,), (E,))[1], expected)
    torch.testing.assert_close(torch.func.jvp(lambda X: lt.svd(X).S, (A,), (E,))[1], expected)
    # a gap of 4 eps, inside the tol: equal to working precision, and this
    # tangent splits the pair, so both refuse
    A = torch.diag(torch.tensor([2.0, 1.0 + 4 * np.finfo(np.float64).eps, 1.0], dtype=F64))
    assert A[1, 1] != A[2, 2]
    with pytest.raises(la.DegeneracyError, match="equal to working precision"):
        torch.func.jvp(lt.svdvals, (A,), (E,))
    with pytest.raises(la.DegeneracyError):
        torch.func.jvp(lambda X: lt.svd(X).S, (A,), (E,))


# ---------------------------------------------------------------- errors

def test_errors_reach_the_user_as_linalgad_errors():
    I = torch.eye(3, dtype=F64, requires_grad=True)
    with pytest.raises(la.DegeneracyError, match="svd_pullback: singular values") as e:
        torch.autograd.grad((lt.svd(I).U * torch.arange(3.0, dtype=F64)).sum(), I)
    assert "degeneracy='subspace'" in str(e.value)
    with pytest.raises(la.DegeneracyError):
        torch.func.grad(lambda X: (lt.eigh(X).eigenvectors * torch.arange(3.0, dtype=F64)).sum())(I.detach())
    # a loss that sees the phase of a complex singular vector: GaugeError
    A = distinct_sv((3, 3), C128, seed=16).requires_grad_()
    with pytest.raises(la.GaugeError, match="phase"):
        torch.autograd.grad(lt.svd(A).U[0, 0].real, A)
    # forward mode too
    with pytest.raises(la.DegeneracyError, match="svd_pushforward"):
        torch.func.jvp(lambda X: lt.svd(X).U, (I.detach(),), (random((3, 3), F64, 17),))


def test_double_backward_raises_never_zero():
    A = distinct_sv((3, 3), F64, seed=18).requires_grad_()
    g, = torch.autograd.grad(lt.svdvals(A).sum(), A, create_graph=True)
    with pytest.raises(NotImplementedError, match="second-order derivatives are not implemented"):
        torch.autograd.grad((g * g).sum(), A)
    with pytest.raises(NotImplementedError, match="second-order"):
        torch.func.hessian(lambda X: lt.eigvalsh(X).sum())(A.detach())
    with pytest.raises(NotImplementedError, match="second-order"):
        torch.func.jacrev(torch.func.jacfwd(lambda X: lt.svd(X).S))(A.detach())


def test_argument_errors():
    with pytest.raises(NotImplementedError, match="run on the CPU"):
        lt.svd(torch.empty(3, 3, device="meta"))
    with pytest.raises(TypeError, match="dtype"):
        lt.svd(torch.eye(3, dtype=torch.float16))
    with pytest.raises(TypeError, match="torch.Tensor"):
        lt.svd(np.eye(3))
    with pytest.raises(TypeError, match="unknown option"):
        lt.svd(torch.eye(3), degenracy="strict")
    with pytest.raises(ValueError, match="UPLO"):
        lt.eigh(torch.eye(3), UPLO="X")
    with pytest.raises(ValueError, match="contains NaN"):
        lt.svd(torch.full((2, 2), float("nan")))


def test_options_reach_the_rule():
    I = torch.eye(4, dtype=F64, requires_grad=True)
    loss = lambda r: (r.U * torch.arange(4.0, dtype=F64)).sum()
    g, = torch.autograd.grad(loss(lt.svd(I, degeneracy="lorentz", eps=np.float64(1e-8),
                                         tol=np.float32(1e-6), order=np.int64(3))), I)
    assert torch.isfinite(g).all()
    with pytest.raises(la.DegeneracyError, match="tol 1e-06"):
        torch.autograd.grad(loss(lt.svd(I, tol=1e-6)), I)


def test_vmap_of_the_functions():
    A = distinct_sv((3, 2, 4, 4), C128, seed=22)
    for fn in (lt.svd, lt.eigh, lt.eig, lt.polar, lt.svdvals, lt.eigvals):
        for got, want in zip(torch.func.vmap(fn)(A), fn(A)):
            torch.testing.assert_close(got, want)


def test_outputs_match_torch_linalg():
    A = distinct_sv((2, 5, 3), C128, seed=19)
    r, n = lt.svd(A), torch.linalg.svd(A)
    assert [x.shape for x in r] == [x.shape for x in n] and [x.dtype for x in r] == [x.dtype for x in n]
    torch.testing.assert_close(r.S, n.S)
    H = random((3, 3), F64, 20)
    assert lt.eig(H).eigenvalues.dtype == torch.complex128 and lt.eigvals(H.float()).dtype == torch.complex64
    torch.testing.assert_close(lt.eigvalsh(H, UPLO="U"), torch.linalg.eigvalsh(H, UPLO="U"))
    Q, P = lt.polar(A)
    torch.testing.assert_close(Q @ P, A)
