"""Model matrices from ratings, with "not applicable" handled explicitly.

A touchpoint the respondent never met is missing, never a low score. Three handlings:

``"indicator"``
    Each rating is centred on its mean among those who gave it; missing becomes 0 and an indicator
    column ``<name>__na`` (1 = not rated) is added, so every respondent stays in the model.
``"complete"``
    Only respondents who rated every driver.
``"mean"``
    Missing replaced by the driver's mean (shrinks effects; offered for comparison only).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["NA_HANDLINGS", "design_matrix"]

NA_HANDLINGS = ("indicator", "complete", "mean")


def design_matrix(data: pd.DataFrame, columns, na: str = "indicator") -> pd.DataFrame:
    """Build the drivers' part of a model matrix.

    Parameters
    ----------
    data : DataFrame
        A row per respondent.
    columns : list of str
        Driver columns (ratings).
    na : {"indicator", "complete", "mean"}
        How missing ratings are handled (see the module docstring).

    Returns
    -------
    DataFrame
        Same index as ``data`` (fewer rows with ``"complete"``); indicator columns are added only
        for drivers that have missing values and are not always missing.
    """
    if na not in NA_HANDLINGS:
        raise ValueError(f"na must be one of {NA_HANDLINGS}, got {na!r}.")
    x = data[list(columns)].astype(float)
    if na == "complete":
        return x.dropna()
    means = x.mean()
    if na == "mean":
        return x.fillna(means)
    out = (x - means).fillna(0.0)
    for col in columns:
        missing = x[col].isna()
        if missing.any() and not missing.all():
            out[f"{col}__na"] = missing.astype(float)
    return out
