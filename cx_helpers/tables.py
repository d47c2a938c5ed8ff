"""The study's tables, one reader each: respondents, ratings, outcomes, declared journeys,
events, and the checks that tie them together (customers, personal data, branding).

Every reader takes the :class:`Reading` of one :func:`cx_helpers.study.load_study` call and
appends the problems it finds to it, so that a study with several mistakes is refused once,
with all of them (file, column, rows, what was expected, how to fix it).
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cx_helpers import sources
from cx_helpers.config import (CONFIG_NAME, NA_POLICIES, OUTCOME_KINDS, SCHEMA, check_keys,
                               check_values, closest, inside, outside_folders)
from cx_helpers.errors import StudyError
from cx_helpers.schema import schema_problems
from cx_helpers.study import Journey, Outcome

_READ_KEYS = ("format", "sheet", "delimiter", "encoding")
_EXPORT_SUFFIXES = (".sav", ".zsav", ".dta", ".xlsx", ".xlsm")
_BINARY = {"0": 0.0, "1": 1.0, "0.0": 0.0, "1.0": 1.0, "false": 0.0, "true": 1.0, "no": 0.0,
           "yes": 1.0}


_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive, such as an Excel workbook (.xlsx)",
     "name it .xlsx (workbooks are read), or save it from Excel as CSV UTF-8"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)",
     "open it in Excel and save it as CSV UTF-8 (comma delimited)"),
    (b"\x1f\x8b", "gzip-compressed", "name it .csv.gz, or decompress it"),
    (b"\xff\xfe", "UTF-16 text", "save it as UTF-8 (Excel: CSV UTF-8)"),
    (b"\xfe\xff", "UTF-16 text", "save it as UTF-8 (Excel: CSV UTF-8)"),
)


def _check_text_file(path: Path, display):
    """Refuse a CSV that is not UTF-8 comma-separated text, saying what it is instead."""
    gz = path.name.lower().endswith(".gz")
    with open(path, "rb") as fh:
        head = fh.read(4)
    for magic, what, fix in _SIGNATURES:
        if head.startswith(magic) and not (gz and magic == b"\x1f\x8b"):
            raise StudyError(f"the file is {what}, not CSV text.", file=display,
                             expected="comma-separated UTF-8 text with a header row", fix=fix)
    if gz:
        try:
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise StudyError(f"cannot be decompressed ({exc}).", file=display,
                             fix="compress it with gzip, or drop the .gz ending.") from None
    else:
        data = path.read_bytes()
    if b"\x00" in data[:65536]:
        raise StudyError("the file holds binary data, not CSV text.", file=display,
                         expected="comma-separated UTF-8 text with a header row",
                         fix="export the table as CSV.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise StudyError(f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} on line "
                         f"{line}).", file=display, expected="UTF-8 text",
                         fix="save it as UTF-8 (Excel: CSV UTF-8; or re-export with UTF-8 "
                             "encoding), or give its encoding: (e.g. encoding: cp1252) on the "
                             "table in study.yaml.") from None
    header = text.split("\n", 1)[0]
    if "," not in header:
        for sep, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if sep in header:
                raise StudyError(f"the file is {name}-separated; only commas separate columns.",
                                 file=display, expected="comma-separated columns",
                                 fix="re-export it with commas as separators (Excel: CSV UTF-8 "
                                     "(comma delimited)), or add format: csv to the table in "
                                     "study.yaml (the delimiter is then detected).")
    names = next(csv.reader([header.rstrip("\r")]), [])
    dup = sources.repeated(n.strip() for n in names)
    if dup:
        raise StudyError(f"duplicate column names ({', '.join(repr(d) for d in dup)}).",
                         file=display, column=dup[0], expected="each column named once",
                         fix="rename the repeated columns in the file's header.")


def _is_image(path: Path) -> bool:
    """True for a PNG, JPEG, GIF, WebP or SVG file (by its first bytes, not its name)."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text)


def _read_export(path: Path, spec: dict, drop, role, warnings) -> pd.DataFrame:
    """Read a table through :func:`cx_helpers.readers.read_export` (SPSS, Stata, Excel,
    Qualtrics, SurveyMonkey, or CSV with another delimiter or encoding).

    The table carries the file's header and value labels in ``attrs``; responses the export
    marks as previews, tests, spam or unfinished are left out by the reader and counted here
    among the warnings.
    """
    from cx_helpers.readers import read_export

    if path.is_dir():
        raise StudyError(f"tables.{role}.path names a folder, not a file.", file=path,
                         fix=f"give the {role} file's name in tables.{role}.path.")
    export = read_export(path, spec.get("format"), sheet=spec.get("sheet"),
                         delimiter=spec.get("delimiter"), encoding=spec.get("encoding"),
                         drop=drop)
    table = export.table.copy()
    table.columns = [str(c) for c in table.columns]
    table.attrs["header"] = [str(c) for c in export.header]
    table.attrs["value_labels"] = dict(export.value_labels)
    left_out = {reason: n for reason, n in (export.excluded or {}).items() if n}
    if left_out:
        warnings.append(
            f"{path}: responses left out as the {export.format} export marks them: "
            + ", ".join(f"{n} {reason}" for reason, n in left_out.items())
            + f"; {len(table)} responses kept.")
    return table


