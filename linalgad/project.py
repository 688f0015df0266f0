"""Cotangent projection onto the structure of an input.

A cotangent lives in the space of the input's allowed perturbations; the same
numbers can be read as different functions, so the structure is the user's
choice (docs/projection.md says which question each answers):

========== ====================================================================
None       inferred: scipy.sparse -> "pattern"; real dtype -> real part
"real"     real perturbations: Re G (dtype of ``like``)
"complex"  keep the complex cotangent even for a real ``like``
"symmetric" A = A^T: (G + G^T) / 2;  "hermitian" A = A^H: (G + G^H) / 2
"lower"    lower-triangular A: tril(G);  "upper": triu(G)
"diagonal" diagonal A: the diagonal of G
"pattern"  the stored entries of a sparse ``like`` (explicit zeros included)
"dense"    no structure or pattern: every entry of the matrix seen as dense,
           returned as a dense array in ``like``'s dtype, like all the others
           (Re G for a real ``like``; "complex" keeps Im G)
========== ====================================================================

With a sparse ``like`` every structure but "dense" keeps its pattern and
format. A sparse ``like`` with "symmetric"/"hermitian" whose pattern is one
triangle is triangle storage (each stored off-diagonal value sets two
entries): the cotangent there is ``G_ij + G_ji`` (conjugated for
"hermitian"); see docs/projection.md (ChainRulesCore#707).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._docs import fill
from ._typing import ArrayLike, Structure
from ._validate import is_sparse, real_dtype

__all__ = ["STRUCTURES", "project", "finish_cotangent"]

STRUCTURES = (None, "real", "complex", "symmetric", "hermitian", "lower", "upper",
              "diagonal", "pattern", "dense")


def _complex_dtype(dt):
    return np.result_type(dt, np.complex64)


def _T(X):
    return X.swapaxes(-1, -2)


def _dense_structure(G, structure):
    """The structure's map on a dense stack G (..., m, n); new array or G."""
    if structure in ("symmetric", "hermitian"):
        if G.shape[-1] != G.shape[-2]:
            raise ValueError(f"structure={structure!r} needs square matrices, got shape {G.shape}")
        Gt = _T(G) if structure == "symmetric" else np.conj(_T(G))
        return 0.5 * (G + Gt)
    if structure == "lower":
        return np.tril(G)
    if structure == "upper":
        return np.triu(G)
    if structure == "diagonal":
        out = np.zeros_like(G)
        k = min(G.shape[-2:])
        i = np.arange(k)
        out[..., i, i] = G[..., i, i]
        return out
    return G


def _target_dtype(G, dtype, structure):
    if structure == "complex":
        return _complex_dtype(dtype)
    return np.dtype(dtype)


def _cast(G, dtype):
    """G in dtype; a complex G going to a real dtype keeps its real part."""
    if np.iscomplexobj(G) and np.dtype(dtype).kind != "c":
        G = G.real
    return G.astype(dtype, copy=False)


def _stored(like):
    """(rows, cols) of the stored entries of a sparse matrix, duplicates summed."""
    C = like.tocoo(copy=True)
    C.sum_duplicates()
    return C.row, C.col


def _rebuild(like, values, rows, cols, dtype):
    import scipy.sparse as sp
    coo = sp.coo_array if isinstance(like, sp.sparray) else sp.coo_matrix
    out = coo((values.astype(dtype, copy=False), (rows, cols)), shape=like.shape)
    return out.asformat(like.format)


def _triangle_kind(rows, cols):
    off = rows != cols
    if not off.any():
        return "diagonal"
    if (rows[off] > cols[off]).all():
        return "lower"
    if (rows[off] < cols[off]).all():
        return "upper"
    return None


def _is_symmetric_pattern(rows, cols):
    a = set(zip(rows.tolist(), cols.tolist()))
    return all((j, i) in a for i, j in a)


def _sparse(G, like, structure, dtype):
    """Project a dense G (m, n) onto the stored pattern of a sparse ``like``."""
    if G.ndim != 2:
        raise ValueError(f"a sparse like is 2-D; the cotangent has shape {G.shape}")
    rows, cols = _stored(like)
    if structure in ("symmetric", "hermitian"):
        kind = _triangle_kind(rows, cols)
        if kind in ("lower", "upper"):
            # triangle storage: a stored off-diagonal value sets A_ij and A_ji
            # (conjugated for "hermitian"), so it collects both cotangents;
            # a Hermitian matrix has a real diagonal.
            mirror = G[cols, rows]
            if structure == "hermitian":
                mirror = np.conj(mirror)
            vals = np.where(rows == cols, G[rows, cols], G[rows, cols] + mirror)
            if structure == "hermitian":
                vals = np.where(rows == cols, vals.real, vals)
            return _rebuild(like, _cast(vals, dtype), rows, cols, dtype)
        if kind is None and not _is_symmetric_pattern(rows, cols):
            raise ValueError(
                f"structure={structure!r}: the stored pattern of like is neither symmetric nor one "
                "triangle, so it does not describe a symmetric matrix; project with "
                "structure='pattern' (independent stored entries) or 'dense'")
    H = _dense_structure(G, structure)
    return _rebuild(like, _cast(H[rows, cols], dtype), rows, cols, dtype)


