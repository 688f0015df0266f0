"""Notebook 03 (autograd PR #527): the phase of complex eigenvectors.

``PhaseModel``: the 3x3 complex matrix of autograd PR #527, read through its lower
triangle as ``numpy.linalg.eigh(UPLO="L")`` does. Column k of V is
multiplied by exp(i (k+1) theta), which is an equally valid
eigendecomposition; a gauge-invariant loss does not move, a gauge-dependent
one does, and ``eigh_vjp`` refuses the latter with ``GaugeError``.

``GaugeFDModel``: finite differences of the eigenvectors against the JVP in
the canonical gauge: raw factors (LAPACK's phases) vs gauge-fixed factors.
"""

import numpy as np

from ._base import Model

__all__ = ["PhaseModel", "GaugeFDModel", "LOSSES", "autograd527_matrix", "phase_view", "gauge_fd_view"]

# name -> the entries of V summed inside |.|
LOSSES = {
    "|V[0,0]|": ((0, 0),),
    "|V[0,0] + V[1,1]|": ((0, 0), (1, 1)),
    "|V[0,1] + V[1,1]|": ((0, 1), (1, 1)),
}


def autograd527_matrix(a=2.1 + 1.1j):
    """The test matrix of autograd PR #527 (not Hermitian: eigh reads one
    triangle)."""
    return np.array([[(1 + 1j) * a, 2, a],
                     [1j * a, 2 + abs(a + 1j), 1],
                     [np.conj(a), np.exp(a), abs(a)]], dtype=complex)


def _loss(V, entries):
    return float(abs(sum(V[i, j] for i, j in entries)))


def _dloss(V, entries):
    """Cotangent of |z|, z = sum of the entries: z/|z| on each entry."""
    z = sum(V[i, j] for i, j in entries)
    G = np.zeros_like(V)
    for i, j in entries:
        G[i, j] += z / abs(z)
    return G


class PhaseModel(Model):
    """result: ``theta``, ``losses`` (name -> value in the rotated gauge),
    ``moves`` (name -> spread of the loss over all theta), ``vjp`` (name ->
    "ok" or the error's name), ``phase_residual`` (name -> the phase part of
    the cotangent relative to its size, ``linalgad.gauge.gauge_report``)
    and the curves over ``thetas``."""

    params = {"theta": 0.0}
    figsize = (6.0, 3.4)
    thetas = np.linspace(0, 2 * np.pi, 73)

    def factors(self, theta):
        import linalgad as la

        w, V = la.eigh(autograd527_matrix(), UPLO="L")
        return w, V * np.exp(1j * theta * np.arange(1, V.shape[1] + 1))

    def compute(self):
        import linalgad as la

        _, V = self.factors(self.theta)
        curves = {n: np.array([_loss(self.factors(t)[1], e) for t in self.thetas])
                  for n, e in LOSSES.items()}
        res, pullback = la.eigh_vjp(autograd527_matrix(), UPLO="L")
        status, resid = {}, {}
        for name, entries in LOSSES.items():
            G = _dloss(res.eigenvectors, entries)
            resid[name] = float(la.gauge.gauge_report(res, (None, G)).phase_rel)
            try:
                pullback(dV=G)
                status[name] = "ok"
            except la.GaugeError as exc:
                status[name] = type(exc).__name__
        return {"theta": self.theta,
                "losses": {n: _loss(V, e) for n, e in LOSSES.items()},
                "moves": {n: float(np.ptp(c)) for n, c in curves.items()},
                "vjp": status, "phase_residual": resid, "thetas": self.thetas, "curves": curves}

    def summary(self):
        r = self.result
        parts = [f"{n} = {v:.4f} (eigh_vjp: {r['vjp'][n]})" for n, v in r["losses"].items()]
        return f"theta={r['theta']:.2f}: " + ", ".join(parts)

    def draw(self, fig):
        r = self.result
        ax = fig.subplots()
        for name, c in r["curves"].items():
            ax.plot(r["thetas"], c, label=f"{name}  ({r['vjp'][name]})")
        ax.axvline(r["theta"], color="0.5", ls=":")
        ax.set_xlabel("theta  (column k of V times exp(i (k+1) theta))")
        ax.set_ylabel("loss")
        ax.set_title("Same eigendecomposition, different phases")
        ax.legend(fontsize=7)


class GaugeFDModel(Model):
    """Central differences of V (raw or canonical gauge) against
    ``eigh_jvp(..., gauge="canonical")``.

    result: ``gauge``, ``h``, ``errors`` (gauge -> per-column relative error),
    ``error`` (max over columns, for the chosen gauge)."""

    params = {"gauge": "raw", "h": 1e-6, "seed": 0}
    figsize = (6.0, 3.4)
    gauges = ("raw", "canonical")

    def compute(self):
        import linalgad as la
        from linalgad import testing

        A = testing.random_matrix((4, 4), "complex128", kind="hermitian", seed=self.seed)
        E = testing.direction(A, structure="hermitian", seed=self.seed + 1)
        _, tan = la.eigh_jvp(A, E, gauge="canonical")
        dV = tan.eigenvectors
        errors = {}
        for g in self.gauges:
            gauge = None if g == "raw" else "canonical"
            Vp = la.eigh(A + self.h * E, gauge=gauge).eigenvectors
            Vm = la.eigh(A - self.h * E, gauge=gauge).eigenvectors
            fd = (Vp - Vm) / (2 * self.h)
            errors[g] = np.linalg.norm(fd - dV, axis=0) / np.linalg.norm(dV, axis=0)
        return {"gauge": self.gauge, "h": self.h, "errors": errors,
                "error": float(errors[self.gauge].max())}

    def summary(self):
        r = self.result
        return (f"gauge={r['gauge']}, h={r['h']:.0e}: max relative error of the finite-difference "
                f"eigenvectors vs eigh_jvp(gauge='canonical') = {r['error']:.1e}")

    def draw(self, fig):
        r = self.result
        ax = fig.subplots()
        n = len(r["errors"]["raw"])
        x = np.arange(n)
        for k, g in enumerate(self.gauges):
            ax.bar(x + 0.4 * k - 0.2, np.maximum(r["errors"][g], 1e-17), 0.4,
                   label=f"{g} factors" + ("  (shown)" if g == r["gauge"] else ""),
                   alpha=1.0 if g == r["gauge"] else 0.4)
        ax.set_yscale("log")
        ax.set_xticks(x, [f"V[:, {i}]" for i in x])
        ax.set_xlabel("eigenvector")
        ax.set_ylabel("relative error of FD vs JVP")
        ax.set_title(f"Finite differences of eigenvectors (h={r['h']:.0e})")
        ax.legend(fontsize=7)


def phase_view(model=None):
    import ipywidgets as w

    from ._base import ModelView

    model = PhaseModel() if model is None else model
    theta = w.FloatSlider(value=model.theta, min=0.0, max=float(2 * np.pi), step=0.05,
                          description="theta", continuous_update=False)
    return ModelView(model, {"theta": theta})


def gauge_fd_view(model=None):
    import ipywidgets as w

    from ._base import ModelView

    model = GaugeFDModel() if model is None else model
    gauge = w.ToggleButtons(options=list(GaugeFDModel.gauges), value=model.gauge,
                            description="factors")
    h = w.FloatLogSlider(value=model.h, base=10, min=-9, max=-2, step=1, description="step h",
                         readout_format=".0e", continuous_update=False)
    return ModelView(model, {"gauge": gauge, "h": h})
