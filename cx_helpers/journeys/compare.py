"""The journey-versus-touchpoint test.

The test asks the study's own data the industry's question: do journey-level measures predict an
outcome better than touchpoint-level measures? Three models per outcome, touchpoint measures (T),
journey measures (J) and both (T+J), all the same unpenalised model (weighted least squares, or
weighted logistic regression for yes/no outcomes) with the study's survey weights, are scored out
of sample by repeated k-fold cross-validation with weighted metrics; a paired bootstrap over
respondents gives intervals on J minus T and on the relative gain; a weighted, robust (sandwich)
Wald test says what J adds beyond T in sample. When J rests only on summaries of the touchpoint
ratings T already uses (no direct journey rating, no event log), the verdict says it compares two
summaries of the same answers. It is an association in observational data, not a causal effect.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import linalg
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold
from statsmodels.tools.sm_exceptions import PerfectSeparationError
from threadpoolctl import threadpool_limits

from cx_helpers.design import design_matrix, independent_columns, resolve_na
from cx_helpers.display import p_text, pct
from cx_helpers.errors import StudyError
from cx_helpers.study import Study

from cx_helpers.journeys.reconstruct import journey_log
from cx_helpers.journeys.scores import journey_features

__all__ = ["compare", "compare_all", "compare_journey_touchpoint", "verdicts"]

# ----------------------------------------------------------------------------------------------
# the comparison: one unpenalised, weighted model on every side
# ----------------------------------------------------------------------------------------------

NO_INFORMATION = {"r2": 0.0, "auc": 0.5}
BASES = ("direct rating", "event log", "direct rating and event log", "touchpoint summaries")
_SUMMARY_WORDS = {"mean": "mean", "min": "weakest link", "sd": "spread", "peak_end": "peak-end",
                  "last": "last touch"}
_COLUMNS = ["outcome", "model", "metric", "value", "low", "high", "cv_sd", "n", "p", "df",
            "basis", "derived"]
_VERDICT_COLUMNS = ["outcome", "label", "metric", "t", "j", "tj", "diff", "diff_low", "diff_high",
                    "gain", "gain_low", "gain_high", "nested_stat", "nested_p", "verdict",
                    "sentence", "nested_sentence", "basis", "t_low", "t_high", "j_low", "j_high",
                    "nested_test", "nested_df", "n"]
_BOOT_CELLS = 2_000_000          # resamples x respondents held in memory at once


def _model_matrix(x: np.ndarray, w: np.ndarray, new: np.ndarray | None = None):
    """Intercept plus the columns standardised by their weighted mean and SD in ``x``
    (predictions of an unpenalised model do not change; the solves are better conditioned).
    With ``new``, the same transformation of ``new`` is returned too."""
    mean = np.average(x, axis=0, weights=w) if x.shape[1] else np.zeros(0)
    sd = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=w)) if x.shape[1] else np.zeros(0)
    sd = np.where(sd > 0, sd, 1.0)

    def make(m):
        return np.column_stack([np.ones(len(m)), (m - mean) / sd])
    return make(x) if new is None else (make(x), make(new))


def _solve(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Least-squares coefficients from the normal equations (minimum norm if singular)."""
    try:
        return linalg.cho_solve(linalg.cho_factor(gram), rhs)
    except linalg.LinAlgError:
        return np.linalg.lstsq(gram, rhs, rcond=None)[0]


def _logit(x1: np.ndarray, y: np.ndarray, w: np.ndarray) -> LogisticRegression:
    """Unpenalised weighted logistic regression (``x1`` carries the intercept column)."""
    model = LogisticRegression(C=np.inf, solver="newton-cholesky", fit_intercept=False,
                               max_iter=200, tol=1e-10)
    with warnings.catch_warnings():  # separation or a singular Hessian in a fold: the solver
        warnings.simplefilter("ignore")  # falls back to lbfgs; the fit is still the MLE path
        return model.fit(x1, y, sample_weight=w)


