"""Gauge conventions: the canonical gauge and its tangents.

Canonical gauge: each singular/eigen-vector is multiplied by the phase (sign
for real data) that makes its entry of largest modulus real and positive;
ties go to the lowest index.
"""

import numpy as np

__all__ = ["gauge_fix", "wants"]


def wants(gauge):
    if gauge is None:
        return False
    if gauge == "canonical":
        return True
    raise ValueError(f"gauge must be None or 'canonical', got {gauge!r}")


def _pivot(X):
    """Row index of the entry of largest modulus of each column of X (..., m, k)."""
    return np.argmax(np.abs(X), axis=-2)


def _phases(X):
    piv = _pivot(X)
    top = np.take_along_axis(X, piv[..., None, :], axis=-2)[..., 0, :]
    a = np.abs(top)
    ph = np.where(a > 0, np.conj(top) / np.where(a > 0, a, 1), 1)
    return ph.astype(X.dtype), piv


def fix_svd(res):
    ph, _ = _phases(res.U)
    return type(res)(res.U * ph[..., None, :], res.S, res.Vh * np.conj(ph)[..., :, None])


def fix_svd_jvp(res, tan):
    ph, piv = _phases(res.U)
    U = res.U * ph[..., None, :]
    Vh = res.Vh * np.conj(ph)[..., :, None]
    dU = tan.U * ph[..., None, :]
    dVh = tan.Vh * np.conj(ph)[..., :, None]
    if np.iscomplexobj(U):
        k = dU.shape[-1]
        top = np.take_along_axis(U[..., :k], piv[..., None, :k], axis=-2)[..., 0, :]
        dtop = np.take_along_axis(dU, piv[..., None, :k], axis=-2)[..., 0, :]
        theta = np.imag(dtop / np.where(top != 0, top, 1))
        dU = dU - 1j * U[..., :k] * theta[..., None, :]
        dVh = dVh + 1j * Vh[..., :k, :] * theta[..., :, None]
    return type(res)(U, res.S, Vh), type(tan)(dU, tan.S, dVh)


def gauge_fix(res):
    """Put an ``SVD`` result in the canonical gauge."""
    return fix_svd(res)
