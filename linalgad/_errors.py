"""The two errors of linalgad and the messages of the core's status codes."""

__all__ = ["DegeneracyError", "GaugeError", "raise_core", "raise_defective"]


class DegeneracyError(ValueError):
    """A derivative does not exist, or cannot be computed to working accuracy:
    two eigen/singular values coincide (or a singular value is zero) and the
    cotangent touches their vectors or tells the values apart, or the input
    is (nearly) defective (eig)."""


class GaugeError(ValueError):
    """The cotangent depends on an arbitrary choice of the factors (the phase
    of a vector, or the basis inside a degenerate block), so the loss is not
    a function of the input and has no gradient."""


from ._status import Status   # the core's status codes, declared once in _status.pxd

# Forward mode: the functions of A whose tangent is exact where the factors' is not.
_FORWARD_FUNCTIONS = {
    "svd_jvp": "polar_jvp (U @ Vh) or svfunm_jvp (U g(S) Vh)",
    "eigh_jvp": "funm_jvp (V f(w) V^H)",
    "eig_jvp": "eigh_jvp or funm_jvp if A is Hermitian",
}


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


def _defective_advice(rule, vectors):
    """What to do at a (nearly) defective eig input; vectors: whether the
    cotangent or tangent reaches V."""
    if vectors and rule.endswith(("_jvp", "_pushforward")):
        return ("differentiate a function of A that does not need the eigenvectors "
                "(trace(A^k) = sum(w^k), det(A) = prod(w)), or, for a Hermitian A, use "
                "eigh_jvp or funm_jvp")
    if vectors:
        return ("make the loss a function of A that does not go through V (e.g. "
                "trace(A^k) = sum(w^k), or a Schur form), or, for a Hermitian A, use "
                "eigh_vjp or funm_vjp")
    return ("the eigenvalues of a (nearly) defective block have no derivative either "
            "(they move like sqrt(dA)); only symmetric functions of them are smooth: "
            "write the loss through trace(A^k) = sum(w^k) or det(A) = prod(w) instead "
            "of the individual eigenvalues")


def raise_defective(rule, *, batch_shape, b, cond, cond_max, vectors, pair=None):
    """Refuse matrix b of an eig stack as (nearly) defective: its eigenvector
    matrix's condition number ``cond`` exceeds ``cond_max``; ``pair``, for the
    default test (rules/eig.py): (i, j, w_i, w_j, pair condition number, its
    bound), the eigenvalue pair that also failed. vectors: whether the
    cotangent or tangent reaches V (the advice differs)."""
    at = _where(batch_shape, b)
    what = (f"the eigenvector matrix{at} is (nearly) singular (condition number {cond:.3g} > "
            f"cond_max = {cond_max:.3g})")
    error = "the error grows like eps * cond(V)^2"
    if pair is not None:
        i, j, wi, wj, c, c_max = pair
        what = (f"eigenvalues {i} and {j}{at} ({wi:.6g} and {wj:.6g}) are close and their "
                f"eigenvectors nearly parallel (condition number of the eigenvector matrix "
                f"{cond:.3g} > cond_max = {cond_max:.3g}, and of that eigenvalue pair {c:.3g} > "
                f"0.05/eps = {c_max:.3g})")
        error = "its relative error is about eps times the pair's condition number"
    raise DegeneracyError(
        f"{rule}: {what}: the input is (nearly) defective, where the derivative does not exist "
        f"or cannot be computed to working accuracy ({error}, docs/eig.md); "
        f"{_defective_advice(rule, vectors)}; or pass a larger cond_max (a bound on the "
        f"eigenvector matrix's condition number alone) to accept a less accurate result.")


