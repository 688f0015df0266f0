"""Where the derivative does not exist or cannot be computed accurately, and
the plain mistakes: each case a right derivative or a clear refusal."""

import numpy as np
import pytest

import linalgad as la

RNG = np.random.default_rng(2024)


def _orth(n, seed):
    return np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))[0]


# --- value cotangents that single out members of a degenerate block ---------------

def test_value_cotangent_splitting_a_block_is_refused_in_strict():
    I = np.eye(3)
    for vjp, kw in ((la.eigh_vjp, "dw"), (la.svd_vjp, "dS"), (la.eig_vjp, "dw")):
        with pytest.raises(la.DegeneracyError, match="cotangents differ.*symmetric within the block"):
            vjp(I)[1](**{kw: np.array([1.0, 0.0, 0.0])})
        # the trace: equal cotangents across the block, exact
        np.testing.assert_allclose(vjp(I)[1](**{kw: np.ones(3)}), I, atol=1e-14)
        # the documented subgradient
        np.testing.assert_allclose(vjp(I, degeneracy="subspace")[1](**{kw: np.array([1.0, 0, 0])})
                                   .trace(), 1.0)


def test_loss_smooth_in_A_reaching_the_block_through_values_only():
    # A = Q diag(1, 1, 2) Q^T; L = trace(A^2) = sum(w^2): dw = 2w (equal on the
    # block), dV = 0 on the block's vectors (given as zeros, as frameworks do)
    Q = _orth(3, 1)
    A = (Q * [1.0, 1.0, 2.0]) @ Q.T
    (w, V), pb = la.eigh_vjp(A, UPLO=None)      # the function of herm(A): dL/dA = 2A
    np.testing.assert_allclose(pb(dw=2 * w, dV=np.zeros_like(V)), 2 * A, atol=1e-12)
    # the largest-two-minus-smallest loss, w1 - w0, splits the block: refused
    with pytest.raises(la.DegeneracyError, match="eigenvalues 0 and 1"):
        pb(dw=np.array([-1.0, 1.0, 0.0]), dV=np.zeros_like(V))
    # svd: sum(S^2) = ||A||_F^2 at repeated singular values, 3x3 lanes and general kernel
    for n in (3, 6):
        B = (_orth(n, 2) * np.r_[1.0, 1.0, np.arange(2.0, n)]) @ _orth(n, 3).T
        (U, S, Vh), pb = la.svd_vjp(B)
        np.testing.assert_allclose(pb(dS=2 * S, dU=np.zeros_like(U), dVh=np.zeros_like(Vh)), 2 * B,
                                   atol=1e-12)
        dS = np.zeros(n)
        dS[np.argmin(np.abs(S - 1.0))] = 1.0
        with pytest.raises(la.DegeneracyError, match="cotangents differ"):
            pb(dS=dS)


def test_functions_of_A_stay_exact_at_degeneracy():
    I = np.eye(4)
    assert np.isfinite(la.funm_vjp(I, "exp", UPLO=None)[1](np.diag([1.0, 0, 0, 0]))).all()
    assert np.isfinite(la.polar_vjp(I)[1](np.diag([1.0, 0, 0, 0]))).all()
    assert np.isfinite(la.svfunm_vjp(I, "sqrt")[1](np.diag([1.0, 0, 0, 0]))).all()


def test_3x3_eig_lanes_hand_a_split_block_over():
    A = np.tile(np.diag([1.0, 2.0, 3.0]), (16, 1, 1))
    A[5] = np.diag([2.0, 2.0, 3.0])
    (w, V), pb = la.eig_vjp(A)
    dw = np.tile([1.0, 0.0, 0.0], (16, 1))
    with pytest.raises(la.DegeneracyError, match=r"matrix \(5,\)"):
        pb(dw=dw)


# --- near-defective eig --------------------------------------------------------------

def test_near_defective_eig_is_refused_by_default_and_names_cond_max():
    J = np.array([[1.0, 1.0], [1e-16, 1.0]])
    S = np.array([[2.0, 1.0], [1.0, 1.0]])
    A = S @ J @ np.linalg.inv(S)
    (w, V), pb = la.eig_vjp(A)
    with pytest.raises(la.DegeneracyError, match="cond_max") as e:
        pb(dV=np.ones_like(V))
    assert "trace(A^k)" in str(e.value)
    with pytest.raises(la.DegeneracyError, match="symmetric functions") as e:
        pb(dw=np.ones_like(w))          # values only: the advice is not "use eigenvalues"
    # ordinary matrices still pass: random Gaussian up to a few hundred
    for n, cplx in ((50, False), (200, False), (200, True)):
        B = RNG.standard_normal((n, n)) + (1j * RNG.standard_normal((n, n)) if cplx else 0)
        (w, V), pb = la.eig_vjp(B)
        assert np.isfinite(pb(dV=np.ones_like(V))).all()



