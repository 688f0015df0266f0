"""Runtime CPU dispatch: the 100,000 3 x 3 pullbacks (one thread) on each
compiled core target this build has, as a speed-up over the baseline target.

The target is chosen once, at import (``LINALGAD_CPU_TARGET`` forces it), so
each target runs in a fresh interpreter: the targets' interpreters are
started in turn for several rounds and the median of the per-round ratios is
taken, so a spell of load falls on neighbouring runs alike. A
``LINALGAD_NATIVE=1`` build has one target only: run the ``batch``
benchmarks on it to compare it with a portable build.
"""

import json
import os
import subprocess
import sys

import numpy as np

from .common import linalgad, sig

RULES = ["svd", "eigh"]
ROUNDS = 3

# in the child: the suite's own cases and timer (its import sets one thread)
_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from benchmarks.cases import Case
from benchmarks.common import median_time
print(json.dumps({r: median_time(Case(r, "float64", 3, (100000,)).pull) for r in sys.argv[2:]}))
"""


def _time(target):
    env = dict(os.environ, LINALGAD_CPU_TARGET=target,
               PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(linalgad.__file__)),
                                           os.environ.get("PYTHONPATH", "")]))
    suite = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", _CHILD, suite, *RULES], env=env,
                         capture_output=True, text=True, check=True, timeout=300)
    return json.loads(out.stdout)


class Dispatch:
    params = [RULES, ["avx2", "avx512"]]
    param_names = ["rule", "target"]
    timeout = 600

    def setup_cache(self):
        """Seconds per call, {target: {rule: [one per round]}}, for the
        targets built that this CPU runs."""
        from linalgad import _dispatch
        features = _dispatch.cpu_features()
        targets = [t for t in _dispatch.built() if not _dispatch.missing(t, features)]
        times = {t: {r: [] for r in RULES} for t in targets}
        for _ in range(ROUNDS):
            for t in targets:
                for r, s in _time(t).items():
                    times[t][r].append(s)
        return times

    def setup(self, times, rule, target):
        if target not in times:
            raise NotImplementedError(f"{target}: not built, or this CPU lacks it")

    def track_speedup_over_baseline(self, times, rule, target):
        """100,000 3 x 3 pullback: baseline target's time / this target's"""
        return sig(float(np.median(np.divide(times["baseline"][rule], times[target][rule]))))

    track_speedup_over_baseline.unit = "x baseline"
