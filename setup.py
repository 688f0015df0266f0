"""Build the Cython core. Metadata lives in pyproject.toml."""
import glob
import os
import shlex
import subprocess
import sys
import sysconfig

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

openmp = [] if sys.platform == "darwin" else ["-fopenmp"]


def native():
    """-march=native when the compiler takes it: the batch kernels of tiny
    matrices (_small.pxi) vectorise across the batch with the machine's full
    vector width. Source builds run where they are built; set
    LINALGAD_NATIVE=0 to build a portable binary (e.g. a wheel)."""
    if os.environ.get("LINALGAD_NATIVE", "1") == "0":
        return []
    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    try:
        ok = subprocess.run(cc + ["-march=native", "-x", "c", "-E", "-", "-o", os.devnull],
                            input=b"", capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return ["-march=native"] if ok else []


def sanitize():
    """LINALGAD_SANITIZE=1: an AddressSanitizer + UndefinedBehaviorSanitizer
    build of the core for testing (README, Development): -O1 -g, no
    -march=native, every UBSan report fatal."""
    if os.environ.get("LINALGAD_SANITIZE", "0") in ("", "0"):
        return None
    flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
             "-fno-omit-frame-pointer"]
    return ["-O1", "-g"] + flags, flags


san = sanitize()
core = Extension(
    "linalgad._core",
    ["linalgad/_core.pyx"],
    include_dirs=[numpy.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    extra_compile_args=(san[0] if san else ["-O3"] + native()) + openmp,
    extra_link_args=(san[1] if san else []) + openmp,
    depends=glob.glob("linalgad/*.pxi") + glob.glob("linalgad/*.pxd") + glob.glob("linalgad/*.h"),
)
# the status codes as a Python IntEnum (linalgad/_status.pxd), read by linalgad/_errors.py
status = Extension("linalgad._status", ["linalgad/_status.pyx"])

setup(
    ext_modules=cythonize(
        [core, status],
        include_path=["linalgad"],
        compiler_directives={"language_level": "3"},
    )
)
