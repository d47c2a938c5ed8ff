"""The touchpoint inventory: a row per touchpoint, placed by stage and channel.

Each row holds the four attributes a CX programme manages -- frequency (from the event log),
satisfaction (with intervals), importance (derived: correlation with the outcome) and impact on
the outcome (satisfied versus dissatisfied) -- plus reach, the not-applicable rate, base sizes and a
pain-point score and rank. Every number resting on fewer than ``min_base`` observations is
missing, with ``suppressed`` (or the column's own base) saying why. Column by column:
``data/README.md``, "Inventory table".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cx_helpers import metrics
from cx_helpers._callable import make_callable
from cx_helpers.study import Study

__all__ = ["INVENTORY_COLUMNS", "default_outcome", "inventory_table", "rating_scale",
           "stage_channel_grid", "touchpoint_inventory", "weighted_corr"]

INVENTORY_COLUMNS = [
    "touchpoint", "label", "stage", "channel", "type",
    "reach", "reach_base", "customers", "contacts", "frequency", "frequency_30d",
    "n", "na_rate", "sat_mean", "sat_low", "sat_high",
    "top_box", "top_box_low", "top_box_high", "bottom_box",
    "event_n", "event_mean", "event_low", "event_high",
    "outcome", "importance", "importance_low", "importance_high", "importance_n",
    "impact", "impact_low", "impact_high", "n_satisfied", "n_dissatisfied",
    "pain_score", "pain_rank", "suppressed",
]


def default_outcome(study: Study) -> str | None:
    """The outcome of importance and impact by default: the study's first 0-10 ``nps`` outcome,
    else its first ordinal or continuous outcome, else its first yes/no outcome, else ``None``."""
    for kinds in (("nps",), ("ordinal", "continuous"), ("binary",)):
        for name, spec in study.outcome_specs.items():
            if spec.kind in kinds:
                return name
    return None


def weighted_corr(x, y, weights=None, confidence=0.95) -> dict:
    """Weighted Pearson correlation with a Fisher-z interval on the Kish effective n.

    Pairs with a missing value are dropped.

    Returns
    -------
    dict
        ``r, low, high, n, n_eff`` (missing numbers with fewer than 4 effective pairs or no
        variance).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y) | np.isnan(w))
    x, y, w = x[keep], y[keep], w[keep]
    out = dict(r=np.nan, low=np.nan, high=np.nan, n=int(x.size), n_eff=metrics.kish_n(w))
    if x.size < 2:
        return out
    dx, dy = x - np.average(x, weights=w), y - np.average(y, weights=w)
    sxx, syy = np.average(dx**2, weights=w), np.average(dy**2, weights=w)
    if sxx <= 0 or syy <= 0:
        return out
    r = float(np.clip(np.average(dx * dy, weights=w) / np.sqrt(sxx * syy), -1, 1))
    out["r"] = r
    if out["n_eff"] > 3:
        half = stats.norm.ppf(0.5 + confidence / 2) / np.sqrt(out["n_eff"] - 3)
        z = np.arctanh(np.clip(r, -0.999999, 0.999999))
        out.update(low=float(np.tanh(z - half)), high=float(np.tanh(z + half)))
    return out


def _event_stats(events: pd.DataFrame | None):
    """Per touchpoint: customers who met it, contacts; the log's customers and span in days."""
    if events is None or events.empty:
        return None
    per = events.groupby("touchpoint", observed=True).agg(
        customers=("customer", "nunique"), contacts=("customer", "size"))
    span = (events["time"].max() - events["time"].min()) / pd.Timedelta(days=1)
    return per, int(events["customer"].nunique()), float(span)


def _nan_if(row: dict, cols, condition: bool):
    if condition:
        for c in cols:
            row[c] = np.nan