def _read_table(path: Path, drop=(), display=None, role=None):
    """Read a CSV/CSV.gz/Parquet table as text columns, leaving out ``drop`` columns.

    The table's full header (``drop`` columns included) is kept in ``attrs["header"]``.
    """
    display = display or path
    where = f"tables.{role}.path" if role else "tables.*.path"
    if path.is_dir():
        raise StudyError(f"{where} names a folder, not a file.", file=display,
                         fix=f"give the {role or 'table'} file's name in {where}.")
    if not path.is_file():
        raise StudyError("file not found.", file=display,
                         fix=f"check {where} in study.yaml (paths are relative to the study).")
    drop = set(drop)
    suffixes = "".join(path.suffixes[-2:]).lower()
    if not suffixes.endswith(".parquet"):
        _check_text_file(path, display)
    try:
        if suffixes.endswith(".parquet"):
            import pyarrow.parquet as pq
            names = [str(c) for c in pq.read_schema(path).names]
            table = pd.read_parquet(path, columns=[c for c in names if c not in drop])
            table = table.astype(object).where(table.notna(), None).astype("string")
            table = table.mask(table == "")   # blank is missing, as in a CSV
        else:
            header = pd.read_csv(path, nrows=0).columns
            table = pd.read_csv(path, usecols=[c for c in header if c not in drop], dtype=str,
                                keep_default_na=False, na_values=[""])
            names = [str(c) for c in header]
    except StudyError:
        raise
    except Exception as exc:  # a parser error of any kind: say which file
        raise StudyError(f"cannot be read ({exc}).", file=display,
                         fix="export it as CSV (comma-separated, header row) or Parquet.") from None
    if len(table) == 0:
        raise StudyError("the table is empty (no data rows).", file=display,
                         expected="at least one row", fix="export the data with its rows.")
    table.columns = [str(c) for c in table.columns]
    table.attrs["header"] = names
    return table


def _need_column(table, column, display, role, problems):
    if column is None:
        return False
    if column not in table.columns:
        problems.append(StudyError(
            f"no column '{column}' (configured as {role}).", file=display, column=column,
            fix=f"{closest(column, table.columns)} Correct study.yaml or the file's header."))
        return False
    return True


def _rows(mask) -> list[int]:
    """1-based data row numbers where ``mask`` is true."""
    return list(np.flatnonzero(np.asarray(mask)) + 1)


def read_scale(value, default, where, problems, file):
    scale = value if value is not None else default
    if scale is None:
        return None
    if (not isinstance(scale, (list, tuple)) or len(scale) != 2
            or not all(isinstance(v, (int, float)) for v in scale) or scale[0] >= scale[1]):
        problems.append(StudyError(f"{where}: scale must be [min, max] with min < max, found "
                                   f"{scale!r}.", file=file))
        return None
    return float(scale[0]), float(scale[1])


def _yaml_text(value, where, key, problems, file):
    """A code written in study.yaml as text (lower-cased, stripped), or None when unusable.

    YAML reads unquoted yes/no/true/false/on/off as booleans: such a code is reported with the
    fix (quote it), never silently turned into 'True'.
    """
    if isinstance(value, bool):
        problems.append(StudyError(
            f"{where}: {key} holds {str(value).lower()}, which YAML reads as a yes/no flag, not "
            "as the text of a code.", file=file,
            fix="quote the code as it appears in the data, e.g. 'yes' or 'No'."))
        return None
    if value is None or isinstance(value, (dict, list)):
        problems.append(StudyError(f"{where}: {key} holds {value!r}.", file=file,
                                   expected="a code as text or a number"))
        return None
    return str(value).strip().lower()


def _na_codes(codes, where, problems, file):
    """Split not-applicable codes into (numbers, lower-cased texts)."""
    if codes is None:
        return [], set()
    if not isinstance(codes, (list, tuple)):
        codes = [codes]
    numbers, texts = [], set()
    for code in codes:
        text = _yaml_text(code, where, "na_codes", problems, file)
        if text is None:
            continue
        texts.add(text)
        try:
            numbers.append(float(text))
        except ValueError:
            pass
    return numbers, texts


def _value_map(mapping, where, scale, integer, problems, file):
    """Check a ``values:`` mapping (text label -> number); return {lower-cased label: number}.

    A label with a bad number is reported here and kept with NaN, so that its text is not
    reported a second time as unmapped.
    """
    if mapping is None:
        return {}
    if not isinstance(mapping, dict) or not mapping:
        problems.append(StudyError(
            f"{where}: values must map each text label to a number, found {mapping!r}.",
            file=file, fix="write e.g. values: {'Very satisfied': 5, 'Satisfied': 4}."))
        return {}
    out = {}
    for label, number in mapping.items():
        key = _yaml_text(label, where, "values", problems, file)
        if key is None:
            continue
        if key in out:
            problems.append(StudyError(
                f"{where}: values lists {label!r} twice (labels are matched ignoring case).",
                file=file, fix="keep one entry per label."))
            continue
        out[key] = np.nan
        if isinstance(number, bool) or not isinstance(number, (int, float)) or np.isnan(number):
            problems.append(StudyError(
                f"{where}: values maps {label!r} to {number!r}, which is not a number.",
                file=file, fix=f"give the score of {label!r} on the scale, e.g. {label!r}: 5."))
            continue
        number = float(number)
        if scale is not None and not scale[0] <= number <= scale[1] or \
                integer and number != round(number):
            where_scale = (f"{'whole numbers' if integer else 'values'} from {scale[0]:g} to "
                           f"{scale[1]:g}") if scale else "whole numbers"
            problems.append(StudyError(
                f"{where}: values maps {label!r} to {number:g}, which is not on the scale.",
                file=file, expected=where_scale,
                fix="correct the number, or the scale."))
            continue
        out[key] = number
    return out


