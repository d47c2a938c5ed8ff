"""The client report: one self-contained HTML page built from a run's notebooks and tables.

The page holds a title block (client, study, date), an executive summary written from the run's
tables, a table of contents, the three notebooks' narratives and figures with no code, and a
method appendix. Figures and the logo are embedded, and no script or style is loaded from the
network, so the file opens offline (for example from an e-mail attachment).
"""

from __future__ import annotations

import base64
import copy
import html
import mimetypes
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pandas as pd

__all__ = ["build_report", "executive_summary", "find_chromium", "print_pdf"]

DEFAULT_COLOUR = "#1f5f8b"

_CSS = """
:root { --cx-primary: %(colour)s; }
body.jp-Notebook { max-width: 1100px; margin: 0 auto; }
.cx-cover, .cx-summary, .cx-toc, .cx-appendix {
  font-family: var(--jp-content-font-family, system-ui, sans-serif); }
.cx-cover { border-top: 8px solid var(--cx-primary); padding: 1.2em 1em 0.6em 1em; }
.cx-cover h1 { color: var(--cx-primary); margin: 0.2em 0; font-size: 2em; }
.cx-cover .cx-meta { color: #555; margin: 0; }
.cx-cover img.cx-logo { max-height: 64px; float: right; }
.cx-summary { background: #f5f7fa; border-left: 6px solid var(--cx-primary); padding: 0.6em 1.2em;
              margin: 0.8em 1em; }
.cx-summary h2, .cx-toc h2, .cx-appendix h2 { color: var(--cx-primary); }
.cx-summary li { margin: 0.35em 0; }
.cx-toc { margin: 0.5em 1em; }
.cx-toc li.cx-toc-2 { margin-left: 1.5em; list-style: circle; }
.cx-appendix { margin: 2em 1em; border-top: 2px solid var(--cx-primary); }
.jp-OutputArea-output pre { white-space: pre-wrap; }
.jp-RenderedHTMLCommon h1 { color: var(--cx-primary); border-bottom: 2px solid var(--cx-primary); }
table.cx-table { border-collapse: collapse; margin: 0.4em 0; font-size: 0.92em; }
table.cx-table th { border-bottom: 2px solid var(--cx-primary); text-align: left; padding: 0.25em 0.7em; }
table.cx-table td { border-bottom: 1px solid #ddd; padding: 0.25em 0.7em; }
.cx-caption { margin: 0.8em 0 0.2em 0; }
.cx-note { color: #555; font-size: 0.88em; margin: 0.2em 0 0.8em 0; }
"""


def _read(tables: Path, name: str) -> pd.DataFrame | None:
    path = tables / f"{name}.csv"
    return pd.read_csv(path) if path.is_file() else None


