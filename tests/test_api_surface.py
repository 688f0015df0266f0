"""The public surface: documented (numpydoc), typed, with examples, and
spelled as numpy.linalg where linalgad has the same function; the old
spellings still work and warn."""

import inspect
import os
import typing

import numpy as np
import pytest
from numpydoc.docscrape import FunctionDoc

import linalgad as la
import linalgad.testing as lt


def _functions(module):
    return [(f"{module.__name__}.{n}", getattr(module, n)) for n in module.__all__
            if inspect.isfunction(inspect.unwrap(getattr(module, n)))]


try:   # the lazy rules need dask (an optional dependency; CI has it)
    import linalgad.dask as ldask
except ImportError:
    if os.environ.get("CI"):
        raise
    ldask = None

PUBLIC = _functions(la) + _functions(lt) + (_functions(ldask) if ldask else [])
IDS = [name for name, _ in PUBLIC]


def test_the_walk_covers_the_rules_and_the_tools():
    names = {n.rsplit(".", 1)[-1] for n in IDS}
    for n in ("svd", "svd_vjp", "eigh_pullback", "funm_pushforward", "svdvals_jvp",
              "gauge_fix", "gauge_report", "project", "set_num_threads", "get_num_threads",
              "check_vjp", "random_matrix", "eigsh_vjp", "svds_jvp"):
        assert n in names
    if ldask:
        assert "linalgad.dask.eigh_vjp" in IDS
    assert len(PUBLIC) >= 55


def _documented_names(doc):
    out = set()
    for p in doc["Parameters"]:
        out |= {x.strip().lstrip("*") for x in p.name.split(",")}
    return out


@pytest.mark.parametrize("name, fn", PUBLIC, ids=IDS)
def test_numpydoc_docstring(name, fn):
    assert fn.__doc__, f"{name} has no docstring"
    assert "{{" not in fn.__doc__, f"{name}: a docstring fragment was not expanded"
    assert "linalgad._options" not in fn.__doc__, f"{name} sends the reader to a private module"
    doc = FunctionDoc(fn)
    assert doc["Summary"], f"{name}: no summary line"
    params = [p for p in inspect.signature(fn).parameters.values()]
    if params:
        assert doc["Parameters"], f"{name}: no Parameters section"
        missing = {p.name for p in params} - _documented_names(doc)
        assert not missing, f"{name}: parameters not documented: {sorted(missing)}"
    assert doc["Returns"], f"{name}: no Returns section"
    assert doc["Notes"], f"{name}: no Notes section"
    assert any(line.lstrip().startswith(">>>") for line in doc["Examples"]), \
        f"{name}: no Examples section with a runnable example"


@pytest.mark.parametrize("name, fn", PUBLIC, ids=IDS)
def test_type_hints(name, fn):
    sig = inspect.signature(fn)
    unannotated = [p.name for p in sig.parameters.values() if p.annotation is inspect.Parameter.empty]
    assert not unannotated, f"{name}: parameters without a type hint: {unannotated}"
    assert sig.return_annotation is not inspect.Signature.empty, f"{name}: no return type hint"
    typing.get_type_hints(fn)   # the hints resolve (as Sphinx and mypy read them)


RULE_SUFFIXES = ("_vjp", "_jvp", "_pullback", "_pushforward")


@pytest.mark.parametrize("name, fn", [(n, f) for n, f in PUBLIC if n.endswith(RULE_SUFFIXES)
                                      and not n.startswith("linalgad.testing.")], ids=lambda x: str(x))
def test_every_rule_takes_the_options(name, fn):
    kinds = [p.kind for p in inspect.signature(fn).parameters.values()]
    assert inspect.Parameter.VAR_KEYWORD in kinds, f"{name} takes no **opts"


@pytest.mark.parametrize("name, fn", PUBLIC, ids=IDS)
def test_one_spelling_and_one_default_for_the_triangle(name, fn):
    params = inspect.signature(fn).parameters
    assert "uplo" not in params, f"{name} spells UPLO in lower case"
    if "UPLO" in params:
        # "L" (numpy.linalg.eigh's), or, during the change from None, omitted -> FutureWarning
        assert params["UPLO"].default in ("L", la._compat.UNSET), name


