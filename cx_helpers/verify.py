"""Reviewers' rerun: check a finished run's inputs and package versions, rerun it, and compare
every table."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from cx_helpers.errors import StudyError
from cx_helpers.layout import (RunLayout, VersionDifference, read_manifest, sha256,
                               version_differences)
from cx_helpers.runner import run_study

__all__ = ["LOCKED_VERSIONS_HINT", "VerifyResult", "check_inputs", "check_versions",
           "compare_tables", "verify_run"]

LOCKED_VERSIONS_HINT = "install the locked versions: see README Set-up"

_RUN_KEYS = ("study", "output_dir", "seed", "min_base", "segment")


@dataclass
class VerifyResult:
    """What ``cx verify`` found.

    Attributes
    ----------
    rerun_dir : Path
        The fresh run folder.
    differences : list of str
        Readable differences between the original tables and the rerun's (empty: identical).
    tables : int
        How many tables were compared.
    versions : list of VersionDifference
        Python and the packages whose versions differ between the run and the rerun (empty:
        the same versions).
    """

    rerun_dir: Path
    differences: list[str] = field(default_factory=list)
    tables: int = 0
    versions: list[VersionDifference] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """True when every table is byte-identical."""
        return not self.differences


def _manifest(run_dir: Path) -> dict:
    manifest = read_manifest(run_dir)
    if manifest.get("status") != "ok":
        raise StudyError(f"the run did not finish (status: {manifest.get('status')}); there is "
                         "nothing to verify.", file=RunLayout(run_dir).manifest,
                         fix="verify a run that succeeded.")
    return manifest


def check_versions(manifest: dict, strict: bool = False, run_dir=None) -> list[VersionDifference]:
    """Compare the run's Python and package versions (its manifest) with the running ones.

    Parameters
    ----------
    manifest : dict
        The run's manifest.
    strict : bool, default False
        Refuse to go on when any version differs.
    run_dir : Path, optional
        The run folder, named in the error.

    Returns
    -------
    list of VersionDifference
        What differs (empty: the same versions).

    Raises
    ------
    StudyError
        With ``strict``, when a version differs: the message lists each (name, the run's
        version, the running one).
    """
    found = version_differences(manifest)
    if found and strict:
        raise StudyError(
            f"{len(found)} version(s) of Python or the packages differ from the run's, so the "
            "rerun was not started (--strict-versions):\n" + "\n".join(f"  - {d}" for d in found) + "\n",
            file=RunLayout(run_dir).manifest if run_dir else None,
            fix=f"{LOCKED_VERSIONS_HINT}; or rerun without --strict-versions (the numbers may "
                "still match).")
    return found


def _from_database(item: dict) -> bool:
    """True for a manifest input read from a SQL database (:func:`layout.input_record`)."""
    return "database" in item


def _check_databases(items: list[dict], study_path: Path) -> list[StudyError]:
    """A database input is proved unchanged only by reading its rows again: the study is
    loaded and the sha256 of each database table's rows compared with the run's."""
    from cx_helpers.sources import DatabaseInput
    from cx_helpers.study import load_study

    try:
        study = load_study(study_path)
    except StudyError as exc:
        return [StudyError(
            f"the run read {len(items)} table(s) from a database, and the study cannot be "
            f"loaded now, so the rows cannot be proved unchanged: {exc}",
            file=items[0]["path"], fix="make the database reachable (and the study valid) "
                                       "before verifying.")]
    now = {str(i): i for i in study.inputs if isinstance(i, DatabaseInput)}
    problems = []
    for item in items:
        found = now.get(item["path"])
        if found is None:
            problems.append(StudyError(
                "the study no longer reads this database table, so the run's rows cannot be "
                "proved unchanged.", file=item["path"],
                fix="restore the study.yaml the run used."))
        elif found.digest != item["sha256"]:
            problems.append(StudyError(
                f"the database's rows changed since the run ({found.rows} rows now, sha256 "
                f"{found.digest[:12]}...; the run read sha256 {item['sha256'][:12]}...).",
                file=item["path"], fix="restore the rows the run read (e.g. from a snapshot); "
                                       "changed rows cannot reproduce the run."))
    return problems


def check_inputs(manifest: dict, study_path: Path) -> None:
    """Refuse, by name, every input that is missing or whose sha256 changed since the run.

    A file is checked by its sha256; a table read from a SQL database
    (:class:`cx_helpers.sources.DatabaseInput`) by reading it again and comparing the sha256
    of its rows: a database that cannot be read now, or whose rows differ, is refused (it
    cannot be proved unchanged).

    Raises
    ------
    StudyError
        Listing each missing or changed input file, and each database table whose rows
        changed or cannot be read.
    """
    problems = []
    databases = [item for item in manifest["inputs"] if _from_database(item)]
    if databases:
        problems += _check_databases(databases, study_path)
    for item in manifest["inputs"]:
        if _from_database(item):
            continue
        path = study_path / item["path"]
        if not path.is_file():
            problems.append(StudyError("input missing: the run read this file, which is gone.",
                                       file=path, fix="restore it from the study's archive."))
        elif (digest := sha256(path)) != item["sha256"]:
            problems.append(StudyError(
                f"input changed since the run (sha256 {digest[:12]}..., the run read "
                f"{item['sha256'][:12]}...).", file=path,
                fix="restore the original file; a changed input cannot reproduce the run."))
    if problems:
        raise StudyError.collect(problems)


def _describe(a: Path, b: Path, limit: int = 5) -> str:
    """A readable description of how two CSV tables differ."""
    left, right = pd.read_csv(a), pd.read_csv(b)
    if list(left.columns) != list(right.columns):
        return (f"{a.name}: columns differ: {list(left.columns)} (original) vs "
                f"{list(right.columns)} (rerun)")
    if left.shape != right.shape:
        return f"{a.name}: {len(left)} rows (original) vs {len(right)} rows (rerun)"
    cells = []
    for col in left.columns:
        diff = ~((left[col] == right[col]) | (left[col].isna() & right[col].isna()))
        for i in diff[diff].index[:limit]:
            cells.append(f"row {i + 1}, column '{col}': {left.at[i, col]!r} -> "
                         f"{right.at[i, col]!r}")
    shown = "; ".join(cells[:limit])
    more = f" (and {len(cells) - limit} more cells)" if len(cells) > limit else ""
    return f"{a.name}: {shown or 'same values, different formatting'}{more}"


def compare_tables(original: Path, rerun: Path) -> tuple[list[str], int]:
    """Compare the ``tables/*.csv`` of two run folders.

    Returns
    -------
    differences : list of str
        One readable line per differing, missing or extra table.
    count : int
        Number of tables compared.
    """
    a = {p.name: p for p in RunLayout(original).table_files()}
    b = {p.name: p for p in RunLayout(rerun).table_files()}
    diffs = [f"{name}: in the original run only" for name in sorted(set(a) - set(b))]
    diffs += [f"{name}: in the rerun only" for name in sorted(set(b) - set(a))]
    for name in sorted(set(a) & set(b)):
        if a[name].read_bytes() != b[name].read_bytes():
            diffs.append(_describe(a[name], b[name]))
    return diffs, len(set(a) | set(b))


def verify_run(run_dir, out=None, study=None, progress=True,
               strict_versions: bool = False) -> VerifyResult:
    """Rerun a finished run from its manifest and compare every table.

    Before the rerun, the run's Python and package versions (``manifest.json``) are compared
    with the running ones; those that differ are printed to stderr and returned in
    :attr:`VerifyResult.versions`. The rerun goes ahead anyway (the numbers can still match)
    unless ``strict_versions``.

    Parameters
    ----------
    run_dir : str or Path
        The run folder (holding ``manifest.json``).
    out : str or Path, optional
        The fresh folder for the rerun (default: ``<run_dir>-verify-<time>`` beside it).
    study : str or Path, optional
        Where the study is now, when it moved (default: the path in the manifest).
    progress : bool
        Show the rerun's progress.
    strict_versions : bool, default False
        Refuse to rerun when a package version differs from the run's.

    Returns
    -------
    VerifyResult

    Raises
    ------
    StudyError
        When the folder is not a finished run, an input is missing or changed, or (with
        ``strict_versions``) a package version differs.
    """
    run_dir = Path(run_dir).resolve()
    manifest = _manifest(run_dir)
    study_path = Path(study or manifest["study_path"])
    check_inputs(manifest, study_path)
    versions = check_versions(manifest, strict=strict_versions, run_dir=run_dir)
    if versions:
        print(f"warning: {len(versions)} version(s) of Python or the packages differ from the "
              f"run's; the rerun goes ahead ({LOCKED_VERSIONS_HINT}):", file=sys.stderr)
        for item in versions:
            print(f"  - {item}", file=sys.stderr)
        sys.stderr.flush()
    params = manifest["parameters"]
    if out is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        out = run_dir.parent / f"{run_dir.name}-verify-{stamp}"
    rerun = run_study(study_path, out=out, seed=params["seed"], min_base=params["min_base"],
                      parameters={k: v for k, v in params.items() if k not in _RUN_KEYS},
                      segment=params.get("segment"), progress=progress)
    differences, count = compare_tables(run_dir, rerun)
    return VerifyResult(rerun, differences, count, versions)
