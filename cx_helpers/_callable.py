"""Modules that are also functions: ``cx.inventory(study)`` and ``cx.journeys(study)``.

``cx_helpers.inventory`` and ``cx_helpers.journeys`` hold the functions of their step and are
also called directly for the step's main table. Python allows a module's class to be replaced by
a subclass of :class:`types.ModuleType` (the data model's "customizing module attribute
access"); the subclass here adds ``__call__``.
"""

from __future__ import annotations

import sys
import types


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return self.__call_target__(*args, **kwargs)


def make_callable(module_name: str, function) -> None:
    """Make the module ``module_name`` callable: calling it calls ``function``."""
    module = sys.modules[module_name]
    module.__class__ = _CallableModule
    module.__call_target__ = function
