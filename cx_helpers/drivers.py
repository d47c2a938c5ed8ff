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
from scipy import special
from statsmodels.miscmodels.ordinal_model import OrderedModel

from cx_helpers.design import NA_HANDLINGS, design_matrix
from cx_helpers.importance import relative_importance
from cx_helpers.study import Study

__all__ = ["DriverModel", "MODEL_FOR_KIND", "QUADRANTS", "collinearity", "driver_model",
           "key_drivers", "model_table", "priority_map", "relative_importance",
           "stage_groups"]

MODEL_FOR_KIND = {"nps": "ols", "continuous": "ols", "ordinal": "ordered_logit", "binary": "logit"}
MODEL_NAMES = {"ols": "OLS (outcome treated as an interval scale)",
               "ordered_logit": "ordered logit (proportional odds)",
               "logit": "logit (yes/no outcome)"}
NA_TEXT = {"indicator": "not-applicable ratings kept as missing: each rating centred, set to 0 "
                        "where missing, with a 'not rated' indicator beside it",
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

    def describe(self) -> str:
        """One paragraph stating the model, its fit and its caveats."""
        fit = (f"R^2 = {self.fit['r2']:.3f}" if "r2" in self.fit
               else f"McFadden pseudo-R^2 = {self.fit['pseudo_r2']:.3f}")
        controls = (f", controlling for {', '.join(self.controls)}" if self.controls else "")
        text = (f"{self.label}: {MODEL_NAMES[self.model]} on {len(self.coefficients)} drivers"
                f"{controls}, n = {self.n:,}, {fit}, heteroskedasticity-robust errors; "
                f"{NA_TEXT[self.na]}. Largest VIF {self.collinearity['vif'].max():.1f}, "
                f"condition number {self.condition_number:.1f}.")
        return " ".join([text, *self.warnings])

    def summary(self) -> pd.DataFrame:
        """The model's facts as a one-row tidy table (for ``tables/driver_models.csv``)."""
        return pd.DataFrame([{
            "outcome": self.outcome, "kind": self.kind, "model": self.model, "na": self.na,
            "n": self.n, "drivers": len(self.coefficients),
            "controls": ";".join(self.controls),
            "r2": self.fit.get("r2", np.nan), "adj_r2": self.fit.get("adj_r2", np.nan),
            "pseudo_r2": self.fit.get("pseudo_r2", np.nan), "aic": self.fit["aic"],
            "bic": self.fit["bic"], "max_vif": float(self.collinearity["vif"].max()),
            "condition_number": self.condition_number, "warnings": " ".join(self.warnings)}])


def collinearity(x: pd.DataFrame, weights=None) -> pd.DataFrame:
    """Variance inflation factors of the columns of a model matrix.

    ``VIF_j = 1 / (1 - R_j^2)``, where ``R_j^2`` comes from regressing column ``j`` on the
    others; computed as the diagonal of the inverse (weighted) correlation matrix.

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
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    vif = np.diag(np.linalg.pinv(corr))
    return pd.DataFrame({"driver": list(x.columns), "vif": vif, "r2_others": 1 - 1 / vif})


def _condition_number(x: np.ndarray) -> float:
    """Belsley's condition number: the model matrix (with constant) scaled to unit columns."""
    xc = np.column_stack([np.ones(len(x)), x])
    xs = xc / np.linalg.norm(xc, axis=0)
    s = np.linalg.svd(xs, compute_uv=False)
    return float(s[0] / s[-1])


def _controls(frame: pd.DataFrame, controls) -> pd.DataFrame:
    parts = [pd.get_dummies(frame[c].astype("category"), prefix=c, drop_first=True, dtype=float)
             for c in controls]
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)


def _collinearity_warnings(table: pd.DataFrame, cond: float) -> list[str]:
    out = []
    high = table[table["vif"] > VIF_LIMIT]
    if len(high):
        out.append(f"Warning: {', '.join(high['driver'])} "
                   f"{'is' if len(high) == 1 else 'are'} too collinear with the other drivers "
                   f"to separate (VIF over {VIF_LIMIT:g}): their single coefficients are "
                   "unstable; read the relative importances, or group them.")
    elif cond > CONDITION_LIMIT:
        out.append(f"Warning: the condition number {cond:.0f} exceeds {CONDITION_LIMIT:g}: some "
                   "drivers overlap strongly; single coefficients may be unstable.")
    return out


