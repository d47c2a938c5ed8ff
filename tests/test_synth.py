"""The synthetic study generator: determinism, the survey/event contract and the planted truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from cx_helpers import synth
from cx_helpers.errors import StudyError


@pytest.fixture(scope="module")
def big():
    """3,000 customers: enough to recover the planted effects."""
    return synth.generate(customers=3000, seed=7)


def _tp_matrix(study):
    """Survey ratings (NaN for blanks), the met mask and the truth vectors, in catalog order."""
    tps = list(study.truth["touchpoint_effects"])
    q = study.survey[[f"q_{tp}" for tp in tps]].to_numpy(dtype=float)
    met = q != synth.NA_CODE
    beta = np.array([study.truth["touchpoint_effects"][tp] for tp in tps])
    center = np.array([study.truth["touchpoint_centers"][tp] for tp in tps])
    return tps, q, met, beta, center


def _design(q, met, center):
    """Columns (r_t - center_t) * met_t, over respondents with every met rating answered."""
    complete = ~np.isnan(q).any(axis=1)
    x = np.where(met, q - center, 0.0)[complete]
    return np.column_stack([np.ones(len(x)), x]), complete


def test_same_seed_gives_byte_identical_files(tmp_path):
    a = synth.write_study(tmp_path / "a", customers=400, seed=11)
    b = synth.write_study(tmp_path / "b", customers=400, seed=11)
    for name in synth.FILES:
        data = (a / name).read_bytes()
        if name == "study.yaml":   # the study name is the folder name
            data = data.replace(b"name: a\n", b"name: b\n")
        assert data == (b / name).read_bytes(), name


def test_different_seed_gives_different_data(tmp_path):
    a = synth.write_study(tmp_path / "x" / "s", customers=400, seed=11)
    b = synth.write_study(tmp_path / "y" / "s", customers=400, seed=12)
    for name in ("survey.csv", "events.csv", "outcomes.csv"):
        assert (a / name).read_bytes() != (b / name).read_bytes(), name


def test_written_files_follow_the_contract(tmp_path):
    out = synth.write_study(tmp_path / "sample", customers=400, seed=3)
    config = yaml.safe_load((out / "study.yaml").read_text())
    assert config["name"] == "sample"
    assert config["client"] == "Northwind Mobile (synthetic)"
    assert config["na_codes"] == [9] and config["rating_scale"] == [1, 5]
    assert config["segments"] == ["region", "plan", "tenure"]
    assert config["pii"] == ["email", "full_name"] and config["weight"] == "weight"
    assert set(config["outcomes"]) == {"ltr", "osat", "retention", "churn", "revenue"}
    assert len(config["touchpoints"]) == 20
    declared = config["journeys"]["declared"]
    assert sorted(tp for j in declared.values() for tp in j["touchpoints"]) == sorted(
        config["touchpoints"])
    header = (out / "survey.csv").read_text().splitlines()[0].split(",")
    assert {f"q_j_{j}" for j in declared} <= set(header)
    assert {v["column"] for v in config["touchpoints"].values()} <= set(header)
    events = (out / "events.csv").read_text().splitlines()
    assert events[0] == "customer_id,timestamp,touchpoint,channel,rating"
    assert events[1].split(",")[1].endswith("+00:00")
    truth = json.loads((out / "truth.json").read_text())
    assert truth["customers"] == 400 and truth["respondents"] == 320
    assert set(truth["touchpoint_effects"]) == set(config["touchpoints"])


def test_generate_is_deterministic():
    a, b = synth.generate(300, seed=5), synth.generate(300, seed=5)
    assert a.survey.equals(b.survey) and a.events.equals(b.events)
    assert a.truth == b.truth


def test_na_code_exactly_where_no_event(big):
    tps, q, met, _, _ = _tp_matrix(big)
    ev = big.events
    customers = big.survey["customer_id"].to_numpy()
    had = np.zeros_like(met)
    pos = {c: i for i, c in enumerate(customers)}
    rows = ev["customer_id"].map(pos)
    keep = rows.notna().to_numpy()
    cols = ev["touchpoint"].map({tp: k for k, tp in enumerate(tps)}).to_numpy()
    had[rows[keep].astype(int).to_numpy(), cols[keep]] = True
    assert np.array_equal(q == synth.NA_CODE, ~had)
    answered = q[had & ~np.isnan(q)]
    assert set(np.unique(answered)) <= {1, 2, 3, 4, 5}
    blank = np.isnan(q).sum() / had.sum()
    assert 0.01 < blank < 0.06


def test_events_are_sorted_and_journeys_apart(big):
    ev, journeys = big.events, big.journeys_truth
    assert ev["customer_id"].is_monotonic_increasing
    assert (ev.groupby("customer_id")["timestamp"].diff().dropna().dt.total_seconds() > 0).all()
    assert journeys["n_events"].sum() == len(ev)
    assert 2.0 <= len(ev) / len(journeys) <= 4.0
    nxt = journeys.groupby("customer_id")["start"].shift(-1)
    assert ((nxt - journeys["start"]).dropna().dt.days >= 14).all()
    assert ((nxt - journeys["end"]).dropna().dt.total_seconds() > 0).all()
    assert (journeys["end"] - journeys["start"]).max().days <= 5 * 9
    assert ev["timestamp"].dt.year.eq(2026).all()


def test_ols_recovers_planted_betas(big):
    _, q, met, beta, center = _tp_matrix(big)
    x, complete = _design(q, met, center)
    y = big.survey["q_recommend"].to_numpy(dtype=float)[complete]
    est = np.linalg.lstsq(x, y, rcond=None)[0][1:]
    assert np.corrcoef(est, beta)[0, 1] > 0.9
    assert np.abs(est - beta).max() < 0.4


def _mean_corr(q, met, tp_journey, same):
    r = np.where(met, q, np.nan)
    corrs = []
    for a in range(r.shape[1]):
        for b in range(a + 1, r.shape[1]):
            if (tp_journey[a] == tp_journey[b]) != same:
                continue
            ok = ~np.isnan(r[:, a]) & ~np.isnan(r[:, b])
            if ok.sum() >= 30:
                corrs.append(np.corrcoef(r[ok, a], r[ok, b])[0, 1])
    return float(np.mean(corrs))


def test_within_journey_correlation_exceeds_between(big):
    tps, q, met, _, _ = _tp_matrix(big)
    tp_journey = [big.truth["touchpoint_journey"][tp] for tp in tps]
    within = _mean_corr(q, met, tp_journey, same=True)
    between = _mean_corr(q, met, tp_journey, same=False)
    assert within > between + 0.15
    assert between > 0.0


def _partial_corr_journey(study, journey="support"):
    _, q, met, _, center = _tp_matrix(study)
    x, complete = _design(q, met, center)
    jr = study.survey[f"q_j_{journey}"].to_numpy(dtype=float)[complete]
    y = study.survey["q_recommend"].to_numpy(dtype=float)[complete]
    had = jr != synth.NA_CODE
    x, jr, y = x[had], jr[had], y[had]
    res = [v - x @ np.linalg.lstsq(x, v, rcond=None)[0] for v in (jr, y)]
    return np.corrcoef(*res)[0, 1]


def test_journey_effect_shows_in_direct_journey_rating():
    none = _partial_corr_journey(synth.generate(2000, seed=9, journey_effect=0.0))
    strong = _partial_corr_journey(synth.generate(2000, seed=9, journey_effect=2.0))
    assert abs(none) < 0.1
    assert strong > none + 0.2


def test_summary_is_plausible(big):
    info = synth.describe(big)
    assert -10 <= info["nps"] <= 40
    assert 0.10 <= info["churn_rate"] <= 0.20
    assert 0.08 <= info["reach_min"] and info["reach_max"] <= 0.65
    assert big.survey["weight"].mean() == pytest.approx(1.0, abs=1e-3)
    assert big.outcomes["customer_id"].is_unique and len(big.outcomes) == 3000


def test_refuses_non_empty_folder_and_force_keeps_foreign_files(tmp_path):
    out = tmp_path / "study"
    out.mkdir()
    foreign = out / "notes.txt"
    foreign.write_text("mine")
    with pytest.raises(StudyError, match="not empty"):
        synth.write_study(out, customers=200, seed=1)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    synth.write_study(out, customers=200, seed=1, force=True)
    assert foreign.read_text() == "mine"
    assert {p.name for p in out.iterdir()} == set(synth.FILES) | {"notes.txt"}
    before = (out / "survey.csv").read_bytes()
    synth.write_study(out, customers=200, seed=2, force=True)
    assert (out / "survey.csv").read_bytes() != before
    assert foreign.read_text() == "mine"


def test_refuses_a_file_and_bad_arguments(tmp_path):
    path = tmp_path / "file.csv"
    path.write_text("x")
    with pytest.raises(StudyError):
        synth.write_study(path, customers=100)
    with pytest.raises(StudyError):
        synth.generate(100, response_rate=0.0)
    with pytest.raises(StudyError):
        synth.generate(0)


def test_sample_shape_is_the_default_and_unknown_shapes_are_refused(tmp_path):
    a = synth.write_study(tmp_path / "x" / "s", customers=300, seed=11)
    b = synth.write_study(tmp_path / "y" / "s", customers=300, seed=11, shape="sample")
    for name in synth.FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    with pytest.raises(StudyError, match="unknown study shape 'airplane'"):
        synth.write_study(tmp_path / "z", customers=300, shape="airplane")
    assert not (tmp_path / "z").exists()


def test_journeys_per_customer_sets_the_density_of_the_log():
    """The density option multiplies the journeys (and so the events) per customer, draws the
    journey types in their proportions, and leaves the default design untouched."""
    base = synth.generate(customers=400, seed=3)
    dense = synth.generate(customers=400, seed=3, journeys_per_customer=12)
    again = synth.generate(customers=400, seed=3)
    pd.testing.assert_frame_equal(base.events, again.events)
    per = dense.journeys_truth.groupby("customer_id").size()
    assert abs(per.mean() - 12) < 0.6 and per.min() >= 1
    assert len(dense.events) > 4 * len(base.events)
    assert dense.truth["journeys_per_customer"] == 12.0
    assert "journeys_per_customer" not in base.truth
    with pytest.raises(StudyError, match="journeys per customer"):
        synth.generate(customers=10, journeys_per_customer=40)
    with pytest.raises(StudyError, match="no event log"):
        synth.shape_files("airline", customers=50, journeys_per_customer=5)
