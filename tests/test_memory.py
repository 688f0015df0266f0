"""Memory safety of the compiled core: every output element is written on
every path, workspace sizes never wrap, empty input costs nothing, and any
cotangent layout is accepted."""

import os
import subprocess
import sys

import numpy as np
import pytest

import linalgad as la
from linalgad import _core

MODES = la.MODES


# --- every output element written on every path ---------------------------------------
#
# The rules allocate the core's outputs with np.empty. Each case runs twice,
# with np.empty returning buffers pre-filled with two different byte
# patterns (NaN, then 0x5A...); an element the core leaves unwritten shows
# up as a difference (or a NaN) between the two runs.

_SENTINELS = (0xFF, 0x5A)


def _poisoned(byte):
    real_empty = np.empty

    def empty(shape, dtype=float, order="C", **kw):
        a = real_empty(shape, dtype, order, **kw)
        if a.size:
            a.ravel(order="K").view(np.uint8)[...] = byte
        return a

    return real_empty, empty


def _flat(res):
    if isinstance(res, BaseException):
        return [type(res).__name__]
    if isinstance(res, tuple):
        return [x for r in res for x in _flat(r)]
    return [np.asarray(res)]


def _call(fn, *args):
    try:
        return fn(*args)
    except (la.DegeneracyError, la.GaugeError, ValueError) as exc:
        return exc


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(x, str):
            assert x == y
        else:
            np.testing.assert_array_equal(x, y)   # NaN where both have NaN: exact mode at a tie


def _run_poisoned(monkeypatch, fn, *stacks):
    """fn(*stacks) under both sentinels; with stacks of 3x3 matrices also
    matrix by matrix, each in a full lane block of its copies: a lane
    kernel's temporaries left unwritten differ between batch positions."""
    outs = []
    for byte in _SENTINELS:
        real_empty, empty = _poisoned(byte)
        monkeypatch.setattr(np, "empty", empty)
        try:
            outs.append(_flat(_call(fn, *stacks)))
        finally:
            monkeypatch.setattr(np, "empty", real_empty)
    _same(*outs)
    whole = outs[0]
    if not stacks or stacks[0].shape[-2:] != (3, 3) or isinstance(whole[0], str):
        return
    for b in range(stacks[0].shape[0]):
        one = _flat(_call(fn, *(np.repeat(x[b:b + 1], 8, axis=0) for x in stacks)))
        assert not isinstance(one[0], str), f"matrix {b} alone: {one[0]}"
        for x, y in zip(whole, one):
            scale = np.abs(y[0][np.isfinite(y[0])]).max(initial=0.0)
            np.testing.assert_allclose(x[b], y[0], rtol=1e-9, atol=1e-12 * (1 + scale))


def _rng(seed=0):
    return np.random.default_rng(seed)