def _numeric(series, display, column, problems, scale=None, na=None, integer=False,
             values=None):
    """Parse a rating/outcome column into numbers.

    Blanks and not-applicable codes ``na`` (as split by :func:`_na_codes`: numbers, and text
    matched ignoring case and surrounding spaces) become NaN; text labels are scored by
    ``values`` ({lower-cased label: number}, from :func:`_value_map`); numbers pass through.
    Text that is neither, and numbers off the scale, are problems.
    """
    # each distinct text is parsed once (a rating column holds a handful among many rows)
    codes, distinct = pd.factorize(series.astype("string"))
    text = pd.Series(distinct, dtype="string").str.strip()
    lower = text.str.lower()
    na_numbers, na_texts = na if na is not None else ([], set())
    numbers = pd.to_numeric(text, errors="coerce").astype(float)
    is_na = lower.isin(na_texts).fillna(False).astype(bool) | numbers.isin(na_numbers)
    values = values or {}
    mapped = lower.map(values).astype(float)
    known = lower.isin(list(values)).fillna(False).astype(bool)
    parsed = mapped.where(known, numbers).mask(is_na).to_numpy(dtype=float)
    bad = (text.notna() & ~is_na & ~known & numbers.isna()).astype(bool).to_numpy()
    present, at = codes >= 0, np.maximum(codes, 0)
    result = pd.Series(np.where(present, parsed[at] if len(parsed) else np.nan, np.nan),
                       index=series.index)
    bad_text = pd.Series(present & (bad[at] if len(bad) else False), index=series.index)
    if bad_text.any():
        seen = text[bad].unique()
        sample = ", ".join(repr(v) for v in seen[:8]) + (", ..." if len(seen) > 8 else "")
        on_scale = f" on {scale[0]:g}-{scale[1]:g}" if scale else ""
        if values:
            problems.append(StudyError(
                f"text not in values: ({sample}).", file=display, column=column,
                rows=_rows(bad_text),
                expected=f"numbers{on_scale} or one of the labels under values: "
                         f"({', '.join(repr(k) for k in values)})",
                fix="add each label with its score to values: in study.yaml (labels match "
                    "ignoring case), or list it under na_codes if it means 'not applicable'."))
        else:
            problems.append(StudyError(
                f"text where a number was expected ({sample}).", file=display, column=column,
                rows=_rows(bad_text), expected="numbers" + on_scale,
                fix="map text labels to numbers with values: in study.yaml (e.g. "
                    "'Very satisfied': 5), or declare the code under na_codes if it means "
                    "'not applicable'."))
    values = result
    if scale is not None:
        out = values.notna() & ((values < scale[0]) | (values > scale[1]))
        if integer:
            out |= values.notna() & (values != values.round())
        if out.any():
            sample = ", ".join(f"{v:g}" for v in values[out].unique()[:3])
            problems.append(StudyError(
                f"values outside the scale ({sample}).", file=display, column=column,
                rows=_rows(out), expected=f"{'whole numbers' if integer else 'values'} from "
                                          f"{scale[0]:g} to {scale[1]:g}",
                fix="correct the scale in study.yaml, or add the code to na_codes if it means "
                    "'not applicable'."))
            values = values.mask(out)
    return values



def _check_variation(values, kind, where, file, column, problems):
    """Refuse an outcome with no answers, or one answer only: nothing can be learnt from it."""
    seen = values.dropna().unique()
    if len(seen) == 0:
        problems.append(StudyError(
            f"{where} has no value at all: every row is blank or a not-applicable code.",
            file=file, column=column, expected="answers on most rows",
            fix="check the column name and na_codes."))
    elif len(seen) == 1:
        shown = ("yes" if seen[0] == 1 else "no") if kind == "binary" else f"{seen[0]:g}"
        problems.append(StudyError(
            f"{where} takes one value only ({shown}) on every answered row, so nothing can "
            "relate to it.", file=file, column=column, expected="at least two different values",
            fix="check that the column is the right one (and, for a yes/no outcome, positive:)."))


def build_catalog(config, raw, file, default_scale, problems, cfg_file, events_raw=None):
    """Merge the catalog table with the config's touchpoints into one table.

    A study with neither (an event log only) takes its touchpoints from the events, with the
    stage "unstaged".
    """
    tp_cfg = config.get("touchpoints") or {}
    table_cfg = (config.get("tables") or {}).get("touchpoints") or {}
    roles = ("label", "stage", "channel", "type")
    rows = {}
    if raw is not None:
        id_col = table_cfg.get("id", "touchpoint")
        if _need_column(raw, id_col, file, "tables.touchpoints.id", problems):
            ids = raw[id_col].astype("string").str.strip()
            dup = ids.duplicated(keep=False)
            if dup.any():
                problems.append(StudyError("duplicate touchpoint ids.", file=file, column=id_col,
                                           rows=_rows(dup), fix="list each touchpoint once."))
            cols = {}
            for role in roles:
                col = table_cfg.get(role, role)
                if col in raw.columns:
                    cols[role] = col
                elif role in table_cfg:
                    _need_column(raw, col, file, f"tables.touchpoints.{role}", problems)
            for i, tp in ids.items():
                rows[tp] = {role: raw.at[i, col] for role, col in cols.items()}
                rows[tp]["_catalog_row"] = int(i) + 1
    for tp, spec in tp_cfg.items():
        spec = spec or {}
        base = rows.setdefault(str(tp), {})
        for role in roles:
            if spec.get(role) is not None:
                base[role] = str(spec[role])
                if role == "stage":
                    base.pop("_catalog_row", None)
        base["column"] = spec.get("column")
        scale = read_scale(spec.get("scale"), default_scale, f"touchpoint '{tp}'", problems,
                           cfg_file)
        if base["column"] is not None and scale is None:
            problems.append(StudyError(f"touchpoint '{tp}' has no rating scale.", file=cfg_file,
                                       fix="add rating_scale: [min, max] or a scale to it."))
        base["scale"] = scale
    if not rows and events_raw is not None:
        ecfg = (config.get("tables") or {}).get("events") or {}
        col = ecfg.get("touchpoint", "touchpoint")
        if col in events_raw.columns:
            for tp in sorted(events_raw[col].dropna().astype(str).str.strip().unique()):
                rows[tp] = {"stage": "unstaged"}
    stages = [str(s) for s in (config.get("stages") or [])]
    records = []
    for tp, r in rows.items():
        stage = r.get("stage")
        if stage is None or pd.isna(stage):
            problems.append(StudyError(
                f"touchpoint '{tp}' has no stage.", file=cfg_file,
                fix="give it a stage in study.yaml or in the touchpoints catalog."))
            stage = None
        elif stages and stage not in stages:
            in_catalog = r.get("_catalog_row") is not None
            problems.append(StudyError(
                f"touchpoint '{tp}' has stage '{stage}', which is not in stages.",
                file=file if in_catalog else cfg_file,
                column=table_cfg.get("stage", "stage") if in_catalog else None,
                rows=[r["_catalog_row"]] if in_catalog else None,
                fix=f"{closest(stage, stages)} Or add it to stages in study.yaml."))
            stage = None
        scale = r.get("scale") or (None, None)
        label = r.get("label")
        records.append({
            "touchpoint": tp, "label": tp if label is None or pd.isna(label) else str(label),
            "stage": stage, "channel": r.get("channel") or "unspecified",
            "type": r.get("type") or "unspecified", "column": r.get("column"),
            "scale_min": scale[0], "scale_max": scale[1]})
    catalog = pd.DataFrame.from_records(records, columns=[
        "touchpoint", "label", "stage", "channel", "type", "column", "scale_min", "scale_max"])
    order = stages or list(dict.fromkeys(s for s in catalog["stage"] if s is not None))
    catalog["stage"] = pd.Categorical(catalog["stage"], categories=order, ordered=True)
    for col in ("touchpoint", "label", "channel", "type", "column"):
        catalog[col] = catalog[col].astype("string")
    catalog["scale_min"] = catalog["scale_min"].astype(float)
    catalog["scale_max"] = catalog["scale_max"].astype(float)
    catalog["journey"] = pd.Series(pd.NA, index=catalog.index, dtype="string")
    if catalog.empty:
        problems.append(StudyError("the study has no touchpoints.", file=cfg_file,
                                   fix="list them under touchpoints: or in a catalog table."))
    return catalog.sort_values("stage", kind="stable").reset_index(drop=True)


