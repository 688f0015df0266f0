"""The notebook widgets without a front end: the pure models (math and
plots) and the ipywidgets views (controls -> model -> result, summary, PNG)."""

import base64
import math

import numpy as np
import pytest

import linalgad as la
from linalgad import widgets as W

pytest.importorskip("matplotlib")

FAST_TIMING = {"sizes": (4, 8), "budget": 1e-4}

# every model with a cheap configuration
MODELS = {
    "fd": lambda: W.FiniteDifferenceModel(),
    "convention": lambda: W.ConventionModel(),
    "degeneracy": lambda: W.DegeneracyModel(),
    "expm": lambda: W.ExpmModel(),
    "phase": lambda: W.PhaseModel(),
    "gauge_fd": lambda: W.GaugeFDModel(),
    "projection": lambda: W.ProjectionModel(),
    "power": lambda: W.PowerIterationModel(),
    "truncation": lambda: W.TruncationModel(),
    "timing": lambda: W.TimingModel(**FAST_TIMING),
}

# view function, control, new value
VIEWS = {
    "fd": (W.fd_view, "h", 1e-1),
    "convention": (W.convention_view, "lr", 0.2),
    "degeneracy": (W.degeneracy_view, "gap", 0.0),
    "expm": (W.expm_view, "t", 1e-2),
    "phase": (W.phase_view, "theta", 1.0),
    "gauge_fd": (W.gauge_fd_view, "gauge", "canonical"),
    "projection": (W.projection_view, "case", "symmetric"),
    "power": (W.power_view, "order", 64),
    "truncation": (W.truncation_view, "tail", 0.0),
    "timing": (W.timing_view, "rule", "svd_jvp"),
}


# ---------------------------------------------------------------------------
# the base class
# ---------------------------------------------------------------------------

def test_model_rejects_unknown_parameters():
    with pytest.raises(TypeError, match="no parameter"):
        W.TruncationModel(kk=3)
    with pytest.raises(TypeError, match="no parameter"):
        W.TruncationModel().set(kk=3)


def test_model_caches_until_set():
    m = W.TruncationModel()
    r = m.result
    assert m.result is r
    m.set(k=3)
    assert m.result is not r and m.result["k"] == 3
    assert m.state == {"k": 3, "tail": 1.0, "seed": 0}
    assert repr(m) == "TruncationModel(k=3, tail=1.0, seed=0)"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_summary_is_one_line(name):
    m = MODELS[name]()
    s = m.summary()
    assert isinstance(s, str) and s and "\n" not in s


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("width", [W._base.SUMMARY_WIDTH, 40])
def test_printed_summary_breaks_lines_between_words(name, width):
    m = MODELS[name]()
    s, lines = m.summary(), m.summary_lines(width)
    assert [w for line in lines for w in line.split()] == s.split()   # no word cut in two
    assert all(len(line) <= width or " " not in line for line in lines)
    assert len(lines) == 1 or len(s) > width


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_plot_has_title_and_labelled_axes(name):
    m = MODELS[name]()
    fig = m.figure()
    plots = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.axison]  # not text strips
    assert plots
    for ax in plots:
        assert ax.get_title(), f"{name}: an axes without a title"
        assert ax.get_xlabel() and ax.get_ylabel(), f"{name}: unlabelled axes"
    png = m.png(dpi=40)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_models_do_not_touch_pyplot():
    pyplot = pytest.importorskip("matplotlib.pyplot")
    before = pyplot.get_fignums()
    W.TruncationModel().png(dpi=40)
    assert pyplot.get_fignums() == before


# ---------------------------------------------------------------------------
# the math each model shows
# ---------------------------------------------------------------------------

def test_fd_error_is_v_shaped():
    r = W.FiniteDifferenceModel().result
    best = np.argmin(r["errors"])
    assert 0 < best < len(r["hs"]) - 1
    assert r["errors"][best] < 1e-8 < min(r["errors"][0], r["errors"][-1])


