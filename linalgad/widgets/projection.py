"""Notebook 04 (Zygote.jl issue #1507): which space the cotangent of an input lives in.

``ProjectionModel`` computes, for three inputs, the dense cotangent (the
derivative with respect to every entry of the array, complex entries
included) and its projection onto the input's structure
(``linalgad.project``), and checks each against finite differences along a
step that respects the structure and along one that does not:

- ``real``: a real A through complex arithmetic, L = sum(svd(A W).S) with a
  complex W. Projected: the real part (the gradient for real A). Dense: the
  complex cotangent (the gradient if A could move into C^(n x n)).
- ``symmetric``: L = largest eigenvalue of ``numpy.linalg.eigh(A, UPLO="L")``.
  Dense: the triangle cotangent ``eigh_vjp(A, UPLO="L")`` (every entry of
  the array as NumPy reads it; the upper triangle is never read). Projected:
  its Hermitian part, which is ``eigh_vjp(A, UPLO=None)`` (symmetric steps).
- ``sparse``: a tridiagonal scipy.sparse A, L = sum(svd(A).S). Projected: the
  values on the stored pattern (the parameters, if only those may change).
  Dense: the gradient of the same matrix seen as dense (zeros may move).
"""

import numpy as np

from ._base import Model

__all__ = ["ProjectionModel", "CASES", "projection_view"]

CASES = ("real", "symmetric", "sparse")

_MEANING = {
    ("real", "projected"): "the gradient for A restricted to real matrices",
    ("real", "dense"): "the gradient if A may take complex values (Im part = dL/dIm A)",
    ("symmetric", "projected"): "the gradient for symmetric perturbations (UPLO=None)",
    ("symmetric", "dense"): "the gradient w.r.t. every entry of the array eigh(UPLO='L') reads",
    ("sparse", "projected"): "the gradient w.r.t. the stored values (pattern fixed)",
    ("sparse", "dense"): "the gradient w.r.t. every entry (zeros may become non-zero)",
}

_STEPS = {"real": ("real", "complex"), "symmetric": ("symmetric", "general"),
          "sparse": ("on-pattern", "general")}


class ProjectionModel(Model):
    """result: ``case``, ``answer``, ``dense``/``projected`` (NumPy arrays),
    ``err_structured``/``err_dense`` (relative error of the chosen answer's
    directional derivative against finite differences along a structured and
    a general step), ``meaning``."""

    params = {"case": "real", "answer": "projected", "seed": 0}
    figsize = (10.0, 3.2)
    h = 1e-6

    def problem(self):
        """(A, loss on dense arrays, dense cotangent, projected cotangent,
        structured step, general step)."""
        import linalgad as la
        from linalgad import testing

        n = 5
        rng = np.random.default_rng(self.seed)
        general = rng.standard_normal((n, n))
        if self.case == "real":
            A = testing.random_matrix((n, n), "float64", seed=self.seed)
            W = testing.random_matrix((n, n), "complex128", seed=self.seed + 7)
            (U, S, Vh), pullback = la.svd_vjp(A @ W)              # Z = A W is complex
            dense = pullback(dS=np.ones_like(S)) @ W.conj().T     # Z = A W: dA = dZ W^H

            def loss(X):
                return float(np.linalg.svd(X @ W, compute_uv=False).sum())

            E_struct, E_general = general, general + 1j * rng.standard_normal((n, n))
        elif self.case == "symmetric":
            A = testing.random_matrix((n, n), "float64", kind="hermitian", seed=self.seed)
            (w, V), pullback = la.eigh_vjp(A, UPLO="L")
            dense = pullback(dw=np.eye(1, n, n - 1)[0])

            def loss(X):
                return float(np.linalg.eigvalsh(X, UPLO="L")[-1])

            E_struct, E_general = general + general.T, general
        else:
            import scipy.sparse as sp

            A = sp.diags([rng.standard_normal(n - 1), 1.0 + rng.random(n),
                          rng.standard_normal(n - 1)], [-1, 0, 1], format="csr")
            (U, S, Vh), pullback = la.svd_vjp(A, project="dense")
            dense = pullback(dS=np.ones_like(S))

            def loss(X):
                return float(np.linalg.svd(np.asarray(X), compute_uv=False).sum())

            E_struct = np.where(A.toarray() != 0, general, 0.0)
            E_general = general
        dense = _dense(dense)
        projected = la.project(dense, A, structure="hermitian" if self.case == "symmetric" else None)
        return A, loss, dense, _dense(projected), E_struct, E_general

    def compute(self):
        A, loss, dense, projected, Es, Eg = self.problem()
        Ad = _dense(A)
        answer = projected if self.answer == "projected" else dense

        def err(E):
            fd = (loss(Ad + self.h * E) - loss(Ad - self.h * E)) / (2 * self.h)
            return float(abs(np.real(np.vdot(answer, E)) - fd) / abs(fd))

        return {"case": self.case, "answer": self.answer, "dense": dense,
                "projected": projected, "err_structured": err(Es), "err_dense": err(Eg),
                "meaning": _MEANING[self.case, self.answer], "steps": _STEPS[self.case]}

    def summary(self):
        r = self.result
        s, g = r["steps"]
        return (f"{r['case']} input, {r['answer']} answer: error vs finite differences "
                f"{r['err_structured']:.1e} along {s} steps, {r['err_dense']:.1e} along {g} steps; "
                f"it is {r['meaning']}")

    def draw(self, fig):
        r = self.result
        diff = r["dense"] - r["projected"]
        cplx = np.iscomplexobj(r["dense"]) and np.abs(np.imag(r["dense"])).max() > 0
        part = " (real part)" if cplx else ""
        panels = [("projected", np.real(r["projected"]), f"projected{part}"),
                  ("dense", np.real(r["dense"]), f"dense{part}"),
                  ("diff", np.imag(diff) if cplx else np.real(diff),
                   "Im(dense - projected)" if cplx else "dense - projected")]
        axes = fig.subplots(1, 3)
        for ax, (name, P, title) in zip(axes, panels):
            vmax = np.abs(P).max() or 1.0
            im = ax.imshow(P, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            chosen = name == r["answer"]
            ax.set_title(title + ("  <- chosen" if chosen else ""), fontsize=9,
                         fontweight="bold" if chosen else "normal")
            ax.set_xlabel("column j")
            ax.set_ylabel("row i")
            fig.colorbar(im, ax=ax, shrink=0.75)
        fig.suptitle(f"Cotangent dL/dA of a {r['case']} input: projected vs dense", fontsize=10)


def _dense(X):
    return X.toarray() if hasattr(X, "toarray") else np.asarray(X)


def projection_view(model=None):
    import ipywidgets as w

    from ._base import ModelView

    model = ProjectionModel() if model is None else model
    case = w.Dropdown(options=list(CASES), value=model.case, description="input")
    answer = w.ToggleButtons(options=["projected", "dense"], value=model.answer,
                             description="answer")
    return ModelView(model, {"case": case, "answer": answer})
