"""Checks for rule authors: finite differences, adjointness, gauge-fixed FD.

Every check compares two numbers per direction E and raises AssertionError
naming the direction, both numbers, the absolute and relative error and the
tolerance; on success it returns a :class:`CheckReport` (printable).

Pass criterion, for a derivative ``d`` (from the rule) and a reference ``r``::

    |d - r| <= atol * ref + rtol * max(|d|, |r|)

with ``ref = ||G|| * ||E||`` (the Cauchy-Schwarz bound of the directional
derivative), so ``atol`` is relative to the problem's size and a direction in
which the derivative is ~0 does not need an exact zero. Finite differences
need gauge-invariant losses: use :func:`invariant_loss`. See docs/gauge.md.

Typical use in a rule's tests::

    A = random_matrix((2, 5, 5), np.complex128, kind="hermitian", seed=0)
    loss, dloss = invariant_loss("eigh", linalgad.eigh(A), seed=1)
    check_vjp(lambda X: linalgad.eigh_vjp(X, UPLO=None), A, loss, dloss, structure="hermitian")
    check_jvp(lambda X, E: linalgad.eigh_jvp(X, E, UPLO=None), A, loss, dloss, structure="hermitian")
    check_adjoint(lambda X: linalgad.eigh_vjp(X, UPLO=None),
                  lambda X, E: linalgad.eigh_jvp(X, E, UPLO=None), A, dloss, structure="hermitian")
    check_fd_gauge_fixed(linalgad.eigh_jvp, A, linalgad.gauge.fix_eigh, primal=linalgad.eigh,
                         structure="hermitian")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
from numpy.typing import DTypeLike

from ._typing import Array, ArrayLike

__all__ = [
    "TOLERANCES", "tolerance", "random_matrix", "direction", "check_vjp", "check_jvp",
    "check_adjoint", "check_fd_gauge_fixed", "invariant_loss", "CheckReport",
]

# (rtol, atol). 64-bit: a 4-point central difference in float64 at the default
# step is accurate to ~1e-9 relative on well-separated spectra. 32-bit: the
# rule runs in float32 (eps 1.2e-7, amplified by 1/gap) and is compared with a
# float64 difference.
TOLERANCES = {
    np.dtype("float64"): (1e-6, 1e-8),
    np.dtype("complex128"): (1e-6, 1e-8),
    np.dtype("float32"): (1e-3, 1e-4),
    np.dtype("complex64"): (1e-3, 1e-4),
}

# Adjointness has no truncation error: 64-bit dtypes get a tighter default.
_ADJOINT_FACTOR = {"f8": 1e-3, "c16": 1e-3, "f4": 1.0, "c8": 1.0}

_STRUCTURES = (None, "hermitian", "lower", "upper", "real", "diagonal")


def _dtype_of(A):
    dt = np.dtype(A.dtype)
    if dt.kind in "biu":
        return np.dtype(np.float64)
    if dt not in TOLERANCES:
        raise TypeError(f"no tolerance for dtype {dt}; known: {sorted(map(str, TOLERANCES))}")
    return dt


def tolerance(dtype: DTypeLike) -> tuple[float, float]:
    """The default tolerances of the checks for a dtype.

    Parameters
    ----------
    dtype : dtype_like
        float32, float64, complex64 or complex128 (integers count as
        float64).

    Returns
    -------
    (rtol, atol) : tuple of float
        From ``TOLERANCES``.

    Raises
    ------
    TypeError
        For a dtype without a tolerance.

    Notes
    -----
    A check passes when ``|d - r| <= atol * ref + rtol * max(|d|, |r|)``,
    ``ref = ||G|| ||E||``.

    Examples
    --------
    >>> import numpy as np
    >>> from linalgad.testing import tolerance
    >>> tolerance(np.float64)
    (1e-06, 1e-08)
    """
    dt = np.dtype(dtype)
    if dt.kind in "biu":
        dt = np.dtype(np.float64)
    try:
        return TOLERANCES[dt.newbyteorder("=")]
    except KeyError:
        raise TypeError(f"no tolerance for dtype {dt}; known: {sorted(map(str, TOLERANCES))}") from None


def _wide(dtype):
    """The 64-bit dtype of the same kind (finite differences run there)."""
    return np.dtype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64)


def _issparse(A):
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover
        return False
    return sp.issparse(A)


def _dense(X):
    if X is None:
        return None
    return X.toarray() if _issparse(X) else np.asarray(X)


# ---------------------------------------------------------------- test data

def _haar(rng, batch, m, k, cplx):
    """Random m x k matrices with orthonormal columns (Haar, via QR)."""
    Z = rng.standard_normal(batch + (m, k))
    if cplx:
        Z = Z + 1j * rng.standard_normal(batch + (m, k))
    Q, R = np.linalg.qr(Z)
    d = np.diagonal(R, axis1=-2, axis2=-1)
    ph = np.where(np.abs(d) > 0, d / np.where(np.abs(d) > 0, np.abs(d), 1), 1)
    return Q * np.conj(ph)[..., None, :]


def _default_values(rng, batch, k, kind):
    """Well separated (gaps >= 0.75), O(1..k) values; descending for
    "general" (singular values), ascending otherwise (eigenvalues)."""
    u = rng.random(batch + (k,))
    i = np.arange(k, dtype=float)
    if kind == "general":
        return (k - i) + 0.25 * u
    if kind == "psd":
        return (1.0 + i) + 0.25 * u
    return (i - (k - 1) / 2.0) + 0.25 * u


def random_matrix(shape: tuple[int, ...], dtype: DTypeLike = np.float64, *,
                  kind: Literal["general", "hermitian", "psd", "unitary"] = "general",
                  spectrum: ArrayLike | None = None, gap: float | None = None,
                  rank: int | None = None, seed: int | None = None) -> Array:
    """A seeded random stack of matrices with a chosen spectrum.

    Parameters
    ----------
    shape : tuple of int
        ``(..., m, n)``.
    dtype : dtype_like, default float64
        Complex dtypes give complex matrices.
    kind : {"general", "hermitian", "psd", "unitary"}, default "general"
        "general": ``U diag(s) V^H`` with Haar U, V; "hermitian":
        ``V diag(w) V^H``; "psd": the same with ``w >= 0``; "unitary":
        orthonormal columns (rows when wide).
    spectrum : array_like, optional
        The singular values (general) or eigenvalues (hermitian/psd),
        broadcast over the batch; default: well separated O(1) values.
    gap : float, optional
        The two leading values are exactly ``gap`` apart, the others stay
        well separated.
    rank : int, optional
        The number of non-zero values (the smallest are set to zero).
    seed : int, optional
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    ndarray, shape ``shape``

    Raises
    ------
    ValueError
        For a bad shape, kind or spectrum.

    Notes
    -----
    Haar-distributed factors come from the QR of a Gaussian matrix with the
    phases of R's diagonal divided out.

    Examples
    --------
    >>> import numpy as np
    >>> from linalgad.testing import random_matrix
    >>> A = random_matrix((3, 3), kind="hermitian", spectrum=[1.0, 2.0, 4.0], seed=0)
    >>> np.allclose(np.linalg.eigvalsh(A), [1, 2, 4])
    True
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError(f"shape must be (..., m, n), got {shape}")
    dt = np.dtype(dtype)
    if dt.kind not in "fc":
        raise TypeError(f"dtype must be a float or complex dtype, got {dt}")
    if kind not in ("general", "hermitian", "psd", "unitary"):
        raise ValueError(f"kind must be 'general', 'hermitian', 'psd' or 'unitary', got {kind!r}")
    rng = np.random.default_rng(seed)
    batch, (m, n) = shape[:-2], shape[-2:]
    cplx = dt.kind == "c"
    if kind == "unitary":
        if spectrum is not None or gap is not None or rank is not None:
            raise ValueError("kind='unitary' takes no spectrum, gap or rank")
        Q = _haar(rng, batch, max(m, n), min(m, n), cplx)
        return (Q if m >= n else np.conj(Q).swapaxes(-1, -2)).astype(dt)
    if kind != "general" and m != n:
        raise ValueError(f"kind={kind!r} needs square matrices, got shape {shape}")
    k = min(m, n)
    if spectrum is None:
        vals = _default_values(rng, batch, k, kind)
    else:
        vals = np.array(np.broadcast_to(np.asarray(spectrum, dtype=float), batch + (k,)))
        if kind in ("general", "psd") and (vals < 0).any():
            raise ValueError(f"spectrum of kind={kind!r} must be >= 0")
    if gap is not None:
        if k < 2:
            raise ValueError("gap needs at least 2 singular/eigen-values")
        if kind == "general":
            o = np.argsort(-vals, axis=-1)
        else:
            o = np.argsort(vals, axis=-1)[..., ::-1]
        top2 = np.take_along_axis(vals, o[..., 1:2], axis=-1)
        np.put_along_axis(vals, o[..., 0:1], top2 + float(gap), axis=-1)
    if rank is not None:
        if not 0 <= rank <= k:
            raise ValueError(f"rank must be in [0, {k}], got {rank}")
        o = np.argsort(np.abs(vals), axis=-1, kind="stable")
        np.put_along_axis(vals, o[..., : k - rank], 0.0, axis=-1)
    if kind == "general":
        U = _haar(rng, batch, m, k, cplx)
        V = _haar(rng, batch, n, k, cplx)
        A = (U * vals[..., None, :]) @ np.conj(V).swapaxes(-1, -2)
    else:
        V = _haar(rng, batch, n, n, cplx)
        A = (V * vals[..., None, :]) @ np.conj(V).swapaxes(-1, -2)
        A = 0.5 * (A + np.conj(A).swapaxes(-1, -2))
    return A.astype(dt)


