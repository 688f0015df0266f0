"""Runtime CPU dispatch of the compiled core.

A portable build has the core compiled for several instruction sets from the
same C file (setup.py): ``linalgad._core`` for the compiler's default target
and, on x86-64, ``linalgad._core_avx2`` (x86-64-v3) and
``linalgad._core_avx512`` (x86-64-v4). :func:`install` imports the best one the
CPU runs, once, and installs it as ``linalgad._core``, so every
``from .. import _core`` gets it. The CPU's features come from NumPy's own
runtime detection (which also checks that the OS saves the wide registers).
``LINALGAD_CPU_TARGET=baseline|avx2|avx512`` forces a target (testing, bug
reports); one the CPU lacks or the build does not have warns and is ignored.
"""

import importlib
import importlib.util
import os
import sys
import warnings

ENV = "LINALGAD_CPU_TARGET"
PACKAGE = __name__.rpartition(".")[0]
# NumPy's feature names: x86-64-v3 and -v4 by the names NumPy >= 2.4 gives the
# levels, else by their members that older NumPy detects
_V3 = ("AVX", "F16C", "FMA3", "AVX2")
_V4 = ("AVX512F", "AVX512CD", "AVX512BW", "AVX512DQ", "AVX512VL")
REQUIRES = {"baseline": ((), ()), "avx2": (("X86_V3",), _V3),
            "avx512": (("X86_V3", "X86_V4"), _V3 + _V4)}
TARGETS = ("avx512", "avx2", "baseline")   # best first

# what install() chose, for show_config(); passive: the OpenMP wait policy set below
chosen = {"target": None, "reason": None, "passive": None}


# The OpenMP runtime's idle threads wait passively (sleep) unless the user set
# OMP_WAIT_POLICY or GOMP_SPINCOUNT. GNU OpenMP otherwise spins for 300,000
# pause instructions (milliseconds) at each barrier and after each parallel
# region: on a busy machine those spinning threads took the time slices the
# work needed (the 100,000 3x3 svd pullback ran 3x slower on two threads than
# on one). The runtime reads its environment once, when it is loaded, so the
# setting is made for the load of the core and then removed from os.environ
# (child processes and other libraries see the user's environment). When
# another module has loaded the runtime already, its policy stays.

_WAIT_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def mapped_files():
    """The paths of the files mapped into this process (its shared libraries),
    from /proc/self/maps; None where that is not available (not Linux)."""
    try:
        with open("/proc/self/maps") as f:
            return {parts[5].strip() for parts in (line.split(None, 5) for line in f)
                    if len(parts) == 6}
    except OSError:  # pragma: no cover - not Linux
        return None


def _omp_runtime_loaded():
    """Whether the GNU OpenMP the core links (libgomp.so.1) is loaded already
    (the copies wheels bundle under another name, as PyTorch's, are not it);
    False where that cannot be told (not Linux)."""
    return any(os.path.basename(p).startswith("libgomp.so") for p in mapped_files() or ())


def _import_passive(name):
    """Import a core with OMP_WAIT_POLICY=PASSIVE for its OpenMP runtime (see
    above); (module, whether that setting reached the runtime)."""
    passive = not any(v in os.environ for v in _WAIT_VARS) and not _omp_runtime_loaded()
    if passive:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        return importlib.import_module(name), passive
    finally:
        if passive:
            del os.environ["OMP_WAIT_POLICY"]


def cpu_features():
    """NumPy's runtime CPU feature detection ({} where it is unavailable)."""
    try:
        return dict(importlib.import_module("numpy._core._multiarray_umath").__cpu_features__)
    except (ImportError, AttributeError):
        return {}


def required(target, features):
    """The features (NumPy's names) the target needs on this NumPy."""
    levels, members = REQUIRES[target]
    return levels if all(lv in features for lv in levels) else members


def missing(target, features):
    return [f for f in required(target, features) if not features.get(f)]


def module_name(target):
    return f"{PACKAGE}._core" + ("" if target == "baseline" else f"_{target}")


def built():
    """The targets this installation has, best first."""
    return [t for t in TARGETS if importlib.util.find_spec(module_name(t)) is not None]


def choose(features):
    """(target, reason): the forced target if usable, else the best one built
    that the CPU supports."""
    have = built()
    best = next(t for t in have if not missing(t, features))
    forced = os.environ.get(ENV, "").strip().lower()
    if not forced:
        return best, "automatic"
    if forced not in TARGETS:
        problem = f"unknown (choose from {', '.join(TARGETS)})"
    elif forced not in have:
        problem = "not built in this installation"
    elif missing(forced, features):
        problem = f"not supported by this CPU (it lacks {', '.join(missing(forced, features))})"
    else:
        return forced, ENV
    warnings.warn(f"linalgad: {ENV}={forced!r} is {problem}; using {best!r}", UserWarning,
                  stacklevel=3)
    return best, f"automatic ({ENV}={forced!r} ignored: {problem})"


def install():
    """Import the chosen core and make it ``linalgad._core``."""
    target, reason = choose(cpu_features())
    core, passive = _import_passive(module_name(target))
    sys.modules[module_name("baseline")] = core
    sys.modules[PACKAGE]._core = core
    chosen.update(target=target, reason=reason, passive=passive)
