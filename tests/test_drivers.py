"""Key-driver models: each checked against an independent fit, plus collinearity and the map."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.stats.outliers_influence import variance_inflation_factor

import cx_helpers as cx
from conftest import survey_study
from cx_helpers.drivers import collinearity, driver_model, priority_map


def _write_study(folder, df, outcomes, drivers, weight=None, segments=(), na_codes=()):
    return survey_study(folder, df, outcomes, drivers, na_codes=na_codes, segments=segments,
                        weight=weight)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """400 respondents, 3 drivers on 1-5 with some not-applicable answers, integer weights."""
    rng = np.random.default_rng(7)
    n = 400
    z = rng.normal(size=(n, 3)) + rng.normal(size=(n, 1))
    ratings = np.clip(np.round(3 + z), 1, 5)
    latent = ratings @ [0.8, 0.3, 0.0] + rng.logistic(size=n)
    df = pd.DataFrame(ratings.astype(int), columns=["a", "b", "c"])
    df.insert(0, "rid", np.arange(1, n + 1))
    df["ltr"] = np.clip(np.round(latent - latent.mean() + 7), 0, 10).astype(int)
    df["sat"] = np.digitize(latent, np.quantile(latent, [0.2, 0.5, 0.8])) + 1
    df["churn"] = (latent + rng.logistic(size=n) < np.median(latent)).astype(int)
    df["w"] = rng.integers(1, 4, size=n)
    df["plan"] = rng.choice(["x", "y", "z"], size=n)
    outcomes = {"ltr": {"column": "ltr", "kind": "nps"},
                "sat": {"column": "sat", "kind": "ordinal", "scale": [1, 4]},
                "churn": {"column": "churn", "kind": "binary"}}
    return df, _write_study(tmp_path_factory.mktemp("s") / "study", df, outcomes, ["a", "b", "c"],
                            weight="w", segments=["plan"])


def _replicated(df):
    return df.loc[df.index.repeat(df["w"])].reset_index(drop=True)


def test_ols_matches_weighted_least_squares_by_hand(small):
    df, st = small
    m = driver_model(st, "ltr", na="complete")
    assert m.model == "ols" and m.n == len(df)
    x = np.column_stack([np.ones(len(df)), df[["a", "b", "c"]]])
    sw = np.sqrt(df["w"].to_numpy() / df["w"].mean())
    beta = np.linalg.lstsq(x * sw[:, None], df["ltr"].to_numpy() * sw, rcond=None)[0]
    np.testing.assert_allclose(m.coefficients["coef"], beta[1:], rtol=1e-10)
    resid = df["ltr"] - x @ beta
    w = df["w"] / df["w"].mean()
    ybar = np.average(df["ltr"], weights=w)
    r2 = 1 - (w * resid**2).sum() / (w * (df["ltr"] - ybar) ** 2).sum()
    assert m.fit["r2"] == pytest.approx(r2, rel=1e-10)
    # HC3 by hand on the weighted (whitened) regression
    xw, ew = x * sw[:, None], resid.to_numpy() * sw
    bread = np.linalg.inv(xw.T @ xw)
    h = np.einsum("ij,jk,ik->i", xw, bread, xw)
    meat = (xw * (ew / (1 - h))[:, None] ** 2).T @ xw
    se = np.sqrt(np.diag(bread @ meat @ bread))
    np.testing.assert_allclose(m.coefficients["se"], se[1:], rtol=1e-8)


def test_ordered_logit_with_weights_equals_replicated_rows(small):
    df, st = small
    m = driver_model(st, "sat", na="complete")
    assert m.model == "ordered_logit"
    rep = _replicated(df)
    ref = OrderedModel(rep["sat"], rep[["a", "b", "c"]], distr="logit").fit(
        method="bfgs", disp=False, maxiter=2000)
    np.testing.assert_allclose(m.coefficients["coef"], ref.params[["a", "b", "c"]], atol=1e-4)
    np.testing.assert_allclose(m.coefficients["odds_ratio"], np.exp(ref.params[["a", "b", "c"]]),
                               rtol=1e-3)
    # McFadden against the null model's log-likelihood from the category shares
    shares = rep["sat"].value_counts(normalize=True)
    llnull = np.log(shares.loc[rep["sat"]]).sum()
    assert m.fit["pseudo_r2"] == pytest.approx(1 - ref.llf / llnull, abs=1e-5)


def test_logit_with_weights_equals_replicated_rows(small):
    df, st = small
    m = driver_model(st, "churn", na="complete")
    assert m.model == "logit"
    rep = _replicated(df)
    ref = sm.Logit(rep["churn"], sm.add_constant(rep[["a", "b", "c"]])).fit(disp=0)
    np.testing.assert_allclose(m.coefficients["coef"], ref.params[["a", "b", "c"]], rtol=1e-6)
    assert m.fit["pseudo_r2"] == pytest.approx(ref.prsquared, rel=1e-6)
    assert (m.coefficients["coef"].iloc[:2] < 0).all()       # better ratings, less churn


def test_controls_are_held_but_not_reported(small):
    _, st = small
    m = driver_model(st, "ltr", na="complete", controls=["plan"])
    assert {"plan_y", "plan_z"} <= set(m.result.params.index)
    assert list(m.coefficients["driver"]) == ["a", "b", "c"]
    assert "controlling for plan" in m.describe()
    with pytest.raises(ValueError, match="region"):
        driver_model(st, "ltr", controls=["region"])


def test_not_applicable_is_missing_not_a_low_score(tmp_path):
    rng = np.random.default_rng(3)
    n = 600
    a = rng.integers(1, 6, n)
    b = rng.integers(1, 6, n)
    y = 2 * a + rng.normal(size=n)
    met = rng.random(n) < 0.5
    df = pd.DataFrame({"rid": np.arange(n), "a": a, "b": np.where(met, b, 9), "y": y})
    st = _write_study(tmp_path / "s", df, {"y": {"column": "y", "kind": "continuous"}}, ["a", "b"],
                      na_codes=[9])
    ind = driver_model(st, "y", na="indicator")
    comp = driver_model(st, "y", na="complete")
    assert ind.n == n and comp.n == met.sum()
    assert "not rated" in ind.describe() and "complete cases" in comp.describe()
    ref = sm.OLS(df.loc[met, "y"], sm.add_constant(df.loc[met, ["a", "b"]].astype(float))).fit()
    np.testing.assert_allclose(comp.coefficients["coef"], ref.params[["a", "b"]], rtol=1e-10)
    assert ind.coefficients.set_index("driver").at["a", "coef"] == pytest.approx(2, abs=0.1)


def test_vif_matches_statsmodels_and_collinearity_is_warned(tmp_path):
    rng = np.random.default_rng(5)
    n = 500
    base = rng.normal(size=n)
    x = pd.DataFrame({"a": base + 0.05 * rng.normal(size=n), "b": base,
                      "c": rng.normal(size=n)})
    got = collinearity(x)["vif"].to_numpy()
    xc = sm.add_constant(x).to_numpy()
    want = [variance_inflation_factor(xc, k) for k in (1, 2, 3)]
    np.testing.assert_allclose(got, want, rtol=1e-8)
    df = pd.DataFrame({"rid": np.arange(n),
                       "a": np.clip(np.round(3 + base + 0.1 * rng.normal(size=n)), 1, 5),
                       "b": np.clip(np.round(3 + base), 1, 5),
                       "c": np.clip(np.round(3 + rng.normal(size=n)), 1, 5)})
    df["y"] = df["a"] + df["c"] + rng.normal(size=n)
    st = _write_study(tmp_path / "s", df, {"y": {"column": "y", "kind": "continuous"}},
                      ["a", "b", "c"])
    m = driver_model(st, "y")
    assert m.collinearity.set_index("driver").loc[["a", "b"], "vif"].min() > 10
    assert any("too collinear" in w and "a, b" in w for w in m.warnings)
    assert m.condition_number > 5


def test_sample_coefficients_recover_planted_effects(sample_study, sample_dir):
    truth = json.loads((sample_dir / "truth.json").read_text())["touchpoint_effects"]
    m = driver_model(sample_study, "ltr")
    coef = m.coefficients.set_index("driver")["coef"]
    rho = stats.spearmanr(coef, pd.Series(truth)[coef.index]).statistic
    assert rho > 0.8, rho
    # ratings on 1-5 with 'not rated' indicators: a condition number over 30 that comes only
    # from single terms' dependence on the intercept is explained, not warned about
    assert m.condition_number > 30 and not m.warnings
    assert any("only through dependencies of single terms" in n for n in m.notes)


def test_priority_map_quadrants():
    imp = pd.DataFrame({"driver": list("abcde"), "importance": [0.4, 0.3, 0.1, 0.05, 0.2]})
    perf = pd.DataFrame({"driver": list("abcde"), "performance": [3.0, 4.5, 4.4, 3.1, np.nan]})
    m = priority_map(imp, perf).set_index("driver")
    # lines: mean importance of a-d = 0.2125, mean performance = 3.75 (e has no performance)
    assert m.attrs["importance_line"] == pytest.approx(0.2125)
    assert m.loc["a", "quadrant"] == "fix first"
    assert m.loc["b", "quadrant"] == "maintain"
    assert m.loc["c", "quadrant"] == "possible overkill"
    assert m.loc["d", "quadrant"] == "low priority"
    assert m.loc["e", "quadrant"] == "suppressed"
    assert list(m.index[:2]) == ["a", "b"]


def test_key_drivers_table_sums_to_r2_and_binary_gets_touchpoint_level(sample_study):
    from cx_helpers.drivers import MAX_LOGIT_UNITS, key_drivers, stage_groups

    table = key_drivers(sample_study, outcomes=["ltr", "churn"])
    ltr = table[(table["outcome"] == "ltr") & (table["method"] == "lmg")]
    ols = driver_model(sample_study, "ltr", model="ols")
    assert ltr["importance"].sum() == pytest.approx(ols.fit["r2"], rel=1e-9)
    assert ltr["share"].sum() == pytest.approx(100)
    assert set(table.loc[table["outcome"] == "ltr", "method"]) == {"lmg", "johnson"}
    # a yes/no outcome: touchpoint-level LMG of the linear probability model, not stages
    churn = table[(table["outcome"] == "churn") & (table["method"] == "lmg")]
    assert list(churn["driver"]) == sample_study.rated_touchpoints
    assert (churn["level"] == "driver").all()
    assert (churn["measure"] == "R2 (linear probability)").all()
    lpm = driver_model(sample_study, "churn", model="ols")
    assert churn["importance"].sum() == pytest.approx(lpm.fit["r2"], rel=1e-9)
    # logit dominance only when asked, and never silently over stages
    assert len(sample_study.rated_touchpoints) > MAX_LOGIT_UNITS
    with pytest.raises(cx.StudyError, match="2\\^20 logits.*Fix"):
        key_drivers(sample_study, outcomes=["churn"], methods=["dominance"])
    dom = key_drivers(sample_study, outcomes=["churn"], methods=["dominance"],
                      groups=stage_groups(sample_study))
    assert list(dom["driver"]) == list(stage_groups(sample_study))
    assert (dom["level"] == "group").all()
    logit = driver_model(sample_study, "churn")
    assert dom["importance"].sum() == pytest.approx(logit.fit["pseudo_r2"], rel=1e-6)


def test_priority_plot_leaves_suppressed_out():
    import matplotlib

    matplotlib.use("Agg")
    from cx_helpers.plots import priority_plot

    imp = pd.DataFrame({"driver": list("abc"), "label": ["A", "B", "C"],
                        "importance": [10.0, 5.0, 1.0]})
    perf = pd.DataFrame({"driver": list("abc"), "performance": [3.0, 4.0, np.nan]})
    ax = priority_plot(priority_map(imp, perf))
    assert sum(len(c.get_offsets()) for c in ax.collections) == 2
    assert "C" in ax.get_title() and "suppressed" in ax.get_title()


def test_interval_plot_draws_intervals_that_miss_the_estimate():
    import matplotlib

    matplotlib.use("Agg")
    from cx_helpers.plots import interval_plot

    # a percentile bootstrap interval of a near-zero importance can lie above the estimate
    data = pd.DataFrame({"d": ["a", "b"], "v": [0.001, 0.3], "lo": [0.002, 0.2], "hi": [0.01, 0.4]})
    ax = interval_plot(data, y="d", x="v", low="lo", high="hi")
    segments = ax.collections[0].get_segments()
    np.testing.assert_allclose([s[:, 0].min() for s in segments], [0.002, 0.2])
    np.testing.assert_allclose([s[:, 0].max() for s in segments], [0.01, 0.4])


def test_priority_plot_labels_do_not_overlap_and_negative_drivers_are_marked():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cx_helpers.plots import priority_plot

    rng = np.random.default_rng(12)
    k = 18                                      # a crowded map: points close together
    imp = pd.DataFrame({"driver": [f"d{j}" for j in range(k)],
                        "label": [f"Touchpoint number {j}" for j in range(k)],
                        "importance": 5 + rng.normal(scale=0.6, size=k),
                        "sign": [-1.0] + [1.0] * (k - 1)})
    perf = pd.DataFrame({"driver": imp["driver"], "performance": 3.5 + rng.normal(scale=0.15,
                                                                                  size=k)})
    ax = priority_plot(priority_map(imp, perf))
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for t in ax.texts if t.get_text()]
    assert len(texts) == k
    assert any(t.get_text() == "Touchpoint number 0 (negative)" for t in texts)
    boxes = [t.get_window_extent(renderer) for t in texts]
    overlaps = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]
    assert not overlaps
    markers = {c.get_paths()[0].vertices.shape[0] for c in ax.collections if len(c.get_offsets())}
    assert len(markers) == 2                    # circles and the negative driver's triangle
    plt.close(fig)


class _NumericWeightedOrderedModel(OrderedModel):
    """The weighted ordered logit as it was fitted before the analytic score: statsmodels'
    numerical score, score_obs and Hessian of the weighted log-likelihood."""

    def __init__(self, endog, exog, weights):
        super().__init__(endog, exog, distr="logit")
        self.case_weights = np.asarray(weights, dtype=float)

    def loglikeobs(self, params):
        return self.case_weights * super().loglikeobs(params)


def test_ordered_logit_analytic_score_and_hessian_equal_the_numeric_fit(sample_study):
    """The analytic score is the numerical derivative of the weighted log-likelihood, the
    analytic Hessian that of the score, and the fit (BFGS, HC0) gives the estimates of the former numerically differentiated fit on the
    sample's ordinal outcomes (40 columns with the not-rated indicators, survey weights)."""
    from statsmodels.tools.numdiff import approx_fprime

    ordinal = [o for o, s in sample_study.outcome_specs.items() if s.kind == "ordinal"]
    assert ordinal
    m = driver_model(sample_study, ordinal[0])
    assert m.model == "ordered_logit"
    model = m.result.model
    params = m.result.params.to_numpy()
    rng = np.random.default_rng(0)
    for p in (params, params + rng.normal(scale=0.1, size=params.size)):
        np.testing.assert_allclose(model.score_obs(p),
                                   approx_fprime(p, model.loglikeobs, centered=True),
                                   rtol=0, atol=1e-6)
        # the analytic Hessian is the derivative of the analytic score
        np.testing.assert_allclose(model.hessian(p), approx_fprime(p, model.score, centered=True),
                                   rtol=0, atol=1e-4)
    # statsmodels' Hessian from second differences of the log-likelihood is itself accurate to
    # ~2e-3 here (entries up to ~160)
    np.testing.assert_allclose(model.hessian(params),
                               sm.tools.numdiff.approx_hess3(params, model.loglike),
                               rtol=0, atol=5e-3)
    old = _NumericWeightedOrderedModel(model.endog, model.exog, model.case_weights).fit(
        method="bfgs", maxiter=2000, disp=False, cov_type="HC0")
    np.testing.assert_allclose(m.result.params.to_numpy(), old.params, rtol=0, atol=1e-6)
    np.testing.assert_allclose(m.result.bse.to_numpy(), old.bse, rtol=1e-4)
    assert m.result.llf == pytest.approx(old.llf, abs=1e-8)
