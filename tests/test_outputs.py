"""CSV files the suite writes are safe to open in a spreadsheet (no formula injection)."""

import csv

import numpy as np
import pandas as pd

from cx_helpers.outputs import FORMULA_START, RunOutput, escape_formulas


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