def _structured(E, structure):
    if structure is None or structure == "real":
        return E
    if structure == "hermitian":
        if E.shape[-1] != E.shape[-2]:
            raise ValueError(f"structure='hermitian' needs square matrices, got {E.shape}")
        return 0.5 * (E + np.conj(E).swapaxes(-1, -2))
    if structure == "lower":
        return np.tril(E)
    if structure == "upper":
        return np.triu(E)
    if structure == "diagonal":
        d = np.diagonal(E, axis1=-2, axis2=-1)
        out = np.zeros_like(E)
        idx = np.arange(d.shape[-1])
        out[..., idx, idx] = d
        return out
    raise ValueError(f"structure must be one of {_STRUCTURES}, got {structure!r}")


def direction(A: Any, *, structure: Literal["hermitian", "lower", "upper", "real",
                                              "diagonal"] | None = None,
              seed: int | None = None) -> Any:
    """A random tangent of A's shape and dtype (standard normal entries).

    Parameters
    ----------
    A : array_like or scipy.sparse matrix
        The point; the tangent has its shape and dtype.
    structure : {None, "hermitian", "lower", "upper", "real", "diagonal"}
        The structure of the tangent ("real": real entries even for a
        complex A).
    seed : int, optional
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    ndarray or scipy.sparse matrix
        For a scipy.sparse A, random values on its stored pattern, in its
        format.

    Raises
    ------
    ValueError
        For an unknown structure (a sparse A takes None or "real").

    Notes
    -----
    Standard normal entries, then the structure's projection (e.g.
    ``(E + E^H) / 2`` for "hermitian").

    Examples
    --------
    >>> import numpy as np
    >>> from linalgad.testing import direction
    >>> E = direction(np.zeros((3, 3)), structure="hermitian", seed=0)
    >>> np.allclose(E, E.T)
    True
    """
    rng = np.random.default_rng(seed)
    if _issparse(A):
        if structure not in (None, "real"):
            raise ValueError("a sparse A takes structure None or 'real' (values on its pattern)")
        S = A.tocoo()
        cplx = np.dtype(A.dtype).kind == "c" and structure != "real"
        v = rng.standard_normal(S.nnz)
        if cplx:
            v = v + 1j * rng.standard_normal(S.nnz)
        import scipy.sparse as sp
        out = sp.coo_matrix((v.astype(A.dtype), (S.row, S.col)), shape=A.shape)
        return out.asformat(A.format)
    A = np.asarray(A)
    dt = _dtype_of(A)
    E = rng.standard_normal(A.shape)
    if dt.kind == "c" and structure != "real":
        E = E + 1j * rng.standard_normal(A.shape)
    return _structured(E, structure).astype(dt)