def _fit_predict(x_train, y_train, w_train, x_test, binary):
    """Fit the comparison's model on one sample and predict another.

    Weighted least squares (continuous outcomes) or weighted logistic regression (binary
    outcomes), both with an intercept and no penalty: the same estimator statsmodels' ``WLS`` and
    ``GLM(family=Binomial(), var_weights=w)`` compute, for T, J and T+J alike.

    Parameters
    ----------
    x_train, x_test : ndarray
        Predictors (without intercept).
    y_train, w_train : ndarray
        Outcome and survey weights of the training rows.
    binary : bool

    Returns
    -------
    ndarray
        Predictions (probabilities for binary outcomes) for ``x_test``.
    """
    x_train, x_test = np.asarray(x_train, float), np.asarray(x_test, float)
    y_train, w_train = np.asarray(y_train, float), np.asarray(w_train, float)
    tr, te = _model_matrix(x_train, w_train, x_test)
    if binary:
        return _logit(tr, y_train, w_train).predict_proba(te)[:, 1]
    xw = tr * w_train[:, None]
    return te @ _solve(xw.T @ tr, xw.T @ y_train)


def _linear_oos(x1, y, w, folds):
    """Leave-fold-out WLS predictions from one Gram matrix: each fold's fit is the full-sample
    normal equations minus the fold's own rows (exactly the refit without the fold)."""
    shift = np.average(y, weights=w)
    yc = y - shift
    xw = x1 * w[:, None]
    gram, xty = xw.T @ x1, xw.T @ yc
    pred = np.empty(len(y))
    for test in folds:
        coef = _solve(gram - xw[test].T @ x1[test], xty - xw[test].T @ yc[test])
        pred[test] = x1[test] @ coef + shift
    return pred


def _logit_oos(x1, y, w, folds):
    pred = np.empty(len(y))
    everyone = np.arange(len(y))
    for test in folds:
        train = np.setdiff1d(everyone, test, assume_unique=True)
        pred[test] = _logit(x1[train], y[train], w[train]).predict_proba(x1[test])[:, 1]
    return pred


def _folds(y, binary, n_splits, seed):
    splitter = StratifiedKFold if binary else KFold
    cv = splitter(n_splits=n_splits, shuffle=True, random_state=seed)
    return [test for _, test in cv.split(np.zeros(len(y)), y)]


def _oos_predictions(xs: dict, y, w, binary, n_splits, n_repeats, seed):
    """Out-of-sample predictions per model and repeat (the same folds for every model).

    Linear models use one Gram matrix per model for all folds (:func:`_linear_oos`); logistic
    models are refitted per fold.
    """
    mats = {name: _model_matrix(x, w) for name, x in xs.items()}
    preds = {name: np.empty((n_repeats, len(y))) for name in xs}
    for rep in range(n_repeats):
        folds = _folds(y, binary, n_splits, seed + rep)
        for name, x1 in mats.items():
            preds[name][rep] = (_logit_oos if binary else _linear_oos)(x1, y, w, folds)
    return preds


def _scores(metric: str, y: np.ndarray, p: np.ndarray, wc: np.ndarray) -> np.ndarray:
    """A weighted metric of predictions ``p`` under each row of weights ``wc`` (resamples x n).

    ``r2``: 1 - sum w (y - p)^2 / sum w (y - weighted mean)^2; ``log_loss``: weighted mean of
    the log-loss (probabilities clipped to [1e-12, 1 - 1e-12]); ``auc``: the weighted share of
    (positive, negative) pairs ranked the right way, ties counting one half (what
    ``sklearn.metrics.roc_auc_score(..., sample_weight=w)`` computes). A bootstrap resample is a
    row of counts times the survey weights, so every resample is scored without refitting.
    """
    wc = np.atleast_2d(wc)
    sw = wc.sum(axis=1)
    with np.errstate(all="ignore"):
        if metric == "r2":
            yc = y - y.mean()
            ss_tot = wc @ yc ** 2 - (wc @ yc) ** 2 / sw
            return 1.0 - (wc @ (y - p) ** 2) / ss_tot
        if metric == "log_loss":
            pc = np.clip(p, 1e-12, 1 - 1e-12)
            return (wc @ -(y * np.log(pc) + (1 - y) * np.log1p(-pc))) / sw
        order = np.argsort(p, kind="mergesort")
        ps, ys = p[order], y[order]
        starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
        ws = wc[:, order]
        pos = np.add.reduceat(ws * ys, starts, axis=1)
        neg = np.add.reduceat(ws * (1.0 - ys), starts, axis=1)
        below = np.cumsum(neg, axis=1) - neg
        npos, nneg = pos.sum(axis=1), neg.sum(axis=1)
        auc = (pos * (below + 0.5 * neg)).sum(axis=1) / (npos * nneg)
        return np.where((npos > 0) & (nneg > 0), auc, np.nan)