def test_result_types_have_numpys_field_names():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    assert la.SVDResult._fields == type(np.linalg.svd(A))._fields == ("U", "S", "Vh")
    assert la.EighResult._fields == type(np.linalg.eigh(A))._fields
    assert la.EigResult._fields == type(np.linalg.eig(A))._fields
    assert isinstance(la.svd(A, full_matrices=False), la.SVDResult)
    assert isinstance(la.eigh(A), la.EighResult)
    assert isinstance(la.eig(A), la.EigResult)
    assert isinstance(la.polar(A), la.PolarResult)
    w, V = la.eigh(A)                        # tuple unpacking keeps working
    np.testing.assert_array_equal(w, la.eigh(A).eigenvalues)


@pytest.mark.parametrize("ours, theirs", [("eigh", "eigh"), ("eigvalsh", "eigvalsh"),
                                          ("svd", "svd"), ("eig", "eig"), ("eigvals", "eigvals")])
def test_defaults_match_numpy_linalg(ours, theirs):
    """The keywords numpy.linalg has, linalgad has with the same default;
    svd's full_matrices is on its way to NumPy's True (FutureWarning)."""
    mine = inspect.signature(getattr(la, ours)).parameters
    np_params = list(inspect.signature(getattr(np.linalg, theirs)).parameters.values())[1:]
    for p in np_params:
        if p.name == "hermitian":        # svd(hermitian=): not offered (see docs/API.md)
            continue
        assert p.name in mine, f"{ours} lacks numpy.linalg.{theirs}'s {p.name}"
        if ours == "svd" and p.name == "full_matrices":
            assert mine[p.name].default is None
            continue
        assert mine[p.name].default == p.default, (ours, p.name)
        assert mine[p.name].kind == p.kind, (ours, p.name)   # positional as in NumPy


def test_svd_full_matrices_and_compute_uv_as_numpy():
    A = np.random.default_rng(0).standard_normal((2, 5, 3))
    for full in (True, False):
        got, want = la.svd(A, full), np.linalg.svd(A, full)
        for g, w in zip(got, want):
            assert g.shape == w.shape
        np.testing.assert_allclose(got.S, want.S)
    S = la.svd(A, compute_uv=False)
    assert isinstance(S, np.ndarray)
    np.testing.assert_allclose(S, np.linalg.svd(A, compute_uv=False))
    np.testing.assert_allclose(la.svd(A, compute_uv=False, k=2), S[..., :2])
    with pytest.raises(ValueError, match="compute_uv=False returns S only"):
        la.svd(A, compute_uv=False, gauge="canonical")


def test_svd_default_moves_to_full_matrices_with_a_future_warning():
    A = np.ones((4, 3))
    with pytest.warns(FutureWarning, match="full_matrices changes to True"):
        U, S, Vh = la.svd(A)
    assert U.shape == (4, 3)                 # thin until then
    for X in (np.ones((3, 3)), A):           # no warning where the result would not change
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            la.svd(X, k=2) if X is A else la.svd(X)


# ---------------------------------------------------------------- deprecations

@pytest.mark.parametrize("old, new", [("SVD", "SVDResult"), ("Eigh", "EighResult"),
                                      ("Eig", "EigResult"), ("Polar", "PolarResult")])
def test_old_result_names_warn_and_still_work(old, new):
    with pytest.warns(DeprecationWarning, match=f"linalgad.{old} is deprecated; use linalgad.{new}"):
        cls = getattr(la, old)
    assert cls is getattr(la, new)
    module = {"SVD": "svd", "Eigh": "eigh", "Eig": "eig", "Polar": "polar"}[old]
    with pytest.warns(DeprecationWarning):
        from importlib import import_module
        assert getattr(import_module(f"linalgad.rules.{module}"), old) is cls
    with pytest.raises(AttributeError):
        la.NoSuchThing


@pytest.mark.parametrize("fn", [la.eigh, la.eig])
def test_old_field_names_warn_and_still_work(fn):
    res = fn(np.array([[2.0, 1.0], [1.0, 3.0]]))
    with pytest.warns(DeprecationWarning, match=r"\.w is deprecated; use \.eigenvalues"):
        w = res.w
    with pytest.warns(DeprecationWarning, match=r"\.V is deprecated; use \.eigenvectors"):
        V = res.V
    assert w is res.eigenvalues and V is res.eigenvectors