def touchpoint_inventory(study: Study, *, min_base: int | None = None, outcome: str | None = None,
                         boxes: int | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Every touchpoint with reach, frequency, satisfaction, importance, impact and pain rank.

    Parameters
    ----------
    study : Study
    min_base : int, optional
        Numbers resting on fewer observations are suppressed (missing): satisfaction,
        not-applicable rate and importance when fewer respondents rated the touchpoint (then
        ``suppressed`` is true); reach when the base it is a share of is smaller; frequency when
        fewer customers met it; event ratings when fewer events were rated; impact (and the
        pain score) when either the satisfied or the dissatisfied group is smaller.
        Default: the study's ``min_base``.
    outcome : str, optional
        The outcome for importance and impact. Default: :func:`default_outcome` (the
        study's 0-10 likelihood to recommend).
    boxes : int, optional
        Scale points in the top box (satisfied) and in the bottom box (dissatisfied); default
        :func:`cx_helpers.metrics.scale_boxes`' (1-5: satisfied 4-5, dissatisfied 1-2; 0-10:
        9-10 and 0-6).
    confidence : float, default 0.95

    Returns
    -------
    DataFrame
        A row per touchpoint in catalog (journey-stage) order; the columns of
        :data:`INVENTORY_COLUMNS`, described in ``data/README.md``.
    """
    min_base = study.min_base if min_base is None else min_base
    outcome = default_outcome(study) if outcome is None else outcome
    if outcome is not None:
        study.outcome(outcome)
    cat = study.catalog
    resp = study.respondents
    weights = resp["weight"].to_numpy(dtype=float)
    y = (resp[outcome].to_numpy(dtype=float) if outcome is not None
         else np.full(len(resp), np.nan))
    ev = _event_stats(study.events)
    rated = None
    if study.events is not None and "rating" in study.events:
        rated = study.events.dropna(subset=["rating"]).groupby("touchpoint", observed=True)[
            "rating"]
    kw = dict(confidence=confidence)
    rows = []
    for _, tp in cat.iterrows():
        name = tp["touchpoint"]
        row = {"touchpoint": name, "outcome": outcome}
        # events: reach and frequency
        if ev is not None:
            per, n_cust, span = ev
            met = int(per["customers"].get(name, 0))
            contacts = int(per["contacts"].get(name, 0))
            row.update(reach=met / n_cust if n_cust else np.nan, reach_base=n_cust,
                       customers=met, contacts=contacts,
                       frequency=contacts / met if met else np.nan,
                       frequency_30d=contacts / met / span * 30 if met and span > 0 else np.nan)
            _nan_if(row, ["reach"], n_cust < min_base)
            _nan_if(row, ["frequency", "frequency_30d"], met < min_base)
        else:
            row.update(reach=np.nan, reach_base=len(resp), customers=np.nan, contacts=np.nan,
                       frequency=np.nan, frequency_30d=np.nan)
        # survey ratings: satisfaction, not applicable, importance, impact
        r = (study.ratings[name].to_numpy(dtype=float) if name in study.ratings
             else np.full(len(resp), np.nan))
        has = ~np.isnan(r)
        n = int(has.sum())
        share_rated = weights[has].sum() / weights.sum() if len(resp) else np.nan
        row.update(n=n, na_rate=1 - share_rated if name in study.ratings else np.nan)
        if ev is None:
            row["reach"] = share_rated if len(resp) >= min_base else np.nan
        scale = (tp["scale_min"], tp["scale_max"])
        if name in study.ratings and n:
            top, bottom = metrics.scale_boxes(scale, boxes)
            sat = metrics.mean(r, weights, **kw)
            tb = metrics.top_box(r, weights, top=top, **kw)
            row.update(sat_mean=sat.value, sat_low=sat.low, sat_high=sat.high,
                       top_box=tb.value, top_box_low=tb.low, top_box_high=tb.high,
                       bottom_box=weights[metrics.in_box(r, bottom)].sum() / weights[has].sum())
            corr = weighted_corr(r, y, weights, confidence)
            row.update(importance=corr["r"], importance_low=corr["low"],
                       importance_high=corr["high"], importance_n=corr["n"])
            sat_mask, dis_mask = metrics.in_box(r, top), metrics.in_box(r, bottom)
            diff = metrics.welch(y[sat_mask], y[dis_mask], weights[sat_mask],
                                 weights[dis_mask], confidence)
            row.update(impact=diff["diff"], impact_low=diff["low"], impact_high=diff["high"],
                       n_satisfied=diff["n1"], n_dissatisfied=diff["n2"])
            _nan_if(row, ["importance", "importance_low", "importance_high"],
                    corr["n"] < min_base)
            _nan_if(row, ["impact", "impact_low", "impact_high"],
                    min(diff["n1"], diff["n2"]) < min_base)
        else:
            row.update(importance_n=0, n_satisfied=0, n_dissatisfied=0)
        row["suppressed"] = n < min_base
        _nan_if(row, ["na_rate", "sat_mean", "sat_low", "sat_high", "top_box", "top_box_low",
                      "top_box_high", "bottom_box", "importance", "importance_low",
                      "importance_high", "impact", "impact_low", "impact_high"],
                row["suppressed"])
        # transactional ratings from the event log
        ratings = (rated.get_group(name) if rated is not None and name in rated.groups
                   else pd.Series(dtype=float))
        est = metrics.mean(ratings, **kw)
        row.update(event_n=est.n, event_mean=est.value, event_low=est.low, event_high=est.high)
        _nan_if(row, ["event_mean", "event_low", "event_high"], est.n < min_base)
        # pain: customers at stake x share not satisfied x outcome gap
        row["pain_score"] = (row.get("reach", np.nan) * (1 - row.get("top_box", np.nan))
                             * max(row.get("impact", np.nan), 0.0)
                             if not np.isnan(row.get("impact", np.nan)) else np.nan)
        rows.append(row)
    out = cat[["touchpoint", "label", "stage", "channel", "type"]].merge(
        pd.DataFrame(rows), on="touchpoint", how="left")
    ints = ["reach_base", "n", "event_n", "importance_n", "n_satisfied", "n_dissatisfied"]
    out[ints] = out[ints].fillna(0).astype(int)
    out[["customers", "contacts"]] = out[["customers", "contacts"]].astype(float).astype("Int64")
    for col in INVENTORY_COLUMNS:
        if col not in out:
            out[col] = np.nan
    floats = [c for c in INVENTORY_COLUMNS if c not in ints + [
        "touchpoint", "label", "stage", "channel", "type", "outcome", "customers", "contacts",
        "pain_rank", "suppressed"]]
    out[floats] = out[floats].astype(float)
    order = out["pain_score"].rank(ascending=False, method="first")
    out["pain_rank"] = order.astype("Int64")
    out["suppressed"] = out["suppressed"].astype(bool)
    return out[INVENTORY_COLUMNS].reset_index(drop=True)


def stage_channel_grid(study: Study, min_base: int | None = None,
                       confidence: float = 0.95) -> pd.DataFrame:
    """Reach and satisfaction per stage x channel cell, for the heatmap.

    A cell holds the touchpoints of one stage and channel. Its ``reach`` is the share of
    customers with an event on any of them (without events: the weighted share of respondents
    who rated any of them); its ``satisfaction`` the weighted mean over respondents of each
    respondent's mean rating of the cell's touchpoints, with a t interval; ``n`` the respondents
    who rated any. Cells under ``min_base`` have missing numbers and ``suppressed`` true.

    Returns
    -------
    DataFrame
        ``stage, channel, touchpoints, reach, satisfaction, sat_low, sat_high, n, suppressed``,
        a row per non-empty cell, in stage order then channel.
    """
    min_base = study.min_base if min_base is None else min_base
    cat = study.catalog
    weights = study.respondents["weight"].to_numpy(dtype=float)
    n_cust = 0 if study.events is None else study.events["customer"].nunique()
    rows = []
    for (stage, channel), cell in cat.groupby(["stage", "channel"], observed=True, sort=True):
        tps = list(cell["touchpoint"])
        cols = [t for t in tps if t in study.ratings]
        per_resp = (study.ratings[cols].mean(axis=1).to_numpy(dtype=float) if cols
                    else np.full(len(weights), np.nan))
        est = metrics.mean(per_resp, weights, confidence=confidence)
        if study.events is not None:
            met = study.events.loc[study.events["touchpoint"].isin(tps), "customer"].nunique()
            reach = met / n_cust if n_cust >= min_base else np.nan
        else:
            has = ~np.isnan(per_resp)
            reach = (weights[has].sum() / weights.sum() if len(weights) >= min_base
                     else np.nan)
        suppressed = est.n < min_base
        rows.append({"stage": stage, "channel": channel, "touchpoints": len(tps),
                     "reach": reach,
                     "satisfaction": np.nan if suppressed else est.value,
                     "sat_low": np.nan if suppressed else est.low,
                     "sat_high": np.nan if suppressed else est.high,
                     "n": est.n, "suppressed": suppressed})
    out = pd.DataFrame(rows, columns=["stage", "channel", "touchpoints", "reach", "satisfaction",
                                      "sat_low", "sat_high", "n", "suppressed"])
    out["stage"] = pd.Categorical(out["stage"], categories=study.stages, ordered=True)
    return out.astype({"reach": float, "satisfaction": float, "sat_low": float,
                       "sat_high": float, "n": int, "suppressed": bool})


def rating_scale(study: Study) -> tuple[float, float] | None:
    """The rating scale shared by the study's rated touchpoints, or None when they differ."""
    cat = study.catalog[study.catalog["touchpoint"].isin(study.rated_touchpoints)]
    scales = set(zip(cat["scale_min"], cat["scale_max"]))
    if len(scales) != 1:
        return None
    lo, hi = scales.pop()
    return None if pd.isna(lo) or pd.isna(hi) else (float(lo), float(hi))


def inventory_table(inv: pd.DataFrame, outcome_label: str | None = None,
                    outcome_kind: str | None = None, caption: str | None = None):
    """The inventory as a reader's table: labels, stage, channel, % for proportions.

    Columns with no value in any row (e.g. reach and frequency without an event log, event
    ratings when the log carries none, importance without an outcome) are left out.

    Parameters
    ----------
    inv : DataFrame
        :func:`touchpoint_inventory`.
    outcome_label : str, optional
        The outcome of importance and impact, named in their headings.
    outcome_kind : str, optional
        Its kind; a binary outcome's impact is a difference of shares, shown in percentage
        points.
    caption : str, optional

    Returns
    -------
    cx_helpers.display.Table
    """
    from cx_helpers.display import table

    what = outcome_label or "the outcome"
    impact_fmt = ((lambda v: f"{100 * v:+.1f} pts") if outcome_kind == "binary"
                  else (lambda v: f"{v:+.2f}"))
    spec = [
        ("label", "Touchpoint", "text"), ("stage", "Stage", "text"),
        ("channel", "Channel", "text"), ("reach", "Reach", "pct0"),
        ("frequency", "Contacts per user", "f1"), ("n", "Ratings", "int"),
        ("na_rate", "Not rated", "pct0"), ("sat_mean", "Mean rating", "f2"),
        ("top_box", "Satisfied", "pct0"), ("event_mean", "Rating after contact", "f2"),
        ("importance", "Importance (r)", "f2"),
        ("impact", "Impact", impact_fmt), ("pain_rank", "Pain rank", "int"),
    ]
    shown = [(c, h, f) for c, h, f in spec
             if c in inv and (c in ("label", "stage", "channel") or inv[c].notna().any())
             and not (c == "n" and not inv[c].astype(float).gt(0).any())]
    notes = []
    if any(c in ("importance", "impact") for c, _, _ in shown):
        notes.append(f"Importance: correlation of the touchpoint's rating with {_lower(what)}.")
    notes += ["Reach: share of customers with at least one interaction on the touchpoint (event "
             "log), or of respondents who rated it. Satisfied: share of its raters in the top "
             "box. Not rated: share of respondents with no rating (not applicable or blank)."]
    if any(c == "impact" for c, _, _ in shown):
        unit = " (percentage points)" if outcome_kind == "binary" else ""
        notes.append(f"Impact: mean {_lower(what)} of the satisfied minus the dissatisfied "
                     f"raters{unit}.")
    notes.append("A dash: too few observations for the number (see the suppression list).")
    return table(inv, columns={c: h for c, h, _ in shown}, formats={c: f for c, _, f in shown},
                 caption=caption or f"{len(inv)} touchpoints in journey order",
                 note=" ".join(notes))


def _lower(label: str) -> str:
    label = str(label)
    return label[:1].lower() + label[1:] if label[:2] != label[:2].upper() else label


make_callable(__name__, touchpoint_inventory)
