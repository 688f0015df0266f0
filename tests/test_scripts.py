"""scripts/targets_table.py turns asv's results into the targets table (a
synthetic results folder, and a real quick asv run of two targets), and the
helpers the targets are measured with do what they say: the sampling order
of the ratios (fake clock), the cache flush size, the competing load of the
busy-machine benchmark (started, and gone with its parent)."""

import ast
import json
import math
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
TARGETS = ROOT / "asv_bench" / "benchmarks" / "targets.py"


def _table_module():
    sys.path.insert(0, str(SCRIPTS))
    try:
        import targets_table
        return targets_table
    finally:
        sys.path.remove(str(SCRIPTS))


def _code(cls, method, doc, params=""):
    return (f"class {cls}:\n    def {method}(self{params}):\n        \"\"\"{doc}\"\"\"\n"
            f"        return 1.0\n\n    def setup(self{params}):\n        \"\"\"Limit: <= 99\"\"\"\n")


def _write_results(root, results, benchmarks):
    (root / "vm").mkdir(parents=True)
    columns = ["result", "params", "version", "started_at", "duration"]
    (root / "benchmarks.json").write_text(json.dumps({**benchmarks, "version": 2}))
    path = root / "vm" / "0123abcd-existing-py.json"
    path.write_text(json.dumps({
        "commit_hash": "0123abcd" * 5, "date": 1_700_000_000_000, "result_columns": columns,
        "params": {"machine": "vm", "cpu": "Test CPU", "num_cpu": "2"}, "version": 2,
        "results": {k: [v, p, "v", 1_800_000_000_000, 1.0] for k, (v, p) in results.items()}}))
    return path


