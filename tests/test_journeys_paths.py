"""Journey reconstruction in DuckDB: hand-built logs, the sample's true segmentation, and
independent pandas computations."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from cx_helpers.journeys.reconstruct import (END, START, discover_types, journey_log, reconstruct_journeys,
                              transition_matrix)


def _log(rows, **cols):
    """Events from (customer, ISO time, touchpoint[, channel]) tuples, in the order given."""
    df = pd.DataFrame(rows, columns=["customer", "time", "touchpoint", "channel"][:len(rows[0])])
    df["time"] = pd.to_datetime(df["time"], utc=True)
    for k, v in cols.items():
        df[k] = v
    return df


HAND = [
    ("A", "2026-01-01T09:00", "web", "web"),
    ("A", "2026-01-02T09:00", "call", "phone"),
    ("A", "2026-01-07T09:00", "chat", "web"),      # exactly 5 days later: same journey
    ("A", "2026-01-12T09:01", "web", "web"),       # 5 days + 1 minute: a new journey
    ("B", "2026-03-01T10:00", "shop", "store"),    # a customer with one event
    ("C", "2026-02-01T08:00", "web", "web"),
    ("C", "2026-02-01T08:00", "call", "phone"),    # tie: kept in input order
    ("C", "2026-02-01T08:00", "chat", "web"),
]


def test_gaps_single_event_and_ties():
    j = reconstruct_journeys(_log(HAND), gap_days=5).journeys().set_index("journey")
    assert list(j.index) == ["A#001", "A#002", "B#001", "C#001"]
    assert j.at["A#001", "path"] == "web > call > chat"
    assert j.at["A#001", "contacts"] == 3 and j.at["A#001", "channel_switches"] == 2
    assert j.at["A#001", "duration_h"] == pytest.approx(6 * 24)
    assert j.at["A#001", "longest_wait_h"] == pytest.approx(5 * 24)
    assert j.at["A#002", "path"] == "web" and j.at["A#002", "contacts"] == 1
    assert j.at["B#001", "duration_h"] == 0 and j.at["B#001", "longest_wait_h"] == 0
    assert j.at["C#001", "path"] == "web > call > chat"
    assert j.at["C#001", "first_touchpoint"] == "web" and j.at["C#001", "last_touchpoint"] == "chat"


def test_out_of_order_rows_give_the_same_journeys():
    df = _log(HAND)
    shuffled = df.iloc[[7, 3, 0, 4, 2, 5, 1, 6]].reset_index(drop=True)
    # the tie in C must keep the original relative order, so keep C's rows in order 5, 6, 7
    shuffled = pd.concat([df.iloc[[3, 4, 0, 2, 1]], df.iloc[[5, 6, 7]]], ignore_index=True)
    a = reconstruct_journeys(df, gap_days=5).journeys()
    b = reconstruct_journeys(shuffled, gap_days=5).journeys()
    pd.testing.assert_frame_equal(a, b)


def test_tie_order_follows_input_rows():
    df = _log(HAND)
    swapped = df.iloc[[0, 1, 2, 3, 4, 7, 6, 5]].reset_index(drop=True)
    j = reconstruct_journeys(swapped, gap_days=5).journeys().set_index("journey")
    assert j.at["C#001", "path"] == "chat > call > web"


def test_starting_touchpoints_cut_journeys():
    j = reconstruct_journeys(_log(HAND), gap_days=30, starts=["call"]).journeys()
    assert list(j["path"]) == ["web", "call > chat > web", "shop", "web", "call > chat"]
    only = reconstruct_journeys(_log(HAND), starts=["chat"]).journeys()
    assert list(only["path"]) == ["web > call", "chat > web", "shop", "web > call", "chat"]


def test_type_rules_first_match_wins_and_other():
    types = {"assisted": {"contains": ["call"], "starts_with": ["web"]},
             "digital": {"starts_with": ["web"]}, "closing": {"ends_with": ["shop"]}}
    j = reconstruct_journeys(_log(HAND), gap_days=5, types=types).journeys()
    assert list(j["type"]) == ["assisted", "digital", "closing", "assisted"]
    j2 = reconstruct_journeys(_log(HAND), gap_days=5, types={"x": {"contains": ["call"]}})
    assert list(j2.journeys()["type"]) == ["x", "other", "other", "x"]
    with pytest.raises(ValueError, match="rule"):
        reconstruct_journeys(_log(HAND), gap_days=5, types={"bad": {"has": ["web"]}})


def test_declared_journeys_type_by_majority():
    declared = {"sales": ["web", "shop"], "care": ["call", "chat"]}
    j = reconstruct_journeys(_log(HAND), gap_days=5, declared=declared).journeys()
    # A#001 web, call, chat -> care (2 of 3); C#001 the same; A#002 web -> sales
    assert list(j["type"]) == ["care", "sales", "sales", "care"]


def test_repeat_contacts_and_resolution():
    rows = [("A", "2026-01-01T09:00", "call", "phone"), ("A", "2026-01-10T09:00", "call", "phone"),
            ("A", "2026-03-01T09:00", "call", "phone"), ("A", "2026-03-05T09:00", "fix", "phone")]
    log = reconstruct_journeys(_log(rows), gap_days=2, repeat_days=10)
    j = log.journeys()
    assert list(j["is_repeat"]) == [False, True, False, True]
    assert list(j["followed_by_repeat"]) == [True, False, True, False]
    assert list(j["resolved"]) == [False, True, False, True]       # no repeat followed
    j2 = reconstruct_journeys(_log(rows), gap_days=2, repeat_days=10, resolving=["fix"],
                              types={"fix": {"contains": ["fix"]}}).journeys()
    assert list(j2["resolved"]) == [False, False, False, True]
    assert list(j2["is_repeat"]) == [False, True, False, False]    # types differ
    assert list(j2["is_repeat_any"]) == [False, True, False, True]
    assert j2["resolution_h"].iloc[3] == 0


def test_by_case():
    df = _log(HAND, case=["t1", "t1", "t2", "t2", "t3", "t4", "t4", "t5"])
    j = reconstruct_journeys(df, by_case=True).journeys().set_index("journey")
    assert j.loc["t2", "path"] == "chat > web" and j.loc["t4", "path"] == "web > call"
    assert j.loc["t2", "customer"] == "A" and len(j) == 5


def test_transitions_on_hand_log():
    tr = reconstruct_journeys(_log(HAND), gap_days=5).transitions()
    n = {(f, t): v for f, t, v in tr[["from", "to", "n"]].itertuples(index=False)}
    assert n[(START, "web")] == 3 and n[(START, "shop")] == 1
    assert n[("web", "call")] == 2 and n[("call", "chat")] == 2
    assert n[("chat", END)] == 2 and n[("web", END)] == 1 and n[("shop", END)] == 1
    assert tr.groupby("from")["probability"].sum().round(12).eq(1).all()


def test_sample_segmentation_matches_truth(sample_study, sample_dir):
    truth = pd.read_csv(sample_dir / "truth_journeys.csv", dtype=str)
    j = journey_log(sample_study, gap_days=6).journeys()
    ours = pd.DataFrame({"customer": j["customer"].astype(str),
                         "start": j["start"].dt.strftime("%Y-%m-%dT%H:%M"),
                         "end": j["end"].dt.strftime("%Y-%m-%dT%H:%M"),
                         "n": j["contacts"].astype(int), "type": j["type"].astype(str)})
    theirs = pd.DataFrame({"customer": truth["customer_id"], "start": truth["start"].str[:16],
                           "end": truth["end"].str[:16], "n": truth["n_events"].astype(int),
                           "type": truth["journey_type"]})
    key = ["customer", "start"]
    pd.testing.assert_frame_equal(ours.sort_values(key).reset_index(drop=True),
                                  theirs.sort_values(key).reset_index(drop=True))


def test_transitions_match_pandas(sample_study):
    log = journey_log(sample_study, gap_days=6)
    ev = log.events()
    ev["prev"] = ev.groupby("journey")["touchpoint"].shift()
    ev["prev"] = ev["prev"].fillna(START)
    last = ev.groupby("journey")["touchpoint"].last()
    pairs = pd.concat([ev[["prev", "touchpoint"]].set_axis(["from", "to"], axis=1),
                       pd.DataFrame({"from": last.to_numpy(), "to": END})])
    ref = pairs.groupby(["from", "to"]).size().rename("n").reset_index()
    got = log.transitions()
    merged = ref.merge(got, on=["from", "to"], how="outer", suffixes=("_pd", "_db"))
    assert (merged["n_pd"] == merged["n_db"]).all()
    m = transition_matrix(got)
    assert m.loc[START].sum() == pytest.approx(1.0) and m.shape == (21, 21)


def test_funnel_counts_match_contacts(sample_study):
    log = journey_log(sample_study, gap_days=6)
    j, f = log.journeys(), log.funnel()
    for (t, step), row in f.set_index(["type", "step"]).iterrows():
        part = j[j["type"] == t]
        assert row["journeys"] == (part["contacts"] >= step).sum()
    assert (f[f["step"] == 1]["share"] == 1).all()


def test_parquet_source_gives_the_same(sample_study, tmp_path):
    path = tmp_path / "events.parquet"
    sample_study.events.to_parquet(path)
    a = journey_log(sample_study, gap_days=6).journeys()
    b = reconstruct_journeys(str(path), gap_days=6,
                             declared={k: list(v.touchpoints)
                                       for k, v in sample_study.journeys.items()}).journeys()
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_discovered_types_recover_the_truth(sample_study):
    log = journey_log(sample_study, gap_days=6)
    truth = log.journeys().set_index("journey")["type"]
    labels, desc = discover_types(log, k=5, seed=1)
    ari = adjusted_rand_score(truth.loc[labels["journey"]], labels["type"])
    assert ari > 0.9
    assert desc["journeys"].sum() == len(truth) and desc["description"].str.contains("start at").all()
    again, _ = discover_types(log, k=5, seed=1)
    pd.testing.assert_frame_equal(labels, again)


def test_transitions_by_type_and_log_without_channel():
    types = {"assisted": {"contains": ["call"]}}
    log = reconstruct_journeys(_log(HAND), gap_days=5, types=types)
    got = log.transitions(type="assisted")
    n = {(f, t): v for f, t, v in got[["from", "to", "n"]].itertuples(index=False)}
    # A#001 and C#001 are web > call > chat
    assert n == {(START, "web"): 2, ("web", "call"): 2, ("call", "chat"): 2, ("chat", END): 2}
    other = log.transitions(type="other")
    assert other["n"].sum() + got["n"].sum() == log.transitions()["n"].sum()
    bare = reconstruct_journeys(_log([r[:3] for r in HAND]), gap_days=5).journeys()
    assert list(bare["path"]) == ["web > call > chat", "web", "shop", "web > call > chat"]
    assert (bare["channel_switches"] == 0).all()


def test_kept_columns_follow_their_events():
    df = _log(HAND)
    df["platform"] = [f"p{i}" for i in range(len(df))]            # a value per row
    shuffled = df.iloc[[7, 3, 0, 4, 2, 5, 1, 6]].reset_index(drop=True)
    ev = reconstruct_journeys(shuffled, gap_days=5, keep=["platform"]).events()
    # each event keeps its own row's value, whatever the input order
    pairs = set(zip(ev["time"], ev["touchpoint"], ev["platform"]))
    assert pairs == set(zip(df["time"], df["touchpoint"], df["platform"]))
    c = ev[ev["journey"] == "C#001"]                  # a tie: the shuffled input order
    assert list(zip(c["touchpoint"], c["platform"])) == [("chat", "p7"), ("web", "p5"),
                                                         ("call", "p6")]
    with pytest.raises(ValueError, match="keep: no column 'nowhere'"):
        reconstruct_journeys(df, gap_days=5, keep=["nowhere"])
    plain = reconstruct_journeys(df, gap_days=5).events()
    assert "platform" not in plain.columns


def test_journey_log_carries_the_study_keep_columns():
    import cx_helpers as cx
    from pathlib import Path

    helpdesk = Path(__file__).resolve().parent.parent / "data" / "examples" / "helpdesk-log"
    study = cx.load_study(helpdesk)
    ev = journey_log(study).events()
    kept = [c for c in study.events.columns
            if c not in ("customer", "time", "touchpoint", "channel", "rating", "case")]
    assert kept and set(kept) <= set(ev.columns)
    # the values agree with the study's events, row for row (same case, time and touchpoint)
    key = ["case", "time", "touchpoint"]
    a = ev[key + kept].astype({c: "string" for c in kept}).sort_values(key, kind="stable")
    b = study.events[key + kept].astype({c: "string" for c in kept}).sort_values(key, kind="stable")
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                  check_dtype=False)
