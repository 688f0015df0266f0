"""The Examples sections of the public docstrings run as doctests."""

import doctest
import importlib
import warnings

import numpy as np
import pytest

MODULES = [
    "linalgad._options", "linalgad._results", "linalgad.gauge", "linalgad.project",
    "linalgad.rules.svd", "linalgad.rules.eigh", "linalgad.rules.eig", "linalgad.rules.polar",
    "linalgad.rules.funm", "linalgad.rules.svfunm", "linalgad.testing",
]


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
    import linalgad
    import linalgad.testing as lt
    tested = {t.values[0].name.rsplit(".", 1)[-1] for t in TESTS}
    public = [n for n in linalgad.__all__ if callable(getattr(linalgad, n))
              and not isinstance(getattr(linalgad, n), type)]
    public += [n for n in lt.__all__ if callable(getattr(lt, n)) and not isinstance(getattr(lt, n), type)]
    assert sorted(set(public) - tested) == []