def _bootstrap(metric, y, w, preds: dict, idx) -> dict:
    """Each model's metric on each bootstrap resample (rows of ``idx``), the same resamples for
    every model (paired)."""
    n_boot, n = idx.shape
    out = {name: np.empty(n_boot) for name in preds}
    step = max(1, _BOOT_CELLS // max(n, 1))
    for lo in range(0, n_boot, step):
        block = idx[lo:lo + step]
        b = len(block)
        counts = np.bincount((np.arange(b)[:, None] * n + block).ravel(),
                             minlength=b * n).reshape(b, n)
        wc = counts * w
        for name, p in preds.items():
            out[name][lo:lo + b] = _scores(metric, y, p, wc)
    return out


def _gain(metric, j, t):
    """Relative gain of J over T: R^2 ratio, AUC above chance ratio, log-loss reduction."""
    if metric == "r2":
        return j / t - 1.0
    if metric == "auc":
        return (j - 0.5) / (t - 0.5) - 1.0
    return 1.0 - j / t  # log-loss: lower is better, gain = relative reduction


def _nested_test(t: np.ndarray, tj: np.ndarray, y, w, binary):
    """What J adds beyond T on the whole sample: a robust (sandwich) Wald test, weighted.

    ``tj`` holds the columns of ``t`` first; the test is that the coefficients of the remaining
    (journey) columns are all zero in the weighted T+J model: WLS with HC1 standard errors (F
    form) for continuous outcomes, a weighted logistic GLM with HC0 standard errors (chi-squared
    form) for binary ones. Returns ``(name, statistic, p, df)``; with no journey column left
    (all of them combinations of the touchpoint columns) the statistic and p are missing and
    df is 0.
    """
    name = "Wald chi2" if binary else "Wald F"
    q = tj.shape[1] - t.shape[1]
    if q == 0:
        return name, np.nan, np.nan, 0.0
    x = sm.add_constant(tj, has_constant="add")
    r = np.zeros((q, x.shape[1]))
    r[np.arange(q), 1 + t.shape[1] + np.arange(q)] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if binary:
                fit = sm.GLM(y, x, family=sm.families.Binomial(), var_weights=w).fit(
                    cov_type="HC0", maxiter=200)
                test = fit.wald_test(r, use_f=False, scalar=True)
            else:
                fit = sm.WLS(y, x, weights=w).fit(cov_type="HC1")
                test = fit.wald_test(r, use_f=True, scalar=True)
        except (np.linalg.LinAlgError, ValueError, PerfectSeparationError):
            return name, np.nan, np.nan, float(q)
    return name, float(test.statistic), float(test.pvalue), float(q)


def _prepare(study: Study, outcome: str, na: str, feats: pd.DataFrame, derived) -> dict:
    """The rows, designs, weights and basis of one outcome's comparison."""
    binary = study.outcome(outcome).kind == "binary"
    frame = study.frame()
    keep = frame[outcome].notna()
    weight = frame["weight"] if "weight" in frame else pd.Series(1.0, index=frame.index)
    t = design_matrix(frame.loc[keep], study.rated_touchpoints, na=na,
                      weights=weight.loc[keep].to_numpy(dtype=float))
    f = feats.loc[keep]
    rating_cols = [c for c in f.columns if not c.startswith("ops_")]
    if na == "complete":
        f = f.dropna(subset=rating_cols)
    # journey scores one at a time (a one-touchpoint journey's mean is its minimum, two journeys
    # may share their touchpoints): the rank check below drops what repeats, instead of a
    # design-wide error meant for touchpoint ratings
    parts = [design_matrix(f, [c], na=na, weights=weight.loc[f.index].to_numpy(dtype=float))
             for c in rating_cols]
    j = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=f.index)
    ops = [c for c in f.columns if c.startswith("ops_")]
    if ops:
        j = j.join(f.loc[j.index, ops])
    common = t.index.intersection(j.index)
    t, j = t.loc[common], j.loc[common]
    tj = pd.concat([t, j.add_prefix("journey_")], axis=1)
    w = weight.loc[common].to_numpy(dtype=float)
    keep_t = independent_columns(t, w)[0]
    keep_j = independent_columns(j, w)[0]
    keep_tj = independent_columns(tj, w)[0]
    if keep_tj[:len(keep_t)] != keep_t:    # the same greedy check, so T's columns lead T+J's
        raise RuntimeError("T+J does not start with the columns of T")
    direct = any(c in study.journeys and c in study.journey_ratings.columns for c in keep_j)
    events = any(c.startswith("ops_") for c in keep_j)
    basis = ("direct rating and event log" if direct and events else "direct rating" if direct
             else "event log" if events else "touchpoint summaries")
    return {"outcome": outcome, "binary": binary,
            "y": frame.loc[common, outcome].to_numpy(dtype=float), "w": w,
            "T": t[keep_t].to_numpy(dtype=float), "J": j[keep_j].to_numpy(dtype=float),
            "T+J": tj[keep_tj].to_numpy(dtype=float), "columns": {
                "T": keep_t, "J": keep_j, "T+J": keep_tj},
            "basis": basis, "derived": ", ".join(derived) if basis == "touchpoint summaries"
            else ""}


