"""Journey scores from survey ratings: the declared journeys, scored for every respondent.

A declared journey (``journeys.declared`` in study.yaml) is a group of touchpoints, optionally
rated as a whole. Its score is the direct rating where the survey asked for one, else measures
derived from its touchpoint ratings (mean, weakest link, consistency, peak-end, last touch).
:func:`journey_features` gathers the journey measures of model J of
:mod:`cx_helpers.journeys.compare`, with the operational measures of journeys rebuilt from an
event log (:mod:`cx_helpers.journeys.reconstruct`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from cx_helpers.study import Study

__all__ = ["MEASURES", "journey_features", "journey_score_methods", "journey_scores",
           "operational_features"]

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
        :meth:`cx_helpers.journeys.JourneyLog.journeys`.

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
    wide = agg.astype(float).unstack("type", fill_value=0.0)
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
