"""The toolkit must pass correct rules and catch wrong ones."""


import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import linalgad as la
from linalgad import testing as T

from linalgad import EigResult, EighResult
DTYPES = [np.float64, np.complex128, np.float32, np.complex64]
SHAPES = [(3, 3), (5, 3), (3, 5), (2, 4, 3)]


# ---------------------------------------------------------------- random_matrix

@pytest.mark.parametrize("dtype", DTYPES)
def test_random_matrix_dtype_seed_and_batch(dtype):
    A = T.random_matrix((2, 3, 4, 3), dtype, seed=7)
    assert A.shape == (2, 3, 4, 3) and A.dtype == np.dtype(dtype)
    assert np.iscomplexobj(A) == (np.dtype(dtype).kind == "c")
    if np.iscomplexobj(A):
        assert np.abs(A.imag).max() > 0.1
    np.testing.assert_array_equal(A, T.random_matrix((2, 3, 4, 3), dtype, seed=7))
    assert not np.array_equal(A, T.random_matrix((2, 3, 4, 3), dtype, seed=8))


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 6), n=st.integers(1, 6), cplx=st.booleans(), seed=st.integers(0, 2**32))
def test_random_matrix_spectrum_is_prescribed(m, n, cplx, seed):
    k = min(m, n)
    s = np.linspace(3.0, 0.5, k)
    A = T.random_matrix((m, n), np.complex128 if cplx else np.float64, spectrum=s, seed=seed)
    np.testing.assert_allclose(np.linalg.svd(A, compute_uv=False), s, rtol=1e-12, atol=1e-12)


def test_random_matrix_default_is_well_separated():
    s = np.linalg.svd(T.random_matrix((10, 6, 5), seed=0), compute_uv=False)
    assert np.diff(-s, axis=-1).min() >= 0.74
    w = np.linalg.eigvalsh(T.random_matrix((10, 5, 5), kind="hermitian", seed=0))
    assert np.diff(w, axis=-1).min() >= 0.74


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_random_matrix_gap_and_rank(dtype):
    s = np.linalg.svd(T.random_matrix((3, 5, 4), dtype, gap=1e-6, seed=1), compute_uv=False)
    np.testing.assert_allclose(s[:, 0] - s[:, 1], 1e-6, rtol=1e-6)
    assert np.diff(-s[:, 1:], axis=-1).min() > 0.5
    s = np.linalg.svd(T.random_matrix((5, 4), dtype, rank=2, seed=1), compute_uv=False)
    assert (s[:2] > 0.5).all() and (s[2:] < 1e-14).all()
    w = np.linalg.eigvalsh(T.random_matrix((5, 5), dtype, kind="hermitian", gap=0.0, seed=2))
    assert abs(w[-1] - w[-2]) < 1e-13 and w[-2] - w[-3] > 0.5


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_random_matrix_kinds(dtype):
    H = T.random_matrix((2, 4, 4), dtype, kind="hermitian", spectrum=[-2, -1, 1, 3], seed=3)
    np.testing.assert_array_equal(H, np.conj(H).swapaxes(-1, -2))
    np.testing.assert_allclose(np.linalg.eigvalsh(H), [[-2, -1, 1, 3]] * 2, atol=1e-13)
    P = T.random_matrix((4, 4), dtype, kind="psd", rank=2, seed=3)
    w = np.linalg.eigvalsh(P)
    assert w.min() > -1e-13 and (np.abs(w) < 1e-13).sum() == 2
    for shape in [(4, 4), (5, 3), (3, 5)]:
        Q = T.random_matrix(shape, dtype, kind="unitary", seed=3)
        np.testing.assert_allclose(np.linalg.svd(Q, compute_uv=False), 1, atol=1e-13)
    with pytest.raises(ValueError, match="square"):
        T.random_matrix((4, 3), kind="hermitian")


# ---------------------------------------------------------------- direction

