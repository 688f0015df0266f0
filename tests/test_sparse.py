"""eigsh/svds rules on dense, scipy.sparse and LinearOperator input: finite
differences and adjointness (real and complex), agreement with the dense
rules (the full spectrum) to the solve tolerance, the cotangent's structure
(sparse pattern, LowRank), degeneracy inside the k and at the cut, and the
errors. Small sizes (n <= 60): ARPACK and MINRES run for real, in well
under a second per case."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator

import linalgad as la
from linalgad import sparse as ls
from linalgad import testing as lt

DTYPES = [np.float64, np.complex128]
KINDS = ["dense", "sparse", "operator"]
# the solves run to solver_tol=1e-10 relative: gradients agree with the dense
# rules to ~1e-8 relative (1/gap amplifies); adjointness is checked at a
# tighter solver_tol
AGREE = 1e-7


def H(X):
    return np.conj(X).T


def as_kind(X, kind):
    if kind == "sparse":
        return sp.csr_array(X)
    if kind == "operator":
        return aslinearoperator(np.asarray(X))
    return X


def dense_ct(G):
    """The cotangent as a dense array, whatever its structure."""
    if isinstance(G, ls.LowRank):
        return G.toarray()
    return G.toarray() if sp.issparse(G) else np.asarray(G)


def on_kind(rule, kind, **kw):
    """rule(A, k) as a function of a dense A, run on A converted to ``kind``,
    with a dense cotangent (for linalgad.testing's checks)."""
    def vjp(X):
        res, pb = rule(as_kind(X, kind), **kw)
        return res, lambda *ct: dense_ct(pb(*ct))
    return vjp


def herm(n, dtype, seed, spectrum=None):
    return lt.random_matrix((n, n), dtype, kind="hermitian", seed=seed, spectrum=spectrum)


def general(m, n, dtype, seed, spectrum=None):
    return lt.random_matrix((m, n), dtype, seed=seed, spectrum=spectrum)


EIG_CASES = [dict(k=3, which="LA"), dict(k=2, which="SA"), dict(k=3, which="LM")]


# every `which` on dense input; the other inputs share that code past the
# operator products, so one case each keeps the file fast
EIG_PARAMS = [(kind, c) for kind in KINDS for c in EIG_CASES if kind == "dense" or c["which"] == "LA"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind, case", EIG_PARAMS, ids=lambda x: x if isinstance(x, str) else
                         f"{x['which']}{x['k']}")
def test_eigsh_fd_and_adjoint(kind, dtype, case):
    A = herm(40, dtype, seed=1)
    res = ls.eigsh(A, **case)
    loss, dloss = lt.invariant_loss("eigh", res, seed=2)
    vjp = on_kind(ls.eigsh_vjp, kind, **case)
    jvp = lambda X, E, **kw: ls.eigsh_jvp(as_kind(X, kind), as_kind(E, kind), **case, **kw)
    lt.check_vjp(vjp, A, loss, dloss, structure="hermitian", n_directions=2)
    lt.check_jvp(jvp, A, loss, dloss, structure="hermitian", n_directions=2)
    tight = on_kind(ls.eigsh_vjp, kind, solver_tol=1e-13, **case)
    lt.check_adjoint(tight, lambda X, E: jvp(X, E, solver_tol=1e-13), A, dloss,
                     structure="hermitian", rtol=1e-8, atol=1e-10)


SVD_SHAPES = [(30, 24), (20, 28)]


SVD_PARAMS = [(kind, sh) for kind in KINDS for sh in SVD_SHAPES if kind == "dense" or sh == SVD_SHAPES[0]]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind, shape", SVD_PARAMS, ids=lambda x: x if isinstance(x, str) else
                         f"{x[0]}x{x[1]}")
