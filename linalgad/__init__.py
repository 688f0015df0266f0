"""linalgad: derivatives of matrix decompositions, right and fast.

Reverse mode: ``res, pullback = svd_vjp(A)`` then ``dA = pullback(dU, dS, dVh)``.
Forward mode: ``res, tan = svd_jvp(A, dA)``. Complex convention: for a real
loss L of complex A the cotangent is dL/dRe(A) + 1j dL/dIm(A) (PyTorch's;
JAX's grad returns its conjugate). See README.md and docs/.
"""

from ._errors import DegeneracyError, GaugeError
from ._options import MODES, get_num_threads, set_num_threads
from .gauge import gauge_fix, gauge_report
from .project import project
from .rules.polar import Polar, polar, polar_jvp, polar_vjp
from .rules.svd import SVD, svd, svd_jvp, svd_vjp
from .rules.eigh import Eigh, eigh, eigh_jvp, eigh_vjp
from .rules.eig import Eig, eig, eig_jvp, eig_vjp
from .rules.funm import funm, funm_jvp, funm_vjp
from .rules.svfunm import svfunm, svfunm_jvp, svfunm_vjp
from .sparse import LowRank, eigsh, eigsh_jvp, eigsh_vjp, svds, svds_jvp, svds_vjp

__version__ = "0.1.0"

__all__ = [
    "DegeneracyError", "GaugeError", "MODES", "get_num_threads", "set_num_threads",
    "SVD", "svd", "svd_vjp", "svd_jvp",
    "Polar", "polar", "polar_vjp", "polar_jvp",
    "Eigh", "eigh", "eigh_vjp", "eigh_jvp",
    "Eig", "eig", "eig_vjp", "eig_jvp",
    "funm", "funm_vjp", "funm_jvp",
    "svfunm", "svfunm_vjp", "svfunm_jvp",
    "gauge_fix", "gauge_report",
    "project",
    "eigsh", "eigsh_vjp", "eigsh_jvp", "svds", "svds_vjp", "svds_jvp", "LowRank",
]


def __getattr__(name):
    # linalgad.dask imports dask: only on first use
    if name == "dask":
        import importlib
        return importlib.import_module(".dask", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
