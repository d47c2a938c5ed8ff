"""Journey scores and the journey-versus-touchpoint test against planted truth, statsmodels and
hand computations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from sklearn.linear_model import LinearRegression
from sklearn.metrics import log_loss, r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold

import cx_helpers as cx
from cx_helpers.journeys import (compare_all, compare_journey_touchpoint, journey_features,
                                 journey_log, journey_scores, verdicts)
from cx_helpers.journeys.compare import (_bootstrap, _fit_predict, _nested_test, _oos_predictions,
                                         _prepare, _scores)
from cx_helpers.journeys.scores import _derived
from cx_helpers.synth import write_study

_STUDIES = {}


def test_derived_scores_by_hand():
    r = pd.DataFrame({"a": [1, 5, np.nan, np.nan], "b": [3, np.nan, 2, np.nan],
                      "c": [4, 4, np.nan, np.nan]}, dtype=float)
    d = _derived(r, midpoint=3.0)
    assert list(d["mean"].iloc[:3]) == pytest.approx([8 / 3, 4.5, 2.0])
    assert list(d["min"].iloc[:3]) == [1, 4, 2]
    assert d["sd"].iloc[0] == pytest.approx(np.std([1, 3, 4])) and d["sd"].iloc[2] == 0
    assert list(d["last"].iloc[:3]) == [4, 4, 2]
    # peak: farthest from 3 -> 1 (row 0), 5 (row 1), 2 (row 2)
    assert list(d["peak_end"].iloc[:3]) == [2.5, 4.5, 2.0]
    assert all(np.isnan(d[m].iloc[3]) for m in d)


def test_scores_of_the_sample(sample_study):
    s = journey_scores(sample_study)
    direct = s[(s["journey"] == "buy") & (s["measure"] == "direct")].set_index("respondent")
    pd.testing.assert_series_equal(direct["value"], sample_study.journey_ratings["buy"],
                                   check_names=False)
    mean = s[(s["journey"] == "support") & (s["measure"] == "mean")].set_index("respondent")
    tps = list(sample_study.journeys["support"].touchpoints)
    ref = sample_study.ratings[tps].mean(axis=1)
    pd.testing.assert_series_equal(mean["value"], ref, check_names=False)
    f = journey_features(sample_study)
    assert list(f.columns) == list(sample_study.journeys)          # direct ratings only


def _study(tmp_path_factory, effect, seed):
    """A synthetic study (2,000 customers; weighted), generated once per test module."""
    if (effect, seed) not in _STUDIES:
        d = write_study(tmp_path_factory.mktemp("s") / "s", customers=2000, seed=seed,
                        journey_effect=effect)
        _STUDIES[effect, seed] = cx.load_study(d)
    return _STUDIES[effect, seed]


# ----------------------------------------------------------------------------------------------
# the model: weighted, unpenalised, the same on both sides
# ----------------------------------------------------------------------------------------------

def _toy(n=300, k=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, k)) * [1, 2, 0.5, 3][:k] + [3, 0, 1, -2][:k]
    lin = 0.3 + x @ np.linspace(0.5, -0.4, k)
    y_cont = lin + rng.normal(size=n)
    y_bin = (rng.random(n) < 1 / (1 + np.exp(-(lin - lin.mean()) * 0.8))).astype(float)
    w = rng.integers(1, 5, size=n).astype(float)
    return x, y_cont, y_bin, w


@pytest.mark.parametrize("binary", [False, True])
def test_weighted_fit_equals_fit_on_replicated_rows(binary):
    x, yc, yb, w = _toy()
    y = yb if binary else yc
    x_new = _toy(n=50, seed=9)[0]
    reps = w.astype(int)
    weighted = _fit_predict(x, y, w, x_new, binary)
    replicated = _fit_predict(np.repeat(x, reps, axis=0), np.repeat(y, reps),
                              np.ones(reps.sum()), x_new, binary)
    np.testing.assert_allclose(weighted, replicated, rtol=1e-6, atol=1e-9)
    unweighted = _fit_predict(x, y, np.ones(len(y)), x_new, binary)
    assert np.abs(weighted - unweighted).max() > 1e-3            # the weights do matter


def test_weighted_metrics_equal_metrics_on_replicated_rows():
    x, yc, yb, w = _toy()
    rng = np.random.default_rng(3)
    reps = w.astype(int)
    for metric, y, p in (("r2", yc, yc + rng.normal(size=len(yc))),
                         ("auc", yb, np.round(rng.random(len(yb)) + 0.3 * yb, 1)),  # with ties
                         ("log_loss", yb, np.clip(rng.random(len(yb)), 0.05, 0.95))):
        got = _scores(metric, y, p, w)[0]
        rep = _scores(metric, np.repeat(y, reps), np.repeat(p, reps), np.ones(reps.sum()))[0]
        ref = {"r2": r2_score, "auc": roc_auc_score, "log_loss": log_loss}[metric](
            y, p, sample_weight=w)
        assert got == pytest.approx(rep, rel=1e-10) and got == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("binary", [False, True])
def test_same_unpenalised_model_as_statsmodels(binary):
    x, yc, yb, w = _toy()
    y = yb if binary else yc
    x_new = _toy(n=50, seed=9)[0]
    exog, exog_new = sm.add_constant(x), sm.add_constant(x_new)
    if binary:
        ref = sm.GLM(y, exog, family=sm.families.Binomial(), var_weights=w).fit(
            tol=1e-12).predict(exog_new)
    else:
        ref = sm.WLS(y, exog, weights=w).fit().predict(exog_new)
    np.testing.assert_allclose(_fit_predict(x, y, w, x_new, binary), ref, rtol=1e-6,
                               atol=1e-8)


@pytest.mark.parametrize("outcome", ["ltr", "churn"])
def test_both_sides_are_the_statsmodels_fit_on_the_training_folds(tmp_path_factory, outcome):
    """T and J, on a real (synthetic) study: every out-of-fold prediction is the weighted,
    unpenalised statsmodels fit on the other folds."""
    st = _study(tmp_path_factory, 0.8, 7)
    prep = _prepare(st, outcome, "indicator", journey_features(st), ("mean", "min", "sd"))
    y, w = prep["y"], prep["w"] / prep["w"].mean()
    binary = outcome == "churn"
    xs = {"T": prep["T"], "J": prep["J"]}
    preds = _oos_predictions(xs, y, w, binary, n_splits=3, n_repeats=1, seed=11)
    splitter = (StratifiedKFold if binary else KFold)(n_splits=3, shuffle=True, random_state=11)
    for train, test in splitter.split(np.zeros(len(y)), y):
        for name, x in xs.items():
            ex = sm.add_constant(x, has_constant="add")
            if binary:
                fit = sm.GLM(y[train], ex[train], family=sm.families.Binomial(),
                             var_weights=w[train]).fit(tol=1e-12)
            else:
                fit = sm.WLS(y[train], ex[train], weights=w[train]).fit()
            np.testing.assert_allclose(preds[name][0, test], fit.predict(ex[test]), rtol=1e-5,
                                       atol=1e-7)


def test_closed_form_folds_and_vectorised_bootstrap_equal_the_refit_path(tmp_path_factory):
    """The Gram-matrix fold fits equal refitting scikit-learn per fold, and the vectorised
    bootstrap equals scoring each resample with scikit-learn's weighted metrics."""
    st = _study(tmp_path_factory, 0.8, 7)
    prep = _prepare(st, "ltr", "indicator", journey_features(st), ("mean", "min", "sd"))
    y, w, x = prep["y"], prep["w"], prep["T+J"]
    preds = _oos_predictions({"T+J": x}, y, w, False, n_splits=5, n_repeats=2, seed=3)["T+J"]
    for rep in range(2):
        ref = np.empty(len(y))
        for train, test in KFold(5, shuffle=True, random_state=3 + rep).split(x):
            ref[test] = LinearRegression().fit(x[train], y[train], sample_weight=w[train]) \
                .predict(x[test])
        np.testing.assert_allclose(preds[rep], ref, rtol=1e-7, atol=1e-7)
    p = preds.mean(axis=0)
    idx = np.random.default_rng(0).integers(0, len(y), size=(40, len(y)))
    boot = _bootstrap("r2", y, w, {"m": p}, idx)["m"]
    ref = [r2_score(y[b], p[b], sample_weight=w[b]) for b in idx]
    np.testing.assert_allclose(boot, ref, rtol=1e-9)
    yb = (y > np.median(y)).astype(float)
    pb = 1 / (1 + np.exp(-(p - p.mean())))
    for metric, fn in (("auc", roc_auc_score), ("log_loss", log_loss)):
        boot = _bootstrap(metric, yb, w, {"m": pb}, idx)["m"]
        ref = [fn(yb[b], pb[b], sample_weight=w[b]) for b in idx]
        np.testing.assert_allclose(boot, ref, rtol=1e-9)