# ---------------------------------------------------------------- reports

@dataclass
class CheckRow:
    label: str
    computed: float
    reference: float
    abs_err: float
    rel_err: float
    tol: float

    @property
    def ok(self):
        return self.abs_err <= self.tol


@dataclass
class CheckReport:
    """Result of a check: one row per direction (and factor)."""

    name: str
    what: str
    rows: list = field(default_factory=list)
    hint: str = ""
    localized: list = field(default_factory=list)  # (batch index, row) after a failure

    @property
    def ok(self):
        return all(r.ok for r in self.rows)

    @property
    def max_rel_err(self):
        return max((r.rel_err for r in self.rows), default=0.0)

    @staticmethod
    def _line(r):
        return (f"  {r.label:<32}{r.computed:>15.8g}{r.reference:>15.8g}{r.abs_err:>11.3g}"
                f"{r.rel_err:>11.3g}{r.tol:>11.3g}{'' if r.ok else '  <-- FAIL'}\n")

    def __str__(self):
        head = f"{self.name}: {self.what}\n"
        cols = f"  {'direction':<32}{'rule':>15}{'reference':>15}{'abs err':>11}{'rel err':>11}{'tol':>11}\n"
        body = "".join(self._line(r) for r in self.rows)
        if self.localized:
            bad = [str(b) for b, r in self.localized if not r.ok]
            body += (f"  per matrix of the batch: failing {', '.join(bad) or 'none alone'}\n"
                     + "".join(self._line(r) for _, r in self.localized))
        return head + cols + body

    __repr__ = __str__

    def _raise_if_failed(self):
        if not self.ok:
            bad = [r for r in self.rows if not r.ok]
            first = bad[0]
            raise AssertionError(
                f"{self.name} failed in {len(bad)} of {len(self.rows)} checks; first: direction "
                f"{first.label}: rule gives {first.computed!r}, reference {first.reference!r} "
                f"(abs err {first.abs_err:.3g}, rel err {first.rel_err:.3g}, tol {first.tol:.3g})\n"
                + self.hint + str(self)
            )
        return self


def _row(label, d, r, ref, rtol, atol, noise=0.0):
    """``noise``: the rounding level of a finite difference r, added to the
    tolerance (it matters where the derivative is ~0 but the loss is not)."""
    d, r = float(d), float(r)
    err = abs(d - r)
    big = max(abs(d), abs(r))
    rel = err / big if big > 0 else (0.0 if err == 0 else np.inf)
    return CheckRow(label, d, r, err, rel, atol * ref + rtol * big + noise)


def _rdot(X, Y):
    """Re<X, Y> = Re sum(conj(X) * Y)."""
    return float(np.real(np.vdot(np.asarray(X).ravel(), np.asarray(Y).ravel())))


def _norm(X):
    return float(np.linalg.norm(np.asarray(X).ravel()))


# ---------------------------------------------------------------- finite differences

_STENCILS = {
    2: ((-1, 1), (-0.5, 0.5)),
    4: ((-2, -1, 1, 2), (1 / 12, -8 / 12, 8 / 12, -1 / 12)),
    6: ((-3, -2, -1, 1, 2, 3), (-1 / 60, 9 / 60, -45 / 60, 45 / 60, -9 / 60, 1 / 60)),
}


def _stencil(points):
    p = 4 if points == 5 else points  # the 5-point stencil has a zero centre weight
    if p not in _STENCILS:
        raise ValueError(f"points must be 2, 4, 5 or 6, got {points!r}")
    return _STENCILS[p], p


def _maxabs(A):
    if _issparse(A):
        return float(abs(A).max()) if A.nnz else 0.0
    A = np.asarray(A)
    return float(np.abs(A).max()) if A.size else 0.0


def _upcast(A):
    if _issparse(A):
        return A.astype(_wide(_dtype_of(A)))
    A = np.asarray(A)
    return A.astype(_wide(_dtype_of(A)))


def _step(A, E, points, step):
    """Step along E: eps64^(1/(p+1)) (the optimum of truncation vs rounding
    for a p-th order stencil) times max|A|, per unit max|E|."""
    (_, _), p = _stencil(points)
    if step is not None:
        return float(step)
    scale = _maxabs(A) or 1.0
    return np.finfo(np.float64).eps ** (1.0 / (p + 1)) * scale / (_maxabs(E) or 1.0)


