"""Key-driver analysis: models that fit the outcome's scale, collinearity, and a priority map.

:func:`driver_model` fits the model the outcome's kind calls for -- OLS for a 0-10 likelihood to
recommend or a continuous outcome, an ordered logit for an ordinal one, a logit for a yes/no one
-- with the study's weights, heteroskedasticity-robust errors, optional controls (segments), and
the collinearity diagnostics a reader needs before trusting single coefficients (VIF, condition
number, a plain warning). Relative importance lives in :mod:`cx_helpers.importance` and is
re-exported here as :func:`relative_importance`; :func:`priority_map` places importance against
performance.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import special, stats
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from cx_helpers.design import NA_HANDLINGS, design_matrix, independent_columns, resolve_na
from cx_helpers.errors import StudyError
from cx_helpers.importance import relative_importance
from cx_helpers.study import Study

__all__ = ["DriverModel", "MODEL_FOR_KIND", "QUADRANTS", "collinearity", "condition_number",
           "driver_model",
           "key_drivers", "model_table", "priority_map", "relative_importance",
           "compare_priorities", "negative_warning", "stage_groups", "with_direction"]

MODEL_FOR_KIND = {"nps": "ols", "continuous": "ols", "ordinal": "ordered_logit", "binary": "logit"}
MODEL_NAMES = {"ols": "OLS (outcome treated as an interval scale)",
               "ordered_logit": "ordered logit (proportional odds)",
               "logit": "logit (yes/no outcome)"}
NA_TEXT = {"indicator": "not-applicable ratings kept as missing: each rating centred, set to 0 "
                        "where missing, with a 'not rated' indicator beside it where enough "
                        "respondents skipped it",
           "complete": "complete cases only (respondents who rated every driver)",
           "mean": "missing ratings replaced by the driver's mean (shrinks effects)"}
VIF_LIMIT = 10.0
CONDITION_LIMIT = 30.0
MAX_LOGIT_UNITS = 10
QUADRANTS = ("fix first", "maintain", "possible overkill", "low priority")


class _Logistic:
    """The logistic distribution's cdf and pdf, vectorised (scipy.stats' generic ones are slow)."""

    name = "logistic"
    cdf = staticmethod(special.expit)
    ppf = staticmethod(special.logit)

    @staticmethod
    def pdf(x):
        p = special.expit(x)
        return p * (1 - p)


class _WeightedOrderedModel(OrderedModel):
    """statsmodels' ordered logit with each observation's log-likelihood weighted."""

    def __init__(self, endog, exog, weights=None):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "logistic is not a scipy.stats distribution")
            super().__init__(endog, exog, distr=_Logistic())
        self.case_weights = (np.ones(len(self.endog)) if weights is None
                             else np.asarray(weights, dtype=float))

    def loglikeobs(self, params):
        return self.case_weights * super().loglikeobs(params)

    def _parts(self, params):
        """For each observation: the logistic density and its derivative at the two bounds of
        its category, the probability of the category, the derivatives of the two bounds with
        respect to the parameters (first and second, the latter diagonal), and the unweighted
        gradient of ``log P``."""
        params = np.asarray(params, dtype=float)
        low, upp = self._bounds(params)
        cdf_low, cdf_upp = special.expit(low), special.expit(upp)
        f_low, f_upp = cdf_low * (1 - cdf_low), cdf_upp * (1 - cdf_upp)
        prob = np.maximum(cdf_upp - cdf_low, 0) + 1e-20
        n_th = self.k_levels - 1
        incr = np.concatenate(([1.0], np.exp(params[-n_th:][1:])))
        jac = np.tril(np.broadcast_to(incr, (n_th, n_th)))   # d t_j / d theta_i
        jac = np.vstack([np.zeros(n_th), jac, np.zeros(n_th)])  # -inf, t_1..t_K-1, +inf
        curv = jac.copy()                                      # d2 t_j / d theta_i2
        curv[:, 0] = 0.0                                       # the first threshold: linear
        endog = np.asarray(self.endog, dtype=int)
        exog = np.asarray(self.exog, dtype=float)
        d_upp = np.hstack([-exog, jac[endog + 1]])                # d upp / d params
        d_low = np.hstack([-exog, jac[endog]])
        grad = (f_upp / prob)[:, None] * d_upp - (f_low / prob)[:, None] * d_low
        return (f_low, f_upp, f_low * (1 - 2 * cdf_low), f_upp * (1 - 2 * cdf_upp), prob,
                d_low, d_upp, curv[endog], curv[endog + 1], exog.shape[1], grad)

    def score_obs(self, params):
        """Analytic weighted score per observation (statsmodels differentiates numerically).

        With ``P = F(upp) - F(low)`` the observation's probability, the bounds ``upp`` and
        ``low`` being its category's thresholds minus the linear predictor: the derivative of
        ``log P`` is ``(f(upp) d upp - f(low) d low) / P``, where the thresholds depend on the
        threshold parameters (the first threshold, then log increments) through
        ``d t_j / d theta_i = exp(theta_i)`` (1 for the first) for ``i <= j``.
        """
        return self.case_weights[:, None] * self._parts(params)[-1]

    def score(self, params):
        return self.score_obs(params).sum(axis=0)

    def hessian(self, params):
        """Analytic Hessian of the weighted log-likelihood.

        Differentiating the score once more: ``(f'(upp) du du' - f'(low) dl dl' + f(upp)
        d2u - f(low) d2l) / P - g g'`` per observation, with ``f' = f (1 - 2F)`` and the
        second derivatives of the thresholds ``d2 t_j / d theta_i2 = exp(theta_i)`` for
        ``2 <= i <= j`` (diagonal; the first threshold enters linearly).
        """
        (f_low, f_upp, df_low, df_upp, prob, d_low, d_upp, c_low, c_upp, k_exog,
         grad) = self._parts(params)
        w = self.case_weights
        hess = ((d_upp * (w * df_upp / prob)[:, None]).T @ d_upp
                - (d_low * (w * df_low / prob)[:, None]).T @ d_low
                - (grad * w[:, None]).T @ grad)
        diag = (w * f_upp / prob) @ c_upp - (w * f_low / prob) @ c_low
        hess[np.arange(k_exog, hess.shape[0]), np.arange(k_exog, hess.shape[0])] += diag
        return (hess + hess.T) / 2


@dataclass
class DriverModel:
    """A fitted key-driver model.

    Attributes
    ----------
    outcome, label, kind : str
        The outcome's name, label and kind (``nps``, ``ordinal``, ``binary``, ``continuous``).
    model : str
        ``ols``, ``ordered_logit`` or ``logit``.
    na : str
        How not-applicable ratings were handled (see :mod:`cx_helpers.design`).
    n : int
        Respondents in the model.
    coefficients : DataFrame
        A row per driver: ``driver, coef, se, low, high, p`` (plus ``odds_ratio, or_low,
        or_high`` for the logits), in the drivers' order.
    terms : DataFrame
        Every term of the model but the intercept (and the cut points of an ordered logit):
        the drivers, then the "not rated" indicators and the segment controls, with ``kind``
        (``touchpoint``, ``not rated``, ``segment``) and the columns of ``coefficients``.
    dropped : dict
        Who is not in the model and whether they differ: ``outcome_missing`` (respondents
        without the outcome), ``incomplete`` (left out for a missing rating under
        ``na="complete"`` or a missing control), ``diff`` (mean outcome of the left-out minus
        the used, where their outcome is known), ``p`` (Welch's t-test of that difference).
    notes : list of str
        What the N/A coding and the rank check merged, dropped or set to the mean.
    fit : dict
        ``r2`` and ``adj_r2`` (OLS) or ``pseudo_r2`` (McFadden; logits), ``aic``, ``bic``.
    collinearity : DataFrame
        :func:`collinearity` of the drivers.
    condition_number : float
        Of the column-scaled model matrix (Belsley); over 30 signals harmful collinearity.
    warnings : list of str
        Plain-language warnings (collinear drivers, an outcome with few events...).
    controls : list of str
        Segment columns held in the model.
    result : statsmodels results
        The fitted model.
    """

    outcome: str
    label: str
    kind: str
    model: str
    na: str
    n: int
    coefficients: pd.DataFrame
    fit: dict
    collinearity: pd.DataFrame
    condition_number: float
    warnings: list = field(default_factory=list)
    controls: list = field(default_factory=list)
    result: object = None
    terms: pd.DataFrame = None
    dropped: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def describe(self) -> str:
        """One paragraph stating the model, its fit and its caveats."""
        fit = (f"R^2 = {self.fit['r2']:.3f}" if "r2" in self.fit
               else f"McFadden pseudo-R^2 = {self.fit['pseudo_r2']:.3f}")
        controls = (f", controlling for {', '.join(self.controls)}" if self.controls else "")
        text = (f"{self.label}: {MODEL_NAMES[self.model]} on {len(self.coefficients)} drivers"
                f"{controls}, n = {self.n:,}, {fit}, heteroskedasticity-robust errors; "
                f"{NA_TEXT[self.na]}. Largest VIF {self.collinearity['vif'].max():.1f}, "
                f"condition number {self.condition_number:.1f}.")
        return " ".join([text, self.dropped_text(), *self.notes, *self.warnings]).strip()

    def dropped_text(self) -> str:
        """One sentence: how many respondents were left out and whether they differ."""
        d = self.dropped or {}
        miss, inc = d.get("outcome_missing", 0), d.get("incomplete", 0)
        if not miss and not inc:
            return "No respondent was left out."
        parts = []
        if miss:
            parts.append(f"{miss:,} without an answer on {self.label}")
        if inc:
            why = ("who did not rate every driver" if self.na == "complete"
                   else "without a value on a control")
            parts.append(f"{inc:,} {why}")
        text = f"Left out: {' and '.join(parts)}."
        if inc and d.get("p") == d.get("p"):
            from cx_helpers.display import p_text
            text += (f" Where their {self.label} is known, those left out score {d['diff']:+.2f} "
                     f"on average compared with those used (Welch test, {p_text(d['p'])})"
                     + (": they differ, so the model describes the respondents used, not "
                        "everyone." if d["p"] < 0.05 else ": no clear difference."))
        return text

    def summary(self) -> pd.DataFrame:
        """The model's facts as a one-row tidy table (for ``tables/driver_models.csv``)."""
        d = self.dropped or {}
        return pd.DataFrame([{
            "outcome": self.outcome, "kind": self.kind, "model": self.model, "na": self.na,
            "n": self.n, "drivers": len(self.coefficients),
            "controls": ";".join(self.controls),
            "r2": self.fit.get("r2", np.nan), "adj_r2": self.fit.get("adj_r2", np.nan),
            "pseudo_r2": self.fit.get("pseudo_r2", np.nan), "aic": self.fit["aic"],
            "bic": self.fit["bic"], "max_vif": float(self.collinearity["vif"].max()),
            "condition_number": self.condition_number,
            "n_outcome_missing": int(d.get("outcome_missing", 0)),
            "n_incomplete": int(d.get("incomplete", 0)),
            "dropped_diff": d.get("diff", np.nan), "dropped_p": d.get("p", np.nan),
            "notes": " ".join(self.notes), "warnings": " ".join(self.warnings)}])


def collinearity(x: pd.DataFrame, weights=None) -> pd.DataFrame:
    """Variance inflation factors of the columns of a model matrix.

    ``VIF_j = 1 / (1 - R_j^2)``, where ``R_j^2`` comes from regressing column ``j`` on the
    others (with an intercept); computed as the diagonal of the inverse (weighted) correlation
    matrix. Pass the design actually fitted (ratings, "not rated" indicators and controls):
    VIF does not depend on centring.

    Parameters
    ----------
    x : DataFrame
        Predictors, no constant.
    weights : array-like, optional

    Returns
    -------
    DataFrame
        ``driver, vif, r2_others`` (``r2_others`` the R^2 of the column on all the others).
    """
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    cov = np.cov(x.to_numpy(dtype=float), rowvar=False, aweights=w)
    cov = np.atleast_2d(cov)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    vif = np.diag(np.linalg.pinv(corr))
    return pd.DataFrame({"driver": list(x.columns), "vif": vif, "r2_others": 1 - 1 / vif})


def condition_number(x: np.ndarray, weights=None) -> float:
    """Belsley's scaled condition number of a model matrix, intercept included.

    The uncentred model matrix (a column of ones, then ``x``), each column scaled to unit
    length (rows weighted by the square root of ``weights``), and the ratio of its largest to
    smallest singular value (Belsley, Kuh and Welsch 1980). Centring would hide collinearity
    with the intercept, so pass the ratings on their own scale. Over 30 signals harmful
    collinearity.

    Parameters
    ----------
    x : array-like, shape (n, k)
        Predictors on their own scale, no constant.
    weights : array-like, optional

    Returns
    -------
    float
    """
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    xc = np.column_stack([np.ones(len(x)), x])
    if weights is not None:
        xc = xc * np.sqrt(np.asarray(weights, dtype=float))[:, None]
    xs = xc / np.linalg.norm(xc, axis=0)
    sv = np.linalg.svd(xs, compute_uv=False)
    return float(sv[0] / sv[-1])


_condition_number = condition_number


def belsley(x: pd.DataFrame, weights=None, limit: float = CONDITION_LIMIT) -> pd.DataFrame:
    """Belsley's collinearity diagnostics: condition indexes and variance-decomposition shares.

    A high condition index is harmful only where it degrades several coefficients at once:
    Belsley, Kuh and Welsch flag a dimension whose index exceeds ``limit`` and on which at least
    two coefficients have more than half of their variance. A dependency of one rating with the
    intercept alone (a rating scale's level) only blurs the intercept.

    Parameters
    ----------
    x : DataFrame
        The design on its own scale (no constant; it is added), as fitted.
    weights : array-like, optional
    limit : float, default CONDITION_LIMIT

    Returns
    -------
    DataFrame
        A row per dimension over ``limit``: ``index`` (condition index) and ``terms`` (the
        non-intercept terms with a variance share over 0.5, ``;``-separated), largest first.
    """
    names = ["(intercept)", *map(str, x.columns)]
    xc = np.column_stack([np.ones(len(x)), x.to_numpy(dtype=float)])
    if weights is not None:
        xc = xc * np.sqrt(np.asarray(weights, dtype=float))[:, None]
    xs = xc / np.linalg.norm(xc, axis=0)
    _, sv, vt = np.linalg.svd(xs, full_matrices=False)
    phi = (vt.T / sv) ** 2                      # [term, dimension]
    share = phi / phi.sum(axis=1, keepdims=True)
    rows = []
    for j in np.argsort(sv):
        index = sv[0] / sv[j]
        if index <= limit:
            continue
        terms = [names[k] for k in np.flatnonzero(share[:, j] > 0.5) if k > 0]
        rows.append({"index": float(index), "terms": ";".join(terms)})
    return pd.DataFrame(rows, columns=["index", "terms"])


def _controls(frame: pd.DataFrame, controls) -> pd.DataFrame:
    parts = [pd.get_dummies(frame[c].astype("category"), prefix=c, drop_first=True, dtype=float)
             for c in controls]
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)