@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_direction_structures(dtype):
    A = np.zeros((2, 4, 4), dtype)
    E = T.direction(A, structure="hermitian", seed=0)
    np.testing.assert_array_equal(E, np.conj(E).swapaxes(-1, -2))
    assert E.dtype == A.dtype
    assert not np.triu(T.direction(A, structure="lower", seed=0), 1).any()
    assert not np.tril(T.direction(A, structure="upper", seed=0), -1).any()
    D = T.direction(A, structure="diagonal", seed=0)
    assert not (D - D * np.eye(4)).any() and np.diagonal(D, axis1=1, axis2=2).all()
    R = T.direction(A, structure="real", seed=0)
    assert R.dtype == A.dtype and not np.imag(R).any()
    if np.iscomplexobj(A):
        assert np.imag(T.direction(A, seed=0)).any()
    with pytest.raises(ValueError, match="structure"):
        T.direction(A, structure="banded")


def test_direction_sparse_keeps_pattern_and_format():
    sp = pytest.importorskip("scipy.sparse")
    A = sp.random(6, 6, density=0.3, format="csc", random_state=0)
    E = T.direction(A, seed=1)
    assert E.format == "csc"
    np.testing.assert_array_equal(E.toarray() != 0, A.toarray() != 0)


# ---------------------------------------------------------------- invariant_loss

@pytest.mark.parametrize("kind", ["svd", "svdvals", "polar", "eigh", "eigvalsh", "eig", "funm"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_invariant_loss_dloss_is_the_gradient(kind, dtype):
    """dloss(res) must be the cotangent of loss for the API's convention:
    d/dt loss(res + t dres) = sum Re<dloss_i, dres_i>."""
    rng = np.random.default_rng(0)
    A = T.random_matrix((4, 3) if kind.startswith("svd") or kind == "polar" else (3, 3), dtype, seed=1)
    if kind.startswith("svd"):
        res = la.svd(A, full_matrices=False)
    elif kind == "polar":
        res = la.polar(A)
    elif kind in ("eigh", "eigvalsh", "funm"):
        w, V = np.linalg.eigh(A + np.conj(A.T))
        res = V if kind == "funm" else EighResult(w, V)
    else:
        w, V = np.linalg.eig(A)
        res = EigResult(w, V)
    loss, dloss = T.invariant_loss(kind, res, seed=3)
    parts = res if isinstance(res, tuple) else (res,)
    ct = dloss(res)
    assert len(ct) == len(parts)
    d = [None if c is None else
         (rng.standard_normal(p.shape) + (1j * rng.standard_normal(p.shape) if np.iscomplexobj(p) else 0))
         for c, p in zip(ct, parts)]
    h = 1e-5

    def at(t):
        new = tuple(p if e is None else p + t * e for p, e in zip(parts, d))
        return loss(type(res)(*new) if isinstance(res, tuple) else new[0])
    fd = (at(h) - at(-h)) / (2 * h)
    ad = sum(np.real(np.vdot(c, e)) for c, e in zip(ct, d) if c is not None)
    assert fd == pytest.approx(ad, rel=1e-7, abs=1e-9)
    for c, p in zip(ct, parts):
        assert c is None or (c.shape == p.shape and c.dtype == p.dtype)


def test_invariant_loss_is_gauge_invariant():
    A = T.random_matrix((4, 3), np.complex128, seed=1)
    res = la.svd(A, full_matrices=False)
    loss, _ = T.invariant_loss("svd", res, seed=0)
    ph = np.exp(1j * np.arange(3.0))
    other = type(res)(res.U * ph, res.S, res.Vh * np.conj(ph)[:, None])
    assert loss(other) == pytest.approx(loss(res), rel=1e-14)


def test_invariant_loss_svd_sees_the_extra_columns_only_through_projectors():
    """A full_matrices=True result with >= 2 extra columns: rotating the
    extra columns of U (rows of Vh) leaves the loss unchanged, its dloss is
    still the gradient, and a thin result gets the same loss as before."""
    rng = np.random.default_rng(2)
    for shape, dtype in [((6, 3), np.complex128), ((3, 6), np.float64), ((2, 5, 2), np.complex128)]:
        A = T.random_matrix(shape, dtype, seed=1)
        res = la.svd(A, full_matrices=True)
        k = res.S.shape[-1]
        loss, dloss = T.invariant_loss("svd", res, seed=0)
        Qu = T.random_matrix(shape[:-2] + (shape[-2] - k,) * 2, dtype, kind="unitary", seed=3)
        Qv = T.random_matrix(shape[:-2] + (shape[-1] - k,) * 2, dtype, kind="unitary", seed=4)
        U, Vh = res.U.copy(), res.Vh.copy()
        U[..., k:] = U[..., k:] @ Qu
        Vh[..., k:, :] = Qv @ Vh[..., k:, :]
        assert loss(type(res)(U, res.S, Vh)) == pytest.approx(loss(res), rel=1e-13)
        d = [rng.standard_normal(p.shape) + (1j * rng.standard_normal(p.shape) if np.iscomplexobj(p) else 0)
             for p in res]
        h = 1e-5
        at = lambda t: loss(type(res)(*(p + t * e for p, e in zip(res, d))))
        ad = sum(np.real(np.vdot(c, e)) for c, e in zip(dloss(res), d))
        assert (at(h) - at(-h)) / (2 * h) == pytest.approx(ad, rel=1e-7, abs=1e-9)
        # a thin result keeps the loss it always had (weights drawn S, U, Vh)
        thin = la.svd(A, full_matrices=False)
        l_thin, _ = T.invariant_loss("svd", thin, seed=0)
        r0 = np.random.default_rng(0)
        ws, Wu, Wv = (r0.standard_normal(np.shape(x)) for x in (thin.S, thin.U, thin.Vh))
        l_old = np.sum(ws * thin.S) + np.sum(Wu * np.abs(thin.U) ** 2) + np.sum(Wv * np.abs(thin.Vh) ** 2)
        assert l_thin(thin) == pytest.approx(l_old, rel=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 3), (3, 6), (2, 5, 3), (2, 3, 5)])
