"""Not-applicable coding (cx_helpers.design) and what the driver models make of it.

References are independent: designs written out by hand and fitted with statsmodels or
numpy.linalg.lstsq, Shapley values by averaging over every ordering, Welch's test from scipy.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.miscmodels.ordinal_model import OrderedModel

import cx_helpers as cx
from conftest import survey_study
from cx_helpers.design import design_matrix
from cx_helpers.drivers import condition_number, driver_model, key_drivers
from cx_helpers.importance import relative_importance


def _study(folder, df, outcomes, drivers, na_codes=(9,), segments=(), na=None):
    return survey_study(folder, df, outcomes, drivers, na_codes=na_codes, segments=segments,
                        na=na)


def _ratings(rng, n, p, effects, noise="logistic"):
    z = rng.normal(size=(n, p)) + rng.normal(size=(n, 1))
    r = np.clip(np.round(3 + z), 1, 5)
    latent = r @ np.asarray(effects, float) + getattr(rng, noise)(size=n)
    return pd.DataFrame(r.astype(int), columns=[f"t{j}" for j in range(p)]), latent


def _cooccurring(seed=5, n=800, p=6):
    """Six touchpoints; the same 12 respondents skip t1 and t2; the others are always rated."""
    rng = np.random.default_rng(seed)
    df, latent = _ratings(rng, n, p, np.linspace(0.8, 0.0, p))
    rare = rng.choice(n, 12, replace=False)
    df.loc[rare, ["t1", "t2"]] = 9
    df.insert(0, "rid", np.arange(n))
    df["sat"] = np.digitize(latent, np.quantile(latent, [0.2, 0.5, 0.8])) + 1
    df["stay"] = (latent > np.median(latent)).astype(int)
    return df, rare


def test_cooccurring_rare_na_that_was_singular_now_fits(tmp_path):
    """Before: two identical 'not rated' columns. With this seed the old code path
    (``cx_helpers.design`` at 0ac3c4b) raised ``LinAlgError: Singular matrix`` in the ordered
    logit and the logit, and fitted a rank-deficient OLS silently. Now one shared indicator."""
    df, rare = _cooccurring()
    st = _study(tmp_path / "s", df, {"sat": {"column": "sat", "kind": "ordinal",
                                             "scale": [1, 4]},
                                     "stay": {"column": "stay", "kind": "binary"}},
                [f"t{j}" for j in range(6)])
    m = driver_model(st, "sat", na="indicator")
    assert list(m.terms["driver"]) == [f"t{j}" for j in range(6)] + ["t1+t2__na"]
    assert m.terms.set_index("driver").at["t1+t2__na", "kind"] == "not rated"
    assert any("one shared 'not rated' indicator (t1+t2__na)" in n for n in m.notes)
    assert np.isfinite(m.terms[["coef", "se"]]).all().all()
    # the same model written out by hand: ratings centred on the raters' mean, 0 where missing
    x = df[[f"t{j}" for j in range(6)]].astype(float).replace(9, np.nan)
    by_hand = (x - x.mean()).fillna(0.0)
    by_hand["na"] = x["t1"].isna().astype(float)
    ref = OrderedModel(df["sat"], by_hand, distr="logit").fit(method="bfgs", disp=False,
                                                              maxiter=2000)
    np.testing.assert_allclose(m.terms["coef"], ref.params.iloc[:7], atol=1e-4)
    logit = driver_model(st, "stay", na="indicator")
    ref = sm.Logit(df["stay"], sm.add_constant(by_hand)).fit(disp=0)
    np.testing.assert_allclose(logit.terms["coef"], ref.params.iloc[1:], rtol=1e-5)
    # the importance split: the shared indicator enters with the first of t1, t2 to enter
    imp = relative_importance(df.replace({f"t{j}": {9: np.nan} for j in range(6)}), "sat",
                              [f"t{j}" for j in range(6)], na="indicator")
    assert imp["importance"].sum() == pytest.approx(
        sm.OLS(df["sat"], sm.add_constant(by_hand)).fit().rsquared, rel=1e-9)


def _union_shapley(df, outcome, drivers, extra):
    """LMG by brute force: every ordering, a coalition's model holding its ratings and every
    indicator of ``extra`` (name -> touchpoints) that covers one of its members."""
    y = df[outcome].to_numpy(float)

    def r2(members):
        cols = [df[d] for d in members] + [df[c] for c, owners in extra.items()
                                           if set(owners) & set(members)]
        if not cols:
            return 0.0
        z = np.column_stack([np.ones(len(y))] + cols)
        resid = y - z @ np.linalg.lstsq(z, y, rcond=None)[0]
        return 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))

    phi = dict.fromkeys(drivers, 0.0)
    orders = list(itertools.permutations(drivers))
    for order in orders:
        for k, d in enumerate(order):
            phi[d] += r2(order[:k + 1]) - r2(order[:k])
    return pd.Series({d: v / len(orders) for d, v in phi.items()})


def test_shared_indicator_importance_is_the_union_game():
    rng = np.random.default_rng(11)
    n = 500
    df, latent = _ratings(rng, n, 4, [0.6, 0.4, 0.3, 0.0], noise="normal")
    df = df.astype(float)
    skip = rng.random(n) < 0.2
    df.loc[skip, ["t0", "t2"]] = np.nan           # t0 and t2: the same respondents skip both
    df["y"] = latent + 0.8 * skip
    out = relative_importance(df, "y", list(df.columns[:4]), na="indicator")
    filled = df.copy()
    for c in ["t0", "t2"]:
        filled[c] = filled[c].fillna(filled[c].mean())
    filled["na"] = skip.astype(float)
    want = _union_shapley(filled, "y", ["t0", "t1", "t2", "t3"], {"na": ["t0", "t2"]})
    np.testing.assert_allclose(out["importance"], want[out.index], atol=1e-10)
    assert any("t0, t2" in n for n in out.attrs["notes"])


def test_indicators_only_where_informative(tmp_path):
    rng = np.random.default_rng(2)
    n = 400
    df, _ = _ratings(rng, n, 5, [0.5] * 5)
    df = df.astype(float)
    a = rng.random(n) < 0.15
    b = ~a & (rng.random(n) < 0.15)
    df.loc[a, "t0"] = np.nan                       # t0: its own N/A
    df.loc[b, "t1"] = np.nan                       # t1: disjoint from t0's
    df.loc[a | b, "t2"] = np.nan                   # t2: exactly t0's or t1's -> aliased
    df.loc[:4, "t3"] = np.nan                      # t3: 5 N/A, under MIN_NA
    x = design_matrix(df, list(df.columns), na="indicator")  # t4: never N/A
    assert list(x.columns) == ["t0", "t1", "t2", "t3", "t4", "t0__na", "t1__na"]
    assert "t2__na" in x.attrs["dropped"] and "t0__na" in x.attrs["dropped"]["t2__na"]
    notes = " ".join(x.attrs["notes"])
    assert "t3: 5" in notes and "raters' mean" in notes
    assert x.loc[:4, "t3"].abs().max() == 0      # set to the (centred) mean
    assert np.linalg.matrix_rank(np.column_stack([np.ones(n), x])) == x.shape[1] + 1
    # never rated: left out with a note; an exact copy of another rating: a clear error
    x = design_matrix(df.assign(t5=np.nan), list(df.columns) + ["t5"], na="indicator")
    assert "t5" not in x.columns and x.attrs["dropped"]["t5"] == "never rated"
    with pytest.raises(cx.StudyError, match="'t6'.*linear combination.*Fix: drop touchpoint"):
        design_matrix(df.assign(t6=df["t4"] * 2), list(df.columns) + ["t6"], na="indicator")


def test_complete_cases_report_who_was_dropped_and_whether_they_differ(tmp_path):
    rng = np.random.default_rng(4)
    n = 600
    df, latent = _ratings(rng, n, 3, [0.7, 0.3, 0.1], noise="normal")
    skip = latent > np.quantile(latent, 0.7)       # the satisfied skip t2 more often
    df.loc[skip & (rng.random(n) < 0.5), "t2"] = 9
    df.insert(0, "rid", np.arange(n))
    df["y"] = latent
    df.loc[:9, "y"] = np.nan                       # 10 without the outcome
    st = _study(tmp_path / "s", df, {"y": {"column": "y", "kind": "continuous"}},
                ["t0", "t1", "t2"], na="complete")
    m = driver_model(st, "y")                      # na=None: the study's policy
    assert m.na == "complete"
    has_y = df["y"].notna()
    complete = has_y & (df["t2"] != 9)
    assert m.n == complete.sum()
    assert m.dropped["outcome_missing"] == 10
    assert m.dropped["incomplete"] == (has_y & ~complete).sum()
    ref = stats.ttest_ind(df.loc[has_y & ~complete, "y"], df.loc[complete, "y"],
                          equal_var=False)
    assert m.dropped["p"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert m.dropped["diff"] == pytest.approx(df.loc[has_y & ~complete, "y"].mean()
                                              - df.loc[complete, "y"].mean())
    assert m.dropped["p"] < 0.001 and "they differ" in m.describe()
    row = m.summary().iloc[0]
    assert row["n_incomplete"] == m.dropped["incomplete"] and row["dropped_p"] < 0.001


def test_condition_number_does_not_depend_on_the_na_option():
    """Bank survey (no missing values): Belsley on the uncentred fitted design, both ways."""
    from conftest import EXAMPLES

    raw = pd.read_csv(EXAMPLES / "bank-satisfaction" / "satisfaction.csv")
    st = cx.load_study(EXAMPLES / "bank-satisfaction")
    ind = driver_model(st, "sat", na="indicator")
    comp = driver_model(st, "sat", na="complete")
    assert ind.condition_number == pytest.approx(comp.condition_number, rel=1e-9)
    items = [c for c in st.rated_touchpoints]
    xs = sm.add_constant(raw[[st.catalog.set_index("touchpoint").at[t, "column"]
                              for t in items]]).to_numpy(float)
    xs = xs / np.linalg.norm(xs, axis=0)
    assert comp.condition_number == pytest.approx(np.linalg.cond(xs), rel=1e-9)
    assert ind.warnings == comp.warnings
    # Belsley's variance-decomposition shares by hand: the weakest dimension and the
    # coefficients holding over half their variance on it are what the warning names
    u, sv, vt = np.linalg.svd(xs, full_matrices=False)
    phi = (vt.T / sv) ** 2
    share = phi / phi.sum(axis=1, keepdims=True)
    weakest = np.argmin(sv)
    names = [items[k - 1] for k in range(1, xs.shape[1]) if share[k, weakest] > 0.5]
    assert sv.max() / sv[weakest] > 30 and len(names) >= 2
    assert any(f"({', '.join(names)})" in w for w in comp.warnings), (names, comp.warnings)
    assert condition_number(raw[["imag1"]].to_numpy()) == pytest.approx(
        np.linalg.cond(xs[:, :2] / np.linalg.norm(xs[:, :2], axis=0)), rel=1e-9)


def test_model_failure_names_the_cause_and_the_fix(tmp_path):
    rng = np.random.default_rng(8)
    n = 300
    df, _ = _ratings(rng, n, 3, [0.5, 0.3, 0.1])
    df.insert(0, "rid", np.arange(n))
    df["stay"] = (df["t0"] >= 3).astype(int)      # t0 separates the outcome perfectly
    st = _study(tmp_path / "s", df, {"stay": {"column": "stay", "kind": "binary"}},
                ["t0", "t1", "t2"])
    with pytest.raises(cx.StudyError, match="could not be fitted: .*separat.*Fix: drop"):
        driver_model(st, "stay")


# ---------------------------------------------------------------------------------------------
# yes/no and ordinal outcomes: touchpoint-level importance, fast, with intervals


def _binary_frame(seed, n=3000, p=8, strength=0.6, intercept=-0.5):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, p)) + 0.7 * rng.normal(size=(n, 1))
    beta = np.linspace(1.0, 0.0, p) * strength
    y = (rng.random(n) < 1 / (1 + np.exp(-(z @ beta + intercept)))).astype(float)
    df = pd.DataFrame(z, columns=[f"d{j}" for j in range(p)])
    df["y"] = y
    return df, beta


@pytest.mark.parametrize("seed,strength,intercept", [(0, 0.6, -0.5), (1, 1.5, -2.0)])
def test_linear_probability_lmg_agrees_with_exact_logit_dominance(seed, strength, intercept):
    """p = 8: LMG of the linear probability model against general dominance over McFadden's
    pseudo-R^2 of all 256 logits. Measured over seeds 0-3: Spearman 1.0 and shares within
    1.1 points (moderate effects), 2.4 points (strong effects, 15 % events)."""
    df, beta = _binary_frame(seed, strength=strength, intercept=intercept)
    drivers = [f"d{j}" for j in range(8)]
    lmg = relative_importance(df, "y", drivers)
    dom = relative_importance(df, "y", drivers, method="dominance")
    assert dom.attrs["measure"] == "McFadden pseudo-R2"
    assert stats.spearmanr(lmg["share"], dom["share"]).statistic >= 0.95
    assert (lmg["share"] - dom["share"]).abs().max() < 3.5
    assert list(lmg["rank"].iloc[:3]) == [1, 2, 3]            # the planted order at the top


def test_binary_main_outcome_gets_touchpoint_importance_with_intervals_in_seconds(tmp_path):
    rng = np.random.default_rng(21)
    n, p = 3000, 14
    effects = np.r_[np.linspace(0.9, 0.1, p - 1), -0.6]       # t13 goes with leaving less
    df, latent = _ratings(rng, n, p, effects)
    for j in range(0, p, 3):
        df.loc[rng.random(n) < 0.3, f"t{j}"] = 9
    df.insert(0, "rid", np.arange(n))
    df["churn"] = (latent + rng.logistic(size=n) < np.median(latent)).astype(int)
    st = _study(tmp_path / "s", df, {"churn": {"column": "churn", "kind": "binary"}},
                [f"t{j}" for j in range(p)])
    start = time.perf_counter()
    table = key_drivers(st, outcomes=["churn"], methods=["lmg"], n_boot=200, seed=3)
    took = time.perf_counter() - start
    assert took < 30, took
    assert list(table["driver"]) == st.rated_touchpoints and (table["level"] == "driver").all()
    assert table[["low", "high", "share_low", "share_high"]].notna().all().all()
    assert (table["share_low"] <= table["share_high"]).all()
    assert (table["measure"] == "R2 (linear probability)").all()
    sign = table.set_index("driver")["sign"]
    # better ratings, less churn: the planted positive effects on loyalty are negative here
    assert sign["t0"] == -1 and sign["t13"] == 1
    top = table.nsmallest(4, "rank")["driver"]
    assert set(top) <= {"t0", "t1", "t2", "t3", "t4"}         # the strongest planted effects


def test_negative_planted_driver_gets_sign_minus_one():
    rng = np.random.default_rng(31)
    n = 1500
    x = rng.normal(size=(n, 4)) + 0.5 * rng.normal(size=(n, 1))
    df = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    df["y"] = x @ [0.8, 0.4, -0.5, 0.0] + rng.normal(size=n)
    out = relative_importance(df, "y", ["a", "b", "c", "d"], n_boot=20, seed=1)
    assert list(out["sign"].iloc[:3]) == [1, 1, -1]
    assert out.loc["c", "share"] > 5                           # important, and negative
    grouped = relative_importance(df, "y", ["a", "b", "c", "d"], groups={"g": ["a", "b"]})
    assert np.isnan(grouped.loc["g", "sign"]) and grouped.loc["c", "sign"] == -1


def _lmg_by_orderings(df, y, cols, w):
    def r2(s):
        if not s:
            return 0.0
        z = np.column_stack([np.ones(len(df))] + [df[c] for c in s])
        sw = np.sqrt(w)
        beta = np.linalg.lstsq(z * sw[:, None], df[y] * sw, rcond=None)[0]
        resid = df[y] - z @ beta
        ybar = np.average(df[y], weights=w)
        return 1 - (w * resid ** 2).sum() / (w * (df[y] - ybar) ** 2).sum()
    phi = np.zeros(len(cols))
    for order in itertools.permutations(range(len(cols))):
        for k, j in enumerate(order):
            phi[j] += r2([cols[i] for i in order[:k + 1]]) - r2([cols[i] for i in order[:k]])
    return phi / math.factorial(len(cols))


def test_share_intervals_come_from_the_bootstrap_draws_of_the_share():
    rng = np.random.default_rng(41)
    n = 200
    x = rng.normal(size=(n, 3)) + 0.6 * rng.normal(size=(n, 1))
    df = pd.DataFrame(x, columns=["a", "b", "c"])
    df["y"] = x @ [0.5, 0.3, 0.1] + rng.normal(size=n)
    out = relative_importance(df, "y", ["a", "b", "c"], n_boot=40, seed=7)
    draws = []
    rs = np.random.default_rng(7)                 # the same resamples, redone by hand
    for _ in range(40):
        counts = np.bincount(rs.integers(0, n, n), minlength=n).astype(float)
        draws.append(_lmg_by_orderings(df, "y", ["a", "b", "c"], counts))
    draws = np.array(draws)
    shares = 100 * draws / draws.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out["share_low"], np.quantile(shares, 0.025, axis=0), atol=1e-8)
    np.testing.assert_allclose(out["share_high"], np.quantile(shares, 0.975, axis=0), atol=1e-8)
    np.testing.assert_allclose(out["low"], np.quantile(draws, 0.025, axis=0), atol=1e-10)
    # not the importance interval over the point R^2
    assert not np.allclose(out["share_low"], 100 * out["low"] / out.attrs["r2"], atol=0.05)


def test_segments_beside_touchpoints(tmp_path):
    """A touchpoint that only stands in for a segment loses its share once the segment is in."""
    rng = np.random.default_rng(51)
    n = 2000
    plan = rng.choice(["basic", "plus", "max"], n)
    boost = pd.Series(plan).map({"basic": 0.0, "plus": 1.0, "max": 2.0}).to_numpy()
    df, latent = _ratings(rng, n, 4, [0.6, 0.3, 0.0, 0.0], noise="normal")
    df["t3"] = np.clip(np.round(2 + boost + 0.5 * rng.normal(size=n)), 1, 5).astype(int)
    df.insert(0, "rid", np.arange(n))
    df["plan"] = plan
    df["y"] = latent + 1.5 * boost
    st = _study(tmp_path / "s", df, {"y": {"column": "y", "kind": "continuous"}},
                [f"t{j}" for j in range(4)], segments=["plan"])
    table = key_drivers(st, outcomes=["y"], methods=["lmg"], segments=["plan"])
    plain = table[table["method"] == "lmg"].set_index("driver")
    both = table[table["method"] == "lmg_segments"].set_index("driver")
    assert list(both.index) == ["t0", "t1", "t2", "t3", "plan"]
    assert both.loc["plan", "level"] == "segment" and np.isnan(both.loc["plan", "sign"])
    assert both["share"].sum() == pytest.approx(100)
    dummies = pd.get_dummies(df["plan"], drop_first=True, dtype=float)
    r2 = sm.OLS(df["y"], sm.add_constant(pd.concat([df[["t0", "t1", "t2", "t3"]], dummies],
                                                   axis=1))).fit().rsquared
    assert both["importance"].sum() == pytest.approx(r2, rel=1e-9)
    assert plain.loc["t3", "rank"] == 1                        # alone, t3 looks the key driver
    assert both.loc["plan", "rank"] == 1 and both.loc["t3", "share"] < plain.loc["t3", "share"]
    # a run restricted to one plan: the plan explains nothing there and is left out
    one = key_drivers(st.subset("plan=basic"), outcomes=["y"], methods=["lmg"], segments=["plan"])
    assert set(one["method"]) == {"lmg"}
    # and the segment's effects are reported as controls
    m = driver_model(st, "y", controls=["plan"])
    seg = m.terms[m.terms["kind"] == "segment"]
    assert list(seg["driver"]) == ["plan_max", "plan_plus"]
    assert seg["coef"].iloc[0] == pytest.approx(3.0, abs=0.3)


def test_complete_cases_that_leave_too_few_respondents_say_so(sample_study):
    """On the sample every respondent skips some touchpoint: complete cases leave no one."""
    with pytest.raises(cx.StudyError, match="only 0 respondents rated all 20 drivers.*"
                                            "Fix: use na='indicator'"):
        driver_model(sample_study, "ltr", na="complete")


@pytest.mark.slow
def test_notebook_02_with_a_yes_no_main_outcome(tmp_path, sample_dir):
    """The crash of issue 10: a yes/no main outcome now gets touchpoint importance with
    intervals in notebook 02 (it used to fail with an IndexError after minutes of logit
    dominance bootstrap)."""
    import papermill as pm

    from cx_helpers.runner import KERNEL_ARGUMENTS, NOTEBOOK_DIR, kernel_name

    out = tmp_path / "run"
    out.mkdir()
    pm.execute_notebook(str(NOTEBOOK_DIR / "02_loyalty_regression.ipynb"),
                        str(tmp_path / "02.ipynb"),
                        parameters={"study": str(sample_dir), "output_dir": str(out),
                                    "outcome": "churn", "higher_is_better": False,
                                    "n_boot": 20, "seed": 3},
                        kernel_name=kernel_name(), cwd=str(out), progress_bar=False,
                        log_output=False, extra_arguments=KERNEL_ARGUMENTS)
    imp = pd.read_csv(out / "tables" / "importance.csv")
    churn = imp[(imp["outcome"] == "churn") & (imp["method"] == "lmg")]
    assert len(churn) == 20 and (churn["level"] == "driver").all()
    assert churn[["share_low", "share_high"]].notna().all().all()
    assert (churn["measure"] == "R2 (linear probability)").all()
    models = pd.read_csv(out / "tables" / "driver_models.csv")
    assert models["outcome"].iloc[0] == "churn" and models["model"].iloc[0] == "logit"
    pmap = pd.read_csv(out / "tables" / "priority_map.csv")
    assert "sign" in pmap.columns


def test_rated_enough_splits_at_the_minimum_base():
    from cx_helpers.design import rated_enough

    ratings = pd.DataFrame({"a": [1.0] * 30 + [np.nan] * 5, "b": [2.0] * 29 + [np.nan] * 6,
                            "c": [np.nan] * 35})
    assert rated_enough(ratings, 30) == (["a"], ["b", "c"])
    assert rated_enough(ratings, 29) == (["a", "b"], ["c"])