def _too_small(prep: dict, study: Study, n_splits: int) -> str | None:
    """Why the comparison cannot be made on these rows, or None."""
    n = len(prep["y"])
    if n < max(study.min_base, 2 * n_splits):
        return (f"only {n} respondents have the outcome and the ratings the models need, under "
                f"the study's min_base of {study.min_base}")
    if prep["binary"]:
        pos = int(prep["y"].sum())
        if min(pos, n - pos) < max(n_splits, study.min_base):
            return (f"only {min(pos, n - pos)} respondents are in the smaller group of the yes/no "
                    f"outcome, under the study's min_base of {study.min_base}")
    if prep["J"].shape[1] == 0:
        return "no journey measure varies among these respondents"
    return None


def _check_na(na, study):
    na = resolve_na(na, study)
    if na not in ("indicator", "complete"):
        raise StudyError(f"the journey comparison handles missing ratings as 'indicator' or "
                         f"'complete', got na={na!r}.", file=study.root / "study.yaml",
                         column="na", expected="indicator or complete",
                         fix="set na to 'indicator' (a touchpoint not rated counts as not met) "
                             "or 'complete' (only respondents who rated everything).")
    return na


def compare_journey_touchpoint(study: Study, outcome: str, *, n_splits: int = 5,
                               n_repeats: int = 5, n_boot: int = 500, seed: int | None = None,
                               na: str | None = None, derived=("mean", "min", "sd"),
                               journeys: pd.DataFrame | None = None,
                               confidence: float = 0.95) -> pd.DataFrame:
    """Out-of-sample comparison of touchpoint (T), journey (J) and combined (T+J) models.

    The same model on every side: weighted least squares (nps, ordinal and continuous outcomes)
    or weighted logistic regression (binary outcomes), with an intercept and no penalty, weighted
    by the study's survey weights (1 when the study has none). Columns that are constant or
    linear combinations of earlier ones are dropped first (in T+J, journey columns that only
    repeat touchpoint columns). Repeated k-fold cross-validation with the same folds for all
    three models: every respondent is predicted by models fitted without them, in each of
    ``n_repeats`` repeats; the predictions are averaged over the repeats and scored with weighted
    metrics (R^2; AUC and log-loss for binary outcomes). Linear models take each fold's fit from
    one Gram matrix (the full-sample normal equations minus the fold's rows: exactly the refit).
    The intervals come from a paired bootstrap over respondents (the same resample for every
    model, each resample scored from the stored out-of-fold predictions with its weights), so
    the interval on J-T accounts for the two models being scored on the same people.

    Parameters
    ----------
    study : Study
    outcome : str
        An outcome name of the study.
    n_splits, n_repeats : int
        Folds and repeats of the cross-validation.
    n_boot : int
        Bootstrap resamples.
    seed : int, optional
        Seed of the folds and of the bootstrap; default the study's (:attr:`Study.seed`).
    na : {"indicator", "complete"}, optional
        Handling of missing ratings in both designs (see :mod:`cx_helpers.design`); default the
        study's policy (:attr:`Study.na`).
    derived : tuple of str
        Measures for journeys without a direct rating (see :func:`journey_scores`).
    journeys : DataFrame, optional
        Reconstructed journeys (:meth:`cx_helpers.journeys.JourneyLog.journeys`): their
        operational measures join model J.
    confidence : float
        Level of the intervals.

    Returns
    -------
    DataFrame
        ``outcome, model, metric, value, low, high, cv_sd, n, p, df, basis, derived``. Models
        ``T``, ``J``, ``T+J``; ``J-T`` and ``T+J-T`` (differences); ``J/T`` (relative gain:
        R^2 ratio minus 1, ratio of AUC above 0.5 minus 1, or relative log-loss reduction);
        ``T+J vs T`` (the nested test, in sample: metric ``Wald F`` or ``Wald chi2``, ``value``
        the statistic, ``p`` its p-value, ``df`` the journey columns tested; see
        :func:`_nested_test`). ``basis`` says what model J rests on: ``"direct rating"``,
        ``"event log"``, ``"direct rating and event log"`` or ``"touchpoint summaries"`` (only
        the ``derived`` summaries of the same touchpoint ratings T uses); ``derived`` lists
        those summaries in the last case.

    Raises
    ------
    StudyError
        An unknown outcome, an unsupported ``na``, or fewer respondents (or, for a yes/no
        outcome, fewer in its smaller group) than the study's ``min_base``.
    """
    na = _check_na(na, study)
    feats = journey_features(study, derived=derived, journeys=journeys)
    with threadpool_limits(limits=1):
        prep = _prepare(study, outcome, na, feats, derived)
    why = _too_small(prep, study, n_splits)
    if why:
        raise StudyError(f"the journey comparison for '{outcome}' is not made: {why}.",
                         column=outcome, expected=f"at least {study.min_base} respondents",
                         fix="use na='indicator', or compare an outcome more respondents have.")
    return _compare(prep, n_splits, n_repeats, n_boot, study.seed if seed is None else seed,
                    confidence)


