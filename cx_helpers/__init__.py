"""cx_helpers: the tested package behind the CX study notebooks.

A study walks three steps -- touchpoint inventory, loyalty regression (key drivers) and
journey-versus-touchpoint comparison -- each a parameterised notebook that calls into this package.
Submodules (``cx_helpers.metrics``, ``.inventory``, ``.drivers``, ``.journeys``, ``.plots``...)
are imported on first use, so ``import cx_helpers as cx; cx.metrics.nps(...)`` works.
"""

import importlib

from cx_helpers.errors import StudyError
from cx_helpers.study import Study, load_study

__version__ = "0.1.0"
__all__ = ["Study", "StudyError", "load_study", "__version__"]

_SUBMODULES = {"cli", "design", "drivers", "inventory", "journeys", "metrics", "nbtools",
               "outputs", "plots", "runner", "study", "synth"}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"cx_helpers.{name}")
    raise AttributeError(f"module 'cx_helpers' has no attribute {name!r}")
