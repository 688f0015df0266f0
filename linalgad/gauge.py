"""Gauge conventions: the canonical gauge, its tangents, and a diagnostic.

Canonical gauge: each singular/eigen-vector (a column of U, V; a row of Vh
for the right singular vectors) is multiplied by the phase (sign for real
data) that makes its pivot real and positive. The pivot is the entry of
largest modulus; entries within a relative ``tie_rtol`` of the largest are
ties and the lowest index wins, so roundoff cannot flip it. A column whose
largest modulus is below ``finfo.tiny`` (a zero column) is left alone. For
the SVD the phases come from U and V follows (u_i and v_i share one phase);
extra columns of ``full_matrices=True`` get their own pivots. The polar
factors of a full-rank matrix are unique: they have no gauge, and
``gauge_fix`` returns a copy of a ``PolarResult``.

Tangent of a fixed vector ``y = x * ph`` (``ph = conj(x_p)/|x_p|``):
dy = dx * ph - i theta y with theta = Im(dx_p / x_p) (zero for real data);
the SVD's v follows with + i theta. Derivation: docs/gauge.md.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._docs import fill
from ._typing import Array, ArrayLike

__all__ = [
    "tie_rtol", "wants", "pivot", "gauge_fix", "fix_svd", "fix_svd_jvp", "fix_eigh",
    "fix_eigh_jvp", "fix_eig", "fix_eig_jvp", "gauge_report", "GaugeReport",
    "pull_svd", "pull_eigh", "pull_eig",
]

# Entries with |x_i| >= (1 - tie_rtol(dtype)) max|x| tie for the pivot.
# 1024 eps covers the eigensolvers' roundoff on equal-modulus entries
# (2.3e-13 in float64, 1.2e-4 in float32).
_TIE_EPS = 1024


def tie_rtol(dtype):
    """Relative tie threshold of the pivot for ``dtype``: 1024 eps."""
    return _TIE_EPS * float(np.finfo(np.dtype(dtype)).eps)


def wants(gauge):
    """True for gauge='canonical', False for None; anything else raises."""
    if gauge is None:
        return False
    if gauge == "canonical":
        return True
    raise ValueError(f"gauge must be None or 'canonical', got {gauge!r}")


def _H(X):
    return np.conj(X).swapaxes(-1, -2)


def pivot(X):
    """Pivot row of each column of X (..., m, k): the lowest index whose
    modulus is within tie_rtol of the column's largest."""
    a = np.abs(X)
    if X.shape[-2] == 0:
        return np.zeros(X.shape[:-2] + X.shape[-1:], dtype=np.intp)
    amax = a.max(axis=-2, keepdims=True)
    tie = a >= amax * (1 - tie_rtol(a.dtype))
    return np.argmax(tie, axis=-2)


def _phases(X):
    """(ph, piv, ok): X * ph[..., None, :] is canonical; ok marks the
    columns that were fixed (not zero)."""
    piv = pivot(X)
    if X.shape[-2] == 0:
        return np.ones(X.shape[:-2] + X.shape[-1:], X.dtype), piv, np.zeros(piv.shape, bool)
    top = np.take_along_axis(X, piv[..., None, :], axis=-2)[..., 0, :]
    a = np.abs(top)
    ok = a > np.finfo(a.dtype).tiny
    d = np.where(ok, a, 1)
    if not np.iscomplexobj(X):
        return np.where(ok, np.sign(top), 1).astype(X.dtype), piv, ok
    # conj(top) / |top| in real arithmetic: exactly 1 on a fixed vector
    ph = np.empty(top.shape, X.dtype)
    ph.real = np.where(ok, top.real / d, 1)
    ph.imag = np.where(ok, -top.imag / d, 0)
    return ph, piv, ok


def _theta(Y, dY, piv, ok):
    """Im(dY_p / Y_p) at the pivots (0 for real data and zero columns)."""
    if not np.iscomplexobj(Y):
        return None
    top = np.take_along_axis(Y, piv[..., None, :], axis=-2)[..., 0, :]
    dtop = np.take_along_axis(dY, piv[..., None, :], axis=-2)[..., 0, :]
    return np.where(ok, np.imag(dtop / np.where(ok, top, 1)), 0.0)