def read_journeys(config, catalog, survey, survey_file, default_scale, default_na, problems,
                       cfg_file, index):
    declared = ((config.get("journeys") or {}).get("declared")) or {}
    known = set(catalog["touchpoint"])
    journeys, ratings = {}, pd.DataFrame(index=index)
    for name, spec in declared.items():
        spec = spec or {}
        tps = [str(t) for t in (spec.get("touchpoints") or [])]
        if not tps:
            problems.append(StudyError(f"journey '{name}' lists no touchpoints.", file=cfg_file))
        for tp in tps:
            if tp not in known:
                problems.append(StudyError(
                    f"journey '{name}' names touchpoint '{tp}', which is not in the catalog.",
                    file=cfg_file, fix=closest(tp, sorted(known))))
        col = spec.get("rating")
        scale = read_scale(spec.get("scale"), default_scale, f"journey '{name}'", problems,
                           cfg_file)
        if col and _need_column(survey, col, survey_file, f"the rating of journey '{name}'",
                                problems):
            where = f"journey '{name}'"
            na = _na_codes(spec["na_codes"], where, problems, cfg_file) if "na_codes" in spec \
                else _na_codes(default_na, "na_codes (top level)", problems, cfg_file)
            vmap = _value_map(spec["values"], where, scale, False, problems, cfg_file) \
                if "values" in spec else _value_map(config.get("values"), "values (top level)",
                                                    scale, False, problems, cfg_file)
            ratings[str(name)] = _numeric(survey[col], survey_file, col, problems, scale, na,
                                          values=vmap)
        journeys[str(name)] = Journey(str(name), tuple(tps), col, scale,
                                      str(spec.get("label") or name))
    return journeys, ratings


def _binary(series, display, column, positive, na, where, problems, cfg_file):
    """Code a yes/no outcome as 1.0/0.0 (missing: NaN).

    With ``positive`` (a code or a list of codes, matched ignoring case and surrounding
    spaces; a number also matches the same number written otherwise, 1 and 1.0) those codes
    mean yes and every other non-missing value means no; both must occur. Without it the
    column must hold 0/1, true/false or yes/no. Blanks and ``na`` codes are missing either way.
    """
    text = series.astype("string").str.strip()
    lower = text.str.lower()
    na_numbers, na_texts = na
    numbers = pd.to_numeric(text, errors="coerce").astype(float)
    missing = (text.isna() | lower.isin(na_texts).fillna(False).astype(bool)
               | numbers.isin(na_numbers)).astype(bool)
    if positive is None:
        values = lower.map(_BINARY.get).astype(float).mask(missing)
        bad = (~missing & values.isna()).astype(bool)
        if bad.any():
            seen = text[bad].unique()
            problems.append(StudyError(
                f"not a yes/no value ({', '.join(repr(v) for v in seen[:5])}).", file=display,
                column=column, rows=_rows(bad), expected="0/1, true/false or yes/no",
                fix=f"name the code(s) meaning yes under positive: for {where} in study.yaml "
                    f"(e.g. positive: {str(seen[0])!r}; every other value then means no), or "
                    "list codes meaning 'not applicable' under na_codes."))
        return values
    codes = positive if isinstance(positive, (list, tuple)) else [positive]
    wanted = {t for t in (_yaml_text(c, where, "positive", problems, cfg_file) for c in codes)
              if t is not None}
    if not wanted:
        return pd.Series(np.nan, index=series.index)
    wanted_numbers = []
    for code in wanted:
        try:
            wanted_numbers.append(float(code))
        except ValueError:
            pass
    is_yes = (lower.isin(wanted).fillna(False) | numbers.isin(wanted_numbers)).astype(bool)
    values = pd.Series(np.where(is_yes, 1.0, 0.0), index=series.index).mask(missing)
    seen = list(dict.fromkeys(text[~missing]))
    listed = ", ".join(repr(v) for v in seen[:8]) + (", ..." if len(seen) > 8 else "")
    if not (values == 1).any():
        problems.append(StudyError(
            f"no value matches positive: ({', '.join(repr(c) for c in codes)}); the column "
            f"holds {listed or 'no values'}.", file=display, column=column,
            expected="at least one respondent with a code meaning yes",
            fix=f"set positive: for {where} to the code(s) meaning yes, spelt as in the data "
                "(case and surrounding spaces are ignored)."))
    elif not (values == 0).any():
        problems.append(StudyError(
            f"every non-missing value matches positive: ({listed}), so nobody means no.",
            file=display, column=column, expected="both yes and no answers",
            fix=f"list only the code(s) meaning yes under positive: for {where}, or check "
                "that the column is the right one."))
    return values


