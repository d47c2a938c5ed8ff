"""``cx init``: draft a study from a survey export.

:func:`classify` reads an export (:func:`cx_helpers.readers.read_export`) and gives each column a
role: a rating item with its scale, a 0-10 recommend item, yes/no, a segment, the respondent id,
a date, free text or other personal data, a weight, or a number left unused. :func:`draft_study`
writes a study folder: the export copied in and a commented ``study.yaml`` proposing touchpoints
and outcomes from the labels and scales, not-applicable codes from value labels and declared
missing values, and, at the top, the list of what the user must confirm. Free text and personal
data go under ``pii:``, which the loader never reads.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from cx_helpers.errors import StudyError
from cx_helpers.readers import Export, read_export

__all__ = ["Column", "Draft", "classify", "draft_study", "scale_order"]

ROLES = ("recommend", "rating", "yes/no", "segment", "id", "date", "free text", "personal data",
         "weight", "number", "constant", "many categories")

_NA_LABEL = re.compile(
    r"\b(don[’'`]?t know|do not know|dk|not applicable|n/?a|refused|refuse|prefer not|rather not|"
    r"no answer|not sure|unsure|can[’'`]?t say|cannot say|no opinion|does not apply|"
    r"not used|never used|haven[’'`]?t used|did not use|no experience)\b", re.I)
_PII_NAME = re.compile(
    r"(e-?mail|first_?name|last_?name|full_?name|surname|recipient|phone|telephone|ip_?address|"
    r"ipaddress|latitude|longitude|street|postcode|post_?code|zip|address|^name$|\bname\b)", re.I)
_ID_NAME = re.compile(r"(^|[_\s])(id|respondent|responseid|response_?id|respondent_?id|"
                      r"case_?id|record)$|^(responseid|respondent id|r?id|resp_?id|caseid|"
                      r"serial|u?uid|guid)$", re.I)
_WEIGHT_NAME = re.compile(r"^(weight|wgt|wt|weights?_\w+|\w+_weight)$", re.I)
_DATE_NAME = re.compile(r"(date|time|timestamp)", re.I)
_RECOMMEND = re.compile(r"recomm[ae]nd|\bnps\b|net promoter|likelihood|likely", re.I)
_OUTCOME = re.compile(r"overall|recommend|\bnps\b|likel|loyal|renew|stay|continue|again|"
                      r"repurchase|return|switch|churn|^(loy|ltr|osat|csat|sat)(_?\d+)?$", re.I)
_BLOCK = re.compile(r"^([A-Za-z]+)_?\d+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NUMBER = re.compile(r"^\s*[-+]?\d+(\.\d+)?\s*$")
_LEADING_NUMBER = re.compile(r"^\s*(\d{1,2})\b(?!\s*(%|to\b|-\s*\d|years))")
_NA_NUMBERS = {7, 8, 9, 96, 97, 98, 99, 996, 997, 998, 999}

# polarity words of rating scales, and intensity words: a label's score orders a text scale
_POLE = [(re.compile(p, re.I), s) for p, s in (
    (r"\bdissatisf|\bunsatisf", -1), (r"\bsatisf", 1), (r"\bdisagree", -1), (r"\bagree", 1),
    (r"\bdifficult|\bhard\b", -1), (r"\beasy\b", 1), (r"\bunlikely\b", -1), (r"\blikely\b", 1),
    (r"\bterrible\b|\bawful\b", -2), (r"\bpoor\b|\bbad\b", -1),
    (r"\bexcellent\b|\boutstanding\b", 3),
    (r"\bgood\b", 1), (r"\bunhelpful\b", -1), (r"\bhelpful\b", 1), (r"\bunimportant\b", -1),
    (r"\bimportant\b", 1), (r"\bworse\b", -1), (r"\bbetter\b", 1), (r"\bnever\b", -2),
    (r"\brarely\b", -1), (r"\bsometimes\b", 0), (r"\boften\b", 1), (r"\balways\b", 2))]
_NEUTRAL = re.compile(r"\bneither\b|\bneutral\b|\bfair\b|\baverage\b|\bok\b|\bokay\b|"
                      r"\bsomewhat\b.*\bnor\b|\bmixed\b", re.I)
_STRONG = re.compile(r"\bvery\b|\bextremely\b|\bcompletely\b|\bstrongly\b|\btotally\b|"
                     r"\bhighly\b|\bmuch\b|\bnot at all\b", re.I)
_WEAK = re.compile(r"\bsomewhat\b|\bslightly\b|\bfairly\b|\bquite\b|\bmostly\b|\brather\b", re.I)
_NEGATE = re.compile(r"\bnot (at all )?(very )?", re.I)
_YES = {"yes", "y", "true", "1", "selected", "checked"}
_NO = {"no", "n", "false", "0", "not selected", "unchecked"}


def _label_score(label: str) -> float | None:
    """A text scale label's position: negative to positive (None: not a scale label)."""
    text = str(label).strip()
    if _NEUTRAL.search(text) and not _STRONG.search(text):
        return 0.0
    base = None
    for pattern, s in _POLE:
        if pattern.search(text):
            base = s
            break
    if base is None:
        return None
    if _NEGATE.search(text) and base > 0 and not re.search(r"dissatisf|disagree|unlikely", text,
                                                           re.I):
        base = -base
    if abs(base) >= 2:
        return float(base)
    if _STRONG.search(text):
        return base * 2.0
    if _WEAK.search(text):
        return base * 1.0
    return base * 1.5 if re.search(r"satisf|agree|likely|easy|difficult", text, re.I) else \
        float(base)


