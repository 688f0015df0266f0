"""The benchmark scripts the closing notes quote run to the end on the
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


def test_ratio_from_memory_evicts_before_every_timed_call(monkeypatch):
    # a fake clock that only the two callables advance: f's samples cost
    # 2, 9, 4, 30, 8 and ref's 1, 3, 2, 5, 2, so the median of the per-sample
    # ratios (3) differs from the ratio of the medians (8 / 2)
    timing = _timing()
    cost = {"f": iter([0, 0] + [2, 9, 4, 30, 8]), "ref": iter([0, 0] + [1, 3, 2, 5, 2])}
    now, log = [0.0], []

    def call(name):
        def h():
            log.append(name)
            now[0] += next(cost[name])
        return h

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