def _compare(prep, n_splits, n_repeats, n_boot, seed, confidence) -> pd.DataFrame:
    # the matrices are small (respondents x a few dozen columns): multi-threaded BLAS only adds
    # contention (ten times slower on a busy two-core machine), so one thread does the work
    with threadpool_limits(limits=1):
        return _compare_single_thread(prep, n_splits, n_repeats, n_boot, seed, confidence)


def _compare_single_thread(prep, n_splits, n_repeats, n_boot, seed, confidence) -> pd.DataFrame:
    outcome, binary, y, w = prep["outcome"], prep["binary"], prep["y"], prep["w"]
    w = w / w.mean()
    xs = {name: prep[name] for name in ("T", "J", "T+J")}
    preds = _oos_predictions(xs, y, w, binary, n_splits, n_repeats, seed)
    avg = {k: v.mean(axis=0) for k, v in preds.items()}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(n_boot, len(y)))
    a = (1.0 - confidence) / 2.0 * 100.0
    rows = []

    def add(model, metric, value, boot, cv_sd=np.nan, p=np.nan, df=np.nan):
        boot = np.asarray(boot, dtype=float)
        boot = boot[np.isfinite(boot)]
        low, high = (np.percentile(boot, [a, 100.0 - a]) if boot.size else (np.nan, np.nan))
        rows.append({"outcome": outcome, "model": model, "metric": metric,
                     "value": float(value), "low": float(low), "high": float(high),
                     "cv_sd": float(cv_sd), "n": len(y), "p": float(p), "df": float(df),
                     "basis": prep["basis"], "derived": prep["derived"]})

    for metric in (("auc", "log_loss") if binary else ("r2",)):
        point = {name: float(_scores(metric, y, p, w)[0]) for name, p in avg.items()}
        cv_sd = {name: np.std([_scores(metric, y, r, w)[0] for r in preds[name]], ddof=1)
                 if n_repeats > 1 else np.nan for name in preds}
        boot = _bootstrap(metric, y, w, avg, idx)
        for name in avg:
            add(name, metric, point[name], boot[name], cv_sd[name])
        add("J-T", metric, point["J"] - point["T"], boot["J"] - boot["T"])
        add("T+J-T", metric, point["T+J"] - point["T"], boot["T+J"] - boot["T"])
        with np.errstate(all="ignore"):
            add("J/T", metric, _gain(metric, point["J"], point["T"]),
                _gain(metric, boot["J"], boot["T"]))
    name, stat, p, df = _nested_test(xs["T"], xs["T+J"], y, w, binary)
    rows.append({"outcome": outcome, "model": "T+J vs T", "metric": name, "value": stat,
                 "low": np.nan, "high": np.nan, "cv_sd": np.nan, "n": len(y), "p": p,
                 "df": df, "basis": prep["basis"], "derived": prep["derived"]})
    return pd.DataFrame(rows, columns=_COLUMNS)