def test_convention_only_dA_descends():
    r = W.ConventionModel(lr=0.02).result
    assert r["L_linalgad"] < r["L0"] < r["L_conj"]
    assert r["slope_linalgad"] < 0 < r["slope_conj"]


def test_degeneracy_modes_at_zero_gap():
    r = W.DegeneracyModel(gap=0.0).result
    assert r["strict"] == "DegeneracyError"
    assert r["errors"]["subspace"] < 1e-12 and r["errors"]["taylor"] < 1e-12
    lorentz = W.DegeneracyModel(gap=0.0, eps=1e-4).result["errors"]["lorentz"]
    assert lorentz > 100 * r["errors"]["lorentz"]


def _zero_view(fig):
    """(plot axes, x of the "0" tick, x of the dotted slider line, note text) of a
    degeneracy figure."""
    plots = [ax for ax in fig.axes if ax.axison]
    ax = plots[0]
    ticks = dict(zip((t.get_text() for t in ax.get_xticklabels()), ax.get_xticks()))
    dotted = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
    assert len(dotted) == 1
    notes = [t.get_text() for a in fig.axes if not a.axison for t in a.texts]
    return plots, ticks["0"], dotted[0].get_xdata()[0], "\n".join(notes)


@pytest.mark.parametrize("model, name", [(W.DegeneracyModel, "gap"), (W.ExpmModel, "t")])
def test_degeneracy_views_show_what_happens_at_zero(model, name):
    # A log axis cannot show 0: 0 gets a column of its own (tick "0"), the
    # slider's line moves there and a note says what each mode does.
    m = model(**{name: 1e-3})
    plots, x0, line, note = _zero_view(m.figure())
    assert line == 1e-3 and x0 < m.grid[0] and not note.startswith(f"{name} = 0:")
    assert m.zero_note() == []
    zero = m.result["zero"]
    for ax in plots[:1]:        # the values at 0 are drawn in that column, for every mode that returns
        at_zero = [ln for ln in ax.lines if list(ln.get_xdata()) == [x0]]
        assert len(at_zero) == sum(e is not None for e in zero["errors"].values())
    m.set(**{name: 0.0})
    assert m.result["zero"] == {k: v for k, v in m.result.items() if k in ("errors", "norms", "strict")}
    _, x0, line, note = _zero_view(m.figure())
    assert line == x0
    assert note.startswith(f"{name} = 0:") and "no derivative" in note
    assert "strict refuses: DegeneracyError" in note
    assert m.zero_note() == note.splitlines()


def test_expm_note_at_zero_names_the_modes_that_return_nan():
    note = W.ExpmModel(t=0.0).zero_note()
    assert "nan/inf (not drawn): exact" in note
    assert any(line.startswith("finite, rel. error: lorentz") for line in note)


def test_degeneracy_exact_mode_loses_accuracy_as_the_gap_closes():
    r = W.DegeneracyModel().result
    curve = r["error_curves"]["exact"]
    assert np.nanmax(curve[:5]) > 1e3 * np.nanmin(curve[-10:])


def test_degeneracy_exact_mode_is_nan_on_the_identity():
    # ChainRules.jl issue #664: tr(U) at A = I
    _, pullback = la.svd_vjp(np.eye(5), degeneracy="exact")
    assert np.isnan(pullback(dU=np.eye(5))).any()


def test_expm_subspace_is_silently_wrong_at_identity():
    r = W.ExpmModel(t=0.0).result
    assert r["errors"]["subspace"] > 0.1
    assert math.isnan(r["errors"]["exact"])
    assert r["strict"] == "DegeneracyError"
    r = W.ExpmModel(t=1e-2).result
    assert r["strict"] is None and r["errors"]["exact"] < 1e-8


def test_phase_invariant_losses_stay_put():
    r = W.PhaseModel(theta=0.7).result
    assert r["moves"]["|V[0,0]|"] < 1e-12
    assert r["moves"]["|V[0,1] + V[1,1]|"] < 1e-12
    assert r["moves"]["|V[0,0] + V[1,1]|"] > 0.1
    assert r["vjp"]["|V[0,0] + V[1,1]|"] == "GaugeError"
    assert r["phase_residual"]["|V[0,0] + V[1,1]|"] > 1e-3
    assert r["phase_residual"]["|V[0,0]|"] < 1e-12


