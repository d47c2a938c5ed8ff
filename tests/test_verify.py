"""Reviewers' rerun: `cx verify` and many runs at once."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from importlib import metadata

from conftest import FAST, cx
from cx_helpers import synth
from cx_helpers.errors import StudyError
from cx_helpers.layout import PACKAGES, read_manifest
from cx_helpers.verify import check_versions, compare_tables


def _run_with_other_versions(run, tmp_path):
    """A copy of a finished run whose manifest says it ran on other versions of pandas and
    numpy (older pandas, no numpy): a real difference with this environment."""
    copy = tmp_path / "old-run"
    shutil.copytree(run, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["packages"].update({"pandas": "2.0.3", "numpy": None})
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return copy


def test_an_untouched_run_has_the_running_versions(two_runs):
    manifest = read_manifest(two_runs[0])
    assert set(manifest["packages"]) == set(PACKAGES)
    assert check_versions(manifest, strict=True) == []


def test_verify_reruns_and_names_the_versions_that_differ(two_runs, tmp_path):
    """The numbers can match on other versions: the rerun goes ahead, the versions are named."""
    old = _run_with_other_versions(two_runs[0], tmp_path)
    lines = [f"pandas: 2.0.3 in the run, {metadata.version('pandas')} now",
             f"numpy: not installed in the run, {metadata.version('numpy')} now"]
    res = cx("verify", old, "--out", tmp_path / "rerun", "--quiet")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "identical" in res.stdout
    for line in lines:
        assert f"  - {line}" in res.stdout and f"  - {line}" in res.stderr
    assert "install the locked versions: see README Set-up" in res.stdout
    # the rerun records the versions it ran on
    rerun = json.loads((tmp_path / "rerun" / "manifest.json").read_text())
    assert rerun["packages"]["pandas"] == metadata.version("pandas")


def test_strict_versions_refuses_before_the_rerun(two_runs, tmp_path):
    old = _run_with_other_versions(two_runs[0], tmp_path)
    res = cx("verify", old, "--out", tmp_path / "rerun", "--strict-versions", "--quiet")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "2 version(s) of Python or the packages differ" in res.stderr
    assert f"pandas: 2.0.3 in the run, {metadata.version('pandas')} now" in res.stderr
    assert "numpy: not installed in the run" in res.stderr
    assert "install the locked versions: see README Set-up" in res.stderr
    assert not (tmp_path / "rerun").exists()
    with pytest.raises(StudyError, match="manifest.json"):
        check_versions(read_manifest(old), strict=True, run_dir=old)
    found = check_versions(read_manifest(old))
    assert [(d.name, d.run) for d in found] == [("numpy", None), ("pandas", "2.0.3")]


def test_verify_refuses_a_changed_input_by_name(two_runs, sample_copy, tmp_path):
    # the run of the sample, checked against a copy of the sample (--study) that then changes
    run = two_runs[0]
    data = bytearray((sample_copy / "outcomes.csv").read_bytes())
    data[-3] = ord("7") if data[-3] != ord("7") else ord("8")  # one byte
    (sample_copy / "outcomes.csv").write_bytes(bytes(data))
    res = cx("verify", run, "--study", sample_copy, "--out", tmp_path / "rerun", "--quiet")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "outcomes.csv" in res.stderr and "changed since the run" in res.stderr
    assert not (tmp_path / "rerun").exists()
    (sample_copy / "events.csv").unlink()
    res = cx("verify", run, "--study", sample_copy, "--quiet")
    assert res.returncode == 2 and "events.csv" in res.stderr and "input missing" in res.stderr


def test_compare_tables_lists_differences(two_runs, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(two_runs[0] / "tables", copy / "tables")
    inv = pd.read_csv(copy / "tables" / "inventory.csv")
    inv.loc[2, "n"] = inv.loc[2, "n"] + 1
    inv.to_csv(copy / "tables" / "inventory.csv", index=False)
    (copy / "tables" / "nps.csv").unlink()
    diffs, count = compare_tables(two_runs[0], copy)
    assert count == len(list((two_runs[0] / "tables").glob("*.csv")))
    assert "nps.csv: in the original run only" in diffs
    assert any(d.startswith("inventory.csv: row 3, column 'n'") for d in diffs)


def test_verify_refuses_a_folder_that_is_not_a_run(tmp_path):
    res = cx("verify", tmp_path)
    assert res.returncode == 2 and "manifest.json" in res.stderr


@pytest.mark.slow  # runs a whole study
def test_many_studies_one_failure_does_not_stop_the_rest(tmp_path):
    sample_dir = synth.write_study(tmp_path / "small", customers=400, seed=2)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "study.yaml").write_text("name: broken\ntables: {survey: {path: none.csv, id: x}}\n")
    res = cx("run", broken, sample_dir, "--out", tmp_path / "runs", "--quiet", *FAST)
    assert res.returncode == 1
    assert "1 of 2 runs succeeded" in res.stdout
    assert "FAILED" in res.stdout and "none.csv" in res.stdout
    reports = list((tmp_path / "runs").glob("*/*/report.html"))
    assert len(reports) == 1
