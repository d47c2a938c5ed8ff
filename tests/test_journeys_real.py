"""Journeys on real data bundled in data/examples/: the helpdesk ticket log and the bank
survey's declared blocks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import cx_helpers as cx
from cx_helpers.journeys import compare_all, journey_features, verdicts
from cx_helpers.journeys import END, START, journey_log

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "data" / "examples"
BLOCKS = {"image": [f"imag{i}" for i in range(1, 6)], "expectations": [f"expe{i}" for i in range(1, 6)],
          "quality": [f"qual{i}" for i in range(1, 6)], "value": [f"val{i}" for i in range(1, 5)]}


@pytest.fixture(scope="module")
def helpdesk():
    return cx.load_study(EXAMPLES / "helpdesk-log")


def test_helpdesk_tickets_as_journeys(helpdesk):
    raw = pd.read_csv(EXAMPLES / "helpdesk-log" / "helpdesk_events.csv.gz")
    log = journey_log(helpdesk)
    assert log.settings["by_case"]
    j = log.journeys()
    assert len(j) == raw["case_id"].nunique() == 4580
    # contacts and paths per ticket agree with a pandas groupby on the raw file
    ref = raw.sort_values(["case_id", "timestamp"], kind="stable").groupby("case_id")
    contacts = ref.size()
    assert (j.set_index("journey")["contacts"].sort_index() == contacts.sort_index()).all()
    unresolved = ~ref["activity"].agg(lambda s: bool({"Resolve ticket", "RESOLVED"} & set(s)))
    assert (~j["resolved"]).sum() == unresolved.sum() == 11
    # repeat tickets: the same customer's previous ticket ended at most 30 days earlier
    t = j.sort_values(["customer", "start", "journey"])
    prev_end = t.groupby("customer")["end"].transform(lambda s: s.shift().cummax())
    expect = ((t["start"] - prev_end).dt.total_seconds() <= 30 * 86400).fillna(False)
    assert (t["is_repeat_any"] == expect).all()
    tr = log.transitions()
    assert tr.groupby("from")["probability"].sum().round(9).eq(1).all()
    assert tr.loc[(tr["from"] == "Resolve ticket") & (tr["to"] == "Closed"), "probability"].iloc[0] > 0.9
    assert set(log.summary()["type"]) >= {"straight through", "with waiting"}
    per_customer = log.customers()
    assert per_customer["journeys"].sum() == 4580


def _bank_study():
    st = cx.load_study(EXAMPLES / "bank-satisfaction")
    assert {name: list(j.touchpoints) for name, j in st.journeys.items()} == BLOCKS
    return st


def test_bank_blocks_versus_items():
    st = _bank_study()
    assert len(st.respondents) == 250
    feats = journey_features(st)
    assert feats.shape[1] == 4 * 3                        # mean, min, sd per block
    manual = st.ratings[BLOCKS["quality"]].mean(axis=1)
    pd.testing.assert_series_equal(feats["quality_mean"], manual, check_names=False)
    c = compare_all(st, outcomes=["sat", "loy"], n_repeats=5, n_boot=500, seed=1)
    v = verdicts(c, st)
    assert list(v["outcome"]) == ["sat", "loy"]
    for _, r in v.iterrows():
        assert r["diff_low"] <= r["diff"] <= r["diff_high"]
        assert r["sentence"].endswith(".") and f"{r['t']:.3f}" in r["sentence"]
    print(v[["outcome", "t", "j", "diff", "diff_low", "diff_high", "gain", "gain_low",
             "gain_high", "nested_p"]].to_string())
    print("\n".join(v["sentence"]))