def _times_phase(X, ph, piv, ok):
    """X * ph with the pivots set to their exact modulus (real, so that
    fixing twice changes nothing)."""
    Y = X * ph[..., None, :]
    if np.iscomplexobj(Y) and Y.shape[-2]:
        top = np.abs(np.take_along_axis(X, piv[..., None, :], axis=-2))
        cur = np.take_along_axis(Y, piv[..., None, :], axis=-2)
        np.put_along_axis(Y, piv[..., None, :], np.where(ok[..., None, :], top, cur).astype(Y.dtype), axis=-2)
    return Y


def _fix_cols(X, dX=None):
    """Canonical columns of X and, given dX, their tangent."""
    ph, piv, ok = _phases(X)
    Y = _times_phase(X, ph, piv, ok)
    if dX is None:
        return Y, None
    dY = dX * ph[..., None, :]
    th = _theta(Y, dY, piv, ok)
    if th is not None:
        dY = dY - 1j * Y * th[..., None, :]
    return Y, dY


# ---------------------------------------------------------------- SVD

def _svd_phases(U, Vh):
    """Phases of the columns of U (..., m, ku) and of the rows of Vh
    (..., kv, n): the first k = min(ku, kv) rows of Vh follow U."""
    ph, piv, ok = _phases(U)
    k = min(U.shape[-1], Vh.shape[-2])
    phv = np.conj(ph[..., :k])
    if Vh.shape[-2] > k:  # extra right vectors (full_matrices, wide A)
        phx, _, _ = _phases(_H(Vh[..., k:, :]))
        phv = np.concatenate([phv, np.conj(phx)], axis=-1)
    return ph, piv, ok, phv


def fix_svd(res):
    """An ``SVDResult(U, S, Vh)`` in the canonical gauge (new arrays)."""
    U, S, Vh = res
    ph, piv, ok, phv = _svd_phases(U, Vh)
    return type(res)(_times_phase(U, ph, piv, ok), S, Vh * phv[..., :, None])


def fix_svd_jvp(res, tan):
    """(res, tan) of the raw SVD -> those of the canonical SVD. The tangent
    matches finite differences of ``fix_svd(svd(A + t dA))``."""
    U, S, Vh = res
    dU, dS, dVh = tan
    ph, piv, ok, phv = _svd_phases(U, Vh)
    Uf, Vhf = _times_phase(U, ph, piv, ok), Vh * phv[..., :, None]
    dUf, dVhf = dU * ph[..., None, :], dVh * phv[..., :, None]
    th = _theta(Uf, dUf, piv, ok)
    if th is not None:
        k = min(U.shape[-1], Vh.shape[-2])
        dUf = dUf - 1j * Uf * th[..., None, :]
        dVhf = dVhf.copy()
        dVhf[..., :k, :] += 1j * Vhf[..., :k, :] * th[..., :k, None]
        if Vh.shape[-2] > k:  # extra right vectors: their own pivots
            _, dVx = _fix_cols(_H(Vh[..., k:, :]), _H(dVh[..., k:, :]))
            dVhf[..., k:, :] = _H(dVx)
    return type(res)(Uf, S, Vhf), type(tan)(dUf, dS, dVhf)


# ---------------------------------------------------------------- eigh / eig

def fix_eigh(res):
    """An ``EighResult(w, V)`` in the canonical gauge (columns of V)."""
    w, V = res
    return type(res)(w, _fix_cols(V)[0])


def fix_eigh_jvp(res, tan):
    """(res, tan) of eigh -> those of the canonical eigh."""
    w, V = res
    V2, dV2 = _fix_cols(V, tan[1])
    return type(res)(w, V2), type(tan)(tan[0], dV2)


def fix_eig(res):
    """An ``EigResult(w, V)`` in the canonical gauge. Unit-norm columns stay unit
    norm; LAPACK's own normalisation (largest component real) differs from
    it only in the sign/phase of vectors with tied largest components."""
    w, V = res
    return type(res)(w, _fix_cols(V)[0])


def fix_eig_jvp(res, tan):
    """(res, tan) of eig -> those of the canonical eig. ``tan`` must keep the
    columns unit-norm (Re(v^H dv) = 0); only the phase part is changed."""
    w, V = res
    V2, dV2 = _fix_cols(V, tan[1])
    return type(res)(w, V2), type(tan)(tan[0], dV2)