def _as64(x):
    x = np.asarray(x)
    return x.astype(_wide(x.dtype)) if x.dtype.kind in "fc" else x.astype(np.float64)


def _fd(f, A, E, h, points):
    """sum_k w_k f(A + c_k h E) / h, summed as w_k (f(+c_k h) - f(-c_k h)) so
    that a function constant along E gives exactly 0; f returns an array or a
    tuple of arrays."""
    (cs, ws), _ = _stencil(points)
    acc = None
    for c, w in zip(cs, ws):
        if c < 0:
            continue  # antisymmetric stencils: w(-c) = -w(c)
        fp, fm = f(A + (c * h) * E), f(A - (c * h) * E)
        if isinstance(fp, tuple):
            v = tuple(None if x is None else w * (_as64(x) - _as64(y)) for x, y in zip(fp, fm))
            acc = v if acc is None else tuple(None if a is None else a + b for a, b in zip(acc, v))
        else:
            v = w * (_as64(fp) - _as64(fm))
            acc = v if acc is None else acc + v
    if isinstance(acc, tuple):
        return tuple(None if a is None else a / h for a in acc)
    return acc / h


def _fd_noise(f, A, h, points):
    """Rounding level of the difference of a scalar f: 8 eps |f(A)| / h."""
    (_, ws), _ = _stencil(points)
    return 8 * float(np.finfo(np.float64).eps) * abs(float(f(A))) * sum(abs(w) for w in ws) / h


_LOCALIZE_MAX = 16


def _localize(report, dirs, row):
    """On a failure with a batch of matrices, repeat the first failing
    direction restricted to each matrix (up to 16) to name the bad ones."""
    bad = [i for i, r in enumerate(report.rows) if not r.ok]
    if not bad:
        return
    label, E = dirs[bad[0]]
    if _issparse(E) or np.ndim(E) <= 2:
        return
    batch = E.shape[:-2]
    for b in list(np.ndindex(batch))[:_LOCALIZE_MAX]:
        Eb = np.zeros_like(E)
        Eb[b] = E[b]
        report.localized.append((b, row(f"{label} matrix {b}", Eb)))


_REFINE = (10.0, 1e2, 1e3, 1e4)


def _fd_row(f, A64, E64, points, step, label, d, ref, rtol, atol):
    """The check's row for derivative d against the finite difference of f.

    With the default step, a failing comparison is retried with steps
    h/10 ... h/1e4 (the default may straddle a small gap of the spectrum);
    the estimate used is the one where two consecutive steps agree best, a
    choice that does not look at d, so a wrong rule still fails.
    """
    h = _step(A64, E64, points, step)
    row = _row(label, d, _fd(f, A64, E64, h, points), ref, rtol, atol)
    if row.ok:
        return row
    f0 = []  # f(A), evaluated once, only when needed

    def noise(x):
        if not f0:
            f0.append(_fd_noise(f, A64, 1.0, points))
        return f0[0] / x
    row = _row(label, d, row.reference, ref, rtol, atol, noise(h))
    if step is not None or row.ok:
        return row
    hs = [h] + [h / r for r in _REFINE]
    vals = [row.reference] + [_fd(f, A64, E64, x, points) for x in hs[1:]]
    i = int(np.argmin([abs(b - a) for a, b in zip(vals, vals[1:])])) + 1
    return _row(f"{label} [h={hs[i]:.1g}]", d, vals[i], ref, rtol, atol, noise(hs[i]))


def _directions(A, n_directions, structure, seed):
    """(label, E) pairs: random E; for complex A also Re(E) and i Im(E)
    of the first one (both keep the structure)."""
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**63 - 1, size=max(n_directions, 1))
    out = [(f"random #{i}", direction(A, structure=structure, seed=int(s)))
           for i, s in enumerate(seeds[:n_directions])]
    cplx = np.dtype(A.dtype).kind == "c"
    if cplx and structure != "real" and out:
        E = out[0][1]
        extra = [("real part of #0", E.real.astype(E.dtype)),
                 ("imag part of #0", (1j * E.imag).astype(E.dtype))]
        out += [(lbl, X) for lbl, X in extra if _maxabs(X) > 0]  # a structure may zero one
    return out


def _tols(A, rtol, atol):
    r0, a0 = tolerance(_dtype_of(A))
    return (r0 if rtol is None else rtol), (a0 if atol is None else atol)


def _as_tuple(x):
    return tuple(x) if isinstance(x, tuple) else (x,)