def test_svds_fd_and_adjoint(kind, dtype, shape):
    k = 3
    A = general(*shape, dtype, seed=3)
    loss, dloss = lt.invariant_loss("svd", ls.svds(A, k), seed=4)
    vjp = on_kind(ls.svds_vjp, kind, k=k)
    jvp = lambda X, E, **kw: ls.svds_jvp(as_kind(X, kind), as_kind(E, kind), k, **kw)
    lt.check_vjp(vjp, A, loss, dloss, n_directions=2)
    lt.check_jvp(jvp, A, loss, dloss, n_directions=2)
    lt.check_adjoint(on_kind(ls.svds_vjp, kind, k=k, solver_tol=1e-13),
                     lambda X, E: jvp(X, E, solver_tol=1e-13), A, dloss, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_eigsh_agrees_with_the_full_rule(dtype):
    """Zero cotangents on the discarded pairs of the dense eigh rule: the
    Krylov path is that rule without the full spectrum."""
    n, k = 50, 4
    A = herm(n, dtype, seed=5)
    res, pb = ls.eigsh_vjp(A, k, which="SA")
    full, fpb = la.eigh_vjp(A, UPLO=None)
    rng = np.random.default_rng(6)
    gw, gV = rng.standard_normal(k), 2 * herm(n, dtype, seed=7) @ res.eigenvectors
    G = pb(gw, gV)
    Gw, GV = np.zeros(n), np.zeros((n, n), dtype)
    Gw[:k] = gw
    GV[:, :k] = 2 * herm(n, dtype, seed=7) @ full.eigenvectors[:, :k]
    Gf = fpb(Gw, GV)
    np.testing.assert_allclose(res.eigenvalues, full.eigenvalues[:k], rtol=1e-12, atol=1e-12)
    assert np.abs(G - Gf).max() <= AGREE * np.abs(Gf).max()
    assert G.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SVD_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_svds_agrees_with_truncated_svd_vjp(dtype, shape):
    """svds_vjp keeps the coupling to the discarded spectrum: it matches
    svd_vjp(k=) (the full thin rule), not the naive truncated rule."""
    k = 3
    A = general(*shape, dtype, seed=8)
    loss, dloss = lt.invariant_loss("svd", ls.svds(A, k), seed=9)
    res, pb = ls.svds_vjp(A, k)
    full, fpb = la.svd_vjp(A, k=k)
    G, Gf = pb(*dloss(res)), fpb(*dloss(full))
    assert np.abs(G - Gf).max() <= AGREE * np.abs(Gf).max()
    from linalgad import _reference
    naive = _reference.svd_vjp_truncated_naive(full.U, full.S, full.Vh, *dloss(full))
    assert np.abs(naive - Gf).max() > 1e-3 * np.abs(Gf).max()  # the coupling matters here


def sparse_herm(n, dtype, seed, density=0.15):
    """A sparse Hermitian matrix stored as both triangles, diagonal spread so
    the top of the spectrum is separated."""
    rng = np.random.default_rng(seed)
    M = sp.random_array((n, n), density=density, rng=rng)
    if np.dtype(dtype).kind == "c":
        M = M + 1j * sp.random_array((n, n), density=density, rng=rng)
    return sp.csr_array(M + M.conj().T + sp.diags_array(np.linspace(0, 3, n))).astype(dtype)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_cotangent_on_the_pattern(fmt, dtype):
    A = sparse_herm(60, dtype, seed=10).asformat(fmt)
    res, pb = ls.eigsh_vjp(A, 3)
    _, dpb = ls.eigsh_vjp(A.toarray(), 3)
    loss, dloss = lt.invariant_loss("eigh", res, seed=11)
    G = pb(*dloss(res))
    Gd = dpb(*dloss(ls.eigsh(A.toarray(), 3)))  # same pairs up to gauge: the loss is invariant
    assert sp.issparse(G) and G.format == fmt and G.dtype == np.dtype(dtype)
    rows, cols = A.nonzero()
    assert G.nnz == A.nnz
    np.testing.assert_allclose(G.toarray()[rows, cols], Gd[rows, cols], atol=AGREE * np.abs(Gd).max())
    # dL/dtheta for A(theta) = A + theta E with E on the pattern: the chain rule
    E = sp.csr_array((np.random.default_rng(12).standard_normal(len(rows)), (rows, cols)),
                     shape=A.shape)
    E = (E + E.T) / 2
    dense_dot = np.vdot(Gd, E.toarray()).real
    assert np.isclose(np.vdot(G.toarray(), E.toarray()).real, dense_dot, rtol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lowrank_cotangent_of_an_operator(dtype):
    n, k = 50, 3
    A = herm(n, dtype, seed=13)
    calls = []
    op = LinearOperator((n, n), matvec=lambda x: calls.append(1) or A @ x, dtype=dtype)
    res, pb = ls.eigsh_vjp(op, k)
    loss, dloss = lt.invariant_loss("eigh", res, seed=14)
    G = pb(*dloss(res))
    assert isinstance(G, ls.LowRank) and G.shape == (n, n) and G.left.shape == (n, 2 * k)
    assert G.dtype == np.dtype(dtype)
    E = herm(n, dtype, seed=15)
    assert np.isclose(G.vdot(E), np.vdot(G.toarray(), E).real, rtol=1e-12)
    assert np.isclose(G.vdot(sp.csr_array(E)), G.vdot(E), rtol=1e-12)
    assert np.isclose(G.vdot(aslinearoperator(E)), G.vdot(E), rtol=1e-12)
    i, j = np.array([0, 3, 7]), np.array([1, 3, 2])
    np.testing.assert_allclose(G.at(i, j), G.toarray()[i, j], rtol=1e-12)
    _, dpb = ls.eigsh_vjp(A, k)
    np.testing.assert_allclose(G.toarray(), dpb(*dloss(res)), atol=AGREE * np.abs(G.toarray()).max())
    assert len(calls) > 0


def test_transverse_field_ising_matches_kronecker_products():
    L = 4
    X = np.array([[0, 1], [1, 0]])
    Z = np.diag([1, -1])

    def site(op, i):
        mats = [np.eye(2)] * L
        mats[L - 1 - i] = op  # bit i of the state index is spin i
        out = mats[0]
        for m in mats[1:]:
            out = np.kron(out, m)
        return out
    ZZ = sum(site(Z, i) @ site(Z, i + 1) for i in range(L - 1))
    XX = sum(site(X, i) for i in range(L))
    Hm, dJ, dh = ls.transverse_field_ising(L, J=0.7, h=1.3)
    np.testing.assert_allclose(dJ.toarray(), -ZZ)
    np.testing.assert_allclose(dh.toarray(), -XX)
    np.testing.assert_allclose(Hm.toarray(), -0.7 * ZZ - 1.3 * XX)
    np.testing.assert_allclose(ls.zz_correlation(L, 0, 3).toarray(), site(Z, 0) @ site(Z, 3))
    Hp, _, _ = ls.transverse_field_ising(L, periodic=True)
    assert (Hp - ls.transverse_field_ising(L)[0]).count_nonzero() > 0  # the closing bond


def test_ground_state_energy_gradient_is_hellmann_feynman():
    H0, dJ, dh = ls.transverse_field_ising(8, J=1.0, h=0.8)
    (w, V), pb = ls.eigsh_vjp(H0, 1, which="SA")
    G = pb(dw=np.ones(1))
    v = V[:, 0]
    assert np.isclose((G.multiply(dJ)).sum(), v @ (dJ @ v), rtol=1e-10)
    assert np.isclose((G.multiply(dh)).sum(), v @ (dh @ v), rtol=1e-10)


# ---------------------------------------------------------------- degeneracy

def degenerate_inside(dtype, n=30):
    """Eigenvalues 5, 5 (a pair inside the top 3), 4, then 0..2.5."""
    w = np.concatenate([np.linspace(0, 2.5, n - 3), [4.0, 5.0, 5.0]])
    return herm(n, dtype, seed=16, spectrum=w)


@pytest.mark.parametrize("kind", KINDS)
def test_degenerate_pair_inside_k_strict(kind):
    A = as_kind(degenerate_inside(np.float64), kind)
    res, pb = ls.eigsh_vjp(A, 3)
    V = res.eigenvectors
    pb(dw=np.array([0.0, 1.0, 1.0]))  # a loss symmetric in the pair: defined
    with pytest.raises(la.DegeneracyError, match="cotangents differ"):
        pb(dw=np.arange(3.0))  # tells the pair apart: refused, as the dense rule
    g = np.zeros_like(V)
    g[:, 0] = V[:, 0]  # a vector outside the pair
    pb(dV=g)
    g = np.zeros_like(V)
    g[:, 2] = np.random.default_rng(0).standard_normal(V.shape[0])
    with pytest.raises(la.DegeneracyError, match="eigenvalues 1 and 2 are degenerate"):
        pb(dV=g)
    # touched only through the complement: still refused (the k x k rule cannot see it)
    g[:, 2] -= V @ (V.T @ g[:, 2])
    with pytest.raises(la.DegeneracyError):
        pb(dV=g)


@pytest.mark.parametrize("dtype", DTYPES)
def test_degenerate_pair_inside_k_subspace_matches_eigh(dtype):
    """A loss of the pair's projector: subspace mode gives the dense rule's
    answer; a loss that rotates inside the pair is refused."""
    A = degenerate_inside(dtype)
    n = A.shape[0]
    W = herm(n, dtype, seed=17)
    res, pb = ls.eigsh_vjp(A, 3, degeneracy="subspace")
    V = res.eigenvectors
    g = np.zeros_like(V)
    g[:, 1:] = 2 * W @ V[:, 1:]  # tr(W P), P the pair's projector
    full, fpb = la.eigh_vjp(A, UPLO=None, degeneracy="subspace")
    gf = np.zeros_like(full.eigenvectors)
    gf[:, -2:] = 2 * W @ full.eigenvectors[:, -2:]
    Gf = fpb(None, gf)
    assert np.abs(pb(None, g) - Gf).max() <= AGREE * np.abs(Gf).max()
    rot = np.zeros_like(V)
    rot[:, 1] = V[:, 2]
    with pytest.raises(la.GaugeError, match="subspace"):
        pb(None, rot)


def test_degenerate_pair_inside_k_exact_is_not_refused():
    res, pb = ls.eigsh_vjp(degenerate_inside(np.float64), 3, degeneracy="exact")
    g = np.zeros_like(res.eigenvectors)
    g[:, 2] = res.eigenvectors[:, 1]
    G = pb(dV=g)  # 1/(w_j - w_i) at a tie: inf/nan, or huge at a rounding-level gap
    assert not np.isfinite(G).all() or np.abs(G).max() > 1e8


def split_at_cut(dtype, n=30):
    """Eigenvalues ... 3, 4, 4, 5: k = 2 (LA) cuts the pair at 4."""
    w = np.concatenate([np.linspace(0, 3, n - 3), [4.0, 4.0, 5.0]])
    return herm(n, dtype, seed=18, spectrum=w)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_split_at_the_cut_refused(kind, dtype):
    A = as_kind(split_at_cut(dtype), kind)
    res, pb = ls.eigsh_vjp(A, 2)
    np.testing.assert_allclose(res.eigenvalues, [4.0, 5.0], atol=1e-10)
    pb(dw=np.array([0.0, 1.0]))  # the value 5, away from the cut
    # the value 4 tied with the first discarded one: a kink, as eigh_vjp's values
    with pytest.raises(la.DegeneracyError, match="have no derivative there"):
        pb(dw=np.ones(2))
    for mode in ("subspace", "exact"):   # the derivative along the vectors returned
        (_, V), pbm = ls.eigsh_vjp(A, 2, degeneracy=mode)
        np.testing.assert_allclose(dense_ct(pbm(dw=np.ones(2))), V @ H(V), atol=1e-12)
    g = np.zeros_like(res.eigenvectors)
    g[:, 1] = res.eigenvectors[:, 1]  # the vector of 5, away from the cut
    pb(dV=g)
    g[:, 0] = 1  # the vector of 4, tied with the first discarded value
    with pytest.raises(la.DegeneracyError, match="first discarded"):
        pb(dV=g)
    with pytest.raises(la.DegeneracyError, match="first discarded"):
        ls.eigsh_vjp(A, 2, degeneracy="subspace")[1](dV=g)
    with pytest.raises(la.DegeneracyError, match="first discarded"):
        ls.eigsh_jvp(A, as_kind(herm(30, dtype, seed=19), kind), 2)


def test_split_at_the_cut_in_magnitude():
    """which='LM': +-4 have equal magnitude, so the k = 2 largest are not a
    function of A even though the values differ."""
    w = np.concatenate([np.linspace(-1, 1, 27), [-4.0, 4.0, 6.0]])
    A = herm(30, np.float64, seed=20, spectrum=w)
    res, pb = ls.eigsh_vjp(A, 2, which="LM")
    g = np.ones_like(res.eigenvectors)
    with pytest.raises(la.DegeneracyError, match="first discarded"):
        pb(dV=g)
    ls.eigsh_vjp(A, 3, which="LM")[1](dV=np.ones((30, 3)))  # k = 3 keeps both


def test_svds_split_at_the_cut_refused():
    A = general(25, 20, np.float64, seed=21, spectrum=np.r_[5.0, 3.0, 3.0, np.linspace(1, 0.1, 17)])
    res, pb = ls.svds_vjp(A, 2)
    pb(dS=np.array([1.0, 0.0]))
    with pytest.raises(la.DegeneracyError, match="have no derivative there"):
        pb(dS=np.ones(2))
    np.testing.assert_allclose(ls.svds_vjp(A, 2, degeneracy="subspace")[1](dS=np.ones(2)),
                               res.U @ res.Vh, atol=1e-12)
    with pytest.raises(la.DegeneracyError, match="singular values"):
        pb(dU=np.ones((25, 2)))
    with pytest.raises(la.DegeneracyError, match="singular values"):
        ls.svds_jvp(A, np.ones((25, 20)), 2)
    # k = 3 keeps the pair whole: now an inside-k degeneracy, same policy as svd_vjp
    with pytest.raises(la.DegeneracyError, match="singular values 1 and 2 are degenerate"):
        ls.svds_vjp(A, 3)[1](dU=np.ones((25, 3)))


# ---------------------------------------------------------------- errors

def test_unsupported_modes_and_bad_input():
    A = herm(20, np.float64, seed=22)
    for mode in ("lorentz", "taylor"):
        with pytest.raises(ValueError, match="not supported"):
            ls.eigsh_vjp(A, 2, degeneracy=mode)
    with pytest.raises(TypeError, match="unknown option"):
        ls.eigsh_vjp(A, 2, tolerance=1)
    with pytest.raises(ValueError, match="not Hermitian"):
        ls.eigsh_vjp(A + np.triu(np.ones_like(A), 1), 2)
    with pytest.raises(ValueError, match="which"):
        ls.eigsh_vjp(A, 2, which="XX")
    with pytest.raises(ValueError, match="k must be"):
        ls.svds_vjp(A, 0)
    with pytest.raises(ValueError, match="2-D"):
        ls.eigsh_vjp(np.stack([A, A]), 2)
    with pytest.raises(ValueError, match="NaN"):
        ls.eigsh_vjp(sp.csr_array(A * np.nan), 2)
    with pytest.raises(ValueError, match="project"):
        ls.eigsh_vjp(aslinearoperator(A), 2, project="dense")[1](dw=np.ones(2))
    with pytest.raises(TypeError, match="complex"):
        ls.eigsh_jvp(A, 1j * A, 2)


def test_solves_that_do_not_converge_raise():
    A = herm(60, np.float64, seed=23)
    res, pb = ls.eigsh_vjp(A, 2, solver_maxiter=2)
    with pytest.raises(ls.ConvergenceError, match="solver_maxiter"):
        pb(dV=np.ones((60, 2)))
    with pytest.raises(ls.ConvergenceError):
        ls.svds_jvp(general(40, 30, np.float64, seed=24), np.ones((40, 30)), 2, solver_maxiter=2)


def test_zero_cotangents_and_real_results():
    A = sparse_herm(40, np.float64, seed=25)
    res, pb = ls.eigsh_vjp(A, 2)
    assert pb().nnz == A.nnz and not pb().toarray().any()
    U, S, Vh = ls.svds(A, 2)
    assert U.dtype == S.dtype == Vh.dtype == np.float64
    assert ls.svds_vjp(A, 2)[1](dS=np.ones(2)).dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        res.eigenvalues[0] = 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_block_minres_solves_each_shifted_system(dtype):
    """The lockstep MINRES: column j solves P (A - s_j) P x = P g_j on range(P),
    for indefinite shifts and a column that P annihilates."""
    n = 40
    A = herm(n, dtype, seed=26)
    Q = lt.random_matrix((n, 3), dtype, kind="unitary", seed=27)
    G = lt.random_matrix((n, 4), dtype, seed=28)
    G[:, 3] = Q[:, 1]  # P g = 0: x = 0
    shifts = np.array([0.3, -1.2, 2.05, 0.0])
    X = ls._solve(lambda Y: A @ Y, Q, shifts, G, 1e-12, None, "test")
    P = np.eye(n) - Q @ H(Q)
    for j in range(4):
        r = P @ ((A - shifts[j] * np.eye(n)) @ X[:, j]) - P @ G[:, j]
        assert np.linalg.norm(r) <= 1e-10 * np.linalg.norm(G[:, j])
    assert np.abs(H(Q) @ X).max() <= 1e-12 and not X[:, 3].any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_svd_vjp_method_krylov_agrees_with_full(dtype):
    """svd_vjp/svd_jvp(method="krylov") is svds_vjp/svds_jvp; both paths agree
    to the solve tolerance."""
    k = 3
    A = general(40, 30, dtype, seed=29)
    loss, dloss = lt.invariant_loss("svd", la.svd(A, k=k), seed=30)
    (res, pb), (full, fpb) = la.svd_vjp(A, k=k, method="krylov"), la.svd_vjp(A, k=k)
    G, Gf = pb(*dloss(res)), fpb(*dloss(full))
    assert np.abs(G - Gf).max() <= AGREE * np.abs(Gf).max()
    E = lt.direction(A, seed=31)
    (_, t), (_, tf) = la.svd_jvp(A, E, k=k, method="krylov"), la.svd_jvp(A, E, k=k)
    np.testing.assert_allclose(t.S, tf.S, rtol=AGREE)
    for bad in (dict(k=None), dict(k=k, full_matrices=True), dict(k=k, gauge="canonical"),
                dict(k=k, method="lanczos")):
        with pytest.raises(ValueError, match="method"):
            la.svd_vjp(A, **{"method": "krylov", **bad})


@pytest.mark.parametrize("rule, dtype", [("eigsh", np.float32), ("svds", np.complex64)])
def test_single_precision_against_double(rule, dtype):
    """32-bit input: the result and cotangent stay 32-bit, within 1e-3 of
    the 64-bit rule (solver_tol 1e-5 and float32 rounding, amplified by 1/gap)."""
    if rule == "eigsh":
        A, vjp, kind = herm(40, dtype, seed=32), ls.eigsh_vjp, "eigh"
    else:
        A, vjp, kind = general(30, 20, dtype, seed=32), ls.svds_vjp, "svd"
    res, pb = vjp(A, 3)
    _, dloss = lt.invariant_loss(kind, res, seed=33)
    res64, pb64 = vjp(A.astype(np.result_type(dtype, np.float64)), 3)
    G, G64 = pb(*dloss(res)), pb64(*dloss(res64))
    assert G.dtype == np.dtype(dtype) and res[0].dtype == np.dtype(dtype)
    assert np.abs(G - G64).max() <= 1e-3 * np.abs(G64).max()


def test_results_are_numpys_named_tuples():
    A = herm(30, np.float64, seed=40)
    res = la.eigsh(A, 2)
    assert type(res) is la.EighResult and res.eigenvalues.shape == (2,)
    assert type(ls.eigsh_jvp(A, A, 2)[1]) is la.EighResult
    svd = la.svds(general(30, 20, np.float64, seed=41), 2)
    assert type(svd) is la.SVDResult and svd.Vh.shape == (2, 20)
    assert type(ls.svds_jvp(A, A, 2)[1]) is la.SVDResult