def scale_order(labels) -> dict[str, int] | None:
    """Text labels of a rating scale -> scores 1..k in scale order, or None when not a scale.

    Labels such as ``Very dissatisfied ... Very satisfied``, ``Strongly disagree ... Strongly
    agree``, ``Very difficult ... Very easy``, ``Poor, Fair, Good, Very good, Excellent``, or labels
    starting with their number (``0 - Not at all likely``). At least three labels, each with its
    own position.
    """
    labels = [str(x) for x in labels]
    if len(labels) < 3:
        return None
    lead = [_LEADING_NUMBER.match(x) for x in labels]
    if all(lead):
        nums = [int(m.group(1)) for m in lead]
        if len(set(nums)) == len(nums):
            return dict(sorted(zip(labels, nums), key=lambda kv: kv[1]))
        return None
    scores = [_label_score(x) for x in labels]
    if any(s is None for s in scores) or len(set(scores)) != len(scores):
        return None
    if min(scores) >= 0 or max(scores) <= 0:
        return None
    ranked = sorted(set(scores))
    order = {x: ranked.index(s) + 1 for x, s in zip(labels, scores)}
    return dict(sorted(order.items(), key=lambda kv: kv[1]))


@dataclass
class Column:
    """A column of the export and the role the draft gives it."""

    name: str
    label: str
    role: str
    scale: tuple[int, int] | None = None
    na_codes: list = field(default_factory=list)
    values: dict | None = None
    positive: str | None = None
    distinct: int = 0
    answered: int = 0
    note: str = ""
    group: str | None = None
    item: str | None = None


@dataclass
class Draft:
    """What ``cx init`` proposes: the export read, each column's role, the config text."""

    export: Export
    columns: list[Column]
    text: str
    confirm: list[str]
    path: Path | None = None


def _numbers(values: pd.Series):
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    if len(text) == 0 or not text.str.match(_NUMBER).all():
        return None
    return pd.to_numeric(text).astype(float)


def _is_date(values: pd.Series) -> bool:
    text = values.dropna().astype(str).str.strip().head(200)
    if len(text) == 0 or text.str.match(_NUMBER).any():
        return False
    parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    return parsed.notna().mean() >= 0.95


def _code(x: float):
    return int(x) if float(x).is_integer() else float(x)


def _split_label(label: str):
    """``"Satisfaction with: Network coverage"`` -> ("Satisfaction with", "Network coverage")."""
    for sep in (": ", " - ", " – "):
        if sep in label:
            head, tail = label.split(sep, 1)
            if head.strip() and tail.strip():
                return head.strip(), tail.strip()
    return None, label


