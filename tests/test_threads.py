"""The batch loop's thread count: the ecosystem's conventions (OMP_NUM_THREADS,
threadpoolctl, CPU affinity, cgroup quota), set_num_threads, clear errors
for bad settings, and forked children that work."""

import os
import subprocess
import sys

import numpy as np
import pytest

import linalgad as la
from linalgad import _core, _options

BIG = (20000, 3, 3)     # a batch the loop runs in parallel


def _team(A=None):
    """The team size the core used for one parallel-sized pullback (the
    busy-machine guard reset first: an earlier batch on a loaded test
    machine may have turned it on)."""
    A = np.random.default_rng(0).standard_normal(BIG) if A is None else A
    _core.batch_guard(reset=True)
    la.svd_vjp(A)[1](dS=np.ones(A.shape[:-1]))
    return _core.last_team()


@pytest.fixture
def defaults():
    old = la.set_num_threads(None)
    yield
    la.set_num_threads(old)


def _threadpoolctl():
    # a test dependency: in CI its absence fails the test instead of skipping it
    if os.environ.get("CI"):
        import threadpoolctl
        return threadpoolctl
    return pytest.importorskip("threadpoolctl")


def _need_two_cpus():
    if _options._usable_cpus() < 2 or _core.omp_max_threads() < 2:
        pytest.skip("needs two usable CPUs")


def test_threadpool_limits_alone_makes_a_call_serial(defaults):
    threadpoolctl = _threadpoolctl()
    _need_two_cpus()
    assert _team() == 2
    with threadpoolctl.threadpool_limits(1):
        assert la.get_num_threads() == 1
        assert _team() == 1
    assert _team() == 2


def test_set_num_threads_overrides_the_conventions(defaults):
    threadpoolctl = _threadpoolctl()
    _need_two_cpus()
    with threadpoolctl.threadpool_limits(1):
        la.set_num_threads(2)
        assert _team() == 2
        la.set_num_threads(None)
        assert _team() == 1


def _run(code, **env):
    full = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "LINALGAD_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        full.pop(k, None)
    full.update(env)
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True,
                          timeout=120, cwd=os.path.dirname(os.path.dirname(__file__)))


_PROBE = ("import numpy as np, linalgad as la\n"
          "from linalgad import _core\n"
          "A = np.random.default_rng(0).standard_normal((20000, 3, 3))\n"
          "la.svd_vjp(A)[1](dS=np.ones((20000, 3)))\n"
          "print(la.get_num_threads(), _core.last_team())\n")


def test_omp_num_threads_is_followed():
    _need_two_cpus()
    r = _run(_PROBE, OMP_NUM_THREADS="1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "1"]
    r = _run(_PROBE)
    assert r.stdout.split() == ["2", "2"]


def test_cpu_affinity_is_followed():
    _need_two_cpus()
    cpu = sorted(os.sched_getaffinity(0))[0]
    r = _run(f"import os; os.sched_setaffinity(0, {{{cpu}}})\n" + _PROBE)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "1"]


@pytest.mark.parametrize("files,want", [
    ({"cpu.max": "150000 100000\n"}, 2),
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu.max": "50000 100000\n"}, 1),
    ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({}, None),
])
def test_cgroup_cpu_quota(tmp_path, files, want):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert _options._cgroup_cpus(str(tmp_path)) == want


@pytest.mark.parametrize("bad", [0, -1, 10**6, 2**40, 1.5, "2", True, _options.MAX_THREADS + 1])
def test_set_num_threads_refuses_bad_counts(bad, defaults):
    with pytest.raises(ValueError, match=r"set_num_threads.*\[1, \d+\]"):
        la.set_num_threads(bad)


def test_set_num_threads_returns_the_previous_setting(defaults):
    assert la.set_num_threads(3) is None
    assert la.get_num_threads() == 3
    assert la.set_num_threads(None) == 3


@pytest.mark.parametrize("bad", ["abc", "0", "-3", "2.5", "99999999999999999999", str(10**6)])
def test_bad_env_thread_count_warns_and_imports(bad):
    r = _run("import linalgad as la\nprint(la.get_num_threads())", LINALGAD_NUM_THREADS=bad)
    assert r.returncode == 0, r.stderr
    assert "LINALGAD_NUM_THREADS" in r.stderr and repr(bad) in r.stderr
    assert "RuntimeWarning" in r.stderr
    assert int(r.stdout) >= 1


