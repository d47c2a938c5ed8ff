"""Journey scores and the journey-versus-touchpoint test against planted truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cx_helpers as cx
from cx_helpers.journeys import (_derived, compare_journey_touchpoint, journey_features,
                                 journey_scores, verdicts)
from cx_helpers.synth import write_study


def test_derived_scores_by_hand():
    r = pd.DataFrame({"a": [1, 5, np.nan, np.nan], "b": [3, np.nan, 2, np.nan],
                      "c": [4, 4, np.nan, np.nan]}, dtype=float)
    d = _derived(r, midpoint=3.0)
    assert list(d["mean"].iloc[:3]) == pytest.approx([8 / 3, 4.5, 2.0])
    assert list(d["min"].iloc[:3]) == [1, 4, 2]
    assert d["sd"].iloc[0] == pytest.approx(np.std([1, 3, 4])) and d["sd"].iloc[2] == 0
    assert list(d["last"].iloc[:3]) == [4, 4, 2]
    # peak: farthest from 3 -> 1 (row 0), 5 (row 1), 2 (row 2)
    assert list(d["peak_end"].iloc[:3]) == [2.5, 4.5, 2.0]
    assert all(np.isnan(d[m].iloc[3]) for m in d)


def test_scores_of_the_sample(sample_study):
    s = journey_scores(sample_study)
    direct = s[(s["journey"] == "buy") & (s["measure"] == "direct")].set_index("respondent")
    pd.testing.assert_series_equal(direct["value"], sample_study.journey_ratings["buy"],
                                   check_names=False)
    mean = s[(s["journey"] == "support") & (s["measure"] == "mean")].set_index("respondent")
    tps = list(sample_study.journeys["support"].touchpoints)
    ref = sample_study.ratings[tps].mean(axis=1)
    pd.testing.assert_series_equal(mean["value"], ref, check_names=False)
    f = journey_features(sample_study)
    assert list(f.columns) == list(sample_study.journeys)          # direct ratings only


def _study(tmp_path_factory, effect, seed):
    d = write_study(tmp_path_factory.mktemp("s") / "s", customers=2000, seed=seed,
                    journey_effect=effect)
    return cx.load_study(d)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_journey_effect_journeys_do_not_win(tmp_path_factory, seed):
    st = _study(tmp_path_factory, 0.0, seed)
    c = compare_journey_touchpoint(st, "ltr", n_repeats=2, n_boot=200, seed=seed)
    diff = c[(c["model"] == "J-T") & (c["metric"] == "r2")].iloc[0]
    assert diff["low"] <= 0                        # includes zero or favours touchpoints
    assert verdicts(c, st)["verdict"].iloc[0] in ("touchpoints", "no difference")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_strong_journey_effect_journeys_win(tmp_path_factory, seed):
    st = _study(tmp_path_factory, 1.5, seed)
    c = compare_journey_touchpoint(st, "ltr", n_repeats=2, n_boot=200, seed=seed)
    diff = c[(c["model"] == "J-T") & (c["metric"] == "r2")].iloc[0]
    assert diff["low"] > 0
    gain = c[(c["model"] == "J/T") & (c["metric"] == "r2")].iloc[0]
    assert gain["low"] > 0
    nested = c[c["model"] == "T+J vs T"].iloc[0]
    assert nested["metric"] == "F" and nested["p"] < 0.001
    v = verdicts(c, st).iloc[0]
    assert v["verdict"] == "journeys"
    assert v["sentence"].startswith(f"Journey measures explain {100 * gain['value']:.0f} % more "
                                    "variance in likelihood to recommend than touchpoint measures "
                                    f"(95 % CI {100 * gain['low']:.0f} %")


@pytest.mark.parametrize("effect,expected", [(0.0, ("touchpoints", "no difference")),
                                             (1.5, ("journeys",))])
def test_binary_outcome(tmp_path_factory, effect, expected):
    st = _study(tmp_path_factory, effect, 4)
    c = compare_journey_touchpoint(st, "churn", n_repeats=2, n_boot=150, seed=4)
    assert set(c["metric"]) == {"auc", "log_loss", "LR"}
    assert verdicts(c, st)["verdict"].iloc[0] in expected


def test_same_seed_same_table(sample_study):
    a = compare_journey_touchpoint(sample_study, "osat", n_repeats=2, n_boot=100, seed=5)
    b = compare_journey_touchpoint(sample_study, "osat", n_repeats=2, n_boot=100, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns[:6]) == ["outcome", "model", "metric", "value", "low", "high"]


def _table(d, lo, hi, t=0.30):
    j = t + d
    rows = [("T", t, t, t, np.nan), ("J", j, j, j, np.nan), ("T+J", j + 0.01, 0, 0, np.nan),
            ("J-T", d, lo, hi, np.nan), ("J/T", d / t, lo / t, hi / t, np.nan)]
    df = pd.DataFrame([{"outcome": "ltr", "model": m, "metric": "r2", "value": v, "low": a,
                        "high": b, "p": p} for m, v, a, b, p in rows])
    nested = {"outcome": "ltr", "model": "T+J vs T", "metric": "F", "value": 3.0,
              "low": np.nan, "high": np.nan, "p": 0.2}
    return pd.concat([df, pd.DataFrame([nested])], ignore_index=True)


def test_verdict_sentences_from_numbers():
    win = verdicts(_table(0.093, 0.054, 0.132)).iloc[0]
    assert win["sentence"] == ("Journey measures explain 31 % more variance in ltr than touchpoint "
                               "measures (95 % CI 18 % to 44 %; out-of-sample R² 0.393 versus "
                               "0.300).")
    same = verdicts(_table(0.01, -0.02, 0.04)).iloc[0]
    assert same["sentence"].startswith("No detectable difference between journey and touchpoint "
                                       "measures in predicting ltr")
    assert "difference +0.010, 95 % CI -0.020 to +0.040" in same["sentence"]
    lose = verdicts(_table(-0.06, -0.09, -0.03)).iloc[0]
    assert lose["verdict"] == "touchpoints"
    assert lose["sentence"].startswith("Journey measures explain 20 % less variance in ltr")
    assert "add no detectable information" in lose["nested_sentence"]
