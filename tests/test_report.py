"""The client report: summary from the tables, self-contained HTML, a real browser, PDF."""

from __future__ import annotations

import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from cx_helpers import report, runner
from cx_helpers.report import executive_summary


def _tables(tmp_path, **tables):
    for name, rows in tables.items():
        pd.DataFrame(rows).to_csv(tmp_path / f"{name}.csv", index=False)
    return tmp_path


_NUMBER = re.compile(r"(?<![\w.])[+-]?\d[\d,]*(?:\.\d+)?")


def _numbers(text) -> list[str]:
    """The numbers written in a sentence, normalised (no sign, no thousands separator)."""
    return [n.lstrip("+-").replace(",", "") for n in _NUMBER.findall(str(text))]


def _allowed(tables_dir, extra=()) -> set[str]:
    """Every way the summary may write a number of the run's tables: the cells as they are, to
    0-3 decimals, x100 for shares, and the numbers inside text cells (labels, sentences)."""
    out = {"95"} | {str(x) for x in extra}
    for path in tables_dir.glob("*.csv"):
        if path.name == "summary.csv" or path.stat().st_size == 0:
            continue
        t = pd.read_csv(path)
        out |= {n for c in t.columns for n in _numbers(c)}
        for col in t.columns:
            values = t[col].dropna()
            if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
                for v in values.astype(float):
                    for x in (v, 100 * v):
                        out |= {f"{abs(x):.{k}f}" for k in range(4)}
            else:
                for v in values.astype(str):
                    out |= set(_numbers(v))
    return out


def _assert_numbers_from_tables(items, tables_dir, extra=()):
    allowed = _allowed(tables_dir, extra)
    for topic, sentence in items:
        # "p < 0.001" is a threshold, not a number of the tables
        for n in _numbers(str(sentence).replace("p < 0.001", "")):
            assert n in allowed, f"{topic}: {n} in {sentence!r} is in no table of the run"


