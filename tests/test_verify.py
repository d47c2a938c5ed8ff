"""Reviewers' rerun: `cx verify` and many runs at once."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from conftest import FAST, cx
from cx_helpers.verify import compare_tables


def test_verify_passes_on_an_untouched_run(two_runs, tmp_path):
    res = cx("verify", two_runs[0], "--out", tmp_path / "rerun", "--quiet")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "identical" in res.stdout


@pytest.mark.slow  # runs a whole study
def test_verify_refuses_a_changed_input_by_name(sample_copy, tmp_path):
    run = tmp_path / "run"
    assert cx("run", sample_copy, "--out", run, "--quiet", *FAST).returncode == 0
    data = bytearray((sample_copy / "outcomes.csv").read_bytes())
    data[-3] = ord("7") if data[-3] != ord("7") else ord("8")  # one byte
    (sample_copy / "outcomes.csv").write_bytes(bytes(data))
    res = cx("verify", run, "--out", tmp_path / "rerun", "--quiet")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "outcomes.csv" in res.stderr and "changed since the run" in res.stderr
    assert not (tmp_path / "rerun").exists()
    (sample_copy / "events.csv").unlink()
    res = cx("verify", run, "--quiet")
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
def test_many_studies_one_failure_does_not_stop_the_rest(sample_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "study.yaml").write_text("name: broken\ntables: {survey: {path: none.csv, id: x}}\n")
    res = cx("run", broken, sample_dir, "--out", tmp_path / "runs", "--quiet", *FAST)
    assert res.returncode == 1
    assert "1 of 2 runs succeeded" in res.stdout
    assert "FAILED" in res.stdout and "none.csv" in res.stdout
    reports = list((tmp_path / "runs").glob("*/*/report.html"))
    assert len(reports) == 1
