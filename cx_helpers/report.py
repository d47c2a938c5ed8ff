"""The client report: one self-contained HTML page built from a run's notebooks and tables.

The page holds a title block (client, study, date), an executive summary written from the run's
tables, a table of contents, the three notebooks' narratives and figures with no code, and a
method appendix. Figures and the logo are embedded, and no script or style is loaded from the
network, so the file opens offline (for example from an e-mail attachment).

The page is nbconvert's HTML export with the template shipped in ``cx_helpers/templates/cx_report``
(JupyterLab's, extended): the title block, summary, contents and appendix are its blocks, filled
from the exporter's resources; :class:`ReportPreprocessor` shapes the cells (sections a study
cannot have, stderr and widget outputs). No HTML is edited after the export.
"""

from __future__ import annotations

import base64
import copy
import mimetypes
import shutil
import subprocess
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
from nbconvert.preprocessors import Preprocessor

from cx_helpers.display import p_text
from cx_helpers.layout import MANIFEST, SUMMARY, TABLE_SUFFIX, Table
from cx_helpers.metrics import value_text
from cx_helpers.outputs import write_csv

__all__ = ["ReportPreprocessor", "TEMPLATES", "TEMPLATE_NAME", "available_inputs", "build_report",
           "executive_summary", "find_chromium", "markdown_headings", "print_pdf",
           "report_exporter"]

DEFAULT_COLOUR = "#1f5f8b"
# the report's nbconvert template, shipped with the package (package data)
TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "cx_report"
# progress bars in a notebook are widgets: live feedback, not part of a report
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _read(tables: Path, name: str) -> pd.DataFrame | None:
    """A run table, or None when the run did not write it.

    An empty file (no header) reads as an empty table, so a section whose notebook wrote
    nothing says so instead of failing the report.
    """
    path = Path(tables) / f"{name}{TABLE_SUFFIX}"
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _has(frame: pd.DataFrame | None, *columns: str) -> bool:
    """True when the table has rows and every one of ``columns``."""
    return frame is not None and len(frame) > 0 and all(c in frame.columns for c in columns)


def _label_list(labels) -> str:
    labels = [str(x) for x in labels]
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def _inline(label) -> str:
    """A label inside a sentence: first letter lower case unless it starts an acronym."""
    text = str(label)
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _cap(text) -> str:
    text = str(text).strip()
    return text[:1].upper() + text[1:]


def _outcome_items(tables: Path, min_base: int) -> list[tuple[str, str]]:
    """Where the study stands on each outcome (``outcomes.csv``), else the NPS (``nps.csv``)."""
    overall = _read(tables, Table.OUTCOMES)
    items = []
    if _has(overall, "outcome", "metric", "value", "low", "high", "n"):
        for _, r in overall.iterrows():
            topic = str(r.get("outcome_label", r["outcome"]))
            measure = str(r.get("measure", "")) or r["metric"]
            if pd.isna(r["value"]) or r["n"] < min_base:
                items.append((topic, f"suppressed: fewer than {min_base} answers."))
                continue
            items.append((topic, f"{measure} {value_text(r['metric'], r['value'])} (95 % CI "
                                 f"{value_text(r['metric'], r['low'])} to "
                                 f"{value_text(r['metric'], r['high'])}; n = {int(r['n']):,})."))
        return items
    nps = _read(tables, Table.NPS)
    if _has(nps, "value", "low", "high", "n"):
        row = nps.iloc[0]
        topic = str(row["outcome_label"]) if "outcome_label" in nps else "Net Promoter Score"
        if pd.isna(row["value"]) or row["n"] < min_base:
            return [(topic, f"suppressed: fewer than {min_base} answers.")]
        return [(topic, f"NPS {row['value']:+.1f} (95 % CI {row['low']:+.1f} to "
                        f"{row['high']:+.1f}; n = {int(row['n']):,}).")]
    return [("Outcomes", "the study has no survey outcome to report.")]