def _match_customers(events, raw, cfg, file, respondents, outcomes, problems, warnings):
    """Event customers must be the study's customers (survey or outcomes table)."""
    known = set(respondents["customer"].dropna()) if "customer" in respondents else set()
    if outcomes is not None and "customer" in outcomes:
        known |= set(outcomes["customer"].dropna())
    if not known:
        return
    column = cfg.get("customer", "customer")
    customer = raw[column].astype("string").str.strip()
    unknown = customer.notna() & ~customer.isin(known)
    if not unknown.any():
        return
    sample = ", ".join(repr(v) for v in customer[unknown].unique()[:3])
    if unknown.all() or not (customer.notna() & ~unknown).any():
        problems.append(StudyError(
            f"no event's customer id matches a customer of the survey or outcomes table "
            f"(e.g. {sample}).", file=file, column=column,
            expected="the same customer ids in the events as in the survey / outcomes",
            fix="check tables.events.customer and tables.survey.customer, and that the ids are "
                "written the same way (prefixes, leading zeros)."))
    else:
        n, who = int(unknown.sum()), customer[unknown].nunique()
        warnings.append(
            f"{file}, column '{column}': {n} of {len(customer)} events "
            f"({who} customer{'s' if who != 1 else ''}, e.g. {sample}) match no customer of the "
            "survey or outcomes table; they count in the event-based measures only.")


_PII_NAME = re.compile(r"(^|[_\s.-])(e-?mail|mail_?address|full_?name|first_?name|last_?name|"
                       r"given_?name|family_?name|surname|forename|name|phone|telephone|"
                       r"mobile_?(number|phone)|address|street|postcode|post_?code|zip_?code|"
                       r"ssn|passport|date_?of_?birth|dob|iban|ip_?address)($|[_\s.-])", re.I)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")
_DATE = re.compile(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})\b")


def check_pii(survey, file, pii, config, catalog, problems, warnings, cfg_file):
    """Declared PII must exist; columns that look personal and are not declared are warned of."""
    header = survey.attrs.get("header", list(survey.columns))
    for name in pii:
        if name not in header:
            problems.append(StudyError(
                f"pii names column '{name}', which the survey does not have.", file=cfg_file,
                column=name, fix=f"{closest(name, header)} (pii: lists columns never to read)."))
    survey_cfg = (config.get("tables") or {}).get("survey") or {}
    used = {survey_cfg.get("id"), survey_cfg.get("customer"), config.get("weight")}
    used |= {str(s) for s in (config.get("segments") or [])}
    used |= set(catalog["column"].dropna())
    used |= {(o or {}).get("column") for o in (config.get("outcomes") or {}).values()}
    used |= {(j or {}).get("rating") for j in
             (((config.get("journeys") or {}).get("declared")) or {}).values()}
    for col in survey.columns:
        if col in used:
            continue
        text = survey[col].dropna().astype(str).str.strip()
        text = text[text != ""].head(500)
        why = None
        if len(text) and text.str.match(_EMAIL).mean() >= 0.5:
            why = "it holds e-mail addresses"
        elif len(text) and (text.str.match(_PHONE) & text.str.count(r"\d").between(7, 15)
                            & text.str.contains(r"[\s+()-]", regex=True)
                            & ~text.str.match(_DATE)).mean() >= 0.5:
            why = "it holds phone numbers"
        elif _PII_NAME.search(col):
            why = "its name suggests personal data"
        if why:
            warnings.append(
                f"{file}, column '{col}': {why}, and it is not listed under pii:. It is read "
                "but never used; add it to pii: in study.yaml so that it is never read.")


