"""CX metrics and segment comparisons, each checked against an independent computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from cx_helpers import metrics

Z95 = stats.norm.ppf(0.975)


@pytest.fixture(scope="module")
def survey():
    """2,000 respondents: 0-10 LTR, a 1-5 rating, four segments (one tiny), integer weights."""
    rng = np.random.default_rng(42)
    n = 2000
    seg = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2]).astype(object)
    seg[:12] = "tiny"
    shift = pd.Series(seg).map({"a": 0.0, "b": 0.6, "c": -0.4, "tiny": 0.0}).to_numpy()
    ltr = np.clip(np.round(rng.normal(7.2 + shift, 2.2)), 0, 10)
    rating = np.clip(np.round(rng.normal(3.6 + shift / 2, 1.0)), 1, 5)
    rating[rng.random(n) < 0.05] = np.nan
    weight = rng.integers(1, 4, size=n).astype(float)
    return pd.DataFrame({"seg": seg, "ltr": ltr, "rating": rating, "weight": weight})


# ----------------------------------------------------------------------------------------------
# single metrics
# ----------------------------------------------------------------------------------------------

def test_nps_hand_derived():
    scores = [10, 9, 8, 7, 6, 0, 10, 3, 9, 10]   # 5 promoters, 3 detractors, n = 10
    est = metrics.nps(scores)
    assert est.value == pytest.approx(20.0)
    assert est.n == 10 and est.n_eff == pytest.approx(10)
    # adjusted Wald: 3/4 added to promoters and detractors, 3 to the base
    p, d = 5.75 / 13, 3.75 / 13
    half = 100 * 1.959963985 * np.sqrt((p + d - (p - d) ** 2) / 13)
    assert (est.low, est.high) == pytest.approx((100 * (p - d) - half, 100 * (p - d) + half))
    assert (est.low, est.high) == pytest.approx((-30.3266, 61.0958), abs=1e-3)
    # the plain Wald interval: variance of one answer p + d - (p - d)^2 = 0.76
    wald = metrics.nps(scores, interval="wald")
    half = 100 * 1.959963985 * np.sqrt(0.76 / 10)
    assert (wald.low, wald.high) == pytest.approx((20 - half, 20 + half))
    assert (wald.low, wald.high) == pytest.approx((-34.0320, 74.0320), abs=1e-3)


def test_nps_weighted_uses_the_linearisation_variance():
    scores = np.array([10, 9, 6, 0, 8, 10])
    w = np.array([2.0, 1.0, 1.0, 3.0, 1.0, 1.0])
    est = metrics.nps(scores, w, interval="wald")
    s = np.array([1, 1, -1, -1, 0, 1.0])
    m = (w * s).sum() / w.sum()
    var_mean = ((w * (s - m)) ** 2).sum() / w.sum() ** 2      # Taylor variance of a ratio mean
    assert est.value == pytest.approx(100 * m)
    assert (est.low, est.high) == pytest.approx((100 * (m - Z95 * np.sqrt(var_mean)),
                                                 100 * (m + Z95 * np.sqrt(var_mean))))
    p, d = 4 / 9, 4 / 9
    assert est.n_eff == pytest.approx((p + d - (p - d) ** 2) / var_mean)
    # constant weights change nothing
    assert metrics.nps(scores, np.full(6, 2.5)) == pytest.approx(metrics.nps(scores))


def _coverage(p, d, n, reps, rng, weights=None, interval="analytic"):
    true = 100 * (p - d)
    hits = 0
    for _ in range(reps):
        u = rng.random(n)
        x = np.where(u < p, 10, np.where(u < p + d, 0, 8))
        est = metrics.nps(x, interval=interval)
        hits += est.low <= true <= est.high
    return hits / reps


@pytest.mark.parametrize("p,d", [(0.85, 0.05), (0.9, 0.02)])
def test_nps_interval_holds_its_level_at_n50_where_wald_does_not(p, d):
    """Coverage at n = 50 for extreme scores, 2,000 simulated surveys (seeded).

    Measured: (0.85, 0.05) Wald 91.2 %, adjusted Wald 96.9 %; (0.9, 0.02) Wald 91.5 %, adjusted
    96.3 %. A 95 % interval's simulated coverage has a Monte Carlo error of about 0.5 points.
    """
    wald = _coverage(p, d, 50, 2000, np.random.default_rng(1), interval="wald")
    adjusted = _coverage(p, d, 50, 2000, np.random.default_rng(1))
    assert wald < 0.935
    assert 0.94 <= adjusted <= 0.975


def test_weighted_nps_interval_holds_its_level_where_kish_does_not():
    """Up-weighted respondents more variable: 20 % weighted 4 (NPS -10), 80 % weighted 1 (NPS 88).

    Coverage over 2,000 surveys of n = 200 (seeded): the linearisation interval 95.0 %, Kish's
    effective n 91.5 %.
    """
    rng = np.random.default_rng(1)
    pa, da, pb, db, qb = 0.9, 0.02, 0.3, 0.4, 0.2
    true = 100 * ((1 - qb) * (pa - da) + qb * 4 * (pb - db)) / ((1 - qb) + qb * 4)
    hits = kish_hits = 0
    reps, n = 2000, 200
    for _ in range(reps):
        g = rng.random(n) < qb
        u = rng.random(n)
        pp, dd = np.where(g, pb, pa), np.where(g, db, da)
        x = np.where(u < pp, 10, np.where(u < pp + dd, 0, 8))
        w = np.where(g, 4.0, 1.0)
        est = metrics.nps(x, w)
        hits += est.low <= true <= est.high
        # Kish's effective n in the trinomial variance (the former interval)
        p, d = w[x >= 9].sum() / w.sum(), w[x <= 6].sum() / w.sum()
        half = 100 * Z95 * np.sqrt((p + d - (p - d) ** 2) / metrics.kish_n(w))
        kish_hits += abs(est.value - true) <= half
    assert 0.94 <= hits / reps <= 0.965
    assert kish_hits / reps < 0.93


def test_nps_ignores_missing_and_handles_empty():
    assert metrics.nps([10, np.nan, 0]).n == 2
    assert np.isnan(metrics.nps([np.nan]).value)


def test_wilson_matches_statsmodels(survey):
    x = survey["rating"]
    est = metrics.top_box(x, top=(4, 5))
    count = int(x.isin([4, 5]).sum())
    low, high = proportion_confint(count, int(x.notna().sum()), method="wilson")
    assert est.value == pytest.approx(count / x.notna().sum())
    assert (est.low, est.high) == pytest.approx((low, high), rel=1e-9)
    # weighted: Wilson on the weighted share with the Kish effective n as the base
    w = survey["weight"]
    est = metrics.top_box(x, w, top=(4, 5))
    keep = x.notna()
    share = w[keep & x.isin([4, 5])].sum() / w[keep].sum()
    n_eff = w[keep].sum() ** 2 / (w[keep] ** 2).sum()
    low, high = proportion_confint(share * n_eff, n_eff, method="wilson")
    assert est.value == pytest.approx(share)
    assert (est.low, est.high) == pytest.approx((low, high), rel=1e-9)


def test_mean_unweighted_matches_scipy(survey):
    x = survey["rating"].dropna().to_numpy()
    est = metrics.mean(x)
    low, high = stats.t.interval(0.95, x.size - 1, loc=x.mean(), scale=stats.sem(x))
    assert (est.value, est.low, est.high) == pytest.approx((x.mean(), low, high))
    assert est.high - est.value == pytest.approx(high - x.mean(), rel=1e-9)


def test_weighted_mean_point_matches_replicated_rows_and_interval_matches_descrstatsw(survey):
    keep = survey["rating"].notna()
    x, w = survey.loc[keep, "rating"].to_numpy(), survey.loc[keep, "weight"].to_numpy()
    est = metrics.mean(survey["rating"], survey["weight"])
    replicated = np.repeat(x, w.astype(int))
    assert est.value == pytest.approx(replicated.mean())
    # the interval treats the weights as sampling weights: Kish n_eff, not sum(w), is the base;
    # statsmodels' DescrStatsW with the weights scaled to sum to n_eff is the same estimator
    n_eff = w.sum() ** 2 / (w**2).sum()
    ds = DescrStatsW(x, weights=w * n_eff / w.sum())
    low, high = ds.tconfint_mean(0.05)
    assert (est.low, est.high) == pytest.approx((low, high))
    assert est.high - est.value == pytest.approx(high - ds.mean, rel=1e-9)
    # frequency-weight replication would give a narrower interval (base sum(w) > n_eff)
    rep_low, rep_high = DescrStatsW(replicated).tconfint_mean(0.05)
    assert rep_high - rep_low < est.high - est.low


def test_csat_and_ces_are_the_same_numbers(survey):
    x, w = survey["rating"], survey["weight"]
    tb = metrics.csat(x, w)
    assert tb.metric == "csat_top_box"
    assert (tb.value, tb.low, tb.high) == (metrics.top_box(x, w, top=(4, 5)).value,
                                           metrics.top_box(x, w).low, metrics.top_box(x, w).high)
    assert metrics.csat(x, w, kind="mean").value == metrics.mean(x, w).value
    ces = metrics.ces(x, w)
    assert ces.metric == "ces" and ces.high == metrics.mean(x, w).high
    assert metrics.scale_boxes((1, 5)) == ((4.0, 5.0), (1.0, 2.0))
    assert metrics.scale_boxes((0, 10), boxes=3) == ((8.0, 9.0, 10.0), (0.0, 1.0, 2.0))
    # long scales default to the Net Promoter split: 9-10 satisfied, 0-6 dissatisfied
    assert metrics.scale_boxes((0, 10)) == ((9.0, 10.0), tuple(map(float, range(7))))
    assert metrics.scale_boxes((1, 7)) == ((6.0, 7.0), (1.0, 2.0))
    with pytest.raises(ValueError):
        metrics.scale_boxes((1, 3), boxes=2)


@pytest.mark.parametrize("metric", ["nps", "top_box", "mean"])
def test_bootstrap_agrees_with_analytic_on_n2000(survey, metric):
    col = "ltr" if metric == "nps" else "rating"
    fn = getattr(metrics, metric)
    analytic = fn(survey[col], survey["weight"])
    boot = fn(survey[col], survey["weight"], interval="bootstrap", n_boot=2000, seed=3)
    assert boot.value == analytic.value
    width = analytic.high - analytic.low
    assert boot.low == pytest.approx(analytic.low, abs=0.08 * width)
    assert boot.high == pytest.approx(analytic.high, abs=0.08 * width)


def test_bootstrap_is_seeded(survey):
    a = metrics.nps(survey["ltr"], interval="bootstrap", n_boot=300, seed=1)
    b = metrics.nps(survey["ltr"], interval="bootstrap", n_boot=300, seed=1)
    c = metrics.nps(survey["ltr"], interval="bootstrap", n_boot=300, seed=2)
    assert (a.low, a.high) == (b.low, b.high) != (c.low, c.high)
    with pytest.raises(ValueError):
        metrics.nps(survey["ltr"], interval="jackknife")


# ----------------------------------------------------------------------------------------------
# segment tables and tests
# ----------------------------------------------------------------------------------------------

def test_segment_table_values_and_suppression(survey):
    table = metrics.segment_table(survey, "ltr", "seg", weights="weight", min_base=30)
    assert list(table["segment"]) == ["(all)", "a", "b", "c", "tiny"]
    assert list(table.columns) == ["by", "segment", "metric", "value", "low", "high", "n",
                                   "n_eff", "suppressed"]
    b = survey[survey["seg"] == "b"]
    est = metrics.nps(b["ltr"], b["weight"])
    row = table.set_index("segment").loc["b"]
    assert (row["value"], row["low"], row["high"], row["n"]) == (est.value, est.low, est.high,
                                                                 est.n)
    tiny = table.set_index("segment").loc["tiny"]
    assert tiny["suppressed"] and tiny["n"] == 12
    assert tiny[["value", "low", "high", "n_eff"]].isna().all()
    assert not table.loc[table["segment"] != "tiny", "suppressed"].any()
    # no number of a suppressed segment leaves the package
    for metric, col in (("top_box", "rating"), ("mean", "rating")):
        t = metrics.segment_table(survey, col, "seg", metric=metric, min_base=30)
        assert t.loc[t["suppressed"], ["value", "low", "high", "n_eff"]].isna().all().all()
    assert metrics.segment_table(survey, "ltr", "seg", min_base=10**6)["value"].isna().all()


def _nps_scores(x):
    """Each answer as +1 (promoter), -1 (detractor) or 0: NPS is their mean."""
    x = np.asarray(x, dtype=float)
    return np.where(x >= 9, 1.0, np.where(x <= 6, -1.0, 0.0))


def test_nps_z_test_against_an_independent_computation(survey):
    res = metrics.compare_segments(survey, "ltr", "seg", metric="nps", against="pairwise",
                                   min_base=30, correction="none")
    row = res[(res["segment"] == "a") & (res["other"] == "b")].iloc[0]
    s1 = _nps_scores(survey.loc[survey["seg"] == "a", "ltr"])
    s2 = _nps_scores(survey.loc[survey["seg"] == "b", "ltr"])
    # the trinomial variance is the population variance of the +1/0/-1 scores
    se = np.sqrt(s1.var() / s1.size + s2.var() / s2.size)
    z = (s1.mean() - s2.mean()) / se
    assert row["statistic"] == pytest.approx(z)
    assert row["p"] == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert row["diff"] == pytest.approx(100 * (s1.mean() - s2.mean()))
    assert (row["low"], row["high"]) == pytest.approx(
        (100 * (s1.mean() - s2.mean() - Z95 * se), 100 * (s1.mean() - s2.mean() + Z95 * se)))
    assert row["test"] == "z (trinomial)"


def test_chi_square_against_scipy(survey):
    res = metrics.compare_segments(survey, "rating", "seg", metric="top_box", against="rest",
                                   min_base=30, correction="none")
    row = res[res["segment"] == "c"].iloc[0]
    d = survey[survey["rating"].notna()]
    table = pd.crosstab(d["seg"] == "c", d["rating"].isin([4, 5]))
    ref = stats.chi2_contingency(table.to_numpy(), correction=False)
    assert row["statistic"] == pytest.approx(ref.statistic)
    assert row["p"] == pytest.approx(ref.pvalue)
    assert row["df"] == 1 and row["other"] == "(rest)"
    assert row["n1"] + row["n2"] == len(d)   # the tiny segment is part of the rest


def test_welch_against_scipy(survey):
    res = metrics.compare_segments(survey, "rating", "seg", metric="mean", against="pairwise",
                                   min_base=30, correction="none")
    row = res[(res["segment"] == "b") & (res["other"] == "c")].iloc[0]
    x1 = survey.loc[survey["seg"] == "b", "rating"].dropna()
    x2 = survey.loc[survey["seg"] == "c", "rating"].dropna()
    ref = stats.ttest_ind(x1, x2, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert (row["statistic"], row["p"], row["df"]) == pytest.approx(
        (ref.statistic, ref.pvalue, ref.df))
    assert (row["diff"], row["low"], row["high"]) == pytest.approx(
        (x1.mean() - x2.mean(), ci.low, ci.high))


def test_weighted_welch_equals_unweighted_when_weights_are_constant(survey):
    a = metrics.welch(survey["rating"][:900], survey["rating"][900:])
    b = metrics.welch(survey["rating"][:900], survey["rating"][900:],
                      np.full(900, 2.5), np.full(1100, 2.5))
    assert a == pytest.approx(b)


def test_holm_adjustment_by_hand(survey):
    res = metrics.compare_segments(survey, "ltr", "seg", metric="mean", against="pairwise",
                                   min_base=30)
    made = res[~res["suppressed"]]
    assert len(made) == 3 and res["suppressed"].sum() == 3   # pairs with "tiny" are not made
    assert res.loc[res["suppressed"], ["p", "p_adjusted", "statistic", "diff"]].isna().all().all()
    p = made["p"].to_numpy()
    order = np.argsort(p)
    m = p.size
    manual = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        manual[i] = running
    assert made["p_adjusted"].to_numpy() == pytest.approx(manual)
    assert (made["significant"] == (manual < 0.05)).all()
    assert not res.loc[res["suppressed"], "significant"].any()
    bonf = metrics.compare_segments(survey, "ltr", "seg", metric="mean", against="pairwise",
                                    min_base=30, correction="bonferroni")
    assert bonf.loc[~bonf["suppressed"], "p_adjusted"].to_numpy() == pytest.approx(
        np.minimum(p * 3, 1))


def test_compare_segments_detects_a_planted_difference_and_not_a_null_one():
    rng = np.random.default_rng(5)
    d = pd.DataFrame({"seg": np.repeat(["x", "y", "z"], 400),
                      "ltr": np.r_[rng.integers(0, 11, 400), rng.integers(0, 11, 400),
                                   np.clip(rng.integers(0, 11, 400) + 3, 0, 10)]})
    res = metrics.compare_segments(d, "ltr", "seg", against="pairwise").set_index(
        ["segment", "other"])
    assert not res.loc[("x", "y"), "significant"]
    assert res.loc[("x", "z"), "significant"] and res.loc[("y", "z"), "significant"]
    assert res.loc[("x", "z"), "diff"] < 0


def test_adjust_p_holm_equals_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(3).random(40) ** 3
    assert metrics.adjust_p(p) == pytest.approx(multipletests(p, method="holm")[1])
    p[[2, 9]] = np.nan
    out = metrics.adjust_p(p)
    assert np.isnan(out[[2, 9]]).all()
    keep = ~np.isnan(p)
    assert out[keep] == pytest.approx(multipletests(p[keep], method="holm")[1])


def test_adjust_family_corrects_every_row_together(survey):
    a = metrics.compare_segments(survey, "ltr", "seg", metric="nps", min_base=30)
    b = metrics.compare_segments(survey, "rating", "seg", metric="mean", min_base=30)
    both = pd.concat([a, b], ignore_index=True)
    fam = metrics.adjust_family(both)
    made = fam["p"].notna()
    assert fam["family_size"].eq(made.sum()).all() and made.sum() == 6   # "tiny" is not tested
    assert fam.loc[made, "p_adjusted"].to_numpy() == pytest.approx(
        metrics.adjust_p(both.loc[made, "p"]))
    # one family is stricter than a family per table
    assert (fam["p_adjusted"].fillna(0) >= both["p_adjusted"].fillna(0) - 1e-12).all()
    assert (fam["p_adjusted"][made] > both["p_adjusted"][made]).any()


@pytest.mark.slow
def test_familywise_error_under_the_global_null_is_at_most_5_percent():
    """300 surveys of 600 with three segment variables of four levels, all unrelated to the 0-10
    answer (seeded). Holm within each variable: at least one false "significant" difference in
    12.3 % of the reports; Holm over the whole family: 3.3 %."""
    rng = np.random.default_rng(7)
    family = per_variable = 0
    sims = 300
    for _ in range(sims):
        n = 600
        d = pd.DataFrame({"ltr": rng.integers(0, 11, n).astype(float),
                          "a": rng.choice(list("ABCD"), n), "b": rng.choice(list("wxyz"), n),
                          "c": rng.choice(list("pqrs"), n)})
        tests = pd.concat([metrics.compare_segments(d, "ltr", v, metric="nps", min_base=30)
                           for v in "abc"], ignore_index=True)
        per_variable += tests["significant"].any()
        family += metrics.adjust_family(tests)["significant"].any()
    assert family / sims <= 0.05
    assert per_variable / sims > 0.08   # the per-variable correction does not hold the level


def test_segment_analysis_every_outcome_kind(survey):
    from cx_helpers.study import Outcome

    d = survey.assign(churn=(survey["rating"] <= 2).astype(float).where(survey["rating"].notna()),
                      spend=survey["ltr"] * 3.0)
    outcomes = [Outcome("ltr", "q1", "nps", (0, 10), "Recommend"),
                Outcome("rating", "q2", "ordinal", (1, 5), "Overall"),
                Outcome("churn", "q3", "binary", None, "Left us"),
                Outcome("spend", "q4", "continuous", None, "Spend"),
                Outcome("absent", "q5", "continuous", None, "Not in the data")]
    table, tests = metrics.segment_analysis(d, outcomes, ["seg"], weights="weight", min_base=30)
    assert list(table.columns) == metrics.SEGMENT_COLUMNS
    assert list(pd.unique(table["outcome"])) == ["ltr", "rating", "churn", "spend"]
    row = table.set_index(["outcome", "segment"])
    b = d[d["seg"] == "b"]
    assert row.loc[("ltr", "b"), "value"] == pytest.approx(metrics.nps(b["ltr"], b["weight"]).value)
    tb = metrics.top_box(b["rating"], b["weight"], top=(4, 5))
    assert row.loc[("rating", "b"), ["value", "low", "high"]].tolist() == pytest.approx(
        [tb.value, tb.low, tb.high])
    yes = metrics.top_box(b["churn"], b["weight"], top=(1,))
    assert row.loc[("churn", "b"), "value"] == pytest.approx(
        (b["weight"] * b["churn"]).sum() / b.loc[b["churn"].notna(), "weight"].sum())
    assert row.loc[("churn", "b"), "low"] == pytest.approx(yes.low)
    assert row.loc[("spend", "b"), "value"] == pytest.approx(
        np.average(b["spend"], weights=b["weight"]))
    assert row.loc[("churn", "b"), "measure"] == "share yes"
    assert row.loc[("rating", "b"), "measure"] == "top-2-box share (4-5)"
    assert row.loc[("ltr", "tiny"), "suppressed"] and np.isnan(row.loc[("ltr", "tiny"), "value"])
    # one family over the four outcomes: 4 outcomes x 3 tested segments
    assert tests["family_size"].eq(12).all() and tests["p"].notna().sum() == 12
    assert tests.loc[tests["p"].notna(), "p_adjusted"].to_numpy() == pytest.approx(
        metrics.adjust_p(tests.loc[tests["p"].notna(), "p"]))
    assert set(tests["test"]) == {"z (trinomial)", "chi-square", "Welch t"}


def test_outcome_table_and_texts(survey):
    from cx_helpers.study import Outcome

    outcomes = [Outcome("ltr", "q1", "nps", (0, 10), "Recommend"),
                Outcome("rating", "q2", "ordinal", (1, 5), "Overall")]
    t = metrics.outcome_table(survey, outcomes, weights="weight", min_base=30)
    assert list(t.columns) == metrics.OUTCOME_COLUMNS
    est = metrics.nps(survey["ltr"], survey["weight"])
    assert t.loc[0, ["value", "low", "high", "n"]].tolist() == pytest.approx(
        [est.value, est.low, est.high, est.n])
    tb = metrics.top_box(survey["rating"], survey["weight"], top=(4, 5))
    assert t.loc[1, "value"] == pytest.approx(tb.value) and t.loc[1, "measure"] == \
        "top-2-box share (4-5)"
    text = metrics.estimate_text(t)
    assert text.loc[0, "value_text"] == f"{est.value:+.1f}"
    assert text.loc[1, "ci_text"] == f"{100 * tb.low:.1f} % to {100 * tb.high:.1f} %"
    small = metrics.outcome_table(survey.head(20), outcomes, min_base=30)
    assert small["suppressed"].all() and small["value"].isna().all()
    assert metrics.estimate_text(small)["value_text"].isna().all()
    assert metrics.value_text("top_box", -0.041, difference=True) == "-4.1 pts"
    assert metrics.value_text("mean", 3.14159) == "3.14"


def test_segment_view_puts_each_test_beside_its_segment(survey):
    from cx_helpers.study import Outcome

    table, tests = metrics.segment_analysis(
        survey, [Outcome("ltr", "q1", "nps", (0, 10), "Recommend")], ["seg"], weights="weight")
    view = metrics.segment_view(table, tests).set_index("segment")
    row = tests.set_index("segment").loc["c"]
    assert view.loc["c", "p_adjusted"] == row["p_adjusted"]
    assert view.loc["c", "diff_text"] == f"{row['diff']:+.1f}"
    assert view.loc["(all)", "diff_text"] is None and view.loc["tiny", "significant"] is None
    assert view.loc["c", "significant"] == bool(row["significant"])


def test_boxes_count_values_between_scale_points():
    """A 0-100 scale stored in steps of 100/9 (the ECSI items): boxes are ranges, not lists."""
    from cx_helpers.metrics import in_box, scale_boxes, top_box

    x = np.array([0, 100 / 9, 500 / 9, 600 / 9, 700 / 9, 800 / 9, 100])
    top, bottom = scale_boxes((0, 100))
    assert list(in_box(x, top)) == [False, False, False, False, False, True, True]
    assert list(in_box(x, bottom)) == [True, True, True, False, False, False, False]
    # independent count: above 80 % of the range is the top box
    assert top_box(x, top=top).value == pytest.approx(np.mean(x > 80))
    assert not in_box(np.array([np.nan]), top)[0]