def driver_model(study: Study, outcome: str, drivers=None, na: str = "indicator", controls=(),
                 cov_type: str = "HC3", model: str | None = None) -> DriverModel:
    """Fit the key-driver model the outcome's scale calls for.

    Parameters
    ----------
    study : Study
    outcome : str
        An outcome name of the study.
    drivers : list of str, optional
        Touchpoints (rating columns); default every rated touchpoint.
    na : {"indicator", "complete", "mean"}, default "indicator"
        Handling of not-applicable ratings (see :mod:`cx_helpers.design`); stated in the output.
    controls : sequence of str
        Segment columns held in the model as categorical controls.
    cov_type : str, default "HC3"
        Robust covariance for OLS (the logits use the sandwich ``HC0``).
    model : {"ols", "ordered_logit", "logit"}, optional
        Override the choice made from the outcome's kind.

    Returns
    -------
    DriverModel

    Raises
    ------
    ValueError
        For an unknown outcome, driver, control, model or ``na``, or too few respondents.
    """
    if outcome not in study.outcome_specs:
        raise ValueError(f"'{outcome}' is not an outcome of study '{study.name}'; outcomes: "
                         f"{', '.join(study.outcome_specs)}.")
    if na not in NA_HANDLINGS:
        raise ValueError(f"na must be one of {NA_HANDLINGS}, got {na!r}.")
    spec = study.outcome_specs[outcome]
    model = model or MODEL_FOR_KIND[spec.kind]
    if model not in MODEL_NAMES:
        raise ValueError(f"model must be one of {', '.join(MODEL_NAMES)}, got {model!r}.")
    drivers = list(drivers or study.rated_touchpoints)
    unknown = [d for d in drivers if d not in study.ratings.columns]
    unknown += [c for c in controls if c not in study.segments]
    if unknown:
        raise ValueError(f"not a rated touchpoint or segment of study '{study.name}': "
                         f"{', '.join(unknown)}.")
    frame = study.frame()
    frame = frame[frame[outcome].notna() & frame[list(controls)].notna().all(axis=1)]
    x = design_matrix(frame, drivers, na=na)
    x = x.loc[:, x.std() > 0]
    ctrl = _controls(frame.loc[x.index], controls)
    exog = x.join(ctrl)
    if len(exog) < exog.shape[1] + 2:
        raise ValueError(f"{outcome}: {len(exog)} respondents for {exog.shape[1]} model terms; "
                         "use fewer drivers, another na handling, or more data.")
    y = frame.loc[exog.index, outcome].astype(float)
    w = frame.loc[exog.index, "weight"].to_numpy(dtype=float)
    w = w / w.mean()
    kept = [d for d in drivers if d in exog.columns]
    if model == "ols":
        result = sm.WLS(y, sm.add_constant(exog), weights=w).fit(cov_type=cov_type)
        fit = {"r2": float(result.rsquared), "adj_r2": float(result.rsquared_adj),
               "aic": float(result.aic), "bic": float(result.bic)}
    elif model == "logit":
        result = sm.GLM(y, sm.add_constant(exog), family=sm.families.Binomial(),
                        var_weights=w).fit(cov_type="HC0")
        fit = {"pseudo_r2": float(1 - result.llf / result.llnull), "aic": float(result.aic),
               "bic": float(-2 * result.llf + np.log(len(y)) * len(result.params))}
    else:
        codes = pd.Categorical(y, ordered=True)
        result = _WeightedOrderedModel(codes, exog, weights=w).fit(
            method="bfgs", maxiter=2000, disp=False, cov_type="HC0")
        shares = pd.Series(w).groupby(codes.codes).sum() / w.sum()
        llnull = float(np.sum(w * np.log(shares.loc[codes.codes].to_numpy())))
        fit = {"pseudo_r2": float(1 - result.llf / llnull), "aic": float(result.aic),
               "bic": float(result.bic)}
    ci = result.conf_int()
    coefs = pd.DataFrame({"driver": kept,
                          "coef": result.params[kept].to_numpy(),
                          "se": result.bse[kept].to_numpy(),
                          "low": ci.loc[kept].iloc[:, 0].to_numpy(),
                          "high": ci.loc[kept].iloc[:, 1].to_numpy(),
                          "p": result.pvalues[kept].to_numpy()})
    if model != "ols":
        coefs["odds_ratio"] = np.exp(coefs["coef"])
        coefs["or_low"] = np.exp(coefs["low"])
        coefs["or_high"] = np.exp(coefs["high"])
    col = collinearity(x[kept], w)
    cond = _condition_number(x[kept].to_numpy())
    notes = _collinearity_warnings(col, cond)
    if model == "logit":
        events = min(y.sum(), len(y) - y.sum())
        if events < 10 * len(result.params):
            notes.append(f"Warning: {events:.0f} events for {len(result.params)} terms "
                            "(under 10 per term): coefficients may be biased away from zero.")
    return DriverModel(outcome=outcome, label=spec.label or outcome, kind=spec.kind, model=model,
                       na=na, n=int(len(y)), coefficients=coefs, fit=fit, collinearity=col,
                       condition_number=cond, warnings=notes, controls=list(controls),
                       result=result)


