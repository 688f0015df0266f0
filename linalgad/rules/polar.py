"""Polar decomposition: A = Q P.

Primal
    Q = U Vh (orthonormal columns for tall A, rows for wide A), P = V S Vh
    (n x n, Hermitian positive semi-definite), from the thin SVD.
Gauge
    None: Q and P are functions of A wherever A has full rank, even when its
    singular values are repeated (orthogonal/unitary A included). So
    ``gauge=`` takes None or "canonical" like the other rules and changes
    nothing (validated, then ignored); ``gauge_fix`` copies a Polar.
Rules (Z = U^H dQ V)
    dA = U ((Z - Z^H) o 1/(s_i + s_j)) Vh + (I - U U^H) dQ V S^-1 Vh
         + U S^-1 U^H dQ (I - V Vh)                          (Q part)
    A cotangent dP of P (P = Q^H A) adds Q herm(dP) and feeds A herm(dP)
    into dQ first. Only sums of singular values appear, so the rule is exact
    at any degeneracy; zero singular values (rank deficiency, where Q is not
    unique) follow ``degeneracy=``. The Q map is self-adjoint, so the JVP
    applies the same kernel to dA.
Cost (square, GEMMs): 4 for dQ; 2 more for dP (Vh H and (Vh H) V, in the
kernel: the pullback's memory is its output plus per-thread workspace).
Derivation: docs/svd.md (singular-value functions, g = 1).
"""

from collections import namedtuple

import numpy as np

from .. import _core, gauge as _gauge
from ..project import finish_cotangent
from .._errors import raise_core
from .._options import batch_threads, options
from .._validate import cotangent, matrix_stack
from ._factors import cotan, svd_frame
from .svd import _factor

__all__ = ["Polar", "polar", "polar_vjp", "polar_jvp", "polar_pullback", "polar_pushforward"]

Polar = namedtuple("Polar", ["Q", "P"])

_REMEDIES = "pass degeneracy='lorentz' to regularise"


def _herm(X):
    return 0.5 * (X + X.conj().swapaxes(-1, -2))


def _apply(U, s, Vh, G, st, opt, rule, gP=None, check_finite=None):
    """The derivative of Q = U Vh applied to G (cotangent of Q or tangent of A);
    gP, the cotangent of P, adds its term (in the kernel: no A H or Q H stack).
    check_finite: the names of G and gP when the core is to refuse inf/nan in them."""
    out = np.empty((st.B, st.m, st.n), st.dtype)
    err = _core.svfun_apply(U, np.ascontiguousarray(s, dtype=np.float64), Vh, G, None, None, out,
                            opt.as_tuple(), batch_threads(st.B, max(st.m, st.n)), gP,
                            check_finite=check_finite)
    if err is not None:
        raise_core(err, rule=rule, values="singular values", vectors="Q", remedies=_REMEDIES,
                   batch_shape=st.batch)
    return out


def _polar_factors(st):
    U, s, Vh, _ = _factor(st, False)
    Q = U @ Vh
    P = _herm((Vh.conj().swapaxes(-1, -2) * s[..., None, :]) @ Vh)
    return U, s, Vh, Q, P


def polar(A, *, gauge=None):
    """Polar decomposition of a stack (..., m, n): ``Polar(Q, P)``, A = Q @ P.

    ``gauge``: None or "canonical", accepted for symmetry with svd/eigh/eig;
    Q and P are unique for full-rank A (there is no gauge), so both give the
    same result. Any other value raises ValueError.
    """
    _gauge.wants(gauge)
    st = matrix_stack(A)
    _, _, _, Q, P = _polar_factors(st)
    return Polar(Q.reshape(st.shape(st.m, st.n)), P.reshape(st.shape(st.n, st.n)))


