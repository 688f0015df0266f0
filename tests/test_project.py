"""Cotangent projection: each structure is the cotangent of its own question."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st

import linalgad as la
from linalgad import testing as T
from linalgad._validate import matrix_stack
from linalgad.project import STRUCTURES, finish_cotangent, project

rng0 = np.random.default_rng(0)


def _rand(shape, cplx, rng=rng0):
    X = rng.standard_normal(shape)
    return X + 1j * rng.standard_normal(shape) if cplx else X


def _rdot(X, Y):
    X = X.toarray() if sp.issparse(X) else X
    Y = Y.toarray() if sp.issparse(Y) else Y
    return float(np.real(np.vdot(X, Y)))


# ------------------------------------------------- Zygote.jl issue #1507

def test_zygote_1507_sum_of_a_sparse_zero():
    """d sum(A) / dA at a 1x1 sparse zero: 0 on its (empty) pattern, 1 dense."""
    A = sp.csr_matrix((1, 1))
    G = np.ones((1, 1))  # the gradient of sum over the dense matrix
    P = project(G, A)
    assert sp.issparse(P) and P.nnz == 0 and P.toarray()[0, 0] == 0
    assert project(G, A, structure="dense")[0, 0] == 1
    # an explicitly stored zero is part of the pattern
    Z = sp.csr_matrix(([0.0], ([0], [0])), shape=(1, 1))
    assert Z.nnz == 1 and project(G, Z).toarray()[0, 0] == 1


# ---------------------------------------------------------------- dense structures

def _space(structure, shape, cplx, rng):
    """A random element of the perturbation space the structure describes."""
    E = _rand(shape, cplx and structure != "real", rng)
    if structure == "symmetric":
        return E + E.swapaxes(-1, -2)
    if structure == "hermitian":
        return E + np.conj(E.swapaxes(-1, -2))
    if structure == "lower":
        return np.tril(E)
    if structure == "upper":
        return np.triu(E)
    if structure == "diagonal":
        return E * np.eye(*shape[-2:])
    return E


DENSE = ["real", "symmetric", "hermitian", "lower", "upper", "diagonal", None, "dense"]


@settings(max_examples=60, deadline=None)
@given(structure=st.sampled_from(DENSE), cplx=st.booleans(), batch=st.sampled_from([(), (3,), (2, 0), (2, 2)]),
       n=st.integers(1, 5), seed=st.integers(0, 2**32))
def test_dense_projection_is_the_orthogonal_projection(structure, cplx, batch, n, seed):
    """Re<P(G), E> = Re<G, E> for every E of the space, P(G) lies in the
    space, and P is idempotent: P(G) is the cotangent of the restriction."""
    rng = np.random.default_rng(seed)
    m = n if structure in ("symmetric", "hermitian") else n + (seed % 2)
    like = np.zeros(batch + (m, n), np.complex128 if cplx else np.float64)
    G = _rand(like.shape, True, rng)  # complex on purpose: real like must drop Im
    P = project(G, like, structure=structure)
    assert P.shape == like.shape and P.dtype == like.dtype
    E = _space(structure, like.shape, cplx, rng).astype(like.dtype)
    assert _rdot(P, E) == pytest.approx(_rdot(G, E), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(project(P, like, structure=structure), P, atol=1e-15)
    if structure not in (None, "dense", "real"):
        np.testing.assert_allclose(P, _in_space(P, structure), atol=1e-15)


def _in_space(P, structure):
    if structure == "symmetric":
        return P.swapaxes(-1, -2)
    if structure == "hermitian":
        return np.conj(P.swapaxes(-1, -2))
    if structure == "lower":
        return np.tril(P)
    if structure == "upper":
        return np.triu(P)
    return P * np.eye(*P.shape[-2:])


def test_real_and_complex():
    G = np.array([[1 + 2j, 3 - 1j]])
    assert project(G, np.zeros((1, 2))).dtype == np.float64
    np.testing.assert_array_equal(project(G, np.zeros((1, 2))), [[1, 3]])
    np.testing.assert_array_equal(project(G, np.zeros((1, 2), np.float32), structure="complex"), G)
    assert project(G, np.zeros((1, 2), np.float32), structure="complex").dtype == np.complex64
    R = project(G, np.zeros((1, 2), complex), structure="real")
    assert R.dtype == complex and not R.imag.any()
    assert project(G, np.zeros((1, 2), int)).dtype == np.float64
    assert project(G, np.zeros((1, 2), complex)).dtype == complex


@pytest.mark.parametrize("like_dtype", [np.float64, np.float32, np.complex128, np.complex64, np.int32])
def test_dense_applies_no_structure_and_takes_the_dtype_of_like(like_dtype):
    """"dense" drops no entry and imposes no pattern, but like every structure
    except "complex" it returns like's dtype: Re G for a real like (a real
    input gets a real cotangent); "complex" is the dense way to keep Im G."""
    G = _rand((2, 3, 3), True)
    like = np.zeros(G.shape, like_dtype)
    D = project(G, like, structure="dense")
    real = np.dtype(like_dtype).kind != "c"
    want_dtype = np.float64 if like_dtype == np.int32 else like_dtype
    assert D.dtype == want_dtype
    np.testing.assert_allclose(D, G.real if real else G, rtol=1e-6)
    C = project(G, like, structure="complex")
    assert C.dtype.kind == "c"
    np.testing.assert_allclose(C, G, rtol=1e-6)
    # a sparse like: "dense" is a dense array with every entry, still Re G
    S = sp.csr_matrix(([1.0], ([0], [0])), shape=(3, 3))
    Ds = project(G[0], S, structure="dense")
    assert isinstance(Ds, np.ndarray) and Ds.dtype == np.float64
    np.testing.assert_array_equal(Ds, G[0].real)
    # and through a rule that works in complex arithmetic on a real input
    A = np.array([[0.0, -2.0, 0.3], [1.0, 0.5, 0.0], [0.2, 0.0, 3.0]])  # complex pair
    res, pullback = la.eig_vjp(A, project="dense")
    _, dloss = T.invariant_loss("eig", res, seed=3)
    got = pullback(*dloss(res))
    full = la.eig_vjp(A, project="complex")[1](*dloss(res))
    assert got.dtype == np.float64 and np.abs(full.imag).max() > 1e-3
    np.testing.assert_allclose(got, full.real, rtol=1e-12, atol=1e-12)


def test_hermitian_differs_from_symmetric_for_complex():
    G = np.array([[0, 1j], [0, 0]])
    np.testing.assert_allclose(project(G, G, structure="hermitian"), [[0, 0.5j], [-0.5j, 0]])
    np.testing.assert_allclose(project(G, G, structure="symmetric"), [[0, 0.5j], [0.5j, 0]])


def test_never_modifies_or_aliases():
    G = _rand((3, 3), False)
    G0 = G.copy()
    for s in DENSE:
        P = project(G, np.zeros((3, 3)), structure=s)
        assert not np.shares_memory(P, G)
        P[...] = 7
    np.testing.assert_array_equal(G, G0)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="structure must be one of"):
        project(np.ones((2, 2)), np.ones((2, 2)), structure="banded")
    with pytest.raises(ValueError, match="shape"):
        project(np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(TypeError, match="pattern"):
        project(np.ones((2, 2)), np.ones((2, 2)), structure="pattern")
    with pytest.raises(ValueError, match="square"):
        project(np.ones((2, 3)), np.ones((2, 3)), structure="hermitian")
    S = sp.csr_matrix(([1.0, 1.0, 1.0], ([0, 0, 2], [0, 1, 0])), shape=(3, 3))
    with pytest.raises(ValueError, match="neither symmetric nor one triangle"):
        project(np.ones((3, 3)), S, structure="symmetric")
    assert set(STRUCTURES) >= {None, "real", "complex", "symmetric", "hermitian", "lower",
                               "upper", "diagonal", "pattern", "dense"}


# ---------------------------------------------------------------- sparse

FORMATS = ["csr", "csc", "coo", "bsr", "dia", "lil", "dok"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("cls", ["matrix", "array"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_pattern_keeps_format_class_dtype_and_pattern(fmt, cls, dtype):
    A = sp.random(5, 4, density=0.4, format="coo", random_state=3, dtype=np.float64)
    A = (sp.csr_array(A) if cls == "array" else sp.csr_matrix(A)).asformat(fmt).astype(dtype)
    G = _rand((5, 4), True)
    P = project(G, A)
    assert P.format == A.format and P.dtype == A.dtype and P.shape == A.shape
    assert isinstance(P, sp.sparray) == isinstance(A, sp.sparray)
    mask = A.toarray() != 0
    expected = np.where(mask, G if np.dtype(dtype).kind == "c" else G.real, 0)
    np.testing.assert_allclose(P.toarray(), expected, rtol=1e-6)


def test_pattern_with_explicit_zeros_and_duplicates():
    # COO with a duplicate (0, 1) entry and an explicitly stored zero at (1, 1)
    A = sp.coo_matrix(([1.0, 2.0, 0.0], ([0, 0, 1], [1, 1, 1])), shape=(2, 2))
    G = np.array([[10.0, 20.0], [30.0, 40.0]])
    P = project(G, A)
    np.testing.assert_array_equal(P.toarray(), [[0, 20], [0, 40]])  # not 40 at (0, 1)
    # pattern = the stored entries: Re<P, E> = Re<G, E> for E on the pattern
    E = T.direction(A, seed=1)
    assert _rdot(P, E) == pytest.approx(_rdot(G, E))


@pytest.mark.parametrize("structure", ["lower", "upper", "diagonal", "real", "complex"])
def test_structures_compose_with_the_pattern(structure):
    A = sp.csr_matrix(np.array([[1.0, 2, 0], [3, 4, 5], [0, 6, 7]]))
    G = _rand((3, 3), True)
    P = project(G, A, structure=structure)
    assert sp.issparse(P) and P.format == "csr"
    dense = project(G, np.zeros((3, 3)), structure=structure)
    np.testing.assert_allclose(P.toarray(), np.where(A.toarray() != 0, dense, 0))


@pytest.mark.parametrize("structure", ["symmetric", "hermitian"])
@pytest.mark.parametrize("cplx", [False, True])
def test_symmetric_stored_pattern_is_the_hermitian_projection(structure, cplx):
    A = sp.random(5, 5, density=0.4, random_state=1) + sp.eye(5)
    A = (A + A.T).tocsr().astype(complex if cplx else float)
    G = _rand((5, 5), cplx)
    P = project(G, A, structure=structure)
    dense = project(G, np.zeros((5, 5), A.dtype), structure=structure)
    np.testing.assert_allclose(P.toarray(), np.where(A.toarray() != 0, dense, 0))


@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("structure", ["symmetric", "hermitian"])
@pytest.mark.parametrize("cplx", [False, True])
def test_triangle_storage_collects_both_mirrored_entries(uplo, structure, cplx):
    """A sparse triangle read as a symmetric/Hermitian matrix: a stored value
    theta_ij sets A_ij and A_ji, so its cotangent is G_ij + G_ji (conj for
    Hermitian): neither doubled twice nor halved (ChainRulesCore#707)."""
    rng = np.random.default_rng(4)
    n = 5
    B = sp.random(n, n, density=0.5, random_state=2) + sp.eye(n)
    S = (sp.tril(B) if uplo == "L" else sp.triu(B)).tocsc().astype(complex if cplx else float)
    G = _rand((n, n), cplx, rng)
    P = project(G, S, structure=structure)
    assert P.format == "csc" and (P.toarray() != 0).sum() <= S.nnz

    def expand(theta):  # stored values -> the full matrix they describe
        Tm = theta.toarray()
        off = Tm - np.diag(np.diag(Tm))
        mirror = off.T if structure == "symmetric" else np.conj(off.T)
        d = np.diag(Tm).real if structure == "hermitian" else np.diag(Tm)
        return off + mirror + np.diag(d)
    # P is the cotangent of the stored values: Re<P, dtheta> = Re<G, expand(dtheta)>
    for k in range(3):
        dtheta = T.direction(S, seed=k)
        assert _rdot(P, dtheta) == pytest.approx(_rdot(G, expand(dtheta)), rel=1e-12)


# ---------------------------------------------------------------- finish_cotangent

def test_finish_cotangent_defaults():
    A = np.zeros((2, 3, 3))
    stck = matrix_stack(A)
    G = _rand((2, 3, 3), False)
    out = finish_cotangent(G.reshape(2, 3, 3), stck)
    assert out.shape == (2, 3, 3) and out.dtype == np.float64
    # complex internal G for real input: real part by default, kept with "complex"
    Gc = _rand((2, 3, 3), True)
    np.testing.assert_array_equal(finish_cotangent(Gc, stck), Gc.real)
    np.testing.assert_array_equal(finish_cotangent(Gc, stck, "complex"), Gc)
    # batch shape restored from (B, m, n)
    st2 = matrix_stack(np.zeros((2, 2, 3, 3), np.float32))
    out = finish_cotangent(_rand((4, 3, 3), False), st2)
    assert out.shape == (2, 2, 3, 3) and out.dtype == np.float32
    # integer input: float64 cotangent
    assert finish_cotangent(G, matrix_stack(np.zeros((2, 3, 3), int))).dtype == np.float64


def test_finish_cotangent_sparse():
    S = sp.csc_matrix(np.array([[2.0, 0, 1], [0, 3, 0], [1, 0, 4]]))
    stck = matrix_stack(S)
    G = _rand((1, 3, 3), False)  # a rule's (B, m, n) output
    out = finish_cotangent(G, stck)
    assert sp.issparse(out) and out.format == "csc"
    np.testing.assert_array_equal(out.toarray(), np.where(S.toarray() != 0, G[0], 0))
    dense = finish_cotangent(G, stck, "dense")
    assert isinstance(dense, np.ndarray) and dense.shape == (3, 3)
    np.testing.assert_array_equal(dense, G[0])


# ---------------------------------------------------------------- with rules

def _polar_loss(A):
    return T.invariant_loss("polar", la.polar(A), seed=1)


def test_polar_on_sparse_input_matches_fd_on_the_pattern():
    """An SVD-family rule on a sparse input returns the pattern cotangent,
    equal to the finite difference along pattern directions."""
    A = sp.csr_matrix(T.random_matrix((5, 5), seed=2) * (rng0.random((5, 5)) < 0.6) + 3 * np.eye(5))
    loss, dloss = _polar_loss(A.toarray())
    _, pb = la.polar_vjp(A)
    P = pb(*dloss(la.polar(A.toarray())))
    assert sp.issparse(P) and P.format == "csr"
    T.check_vjp(la.polar_vjp, A, loss, dloss)
    D = la.polar_vjp(A, project="dense")[1](*dloss(la.polar(A.toarray())))
    assert isinstance(D, np.ndarray) and (D[A.toarray() == 0] != 0).any()


def test_finish_cotangent_accepts_an_already_sparse_cotangent():
    S = sp.csr_matrix(np.eye(3))
    P = finish_cotangent(sp.csr_matrix(np.ones((3, 3))), matrix_stack(S))
    np.testing.assert_array_equal(P.toarray(), np.eye(3))


def _eigvalsh_triangle_reference(A, uplo, c):
    """L = sum(c * eigvalsh(A, UPLO)), and its triangle-rule cotangent
    (docs/projection.md: diag(Re diag Abar) + 2 tril(Abar, -1)) in plain NumPy."""
    w, V = np.linalg.eigh(A, UPLO=uplo)
    Abar = (V * c) @ np.conj(V.T)
    tri = np.tril if uplo == "L" else np.triu
    k = -1 if uplo == "L" else 1
    return float(np.sum(c * w)), np.diag(np.real(np.diag(Abar))) + 2 * tri(Abar, k)


@pytest.mark.parametrize("stored", ["full", "triangle"])
@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("cplx", [False, True])
def test_symmetric_sparse_with_a_triangle_rule_reference(stored, uplo, cplx):
    """ChainRulesCore#707 situation with a NumPy oracle for the rule: the
    pattern projection of the triangle cotangent is the gradient with
    respect to the stored values, whether both triangles are stored (the
    unread one gets 0) or only the read one."""
    n = 5
    H = T.random_matrix((n, n), np.complex128 if cplx else np.float64, kind="hermitian", seed=3)
    mask = (np.random.default_rng(5).random((n, n)) < 0.5) | np.eye(n, dtype=bool)
    mask = mask | mask.T
    H = H * mask
    if stored == "triangle":
        H = np.tril(H) if uplo == "L" else np.triu(H)
    S = sp.csr_matrix(H)
    c = np.random.default_rng(6).standard_normal(n)
    _, Gtri = _eigvalsh_triangle_reference(S.toarray(), uplo, c)
    P = finish_cotangent(Gtri[None], matrix_stack(S))
    for k in range(3):
        E = T.direction(S, seed=k)
        h = 1e-4
        f = [_eigvalsh_triangle_reference((S + t * h * E).toarray(), uplo, c)[0] for t in (-2, -1, 1, 2)]
        fd = (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h)
        assert _rdot(P, E) == pytest.approx(fd, rel=1e-7, abs=1e-9)
    if stored == "triangle":
        # UPLO=None rule (Hermitian cotangent) + "hermitian" triangle projection
        # gives the same numbers: no double count, no lost mirror
        w, V = np.linalg.eigh(S.toarray(), UPLO=uplo)
        Aherm = (V * c) @ np.conj(V.T)
        Q = project(Aherm, S, structure="hermitian")
        np.testing.assert_allclose(Q.toarray(), P.toarray(), atol=1e-12)


def _eigh_vjp():
    f = getattr(la, "eigh_vjp", None)
    if f is None:
        pytest.skip("linalgad.eigh_vjp does not exist yet")
    return f


@pytest.mark.parametrize("stored", ["full", "triangle"])
@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("cplx", [False, True])
def test_symmetric_sparse_with_eigh_vjp(stored, uplo, cplx):
    """The same with the real eigh rule, through finish_cotangent."""
    eigh_vjp = _eigh_vjp()
    n = 5
    H = T.random_matrix((n, n), np.complex128 if cplx else np.float64, kind="hermitian", seed=3)
    mask = (np.random.default_rng(5).random((n, n)) < 0.5) | np.eye(n, dtype=bool)
    H = H * (mask | mask.T)
    if stored == "triangle":
        H = np.tril(H) if uplo == "L" else np.triu(H)
    S = sp.csr_matrix(H)
    res0, _ = eigh_vjp(S.toarray(), UPLO=uplo)
    loss, dloss = T.invariant_loss("eigh", res0, seed=2)

    rep = T.check_vjp(lambda X: eigh_vjp(X, UPLO=uplo), S, loss, dloss)
    assert rep.ok
    # the rule's own output is the pattern cotangent, sparse
    res1, pb = eigh_vjp(S, UPLO=uplo)
    P = pb(*dloss(res1))
    assert sp.issparse(P) and P.format == "csr"
    unread = np.triu(np.ones((n, n)), 1) if uplo == "L" else np.tril(np.ones((n, n)), -1)
    assert not (P.toarray() * unread).any()  # entries eigh does not read get 0
    if stored == "triangle":
        # the Hermitian rule (UPLO=None) + triangle-storage projection agree
        full = S.toarray()
        full = full + np.conj(np.triu(full, 1).T) if uplo == "U" else full + np.conj(np.tril(full, -1).T)
        resh, pbh = eigh_vjp(full, UPLO=None)
        Q = project(pbh(*dloss(resh)), S, structure="hermitian")
        np.testing.assert_allclose(Q.toarray(), P.toarray(), atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), fmt=st.sampled_from(FORMATS), cplx=st.booleans(),
       m=st.integers(1, 6), n=st.integers(1, 6), density=st.floats(0.0, 1.0))