@pytest.fixture
def hand_made(tmp_path):
    """Small tables of every kind the summary reads, with known numbers."""
    return _tables(
        tmp_path,
        outcomes=[
            {"outcome": "ltr", "outcome_label": "Likelihood to recommend", "kind": "nps",
             "measure": "NPS", "metric": "nps", "value": 12.345, "low": 8.1, "high": 16.6,
             "n": 812, "n_eff": 790.0, "suppressed": False},
            {"outcome": "sat", "outcome_label": "Overall satisfaction", "kind": "ordinal",
             "measure": "top-2-box share (4-5)", "metric": "top_box", "value": 0.6123,
             "low": 0.5791, "high": 0.6447, "n": 812, "n_eff": 790.0, "suppressed": False},
            {"outcome": "tiny", "outcome_label": "Renewed", "kind": "binary",
             "measure": "share yes", "metric": "top_box", "value": None, "low": None,
             "high": None, "n": 12, "n_eff": None, "suppressed": True}],
        segment_tests=[
            {"outcome": "ltr", "outcome_label": "Likelihood to recommend", "by": "plan",
             "segment": "premium", "other": "(rest)", "metric": "nps", "diff": 22.53,
             "low": 14.78, "high": 30.27, "p": 1e-8, "p_adjusted": 4e-7, "significant": True,
             "family_size": 6, "correction": "holm"},
            {"outcome": "sat", "outcome_label": "Overall satisfaction", "by": "region",
             "segment": "West", "other": "(rest)", "metric": "top_box", "diff": -0.0412,
             "low": -0.0712, "high": -0.0112, "p": 0.004, "p_adjusted": 0.02,
             "significant": True, "family_size": 6, "correction": "holm"},
            {"outcome": "ltr", "outcome_label": "Likelihood to recommend", "by": "region",
             "segment": "East", "other": "(rest)", "metric": "nps", "diff": 1.7,
             "low": -6.2, "high": 9.7, "p": 0.66, "p_adjusted": 1.0, "significant": False,
             "family_size": 6, "correction": "holm"}],
        importance=[
            {"outcome": "ltr", "outcome_label": "Likelihood to recommend", "driver": "a",
             "label": "Billing call", "method": "lmg", "importance": 0.08, "share": 40.0,
             "sign": 1, "level": "driver"},
            {"outcome": "ltr", "outcome_label": "Likelihood to recommend", "driver": "b",
             "label": "Chat", "method": "lmg", "importance": 0.02, "share": 10.0, "sign": 1,
             "level": "driver"},
            {"outcome": "ltr", "outcome_label": "Likelihood to recommend", "driver": "c",
             "label": "App", "method": "lmg", "importance": 0.05, "share": 25.0, "sign": 1,
             "level": "driver"},
            {"outcome": "ltr", "outcome_label": "Likelihood to recommend", "driver": "e",
             "label": "Upsell call", "method": "lmg", "importance": 0.06, "share": 30.0,
             "sign": -1, "level": "driver"},
            {"outcome": "ltr", "outcome_label": "Likelihood to recommend", "driver": "d",
             "label": "Shop", "method": "lmg", "importance": 0.01, "share": 5.0, "sign": 1,
             "level": "driver"},
            {"outcome": "ltr", "outcome_label": "Likelihood to recommend", "driver": "a",
             "label": "Billing call", "method": "johnson", "importance": 0.5, "share": 99.0,
             "sign": 1, "level": "driver"}],
        priority_map=[
            {"driver": "a", "label": "Billing call", "importance": 40.0, "performance": 3.1,
             "quadrant": "fix first", "sign": 1},
            {"driver": "e", "label": "Upsell call", "importance": 30.0, "performance": 2.1,
             "quadrant": "fix first", "sign": -1},
            {"driver": "c", "label": "App", "importance": 25.0, "performance": 4.4,
             "quadrant": "maintain", "sign": 1}],
        inventory=[
            {"touchpoint": "c", "label": "App", "pain_rank": 1},
            {"touchpoint": "a", "label": "Billing call", "pain_rank": 2},
            {"touchpoint": "b", "label": "Chat", "pain_rank": None}],
        journey_verdicts=[
            {"outcome": "ltr", "label": "likelihood to recommend", "verdict": "journeys",
             "basis": "direct rating", "sentence": "journey measures explain 31 % more."},
            {"outcome": "sat", "label": "overall satisfaction", "verdict": "no difference",
             "basis": "touchpoint summaries",
             "sentence": "journey scores here are summaries of the same touchpoint ratings"},
            {"outcome": "tiny", "label": "renewed", "verdict": "neither predicts",
             "basis": "direct rating", "sentence": "neither predicts renewed"}])


def test_summary_is_written_from_the_tables(hand_made):
    items = executive_summary(hand_made)
    d = dict(items)
    # every outcome in its own unit, by its own label; a small base is suppressed
    assert d["Likelihood to recommend"] == "NPS +12.3 (95 % CI +8.1 to +16.6; n = 812)."
    assert d["Overall satisfaction"] == ("top-2-box share (4-5) 61.2 % (95 % CI 57.9 % to "
                                         "64.5 %; n = 812).")
    assert d["Renewed"] == "suppressed: fewer than 30 answers."
    # the segment differences that hold in the report-wide family, in their units
    assert d["Segments"] == (
        "2 of the 6 segment tests show a difference once all are corrected together (Holm): "
        "plan premium: +22.5 NPS points on likelihood to recommend against the rest of the "
        "respondents (95 % CI +14.8 to +30.3; adjusted p < 0.001); region West: -4.1 "
        "percentage points on overall satisfaction against the rest of the respondents (95 % CI "
        "-7.1 to -1.1; adjusted p = 0.020).")
    # top drivers: positive ones only, LMG, in order of importance; the negative one apart
    assert d["Key drivers"] == (
        "of likelihood to recommend: Billing call (40 %), App (25 %) and Chat (10 %) (LMG: "
        "share of the explained variance); higher ratings of them go with higher likelihood to "
        "recommend.")
    assert d["Drivers that go the other way"].startswith(
        "Upsell call (30 %) goes the other way: respondents who rate it higher report lower "
        "likelihood to recommend")
    # fix first leaves out the negative driver; the pain ranking differs and says why
    assert d["Fix first"].startswith("Billing call: above-average importance for likelihood "
                                     "to recommend")
    assert "Upsell call" not in d["Fix first"]
    assert d["Pain points"].startswith("the inventory's pain-point ranking puts App and "
                                       "Billing call first: it also weighs how many customers")
    # journeys: "neither predicts" left out, touchpoint summaries not called journeys
    assert d["Journeys vs touchpoints (likelihood to recommend)"] == \
        "Journey measures explain 31 % more."
    assert "Summaries of touchpoint ratings (overall satisfaction)" in d
    assert not any("renewed" in topic for topic, _ in items)
    # no raw ids, no words from another study
    text = " ".join(f"{t} {s}" for t, s in items).lower()
    for word in ("(ltr)", "loyalty", "awareness", "onboarding", "transition"):
        assert word not in text
    _assert_numbers_from_tables(items, hand_made, extra=[2, 6])