def polar_vjp(A, *, gauge=None, project=None, **opts):
    """Polar decomposition and its pullback ``pullback(dQ=None, dP=None) -> dA``.

    ``gauge``: None or "canonical", a no-op (see :func:`polar`).
    ``project``: structure of the returned cotangent (see linalgad.project).
    """
    _gauge.wants(gauge)
    st = matrix_stack(A)
    opt = options(st.dtype, **opts)
    U, s, Vh, Q, P = _polar_factors(st)
    res = Polar(Q.reshape(st.shape(st.m, st.n)), P.reshape(st.shape(st.n, st.n)))
    for a in res:
        a.flags.writeable = False

    def pullback(dQ=None, dP=None):
        # inf/nan: the core checks the cotangents as it reads them
        gQ = cotangent(dQ, "dQ", res.Q.shape, st.dtype, of="Q", finite=False)
        gP = cotangent(dP, "dP", res.P.shape, st.dtype, of="P", finite=False)
        if gQ is None and gP is None:
            return finish_cotangent(np.zeros((st.B, st.m, st.n), st.dtype), st, project)
        out = _apply(U, s, Vh, None if gQ is None else gQ.reshape(st.B, st.m, st.n), st, opt,
                     "polar_vjp", None if gP is None else gP.reshape(st.B, st.n, st.n),
                     check_finite=("dQ", "dP"))
        return finish_cotangent(out, st, project)

    return res, pullback


def polar_jvp(A, dA, *, gauge=None, **opts):
    """Polar decomposition and its tangent along dA: ``(Polar(Q, P), Polar(dQ, dP))``.

    ``gauge``: None or "canonical", a no-op (see :func:`polar`).
    """
    _gauge.wants(gauge)
    st = matrix_stack(A)
    opt = options(st.dtype, **opts)
    dA3 = cotangent(dA, "dA", st.shape(st.m, st.n), st.dtype, of="A").reshape(st.data.shape)
    U, s, Vh, Q, P = _polar_factors(st)
    dQ, dP = _pushforward(U, s, Vh, dA3, st, opt, "polar_jvp", Q, st.data)
    res = Polar(Q.reshape(st.shape(st.m, st.n)), P.reshape(st.shape(st.n, st.n)))
    return res, Polar(dQ.reshape(res.Q.shape), dP.reshape(res.P.shape))


def _pushforward(U, s, Vh, dA3, st, opt, rule, Q, A):
    """(dQ, dP) along dA3; Q = U Vh and A = U S Vh as (B, ...) stacks."""
    dQ = _apply(U, s, Vh, dA3, st, opt, rule)
    dP = _herm(dQ.conj().swapaxes(-1, -2) @ A + Q.conj().swapaxes(-1, -2) @ dA3)
    return dQ, dP


def polar_pullback(U, S, Vh, dQ=None, dP=None, **opts):
    """The polar pullback from the thin SVD of A: ``dA`` for cotangents of
    Q = U Vh and P = V S Vh.

    Stateless form of ``polar_vjp(A)[1]``: U (..., m, k), S (..., k),
    Vh (..., k, n) with k = min(m, n) (``numpy.linalg.svd(A,
    full_matrices=False)``); leading axes broadcast with dQ (..., m, n) and
    dP (..., n, n). ``**opts``: degeneracy, tol, eps (zero singular values
    only). ``project=`` needs the input: use :func:`polar_vjp`.
    """
    rule = "polar_pullback"
    fr, U3, s3, Vh3 = svd_frame(rule, U, S, Vh, [("dQ", dQ, 2), ("dP", dP, 2)])
    opt = options(fr.dtype, **opts)
    gQ = cotan(dQ, "dQ", fr.batch, (fr.m, fr.n), fr.dtype, of="Q")
    gP = cotan(dP, "dP", fr.batch, (fr.n, fr.n), fr.dtype, of="P")
    if gQ is None and gP is None:
        return np.zeros(fr.shape(fr.m, fr.n), fr.dtype)
    out = _apply(U3, s3, Vh3, gQ, fr, opt, rule, gP, check_finite=("dQ", "dP"))
    return out.reshape(fr.shape(fr.m, fr.n))


def polar_pushforward(U, S, Vh, dA, **opts):
    """The polar tangent from the thin SVD of A: ``Polar(dQ, dP)`` along
    ``dA`` (stateless form of ``polar_jvp(A, dA)[1]``; factors as in
    :func:`polar_pullback`)."""
    rule = "polar_pushforward"
    fr, U3, s3, Vh3 = svd_frame(rule, U, S, Vh, [("dA", dA, 2)])
    opt = options(fr.dtype, **opts)
    dA3 = cotan(dA, "dA", fr.batch, (fr.m, fr.n), fr.dtype, of="A", finite=True)
    Q, A = U3 @ Vh3, (U3 * s3[:, None, :].astype(fr.dtype)) @ Vh3
    dQ, dP = _pushforward(U3, s3, Vh3, dA3, fr, opt, rule, Q, A)
    return Polar(dQ.reshape(fr.shape(fr.m, fr.n)), dP.reshape(fr.shape(fr.n, fr.n)))
