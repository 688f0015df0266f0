"""Runtime CPU dispatch: every core variant this build has gives the baseline's
results, LINALGAD_CPU_TARGET forces one (and warns when it cannot), and
show_config names the one picked."""

import importlib.machinery
import json
import os
import platform
import shutil
import subprocess
import sys

import numpy as np
import pytest

import linalgad as la
from linalgad import _config, _dispatch

FEATURES = _dispatch.cpu_features()
BUILT = _dispatch.built()

# the rules with a tiny-matrix batch kernel, on 3x3 batches (61: seven blocks
# of eight lanes and a padded tail), and polar and funm; results go to an .npz
SCRIPT = r"""
import json, sys, warnings
import numpy as np
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import linalgad as la
import linalgad.testing as lt

rng = np.random.default_rng(0)
A = rng.standard_normal((61, 3, 3))
S = A + np.swapaxes(A, -1, -2)
out = {}
for name, rule, X, args in [("svd", la.svd_vjp, A, ()), ("eigh", la.eigh_vjp, S, ()),
                            ("eig", la.eig_vjp, A, ()), ("polar", la.polar_vjp, A[:5], ()),
                            ("funm", la.funm_vjp, S[:5], ("exp",))]:
    res, pullback = rule(X, *args, **({"UPLO": "L"} if name == "funm" else {}))
    _, dloss = lt.invariant_loss(name, res, seed=1)
    out[name] = pullback(*dloss(res))
    out[name + "_res"] = res[0]
np.savez(sys.argv[1], **out)
cfg = la.show_config(mode="dicts")
print(json.dumps({"target": cfg["core"]["target"], "module": la._core.__name__,
                  "warnings": [str(w.message) for w in caught]}))
la.show_config()
"""


def run(tmp_path, target):
    """Import linalgad in a fresh interpreter with LINALGAD_CPU_TARGET=target:
    (its results, its report, what show_config printed)."""
    env = dict(os.environ, LINALGAD_CPU_TARGET=target, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(la.__file__)),
                                           os.environ.get("PYTHONPATH", "")]))
    npz = tmp_path / f"{target or 'auto'}.npz"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(npz)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report, printed = done.stdout.split("\n", 1)
    return dict(np.load(npz)), json.loads(report), printed


def usable(target):
    """Skip a target this build or CPU does not have; a portable build in CI
    on x86-64 must have every variant the CPU runs."""
    if _dispatch.missing(target, FEATURES):
        pytest.skip(f"the CPU lacks {_dispatch.missing(target, FEATURES)}")
    if target not in BUILT:
        expected = (os.environ.get("CI") and _config._build()["mode"] == "portable"
                    and platform.machine().lower() in ("x86_64", "amd64"))
        (pytest.fail if expected else pytest.skip)(f"linalgad was built without {target}")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    return run(tmp_path_factory.mktemp("baseline"), "baseline")


@pytest.mark.parametrize("target", ["avx2", "avx512"])
def test_every_variant_gives_the_baselines_results(target, baseline, tmp_path):
    usable(target)
    got, report, printed = run(tmp_path, target)
    assert report == {"target": target, "module": f"linalgad._core_{target}", "warnings": []}
    assert f"target: {target}" in printed
    want = baseline[0]
    assert sorted(got) == sorted(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-12, err_msg=k)



# the vector registers wider than each target of a portable build
WIDER = {"baseline": ("%ymm", "%zmm"), "avx2": ("%zmm",), "avx512": ()}


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64")
                    or shutil.which("objdump") is None, reason="needs x86-64 and objdump")
@pytest.mark.parametrize("target", list(WIDER))
def test_each_core_file_holds_its_own_targets_code(target):
    """Each variant is its own compilation (the targets share one generated C
    file, so their builds must not share an object file): it defines its own
    init function and, in a portable build, names no register wider than its
    target has."""
    if target not in BUILT:
        pytest.skip(f"linalgad was built without {target}")
    name = _dispatch.module_name(target).rsplit(".", 1)[1]
    path = importlib.machinery.PathFinder.find_spec(name, la.__path__).origin  # not sys.modules
    symbols = subprocess.run(["objdump", "-T", path], capture_output=True, text=True, check=True)
    inits = sorted(w for w in symbols.stdout.split() if w.startswith("PyInit_"))
    assert inits == ["PyInit_" + name]
    if _config._build()["mode"] != "portable":
        return      # a native build's baseline uses the build machine's widest vectors
    code = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path],
                          capture_output=True, text=True, check=True).stdout
    for reg in WIDER[target]:
        assert reg not in code, f"{path} uses {reg} registers, beyond {target}"


