"""linalgad.dask: lazy rules over batch chunks agree exactly with the
in-memory rules (same kernels, chunk by chunk), on the threaded scheduler and
on a small dask.distributed LocalCluster; cotangents chunked differently,
None cotangents, chunked matrix axes, options, errors from inside a chunk,
and that importing linalgad does not import dask."""

import os
import subprocess
import sys

import numpy as np
import pytest

try:
    import dask
    import dask.array as da
except ImportError:  # pragma: no cover
    if os.environ.get("CI"):
        raise
    pytest.skip("dask is not installed (pip install 'linalgad[dask]')", allow_module_level=True)

import linalgad as la
import linalgad.dask as lad
from linalgad import testing as lt

RULES = ["svd", "eigh", "eig", "polar"]
DTYPES = [np.float64, np.complex128]


def stack(dtype, rule, B=60, n=3, seed=0):
    kind = "hermitian" if rule == "eigh" else "general"
    return lt.random_matrix((B, n, n), dtype, kind=kind, seed=seed)


def cotangents(rule, res, seed):
    """Seeded gauge-invariant cotangents (linalgad.testing's standard losses)."""
    return lt.invariant_loss(rule, res, seed=seed)[1](res)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_vjp_and_jvp_match_in_memory(rule, dtype):
    A = stack(dtype, rule)
    res, pb = getattr(la, rule + "_vjp")(A)
    cts = list(cotangents(rule, res, seed=1))
    Ad = da.from_array(A, chunks=(25, 3, 3))
    lres, lpb = getattr(lad, rule + "_vjp")(Ad)
    assert type(lres) is type(res)
    # a cotangent chunked unlike A is rechunked to A's batch chunks
    lct = [None if c is None else da.from_array(c, chunks=(7,) + c.shape[1:]) for c in cts]
    dA = lpb(*lct)
    assert isinstance(dA, da.Array) and dA.chunks[0] == Ad.chunks[0]
    with dask.config.set(scheduler="threads"):
        got = dask.compute(*lres, dA)
    for x, y in zip(got, tuple(res) + (pb(*cts),)):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    E = lt.direction(A, seed=2, structure="hermitian" if rule == "eigh" else None)
    r2, t2 = getattr(la, rule + "_jvp")(A, E)
    lr, lt2 = getattr(lad, rule + "_jvp")(Ad, da.from_array(E, chunks=(30, 3, 3)))
    for x, y in zip(dask.compute(*lr, *lt2, scheduler="threads"), tuple(r2) + tuple(t2)):
        np.testing.assert_array_equal(x, y)


def test_options_none_cotangents_and_matrix_axes():
    A = lt.random_matrix((2, 10, 5, 4), np.float64, seed=3)
    Ad = da.from_array(A, chunks=(1, 4, 2, 4))  # matrix axes chunked: rechunked whole
    res, pb = lad.svd_vjp(Ad, k=2)
    assert res.U.shape == (2, 10, 5, 2) and res.U.chunks[-2:] == ((5,), (2,))
    ref, rpb = la.svd_vjp(A, k=2)
    dS = np.ones((2, 10, 2))
    np.testing.assert_array_equal(pb(None, dS).compute(), rpb(None, dS))
    np.testing.assert_array_equal(pb().compute(), np.zeros_like(A))
    np.testing.assert_array_equal(pb(dS=dS).compute(), rpb(dS=dS))   # the in-memory names
    w, V = lad.eigh_vjp(da.from_array(stack(np.float64, "eigh"), chunks=20), UPLO=None)[0]
    assert w.dtype == np.float64 and V.shape == (60, 3, 3)


def test_errors():
    with pytest.raises(TypeError, match="dask.array"):
        lad.svd_vjp(np.eye(3))
    Ad = da.from_array(stack(np.float64, "svd"), chunks=20)
    _, pb = lad.svd_vjp(Ad)
    with pytest.raises(ValueError, match="cotangent #1 has shape"):
        pb(None, da.ones((60, 2)))
    with pytest.raises(TypeError, match="at most 3"):
        pb(None, None, None, None)
    with pytest.raises(TypeError, match=r"unknown cotangent \['dw'\]"):
        pb(dw=None)
    with pytest.raises(TypeError, match="by position and by name"):
        pb(None, dU=None)
    # a degenerate matrix inside a chunk: raised at compute, by the in-memory rule
    A = lt.random_matrix((40, 3, 3), np.float64, kind="hermitian", seed=4)
    A[27] = np.diag([1.0, 2.0, 2.0])
    _, pb = lad.eigh_vjp(da.from_array(A, chunks=10))
    with pytest.raises(la.DegeneracyError, match=r"of matrix \(7,\)"):
        pb(None, da.ones((40, 3, 3))).compute(scheduler="threads")


def test_local_cluster():
    distributed = pytest.importorskip("distributed") if not os.environ.get("CI") else \
        __import__("distributed")
    A = lt.random_matrix((400, 3, 3), np.complex128, seed=5)
    res, rpb = la.polar_vjp(A)
    dQ = lt.random_matrix((400, 3, 3), np.complex128, seed=6)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        lres, pb = lad.polar_vjp(da.from_array(A, chunks=100))
        dA = pb(da.from_array(dQ, chunks=100))
        Q, got = client.compute([lres.Q, dA], sync=True)
    np.testing.assert_array_equal(Q, res.Q)
    np.testing.assert_array_equal(got, rpb(dQ))


def test_importing_linalgad_does_not_import_dask():
    code = ("import sys, linalgad; assert 'dask' not in sys.modules; "
            "linalgad.dask; assert 'dask' in sys.modules")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