def test_weights_enter_every_fit_and_metric(tmp_path_factory):
    """End to end: the table's T score is the weighted R² of weighted refits on the same folds;
    unit weights give another number."""
    st = _study(tmp_path_factory, 0.8, 7)
    rng = np.random.default_rng(5)
    resp = st.respondents.assign(weight=rng.choice([0.5, 1.0, 4.0], size=len(st.respondents)))
    weighted = dataclasses.replace(st, respondents=resp)
    c = compare_journey_touchpoint(weighted, "osat", n_repeats=1, n_boot=50, seed=2)
    prep = _prepare(weighted, "osat", "indicator", journey_features(weighted),
                    ("mean", "min", "sd"))
    y, w, x = prep["y"], prep["w"], prep["T"]
    ref = np.empty(len(y))
    for train, test in KFold(5, shuffle=True, random_state=2).split(x):
        ref[test] = LinearRegression().fit(x[train], y[train], sample_weight=w[train]) \
            .predict(x[test])
    t_row = c[(c["model"] == "T") & (c["metric"] == "r2")].iloc[0]
    assert t_row["value"] == pytest.approx(r2_score(y, ref, sample_weight=w), rel=1e-9)
    plain = dataclasses.replace(st, respondents=resp.assign(weight=1.0))
    c1 = compare_journey_touchpoint(plain, "osat", n_repeats=1, n_boot=50, seed=2)
    assert abs(c1.loc[0, "value"] - t_row["value"]) > 1e-3


