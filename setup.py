"""Build the Cython core. Metadata lives in pyproject.toml.

The default build is portable: ``linalgad._core`` for the compiler's default
target and, on x86-64, the same C file again for two newer instruction sets
(``linalgad._core_avx2``: x86-64-v3, ``linalgad._core_avx512``: x86-64-v4);
linalgad/_dispatch.py imports the best one the CPU runs. LINALGAD_NATIVE=1
builds the baseline only, with -march=native; LINALGAD_SANITIZE=1 the baseline
only, under the sanitizers. What was built goes to linalgad/_build.json
(read by linalgad.show_config()).
"""
import glob
import json
import os
import platform
import shlex
import subprocess
import sys
import sysconfig

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

openmp = [] if sys.platform == "darwin" else ["-fopenmp"]
VARIANTS = {"avx2": "-march=x86-64-v3", "avx512": "-march=x86-64-v4"}


def flag(name):
    """LINALGAD_<name> set to anything but '' or '0'."""
    return os.environ.get(f"LINALGAD_{name}", "0") not in ("", "0")


def accepts(option):
    """Whether the C compiler takes a -march option."""
    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    try:
        return subprocess.run(cc + [option, "-x", "c", "-E", "-", "-o", os.devnull],
                              input=b"", capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def sanitize():
    """LINALGAD_SANITIZE=1: an AddressSanitizer + UndefinedBehaviorSanitizer
    build of the core for testing (README, Development): -O1 -g, every UBSan
    report fatal."""
    flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
             "-fno-omit-frame-pointer"]
    return ["-O1", "-g"] + flags, flags


# -fno-wrapv undoes the -fwrapv of Python's own CFLAGS: the kernels' index
# arithmetic stays within int (check_index_range), and with wrapping defined
# the compiler vectorises their small-matrix loops worse (the 16x16 batch
# pullbacks of asv_bench/benchmarks/batch.py ran about 25% slower).
if flag("SANITIZE"):
    mode, (cflags, ldflags) = "sanitize", sanitize()
elif flag("NATIVE") and accepts("-march=native"):
    # the batch kernels of tiny matrices use the build machine's full vector width
    mode, cflags, ldflags = "native", ["-O3", "-fno-wrapv", "-march=native"], []
else:
    mode, cflags, ldflags = "portable", ["-O3", "-fno-wrapv"], []
targets = {"baseline": []}
if mode == "portable" and platform.machine().lower() in ("x86_64", "amd64"):
    targets.update({t: [m] for t, m in VARIANTS.items() if accepts(m)})

core, status = cythonize(
    [Extension("linalgad._core", ["linalgad/_core.pyx"],
               depends=glob.glob("linalgad/*.pxi") + glob.glob("linalgad/*.pxd")
               + glob.glob("linalgad/*.h")),
     # the status codes as a Python IntEnum (linalgad/_status.pxd), read by linalgad/_errors.py
     Extension("linalgad._status", ["linalgad/_status.pyx"])],
    include_path=["linalgad"],
    compiler_directives={"language_level": "3"},
)


def variant_source(t):
    """The generated C file again, under the name linalgad._core_<t>: its own
    file gives it its own object file (the parallel build would otherwise link
    one target's object into another) and its own module init function."""
    path = f"linalgad/_core_{t}.c"
    text = f'#define PyInit__core PyInit__core_{t}\n#include "_core.c"\n'
    try:
        with open(path) as f:
            same = f.read() == text
    except OSError:
        same = False
    if not same:
        with open(path, "w") as f:
            f.write(text)
    return path


extensions = [status] + [
    Extension(
        "linalgad._core" + ("" if t == "baseline" else f"_{t}"),
        core.sources if t == "baseline" else [variant_source(t)],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=cflags + march + openmp,
        extra_link_args=ldflags + openmp,
        depends=core.depends + ([] if t == "baseline" else core.sources),
    )
    for t, march in targets.items()
]


class BuildExt(build_ext):
    """Compiles the targets in parallel; records the build in _build.json
    beside the cores (build directory, and the source tree when in place),
    recompiling when the flags differ from the record and deleting the
    variants this build does not make (dispatch would import a stale one)."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = True     # one job per CPU

    def run(self):
        record = {"mode": mode, "targets": {t: cflags + m for t, m in targets.items()}}
        dirs = [os.path.join(self.build_lib, "linalgad")]    # where build_ext compiles to
        if self.inplace:
            dirs.append(os.path.dirname(self.get_ext_fullpath("linalgad._core")))
        try:
            with open(os.path.join(dirs[0], "_build.json")) as f:
                self.force = self.force or json.load(f) != record
        except (OSError, ValueError):
            self.force = True
        super().run()
        for d in dirs:
            for t in set(VARIANTS) - set(targets):
                stale = os.path.join(d, os.path.basename(self.get_ext_filename(f"linalgad._core_{t}")))
                if os.path.exists(stale):
                    os.remove(stale)
            with open(os.path.join(d, "_build.json"), "w") as f:
                json.dump(record, f)

    def get_outputs(self):
        return super().get_outputs() + [os.path.join(self.build_lib, "linalgad", "_build.json")]


setup(ext_modules=extensions, cmdclass={"build_ext": BuildExt})