def _project(G, dtype, shape, sparse, structure, copy):
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {STRUCTURES}, got {structure!r}")
    if is_sparse(G):
        G = G.toarray()
    G = np.asarray(G)
    if G.dtype.kind not in "biufc":
        raise TypeError(f"the cotangent must be a numeric array, got dtype {G.dtype}")
    if shape is not None and tuple(G.shape) != tuple(shape):
        raise ValueError(f"the cotangent has shape {G.shape}, but like has shape {tuple(shape)}")
    if structure == "real":
        G = G.real
    dt = _target_dtype(G, dtype, structure)
    if sparse is not None and structure != "dense":
        return _sparse(G, sparse, structure, dt)
    if structure == "pattern":
        raise TypeError("structure='pattern' needs a scipy.sparse like (its stored entries are "
                        "the pattern); a dense array has no pattern, use None or 'dense'")
    out = _cast(_dense_structure(G, structure), dt)
    return out.copy() if copy and (out is G or np.shares_memory(out, G)) else out


@fill
def project(G: Any, like: Any, *, structure: Structure = None) -> Any:
    """Project the cotangent ``G`` onto the space of the input ``like``.

    Parameters
    ----------
    G : array_like or scipy.sparse matrix, shape (..., m, n)
        A cotangent with ``like``'s shape (never modified).
    like : array_like or scipy.sparse matrix
        The input (or anything with ``shape`` and ``dtype``).
    structure : str or None, default None
        The allowed perturbations of the input:

        - None: inferred, "pattern" for scipy.sparse, the real part for a
          real dtype;
        - "real": ``Re G``; "complex": keep the complex cotangent;
        - "symmetric": ``(G + G^T) / 2``; "hermitian": ``(G + G^H) / 2``;
        - "lower": ``tril(G)``; "upper": ``triu(G)``; "diagonal": its
          diagonal;
        - "pattern": the stored entries of a sparse ``like`` (explicit zeros
          included);
        - "dense": no structure or pattern (a dense array, still the real
          part for a real ``like``).

    Returns
    -------
    ndarray or scipy.sparse matrix
        ``like``'s dtype for every structure but "complex" (the complex
        dtype of ``like``'s precision); sparse in ``like``'s format for a
        sparse ``like``, except with "dense".

    Raises
    ------
    ValueError
        For an unknown structure, a shape that does not match, or a
        square-only structure on a rectangular matrix.

    Notes
    -----
    The projection is the adjoint of the embedding of the structured inputs
    into dense matrices: e.g. a Hermitian A = (X + X^H)/2 has cotangent
    ``(G + G^H) / 2``. A sparse symmetric ``like`` stored as one triangle
    gets ``G_ij + G_ji`` on the stored entries (ChainRulesCore issue #707).

    Examples
    --------
    >>> import numpy as np, linalgad as la
    >>> G = np.array([[1.0, 2.0], [0.0, 1.0]])
    >>> la.project(G, np.eye(2), structure="symmetric")
    array([[1., 1.],
           [1., 1.]])
    >>> la.project(G + 1j, np.eye(2))   # real input: the real part
    array([[1., 2.],
           [0., 1.]])
    """
    sparse = like if is_sparse(like) else None
    if not hasattr(like, "dtype"):
        like = np.asarray(like)
    dtype = like.dtype
    if np.dtype(dtype).kind in "biu":
        dtype = np.dtype(np.float64)
    return _project(G, dtype, getattr(like, "shape", None), sparse, structure, copy=True)


def finish_cotangent(G, stack, structure=None):
    """The last step of every pullback: ``dA = finish_cotangent(out, st, project)``.

    ``G`` the rule's dense cotangent, shaped (B, m, n) or (..., m, n);
    ``stack`` the ``_validate.Stack`` of the input; ``structure`` the user's
    ``project=`` keyword (None: real part for real input, the stored pattern
    returned sparse for scipy.sparse input; "dense": dense, no structure,
    still the real part for real input; "complex" keeps a complex G for real
    input; any other structure of :func:`project`).
    Returns the array (..., m, n) or the sparse matrix the user gets; when
    there is nothing to project it is a view of G (the rule's own buffer),
    at a cost of under a microsecond.
    """
    if structure is None and stack.sparse is None and type(G) is np.ndarray and G.dtype == stack.dtype:
        return G.reshape(stack.batch + (stack.m, stack.n))  # fast path: nothing to project
    if is_sparse(G):
        G = G.toarray()
    G = np.asarray(G).reshape(stack.shape(stack.m, stack.n))
    return _project(G, stack.dtype, None, stack.sparse, structure, copy=False)