def _kind(res):
    fields = getattr(res, "_fields", None)
    if fields == ("U", "S", "Vh"):
        return "svd"
    if fields == ("eigenvalues", "eigenvectors"):   # ours or numpy.linalg's
        return "eig" if type(res).__name__ == "EigResult" or np.iscomplexobj(res[0]) else "eigh"
    if fields == ("Q", "P"):
        return "polar"
    return None


@fill
def gauge_fix(res: Any) -> Any:
    """Put a decomposition in the canonical gauge.

    Parameters
    ----------
    res : SVDResult, EighResult, EigResult, PolarResult or ndarray
        A result of :func:`svd`, :func:`eigh`, :func:`eig` (or of
        ``numpy.linalg``'s, which have the same fields), or an array
        (..., n, k) whose columns are vectors.

    Returns
    -------
    same type as ``res``
        New arrays for the vectors: each vector multiplied by the phase
        (sign for real data) that makes its entry of largest modulus real
        and positive. A ``PolarResult`` has no gauge and comes back as a
        copy.

    Raises
    ------
    TypeError
        For anything else.

    Notes
    -----
    For a vector x with pivot ``p`` (the entry of largest modulus, ties to
    the lowest index): ``y = x * conj(x_p) / |x_p|``. For the SVD the phases
    come from U and the paired rows of Vh take the conjugate phase, so
    ``A = U diag(S) Vh`` still holds.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> w, V = la.gauge_fix(la.eigh(np.diag([2.0, 1.0]), UPLO="L"))
    >>> V
    array([[0., 1.],
           [1., 0.]])
    """
    kind = _kind(res)
    if kind == "svd":
        return fix_svd(res)
    if kind in ("eigh", "eig"):
        return fix_eigh(res)
    if kind == "polar":
        return type(res)(*(np.array(x, copy=True) for x in res))
    if isinstance(res, np.ndarray) and res.ndim >= 2:
        return _fix_cols(res)[0]
    raise TypeError(
        f"gauge_fix takes an SVDResult, EighResult, EigResult or PolarResult, or an "
        f"array of column vectors; got {type(res).__name__}")


# ---------------------------------------------------------------- diagnostic

class GaugeReport:
    """How much of a cotangent sees the gauge (see :func:`gauge_report`).

    ``phase`` (..., k): ``|Im diag|`` of the vector cotangent per vector (the
    derivative of the loss along a rotation of that vector's phase);
    ``block`` (..., k): the largest ``|skew|`` coupling of that vector with the
    others of its degenerate block (0 outside blocks); ``scale`` (...,): the
    size of the vector cotangents. ``phase_rel``/``block_rel`` are the maxima
    relative to ``scale``; ``ok`` compares them with ``gauge_tol``.
    """

    def __init__(self, kind, phase, block, scale, gauge_tol, blocks):
        self.kind = kind
        self.phase = phase
        self.block = block
        self.scale = scale
        self.gauge_tol = gauge_tol
        self.blocks = blocks  # number of degenerate pairs per matrix (...,)

    def _rel(self, x):
        if x.size == 0:
            return 0.0
        s = np.where(self.scale > 0, self.scale, 1.0)[..., None]
        return float(np.max(x / s))

    @property
    def phase_rel(self):
        return self._rel(self.phase)

    @property
    def block_rel(self):
        return self._rel(self.block)

    @property
    def ok(self):
        return self.phase_rel <= self.gauge_tol and self.block_rel <= self.gauge_tol

    def __str__(self):
        def worst(x):
            if x.size == 0 or not x.max() > 0:
                return "-"
            idx = np.unravel_index(np.argmax(x), x.shape)
            batch = tuple(int(i) for i in idx[:-1])
            return (f"matrix {batch}, " if batch else "") + f"vector {int(idx[-1])}"
        lines = [
            f"gauge report ({self.kind}): {'gauge invariant' if self.ok else 'GAUGE DEPENDENT'} "
            f"at gauge_tol={self.gauge_tol:.3g}",
            f"  phase part    : {self.phase_rel:.3g} of the cotangent (worst: {worst(self.phase)})",
            f"  degenerate    : {self.block_rel:.3g} of the cotangent (worst: {worst(self.block)}; "
            f"{int(np.sum(self.blocks))} degenerate pair(s))",
        ]
        if self.phase.ndim == 1 and 0 < self.phase.size <= 12:
            s = max(float(self.scale), 1e-300)
            lines.append("  per vector    : phase " + " ".join(f"{x / s:.2g}" for x in self.phase))
            lines.append("                  block " + " ".join(f"{x / s:.2g}" for x in self.block))
        return "\n".join(lines)

    __repr__ = __str__