def _build_events(cfg, raw, file, catalog, problems):
    cols = {"customer": cfg.get("customer", "customer"), "time": cfg.get("time", "time"),
            "touchpoint": cfg.get("touchpoint", "touchpoint")}
    ok = all([_need_column(raw, col, file, f"tables.events.{role}", problems)
              for role, col in cols.items()])
    for role in ("channel", "rating", "case"):
        if cfg.get(role):
            ok &= _need_column(raw, cfg[role], file, f"tables.events.{role}", problems)
    keep = [str(c) for c in (cfg.get("keep") or [])]
    ok &= all([_need_column(raw, col, file, "tables.events.keep", problems) for col in keep])
    if not ok:
        return None
    events = pd.DataFrame({"customer": raw[cols["customer"]].astype("string").str.strip()})
    if cfg.get("case"):
        events["case"] = raw[cfg["case"]].astype("string").str.strip()
    blank = events["customer"].isna()
    if blank.any():
        problems.append(StudyError("event without a customer.", file=file, column=cols["customer"],
                                   rows=_rows(blank), fix="fill in the customer id."))
    text = raw[cols["time"]].astype("string").str.strip()
    time = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    bad = time.isna()
    if bad.any():
        sample = ", ".join(repr(v) for v in text[bad & text.notna()].unique()[:3]) or "blank"
        problems.append(StudyError(
            f"missing or unparseable timestamps ({sample}).", file=file, column=cols["time"],
            rows=_rows(bad), expected="ISO 8601 date-times such as 2026-03-04T09:15:00+00:00",
            fix="export timestamps in ISO 8601, or drop the rows without a time."))
    # a year's grace: synthetic and planned data may run a little ahead of the clock, but a
    # timestamp years ahead is a typing or export error (a wrong year, a wrong epoch)
    future = time > pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=366)
    if future.any():
        problems.append(StudyError(
            f"timestamps in the future, more than a year from now (latest "
            f"{time[future].max():%Y-%m-%d %H:%M} UTC).",
            file=file, column=cols["time"], rows=_rows(future),
            expected="interactions that have happened",
            fix="correct the dates (day and month swapped? a wrong year?) or drop those rows."))
    events["time"] = time
    events["touchpoint"] = raw[cols["touchpoint"]].astype("string").str.strip()
    unknown = ~events["touchpoint"].isin(set(catalog["touchpoint"]))
    if unknown.any():
        names = ", ".join(repr(v) for v in events.loc[unknown, "touchpoint"].unique()[:3])
        problems.append(StudyError(
            f"events on touchpoints not in the catalog ({names}).", file=file,
            column=cols["touchpoint"], rows=_rows(unknown),
            fix="add them to the touchpoints catalog or study.yaml, or correct the ids."))
    if cfg.get("channel"):
        events["channel"] = raw[cfg["channel"]].astype("string")
    else:
        events["channel"] = events["touchpoint"].map(
            catalog.set_index("touchpoint")["channel"]).astype("string")
    scale = read_scale(cfg.get("rating_scale"), None, "tables.events.rating_scale", problems, file)
    if cfg.get("rating"):
        events["rating"] = _numeric(raw[cfg["rating"]], file, cfg["rating"], problems, scale)
    else:
        events["rating"] = np.nan
    for col in keep:
        events[col] = raw[col]
    return events.sort_values(["customer", "time"], kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# one reader per table
# ----------------------------------------------------------------------------------------------

@dataclass
class Reading:
    """One loading of a study: its folder and config, and what reading it has gathered so far.

    Every reader appends the problems it finds (all are reported at once), the files it read
    (their hashes go to the run manifest) and its warnings.
    """

    root: Path
    config: dict
    problems: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    outside: list = field(default_factory=list)

    @property
    def file(self) -> Path:
        """study.yaml."""
        return self.root / CONFIG_NAME

    @property
    def tables(self) -> dict:
        return self.config.get("tables") or {}

    @property
    def pii(self) -> list[str]:
        return [str(c) for c in (self.config.get("pii") or [])]


def check_config(reading: Reading) -> None:
    """The config's keys, plain values and required tables; raises with every problem found."""
    config, cfg_file, problems = reading.config, reading.file, reading.problems
    check_keys(config, SCHEMA, "", problems, cfg_file)
    check_values(config, problems, cfg_file)
    survey_cfg = reading.tables.get("survey") or {}
    if not survey_cfg and not reading.tables.get("events"):
        problems.append(StudyError("a study needs tables.survey or tables.events.", file=cfg_file,
                                   fix="name the survey file (a row per respondent) and/or the "
                                       "event log (a row per interaction)."))
    for role, spec in reading.tables.items():
        if isinstance(spec, dict) and spec:
            sources.source_kind(spec, role, cfg_file, problems)
    na_policy = config.get("na")
    if na_policy is not None and na_policy not in NA_POLICIES:
        problems.append(StudyError(
            f"na is {na_policy!r}.", file=cfg_file,
            expected=f"one of {', '.join(NA_POLICIES)}",
            fix="indicator keeps everyone (a missing rating gets a 'not rated' indicator); "
                "complete drops respondents with a not-applicable answer in a model."))
    if problems:
        raise StudyError.collect(problems)
    reading.inputs.append(cfg_file)
    reading.outside = outside_folders(config, reading.root, problems, cfg_file)


def read_role(reading: Reading, role: str):
    """The table configured as ``tables.<role>`` and where it came from.

    Parameters
    ----------
    reading : Reading
        The loading under way: the problems found are appended to it, and the files (or
        database tables, :class:`cx_helpers.sources.DatabaseInput`) read to its inputs.
    role : str
        ``survey``, ``touchpoints``, ``events`` or ``outcomes``.

    Returns
    -------
    tuple
        ``(table, where)``: the rows as text columns, and the file (a Path) or the name of the
        Parquet dataset, DuckDB table or database table or query (:mod:`cx_helpers.sources`),
        used in messages as a file name is; ``(None, None)`` when the role is not configured
        or cannot be read.
    """
    spec = reading.tables.get(role)
    if not spec:
        return None, None
    if not isinstance(spec.get("path", ""), str):
        return None, None  # reported by check_values
    kind = sources.source_kind(spec, role, reading.file, reading.problems)
    if kind is None:
        return None, None
    drop = reading.pii if role == "survey" else ()
    try:
        if kind in ("database", "spark"):
            read = sources.read_database if kind == "database" else sources.read_spark
            table, record = read(spec, role, reading.file, drop)
            reading.inputs.append(record)
            return table, str(record)
        key = "duckdb" if kind == "duckdb" else "path"
        file = reading.root / spec[key]
        if kind == "path" and sources.is_dataset(spec["path"], file):
            if not inside(reading.root, file.parent if sources.is_glob(spec["path"]) else file,
                          f"tables.{role}.path", reading.problems, reading.file,
                          reading.outside):
                return None, None
            files = sources.dataset_files(reading.root, spec["path"], role, reading.file)
            if not all([inside(reading.root, f, f"tables.{role}.path", reading.problems,
                               reading.file, reading.outside) for f in files]):
                return None, None
            table = sources.read_parquet_dataset(files, file, drop)
            reading.inputs.extend(files)
            return table, file
        if not inside(reading.root, file, f"tables.{role}.{key}", reading.problems,
                      reading.file, reading.outside):
            return None, None
        if kind == "duckdb":
            what = f"table {spec['table']}" if spec.get("table") is not None \
                else f"query {spec['query']!r}"
            display = f"{file}, {what}"
            table = sources.read_duckdb(file, spec, display, drop)
            reading.inputs.append(file)
            return table, display
        if any(spec.get(k) is not None for k in _READ_KEYS) or \
                file.suffix.lower() in _EXPORT_SUFFIXES:
            table = _read_export(file, spec, drop, role, reading.warnings)
        else:
            table = _read_table(file, drop=drop, role=role)
    except StudyError as exc:
        reading.problems.append(exc)
        return None, None
    reading.inputs.append(file)
    return table, file


def read_respondents(reading: Reading, survey: pd.DataFrame, survey_file: Path,
                     survey_cfg: dict) -> pd.DataFrame:
    """A row per respondent: ``respondent, customer``, the segments and ``weight``."""
    problems = reading.problems
    id_col = survey_cfg.get("id")
    if id_col is None:  # no id column: respondents are numbered by data row (1, 2, ...)
        id_col = "respondent"
        survey = survey.assign(respondent=[str(i) for i in range(1, len(survey) + 1)])
    cust_col = survey_cfg.get("customer") or id_col
    respondents = pd.DataFrame(index=pd.RangeIndex(len(survey)))
    if _need_column(survey, id_col, survey_file, "tables.survey.id", problems):
        ids = survey[id_col].astype("string").str.strip()
        missing = ids.isna()
        if missing.any():
            problems.append(StudyError("respondent id is blank.", file=survey_file, column=id_col,
                                       rows=_rows(missing), fix="give every respondent an id."))
        dup = ids.duplicated(keep=False) & ~missing
        if dup.any():
            problems.append(StudyError(
                f"duplicate respondent ids ({', '.join(ids[dup].unique()[:3])}).",
                file=survey_file, column=id_col, rows=_rows(dup), expected="one row per respondent",
                fix="remove repeated rows or give each respondent a distinct id."))
        respondents["respondent"] = ids
    if _need_column(survey, cust_col, survey_file, "tables.survey.customer", problems):
        respondents["customer"] = survey[cust_col].astype("string").str.strip()
        blank = respondents["customer"].isna()
        if cust_col != id_col and blank.any():
            problems.append(StudyError(
                "customer id is blank.", file=survey_file, column=cust_col, rows=_rows(blank),
                expected="a customer id on every row (it links answers to events and outcomes)",
                fix="fill in the customer ids, or drop those respondents."))
    value_labels = survey.attrs.get("value_labels") or {}
    for seg in [str(s) for s in (reading.config.get("segments") or [])]:
        if _need_column(survey, seg, survey_file, "a segment", problems):
            codes = survey[seg].astype("string")
            labels = value_labels.get(seg) or {}
            if labels:  # a labelled export (SPSS, Stata): show the labels, not the codes
                codes = codes.map(lambda c: labels.get(c, c) if pd.notna(c) else c)
            respondents[seg] = codes.astype("string").fillna("(missing)")
    weight_col = reading.config.get("weight")
    respondents["weight"] = 1.0
    if weight_col and _need_column(survey, weight_col, survey_file, "weight", problems):
        w = _numeric(survey[weight_col], survey_file, weight_col, problems)
        bad = w.isna() | (w <= 0) | ~np.isfinite(w)
        if bad.any():
            problems.append(StudyError(
                "weights must be positive, finite numbers.", file=survey_file,
                column=weight_col, rows=_rows(bad), expected="a finite weight > 0 on every row",
                fix="drop those respondents or correct the weighting."))
        respondents["weight"] = w
    return respondents


def read_ratings(reading: Reading, survey: pd.DataFrame, survey_file: Path,
                 catalog: pd.DataFrame, default_scale) -> pd.DataFrame:
    """A column per rated touchpoint, on its scale; not-applicable codes and blanks missing."""
    problems, cfg_file, config = reading.problems, reading.file, reading.config
    ratings = pd.DataFrame(index=pd.RangeIndex(len(survey)))
    tp_cfg = config.get("touchpoints") or {}
    rows = catalog.set_index("touchpoint")
    for tp in catalog.loc[catalog["column"].notna(), "touchpoint"]:
        row = rows.loc[tp]
        col = row["column"]
        if not _need_column(survey, col, survey_file, f"the rating of touchpoint '{tp}'",
                            problems):
            continue
        spec = tp_cfg.get(tp) or {}
        where = f"touchpoint '{tp}'"
        before = len(problems)
        na = _na_codes(spec["na_codes"], where, problems, cfg_file) if "na_codes" in spec \
            else _na_codes(config.get("na_codes"), "na_codes (top level)", problems, cfg_file)
        scale = (row["scale_min"], row["scale_max"]) if pd.notna(row["scale_min"]) else None
        vmap = _value_map(spec["values"], where, scale, False, problems, cfg_file) \
            if "values" in spec else _value_map(config.get("values"), "values (top level)",
                                                scale, False, problems, cfg_file)
        ratings[tp] = _numeric(survey[col], survey_file, col, problems, scale, na, values=vmap)
        if len(survey) and ratings[tp].isna().all() and len(problems) == before:
            problems.append(StudyError(
                f"touchpoint '{tp}' has no rating at all: every row is blank or a "
                "not-applicable code.", file=survey_file, column=col,
                expected="at least one rating",
                fix=f"check the column and na_codes, or drop the column: line of "
                    f"touchpoint '{tp}' if it was not asked."))
    return ratings


def _outcome_spec(reading: Reading, name: str, spec: dict, sources: dict) -> Outcome | None:
    """An outcome's definition, checked; None (with a problem) when it cannot be read."""
    problems, cfg_file = reading.problems, reading.file
    kind = spec.get("kind")
    if kind not in OUTCOME_KINDS:
        problems.append(StudyError(
            f"outcome '{name}' has kind {kind!r}.", file=cfg_file,
            expected=f"one of {', '.join(OUTCOME_KINDS)}",
            fix="nps for 0-10 likelihood to recommend, ordinal for rating scales, binary for "
                "yes/no outcomes such as churn, continuous for amounts."))
        return None
    table_name = spec.get("table", "survey")
    if table_name not in ("survey", "outcomes"):
        problems.append(StudyError(f"outcome '{name}': table must be survey or outcomes, "
                                   f"found {table_name!r}.", file=cfg_file))
        return None
    if sources[table_name][0] is None:
        if table_name == "outcomes" and "outcomes" not in reading.tables:
            problems.append(StudyError(
                f"outcome '{name}' is in the outcomes table, but tables.outcomes is not "
                "configured.", file=cfg_file, fix="add tables.outcomes to study.yaml."))
        return None
    if not spec.get("column"):
        problems.append(StudyError(f"outcome '{name}' has no column.", file=cfg_file))
        return None
    scale = (0.0, 10.0) if kind == "nps" else read_scale(spec.get("scale"), None,
                                                     f"outcome '{name}'", problems, cfg_file)
    if kind == "ordinal" and scale is None:
        problems.append(StudyError(f"ordinal outcome '{name}' needs a scale.", file=cfg_file,
                                   fix="add scale: [min, max]."))
    if spec.get("better") not in (None, "higher", "lower"):
        problems.append(StudyError(
            f"outcome '{name}' has better: {spec.get('better')!r}.", file=cfg_file,
            expected="higher or lower", fix="say which direction of the outcome is good: "
                                            "better: lower for churn, effort or complaints."))
    return Outcome(name, spec["column"], kind, scale, spec.get("label") or name, table_name,
                   higher_is_better=spec.get("better") != "lower")


def _outcome_values(reading: Reading, outcome: Outcome, spec: dict, src: pd.DataFrame,
                    src_file: Path) -> pd.Series:
    """An outcome's column as numbers (binary: 0/1 from its ``positive`` codes)."""
    problems, cfg_file = reading.problems, reading.file
    col, kind, where = outcome.column, outcome.kind, f"outcome '{outcome.name}'"
    before = len(problems)
    na = _na_codes(spec.get("na_codes"), where, problems, cfg_file)
    if kind == "binary":
        if spec.get("values") is not None:
            problems.append(StudyError(
                f"{where} is binary: values: is for rating scales.", file=cfg_file,
                fix="list the codes that mean yes under positive: (every other code means "
                    "no), e.g. positive: satisfied."))
        values = _binary(src[col], src_file, col, spec.get("positive"), na, where, problems,
                         cfg_file)
    else:
        if spec.get("positive") is not None:
            problems.append(StudyError(
                f"{where} has kind {kind}: positive: is for binary outcomes.", file=cfg_file,
                fix="make the outcome binary, or map text labels with values: instead."))
        integer = kind in ("nps", "ordinal")
        vmap = _value_map(spec.get("values"), where, outcome.scale, integer, problems, cfg_file)
        values = _numeric(src[col], src_file, col, problems, outcome.scale, na, integer=integer,
                          values=vmap)
    if len(values) and len(problems) == before:  # no second message about one column
        _check_variation(values, kind, where, src_file, col, problems)
    return values


def read_outcomes(reading: Reading, survey, survey_file, outcomes_raw, outcomes_file,
                  respondents: pd.DataFrame):
    """The outcomes' definitions and values: survey outcomes become columns of ``respondents``;
    those of the outcomes table (a row per customer) are returned as their own table.

    Returns
    -------
    tuple
        ``(outcome_specs, outcomes)``: name -> :class:`Outcome`, and the outcomes table (None
        without one).
    """
    problems = reading.problems
    outcomes = None
    if outcomes_raw is not None:
        ocust = reading.tables["outcomes"].get("customer") or "customer"
        outcomes = pd.DataFrame(index=outcomes_raw.index)
        if _need_column(outcomes_raw, ocust, outcomes_file, "tables.outcomes.customer", problems):
            outcomes["customer"] = outcomes_raw[ocust].astype("string").str.strip()
            dup = outcomes["customer"].duplicated(keep=False)
            if dup.any():
                problems.append(StudyError(
                    "duplicate customers in the outcomes table.", file=outcomes_file, column=ocust,
                    rows=_rows(dup), expected="one row per customer",
                    fix="aggregate the outcomes to one row per customer."))
    sources = {"survey": (survey, survey_file), "outcomes": (outcomes_raw, outcomes_file)}
    specs: dict[str, Outcome] = {}
    for name, spec in (reading.config.get("outcomes") or {}).items():
        spec = spec or {}
        outcome = _outcome_spec(reading, name, spec, sources)
        if outcome is None:
            continue
        specs[name] = outcome
        src, src_file = sources[outcome.table]
        if not _need_column(src, outcome.column, src_file, f"outcome '{name}'", problems):
            continue
        values = _outcome_values(reading, outcome, spec, src, src_file)
        if outcome.table == "survey":
            respondents[name] = values
        elif outcomes is not None:
            outcomes[name] = values
    return specs, outcomes


def read_events(reading: Reading, events_raw, events_file, catalog, respondents, outcomes):
    """The event log, typed and checked against the catalog and the respondents (or None)."""
    tables, problems = reading.tables, reading.problems
    events = None
    if events_raw is not None:
        events = _build_events(tables["events"], events_raw, events_file, catalog, problems)
    if events is not None and (tables.get("survey") or outcomes is not None):
        _match_customers(events, events_raw, tables["events"], events_file, respondents,
                         outcomes, problems, reading.warnings)
    starts = ((reading.config.get("journeys") or {}).get("events") or {}).get("starts") or []
    known = set(catalog["touchpoint"])
    for tp in [str(t) for t in starts if str(t) not in known]:
        problems.append(StudyError(
            f"journeys.events.starts names touchpoint '{tp}', which is not in the catalog.",
            file=reading.file, fix=closest(tp, sorted(known))))
    return events


def check_branding(reading: Reading) -> None:
    """``branding``: a #rrggbb colour and a logo image inside the study folder."""
    problems, cfg_file, root = reading.problems, reading.file, reading.root
    branding = reading.config.get("branding") or {}
    colour = branding.get("primary_colour")
    if colour is not None and not re.fullmatch(r"#[0-9a-fA-F]{6}", str(colour)):
        problems.append(StudyError(f"branding.primary_colour is {colour!r}.", file=cfg_file,
                                   expected="a colour as #rrggbb, e.g. '#1f5f8b' (quoted)"))
    if not branding.get("logo"):
        return
    logo = root / str(branding["logo"])
    if not inside(root, logo, "branding.logo", problems, cfg_file):
        return
    if not logo.is_file():
        problems.append(StudyError("logo file not found.", file=logo,
                                   fix="check branding.logo (relative to the study folder)."))
    elif not _is_image(logo):
        problems.append(StudyError(
            "branding.logo is not an image file.", file=logo,
            expected="a PNG, JPEG, GIF, WebP or SVG image",
            fix="point branding.logo at the logo image."))
    else:
        reading.inputs.append(logo)


def check_schema(reading: Reading) -> None:
    """The typed definition (:mod:`cx_helpers.schema`) has the last word on every value."""
    if reading.problems:
        return
    for where, what, meaning in schema_problems(reading.config):
        reading.problems.append(StudyError(
            f"'{where}': {what}.", file=reading.file, expected=meaning or None,
            fix="correct the value (see data/README.md, or `cx schema`)."))
