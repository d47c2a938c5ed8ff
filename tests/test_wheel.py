"""The wheel is a working package: built, installed into a fresh environment and run from outside
the repository, `cx run` finds its notebooks inside the installed package.

Offline: the wheel is built without build isolation (setuptools from the test extra) and
installed with ``--no-index --no-deps``; the fresh environment borrows the dependencies of the
running one through a ``.pth`` line placed after its own site-packages, so the installed wheel,
not the repository or its editable install, provides ``cx_helpers``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import FAST, ROOT
from cx_helpers import synth

NOTEBOOKS = ("01_touchpoint_inventory.ipynb", "02_loyalty_regression.ipynb",
             "03_journey_vs_touchpoint.ipynb")
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "cx_helpers", "notebooks")


def _run(args, **kwargs):
    res = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert res.returncode == 0, f"{' '.join(map(str, args))} failed:\n{res.stdout}\n{res.stderr}"
    return res


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built from a clean copy of its sources (no stale build/ folder)."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info",
                                                          ".ipynb_checkpoints"))
        else:
            shutil.copy2(path, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "--quiet", "--wheel-dir", base / "dist", src])
    (found,) = (base / "dist").glob("cx_helpers-*.whl")
    return found


def test_wheel_holds_notebooks_and_licence(wheel):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert wheel.name == f"cx_helpers-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        info = f"cx_helpers-{version}.dist-info"
        meta = zf.read(f"{info}/METADATA").decode()
        entry_points = zf.read(f"{info}/entry_points.txt").decode()
        licence = zf.read(f"{info}/licenses/LICENSE").decode()
    for nb in NOTEBOOKS:
        assert f"cx_helpers/notebooks/{nb}" in names
    assert "cx_helpers/notebooks/__init__.py" in names
    # every file of the package's source tree (modules and data, e.g. the report's template)
    package = set(_run(["git", "ls-files", "cx_helpers"], cwd=ROOT).stdout.split())
    assert package and package - names == set()
    assert "cx_helpers/templates/cx_report/index.html.j2" in names
    assert not any(n.startswith(("notebooks/", "tools/", "tests/")) for n in names)
    assert "cx_helpers/nbtools.py" not in names          # a developer tool, not the package
    assert "License-Expression: MIT" in meta and "License-File: LICENSE" in meta
    assert licence == (ROOT / "LICENSE").read_text()
    assert "cx = cx_helpers.cli:main" in entry_points
    # runtime requirements and the extras are separate
    assert "Requires-Dist: papermill>=2.6\n" in meta
    assert 'Requires-Dist: pytest>=8; extra == "test"' in meta
    assert 'Requires-Dist: jupyterlab>=4.2; extra == "lab"' in meta
    assert 'Requires-Dist: sphinx>=7; extra == "docs"' in meta


@pytest.mark.slow
def test_installed_wheel_runs_a_study_outside_the_repository(wheel, tmp_path):
    fresh = tmp_path / "fresh"
    _run([sys.executable, "-m", "venv", "--without-pip", fresh])
    python = fresh / "bin" / "python"
    # pip of this environment installs into the fresh one (no index, no dependencies)
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
          "--quiet", wheel])
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                .stdout.strip())
    # numba's cache is keyed by the source's content, not its place: the repository's compiled
    # kernels serve the installed copy, as a second run would find them (a first run compiles
    # them once, 20-60 s on its own and far longer on a loaded machine)
    cache = site / "cx_helpers" / "__pycache__"
    cache.mkdir(exist_ok=True)
    for compiled in (ROOT / "cx_helpers" / "__pycache__").glob("*.nb[ic]"):
        shutil.copy2(compiled, cache / compiled.name)
    # the dependencies: this environment's site-packages, searched after the fresh one's, and
    # nbconvert's templates, which its installation puts under the environment's share/jupyter
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (fresh / "share" / "jupyter").mkdir(parents=True)
    (fresh / "share" / "jupyter" / "nbconvert").symlink_to(
        Path(sysconfig.get_paths()["data"]) / "share" / "jupyter" / "nbconvert")

    work = tmp_path / "elsewhere"              # outside the repository
    work.mkdir()
    # a small study of the sample's design: the wheel is under test here, not the statistics
    study = synth.write_study(work / "study", customers=500, seed=3)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "JUPYTER_PATH", "VIRTUAL_ENV")}
    # no kernel registered elsewhere (the project's cx-suite kernel runs the repository's
    # environment): the run must use the fresh interpreter's own kernel
    env.update(JUPYTER_DATA_DIR=str(tmp_path / "jupyter"), JUPYTER_CONFIG_DIR=str(tmp_path / "jcfg"),
               PATH=f"{fresh / 'bin'}{os.pathsep}{env.get('PATH', '')}")

    where = _run([python, "-c", "import cx_helpers, cx_helpers.runner as r; "
                  "print(cx_helpers.__file__); print(r.NOTEBOOK_DIR)"], cwd=work, env=env)
    package_file, notebook_dir = where.stdout.split()
    assert Path(package_file).is_relative_to(site)
    assert Path(notebook_dir) == site / "cx_helpers" / "notebooks"

    out = work / "report"
    res = subprocess.run([fresh / "bin" / "cx", "run", study, "--out", out, *FAST], cwd=work,
                         env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (out / "report.html").stat().st_size > 10_000
    tables = {p.name for p in (out / "tables").glob("*.csv")}
    # one table of each notebook
    assert {"inventory.csv", "importance.csv", "journey_vs_touchpoint.csv"} <= tables, sorted(tables)
    for nb in NOTEBOOKS:
        executed = json.loads((out / "notebooks" / nb).read_text())
        source = Path(executed["metadata"]["papermill"]["input_path"])
        assert source == site / "cx_helpers" / "notebooks" / nb   # the wheel's, not the repo's
        assert not source.is_relative_to(ROOT)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kernel"] == "python3"     # the fresh interpreter's kernel