def test_lower_is_better_outcome_reads_its_direction(tmp_path):
    """A churn-like outcome (better: lower): a rating that goes with MORE of it is negative."""
    base = {"outcome": "churn", "outcome_label": "Churned", "method": "lmg", "level": "driver"}
    t = _tables(
        tmp_path,
        importance=[
            {**base, "driver": "a", "label": "Billing call", "importance": 0.05, "share": 50.0,
             "sign": -1, "direction": "positive"},
            {**base, "driver": "b", "label": "Upsell call", "importance": 0.03, "share": 30.0,
             "sign": 1, "direction": "negative"},
            {**base, "driver": "c", "label": "Chat", "importance": 0.02, "share": 20.0,
             "sign": -1, "direction": "positive"}],
        priority_map=[
            {"driver": "a", "label": "Billing call", "importance": 50.0, "performance": 3.1,
             "quadrant": "fix first", "sign": -1, "direction": "positive"},
            {"driver": "b", "label": "Upsell call", "importance": 30.0, "performance": 2.1,
             "quadrant": "fix first", "sign": 1, "direction": "negative"}])
    d = dict(executive_summary(t))
    assert d["Key drivers"] == ("of churned: Billing call (50 %) and Chat (20 %) (LMG: share of "
                                "the explained variance); higher ratings of them go with lower "
                                "churned.")
    assert d["Drivers that go the other way"].startswith(
        "Upsell call (30 %) goes the other way: respondents who rate it higher report higher "
        "churned")
    assert "Upsell call" not in d["Fix first"] and d["Fix first"].startswith("Billing call")


def test_fix_first_and_pain_points_that_agree_say_so(hand_made):
    _tables(hand_made, inventory=[{"touchpoint": "a", "label": "Billing call", "pain_rank": 1}])
    assert dict(executive_summary(hand_made))["Pain points"] == \
        "the inventory's pain-point ranking agrees: Billing call first."


def test_summary_suppresses_small_bases(tmp_path):
    t = _tables(tmp_path, nps=[{"value": 50.0, "low": 20.0, "high": 80.0, "n": 12, "n_eff": 12}])
    items = dict(executive_summary(t, min_base=30))
    assert items["Net Promoter Score"] == "suppressed: fewer than 30 answers."
    t = _tables(tmp_path, nps=[{"outcome": "ltr", "outcome_label": "Would recommend",
                                "value": 50.0, "low": 20.0, "high": 80.0, "n": 45}])
    assert dict(executive_summary(t, min_base=30))["Would recommend"] == \
        "NPS +50.0 (95 % CI +20.0 to +80.0; n = 45)."