def test_nested_test_is_a_weighted_sandwich_wald_test():
    x, yc, yb, w = _toy(n=400, k=4, seed=4)
    t, tj = x[:, :2], x
    name, stat, p, df = _nested_test(t, tj, yc, w, binary=False)
    ex = sm.add_constant(tj)
    xw = ex * w[:, None]
    bread = np.linalg.inv(xw.T @ ex)
    b = bread @ xw.T @ yc
    e = yc - ex @ b
    n, k = ex.shape
    cov = bread @ ((ex * (w * e)[:, None]).T @ (ex * (w * e)[:, None])) @ bread * n / (n - k)
    rb = b[3:]
    f = rb @ np.linalg.solve(cov[3:, 3:], rb) / 2
    assert (name, df) == ("Wald F", 2.0)
    assert stat == pytest.approx(f, rel=1e-8)
    assert p == pytest.approx(stats.f.sf(f, 2, n - k), rel=1e-6)
    # with no journey column beyond the touchpoint columns there is nothing to test
    name, stat, p, df = _nested_test(t, t, yb, w, binary=True)
    assert (name, df) == ("Wald chi2", 0.0) and np.isnan(stat) and np.isnan(p)
    # binary: the weighted logit's sandwich, by hand
    name, stat, p, df = _nested_test(t, tj, yb, w, binary=True)
    fit = sm.GLM(yb, ex, family=sm.families.Binomial(), var_weights=w).fit(tol=1e-12)
    mu = fit.fittedvalues
    bread = np.linalg.inv((ex * (w * mu * (1 - mu))[:, None]).T @ ex)
    score = ex * (w * (yb - mu))[:, None]
    cov = bread @ (score.T @ score) @ bread
    chi2 = fit.params[3:] @ np.linalg.solve(cov[3:, 3:], fit.params[3:])
    assert (name, df) == ("Wald chi2", 2.0)
    assert stat == pytest.approx(chi2, rel=1e-6) and p == pytest.approx(stats.chi2.sf(chi2, 2),
                                                                        rel=1e-5)