def _collinearity_warnings(table: pd.DataFrame, cond: float, dims=None) -> list[str]:
    out = []
    kinds = table["kind"] if "kind" in table else pd.Series("touchpoint", index=table.index)
    high = table[(table["vif"] > VIF_LIMIT) & (kinds == "touchpoint")]
    harmful = ([] if dims is None else
               [t for t in dims["terms"] if len(t.split(";")) >= 2])
    if len(high):
        out.append(f"Warning: {', '.join(high['driver'])} "
                   f"{'is' if len(high) == 1 else 'are'} too collinear with the other drivers "
                   f"to separate (VIF over {VIF_LIMIT:g}): their single coefficients are "
                   "unstable; read the relative importances, or group them.")
    elif cond > CONDITION_LIMIT and (dims is None or harmful):
        which = f" ({harmful[0].replace(';', ', ')})" if harmful else ""
        out.append(f"Warning: the condition number {cond:.0f} exceeds {CONDITION_LIMIT:g} and "
                   f"several coefficients share the weak dimension{which}: those drivers "
                   "overlap strongly; their single coefficients may be unstable.")
    return out


def _welch(used: np.ndarray, left: np.ndarray) -> tuple[float, float]:
    """Mean difference (left out minus used) and Welch's t-test p-value; NaN when too few."""
    used, left = used[~np.isnan(used)], left[~np.isnan(left)]
    if len(left) < 2 or len(used) < 2:
        return np.nan, np.nan
    diff = float(left.mean() - used.mean())
    if np.var(left) == 0 and np.var(used) == 0:
        return diff, (1.0 if diff == 0 else 0.0)
    return diff, float(stats.ttest_ind(left, used, equal_var=False).pvalue)


