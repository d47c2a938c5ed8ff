"""Journeys over time: rates, intervals and the periods that stand out, on hand-built logs with
a planted break (checked against independent computations) and on a real clickstream with two
incidents written into known windows."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests

import cx_helpers as cx
from cx_helpers import journeys, plots
from cx_helpers.journeys import timeline as tl
from cx_helpers.metrics import adjust_p

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
CLICKS = ROOT / "data" / "examples" / "ecom-clickstream"
STEPS = {"visit": ["home", "search"], "cart": ["cart"], "pay": ["pay"]}
MONDAY = pd.Timestamp("2026-01-05", tz="UTC")          # a Monday


def _wilson(x, n, z=1.959963984540054):
    """The Wilson score interval, written out (independent of statsmodels)."""
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _planted(weeks=8, per_week=120, break_weeks=(5,), seed=7):
    """Journeys over ``weeks`` weeks on channels A and B: every journey visits; 50 % reach the
    cart; 80 % of those pay, except on channel B in ``break_weeks`` where 15 % pay."""
    rng = np.random.default_rng(seed)
    rows, k = [], 0
    for w in range(weeks):
        for ch in ("A", "B"):
            for i in range(per_week):
                k += 1
                j = f"j{k:05d}"
                minute = int(rng.integers(0, 7 * 24 * 60 - 30))
                t0 = MONDAY + pd.Timedelta(weeks=w) + pd.Timedelta(minutes=minute)
                rows.append((j, t0, "home" if i % 2 else "search", ch))
                if rng.random() < 0.5:
                    rows.append((j, t0 + pd.Timedelta(minutes=5), "cart", ch))
                    rate = 0.15 if (ch == "B" and w in break_weeks) else 0.8
                    if rng.random() < rate:
                        rows.append((j, t0 + pd.Timedelta(minutes=9), "pay", ch))
    return pd.DataFrame(rows, columns=["journey", "time", "touchpoint", "channel"])


@pytest.fixture(scope="module")
def planted():
    ev = _planted()
    return ev, tl.timeline(ev, STEPS, period="week", by="channel", min_base=30)


def test_rates_and_intervals_match_an_independent_computation(planted):
    ev, t = planted
    # independent: pandas per journey, then per week and channel
    per = ev.groupby("journey").agg(time=("time", "min"), channel=("channel", "first"),
                                    cart=("touchpoint", lambda s: (s == "cart").any()),
                                    pay=("touchpoint", lambda s: (s == "pay").any()))
    per["week"] = ((per["time"] - MONDAY).dt.days // 7)
    conv = t[(t["measure"] == "conversion") & (t["step"] == "cart \u2192 pay")]
    assert len(conv) == 8 * 3                          # 8 weeks x (all, A, B)
    for _, r in conv.iterrows():
        w = (r["period"] - MONDAY.tz_localize(None)).days // 7
        sel = per[per["week"] == w]
        if r["group"] != "all":
            sel = sel[sel["channel"] == r["group"]]
        n, x = int(sel["cart"].sum()), int((sel["cart"] & sel["pay"]).sum())
        assert r["n"] == n
        if n < 30:                                     # under min_base: suppressed
            assert r["suppressed"] and pd.isna(r["x"]) and pd.isna(r["rate"])
            continue
        assert r["x"] == x and r["rate"] == pytest.approx(x / n)
        assert r["drop_off"] == pytest.approx(1 - x / n)
        assert (r["low"], r["high"]) == pytest.approx(_wilson(x, n), abs=1e-12)
    reach = t[(t["measure"] == "reach") & (t["step"] == "cart") & (t["group"] == "A")]
    for _, r in reach.iterrows():
        w = (r["period"] - MONDAY.tz_localize(None)).days // 7
        sel = per[(per["week"] == w) & (per["channel"] == "A")]
        assert (r["n"], r["x"]) == (len(sel), int(sel["cart"].sum()))
    # the first step is reached by every journey
    assert (t.loc[(t["measure"] == "reach") & (t["step"] == "visit"), "rate"] == 1).all()


def test_the_flag_fires_on_the_planted_break_and_nowhere_else(planted):
    _, t = planted
    flagged = t[t["stands_out"]]
    week5 = (MONDAY + pd.Timedelta(weeks=5)).tz_localize(None)
    assert set(zip(flagged["period"], flagged["group"], flagged["measure"], flagged["step"])) \
        <= {(week5, g, m, s) for g in ("B", "all")
            for m, s in (("conversion", "cart \u2192 pay"), ("reach", "pay"))}
    hit = flagged[(flagged["group"] == "B") & (flagged["step"] == "cart \u2192 pay")]
    assert list(hit["period"]) == [week5] and list(hit["direction"]) == ["below"]
    r = hit.iloc[0]
    assert r["high"] < r["baseline"]                   # the interval lies below the others
    # the baseline is the pooled rate of the other periods (none of which stands out)
    series = t[(t["group"] == "B") & (t["step"] == "cart \u2192 pay")]
    others = series[series["period"] != week5]
    assert r["baseline"] == pytest.approx(others["x"].sum() / others["n"].sum())
    ox, on = int(others["x"].sum()), int(others["n"].sum())
    assert r["p"] == pytest.approx(fisher_exact([[r["x"], r["n"] - r["x"]],
                                                 [ox, on - ox]]).pvalue)
    # channel A is untouched
    assert not t.loc[t["group"] == "A", "stands_out"].any()
    w = tl.windows(t)
    row = w[(w["group"] == "B") & (w["step"] == "cart \u2192 pay")].iloc[0]
    assert (row["first"], row["last"], row["periods"]) == (week5, week5, 1)


def test_a_long_break_does_not_hide_itself():
    """Revised limits: three broken weeks of eight still stand out, and no others."""
    ev = _planted(weeks=8, break_weeks=(2, 3, 4), seed=3)
    t = tl.timeline(ev, STEPS, by="channel", min_base=10)
    conv = t[(t["group"] == "B") & (t["step"] == "cart \u2192 pay")]
    weeks = ((conv["period"] - MONDAY.tz_localize(None)).dt.days // 7)
    assert set(weeks[conv["stands_out"]]) == {2, 3, 4}


def test_suppression_under_min_base_and_no_test_there():
    ev = _planted(weeks=3, per_week=20)
    t = tl.timeline(ev, STEPS, by="channel", min_base=30)
    small = t[t["n"] < 30]
    assert len(small) and small["suppressed"].all()
    assert small[["x", "rate", "low", "high", "drop_off", "p", "baseline"]].isna().all().all()
    assert not small["stands_out"].any()
    shown = t[t["n"] >= 30]
    assert shown["rate"].notna().all() and not shown["suppressed"].any()


def test_periods_weeks_start_on_monday_utc_and_months():
    ev = pd.DataFrame({
        "journey": ["a", "b", "c", "d"],
        "time": pd.to_datetime(["2026-01-11T23:59:00+00:00", "2026-01-12T00:00:00+00:00",
                                "2026-01-12T00:30:00+02:00",     # Sunday 22:30 UTC
                                "2026-02-01T00:00:00+00:00"], utc=True),
        "touchpoint": ["home"] * 4})
    pj = tl.journey_steps(ev, {"visit": ["home"]}, period="week")
    assert list(pj["period"].dt.strftime("%Y-%m-%d")) == ["2026-01-05", "2026-01-12",
                                                           "2026-01-05", "2026-01-26"]
    pm = tl.journey_steps(ev, {"visit": ["home"]}, period="month")
    assert list(pm["period"].dt.strftime("%Y-%m-%d")) == ["2026-01-01"] * 3 + ["2026-02-01"]
    with pytest.raises(ValueError, match="period"):
        tl.journey_steps(ev, {"visit": ["home"]}, period="day")


def test_group_of_a_journey_is_its_first_event():
    ev = pd.DataFrame({"journey": ["a", "a", "b"],
                       "time": pd.to_datetime(["2026-01-05T10:00", "2026-01-05T09:00",
                                               "2026-01-05T11:00"], utc=True),
                       "touchpoint": ["cart", "home", "home"], "platform": ["web", "app", "web"]})
    pj = tl.journey_steps(ev, {"visit": ["home"], "cart": ["cart"]}, by="platform")
    assert dict(zip(pj["journey"], pj["platform"])) == {"a": "app", "b": "web"}
    assert list(pj["cart"]) == [True, False]


def test_fisher_and_holm_match_scipy_and_statsmodels():
    for x, n, ox, on in [(13, 46, 600, 700), (30, 31, 500, 650), (0, 12, 40, 200),
                         (12, 12, 90, 100), (5, 10, 50, 100), (1, 49, 0, 3000), (0, 40, 0, 900),
                         # weeks of a large log: the support is cut to 40 SDs around the mean
                         # (log-gamma differences of numbers near a million: 1e-8 relative)
                         (2000, 20000, 120000, 1200000), (2150, 20000, 120000, 1200000),
                         (1400, 20000, 120000, 1200000), (9000, 20000, 500000, 1200000)]:
        want = fisher_exact([[x, n - x], [ox, on - ox]]).pvalue
        rel = 1e-8 if on > 100_000 else 1e-9
        assert tl.fisher_p(x, n, ox, on) == pytest.approx(want, rel=rel, abs=1e-300)
    p = np.array([0.01, 0.04, 0.03, 0.2, 0.0001, 0.04])
    assert adjust_p(p) == pytest.approx(multipletests(p, method="holm")[1])


def test_one_event_where_the_other_periods_have_none_is_no_incident():
    ev = _planted(weeks=6, per_week=60)
    rare = ev[ev["touchpoint"] == "home"].iloc[[200]].assign(touchpoint="rare")
    ev = pd.concat([ev, rare], ignore_index=True)
    steps = {**STEPS, "rare": ["rare"]}
    t = tl.timeline(ev, steps, by="channel", min_base=30, measures=("reach",))
    r = t[(t["step"] == "rare") & (t["x"] == 1)]
    assert len(r) and not r["stands_out"].any() and (r["baseline"] == 0).all()
    # ten such journeys in one week of an otherwise empty series do stand out
    week0 = ev["time"] < MONDAY + pd.Timedelta(weeks=1)
    many = ev[week0 & (ev["touchpoint"] == "home")].iloc[:10].assign(touchpoint="rare")
    t = tl.timeline(pd.concat([ev, many], ignore_index=True), steps, min_base=30,
                    measures=("reach",))
    hit = t[(t["step"] == "rare") & t["stands_out"]]
    assert list(hit["x"]) == [10] and list(hit["direction"]) == ["above"]


def test_panels_and_touchpoint_steps(planted, sample_study):
    _, t = planted
    assert tl.panels(t, "conversion") == ["visit \u2192 cart", "cart \u2192 pay"]
    assert tl.panels(t, "conversion", limit=1) == ["cart \u2192 pay"]     # the step that breaks
    steps = tl.touchpoint_steps(sample_study)
    assert list(steps) == list(sample_study.catalog["touchpoint"])
    assert all(v == [k] for k, v in steps.items())


def test_funnel_steps_follow_the_study_stages(sample_study):
    steps = tl.funnel_steps(sample_study)
    assert list(steps) == [s for s in sample_study.catalog["stage"].cat.categories
                           if (sample_study.catalog["stage"] == s).any()]
    for stage, tps in steps.items():
        cat = sample_study.catalog
        assert set(tps) == set(cat.loc[cat["stage"] == stage, "touchpoint"])
    with pytest.raises(cx.StudyError, match="not stages"):
        tl.funnel_steps(sample_study, ["nowhere"])


def test_timeline_plots_draw_bands_and_marks(planted):
    _, t = planted
    d = t[(t["measure"] == "conversion") & (t["step"] == "cart \u2192 pay")]
    ax = plots.rate_timeline_plot(d)
    assert len(ax.lines) == 3 and len(ax.collections) >= 4      # 3 bands + the flagged ring
    fig = plots.timeline_grid(t, "conversion")
    assert len(fig.axes) == 2
    matplotlib.pyplot.close("all")


# ----------------------------------------------------------------------------------------------
# the real clickstream: a checkout bug on mobile, 2024-04-13 to 2024-05-09, and a payment outage
# on every platform, 2024-05-19 to 2024-06-08 (data/examples/ecom-clickstream/SOURCE.md)
# ----------------------------------------------------------------------------------------------

BUG = (pd.Timestamp("2024-04-13"), pd.Timestamp("2024-05-09"))
OUTAGE = (pd.Timestamp("2024-05-19"), pd.Timestamp("2024-06-08"))


def _days_inside(week, window):
    days = pd.date_range(week, periods=7, freq="D")
    return int(((days >= window[0]) & (days <= window[1])).sum())


@pytest.fixture(scope="module")
def clicks():
    study = cx.load_study(CLICKS)
    log = journeys.journey_log(study)
    return study, tl.timeline(log, tl.funnel_steps(study), period="week", by="channel",
                              min_base=study.min_base)


def _series(t, group, step):
    return t[(t["group"] == group) & (t["step"] == step)].set_index("period")


def test_clickstream_payment_outage_stands_out(clicks):
    _, t = clicks
    s = _series(t, "all", "payment \u2192 purchase")
    raw = pd.read_csv(CLICKS / "ecom.csv.gz", parse_dates=["timestamp"])
    per = raw.groupby("session_id").agg(
        start=("timestamp", "min"),
        pay=("event", lambda e: e.isin(["payment_details", "payment_error"]).any()),
        buy=("event", lambda e: (e == "purchase").any()))
    per["week"] = per["start"].dt.to_period("W").dt.start_time
    ref = per[per["pay"]].groupby("week")["buy"].agg(["size", "sum"])
    assert (s["n"] == ref["size"].reindex(s.index, fill_value=0)).all()
    shown = s[~s["suppressed"]]
    assert (shown["x"] == ref["sum"].reindex(shown.index)).all()
    for week, r in shown.iterrows():
        inside = _days_inside(week, OUTAGE)
        if inside >= 5:
            assert r["stands_out"] and r["direction"] == "below", week
            assert r["high"] < r["baseline"]
        elif inside == 0 and _days_inside(week, BUG) == 0:
            assert not r["stands_out"], week
    outage = shown[[_days_inside(w, OUTAGE) == 7 for w in shown.index]]
    assert len(outage) == 2 and (outage["rate"] < 0.35).all()
    assert outage["baseline"].between(0.75, 0.9).all()     # about 0.8 outside the outage


def test_clickstream_mobile_checkout_bug_stands_out(clicks):
    _, t = clicks
    s = _series(t, "mobile", "checkout \u2192 payment")
    shown = s[~s["suppressed"]]
    inside = [w for w in shown.index if _days_inside(w, BUG) >= 5]
    assert len(inside) == 3
    assert shown.loc[inside, "stands_out"].all()
    assert (shown.loc[inside, "direction"] == "below").all()
    assert (shown.loc[inside, "high"] < shown.loc[inside, "baseline"]).all()
    ordinary = [w for w in shown.index if _days_inside(w, BUG) == 0]
    assert len(ordinary) >= 6 and not shown.loc[ordinary, "stands_out"].any()
    # desktop, which had no bug, does not stand out at checkout in those weeks
    d = _series(t, "desktop", "checkout \u2192 payment")
    assert not d.loc[d.index.isin(inside), "stands_out"].any()
    w = tl.windows(t)
    bug = w[(w["group"] == "mobile") & (w["step"] == "checkout \u2192 payment")]
    assert list(zip(bug["first"], bug["last"])) == [(min(inside), max(inside))]


@pytest.fixture(scope="module")
def click_run(tmp_path_factory):
    """``cx run`` on the clickstream study (small bootstrap), once for the slow tests."""
    from conftest import FAST, cx as run_cx

    out = tmp_path_factory.mktemp("clicks") / "run"
    res = run_cx("run", CLICKS, "--out", out, *FAST)
    return res, out


@pytest.mark.slow
def test_cx_run_on_the_clickstream_writes_a_report(click_run):
    res, out = click_run
    assert res.returncode == 0, res.stderr[-3000:]
    assert (out / "report.html").is_file()
    t = pd.read_csv(out / "tables" / "journey_timeline.csv")
    flagged = t[t["stands_out"] & (t["step"] == "payment \u2192 purchase") & (t["group"] == "all")]
    assert set(flagged["period"]) >= {"2024-05-20", "2024-05-27"}
    runs = pd.read_csv(out / "tables" / "journey_timeline_standouts.csv")
    assert {("all", "payment \u2192 purchase"), ("mobile", "checkout \u2192 payment")} <= \
        set(zip(runs.head(2)["group"], runs.head(2)["step"]))
    page = (out / "report.html").read_text()
    assert "Journeys over time" in page and "2024-04-15 to 2024-04-29" in page


@pytest.mark.slow
def test_events_only_run_writes_no_empty_tables(click_run):
    """Every table of an events-only run has at least a header (an empty file breaks readers)."""
    res, out = click_run
    assert res.returncode == 0, res.stderr[-3000:]
    empty = sorted(p.name for p in (out / "tables").glob("*.csv") if not p.read_text().strip())
    assert empty == [], f"empty tables written: {empty}"
