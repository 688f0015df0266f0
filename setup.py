"""Build the Cython core. Metadata lives in pyproject.toml."""
import glob
import sys

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

openmp = [] if sys.platform == "darwin" else ["-fopenmp"]

core = Extension(
    "linalgad._core",
    ["linalgad/_core.pyx"],
    include_dirs=[numpy.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    extra_compile_args=["-O3"] + openmp,
    extra_link_args=openmp,
    depends=glob.glob("linalgad/*.pxi"),
)

setup(
    ext_modules=cythonize(
        [core],
        include_path=["linalgad"],
        compiler_directives={"language_level": "3"},
    )
)
