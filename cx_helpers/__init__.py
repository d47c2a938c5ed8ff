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



def __getattr__(name):
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"cx_helpers.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"cx_helpers.{name}":
                raise
    raise AttributeError(f"module 'cx_helpers' has no attribute {name!r}")