def test_targets_table_reads_limits_params_and_failures(tmp_path):
    benchmarks = {
        "targets.A.track_ratio": {
            "code": _code("A", "track_ratio", "A over B\n\n        More.\n\n        Limit: <= 4.5\n",
                          ", dtype"),
            "param_names": ["dtype"], "unit": "ratio"},
        "targets.B.track_speedup": {
            "code": _code("B", "track_speedup", "Speedup\n\n        Limit: >= 1.6\n"),
            "param_names": [], "unit": "ratio"},
        "targets.C.track_us": {
            "code": _code("C", "track_us", "Latency\n\n        Limit: <= 15\n", ", rule, n"),
            "param_names": ["rule", "n"], "unit": "us"},
        "svd.Svd.track_vjp_gemm": {"code": _code("Svd", "track_vjp_gemm", "Not a target"),
                                   "param_names": [], "unit": "GEMM"},
    }
    results = {
        "targets.A.track_ratio": ([4.5, 4.51], [["'float64'", "'complex128'"]]),
        "targets.B.track_speedup": ([1.2], []),
        "targets.C.track_us": ([3.0, None, math.nan, 16.0], [["'svd'", "'eig'"], ["8", "16"]]),
        "svd.Svd.track_vjp_gemm": ([4.0], []),
    }
    path = _write_results(tmp_path, results, benchmarks)
    out = subprocess.run([sys.executable, str(SCRIPTS / "targets_table.py"), str(path)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    lines = out.splitlines()
    assert lines[0].startswith("Commit 0123abcd, run ") and "vm (Test CPU, 2 CPUs)" in lines[0]
    assert lines[2:] == [
        "| target | limit | measured | |", "|---|---|---|---|",
        "| A over B (dtype=float64) | <= 4.5 | 4.5 | pass |",
        "| A over B (dtype=complex128) | <= 4.5 | 4.51 | **fail** |",
        "| Speedup | >= 1.6 | 1.2 | **fail** |",
        "| Latency (rule=svd, n=8) | <= 15 us | 3 us | pass |",
        "| Latency (rule=svd, n=16) | <= 15 us | n/a | n/a |",
        "| Latency (rule=eig, n=8) | <= 15 us | n/a | n/a |",
        "| Latency (rule=eig, n=16) | <= 15 us | 16 us | **fail** |",
    ], out


def test_targets_table_defaults_to_the_newest_results(tmp_path):
    tt = _table_module()
    path = _write_results(tmp_path, {}, {})
    (tmp_path / "vm" / "machine.json").write_text("{}")
    assert tt.newest(tmp_path) == path
    with pytest.raises(SystemExit):
        tt.newest(tmp_path / "empty")


def test_every_target_states_its_limit_and_unit():
    tt = _table_module()
    tree = ast.parse(TARGETS.read_text())
    tracks = [(cls.name, f) for cls in tree.body if isinstance(cls, ast.ClassDef)
              for f in cls.body if isinstance(f, ast.FunctionDef) and f.name.startswith("track_")]
    assert len(tracks) >= 8
    for cls, f in tracks:
        assert tt.LIMIT.search(ast.get_docstring(f) or ""), (cls, f.name)
        assert f"{f.name}.unit = " in TARGETS.read_text(), (cls, f.name)


@pytest.mark.skipif(shutil.which("asv") is None and not os.environ.get("CI"),
                    reason="asv is not installed (pip install -e '.[test]')")
def test_targets_table_from_a_real_quick_asv_run(tmp_path):
    # two cheap targets, results saved in a temporary folder, read back
    conf = json.loads("\n".join(line for line in (ROOT / "asv_bench" / "asv.conf.json")
                                .read_text().splitlines() if not line.strip().startswith("//")))
    conf.update(repo=str(ROOT), benchmark_dir=str(ROOT / "asv_bench" / "benchmarks"),
                results_dir=str(tmp_path / "results"), env_dir=str(tmp_path / "env"),
                html_dir=str(tmp_path / "html"))
    (tmp_path / "asv.conf.json").write_text(json.dumps(conf))
    env = dict(os.environ, HOME=str(tmp_path))
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()
    asv = [shutil.which("asv") or pytest.fail("asv is missing"), "--config",
           str(tmp_path / "asv.conf.json")]
    for args in (["machine", "--yes", "--machine", "testvm"],
                 ["run", "--python=same", "--quick", "--machine", "testvm",
                  "--bench", r"targets\.(EigGemm|Latency8)", "--set-commit-hash", commit]):
        done = subprocess.run(asv + args, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [path] = (tmp_path / "results" / "testvm").glob(f"{commit[:8]}-*.json")
    out = _table_module().table(path)
    rows = [line for line in out.splitlines() if line.startswith("| ") and "<=" in line]
    assert len(rows) == 6, out
    assert rows[0].startswith("| eig pullback, real input, n = 256 / one real GEMM (dtype=float64) "
                              "| <= 16 | "), out
    for rule, row in zip(["svd", "polar", "eigh", "eig", "funm"], rows[1:]):
        assert row.startswith(f"| One 8x8 pullback in microseconds, Python call included "
                              f"(rule={rule}) | <= 15 us | "), out
        assert row.split("|")[3].strip().endswith(" us"), row


def _from_asv_bench(name):
    """Import asv_bench/<name> (the benchmarks package's modules) without
    leaving asv_bench on sys.path."""
    import importlib
    sys.path.insert(0, str(ROOT / "asv_bench"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "asv_bench"))


def _fake_calls(cost, now, log):
    """call(name): a callable that logs its name and advances the fake clock
    now[0] by the next of cost[name]."""
    def call(name):
        def h():
            log.append(name)
            now[0] += next(cost[name])
        return h
    return call


def _fake_clock(now, log):
    def clock():
        log.append("clock")
        return now[0]
    return clock


def test_ratio_from_memory_evicts_before_every_timed_call(monkeypatch):
    # f's samples cost 2, 9, 4, 30, 8 and ref's 1, 3, 2, 5, 2 on a fake clock
    # that only they advance: the median of the per-sample ratios (3), not
    # the ratio of the medians (8 / 2)
    common = _from_asv_bench("benchmarks.common")
    cost = {"f": iter([0] + [2, 9, 4, 30, 8]), "ref": iter([0] + [1, 3, 2, 5, 2])}
    now, log = [0.0], []
    call = _fake_calls(cost, now, log)
    monkeypatch.setattr(common, "evict", lambda: log.append("evict"))
    r = common.ratio_from_memory(call("f"), call("ref"), repeat=5, clock=_fake_clock(now, log))
    assert log[:2] == ["f", "ref"]  # the warm-up, untimed
    assert log[2:] == ["evict", "clock", "f", "clock", "evict", "clock", "ref", "clock"] * 5
    assert r == 3.0


def test_ratio_interleaves_its_terms_and_runs_their_setups_untimed():
    # one sample of each term per round, each after its own setup (a thread
    # setting); the ratio is the median of the per-round ratios (2, 3, 3)
    common = _from_asv_bench("benchmarks.common")
    cost = {"a": iter([1, 2, 6, 3]), "b": iter([1, 1, 2, 1])}
    now, log = [0.0], []
    call = _fake_calls(cost, now, log)
    r = common.ratio(call("a"), call("b"), min_time=0.0, repeat=3, clock=_fake_clock(now, log),
                     f_setup=lambda: log.append("set a"), ref_setup=lambda: log.append("set b"))
    one = ["set a", "clock", "a", "clock", "set b", "clock", "b", "clock"]
    assert log == one * 4  # calibration, then three rounds
    assert r == 3.0


def test_flush_bytes_is_three_l3_and_at_least_64_mib(tmp_path):
    common = _from_asv_bench("benchmarks.common")
    size = tmp_path / "size"
    size.write_text("32768K\n")
    assert common.flush_bytes(size) == 96 * 2**20
    size.write_text("8M\n")
    assert common.flush_bytes(size) == 64 * 2**20
    size.write_text("64M\n")
    assert common.flush_bytes(size) == 192 * 2**20
    assert common.flush_bytes(tmp_path / "missing") == 96 * 2**20


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_competing_load_spins_and_ends_with_its_parent_or_its_time():
    # a parent that starts the load and dies without stopping it (as when
    # asv kills a job): the spinners notice and end
    code = ("import sys, os; sys.path.insert(0, 'asv_bench'); "
            "from benchmarks.targets import start_load; "
            "print(' '.join(str(p.pid) for p in start_load(2)), flush=True); os._exit(0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    pids = [int(p) for p in done.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)
    # bounded lifetime, and stop_load ends them at once
    targets = _from_asv_bench("benchmarks.targets")
    procs = targets.start_load(1, seconds=0.5)
    assert procs[0].wait(timeout=10) == 0
    procs = targets.start_load(2)
    assert all(p.poll() is None for p in procs)
    targets.stop_load(procs)
    assert all(p.returncode is not None for p in procs)
