"""The study contract: loading the sample, and a clear error for each kind of bad input."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from cx_helpers import StudyError, load_study
from cx_helpers.study import summarize


def _edit_csv(path, func):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = func(df)
    df.to_csv(path, index=False)


def _edit_yaml(study_dir, func):
    path = study_dir / "study.yaml"
    config = yaml.safe_load(path.read_text())
    func(config)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def _hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_sample_loads_with_roles(sample_study, sample_dir):
    s = sample_study
    raw = pd.read_csv(sample_dir / "survey.csv")
    assert len(s.respondents) == len(raw)
    assert s.respondents.index.is_unique
    assert "email" not in s.respondents.columns  # PII is never read
    assert s.catalog["stage"].cat.ordered
    # not-applicable codes are missing, never scores
    tp = s.rated_touchpoints[0]
    col = s.catalog.set_index("touchpoint").at[tp, "column"]
    na_codes = s.config["na_codes"]
    is_na = raw[col].isin(na_codes).to_numpy()
    assert is_na.any()
    assert np.isnan(s.ratings[tp].to_numpy()[is_na]).all()
    assert s.ratings.max().max() <= 5 and s.ratings.min().min() >= 1
    assert s.events.groupby("customer")["time"].apply(lambda t: t.is_monotonic_increasing).all()
    # outcomes of the outcomes table are joined onto respondents by customer
    outcomes = pd.read_csv(sample_dir / "outcomes.csv", dtype={"customer_id": str})
    churn = outcomes.set_index("customer_id")["churned"]
    first = s.respondents.iloc[0]
    assert first["churn"] == churn[first["customer"]]


def test_summary_counts(sample_study, sample_dir):
    info = summarize(sample_study)
    events = pd.read_csv(sample_dir / "events.csv")
    assert info["events"] == len(events)
    assert info["customers with events"] == events["customer_id"].nunique()
    assert info["respondents"] == len(pd.read_csv(sample_dir / "survey.csv"))


def _expect(study_dir, *fragments):
    with pytest.raises(StudyError) as info:
        load_study(study_dir)
    text = str(info.value)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in: {text}"
    return info.value


def _rating_column(study_dir):
    config = yaml.safe_load((study_dir / "study.yaml").read_text())
    tp, spec = next((k, v) for k, v in config["touchpoints"].items() if v.get("column"))
    return tp, spec["column"]


def test_missing_file(sample_copy):
    (sample_copy / "events.csv").unlink()
    _expect(sample_copy, "events.csv", "file not found", "Fix:")


def test_missing_study_yaml(tmp_path):
    _expect(tmp_path, "no study.yaml", "cx synth")


def test_misspelt_column_suggests_closest(sample_copy):
    _, col = _rating_column(sample_copy)
    _edit_csv(sample_copy / "survey.csv", lambda d: d.rename(columns={col: col + "x"}))
    _expect(sample_copy, "survey.csv", f"no column '{col}'", f"did you mean '{col}x'?")


def test_rating_outside_scale_rows(sample_copy):
    _, col = _rating_column(sample_copy)

    def bad(d):
        d.loc[[3, 7], col] = "7"
        return d
    _edit_csv(sample_copy / "survey.csv", bad)
    err = _expect(sample_copy, "survey.csv", f"column '{col}'", "rows 4, 8", "outside the scale",
                  "from 1 to 5")
    assert err.rows == [4, 8]


def test_text_in_rating_column(sample_copy):
    _, col = _rating_column(sample_copy)

    def bad(d):
        d.loc[10, col] = "very good"
        return d
    _edit_csv(sample_copy / "survey.csv", bad)
    _expect(sample_copy, f"column '{col}'", "row 11", "text where a number was expected",
            "'very good'", "na_codes")


def test_duplicate_respondent_ids(sample_copy):
    def bad(d):
        d.loc[5, "respondent_id"] = d.loc[2, "respondent_id"]
        return d
    _edit_csv(sample_copy / "survey.csv", bad)
    _expect(sample_copy, "duplicate respondent ids", "rows 3, 6", "one row per respondent")


def test_unparseable_and_missing_timestamps(sample_copy):
    def bad(d):
        d.loc[0, "timestamp"] = "yesterday"
        d.loc[4, "timestamp"] = ""
        return d
    _edit_csv(sample_copy / "events.csv", bad)
    _expect(sample_copy, "events.csv", "column 'timestamp'", "rows 1, 5", "'yesterday'",
            "ISO 8601")


def test_event_on_unknown_touchpoint(sample_copy):
    def bad(d):
        d.loc[2, "touchpoint"] = "carrier_pigeon"
        return d
    _edit_csv(sample_copy / "events.csv", bad)
    _expect(sample_copy, "events.csv", "column 'touchpoint'", "row 3", "'carrier_pigeon'",
            "not in the catalog")


def test_empty_table(sample_copy):
    header = (sample_copy / "outcomes.csv").read_text().splitlines()[0]
    (sample_copy / "outcomes.csv").write_text(header + "\n")
    _expect(sample_copy, "outcomes.csv", "empty")


def test_weight_not_positive(sample_copy):
    def bad(d):
        d.loc[1, "weight"] = "0"
        d.loc[9, "weight"] = "-1.5"
        return d
    _edit_csv(sample_copy / "survey.csv", bad)
    _expect(sample_copy, "column 'weight'", "rows 2, 10", "weight > 0")


def test_unknown_config_key_suggests(sample_copy):
    _edit_yaml(sample_copy, lambda c: c.__setitem__("segmets", c.pop("segments")))
    _expect(sample_copy, "study.yaml", "unknown config key 'segmets'", "did you mean 'segments'?")


def test_bad_outcome_kind(sample_copy):
    def bad(c):
        name = next(iter(c["outcomes"]))
        c["outcomes"][name]["kind"] = "likert"
    _edit_yaml(sample_copy, bad)
    _expect(sample_copy, "kind 'likert'", "nps, ordinal, binary, continuous")


def test_all_problems_reported_at_once(sample_copy):
    def bad(d):
        d.loc[1, "weight"] = "0"
        d.loc[5, "respondent_id"] = d.loc[2, "respondent_id"]
        return d
    _edit_csv(sample_copy / "survey.csv", bad)
    err = _expect(sample_copy, "2 problems found")
    assert len(err.problems) == 2


def test_inputs_never_modified(sample_copy):
    before = _hashes(sample_copy)
    load_study(sample_copy)
    _edit_csv(sample_copy / "survey.csv", lambda d: d.assign(weight="0"))
    broken = _hashes(sample_copy)
    with pytest.raises(StudyError):
        load_study(sample_copy)
    assert _hashes(sample_copy) == broken
    assert set(before) == set(broken)


def test_cli_validate_ok_and_broken(sample_copy):
    ok = subprocess.run([sys.executable, "-m", "cx_helpers", "validate", str(sample_copy)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "valid" in ok.stdout and "respondents" in ok.stdout and "event dates" in ok.stdout
    _, col = _rating_column(sample_copy)
    _edit_csv(sample_copy / "survey.csv", lambda d: d.rename(columns={col: col.upper()}))
    bad = subprocess.run([sys.executable, "-m", "cx_helpers", "validate", str(sample_copy)],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert f"no column '{col}'" in bad.stderr and "survey.csv" in bad.stderr


def test_events_only_study(tmp_path, sample_dir):
    events = pd.read_csv(sample_dir / "events.csv")
    events.rename(columns={"touchpoint": "activity"}).to_csv(tmp_path / "log.csv", index=False)
    (tmp_path / "study.yaml").write_text(
        "name: log\ntables:\n  events: {path: log.csv, customer: customer_id, time: timestamp, "
        "touchpoint: activity, keep: [channel]}\n")
    s = load_study(tmp_path)
    assert len(s.respondents) == 0 and s.ratings.empty
    assert sorted(s.catalog["touchpoint"]) == sorted(events["touchpoint"].unique())
    assert set(s.catalog["stage"]) == {"unstaged"}
    assert len(s.events) == len(events) and "channel" in s.events


def test_study_needs_survey_or_events(tmp_path):
    (tmp_path / "study.yaml").write_text("name: nothing\ntables: {}\n")
    _expect(tmp_path, "needs tables.survey or tables.events")


def test_survey_without_id_column_numbers_rows(tmp_path, sample_dir):
    survey = pd.read_csv(sample_dir / "survey.csv").drop(columns=["respondent_id"]).head(50)
    survey.to_csv(tmp_path / "s.csv", index=False)
    (tmp_path / "study.yaml").write_text(
        "tables:\n  survey: {path: s.csv}\nrating_scale: [1, 5]\nna_codes: [9]\n"
        "touchpoints:\n  chat: {column: q_chat, stage: support}\n")
    s = load_study(tmp_path)
    assert list(s.respondents.index[:3]) == ["1", "2", "3"] and len(s.respondents) == 50
    expected = survey["q_chat"].where(survey["q_chat"] != 9)
    assert np.allclose(s.ratings["chat"].to_numpy(), expected.to_numpy(), equal_nan=True)


def test_na_policy_defaults_to_indicator_and_is_validated(sample_copy):
    assert load_study(sample_copy).na == "indicator"
    _edit_yaml(sample_copy, lambda c: c.update(na="complete"))
    assert load_study(sample_copy).na == "complete"
    _edit_yaml(sample_copy, lambda c: c.update(na="drop"))
    _expect(sample_copy, "study.yaml", "na is 'drop'", "indicator, complete", "Fix:")