def _classify_one(name: str, values: pd.Series, export: Export, n_rows: int) -> Column:
    label = export.labels.get(name) or name
    vl = export.value_labels.get(name) or {}
    declared = list(export.missing.get(name) or [])
    na = list(dict.fromkeys(declared + [code for code, lab in vl.items()
                                        if _NA_LABEL.search(lab)]))
    present = values.dropna().astype(str).str.strip()
    present = present[present != ""]
    answered = int(len(present))
    distinct = int(present.nunique())
    col = Column(name=name, label=label, role="number", distinct=distinct, answered=answered)
    text_na = sorted({v for v in present.unique() if _NA_LABEL.fullmatch(v.strip()) or
                      _NA_LABEL.search(v) and len(v) < 30 and not _NUMBER.match(v)})
    low = f"{name} {label}"
    if _PII_NAME.search(name) or (name != label and _PII_NAME.search(label) and
                                  re.search(r"e-?mail|phone|address|name", label, re.I)
                                  and distinct > 0.5 * answered):
        col.role, col.note = "personal data", "its name or label names personal data"
        return col
    if name in export.open_text:
        col.role, col.note = "free text", "open answers (may hold personal data)"
        return col
    if len(present) and present.head(500).str.match(_EMAIL).mean() >= 0.5:
        col.role, col.note = "personal data", "it holds e-mail addresses"
        return col
    if _ID_NAME.search(name) and distinct == answered == n_rows:
        col.role = "id"
        return col
    nums = _numbers(present)
    if answered == 0 or distinct <= 1:
        col.role, col.note = "constant", ("empty" if answered == 0 else "one value only")
        if nums is None and answered and name in export.text_columns:
            col.role, col.note = "free text", "text (may hold personal data)"
        return col
    if nums is not None:
        if _WEIGHT_NAME.search(name) and (nums > 0).all():
            col.role = "weight"
            return col
        codes = nums
        na_set = set()
        for c in na:
            try:
                na_set.add(float(c))
            except (TypeError, ValueError):
                pass
        for lo, hi in export.missing_ranges.get(name, []):
            na_set |= {float(x) for x in codes.unique() if lo <= x <= hi}
        valid = codes[~codes.isin(na_set)]
        distinct_valid = sorted(valid.unique())
        is_int = bool((valid == valid.round()).all())
        labelled = {float(k): v for k, v in vl.items() if _NUMBER.match(k)
                    and float(k) not in na_set}
        if set(distinct_valid) <= {0.0, 1.0} and len(distinct_valid) == 2 or (
                len(distinct_valid) == 2 and labelled and {str(v).strip().lower() for v in
                                                           labelled.values()} <= _YES | _NO):
            col.role = "yes/no"
            pos = [k for k, v in labelled.items() if str(v).strip().lower() in _YES]
            col.positive = str(_code(pos[0])) if pos else str(_code(max(distinct_valid)))
            col.na_codes = [_code(x) for x in sorted(na_set)]
            return col
        label_scale = scale_order(labelled.values()) if len(labelled) >= 3 else None
        if labelled and label_scale is None and not all(
                _NUMBER.match(str(v)) or _LEADING_NUMBER.match(str(v)) or
                _label_score(v) is not None for v in labelled.values()):
            # labelled categories that are not a scale: a segment
            col.role = "segment" if 2 <= distinct <= 15 else "many categories"
            return col
        lo, hi = (min(distinct_valid), max(distinct_valid))
        if labelled:
            lo, hi = min(lo, min(labelled)), max(hi, max(labelled))
        if is_int and not labelled and len(distinct_valid) >= 3 and 0 <= lo and hi <= 10:
            top = distinct_valid[-1]
            rest = distinct_valid[:-1]
            if top in _NA_NUMBERS and rest and top - rest[-1] >= 2 and rest[-1] <= 7:
                na_set.add(top)
                hi = rest[-1]
                col.note = f"{_code(top)} taken as a 'not applicable' code (it stands apart)"
        if is_int and not labelled and _RECOMMEND.search(low) and 0 <= lo <= 3 and 7 <= hi <= 10:
            hi, lo = 10, 0  # a 0-10 recommend question whose ends nobody chose in this export
        if is_int and 0 <= lo and hi <= 10 and hi - lo >= 2 and len(distinct_valid) >= 3:
            col.scale = (int(lo), int(hi))
            col.na_codes = [_code(x) for x in sorted(na_set)]
            if (int(lo), int(hi)) == (0, 10) and _RECOMMEND.search(low):
                col.role = "recommend"
            else:
                col.role = "rating"
            return col
        if is_int and 2 <= distinct <= 15 and not _DATE_NAME.search(name) and hi <= 100 \
                and export.measure.get(name) == "nominal":
            col.role = "segment"
            return col
        if 0 <= lo and hi <= 100 and (not is_int or hi == 100) and len(distinct_valid) >= 5 \
                and not labelled and not _DATE_NAME.search(name) and "duration" not in \
                low.lower():
            col.role, col.scale = "rating", (0, 100)
            col.na_codes = [_code(x) for x in sorted(na_set)]
            return col
        col.role = "number"
        col.note = "a number that is not a rating scale"
        return col
    if _is_date(present):
        col.role = "date"
        return col
    choices = [v for v in present.unique() if v not in text_na]
    order = scale_order(choices)
    if order:
        col.role = "rating"
        col.values = order
        col.scale = (min(order.values()), max(order.values()))
        col.na_codes = text_na
        if col.scale == (0, 10) and _RECOMMEND.search(low):
            col.role = "recommend"
        return col
    lowered = {v.lower() for v in choices}
    if len(lowered) == 2 and lowered <= _YES | _NO and lowered & _YES:
        col.role = "yes/no"
        col.positive = next(v for v in choices if v.lower() in _YES)
        col.na_codes = text_na
        return col
    if name in export.text_columns or distinct > 15:
        mean_len = present.str.len().mean()
        if distinct > 0.3 * answered or mean_len > 25:
            col.role, col.note = "free text", "open answers (may hold personal data)"
            return col
        col.role = "many categories"
        return col
    col.role = "segment"
    return col


