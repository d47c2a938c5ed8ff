"""Keep committed notebooks free of execution noise (a developer tool, not part of the package).

``python tools/nbtools.py NOTEBOOK...`` (``make notebooks`` for all three) executes each notebook
on its default parameters (the bundled sample study) and keeps only the outputs (and execution
counts) of cells marked ``# NBVAL_CHECK_OUTPUT``, which nbval compares on every test run. Other
outputs are removed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"


def clean(nb):
    """Drop execution noise: outputs of unchecked cells, execution counts, run metadata."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        if cell.cell_type != "code":
            continue
        if CHECK_MARK not in cell.source:  # nbval needs the count of a checked cell, not others
            cell.execution_count = None
            cell.outputs = []
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)   # progress-bar widget state: new ids on every run
    return nb


def refresh(path, kernel_name=None) -> None:
    """Execute a notebook in its folder, then store it cleaned."""
    from nbclient import NotebookClient

    from cx_helpers.runner import KERNEL_ARGUMENTS
    from cx_helpers.runner import kernel_name as default_kernel

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name=kernel_name or default_kernel(), timeout=600,
                   extra_arguments=KERNEL_ARGUMENTS,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(clean(nb), path)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"refreshing {name}", flush=True)
        refresh(name)
