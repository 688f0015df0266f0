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

# what install() chose, for show_config()
chosen = {"target": None, "reason": None}


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
    core = importlib.import_module(module_name(target))
    sys.modules[module_name("baseline")] = core
    sys.modules[PACKAGE]._core = core
    chosen.update(target=target, reason=reason)