def _jordan(n, k, d, rng):
    """A k x k Jordan block at 1 with d in its corner, in a random n x n
    block upper-triangular matrix, conjugated by a random S."""
    T = np.triu(rng.standard_normal((n, n)) / np.sqrt(n))
    T[k:, k:] = 3.0 + rng.standard_normal((n - k, n - k)) / np.sqrt(n)
    T[:k, :k] = np.eye(k) + np.eye(k, k=1)
    T[k - 1, 0] = d
    S = rng.standard_normal((n, n)) / np.sqrt(n) + np.eye(n)
    return S @ T @ np.linalg.inv(S)


@pytest.mark.parametrize("n, count", [(20, 12), (50, 12), (100, 3)])
def test_random_float32_eig_is_not_refused(n, count):
    # cond(V) passes eps^(-1/3) = 203 for most of these from n = 50, but no
    # eigenvalue pair is near-defective: their error is about eps cond(V)
    rng = np.random.default_rng(n)
    conds = []
    for _ in range(count):
        for A in (rng.standard_normal((n, n)).astype(np.float32),
                  (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))).astype(np.complex64)):
            (w, V), pb = la.eig_vjp(A)
            conds.append(np.linalg.cond(V.astype(np.complex128), np.inf))
            gV = rng.standard_normal(V.shape).astype(V.dtype)
            assert np.isfinite(pb(dV=gV)).all()
            assert np.isfinite(pb(dV=gV)).all()       # the pullback's second call
            assert np.isfinite(la.eig_pullback(w, V, dV=gV, real_input=A.dtype.kind == "f")).all()
            dA = rng.standard_normal(A.shape).astype(A.dtype)
            assert np.isfinite(la.eig_jvp(A, dA)[1].eigenvectors).all()
            assert np.isfinite(la.eigvals_jvp(A, dA)[1]).all()
    if n >= 50:
        assert np.mean(np.array(conds) > np.float32(np.finfo(np.float32).eps) ** (-1 / 3)) > 0.5


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_near_jordan_eig_with_a_large_error_is_refused(dtype):
    # L = Re <C, A> = Re tr(C^H V diag(w) V^-1) is smooth at a Jordan block, its
    # gradient is C; its cotangents in the input's precision, as a framework forms them
    rng = np.random.default_rng(7)
    errs, refused = [], []
    for k in (2, 3):
        for n in (3, 12):
            for d in np.logspace(-1, -15 if dtype == np.float64 else -7, 7):
                A = _jordan(n, k, d, rng).astype(dtype)
                C = rng.standard_normal((n, n)).astype(dtype)
                (w, V), pb = la.eig_vjp(A, cond_max=np.inf)
                G = C @ np.linalg.inv(V).conj().T
                dV, dw = G * w.conj() - A.T @ G, np.diagonal(V.conj().T @ G)
                if w.dtype.kind != "c":
                    dV, dw = dV.real, dw.real
                dV = dV.astype(V.dtype)
                errs.append(np.linalg.norm(pb(dw=dw, dV=dV) - C) / np.linalg.norm(C))
                try:
                    la.eig_vjp(A)[1](dw=dw, dV=dV)
                    refused.append(False)
                except la.DegeneracyError as e:
                    assert "are close and their eigenvectors nearly parallel" in str(e)
                    refused.append(True)
    errs, refused = np.array(errs), np.array(refused)
    assert refused.any() and (~refused).any()
    assert np.all(refused[errs > 0.05])         # every large error is refused
    assert np.all(errs[~refused] < 0.05)


