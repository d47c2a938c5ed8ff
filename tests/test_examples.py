"""The bundled worked examples (data/examples/) run end to end from the repository itself.

The bank survey has its own file (test_bank.py); here the ECSI mobile survey (items on 0-100,
continuous outcomes) and the helpdesk event log (no survey) run with the small parameters, and
their numbers are checked against independent computations on the raw files.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
import statsmodels.api as sm

from conftest import EXAMPLES, FAST, cx

pytestmark = pytest.mark.slow  # each runs a whole study


def _run(name, tmp_path_factory):
    run = tmp_path_factory.mktemp(name) / "run"
    res = cx("run", EXAMPLES / name, "--out", run, "--quiet", *FAST)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "ok" and (run / "report.html").is_file()
    # every input is inside the example's folder, hashed as it is in the repository
    for item in manifest["inputs"]:
        assert hashlib.sha256((EXAMPLES / name / item["path"]).read_bytes()).hexdigest() == \
            item["sha256"]
    return run


def test_ecsi_mobile_runs_and_matches_an_independent_regression(tmp_path_factory):
    run = _run("ecsi-mobile", tmp_path_factory)
    raw = pd.read_csv(EXAMPLES / "ecsi-mobile" / "mobile.csv")
    items = [c for c in raw.columns if not c.startswith(("sat", "loy"))]   # 17 items and comp
    assert len(items) == 18
    models = pd.read_csv(run / "tables" / "driver_models.csv").set_index("outcome")
    assert set(models["model"]) == {"ols"}                  # continuous 0-100 outcomes
    imp = pd.read_csv(run / "tables" / "importance.csv")
    for outcome, column in (("satisfaction", "sat1"), ("loyalty", "loy1")):
        r2 = sm.OLS(raw[column], sm.add_constant(raw[items])).fit().rsquared
        lmg = imp[(imp["outcome"] == outcome) & (imp["method"] == "lmg")]
        assert len(lmg) == 18
        assert lmg["importance"].sum() == pytest.approx(r2, abs=1e-5)
        assert models.at[outcome, "r2"] == pytest.approx(r2, abs=1e-6)   # stored to 6 places


def test_helpdesk_log_runs_with_one_journey_per_ticket(tmp_path_factory):
    run = _run("helpdesk-log", tmp_path_factory)
    raw = pd.read_csv(EXAMPLES / "helpdesk-log" / "helpdesk_events.csv.gz")
    journeys = pd.read_csv(run / "tables" / "journeys.csv")
    assert len(journeys) == raw["case_id"].nunique() == 4580
    contacts = raw.groupby("case_id").size()
    assert journeys["contacts"].sum() == contacts.sum() == len(raw)