def _segment_item(tables: Path) -> list[tuple[str, str]]:
    """The segment differences that survive the report-wide correction."""
    tests = _read(tables, Table.SEGMENT_TESTS)
    if tests is None:
        tests = _read(tables, Table.NPS_SEGMENT_TESTS)
    if not _has(tests, "by", "segment", "diff", "low", "high", "p_adjusted", "significant"):
        return [("Segments", "not compared in this study (no segment variable with two or "
                             "more values, or no survey outcome).")]
    made = tests[tests["p"].notna()] if "p" in tests else tests
    if made.empty:
        return [("Segments", "no segment had a large enough base to be compared.")]
    size = int(tests["family_size"].iloc[0]) if "family_size" in tests else len(made)
    sig = made[made["significant"].astype(bool)]   # in the table's order: outcome by outcome
    if sig.empty:
        return [("Segments", f"no segment differs from the rest of the respondents on any "
                             f"outcome once all {size} segment tests are corrected together "
                             f"(Holm).")]
    parts = []
    for _, r in sig.head(4).iterrows():
        metric = str(r.get("metric", "nps"))
        on = f" on {_inline(r['outcome_label'])}" if "outcome_label" in sig else ""
        other = ("the rest of the respondents" if str(r.get("other", "(rest)")) == "(rest)"
                 else f"{r['by']} {r['other']}")
        unit = {"nps": " NPS points", "top_box": " percentage points"}.get(metric, "")
        scale = 100 if metric == "top_box" else 1
        digits = 2 if metric == "mean" else 1
        parts.append(f"{r['by']} {r['segment']}: {scale * r['diff']:+.{digits}f}{unit}{on} "
                     f"against {other} (95 % CI {scale * r['low']:+.{digits}f} to "
                     f"{scale * r['high']:+.{digits}f}; adjusted {p_text(r['p_adjusted'])})")
    more = f"; {len(sig) - 4} more in the segment tables" if len(sig) > 4 else ""
    return [("Segments", f"{len(sig)} of the {size} segment tests show a difference once all "
                         f"are corrected together (Holm): {'; '.join(parts)}{more}.")]


def _segments_beside(imp: pd.DataFrame) -> list[tuple[str, str]]:
    """One sentence when segments outweigh every touchpoint in the split beside them
    (``lmg_segments`` rows of the first outcome): who the respondents are matters more."""
    if not _has(imp, "method", "level", "share", "label"):
        return []
    part = imp[(imp["outcome"] == imp["outcome"].iloc[0]) & (imp["method"] == "lmg_segments")]
    segs = part[part["level"] == "segment"].sort_values("share", ascending=False)
    tps = part[part["level"] == "driver"]
    if segs.empty or tps.empty or segs["share"].iloc[0] <= tps["share"].max():
        return []
    lead = segs[segs["share"] > tps["share"].max()]
    names = [f"{r['label']} ({r['share']:.0f} %)" for _, r in lead.iterrows()]
    name = str(part["outcome_label"].iloc[0]) if "outcome_label" in part else ""
    return [("Segments beside the touchpoints",
             f"who the respondents are explains more of {_inline(name)} than any touchpoint: "
             f"{_label_list(names)} of the explained variance, against at most "
             f"{tps['share'].max():.0f} % for a touchpoint, when segments and touchpoints are "
             "split together. Touchpoint importances partly stand in for these segments.")]