def test_summary_copes_with_empty_and_headerless_tables(tmp_path):
    """A notebook may write a table with a header and no rows, or an empty file."""
    (tmp_path / "importance.csv").write_text("")
    (tmp_path / "priority_map.csv").write_text("driver,label,importance,performance,quadrant\n")
    (tmp_path / "segment_tests.csv").write_text("")
    (tmp_path / "journey_verdicts.csv").write_text("outcome,label,verdict,sentence\n")
    (tmp_path / "journey_timeline_standouts.csv").write_text("")
    _tables(tmp_path, nps=[{"value": 5.0, "low": 1.0, "high": 9.0, "n": 400}])
    d = dict(executive_summary(tmp_path))
    assert d["Net Promoter Score"] == "NPS +5.0 (95 % CI +1.0 to +9.0; n = 400)."
    assert d["Key drivers"].startswith("not analysed in this study")
    assert d["Fix first"] == "no touchpoint could be placed on the priority map."
    assert d["Segments"].startswith("not compared in this study")
    assert d["Journeys vs touchpoints"] == "not compared in this study."
    assert d["Periods that stand out"].startswith("none")
    # each absent section in one sentence
    assert all(s.count(". ") == 0 for s in d.values())


def test_summary_of_an_events_only_study(tmp_path):
    t = _tables(
        tmp_path,
        journey_types=[{"type": "support", "journeys": 2068, "customers": 1672},
                       {"type": "billing", "journeys": 1569, "customers": 1569}],
        journey_timeline_standouts=[
            {"by": "platform", "group": "ios", "measure": "conversion", "step": "checkout",
             "direction": "below", "first": "2026-03-02", "last": "2026-03-09", "periods": 2,
             "n": 812, "x": 300, "rate": 0.3695, "low": 0.33, "high": 0.40,
             "baseline": 0.6124}])
    items = executive_summary(t)
    d = dict(items)
    assert d["Survey"].startswith("the study has no survey")
    assert d["Journeys"] == ("3,637 journeys reconstructed from the event log, by type: "
                             "support 2,068, billing 1,569.")
    assert d["Periods that stand out"] == (
        "conversion at checkout (ios) below the other periods from 2026-03-02 to 2026-03-09: "
        "37.0 % against 61.2 %.")
    assert "Key drivers" not in d and "Net Promoter Score" not in d
    _assert_numbers_from_tables(items, t, extra=[3637])


class _Page(HTMLParser):
    """What a test reads from a report page: ids, links, scripts, meta tags, the text of a part."""

    def __init__(self, page):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.scripts, self.meta, self.text = [], [], [], {}, []
        self.toc, self._in_toc, self._style = [], False, False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "a" and a.get("href", "").startswith("#"):
            self.links.append(a["href"][1:])
        if tag == "script":
            self.scripts.append(a)
        if tag == "meta" and "name" in a:
            self.meta[a["name"]] = a.get("content")
        if tag == "nav" and "cx-toc" in a.get("class", ""):
            self._in_toc = True
        self._style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "nav":
            self._in_toc = False
        self._style = False

    def handle_data(self, data):
        if not self._style:
            self.text.append(data)
        if self._in_toc and data.strip():
            self.toc.append(data.strip())


def _cell_nb(path, cells, **metadata):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata.update(metadata)
    nbformat.write(nb, path)
    return path