def _fit_error(outcome, model, exc, drivers, na) -> StudyError:
    """A model failure turned into a message naming the cause and the fix."""
    text = str(exc)
    if isinstance(exc, np.linalg.LinAlgError) or "singular" in text.lower():
        cause = ("its model matrix is singular: some columns are linear combinations of "
                 "others")
        fix = ("use na='complete', or drop the touchpoints named in the notes, or fewer "
               "controls.")
    elif "separat" in text.lower():
        cause = ("the outcome is perfectly predicted by some drivers (separation), so some "
                 "coefficients are infinite")
        fix = ("drop the touchpoint that predicts it perfectly, merge rare outcome categories, "
               "or use a linear model (model='ols').")
    else:
        cause = f"the fit failed ({type(exc).__name__}: {text})"
        fix = "use na='complete', fewer drivers or controls, or model='ols'."
    return StudyError(f"the {MODEL_NAMES.get(model, model)} of '{outcome}' on "
                      f"{len(drivers)} drivers with na='{na}' could not be fitted: {cause}.",
                      column=outcome, fix=fix)


def driver_model(study: Study, outcome: str, drivers=None, na: str | None = None, controls=(),
                 cov_type: str = "HC3", model: str | None = None) -> DriverModel:
    """Fit the key-driver model the outcome's scale calls for.

    Parameters
    ----------
    study : Study
    outcome : str
        An outcome name of the study.
    drivers : list of str, optional
        Touchpoints (rating columns); default every rated touchpoint.
    na : {"indicator", "complete", "mean"}, optional
        Handling of not-applicable ratings (see :mod:`cx_helpers.design`); default the study's
        policy (``study.na``). Stated in the output.
    controls : sequence of str
        Segment columns held in the model as categorical controls (their coefficients are in
        :attr:`DriverModel.terms`).
    cov_type : str, default "HC3"
        Robust covariance for OLS (the logits use the sandwich ``HC0``).
    model : {"ols", "ordered_logit", "logit"}, optional
        Override the choice made from the outcome's kind.

    Returns
    -------
    DriverModel

    Raises
    ------
    StudyError
        For an unknown outcome, driver, control, model or ``na``, too few respondents, a rating
        that is a linear combination of others, or a model that cannot be fitted; the message
        names the cause and the fix.
    """
    spec = study.outcome(outcome)
    na = resolve_na(na, study)
    if na not in NA_HANDLINGS:
        raise StudyError(f"na must be one of {NA_HANDLINGS}, got {na!r}.",
                         fix="use na='indicator' or na='complete'.")
    model = model or MODEL_FOR_KIND[spec.kind]
    if model not in MODEL_NAMES:
        raise StudyError(f"model must be one of {', '.join(MODEL_NAMES)}, got {model!r}.")
    drivers = study.check_touchpoints(drivers or study.rated_touchpoints, rated=True)
    controls = [controls] if isinstance(controls, str) else list(controls or ())
    for c in controls:
        study.segment_values(c)   # a control must be one of the study's segments
    full = study.frame()
    has_y = full[outcome].notna()
    frame = full[has_y & full[controls].notna().all(axis=1)]
    w_frame = frame["weight"].to_numpy(dtype=float)
    x = design_matrix(frame, drivers, na=na, weights=w_frame)
    notes = list(x.attrs.get("notes", []))
    centres = dict(x.attrs.get("centres", {}))
    owners = dict(x.attrs.get("owners", {}))
    ctrl = _controls(frame.loc[x.index], controls)
    exog = x.join(ctrl)
    if len(exog) < exog.shape[1] + 2:
        why = (f"only {len(exog)} respondents rated all {len(drivers)} drivers"
               if na == "complete" else f"{len(exog)} respondents")
        raise StudyError(f"{outcome}: {why}, too few for {exog.shape[1]} model terms.",
                         column=outcome, fix="use na='indicator' (keeps respondents with "
                         "missing ratings), fewer drivers, or more data.")
    w = frame.loc[exog.index, "weight"].to_numpy(dtype=float)
    w = w / w.mean()
    ratings = [c for c in exog.columns if c in drivers]
    kept, aliased = independent_columns(exog, w, protect=ratings)
    for col, names in aliased.items():
        notes.append(f"{col} is a linear combination of {', '.join(names) or 'the intercept'} "
                     "among these respondents: left out of the model.")
    exog = exog[kept]
    if len(exog) < exog.shape[1] + 2:
        raise StudyError(f"{outcome}: {len(exog)} respondents for {exog.shape[1]} model terms.",
                         column=outcome, fix="use fewer drivers, na='indicator' (keeps "
                         "respondents with missing ratings), or more data.")
    y = frame.loc[exog.index, outcome].astype(float)
    used = full.index.isin(exog.index)
    left = has_y.to_numpy() & ~used
    diff, p = _welch(full.loc[used, outcome].to_numpy(dtype=float),
                     full.loc[left, outcome].to_numpy(dtype=float))
    dropped = {"outcome_missing": int((~has_y).sum()), "incomplete": int(left.sum()),
               "diff": diff, "p": p}
    kept_drivers = [d for d in drivers if d in exog.columns]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", category=PerfectSeparationWarning)
            result, fit = _fit(model, y, exog, w, cov_type)
    except (np.linalg.LinAlgError, ValueError, RuntimeError, OverflowError,
            PerfectSeparationWarning) as exc:
        raise _fit_error(outcome, model, exc, kept_drivers, na) from None
    bad = ~np.isfinite(result.params[list(exog.columns)]) | \
        ~np.isfinite(result.bse[list(exog.columns)])
    if bad.any():
        raise _fit_error(outcome, model, ValueError(
            f"non-finite estimates for {', '.join(bad.index[bad])} (separation or aliasing)"),
            kept_drivers, na)
    ci = result.conf_int()
    names = list(exog.columns)
    terms = pd.DataFrame({"driver": names,
                          "kind": ["touchpoint" if c in drivers else
                                   "not rated" if c in owners else "segment" for c in names],
                          "coef": result.params[names].to_numpy(),
                          "se": result.bse[names].to_numpy(),
                          "low": ci.loc[names].iloc[:, 0].to_numpy(),
                          "high": ci.loc[names].iloc[:, 1].to_numpy(),
                          "p": result.pvalues[names].to_numpy()})
    if model != "ols":
        terms["odds_ratio"] = np.exp(terms["coef"])
        terms["or_low"] = np.exp(terms["low"])
        terms["or_high"] = np.exp(terms["high"])
    coefs = (terms[terms["kind"] == "touchpoint"].drop(columns="kind")
             .set_index("driver").loc[kept_drivers].reset_index())
    col = collinearity(exog, w).assign(kind=terms["kind"].to_numpy())
    raw = exog.copy()
    for c in raw.columns:                      # the design on the ratings' own scale
        if c in centres:
            raw[c] = raw[c] + centres[c]
    cond = condition_number(raw.to_numpy(), w)
    dims = belsley(raw, w)
    notes_w = _collinearity_warnings(col, cond, dims)
    if cond > CONDITION_LIMIT and not notes_w:
        notes.append(f"The condition number ({cond:.0f}) exceeds {CONDITION_LIMIT:g} only "
                     "through dependencies of single terms with the intercept (rating scales' "
                     "levels, 'not rated' indicators): no two coefficients share a weak "
                     "dimension (Belsley's variance-decomposition shares), so the touchpoint "
                     "effects are not blurred by it.")
    if model == "logit":
        events = min(y.sum(), len(y) - y.sum())
        if events < 10 * len(result.params):
            notes_w.append(f"Warning: {events:.0f} events for {len(result.params)} terms "
                           "(under 10 per term): coefficients may be biased away from zero.")
    return DriverModel(outcome=outcome, label=spec.label or outcome, kind=spec.kind, model=model,
                       na=na, n=int(len(y)), coefficients=coefs, fit=fit, collinearity=col,
                       condition_number=cond, warnings=notes_w, controls=controls,
                       result=result, terms=terms, dropped=dropped, notes=notes)