def _driver_items(tables: Path) -> tuple[list[tuple[str, str]], str | None, list[str]]:
    """Top drivers of the first outcome (negative ones said to go the other way)."""
    imp = _read(tables, Table.IMPORTANCE)
    if not _has(imp, "outcome", "method", "importance"):
        return ([("Key drivers", "not analysed in this study (it needs survey ratings of the "
                                 "touchpoints and an outcome).")], None, [])
    beside = _segments_beside(imp)
    if "level" in imp:
        imp = imp[imp["level"].fillna("driver") == "driver"]
    outcome = imp["outcome"].iloc[0]
    part = imp[imp["outcome"] == outcome]
    method = "lmg" if "lmg" in set(part["method"]) else part["method"].iloc[0]
    part = part[part["method"] == method].dropna(subset=["importance"])
    label_col = "label" if "label" in part else "driver"
    name = str(part["outcome_label"].iloc[0]) if "outcome_label" in part else str(outcome)
    sign = part["sign"] if "sign" in part else pd.Series(1.0, index=part.index)
    share = part["share"] if "share" in part else 100 * part["importance"] / \
        part["importance"].sum()
    # "direction" reads the sign against the outcome's good direction (better: lower for churn)
    good = (part["direction"].fillna("") != "negative") if "direction" in part else \
        (sign.fillna(1.0) >= 0)
    part = part.assign(_sign=sign.fillna(1.0), _share=share, _good=good)
    top = part[part["_good"]].nlargest(3, "importance")
    rises = "higher" if (top["_sign"] >= 0).all() else "lower"
    what = "LMG: share of the explained variance" if method == "lmg" else \
        f"{method}: share of the explained variance"
    names = [f"{r[label_col]} ({r['_share']:.0f} %)" for _, r in top.iterrows()]
    items = [("Key drivers", f"of {_inline(name)}: {_label_list(names)} ({what}); higher "
                             f"ratings of them go with {rises} {_inline(name)}."
              if names else f"of {_inline(name)}: no touchpoint goes with a better "
                            f"{_inline(name)}.")]
    negative = part[~part["_good"]]
    cut = top["importance"].min() if len(top) else 0.0
    negative = negative[negative["importance"] >= cut].nlargest(3, "importance")
    if len(negative):
        names = [f"{r[label_col]} ({r['_share']:.0f} %)" for _, r in negative.iterrows()]
        verb = "goes" if len(negative) == 1 else "go"
        items.append(("Drivers that go the other way",
                      f"{_label_list(names)} {verb} the other way: respondents who rate "
                      f"{'it' if len(negative) == 1 else 'them'} higher report "
                      f"{'lower' if (negative['_sign'] < 0).all() else 'higher'} "
                      f"{_inline(name)}, other ratings equal. Improving "
                      f"{'it' if len(negative) == 1 else 'them'} is not indicated by this "
                      "association."))
    return items + beside, name, list(top[label_col])


def _fix_items(tables: Path, outcome_name: str | None) -> list[tuple[str, str]]:
    """Fix first (priority map) and the pain-point ranking, with a word when they differ."""
    pmap = _read(tables, Table.PRIORITY_MAP)
    inv = _read(tables, Table.INVENTORY)
    items = []
    fix = []
    if _has(pmap, "quadrant", "importance"):
        col = "label" if "label" in pmap else "driver"
        chosen = pmap[pmap["quadrant"] == "fix first"]
        if "direction" in chosen:
            chosen = chosen[chosen["direction"].fillna("") != "negative"]
        elif "sign" in chosen:
            chosen = chosen[chosen["sign"].fillna(1.0) >= 0]
        fix = list(chosen.sort_values("importance", ascending=False, kind="stable")[col])
        of = f"for {_inline(outcome_name)}" if outcome_name else ""
        if fix:
            shown = fix[:5]
            more = f" (and {len(fix) - 5} more in the priority map)" if len(fix) > 5 else ""
            items.append(("Fix first", f"{_label_list(shown)}{more}: above-average importance "
                                       f"{of} and below-average mean rating.".replace("  ", " ")))
        else:
            items.append(("Fix first", "no touchpoint is both above average in importance and "
                                       "below average in rating."))
    elif pmap is not None:
        items.append(("Fix first", "no touchpoint could be placed on the priority map."))
    pain = []
    if _has(inv, "pain_rank", "label"):
        ranked = inv.dropna(subset=["pain_rank"]).sort_values("pain_rank", kind="stable")
        pain = list(ranked["label"].head(3))
    if pain and not fix:
        items.append(("Pain points", f"{_label_list(pain)} rank highest on the pain-point score "
                                     "(reach x share not satisfied x the outcome gap between "
                                     "satisfied and dissatisfied raters)."))
    elif pain and fix and pain != fix[:len(pain)]:
        items.append(("Pain points", f"the inventory's pain-point ranking puts "
                                     f"{_label_list(pain)} first: it also weighs how many "
                                     "customers meet a touchpoint and how many of them are not "
                                     "satisfied, where the priority map weighs each touchpoint's "
                                     "share of the explained variance against its mean rating."))
    elif pain and fix:
        items.append(("Pain points", f"the inventory's pain-point ranking agrees: "
                                     f"{_label_list(pain)} first."))
    return items