def test_report_page_comes_from_the_packaged_template(hand_made, tmp_path):
    """Title block, summary, the notebooks' sections and the appendix, in that order, from the
    cx_report template; no code, no stderr, no widgets, no script from anywhere."""
    import nbformat

    v4 = nbformat.v4
    output_cell = v4.new_code_cell("print('kept output')\nraise_noise()", outputs=[
        v4.new_output("stream", name="stdout", text="kept output\n"),
        v4.new_output("stream", name="stderr", text="noise on stderr\n"),
        v4.new_output("display_data", data={report.WIDGET_MIME: {"model_id": "abc123"},
                                            "text/plain": "progress bar"}),
        v4.new_output("display_data", data={"text/html": "<table class='cx-table'><tr><td>"
                                                         "a table cell</td></tr></table>"})])
    nb = _cell_nb(tmp_path / "nb.ipynb", [
        v4.new_code_cell("study = 'parameter cell'", metadata={"tags": ["parameters"]},
                         outputs=[v4.new_output("stream", name="stdout", text="PARAM OUT\n")]),
        v4.new_markdown_cell("Internal note.", metadata={"tags": ["remove-cell"]}),
        v4.new_markdown_cell("# 1. Section one\n\nIntro prose of section one."),
        output_cell,
        v4.new_markdown_cell("## Events & journeys\n\nEvent prose goes.",
                             metadata={"tags": ["needs-events"]})],
        widgets={"application/vnd.jupyter.widget-state+json": {"state": {"abc123": {}}}})
    out = report.build_report([nb], tmp_path / "r.html", title="Study of <Acme & Co>",
                              client="Acme <b>", study_name="s1", tables_dir=hand_made,
                              params={"study": "/x", "min_base": 30, "n_boot": 30},
                              n_respondents=812, run_id="run-7", available={"survey"})
    page = out.read_text()
    parsed = _Page(page)
    text = " ".join("".join(parsed.text).split())
    # the packaged template, and nothing that runs or loads: no script at all
    assert parsed.meta["generator"] == "cx_helpers report template cx_report"
    assert parsed.scripts == [] and "cdnjs" not in page and "require.js" not in page
    assert "widget-state" not in page and "abc123" not in page and "progress bar" not in page
    # no code, no parameters cell, no stderr; outputs and tables stay
    assert "raise_noise" not in page and "parameter cell" not in page
    assert "PARAM OUT" not in page and "Internal note" not in page     # tagged cells: gone
    assert "noise on stderr" not in page
    assert "kept output" in text and "a table cell" in text
    # the study's words are escaped, never markup
    assert "<h1>Study of &lt;Acme &amp; Co&gt;</h1>" in page and "Acme &lt;b&gt;" in page
    assert "Study: s1" in text and "run run-7" in text
    # the order: title, summary, contents, sections, appendix
    spots = [text.index(x) for x in ("Study of <Acme & Co>", "Executive summary", "Contents",
                                     "Intro prose of section one")] + \
        [text.rindex("Method appendix")]          # the contents name it first
    assert spots == sorted(spots)
    # the summary, sentence by sentence, from the tables (and saved beside them)
    summary = executive_summary(hand_made)
    saved = pd.read_csv(hand_made / "summary.csv")
    assert list(saved.itertuples(index=False, name=None)) == summary
    for topic, sentence in summary:
        assert f"{topic}: {sentence}" in text
    # a section the study cannot have keeps its heading, in the contents too
    assert "Event prose goes" not in text
    assert parsed.toc == ["Contents", "Executive summary", "1. Section one", "Events & journeys",
                          "Method appendix"]
    assert parsed.links and all(link in parsed.ids for link in parsed.links)
    # the appendix: the family of tests, the parameters, the manifest
    appendix = text[text.index("Method appendix", spots[-1]):]
    assert "All 6 segment tests of this report of Likelihood to recommend and Overall " \
           "satisfaction, over the segment variables plan and region" in appendix
    assert "(Holm)" in appendix and "not a test" in appendix
    assert "812 survey respondents" in appendix and "fewer than 30 answers" in appendix
    assert "n_boot = 30" in appendix and "study =" not in appendix
    assert "manifest.json lists the input files" in appendix
    assert "may be due to chance" not in appendix and "at stake per customer" not in appendix


def test_report_without_tables_has_no_summary_and_a_study_without_tests_says_so(tmp_path):
    import nbformat

    nb = _cell_nb(tmp_path / "nb.ipynb", [nbformat.v4.new_markdown_cell("# Only section")])
    parsed = _Page(report.build_report([nb], tmp_path / "r.html", title="T").read_text())
    text = " ".join("".join(parsed.text).split())
    assert "executive-summary" not in parsed.ids and "Executive summary" not in text
    assert parsed.toc == ["Contents", "Only section", "Method appendix"]
    assert "The study has no segment tests, so nothing was corrected." in text
    assert "No survey: every result comes from the event log." in text