def _label_list(labels) -> str:
    labels = [str(x) for x in labels]
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def executive_summary(tables_dir, min_base: int = 30) -> list[tuple[str, str]]:
    """The executive summary, sentence by sentence, written from a run's tables.

    Parameters
    ----------
    tables_dir : str or Path
        A run's ``tables/`` folder.
    min_base : int, default 30
        An NPS resting on fewer answers is reported as suppressed.

    Returns
    -------
    list of (str, str)
        ``(topic, sentence)`` pairs: NPS, top drivers, fix first, and a journey verdict per
        outcome. A topic whose table the run did not produce says so.
    """
    tables = Path(tables_dir)
    items = []

    nps = _read(tables, "nps")
    if nps is not None and len(nps):
        row = nps.iloc[0]
        if pd.isna(row["value"]) or row["n"] < min_base:
            items.append(("Net Promoter Score", f"suppressed: fewer than {min_base} answers."))
        else:
            items.append(("Net Promoter Score",
                          f"{row['value']:+.1f} (95% CI {row['low']:+.1f} to {row['high']:+.1f}; "
                          f"n = {int(row['n']):,})."))
    else:
        items.append(("Net Promoter Score", "not measured in this study (no 0-10 "
                      "likelihood-to-recommend outcome)."))

    imp = _read(tables, "importance")
    if imp is not None and len(imp):
        outcome = imp["outcome"].iloc[0]
        part = imp[imp["outcome"] == outcome]
        method = "lmg" if "lmg" in set(part["method"]) else part["method"].iloc[0]
        top = part[part["method"] == method].nlargest(3, "importance")
        label_col = "label" if "label" in top else "driver"
        names = [f"{r[label_col]} ({r['share']:.0f}% of explained variance)"
                 for _, r in top.iterrows()]
        name = part["outcome_label"].iloc[0] if "outcome_label" in part else outcome
        items.append(("Top drivers", f"of {name.lower()}: {_label_list(names)} "
                      f"({method.upper()} relative importance)."))
    else:
        items.append(("Top drivers", "not analysed in this study (no survey ratings and "
                      "outcomes)."))

    pmap = _read(tables, "priority_map")
    inv = _read(tables, "inventory")
    if pmap is not None and len(pmap):
        fix = pmap[pmap["quadrant"] == "fix first"].sort_values("importance", ascending=False)
        col = "label" if "label" in fix else "driver"
        items.append(("Fix first", (_label_list(fix[col].head(5)) + ": important to loyalty and "
                                    "below-average satisfaction.") if len(fix) else
                      "no touchpoint is both above-average in importance and below-average in "
                      "satisfaction."))
    elif inv is not None and "pain_rank" in inv:
        worst = inv.dropna(subset=["pain_rank"]).nsmallest(3, "pain_rank")
        items.append(("Fix first", _label_list(worst["label"]) + " (highest pain-point scores)."))

    verdicts = _read(tables, "journey_verdicts")
    if verdicts is not None and len(verdicts):
        for _, r in verdicts.iterrows():
            items.append((f"Journeys vs touchpoints ({r['outcome']})", str(r["sentence"])))
    else:
        items.append(("Journeys vs touchpoints", "not compared in this study."))
    return items


def _headings(body: str):
    """(level, id, text) of the h1/h2 headings nbconvert rendered."""
    found = re.findall(r'<h([12]) id="([^"]+)">(.*?)<a class="anchor-link"', body, flags=re.S)
    return [(int(level), anchor, re.sub(r"<[^>]+>", "", text).strip())
            for level, anchor, text in found]


def _logo_tag(logo: Path | None) -> str:
    if logo is None:
        return ""
    mime = mimetypes.guess_type(logo.name)[0] or "image/png"
    data = base64.b64encode(logo.read_bytes()).decode("ascii")
    return f'<img class="cx-logo" alt="logo" src="data:{mime};base64,{data}">'


def _appendix(params: dict, n_respondents: int) -> str:
    min_base = params.get("min_base", 30)
    extra = {k: v for k, v in params.items() if k not in ("study", "output_dir")}
    rows = "".join(f"<li><code>{html.escape(str(k))}</code> = {html.escape(str(v))}</li>"
                   for k, v in extra.items())
    return f"""
<section class="cx-appendix" id="method-appendix">
<h2>Method appendix</h2>
<p><b>Data.</b> {n_respondents:,} survey respondents. Answers coded "not applicable" are treated as
missing, never as low scores.</p>
<p><b>Metrics.</b> NPS is the percentage of promoters (9-10) minus the percentage of detractors
(0-6); its interval uses the trinomial variance of the two shares. Satisfaction means use a t
interval, top-box shares a Wilson interval. With survey weights, intervals use Kish's effective
sample size.</p>
<p><b>Models.</b> Driver models match the outcome's scale (least squares for 0-10 likelihood to
recommend, ordered logit for ordinal, logit for binary outcomes), use the survey weights and have
heteroskedasticity-robust standard errors; collinearity is reported as variance inflation factors
and the condition number. Relative importance divides the model's explained variance (R&sup2;)
among the drivers exactly, averaging each driver's contribution over every order in which the
drivers could enter the model (LMG, the Shapley value; for yes/no outcomes the same split of
McFadden's pseudo-R&sup2;), cross-checked with Johnson's relative weights; its intervals come from
a bootstrap over respondents. Importance and performance (mean satisfaction) place each touchpoint
in the priority map, cut at the averages. The journey-versus-touchpoint comparison scores each
model on respondents it was not fitted on (repeated k-fold cross-validation).</p>
<p><b>Base sizes and suppression.</b> A touchpoint or segment with fewer than {min_base} answers is
shown as suppressed, never as a number.</p>
<p><b>What the intervals mean.</b> A 95% interval is the range of values compatible with the data:
under repeated sampling, 95% of such intervals would contain the true value. Where two intervals
overlap, the difference between them may be due to chance. All results are associations in survey
data; they do not prove that changing a touchpoint would change loyalty.</p>
<p><b>Parameters of this run.</b></p><ul>{rows}</ul>
<p>The run folder's <code>manifest.json</code> lists the input files with their sha256, the package
versions and the project commit; <code>cx verify RUN</code> reruns the study and compares every
table.</p>
</section>"""