def _journey_items(tables: Path) -> list[tuple[str, str]]:
    verdicts = _read(tables, Table.JOURNEY_VERDICTS)
    if not _has(verdicts, "outcome", "sentence"):
        return [("Journeys vs touchpoints", "not compared in this study.")]
    items = []
    shown = verdicts
    if "verdict" in verdicts:
        shown = verdicts[verdicts["verdict"] != "neither predicts"]
    for _, r in shown.iterrows():
        label = r["label"] if "label" in shown and pd.notna(r.get("label")) else r["outcome"]
        summaries = str(r.get("basis", "")) == "touchpoint summaries"
        topic = (f"Summaries of touchpoint ratings ({label})" if summaries
                 else f"Journeys vs touchpoints ({label})")
        text = _cap(r["sentence"])
        items.append((topic, text if text.endswith(".") else text + "."))
    if shown.empty:
        items.append(("Journeys vs touchpoints", "neither journey nor touchpoint measures "
                                                 "predict any outcome of the study out of "
                                                 "sample, so the study cannot say which "
                                                 "predicts better."))
    return items


def _event_items(tables: Path) -> list[tuple[str, str]]:
    """What an event log shows: journeys by type and the periods that stand out."""
    items = []
    types = _read(tables, Table.JOURNEY_TYPES)
    if _has(types, "type", "journeys"):
        t = types.sort_values("journeys", ascending=False, kind="stable")
        parts = [f"{r['type']} {int(r['journeys']):,}" for _, r in t.head(5).iterrows()]
        more = f" and {len(t) - 5} more types" if len(t) > 5 else ""
        items.append(("Journeys", f"{int(t['journeys'].sum()):,} journeys reconstructed from the "
                                  f"event log, by type: {', '.join(parts)}{more}."))
    runs = _read(tables, Table.JOURNEY_STANDOUTS)
    if runs is not None:
        if not _has(runs, "measure", "step", "direction", "first", "last", "rate", "baseline"):
            items.append(("Periods that stand out", "none: no period's rate differs from the "
                                                    "other periods' beyond chance (Holm-"
                                                    "corrected)."))
        else:
            parts = []
            for _, r in runs.head(3).iterrows():
                group = str(r.get("group", "all"))
                where = "" if group in ("all", "nan") else f" ({group})"
                first, last = str(r["first"])[:10], str(r["last"])[:10]
                when = (f"in the period starting {first}" if first == last
                        else f"from {first} to {last}")
                parts.append(f"{r['measure']} at {r['step']}{where} {r['direction']} the other "
                             f"periods {when}: {100 * r['rate']:.1f} % against "
                             f"{100 * r['baseline']:.1f} %")
            more = f"; {len(runs) - 3} more in the timeline table" if len(runs) > 3 else ""
            items.append(("Periods that stand out", "; ".join(parts) + more + "."))
    return items