def classify(export: Export) -> list[Column]:
    """Give each column of an export a role (see :data:`ROLES`), its scale and N/A codes.

    Rating items sharing a label prefix (``"Satisfaction with: ..."``) form a group, used as
    their stage; a 0-10 item named or labelled as likelihood to recommend is the recommend item.
    """
    table = export.table
    cols = [_classify_one(c, table[c], export, len(table)) for c in table.columns]
    heads = {}
    for c in cols:
        if c.role in ("rating", "recommend"):
            head, tail = _split_label(c.label)
            c.group, c.item = head, tail
            if head:
                heads[head] = heads.get(head, 0) + 1
    for c in cols:
        if c.group and heads.get(c.group, 0) < 2:
            c.group, c.item = None, c.label
    # without labels, items named as a block (ima1, ima2, qua1...) form a group by name
    prefix = {}
    for c in cols:
        m = _BLOCK.match(c.name)
        if c.role in ("rating", "recommend") and not c.group and c.label == c.name and m:
            prefix[c.name] = m.group(1)
    counts = pd.Series(list(prefix.values()), dtype=object).value_counts()
    for c in cols:
        if c.name in prefix and counts.get(prefix[c.name], 0) >= 2:
            c.group = prefix[c.name]
    return cols


# ----------------------------------------------------------------------------------------------
# the draft study.yaml
# ----------------------------------------------------------------------------------------------

def _y(value) -> str:
    """One YAML flow value (quoted where YAML would misread it)."""
    text = yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, width=10**6,
                          sort_keys=False)
    return text.strip()[1:-1].strip()


def _key(name: str, taken: set) -> str:
    key = re.sub(r"[^0-9a-z]+", "_", str(name).lower()).strip("_") or "item"
    if key[0].isdigit():
        key = f"q{key}"
    base, i = key, 2
    while key in taken:
        key, i = f"{base}_{i}", i + 1
    taken.add(key)
    return key


def _short(text: str, n: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3].rstrip() + "..."


def _comment(text: str) -> str:
    return " ".join(str(text).split()).replace("\n", " ")


def _outcome_choice(cols: list[Column]):
    """The outcome items: the recommend item(s), else ratings whose label names an outcome."""
    rec = [c for c in cols if c.role == "recommend"]
    named = [c for c in cols if c.role == "rating" and (
        _OUTCOME.search(c.name) and (not c.group or c.label == c.name)
        or _OUTCOME.search(c.label) and not c.group)]
    if rec:
        return rec[:1] + [c for c in named if c not in rec]
    if named:
        return named
    yn = [c for c in cols if c.role == "yes/no"
          and (_OUTCOME.search(c.name) or _OUTCOME.search(c.label))]
    return yn[:1]


