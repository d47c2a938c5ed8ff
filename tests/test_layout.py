"""The run folder's layout: one module for its names, the manifest, the hashes and versions."""

from __future__ import annotations

import ast
import hashlib
import json
from importlib import metadata
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from cx_helpers import layout
from cx_helpers.errors import StudyError
from cx_helpers.layout import RunLayout, VersionDifference
from cx_helpers.outputs import RunOutput

matplotlib.use("Agg")

PACKAGE = Path(layout.__file__).resolve().parent


def test_run_layout_names_every_file_of_a_run(tmp_path):
    run = RunLayout(tmp_path)
    assert run.tables == tmp_path / "tables" and run.figures == tmp_path / "figures"
    assert run.notebooks == tmp_path / "notebooks"
    assert run.report == tmp_path / "report.html" and run.pdf == tmp_path / "report.pdf"
    assert run.manifest == tmp_path / "manifest.json" and run.failed == tmp_path / "FAILED.txt"
    assert run.lock == tmp_path / ".cx-run.lock"
    assert run.table("inventory") == tmp_path / "tables" / "inventory.csv"
    assert run.figure("map") == tmp_path / "figures" / "map.png"
    assert run.notebook("01_x.ipynb") == tmp_path / "notebooks" / "01_x.ipynb"


def test_notebooks_write_where_the_layout_says(tmp_path):
    import matplotlib.pyplot as plt

    out = RunOutput(tmp_path)
    out.table(pd.DataFrame({"a": [1, 2]}), "b_table")
    out.table(pd.DataFrame({"a": [3]}), "a_table")
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    out.figure(ax, "line")
    plt.close(fig)
    run = RunLayout(tmp_path)
    assert run.table("b_table").read_text() == "a\n1\n2\n"
    assert run.figure("line").read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in run.table_files()] == ["a_table.csv", "b_table.csv"]
    assert layout.table_hashes(tmp_path) == {
        name: hashlib.sha256(run.table(name[:-4]).read_bytes()).hexdigest()
        for name in ("a_table.csv", "b_table.csv")}


def test_sha256_reads_large_files_in_blocks(tmp_path):
    path = tmp_path / "big.bin"
    data = bytes(range(256)) * 9000 + b"tail"      # more than two 1 MiB blocks
    path.write_bytes(data)
    assert layout.sha256(path) == hashlib.sha256(data).hexdigest()


def test_manifest_round_trip_and_refusals(tmp_path):
    manifest = {"status": "ok", "packages": {"pandas": "3.0.0"}, "note": "é"}
    path = layout.write_manifest(tmp_path, manifest)
    assert path == tmp_path / "manifest.json" and path.read_text().endswith("}\n")
    assert layout.read_manifest(tmp_path) == manifest
    with pytest.raises(StudyError, match="no manifest.json: this is not a run folder"):
        layout.read_manifest(tmp_path / "elsewhere")
    path.write_text('{"status": "ok",')
    with pytest.raises(StudyError, match="not valid JSON"):
        layout.read_manifest(tmp_path)
    path.write_text("[1, 2]")
    with pytest.raises(StudyError, match="not a JSON object"):
        layout.read_manifest(tmp_path)


def test_package_versions_are_the_installed_ones():
    found = layout.package_versions(("pandas", "numpy", "cx-no-such-package"))
    assert found == {"pandas": metadata.version("pandas"), "numpy": metadata.version("numpy"),
                     "cx-no-such-package": None}
    assert set(layout.package_versions()) == set(layout.PACKAGES)


def test_version_differences_name_the_package_the_run_and_now():
    now = {"pandas": "3.0.1", "numpy": "2.4.0", "scipy": None}
    manifest = {"python": "3.11.7",
                "packages": {"pandas": "3.0.0", "numpy": "2.4.0", "scipy": "1.16.0"}}
    found = layout.version_differences(manifest, current=now, python="3.12.1")
    assert found == [VersionDifference("python", "3.11.7", "3.12.1"),
                     VersionDifference("pandas", "3.0.0", "3.0.1"),
                     VersionDifference("scipy", "1.16.0", None)]
    assert [str(d) for d in found[1:]] == ["pandas: 3.0.0 in the run, 3.0.1 now",
                                          "scipy: 1.16.0 in the run, not installed now"]
    assert layout.version_differences(manifest, current={**now, "pandas": "3.0.0",
                                                         "scipy": "1.16.0"},
                                      python="3.11.7") == []
    # by default the running environment: the manifest's own versions match it
    here = {"python": layout.platform.python_version(),
            "packages": layout.package_versions()}
    assert layout.version_differences(here) == []
    assert layout.version_differences({}) == []


def _string_constants(path: Path) -> list[str]:
    """The string literals of a module, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) and id(n) not in docstrings]


def _joined_names(path: Path) -> set[str]:
    """The string literals a module joins to a path with ``/``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {side.value for n in ast.walk(tree)
            if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div)
            for side in (n.left, n.right)
            if isinstance(side, ast.Constant) and isinstance(side.value, str)}


# cx run's messages in cli.py (`run_dir / 'report.html'`, the --pdf help): another change moves
# them to layout.REPORT_HTML / REPORT_PDF
KNOWN = set()


def test_the_run_folder_names_live_in_layout_only():
    names = (layout.MANIFEST, layout.REPORT_HTML, layout.REPORT_PDF, layout.FAILED,
             layout.LOCK_NAME)
    found = set()
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "layout.py":
            continue
        for text in _string_constants(path):
            found |= {(path.name, name) for name in names if name in text}
    assert found <= KNOWN, sorted(found - KNOWN)
    # no path is built from a folder name written out: `run_dir / "tables"` is RunLayout's
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name != "layout.py":
            assert not _joined_names(path) & {"tables", "figures", "notebooks"}, path.name


def _written_tables() -> set[str]:
    """The table names the notebooks write: ``out.table(df, "name")`` in their code cells."""
    import nbformat

    from cx_helpers.runner import NOTEBOOK_DIR, NOTEBOOKS

    names = set()
    for name in NOTEBOOKS:
        for cell in nbformat.read(NOTEBOOK_DIR / name, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            source = "\n".join(line for line in cell.source.splitlines()
                               if not line.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "table" \
                        and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                    names.add(node.args[1].value)
    return names


def test_every_table_the_report_reads_is_written_by_a_notebook():
    written = _written_tables()
    assert {"inventory", "importance", "journey_types"} <= written   # the scan finds calls
    assert set(layout.Table.names()) <= written, set(layout.Table.names()) - written
    assert len(layout.Table.names()) == 10 and layout.SUMMARY not in written
