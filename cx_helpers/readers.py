"""Survey exports as the survey tools write them: SPSS, Stata, Qualtrics, SurveyMonkey, Excel, CSV.

:func:`read_export` returns an :class:`Export`: the data as text columns (what the study loader
expects: codes stay codes, blanks are missing) plus what the file says about itself: variable
labels (question texts), value labels (code -> label), declared missing codes, the rows left out
(Qualtrics previews, tests, spam, unfinished responses) and notes on how the file was read
(encoding, delimiter, sheet, header row). :func:`detect_format` chooses the reader from the file
(its suffix and, for text and workbooks, its first rows).

Layouts handled (each as the tool documents its export):

- SPSS ``.sav`` / ``.zsav`` and Stata ``.dta`` through pyreadstat, keeping codes
  (``apply_value_formats=False``) and user-defined missing values (``user_missing=True``), whose
  codes and ranges are listed in :attr:`Export.missing`.
- Qualtrics CSV (or Excel) export: three header rows (column names, question text, ImportId JSON).
  Rows whose ``Status`` is a survey preview, a test or spam, and rows with ``Finished`` false are
  left out and counted; choice text or numeric codes alike.
- SurveyMonkey export: two header rows (question, answer option); a question spread over several
  columns (matrix rows, multiple answers) has its text in the first of them only. Columns are
  named ``q1``, ``q2_1``, ``q2_2``... in question order; the labels keep the question and option.
- Excel ``.xlsx`` (a named sheet or the first) and CSV text with any delimiter and encoding
  (sniffed, and stated in :attr:`Export.notes`); title rows above the header are skipped.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cx_helpers.errors import StudyError

__all__ = ["FORMATS", "Export", "detect_format", "read_export"]

#: Formats :func:`read_export` reads (the ``format:`` key of a table in ``study.yaml``).
FORMATS = ("csv", "parquet", "excel", "spss", "stata", "qualtrics", "surveymonkey")

_SUFFIXES = {".sav": "spss", ".zsav": "spss", ".dta": "stata", ".xlsx": "excel",
             ".xlsm": "excel", ".parquet": "parquet", ".csv": "csv", ".txt": "csv",
             ".tsv": "csv", ".gz": "csv"}

# Qualtrics' Status (Response Type) column: numeric codes and choice text of responses that are
# not real respondents. 0 IP Address, 4 Imported and 16 Offline are kept.
_QUALTRICS_DROP_CODES = {"1": "survey preview", "2": "survey test", "8": "spam",
                         "9": "survey preview", "12": "spam", "17": "survey preview"}
_QUALTRICS_DROP_WORDS = (("preview", "survey preview"), ("test", "survey test"),
                         ("spam", "spam"))
_FALSE = {"false", "0", "no", "f"}
_SURVEYMONKEY_META = {"respondent id", "collector id", "start date", "end date", "ip address",
                      "email address", "first name", "last name", "custom data 1",
                      "custom data"}


@dataclass
class Export:
    """A survey export read as text columns, with what the file says about its columns.

    Attributes
    ----------
    table : pandas.DataFrame
        A row per response kept, a ``string`` column per variable; codes as text (``"5"``, not
        ``"5.0"``), dates as ISO 8601 text, blanks and system-missing values as ``<NA>``.
    format : str
        The reader used (one of :data:`FORMATS`).
    path : Path
        The file read.
    header : list of str
        Every column of the file (columns left out with ``drop`` included), in file order.
    labels : dict
        Column -> variable label or question text (when the file has one).
    value_labels : dict
        Column -> {code: label}, codes as text as in ``table``.
    missing : dict
        Column -> declared missing codes (SPSS user-missing values and codes of labelled values
        inside a missing range), as text.
    missing_ranges : dict
        Column -> [(low, high)] ranges declared missing (SPSS), as numbers.
    measure : dict
        Column -> ``nominal``, ``ordinal`` or ``scale`` (SPSS measurement level) when known.
    text_columns : list of str
        Columns stored as text in a typed file (SPSS/Stata string variables).
    open_text : list of str
        Columns the tool marks as open-ended answers (Qualtrics ``_TEXT`` import ids,
        SurveyMonkey "Open-Ended Response" and "Other (please specify)" columns).
    excluded : dict
        Reason -> number of responses left out (Qualtrics).
    notes : list of str
        How the file was read: encoding, delimiter, sheet, header row, renamed columns.
    options : dict
        The reading options found (``sheet``, ``delimiter``, ``encoding``), for ``study.yaml``.
    """

    table: pd.DataFrame
    format: str
    path: Path
    header: list[str]
    labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    missing_ranges: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    measure: dict[str, str] = field(default_factory=dict)
    text_columns: list[str] = field(default_factory=list)
    open_text: list[str] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)

    def labelled(self, column: str) -> pd.Series:
        """The column with each code replaced by its value label (unlabelled codes kept)."""
        labels = self.value_labels.get(column) or {}
        values = self.table[column]
        return values.map(lambda v: labels.get(v, v) if isinstance(v, str) else v).astype(
            "string")


# ----------------------------------------------------------------------------------------------
# values as text
# ----------------------------------------------------------------------------------------------

def code_text(value) -> str | None:
    """A cell value as the loader's text: ``9.0`` -> ``"9"``, dates in ISO 8601, blanks None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, _dt.datetime):
        if value.time() == _dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, pd.Timestamp):
        return code_text(value.to_pydatetime())
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):  # numpy scalars
        return code_text(value.item())
    text = str(value)
    return None if text.strip() == "" else text