def render(export: Export, cols: list[Column], table_path: str, name: str, fmt: str | None,
           options: dict) -> tuple[str, list[str]]:
    """The commented ``study.yaml`` text and the list of what to confirm."""
    outcomes = _outcome_choice(cols)
    out_names = {c.name for c in outcomes}
    ratings = [c for c in cols if c.role in ("rating", "recommend") and c.name not in out_names]
    segments = [c for c in cols if c.role == "segment"]
    pii = [c for c in cols if c.role in ("free text", "personal data")]
    ids = [c for c in cols if c.role == "id"]
    weights = [c for c in cols if c.role == "weight"]
    confirm = []
    if outcomes:
        confirm.append("the outcome" + ("s " if len(outcomes) > 1 else " ") +
                       ", ".join(f"{c.name} ({_short(c.label, 40)})" for c in outcomes))
    else:
        confirm.append("NO outcome was found: name the outcome column under outcomes:")
    confirm.append(f"{len(ratings)} rating items as touchpoints, their scales and stages")
    nas: dict[str, list[str]] = {}
    for c in ratings + outcomes:
        for code in c.na_codes:
            vl = export.value_labels.get(c.name, {})
            what = f"{code} = {vl[str(code)]}" if str(code) in vl else f"{code}"
            nas.setdefault(what, []).append(c.name)
    if nas:
        confirm.append("the not-applicable codes " + "; ".join(
            f"{what} ({', '.join(cs[:3])}{', ...' if len(cs) > 3 else ''}: {len(cs)} items)"
            for what, cs in nas.items()))
    if any(c.values for c in ratings + outcomes):
        confirm.append("the order of text scales (values:)")
    if segments:
        confirm.append("the segments " + ", ".join(c.name for c in segments))
    if pii:
        confirm.append("the columns never read (pii:) " + ", ".join(c.name for c in pii))
    lines = [
        f"# Drafted by `cx init` from {export.path.name} ({export.format}). Check it, then run",
        f"# `cx validate` and `cx run` on this folder. CONFIRM: " + "; ".join(confirm) + ".",
    ]
    for note in export.notes:
        lines.append(f"# Read: {_comment(note)}.")
    lines += ["", f"name: {_y(name)}", "min_base: 30", "", "tables:", "  survey:",
              f"    path: {_y(table_path)}"]
    if fmt:
        lines.append(f"    format: {fmt}")
    for key in ("sheet", "delimiter", "encoding"):
        if options.get(key) is not None:
            lines.append(f"    {key}: {_y(options[key])}")
    if ids:
        lines.append(f"    id: {_y(ids[0].name)}" + "   # unique on every row")
    else:
        lines.append("    # no id column found: respondents are numbered by row")
    taken: set = set()
    groups = list(dict.fromkeys(c.group or "survey" for c in ratings))
    if ratings:
        lines += ["", "stages: " + _y(groups) +
                  "   # groups of rating items (from their labels or names)"]
    lines += ["", "touchpoints:" + ("" if ratings else " {}   # no rating items found")]
    for c in ratings:
        key = _key(c.name, taken)
        item = c.item or c.label
        spec = {"column": c.name, "label": _short(item, 80), "stage": c.group or "survey",
                "scale": list(c.scale)}
        if c.na_codes:
            spec["na_codes"] = c.na_codes
        if c.values:
            spec["values"] = c.values
        lines.append(f"  {key}: " + _y(spec))
        if c.note:
            lines.append(f"    # {c.name}: {_comment(c.note)}")
    lines += ["", "outcomes:" + ("" if outcomes else " {}   # CONFIRM: none found")]
    for c in outcomes:
        key = _key("ltr" if c.role == "recommend" else c.name, taken)
        if c.role == "recommend":
            spec = {"column": c.name, "kind": "nps", "label": _short(c.label, 80)}
        elif c.role == "yes/no":
            spec = {"column": c.name, "kind": "binary", "label": _short(c.label, 80),
                    "positive": c.positive}
        else:
            spec = {"column": c.name, "kind": "ordinal" if c.scale[1] - c.scale[0] <= 10
                    else "continuous", "label": _short(c.label, 80), "scale": list(c.scale)}
            if c.values:
                spec["values"] = c.values
        if c.na_codes:
            spec["na_codes"] = c.na_codes
        lines.append(f"  {key}: " + _y(spec))
    lines += ["", "segments: " + _y([c.name for c in segments]) +
              ("   # " + "; ".join(f"{c.name}: {_short(c.label, 40)}" for c in segments)
               if segments else "")]
    if weights:
        lines.append(f"weight: {_y(weights[0].name)}")
    lines.append("pii: " + _y([c.name for c in pii]) +
                 "   # free text and personal data: never read, never in a report")
    lines += ["", f"# Every column of the export ({len(cols)}), as classified:"]
    width = max((len(c.name) for c in cols), default=4)
    for c in cols:
        what = c.role
        if c.scale:
            what += f" {c.scale[0]}-{c.scale[1]}"
        if c.na_codes:
            what += f", N/A {c.na_codes}"
        if c.role == "yes/no":
            what += f", yes = {c.positive}"
        if c.role == "segment":
            what += f", {c.distinct} values"
        if c.note:
            what += f" ({c.note})"
        label = "" if c.label == c.name else f"  ({_comment(_short(c.label, 60))})"
        lines.append(f"#   {c.name:<{width}}  {_comment(what)}{label}")
    unused = [c.name for c in cols if c.role in ("yes/no", "date", "number", "constant",
                                                   "many categories")]
    if unused:
        lines.append("# Not used by the draft: " + ", ".join(unused) + " (make a yes/no an "
                     "outcome with kind: binary, a category a segment, if the study needs it).")
    return "\n".join(lines) + "\n", confirm