def build_report(executed, out_path, *, title: str, client: str = "", study_name: str = "",
                 tables_dir=None, params=None, n_respondents: int = 0, colour: str | None = None,
                 logo=None, run_id: str = "") -> Path:
    """Join executed notebooks into one self-contained HTML report with no code.

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
        The run's ``tables/``: the executive summary is written from it.
    params : dict, optional
        The run's parameters (listed in the method appendix; ``min_base`` used for suppression).
    n_respondents : int
        For the method appendix.
    colour : str, optional
        Primary colour (``#rrggbb``) from the study's branding.
    logo : Path, optional
        Logo image file, embedded in the title block.

    Returns
    -------
    Path
        ``out_path``.
    """
    from nbconvert import HTMLExporter

    params = params or {}
    merged = None
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        cells = []
        for cell in nb.cells:
            tags = cell.get("metadata", {}).get("tags", [])
            if {"parameters", "injected-parameters", "remove-cell"} & set(tags):
                continue
            if cell.cell_type == "code":
                cell = copy.deepcopy(cell)
                cell.outputs = [o for o in cell.outputs
                                if not (o.output_type == "stream" and o.name == "stderr")]
            cells.append(cell)
        if merged is None:
            merged, merged.cells = nb, cells
        else:
            merged.cells.extend(cells)
    merged.metadata["title"] = title
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    body, _ = exporter.from_notebook_node(merged)
    # nothing from the network: the notebooks need neither require.js nor MathJax
    body = re.sub(r'<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>', "", body)

    summary = executive_summary(tables_dir, params.get("min_base", 30)) if tables_dir else []
    date = datetime.now(timezone.utc).strftime("%d %B %Y")
    toc = [(1, "executive-summary", "Executive summary")] + _headings(body) + \
        [(1, "method-appendix", "Method appendix")]
    toc_html = "".join(f'<li class="cx-toc-{lvl}"><a href="#{anchor}">{text}</a></li>'
                       for lvl, anchor, text in toc)
    items = "".join(f"<li><b>{html.escape(topic)}</b>: {html.escape(text)}</li>"
                    for topic, text in summary)
    meta = " &middot; ".join(html.escape(x) for x in [f"Study: {study_name}", date,
                                                       f"run {run_id}" if run_id else ""] if x)
    head = f"""
<header class="cx-cover">{_logo_tag(Path(logo) if logo else None)}
<p class="cx-meta">{html.escape(client)}</p>
<h1>{html.escape(title)}</h1>
<p class="cx-meta">{meta}</p>
</header>
<section class="cx-summary" id="executive-summary"><h2>Executive summary</h2><ul>{items}</ul>
</section>
<nav class="cx-toc"><h2>Contents</h2><ul>{toc_html}</ul></nav>
"""
    css = f"<style>{_CSS % {'colour': colour or DEFAULT_COLOUR}}</style>"
    body = body.replace("</head>", css + "\n</head>", 1)
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + head, body, count=1)
    body = body.replace("</body>", _appendix(params, n_respondents) + "\n</body>", 1)
    out_path = Path(out_path)
    out_path.write_text(body, encoding="utf-8")
    if tables_dir:
        pd.DataFrame(summary, columns=["topic", "sentence"]).to_csv(
            Path(tables_dir) / "summary.csv", index=False, lineterminator="\n")
    return out_path


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
