"""The docstring examples of the package run, and give what they show (doctest).

Every module of ``cx_helpers`` is walked (private ones too, ``__main__`` excepted: importing it
runs the command line), and each module's examples run in a fresh namespace with the standard
doctest options only: an example that needs ``ELLIPSIS`` or ``NORMALIZE_WHITESPACE`` says so
itself, so ``python -m doctest cx_helpers/metrics.py`` passes as this test does. An example
that cannot run on its own (it needs a loaded study, say) is marked ``# doctest: +SKIP``.
Examples run from the repository's root, so they may load the bundled studies by their paths
(``cx.load("data/sample")``), as a reader in a clone would.

The modules below are the worked examples of the API reference: every function and class they
export (``__all__``) has at least one example that runs.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import io
import pkgutil
from pathlib import Path

import pytest

import cx_helpers

ROOT = Path(__file__).resolve().parent.parent

# Modules whose every exported function and class carries a runnable example.
EXAMPLES_REQUIRED = ("cx_helpers.design", "cx_helpers.display", "cx_helpers.errors",
                     "cx_helpers.metrics", "cx_helpers.outputs")


def _module_names():
    names = {m.name for m in pkgutil.walk_packages(cx_helpers.__path__, "cx_helpers.")}
    return ["cx_helpers"] + sorted(n for n in names if not n.endswith(".__main__"))


MODULES = _module_names()


def _run(module_name):
    """Run a module's doctests; return {test name: (attempted, failed)} and the failure report."""
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    report = io.StringIO()
    results = {}
    for test in finder.find(module, module_name):
        if not test.examples:
            continue
        runner = doctest.DocTestRunner(verbose=False)
        res = runner.run(test, out=report.write, clear_globs=True)
        results[test.name] = (res.attempted, res.failed)
    return results, report.getvalue()


@pytest.mark.parametrize("module_name", MODULES)
def test_examples_give_what_they_show(module_name, monkeypatch):
    monkeypatch.chdir(ROOT)
    results, report = _run(module_name)
    failed = {name: f for name, (_, f) in results.items() if f}
    assert not failed, f"{module_name}: failing doctest examples in {sorted(failed)}:\n{report}"


def test_walk_finds_the_package():
    # the walk must see the package's modules, or the parametrised test above checks nothing
    assert set(EXAMPLES_REQUIRED) <= set(MODULES)
    assert len(MODULES) >= 15


@pytest.mark.parametrize("module_name", EXAMPLES_REQUIRED)
def test_every_export_has_a_runnable_example(module_name):
    module = importlib.import_module(module_name)
    results, report = _run(module_name)
    exported = [n for n in module.__all__
                if inspect.isfunction(getattr(module, n)) or inspect.isclass(getattr(module, n))]
    assert exported
    without = []
    for name in exported:
        obj = getattr(module, name)
        # a class counts its own examples and those of its methods
        prefix = f"{module_name}.{name}"
        ran = sum(att for test, (att, _) in results.items()
                  if test == prefix or (inspect.isclass(obj) and test.startswith(prefix + ".")))
        if ran == 0:
            without.append(name)
    assert not without, f"{module_name}: no runnable example for {', '.join(without)}"
    attempted = sum(att for att, _ in results.values())
    assert attempted >= 2 * len(exported), (module_name, attempted, len(exported))
    assert not report, report


def test_a_wrong_example_is_caught():
    # the runner used above does report a failing example (so a pass means something)
    parser = doctest.DocTestParser()
    test = parser.get_doctest(">>> from cx_helpers.metrics import kish_n\n>>> kish_n([1, 1, 2, 2])"
                              "\n4.0\n", {}, "wrong", "wrong.py", 0)
    out = io.StringIO()
    res = doctest.DocTestRunner(verbose=False).run(test, out=out.write)
    assert (res.attempted, res.failed) == (2, 1)
    assert "3.6" in out.getvalue()