def test_env_thread_count_is_an_override():
    r = _run(_PROBE, LINALGAD_NUM_THREADS="1")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.split() == ["1", "1"]


# --- fork ------------------------------------------------------------------------------

# A fresh interpreter: only linalgad's OpenMP pool is alive at the fork (other
# tests import JAX and PyTorch, whose own threads make any fork unsafe).
_FORK = """
import multiprocessing, sys
import numpy as np, linalgad as la
from linalgad import _core

def call(seed):
    A = np.random.default_rng(seed).standard_normal((20000, 3, 3))
    dA = la.svd_vjp(A)[1](dS=np.ones((20000, 3)))
    return float(np.abs(dA).sum()), _core.last_team()

def sets_threads(seed):
    la.set_num_threads(1)
    return call(seed)

parent = call(0)[1]                     # the parent's OpenMP pool is up
want = [call(s)[0] for s in range(3)]
pool = multiprocessing.get_context("fork").Pool(2)
try:
    got = pool.map_async({work}, range(3)).get(timeout=60)
except multiprocessing.TimeoutError:
    print("forked workers hung on their first linalgad call")
    sys.exit(3)
finally:
    pool.terminate()
    pool.join()
print(parent, [g[0] for g in got] == want, *[g[1] for g in got], call(0)[1])
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
@pytest.mark.parametrize("work", ["call", "sets_threads"])
def test_forked_pool_after_a_threaded_call(work):
    _need_two_cpus()
    r = _run(_FORK.format(work=work))
    assert r.returncode == 0, r.stdout + r.stderr
    # parent team 2; the children agree with the parent and run serially; the
    # parent is unaffected afterwards
    assert r.stdout.split() == ["2", "True", "1", "1", "1", "2"], r.stdout + r.stderr


# --- what the batch loop does to the rest of the process -----------------------------

def _blas_threads():
    """The thread count of the BLAS the core calls (SciPy's), via threadpoolctl."""
    threadpoolctl = _threadpoolctl()
    import scipy.linalg.cython_blas  # noqa: F401
    import scipy
    wheel = os.path.join(os.path.dirname(os.path.dirname(scipy.__file__)), "scipy.libs")
    pools = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    ours = [p for p in pools if os.path.dirname(p["filepath"]) == wheel] or pools
    return ours[0]["num_threads"], ours[0]["filepath"]


def _hooked():
    if _options._blas_thread_functions() == (0, 0):
        pytest.skip("SciPy's BLAS is not a pthreads OpenBLAS")


@pytest.mark.parametrize("shape", [BIG, (64, 64, 64)])
def test_blas_runs_on_one_thread_inside_a_parallel_batch_and_is_restored(defaults, shape):
    threadpoolctl = _threadpoolctl()
    _need_two_cpus()
    _hooked()
    before, lib = _blas_threads()
    try:
        with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
            with threadpoolctl.threadpool_limits(limits=2, user_api="openmp"):
                assert _blas_threads()[0] == 2
                assert _team(np.random.default_rng(1).standard_normal(shape)) == 2
                assert _core.blas_threads_in_last_batch() == 1
                assert _blas_threads()[0] == 2     # the caller's setting is back
    finally:
        assert _blas_threads()[0] == before, lib


def test_blas_threads_restored_after_a_failing_batch(defaults):
    threadpoolctl = _threadpoolctl()
    _need_two_cpus()
    _hooked()
    A = np.tile(np.eye(3), (20000, 1, 1))            # every singular value repeated
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        with pytest.raises(la.DegeneracyError):
            la.svd_vjp(A)[1](dU=np.ones_like(A))
        assert _core.last_team() == 2
        assert _blas_threads()[0] == 2


def test_blas_threads_restored_after_concurrent_batches(defaults):
    """Batches run at once from several Python threads: the last one out
    restores the caller's BLAS setting (not the 1 another batch set)."""
    import threading
    threadpoolctl = _threadpoolctl()
    _need_two_cpus()
    _hooked()
    A = np.random.default_rng(2).standard_normal((20000, 3, 3))
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        def work():
            for _ in range(20):
                la.svd_vjp(A)[1](dS=np.ones(A.shape[:-1]))
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert _blas_threads()[0] == 2


def test_blas_hooks_refuse_half_a_pair():
    with pytest.raises(ValueError, match="both addresses or neither"):
        _core.set_blas_thread_functions(1, 0)


_WAIT = "import linalgad, os; print(os.environ.get('OMP_WAIT_POLICY'))"


def test_openmp_threads_wait_passively_and_the_environment_is_untouched():
    r = _run(_WAIT, OMP_DISPLAY_ENV="verbose")
    assert r.returncode == 0, r.stderr
    # GNU OpenMP shows PASSIVE for an unset policy too: the spin count tells
    assert "GOMP_SPINCOUNT = '0'" in r.stderr, r.stderr
    assert r.stdout.split() == ["None"]     # not left in os.environ


@pytest.mark.parametrize("var,value,shown", [("OMP_WAIT_POLICY", "active", "OMP_WAIT_POLICY = 'ACTIVE'"),
                                              ("GOMP_SPINCOUNT", "1000", "GOMP_SPINCOUNT = '1000'")])
def test_the_users_wait_policy_stays(var, value, shown):
    r = _run(_WAIT, OMP_DISPLAY_ENV="verbose", **{var: value})
    assert r.returncode == 0, r.stderr
    assert shown in r.stderr, r.stderr


@pytest.mark.parametrize("B,k,want", [
    (4855, 3, 2), (4854, 3, 1),         # the work threshold (B * k**3 >= 2**17)
    (8, 64, 2), (7, 64, 1),             # four matrices a thread
    (10**6, 65, 1),                     # large matrices leave the cores to BLAS
    (1, 3, 1), (0, 3, 1),
])
def test_team_size_for_a_batch(B, k, want):
    old = la.set_num_threads(2)
    try:
        assert _options.batch_threads(B, k) == want
    finally:
        la.set_num_threads(old)


def _lose(times=6):
    """Record lost parallel batches as run_batch does: after 6, the guard
    runs batches serially for 0.64 s (long enough for a slow test machine)."""
    for _ in range(times):
        state = _core.batch_guard(lost=True)
    return state


def test_the_guard_runs_batches_serially_after_a_lost_one(defaults):
    _need_two_cpus()
    pullback = la.svd_vjp(np.random.default_rng(0).standard_normal(BIG))[1]
    g = np.ones(BIG[:-1])
    assert _team() == 2
    on, left, backoff = _lose()
    assert on and 0.5 < left <= 0.64 + 1e-9 and backoff == 1.0
    pullback(dS=g)
    assert _core.last_team() == 1
    # an explicit thread count turns the guard off, the default on again
    la.set_num_threads(2)
    assert _core.batch_guard()[0] is False
    pullback(dS=g)
    assert _core.last_team() == 2
    la.set_num_threads(None)
    assert _core.batch_guard()[0] is True
    pullback(dS=g)
    assert _core.last_team() == 1
    _core.batch_guard(reset=True)
    pullback(dS=g)
    assert _core.last_team() == 2


def test_the_guard_backs_off_up_to_a_second_and_recovers(defaults):
    _core.batch_guard(reset=True)
    for _ in range(20):
        state = _core.batch_guard(lost=True)
    assert state[2] == 1.0 and state[1] <= 1.0
    for _ in range(20):
        state = _core.batch_guard(lost=False)
    assert state[2] == 0.02
    _core.batch_guard(reset=True)


@pytest.mark.parametrize("shape", [BIG, (64, 64, 64)])
def test_a_guarded_serial_batch_gives_the_parallel_answer(defaults, shape):
    A = np.random.default_rng(3).standard_normal(shape)
    res, pullback = la.svd_vjp(A)
    g = np.random.default_rng(4).standard_normal(res.S.shape)
    _core.batch_guard(reset=True)
    want = pullback(dS=g)
    _lose()
    got = pullback(dS=g)
    assert _core.last_team() == 1
    _core.batch_guard(reset=True)
    np.testing.assert_array_equal(got, want)


def test_wait_policy_left_alone_when_the_runtime_is_loaded_already():
    # the runtime read its environment when it was loaded: too late to set it
    r = _run("import ctypes, os\nctypes.CDLL('libgomp.so.1')\nfrom linalgad import _dispatch\n"
             "print(_dispatch._omp_runtime_loaded(), _dispatch.chosen['passive'], "
             "os.environ.get('OMP_WAIT_POLICY'))")
    if r.returncode != 0 and "libgomp.so.1" in r.stderr:
        pytest.skip("no libgomp.so.1 to load (not a GNU OpenMP build)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "False", "None"]
