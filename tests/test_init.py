"""`cx init`: each survey tool's export, in its documented layout, drafted into a study that loads
without edits, with the right roles, scales, not-applicable codes and values."""

from __future__ import annotations

import re

import exports
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import EXAMPLES, FAST, cx

from cx_helpers import load_study
from cx_helpers.drafting import classify, draft_study, scale_order
from cx_helpers.readers import read_export

SPSS_EXAMPLE = EXAMPLES / "mobile-nps-spss"


def _roles(draft):
    return {c.name: c.role for c in draft.columns}


def _rating(study, column):
    """The loaded rating of the touchpoint asked in ``column``."""
    tp = study.catalog.set_index("column").loc[column, "touchpoint"]
    return study.ratings[tp].to_numpy()


def test_scale_order():
    assert scale_order(["Satisfied", "Very dissatisfied", "Neither satisfied nor dissatisfied",
                        "Very satisfied", "Dissatisfied"]) == {
        "Very dissatisfied": 1, "Dissatisfied": 2, "Neither satisfied nor dissatisfied": 3,
        "Satisfied": 4, "Very satisfied": 5}
    assert scale_order(["Agree", "Strongly disagree", "Neutral", "Strongly agree",
                        "Disagree"])["Strongly agree"] == 5
    assert list(scale_order(["Good", "Poor", "Excellent", "Fair", "Very good"])) == [
        "Poor", "Fair", "Good", "Very good", "Excellent"]
    assert scale_order(["Very easy", "Difficult", "Very difficult", "Easy"]) == {
        "Very difficult": 1, "Difficult": 2, "Easy": 3, "Very easy": 4}
    assert scale_order(["0 - Not at all likely", "5", "10 - Extremely likely"]) == {
        "0 - Not at all likely": 0, "5": 5, "10 - Extremely likely": 10}
    assert scale_order(["North", "South", "East"]) is None
    assert scale_order(["Satisfied", "Very satisfied", "Extremely satisfied"]) is None  # one pole


def test_spss_draft_roles_and_load(tmp_path):
    src = exports.spss(tmp_path / "survey.sav")
    draft = draft_study(src, tmp_path / "study")
    roles = _roles(draft)
    assert roles == {"resp_id": "id", "q_staff": "rating", "q_app": "rating",
                     "q_price": "rating", "q_nps": "recommend", "region": "segment",
                     "comments": "free text", "email": "personal data"}
    cols = {c.name: c for c in draft.columns}
    assert cols["q_staff"].scale == (1, 5) and cols["q_staff"].na_codes == [8, 9]
    assert cols["q_app"].na_codes == [6] and cols["q_price"].na_codes == []
    text = (tmp_path / "study" / "study.yaml").read_text()
    assert text.startswith("# Drafted by `cx init`") and "CONFIRM:" in text.splitlines()[1]
    config = yaml.safe_load(text)
    assert config["pii"] == ["comments", "email"]
    assert config["outcomes"]["ltr"] == {"column": "q_nps", "kind": "nps",
                                         "label": "How likely are you to recommend us to a "
                                                  "friend?"}
    assert config["touchpoints"]["q_app"]["label"] == "The app"
    assert config["touchpoints"]["q_app"]["stage"] == "Satisfaction with"

    study = load_study(tmp_path / "study")
    raw = read_export(src).table
    staff = _rating(study, "q_staff")
    assert np.isnan(staff[:4]).all()  # 8 Not applicable, 9 Refused: missing, not scores
    assert (staff[4:] == raw["q_staff"][4:].astype(float).to_numpy()).all()
    assert np.isnan(_rating(study, "q_app")[4:6]).all()
    assert (study.respondents["ltr"].to_numpy() == raw["q_nps"].astype(float).to_numpy()).all()
    # the segment shows its value labels, not its codes
    assert set(study.respondents["region"]) == {"North", "South", "East"}
    assert list(study.respondents.index[:2]) == ["101", "102"]
    assert "comments" not in study.frame().columns and "email" not in study.frame().columns


def test_stata_draft_loads(tmp_path):
    draft = draft_study(exports.stata(tmp_path / "s.dta"), tmp_path / "study")
    assert _roles(draft) == {"id": "id", "sat_web": "rating", "sat_call": "rating",
                             "nps": "recommend", "region": "segment"}
    study = load_study(tmp_path / "study")
    a, b, c, ltr, region = exports._survey(seed=11)
    assert (_rating(study, "sat_web") == a).all() and (study.respondents["ltr"] == ltr).all()
    assert list(study.respondents["region"]) == list(region)