def check_vjp(vjp: Callable[[Any], tuple[Any, Callable[..., Any]]], A: Any,
              loss: Callable[[Any], float], dloss: Callable[[Any], Any], *,
              n_directions: int = 3, structure: str | None = None, points: int = 4,
              step: float | None = None, rtol: float | None = None, atol: float | None = None,
              seed: int = 0) -> CheckReport:
    """Directional finite-difference check of a VJP.

    Parameters
    ----------
    vjp : callable
        ``vjp(A) -> (res, pullback)``.
    A : array_like or scipy.sparse matrix
        The point (float32/complex64 A are differenced in 64 bits; a sparse
        A is perturbed on its pattern).
    loss : callable
        ``loss(res)``, a real number, gauge invariant (see
        :func:`invariant_loss`).
    dloss : callable
        ``dloss(res)``, the tuple of cotangents passed positionally to
        ``pullback`` (None allowed).
    n_directions : int, default 3
        Random directions E (see :func:`direction`).
    structure : str, optional
        The structure of the directions.
    points : {2, 4, 6}, default 4
        The central-difference stencil (4 is the 5-point one, whose centre
        weight is 0).
    step : float, optional
        Default ``eps**(1/(points+1)) * max|A| / max|E|``; when that fails
        (it may straddle a small gap), steps down to 1e-4 of it are tried and
        the estimate where consecutive steps agree best is used (the row's
        label then shows the step). A given step is used as is.
    rtol, atol : float, optional
        Default :func:`tolerance` of A's dtype.
    seed : int, default 0
        Seed of the directions.

    Returns
    -------
    CheckReport
        One row per direction (printable).

    Raises
    ------
    AssertionError
        On failure (the report names the direction, both numbers and the
        errors), and on a rule that writes to A or to a cotangent.

    Notes
    -----
    Compares ``Re<pullback(*dloss(res)), E>`` with the central difference
    of ``t -> loss(vjp(A + t E)[0])``; passes when
    ``|d - r| <= atol * ||G|| ||E|| + rtol * max(|d|, |r|)``.

    Examples
    --------
    >>> import linalgad as la
    >>> from linalgad.testing import check_vjp, invariant_loss, random_matrix
    >>> A = random_matrix((4, 3), seed=0)
    >>> loss, dloss = invariant_loss("svd", la.svd(A, full_matrices=False), seed=1)
    >>> check_vjp(la.svd_vjp, A, loss, dloss).ok
    True
    """
    rtol, atol = _tols(A, rtol, atol)
    A0 = _snapshot(A)
    res, pullback = vjp(A)
    ct = _as_tuple(dloss(res))
    ct0 = [_snapshot(c) for c in ct]
    G = _dense(pullback(*ct))
    _unchanged("vjp", "A", A0, A)
    for i, (c0, c) in enumerate(zip(ct0, ct)):
        _unchanged("pullback", f"cotangent #{i}", c0, c)
    A64 = _upcast(A)
    report = CheckReport("check_vjp", "Re<pullback(dloss), E> vs finite difference of loss")
    report.hint = _gauge_hint(res, ct)
    def row(label, E):
        Ed = _dense(E)
        return _fd_row(lambda X: loss(vjp(X)[0]), A64, _upcast(E), points, step, label,
                       _rdot(G, Ed), _norm(G) * _norm(Ed), rtol, atol)

    dirs = _directions(A, n_directions, structure, seed)
    report.rows += [row(label, E) for label, E in dirs]
    _localize(report, dirs, row)
    return report._raise_if_failed()


def _snapshot(X):
    if X is None:
        return None
    return X.copy() if _issparse(X) else np.array(X, copy=True)


def _unchanged(who, what, before, after):
    """The API promises that nothing modifies its inputs."""
    if before is None:
        return
    b, a = _dense(before), _dense(after)
    if b.shape != a.shape or not np.array_equal(b, a, equal_nan=True):
        raise AssertionError(f"{who} modified its input {what} (linalgad never writes to inputs)")


def _gauge_hint(res, ct):
    """A note for failure messages when the cotangent sees the gauge."""
    try:
        from .gauge import gauge_report
        rep = gauge_report(res, ct)
    except Exception:  # not an SVD/Eigh/Eig result, or unusual cotangents
        return ""
    if rep.ok:
        return ""
    return ("note: the loss is not gauge invariant, so finite differences of it are "
            f"meaningless (phase part {rep.phase_rel:.2g}, degenerate-block part "
            f"{rep.block_rel:.2g} of the cotangent; see linalgad.gauge_report)\n")


def _tangent_dot(ct, tan):
    total = 0.0
    ct, tan = _as_tuple(ct), _as_tuple(tan)
    if len(ct) != len(tan):
        raise ValueError(f"dloss gives {len(ct)} cotangents but the tangent has {len(tan)} parts")
    for c, t in zip(ct, tan):
        if c is not None and t is not None:
            total += _rdot(c, t)
    return total


def _pair_norm(ct, tan):
    return float(np.sqrt(sum(_norm(c) ** 2 * _norm(t) ** 2 for c, t in zip(_as_tuple(ct), _as_tuple(tan))
                             if c is not None and t is not None)))


def check_jvp(jvp: Callable[[Any, Any], tuple[Any, Any]], A: Any,
              loss: Callable[[Any], float], dloss: Callable[[Any], Any], *,
              n_directions: int = 3, structure: str | None = None, points: int = 4,
              step: float | None = None, rtol: float | None = None, atol: float | None = None,
              seed: int = 0) -> CheckReport:
    """Directional finite-difference check of a JVP.

    Parameters
    ----------
    jvp : callable
        ``jvp(A, E) -> (res, tan)``.
    A, loss, dloss, n_directions, structure, points, step, rtol, atol, seed
        As in :func:`check_vjp`.

    Returns
    -------
    CheckReport
        One row per direction.

    Raises
    ------
    AssertionError
        On failure, or on a rule that writes to its tangent.

    Notes
    -----
    Compares ``sum_i Re<dloss(res)[i], tan[i]>`` (None entries skipped)
    with the central difference of ``t -> loss(jvp(A + t E, E)[0])``.

    Examples
    --------
    >>> import linalgad as la
    >>> from linalgad.testing import check_jvp, invariant_loss, random_matrix
    >>> A = random_matrix((3, 3), kind="hermitian", seed=0)
    >>> loss, dloss = invariant_loss("eigh", la.eigh(A), seed=1)
    >>> check_jvp(la.eigh_jvp, A, loss, dloss, structure="lower").ok
    True
    """
    rtol, atol = _tols(A, rtol, atol)
    A64 = _upcast(A)
    report = CheckReport("check_jvp", "sum_i Re<dloss_i, tangent_i> vs finite difference of loss")
    def row(label, E):
        E0 = _snapshot(E)
        res, tan = jvp(A, E)
        _unchanged("jvp", "tangent E", E0, E)
        ct = dloss(res)
        report.hint = report.hint or _gauge_hint(res, _as_tuple(ct))
        E64 = _upcast(E)
        return _fd_row(lambda X: loss(jvp(X, E64)[0]), A64, E64, points, step, label,
                       _tangent_dot(ct, tan), _pair_norm(ct, tan), rtol, atol)

    dirs = _directions(A, n_directions, structure, seed)
    report.rows += [row(label, E) for label, E in dirs]
    _localize(report, dirs, row)
    return report._raise_if_failed()


