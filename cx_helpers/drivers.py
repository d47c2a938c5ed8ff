"""Key-driver analysis: which touchpoints go with loyalty."""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from cx_helpers.design import design_matrix
from cx_helpers.study import Study

__all__ = ["ols_drivers"]


def ols_drivers(study: Study, outcome: str = "ltr", drivers=None, na: str = "indicator",
                cov_type: str = "HC3") -> tuple[pd.DataFrame, object]:
    """OLS of an outcome on touchpoint ratings with heteroskedasticity-robust errors.

    Parameters
    ----------
    study : Study
    outcome : str, default "ltr"
        Name of an outcome in the study.
    drivers : list of str, optional
        Touchpoints to use; default every rated touchpoint.
    na : {"indicator", "complete", "mean"}
        Handling of not-applicable ratings (see :mod:`cx_helpers.design`).
    cov_type : str, default "HC3"
        statsmodels robust covariance type.

    Returns
    -------
    table : DataFrame
        A row per driver: ``driver, coef, se, low, high, p, n`` (the effect of one rating point
        on the outcome, holding the other drivers fixed), sorted by ``coef``.
    result : statsmodels RegressionResults
        The fitted model (weighted least squares when the study has weights).
    """
    drivers = list(drivers or study.rated_touchpoints)
    frame = study.frame()
    y = frame[outcome].astype(float)
    x = design_matrix(frame.loc[y.notna()], drivers, na=na)
    y = y.loc[x.index]
    w = frame.loc[x.index, "weight"]
    result = sm.WLS(y, sm.add_constant(x), weights=w).fit(cov_type=cov_type)
    ci = result.conf_int()
    table = pd.DataFrame({
        "driver": drivers,
        "coef": result.params[drivers].to_numpy(),
        "se": result.bse[drivers].to_numpy(),
        "low": ci.loc[drivers, 0].to_numpy(),
        "high": ci.loc[drivers, 1].to_numpy(),
        "p": result.pvalues[drivers].to_numpy(),
        "n": int(result.nobs),
    })
    return table.sort_values("coef", ascending=False, kind="stable").reset_index(drop=True), result


def r_squared(result) -> float:
    """The (weighted) R^2 of a fitted model, NaN when undefined."""
    return float(getattr(result, "rsquared", np.nan))