def _fit(model, y, exog, w, cov_type):
    """The statsmodels fit and its fit statistics."""
    if model == "ols":
        result = sm.WLS(y, sm.add_constant(exog, has_constant="add"), weights=w).fit(
            cov_type=cov_type)
        return result, {"r2": float(result.rsquared), "adj_r2": float(result.rsquared_adj),
                        "aic": float(result.aic), "bic": float(result.bic)}
    if model == "logit":
        result = sm.GLM(y, sm.add_constant(exog, has_constant="add"),
                        family=sm.families.Binomial(), var_weights=w).fit(cov_type="HC0")
        return result, {"pseudo_r2": float(1 - result.llf / result.llnull),
                        "aic": float(result.aic),
                        "bic": float(-2 * result.llf + np.log(len(y)) * len(result.params))}
    codes = pd.Categorical(y, ordered=True)
    if len(codes.categories) < 2:
        raise ValueError("the outcome has a single value among these respondents")
    result = _WeightedOrderedModel(codes, exog, weights=w).fit(
        method="bfgs", maxiter=2000, disp=False, cov_type="HC0")
    shares = pd.Series(w).groupby(codes.codes).sum() / w.sum()
    llnull = float(np.sum(w * np.log(shares.loc[codes.codes].to_numpy())))
    return result, {"pseudo_r2": float(1 - result.llf / llnull), "aic": float(result.aic),
                    "bic": float(result.bic)}


