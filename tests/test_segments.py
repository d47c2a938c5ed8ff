"""One report per segment: `cx run STUDY --by SEGMENT`."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import FAST, cx
from cx_helpers import synth


@pytest.mark.slow
def test_one_report_per_segment(tmp_path):
    # a smaller study of the sample's shape: three full runs of it are the cost of this test
    sample_dir = synth.write_study(tmp_path / "sample", customers=800, seed=5)
    res = cx("run", sample_dir, "--by", "plan", "--out", tmp_path / "runs", "--quiet", *FAST)
    assert res.returncode == 0, res.stdout + res.stderr
    runs = sorted((tmp_path / "runs" / "sample").iterdir())
    plans = sorted(pd.read_csv(sample_dir / "survey.csv")["plan"].unique())
    assert len(runs) == len(plans)
    survey = pd.read_csv(sample_dir / "survey.csv")
    for run, plan in zip(runs, plans):
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["segment"] == f"plan={plan}"
        nps = pd.read_csv(run / "tables" / "nps.csv").iloc[0]
        assert nps["n"] == survey.loc[survey["plan"] == plan, "q_recommend"].notna().sum()
        assert f"plan={plan}" in (run / "report.html").read_text()
        # the segment the run is cut by is not compared within it; the others are
        tests = pd.read_csv(run / "tables" / "segment_tests.csv")
        assert "plan" not in set(tests["by"]) and {"region", "tenure"} <= set(tests["by"])
        assert tests["family_size"].eq(tests["p"].notna().sum()).all()
