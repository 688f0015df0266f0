"""The Examples sections of the public docstrings run as doctests."""

import doctest
import importlib
import importlib.util
import os
import warnings

import numpy as np
import pytest

MODULES = [
    "linalgad._options", "linalgad._results", "linalgad.gauge", "linalgad.project",
    "linalgad.rules.svd", "linalgad.rules.eigh", "linalgad.rules.eig", "linalgad.rules.polar",
    "linalgad.rules.funm", "linalgad.rules.svfunm", "linalgad.testing", "linalgad.sparse",
    "linalgad._config",
]
# the lazy rules need dask (optional; CI has it)
if os.environ.get("CI") or importlib.util.find_spec("dask") is not None:
    MODULES.append("linalgad.dask")


def _tests():
    finder = doctest.DocTestFinder()
    for name in MODULES:
        for t in finder.find(importlib.import_module(name)):
            if t.examples:
                yield pytest.param(t, id=t.name)


TESTS = list(_tests())


@pytest.mark.parametrize("test", TESTS)
def test_docstring_examples(test):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    with warnings.catch_warnings(), np.printoptions(legacy=False):
        warnings.simplefilter("error")   # an example must not use a deprecated spelling
        result = runner.run(test, out=lambda s: pytest.fail(s, pytrace=False))
    assert result.failed == 0


def test_every_public_function_has_a_doctest():
    import inspect
    modules = [importlib.import_module(m) for m in ("linalgad", "linalgad.testing")]
    if "linalgad.dask" in MODULES:
        modules.append(importlib.import_module("linalgad.dask"))
    tested = {t.values[0].name for t in TESTS}
    public = {f"{fn.__module__}.{fn.__name__}" for mod in modules for fn in map(mod.__getattribute__, mod.__all__)
              if inspect.isfunction(inspect.unwrap(fn))}
    assert sorted(public - tested) == []
    assert "linalgad.sparse.eigsh_vjp" in public
