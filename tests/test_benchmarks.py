"""The asv suite works on the installed package: `asv check` and a quick
smoke run of every benchmark (one sample each). No timing is asserted here;
speed is tracked by asv itself (see docs/benchmarks.md)."""

import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONF = ROOT / "asv_bench" / "asv.conf.json"

pytestmark = pytest.mark.skipif(shutil.which("asv") is None and not os.environ.get("CI"),
                                reason="asv is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def asv(tmp_path_factory):
    """Run asv with a private HOME (its machine file) and one-thread BLAS."""
    home = tmp_path_factory.mktemp("asv-home")
    env = dict(os.environ, HOME=str(home), OPENBLAS_NUM_THREADS="1", LINALGAD_NUM_THREADS="1")
    exe = shutil.which("asv") or pytest.fail("asv is missing: CI must install the test extras")

    def run(*args, timeout=1500):
        return subprocess.run([exe, "--config", str(CONF), *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout)

    done = run("machine", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    return run


def test_asv_check_discovers_every_benchmark(asv):
    done = asv("check", "--python=same")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


def test_asv_quick_smoke_run_has_no_failing_benchmark(asv):
    # exit 2 means a benchmark raised; --dry-run keeps results out of the tree
    done = asv("run", "--python=same", "--quick", "--dry-run", "--show-stderr")
    out = done.stdout + done.stderr
    assert done.returncode == 0, _failures(out) + out[-3000:]


def _failures(out):
    """The lines naming what failed and why: the tail alone is the last benchmark's table."""
    keep = [line.strip() for line in out.splitlines()
            if line.rstrip().endswith(" failed") or " failed (" in line
            or line.strip().split(":")[0].endswith(("Error", "Exception"))]
    return "\n".join(keep[:60]) + "\n...\n"

