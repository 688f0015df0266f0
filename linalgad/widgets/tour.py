"""Notebook 01: pullbacks, pushforwards, the complex convention, and
checking a rule against finite differences.

``FiniteDifferenceModel``: the directional derivative Re<dA, E> from
``svd_vjp`` against a central difference (L(A + hE) - L(A - hE)) / 2h of a
gauge-invariant loss (``linalgad.testing.invariant_loss("svd", ...)``) as the
step h moves: truncation error ~h^2 on the right, rounding ~eps/h on the left.

``ConventionModel``: one gradient step on the largest singular value of a
complex matrix with linalgad's cotangent (dL/dRe A + i dL/dIm A, PyTorch's)
and with its conjugate (what JAX's ``grad`` returns): only the first is a
descent direction.
"""

import numpy as np

from ._base import Model, log_ticks

__all__ = ["FiniteDifferenceModel", "ConventionModel", "fd_view", "convention_view"]


class FiniteDifferenceModel(Model):
    """Relative error of a central difference with step h against the VJP.

    result: ``h``, ``fd``, ``vjp`` (the two directional derivatives),
    ``rel_error``, and the curve ``hs``/``errors``.
    """

    params = {"h": 1e-5, "dtype": "complex128", "seed": 0}
    figsize = (6.0, 3.4)
    hs = 10.0 ** np.linspace(-13, -1, 25)

    def problem(self):
        import linalgad as la
        from linalgad import testing

        A = testing.random_matrix((4, 3), self.dtype, seed=self.seed)
        E = testing.direction(A, seed=self.seed + 1)
        res, pullback = la.svd_vjp(A)
        loss, dloss = testing.invariant_loss("svd", res, seed=self.seed)
        return A, E, res, pullback, loss, dloss

    def compute(self):
        import linalgad as la

        A, E, res, pullback, loss, dloss = self.problem()
        dA = pullback(*dloss(res))
        vjp = float(np.real(np.vdot(dA, E)))              # Re<dA, E> = Re sum(conj(dA) E)

        def fd(h):
            return (loss(la.svd(A + h * E, full_matrices=False)) - loss(la.svd(A - h * E, full_matrices=False))) / (2 * h)

        errors = np.array([abs(fd(h) - vjp) / abs(vjp) for h in self.hs])
        f = fd(self.h)
        return {"h": self.h, "fd": f, "vjp": vjp, "rel_error": abs(f - vjp) / abs(vjp),
                "hs": self.hs, "errors": errors}

    def summary(self):
        r = self.result
        return (f"h={r['h']:.0e}: finite difference {r['fd']:.10f} vs Re<dA, E> {r['vjp']:.10f}, "
                f"relative error {r['rel_error']:.1e}")

    def draw(self, fig):
        r = self.result
        ax = fig.subplots()
        ax.loglog(r["hs"], np.maximum(r["errors"], 1e-17), "o-", ms=3, label="central difference")
        hs, errs = r["hs"], r["errors"]
        # guides through the end points: truncation ~ h^2 (right), rounding ~ eps/h (left)
        ax.loglog(hs, errs[-1] * (hs / hs[-1]) ** 2, "k:", lw=1, label="~ h^2 (truncation)")
        ax.loglog(hs, errs[0] * hs[0] / hs, "k--", lw=1, label="~ eps/h (rounding)")
        ax.plot([r["h"]], [max(r["rel_error"], 1e-17)], "o", color="C3", ms=8, label="this h")
        ax.set_ylim(1e-17, 1e1)
        log_ticks(ax)
        ax.set_xlabel("finite-difference step h")
        ax.set_ylabel("relative error vs the VJP")
        ax.set_title("Checking svd_vjp against finite differences")
        ax.legend(fontsize=7, loc="upper center")


class ConventionModel(Model):
    """L = s_max(A) for complex A; steps A - lr * g with g = dA (linalgad,
    PyTorch) and g = conj(dA) (JAX's grad, used unconjugated).

    result: ``lr``, ``L0``, ``L_linalgad``, ``L_conj``, the first-order
    predictions ``slope_linalgad``/``slope_conj`` (= -Re<dA, g>), and curves.
    """

    params = {"lr": 0.05, "seed": 3}
    figsize = (6.0, 3.4)
    lrs = np.linspace(0.0, 0.3, 31)

    def compute(self):
        import linalgad as la
        from linalgad import testing

        A = testing.random_matrix((3, 3), "complex128", seed=self.seed)
        (U, S, Vh), pullback = la.svd_vjp(A)
        dA = pullback(dS=np.eye(1, 3)[0])                 # d s_max = u_1 v_1^H

        def L(X):
            return float(la.svd(X, full_matrices=False).S[0])

        curve_la = np.array([L(A - lr * dA) for lr in self.lrs])
        curve_conj = np.array([L(A - lr * np.conj(dA)) for lr in self.lrs])
        return {"lr": self.lr, "L0": float(S[0]),
                "L_linalgad": L(A - self.lr * dA), "L_conj": L(A - self.lr * np.conj(dA)),
                "slope_linalgad": -float(np.real(np.vdot(dA, dA))),
                "slope_conj": -float(np.real(np.vdot(dA, np.conj(dA)))),
                "lrs": self.lrs, "curve_linalgad": curve_la, "curve_conj": curve_conj}

    def summary(self):
        r = self.result
        return (f"lr={r['lr']:.2f}: s_max {r['L0']:.4f} -> {r['L_linalgad']:.4f} along -dA "
                f"(linalgad/PyTorch), -> {r['L_conj']:.4f} along -conj(dA) (JAX's grad, unconjugated)")

    def draw(self, fig):
        r = self.result
        ax = fig.subplots()
        ax.plot(r["lrs"], r["curve_linalgad"], label="A - lr * dA  (linalgad, PyTorch)")
        ax.plot(r["lrs"], r["curve_conj"], label="A - lr * conj(dA)  (JAX grad, unconjugated)")
        ax.axvline(r["lr"], color="0.5", ls=":")
        ax.set_xlabel("step size lr")
        ax.set_ylabel("largest singular value after the step")
        ax.set_title("Which complex 'gradient' descends?")
        ax.legend(fontsize=7)


def fd_view(model=None):
    """A log-slider for the finite-difference step."""
    import ipywidgets as w

    from ._base import ModelView

    model = FiniteDifferenceModel() if model is None else model
    h = w.FloatLogSlider(value=model.h, base=10, min=-13, max=-1, step=0.5, description="step h",
                         readout_format=".0e", continuous_update=False)
    return ModelView(model, {"h": h})


def convention_view(model=None):
    """A slider for the step size."""
    import ipywidgets as w

    from ._base import ModelView

    model = ConventionModel() if model is None else model
    lr = w.FloatSlider(value=model.lr, min=0.0, max=0.3, step=0.01, description="step lr",
                       continuous_update=False)
    return ModelView(model, {"lr": lr})
