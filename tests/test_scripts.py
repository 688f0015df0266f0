"""The benchmark scripts the closing notes quote run to the end on the
installed package (run, not timed: no speed is asserted here)."""

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
    if HAVE_CC:
        assert "traffic floor" in row["note"], row