def test_the_default_refusal_names_the_pair_and_an_explicit_cond_max_bounds_cond_v_alone():
    A = np.array([[1.0, 1.0, 0.0], [1e-8, 1.0, 0.0], [0.0, 0.0, 3.0]], np.float32)
    (w, V), pb = la.eig_vjp(A)
    with pytest.raises(la.DegeneracyError, match=r"eigenvalues 0 and 1 \(1\.0001.* and 0\.9999.*\) "
                                                 r"are close .* > cond_max = 203.* > 0\.05/eps"):
        pb(dV=np.ones_like(V))
    for f in (lambda: la.eig_jvp(A, A), lambda: la.eigvals_jvp(A, A),
              lambda: la.eig_pushforward(w, V, A), lambda: la.eig_pullback(w, V, dw=np.ones(3))):
        with pytest.raises(la.DegeneracyError, match="are close and their eigenvectors"):
            f()
    cond = np.linalg.cond(V.astype(np.float64), np.inf)
    assert np.isfinite(la.eig_vjp(A, cond_max=2 * cond)[1](dV=np.ones_like(V))).all()
    # a random float32 matrix the default accepts is refused by an explicit bound below its cond(V)
    B = np.random.default_rng(50).standard_normal((50, 50)).astype(np.float32)
    (w, V), pb = la.eig_vjp(B)
    gV = np.ones_like(V)
    pb(dV=gV)
    cond = np.linalg.cond(V.astype(np.complex128), np.inf)
    with pytest.raises(la.DegeneracyError, match="the eigenvector matrix is .nearly. singular"):
        la.eig_vjp(B, cond_max=cond / 4)[1](dV=gV)
    with pytest.raises(la.DegeneracyError, match="the eigenvector matrix is .nearly. singular"):
        la.eigvals_jvp(B, B, cond_max=cond / 4)

# --- extreme scales --------------------------------------------------------------------