def test_events_sections_of_the_real_notebook_are_cut_for_a_study_without_events(tmp_path):
    """Notebook 03's prose cells tagged needs-events: only their headings are left when the study
    has no event log, and all of them are there when it has one."""
    import nbformat

    nb_path = runner.NOTEBOOK_DIR / "03_journey_vs_touchpoint.ipynb"
    cells = [c for c in nbformat.read(nb_path, as_version=4).cells
             if "needs-events" in c.metadata.get("tags", [])]
    assert cells
    prose = [line for c in cells for line in c.source.splitlines()
             if line.strip() and not line.startswith("#")]
    headings = [line.lstrip("#").strip() for c in cells for line in c.source.splitlines()
                if line.startswith("#")]
    assert prose and headings

    def page(available):
        out = report.build_report([nb_path], tmp_path / "r.html", title="T",
                                  available=available)
        return " ".join("".join(_Page(out.read_text()).text).split())

    def words(line):   # a prose line as plain text: markdown marks left out
        return " ".join(re.sub(r"[*_`\[\]]|\(http[^)]*\)", "", line).split())[:60]

    without = page({"survey", "ratings", "outcomes", "drivers", "journeys", "compare"})
    with_events = page({"survey", "ratings", "outcomes", "drivers", "journeys", "compare",
                        "events"})
    for heading in headings:
        assert words(heading) in without and words(heading) in with_events
    shown = [line for line in prose if words(line)[:40] in with_events]
    assert len(shown) >= len(prose) // 2       # the check reads the page's text
    for line in shown:
        assert words(line)[:40] not in without, line


def test_template_is_found_in_the_package(tmp_path):
    exporter = report.report_exporter()
    template = Path(exporter.template.filename)
    assert template == report.TEMPLATES / "cx_report" / "index.html.j2"
    assert (report.TEMPLATES / "cx_report" / "conf.json").is_file()
    # the template's own preprocessors: nbconvert's tag removal and the report's
    kinds = {type(p).__name__ for p in exporter._preprocessors if p.enabled}
    assert {"TagRemovePreprocessor", "ReportPreprocessor"} <= kinds


def test_markdown_headings_match_nbconvert_ids():
    found = report.markdown_headings("# 2. Key drivers: what's *first*\n\ntext\n\n## A & B\n"
                                     "### Not listed")
    assert found == [{"level": 1, "id": "2.-Key-drivers:-what's-first",
                      "text": "2. Key drivers: what's first"},
                     {"level": 2, "id": "A-&-B", "text": "A & B"}]


@pytest.mark.slow
def test_summary_of_a_real_run_matches_its_tables(two_runs):
    tables = two_runs[0] / "tables"
    summary = pd.read_csv(tables / "summary.csv")
    items = list(summary.itertuples(index=False, name=None))
    d = dict(items)
    overall = pd.read_csv(tables / "outcomes.csv")
    for _, r in overall.iterrows():
        sentence = d[r["outcome_label"]]
        if r["metric"] == "nps":
            assert f"NPS {r['value']:+.1f} (95 % CI {r['low']:+.1f} to {r['high']:+.1f}" \
                in sentence
        elif r["metric"] == "top_box":
            assert f"{100 * r['value']:.1f} % (95 % CI {100 * r['low']:.1f} %" in sentence
        assert f"n = {int(r['n']):,}" in sentence
    tests = pd.read_csv(tables / "segment_tests.csv")
    sig = tests[tests["significant"]]
    # one family for the whole report; the NPS file keeps the report-wide adjustment
    assert tests["family_size"].eq(tests["p"].notna().sum()).all()
    assert len(set(tests["outcome"])) == len(overall) and len(set(tests["by"])) == 3
    nps_tests = pd.read_csv(tables / "nps_segment_tests.csv")
    ltr = tests[tests["outcome"] == nps_tests["outcome"].iloc[0]]
    assert nps_tests["p_adjusted"].to_numpy() == pytest.approx(ltr["p_adjusted"].to_numpy())
    assert d["Segments"].startswith(f"{len(sig)} of the {tests['p'].notna().sum()} segment "
                                    "tests")
    for _, r in sig.sort_values("p_adjusted").head(4).iterrows():
        assert f"{r['by']} {r['segment']}:" in d["Segments"]
    imp = pd.read_csv(tables / "importance.csv")
    first = imp[(imp["outcome"] == imp["outcome"].iloc[0]) & (imp["method"] == "lmg")]
    if "level" in first:
        first = first[first["level"] == "driver"]
    if "sign" in first:
        first = first[first["sign"] >= 0]
    top = first.nlargest(3, "importance")
    expected = ", ".join(f"{r['label']} ({r['share']:.0f} %)" for _, r in top.iloc[:2].iterrows())
    assert expected in d["Key drivers"]
    pmap = pd.read_csv(tables / "priority_map.csv")
    fix = pmap[pmap["quadrant"] == "fix first"].sort_values("importance", ascending=False)
    assert d["Fix first"].startswith(fix["label"].iloc[0])
    inv = pd.read_csv(tables / "inventory.csv").sort_values("pain_rank")
    assert inv["label"].iloc[0] in d["Pain points"]
    counts = [len(sig), max(len(sig) - 4, 0), max(len(fix) - 5, 0)]
    types = pd.read_csv(tables / "journey_types.csv")
    counts.append(int(types["journeys"].sum()))         # the journeys of all types
    assert f"{int(types['journeys'].sum()):,} journeys" in d["Journeys"]
    runs = tables / "journey_timeline_standouts.csv"
    if runs.stat().st_size:
        counts.append(len(pd.read_csv(runs)) - 3)        # "N more in the timeline table"
    _assert_numbers_from_tables(items, tables, extra=counts)
    assert "(ltr)" not in " ".join(summary["topic"])