# ----------------------------------------------------------------------------------------------
# planted truth
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_journey_effect_journeys_do_not_win(tmp_path_factory, seed):
    st = _study(tmp_path_factory, 0.0, seed)
    c = compare_journey_touchpoint(st, "ltr", n_repeats=2, n_boot=200, seed=seed)
    diff = c[(c["model"] == "J-T") & (c["metric"] == "r2")].iloc[0]
    assert diff["low"] <= 0                        # includes zero or favours touchpoints
    assert verdicts(c, st)["verdict"].iloc[0] in ("touchpoints", "no difference")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_strong_journey_effect_journeys_win(tmp_path_factory, seed):
    st = _study(tmp_path_factory, 1.5, seed)
    c = compare_journey_touchpoint(st, "ltr", n_repeats=2, n_boot=200, seed=seed)
    r2 = c[c["metric"] == "r2"].set_index("model")
    assert r2.at["J-T", "low"] > 0 and r2.at["J/T", "low"] > 0
    nested = c[c["model"] == "T+J vs T"].iloc[0]
    assert nested["metric"] == "Wald F" and nested["p"] < 0.001
    assert set(c["basis"]) == {"direct rating"}
    v = verdicts(c, st).iloc[0]
    assert v["verdict"] == "journeys"
    # the headline is the difference in out-of-sample R² with its interval; the ratio follows
    assert v["sentence"].startswith(
        "Journey measures explain more variance in likelihood to recommend than touchpoint "
        f"measures: out-of-sample R² {r2.at['J', 'value']:.3f} versus {r2.at['T', 'value']:.3f}, "
        f"a difference of {r2.at['J-T', 'value']:+.3f} (95 % CI {r2.at['J-T', 'low']:+.3f} to "
        f"{r2.at['J-T', 'high']:+.3f}); relative to the touchpoint measures, "
        f"{100 * r2.at['J/T', 'value']:.0f} % more variance explained (95 % CI "
        f"{100 * r2.at['J/T', 'low']:.0f} %")


@pytest.mark.parametrize("effect,expected", [(0.0, ("touchpoints", "no difference")),
                                             (1.5, ("journeys",))])
def test_binary_outcome(tmp_path_factory, effect, expected):
    st = _study(tmp_path_factory, effect, 4)
    c = compare_journey_touchpoint(st, "churn", n_repeats=2, n_boot=150, seed=4)
    assert set(c["metric"]) == {"auc", "log_loss", "Wald chi2"}
    assert verdicts(c, st)["verdict"].iloc[0] in expected


