"""The framework adapters' public functions: numpydoc docstrings, and their
Examples run as doctests with the framework imported (under CI a missing
framework fails instead of skipping)."""

import doctest
import importlib
import inspect
import os

import pytest
from numpydoc.docscrape import FunctionDoc

ADAPTERS = {"linalgad.torch": "torch", "linalgad.jax": "jax", "linalgad.autograd": "autograd"}


def _adapter(module):
    framework = ADAPTERS[module]
    if os.environ.get("CI"):
        importlib.import_module(framework)   # CI installs the frameworks
    else:
        pytest.importorskip(framework, reason=f"{module} needs {framework}")
    return importlib.import_module(module)


def _public(module):
    """(name, object) of every public function; for linalgad.jax also the
    forward flavour's."""
    mod = _adapter(module)
    out = [(f"{module}.{n}", getattr(mod, n)) for n in mod.__all__ if callable(getattr(mod, n))]
    if module == "linalgad.jax":
        out += [(f"{module}.forward.{n}", getattr(mod.forward, n))
                for n in mod.__all__ if n not in ("forward", "reverse", "reraise")]
    return out


def _documented(doc):
    return {x.strip().lstrip("*") for p in doc["Parameters"] for x in p.name.split(",")}


@pytest.mark.parametrize("module", ADAPTERS)
def test_numpydoc_docstrings(module):
    functions = _public(module)
    assert len(functions) >= 3
    for name, fn in functions:
        assert fn.__doc__, f"{name} has no docstring"
        doc = FunctionDoc(fn)
        assert doc["Summary"], f"{name}: no summary line"
        if not inspect.isclass(fn):
            params = set(inspect.signature(fn).parameters)
            missing = params - _documented(doc)
            assert not missing, f"{name}: parameters not documented: {sorted(missing)}"
            assert doc["Returns"], f"{name}: no Returns section"
        assert doc["Raises"], f"{name}: no Raises section"
        assert any(line.lstrip().startswith(">>>") for line in doc["Examples"]), \
            f"{name}: no Examples section with a runnable example"


@pytest.mark.parametrize("module", ADAPTERS)
def test_docstring_examples(module):
    mod = _adapter(module)
    tests = [t for t in doctest.DocTestFinder().find(mod) if t.examples]
    names = {t.name.rsplit(".", 1)[-1] for t in tests}
    assert {n for n in mod.__all__ if n not in ("forward", "reverse")} <= names
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t, out=lambda s: pytest.fail(s, pytrace=False))
    assert runner.failures == 0