def _stacks(square):
    """(name, stack) pairs: generic and degenerate 3x3 stacks whose batch
    sizes give full lane blocks, a short one and both; larger and
    rectangular ones for the general kernels."""
    rng = _rng()
    eye = np.eye(3)
    rep = np.diag([2.0, 1.0, 1.0])
    rankdef = np.diag([1.0, 0.0, 0.0])
    out = []
    for B in (4, 8, 11):
        out.append((f"identity x{B}", np.tile(eye, (B, 1, 1))))
        out.append((f"random x{B}", rng.standard_normal((B, 3, 3))))
        mixed = rng.standard_normal((B, 3, 3))
        mixed[B // 2] = rep
        out.append((f"one repeated x{B}", mixed))
    out.append(("rank deficient x5", np.tile(rankdef, (5, 1, 1))))
    out.append(("random 6x6 x2", rng.standard_normal((2, 6, 6))))
    out.append(("identity 6x6 x2", np.tile(np.eye(6), (2, 1, 1))))
    if not square:
        out.append(("random 3x5 x2", rng.standard_normal((2, 3, 5))))
        out.append(("random 5x3 x2", rng.standard_normal((2, 5, 3))))
        # float32: 69 items before the first double block (misaligned before 64-byte carving)
        out.append(("random 6x3 x2", rng.standard_normal((2, 6, 3))))
        out.append(("random 3x6 x2", rng.standard_normal((2, 3, 6))))
    return out


def _sym(A):
    return A + np.swapaxes(A, -1, -2)


def _cotangents(shapes, dtype, rng):
    """Cotangent sets for factors of the given shapes: values only, vectors
    zero (what framework integrations pass for unused outputs), all random."""
    def rand(shape, dt):
        x = rng.standard_normal(shape)
        if np.dtype(dt).kind == "c":
            x = x + 1j * rng.standard_normal(shape)
        return x.astype(dt)
    values, vectors = shapes
    sets = []
    for kind in ("values", "zero vectors", "random"):
        cot = {}
        for name, (shape, dt) in values.items():
            cot[name] = np.ones(shape, dt)
        for name, (shape, dt) in vectors.items():
            if kind == "zero vectors":
                cot[name] = np.zeros(shape, dt)
            elif kind == "random":
                cot[name] = rand(shape, dt)
        sets.append(cot)
    return sets


def _pull(vjp, **kw):
    """fn(A, *cotangents) for _run_poisoned: the pullback of vjp(A, **kw)
    at the cotangents named by the keys of the dict it is given."""
    def at(names):
        return lambda A, *c: vjp(A, **kw)[1](**dict(zip(names, c)))
    return at


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("mode", MODES)
def test_svd_outputs_written(monkeypatch, dtype, mode):
    rng = _rng(1)
    pull = _pull(la.svd_vjp, degeneracy=mode)
    for name, A in _stacks(square=False):
        A = A.astype(dtype)
        res, _ = la.svd_vjp(A)
        shapes = ({"dS": (res.S.shape, res.S.dtype)},
                  {"dU": (res.U.shape, dtype), "dVh": (res.Vh.shape, dtype)})
        for cot in _cotangents(shapes, dtype, rng):
            _run_poisoned(monkeypatch, pull(list(cot)), A, *cot.values())
        dA = rng.standard_normal(A.shape).astype(dtype)
        _run_poisoned(monkeypatch, lambda A, dA: la.svd_jvp(A, dA, degeneracy=mode), A, dA)
        _run_poisoned(monkeypatch, lambda A, dA: la.svd_jvp(A, dA, k=1, degeneracy=mode), A, dA)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("mode", MODES)
def test_eigh_outputs_written(monkeypatch, dtype, mode):
    rng = _rng(2)
    for name, A in _stacks(square=True):
        A = _sym(A).astype(dtype)
        res, _ = la.eigh_vjp(A)
        shapes = ({"dw": (res.eigenvalues.shape, res.eigenvalues.dtype)}, {"dV": (res.eigenvectors.shape, dtype)})
        for uplo in ("L", "U", None):
            pull = _pull(la.eigh_vjp, UPLO=uplo, degeneracy=mode)
            for cot in _cotangents(shapes, dtype, rng):
                _run_poisoned(monkeypatch, pull(list(cot)), A, *cot.values())
            dA = rng.standard_normal(A.shape).astype(dtype)
            _run_poisoned(monkeypatch, lambda A, dA: la.eigh_jvp(A, dA, UPLO=uplo, degeneracy=mode),
                          A, dA)


def _eig_stacks(dtype):
    """Real input with real eigenvalues (symmetric: degenerate ones too),
    with complex ones (the real-input kernels; 3x3 float64 is the lane
    kernel), ill-conditioned eigenvectors (the lane kernel hands those
    over). Each stack is all real or all complex pairs, so that its
    matrices taken one by one take cotangents of the same dtype."""
    rng = _rng(3)
    out = [(name, _sym(A)) for name, A in _stacks(square=True)]
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.5]])
    X = rng.standard_normal((3, 3))
    X[:, 1] = X[:, 0] + 1e-7 * X[:, 1]
    illcond = X @ rot @ np.linalg.inv(X)
    for B in (4, 8, 11):
        Q = np.linalg.qr(rng.standard_normal((B, 3, 3)))[0]
        out.append((f"complex pairs x{B}", Q @ rot @ np.swapaxes(Q, -1, -2)))
        if dtype == np.float64:    # in float32 its pair may round to two real eigenvalues
            mixed = Q @ rot @ np.swapaxes(Q, -1, -2)
            mixed[B // 2] = illcond
            out.append((f"one ill-conditioned x{B}", mixed))
    Q = np.linalg.qr(rng.standard_normal((2, 5, 5)))[0]
    rot5 = np.zeros((5, 5))
    rot5[:2, :2] = rot[:2, :2]
    rot5[2:4, 2:4] = [[1.0, -2.0], [2.0, 1.0]]
    rot5[4, 4] = 3.0
    out.append(("complex pairs 5x5 x2", Q @ rot5 @ np.swapaxes(Q, -1, -2)))
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("mode", ["strict", "exact", "subspace", "lorentz"])
def test_eig_outputs_written(monkeypatch, dtype, mode):
    rng = _rng(4)
    for name, A in _eig_stacks(dtype):
        A = A.astype(dtype)
        res, _ = la.eig_vjp(A)
        shapes = ({"dw": (res.eigenvalues.shape, res.eigenvalues.dtype)}, {"dV": (res.eigenvectors.shape, res.eigenvectors.dtype)})
        for norm in ("lapack", "norm"):
            pull = _pull(la.eig_vjp, normalization=norm, degeneracy=mode)
            for cot in _cotangents(shapes, dtype, rng):
                _run_poisoned(monkeypatch, pull(list(cot)), A, *cot.values())
            dA = rng.standard_normal(A.shape).astype(dtype)
            _run_poisoned(monkeypatch, lambda A, dA: la.eig_jvp(
                A, dA, normalization=norm, degeneracy=mode), A, dA)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("mode", MODES)
def test_polar_and_svfunm_outputs_written(monkeypatch, dtype, mode):
    rng = _rng(5)
    pull = _pull(la.polar_vjp, degeneracy=mode)
    for name, A in _stacks(square=False):
        A = A.astype(dtype)
        res, _ = la.polar_vjp(A)
        shapes = ({}, {"dQ": (res[0].shape, dtype), "dP": (res[1].shape, dtype)})
        for cot in _cotangents(shapes, dtype, rng):
            _run_poisoned(monkeypatch, pull(list(cot)), A, *cot.values())
            if "dQ" in cot:
                _run_poisoned(monkeypatch, pull(["dQ"]), A, cot["dQ"])
        dA = rng.standard_normal(A.shape).astype(dtype)
        _run_poisoned(monkeypatch, lambda A, dA: la.polar_jvp(A, dA, degeneracy=mode), A, dA)
        for g in ("exp", 2, "sqrt"):
            G = rng.standard_normal(A.shape).astype(dtype)
            _run_poisoned(monkeypatch, lambda A, G: la.svfunm_vjp(A, g, degeneracy=mode)[1](G), A, G)
            _run_poisoned(monkeypatch, lambda A, dA: la.svfunm_jvp(A, dA, g, degeneracy=mode), A, dA)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_funm_outputs_written(monkeypatch, dtype):
    rng = _rng(6)
    for name, A in _stacks(square=True):
        A = _sym(A).astype(dtype)
        for uplo in ("L", "U", None):
            G = rng.standard_normal(A.shape).astype(dtype)
            _run_poisoned(monkeypatch, lambda A, G: la.funm_vjp(A, "exp", UPLO=uplo)[1](G), A, G)
            _run_poisoned(monkeypatch, lambda A, G: la.funm_jvp(A, G, "exp", UPLO=uplo), A, G)


def test_degenerate_stack_with_zero_vector_cotangents():
    # what every framework integration passes for unused outputs
    B = np.tile(np.eye(3), (4, 1, 1))
    z = np.zeros((4, 3, 3))
    np.testing.assert_array_equal(la.svd_vjp(B)[1](dS=np.ones((4, 3)), dU=z, dVh=z), B)
    np.testing.assert_array_equal(la.eigh_vjp(B)[1](dw=np.ones((4, 3)), dV=z), B)


# --- empty input: empty output, no work --------------------------------------------------

def _empty_calls(A):
    """(kind, call) for every rule's vjp and jvp on A (square-only rules
    when A is square)."""
    calls = [
        ("vjp", lambda: la.svd_vjp(A)[1](dS=np.zeros(la.svd(A, full_matrices=False).S.shape))),
        ("vjp", lambda: la.svd_vjp(A)[1](dU=la.svd(A, full_matrices=False).U, dVh=la.svd(A, full_matrices=False).Vh)),
        ("jvp", lambda: la.svd_jvp(A, A)),
        ("vjp", lambda: la.svfunm_vjp(A, "exp")[1](A)),
        ("jvp", lambda: la.svfunm_jvp(A, A, "exp")),
    ]
    if A.shape[-1] == 0 or A.size == 0 and 0 in A.shape[:-2]:
        # P = Q^H A is n x n: a zero matrix, not an empty one, when only m is 0
        calls += [
            ("vjp", lambda: la.polar_vjp(A)[1](dQ=A)),
            ("jvp", lambda: la.polar_jvp(A, A)),
        ]
    if A.shape[-1] == A.shape[-2]:
        calls += [
            ("vjp", lambda: la.eigh_vjp(A)[1](dw=np.zeros(A.shape[:-1]), dV=A)),
            ("jvp", lambda: la.eigh_jvp(A, A)),
            ("vjp", lambda: la.eig_vjp(A)[1](dw=np.zeros(A.shape[:-1]), dV=A)),
            ("jvp", lambda: la.eig_jvp(A, A)),
            ("vjp", lambda: la.funm_vjp(A, "exp", UPLO="L")[1](A)),
            ("jvp", lambda: la.funm_jvp(A, A, "exp", UPLO="L")),
        ]
    return calls


def _shapes(res):
    if isinstance(res, tuple):
        return [s for r in res for s in _shapes(r)]
    return [np.shape(res)]


@pytest.mark.parametrize("shape", [(4000, 0), (0, 4000), (3, 0, 4000), (0, 0), (0, 3, 3),
                                   (5, 0, 0), (2, 0, 3), (0, 2, 5)])
def test_empty_input_costs_nothing(shape):
    import tracemalloc
    A = np.zeros(shape)
    for kind, call in _empty_calls(A):
        call()     # lazy imports are not the call's memory
        tracemalloc.start()
        try:
            res = call()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 1 << 20, f"{peak} bytes for an empty input of shape {shape}"
        if kind == "vjp":
            assert res.shape == shape
        else:
            primal, tangent = res
            assert _shapes(primal) == _shapes(tangent)


# --- any layout of an input or cotangent ---------------------------------------------------

def _unaligned(x):
    buf = np.empty(x.nbytes + 1, np.uint8)[1:]
    y = buf.view(x.dtype).reshape(x.shape)
    y[...] = x
    assert not y.flags.aligned
    return y


def _layouts(x):
    """x in layouts other than the core's own (C-contiguous, aligned, native)."""
    swapped = x.astype(x.dtype.newbyteorder(">" if x.dtype.byteorder != ">" else "<"))
    strided = np.empty(x.shape[:-1] + (2 * x.shape[-1],), x.dtype)[..., ::2]
    strided[...] = x
    reversed_ = x[..., ::-1, ::-1].copy()[..., ::-1, ::-1]
    return {"unaligned": _unaligned(x), "byte-swapped": swapped, "strided": strided,
            "reversed": reversed_, "fortran": np.asfortranarray(x)}


def _layout_cases(rng):
    A = rng.standard_normal((2, 4, 4))
    S = A + np.swapaxes(A, -1, -2)
    G = rng.standard_normal((2, 4, 4))
    g = rng.standard_normal((2, 4))
    return [
        ("svd_vjp", lambda A, dU, dS: la.svd_vjp(A)[1](dU=dU, dS=dS), (A, G, g)),
        ("svd_jvp", lambda A, dA: la.svd_jvp(A, dA), (A, G)),
        ("polar_vjp", lambda A, dQ, dP: la.polar_vjp(A)[1](dQ=dQ, dP=dP), (A, G, G)),
        ("polar_jvp", lambda A, dA: la.polar_jvp(A, dA), (A, G)),
        ("svfunm_vjp", lambda A, dG: la.svfunm_vjp(A, "exp")[1](dG), (A, G)),
        ("eigh_vjp", lambda A, dw, dV: la.eigh_vjp(A)[1](dw=dw, dV=dV), (S, g, G)),
        ("eigh_jvp", lambda A, dA: la.eigh_jvp(A, dA), (S, G)),
        ("eig_vjp", lambda A, dV: la.eig_vjp(A)[1](dV=dV), (S, G)),
        ("eig_jvp", lambda A, dA: la.eig_jvp(A, dA), (A, G)),
        ("funm_vjp", lambda A, dF: la.funm_vjp(A, "exp", UPLO="L")[1](dF), (S, G)),
        ("funm_jvp", lambda A, dA: la.funm_jvp(A, dA, "exp", UPLO="L"), (S, G)),
    ]


@pytest.mark.parametrize("layout", ["unaligned", "byte-swapped", "strided", "reversed", "fortran"])
def test_any_layout_accepted(layout):
    for name, fn, args in _layout_cases(_rng(7)):
        want = _flat(fn(*args))
        for i in range(len(args)):
            moved = list(args)
            moved[i] = _layouts(args[i])[layout]
            got = _flat(fn(*moved))
            for x, y in zip(got, want):
                np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12, err_msg=f"{name} arg {i}")


