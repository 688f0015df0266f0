"""Notebook 07: the Cython core against the NumPy reference and against
the GEMMs each rule needs.

``TimingModel`` times, for square float64 matrices of a few sizes (and a
batch of them), the derivative part of a rule in the core and in its
readable NumPy twin (``linalgad._reference``), both given the same
factors, and the time of the rule's GEMM count spent in ``numpy.matmul``: the
floor a rule built from n x n products cannot beat for large n. BLAS and the
core's batch loop are pinned to one thread while timing (threadpoolctl if
installed), so the comparison is per core. Quick, not a benchmark: use
``asv_bench/`` for that.
"""

import timeit

import numpy as np

from ._base import Model

__all__ = ["TimingModel", "RULES", "best_time", "timing_view"]


def best_time(fn, budget=0.02, repeat=3):
    """Best-of-``repeat`` seconds per call (``timeit``), each repeat lasting
    about ``budget`` seconds: small, so the widget answers within seconds."""
    timer = timeit.Timer(fn)
    number = max(1, int(budget / max(timer.timeit(1), 1e-7)))
    return min(timer.repeat(repeat, number)) / number


def _svd_vjp_case(A, rng):
    import linalgad as la
    from linalgad import _reference

    (U, S, Vh), pullback = la.svd_vjp(A)
    dU, dS, dVh = (rng.standard_normal(U.shape), rng.standard_normal(S.shape),
                   rng.standard_normal(Vh.shape))
    return (lambda: pullback(dU, dS, dVh),
            lambda: _reference.svd_vjp(U, S, Vh, dU, dS, dVh))


def _svd_jvp_case(A, rng):
    import linalgad as la
    from linalgad import _reference

    dA = rng.standard_normal(A.shape)
    U, S, Vh = np.linalg.svd(A, full_matrices=False)
    # the core's svd_jvp includes its SVD: time that SVD in the reference too
    return (lambda: la.svd_jvp(A, dA),
            lambda: _reference.svd_jvp(*np.linalg.svd(A, full_matrices=False), dA))


def _polar_vjp_case(A, rng):
    import linalgad as la
    from linalgad import _reference

    _, pullback = la.polar_vjp(A)
    dQ = rng.standard_normal(A.shape)
    # the reference recomputes the SVD: time the core's forward pass too
    return (lambda: la.polar_vjp(A)[1](dQ), lambda: _reference.polar_vjp(A, dQ))


def _eigh_vjp_case(A, rng):
    import linalgad as la
    from linalgad import _reference

    S = A + A.swapaxes(-1, -2)
    (w, V), pullback = la.eigh_vjp(S, UPLO=None)
    dw, dV = rng.standard_normal(w.shape), rng.standard_normal(V.shape)
    return (lambda: pullback(dw, dV), lambda: _reference.eigh_vjp(w, V, dw, dV))


# name -> (case builder, GEMMs of the derivative for square A, whether an SVD is timed too)
RULES = {
    "svd_vjp": (_svd_vjp_case, 4, False),
    "eigh_vjp": (_eigh_vjp_case, 2.5, False),
    "svd_jvp": (_svd_jvp_case, 4, True),
    "polar_vjp": (_polar_vjp_case, 4, True),
}


class _OneThread:
    """Pin BLAS (threadpoolctl, if installed) and the core's batch loop to one thread."""

    def __enter__(self):
        import linalgad as la

        self._old = la.set_num_threads(1)
        try:
            from threadpoolctl import threadpool_limits

            self._tp = threadpool_limits(1)
        except ImportError:  # pragma: no cover - optional
            self._tp = None
        return self

    def __exit__(self, *exc):
        import linalgad as la

        la.set_num_threads(self._old)
        if self._tp is not None:
            self._tp.restore_original_limits()


class TimingModel(Model):
    """result: ``rule``, ``batch``, ``sizes``, ``core``/``reference``/``gemm_floor``
    (seconds per call at each size), ``speedup`` (reference / core)."""

    params = {"rule": "svd_vjp", "batch": 1, "sizes": (4, 8, 16, 32, 64), "budget": 0.005}
    figsize = (9.5, 3.4)

    def __init__(self, **params):
        super().__init__(**params)
        self._cache = {}

    def _measure(self, rule, batch):
        build, gemms, with_svd = RULES[rule]
        rng = np.random.default_rng(0)
        core, ref, floor = [], [], []
        with _OneThread():
            for n in self.sizes:
                shape = (batch, n, n) if batch > 1 else (n, n)
                A = rng.standard_normal(shape)
                f_core, f_ref = build(A, rng)
                core.append(best_time(f_core, self.budget))
                ref.append(best_time(f_ref, self.budget))
                B = rng.standard_normal(shape)
                t = gemms * best_time(lambda: A @ B, self.budget)
                if with_svd:
                    t += best_time(lambda: np.linalg.svd(A), self.budget)
                floor.append(t)
        return np.array(core), np.array(ref), np.array(floor)

    def compute(self):
        key = (self.rule, int(self.batch), tuple(self.sizes))
        if key not in self._cache:
            self._cache[key] = self._measure(self.rule, int(self.batch))
        core, ref, floor = self._cache[key]
        return {"rule": self.rule, "batch": int(self.batch), "sizes": np.array(self.sizes),
                "core": core, "reference": ref, "gemm_floor": floor, "speedup": ref / core,
                "gemms": RULES[self.rule][1], "with_svd": RULES[self.rule][2]}

    def summary(self):
        r = self.result
        sp = ", ".join(f"n={n}: {s:.1f}x" for n, s in zip(r["sizes"], r["speedup"]))
        return f"{r['rule']}, batch {r['batch']}: core speed-up over the NumPy reference {sp}"

    def draw(self, fig):
        from matplotlib.ticker import NullLocator

        r = self.result
        ax1, ax2 = fig.subplots(1, 2)
        per = 1e6
        floor = f"{r['gemms']:g} x numpy.matmul" + (" + SVD" if r["with_svd"] else "")
        ax1.loglog(r["sizes"], per * r["core"], "o-", label="linalgad core")
        ax1.loglog(r["sizes"], per * r["reference"], "s-", label="NumPy reference")
        ax1.loglog(r["sizes"], per * r["gemm_floor"], "k--", label=floor)
        ax1.set_xlabel("n (square n x n" + (f", batch of {r['batch']})" if r["batch"] > 1 else ")"))
        ax1.set_ylabel("time per call (microseconds)")
        ax1.set_title(f"{r['rule']}: time, one thread", fontsize=10)
        ax1.legend(fontsize=7)
        ax2.semilogx(r["sizes"], r["speedup"], "o-", label="reference / core")
        ax2.semilogx(r["sizes"], r["core"] / r["gemm_floor"], "s-", label=f"core / ({floor})")
        ax2.axhline(1.0, color="0.5", lw=1)
        ax2.set_xlabel("n")
        ax2.set_ylabel("ratio")
        ax2.set_title("Speed-up and distance to the GEMM floor", fontsize=10)
        ax2.legend(fontsize=7)
        for ax in (ax1, ax2):
            ax.set_xticks(r["sizes"], [str(n) for n in r["sizes"]])
            ax.xaxis.set_minor_locator(NullLocator())


def timing_view(model=None):
    import ipywidgets as w

    from ._base import ModelView

    model = TimingModel() if model is None else model
    rule = w.Dropdown(options=list(RULES), value=model.rule, description="rule")
    batch = w.ToggleButtons(options=[1, 16], value=model.batch, description="batch")
    return ModelView(model, {"rule": rule, "batch": batch})
