"""The layout of a run folder, in one place: its file and folder names, the manifest, the hashes.

A run folder written by ``cx run`` holds::

    report.html          the client report (report.pdf beside it with --pdf)
    notebooks/*.ipynb    the executed notebooks
    tables/*.csv         every number the report states (tables/summary.csv: its summary)
    figures/*.png        every figure
    manifest.json        inputs with sha256, parameters, versions, timings, status, table hashes
    FAILED.txt           only when the run failed or was interrupted
    .cx-run.lock         only while the run is going on

The notebooks (through :class:`cx_helpers.outputs.RunOutput`), the runner, the report and
``cx verify`` take these names from here, so they cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from cx_helpers.errors import StudyError

__all__ = ["FAILED", "FIGURES", "LOCK_NAME", "MANIFEST", "NOTEBOOKS", "PACKAGES", "REPORT_HTML",
           "REPORT_PDF", "RunLayout", "SUMMARY", "TABLES", "Table", "VersionDifference",
           "input_record", "package_versions", "read_manifest", "sha256", "table_hashes",
           "version_differences", "write_manifest"]

TABLES = "tables"
FIGURES = "figures"
NOTEBOOKS = "notebooks"
REPORT_HTML = "report.html"
REPORT_PDF = "report.pdf"
MANIFEST = "manifest.json"
FAILED = "FAILED.txt"
LOCK_NAME = ".cx-run.lock"
SUMMARY = "summary"            # tables/summary.csv: the report's executive summary
TABLE_SUFFIX = ".csv"
FIGURE_SUFFIX = ".png"



class Table:
    """Names of the run tables (``tables/<name>.csv``) that the notebooks write and the report
    reads: its executive summary and its method appendix. A test checks that a notebook writes
    each of them."""

    OUTCOMES = "outcomes"
    NPS = "nps"
    SEGMENT_TESTS = "segment_tests"
    NPS_SEGMENT_TESTS = "nps_segment_tests"
    INVENTORY = "inventory"
    IMPORTANCE = "importance"
    PRIORITY_MAP = "priority_map"
    JOURNEY_VERDICTS = "journey_verdicts"
    JOURNEY_TYPES = "journey_types"
    JOURNEY_STANDOUTS = "journey_timeline_standouts"

    @classmethod
    def names(cls) -> list[str]:
        """Every name above."""
        return [v for k, v in vars(cls).items() if k.isupper()]


# the packages whose versions a manifest records and `cx verify` compares
PACKAGES = ("cx-helpers", "numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "seaborn",
            "matplotlib", "duckdb", "pyarrow", "papermill", "nbconvert", "nbformat", "ipykernel",
            "pyyaml")


@dataclass(frozen=True)
class RunLayout:
    """The paths inside one run folder.

    Parameters
    ----------
    root : Path
        The run folder.

    Examples
    --------
    >>> run = RunLayout(Path("reports/sample/20261122-181500"))
    >>> run.table("inventory").as_posix()
    'reports/sample/20261122-181500/tables/inventory.csv'
    """

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @property
    def tables(self) -> Path:
        return self.root / TABLES

    @property
    def figures(self) -> Path:
        return self.root / FIGURES

    @property
    def notebooks(self) -> Path:
        return self.root / NOTEBOOKS

    @property
    def report(self) -> Path:
        return self.root / REPORT_HTML

    @property
    def pdf(self) -> Path:
        return self.root / REPORT_PDF

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def failed(self) -> Path:
        return self.root / FAILED

    @property
    def lock(self) -> Path:
        return self.root / LOCK_NAME

    def table(self, name: str) -> Path:
        """``tables/<name>.csv``."""
        return self.tables / f"{name}{TABLE_SUFFIX}"

    def figure(self, name: str) -> Path:
        """``figures/<name>.png``."""
        return self.figures / f"{name}{FIGURE_SUFFIX}"

    def notebook(self, name: str) -> Path:
        """``notebooks/<name>`` (an executed notebook)."""
        return self.notebooks / name

    def table_files(self) -> list[Path]:
        """The run's tables, sorted by name."""
        return sorted(self.tables.glob(f"*{TABLE_SUFFIX}"))


