"""The worked example on real data: a full study of the bank survey bundled in data/examples."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from conftest import EXAMPLES, cx

BANK = EXAMPLES / "bank-satisfaction"
pytestmark = pytest.mark.slow  # runs the whole study
ITEMS = [f"imag{i}" for i in range(1, 6)] + [f"expe{i}" for i in range(1, 6)] + \
        [f"qual{i}" for i in range(1, 6)] + [f"val{i}" for i in range(1, 5)]


@pytest.fixture(scope="module")
def bank_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("bank") / "run"
    res = cx("run", BANK, "--out", run, "-p", "n_boot", "100", "--quiet")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    return run


def test_bank_study_runs_end_to_end(bank_run):
    assert (bank_run / "report.html").is_file()
    manifest = json.loads((bank_run / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    inputs = {i["path"]: i["sha256"] for i in manifest["inputs"]}   # relative to the study
    assert inputs["satisfaction.csv"] == hashlib.sha256(
        (BANK / "satisfaction.csv").read_bytes()).hexdigest()
    models = pd.read_csv(bank_run / "tables" / "driver_models.csv")
    assert list(models["model"]) == ["ordered_logit"] * 3       # 0-10 items declared ordinal


def test_bank_importance_matches_an_independent_regression(bank_run):
    raw = pd.read_csv(BANK / "satisfaction.csv")
    imp = pd.read_csv(bank_run / "tables" / "importance.csv")
    for outcome, column in (("sat", "sat1"), ("loy", "loy1")):
        lmg = imp[(imp["outcome"] == outcome) & (imp["method"] == "lmg")]
        r2 = sm.OLS(raw[column], sm.add_constant(raw[ITEMS])).fit().rsquared
        assert lmg["importance"].sum() == pytest.approx(r2, abs=1e-5)
        assert len(lmg) == 19
    # what drives satisfaction there: the value block leads (computed, not typed in: see README)
    stages = pd.read_csv(bank_run / "tables" / "importance_stages.csv").set_index("driver")
    assert stages["share"].idxmax() == "value"
    sat = imp[(imp["outcome"] == "sat") & (imp["method"] == "lmg")]
    assert (sat["low"] <= sat["importance"]).all() and (sat["importance"] <= sat["high"]).all()
    assert np.isfinite(sat["low"]).all()
