"""The study notebooks, shipped in the package as ``cx_helpers.notebooks``.

This folder is where researchers open and edit the notebooks (``make lab``) and what nbval
tests; ``pyproject.toml`` maps it to the package ``cx_helpers.notebooks``, so that an installed
``cx run`` (from a wheel, or ``pip install .``) finds the same files with ``importlib.resources``.
"""