def test_pattern_projection_property(seed, fmt, cplx, m, n, density):
    """For any pattern and format: P lives on the stored entries and
    Re<P, E> = Re<G, E> for every E on them."""
    A = sp.random(m, n, density=density, format=fmt, random_state=seed % 2**32,
                  dtype=np.complex128 if cplx else np.float64)
    rng = np.random.default_rng(seed)
    G = _rand((m, n), True, rng)
    P = project(G, A)
    assert sp.issparse(P) and P.format == A.format and P.shape == A.shape and P.dtype == A.dtype
    C = A.tocoo()  # the stored entries (BSR stores whole blocks, zeros included)
    stored = np.zeros((m, n), bool)
    stored[C.row, C.col] = True
    assert not (P.toarray()[~stored] != 0).any()
    E = T.direction(A, seed=seed)
    assert _rdot(P, E) == pytest.approx(_rdot(G, E), rel=1e-12, abs=1e-12)


def test_complex_answer_for_a_real_input_of_eig():
    """project="complex" on a real input is the cotangent of the same loss at
    the complexified input (eig goes through complex numbers internally)."""
    eig_vjp = getattr(la, "eig_vjp", None)
    if eig_vjp is None:
        pytest.skip("linalgad.eig_vjp does not exist yet")
    A = T.random_matrix((4, 4), np.float64, seed=2)
    res, pb = eig_vjp(A, project="complex")
    assert np.iscomplexobj(res.eigenvalues)  # this A has complex eigenvalues
    _, dloss = T.invariant_loss("eig", res, seed=1)
    G = pb(*dloss(res))
    resc, pbc = eig_vjp(A.astype(complex))
    Gc = pbc(*dloss(resc))
    assert G.dtype == np.complex128 and np.abs(G.imag).max() > 1e-3
    np.testing.assert_allclose(G, Gc, atol=1e-12)
    np.testing.assert_allclose(eig_vjp(A)[1](*dloss(res)), G.real, atol=1e-12)  # default: real part


