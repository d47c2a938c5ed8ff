"""cx_helpers.readers: each survey tool's export, in its documented layout, read as text columns
with its labels, missing codes and exclusions."""

from __future__ import annotations

import exports
import numpy as np
import pandas as pd
import pytest

from cx_helpers import StudyError
from cx_helpers.readers import code_text, detect_format, read_export


def test_code_text():
    assert code_text(9.0) == "9"
    assert code_text(2.5) == "2.5"
    assert code_text(float("nan")) is None
    assert code_text("  ") is None
    assert code_text(np.int64(4)) == "4"
    assert code_text(pd.Timestamp("2025-03-01")) == "2025-03-01"


@pytest.mark.parametrize("zsav", [False, True])
def test_spss_labels_missing_codes_and_ranges(tmp_path, zsav):
    path = exports.spss(tmp_path / ("s.zsav" if zsav else "s.sav"), zsav=zsav)
    assert detect_format(path) == "spss"
    e = read_export(path)
    assert e.format == "spss" and len(e.table) == exports.N
    assert all(str(t) == "string" for t in e.table.dtypes)
    # codes stay codes, as text without ".0"; user-missing codes are kept in the data
    assert list(e.table["q_staff"][:4]) == ["8", "8", "8", "9"]
    assert list(e.table["q_app"][4:6]) == ["6", "6"]
    assert e.table["resp_id"].iloc[0] == "101"
    # the missing range 8-9 and the discrete missing value 6
    assert e.missing_ranges["q_staff"] == [(8.0, 9.0)]
    assert e.missing["q_staff"] == ["8", "9"]
    assert e.missing["q_app"] == ["6"]
    assert "q_price" not in e.missing
    assert e.labels["q_app"] == "Satisfaction with: The app"
    assert e.value_labels["q_staff"]["9"] == "Refused"
    assert e.value_labels["region"] == {"1": "North", "2": "South", "3": "East"}
    assert list(e.labelled("region")[:3]) == [
        e.value_labels["region"][c] for c in e.table["region"][:3]]
    assert set(e.text_columns) == {"comments", "email"}
    assert e.table["comments"].isna().sum() == exports.N // 3  # blank text is missing


def test_spss_drop_never_reads_the_columns(tmp_path):
    e = read_export(exports.spss(tmp_path / "s.sav"), drop=["email", "comments"])
    assert "email" not in e.table.columns and "comments" not in e.table.columns
    assert "email" in e.header


def test_stata(tmp_path):
    e = read_export(exports.stata(tmp_path / "s.dta"))
    assert e.format == "stata" and len(e.table) == exports.N
    assert e.labels["sat_call"] == "Rating: Call centre"
    assert e.value_labels["sat_web"]["5"] == "Very good"
    assert e.table["id"].iloc[-1] == str(exports.N)


@pytest.mark.parametrize("numeric", [False, True])
def test_qualtrics_three_header_rows_and_exclusions(tmp_path, numeric):
    path = exports.qualtrics(tmp_path / "q.csv", numeric=numeric)
    assert detect_format(path) == "qualtrics"
    e = read_export(path)
    assert e.format == "qualtrics"
    assert e.excluded == {"survey preview": 2, "survey test": 1, "spam": 1, "unfinished": 3}
    assert len(e.table) == exports.N
    assert e.table["ResponseId"].iloc[0] == f"R_{7:015d}"  # the first real response
    # row 2 (question text) became labels, row 3 (ImportId JSON) is not data
    assert e.labels["Q2_2"] == "How satisfied were you with... - Returns"
    assert not e.table.apply(lambda s: s.str.startswith('{"ImportId"').any()).any()
    assert any("left out" in n for n in e.notes)
    if numeric:
        assert set(e.table["Q2_1"].dropna()) <= {"1", "2", "3", "4", "5"}
    else:
        assert "Somewhat satisfied" in set(e.table["Q2_1"])