def model_table(models) -> pd.DataFrame:
    """Terms of several :class:`DriverModel` as one tidy table.

    ``outcome, model, driver, kind, coef, se, low, high, p`` (plus the odds ratios of the
    logits): the touchpoints, their "not rated" indicators and the segment controls
    (``kind``), so controls' effects are reported too.
    """
    return pd.concat([m.terms.assign(outcome=m.outcome, model=m.model)
                      [["outcome", "model", *m.terms.columns]] for m in models],
                     ignore_index=True)


def priority_map(importance, performance, driver="driver", by="mean") -> pd.DataFrame:
    """Importance-performance map: where to act first.

    Each driver is placed against the average importance and the average performance of the
    drivers shown (``by="median"`` uses medians): high importance and low performance is
    **fix first**, high and high **maintain**, low importance and high performance **possible
    overkill**, low and low **low priority**. Drivers without a performance figure (e.g.
    suppressed for a small base) get the quadrant ``suppressed`` and are left out of the
    averages.

    Parameters
    ----------
    importance : DataFrame
        ``driver, importance`` (e.g. :func:`relative_importance` reset to columns, or ``share``
        renamed).
    performance : DataFrame
        ``driver, performance`` (e.g. mean or top-box satisfaction from the inventory).
    driver : str
        The key column of both tables.
    by : {"mean", "median"}
        Where the quadrant lines are drawn.

    Returns
    -------
    DataFrame
        ``driver, importance, performance, quadrant`` plus the other columns of ``importance``
        (pass ``sign`` along: a negative driver keeps its quadrant but is marked in
        :func:`cx_helpers.plots.priority_plot` and must not be read as "fix first"),
        sorted by quadrant (fix first first) then importance; ``attrs`` holds the two lines.
    """
    if by not in ("mean", "median"):
        raise ValueError(f"by must be 'mean' or 'median', got {by!r}.")
    data = importance.merge(performance[[driver, "performance"]], on=driver, how="left")
    ok = data["performance"].notna() & data["importance"].notna()
    imp_line = getattr(data.loc[ok, "importance"], by)()
    perf_line = getattr(data.loc[ok, "performance"], by)()
    high_imp = data["importance"] >= imp_line
    high_perf = data["performance"] >= perf_line
    quadrant = np.select([high_imp & ~high_perf, high_imp & high_perf, ~high_imp & high_perf],
                         QUADRANTS[:3], QUADRANTS[3])
    data["quadrant"] = np.where(ok, quadrant, "suppressed")
    order = {q: k for k, q in enumerate((*QUADRANTS, "suppressed"))}
    data = data.sort_values(["quadrant", "importance"], key=lambda s: s.map(order)
                            if s.name == "quadrant" else -s, kind="stable").reset_index(drop=True)
    data.attrs.update(importance_line=float(imp_line), performance_line=float(perf_line), by=by)
    return data