def model_table(models) -> pd.DataFrame:
    """Coefficients of several :class:`DriverModel` as one tidy table (``outcome, model, ...``)."""
    return pd.concat([m.coefficients.assign(outcome=m.outcome, model=m.model)
                      [["outcome", "model", *m.coefficients.columns]] for m in models],
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
        ``driver, importance, performance, quadrant`` plus the other columns of ``importance``,
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


def stage_groups(study: Study, drivers=None) -> dict[str, list[str]]:
    """The rated touchpoints grouped by journey stage, in stage order (for grouped importance)."""
    drivers = set(drivers or study.rated_touchpoints)
    cat = study.catalog[study.catalog["touchpoint"].isin(drivers)]
    return {str(stage): list(part["touchpoint"])
            for stage, part in cat.groupby("stage", observed=True, sort=True)}


def key_drivers(study: Study, outcomes=None, drivers=None, methods=None, na: str = "indicator",
                groups=None, n_boot: int = 0, seed: int = 0, progress: bool = False
                ) -> pd.DataFrame:
    """Relative importance of the drivers for several outcomes, as one tidy table.

    Parameters
    ----------
    study : Study
    outcomes : list of str, optional
        Default: every outcome of the study.
    drivers : list of str, optional
        Default: every rated touchpoint.
    methods : list of str, optional
        Methods of :func:`relative_importance` per outcome. Default ``["lmg", "johnson"]`` for
        scaled outcomes and ``["dominance"]`` (Shapley on McFadden's pseudo-R^2) for yes/no ones.
        Dominance over more than ``MAX_LOGIT_UNITS`` drivers would fit too many logits (one per
        subset): without ``groups``, it is then made over the journey stages instead.
    na : {"indicator", "complete", "pairwise"}
        Handling of not-applicable ratings.
    groups : dict, optional
        Name -> drivers, each group taken as one (e.g. :func:`stage_groups`).
    n_boot, seed, progress
        Bootstrap resamples for the intervals, their seed, and a progress bar.

    Returns
    -------
    DataFrame
        ``outcome, outcome_label, method, driver, label, importance, share, low, high, rank,
        r2, n, na, level``: a row per outcome, method and driver (or group; ``level`` says which);
        ``importance`` sums to the model's (pseudo-)R^2 and ``share`` to 100 within each
        outcome and method.
    """
    outcomes = list(outcomes or study.outcome_specs)
    drivers = list(drivers or study.rated_touchpoints)
    labels = study.catalog.set_index("touchpoint")["label"]
    frame = study.frame()
    parts = []
    for outcome in outcomes:
        binary = study.outcome_specs[outcome].kind == "binary"
        for method in methods or (["dominance"] if binary else ["lmg", "johnson"]):
            units = groups
            if binary and method == "dominance" and not groups and len(drivers) > MAX_LOGIT_UNITS:
                units = stage_groups(study, drivers)
            if method == "johnson" and units:
                continue  # Johnson's weights are per driver; groups need a Shapley method
            imp = relative_importance(frame, outcome, drivers, method=method, weights="weight",
                                      groups=units, na=na, n_boot=n_boot, seed=seed,
                                      progress=progress)
            part = imp.rename_axis("driver").reset_index()
            part.insert(0, "method", method)
            part.insert(0, "outcome", outcome)
            part.insert(1, "outcome_label", study.outcome_specs[outcome].label or outcome)
            part.insert(3, "label", part["driver"].map(labels).fillna(part["driver"]))
            parts.append(part.assign(r2=imp.attrs["r2"], n=imp.attrs["n"], na=na,
                                     level="group" if units else "driver"))
    return pd.concat(parts, ignore_index=True)
