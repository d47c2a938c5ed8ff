"""CSV files the suite writes are safe to open in a spreadsheet (no formula injection)."""

import csv

import numpy as np
import pandas as pd
import pytest

from cx_helpers.outputs import FORMULA_START, RunOutput, escape_formulas, write_csv


def test_text_cells_that_start_a_formula_are_escaped(tmp_path):
    labels = ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "plain",
              "a=b", None]
    df = pd.DataFrame({"label": labels, "value": np.arange(len(labels)) - 3.5})
    RunOutput(tmp_path).table(df, "t")
    with open(tmp_path / "tables" / "t.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["label", "value"]
    cells = [r[0] for r in rows[1:]]
    for original, written in zip(labels, cells):
        if original is None:
            assert written == ""
        elif original.startswith(FORMULA_START):
            assert written == "'" + original.replace("\r", "\n")
        else:
            assert written == original
    # numbers stay numbers, negative ones included
    assert [float(r[1]) for r in rows[1:]] == list(df["value"])


def test_column_names_and_index_are_escaped_and_input_untouched():
    df = pd.DataFrame({"=x": ["-a"], "n": [1]}, index=pd.Index(["@i"], name="k"))
    out = escape_formulas(df)
    assert list(out.columns) == ["'=x", "n"]
    assert out.index[0] == "'@i"
    assert out.iloc[0, 0] == "'-a"
    assert df.iloc[0, 0] == "-a" and list(df.columns) == ["=x", "n"]


def test_string_dtype_column_is_escaped(tmp_path):
    df = pd.DataFrame({"segment": pd.array(["=1+1", "East"], dtype="string")})
    RunOutput(tmp_path).table(df, "s")
    text = (tmp_path / "tables" / "s.csv").read_text()
    assert text == "segment\n'=1+1\nEast\n"


@pytest.mark.parametrize("times, zone", [
    (["2026-01-01 10:00:00", "2026-01-01 10:00:00.5", None, "2026-03-29 01:30:00.000123"], "UTC"),
    (["2026-01-01 10:00:00", "2026-01-01 11:00:00"], "UTC"),
    (["2026-01-01", "2026-01-02"], "UTC"),
    (["2026-03-29 00:30:00", "2026-03-29 01:30:00", "2026-10-25 00:59:59"], "Europe/Paris"),
    (["2026-01-01 10:00:00"], "America/St_Johns"),
    ([None, None], "UTC"),
])
def test_zoned_times_are_written_as_pandas_writes_them(tmp_path, times, zone):
    """The column-at-a-time formatting of zoned times gives pandas' own text, byte for byte."""
    values = pd.Series(pd.to_datetime(times, format="ISO8601", utc=True)).dt.tz_convert(zone)
    df = pd.DataFrame({"when": values, "n": range(len(values))})
    path = write_csv(df, tmp_path / "t.csv")
    assert path.read_text() == df.to_csv(index=False, float_format="%.6g", lineterminator="\n")


def test_text_columns_escape_as_cell_by_cell():
    """The column-at-a-time escape of text columns gives what the cell-by-cell one gives."""
    cells = ["=1+1", "-rude", "fine", None, "a\r\nb", "c\rd", "\tx", "@me", "+31", "'quoted"]
    df = pd.DataFrame({"as_text": pd.Series(cells, dtype="string"),
                       "as_objects": pd.Series(cells, dtype=object)})
    out = escape_formulas(df)
    as_text, as_objects = ([None if pd.isna(v) else v for v in out[c]] for c in out.columns)
    assert as_text == as_objects
    assert as_text[:5] == ["'=1+1", "'-rude", "fine", None, "a\nb"]