@pytest.mark.parametrize("t", [1e-300, 1e-200, 2.0**-600, 2.0**511, 2.0**512, 1e300])
@pytest.mark.parametrize("n", [3, 5])
def test_every_rule_is_scale_invariant(t, n):
    A = np.random.default_rng(n).standard_normal((n, n))
    H = A + A.T
    C = np.random.default_rng(n + 1).standard_normal((n, n))
    # losses of the factors' vectors only, invariant under their gauge (signs,
    # phases): L = sum C o |X|^2, homogeneous of degree 0: dA(tA) = dA(A) / t
    def mag(X, w=None):
        # column weights follow the values (eig's order may change with the scale)
        rank = np.arange(C.shape[1]) if w is None else np.argsort(np.lexsort((w.imag, w.real)))
        Cw = C[:, rank]
        return dict(zip(X, [2 * Cw[:, : r.shape[-1]] * r for r in X.values()]))

    for vjp, X, cot in ((la.svd_vjp, A, lambda r: mag({"dU": r[0]})),
                        (la.eigh_vjp, H, lambda r: mag({"dV": r[1]})),
                        (la.eig_vjp, A, lambda r: mag({"dV": r[1]}, r[0])),
                        (la.polar_vjp, A, lambda r: dict(dQ=C))):
        for mode in ("strict", "exact", "lorentz"):
            ref = vjp(X, degeneracy=mode)
            got = vjp(X * t, degeneracy=mode)
            want = ref[1](**cot(ref[0]))
            g = got[1](**cot(got[0])) * t
            np.testing.assert_allclose(g, want, rtol=1e-8, atol=1e-9 * np.abs(want).max(),
                                       err_msg=f"{vjp.__name__} {mode}")
    # funm with a homogeneous f (x^2: dA(tA) = t dA(A)); svfunm with g = s^2
    want = la.funm_vjp(H, 2.0, UPLO=None)[1](C)
    if t < 1e150 and t > 1e-150:
        np.testing.assert_allclose(la.funm_vjp(H * t, 2.0, UPLO=None)[1](C) / t, want, rtol=1e-8, atol=1e-9)
        want = la.svfunm_vjp(A, 2.0)[1](C)
        np.testing.assert_allclose(la.svfunm_vjp(A * t, 2.0)[1](C) / t, want, rtol=1e-8, atol=1e-9)
    want = la.funm_vjp(H, "abs", UPLO=None)[1](C)          # degree 1: dA(tA) = dA(A)
    np.testing.assert_allclose(la.funm_vjp(H * t, "abs", UPLO=None)[1](C), want, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("t", [1e-308, 1e-310, 1e-320])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_subnormal_input_polar_dP(t, dtype):
    # dP = I: dA = Q (A = Q P, <I, P> = <Q, A>), of order 1 however small A is;
    # Q of the rounded (subnormal) input itself, whose few digits are its own
    for n in (2, 3, 4, 8):
        A = np.random.default_rng(n).standard_normal((n, n)).astype(dtype)
        if dtype == np.complex128:
            A = A + 1j * np.random.default_rng(n + 9).standard_normal((n, n))
        X = A * t
        got = la.polar_vjp(X)[1](dP=np.eye(n))
        np.testing.assert_allclose(got, la.polar(X).Q, atol=1e-10)
        # and dQ: dA scales like 1 / t, finite while that is representable
        if t >= 1e-300:
            assert np.isfinite(la.polar_vjp(X)[1](dQ=np.eye(n))).all()


# --- float32 --------------------------------------------------------------------------

def test_float32_random_matrices_are_not_refused_and_degenerate_ones_are():
    rng = np.random.default_rng(7)
    for _ in range(20):
        A = rng.standard_normal((128, 128)).astype(np.float32)
        (U, S, Vh), pb = la.svd_vjp(A)
        pb(dU=np.ones_like(U))
        (w, V), pb = la.eigh_vjp(A + A.T)
        pb(dV=np.ones_like(V))
    for dtype in (np.float32, np.float64):
        Q = _orth(50, 9).astype(dtype)
        with pytest.raises(la.DegeneracyError):
            la.svd_vjp(Q)[1](dU=np.ones_like(Q))
        with pytest.raises(la.DegeneracyError):
            la.eigh_vjp(np.eye(5, dtype=dtype))[1](dV=np.ones((5, 5), dtype))
        B = ((Q * np.r_[1.0, 1.0, np.linspace(2, 3, 48)].astype(dtype)) @ Q.T).astype(dtype)
        with pytest.raises(la.DegeneracyError):
            la.eigh_vjp(B)[1](dV=np.ones_like(B))


@pytest.mark.slow
def test_float32_500_is_not_refused():
    A = np.random.default_rng(8).standard_normal((500, 500)).astype(np.float32)
    (U, S, Vh), pb = la.svd_vjp(A)
    assert np.isfinite(pb(dU=np.ones_like(U))).all()
    (w, V), pb = la.eigh_vjp(A + A.T)
    assert np.isfinite(pb(dV=np.ones_like(V))).all()


# --- plain mistakes -------------------------------------------------------------------

def test_svfunm_names_its_own_derivative_parameter():
    with pytest.raises(TypeError, match="pass dg="):
        la.svfunm_vjp(RNG.standard_normal((4, 4)), lambda s: s**2)


def test_a_jvp_without_a_tangent_says_so():
    A = RNG.standard_normal((4, 4))
    for jvp in (la.svd_jvp, la.eigh_jvp, la.eig_jvp, la.polar_jvp):
        with pytest.raises(TypeError, match="tangent dA is required"):
            jvp(A, None)
    with pytest.raises(TypeError, match="tangent dA is required"):
        la.funm_jvp(A, None, "exp", UPLO=None)


def test_order_is_validated_by_name():
    A = RNG.standard_normal((4, 4))
    with pytest.raises(ValueError, match="order must be"):
        la.eigh_vjp(A + A.T, degeneracy="taylor", order=10**12)


def test_a_complex_function_in_funm_is_refused():
    A = RNG.standard_normal((4, 4))
    with pytest.raises(TypeError, match="complex values"):
        la.funm(A + A.T, lambda x: np.exp(1j * x), df=lambda x: 1j * np.exp(1j * x), UPLO=None)
    # complex dtype with a zero imaginary part is a real function
    np.testing.assert_allclose(la.funm(A + A.T, lambda x: x + 0j, df=np.ones_like, UPLO=None), A + A.T)


def test_forward_mode_refusals_speak_of_the_tangent():
    A = RNG.standard_normal((3, 3))
    for jvp, alt in ((la.eigh_jvp, "funm_jvp"), (la.svd_jvp, "polar_jvp"), (la.eig_jvp, "eigh_jvp")):
        with pytest.raises(la.DegeneracyError, match=f"tangent dA couples.*{alt}") as e:
            jvp(np.eye(3), A)
        assert "cotangent" not in str(e.value)


def test_eig_real_w_accepts_a_complex_dw_with_zero_imaginary_part():
    S = np.diag([1.0, 2.0, 3.0]) + np.triu(np.ones((3, 3)), 1)
    (w, V), pb = la.eig_vjp(S)
    assert w.dtype.kind == "f"
    np.testing.assert_allclose(pb(dw=np.ones(3) + 0j), pb(dw=np.ones(3)))
    with pytest.raises(TypeError, match="w is real here"):
        pb(dw=np.ones(3) + 1j)


# --- the measurement scripts behind the defaults (docs/svd.md, docs/eig.md) -------------

@pytest.mark.parametrize("script, args", [("measure_tol.py", ["--sizes", "3,10", "--samples", "2"]),
                                          ("measure_float32.py", ["--sizes", "16", "--samples", "2"]),
                                          ("measure_eig_error.py", []),
                                          ("measure_eig_cond.py", ["--quick"])])
def test_measurement_scripts_run(script, args):
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    out = subprocess.run([sys.executable, os.path.join(root, "scripts", script), *args],
                         capture_output=True, text=True, env=env, timeout=300, check=True).stdout
    assert "eps" in out or "refused" in out
