"""Journey scores and the journey-versus-touchpoint test.

Journeys are the study's declared groups of touchpoints (``journeys.declared``); their events
side (reconstruction from logs, paths, transitions) lives in :mod:`cx_helpers.paths`.

The test asks the study's own data the industry's question: do journey-level measures predict an
outcome better than touchpoint-level measures? Three models per outcome, touchpoint measures (T),
journey measures (J) and both (T+J), are scored out of sample by repeated k-fold
cross-validation; a paired bootstrap over respondents gives intervals on J minus T and on the
relative gain; nested-model tests (F for continuous outcomes, likelihood ratio for binary ones)
say what J adds beyond T. It is an association in observational data, not a causal effect.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import log_loss, r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold

from cx_helpers.design import design_matrix
from cx_helpers.study import Study

__all__ = ["MEASURES", "compare_all", "compare_journey_touchpoint", "journey_features",
           "journey_score_methods", "journey_scores", "operational_features", "verdicts"]

MEASURES = ("mean", "min", "sd", "peak_end", "last")
_MEASURE_WORDS = {"mean": "mean", "min": "weakest link (minimum)", "sd": "consistency (SD)",
                  "peak_end": "peak-end", "last": "last touch"}


def _derived(ratings: pd.DataFrame, midpoint: float) -> dict[str, pd.Series]:
    """Derived scores of one journey from its touchpoint ratings (columns in journey order)."""
    r = ratings.to_numpy(dtype=float)
    rated = ~np.isnan(r)
    any_rated = rated.any(axis=1)
    out = {}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out["mean"] = np.where(any_rated, np.nanmean(np.where(rated, r, np.nan), axis=1)
                               if r.shape[1] else np.nan, np.nan)
        out["min"] = np.where(any_rated, np.nanmin(np.where(rated, r, np.inf), axis=1), np.nan)
        counts = rated.sum(axis=1)
        sd = np.nanstd(np.where(rated, r, np.nan), axis=1, ddof=0)
        out["sd"] = np.where(counts >= 1, np.where(counts >= 2, sd, 0.0), np.nan)
        last_idx = np.where(any_rated, r.shape[1] - 1 - np.argmax(rated[:, ::-1], axis=1), 0)
        last = np.where(any_rated, r[np.arange(len(r)), last_idx], np.nan)
        out["last"] = last
        # the peak: the rating farthest from the scale midpoint (the lower one on ties)
        dev = np.where(rated, np.abs(r - midpoint) + (r < midpoint) * 1e-9, -np.inf)
        peak = np.where(any_rated, r[np.arange(len(r)), np.argmax(dev, axis=1)], np.nan)
        out["peak_end"] = (peak + last) / 2.0
    return {k: pd.Series(v, index=ratings.index) for k, v in out.items()}


def journey_scores(study: Study, measures=MEASURES) -> pd.DataFrame:
    """Score every declared journey for every respondent.

    The direct journey rating where the survey asked for one (measure ``"direct"``), and the
    measures derived from the journey's touchpoint ratings: ``mean``, ``min`` (weakest link),
    ``sd`` (consistency; 0 with one rating), ``peak_end`` (mean of the peak, the rating farthest
    from the scale midpoint, and the end) and ``last`` (the last touchpoint rated, in the
    journey's declared order). Missing when the respondent rated none of the touchpoints.

    Returns
    -------
    DataFrame
        Tidy: ``respondent, journey, measure, value``.
    """
    parts = []
    for name, journey in study.journeys.items():
        if name in study.journey_ratings:
            parts.append(pd.DataFrame({"respondent": study.journey_ratings.index,
                                       "journey": name, "measure": "direct",
                                       "value": study.journey_ratings[name].to_numpy()}))
        members = [tp for tp in journey.touchpoints if tp in study.ratings]
        if not members:
            continue
        cat = study.catalog.set_index("touchpoint").loc[members]
        mid = float(((cat["scale_min"] + cat["scale_max"]) / 2).mean())
        derived = _derived(study.ratings[members], mid)
        for m in measures:
            parts.append(pd.DataFrame({"respondent": study.ratings.index, "journey": name,
                                       "measure": m, "value": derived[m].to_numpy()}))
    if not parts:
        return pd.DataFrame(columns=["respondent", "journey", "measure", "value"])
    return pd.concat(parts, ignore_index=True)


def journey_score_methods(study: Study, derived=("mean", "min", "sd")) -> pd.DataFrame:
    """How each journey enters model J: ``journey, touchpoints, score``."""
    return pd.DataFrame([{
        "journey": name, "touchpoints": ", ".join(j.touchpoints),
        "score": "direct rating" if name in study.journey_ratings
        else "derived: " + ", ".join(_MEASURE_WORDS[m] for m in derived),
    } for name, j in study.journeys.items()])


def operational_features(study: Study, journeys: pd.DataFrame) -> pd.DataFrame:
    """Operational journey measures per respondent, from reconstructed journeys.

    Per journey type: ``ops_<type>_contacts`` (contacts), ``ops_<type>_switches`` (channel
    switches), ``ops_<type>_repeats`` (repeat journeys) and ``ops_<type>_hours``
    (log(1 + hours of journey duration)), summed over the customer's journeys of that type; 0
    for customers without such a journey.

    Parameters
    ----------
    study : Study
    journeys : DataFrame
        :meth:`cx_helpers.paths.JourneyLog.journeys`.

    Returns
    -------
    DataFrame
        Index ``respondent``.
    """
    j = journeys.assign(hours=np.log1p(journeys["duration_h"].astype(float)),
                        repeats=journeys["is_repeat"].astype(float))
    agg = j.groupby(["customer", "type"]).agg(contacts=("contacts", "sum"),
                                              switches=("channel_switches", "sum"),
                                              repeats=("repeats", "sum"), hours=("hours", "sum"))
    wide = agg.unstack("type", fill_value=0.0)
    wide.columns = [f"ops_{t}_{m}" for m, t in wide.columns]
    wide = wide[sorted(wide.columns)]
    per_resp = wide.reindex(study.respondents["customer"].to_numpy()).fillna(0.0)
    per_resp.index = study.respondents.index
    return per_resp.astype(float)


def journey_features(study: Study, derived=("mean", "min", "sd"),
                     journeys: pd.DataFrame | None = None) -> pd.DataFrame:
    """The journey measures of model J, a column per journey and measure.

    The direct rating for journeys the survey asked about; the ``derived`` measures otherwise;
    plus the operational measures when reconstructed ``journeys`` are given.

    Returns
    -------
    DataFrame
        Index ``respondent``; columns ``<journey>`` (direct) or ``<journey>_<measure>``.
    """
    scores = journey_scores(study, measures=derived)
    cols = {}
    for name in study.journeys:
        part = scores[scores["journey"] == name]
        use = ["direct"] if "direct" in set(part["measure"]) else list(derived)
        for m in use:
            v = part[part["measure"] == m].set_index("respondent")["value"]
            cols[name if m == "direct" else f"{name}_{m}"] = v
    feats = pd.DataFrame(cols, index=study.ratings.index)
    if journeys is not None and len(journeys):
        feats = feats.join(operational_features(study, journeys))
    return feats


def _fit_predict(x_train, y_train, x_test, binary):
    if binary:
        model = LogisticRegression(max_iter=5000).fit(x_train, y_train)
        return model.predict_proba(x_test)[:, 1]
    return LinearRegression().fit(x_train, y_train).predict(x_test)


def _oos_predictions(xs: dict, y, binary, n_splits, n_repeats, seed):
    """Out-of-sample predictions per model and repeat (the same folds for every model)."""
    preds = {name: np.empty((n_repeats, len(y))) for name in xs}
    splitter = StratifiedKFold if binary else KFold
    for rep in range(n_repeats):
        folds = splitter(n_splits=n_splits, shuffle=True, random_state=seed + rep)
        for train, test in folds.split(np.zeros(len(y)), y):
            for name, x in xs.items():
                preds[name][rep, test] = _fit_predict(x[train], y[train], x[test], binary)
    return preds


def _r2_rows(y, p):
    """R^2 of each row of predictions ``p`` against each row of ``y`` (vectorised)."""
    ss_res = ((y - p) ** 2).sum(axis=1)
    ss_tot = ((y - y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    return 1.0 - ss_res / ss_tot


def _metrics(binary):
    if binary:
        return {"auc": roc_auc_score,
                "log_loss": lambda y, p: log_loss(y, np.clip(p, 1e-12, 1 - 1e-12),
                                                  labels=[0.0, 1.0])}
    return {"r2": r2_score}


def _gain(metric, j, t):
    """Relative gain of J over T: R^2 ratio, AUC above chance ratio, log-loss reduction."""
    if metric == "r2":
        return j / t - 1.0
    if metric == "auc":
        return (j - 0.5) / (t - 0.5) - 1.0
    return 1.0 - j / t  # log-loss: lower is better, gain = relative reduction


def _nested_test(t: np.ndarray, tj: np.ndarray, y, binary):
    """What J adds beyond T on the whole sample: F test (OLS) or likelihood-ratio test (logit)."""
    xt, xtj = sm.add_constant(t, has_constant="add"), sm.add_constant(tj, has_constant="add")
    with warnings.catch_warnings():  # rank-deficient designs are fine: df use the rank
        warnings.simplefilter("ignore")
        return _nested(xt, xtj, y, binary)


def _nested(xt, xtj, y, binary):
    if not binary:
        small, big = sm.OLS(y, xt).fit(), sm.OLS(y, xtj).fit()
        f, p, df = big.compare_f_test(small)
        return "F", float(f), float(p), float(df)
    fits = []
    for x in (xt, xtj):
        try:
            fits.append(sm.Logit(y, x).fit(disp=0, maxiter=200))
        except Exception:  # singular Hessian: fall back to a quasi-Newton fit
            fits.append(sm.Logit(y, x).fit(disp=0, method="bfgs", maxiter=2000))
    lr = 2.0 * (fits[1].llf - fits[0].llf)
    df = float(np.linalg.matrix_rank(xtj) - np.linalg.matrix_rank(xt))
    return "LR", float(lr), float(stats.chi2.sf(max(lr, 0.0), df)), df


def compare_journey_touchpoint(study: Study, outcome: str = "ltr", n_splits: int = 5,
                               n_repeats: int = 5, n_boot: int = 500, seed: int = 0,
                               na: str = "indicator", derived=("mean", "min", "sd"),
                               journeys: pd.DataFrame | None = None,
                               level: float = 0.95) -> pd.DataFrame:
    """Out-of-sample comparison of touchpoint (T), journey (J) and combined (T+J) models.

    Repeated k-fold cross-validation with the same folds for all three models: every
    respondent is predicted by models fitted without them, in each of ``n_repeats`` repeats;
    the predictions are averaged over the repeats and scored (R^2 for nps, ordinal and
    continuous outcomes; AUC and log-loss for binary ones). The intervals come from a paired
    bootstrap over respondents (the same resample for every model), so the interval on J-T
    accounts for the two models being scored on the same people.

    Parameters
    ----------
    study : Study
    outcome : str
        An outcome name of the study.
    n_splits, n_repeats : int
        Folds and repeats of the cross-validation.
    n_boot : int
        Bootstrap resamples.
    seed : int
        Seed of the folds and of the bootstrap.
    na : str
        Handling of missing ratings (see :mod:`cx_helpers.design`).
    derived : tuple of str
        Measures for journeys without a direct rating (see :func:`journey_scores`).
    journeys : DataFrame, optional
        Reconstructed journeys (:meth:`cx_helpers.paths.JourneyLog.journeys`): their
        operational measures join model J.
    level : float
        Interval level.

    Returns
    -------
    DataFrame
        ``outcome, model, metric, value, low, high, cv_sd, n, p``. Models ``T``, ``J``,
        ``T+J``; ``J-T`` and ``T+J-T`` (differences); ``J/T`` (relative gain: R^2 ratio minus
        1, ratio of AUC above 0.5 minus 1, or relative log-loss reduction); ``T+J vs T`` (the
        nested test: metric ``F`` or ``LR``, ``value`` the statistic, ``p`` its p-value).
    """
    spec = study.outcome_specs[outcome]
    binary = spec.kind == "binary"
    frame = study.frame()
    y_all = frame[outcome]
    keep = y_all.notna()
    feats = journey_features(study, derived=derived, journeys=journeys).loc[keep]
    t = design_matrix(frame.loc[keep], study.rated_touchpoints, na=na)
    rating_cols = [c for c in feats.columns if not c.startswith("ops_")]
    j = design_matrix(feats, rating_cols, na=na)
    ops = [c for c in feats.columns if c.startswith("ops_")]
    if ops:
        j = j.join(feats.loc[j.index, ops])
    common = t.index.intersection(j.index)
    t, j = t.loc[common], j.loc[common]
    y = y_all.loc[common].to_numpy(dtype=float)
    tj = pd.concat([t, j.add_prefix("journey_")], axis=1)
    xs = {"T": t.to_numpy(), "J": j.to_numpy(), "T+J": tj.to_numpy()}
    preds = _oos_predictions(xs, y, binary, n_splits, n_repeats, seed)
    avg = {k: v.mean(axis=0) for k, v in preds.items()}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(n_boot, len(y)))
    a = (1.0 - level) / 2.0 * 100.0
    rows = []

    def add(model, metric, value, boot, cv_sd=np.nan, p=np.nan):
        boot = np.asarray(boot, dtype=float)
        boot = boot[np.isfinite(boot)]
        low, high = (np.percentile(boot, [a, 100.0 - a]) if boot.size else (np.nan, np.nan))
        rows.append({"outcome": outcome, "model": model, "metric": metric,
                     "value": float(value), "low": float(low), "high": float(high),
                     "cv_sd": float(cv_sd), "n": len(y), "p": float(p)})

    for metric, fn in _metrics(binary).items():
        point, boot, cv_sd = {}, {}, {}
        for name, p in avg.items():
            point[name] = fn(y, p)
            cv_sd[name] = np.std([fn(y, r) for r in preds[name]], ddof=1) if n_repeats > 1 \
                else np.nan
            if metric == "r2":
                boot[name] = _r2_rows(y[idx], p[idx])
            else:
                vals = []
                for b in idx:
                    yb = y[b]
                    vals.append(fn(yb, p[b]) if 0 < yb.sum() < len(yb) else np.nan)
                boot[name] = np.array(vals)
        for name in avg:
            add(name, metric, point[name], boot[name], cv_sd[name])
        add("J-T", metric, point["J"] - point["T"], boot["J"] - boot["T"])
        add("T+J-T", metric, point["T+J"] - point["T"], boot["T+J"] - boot["T"])
        with np.errstate(all="ignore"):
            add("J/T", metric, _gain(metric, point["J"], point["T"]),
                _gain(metric, boot["J"], boot["T"]))
    name, stat, p, df = _nested_test(xs["T"], xs["T+J"], y, binary)
    rows.append({"outcome": outcome, "model": "T+J vs T", "metric": name, "value": stat,
                 "low": np.nan, "high": np.nan, "cv_sd": np.nan, "n": len(y), "p": p})
    return pd.DataFrame(rows)


def compare_all(study: Study, outcomes=None, **kwargs) -> pd.DataFrame:
    """:func:`compare_journey_touchpoint` for several outcomes (default: every outcome with
    survey respondents), one table."""
    if outcomes is None:
        outcomes = [name for name in study.outcome_specs
                    if study.frame()[name].notna().sum() >= 30]
    parts = [compare_journey_touchpoint(study, outcome=o, **kwargs) for o in outcomes]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["outcome", "model", "metric", "value", "low", "high", "cv_sd", "n", "p"])


def _pct(x):
    return f"{100.0 * x:.0f} %"


def _p_text(p):
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def verdicts(comparison: pd.DataFrame, study: Study | None = None,
             level: float = 0.95) -> pd.DataFrame:
    """One sentence per outcome, in the industry's phrasing, built from the comparison table.

    The verdict follows the interval on J minus T (R^2 for continuous outcomes, AUC for binary
    ones): above zero, journeys win and the relative gain is stated with its interval; below
    zero, touchpoints win; spanning zero, "no detectable difference".

    Returns
    -------
    DataFrame
        ``outcome, label, metric, t, j, tj, diff, diff_low, diff_high, gain, gain_low,
        gain_high, nested_stat, nested_p, verdict, sentence, nested_sentence``.
    """
    rows = []
    ci = f"{level:.0%} CI".replace("%", " %")
    for outcome, part in comparison.groupby("outcome", sort=False):
        metric = "auc" if "auc" in set(part["metric"]) else "r2"
        m = part[part["metric"] == metric].set_index("model")
        nested = part[part["model"] == "T+J vs T"].iloc[0]
        label = outcome
        if study is not None and outcome in study.outcome_specs and metric == "r2":
            label = study.outcome_specs[outcome].label or outcome   # binary: "churn", not "Churned"
        label = label[0].lower() + label[1:] if label[:2] != label[:2].upper() else label
        t, j, tj = (m.at[k, "value"] for k in ("T", "J", "T+J"))
        d, dl, dh = (m.at["J-T", c] for c in ("value", "low", "high"))
        g, gl, gh = (m.at["J/T", c] for c in ("value", "low", "high"))
        base_ok = (t > 0.01) if metric == "r2" else (t - 0.5 > 0.01)
        what = "explain" if metric == "r2" else "are"
        stat_name = "R²" if metric == "r2" else "AUC"
        figures = f"out-of-sample {stat_name} {j:.3f} versus {t:.3f}"
        if metric == "r2":
            more, less = "more variance in", "less variance in"
        else:
            more, less = "more predictive of", "less predictive of"
        if dl > 0 or dh < 0:
            verdict = "journeys" if dl > 0 else "touchpoints"
            if base_ok:
                size = g if dl > 0 else -g
                lo, hi = (gl, gh) if dl > 0 else (-gh, -gl)
                sentence = (f"journey measures {what} {_pct(size)} "
                            f"{more if dl > 0 else less} {label} than touchpoint measures "
                            f"({ci} {_pct(lo)} to {_pct(hi)}; {figures})")
            else:
                sentence = (f"journey measures {what} {more if dl > 0 else less} {label} than "
                            f"touchpoint measures ({figures}; difference {d:+.3f}, {ci} "
                            f"{dl:+.3f} to {dh:+.3f})")
            if metric == "auc":
                sentence += ", predictive power measured as AUC above chance (0.5)"
        else:
            verdict = "no difference"
            sentence = (f"no detectable difference between journey and touchpoint measures in "
                        f"predicting {label} ({figures}; difference {d:+.3f}, {ci} {dl:+.3f} "
                        f"to {dh:+.3f})")
        adds = nested["p"] < 1.0 - level
        better = tj > t
        test = f"{nested['metric']} test {_p_text(nested['p'])}"
        oos = (f"out-of-sample {stat_name} {tj:.3f} with both versus {t:.3f} with touchpoints "
               "alone")
        if adds and not better:
            nested_sentence = (f"Added to the touchpoint measures, journey measures add "
                               f"information about {label} in the fitted sample ({test}) that "
                               f"does not carry over to new respondents ({oos}).")
        else:
            nested_sentence = (f"Added to the touchpoint measures, journey measures "
                               f"{'add' if adds else 'add no detectable'} information about "
                               f"{label} ({test}; {oos}).")
        rows.append({"outcome": outcome, "label": label, "metric": metric, "t": t, "j": j,
                     "tj": tj, "diff": d, "diff_low": dl, "diff_high": dh, "gain": g,
                     "gain_low": gl, "gain_high": gh, "nested_stat": nested["value"],
                     "nested_p": nested["p"], "verdict": verdict,
                     "sentence": sentence[0].upper() + sentence[1:] + ".",
                     "nested_sentence": nested_sentence})
    return pd.DataFrame(rows)
