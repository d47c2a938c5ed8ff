"""The touchpoint inventory: a row per touchpoint, placed by stage and channel."""

from __future__ import annotations

import pandas as pd

from cx_helpers import metrics
from cx_helpers.study import Study

__all__ = ["touchpoint_inventory"]


def touchpoint_inventory(study: Study, min_base: int | None = None) -> pd.DataFrame:
    """Reach, satisfaction (mean with interval) and base size of every touchpoint.

    Parameters
    ----------
    study : Study
    min_base : int, optional
        Touchpoints rated by fewer respondents have their satisfaction suppressed (shown as
        missing, with ``suppressed`` true). Default: the study's ``min_base``.

    Returns
    -------
    DataFrame
        ``touchpoint, label, stage, channel, reach, n, sat_mean, sat_low, sat_high, suppressed``,
        in journey (stage) order. ``reach`` is the share of customers with an event on the
        touchpoint when the study has events, otherwise the share of respondents who rated it.
    """
    min_base = study.min_base if min_base is None else min_base
    cat = study.catalog
    rows = []
    weights = study.respondents["weight"]
    if study.events is not None:
        customers = study.events["customer"].nunique()
        met = study.events.groupby("touchpoint")["customer"].nunique() / customers
    for tp in cat["touchpoint"]:
        if tp in study.ratings:
            r = study.ratings[tp]
            est = metrics.mean(r, weights)
            rated_share = r.notna().mean()
        else:
            est, rated_share = None, float("nan")
        reach = met.get(tp, 0.0) if study.events is not None else rated_share
        n = 0 if est is None else est.n
        suppressed = n < min_base
        rows.append({
            "touchpoint": tp, "reach": reach, "n": n,
            "sat_mean": None if suppressed else est.value,
            "sat_low": None if suppressed else est.low,
            "sat_high": None if suppressed else est.high,
            "suppressed": suppressed,
        })
    out = cat[["touchpoint", "label", "stage", "channel"]].merge(pd.DataFrame(rows), on="touchpoint")
    for col in ("sat_mean", "sat_low", "sat_high", "reach"):
        out[col] = out[col].astype(float)
    return out
