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


# ----------------------------------------------------------------------------------------------
# text-coded outcomes and scales: positive:, values:, text na_codes
# ----------------------------------------------------------------------------------------------

LABELS = {"Very dissatisfied": 1, "Dissatisfied": 2, "Neither": 3, "Satisfied": 4,
          "Very satisfied": 5}


def _mini(folder, survey, config):
    """A small study: ``survey`` (a DataFrame of text) and a config dict, written as exported."""
    folder.mkdir(parents=True, exist_ok=True)
    survey.to_csv(folder / "survey.csv", index=False)
    base = {"name": "mini", "tables": {"survey": {"path": "survey.csv", "id": "rid"}},
            "stages": ["service"]}
    base.update(config)
    (folder / "study.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    return folder


def _airline_like(n=400, seed=3):
    """The real export's shape: satisfaction as 'satisfied' / 'neutral or dissatisfied'."""
    rng = np.random.default_rng(seed)
    seat = rng.integers(0, 6, n).astype(str)                 # 0 means 'not applicable' there
    sat = np.where(rng.random(n) < 0.45, "satisfied", "neutral or dissatisfied").astype(object)
    sat[rng.random(n) < 0.05] = ""                           # a few blanks
    sat[:3] = [" Satisfied ", "NEUTRAL OR DISSATISFIED", "n/a"]  # spacing, case, a text NA code
    return pd.DataFrame({"rid": [f"P{i}" for i in range(n)], "seat": seat, "satisfaction": sat})


def test_text_binary_outcome_with_positive(tmp_path):
    df = _airline_like()
    folder = _mini(tmp_path / "s", df, {
        "touchpoints": {"seat": {"column": "seat", "stage": "service", "scale": [1, 5],
                                 "na_codes": [0]}},
        "outcomes": {"satisfied": {"column": "satisfaction", "kind": "binary",
                                   "positive": "satisfied", "na_codes": ["N/A"]}}})
    s = load_study(folder)
    # an independent recode, written out by hand
    recode = {"satisfied": 1.0, "neutral or dissatisfied": 0.0}
    expected = df["satisfaction"].str.strip().str.lower().map(recode)
    got = s.respondents["satisfied"].to_numpy()
    assert np.array_equal(got, expected.to_numpy(dtype=float), equal_nan=True)
    assert got[0] == 1 and got[1] == 0 and np.isnan(got[2])
    assert np.isnan(got[(df["satisfaction"] == "").to_numpy()]).all()
    assert np.nanmean(got) == pytest.approx((expected == 1).sum() / expected.notna().sum())
    seat = pd.to_numeric(df["seat"]).where(lambda x: x != 0)
    assert np.array_equal(s.ratings["seat"].to_numpy(), seat.to_numpy(dtype=float), equal_nan=True)


def test_binary_positive_list_and_numeric_na(tmp_path):
    answers = np.array(["Yes, definitely", "Yes, probably", "Not sure", "No", "99"])
    rng = np.random.default_rng(5)
    col = answers[rng.integers(0, 5, 300)]
    df = pd.DataFrame({"rid": range(300), "q": rng.integers(1, 6, 300), "again": col})
    folder = _mini(tmp_path / "s", df, {
        "rating_scale": [1, 5], "touchpoints": {"q": {"column": "q", "stage": "service"}},
        "outcomes": {"again": {"column": "again", "kind": "binary", "na_codes": [99],
                               "positive": ["Yes, definitely", "yes, PROBABLY"]}}})
    got = load_study(folder).respondents["again"]
    expected = np.select([np.isin(col, answers[:2]), col == "99"], [1.0, np.nan], 0.0)
    assert np.array_equal(got.to_numpy(), expected, equal_nan=True)


def test_binary_numeric_codes_with_positive(tmp_path):
    """Codes 1 = promoter-like yes, 2 = no, written as 1, 1.0 and 2 in one export."""
    df = pd.DataFrame({"rid": range(6), "q": [1, 2, 3, 4, 5, 1],
                       "renew": ["1", "2", "1.0", "2", "", "2"]})
    folder = _mini(tmp_path / "s", df, {
        "rating_scale": [1, 5], "touchpoints": {"q": {"column": "q", "stage": "service"}},
        "outcomes": {"renew": {"column": "renew", "kind": "binary", "positive": 1}}})
    got = load_study(folder).respondents["renew"].to_numpy()
    assert np.array_equal(got, [1, 0, 1, 0, np.nan, 0], equal_nan=True)


def test_text_ordinal_scales_via_values(tmp_path):
    rng = np.random.default_rng(7)
    n = 250
    names = np.array(list(LABELS))
    overall = names[rng.integers(0, 5, n)].astype(object)
    overall[::17] = "4"                                   # numbers still pass through
    chat = names[rng.integers(0, 5, n)].astype(object)
    chat[::11] = "Don't know"
    chat[::13] = "N/A"
    phone = np.array(["Poor", "Fair", "Good", "Excellent"])[rng.integers(0, 4, n)]
    jr = names[rng.integers(0, 5, n)]
    df = pd.DataFrame({"rid": range(n), "chat": chat, "phone": phone, "journey": jr,
                       "overall": overall})
    folder = _mini(tmp_path / "s", df, {
        "rating_scale": [1, 5], "values": LABELS, "na_codes": ["n/a", "DON'T KNOW"],
        "touchpoints": {
            "chat": {"column": "chat", "stage": "service"},
            "phone": {"column": "phone", "stage": "service", "scale": [1, 4],
                      "values": {"Poor": 1, "Fair": 2, "Good": 3, "Excellent": 4}}},
        "outcomes": {"overall": {"column": "overall", "kind": "ordinal", "scale": [1, 5],
                                 "values": LABELS}},
        "journeys": {"declared": {"care": {"touchpoints": ["chat", "phone"],
                                           "rating": "journey"}}}})
    s = load_study(folder)

    def recode(values, table, na=()):
        return np.array([np.nan if v in na else table.get(v, np.nan) if v in table else float(v)
                         for v in values])
    assert np.array_equal(s.ratings["chat"], recode(chat, LABELS, ("Don't know", "N/A")),
                          equal_nan=True)
    assert np.array_equal(s.ratings["phone"],
                          recode(phone, {"Poor": 1, "Fair": 2, "Good": 3, "Excellent": 4}))
    assert np.array_equal(s.journey_ratings["care"], recode(jr, LABELS))
    assert np.array_equal(s.respondents["overall"], recode(overall, LABELS))
    assert s.ratings["chat"].isna().sum() == len(set(range(0, n, 11)) | set(range(0, n, 13)))


def test_unmapped_text_lists_values_rows_and_fix(tmp_path):
    df = pd.DataFrame({"rid": range(6), "q": ["Very satisfied", "Satisfied", "Meh", "4", "meh",
                                              "Superb"]})
    folder = _mini(tmp_path / "s", df, {
        "rating_scale": [1, 5], "values": LABELS,
        "touchpoints": {"q": {"column": "q", "stage": "service"}}})
    err = _expect(folder, "survey.csv", "column 'q'", "rows 3, 5, 6", "text not in values:",
                  "'Meh'", "'meh'", "'Superb'", "Fix: add each label", "na_codes")
    assert err.rows == [3, 5, 6]


def test_text_without_values_points_to_values(tmp_path):
    df = pd.DataFrame({"rid": range(3), "q": ["5", "Very satisfied", "3"]})
    folder = _mini(tmp_path / "s", df, {
        "rating_scale": [1, 5], "touchpoints": {"q": {"column": "q", "stage": "service"}}})
    _expect(folder, "survey.csv", "column 'q'", "row 2", "'Very satisfied'", "values:")


@pytest.mark.parametrize("mapping, fragment", [
    ({"Good": 7}, "maps 'Good' to 7, which is not on the scale"),
    ({"Good": "high"}, "maps 'Good' to 'high', which is not a number"),
    ({"Good": 4, "GOOD ": 5}, "lists 'GOOD ' twice"),
    (["Good", "Bad"], "values must map each text label to a number"),
])
def test_bad_values_mapping(tmp_path, mapping, fragment):
    df = pd.DataFrame({"rid": range(3), "q": ["Good", "4", "Good"]})
    folder = _mini(tmp_path / "s", df, {
        "touchpoints": {"q": {"column": "q", "stage": "service", "scale": [1, 5],
                              "values": mapping}}})
    _expect(folder, "study.yaml", "touchpoint 'q'", fragment)


def test_ordinal_outcome_values_must_be_whole_and_top_level_reported_once(tmp_path):
    df = pd.DataFrame({"rid": range(3), "a": ["Good", "Bad", "Good"], "b": ["Bad", "Bad", "Good"],
                       "o": ["Good", "Bad", "Good"]})
    folder = _mini(tmp_path / "s", df, {
        "rating_scale": [1, 5], "values": {"Good": 9, "Bad": 1},
        "touchpoints": {"a": {"column": "a", "stage": "service"},
                        "b": {"column": "b", "stage": "service"}},
        "outcomes": {"o": {"column": "o", "kind": "ordinal", "scale": [1, 5],
                           "values": {"Good": 4.5, "Bad": 1}}}})
    err = _expect(folder, "2 problems found", "values (top level): values maps 'Good' to 9",
                  "outcome 'o': values maps 'Good' to 4.5", "whole numbers from 1 to 5")
    assert len(err.problems) == 2


def test_positive_matching_nothing_names_the_values_seen(tmp_path):
    df = _airline_like(50)
    folder = _mini(tmp_path / "s", df, {
        "rating_scale": [0, 5], "touchpoints": {"seat": {"column": "seat", "stage": "service"}},
        "outcomes": {"sat": {"column": "satisfaction", "kind": "binary", "positive": "satisifed",
                             "na_codes": ["n/a"]}}})
    _expect(folder, "survey.csv", "column 'satisfaction'", "no value matches positive:",
            "'satisifed'", "'neutral or dissatisfied'", "'satisfied'", "Fix: set positive:")


def test_positive_matching_everything_is_refused(tmp_path):
    df = _airline_like(50)
    folder = _mini(tmp_path / "s", df, {
        "rating_scale": [0, 5], "touchpoints": {"seat": {"column": "seat", "stage": "service"}},
        "outcomes": {"sat": {"column": "satisfaction", "kind": "binary", "na_codes": ["n/a"],
                             "positive": ["satisfied", "neutral or dissatisfied"]}}})
    _expect(folder, "survey.csv", "column 'satisfaction'", "nobody means no",
            "both yes and no answers", "Fix:")


def test_text_binary_without_positive_suggests_it(tmp_path):
    df = _airline_like(50)
    folder = _mini(tmp_path / "s", df, {
        "rating_scale": [0, 5], "touchpoints": {"seat": {"column": "seat", "stage": "service"}},
        "outcomes": {"sat": {"column": "satisfaction", "kind": "binary"}}})
    err = _expect(folder, "survey.csv", "column 'satisfaction'", "not a yes/no value",
                  "'neutral or dissatisfied'", "positive:", "na_codes")
    assert 1 in err.rows and 2 in err.rows


def test_unquoted_yaml_yes_and_misplaced_keys(tmp_path):
    df = pd.DataFrame({"rid": range(4), "q": ["1", "2", "3", "4"], "b": ["yes", "no", "yes", "no"],
                       "o": ["1", "2", "3", "4"]})
    folder = tmp_path / "s"
    _mini(folder, df, {"rating_scale": [1, 5],
                       "touchpoints": {"q": {"column": "q", "stage": "service"}}})
    text = (folder / "study.yaml").read_text() + (
        "outcomes:\n"
        "  b: {column: b, kind: binary, positive: yes, values: {'yes': 1}}\n"
        "  o: {column: o, kind: ordinal, scale: [1, 5], positive: '4'}\n")
    (folder / "study.yaml").write_text(text)
    err = _expect(folder, "study.yaml", "positive holds true", "quote the code",
                  "outcome 'b' is binary: values: is for rating scales",
                  "outcome 'o' has kind ordinal: positive: is for binary outcomes")
    assert len(err.problems) == 3


def test_examples_validate_from_the_clone(examples):
    """The bundled worked examples load from the repository itself (no ../shared needed)."""
    for name, respondents, outcomes in (("bank-satisfaction", 250, {"sat", "loy", "recommend"}),
                                        ("ecsi-mobile", 250, {"satisfaction", "loyalty"})):
        s = load_study(examples / name)
        raw = pd.read_csv(examples / name / s.config["tables"]["survey"]["path"])
        assert len(s.respondents) == respondents == len(raw)
        assert set(s.outcome_specs) == outcomes
        assert all(p.resolve().is_relative_to((examples / name).resolve()) for p in s.inputs)
        for tp in s.rated_touchpoints:
            col = s.catalog.set_index("touchpoint").at[tp, "column"]
            assert np.allclose(s.ratings[tp].to_numpy(), raw[col].to_numpy())
    helpdesk = load_study(examples / "helpdesk-log")
    assert len(helpdesk.events) == 21348 and helpdesk.events["customer"].nunique() == 397


def test_personal_data_warnings_spare_dates_and_used_columns(tmp_path):
    n = 40
    df = pd.DataFrame({"rid": range(n), "q": [1, 2, 3, 4, 5] * 8,
                       "visit": [f"2019-07-{1 + i % 28:02d}" for i in range(n)],   # a date
                       "tel": [f"+44 20 7946 {i:04d}" for i in range(n)],
                       "contact": [f"p{i}@example.org" for i in range(n)],
                       "surname": ["Smith"] * n})
    folder = _mini(tmp_path / "s", df, {
        "rating_scale": [1, 5], "touchpoints": {"q": {"column": "q", "stage": "service"}}})
    warned = " ".join(load_study(folder).warnings)
    assert "column 'tel': it holds phone numbers" in warned
    assert "column 'contact': it holds e-mail addresses" in warned
    assert "column 'surname': its name suggests personal data" in warned
    assert "'visit'" not in warned and "'q'" not in warned and "'rid'" not in warned
    _edit_yaml(folder, lambda c: c.update(pii=["tel", "contact", "surname"]))
    s = load_study(folder)
    assert s.warnings == [] and not {"tel", "contact", "surname"} & set(s.frame().columns)


def test_outcome_direction_better_lower(sample_copy):
    from cx_helpers import StudyError, load_study

    text = (sample_copy / "study.yaml").read_text()
    text = text.replace("kind: binary, label: Churned}", "kind: binary, label: Churned, better: lower}")
    (sample_copy / "study.yaml").write_text(text)
    study = load_study(sample_copy)
    assert study.outcome_specs["churn"].higher_is_better is False
    assert study.outcome_specs["ltr"].higher_is_better is True
    (sample_copy / "study.yaml").write_text(text.replace("better: lower", "better: down"))
    with pytest.raises(StudyError, match="better"):
        load_study(sample_copy)


def test_a_study_shared_by_cx_run_is_taken_as_it_was_loaded(tmp_path, monkeypatch):
    """`cx run` shares the study it loaded with the kernels: `load_study` of the same folder
    and segment returns it without reading the tables (here: removed), anything else reads."""
    import shutil

    from cx_helpers.study import SHARED_STUDY_ENV, load_study, share_study
    from tests.conftest import SAMPLE

    folder = tmp_path / "study"
    shutil.copytree(SAMPLE, folder)
    loaded = load_study(folder, segment="plan=prepaid")
    share_study(loaded, folder, "plan=prepaid", tmp_path / "shared.pickle")
    monkeypatch.setenv(SHARED_STUDY_ENV, str(tmp_path / "shared.pickle"))
    (folder / "events.csv").unlink()
    again = load_study(folder, segment="plan=prepaid")
    pd.testing.assert_frame_equal(again.events, loaded.events)
    pd.testing.assert_frame_equal(again.respondents, loaded.respondents)
    # another segment of the same folder is read from its files (the events are gone now)
    with pytest.raises(StudyError, match="events.csv"):
        load_study(folder, segment="plan=premium")


def test_the_kernels_environment_shares_the_study_and_the_cores(tmp_path, monkeypatch):
    """`cx run` starts its kernels with the shared study and a share of the cores for the
    numerical libraries (a thread count the user set is kept); all restored afterwards."""
    import os
    from pathlib import Path

    from cx_helpers.runner import THREAD_VARIABLES, _kernel_environment
    from cx_helpers.study import SHARED_STUDY_ENV
    from tests.conftest import SAMPLE

    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")               # the user's own setting
    monkeypatch.delenv(SHARED_STUDY_ENV, raising=False)
    study = load_study(SAMPLE)
    with _kernel_environment(study, SAMPLE, None, threads=1):
        shared = Path(os.environ[SHARED_STUDY_ENV])
        assert shared.is_file()
        assert os.environ["OPENBLAS_NUM_THREADS"] == os.environ["NUMBA_NUM_THREADS"] == "1"
        assert os.environ["OMP_NUM_THREADS"] == "3"
        pd.testing.assert_frame_equal(load_study(SAMPLE).ratings, study.ratings)
    assert SHARED_STUDY_ENV not in os.environ and not shared.exists()
    assert "OPENBLAS_NUM_THREADS" not in os.environ and os.environ["OMP_NUM_THREADS"] == "3"
