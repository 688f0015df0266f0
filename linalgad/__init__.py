"""linalgad: derivatives of matrix decompositions, right and fast.

Reverse mode: ``res, pullback = svd_vjp(A)`` then ``dA = pullback(dU, dS, dVh)``.
Forward mode: ``res, tan = svd_jvp(A, dA)``. Stateless forms (factors in,
cotangent out, for frameworks' custom-rule hooks):
``dA = svd_pullback(U, S, Vh, dU, dS, dVh)``, ``svd_pushforward(U, S, Vh, dA)``. Complex convention: for a real
loss L of complex A the cotangent is dL/dRe(A) + 1j dL/dIm(A) (PyTorch's;
JAX's grad returns its conjugate). See README.md and docs/.
"""

import importlib

from . import _dispatch

_dispatch.install()   # the core for this CPU, before any module imports it

from ._config import show_config
from ._errors import DegeneracyError, GaugeError
from ._options import MODES, get_num_threads, set_num_threads
from ._results import EigResult, EighResult, PolarResult, SVDResult, deprecated_alias
from .gauge import gauge_fix, gauge_report
from .project import project
from .rules.polar import polar, polar_jvp, polar_vjp, polar_pullback, polar_pushforward
from .rules.svd import (svd, svd_jvp, svd_vjp, svd_pullback, svd_pushforward, svdvals,
                        svdvals_jvp, svdvals_vjp, svdvals_pushforward)
from .rules.eigh import (eigh, eigh_jvp, eigh_vjp, eigh_pullback, eigh_pushforward, eigvalsh,
                         eigvalsh_jvp, eigvalsh_vjp, eigvalsh_pushforward)
from .rules.eig import (eig, eig_jvp, eig_vjp, eig_pullback, eig_pushforward, eigvals,
                        eigvals_jvp, eigvals_vjp, eigvals_pushforward)
from .rules.funm import funm, funm_jvp, funm_vjp, funm_pullback, funm_pushforward
from .rules.svfunm import svfunm, svfunm_jvp, svfunm_vjp, svfunm_pullback, svfunm_pushforward
from .sparse import LowRank, eigsh, eigsh_jvp, eigsh_vjp, svds, svds_jvp, svds_vjp

__version__ = "0.1.0"

__all__ = [
    "DegeneracyError", "GaugeError", "MODES", "get_num_threads", "set_num_threads",
    "SVDResult", "svd", "svd_vjp", "svd_jvp", "svd_pullback", "svd_pushforward",
    "svdvals", "svdvals_vjp", "svdvals_jvp", "svdvals_pushforward",
    "PolarResult", "polar", "polar_vjp", "polar_jvp", "polar_pullback", "polar_pushforward",
    "EighResult", "eigh", "eigh_vjp", "eigh_jvp", "eigh_pullback", "eigh_pushforward",
    "eigvalsh", "eigvalsh_vjp", "eigvalsh_jvp", "eigvalsh_pushforward",
    "EigResult", "eig", "eig_vjp", "eig_jvp", "eig_pullback", "eig_pushforward",
    "eigvals", "eigvals_vjp", "eigvals_jvp", "eigvals_pushforward",
    "funm", "funm_vjp", "funm_jvp", "funm_pullback", "funm_pushforward",
    "svfunm", "svfunm_vjp", "svfunm_jvp", "svfunm_pullback", "svfunm_pushforward",
    "gauge_fix", "gauge_report",
    "project", "show_config",
    "eigsh", "eigsh_vjp", "eigsh_jvp", "svds", "svds_vjp", "svds_jvp", "LowRank",
]

# submodules imported on first use (``linalgad.testing`` after ``import linalgad``;
# linalgad.dask imports dask)
_LAZY = ("testing", "widgets", "dask")


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    return deprecated_alias(name, globals())   # SVD, Eigh, Eig, Polar: deprecated


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