def compare_priorities(pmap: pd.DataFrame, inventory: pd.DataFrame, top: int = 5
                       ) -> pd.DataFrame:
    """The "fix first" quadrant beside the inventory's pain-point ranking.

    The two answer different questions: the priority map puts a touchpoint's share of the
    explained variance against its satisfaction (quadrants at the averages); the pain rank
    multiplies reach, the share not satisfied and the outcome gap between satisfied and
    dissatisfied customers, so a touchpoint that few customers meet ranks low there however
    much it matters to those who do.

    Parameters
    ----------
    pmap : DataFrame
        :func:`priority_map` (``driver, label, quadrant, importance, performance``, ``sign``).
    inventory : DataFrame
        :func:`cx_helpers.inventory.touchpoint_inventory` (``touchpoint, pain_rank, reach``).
    top : int, default 5
        How many of the pain ranking to list.

    Returns
    -------
    DataFrame
        ``driver, label, quadrant, importance, performance, sign, pain_rank, reach,
        fix_first, top_pain``: the touchpoints in "fix first" or among the ``top`` pain ranks,
        fix first first (by importance), then by pain rank.
    """
    inv = inventory.rename(columns={"touchpoint": "driver"})
    cols = [c for c in ("driver", "pain_rank", "reach") if c in inv]
    data = pmap.merge(inv[cols], on="driver", how="left")
    if "sign" not in data:
        data["sign"] = np.nan
    data["fix_first"] = data["quadrant"] == "fix first"
    rank = pd.to_numeric(data["pain_rank"], errors="coerce")
    data["top_pain"] = rank <= top
    keep = data[data["fix_first"] | data["top_pain"]].copy()
    keep["_order"] = np.where(keep["fix_first"], -keep["importance"], rank[keep.index] + 1e6)
    keep = keep.sort_values("_order", kind="stable").drop(columns="_order")
    return keep[["driver", "label", "quadrant", "importance", "performance", "sign",
                 "pain_rank", "reach", "fix_first", "top_pain"]].reset_index(drop=True)