def check_adjoint(vjp: Callable[[Any], tuple[Any, Callable[..., Any]]],
                  jvp: Callable[[Any, Any], tuple[Any, Any]], A: Any,
                  dloss: Callable[[Any], Any], *, n_directions: int = 3,
                  structure: str | None = None, rtol: float | None = None,
                  atol: float | None = None, seed: int = 0) -> CheckReport:
    """The dot-product test of a VJP against a JVP (no finite differences).

    Parameters
    ----------
    vjp : callable
        ``vjp(A) -> (res, pullback)``.
    jvp : callable
        ``jvp(A, E) -> (res, tan)``.
    A : array_like
        The point.
    dloss : callable
        ``dloss(res)``: a gauge-invariant cotangent (else the JVP's gauge
        choice shows).
    n_directions, structure, seed
        As in :func:`check_vjp`.
    rtol, atol : float, optional
        Default: the dtype's :func:`tolerance`, times 1e-3 for 64-bit dtypes.

    Returns
    -------
    CheckReport
        One row per direction.

    Raises
    ------
    AssertionError
        On failure.

    Notes
    -----
    ``Re<pullback(*dloss(res)), E> == sum_i Re<dloss(res)[i], jvp(A, E)[1][i]>``.

    Examples
    --------
    >>> import linalgad as la
    >>> from linalgad.testing import check_adjoint, invariant_loss, random_matrix
    >>> A = random_matrix((4, 3), seed=0)
    >>> _, dloss = invariant_loss("svd", la.svd(A, full_matrices=False), seed=1)
    >>> check_adjoint(la.svd_vjp, la.svd_jvp, A, dloss).ok
    True
    """
    dt = _dtype_of(A)
    f = _ADJOINT_FACTOR[dt.str[1:]]
    r0, a0 = tolerance(dt)
    rtol = r0 * f if rtol is None else rtol
    atol = a0 * f if atol is None else atol
    res, pullback = vjp(A)
    ct = _as_tuple(dloss(res))
    G = _dense(pullback(*ct))
    report = CheckReport("check_adjoint", "Re<pullback(dloss), E> vs sum_i Re<dloss_i, jvp tangent_i>")
    report.hint = _gauge_hint(res, ct)
    for label, E in _directions(A, n_directions, structure, seed):
        _, tan = jvp(A, E)
        Ed = _dense(E)
        ref = max(_norm(G) * _norm(Ed), _pair_norm(ct, tan))
        report.rows.append(_row(label, _rdot(G, Ed), _tangent_dot(ct, tan), ref, rtol, atol))
    return report._raise_if_failed()