def test_svd_full_matrices_with_extra_columns_passes_the_checks(shape, dtype):
    """invariant_loss('svd') is a function of A for full results too, so the
    checks pass on svd_vjp/svd_jvp(full_matrices=True) with >= 2 extra
    columns (before: GaugeError "extra columns of U")."""
    A = T.random_matrix(shape, dtype, seed=6)
    loss, dloss = T.invariant_loss("svd", la.svd(A, full_matrices=True), seed=7)
    vjp = lambda X: la.svd_vjp(X, full_matrices=True)
    jvp = lambda X, E: la.svd_jvp(X, E, full_matrices=True)
    assert T.check_vjp(vjp, A, loss, dloss).ok
    assert T.check_jvp(jvp, A, loss, dloss).ok
    assert T.check_adjoint(vjp, jvp, A, dloss).ok


# ---------------------------------------------------------------- correct rules pass

def _svd_case(shape, dtype, seed=0):
    A = T.random_matrix(shape, dtype, seed=seed)
    return A, T.invariant_loss("svd", la.svd(A, full_matrices=False), seed=seed + 1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_correct_svd_rules_pass(shape, dtype):
    A, (loss, dloss) = _svd_case(shape, dtype)
    rep = T.check_vjp(la.svd_vjp, A, loss, dloss)
    n_dirs = 5 if np.dtype(dtype).kind == "c" else 3
    assert rep.ok and len(rep.rows) == n_dirs
    T.check_jvp(la.svd_jvp, A, loss, dloss)
    T.check_adjoint(la.svd_vjp, la.svd_jvp, A, dloss)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_correct_polar_rules_pass(shape, dtype):
    A = T.random_matrix(shape, dtype, seed=4)
    loss, dloss = T.invariant_loss("polar", la.polar(A), seed=5)
    T.check_vjp(la.polar_vjp, A, loss, dloss)
    T.check_jvp(la.polar_jvp, A, loss, dloss)
    T.check_adjoint(la.polar_vjp, la.polar_jvp, A, dloss)


@pytest.mark.parametrize("points", [2, 4, 5, 6])
def test_stencils(points):
    A, (loss, dloss) = _svd_case((4, 4), np.float64)
    rep = T.check_vjp(la.svd_vjp, A, loss, dloss, points=points, rtol=1e-4 if points == 2 else None)
    assert rep.max_rel_err < (1e-5 if points == 2 else 1e-7)
    with pytest.raises(ValueError, match="points"):
        T.check_vjp(la.svd_vjp, A, loss, dloss, points=3)


def test_float32_is_differenced_in_float64():
    seen = []

    def vjp(X):
        seen.append(np.asarray(X).dtype)
        return la.svd_vjp(X)
    A, (loss, dloss) = _svd_case((4, 3), np.float32)
    T.check_vjp(vjp, A, loss, dloss)
    assert seen[0] == np.float32 and set(seen[1:]) == {np.dtype(np.float64)}


# ---------------------------------------------------------------- wrong rules fail

def _wrong(vjp, how):
    def wrapped(X):
        res, pb = vjp(X)

        def bad(*ct):
            G = pb(*ct)
            if how == "scaled":
                return G * 1.01
            if how == "transposed":
                return np.swapaxes(G, -1, -2)
            if how == "conjugated":
                return np.conj(G)
            if how == "dropped imaginary":
                return G.real.astype(G.dtype)
            raise AssertionError(how)
        return res, bad
    return wrapped


@pytest.mark.parametrize("how", ["scaled", "transposed"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_wrong_vjp_is_caught(how, dtype):
    A, (loss, dloss) = _svd_case((4, 4), dtype)
    with pytest.raises(AssertionError) as exc:
        T.check_vjp(_wrong(la.svd_vjp, how), A, loss, dloss)
    msg = str(exc.value)
    assert "direction random #" in msg and "abs err" in msg and "rel err" in msg and "tol" in msg
    assert "FAIL" in msg


@pytest.mark.parametrize("how", ["conjugated", "dropped imaginary"])
def test_complex_bugs_are_caught(how):
    A = T.random_matrix((4, 3), np.complex128, seed=2)
    loss, dloss = T.invariant_loss("polar", la.polar(A), seed=3)
    with pytest.raises(AssertionError, match="FAIL"):
        T.check_vjp(_wrong(la.polar_vjp, how), A, loss, dloss)


def test_only_the_imaginary_direction_catches_a_lost_imaginary_part():
    """A rule right on real directions only: the extra real/imaginary
    directions name the culprit."""
    A = T.random_matrix((3, 3), np.complex128, seed=2)
    loss, dloss = T.invariant_loss("polar", la.polar(A), seed=3)
    with pytest.raises(AssertionError) as exc:
        T.check_vjp(_wrong(la.polar_vjp, "dropped imaginary"), A, loss, dloss, n_directions=1)
    rows = str(exc.value).splitlines()
    real = next(r for r in rows if r.strip().startswith("real part"))
    imag = next(r for r in rows if r.strip().startswith("imag part"))
    assert "FAIL" not in real and "FAIL" in imag


def test_failure_message_numbers_are_the_real_ones():
    A, (loss, dloss) = _svd_case((3, 3), np.float64)
    good = T.check_vjp(la.svd_vjp, A, loss, dloss, n_directions=1)
    with pytest.raises(AssertionError) as exc:
        T.check_vjp(_wrong(la.svd_vjp, "scaled"), A, loss, dloss, n_directions=1)
    fd = good.rows[0].reference
    assert repr(fd)[:8] in str(exc.value) or f"{fd:.8g}" in str(exc.value)
    assert f"{1.01 * good.rows[0].computed:.6g}"[:6] in str(exc.value)


def test_wrong_jvp_and_adjoint_are_caught():
    A, (loss, dloss) = _svd_case((4, 3), np.complex128)

    def jvp_scaled(X, E, **kw):
        res, tan = la.svd_jvp(X, E, **kw)
        return res, type(tan)(tan.U, tan.S * 1.01, tan.Vh)
    with pytest.raises(AssertionError, match="check_jvp failed"):
        T.check_jvp(jvp_scaled, A, loss, dloss)
    with pytest.raises(AssertionError, match="check_adjoint failed"):
        T.check_adjoint(la.svd_vjp, jvp_scaled, A, dloss)
    with pytest.raises(AssertionError, match="check_adjoint failed"):
        T.check_adjoint(_wrong(la.svd_vjp, "conjugated"), la.svd_jvp, A, dloss)


def test_gauge_dependent_loss_is_exposed_by_the_adjoint_test():
    """Re(U) is not a function of A: vjp and jvp disagree on it (a reason the
    checks insist on invariant losses)."""
    A = T.random_matrix((3, 3), np.complex128, seed=5)
    with pytest.raises((AssertionError, ValueError)):
        T.check_adjoint(la.svd_vjp, la.svd_jvp, A,
                        lambda r: (np.ones_like(r.U), None, None), n_directions=2)


def test_fd_gauge_fixed_passes_and_catches():
    A = T.random_matrix((4, 3), np.complex128, seed=6)
    T.check_fd_gauge_fixed(la.svd_jvp, A, la.gauge.fix_svd, primal=_thin_svd)

    def unfixed_tangent(X, E, gauge=None):
        res, _ = la.svd_jvp(X, E, gauge=gauge)
        _, tan = la.svd_jvp(X, E)  # tangent of the raw factors, not of the fixed ones
        return res, tan
    with pytest.raises(AssertionError, match="dU"):
        T.check_fd_gauge_fixed(unfixed_tangent, A, la.gauge.fix_svd, primal=_thin_svd)


def test_tolerance_table():
    assert T.tolerance(np.float64) == T.TOLERANCES[np.dtype(np.float64)]
    assert T.tolerance(np.int64) == T.TOLERANCES[np.dtype(np.float64)]
    assert T.tolerance(np.complex64)[0] > T.tolerance(np.complex128)[0]
    assert set(T.TOLERANCES) == {np.dtype(t) for t in DTYPES}
    with pytest.raises(TypeError):
        T.tolerance(np.float16)


def test_a_gauge_dependent_loss_is_named_in_the_failure():
    """FD of a phase-dependent loss is meaningless; the message says so."""
    A = T.random_matrix((3, 3), np.complex128, seed=5)

    def loss(r):
        return float(np.sum(r.U.real))

    def dloss(r):
        return (np.ones_like(r.U), None, None)

    def vjp(X):  # the raw rule would raise GaugeError; look past it
        return la.svd_vjp(X, gauge_tol=np.inf)
    with pytest.raises(AssertionError, match="not gauge invariant"):
        T.check_vjp(vjp, A, loss, dloss)


def test_a_rule_writing_to_its_inputs_is_caught():
    A, (loss, dloss) = _svd_case((3, 3), np.float64)

    def vjp(X):
        res, pb = la.svd_vjp(X)

        def bad(dU, dS, dVh):
            out = pb(dU, dS, dVh)
            dS *= 0
            return out
        return res, bad
    with pytest.raises(AssertionError, match="pullback modified its input cotangent #1"):
        T.check_vjp(vjp, A, loss, dloss)

    def jvp(X, E):
        out = la.svd_jvp(X, E)
        E[...] = 0
        return out
    with pytest.raises(AssertionError, match="jvp modified its input tangent E"):
        T.check_jvp(jvp, A, loss, dloss)


@pytest.mark.parametrize("shape", [(0, 3, 3), (1, 1), (3, 0)])
def test_degenerate_shapes(shape):
    A, (loss, dloss) = _svd_case(shape, np.float64)
    rep = T.check_vjp(la.svd_vjp, A, loss, dloss)
    assert rep.ok


def test_eig_loss_follows_the_eigenvalues_not_the_positions():
    """LAPACK may reorder eig's output under a perturbation: the standard eig
    loss must not jump when it does, and its cotangents move with it."""
    A = T.random_matrix((2, 4, 4), np.complex128, seed=3)
    w, V = np.linalg.eig(A)
    res = EigResult(w, V)
    loss, dloss = T.invariant_loss("eig", res, seed=1)
    p = np.array([[2, 0, 3, 1], [1, 3, 0, 2]])
    shuffled = EigResult(np.take_along_axis(w, p, -1), np.take_along_axis(V, p[:, None, :], -1))
    assert loss(shuffled) == pytest.approx(loss(res), rel=1e-14)
    for a, b in zip(dloss(shuffled), dloss(res)):
        np.testing.assert_array_equal(a, np.take_along_axis(b, p if a.ndim == 2 else p[:, None, :], -1))


def _thin_svd(X):
    return la.svd(X, full_matrices=False)


def _family(name):
    f = getattr(la, name, None)
    if f is None:
        pytest.skip(f"linalgad.{name} does not exist yet")
    return f


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("family", ["eigh-L", "eigh-None", "eig", "funm-exp", "svfunm-sqrt"])
def test_toolkit_on_the_other_rule_families(family, dtype):
    """The toolkit's losses, structures and tolerances fit every rule family
    (batched, all dtypes)."""
    if family.startswith("eigh"):
        vjp_, jvp_ = _family("eigh_vjp"), _family("eigh_jvp")
        uplo = None if family.endswith("None") else "L"
        A = T.random_matrix((2, 4, 4), dtype, kind="hermitian", seed=1)
        vjp, jvp = (lambda X: vjp_(X, UPLO=uplo)), (lambda X, E: jvp_(X, E, UPLO=uplo))
        kind, structure = "eigh", ("hermitian" if uplo is None else None)
    elif family == "eig":
        vjp, jvp = _family("eig_vjp"), _family("eig_jvp")
        A = T.random_matrix((2, 4, 4), dtype, seed=2)
        kind, structure = "eig", None
    elif family.startswith("svfunm"):
        vjp_, jvp_ = _family("svfunm_vjp"), _family("svfunm_jvp")
        A = T.random_matrix((2, 5, 3), dtype, seed=5)
        vjp, jvp = (lambda X: vjp_(X, "sqrt")), (lambda X, E: jvp_(X, E, "sqrt"))
        kind, structure = "funm", None
    else:
        vjp_, jvp_ = _family("funm_vjp"), _family("funm_jvp")
        A = T.random_matrix((2, 4, 4), dtype, kind="hermitian", seed=3)
        vjp, jvp = (lambda X: vjp_(X, "exp", UPLO=None)), (lambda X, E: jvp_(X, E, "exp", UPLO=None))
        kind, structure = "funm", "hermitian"
    loss, dloss = T.invariant_loss(kind, vjp(A)[0], seed=4)
    T.check_vjp(vjp, A, loss, dloss, structure=structure)
    T.check_jvp(jvp, A, loss, dloss, structure=structure)
    T.check_adjoint(vjp, jvp, A, dloss, structure=structure)


def test_default_step_refines_on_a_small_gap_but_a_wrong_rule_still_fails():
    """gap = 1e-4 is below the default step: the refined difference passes
    the correct rule and still fails a 1.01-scaled one; a fixed step is used
    as given."""
    A = T.random_matrix((4, 4), np.float64, gap=1e-4, seed=1)
    loss, dloss = T.invariant_loss("svd", la.svd(A, full_matrices=False), seed=2)
    rep = T.check_vjp(la.svd_vjp, A, loss, dloss)
    assert any("[h=" in r.label for r in rep.rows)
    T.check_jvp(la.svd_jvp, A, loss, dloss)
    with pytest.raises(AssertionError):
        T.check_vjp(_wrong(la.svd_vjp, "scaled"), A, loss, dloss)
    with pytest.raises(AssertionError):
        T.check_vjp(la.svd_vjp, A, loss, dloss, step=1e-2)


def test_a_failure_in_one_matrix_of_a_batch_is_named():
    A = T.random_matrix((3, 4, 3), np.float64, seed=7)
    loss, dloss = T.invariant_loss("svd", la.svd(A, full_matrices=False), seed=8)

    def vjp(X):
        res, pb = la.svd_vjp(X)

        def bad(*ct):
            G = pb(*ct).copy()
            G[1] *= 1.05  # only the second matrix is wrong
            return G
        return res, bad
    with pytest.raises(AssertionError, match=r"per matrix of the batch: failing \(1,\)\n"):
        T.check_vjp(vjp, A, loss, dloss)

    def jvp(X, E):
        res, tan = la.svd_jvp(X, E)
        dS = tan.S.copy()
        dS[2] *= 1.05
        return res, type(tan)(tan.U, dS, tan.Vh)
    with pytest.raises(AssertionError, match=r"failing \(2,\)\n"):
        T.check_jvp(jvp, A, loss, dloss)


def test_directions_along_which_nothing_changes():
    """1x1 Hermitian: the imaginary part of a Hermitian direction is zero and
    is skipped; eigh(UPLO="L") ignores the imaginary diagonal, so the
    derivative along it is exactly 0 and the difference must say 0 too (no
    roundoff of f * sum(weights) / h)."""
    eigh_vjp = _family("eigh_vjp")
    H = T.random_matrix((1, 1), np.complex128, kind="hermitian", seed=14)
    labels = [lbl for lbl, _ in T._directions(H, 3, "hermitian", 0)]
    assert "imag part of #0" not in labels and "real part of #0" in labels
    loss, dloss = T.invariant_loss("eigh", eigh_vjp(H)[0], seed=1)
    rep = T.check_vjp(eigh_vjp, H, loss, dloss)
    imag = next(r for r in rep.rows if r.label.startswith("imag part"))
    assert imag.computed == 0 and imag.reference == 0