def test_gauge_fixed_finite_differences_match_the_canonical_jvp():
    m = W.GaugeFDModel()
    assert m.set(gauge="canonical").result["error"] < 1e-6
    assert m.set(gauge="raw").result["error"] > 0.1


@pytest.mark.parametrize("case", W.projection.CASES)
def test_projection_answers(case):
    m = W.ProjectionModel(case=case)
    r = m.result
    assert r["err_structured"] < 1e-6 and r["err_dense"] > 1e-2
    r = m.set(answer="dense").result
    assert r["err_structured"] < 1e-6 and r["err_dense"] < 1e-6
    if case == "real":
        assert np.isrealobj(r["projected"]) and np.allclose(r["projected"], r["dense"].real)
    if case == "symmetric":
        A = m.problem()[0]
        _, pullback = la.eigh_vjp(A, UPLO=None)
        assert np.allclose(r["projected"], pullback(dw=np.eye(1, 5, 4)[0]))
        assert np.allclose(np.triu(r["dense"], 1), 0)
    if case == "sparse":
        A = m.problem()[0].toarray()
        assert np.all(r["projected"][A == 0] == 0)


def test_power_iteration_converges_and_is_biased_at_degeneracy():
    r = W.PowerIterationModel(gap=0.1, order=16).result
    errs = r["errors_vs_order"]
    assert np.all(np.diff(errs) <= 1e-12)
    assert np.all(errs <= 1.01 * (1 - 0.1) ** r["orders"])
    r0 = W.PowerIterationModel(gap=0.0, order=16).result
    assert math.isnan(r0["rel_error"]) and r0["strict"] == "DegeneracyError"
    assert math.isfinite(r0["norm_taylor"])
    assert W.PowerIterationModel(gap=0.0, order=32).result["norm_taylor"] != r0["norm_taylor"]


def test_truncated_naive_rule_is_exact_only_without_a_tail():
    m = W.TruncationModel(k=2)
    assert m.result["rel_error"] > 0.1
    assert m.set(tail=0.0).result["rel_error"] < 1e-10
    assert m.set(tail=1.0, k=5).result["rel_error"] < 1e-10
    assert 0 < m.result["rect_share"] < 1
    assert m.result["error_vs_tail"][0] < 1e-10


def test_timing_model_caches_measurements():
    m = W.TimingModel(**FAST_TIMING)
    r = m.result
    assert np.all(r["core"] > 0) and np.all(r["reference"] > 0) and np.all(r["gemm_floor"] > 0)
    m.set(rule="svd_jvp")
    m.set(rule="svd_vjp")
    assert m.result["core"] is r["core"]          # measured once per (rule, batch, sizes)


# ---------------------------------------------------------------------------
# the views
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(VIEWS))
def test_view_moves_the_model(name):
    pytest.importorskip("ipywidgets")
    view_fn, control, value = VIEWS[name]
    model = MODELS[name]()
    view = view_fn(model)
    assert isinstance(view, W._base.view_class())
    assert view.model is model
    assert set(view.controls) <= set(model.params)
    assert view.result is model.result
    before_summary, before_png = view.summary, view.image.value
    view.controls[control].value = value
    assert getattr(model, control) == value
    assert view.result is model.result
    assert view.summary == model.summary() != before_summary
    assert view.printed == "\n".join(model.summary_lines())
    assert view.image.value != before_png
    # a static copy (printed summary and plot) for pages without a kernel
    bundle = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    page = bundle["text/html"]
    assert page.startswith("<pre>") and "data:image/png;base64," in page
    assert base64.b64decode(page.split("base64,")[1].split('"')[0]) == view.image.value


def test_importing_the_widgets_needs_neither_matplotlib_nor_ipywidgets():
    import subprocess
    import sys

    code = ("import sys, linalgad.widgets; "
            "print('matplotlib' in sys.modules, 'ipywidgets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