def check_fd_gauge_fixed(jvp: Callable[..., tuple[Any, Any]], A: Any,
                         fix: Callable[[Any], Any], *, primal: Callable[[Any], Any] | None = None,
                         n_directions: int = 3, structure: str | None = None, points: int = 4,
                         step: float | None = None, rtol: float | None = None,
                         atol: float | None = None, seed: int = 0) -> CheckReport:
    """Finite differences of gauge-fixed factors against the canonical-gauge JVP.

    Parameters
    ----------
    jvp : callable
        ``jvp(A, E, gauge="canonical") -> (res, tan)``.
    A : array_like
        The point.
    fix : callable
        ``fix(res) -> res`` puts a result in the canonical gauge (e.g.
        :func:`linalgad.gauge_fix`).
    primal : callable, optional
        ``primal(A) -> res``; default ``jvp(A, 0)[0]``.
    n_directions, structure, points, step, rtol, atol, seed
        As in :func:`check_vjp`.

    Returns
    -------
    CheckReport
        One row per direction and factor: the max-norms of the tangent and
        of the difference.

    Raises
    ------
    AssertionError
        On failure.

    Notes
    -----
    Compares ``tan[i]`` with the central difference of
    ``fix(primal(A + t E))[i]`` entrywise (max norm). The perturbed problems
    must keep the order of the values and the pivots of the gauge: with the
    default step a failure is retried with smaller steps (as in
    :func:`check_vjp`), which handles pivots whose two largest moduli are
    close.

    Examples
    --------
    >>> import linalgad as la
    >>> from linalgad.testing import check_fd_gauge_fixed, random_matrix
    >>> A = random_matrix((3, 3), seed=0)
    >>> check_fd_gauge_fixed(la.eig_jvp, A, la.gauge_fix, primal=la.eig).ok
    True
    """
    rtol, atol = _tols(A, rtol, atol)
    if primal is None:
        def primal(X):
            return jvp(X, np.zeros_like(_dense(X)))[0]
    A64 = _upcast(A)
    report = CheckReport("check_fd_gauge_fixed",
                         "canonical-gauge tangent vs finite difference of fix(primal) (max norms)")
    res_fixed = fix(primal(A))
    for i, (label, E) in enumerate(_directions(A, n_directions, structure, seed)):
        res, tan = jvp(A, E, gauge="canonical")
        names = getattr(res, "_fields", None) or [str(i) for i in range(len(_as_tuple(res)))]
        for nm, x, y in zip(names, _as_tuple(res), _as_tuple(res_fixed)):
            if i == 0 and x is not None and y is not None:
                # the canonical primal of the JVP must be fix(primal(A))
                diff = _maxabs(np.asarray(x) - np.asarray(y))
                scale = max(_maxabs(x), 1e-300)
                report.rows.append(CheckRow(f"{nm} (primal)", diff, 0.0, diff, diff / scale,
                                            (atol + rtol) * scale))
        E64 = _upcast(E)
        # yardstick of a factor's tangent: its size times the relative size of E
        rel_E = _maxabs(E64) / (_maxabs(A64) or 1.0)

        def rows(fd, tag):
            out = []
            for nm, t, d, x in zip(names, _as_tuple(tan), fd, _as_tuple(res_fixed)):
                if t is None or d is None:
                    continue
                t = np.asarray(t)
                err = _maxabs(t - d)
                big = max(_maxabs(t), _maxabs(d))
                rel = err / big if big > 0 else (0.0 if err == 0 else np.inf)
                floor = atol * _maxabs(x) * rel_E if x is not None else 0.0
                out.append(CheckRow(f"{label} d{nm}{tag}", _maxabs(t), _maxabs(d), err, rel,
                                    (atol + rtol) * big + floor))
            return out

        def fd_at(h):
            return _fd(lambda X: tuple(_as_tuple(fix(primal(X)))), A64, E64, h, points)
        h = _step(A64, E, points, step)
        new = rows(fd_at(h), "")
        if step is None and not all(r.ok for r in new):
            # a pivot near-tie or a small gap inside the default step: refine
            # as in _fd_row, choosing the step without looking at the tangent
            hs = [h] + [h / r for r in _REFINE]
            fds = [fd_at(x) for x in hs]

            def gap(a, b):
                return max(_maxabs(np.asarray(p) - np.asarray(q))
                           for p, q in zip(a, b) if p is not None and q is not None)
            i = int(np.argmin([gap(a, b) for a, b in zip(fds, fds[1:])])) + 1
            new = rows(fds[i], f" [h={hs[i]:.1g}]")
        report.rows += new
    return report._raise_if_failed()


# ---------------------------------------------------------------- standard losses

def _match(w0, w):
    """Permutation p (..., n) with w[..., p] nearest to w0, greedily in the
    order of w0 (enough for the small perturbations of a finite difference)."""
    w0b, wb = np.broadcast_arrays(w0, w)
    p = np.empty(wb.shape, dtype=np.intp)
    for idx in np.ndindex(wb.shape[:-1]):
        free = list(range(wb.shape[-1]))
        for i, x in enumerate(w0b[idx]):
            j = min(free, key=lambda k: abs(wb[idx][k] - x))
            p[idx + (i,)] = j
            free.remove(j)
    return p


def _weights(rng, like, cplx=None):
    like = np.asarray(like)
    W = rng.standard_normal(like.shape)
    if (np.iscomplexobj(like) if cplx is None else cplx):
        W = W + 1j * rng.standard_normal(like.shape)
    return W


def _herm_weights(rng, shape, cplx):
    """Seeded Hermitian (real symmetric) weights of shape (..., p, p)."""
    C = _weights(rng, np.empty(shape, complex if cplx else float))
    return 0.5 * (C + _H(C))


def _H(X):
    return np.conj(X).swapaxes(-1, -2)


def _cast(X, like):
    return np.asarray(X).astype(np.asarray(like).dtype)


