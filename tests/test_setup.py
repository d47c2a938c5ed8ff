"""The set-up: pyproject.toml, the lock file, environment.yml, the Makefile and CI agree.

Everything here is checked offline: names, bounds and pins are compared as text and with
``packaging``'s specifiers; nothing is resolved or downloaded.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata, resources
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
LOCK_PYTHON = "3.11"

# PyPI name -> conda-forge package name, where the two differ. Checked against the feedstocks'
# recipes (package: name:) on GitHub: conda-forge/python-duckdb-feedstock (python-duckdb),
# conda-forge/playwright-python-feedstock (playwright-python; conda-forge's `playwright` is the
# Node.js tool, conda-forge/playwright-feedstock), conda-forge/jupyter_client-feedstock
# (jupyter_client), conda-forge/matplotlib-feedstock (outputs matplotlib-base, and matplotlib =
# matplotlib-base + PySide6), conda-forge/nbconvert-feedstock (outputs nbconvert-core, and
# nbconvert = nbconvert-core + pandoc). Every other dependency has the same name on both.
CONDA_NAMES = {
    "duckdb": "python-duckdb",
    "playwright": "playwright-python",
    "jupyter-client": "jupyter_client",
    "matplotlib": "matplotlib-base",
    "nbconvert": "nbconvert-core",
}
# dependencies with no conda-forge package, to be installed by pip inside the conda environment
PIP_ONLY: set[str] = set()


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements() -> dict[str, Requirement]:
    """Every requirement of the project: runtime and each extra, by canonical name."""
    project = _project()
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines += extra
    reqs = [Requirement(line) for line in lines]
    by_name = {canonicalize_name(r.name): r for r in reqs}
    assert len(by_name) == len(reqs), "a package is listed twice in pyproject.toml"
    return by_name


def _lock() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", LOCK.read_text(), re.M)
    return {canonicalize_name(name): version for name, version in pins}


def _conda(spec: str) -> tuple[str, str]:
    m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", spec.strip())
    return m.group(1), m.group(2).replace(" ", "")


def test_requirements_have_lower_bounds():
    for name, req in _requirements().items():
        lower = [s for s in req.specifier if s.operator in (">=", ">", "==", "~=")]
        assert lower, f"{name} has no lower bound in pyproject.toml"


def test_extras_keep_developer_tools_out_of_the_runtime():
    project = _project()
    runtime = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    extras = project["optional-dependencies"]
    assert set(extras) == {"test", "docs", "lab", "spark"}
    named = {k: {canonicalize_name(Requirement(r).name) for r in v} for k, v in extras.items()}
    assert {"pytest", "nbval", "playwright"} <= named["test"]
    assert {"sphinx", "numpydoc", "myst-nb"} <= named["docs"]
    assert "jupyterlab" in named["lab"]
    assert named["spark"] == {"pyspark"}        # a JVM engine: only for those who use it
    tools = set().union(*named.values())
    assert not runtime & tools, f"in both the runtime and an extra: {sorted(runtime & tools)}"
    # the runtime path (cx run through papermill) needs these
    assert {"papermill", "nbconvert", "ipykernel", "ipywidgets", "jupyter-client"} <= runtime


def test_lock_pins_every_dependency_within_its_bounds():
    lock = _lock()
    for name, req in _requirements().items():
        assert name in lock, f"{name} is not in {LOCK.name}: run `make lock`"
        assert req.specifier.contains(lock[name], prereleases=True), (
            f"{LOCK.name} pins {name}=={lock[name]}, outside pyproject's {req.specifier}: "
            "run `make lock`")
    header = LOCK.read_text().split("\n", 3)[:3]
    command = " ".join(header)
    assert "--all-extras" in command and f"--python-version {LOCK_PYTHON}" in command
    assert "linux" in command


def test_lock_pins_are_exact():
    lines = [line for line in LOCK.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    loose = [line for line in lines if not re.fullmatch(r"[A-Za-z0-9_.\-]+==[^\s;]+", line.strip())]
    assert not loose, f"lines of {LOCK.name} that are not exact pins: {loose}"
    assert len(lines) == len(_lock())


def test_environment_matches_the_lock():
    """`make setup` installs the lock: the environment holds exactly its versions."""
    if not (Path(sys.prefix) / ".installed-stamp").exists():
        pytest.skip("this environment was not made by `make setup` (e.g. conda): it need not "
                    "hold the lock's versions")
    wrong = {}
    for name, version in _lock().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed is None or Version(installed) != Version(version):
            wrong[name] = (installed, version)
    assert not wrong, f"installed vs locked: {wrong}; run `make setup`"


def test_environment_yml_is_conda_forge_with_conda_forge_names():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]   # no defaults: conda-forge's names only
    conda = dict(_conda(d) for d in env["dependencies"] if isinstance(d, str))
    assert conda.pop("python") == f"={LOCK_PYTHON}"
    assert conda.pop("pip") == ""
    expected = {CONDA_NAMES.get(name, name): req for name, req in _requirements().items()
                if name not in PIP_ONLY}
    assert sorted(conda) == sorted(expected), (
        f"missing: {sorted(set(expected) - set(conda))}; "
        f"not in pyproject: {sorted(set(conda) - set(expected))}")
    for name, spec in conda.items():
        assert SpecifierSet(spec) == expected[name].specifier, (
            f"environment.yml has {name}{spec}, pyproject.toml {expected[name]}")
    # the PyPI name of a renamed package would not resolve (or would be another package)
    assert not set(conda) & (set(CONDA_NAMES) - set(CONDA_NAMES.values()))
    pip = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert len(pip) == 1
    pip_names = {canonicalize_name(Requirement(r).name) for r in pip[0]["pip"] if r != "-e ."}
    assert pip_names == PIP_ONLY
    assert "-e ." in pip[0]["pip"]


def test_license():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 the cx-helpers contributors" in text
    project = _project()
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]


def test_notebooks_are_package_data():
    """The installed package finds the notebooks (here: the editable install, so the repository's
    notebooks/ folder itself); tests/test_wheel.py checks a wheel install."""
    from cx_helpers import runner

    folder = resources.files("cx_helpers.notebooks")
    names = {p.name for p in folder.iterdir() if p.name.endswith(".ipynb")}
    assert names == set(runner.NOTEBOOKS)
    assert runner.NOTEBOOK_DIR == Path(str(folder))
    assert runner.NOTEBOOK_DIR.resolve() == (ROOT / "notebooks").resolve()


def test_developer_tools_are_not_in_the_package():
    assert (ROOT / "tools" / "nbtools.py").is_file()
    assert not (ROOT / "cx_helpers" / "nbtools.py").exists()
    makefile = (ROOT / "Makefile").read_text()
    assert "tools/nbtools.py" in makefile and "cx_helpers.nbtools" not in makefile


def test_makefile_installs_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LOCK\s*:=\s*requirements/lock.txt$", makefile, re.M)
    assert re.search(r"^\$\(STAMP\):.*pyproject\.toml.*\$\(LOCK\)", makefile, re.M)
    recipe = makefile.split("$(STAMP):", 1)[1].split("\nsetup:", 1)[0]
    assert "install --quiet -r $(LOCK)" in recipe
    assert "--no-deps -e" in recipe
    assert re.search(r"^study: setup", makefile, re.M) and re.search(r"^test: setup", makefile, re.M)


def test_ci_calls_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make study" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