DIRECTION_COLOURS = {"positive": "#2e86c1", "negative": "#c0392b"}


def with_direction(table: pd.DataFrame, label: str = "label", sign: str = "sign",
                   higher_is_better: bool = True) -> pd.DataFrame:
    """Mark negative drivers for a reader: a ``direction`` column and "(negative)" in the label.

    A negative driver's rating goes with a *worse* outcome in the full model: its share of the
    explained variance is real, but improving it is not indicated (it may stand for a group of
    customers, or be an artefact of overlap). Commercial driver tools flag such drivers too.

    Parameters
    ----------
    table : DataFrame
        Rows of :func:`key_drivers` or :func:`priority_map` with ``sign``.
    higher_is_better : bool, default True
        Whether a higher outcome is the good direction (False for e.g. a yes/no "churned"
        outcome, where a rating that goes with *less* churn is the positive driver).

    Returns
    -------
    DataFrame
        A copy with ``direction`` ("positive", "negative", or "" for groups and segments) and,
        for negative drivers, `` (negative)`` appended to ``label``.
    """
    out = table.copy()
    s = out[sign] if sign in out else pd.Series(np.nan, index=out.index)
    s = s if higher_is_better else -s
    out["direction"] = np.where(s < 0, "negative", np.where(s > 0, "positive", ""))
    if label in out:
        out[label] = np.where(s < 0, out[label].astype(str) + " (negative)",
                              out[label].astype(str))
    return out


def method_agreement(table: pd.DataFrame, outcome: str, methods=("lmg", "johnson")) -> float:
    """Spearman rank correlation of two methods' shares for one outcome (same drivers).

    Parameters
    ----------
    table : DataFrame
        The table of :func:`key_drivers`.
    outcome : str
    methods : pair of str

    Returns
    -------
    float
        The rank agreement, NaN when either method is absent.
    """
    a, b = (table[(table["outcome"] == outcome) & (table["method"] == m)].set_index("driver")
            ["share"] for m in methods)
    if a.empty or b.empty:
        return float("nan")
    return float(a.corr(b, method="spearman"))


def negative_warning(table: pd.DataFrame, outcome_label: str, label: str = "label",
                     sign: str = "sign", higher_is_better: bool = True) -> str:
    """One sentence warning about negative drivers, or "" when there are none."""
    s = table[sign] if sign in table else pd.Series(np.nan, index=table.index)
    neg = table[(s < 0) if higher_is_better else (s > 0)]
    if not len(neg):
        return ""
    names = ", ".join(map(str, neg[label]))
    one = len(neg) == 1
    worse = "lower" if higher_is_better else "higher"
    what = "a negative driver" if one else "negative drivers"
    return (f"Warning: {names} {'goes' if one else 'go'} with a {worse} {outcome_label} once "
            f"the other touchpoints are held fixed ({what}): "
            f"{'its' if one else 'their'} share of the explained variance is real, but it is "
            f"not a reason to improve {'it' if one else 'them'}; "
            f"{'it' if one else 'they'} may stand for a group of customers or reflect overlap "
            "with other touchpoints. Marked \"(negative)\" in the figures and the priority "
            "map: not a place to act first.")


def stage_groups(study: Study, drivers=None) -> dict[str, list[str]]:
    """The rated touchpoints grouped by journey stage, in stage order (for grouped importance)."""
    drivers = set(drivers or study.rated_touchpoints)
    cat = study.catalog[study.catalog["touchpoint"].isin(drivers)]
    return {str(stage): list(part["touchpoint"])
            for stage, part in cat.groupby("stage", observed=True, sort=True)}


MEASURES = {"nps": "R2", "continuous": "R2", "ordinal": "R2 (scale points equally spaced)",
            "binary": "R2 (linear probability)"}