def test_the_automatic_choice_is_the_best_the_cpu_runs(tmp_path):
    best = next(t for t in BUILT if not _dispatch.missing(t, FEATURES))
    _, report, printed = run(tmp_path, "")
    assert report["target"] == best and report["warnings"] == []
    assert "chosen_by: automatic" in printed
    assert la.show_config(mode="dicts")["core"]["built"] == BUILT


def test_an_unknown_target_warns_and_falls_back(tmp_path):
    _, report, _ = run(tmp_path, "avx9000")
    assert report["target"] in BUILT
    assert report["warnings"] == [f"linalgad: LINALGAD_CPU_TARGET='avx9000' is unknown (choose "
                                  f"from avx512, avx2, baseline); using {report['target']!r}"]


@pytest.mark.parametrize("target", ["avx2", "avx512"])
def test_a_target_the_cpu_lacks_warns_and_falls_back(target, monkeypatch):
    monkeypatch.setenv(_dispatch.ENV, target)
    monkeypatch.setattr(_dispatch, "built", lambda: list(_dispatch.TARGETS))
    old_numpy = {"SSE2": True, "AVX": True, "F16C": True, "FMA3": True}    # no AVX2, no levels
    with pytest.warns(UserWarning, match=f"'{target}' is not supported by this CPU "
                                         r"\(it lacks .*AVX2.*\); using 'baseline'"):
        assert _dispatch.choose(old_numpy)[0] == "baseline"
    with pytest.warns(UserWarning, match="not supported"):   # no detection at all
        assert _dispatch.choose({})[0] == "baseline"


def test_a_target_not_built_warns_and_falls_back(monkeypatch):
    monkeypatch.setenv(_dispatch.ENV, "avx512")
    monkeypatch.setattr(_dispatch, "built", lambda: ["avx2", "baseline"])
    with pytest.warns(UserWarning, match="'avx512' is not built in this installation; using 'avx2'"):
        target, reason = _dispatch.choose({"X86_V3": True, "X86_V4": True})
    assert target == "avx2" and reason.startswith("automatic")


def test_the_levels_by_numpys_feature_names():
    v4 = dict.fromkeys(_dispatch._V3 + _dispatch._V4, True)          # NumPy < 2.4
    assert [t for t in _dispatch.TARGETS if not _dispatch.missing(t, v4)] == list(_dispatch.TARGETS)
    assert _dispatch.missing("avx512", dict(v4, AVX512BW=False)) == ["AVX512BW"]
    levels = {"X86_V3": True, "X86_V4": False, "AVX512F": True}        # NumPy >= 2.4
    assert _dispatch.missing("avx2", levels) == [] and _dispatch.missing("avx512", levels) == ["X86_V4"]


def test_show_config():
    cfg = la.show_config(mode="dicts")
    assert set(cfg) == {"linalgad", "core", "cpu", "threads", "libraries"}
    assert cfg["linalgad"]["version"] == la.__version__
    assert cfg["core"]["target"] == _dispatch.chosen["target"] and la._core.__name__ == \
        _dispatch.module_name(cfg["core"]["target"])
    assert cfg["core"]["build"] in ("portable", "native", "sanitize")
    assert cfg["threads"]["count"] == la.get_num_threads()
    old = la.set_num_threads(1)
    try:
        # an explicit count also turns the busy-machine guard off
        assert la.show_config(mode="dicts")["threads"] == dict(
            cfg["threads"], count=1, source="set_num_threads or LINALGAD_NUM_THREADS",
            busy_machine_guard=False)
    finally:
        la.set_num_threads(old)
    with pytest.raises(ValueError, match="mode must be"):
        la.show_config(mode="yaml")
