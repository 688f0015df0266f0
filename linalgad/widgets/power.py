"""Notebook 05 (ChainRules.jl PR #179): the power-iteration view of the eigenvector
derivative, ``degeneracy="taylor"``.

On a positive semi-definite spectrum 1/(w_i - w_j) = (1/w_i) sum_k
(w_j/w_i)^k for w_i > w_j >= 0; back-propagating through ``order`` power
iterations keeps ``order`` terms. The coupling of the top pair is then
(1 - r^order)/(w_i - w_j) with r = w_j/w_i: the relative error is r^order,
the series is bounded by order/w_i, and at a degeneracy (r = 1) it returns a
finite, order-dependent number where the exact derivative does not exist.

``PowerIterationModel``: eigenvalues (0.1, 0.3, 0.5, 1 - gap, 1), loss
L = v^T B v for the top eigenvector v (a function of A while gap > 0).
"""

import numpy as np

from ._base import Model, log_ticks

__all__ = ["PowerIterationModel", "POWER_GAPS", "power_view"]

POWER_GAPS = (0.0, 0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


class PowerIterationModel(Model):
    """result: ``order``, ``gap``, ``rel_error`` (taylor vs exact; nan at
    gap 0), ``theory`` ((1 - gap)^order), ``norm_taylor``, ``norm_exact``
    (nan at gap 0), ``strict`` (None or the error's name), and curves over
    ``orders`` and ``gaps``."""

    params = {"order": 16, "gap": 0.1, "seed": 0}
    figsize = (9.5, 3.4)
    orders = np.arange(1, 101)
    gaps = np.concatenate([[0.0], 10.0 ** np.linspace(-3, np.log10(0.5), 22)])

    def problem(self, gap):
        from linalgad import testing

        w = np.array([0.1, 0.3, 0.5, 1.0 - gap, 1.0])
        A = testing.random_matrix((5, 5), "float64", kind="psd", spectrum=w, seed=self.seed)
        A = 0.5 * (A + A.T)
        rng = np.random.default_rng(self.seed + 1)
        B = rng.standard_normal((5, 5))
        return A, B + B.T

    def _grad(self, gap, mode, order=None):
        """dA (or None if the mode raised) for L = v^T B v, v the top eigenvector."""
        import linalgad as la

        A, B = self.problem(gap)
        opts = {"degeneracy": mode, **({"order": int(order)} if mode == "taylor" else {})}
        (w, V), pullback = la.eigh_vjp(A, UPLO=None, **opts)
        dV = np.zeros_like(V)
        dV[:, -1] = 2 * B @ V[:, -1]
        try:
            return pullback(dV=dV)
        except la.DegeneracyError:
            return None

    def compute(self):
        import linalgad as la

        exact = self._grad(self.gap, "exact") if self.gap > 0 else None
        taylor = self._grad(self.gap, "taylor", self.order)
        strict = None
        if self._grad(self.gap, "strict") is None:
            strict = la.DegeneracyError.__name__
        nrm = np.linalg.norm
        if exact is not None:
            errs = np.array([nrm(self._grad(self.gap, "taylor", k) - exact) / nrm(exact)
                             for k in self.orders])
            rel = float(nrm(taylor - exact) / nrm(exact))
        else:
            errs, rel = np.full(len(self.orders), np.nan), float("nan")
        g_exact = np.array([nrm(self._grad(g, "exact")) if g > 0 else np.nan for g in self.gaps])
        g_taylor = np.array([nrm(self._grad(g, "taylor", self.order)) for g in self.gaps])
        return {"order": self.order, "gap": self.gap, "rel_error": rel,
                "theory": (1.0 - self.gap) ** self.order, "norm_taylor": float(nrm(taylor)),
                "norm_exact": float("nan") if exact is None else float(nrm(exact)),
                "strict": strict, "orders": self.orders, "errors_vs_order": errs,
                "gaps": self.gaps, "norm_exact_vs_gap": g_exact, "norm_taylor_vs_gap": g_taylor}

    def summary(self):
        r = self.result
        head = f"gap={r['gap']:g}, order={r['order']}: "
        if r["gap"] == 0:
            return (head + f"exact derivative undefined (strict raises {r['strict']}); taylor "
                    f"returns a finite ||dA|| = {r['norm_taylor']:.3g} that depends on the order and "
                    f"on the basis LAPACK picked in the degenerate pair: a bias, not a derivative")
        return (head + f"taylor vs exact relative error {r['rel_error']:.2e} (top-pair bound "
                f"(1-gap)^order = {r['theory']:.2e}); ||dA|| taylor {r['norm_taylor']:.3g}, "
                f"exact {r['norm_exact']:.3g}")

    def draw(self, fig):
        r = self.result
        ax1, ax2 = fig.subplots(1, 2)
        if r["gap"] > 0:
            ax1.semilogy(r["orders"], np.maximum(r["errors_vs_order"], 1e-17), label="taylor vs exact")
            ax1.semilogy(r["orders"], (1 - r["gap"]) ** r["orders"], "k:", label="(1 - gap)^order")
            ax1.axvline(r["order"], color="0.5", ls=":")
            ax1.legend(fontsize=7)
        else:
            ax1.text(0.5, 0.5, "gap = 0:\nno exact derivative\nto converge to",
                     ha="center", va="center", transform=ax1.transAxes)
            ax1.set_yscale("log")
        ax1.set_xlabel("order (power iterations)")
        ax1.set_ylabel("relative error of dA")
        ax1.set_title(f"Convergence of 'taylor' (gap={r['gap']:g})")
        gp = r["gaps"] > 0
        ax2.loglog(r["gaps"][gp], r["norm_exact_vs_gap"][gp], label="exact  (~1/gap)")
        ax2.loglog(r["gaps"][gp], r["norm_taylor_vs_gap"][gp], label=f"taylor, order={r['order']}")
        ax2.axhline(r["norm_taylor_vs_gap"][0], color="C1", ls="--", lw=1,
                    label="taylor at gap = 0 (bias)")
        if r["gap"] > 0:
            ax2.axvline(r["gap"], color="0.5", ls=":")
        log_ticks(ax2)
        ax2.set_xlabel("gap  w_5 - w_4")
        ax2.set_ylabel("||dA||")
        ax2.set_title("Gradient norm as the gap closes")
        ax2.legend(fontsize=7)


def power_view(model=None):
    import ipywidgets as w

    from ._base import ModelView, choice_slider

    model = PowerIterationModel() if model is None else model
    order = w.IntSlider(value=model.order, min=1, max=100, description="order",
                        continuous_update=False)
    gap = choice_slider("gap", POWER_GAPS, model.gap, fmt="{:g}")
    return ModelView(model, {"order": order, "gap": gap})