A_H = np.array([[2.0, 1.0], [5.0, 3.0]])     # not symmetric: the triangle matters


@pytest.mark.parametrize("call", [
    lambda **kw: la.eigh(A_H, **kw).eigenvalues,
    lambda **kw: la.eigvalsh(A_H, **kw),
    lambda **kw: la.eigh_vjp(A_H, **kw)[1](np.array([1.0, 2.0])),
    lambda **kw: la.eigh_jvp(A_H, A_H, **kw)[1].eigenvalues,
    lambda **kw: la.eigvalsh_vjp(A_H, **kw)[1](np.array([1.0, 2.0])),
    lambda **kw: la.eigvalsh_jvp(A_H, A_H, **kw)[1],
    lambda **kw: la.funm(A_H, "exp", **kw),
    lambda **kw: la.funm_vjp(A_H, "exp", **kw)[1](np.eye(2)),
    lambda **kw: la.funm_jvp(A_H, A_H, "exp", **kw)[1],
    lambda **kw: la.eigh_pullback(*np.linalg.eigh(A_H), np.array([1.0, 2.0]), **kw),
    lambda **kw: la.eigh_pushforward(*np.linalg.eigh(A_H), A_H, **kw).eigenvalues,
    lambda **kw: la.eigvalsh_pushforward(*np.linalg.eigh(A_H), A_H, **kw),
    lambda **kw: la.funm_pullback(*np.linalg.eigh(A_H), np.eye(2), "exp", **kw),
    lambda **kw: la.funm_pushforward(*np.linalg.eigh(A_H), A_H, "exp", **kw),
])
@pytest.mark.parametrize("value", ["U", None])
def test_lower_case_uplo_warns_and_still_works(call, value):
    with pytest.warns(DeprecationWarning, match="uplo= is deprecated; use UPLO="):
        old = call(uplo=value)
    np.testing.assert_array_equal(old, call(UPLO=value))
    with pytest.raises(TypeError, match="both UPLO= and uplo="):
        call(uplo=value, UPLO=value)


@pytest.mark.parametrize("call", [
    lambda **kw: la.funm(A_H, "exp", **kw),
    lambda **kw: la.funm_vjp(A_H, "exp", **kw)[1](np.eye(2)),
    lambda **kw: la.funm_jvp(A_H, A_H, "exp", **kw)[1],
    lambda **kw: la.eigh_pullback(*np.linalg.eigh(A_H), np.array([1.0, 2.0]), **kw),
    lambda **kw: la.eigh_pushforward(*np.linalg.eigh(A_H), A_H, **kw).eigenvalues,
    lambda **kw: la.eigvalsh_pushforward(*np.linalg.eigh(A_H), A_H, **kw),
    lambda **kw: la.funm_pullback(*np.linalg.eigh(A_H), np.eye(2), "exp", **kw),
    lambda **kw: la.funm_pushforward(*np.linalg.eigh(A_H), A_H, "exp", **kw),
])
def test_omitted_uplo_keeps_none_and_warns_of_the_new_default(call):
    with pytest.warns(FutureWarning, match="default of UPLO changes from None"):
        old = call()
    np.testing.assert_array_equal(old, call(UPLO=None))
    assert not np.allclose(call(UPLO=None), call(UPLO="L"))   # the change is visible here


def test_funm_rules_take_and_check_the_options():
    A = np.eye(2)
    F, pb = la.funm_vjp(A, "exp", UPLO="L", degeneracy="subspace", tol=1e-3)
    np.testing.assert_allclose(pb(np.eye(2)), np.e * np.eye(2))
    with pytest.raises(TypeError, match="unknown option"):
        la.funm_jvp(A, A, "exp", UPLO="L", degeneracies="strict")
    with pytest.raises(ValueError, match="degeneracy must be one of"):
        la.funm_pullback(*np.linalg.eigh(A), np.eye(2), "exp", UPLO="L", degeneracy="nope")


def test_testing_is_reachable_after_import_linalgad():
    import subprocess
    import sys
    code = "import linalgad; print(linalgad.testing.check_vjp.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "check_vjp"
    assert "testing" in dir(la)