def compare_all(study: Study, *, outcomes=None, na: str | None = None,
                derived=("mean", "min", "sd"), journeys: pd.DataFrame | None = None,
                n_splits: int = 5, n_repeats: int = 5, n_boot: int = 500,
                seed: int | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """:func:`compare_journey_touchpoint` for several outcomes, one table.

    Parameters
    ----------
    study : Study
    outcomes : list of str, optional
        Default: every outcome of the study whose comparison base (respondents with the outcome
        and the ratings, after ``na``; for a yes/no outcome, its smaller group) reaches the
        study's ``min_base``; the others are left out. Outcomes named here are compared or raise.
    na : {"indicator", "complete"}, optional
        Missing-rating policy of both designs; default the study's (:attr:`Study.na`).
    derived, journeys, n_splits, n_repeats, n_boot, seed, confidence
        As in :func:`compare_journey_touchpoint`.

    Returns
    -------
    DataFrame
        The rows of :func:`compare_journey_touchpoint` for each outcome compared;
        ``attrs["skipped"]`` maps each outcome left out to the reason (one line).
    """
    na = _check_na(na, study)
    feats = journey_features(study, derived=derived, journeys=journeys)
    named = outcomes is not None
    parts, skipped = [], {}
    for o in (outcomes if named else study.outcome_specs):
        with threadpool_limits(limits=1):
            prep = _prepare(study, o, na, feats, derived)
        why = _too_small(prep, study, n_splits)
        if why and named:
            raise StudyError(f"the journey comparison for '{o}' is not made: {why}.", column=o,
                             expected=f"at least {study.min_base} respondents",
                             fix="leave the outcome out, or use na='indicator'.")
        if why:
            skipped[o] = why
        else:
            parts.append(_compare(prep, n_splits, n_repeats, n_boot,
                                  study.seed if seed is None else seed, confidence))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_COLUMNS)
    table.attrs["skipped"] = skipped
    return table