def test_qualtrics_choice_text_and_numeric_give_the_same_study(tmp_path):
    studies = {}
    for numeric in (False, True):
        name = "num" if numeric else "text"
        src = exports.qualtrics(tmp_path / f"{name}.csv", numeric=numeric)
        draft = draft_study(src, tmp_path / name)
        roles = _roles(draft)
        assert roles["Q1"] == "recommend" and roles["Q3"] == "segment"
        assert {roles[q] for q in ("Q2_1", "Q2_2", "Q2_3")} == {"rating"}
        assert roles["Q4"] == "free text" and roles["ResponseId"] == "id"
        assert {roles[c] for c in ("IPAddress", "RecipientEmail", "LocationLatitude")} == {
            "personal data"}
        config = yaml.safe_load((tmp_path / name / "study.yaml").read_text())
        assert config["tables"]["survey"]["format"] == "qualtrics"
        assert "Q4" in config["pii"] and "IPAddress" in config["pii"]
        if not numeric:
            assert config["touchpoints"]["q2_1"]["values"] == {
                "Extremely dissatisfied": 1, "Somewhat dissatisfied": 2,
                "Neither satisfied nor dissatisfied": 3, "Somewhat satisfied": 4,
                "Extremely satisfied": 5}
        studies[name] = load_study(tmp_path / name)
        assert any("2 survey preview, 1 survey test, 1 spam, 3 unfinished; 60 responses kept"
                   in w for w in studies[name].warnings)
    text, num = studies["text"], studies["num"]
    a, b, c, ltr, region = exports._survey(seed=3)
    order = [(i + 7) % exports.N for i in range(exports.N)]  # the rows kept, in file order
    for study in (text, num):
        assert len(study.respondents) == exports.N
        assert (_rating(study, "Q2_1") == a[order]).all()
        assert (_rating(study, "Q2_3") == c[order]).all()
        assert (study.respondents["ltr"].to_numpy() == ltr[order]).all()


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_surveymonkey_draft_loads(tmp_path, kind):
    src = (exports.surveymonkey_csv(tmp_path / "sm.csv") if kind == "csv"
           else exports.surveymonkey_xlsx(tmp_path / "sm.xlsx"))
    draft = draft_study(src, tmp_path / "study")
    roles = _roles(draft)
    assert roles["q1"] == "recommend" and roles["q3"] == "segment"
    assert [roles[f"q2_{k}"] for k in (1, 2, 3)] == ["rating"] * 3
    assert roles["q5"] == "free text" and roles["Respondent ID"] == "id"
    study = load_study(tmp_path / "study")
    a, b, c, ltr, region = exports._survey(seed=9)
    assert (_rating(study, "q2_1") == a).all() and (_rating(study, "q2_2") == b).all()
    assert (study.respondents["ltr"] == ltr).all()
    assert set(study.catalog["label"]) == {"Ordering online", "Delivery", "Billing"}


def test_excel_title_row_and_standalone_na_code(tmp_path):
    src = exports.excel_with_title(tmp_path / "x.xlsx")
    draft = draft_study(src, tmp_path / "study", sheet="Data")
    cols = {c.name: c for c in draft.columns}
    assert cols["q_website"].scale == (1, 5) and cols["q_website"].na_codes == [9]
    assert cols["customer_id"].role == "id" and cols["q_recommend"].role == "recommend"
    config = yaml.safe_load((tmp_path / "study" / "study.yaml").read_text())
    assert config["tables"]["survey"]["sheet"] == "Data"
    study = load_study(tmp_path / "study")
    web = _rating(study, "q_website")
    assert np.isnan(web[::10]).all() and not np.isnan(np.delete(web, range(0, 60, 10))).any()


def test_csv_semicolon_cp1252(tmp_path):
    draft_study(exports.csv_semicolon_cp1252(tmp_path / "fr.csv"), tmp_path / "study")
    config = yaml.safe_load((tmp_path / "study" / "study.yaml").read_text())
    assert config["tables"]["survey"] | {} == {"path": "fr.csv", "format": "csv",
                                               "delimiter": ";", "encoding": "cp1252",
                                               "id": "id"}
    study = load_study(tmp_path / "study")
    assert set(study.respondents["ville"]) == {"Liège", "Nîmes", "Metz"}


def test_plain_csv_needs_no_format_key(tmp_path, sample_dir):
    src = tmp_path / "survey.csv"
    src.write_bytes((sample_dir / "survey.csv").read_bytes())
    draft = draft_study(src, tmp_path / "study")
    roles = _roles(draft)
    assert roles["email"] == "personal data" and roles["full_name"] == "personal data"
    assert roles["q_recommend"] == "recommend" and roles["respondent_id"] == "id"
    assert {c.na_codes[0] for c in draft.columns if c.name.startswith("q_") and c.na_codes} \
        == {9}
    config = yaml.safe_load((tmp_path / "study" / "study.yaml").read_text())
    assert "format" not in config["tables"]["survey"]
    load_study(tmp_path / "study")