def executive_summary(tables_dir, min_base: int = 30) -> list[tuple[str, str]]:
    """The executive summary, sentence by sentence, written from a run's tables.

    Every number comes from a table of the run and every name from the study's own labels
    (outcome labels, touchpoint labels, segment values, journey types). A section whose table
    the run did not write, or wrote empty, says so in one line.

    Parameters
    ----------
    tables_dir : str or Path
        A run's ``tables/`` folder.
    min_base : int, default 30
        An outcome resting on fewer answers is reported as suppressed.

    Returns
    -------
    list of (str, str)
        ``(topic, sentence)`` pairs, in order: each outcome's overall value
        (``outcomes.csv``, else ``nps.csv``); the segment differences that hold after the
        report-wide correction (``segment_tests.csv``); the key drivers of the first outcome,
        and those that go the other way (``importance.csv``); fix first (``priority_map.csv``)
        and the pain-point ranking (``inventory.csv``), with one sentence on why they differ
        when they do; the journey-versus-touchpoint verdict per outcome where a measure predicts
        it (``journey_verdicts.csv``); journeys and the periods that stand out (event logs).
    """
    tables = Path(tables_dir)
    survey = any(_has(_read(tables, n)) for n in (Table.OUTCOMES, Table.NPS, Table.IMPORTANCE))
    items = []
    if survey:
        items += _outcome_items(tables, min_base)
        items += _segment_item(tables)
        drivers, outcome_name, _ = _driver_items(tables)
        items += drivers
        items += _fix_items(tables, outcome_name)
    else:
        items.append(("Survey", "the study has no survey, so no outcome, segment or key-driver "
                                "results: what follows comes from the event log."))
        items += _fix_items(tables, None)
    items += _journey_items(tables)
    items += _event_items(tables)
    return items