def _f3(x) -> str:
    """Three decimals without a negative zero."""
    s = f"{x:.3f}"
    return "0.000" if s == "-0.000" else s


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def verdicts(comparison: pd.DataFrame, study: Study | None = None, *,
             confidence: float = 0.95) -> pd.DataFrame:
    """One sentence per outcome, in the industry's phrasing, built from the comparison table.

    A model "predicts" the outcome when its interval lies above the no-information value (R^2
    0: the outcome's mean; AUC 0.5: chance). When neither T nor J predicts, the verdict is
    ``"neither predicts"`` and the sentence says so, whatever their difference. Otherwise the
    verdict follows the interval on J minus T (R^2 for continuous outcomes, AUC for binary
    ones): above zero ``"journeys"``, below zero ``"touchpoints"``, spanning zero ``"no
    difference"``. The sentence leads with the difference in out-of-sample R^2 (or AUC) and its
    interval; the relative gain (R^2 ratio, or ratio of AUC above chance) follows as a secondary
    figure, only when T itself predicts. When model J rests on summaries of the same touchpoint
    ratings (``basis`` ``"touchpoint summaries"``), the sentence opens by saying it compares two
    summaries of the same answers, not journeys with touchpoints.

    Returns
    -------
    DataFrame
        ``outcome, label, metric, t, j, tj, diff, diff_low, diff_high, gain, gain_low,
        gain_high, nested_stat, nested_p, verdict, sentence, nested_sentence, basis, t_low,
        t_high, j_low, j_high, nested_test, nested_df, n``. ``verdict`` is one of
        ``"journeys"``, ``"touchpoints"``, ``"no difference"``, ``"neither predicts"``.
    """
    rows = []
    ci = f"{confidence:.0%} CI".replace("%", " %")
    if comparison.empty:
        return pd.DataFrame(columns=_VERDICT_COLUMNS)
    for outcome, part in comparison.groupby("outcome", sort=False):
        metric = "auc" if "auc" in set(part["metric"]) else "r2"
        m = part[part["metric"] == metric].set_index("model")
        nested = part[part["model"] == "T+J vs T"].iloc[0]
        label = outcome
        if study is not None and outcome in study.outcome_specs and metric == "r2":
            label = study.outcome_specs[outcome].label or outcome   # binary: "churn", not "Churned"
        label = label[0].lower() + label[1:] if label[:2] != label[:2].upper() else label
        t, j, tj = (m.at[k, "value"] for k in ("T", "J", "T+J"))
        tl, th = m.at["T", "low"], m.at["T", "high"]
        jl, jh = m.at["J", "low"], m.at["J", "high"]
        d, dl, dh = (m.at["J-T", c] for c in ("value", "low", "high"))
        g, gl, gh = (m.at["J/T", c] for c in ("value", "low", "high"))
        basis = _text(part["basis"].iloc[0]) if "basis" in part else ""
        derived = _text(part["derived"].iloc[0]) if "derived" in part else ""
        base = NO_INFORMATION[metric]
        predicts_t, predicts_j = tl > base, jl > base
        stat_name = "R²" if metric == "r2" else "AUC"
        figures = f"out-of-sample {stat_name} {_f3(j)} versus {_f3(t)}"
        if not (predicts_t or predicts_j):
            verdict = "neither predicts"
            against = "its average" if metric == "r2" else "chance (AUC 0.5)"
            sentence = (f"neither journey nor touchpoint measures predict {label} better than "
                        f"{against} out of sample ({stat_name} {_f3(j)}, {ci} {_f3(jl)} to "
                        f"{_f3(jh)}, with journey measures; {_f3(t)}, {ci} {_f3(tl)} to "
                        f"{_f3(th)}, "
                        f"with touchpoint measures), so this study cannot say which predicts it "
                        f"better")
        elif dl > 0 or dh < 0:
            win = dl > 0
            verdict = "journeys" if win else "touchpoints"
            more = "more" if win else "less"
            head = (f"journey measures explain {more} variance in {label}" if metric == "r2"
                    else f"journey measures are {more} predictive of {label}")
            sentence = (f"{head} than touchpoint measures: {figures}, a difference of {d:+.3f} "
                        f"({ci} {dl:+.3f} to {dh:+.3f})")
            if predicts_t and t - base > 0.01:
                size, lo, hi = (g, gl, gh) if win else (-g, -gh, -gl)
                what = ("variance explained (" if metric == "r2"
                        else "predictive power (AUC above chance, 0.5; ")
                sentence += (f"; relative to the touchpoint measures, {pct(size, 0)} {more} {what}"
                             f"{ci} {pct(lo, 0)} to {pct(hi, 0)})")
        else:
            verdict = "no difference"
            sentence = (f"no detectable difference between journey and touchpoint measures in "
                        f"predicting {label} ({figures}; difference {d:+.3f}, {ci} {dl:+.3f} "
                        f"to {dh:+.3f})")
        if basis == "touchpoint summaries":
            words = ", ".join(_SUMMARY_WORDS.get(x, x) for x in derived.split(", ") if x)
            sentence = (f"journey scores here are summaries ({words or 'summaries'}) of the same "
                        f"touchpoint ratings, so this compares two ways of summarising the same "
                        f"answers, not journeys with touchpoints: {sentence}")
        p_nested = float(nested["p"])
        df_nested = float(nested["df"]) if "df" in nested.index else np.nan
        test_name = _text(nested["metric"])
        oos = (f"out-of-sample {stat_name} {_f3(tj)} with both versus {_f3(t)} with touchpoints "
               "alone")
        if df_nested == 0:
            nested_sentence = (f"Added to the touchpoint measures, journey measures add nothing "
                               f"that can be tested: here they are linear combinations of the "
                               f"touchpoint measures ({oos}).")
        elif np.isnan(p_nested):
            nested_sentence = (f"Whether journey measures add information about {label} to the "
                               f"touchpoint measures could not be tested (the fit failed; {oos}).")
        else:
            adds = p_nested < 1.0 - confidence
            test = ("robust Wald test " if test_name.startswith("Wald")
                    else f"{test_name} test ") + p_text(p_nested)
            if adds and not tj > t:
                nested_sentence = (f"Added to the touchpoint measures, journey measures add "
                                   f"information about {label} in the fitted sample ({test}) "
                                   f"that does not carry over to new respondents ({oos}).")
            else:
                nested_sentence = (f"Added to the touchpoint measures, journey measures "
                                   f"{'add' if adds else 'add no detectable'} information about "
                                   f"{label} ({test}; {oos}).")
        rows.append({"outcome": outcome, "label": label, "metric": metric, "t": t, "j": j,
                     "tj": tj, "diff": d, "diff_low": dl, "diff_high": dh, "gain": g,
                     "gain_low": gl, "gain_high": gh, "nested_stat": nested["value"],
                     "nested_p": p_nested, "verdict": verdict,
                     "sentence": sentence[0].upper() + sentence[1:] + ".",
                     "nested_sentence": nested_sentence, "basis": basis, "t_low": tl,
                     "t_high": th, "j_low": jl, "j_high": jh, "nested_test": test_name,
                     "nested_df": df_nested,
                     "n": int(m.at["T", "n"]) if "n" in m.columns else np.nan})
    return pd.DataFrame(rows, columns=_VERDICT_COLUMNS)


