"""The benchmark scripts docs/benchmarks.md quotes run to the end on the
installed package (run, not timed: no speed is asserted here), and the
from-memory protocol of asv_bench/timing.py does what it says (fake clock)."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
HAVE_CC = shutil.which(os.environ.get("CC", "cc")) is not None


def _script(*args, timeout=600):
    done = subprocess.run([sys.executable, str(SCRIPTS / args[0]), *args[1:]], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler")
def test_batch_floor_script_checks_its_plain_loop_and_prints_every_row():
    # the script asserts that its plain C loop agrees with linalgad before timing it
    out = _script("bench_batch_floor.py")
    rows = [line for line in out.splitlines() if line.startswith("| ") and "ms" in line]
    assert len(rows) == 7, out
    for rule in ("svd", "eigh", "eig"):
        assert any(r.startswith(f"| {rule}: traffic floor") for r in rows), out


def test_bench_targets_batch_worker_reports_a_ratio_and_its_floor():
    row = json.loads(_script("bench_targets.py", "--batch-worker", "eigh", "no-peers", "cpu")
                     .strip().splitlines()[-1])
    assert row["value"] > 0 and row["limit"] == "<= 5", row
    assert "from memory" in row["target"] and "in cache: " in row["note"], row
    if HAVE_CC:
        assert "traffic floor" in row["note"], row


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_bench_targets_threads_worker_reports_the_speedup_and_its_floor():
    cpus = sorted(os.sched_getaffinity(0))[:2]
    done = subprocess.run([sys.executable, str(SCRIPTS / "bench_targets.py"), "--threads-worker",
                           "svd", ",".join(map(str, cpus))], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "BENCH_CPU": str(cpus[0])})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    r = json.loads(done.stdout.strip().splitlines()[-1])
    assert r["t1"] > 0 and r["t2"] > 0 and r["ratio"] > 0, r
    if HAVE_CC and "no two-thread controls" not in done.stderr:
        for key in ("floor", "fma"):
            assert all(r[key][k] > 0 for k in ("ratio", "t1", "t2")), r


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler")
def test_traffic_floor_splits_its_pass_over_threads_and_reads_every_element():
    # the pass's sum is a checksum: the arrays' sum whether one thread or
    # two make it, so no slice is skipped or read twice; every output written
    code = """
import sys, tempfile, numpy as np
sys.path.insert(0, 'scripts'); import bench_batch_floor as bf
with tempfile.TemporaryDirectory() as tmp:
    lib, flags = bf.compile_c(tmp)
    rng = np.random.default_rng(0)
    arrays = [rng.integers(1, 9, size=k).astype(float) for k in (1001, 37, 3)]
    want = sum(a.sum() for a in arrays)
    print(lib.traffic_threads())
    for k in (1, 2) if lib.traffic_threads() else (1,):
        out = np.zeros(101)
        print(k, bf.floor_call(lib, arrays, out, k)() == want, bool((out != 0).all()))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    threads, *rows = done.stdout.split()[:1] + done.stdout.strip().splitlines()[1:]
    assert rows == (["1 True True", "2 True True"] if threads == "1" else ["1 True True"]), done.stdout


def _from_asv_bench(name):
    """Import asv_bench/<name> (a module or the benchmarks package's) without
    leaving asv_bench on sys.path."""
    import importlib
    sys.path.insert(0, str(ROOT / "asv_bench"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "asv_bench"))


def _timing():
    return _from_asv_bench("timing")


def _fake_calls(cost, now, log):
    """call(name): a callable that logs its name and advances the fake clock
    now[0] by the next of cost[name]."""
    def call(name):
        def h():
            log.append(name)
            now[0] += next(cost[name])
        return h
    return call


def test_ratio_from_memory_evicts_before_every_timed_call(monkeypatch):
    # a fake clock that only the two callables advance: f's samples cost
    # 2, 9, 4, 30, 8 and ref's 1, 3, 2, 5, 2, so the median of the per-sample
    # ratios (3) differs from the ratio of the medians (8 / 2)
    timing = _timing()
    cost = {"f": iter([0, 0] + [2, 9, 4, 30, 8]), "ref": iter([0, 0] + [1, 3, 2, 5, 2])}
    now, log = [0.0], []
    call = _fake_calls(cost, now, log)

    def clock():
        log.append("clock")
        return now[0]

    monkeypatch.setattr(timing, "_clock", clock)
    monkeypatch.setattr(timing, "evict", lambda: log.append("evict"))
    r, tf, tr = timing.ratio_from_memory(call("f"), call("ref"), repeat=5)
    assert log[:4] == ["f", "ref", "f", "ref"]  # the warm-up, untimed
    timed = log[4:]
    assert timed == ["evict", "clock", "f", "clock", "evict", "clock", "ref", "clock"] * 5
    assert (r, tf, tr) == (3.0, 8.0, 2.0)


def test_ratios_interleave_every_pair_within_each_round(monkeypatch):
    # one sample of each of the four terms per round, in the order given;
    # every call costs 1 on the fake clock but a's, so k = 1 for all terms
    # and each pair's ratio is the median of its per-round ratios
    timing = _timing()
    cost = {"a": iter([1] * 3 + [2, 6, 3]), "b": iter([1] * 3 + [1, 2, 1]),
            "c": iter([1] * 3 + [4, 4, 9]), "d": iter([1] * 3 + [2, 1, 3])}
    now, log = [0.0], []
    call = _fake_calls(cost, now, log)

    monkeypatch.setattr(timing, "_clock", lambda: now[0])
    monkeypatch.setattr(timing.time, "perf_counter", lambda: now[0])
    got = timing.ratios([(call("a"), call("b")), (call("c"), call("d"))], min_time=0.0, repeat=3)
    assert log[:8] == list("abcd") * 2 and log[8:12] == list("abcd")  # warm-up, calibration
    assert log[12:] == list("abcd") * 3
    assert got == [(3.0, 3.0, 1.0), (3.0, 4.0, 2.0)]


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


def test_bench_targets_reports_the_median_round_with_its_range_and_first_peers():
    rows = [{"target": "t", "value": v, "limit": "<= 5", "ok": v <= 5, "unit": "",
             "peers": {"jax": "12"} if i == 0 else {}, "note": f"round {i}"}
            for i, v in enumerate([9.0, 3.0, 5.0])]
    code = ("import json, sys; sys.path.insert(0, 'scripts'); import bench_targets as b; "
            f"print(json.dumps(b.median_round({rows!r}, 3)))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert row["value"] == 5.0 and row["ok"] and row["peers"] == {"jax": "12"}, row
    assert row["note"] == "median of 3 rounds spread over the run, 3-9; round 2", row