def sha256(path) -> str:
    """The sha256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_record(item, study_path) -> dict:
    """The manifest entry of one of ``Study.inputs``.

    Parameters
    ----------
    item : Path or cx_helpers.sources.DatabaseInput
        A file read, or a table read from a database.
    study_path : Path
        The study folder.

    Returns
    -------
    dict
        A file's path (relative to the study when inside it), sha256 and size; or a database
        table's record (:meth:`cx_helpers.sources.DatabaseInput.record`: the URL without
        credentials, the table or query, the row count and the sha256 of the rows).
    """
    if hasattr(item, "record"):
        return item.record()
    path, study_path = Path(item), Path(study_path)
    return {"path": path.relative_to(study_path).as_posix()
            if path.is_relative_to(study_path) else str(path),
            "sha256": sha256(path), "bytes": path.stat().st_size}


def table_hashes(run_dir) -> dict[str, str]:
    """``{file name: sha256}`` of every table of a run folder, sorted by name."""
    return {p.name: sha256(p) for p in RunLayout(run_dir).table_files()}


def write_manifest(run_dir, manifest: dict) -> Path:
    """Write ``manifest.json`` (indented, ending in a newline); return its path."""
    path = RunLayout(run_dir).manifest
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def read_manifest(run_dir) -> dict:
    """Read a run folder's ``manifest.json``.

    Raises
    ------
    StudyError
        When the folder has no manifest (it is not a run folder) or the manifest is not JSON.
    """
    path = RunLayout(run_dir).manifest
    if not path.is_file():
        raise StudyError(f"no {MANIFEST}: this is not a run folder written by `cx run`.",
                         file=path, fix="give the folder of a finished run, e.g. "
                                        "reports/<study>/<run id>.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StudyError(f"the manifest is not valid JSON ({exc.__class__.__name__} at "
                         f"{getattr(exc, 'lineno', '?')}:{getattr(exc, 'colno', '?')}).",
                         file=path, fix="restore the run folder's manifest from its archive."
                         ) from None
    if not isinstance(manifest, dict):
        raise StudyError("the manifest is not a JSON object.", file=path,
                         fix="restore the run folder's manifest from its archive.")
    return manifest


def package_versions(names=PACKAGES) -> dict[str, str | None]:
    """The installed version of each package (None when it is not installed)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@dataclass(frozen=True)
class VersionDifference:
    """A package (or Python) whose version differs between a run and this environment.

    Attributes
    ----------
    name : str
        The package name, or ``python``.
    run : str or None
        The version the run used (None: not installed then).
    now : str or None
        The version installed now (None: not installed).
    """

    name: str
    run: str | None
    now: str | None

    def __str__(self) -> str:
        run = self.run if self.run is not None else "not installed"
        now = self.now if self.now is not None else "not installed"
        return f"{self.name}: {run} in the run, {now} now"


def version_differences(manifest: dict, current: dict | None = None,
                        python: str | None = None) -> list[VersionDifference]:
    """The packages whose versions differ between a run's manifest and this environment.

    Parameters
    ----------
    manifest : dict
        A run's manifest: its ``packages`` (``{name: version}``) and ``python`` are compared.
    current : dict, optional
        ``{name: version}`` now (default: :func:`package_versions` of the manifest's packages).
    python : str, optional
        The Python version now (default: this interpreter's).

    Returns
    -------
    list of VersionDifference
        Python first when it differs, then the packages in the manifest's order; empty when
        everything matches (or the manifest recorded no versions).
    """
    recorded = manifest.get("packages") or {}
    current = package_versions(list(recorded)) if current is None else current
    out = []
    ran_on = manifest.get("python")
    python = platform.python_version() if python is None else python
    if ran_on and ran_on != python:
        out.append(VersionDifference("python", ran_on, python))
    for name, version in recorded.items():
        now = current.get(name)
        if version != now:
            out.append(VersionDifference(name, version, now))
    return out