def compare(study: Study, *, outcomes=None, journeys: pd.DataFrame | None = None,
            na: str | None = None, derived=("mean", "min", "sd"), n_splits: int = 5,
            n_repeats: int = 5, n_boot: int = 500, seed: int | None = None,
            confidence: float = 0.95) -> pd.DataFrame:
    """Do journeys predict the study's outcomes better than touchpoints? (``cx.compare``)

    :func:`compare_all` with the journeys rebuilt from the study's event log when it has one:
    model J holds the declared journeys' scores (direct ratings, else summaries of their
    touchpoint ratings) and the operational measures of each respondent's journeys. One
    sentence per outcome comes from :func:`verdicts`.

    Parameters
    ----------
    study : Study
    outcomes : list of str, optional
        Default: every outcome with a large enough base (see :func:`compare_all`).
    journeys : DataFrame, optional
        Journeys rebuilt from events (:func:`cx_helpers.journeys.journeys`); default those of
        the study's event log, none without one.
    na, derived, n_splits, n_repeats, n_boot, seed, confidence
        As in :func:`compare_journey_touchpoint`; ``seed`` defaults to the study's.

    Returns
    -------
    DataFrame
        ``outcome, model, metric, value, low, high, cv_sd, n, p, df, basis, derived``: rows of
        models ``T``, ``J``, ``T+J``, the differences ``J-T`` and ``T+J-T``, the relative gain
        ``J/T`` and the nested test ``T+J vs T`` (see :func:`compare_journey_touchpoint`).

    Examples
    --------
    >>> import cx_helpers as cx
    >>> study = cx.load("data/sample")
    >>> table = cx.compare(study, outcomes=["osat"], n_repeats=1, n_boot=50)
    >>> sorted(set(table["model"]))
    ['J', 'J-T', 'J/T', 'T', 'T+J', 'T+J vs T', 'T+J-T']
    """
    if journeys is None:
        log = journey_log(study)
        journeys = None if log is None else log.journeys()
    return compare_all(study, outcomes=outcomes, na=na, derived=derived, journeys=journeys,
                       n_splits=n_splits, n_repeats=n_repeats, n_boot=n_boot, seed=seed,
                       confidence=confidence)