@pytest.mark.slow
def test_report_is_self_contained(two_runs):
    html = (two_runs[0] / "report.html").read_text()
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?://', html)
    page = _Page(html)
    assert page.scripts == [] and page.meta["generator"] == "cx_helpers report template cx_report"
    assert all(link in page.ids for link in page.links)
    text = " ".join(page.text)
    spots = [text.rindex(x) for x in ("Executive summary", "1. Touchpoint inventory",
                                      "2. Key-driver analysis", "3. Journeys versus touchpoints",
                                      "Method appendix")]    # after their entries in the contents
    assert spots == sorted(spots) and text.index("Executive summary") < text.index("Contents")
    for part in ("Executive summary", "Contents", "Method appendix", "Northwind Mobile"):
        assert part in html
    summary = pd.read_csv(two_runs[0] / "tables" / "summary.csv")
    nps = pd.read_csv(two_runs[0] / "tables" / "nps.csv").iloc[0]
    assert f"NPS {nps['value']:+.1f}" in summary.set_index("topic").at[nps["outcome_label"],
                                                                      "sentence"]


def _browser():
    chromium = report.find_chromium()
    if chromium is None:
        if os.environ.get("CX_REQUIRE_BROWSER"):
            pytest.fail("CX_REQUIRE_BROWSER is set but Chromium is not installed")
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    from playwright import sync_api

    return chromium, sync_api


@pytest.mark.slow
def test_report_in_a_real_browser(two_runs, tmp_path):
    chromium, sync_api = _browser()
    html = two_runs[0] / "report.html"
    shot = tmp_path / "report.png"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=list(report.CHROMIUM_FLAGS[1:]))
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(html.resolve().as_uri())
        page.screenshot(path=str(shot))
        for name in ("Executive summary", "1. Touchpoint inventory", "Method appendix"):
            heading = page.get_by_role("heading", name=re.compile(re.escape(name))).first
            assert heading.is_visible(), name
        summary = page.locator("#executive-summary")
        assert summary.is_visible()
        assert summary.bounding_box()["y"] < 900  # on the first screen
        assert "Likelihood to recommend" in summary.inner_text()
        browser.close()
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[0] >= 900 and pixels.std() > 0.05  # not blank
    assert (pixels[..., :3].mean(axis=2) < 0.5).mean() > 0.005  # some dark text


@pytest.mark.slow
def test_pdf_with_chromium(two_runs, tmp_path):
    chromium, _ = _browser()
    pdf = report.print_pdf(two_runs[0] / "report.html", tmp_path / "report.pdf", chromium)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000


def test_pdf_without_chromium_says_what_to_install(monkeypatch, sample_dir, tmp_path):
    monkeypatch.setattr(report, "find_chromium", lambda: None)
    with pytest.raises(runner.RunError, match="apt-get install chromium"):
        runner.run_study(sample_dir, out=tmp_path / "r", pdf=True, progress=False)
    assert not (tmp_path / "r").exists()