def test_init_refuses_an_existing_study(tmp_path, sample_dir):
    res = cx("init", exports.stata(tmp_path / "s.dta"), "--out", sample_dir)
    assert res.returncode == 2 and "already holds a study.yaml" in res.stderr


def test_real_spss_draft(tmp_path):
    """The worked example's file: what `cx init` proposes, and that it loads as drafted."""
    res = cx("init", SPSS_EXAMPLE / "Mobiles_feedback_4_weeks.sav", "--out", tmp_path / "m")
    assert res.returncode == 0, res.stderr
    assert "read Mobiles_feedback_4_weeks.sav as spss: 895 responses, 28 columns" in res.stdout
    assert "6 = Don't know (Q12_1, Q12_2, Q12_3, ...: 6 items)" in res.stdout
    config = yaml.safe_load((tmp_path / "m" / "study.yaml").read_text())
    assert config["pii"] == ["Q9", "Q10"]
    assert config["outcomes"] == {"ltr": {"column": "Q8", "kind": "nps",
                                          "label": "Likelihood to recommend"}}
    assert [t["column"] for t in config["touchpoints"].values()] == \
        [f"Q11_{k}" for k in (1, 2, 3)] + [f"Q12_{k}" for k in range(1, 7)]
    assert all(config["touchpoints"][f"q12_{k}"]["na_codes"] == [6] for k in range(1, 7))
    assert "Q7" in config["segments"]
    study = load_study(tmp_path / "m")
    raw = read_export(SPSS_EXAMPLE / "Mobiles_feedback_4_weeks.sav").table
    dk = raw["Q12_5"] == "6"
    assert int(dk.sum()) > 0 and study.ratings["q12_5"][dk.to_numpy()].isna().all()
    assert "T-Mobile" in set(study.respondents["Q7"])


def test_bundled_example_is_the_draft_plus_confirmed_edits(tmp_path):
    """data/examples/mobile-nps-spss/study.yaml differs from `cx init`'s draft only by the
    edits its comments mark as confirmed."""
    draft_study(SPSS_EXAMPLE / "Mobiles_feedback_4_weeks.sav", tmp_path / "mobile-nps-spss")
    drafted = yaml.safe_load((tmp_path / "mobile-nps-spss" / "study.yaml").read_text())
    bundled = yaml.safe_load((SPSS_EXAMPLE / "study.yaml").read_text())
    assert bundled["touchpoints"].keys() == drafted["touchpoints"].keys()
    for key, spec in drafted["touchpoints"].items():
        assert {k: v for k, v in bundled["touchpoints"][key].items() if k != "label"} == \
            {k: v for k, v in spec.items() if k != "label"}
    assert bundled["outcomes"] == drafted["outcomes"]
    assert bundled["pii"] == drafted["pii"]
    assert set(bundled["segments"]) <= set(drafted["segments"])
    load_study(SPSS_EXAMPLE)


@pytest.mark.slow
def test_spss_example_report_without_free_text(tmp_path):
    """`cx run` on the worked example: a full report, and no open answer anywhere in it."""
    out = tmp_path / "run"
    res = cx("run", SPSS_EXAMPLE, "--out", out, "--quiet", *FAST)
    assert res.returncode == 0, res.stderr[-3000:]
    html = (out / "report.html").read_text()
    assert "Likelihood to recommend" in html
    raw = read_export(SPSS_EXAMPLE / "Mobiles_feedback_4_weeks.sav").table
    answers = pd.concat([raw["Q9"], raw["Q10"]]).dropna().astype(str).str.strip()
    long = [a for a in answers.unique() if len(a) >= 25]  # distinctive answers
    assert len(long) > 100
    texts = [html] + [p.read_text() for p in (out / "tables").glob("*.csv")]
    for text in texts:
        assert not any(a in text for a in long)
    assert not re.search(r"\bQ9\b|\bQ10\b", html)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["qualtrics", "surveymonkey"])
def test_drafted_export_runs(tmp_path, kind):
    """A draft of a built export runs to a report without edits."""
    src = (exports.qualtrics(tmp_path / "q.csv") if kind == "qualtrics"
           else exports.surveymonkey_xlsx(tmp_path / "sm.xlsx"))
    res = cx("init", src, "--out", tmp_path / "study")
    assert res.returncode == 0, res.stderr
    res = cx("run", tmp_path / "study", "--out", tmp_path / "run", "--quiet", *FAST)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / "run" / "report.html").is_file()