class _Headings(HTMLParser):
    """The h1/h2 headings of rendered markdown: (level, id, text), the anchor link left out."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[dict] = []
        self._open: dict | None = None
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("h1", "h2") and attrs.get("id"):
            self._open = {"level": int(tag[1]), "id": attrs["id"], "text": ""}
        elif self._open is not None and tag == "a" and "anchor-link" in (attrs.get("class") or ""):
            self._skip += 1

    def handle_endtag(self, tag):
        if self._open is not None and tag == "a" and self._skip:
            self._skip -= 1
        elif self._open is not None and tag == f"h{self._open['level']}":
            self._open["text"] = " ".join(self._open["text"].split())
            self.found.append(self._open)
            self._open = None

    def handle_data(self, data):
        if self._open is not None and not self._skip:
            self._open["text"] += data


def markdown_headings(source: str) -> list[dict]:
    """The h1 and h2 headings of a markdown text as nbconvert renders them.

    Returns
    -------
    list of dict
        ``{"level": 1 or 2, "id": anchor id, "text": plain text}``, in order; the ids are the
        ones nbconvert gives the headings in the page, so a table of contents can link to them.
    """
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    parser = _Headings()
    parser.feed(markdown2html_mistune(source))
    parser.close()
    return parser.found


def _unmet(cell, available) -> bool:
    needs = [t[len("needs-"):] for t in cell.get("metadata", {}).get("tags", [])
             if t.startswith("needs-")]
    return available is not None and any(n not in available for n in needs)


def _heading_only(cell):
    """A prose cell of a section the study cannot have: its heading stays (the code below it
    says in one line why the section is empty), its explanation goes."""
    cell = copy.deepcopy(cell)
    cell.source = "\n".join(line for line in cell.source.splitlines() if line.startswith("#"))
    return cell


class ReportPreprocessor(Preprocessor):
    """Shape executed notebooks into the report (registered by the ``cx_report`` template).

    - A markdown cell tagged ``needs-X`` keeps only its heading when X is not in
      ``resources["cx"]["available"]`` (:func:`available_inputs`; absent or None keeps every
      cell); a cell left empty goes.
    - Code cells lose their stderr streams and widget outputs (progress bars: live feedback,
      not part of a report), and the notebook its widget state.
    - The h1/h2 headings of the remaining markdown go to ``resources["cx"]["headings"]``, for
      the table of contents.

    Cells tagged ``parameters``, ``injected-parameters`` or ``remove-cell`` are removed before,
    by nbconvert's ``TagRemovePreprocessor`` (see the template's ``conf.json``).
    """

    def preprocess(self, nb, resources):
        cx = resources.get("cx") or {}
        available = cx.get("available")
        cells = []
        headings = []
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                if _unmet(cell, available):
                    cell = _heading_only(cell)
                    if not cell.source:
                        continue
                headings += markdown_headings(cell.source)
            elif cell.cell_type == "code":
                cell = copy.deepcopy(cell)
                cell.outputs = [o for o in cell.outputs
                                if not (o.output_type == "stream" and o.name == "stderr")
                                and WIDGET_MIME not in o.get("data", {})]
            cells.append(cell)
        nb.cells = cells
        nb.metadata.pop("widgets", None)
        resources["cx"] = {**cx, "headings": headings}
        return nb, resources


def _logo_uri(logo: Path | None) -> str:
    """The logo as a ``data:`` URI (embedded: the page loads nothing), or ``""``."""
    if logo is None:
        return ""
    mime = mimetypes.guess_type(logo.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(logo.read_bytes()).decode('ascii')}"


def _family(tables: Path | None) -> dict | None:
    """What the multiplicity paragraph states: which tests were corrected together (None when
    the run has no segment tests)."""
    tests = None
    if tables is not None:
        tests = _read(tables, Table.SEGMENT_TESTS)
        if not _has(tests, "p"):
            tests = _read(tables, Table.NPS_SEGMENT_TESTS)
    if not _has(tests, "p", "by"):
        return None
    made = tests[tests["p"].notna()]
    size = int(tests["family_size"].iloc[0]) if "family_size" in tests else len(made)
    method = str(tests["correction"].iloc[0]) if "correction" in tests else "holm"
    method = {"holm": "Holm", "bonferroni": "Bonferroni", "fdr_bh": "Benjamini-Hochberg"}.get(
        method, method)
    outcomes = (_label_list(pd.unique(made["outcome_label"].astype(str)))
                if "outcome_label" in made else "")
    return {"size": size, "method": method, "outcomes": outcomes,
            "variables": _label_list(pd.unique(made["by"].astype(str)))}


def _appendix(params: dict, n_respondents: int, tables=None) -> dict:
    """What the template's method appendix (block ``cx_appendix``) states."""
    return {"n_respondents": int(n_respondents or 0),
            "min_base": params.get("min_base", 30),
            "family": _family(Path(tables) if tables else None),
            "parameters": [(str(k), str(v)) for k, v in params.items()
                           if k not in ("study", "output_dir")],
            "manifest": MANIFEST}


def available_inputs(study) -> set[str]:

    """What a study's inputs allow, as the names notebook cells are tagged with (``needs-X``).

    ``survey`` (respondents), ``ratings`` (rated touchpoints), ``outcomes`` (an outcome known for
    respondents), ``drivers`` (ratings and outcomes), ``segments`` (a segment with two values or
    more), ``events``, ``journeys`` (declared) and ``compare`` (a survey and journeys, declared
    or rebuilt from the events).
    """
    have = set()
    frame = study.respondents
    if len(frame):
        have.add("survey")
        if study.rated_touchpoints:
            have.add("ratings")
        if any(name in frame and frame[name].notna().any() for name in study.outcome_specs):
            have.add("outcomes")
        if any(frame[s].nunique() > 1 for s in study.segments):
            have.add("segments")
        if study.journeys:
            have.add("journeys")
    if {"ratings", "outcomes"} <= have:
        have.add("drivers")
    if study.events is not None and len(study.events):
        have.add("events")
    if "survey" in have and have & {"journeys", "events"}:
        have.add("compare")
    return have


