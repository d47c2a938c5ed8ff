"""No number under the minimum base leaves the package: small bases planted, every output scanned.

A study of the sample's design (1,200 customers) is bent so that one touchpoint (chat) is rated
by 8 respondents only and one region (Islands) has 6 respondents; the minimum base is 30. After
a full run, every table is read: statistics of the survey ratings of chat and of the Islands
segment must be blank (their base sizes may show), no driver table may hold chat at all, and
neither the summary nor the report's text may state a number for them.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from conftest import FAST, cx
from cx_helpers import synth

pytestmark = pytest.mark.slow  # runs a whole study

SMALL_TP, SMALL_LABEL, SMALL_SEGMENT = "chat", "Chat", "Islands"
# columns that state a base size (how many answers a blank rests on), not a statistic
BASES = {"n", "n1", "n2", "n_eff", "n_satisfied", "n_dissatisfied", "importance_n", "reach_base",
         "customers", "contacts", "family_size", "suppressed", "significant", "df"}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("small")
    # a study of the sample's design, smaller than the sample (the bases planted are the point)
    study = synth.write_study(base / "study", customers=1200, seed=4)
    survey = pd.read_csv(study / "survey.csv", dtype=str, keep_default_na=False)
    rated = survey.index[survey["q_chat"] != "9"]
    survey.loc[rated[8:], "q_chat"] = "9"
    survey.loc[survey.index[:6], "region"] = SMALL_SEGMENT
    survey.to_csv(study / "survey.csv", index=False)
    res = cx("run", study, "--out", base / "run", "--quiet", *FAST)
    assert res.returncode == 0, res.stderr[-3000:]
    return base / "run"


def _statistics(row: pd.Series) -> dict:
    return {k: v for k, v in row.items()
            if k not in BASES and isinstance(v, (int, float, np.number)) and not pd.isna(v)}


def test_driver_tables_leave_out_a_touchpoint_under_the_base(small_run):
    for name in ("importance", "driver_coefficients", "collinearity", "priority_map",
                 "driver_models"):
        path = small_run / "tables" / f"{name}.csv"
        if not path.is_file():
            continue
        table = pd.read_csv(path)
        for col in ("driver", "label"):
            if col in table:
                names = table[col].astype(str)
                assert not names.str.fullmatch(rf"{SMALL_TP}(__na)?|{SMALL_LABEL}").any(), name


def test_rating_statistics_of_a_small_base_are_blank(small_run):
    inv = pd.read_csv(small_run / "tables" / "inventory.csv").set_index("touchpoint")
    row = inv.loc[SMALL_TP]
    assert row["n"] == 8 and bool(row["suppressed"])
    survey_stats = [c for c in inv.columns if c.startswith(("sat_", "top_box", "bottom_box",
                                                             "importance", "impact", "pain"))
                    and c not in BASES]
    assert row[survey_stats].isna().all(), row[survey_stats].dropna()


def test_segment_statistics_of_a_small_base_are_blank(small_run):
    for path in sorted((small_run / "tables").glob("*.csv")):
        table = pd.read_csv(path)
        if "segment" not in table:
            continue
        rows = table[table["segment"].astype(str) == SMALL_SEGMENT]
        for _, r in rows.iterrows():
            assert not _statistics(r), (path.name, _statistics(r))


def test_no_sentence_states_a_number_for_a_small_base(small_run):
    summary = pd.read_csv(small_run / "tables" / "summary.csv")
    text = " ".join(summary["sentence"].astype(str))
    assert SMALL_SEGMENT not in text and SMALL_LABEL not in text
    html = (small_run / "report.html").read_text()
    number = re.compile(r"[+-]?\d+\.\d|\d\s*%")
    rows = re.findall(r"<tr.*?</tr>", html, flags=re.S)
    for row in rows:                       # a table row of the small segment: no statistic
        cells = re.sub(r"<[^>]+>", " ", row)
        if re.search(rf"\b{SMALL_SEGMENT}\b", cells):
            assert not number.search(cells), cells
    prose = re.sub(r"<[^>]+>", " ", re.sub(r"<tr.*?</tr>", " ", html, flags=re.S))
    for sentence in re.split(r"(?<=[.;])\s", prose):
        if SMALL_SEGMENT in sentence:
            assert not number.search(sentence), sentence
