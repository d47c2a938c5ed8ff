"""The client report: summary from the tables, self-contained HTML, a real browser, PDF."""

from __future__ import annotations

import os
import re
import shutil

import pandas as pd
import pytest

from cx_helpers import report, runner
from cx_helpers.report import executive_summary


def _tables(tmp_path, **tables):
    for name, rows in tables.items():
        pd.DataFrame(rows).to_csv(tmp_path / f"{name}.csv", index=False)
    return tmp_path


def test_summary_is_written_from_the_tables(tmp_path):
    t = _tables(
        tmp_path,
        nps=[{"value": 12.345, "low": 8.1, "high": 16.6, "n": 812, "n_eff": 790.0}],
        importance=[
            {"outcome": "ltr", "driver": "a", "label": "Billing call", "method": "lmg",
             "importance": 0.08, "share": 40.0},
            {"outcome": "ltr", "driver": "b", "label": "Chat", "method": "lmg",
             "importance": 0.02, "share": 10.0},
            {"outcome": "ltr", "driver": "c", "label": "App", "method": "lmg",
             "importance": 0.05, "share": 25.0},
            {"outcome": "ltr", "driver": "d", "label": "Shop", "method": "lmg",
             "importance": 0.01, "share": 5.0},
            {"outcome": "ltr", "driver": "a", "label": "Billing call", "method": "johnson",
             "importance": 0.5, "share": 99.0}],
        priority_map=[
            {"driver": "a", "label": "Billing call", "importance": 0.08, "performance": 3.1,
             "quadrant": "fix first"},
            {"driver": "c", "label": "App", "importance": 0.05, "performance": 4.4,
             "quadrant": "maintain"}],
        journey_verdicts=[{"outcome": "ltr", "sentence": "journey measures explain 31 % more."}])
    items = dict(executive_summary(t))
    assert items["Net Promoter Score"] == "+12.3 (95% CI +8.1 to +16.6; n = 812)."
    assert items["Top drivers"].startswith(
        "of ltr: Billing call (40% of explained variance), App (25% of explained variance) and "
        "Chat (10% of explained variance)")
    assert items["Fix first"].startswith("Billing call:")
    assert items["Journeys vs touchpoints (ltr)"] == "journey measures explain 31 % more."


def test_summary_suppresses_small_bases(tmp_path):
    t = _tables(tmp_path, nps=[{"value": 50.0, "low": 20.0, "high": 80.0, "n": 12, "n_eff": 12}])
    items = dict(executive_summary(t, min_base=30))
    assert "suppressed" in items["Net Promoter Score"]
    assert "50" not in items["Net Promoter Score"]


def test_report_is_self_contained(two_runs):
    html = (two_runs[0] / "report.html").read_text()
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?://', html)
    for part in ("Executive summary", "Contents", "Method appendix", "Northwind Mobile"):
        assert part in html
    summary = pd.read_csv(two_runs[0] / "tables" / "summary.csv")
    nps = pd.read_csv(two_runs[0] / "tables" / "nps.csv").iloc[0]
    assert f"{nps['value']:+.1f}" in summary.set_index("topic").at["Net Promoter Score",
                                                                    "sentence"]


def _browser():
    chromium = report.find_chromium()
    if chromium is None:
        if os.environ.get("CX_REQUIRE_BROWSER"):
            pytest.fail("CX_REQUIRE_BROWSER is set but Chromium is not installed")
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    from playwright import sync_api

    return chromium, sync_api


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
        assert "Net Promoter Score" in summary.inner_text()
        browser.close()
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[0] >= 900 and pixels.std() > 0.05  # not blank
    assert (pixels[..., :3].mean(axis=2) < 0.5).mean() > 0.005  # some dark text


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
