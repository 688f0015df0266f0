"""The two halves of every notebook widget.

``Model``: the state (named parameters) and the math, with no display. It
computes a ``result`` (a dict, cached until a parameter changes), a one-line
``summary()`` and draws itself on a matplotlib ``Figure`` it is given. Models
import neither ipywidgets nor pyplot, so the tests drive them directly.

``ModelView``: an ipywidgets ``VBox`` made of the controls, an ``Output``
holding the printed summary and an ``Image`` holding the figure as PNG. Each
control's value is forwarded to ``model.set``; after every change the view
re-renders the picture and then prints the summary (so "the text changed"
means "the picture is already there"). The view keeps ``.model``,
``.controls`` (name -> widget), ``.result`` and ``.summary`` for tests and
readers; it never calls ``display()``: the notebook shows it by ending a cell
with it.
"""

import base64
import functools
import html
import io
import textwrap

__all__ = ["Model", "ModelView", "view_class", "choice_slider", "log_ticks", "SUMMARY_WIDTH"]

# Characters per printed summary line. A notebook's output area breaks longer
# lines wherever the width runs out, in the middle of a word or a number.
SUMMARY_WIDTH = 88


class Model:
    """Base class: subclasses set ``params`` (name -> default), ``figsize``,
    and implement ``compute() -> dict``, ``summary() -> str`` and ``draw(fig)``."""

    params: dict = {}
    figsize = (9.0, 3.4)

    def __init__(self, **params):
        self._check(params)
        for name, value in {**self.params, **params}.items():
            setattr(self, name, value)
        self._result = None

    def _check(self, params):
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} has no parameter(s) {unknown}; "
                f"its parameters are {sorted(self.params)}"
            )

    def set(self, **params):
        """Change parameters; the result is recomputed on the next access."""
        self._check(params)
        for name, value in params.items():
            setattr(self, name, value)
        self._result = None
        return self

    @property
    def state(self):
        return {name: getattr(self, name) for name in self.params}

    @property
    def result(self):
        if self._result is None:
            self._result = self.compute()
        return self._result

    def compute(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def summary(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def draw(self, fig):  # pragma: no cover - abstract
        raise NotImplementedError

    def summary_lines(self, width=SUMMARY_WIDTH):
        """``summary()`` broken at spaces into lines of at most ``width``
        characters (a longer single word keeps a line of its own)."""
        return textwrap.wrap(self.summary(), width, break_long_words=False,
                             break_on_hyphens=False)

    def figure(self):
        """A new matplotlib Figure (not registered with pyplot) with the plot."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=self.figsize, layout="constrained")
        self.draw(fig)
        return fig

    def png(self, dpi=90):
        """The figure as PNG bytes."""
        buf = io.BytesIO()
        self.figure().savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.state.items())
        return f"{type(self).__name__}({args})"


def choice_slider(description, values, value, fmt="{:.0e}"):
    """A SelectionSlider over numbers (labels formatted; 0 shown as '0')."""
    import ipywidgets as w

    options = [("0" if v == 0 else fmt.format(v), v) for v in values]
    return w.SelectionSlider(description=description, options=options, value=value,
                             continuous_update=False, style={"description_width": "initial"},
                             layout=w.Layout(width="420px"))


def log_ticks(ax, axis="x"):
    """Decade ticks only (keeps crowded log axes readable)."""
    from matplotlib.ticker import LogLocator

    loc = LogLocator(base=10, numticks=8)
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_locator(loc)


@functools.cache
def view_class():
    """The ``ModelView`` class (an ipywidgets ``VBox``), built on first use so
    that importing linalgad.widgets does not import ipywidgets."""
    import ipywidgets as w

    class ModelView(w.VBox):
        def __init__(self, model, controls, *, dpi=90):
            out = w.Output(layout=w.Layout(min_height="1.6em"))
            image = w.Image(format="png", layout=w.Layout(max_width="100%"))
            bar = w.HBox(list(controls.values()), layout=w.Layout(flex_flow="row wrap"))
            super().__init__([bar, out, image])
            self.add_class("linalgad-view")
            self.out, self.image, self.dpi = out, image, dpi
            self.model = model
            self.controls = dict(controls)
            self.result = None
            self.summary = ""
            self.printed = ""
            for name, ctl in self.controls.items():
                ctl.observe(self._on_change(name), names="value")
            self.refresh()

        def _on_change(self, name):
            def handler(change):
                self.model.set(**{name: change["new"]})
                self.refresh()

            return handler

        def refresh(self):
            """Recompute, re-render the image, then print the summary."""
            self.result = self.model.result
            self.summary = self.model.summary()
            self.printed = "\n".join(self.model.summary_lines())
            self.image.value = self.model.png(dpi=self.dpi)
            with self.out:
                self.out.clear_output(wait=True)
                print(self.printed)

        def _repr_mimebundle_(self, **kwargs):
            # A static copy (the printed summary and the plot) beside the
            # live widget, for pages that cannot run a kernel (the docs).
            data = super()._repr_mimebundle_(**kwargs) or {}
            png = base64.b64encode(self.image.value).decode("ascii")
            data["text/html"] = (f"<pre>{html.escape(self.printed)}</pre>"
                                 f'<img alt="{html.escape(self.summary)}" '
                                 f'src="data:image/png;base64,{png}"/>')
            return data

        def __repr__(self):
            return f"ModelView({self.model!r})"

    return ModelView


def ModelView(model, controls, *, dpi=90):
    """An ipywidgets VBox driving ``model`` from ``controls`` (name -> widget
    whose ``.value`` is that parameter); an instance of ``view_class()``.
    See the module docstring."""
    return view_class()(model, controls, dpi=dpi)