def test_qualtrics_all_excluded_is_refused(tmp_path):
    path = tmp_path / "q.csv"
    lines = ["StartDate,Status,Finished,Q1", "Start Date,Response Type,Finished,Q1?",
             '{"ImportId":"startDate"},{"ImportId":"status"},{"ImportId":"finished"},'
             '{"ImportId":"QID1"}', "2025-01-01,Survey Preview,True,5"]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(StudyError, match="empty.*previews"):
        read_export(path)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_surveymonkey_two_header_rows(tmp_path, kind):
    path = (exports.surveymonkey_csv(tmp_path / "sm.csv") if kind == "csv"
            else exports.surveymonkey_xlsx(tmp_path / "sm.xlsx"))
    assert detect_format(path) == "surveymonkey"
    e = read_export(path)
    assert e.format == "surveymonkey" and len(e.table) == exports.N
    cols = list(e.table.columns)
    assert cols[:9] == ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address",
                        "Email Address", "First Name", "Last Name", "Custom Data 1"]
    # a question in one column is q<n>; a matrix spreads over q<n>_1.. with row labels
    assert cols[9:] == ["q1", "q2_1", "q2_2", "q2_3", "q3", "q4_1", "q4_2", "q4_3", "q5"]
    assert e.labels["q2_2"] == "How satisfied are you with each of the following?: Delivery"
    assert e.labels["q1"].startswith("How likely is it")
    assert e.table["Respondent ID"].iloc[0] == "11000000000"
    assert e.table["q4_1"].isna().sum() == exports.N // 2  # unselected options are blank


def test_excel_named_sheet_and_title_row(tmp_path):
    path = exports.excel_with_title(tmp_path / "x.xlsx")
    e = read_export(path, sheet="Data")
    assert e.format == "excel" and len(e.table) == exports.N
    assert list(e.table.columns)[:2] == ["customer_id", "q_website"]
    assert e.table["q_website"].iloc[0] == "9" and e.table["customer_id"].iloc[1] == "C0001"
    assert any("header on row 3" in n and "Customer survey" in n for n in e.notes)
    # the first sheet is the notes sheet: no table there
    with pytest.raises(StudyError, match="empty.*on sheet 'Notes'.*sheet:"):
        read_export(path)  # the first sheet holds only a note
    with pytest.raises(StudyError, match="no sheet named 'Dat'.*Notes, Data"):
        read_export(path, sheet="Dat")


def test_csv_sniffs_delimiter_and_encoding(tmp_path):
    e = read_export(exports.csv_semicolon_cp1252(tmp_path / "fr.csv"))
    assert e.format == "csv"
    assert e.options == {"encoding": "cp1252", "delimiter": ";"}
    assert "cp1252 text, semicolon-separated" in e.notes[0]
    assert set(e.table["ville"]) == {"Liège", "Nîmes", "Metz"}
    assert len(e.table) == exports.N


def test_plain_csv_wider_rows_and_duplicates_refused(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(StudyError, match="row 2.*more cells"):
        read_export(p)
    p.write_text("a,a\n1,2\n")
    with pytest.raises(StudyError, match="duplicate column names"):
        read_export(p)
    with pytest.raises(StudyError, match="unknown format 'sas'"):
        read_export(p, "sas")


def test_corrupt_spss_is_refused(tmp_path):
    p = tmp_path / "bad.sav"
    p.write_bytes(b"$FL2" + b"\x00" * 40)
    with pytest.raises(StudyError, match="cannot be read as an SPSS"):
        read_export(p)


def test_real_spss_file(examples):
    e = read_export(examples / "mobile-nps-spss" / "Mobiles_feedback_4_weeks.sav")
    assert len(e.table) == 895 and len(e.header) == 28
    assert e.labels["Q8"] == "Likelihood to recommend"
    assert all(e.missing[f"Q12_{k}"] == ["6"] for k in range(1, 7))
    assert e.value_labels["Q12_1"]["6"] == "Don't know"
    assert set(e.text_columns) == {"Q9", "Q10"}


def test_qualtrics_as_excel(tmp_path):
    path = exports.qualtrics_xlsx(tmp_path / "q.xlsx")
    assert detect_format(path) == "qualtrics"
    e = read_export(path)
    assert e.format == "qualtrics" and len(e.table) == exports.N
    assert e.excluded == {"survey preview": 2, "survey test": 1, "spam": 1, "unfinished": 3}


def test_utf16_tab_separated(tmp_path):
    e = read_export(exports.excel_unicode_text(tmp_path / "u.txt"))
    assert e.options == {"encoding": "utf-16", "delimiter": "\t"}
    assert "Süd" in set(e.table["Region"]) and len(e.table) == exports.N