def key_drivers(study: Study, *, outcomes=None, drivers=None, methods=None, na: str | None = None,
                groups=None, n_boot: int = 0, seed: int | None = None, confidence: float = 0.95,
                progress: bool = False, segments=None) -> pd.DataFrame:
    """Relative importance of the drivers for several outcomes, as one tidy table.

    Every outcome kind gets touchpoint-level importance with the same fast, exact method: LMG
    (the Shapley split of R^2) of the linear model -- for a yes/no outcome the linear
    probability model, for an ordinal one its points taken as equally spaced. Dominance over
    McFadden's pseudo-R^2 of logits (``methods=["dominance"]``) needs one logit per subset of
    drivers and is made only when asked for.

    Parameters
    ----------
    study : Study
    outcomes : list of str, optional
        Default: every outcome of the study.
    drivers : list of str, optional
        Default: every rated touchpoint.
    methods : list of str, optional
        Methods of :func:`relative_importance` per outcome, default ``["lmg", "johnson"]``.
        ``"dominance"`` on a yes/no outcome over more than ``MAX_LOGIT_UNITS`` drivers needs
        ``groups``.
    na : {"indicator", "complete", "pairwise"}, optional
        Handling of not-applicable ratings; default the study's policy (``study.na``).
    groups : dict, optional
        Name -> drivers, each group taken as one (e.g. :func:`stage_groups`).
    n_boot, seed, progress
        Bootstrap resamples for the intervals (0: no intervals), their seed (default the
        study's, :attr:`Study.seed`), and a progress bar.
    confidence : float, default 0.95
        Level of the bootstrap intervals.
    segments : list of str, optional
        Segment columns to split the explained variance with, beside the touchpoints: adds rows
        of method ``"lmg_segments"`` (touchpoints with ``level`` "driver", then a row per segment
        with ``level`` "segment"), without intervals. A touchpoint whose share drops there stood
        in part for who the respondents are. Segments with a single value among the respondents
        (e.g. a run restricted to one segment) are left out.

    Returns
    -------
    DataFrame
        ``outcome, outcome_label, method, driver, label, importance, share, low, high,
        share_low, share_high, rank, sign, level, direction, r2, measure, n, na``: a row per
        outcome, method and driver (or group, or segment: ``level`` says which). ``importance`` sums to
        the model's R^2 (``measure`` names it) and ``share`` to 100 within each outcome and
        method; ``low``/``high`` bound the importance and ``share_low``/``share_high`` the share
        (bootstrap percentiles); ``sign`` is +1 or -1, the direction of the touchpoint's
        coefficient in the full model (blank for groups and segments), and ``direction`` reads
        it against the outcome's good direction (``better:`` in study.yaml): ``positive``,
        ``negative`` (improving it is not indicated) or blank.

    Raises
    ------
    StudyError
        For dominance on a yes/no outcome over too many drivers without groups.
    """
    outcomes = [study.outcome(o).name for o in ([outcomes] if isinstance(outcomes, str)
                                                else outcomes or study.outcome_specs)]
    drivers = study.check_touchpoints(drivers or study.rated_touchpoints, rated=True)
    na = resolve_na(na, study)
    labels = study.catalog.set_index("touchpoint")["label"]
    frame = study.frame()
    parts = []

    def add(outcome, method, imp, level_method=None):
        spec = study.outcome_specs[outcome]
        part = imp.rename_axis("driver").reset_index()
        part.insert(0, "method", level_method or method)
        part.insert(0, "outcome", outcome)
        part.insert(1, "outcome_label", spec.label or outcome)
        part.insert(3, "label", part["driver"].map(labels).fillna(part["driver"]))
        measure = ("McFadden pseudo-R2" if imp.attrs["measure"] != "R2"
                   else MEASURES.get(spec.kind, "R2"))
        cols = [c for c in part.columns if c != "level"] + ["level"]
        direction = with_direction(part, higher_is_better=spec.higher_is_better)["direction"]
        parts.append(part[cols].assign(direction=direction, r2=imp.attrs["r2"],
                                       measure=measure, n=imp.attrs["n"], na=na))

    for outcome in outcomes:
        binary = study.outcome_specs[outcome].kind == "binary"
        for method in methods or ["lmg", "johnson"]:
            if method == "johnson" and groups:
                continue  # Johnson's weights are per driver; groups need a Shapley method
            if binary and method == "dominance" and not groups and \
                    len(drivers) > MAX_LOGIT_UNITS:
                raise StudyError(
                    f"dominance analysis of '{outcome}' over {len(drivers)} touchpoints needs "
                    f"2^{len(drivers)} logits.", column=outcome,
                    fix=f"use method 'lmg' (linear probability; the default), pass groups "
                        f"(e.g. stage_groups), or at most {MAX_LOGIT_UNITS} drivers.")
            imp = relative_importance(frame, outcome, drivers, method=method, weights="weight",
                                      groups=groups, na=na, n_boot=n_boot,
                                      seed=study.seed if seed is None else seed,
                                      confidence=confidence, progress=progress)
            add(outcome, method, imp)
        # a segment with one value here (a run restricted to it, --by) explains nothing
        segs = [c for c in (segments or ()) if frame.loc[frame[outcome].notna(), c].nunique() > 1]
        if segs:
            imp = relative_importance(frame, outcome, drivers, method="lmg", weights="weight",
                                      na=na, segments=segs)
            add(outcome, "lmg", imp, "lmg_segments")
    return pd.concat(parts, ignore_index=True)
