"""Run folders: names made safe, taken atomically, refused when wrong, marked when a run fails."""

from __future__ import annotations

import json

import papermill as pm
import pytest

from conftest import cx
from cx_helpers import runner
from cx_helpers.errors import StudyError


@pytest.mark.parametrize("name, expected", [
    ("sample", "sample"), ("../../x", "x"), ("a/b\\c", "a-b-c"), ("..", "study"),
    ("Northwind Mobile 2026", "Northwind-Mobile-2026"), ("", "study"), ("x\ny", "x-y")])
def test_slug_keeps_one_safe_folder_name(name, expected):
    assert runner.slug(name) == expected


def test_default_run_folder_stays_under_reports(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = (tmp_path / "reports" / runner.slug("../../escape")).resolve()
    run = runner._new_run_dir(base)
    assert run.is_relative_to(tmp_path / "reports") and (run / runner.LOCK_NAME).is_file()
    second = runner._new_run_dir(base)   # same second: a new folder, never the same one
    assert second != run and second.parent == run.parent


def test_a_folder_is_claimed_once(tmp_path):
    run = runner._claim(tmp_path / "run")
    with pytest.raises(StudyError, match="in use by another run"):
        runner._claim(run)
    (run / runner.LOCK_NAME).unlink()
    (run / "tables").mkdir()
    with pytest.raises(StudyError, match="not empty"):
        runner._claim(run)
    assert not (run / runner.LOCK_NAME).exists()


def test_out_refused_when_a_file_or_the_study(sample_copy, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    for out in (target, sample_copy, sample_copy / "runs", sample_copy.parent):
        res = cx("run", sample_copy, "--out", out, "--quiet")
        assert res.returncode == 2, (out, res.stderr)
        assert "Traceback" not in res.stderr and "--out" in res.stderr
    assert target.read_text() == "keep me"
    assert not (sample_copy / "runs").exists()


@pytest.mark.parametrize("failure, status", [
    (pm.PapermillExecutionError(3, 3, "boom", "ValueError", "boom", []), "failed"),
    (KeyboardInterrupt(), "interrupted")])
def test_failed_or_interrupted_run_is_marked_and_unlocked(sample_dir, tmp_path, monkeypatch,
                                                          failure, status):
    def broken(*args, **kwargs):
        raise failure

    monkeypatch.setattr(pm, "execute_notebook", broken)
    out = tmp_path / "run"
    with pytest.raises((runner.RunError, KeyboardInterrupt)):
        runner.run_study(sample_dir, out=out, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"].startswith(status)
    assert (out / "FAILED.txt").is_file() and not (out / "report.html").exists()
    assert not (out / runner.LOCK_NAME).exists()


def test_segment_under_the_minimum_base_is_not_run(sample_copy, tmp_path):
    survey = (sample_copy / "survey.csv").read_text().splitlines()
    header = survey[0].split(",")
    col = header.index("region")
    rows = [line.split(",") for line in survey[1:]]
    for row in rows[:6]:
        row[col] = "Islands"
    (sample_copy / "survey.csv").write_text(
        "\n".join([survey[0], *(",".join(r) for r in rows)]) + "\n")
    out = tmp_path / "run"
    with pytest.raises(StudyError, match="6 respondents, fewer than the minimum base of 30"):
        runner.run_study(sample_copy, out=out, segment="region=Islands", progress=False)
    assert not out.exists()


@pytest.mark.slow
def test_ctrl_c_stops_the_run_at_once_and_marks_it(sample_dir, tmp_path):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) mid-run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "cx_helpers", "run", str(sample_dir), "--out",
                             str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.time() + 120
    while not (out / "notebooks").is_dir() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(3)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"].startswith("interrupted")
    assert (out / "FAILED.txt").is_file() and not (out / "report.html").exists()
    assert not (out / runner.LOCK_NAME).exists()
