"""`cx run` end to end on the sample study: report, tables, manifest, reproducibility."""

from __future__ import annotations

import hashlib
import json

from conftest import cx


def test_same_seed_gives_identical_tables(two_runs):
    a, b = two_runs
    tables_a = sorted(p.name for p in (a / "tables").glob("*.csv"))
    assert tables_a == sorted(p.name for p in (b / "tables").glob("*.csv"))
    assert {"inventory.csv", "nps.csv", "driver_models.csv", "driver_coefficients.csv",
            "importance.csv", "priority_map.csv", "journey_vs_touchpoint.csv"} <= set(tables_a)
    for name in tables_a:
        assert (a / "tables" / name).read_bytes() == (b / "tables" / name).read_bytes(), name


def test_report_has_three_sections_and_no_code(two_runs):
    run = two_runs[0]
    html = (run / "report.html").read_text()
    for heading in ("Touchpoint inventory", "Key-driver analysis", "Journeys versus touchpoints"):
        assert heading in html
    assert "load_study(" not in html and "import cx_helpers" not in html
    assert "data:image/png;base64" in html  # figures embedded
    assert len(list((run / "figures").glob("*.png"))) >= 2
    assert len(list((run / "notebooks").glob("*.ipynb"))) == 3


def test_manifest_names_inputs_parameters_versions(two_runs, sample_dir):
    manifest = json.loads((two_runs[0] / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    assert manifest["seed"] == 11 and manifest["parameters"]["seed"] == 11
    files = {i["path"]: i["sha256"] for i in manifest["inputs"]}
    assert {"study.yaml", "survey.csv", "events.csv", "outcomes.csv", "touchpoints.csv"} <= set(files)
    for path, digest in files.items():
        assert hashlib.sha256((sample_dir / path).read_bytes()).hexdigest() == digest
    assert manifest["packages"]["pandas"] and manifest["python"]
    assert set(manifest["timings"]) >= {"01_touchpoint_inventory.ipynb", "total"}
    for name, digest in manifest["tables"].items():
        assert hashlib.sha256((two_runs[0] / "tables" / name).read_bytes()).hexdigest() == digest


def test_run_refuses_bad_study_without_traceback(sample_copy, tmp_path):
    (sample_copy / "survey.csv").write_text("respondent_id\n")
    res = cx("run", str(sample_copy), "--out", str(tmp_path / "r"))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr and "survey.csv" in res.stderr and "empty" in res.stderr


def test_run_never_overwrites_a_folder(two_runs, sample_dir):
    res = cx("run", str(sample_dir), "--out", str(two_runs[0]))
    assert res.returncode == 2 and "not empty" in res.stderr and "Traceback" not in res.stderr
