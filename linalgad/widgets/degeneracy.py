"""Notebook 02 (ChainRules.jl issue #664): closing a gap between two singular values or
eigenvalues, and what each ``degeneracy=`` mode then returns.

``DegeneracyModel``: L(A) = tr(B Q(A)) with Q = U Vh the polar factor (the
thread's ``tr(value(orthogonal(X)))``), differentiated through the SVD rule in
each mode and compared with ``polar_vjp``, which is exact at any gap.

``ExpmModel``: L(A) = tr(B expm(A)) at A = I + t C, differentiated through
``eigh_vjp`` composed with exp on the eigenvalues (what an AD system does) and
compared with ``funm_vjp(A, "exp")`` (Daleckii-Krein, exact at any gap). At
t = 0 "subspace" passes its gauge check and is silently wrong.
"""

import numpy as np

from ._base import Model

__all__ = ["DegeneracyModel", "ExpmModel", "degeneracy_view", "expm_view", "GAPS", "SHIFTS",
           "PLOTTED_MODES"]

PLOTTED_MODES = ("exact", "lorentz", "subspace", "taylor")
GAPS = (0.0,) + tuple(float(f"1e{k}") for k in range(-15, 1))   # the gap slider's stops
SHIFTS = (0.0,) + tuple(float(f"1e{k}") for k in range(-15, 0))  # t in A = I + t C
_COLORS = {"exact": "C3", "lorentz": "C1", "subspace": "C2", "taylor": "C4"}
_FLOOR = 1e-17                                            # where exact zeros are drawn
# A log axis has no 0: the value at 0 is drawn in a column of its own, two
# decades left of the curves, its tick labelled "0" and the break shaded.
_DECADE = 10.0


def _layout(fig, columns):
    """``columns`` plot axes over a strip for the note about 0."""
    gs = fig.add_gridspec(2, columns, height_ratios=[5, 1])
    note = fig.add_subplot(gs[1, :])
    note.set_axis_off()
    return [fig.add_subplot(gs[0, i]) for i in range(columns)], note