def test_branding_colour_and_logo(sample_copy, tmp_path):
    import yaml

    shutil.copy(_make_logo(tmp_path), sample_copy / "logo.png")
    cfg = yaml.safe_load((sample_copy / "study.yaml").read_text())
    cfg["branding"] = {"logo": "logo.png", "primary_colour": "#aa3300"}
    (sample_copy / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    notebooks = [runner.NOTEBOOK_DIR / n for n in runner.NOTEBOOKS[:1]]
    out = tmp_path / "r.html"
    report.build_report(notebooks, out, title="T", client="Acme", colour="#aa3300",
                        logo=sample_copy / "logo.png")
    html = out.read_text()
    assert "--cx-primary: #aa3300" in html and 'class="cx-logo"' in html
    cfg["branding"]["primary_colour"] = "red"
    (sample_copy / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    from cx_helpers import StudyError, load_study

    with pytest.raises(StudyError, match="#rrggbb"):
        load_study(sample_copy)


def _make_logo(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.text(0.5, 0.5, "A", ha="center")
    path = tmp_path / "logo.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def test_prose_of_a_section_the_study_cannot_have_keeps_only_its_heading(tmp_path):
    import nbformat

    from cx_helpers.report import build_report

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("## Journeys rebuilt from the event log\n\nLong "
                                      "explanation of event logs.",
                                      metadata={"tags": ["needs-events"]}),
        nbformat.v4.new_markdown_cell("## Outcomes\n\nExplanation of outcomes.",
                                      metadata={"tags": ["needs-outcomes"]}),
        nbformat.v4.new_markdown_cell("Untagged prose stays.")]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    html = build_report([path], tmp_path / "r.html", title="t",
                        available={"outcomes"}).read_text()
    assert "Journeys rebuilt from the event log" in html
    assert "Long explanation of event logs" not in html
    assert "Explanation of outcomes." in html and "Untagged prose stays." in html


def test_available_inputs_of_real_studies(sample_study):
    from cx_helpers import load_study
    from cx_helpers.report import available_inputs

    from conftest import ROOT

    assert available_inputs(sample_study) == {"survey", "ratings", "outcomes", "segments",
                                              "drivers", "events", "journeys", "compare"}
    clicks = load_study(ROOT / "data" / "examples" / "ecom-clickstream")
    assert available_inputs(clicks) == {"events"}


def test_summary_says_when_segments_outweigh_every_touchpoint(tmp_path):
    base = {"outcome": "sat", "outcome_label": "Satisfied", "level": "driver", "sign": 1}
    rows = [{**base, "method": "lmg", "driver": "a", "label": "Boarding", "importance": 0.1,
             "share": 60.0},
            {**base, "method": "lmg", "driver": "b", "label": "Wifi", "importance": 0.07,
             "share": 40.0},
            {**base, "method": "lmg_segments", "driver": "a", "label": "Boarding",
             "importance": 0.04, "share": 9.0},
            {**base, "method": "lmg_segments", "driver": "b", "label": "Wifi",
             "importance": 0.03, "share": 7.0},
            {**base, "method": "lmg_segments", "driver": "Class", "label": "Class",
             "importance": 0.17, "share": 38.0, "level": "segment", "sign": None},
            {**base, "method": "lmg_segments", "driver": "Trip", "label": "Trip",
             "importance": 0.02, "share": 5.0, "level": "segment", "sign": None}]
    d = dict(executive_summary(_tables(tmp_path, importance=rows)))
    assert d["Segments beside the touchpoints"] == (
        "who the respondents are explains more of satisfied than any touchpoint: Class (38 %) "
        "of the explained variance, against at most 9 % for a touchpoint, when segments and "
        "touchpoints are split together. Touchpoint importances partly stand in for these "
        "segments.")
    assert d["Key drivers"].startswith("of satisfied: Boarding (60 %) and Wifi (40 %)")
    # the sample's segments do not outweigh its touchpoints: no such sentence
    rows[4]["share"] = 8.0
    assert "Segments beside the touchpoints" not in dict(
        executive_summary(_tables(tmp_path, importance=rows)))