def _block_mask(vals, tol):
    """(..., k, k) True for i != j with |v_i - v_j| <= tol * max|v| (per matrix)."""
    v = np.asarray(vals)
    scale = np.abs(v).max(axis=-1, keepdims=True) if v.shape[-1] else np.zeros(v.shape[:-1] + (1,))
    d = np.abs(v[..., :, None] - v[..., None, :])
    k = v.shape[-1]
    return (d <= tol * scale[..., None]) & ~np.eye(k, dtype=bool)


def _fro(X, axes=(-2, -1)):
    return np.sqrt(np.sum(np.abs(X) ** 2, axis=axes))


@fill
def gauge_report(res: Any, cotangents: Sequence[ArrayLike | None], *, tol: float | None = None,
                 gauge_tol: float | None = None) -> GaugeReport:
    """How much the cotangents of an SVD/eigh/eig result depend on the gauge.

    Parameters
    ----------
    res : SVDResult, EighResult or EigResult
        The decomposition the cotangents belong to.
    cotangents : tuple
        The tuple passed to the pullback, ``(dU, dS, dVh)`` or ``(dw, dV)``;
        None entries are zeros.
    tol : float, optional
        The degeneracy threshold, relative to the largest ``|value|``
        (default: the rules' default).
    gauge_tol : float, optional
        The acceptance threshold (default ``sqrt(eps)``).

    Returns
    -------
    GaugeReport
        Per matrix: the phase part (``|Im diag(V^H dV)|``) and the block
        part (the rotation inside degenerate blocks), absolute and relative
        to the cotangent's size; ``ok`` says whether both are below
        ``gauge_tol``. Printable.

    Raises
    ------
    TypeError
        For a PolarResult (it has no gauge) or anything but a decomposition.

    Notes
    -----
    With ``M = U^H dU + V^H dV`` (SVD) or ``M = V^H dV``: the phase part is
    ``|Im M_ii|``, the block part the largest ``|M - M^H|`` entry inside a
    block of values closer than ``tol``. A loss that is a function of A
    gives zero in both. Cost: one k x k product per factor.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> res = la.eigh(np.eye(2), UPLO="L")   # a degenerate pair: any basis
    >>> la.gauge_report(res, (None, res.eigenvectors)).ok   # d ||V||^2 / dV
    True
    >>> la.gauge_report(res, (None, np.array([[0.0, 1.0], [0.0, 0.0]]))).ok   # d V[0, 1] / dV
    False
    """
    from ._options import options

    kind = _kind(res)
    if kind in (None, "polar"):  # a Polar has no gauge to report on
        raise TypeError("gauge_report takes an SVDResult, EighResult or EigResult")
    if kind == "svd":
        U, S, Vh = res
        dU, _, dVh = cotangents
        k = S.shape[-1]
        U, Vh = U[..., :k], Vh[..., :k, :]  # full_matrices: the paired vectors only
        dU = None if dU is None else np.asarray(dU)[..., :k]
        dVh = None if dVh is None else np.asarray(dVh)[..., :k, :]
        dt = U.dtype
        J = np.zeros(S.shape + (k,), dt) if dU is None else _H(U) @ dU
        K = np.zeros(S.shape + (k,), dt) if dVh is None else Vh @ _H(dVh)  # V^H dV
        M = J + K
        vals = S
        scale = np.sqrt((0 if dU is None else _fro(dU) ** 2) + (0 if dVh is None else _fro(dVh) ** 2))
    else:
        w, V = res
        _, dV = cotangents
        dt = V.dtype
        k = V.shape[-1]
        M = np.zeros(V.shape[:-2] + (k, k), dt) if dV is None else _H(V) @ np.asarray(dV)
        vals = w
        scale = np.zeros(V.shape[:-2]) if dV is None else _fro(np.asarray(dV))
    opt = options(np.empty(0, dt).real.dtype, tol=tol, gauge_tol=gauge_tol)
    diag = np.diagonal(M, axis1=-2, axis2=-1)
    phase = np.abs(np.imag(diag)) if np.iscomplexobj(M) else np.zeros(diag.shape)
    if kind == "svd":
        # a zero singular value unties u_i from v_i: each phase is free
        zero = np.asarray(S) <= opt.tol * np.max(np.abs(S), axis=-1, keepdims=True, initial=0)
        if np.iscomplexobj(M) and zero.any():
            both = np.abs(np.imag(np.diagonal(J, axis1=-2, axis2=-1))) + \
                np.abs(np.imag(np.diagonal(K, axis1=-2, axis2=-1)))
            phase = np.where(zero, both, phase)
    mask = _block_mask(vals, opt.tol)
    skew = M - _H(M)
    block = np.max(np.where(mask, np.abs(skew), 0), axis=-1, initial=0)
    return GaugeReport(kind, phase, block, np.asarray(scale, dtype=float), opt.gauge_tol,
                       mask.sum(axis=(-2, -1)) // 2)


# ---------------------------------------------------------------- pullbacks
#
# Reverse mode through the gauge fixing: cotangents of the canonical factors
# -> cotangents of the raw ones. For a fixed column y = x ph (ph on the unit
# circle, chosen so that y_p is real positive), dy = dx ph - i theta y with
# theta = Im(dx_p / x_p); transposing gives
#     x_bar = conj(ph) y_bar + tau (i / conj(x_p)) e_p,   tau = Im<y_bar, y>.
# The result satisfies the phase condition by construction, so a loss that
# depends on the phases of the canonical factors is differentiable.

def _pull_cols(X, Ybar, tau_extra=None):
    """Cotangent of X (..., m, k) from the cotangent of its canonical columns."""
    ph, piv, ok = _phases(X)
    Xbar = np.zeros_like(X) if Ybar is None else Ybar * np.conj(ph)[..., None, :]
    if not np.iscomplexobj(X) or X.shape[-2] == 0:
        return Xbar
    tau = np.zeros(ph.shape) if Ybar is None else \
        np.imag(np.sum(np.conj(Ybar) * _times_phase(X, ph, piv, ok), axis=-2))
    if tau_extra is not None:
        tau[..., :tau_extra.shape[-1]] += tau_extra
    top = np.take_along_axis(X, piv[..., None, :], axis=-2)[..., 0, :]
    add = np.where(ok, 1j * tau / np.conj(np.where(ok, top, 1)), 0)
    cur = np.take_along_axis(Xbar, piv[..., None, :], axis=-2)
    np.put_along_axis(Xbar, piv[..., None, :], cur + add[..., None, :].astype(Xbar.dtype), axis=-2)
    return Xbar


def pull_svd(res, cotangents):
    """(dU, dS, dVh) of the canonical SVD of ``res`` -> those of ``res``."""
    U, S, Vh = res
    dU, dS, dVh = cotangents
    ph, piv, ok, phv = _svd_phases(U, Vh)
    k = min(U.shape[-1], Vh.shape[-2])
    tau_v = None
    if dVh is not None:
        Vhf = Vh * phv[..., :, None]
        if np.iscomplexobj(Vh):   # dv = dv ph - i theta v too: tau gets Im<v_bar, v> = -Im<dVh_j, Vh_j>
            tau_v = -np.imag(np.sum(np.conj(dVh[..., :k, :]) * Vhf[..., :k, :], axis=-1))
        dVh_raw = dVh * np.conj(phv)[..., :, None]
        if Vh.shape[-2] > k:      # extra right vectors have their own pivots
            dVh_raw[..., k:, :] = _H(_pull_cols(_H(Vh[..., k:, :]), _H(dVh[..., k:, :])))
        dVh = dVh_raw
    if dU is not None or tau_v is not None:
        dU = _pull_cols(U, dU, tau_v)
    return dU, dS, dVh


def pull_eigh(res, cotangents):
    """(dw, dV) of the canonical eigh/eig of ``res`` -> those of ``res``."""
    dw, dV = cotangents
    return dw, None if dV is None else _pull_cols(res[1], dV)


pull_eig = pull_eigh