def draft_study(source, out, *, format: str | None = None, sheet: str | None = None,
                name: str | None = None) -> Draft:
    """Write a study folder drafted from a survey export: the file copied in, ``study.yaml``.

    Parameters
    ----------
    source : str or Path
        The export (SPSS, Stata, Qualtrics, SurveyMonkey, Excel, CSV, Parquet).
    out : str or Path
        The study folder to write; created, and must not already hold a ``study.yaml``.
    format : str, optional
        Force the reader (see :data:`cx_helpers.readers.FORMATS`).
    sheet : str, optional
        Excel: the sheet to read.
    name : str, optional
        The study's name (default: the folder's name).

    Returns
    -------
    Draft

    Raises
    ------
    StudyError
        When the file cannot be read, or ``out`` already holds a study.
    """
    source, out = Path(source), Path(out)
    export = read_export(source, format, sheet=sheet)
    cols = classify(export)
    if (out / "study.yaml").exists():
        raise StudyError("the folder already holds a study.yaml.", file=out / "study.yaml",
                         fix="give a new folder with --out, or move the existing study.yaml.")
    if out.exists() and not out.is_dir():
        raise StudyError("--out names a file, not a folder.", file=out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / source.name
    if not (target.exists() and target.resolve() == source.resolve()):
        if target.exists():
            raise StudyError(f"the folder already holds a different {source.name}.", file=target,
                             fix="give a new folder with --out.")
        shutil.copyfile(source, target)
    detected = export.format
    suffix_default = {".sav": "spss", ".zsav": "spss", ".dta": "stata", ".xlsx": "excel",
                      ".xlsm": "excel", ".parquet": "parquet"}.get(source.suffix.lower(), "csv")
    plain_csv = detected == "csv" and export.options.get("delimiter") == "," and \
        str(export.options.get("encoding", "")).startswith("utf-8") and \
        not any("header on row" in n for n in export.notes)
    fmt = None if (detected == suffix_default and detected != "csv") or plain_csv else detected
    options = {}
    if fmt in ("csv", "qualtrics", "surveymonkey") and detected != "excel":
        if export.options.get("delimiter") not in (None, ","):
            options["delimiter"] = export.options["delimiter"]
        if export.options.get("encoding") and not str(export.options["encoding"]).startswith(
                "utf-8"):
            options["encoding"] = export.options["encoding"]
    if export.options.get("sheet") and sheet is not None:
        options["sheet"] = export.options["sheet"]
    text, confirm = render(export, cols, source.name, name or out.resolve().name, fmt, options)
    (out / "study.yaml").write_text(text, encoding="utf-8")
    return Draft(export=export, columns=cols, text=text, confirm=confirm, path=out / "study.yaml")