# --- workspace sizes: size_t, one layout per kernel, no wrap ----------------------------------

# n x n blocks of items each kernel's workspace holds (square matrices); the
# rest is O(n). eig_vjp_real adds the complex dV' (two real items) and the
# complex128 Z (16 bytes), in one region when they are the same size
# (float64), and a panel of Vr^T dV' (512 real columns); polar, two panels of
# 256 columns (herm(dP) and Vh times it).
_BLOCKS = {"svd_vjp": 1, "svd_jvp": 4, "svfun": 1, "polar": 1, "eigh_vjp": 1, "eigh_jvp": 1,
           "eig_vjp": 3, "eig_jvp": 3, "eig_vjp_real": 1}


@pytest.mark.parametrize("kernel", sorted(_BLOCKS))
@pytest.mark.parametrize("itemsize", [4, 8, 16])
def test_workspace_sizes_past_2_to_the_31_do_not_wrap(kernel, itemsize):
    if kernel == "eig_vjp_real" and itemsize == 16:
        pytest.skip("eig_vjp_real takes the real item size")
    extra = (16 if 2 * itemsize == 16 else 2 * itemsize + 16) if kernel == "eig_vjp_real" else 0
    panel = {"eig_vjp_real": 512, "polar": 2 * 256}.get(kernel, 0) * itemsize
    for n in (3, 1000, 11586, 50000, 3_000_000):       # 50000**2 > 2**31 entries
        total = _core.workspace(kernel, n, n, itemsize)["total"]
        nominal = n * n * (_BLOCKS[kernel] * itemsize + extra)
        assert nominal <= total <= nominal + (2048 + panel) * n + 4096, (n, total, nominal)