@pytest.mark.parametrize("outcome", ["ltr", "churn"])
def test_neither_predicts_a_pure_noise_outcome(tmp_path_factory, outcome):
    st = _study(tmp_path_factory, 1.5, 1)
    rng = np.random.default_rng(8)
    n = len(st.respondents)
    noise = (rng.random(n) < 0.3).astype(float) if outcome == "churn" else \
        rng.integers(0, 11, n).astype(float)
    noisy = dataclasses.replace(st, respondents=st.respondents.assign(**{outcome: noise}))
    c = compare_journey_touchpoint(noisy, outcome, n_repeats=2, n_boot=200, seed=1)
    v = verdicts(c, noisy).iloc[0]
    assert v["verdict"] == "neither predicts"
    chance = 0.5 if outcome == "churn" else 0.0
    assert v["t_low"] <= chance and v["j_low"] <= chance
    against = "chance (AUC 0.5)" if outcome == "churn" else "its average"
    label = "churn" if outcome == "churn" else "likelihood to recommend"
    assert v["sentence"].startswith(f"Neither journey nor touchpoint measures predict {label} "
                                    f"better than {against} out of sample")
    assert "cannot say which predicts it better" in v["sentence"]


def test_declared_journeys_without_a_direct_rating_are_touchpoint_summaries(tmp_path_factory):
    st = _study(tmp_path_factory, 1.5, 1)
    bare = dataclasses.replace(st, journey_ratings=st.journey_ratings.iloc[:, :0])
    c = compare_all(bare, outcomes=["osat"], n_repeats=1, n_boot=100, seed=1)
    assert set(c["basis"]) == {"touchpoint summaries"} and set(c["derived"]) == {"mean, min, sd"}
    v = verdicts(c, bare).iloc[0]
    assert v["basis"] == "touchpoint summaries"
    assert v["sentence"].startswith(
        "Journey scores here are summaries (mean, weakest link, spread) of the same touchpoint "
        "ratings, so this compares two ways of summarising the same answers, not journeys with "
        "touchpoints: ")
    # with the event log the journey model holds something the touchpoint ratings do not
    logged = compare_all(bare, outcomes=["osat"], n_repeats=1, n_boot=20, seed=1,
                         journeys=journey_log(bare).journeys())
    assert set(logged["basis"]) == {"event log"}
    assert not verdicts(logged, bare)["sentence"].iloc[0].startswith("Journey scores here")
    both = compare_all(st, outcomes=["osat"], n_repeats=1, n_boot=20, seed=1,
                       journeys=journey_log(st).journeys())
    assert set(both["basis"]) == {"direct rating and event log"}


def test_na_complete_uses_complete_cases(tmp_path_factory):
    st = _study(tmp_path_factory, 0.8, 7)
    # fill the ratings of 85 % of respondents so that complete cases exist
    rng = np.random.default_rng(2)
    filled = st.ratings.where(st.ratings.notna() | (rng.random(len(st.ratings)) < 0.15)[:, None],
                              3.0)
    full = dataclasses.replace(st, ratings=filled)
    frame = full.frame()
    jr = ["journey_" + c for c in full.journey_ratings]
    complete = frame["osat"].notna() & frame[full.rated_touchpoints + jr].notna().all(axis=1)
    assert 30 < complete.sum() < frame["osat"].notna().sum()
    c = compare_all(full, outcomes=["osat"], na="complete", n_repeats=1, n_boot=20, seed=1)
    assert set(c["n"]) == {int(complete.sum())}
    ind = compare_all(full, outcomes=["osat"], na="indicator", n_repeats=1, n_boot=20, seed=1)
    assert set(ind["n"]) == {int(frame["osat"].notna().sum())}
    # the study's own policy is the default
    policy = dataclasses.replace(full, config={**full.config, "na": "complete"})
    pd.testing.assert_frame_equal(
        compare_all(policy, outcomes=["osat"], n_repeats=1, n_boot=20, seed=1), c)
    with pytest.raises(cx.StudyError, match="indicator' or 'complete"):
        compare_all(full, outcomes=["osat"], na="mean")


def test_bases_under_min_base_are_not_compared(tmp_path_factory):
    st = _study(tmp_path_factory, 0.8, 7)
    big = dataclasses.replace(st, config={**st.config, "min_base": 5000})
    assert compare_all(big).empty                           # left out, no number
    with pytest.raises(cx.StudyError, match="min_base of 5000"):
        compare_journey_touchpoint(big, "ltr")