def build_report(executed, out_path, *, title: str, client: str = "", study_name: str = "",
                 tables_dir=None, params=None, n_respondents: int = 0, colour: str | None = None,
                 logo=None, run_id: str = "", available: set[str] | None = None) -> Path:
    """Join executed notebooks into one self-contained HTML report with no code.

    The page is nbconvert's HTML export of the joined notebooks with the packaged template
    ``cx_report`` (``cx_helpers/templates/cx_report``): its blocks hold the title block, the
    executive summary, the contents and the method appendix, filled from the exporter's
    resources; its :class:`ReportPreprocessor` shapes the cells. Figures and the logo are
    embedded and no script is loaded from the network.

    Parameters
    ----------
    executed : list of Path
        Executed notebooks, in report order.
    out_path : Path
        Where to write the HTML file.
    title : str
        The page title.
    client, study_name, run_id : str
        Shown in the title block.
    tables_dir : Path, optional
        The run's ``tables/``: the executive summary is written from it (and saved there as
        ``summary.csv``). Without it the page has no summary.
    params : dict, optional
        The run's parameters (listed in the method appendix; ``min_base`` used for suppression).
    n_respondents : int
        For the method appendix.
    colour : str, optional
        Primary colour (``#rrggbb``) from the study's branding.
    logo : Path, optional
        Logo image file, embedded in the title block.
    available : set of str, optional
        What the study's inputs allow (:func:`available_inputs`): prose cells tagged
        ``needs-X`` for an X not available keep only their heading. None keeps every cell.

    Returns
    -------
    Path
        ``out_path``.
    """
    params = params or {}
    merged = None
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        if merged is None:
            merged = nb
        else:
            merged.cells.extend(nb.cells)
    merged.metadata["title"] = title

    summary = executive_summary(tables_dir, params.get("min_base", 30)) if tables_dir else None
    date = datetime.now(timezone.utc).strftime("%d %B %Y")
    resources = {"cx": {
        "title": title, "client": client, "colour": colour or DEFAULT_COLOUR,
        "logo": _logo_uri(Path(logo) if logo else None),
        "meta": [x for x in (f"Study: {study_name}", date, f"run {run_id}" if run_id else "")
                 if x],
        "summary": summary, "available": available,
        "appendix": _appendix(params, n_respondents, tables_dir)}}
    body, _ = report_exporter().from_notebook_node(merged, resources=resources)
    out_path = Path(out_path)
    out_path.write_text(body, encoding="utf-8")
    if tables_dir:
        write_csv(pd.DataFrame(summary, columns=["topic", "sentence"]),
                  Path(tables_dir) / f"{SUMMARY}{TABLE_SUFFIX}")
    return out_path


def report_exporter():
    """nbconvert's HTML exporter with the packaged ``cx_report`` template: no code, no prompts,
    images embedded (found in ``cx_helpers/templates``, from a source tree or an install)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name=TEMPLATE_NAME, extra_template_basedirs=[str(TEMPLATES)],
                        exclude_input=True, exclude_input_prompt=True,
                        exclude_output_prompt=True, embed_images=True)


def find_chromium() -> str | None:
    """Path of a Chromium executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")


def print_pdf(html_path, pdf_path, chromium: str | None = None) -> Path:
    """Print an HTML report to PDF with headless Chromium.

    Raises
    ------
    RuntimeError
        When Chromium is missing or fails.
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise RuntimeError("PDF output needs Chromium: install Debian's package with "
                           "`apt-get install chromium`, then rerun with --pdf.")
    import tempfile

    with tempfile.TemporaryDirectory() as profile:
        res = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                              "--no-pdf-header-footer", f"--print-to-pdf={pdf_path}",
                              Path(html_path).resolve().as_uri()],
                             capture_output=True, text=True, timeout=120)
    if res.returncode != 0 or not Path(pdf_path).is_file():
        raise RuntimeError(f"Chromium could not print the PDF: {res.stderr.strip()[-500:]}")
    return Path(pdf_path)