# The pullbacks' workspace of one 2000 x 2000 matrix, in output sizes
# (n^2 items): with the output itself, what a call adds at most.
_PULLBACK_WS = [("svd_vjp", 8, 1.01), ("svd_vjp", 16, 1.01), ("polar", 8, 1.3),
                ("polar", 16, 1.3), ("eig_vjp_real", 8, 3.3), ("eig_vjp", 16, 3.01)]


@pytest.mark.parametrize("kernel, itemsize, limit", _PULLBACK_WS)
def test_pullback_workspace_is_a_few_outputs(kernel, itemsize, limit):
    n = 2000
    total = _core.workspace(kernel, n, n, itemsize)["total"]
    assert total <= limit * n * n * itemsize, total / (n * n * itemsize)


_PEAK = r"""
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from benchmarks.common import extra_peak_bytes, set_threads
from benchmarks.cases import Case
set_threads(1)
c = Case(sys.argv[2], "float64", int(sys.argv[3]))
c.pull()
print(min(extra_peak_bytes(c.pull) for _ in range(3)) / c.out_bytes)
"""


@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK),
                    reason="peak resident memory is read from Linux /proc")
@pytest.mark.parametrize("rule, limit", [("svd", 3.0), ("polar", 3.0), ("eig", 5.0)])
def test_a_pullback_adds_a_few_outputs_of_resident_memory(rule, limit):
    """Peak resident memory one 1000 x 1000 pullback adds (its result
    included), in a fresh process, one thread: the measure of the asv
    benchmark targets.Memory. Expected about 2 (svd), 2.5 (polar), 4.5 (eig)."""
    bench = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "asv_bench")
    r = subprocess.run([sys.executable, "-c", _PEAK, bench, rule, "1000"], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert float(r.stdout) <= limit, r.stdout


@pytest.mark.parametrize("shape", [(300, 300), (400, 300), (300, 400)])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_polar_pullback_past_one_panel_agrees_with_the_reference(shape, dtype):
    """n = 300 and 400: herm(dP) is taken a column panel (256) at a time."""
    from linalgad import _reference as ref
    g = np.random.default_rng(31)

    def draw(*s):
        x = g.standard_normal(s)
        return (x + 1j * g.standard_normal(s) if np.dtype(dtype).kind == "c" else x).astype(dtype)

    A, dQ, dP = draw(*shape), draw(*shape), draw(shape[1], shape[1])
    res, pullback = la.polar_vjp(A)
    want = ref.polar_vjp(A, dQ, dP)
    np.testing.assert_allclose(pullback(dQ, dP), want, atol=1e-10 * np.abs(want).max())


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-3)])
def test_eig_pullback_of_real_input_past_one_panel_agrees_with_the_reference(dtype, tol):
    """n = 300: Vr^T dV' (n x 2n) is formed over dV' a column panel at a time."""
    from linalgad import _reference as ref
    n = 300
    g = np.random.default_rng(30)
    X = np.eye(n) + g.standard_normal((n, n)) / (2 * np.sqrt(n))
    a = np.linspace(3.0, 1.0, n // 2)
    D = np.zeros((n, n))
    for j in range(n // 2):
        D[2 * j, 2 * j] = D[2 * j + 1, 2 * j + 1] = a[j]
        D[2 * j, 2 * j + 1], D[2 * j + 1, 2 * j] = 0.5 * a[j], -0.5 * a[j]
    A = np.linalg.solve(X.T, (X @ D).T).T.astype(dtype)
    res, pullback = la.eig_vjp(A)
    gw = g.standard_normal(n) + 1j * g.standard_normal(n)
    gV = (g.standard_normal((n, n)) + 1j * g.standard_normal((n, n))).astype(res.eigenvectors.dtype)
    got = pullback(gw.astype(res.eigenvalues.dtype), gV)
    assert got.dtype == dtype
    w64, V64 = res.eigenvalues.astype(np.complex128), res.eigenvectors.astype(np.complex128)
    want = ref.eig_vjp(w64, V64, gw, gV.astype(np.complex128)).real
    np.testing.assert_allclose(got, want, atol=tol * np.abs(want).max())


@pytest.mark.parametrize("kernel", sorted(_BLOCKS))
def test_workspace_sizes_that_overflow_raise_memory_error(kernel):
    for n in (2**31, 2**40, 2**62):
        with pytest.raises(MemoryError, match=kernel):
            _core.workspace(kernel, n, n, 8)


@pytest.mark.parametrize("kernel", sorted(_BLOCKS))
@pytest.mark.parametrize("itemsize", [4, 8])
@pytest.mark.parametrize("shape", [(3, 3), (5, 5), (7, 4), (4, 7), (65, 65), (130, 3)])
def test_workspace_sub_buffers_are_64_byte_aligned(kernel, itemsize, shape):
    m, n = shape
    layout = _core.workspace(kernel, m, n, itemsize)
    offsets = sorted(layout.values())
    assert all(x % 64 == 0 for x in offsets), layout
    assert offsets[-1] == layout["total"]


def test_eig_real_workspace_of_the_int_overflow():
    # 16 * n * n in C int wrapped from n = 11586: the buffer was 4 GiB short
    total = _core.workspace("eig_vjp_real", 11586, 11586, 8)["total"]
    assert total > 16 * 11586**2 > 2**31