def test_same_seed_same_table(sample_study):
    a = compare_journey_touchpoint(sample_study, "osat", n_repeats=2, n_boot=100, seed=5)
    b = compare_journey_touchpoint(sample_study, "osat", n_repeats=2, n_boot=100, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["outcome", "model", "metric", "value", "low", "high", "cv_sd",
                               "n", "p", "df", "basis", "derived"]


# ----------------------------------------------------------------------------------------------
# sentences from numbers
# ----------------------------------------------------------------------------------------------

def _table(d, lo, hi, t=0.30, t_ci=(0.25, 0.35), j_ci=None, basis="direct rating"):
    j = t + d
    j_ci = j_ci or (j - 0.05, j + 0.05)
    rows = [("T", t, *t_ci), ("J", j, *j_ci), ("T+J", j + 0.01, 0, 0),
            ("J-T", d, lo, hi), ("J/T", d / t, lo / t, hi / t)]
    df = pd.DataFrame([{"outcome": "ltr", "model": m, "metric": "r2", "value": v, "low": a,
                        "high": b, "n": 900, "p": np.nan, "df": np.nan, "basis": basis,
                        "derived": "mean, min"} for m, v, a, b in rows])
    nested = {"outcome": "ltr", "model": "T+J vs T", "metric": "Wald F", "value": 3.0,
              "low": np.nan, "high": np.nan, "n": 900, "p": 0.2, "df": 4.0, "basis": basis,
              "derived": "mean, min"}
    return pd.concat([df, pd.DataFrame([nested])], ignore_index=True)


def test_verdict_sentences_from_numbers():
    win = verdicts(_table(0.093, 0.054, 0.132)).iloc[0]
    assert win["sentence"] == (
        "Journey measures explain more variance in ltr than touchpoint measures: out-of-sample "
        "R² 0.393 versus 0.300, a difference of +0.093 (95 % CI +0.054 to +0.132); relative to "
        "the touchpoint measures, 31 % more variance explained (95 % CI 18 % to 44 %).")
    same = verdicts(_table(0.01, -0.02, 0.04)).iloc[0]
    assert same["sentence"].startswith("No detectable difference between journey and touchpoint "
                                       "measures in predicting ltr")
    assert "difference +0.010, 95 % CI -0.020 to +0.040" in same["sentence"]
    lose = verdicts(_table(-0.06, -0.09, -0.03)).iloc[0]
    assert lose["verdict"] == "touchpoints"
    assert lose["sentence"].startswith("Journey measures explain less variance in ltr than "
                                       "touchpoint measures: out-of-sample R² 0.240 versus "
                                       "0.300, a difference of -0.060 (95 % CI -0.090 to -0.030)"
                                       "; relative to the touchpoint measures, 20 % less")
    assert "add no detectable information" in lose["nested_sentence"]
    assert "robust Wald test p = 0.200" in lose["nested_sentence"]
    # the case: out-of-sample R² -0.026 (journeys) against -0.049 (touchpoints)
    neither = verdicts(_table(0.023, 0.005, 0.04, t=-0.049, t_ci=(-0.07, -0.03),
                              j_ci=(-0.04, -0.01))).iloc[0]
    assert neither["verdict"] == "neither predicts"
    assert neither["sentence"] == (
        "Neither journey nor touchpoint measures predict ltr better than its average out of "
        "sample (R² -0.026, 95 % CI -0.040 to -0.010, with journey measures; -0.049, 95 % CI "
        "-0.070 to -0.030, with touchpoint measures), so this study cannot say which predicts "
        "it better.")
    # T does not beat the mean but J does: a verdict, without a ratio over a base near zero
    weak = verdicts(_table(0.05, 0.02, 0.08, t=0.005, t_ci=(-0.01, 0.02))).iloc[0]
    assert weak["verdict"] == "journeys" and "relative" not in weak["sentence"]
    summ = verdicts(_table(0.093, 0.054, 0.132, basis="touchpoint summaries")).iloc[0]
    assert summ["sentence"].startswith("Journey scores here are summaries (mean, weakest link) "
                                       "of the same touchpoint ratings, so this compares two "
                                       "ways of summarising the same answers, not journeys with "
                                       "touchpoints: journey measures explain more variance")
    assert list(win.index) == ["outcome", "label", "metric", "t", "j", "tj", "diff", "diff_low",
                               "diff_high", "gain", "gain_low", "gain_high", "nested_stat",
                               "nested_p", "verdict", "sentence", "nested_sentence", "basis",
                               "t_low", "t_high", "j_low", "j_high", "nested_test",
                               "nested_df", "n"]


def test_comparison_plot_shows_the_differences(tmp_path_factory):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cx_helpers.plots import comparison_plot

    st = _study(tmp_path_factory, 1.5, 1)
    c = compare_all(st, outcomes=["osat", "churn"], n_repeats=1, n_boot=50, seed=1)
    ax = comparison_plot(c)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["osat (R²): J − T", "osat (R²): T+J − T", "churn (AUC): J − T",
                      "churn (AUC): T+J − T"]
    from matplotlib.collections import PathCollection
    points = np.concatenate([np.asarray(col.get_offsets())[:, 0] for col in ax.collections
                             if isinstance(col, PathCollection)])
    want = c[c["model"].isin(["J-T", "T+J-T"]) & c["metric"].isin(["r2", "auc"])]["value"]
    np.testing.assert_allclose(np.sort(points), np.sort(want), rtol=1e-12)
    levels = comparison_plot(c, kind="levels", labels=verdicts(c, st).set_index("outcome")[
        "label"])
    assert [t.get_text() for t in levels.get_yticklabels()][:4] == [
        "overall satisfaction (R²): T", "overall satisfaction (R²): J",
        "overall satisfaction (R²): T+J", "churn (AUC): T"]
    plt.close("all")


def test_outcomes_left_out_say_why(tmp_path_factory):
    st = _study(tmp_path_factory, 0.8, 7)
    small = dataclasses.replace(st, config={**st.config, "min_base": 600})
    c = compare_all(small, n_repeats=1, n_boot=20, seed=1)
    y = st.frame()["churn"].dropna()
    assert (y == 1).sum() < 600 < len(y)               # the churners are under the base
    assert "churn" not in set(c["outcome"]) and "ltr" in set(c["outcome"])
    assert "smaller group of the yes/no outcome" in c.attrs["skipped"]["churn"]
    assert list(verdicts(c.iloc[:0]).columns)[-3:] == ["nested_test", "nested_df", "n"]


def test_journey_scores_that_repeat_are_dropped_not_fatal(tmp_path_factory):
    """A one-touchpoint journey (its mean is its minimum, its spread 0) and a journey declared
    twice: the repeats leave model J instead of stopping the comparison."""
    from cx_helpers.study import Journey

    st = _study(tmp_path_factory, 0.8, 7)
    tp = st.journeys["buy"].touchpoints
    odd = dataclasses.replace(st, journey_ratings=st.journey_ratings.iloc[:, :0], journeys={
        **st.journeys, "solo": Journey("solo", (tp[0],)), "again": Journey("again", tp)})
    prep = _prepare(odd, "osat", "indicator", journey_features(odd), ("mean", "min", "sd"))
    cols = prep["columns"]["J"]
    assert "solo_mean" in cols and "solo_min" not in cols and "solo_sd" not in cols
    assert not any(c.startswith("again_") for c in cols) and "buy_min" in cols
    c = compare_all(odd, outcomes=["osat"], n_repeats=1, n_boot=20, seed=1)
    assert set(c["basis"]) == {"touchpoint summaries"}