def raise_core(err, *, rule, values, vectors, remedies, batch_shape=()):
    """Turn a core error tuple into an exception.

    rule: the function name; values: "singular values" / "eigenvalues";
    vectors: how the factors are named in a phase message, e.g.
    "U[:, {i}] and V[:, {i}]"; remedies: what to do instead of a degenerate
    vector derivative (one clause, starting with a verb).
    """
    code, b, i, j, x, y, val, lim = err
    at = _where(batch_shape, b)
    forward = rule.endswith(("_jvp", "_pushforward"))
    value = values[:-1]
    if code == Status.E_DEGENERATE and forward:
        raise DegeneracyError(
            f"{rule}: {values} {i} and {j}{at} are degenerate ({x:.6g} and {y:.6g}, gap {val:.3g} "
            f"<= tol {lim:.3g}) and the tangent dA couples them (it rotates their vectors into each "
            f"other), so the tangent of those vectors is not defined; if only their span matters, "
            f"pass degeneracy='subspace' (the rotation inside the block is set to zero); to "
            f"regularise, pass degeneracy='lorentz'; or differentiate a function of A instead: "
            f"{_FORWARD_FUNCTIONS.get(rule.replace('_pushforward', '_jvp'), 'a function of A')}, "
            f"exact at any degeneracy."
        )
    if code == Status.E_DEGENERATE:
        raise DegeneracyError(
            f"{rule}: {values} {i} and {j}{at} are degenerate ({x:.6g} and {y:.6g}, gap {val:.3g} "
            f"<= tol {lim:.3g}) and the cotangent touches their vectors, whose derivative is not "
            f"defined there; {remedies}."
        )
    if code == Status.E_SPLIT:
        raise DegeneracyError(
            f"{rule}: {values} {i} and {j}{at} are degenerate ({x:.6g} and {y:.6g}, within tol) "
            f"but their cotangents differ ({val:.3g} > gauge_tol * max |cotangent| = {lim:.3g}): "
            f"the loss tells apart members of a repeated {value}, which have no derivative there "
            f"(like max(x, y) at x = y); only functions symmetric within the block (equal "
            f"cotangents, e.g. the block's sum, trace(A), sum(f({'S' if 'singular' in values else 'w'}))) "
            f"are differentiable. Make the loss symmetric within the block, or, for a subgradient "
            f"(e.g. to minimise the largest {value}), pass degeneracy='subspace', which uses the "
            f"basis of the block the solver returned."
        )
    if code == Status.E_RANKDEF:
        what = f"{value} {i} is zero" if i == j else f"{values} {i} and {j} are both zero"
        use = "the tangent dA moves" if forward else "the loss depends on"
        raise DegeneracyError(
            f"{rule}: {what}{at} ({x:.3g}, <= tol {lim:.3g}): the input is rank-deficient and the "
            f"vectors of a zero {value} are not unique, but {use} them, so their derivative is not "
            f"defined; keep only the leading k with k=... (or a loss independent of those vectors), "
            f"or pass degeneracy='subspace' to drop the null-space terms, or 'lorentz' to regularise."
        )
    if code == Status.E_GAUGE_PHASE:
        raise GaugeError(
            f"{rule}: the loss depends on the complex phase of {vectors.format(i=i)}{at} "
            f"(phase derivative {val:.3g} > gauge_tol * |cotangent| = {lim:.3g}), which is arbitrary; "
            f"make the loss invariant under multiplying that vector by exp(i*theta) "
            f"(use abs(), projectors such as V @ V^H, or functions of A), or fix the gauge first "
            f"with gauge='canonical'."
        )
    if code == Status.E_GAUGE_BLOCK:
        # raised in degeneracy='subspace' mode: the rule's remedies minus the
        # one that suggests that very mode
        raise GaugeError(
            f"{rule}: degeneracy='subspace' assumes the loss depends on the degenerate {values} "
            f"{i} and {j}{at} ({x:.6g}, {y:.6g}) only through the span of their vectors, but the "
            f"cotangent rotates inside that span (size {val:.3g} > {lim:.3g}), so the derivative is "
            f"not defined; {_subspace_remedies(remedies)}."
        )
    if code == Status.E_NEGATIVE:
        raise ValueError(
            f"{rule}: degeneracy='taylor' needs a positive semi-definite spectrum, but {values[:-1]} "
            f"{i}{at} is {x:.6g}; shift the matrix or use 'lorentz'."
        )
    if code == Status.E_DOMAIN:
        raise ValueError(f"{rule}: {values[:-1]} {i}{at} = {x:.6g} is outside the domain of the function.")
    if code == Status.E_ILLCOND:
        raise_defective(rule, batch_shape=batch_shape, b=b, cond=val, cond_max=lim,
                        vectors=bool(i) or forward)
    if code == Status.E_NOMEM:
        raise MemoryError(f"{rule}: could not allocate the workspace")
    raise RuntimeError(f"{rule}: unknown core status {code}")
