"""The two errors of linalgad and the messages of the core's status codes."""

__all__ = ["DegeneracyError", "GaugeError", "raise_core"]


class DegeneracyError(ValueError):
    """A derivative does not exist because two eigen/singular values coincide
    (or a singular value is zero) and the cotangent touches their vectors."""


class GaugeError(ValueError):
    """The cotangent depends on an arbitrary choice of the factors (the phase
    of a vector, or the basis inside a degenerate block), so the loss is not
    a function of the input and has no gradient."""


# Status codes of linalgad/_policy.pxi (keep in step).
E_DEGENERATE, E_RANKDEF, E_GAUGE_PHASE, E_GAUGE_BLOCK = 1, 2, 3, 4
E_NEGATIVE, E_DOMAIN, E_ILLCOND, E_NOMEM, E_NONFINITE = 5, 6, 7, 8, 9


def _where(batch_shape, b):
    if not batch_shape:
        return ""
    import numpy as np

    return f" of matrix {tuple(int(i) for i in np.unravel_index(b, batch_shape))}"


_SPAN_REMEDY = (
    "make the loss see that block's vectors only through their span (e.g. the projector onto "
    "it, which is a function of A)"
)
_LORENTZ_REMEDY = "to regularise, pass degeneracy='lorentz'"


def _subspace_remedies(remedies):
    """What to do when degeneracy='subspace' itself fails: the rule's
    remedies without the clause that suggests 'subspace', after the span
    condition that mode needs; 'lorentz' is always offered."""
    alts = [c.strip() for c in remedies.split(";") if c.strip() and "subspace" not in c]
    if not any("lorentz" in c for c in alts):
        alts.append(_LORENTZ_REMEDY)
    return "; ".join([_SPAN_REMEDY] + alts)


def raise_core(err, *, rule, values, vectors, remedies, batch_shape=()):
    """Turn a core error tuple into an exception.

    rule: the function name; values: "singular values" / "eigenvalues";
    vectors: how the factors are named in a phase message, e.g.
    "U[:, {i}] and V[:, {i}]"; remedies: what to do instead of a degenerate
    vector derivative (one clause, starting with a verb).
    """
    code, b, i, j, x, y, val, lim = err
    at = _where(batch_shape, b)
    if code == E_DEGENERATE:
        raise DegeneracyError(
            f"{rule}: {values} {i} and {j}{at} are degenerate ({x:.6g} and {y:.6g}, gap {val:.3g} "
            f"<= tol {lim:.3g}) and the cotangent touches their vectors, whose derivative is not "
            f"defined there; {remedies}."
        )
    if code == E_RANKDEF:
        what = f"{values[:-1]} {i} is zero" if i == j else f"{values} {i} and {j} are both zero"
        raise DegeneracyError(
            f"{rule}: {what}{at} ({x:.3g}, <= tol {lim:.3g}): the input is rank-deficient and the "
            f"vectors of a zero {values[:-1]} are not unique, so their derivative is not defined; "
            f"make the loss independent of those vectors (e.g. use only the leading k with k=...), "
            f"or pass degeneracy='subspace' to drop the null-space terms, or 'lorentz' to regularise."
        )
    if code == E_GAUGE_PHASE:
        raise GaugeError(
            f"{rule}: the loss depends on the complex phase of {vectors.format(i=i)}{at} "
            f"(phase derivative {val:.3g} > gauge_tol * |cotangent| = {lim:.3g}), which is arbitrary; "
            f"make the loss invariant under multiplying that vector by exp(i*theta) "
            f"(use abs(), projectors such as V @ V^H, or functions of A), or fix the gauge first "
            f"with gauge='canonical'."
        )
    if code == E_GAUGE_BLOCK:
        # raised in degeneracy='subspace' mode: the rule's remedies minus the
        # one that suggests that very mode
        raise GaugeError(
            f"{rule}: degeneracy='subspace' assumes the loss depends on the degenerate {values} "
            f"{i} and {j}{at} ({x:.6g}, {y:.6g}) only through the span of their vectors, but the "
            f"cotangent rotates inside that span (size {val:.3g} > {lim:.3g}), so the derivative is "
            f"not defined; {_subspace_remedies(remedies)}."
        )
    if code == E_NEGATIVE:
        raise ValueError(
            f"{rule}: degeneracy='taylor' needs a positive semi-definite spectrum, but {values[:-1]} "
            f"{i}{at} is {x:.6g}; shift the matrix or use 'lorentz'."
        )
    if code == E_DOMAIN:
        raise ValueError(f"{rule}: {values[:-1]} {i}{at} = {x:.6g} is outside the domain of the function.")
    if code == E_ILLCOND:
        raise DegeneracyError(
            f"{rule}: the eigenvector matrix{at} is (nearly) singular (condition number {val:.3g} > "
            f"{lim:.3g}): the input is (nearly) defective and its eigenvectors have no derivative; "
            f"use eigvals-only losses, a Schur form, or a Hermitian formulation."
        )
    if code == E_NOMEM:
        raise MemoryError(f"{rule}: could not allocate the workspace")
    raise RuntimeError(f"{rule}: unknown core status {code}")