@pytest.mark.parametrize("in_dtype", [np.float32, np.float64, np.complex64, np.complex128, np.int64])
@pytest.mark.parametrize("g_dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_finish_cotangent_agrees_with_project(in_dtype, g_dtype):
    """The fast path (nothing to project) and the general one give what
    project(G, A) gives: A's working dtype, real part for real A."""
    A = np.ones((2, 3, 3), in_dtype)
    stck = matrix_stack(A)
    G = _rand((2, 3, 3), np.dtype(g_dtype).kind == "c").astype(g_dtype)
    out = finish_cotangent(G.reshape(2, 3, 3), stck)
    ref = project(G, A)
    assert out.dtype == ref.dtype == stck.dtype
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("cplx", [False, True])
def test_symmetric_sparse_with_funm_triangle_rule(uplo, cplx):
    """funm(UPLO=...) reads one triangle too: its pattern cotangent on a sparse
    symmetric input matches FD along independent stored entries."""
    funm_vjp = getattr(la, "funm_vjp", None)
    if funm_vjp is None:
        pytest.skip("linalgad.funm_vjp does not exist yet")
    n = 5
    H = T.random_matrix((n, n), np.complex128 if cplx else np.float64, kind="hermitian", seed=7)
    mask = (np.random.default_rng(8).random((n, n)) < 0.5) | np.eye(n, dtype=bool)
    S = sp.csc_matrix(H * (mask | mask.T))
    F, _ = funm_vjp(S, "exp", UPLO=uplo)
    loss, dloss = T.invariant_loss("funm", F, seed=3)
    T.check_vjp(lambda X: funm_vjp(X, "exp", UPLO=uplo), S, loss, dloss)
    _, pb = funm_vjp(S, "exp", UPLO=uplo)
    assert sp.issparse(pb(*dloss(F))) and pb(*dloss(F)).format == "csc"