def test_classify_without_labels_uses_values():
    """A plain table: roles from the values alone."""
    rng = np.random.default_rng(1)
    n = 80
    table = pd.DataFrame({
        "rid": [str(i) for i in range(n)],
        "sat_store": rng.integers(1, 8, n).astype(str),
        "recommend": rng.integers(0, 11, n).astype(str),
        "renewed": rng.choice(["yes", "no"], n),
        "plan": rng.choice(["basic", "plus", "max"], n),
        "visit_date": pd.date_range("2025-01-01", periods=n).strftime("%Y-%m-%d"),
        "why": [f"because reason number {i} applies to me" for i in range(n)],
        "weight": (rng.random(n) + 0.5).round(3).astype(str),
    }).astype("string")
    from cx_helpers.readers import Export
    cols = {c.name: c for c in classify(Export(table=table, format="csv", path=None,
                                               header=list(table.columns)))}
    assert {k: c.role for k, c in cols.items()} == {
        "rid": "id", "sat_store": "rating", "recommend": "recommend", "renewed": "yes/no",
        "plan": "segment", "visit_date": "date", "why": "free text", "weight": "weight"}
    assert cols["sat_store"].scale == (1, 7) and cols["renewed"].positive == "yes"


def test_init_reports_what_it_left_out(tmp_path):
    res = cx("init", exports.qualtrics(tmp_path / "q.csv"), "--out", tmp_path / "study")
    assert res.returncode == 0, res.stderr
    assert "read q.csv as qualtrics: 60 responses, 23 columns" in res.stdout
    assert "left out: 2 survey preview, 1 survey test, 1 spam, 3 unfinished; 60 responses " \
           "kept" in res.stdout
    assert "the order of text scales (values:)" in res.stdout


def test_utf16_tab_separated_draft_loads(tmp_path):
    draft_study(exports.excel_unicode_text(tmp_path / "u.txt"), tmp_path / "study")
    config = yaml.safe_load((tmp_path / "study" / "study.yaml").read_text())
    survey = config["tables"]["survey"]
    assert (survey["format"], survey["delimiter"], survey["encoding"]) == ("csv", "\t", "utf-16")
    study = load_study(tmp_path / "study")
    a, b, c, ltr, region = exports._survey(seed=41)
    assert (_rating(study, "Zufriedenheit Beratung") == a).all()
    assert "Süd" in set(study.respondents["Region"])


@pytest.mark.parametrize("build", ["spss", "stata", "qualtrics", "surveymonkey_csv",
                                   "excel_with_title", "csv_semicolon_cp1252"])
def test_every_draft_passes_the_json_schema(tmp_path, build):
    import jsonschema

    from cx_helpers.schema import json_schema

    suffix = {"spss": ".sav", "stata": ".dta", "excel_with_title": ".xlsx"}.get(build, ".csv")
    src = getattr(exports, build)(tmp_path / f"export{suffix}")
    draft_study(src, tmp_path / "study", sheet="Data" if build == "excel_with_title" else None)
    config = yaml.safe_load((tmp_path / "study" / "study.yaml").read_text())
    jsonschema.validate(config, json_schema(), cls=jsonschema.Draft202012Validator)


def test_unlabelled_real_csvs_draft_and_load(tmp_path):
    """Real CSVs without labels: items grouped by their names' blocks, outcomes by name (ECSI
    0-100 scores as continuous outcomes; the bank's 0-10 items as ordinal ones)."""
    draft = draft_study(EXAMPLES / "ecsi-mobile" / "mobile.csv", tmp_path / "ecsi")
    config = yaml.safe_load((tmp_path / "ecsi" / "study.yaml").read_text())
    assert list(config["outcomes"]) == ["sat1", "sat2", "sat3", "loy1", "loy2", "loy3"]
    assert {o["kind"] for o in config["outcomes"].values()} == {"continuous"}
    assert config["touchpoints"]["qua7"] == {"column": "qua7", "label": "qua7", "stage": "qua",
                                             "scale": [0, 100]}
    assert config["stages"] == ["ima", "exp", "qua", "val", "survey"]
    assert len(load_study(tmp_path / "ecsi").catalog) == 18
    assert "format" not in config["tables"]["survey"] and draft.export.format == "csv"
    draft_study(EXAMPLES / "bank-satisfaction" / "satisfaction.csv", tmp_path / "bank")
    config = yaml.safe_load((tmp_path / "bank" / "study.yaml").read_text())
    assert list(config["outcomes"]) == [f"{b}{k}" for b in ("sat", "loy") for k in range(1, 5)]
    assert {o["kind"] for o in config["outcomes"].values()} == {"ordinal"}
    assert config["segments"] == ["gender"]
    assert len(load_study(tmp_path / "bank").catalog) == 19