def _frame(rows: list[list], names: list[str]) -> pd.DataFrame:
    data = {name: pd.array([code_text(r[i]) if i < len(r) else None for r in rows],
                           dtype="string") for i, name in enumerate(names)}
    return pd.DataFrame(data, index=pd.RangeIndex(len(rows)))


# ----------------------------------------------------------------------------------------------
# format detection
# ----------------------------------------------------------------------------------------------

def detect_format(path, grid: list[list] | None = None) -> str:
    """The format of a survey export, from its suffix and (text and workbooks) its first rows.

    Parameters
    ----------
    path : str or Path
        The file.
    grid : list of lists, optional
        Its first rows, when already read (text and workbooks).

    Returns
    -------
    str
        One of :data:`FORMATS`: ``qualtrics`` when the third row holds ImportId JSON,
        ``surveymonkey`` when the first row names Respondent ID and Collector ID, else the
        suffix's format (``csv`` for text).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    base = _SUFFIXES.get(suffix)
    if base is None:
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head.startswith(b"$FL2") or head.startswith(b"$FL3"):
            return "spss"
        if head.startswith(b"PK\x03\x04"):
            base = "excel"
        elif head.startswith(b"PAR1"):
            return "parquet"
        else:
            base = "csv"
    if base not in ("csv", "excel"):
        return base
    if grid is None:
        grid = _grid_csv(path, limit=5)[0] if base == "csv" else _grid_excel(path, None, 5)[0]
    return _layout(grid) or base


def _layout(grid: list[list]) -> str | None:
    if len(grid) >= 3:
        third = [code_text(c) for c in grid[2]]
        filled = [c for c in third if c]
        if filled and sum(c.lstrip().startswith('{"ImportId"') for c in filled) >= len(filled) / 2:
            return "qualtrics"
    if len(grid) >= 2:
        first = {(code_text(c) or "").strip().lower() for c in grid[0]}
        if {"respondent id", "collector id"} <= first:
            return "surveymonkey"
    return None


# ----------------------------------------------------------------------------------------------
# grids: text files and workbooks as lists of rows
# ----------------------------------------------------------------------------------------------

def _decode(data: bytes, display, encoding=None) -> tuple[str, str]:
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise StudyError(f"cannot be read as {encoding} ({exc}).", file=display,
                             fix="correct or remove encoding: in study.yaml.") from None
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8 (with BOM)"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _grid_csv(path: Path, limit=None, display=None, delimiter=None, encoding=None):
    display = display or path
    raw = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        import gzip
        try:
            raw = gzip.decompress(raw)
        except OSError as exc:
            raise StudyError(f"cannot be decompressed ({exc}).", file=display,
                             fix="compress it with gzip, or drop the .gz ending.") from None
    text, enc = _decode(raw, display, encoding)
    if "\x00" in text[:65536]:
        raise StudyError("the file holds binary data, not text.", file=display,
                         fix="export the table as CSV, Excel or SPSS.")
    if delimiter is None:
        sample = "\n".join(text.splitlines()[:50])
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            first = text.split("\n", 1)[0]
            counts = {d: first.count(d) for d in ",;\t|"}
            delimiter = max(counts, key=counts.get) if max(counts.values()) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    for row in reader:
        rows.append(row)
        if limit is not None and len(rows) >= limit:
            break
    name = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(delimiter, delimiter)
    return rows, {"encoding": enc, "delimiter": delimiter}, f"{enc} text, {name}-separated"


def _grid_excel(path: Path, sheet, limit=None, display=None):
    display = display or path
    import openpyxl
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # not a workbook openpyxl reads
        raise StudyError(f"cannot be read as an Excel workbook ({exc}).", file=display,
                         fix="save it from Excel as .xlsx, or export CSV.") from None
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        else:
            raise StudyError(f"no sheet named {sheet!r}.", file=display,
                             expected=f"one of: {', '.join(book.sheetnames)}",
                             fix="correct sheet: in study.yaml.")
        rows = []
        for row in ws.iter_rows(values_only=True):
            rows.append(list(row))
            if limit is not None and len(rows) >= limit:
                break
        title = ws.title
    finally:
        book.close()
    return rows, {"sheet": title}, f"Excel workbook, sheet {title!r}"


def _blank(row) -> bool:
    return all(code_text(c) is None for c in row)


def _header_row(grid: list[list]) -> int:
    """Index of the header row: the first row with at least two filled cells whose next
    non-blank row is as wide (title and note rows above a table have one cell)."""
    filled = [sum(code_text(c) is not None for c in row) for row in grid]
    widest = max(filled, default=0)
    for i, n in enumerate(filled):
        if n >= 2 or (widest <= 1 and n == 1):
            return i
    return 0


def _names(cells, display) -> list[str]:
    names = []
    for i, cell in enumerate(cells):
        text = (code_text(cell) or "").strip()
        names.append(text or f"column_{i + 1}")
    return names


def _dedupe(names: list[str], notes: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            new = f"{name}_{seen[name]}"
            while new in seen:
                seen[name] += 1
                new = f"{name}_{seen[name]}"
            notes.append(f"repeated column {name!r} renamed {new!r}")
            seen[new] = 1
            out.append(new)
        else:
            seen[name] = 1
            out.append(name)
    return out


def _data_rows(grid, start, width, display, first_row):
    rows = []
    long = []
    for i, row in enumerate(grid[start:]):
        row = list(row)
        if len(row) > width:
            if any(code_text(c) is not None for c in row[width:]):
                long.append(first_row + i)
            row = row[:width]
        if _blank(row):
            continue
        rows.append(row)
    if long:
        raise StudyError("rows with more cells than the header has columns.", file=display,
                         rows=long, expected=f"at most {width} cells a row",
                         fix="check the delimiter (delimiter: in study.yaml) or the quoting of "
                             "text with delimiters in it.")
    return rows


# ----------------------------------------------------------------------------------------------
# layouts
# ----------------------------------------------------------------------------------------------

def _plain(grid, display, notes):
    if not grid or all(_blank(r) for r in grid):
        raise StudyError("the file is empty (no header row).", file=display,
                         expected="a header row and at least one data row")
    h = _header_row(grid)
    if h:
        titles = [code_text(c) for row in grid[:h] for c in row if code_text(c)]
        notes.append(f"header on row {h + 1} (above it: {'; '.join(titles) or 'blank rows'})")
    names = _names(grid[h], display)
    while names and names[-1].startswith("column_") and all(
            len(r) < len(names) or code_text(r[len(names) - 1]) is None for r in grid[h + 1:]):
        names.pop()
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise StudyError(f"duplicate column names ({', '.join(repr(d) for d in dup)}).",
                         file=display, column=dup[0], expected="each column named once",
                         fix="rename the repeated columns in the file's header.")
    rows = _data_rows(grid, h + 1, len(names), display, 1)
    return _frame(rows, names), names, {}


def _qualtrics(grid, display, notes, excluded, open_text):
    if len(grid) < 3:
        raise StudyError("a Qualtrics export needs three header rows (column names, question "
                         "text, ImportId).", file=display)
    names = _dedupe(_names(grid[0], display), notes)
    texts = [code_text(c) for c in grid[1]]
    labels = {n: t.strip() for n, t in zip(names, texts) if t and t.strip() and t.strip() != n}
    for name, cell in zip(names, grid[2]):
        try:
            qid = str(json.loads(code_text(cell) or "{}").get("ImportId", ""))
        except (ValueError, AttributeError):
            qid = ""
        if qid.upper().endswith("_TEXT"):
            open_text.append(name)
    rows = _data_rows(grid, 3, len(names), display, 1)
    table = _frame(rows, names)
    keep = pd.Series(True, index=table.index)
    if "Status" in table.columns:
        status = table["Status"].fillna("").str.strip()
        reason = pd.Series([None] * len(table), index=table.index, dtype=object)
        for code, why in _QUALTRICS_DROP_CODES.items():
            reason[status == code] = why
        low = status.str.lower()
        for word, why in _QUALTRICS_DROP_WORDS:
            reason[reason.isna() & low.str.contains(word, regex=False)] = why
        for why in dict.fromkeys(_QUALTRICS_DROP_CODES.values()):
            n = int((reason == why).sum())
            if n:
                excluded[why] = n
        keep &= reason.isna()
    if "Finished" in table.columns:
        unfinished = keep & table["Finished"].fillna("").str.strip().str.lower().isin(_FALSE)
        if unfinished.any():
            excluded["unfinished"] = int(unfinished.sum())
        keep &= ~unfinished
    if excluded:
        notes.append("left out: " + ", ".join(f"{n} {why}" for why, n in excluded.items())
                     + f"; {int(keep.sum())} responses kept")
    table = table[keep].reset_index(drop=True)
    return table, names, labels


def _surveymonkey(grid, display, notes, open_text):
    top = [(code_text(c) or "").strip() for c in grid[0]]
    sub = [(code_text(c) or "").strip() for c in grid[1]] if len(grid) > 1 else []
    sub += [""] * (len(top) - len(sub))
    names, labels = [], {}
    question, q_number, option = None, 0, 0
    spans: list[list[int]] = []
    for i, (t, s) in enumerate(zip(top, sub)):
        if t and (t.lower() in _SURVEYMONKEY_META or (not s and q_number == 0)):
            names.append(t)
            question = None
            continue
        if t:
            q_number += 1
            question, option = t, 0
            spans.append([i])
        elif question is None:
            names.append(f"column_{i + 1}")
            continue
        else:
            spans[-1].append(i)
        option += 1
        names.append(f"q{q_number}_{option}")
        labels[names[-1]] = question if s.lower() in ("", "response", "open-ended response") \
            else f"{question}: {s}"
        if s.lower() == "open-ended response" or "please specify" in s.lower():
            open_text.append(names[-1])
    for span in spans:  # a question in one column is q<n>, not q<n>_1
        if len(span) == 1:
            old = names[span[0]]
            new = old.rsplit("_", 1)[0]
            names[span[0]] = new
            labels[new] = labels.pop(old)
            open_text[:] = [new if x == old else x for x in open_text]
    names = _dedupe(names, notes)
    notes.append(f"{q_number} questions named q1..q{q_number} (q<n>_<k>: the k-th column of a "
                 "question spread over several); labels keep the question text")
    rows = _data_rows(grid, 2, len(names), display, 1)
    return _frame(rows, names), names, labels


# ----------------------------------------------------------------------------------------------
# typed files: SPSS, Stata, Parquet
# ----------------------------------------------------------------------------------------------

def _read_stat(path: Path, fmt: str, drop, display) -> Export:
    import pyreadstat

    reader = pyreadstat.read_sav if fmt == "spss" else pyreadstat.read_dta
    kwargs = {"user_missing": True, "apply_value_formats": False}
    try:
        _, meta = reader(str(path), metadataonly=True, **kwargs)
        names = list(meta.column_names)
        use = [c for c in names if c not in set(drop)]
        df, meta = reader(str(path), usecols=use, **kwargs)
    except Exception as exc:  # pyreadstat.ReadstatError and friends
        what = "an SPSS .sav/.zsav" if fmt == "spss" else "a Stata .dta"
        raise StudyError(f"cannot be read as {what} file ({exc}).", file=display,
                         fix="export it again from the survey tool.") from None
    table = pd.DataFrame({c: pd.array([code_text(v) for v in df[c].tolist()], dtype="string")
                          for c in df.columns}, index=pd.RangeIndex(len(df)))
    labels = {c: str(l).strip() for c, l in meta.column_names_to_labels.items()
              if l and str(l).strip() and c in table.columns}
    value_labels = {}
    for c, vl in (meta.variable_value_labels or {}).items():
        if c in table.columns and vl:
            value_labels[c] = {code_text(k): str(v).strip() for k, v in vl.items()}
    missing, ranges = {}, {}
    for c, rr in (getattr(meta, "missing_ranges", None) or {}).items():
        if c not in table.columns:
            continue
        spans = []
        for r in rr:
            lo, hi = r.get("lo"), r.get("hi")
            if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
                spans.append((float(lo), float(hi)))
            else:  # a string variable's missing value
                missing.setdefault(c, []).append(code_text(lo))
        if spans:
            ranges[c] = spans
            codes = set(value_labels.get(c, {}))
            codes |= set(table[c].dropna().unique())
            inside = []
            for code in codes:
                try:
                    x = float(code)
                except (TypeError, ValueError):
                    continue
                if any(lo <= x <= hi for lo, hi in spans):
                    inside.append((x, code))
            missing.setdefault(c, []).extend(code for _, code in sorted(inside))
    for c, vals in (getattr(meta, "missing_user_values", None) or {}).items():
        if c in table.columns:
            missing.setdefault(c, []).extend(code_text(v) for v in vals)
    missing = {c: list(dict.fromkeys(v)) for c, v in missing.items()}
    types = getattr(meta, "readstat_variable_types", None) or {}
    text_columns = [c for c in table.columns if types.get(c) == "string"]
    measure = {c: m for c, m in (getattr(meta, "variable_measure", None) or {}).items()
               if c in table.columns and m in ("nominal", "ordinal", "scale")}
    name = "SPSS" if fmt == "spss" else "Stata"
    notes = [f"{name} file: {meta.number_rows if meta.number_rows is not None else len(table)} "
             f"cases, {len(names)} variables, {meta.file_encoding or 'encoding not stated'}"]
    return Export(table=table, format=fmt, path=path, header=[str(n) for n in names],
                  labels=labels, value_labels=value_labels, missing=missing,
                  missing_ranges=ranges, measure=measure, text_columns=text_columns,
                  notes=notes)


def _read_parquet(path: Path, drop, display) -> Export:
    import pyarrow.parquet as pq
    try:
        names = [str(c) for c in pq.read_schema(path).names]
        df = pd.read_parquet(path, columns=[c for c in names if c not in set(drop)])
    except Exception as exc:
        raise StudyError(f"cannot be read as Parquet ({exc}).", file=display) from None
    table = pd.DataFrame({str(c): pd.array([code_text(v) for v in df[c].tolist()],
                                           dtype="string") for c in df.columns},
                         index=pd.RangeIndex(len(df)))
    return Export(table=table, format="parquet", path=path, header=names,
                  notes=["Parquet file"])


# ----------------------------------------------------------------------------------------------
# the reader
# ----------------------------------------------------------------------------------------------

def read_export(path, format: str | None = None, *, sheet: str | None = None,
                delimiter: str | None = None, encoding: str | None = None, drop=(),
                display=None) -> Export:
    """Read a survey export as text columns plus its labels, missing codes and exclusions.

    Parameters
    ----------
    path : str or Path
        The file.
    format : str, optional
        One of :data:`FORMATS`; chosen from the file (:func:`detect_format`) when omitted.
    sheet : str, optional
        Excel: the sheet to read (default: the first).
    delimiter, encoding : str, optional
        Text files: override the sniffed delimiter and encoding.
    drop : iterable of str
        Columns never read (personal data): left out of ``table``, kept in ``header``.
    display : str or Path, optional
        How to name the file in messages (default: ``path``).

    Returns
    -------
    Export

    Raises
    ------
    StudyError
        An unknown format, a file that cannot be read as its format, an empty table, rows wider
        than the header, repeated column names in a plain table, an unknown sheet.
    """
    path = Path(path)
    display = display or path
    if not path.is_file():
        raise StudyError("file not found.", file=display,
                         fix="check the path (relative to the study folder).")
    if format is not None and format not in FORMATS:
        raise StudyError(f"unknown format {format!r}.", file=display,
                         expected=f"one of: {', '.join(FORMATS)}",
                         fix="correct format: in study.yaml, or leave it out to detect it.")
    drop = [str(d) for d in drop]
    base = format
    if base is None:
        base = detect_format(path) if path.suffix.lower() not in (".csv", ".xlsx", ".xlsm") \
            else _SUFFIXES[path.suffix.lower()]
    if base in ("spss", "stata"):
        export = _read_stat(path, base, drop, display)
    elif base == "parquet":
        export = _read_parquet(path, drop, display)
    else:
        is_excel = base == "excel" or (base in ("qualtrics", "surveymonkey") and
                                       path.suffix.lower() in (".xlsx", ".xlsm"))
        if is_excel:
            grid, options, how = _grid_excel(path, sheet, display=display)
        else:
            grid, options, how = _grid_csv(path, display=display, delimiter=delimiter,
                                           encoding=encoding)
        layout = base if base in ("qualtrics", "surveymonkey") else None
        if format is None or format in ("csv", "excel"):
            layout = _layout(grid) if format is None else None
        notes, excluded, open_text = [how], {}, []
        if layout == "qualtrics":
            table, names, labels = _qualtrics(grid, display, notes, excluded, open_text)
        elif layout == "surveymonkey":
            table, names, labels = _surveymonkey(grid, display, notes, open_text)
        else:
            table, names, labels = _plain(grid, display, notes)
        table = table.drop(columns=[c for c in drop if c in table.columns])
        export = Export(table=table, format=layout or ("excel" if is_excel else "csv"),
                        path=path, header=names, labels=labels, excluded=excluded, notes=notes,
                        options=options, open_text=open_text)
    if len(export.table) == 0:
        sheet_note = f" on sheet {export.options['sheet']!r}" if export.options.get("sheet") \
            else ""
        raise StudyError("the table is empty (no data rows" + sheet_note +
                         (" once previews, tests, spam and unfinished responses are left out"
                          if export.excluded else "") + ").", file=display,
                         expected="at least one row",
                         fix="name the sheet holding the data (sheet: in study.yaml, --sheet "
                             "for cx init)." if sheet_note else "export the data with its rows.")
    return export

