"""Values-only forward mode (svdvals_jvp, eigvalsh_jvp, eigvals_jvp and their
stateless forms): the tangent of the values without the vectors'.

The tangent of a simple value is the diagonal of the projected tangent
C = U^H dA V (SVD: its real part), V^H H V (eigh) or V^-1 dA V (eig): no
1/gap anywhere, so a pair closer than the vectors' ``tol`` is no obstacle.
What the values themselves cannot resolve is a pair that is equal to working
precision (gap <= ``tol`` * scale, with the rules' default, 32 eps, linalgad._options):
there the sorted values are differentiable along dA only when the tangent
moves the block as a whole, i.e. C restricted to the block (its Hermitian
part for the SVD) is a multiple of the identity; otherwise they have a kink
(A = I, dA = diag(1, 2): the two sorted values swap slopes at t = 0). A zero
singular value has the kink of |x| unless the tangent leaves it at zero
(the block of U^H dA V on the zero values, and for a rectangular A the
component of dA that leaves the row or column space of the other values,
vanish).

Modes (``degeneracy=``): "strict" refuses those with DegeneracyError;
"subspace" gives each degenerate block the mean of its diagonal (the
derivative of any symmetric function of the block, e.g. its sum); "exact",
"lorentz" and "taylor" return the diagonal as it comes (what PyTorch and JAX
return), as the regularisations concern 1/gap, which values do not have.
"""

import numpy as np

from .._errors import DegeneracyError, _where as where
from .._options import options, DEFAULT_TOL_EPS

__all__ = ["VALUES_TOL", "values_options", "resolve", "where"]

VALUES_TOL: int = DEFAULT_TOL_EPS  # times eps: values equal to working precision (one default for all rules)


def values_options(dtype, opts):
    """The options of a values-only rule: ``tol`` defaults to VALUES_TOL eps."""
    if opts.get("tol") is None:
        opts = dict(opts, tol=VALUES_TOL * float(np.finfo(np.dtype(dtype)).eps))
    return options(dtype, **opts)


def _groups(near):
    """Connected components (of size > 1) of the boolean pair matrix ``near``."""
    k = near.shape[0]
    seen = np.zeros(k, bool)
    out = []
    for i in range(k):
        if seen[i] or not near[i].any():
            continue
        stack, comp = [i], []
        seen[i] = True
        while stack:
            j = stack.pop()
            comp.append(j)
            for l in np.nonzero(near[j] & ~seen)[0]:
                seen[l] = True
                stack.append(int(l))
        out.append(sorted(comp))
    return out


def resolve(rule, what, vals, d, coupling, opt, batch, *, zero=None):
    """Check (strict) or average (subspace) the tangent ``d`` (B, k) of the
    values ``vals`` (B, k) where they are degenerate.

    ``coupling(b)``: the projected tangent C (k, k) of matrix b (computed
    only for matrices with a degenerate pair); ``zero(b, idx)``: for the SVD,
    the size of the part of the tangent that moves the zero singular values
    ``idx`` off zero. ``what``: "singular values" or "eigenvalues".
    """
    if opt.degeneracy not in ("strict", "subspace") or vals.shape[-1] == 0:
        return d
    scale = np.abs(vals).max(axis=-1)
    lim = opt.tol * scale
    gaps = np.abs(vals[:, :, None] - vals[:, None, :])
    near = gaps <= lim[:, None, None]
    k = vals.shape[-1]
    near[:, np.arange(k), np.arange(k)] = False
    zeros = (np.abs(vals) <= lim[:, None]) if zero is not None else np.zeros(vals.shape, bool)
    for b in np.nonzero(near.any(axis=(1, 2)) | zeros.any(axis=1))[0]:
        C = coupling(b)
        tol_c = opt.gauge_tol * np.abs(C).max()
        at = where(batch, b)
        z = np.nonzero(zeros[b])[0]
        if z.size and opt.degeneracy == "strict":
            r = zero(b, z)
            if r > opt.gauge_tol * max(r, np.abs(C).max()):
                raise DegeneracyError(
                    f"{rule}: {what[:-1]} {int(z[0])}{at} is zero ({vals[b, z[0]]:.3g} <= tol * scale "
                    f"= {lim[b]:.3g}) and the tangent moves it off zero (size {r:.3g}, more than "
                    f"gauge_tol = {opt.gauge_tol:.3g} of the projected tangent): a singular value is |x| there, which has "
                    f"no derivative; use a loss smooth at zero (e.g. sum(S**2) = ||A||_F^2), or "
                    f"pass degeneracy='exact' for the one-sided slope Re(u^H dA v).")
        for g in _groups(near[b]):
            Cg = C[np.ix_(g, g)]
            diag = np.diagonal(Cg)
            if opt.degeneracy == "subspace":
                d[b, g] = diag.mean().real if not np.iscomplexobj(d) else diag.mean()
                continue
            off = np.abs(Cg - np.diag(diag)).max() if len(g) > 1 else 0.0
            spread = np.abs(diag - diag.mean()).max()
            if max(off, spread) > tol_c:
                i, j = g[0], g[1]
                raise DegeneracyError(
                    f"{rule}: {what} {i} and {j}{at} are equal to working precision "
                    f"({vals[b, i]:.6g} and {vals[b, j]:.6g}, gap {gaps[b, i, j]:.3g} <= tol "
                    f"{lim[b]:.3g}) and the tangent does not move them together (the projected "
                    f"tangent on their vectors is not a multiple of the identity: "
                    f"{max(off, spread):.3g} > {tol_c:.3g}), so the {what} have a kink here "
                    f"(they cross) and no derivative in this direction; use a function symmetric in "
                    f"them (e.g. their sum) with degeneracy='subspace', or degeneracy='exact' "
                    f"for the diagonal of the projected tangent in the computed basis.")
    return d
