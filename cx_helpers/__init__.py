"""cx_helpers: the tested package behind the CX study notebooks.

A study walks three steps -- touchpoint inventory, key drivers of an outcome, journeys versus
touchpoints -- each a parameterised notebook over this package. From Python, five calls::

    import cx_helpers as cx
    study = cx.load("data/sample")          # a validated Study; print it for a summary
    cx.inventory(study)                     # a row per touchpoint
    cx.key_drivers(study)                   # importance of each touchpoint, per outcome
    cx.journeys(study)                      # journeys rebuilt from the event log
    cx.compare(study)                       # journey versus touchpoint models, out of sample

Each returns a tidy DataFrame whose columns its docstring lists; options are keyword-only and
share their names (``na``, ``seed``, ``confidence``, ``weights``, ``min_base``) and defaults
(the study's own: :attr:`Study.na`, :attr:`Study.seed`, :attr:`Study.min_base`; 95 %).
``cx.inventory`` and ``cx.journeys`` are also the modules of their step
(:mod:`cx_helpers.inventory`, :mod:`cx_helpers.journeys`); every other module is imported on
first use, so ``cx.metrics.nps(...)`` or ``cx.plots.priority_plot(...)`` work after
``import cx_helpers as cx``.
"""

import importlib

from cx_helpers.errors import StudyError
from cx_helpers.study import Study, load_study

__version__ = "0.1.0"
__all__ = ["Study", "StudyError", "compare", "inventory", "journeys", "key_drivers", "load",
           "load_study", "__version__"]

load = load_study

_FUNCTIONS = {"key_drivers": "cx_helpers.drivers", "compare": "cx_helpers.journeys.compare"}


def __getattr__(name):
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(_FUNCTIONS[name]), name)
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"cx_helpers.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"cx_helpers.{name}":
                raise
    raise AttributeError(f"module 'cx_helpers' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