def invariant_loss(kind: Literal["svd", "svdvals", "polar", "eigh", "eigvalsh", "eig", "funm"],
                   res: Any, *, seed: int = 0) -> tuple[Callable[[Any], float],
                                                        Callable[[Any], tuple[Any, ...]]]:
    """Standard gauge-invariant losses with seeded weights.

    Parameters
    ----------
    kind : {"svd", "svdvals", "polar", "eigh", "eigvalsh", "eig", "funm"}
        The decomposition (see Notes).
    res : tuple or ndarray
        An example result, which sizes the weights.
    seed : int, default 0
        Seed of the weights.

    Returns
    -------
    loss : callable
        ``loss(res) -> float``.
    dloss : callable
        ``dloss(res)``, the tuple of cotangents for the pullback.

    Raises
    ------
    ValueError
        For an unknown kind.

    Notes
    -----
    ``"svd"``: ``sum(ws*S) + sum(Wu*|U1|^2) + sum(Wv*|Vh1|^2)`` over the k = len(S)
    paired vectors, dloss = (2 Wu U, ws, 2 Wv Vh); for a ``full_matrices=True``
    result the extra columns U2 of U (rows Vh2 of Vh) enter only through their
    projectors, + Re tr(Cu U2 U2^H) + Re tr(Cv Vh2^H Vh2) with Hermitian
    weights, whose cotangents are 2 Cu U2 and 2 Vh2 Cv;
    ``"svdvals"``: sum(ws*S) (res an SVDResult or the array S);
    ``"polar"``: Re<G, Q> + Re<H, P>; ``"eigh"``: ``sum(c*w) + sum(W*|V|^2)``;
    ``"eigvalsh"``: sum(c*w) (res an EighResult or the array w);
    ``"eig"``: ``Re(sum(c*w)) + sum(W*|V|^2)``, dloss = (conj(c), 2 W V), the
    weights following each eigenvalue of ``res`` (nearest match), so a
    reordering by LAPACK does not change the loss;
    ``"funm"``: Re<G, F> for an array F.
    ``|x|^2`` is invariant under phases, not under rotations inside a degenerate
    block: use these on separated spectra. The extra columns of
    ``full_matrices=True`` (an arbitrary basis of a complement) are handled
    by the projector terms, so "svd" is a function of A for thin and full
    results alike.

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> from linalgad.testing import invariant_loss
    >>> res = la.eigh(np.diag([1.0, 2.0]))
    >>> loss, dloss = invariant_loss("eigh", res, seed=0)
    >>> isinstance(loss(res), float), len(dloss(res))
    (True, 2)
    """
    rng = np.random.default_rng(seed)
    if kind == "svd":
        U, S, Vh = res
        ws, Wu, Wv = _weights(rng, S, False), _weights(rng, U, False), _weights(rng, Vh, False)
        k = np.shape(S)[-1]
        # full_matrices=True: extra vectors beyond the k paired ones
        xu, xv = np.shape(U)[-1] > k, np.shape(Vh)[-2] > k
        Wu[..., k:] = 0
        Wv[..., k:, :] = 0
        cplx = np.iscomplexobj(U)
        Cu = _herm_weights(rng, np.shape(U)[:-1] + np.shape(U)[-2:-1], cplx) if xu else None
        Cv = _herm_weights(rng, np.shape(Vh)[:-2] + np.shape(Vh)[-1:] * 2, cplx) if xv else None

        def loss(r):
            out = np.sum(ws * r[1]) + np.sum(Wu * np.abs(r[0]) ** 2) + np.sum(Wv * np.abs(r[2]) ** 2)
            if xu:
                U2 = np.asarray(r[0])[..., k:]
                out += np.real(np.sum(Cu * np.conj(U2 @ _H(U2))))      # Re tr(Cu U2 U2^H)
            if xv:
                V2h = np.asarray(r[2])[..., k:, :]
                out += np.real(np.sum(Cv * np.conj(_H(V2h) @ V2h)))    # Re tr(Cv Vh2^H Vh2)
            return float(out)

        def dloss(r):
            dU, dVh = 2 * Wu * r[0], 2 * Wv * r[2]
            if xu:
                dU[..., k:] = 2 * Cu @ np.asarray(r[0])[..., k:]
            if xv:
                dVh[..., k:, :] = 2 * np.asarray(r[2])[..., k:, :] @ Cv
            return (_cast(dU, r[0]), _cast(ws, r[1]), _cast(dVh, r[2]))
        return loss, dloss
    if kind in ("svdvals", "eigvalsh"):
        fieldname = "S" if kind == "svdvals" else "eigenvalues"
        tup = hasattr(res, fieldname)
        vals = getattr(res, fieldname) if tup else res
        c = _weights(rng, vals, False)

        def loss(r):
            v = getattr(r, fieldname) if tup else r
            return float(np.sum(c * v))

        def dloss(r):
            if not tup:
                return (_cast(c, r),)
            v = getattr(r, fieldname)
            return tuple(_cast(c, v) if f == fieldname else None for f in r._fields)
        return loss, dloss
    if kind == "polar":
        Q, P = res
        G, H = _weights(rng, Q), _weights(rng, P)

        def loss(r):
            return _rdot(G, r[0]) + _rdot(H, r[1])

        def dloss(r):
            return (_cast(G, r[0]), _cast(H, r[1]))
        return loss, dloss
    if kind == "eigh":
        w, V = res
        c = _weights(rng, w)
        W = _weights(rng, V, False)

        def loss(r):
            return float(np.sum(c * r[0]) + np.sum(W * np.abs(r[1]) ** 2))

        def dloss(r):
            return (_cast(c, r[0]), _cast(2 * W * r[1], r[1]))
        return loss, dloss
    if kind == "eig":
        # eig's order is LAPACK's, not sorted: the weights follow each
        # eigenvalue of the example result (nearest match) so that the loss is
        # a function of A near it even if a perturbation reorders the output.
        w0, V = res
        w0 = np.array(w0)
        c = _weights(rng, w0)
        W = _weights(rng, V, False)

        def weights(r):
            p = _match(w0, np.asarray(r[0]))  # r[0][..., p] is in w0's order
            inv = np.argsort(p, axis=-1)
            ci = np.take_along_axis(np.broadcast_to(c, p.shape), inv, axis=-1)
            Wi = np.take_along_axis(np.broadcast_to(W, np.shape(r[1])), inv[..., None, :], axis=-1)
            return ci, Wi

        def loss(r):
            ci, Wi = weights(r)
            return float(np.real(np.sum(ci * r[0])) + np.sum(Wi * np.abs(r[1]) ** 2))

        def dloss(r):
            ci, Wi = weights(r)
            return (_cast(np.conj(ci), r[0]), _cast(2 * Wi * r[1], r[1]))
        return loss, dloss
    if kind == "funm":
        G = _weights(rng, res)

        def loss(F):
            return _rdot(G, F)

        def dloss(F):
            return (_cast(G, F),)
        return loss, dloss
    raise ValueError(
        f"kind must be 'svd', 'svdvals', 'polar', 'eigh', 'eigvalsh', 'eig' or 'funm', got {kind!r}")