def _zero_axis(ax, grid, position):
    """Log x axis over ``grid`` plus a column "0" at grid[0] / 100; a dotted
    line at ``position`` (0 is drawn in that column)."""
    from matplotlib.ticker import FixedLocator, NullLocator

    x0 = grid[0] / _DECADE**2
    ax.set_xscale("log")
    ax.set_xlim(x0 / _DECADE**0.5, grid[-1] * _DECADE**0.5)
    ax.axvspan(x0 * _DECADE**0.5, grid[0] / _DECADE**0.5, color="0.92", lw=0)
    decades = 10.0 ** np.arange(np.ceil(np.log10(grid[0])), np.log10(grid[-1]) + 1, 3)
    ax.xaxis.set_major_locator(FixedLocator([x0, *decades]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels(["0"] + [f"1e{int(round(np.log10(d)))}" for d in decades])
    ax.axvline(x0 if position == 0 else position, color="0.5", ls=":", lw=1.5)
    return x0


def _zero_note(ax, name, lines):
    """The note strip: what happens at 0 when the slider is there, else a hint."""
    if lines:
        ax.text(0.0, 1.0, "\n".join(lines), transform=ax.transAxes, ha="left", va="top",
                fontsize=8, bbox={"boxstyle": "round", "fc": "#fff3cd", "ec": "0.6"})
    else:
        ax.text(0.0, 1.0, f"Diamonds: the values at {name} = 0 (a log axis has no 0). "
                f"Move {name} to 0 to see why there is no derivative there.",
                transform=ax.transAxes, ha="left", va="top", fontsize=8, color="0.35")


def _at_zero_lines(header, errors, strict):
    """The note at 0: ``header``, then what each mode returned there."""
    finite = [f"{m} {_fmt(e)}" for m, e in errors.items() if e is not None and np.isfinite(e)]
    broken = [m for m, e in errors.items() if e is not None and not np.isfinite(e)]
    refused = [m for m, e in errors.items() if e is None]
    lines = [header,
             "strict refuses: " + strict if strict else "strict: no error"]
    if broken:
        lines.append("nan/inf (not drawn): " + ", ".join(broken))
    if refused:
        lines.append("raise: " + ", ".join(refused))
    if finite:
        lines.append("finite, rel. error: " + ", ".join(finite))
    return lines


def _orthogonal(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _rel(x, ref):
    """Relative error, nan when x is not finite."""
    if not np.all(np.isfinite(x)):
        return float("nan")
    return float(np.linalg.norm(x - ref) / np.linalg.norm(ref))


def _norm(x):
    return float(np.linalg.norm(x)) if np.all(np.isfinite(x)) else float("nan")


def _fmt(x):
    return "nan/inf" if not np.isfinite(x) else f"{x:.1e}"


def _try(fn):
    """(value, None) or (None, exception name) for the linalgad errors."""
    import linalgad as la

    try:
        return fn(), None
    except (la.DegeneracyError, la.GaugeError) as exc:
        return None, type(exc).__name__


class DegeneracyModel(Model):
    """Two singular values 1 +- gap/2 of a 4x4 matrix (the others 3 and 0.25);
    the gradient of tr(B Q) through ``svd_vjp`` in each mode vs ``polar_vjp``.

    result: ``errors``/``norms`` (mode -> value at the current gap; nan when
    the mode returned inf/nan, None when it raised), ``strict`` (None or the
    error's name), ``reference_norm``, and the curves over ``grid``.
    """

    params = {"gap": 1e-3, "eps": 1e-8, "seed": 0}
    figsize = (9.5, 4.2)
    grid = 10.0 ** np.linspace(-15, 0, 31)

    def matrix(self, gap=None):
        gap = self.gap if gap is None else gap
        rng = np.random.default_rng(self.seed)
        U0, V0 = _orthogonal(rng, 4), _orthogonal(rng, 4)
        s = np.array([3.0, 1.0 + gap / 2, 1.0 - gap / 2, 0.25])
        return (U0 * s) @ V0.T

    def cotangent(self):
        """dQ of L = tr(B Q): B^T."""
        rng = np.random.default_rng(self.seed + 1)
        return rng.standard_normal((4, 4)).T

    def _opts(self, mode):
        return {"degeneracy": mode, **({"eps": self.eps} if mode == "lorentz" else {})}

    def _one(self, gap):
        import linalgad as la

        A, dQ = self.matrix(gap), self.cotangent()
        _, pb = la.polar_vjp(A)
        ref = pb(dQ=dQ)
        out = {}
        for mode in PLOTTED_MODES + ("strict",):
            (U, S, Vh), pb = la.svd_vjp(A, **self._opts(mode))
            out[mode] = _try(lambda: pb(dU=dQ @ Vh.conj().T, dVh=U.conj().T @ dQ))
        return ref, out

    def _errors_norms(self, gap):
        ref, out = self._one(gap)
        errors = {m: (None if out[m][0] is None else _rel(out[m][0], ref)) for m in PLOTTED_MODES}
        norms = {m: (None if out[m][0] is None else _norm(out[m][0])) for m in PLOTTED_MODES}
        return ref, out, errors, norms

    def compute(self):
        ref, out, errors, norms = self._errors_norms(self.gap)
        _, out0, errors0, norms0 = ((ref, out, errors, norms) if self.gap == 0
                                    else self._errors_norms(0.0))
        curves = {m: np.empty(len(self.grid)) for m in PLOTTED_MODES}
        ncurves = {m: np.empty(len(self.grid)) for m in PLOTTED_MODES}
        refnorm = np.empty(len(self.grid))
        for i, g in enumerate(self.grid):
            r, o = self._one(g)
            refnorm[i] = _norm(r)
            for m in PLOTTED_MODES:
                x = o[m][0]
                curves[m][i] = np.nan if x is None else _rel(x, r)
                ncurves[m][i] = np.nan if x is None else _norm(x)
        return {"gap": self.gap, "eps": self.eps, "errors": errors, "norms": norms,
                "strict": out["strict"][1], "reference_norm": _norm(ref),
                "zero": {"errors": errors0, "norms": norms0, "strict": out0["strict"][1]},
                "grid": self.grid, "error_curves": curves, "norm_curves": ncurves,
                "reference_curve": refnorm}

    def summary(self):
        r = self.result
        parts = [f"{m}{'(eps=%.0e)' % r['eps'] if m == 'lorentz' else ''} "
                 f"{'raises' if r['errors'][m] is None else _fmt(r['errors'][m])}"
                 for m in PLOTTED_MODES]
        strict = "raises " + r["strict"] if r["strict"] else "ok"
        gap = "0" if r["gap"] == 0 else f"{r['gap']:.0e}"
        return f"gap={gap}: relative error vs polar_vjp: " + ", ".join(parts) + f"; strict {strict}"

    def zero_note(self):
        """The lines noted on the plot when the gap is 0 (empty otherwise)."""
        r = self.result
        return [] if r["gap"] != 0 else _at_zero_lines(
            "gap = 0: s2 = s3, so U and V have no derivative (the loss has: polar_vjp)",
            r["errors"], r["strict"])

    def draw(self, fig):
        r = self.result
        (ax1, ax2), note = _layout(fig, 2)
        x0s = [_zero_axis(ax, r["grid"], r["gap"]) for ax in (ax1, ax2)]
        for m in PLOTTED_MODES:
            label = f"{m} (eps={r['eps']:.0e})" if m == "lorentz" else m
            ax1.plot(r["grid"], np.maximum(r["error_curves"][m], _FLOOR), "o-", ms=3,
                     color=_COLORS[m], label=label)
            ax2.plot(r["grid"], r["norm_curves"][m], "o-", ms=3, color=_COLORS[m], label=label)
            for ax, x0, y in ((ax1, x0s[0], r["zero"]["errors"][m]),
                              (ax2, x0s[1], r["zero"]["norms"][m])):
                if y is not None:             # a mode that raises has no point at 0
                    y = max(y, _FLOOR) if ax is ax1 else y
                    ax.plot([x0], [y], "D", ms=5, color=_COLORS[m])
        ax1.set_yscale("log")
        ax2.set_yscale("log")
        ax2.plot(r["grid"], r["reference_curve"], "k--", lw=1, label="polar_vjp (exact)")
        for ax in (ax1, ax2):
            ax.set_xlabel("gap  s_2 - s_3")
        _zero_note(note, "gap", self.zero_note())
        ax1.set_ylabel("relative error of dA")
        ax1.set_title("SVD route vs polar_vjp (exact)")
        finite = np.concatenate([c[np.isfinite(c)] for c in r["norm_curves"].values()])
        if finite.size and finite.max() < 50 * finite.min():
            ax2.set_yscale("linear")                   # all modes of the same size: plain axis
        ax2.set_ylabel("||dA||")
        ax2.set_title("Gradient norm (inf/nan not drawn)")
        ax1.legend(fontsize=7, loc="upper right")
        ax2.legend(fontsize=7, loc="upper left")


class ExpmModel(Model):
    """L = tr(B expm(A)) at A = I + t C (C symmetric, ||C|| = 1): the eigh
    route in each mode vs ``funm_vjp(A, "exp")``.

    result: ``errors`` (mode -> relative error, nan for inf/nan, None when it
    raised), ``strict`` (None or the error's name), curves over ``grid``.
    """

    params = {"t": 0.0, "seed": 0}
    figsize = (6.4, 4.2)
    grid = 10.0 ** np.linspace(-15, -1, 29)
    modes = ("exact", "lorentz", "subspace", "taylor")

    def matrix(self, t=None):
        t = self.t if t is None else t
        rng = np.random.default_rng(self.seed)
        C = rng.standard_normal((4, 4))
        C = C + C.T
        return np.eye(4) + t * C / np.linalg.norm(C, 2)

    def cotangent(self):
        """dF of L = tr(B F): B^T."""
        return np.random.default_rng(self.seed + 1).standard_normal((4, 4)).T

    def _one(self, t):
        import linalgad as la

        A, G = self.matrix(t), self.cotangent()
        _, pb = la.funm_vjp(A, "exp", UPLO=None)
        ref = pb(G)
        out = {}
        for mode in self.modes + ("strict",):
            (w, V), pb = la.eigh_vjp(A, UPLO=None, degeneracy=mode)
            # chain rule of F = V diag(exp w) V^H, as an AD system would do it
            E = np.exp(w)
            dw = E * np.real(np.diagonal(V.conj().T @ G @ V))
            dV = (G + G.conj().T) @ V * E
            out[mode] = _try(lambda: pb(dw=dw, dV=dV))
        return ref, out

    def _errors(self, t):
        ref, out = self._one(t)
        return out, {m: (None if out[m][0] is None else _rel(out[m][0], ref)) for m in self.modes}

    def compute(self):
        out, errors = self._errors(self.t)
        out0, errors0 = (out, errors) if self.t == 0 else self._errors(0.0)
        curves = {m: np.empty(len(self.grid)) for m in self.modes}
        for i, t in enumerate(self.grid):
            r, o = self._one(t)
            for m in self.modes:
                curves[m][i] = np.nan if o[m][0] is None else _rel(o[m][0], r)
        return {"t": self.t, "errors": errors, "strict": out["strict"][1],
                "zero": {"errors": errors0, "strict": out0["strict"][1]},
                "grid": self.grid, "error_curves": curves}

    def summary(self):
        r = self.result
        parts = [f"{m} {'raises' if r['errors'][m] is None else _fmt(r['errors'][m])}"
                 for m in self.modes]
        strict = "raises " + r["strict"] if r["strict"] else "ok"
        t = "0" if r["t"] == 0 else f"{r['t']:.0e}"
        return (f"t={t}: relative error of the eigh route vs funm_vjp: " + ", ".join(parts)
                + f"; strict {strict}")

    def zero_note(self):
        """The lines noted on the plot when t is 0 (empty otherwise)."""
        r = self.result
        return [] if r["t"] != 0 else _at_zero_lines(
            "t = 0: A = I, so V has no derivative (expm(A) has: funm_vjp)",
            r["errors"], r["strict"])

    def draw(self, fig):
        r = self.result
        (ax,), note = _layout(fig, 1)
        x0 = _zero_axis(ax, r["grid"], r["t"])
        for m in self.modes:
            ax.plot(r["grid"], np.maximum(r["error_curves"][m], _FLOOR), "o-", ms=3,
                    color=_COLORS[m], label=m)
            y = r["zero"]["errors"][m]
            if y is not None:
                ax.plot([x0], [max(y, _FLOOR)], "D", ms=5, color=_COLORS[m])
        ax.set_yscale("log")
        _zero_note(note, "t", self.zero_note())
        ax.set_xlabel("t  (A = I + t C, gaps ~ t)")
        ax.set_ylabel("relative error of dA")
        ax.set_title("tr(B expm(A)): eigh route vs funm_vjp")
        ax.legend(fontsize=7)


def degeneracy_view(model=None):
    """Gap slider (0 included) and a Lorentz-eps slider over a DegeneracyModel."""
    import ipywidgets as w

    from ._base import ModelView, choice_slider

    model = DegeneracyModel() if model is None else model
    gap = choice_slider("gap s2 - s3", GAPS, model.gap)
    eps = w.FloatLogSlider(value=model.eps, base=10, min=-14, max=-2, step=1,
                           description="lorentz eps", continuous_update=False,
                           readout_format=".0e")
    return ModelView(model, {"gap": gap, "eps": eps})


def expm_view(model=None):
    """Slider for t in A = I + t C over an ExpmModel."""
    from ._base import ModelView, choice_slider

    model = ExpmModel() if model is None else model
    return ModelView(model, {"t": choice_slider("t", SHIFTS, model.t)})
