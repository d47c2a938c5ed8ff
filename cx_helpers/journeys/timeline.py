"""Journeys over time: funnels, conversion and drop-off by period and channel, and the periods
that stand out.

A CX team watches its journeys week by week: the share of journeys reaching each step of a
funnel, the conversion from one step to the next and the drop-off at it, overall and by channel
or platform. An incident (a bug on one platform, an outage) shows as a break: a period whose
rate falls far outside what the other periods give.

Definitions (an *open* funnel over the steps, in the order given):

* A journey belongs to the period (week or month, UTC) in which it **started**, and to the group
  (e.g. platform) of its **first** event.
* It **reaches** a step when it has at least one event at one of the step's touchpoints.
* ``reach`` of a step: journeys reaching it / journeys of the period (base ``n``: the journeys).
* ``conversion`` from a step to the next: journeys reaching both / journeys reaching the first
  (base ``n``: journeys reaching the first step); ``drop_off`` = 1 - conversion.

Every rate has a 95 % Wilson interval (:func:`statsmodels.stats.proportion.proportion_confint`)
and its base; a rate on fewer than ``min_base`` journeys is suppressed (left blank).

A period **stands out** when its rate differs beyond chance from the pooled rate of the *other*
periods of the same series (same measure, step and group): Fisher's exact test (two-sided,
:func:`fisher_p`) of the period's ``x`` in ``n`` against the other periods' successes in their
bases, which allows for the baseline's own uncertainty (a single event where the other periods
have none is not proof of an incident), with Holm's correction over the periods of the series
(:func:`cx_helpers.metrics.adjust_p`); ``stands_out`` is true when the adjusted p-value is under ``alpha``, and
``direction`` says whether the period is below or above the others. As with a control chart's
revised limits, the period that stands out most is then left out of the baselines of the others
and the tests repeated, one period at a time, until no further period stands out, so a long
incident does not pull the baseline towards itself.
Suppressed periods are not tested.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import gammaln
from statsmodels.stats.proportion import proportion_confint

from cx_helpers.errors import StudyError
from cx_helpers.metrics import adjust_p

__all__ = ["PERIODS", "fisher_p", "funnel_steps", "is_funnel", "journey_steps",
           "nesting", "panels", "timeline", "touchpoint_steps", "wide", "windows"]

PERIODS = {"week": "W-SUN", "month": "M"}
ALL = "all"


def funnel_steps(study, stages=None) -> dict:
    """The funnel steps of a study: ``stage -> [touchpoints]``, in the study's stage order.

    Parameters
    ----------
    study : Study
    stages : list of str, optional
        The stages to use as steps, in funnel order (default: every stage of the catalog that
        has touchpoints, in the study's order).

    Returns
    -------
    dict
    """
    cat = study.catalog
    order = [str(s) for s in cat["stage"].cat.categories] if hasattr(cat["stage"], "cat") \
        else list(dict.fromkeys(cat["stage"].astype(str)))
    if stages is not None:
        unknown = [s for s in stages if s not in order]
        if unknown:
            root = getattr(study, "root", None)
            raise StudyError(f"funnel steps {', '.join(map(repr, unknown))} are not stages of "
                             "the study.", file=None if root is None else root / "study.yaml",
                             expected=f"stages listed under stages: ({', '.join(order)})",
                             fix="name the funnel steps (notebook 03 parameter funnel) among "
                                 "those stages, in funnel order.")
        order = list(stages)
    steps = {}
    for stage in order:
        tps = [str(t) for t in cat.loc[cat["stage"].astype(str) == stage, "touchpoint"]]
        if tps:
            steps[stage] = tps
    return steps


def touchpoint_steps(study) -> dict:
    """Every touchpoint as a step of its own (``touchpoint -> [touchpoint]``), in catalog order:
    for a log whose touchpoints are not staged (one stage), to follow each one's reach."""
    return {str(t): [str(t)] for t in study.catalog["touchpoint"]}


def panels(data: pd.DataFrame, measure: str, limit: int = 8) -> list:
    """The steps of ``measure`` to draw: all of them when at most ``limit``; otherwise the steps
    of the strongest runs of periods that stand out (:func:`windows`), up to ``limit``, or the
    first ``limit`` steps when none stands out."""
    steps = list(dict.fromkeys(data.loc[data["measure"] == measure, "step"]))
    if len(steps) <= limit:
        return steps
    runs = windows(data[data["measure"] == measure])
    strong = list(dict.fromkeys(runs["step"]))[:limit]
    return [s for s in steps if s in strong] or steps[:limit]


def _period(times: pd.Series, period: str) -> pd.Series:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}; got {period!r}.")
    t = pd.to_datetime(times, utc=True).dt.tz_convert("UTC").dt.tz_localize(None)
    return t.dt.to_period(PERIODS[period]).dt.start_time


def journey_steps(events: pd.DataFrame, steps: dict, period: str = "week", by=None,
                  journey: str = "journey", time: str = "time",
                  touchpoint: str = "touchpoint") -> pd.DataFrame:
    """A row per journey: its period, its group and whether it reached each step.

    Parameters
    ----------
    events : DataFrame
        A row per event with a journey id, a time and a touchpoint (e.g.
        :meth:`cx_helpers.journeys.JourneyLog.events`).
    steps : dict
        ``step name -> touchpoints`` in funnel order (e.g. :func:`funnel_steps`).
    period : {"week", "month"}
        Weeks run Monday to Sunday (UTC); a period is named by its first day.
    by : str, optional
        An event column (channel, platform...): the journey takes the value of its first event.

    Returns
    -------
    DataFrame
        ``journey, start, period``, the ``by`` column when given, and a boolean column per step.
    """
    need = [journey, time, touchpoint] + ([by] if by else [])
    missing = [c for c in need if c not in events.columns]
    if missing:
        raise ValueError(f"events have no column {', '.join(missing)}; columns: "
                         f"{', '.join(map(str, events.columns))}.")
    if not steps:
        raise ValueError("give at least one funnel step (step name -> touchpoints).")
    clash = [str(s) for s in steps if str(s) in {"journey", "start", "period", by}]
    if clash:
        raise ValueError(f"funnel steps may not be named {', '.join(map(repr, clash))} (a column "
                         "of the per-journey table); rename the stage.")
    ev = events[need].copy()
    ev["_order"] = np.arange(len(ev))
    ev = ev.sort_values([journey, time, "_order"], kind="stable")
    first = ev.groupby(journey, sort=True).head(1).set_index(journey)
    out = pd.DataFrame({"journey": first.index.astype(str), "start": first[time].to_numpy()})
    out["period"] = _period(out["start"], period).to_numpy()
    if by:
        out[by] = first[by].astype("string").fillna("(missing)").to_numpy()
    # touchpoints and journeys as integer codes: a step is reached by the journeys of the
    # events at one of its touchpoints
    tp_codes, tp_values = pd.factorize(ev[touchpoint].astype("string"))
    j_codes, j_values = pd.factorize(ev[journey])
    at_first = pd.Index(j_values).get_indexer(first.index)
    for name, tps in steps.items():
        wanted = np.flatnonzero(pd.Index(tp_values).isin([str(t) for t in tps]))
        reached = np.zeros(len(j_values), bool)
        reached[j_codes[np.isin(tp_codes, wanted)]] = True
        out[name] = reached[at_first]
    return out


def _wilson(x, n):
    low, high = proportion_confint(np.asarray(x, float), np.asarray(n, float), alpha=0.05,
                                   method="wilson")
    return low, high


def _period_rates(per_journey: pd.DataFrame, steps, by=None, min_base: int = 30,
                  measures=("reach", "conversion")) -> pd.DataFrame:
    """Reach, conversion and drop-off per period (and group) from :func:`journey_steps`.

    Private: the result still holds the counts of suppressed periods (``_x``), which
    :func:`_standouts` needs for the baselines and then drops; :func:`timeline` is the way in.

    Returns
    -------
    DataFrame
        ``period, by, group, measure, step, from_step, to_step, n, x, rate, low, high,
        drop_off, suppressed``: ``measure`` is ``reach`` (``step`` reached, of the period's
        journeys) or ``conversion`` (``from_step`` -> ``to_step``, of the journeys reaching
        ``from_step``; ``drop_off`` = 1 - rate); ``group`` is ``"all"`` for every journey, else
        a value of the ``by`` column.
    """
    names = list(steps)
    frames = [per_journey.assign(_group=ALL)]
    if by:
        frames.append(per_journey.assign(_group=per_journey[by].astype(str)))
    pj = pd.concat(frames, ignore_index=True)
    rows = []
    for (per, grp), g in pj.groupby(["period", "_group"], sort=True):
        total = len(g)
        for s in names if "reach" in measures else []:
            rows.append({"period": per, "group": grp, "measure": "reach", "step": s,
                         "from_step": pd.NA, "to_step": s, "n": total, "x": int(g[s].sum())})
        for a, b in zip(names, names[1:]) if "conversion" in measures else []:
            base = g[a]
            rows.append({"period": per, "group": grp, "measure": "conversion",
                         "step": f"{a} \u2192 {b}", "from_step": a, "to_step": b,
                         "n": int(base.sum()), "x": int((base & g[b]).sum())})
    t = pd.DataFrame(rows, columns=["period", "group", "measure", "step", "from_step", "to_step",
                                    "n", "x"])
    t.insert(1, "by", by or ALL)
    t.loc[t["group"] == ALL, "by"] = ALL
    n = t["n"].to_numpy(float)
    x = t["x"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, x / np.where(n > 0, n, 1), np.nan)
        low, high = _wilson(x, np.where(n > 0, n, 1))
    t["rate"], t["low"], t["high"] = rate, np.where(n > 0, low, np.nan), \
        np.where(n > 0, high, np.nan)
    t["drop_off"] = np.where(t["measure"] == "conversion", 1 - t["rate"], np.nan)
    t["suppressed"] = t["n"] < min_base
    # the counts stay for the pooled rate of the other periods; _standouts() drops them
    t["_x"] = t["x"]
    t.loc[t["suppressed"], ["x", "rate", "low", "high", "drop_off"]] = np.nan
    for c in ("from_step", "to_step"):
        t[c] = t[c].astype("string")
    return t


def fisher_p(x: int, n: int, x_other: int, n_other: int) -> float:
    """Two-sided Fisher's exact test of ``x`` in ``n`` against ``x_other`` in ``n_other``.

    The p-value of :func:`scipy.stats.fisher_exact` on the table ``[[x, n - x], [x_other,
    n_other - x_other]]``: the sum of the hypergeometric probabilities of every table with the
    same margins that is no more likely than this one, computed on the whole support at once
    (faster than ``fisher_exact`` for the hundreds of tests of a timeline).
    """
    if n <= 0 or n_other <= 0:
        return float("nan")
    total, successes = n + n_other, x + x_other
    lowest, highest = max(0, n - (total - successes)), min(successes, n)
    # only the tables within 40 standard deviations of the mean (and this one): beyond, every
    # probability is below exp(-800), zero in double precision, so the sum is the same
    mean = n * successes / total
    sd = np.sqrt(mean * (1 - successes / total) * (total - n) / max(total - 1, 1))
    lowest = max(lowest, min(int(x), int(np.floor(mean - 40 * sd)) - 1))
    highest = min(highest, max(int(x), int(np.ceil(mean + 40 * sd)) + 1))
    k = np.arange(lowest, highest + 1, dtype=float)
    # log hypergeometric pmf: C(successes, k) C(total - successes, n - k) / C(total, n)
    logpmf = (_logc(successes, k) + _logc(total - successes, n - k) - _logc(total, n))
    here = logpmf[int(x) - int(k[0])]
    pmf = np.exp(logpmf)
    return float(min(1.0, pmf[logpmf <= here + np.log1p(1e-7)].sum()))


def _logc(n, k):
    """log of the binomial coefficient C(n, k)."""
    return gammaln(np.add(n, 1.0)) - gammaln(np.add(k, 1.0)) - gammaln(np.subtract(n, k) + 1.0)


def _series_tests(n, x, shown, alpha):
    """Baselines, p-values and Holm-adjusted p-values of one series (numpy arrays).

    Revised limits, one period at a time: the period that stands out most (smallest p) is left
    out of the others' baselines and the tests repeated, until no further period stands out (a
    period left out that no longer stands out is taken back).
    """
    k = len(n)
    excluded = np.zeros(k, bool)
    for _ in range(k + 1):
        pool_n = np.where(excluded, 0.0, n)
        pool_x = np.where(excluded, 0.0, x)
        other_n = pool_n.sum() - pool_n
        other_x = pool_x.sum() - pool_x
        base = np.where(other_n > 0, other_x / np.where(other_n > 0, other_n, 1), np.nan)
        test = shown & np.isfinite(base)
        p = np.full(k, np.nan)
        for i in np.flatnonzero(test):
            p[i] = fisher_p(int(x[i]), int(n[i]), int(other_x[i]), int(other_n[i]))
        adj = np.full(k, np.nan)
        if test.any():
            adj[test] = adjust_p(p[test])
        flagged = np.nan_to_num(adj, nan=1.0) < alpha
        new = flagged & ~excluded
        if not new.any():
            break
        nxt = excluded & flagged
        nxt[np.flatnonzero(new)[np.argmin(p[new])]] = True
        if nxt.sum() >= test.sum():                  # keep at least one period as a baseline
            break
        excluded = nxt
    return np.where(test, base, np.nan), p, adj


def _standouts(rates: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Mark the periods whose rate stands out from the other periods of its series.

    A series is one ``by, group, measure, step``. For each period with a shown rate, the
    baseline is the pooled rate of the other periods of the series (successes over bases,
    suppressed periods included); Fisher's exact test (:func:`fisher_p`) compares the period's
    ``x`` in ``n`` with the other periods' successes in their bases, and Holm's method adjusts
    the p-values over the tested periods of the series. As with a control chart's
    revised limits, the period that stands out most is then left out of the other periods'
    baselines and the tests repeated, one period at a time, until no further period stands
    out, so that a long incident does not drag the baseline towards itself (nor make the
    ordinary periods look high).

    Returns
    -------
    DataFrame
        ``rates`` with ``baseline`` (pooled rate of the other periods that do not stand out),
        ``p``, ``p_adj``, ``stands_out`` and ``direction`` (``below``/``above``; blank unless
        it stands out).
    """
    t = rates.reset_index(drop=True)
    hidden = "_x" in t.columns
    xs = (t["_x"] if hidden else t["x"]).to_numpy(float)
    ns = t["n"].to_numpy(float)
    shown_all = ~t["suppressed"].to_numpy(bool) & (ns > 0)
    base = np.full(len(t), np.nan)
    p = np.full(len(t), np.nan)
    adj = np.full(len(t), np.nan)
    for _, idx in t.groupby(["by", "group", "measure", "step"], sort=False).indices.items():
        base[idx], p[idx], adj[idx] = _series_tests(ns[idx], np.nan_to_num(xs[idx]),
                                                    shown_all[idx], alpha)
    t["baseline"], t["p"], t["p_adj"] = base, p, adj
    t["stands_out"] = np.nan_to_num(adj, nan=1.0) < alpha
    direction = np.where(t["rate"] < t["baseline"], "below", "above")
    t["direction"] = pd.Series(np.where(t["stands_out"], direction, None),
                               index=t.index).astype("string")
    if hidden:
        t = t.drop(columns="_x")
    return t


def timeline(events, steps: dict, period: str = "week", by=None, min_base: int = 30,
             alpha: float = 0.05, measures=("reach", "conversion"), journey: str = "journey",
             time: str = "time", touchpoint: str = "touchpoint") -> pd.DataFrame:
    """Funnel reach, step conversion and drop-off per period (and channel), with intervals and
    the periods that stand out.

    Parameters
    ----------
    events : DataFrame or JourneyLog
        Events with their journey (``journey, time, touchpoint`` and the ``by`` column), or a
        :class:`cx_helpers.journeys.JourneyLog` (its :meth:`events`).
    steps : dict
        ``step name -> touchpoints`` in funnel order (:func:`funnel_steps`).
    period : {"week", "month"}
    by : str, optional
        An event column to break the rates down by (``channel``, a ``keep`` column...); rows
        for every journey (``group`` ``"all"``) come first. A column with a single value is
        ignored.
    min_base : int
        Rates on fewer journeys are suppressed and not tested.
    alpha : float
        Family-wise error rate of each series (Holm).
    measures : tuple of str
        ``"reach"`` and/or ``"conversion"`` (conversion only makes sense when the steps are a
        funnel: see :func:`nesting`).

    Returns
    -------
    DataFrame
        A row per period, group, measure and step: ``period, by, group, measure, step,
        from_step, to_step, n, x, rate, low, high, drop_off, suppressed, baseline, p, p_adj,
        stands_out, direction`` (see :func:`_period_rates` and :func:`_standouts`), sorted by
        group (``all`` first), measure, step order and period.

    Examples
    --------
    The bundled clickstream, whose payment outage shows as weeks that stand out:

    >>> import cx_helpers as cx
    >>> study = cx.load("data/examples/ecom-clickstream")
    >>> log = cx.journeys.journey_log(study)
    >>> t = timeline(log, funnel_steps(study), by="channel", min_base=study.min_base)
    >>> "payment → purchase" in set(t.loc[t["stands_out"], "step"])
    True
    """
    if hasattr(events, "events") and hasattr(events, "con"):
        events = events.events()
    if by and events[by].nunique(dropna=False) <= 1:      # one channel: the "all" rows say it
        by = None
    per_journey = journey_steps(events, steps, period=period, by=by, journey=journey,
                                time=time, touchpoint=touchpoint)
    t = _standouts(_period_rates(per_journey, steps, by=by, min_base=min_base,
                               measures=measures), alpha=alpha)
    names = list(steps)
    order = {s: i for i, s in enumerate(names)}
    t["_m"] = (t["measure"] == "conversion").astype(int)
    t["_s"] = [order.get(a if pd.notna(a) else b, 0) for a, b in zip(t["from_step"],
                                                                       t["to_step"])]
    t["_g"] = (t["group"] != ALL).astype(int)
    t = t.sort_values(["_g", "group", "_m", "_s", "period"], kind="stable")
    return t.drop(columns=["_m", "_s", "_g"]).reset_index(drop=True)


def windows(data: pd.DataFrame) -> pd.DataFrame:
    """Runs of consecutive periods that stand out in the same direction, one row per run.

    Consecutive among the periods shown: a suppressed period (or one without journeys) between
    two that stand out does not break a run.

    Parameters
    ----------
    data : DataFrame
        :func:`timeline`.

    Returns
    -------
    DataFrame
        ``by, group, measure, step, direction, first, last`` (first days of the first and last
        periods), ``periods``, ``n, x, rate`` (pooled over the run), ``low, high`` (Wilson) and
        ``baseline`` (pooled rate of the series' shown periods that do not stand out),
        ``p_adj`` (the smallest adjusted p-value of the run) and ``echo`` (a channel's run that
        overlaps a run of every journey at the same step and in the same direction). Sorted
        with the strongest runs first (smallest ``p_adj``) and echoes last.
    """
    cols = ["by", "group", "measure", "step", "direction", "first", "last", "periods", "n", "x",
            "rate", "low", "high", "baseline", "p_adj"]
    rows = []
    for key, g in data.groupby(["by", "group", "measure", "step"], sort=False):
        g = g.sort_values("period")
        shown = g[~g["suppressed"]]
        run = []
        for _, r in list(shown.iterrows()) + [(None, None)]:
            if r is not None and r["stands_out"] and (not run or
                                                     run[-1]["direction"] == r["direction"]):
                run.append(r)
                continue
            if run:
                n = sum(int(q["n"]) for q in run)
                x = sum(int(q["x"]) for q in run)
                others = shown[~shown["stands_out"]]
                ox, on = others["x"].sum(), others["n"].sum()
                low, high = _wilson(x, n)
                rows.append({**dict(zip(["by", "group", "measure", "step"], key)),
                             "direction": run[0]["direction"], "first": run[0]["period"],
                             "last": run[-1]["period"], "periods": len(run), "n": n, "x": x,
                             "rate": x / n, "low": float(low), "high": float(high),
                             "baseline": ox / on if on else np.nan,
                             "p_adj": min(float(q["p_adj"]) for q in run)})
            run = [r] if r is not None and r["stands_out"] else []
    out = pd.DataFrame(rows, columns=cols)
    # a channel's run that overlaps a run of every journey (same measure, step and direction)
    # repeats it: strongest first, echoes last
    overall = out[out["group"] == ALL]
    echo = []
    for _, r in out.iterrows():
        same = overall[(overall["measure"] == r["measure"]) & (overall["step"] == r["step"])
                       & (overall["direction"] == r["direction"])]
        echo.append(r["group"] != ALL and bool(((same["first"] <= r["last"])
                                                & (same["last"] >= r["first"])).any()))
    out["echo"] = pd.Series(echo, index=out.index, dtype=bool)
    out = out.sort_values(["echo", "p_adj", "first", "group", "step"], kind="stable")
    return out.reset_index(drop=True)


def nesting(events, steps: dict, journey: str = "journey",
            touchpoint: str = "touchpoint") -> pd.DataFrame:
    """Do the steps form a funnel? For each step, the share of the journeys reaching it that
    also reached the step before.

    Stages of a purchase path nest (nearly every journey at payment passed the cart); stages
    of a customer lifecycle, cut into separate journeys, do not (a billing journey rarely
    passes onboarding), and conversion from one to the next then means nothing.

    Parameters
    ----------
    events : DataFrame or JourneyLog
    steps : dict
        ``step name -> touchpoints`` in funnel order.

    Returns
    -------
    DataFrame
        ``from_step, to_step, journeys`` (reaching ``to_step``), ``nested`` (of them, reaching
        ``from_step`` too) and ``share``.
    """
    if hasattr(events, "events") and hasattr(events, "con"):
        events = events.events()
    tp = events[touchpoint].astype("string")
    reached = {name: set(events.loc[tp.isin([str(t) for t in tps]).fillna(False).to_numpy(),
                                    journey])
               for name, tps in steps.items()}
    names = list(steps)
    rows = []
    for a, b in zip(names, names[1:]):
        both = len(reached[a] & reached[b])
        n = len(reached[b])
        rows.append({"from_step": a, "to_step": b, "journeys": n, "nested": both,
                     "share": both / n if n else np.nan})
    return pd.DataFrame(rows, columns=["from_step", "to_step", "journeys", "nested", "share"])


def is_funnel(nested: pd.DataFrame, min_share: float = 0.5) -> bool:
    """True when, for every step, at least ``min_share`` of the journeys reaching it reached
    the step before (:func:`nesting`); a single step is no funnel."""
    return bool(len(nested)) and bool((nested["share"].fillna(0) >= min_share).all())


def wide(data: pd.DataFrame, measure: str = "conversion", group: str = ALL) -> pd.DataFrame:
    """One group's rates as a period x step table: ``period, journeys`` and a column per step.

    Parameters
    ----------
    data : DataFrame
        :func:`timeline`.
    measure : {"conversion", "reach"}
    group : str
        ``"all"`` or a value of the ``by`` column.

    Returns
    -------
    DataFrame
        A row per period: ``journeys`` (the period's journeys in the group) and the rate of each
        step, in step order (blank where suppressed).
    """
    d = data[data["group"] == group]
    if d.empty:
        raise ValueError(f"no rows for group {group!r}; groups: "
                         f"{', '.join(dict.fromkeys(data['group']))}.")
    first = d[d["measure"] == "reach"]
    journeys = first[first["step"] == first["step"].iloc[0]].set_index("period")["n"]
    m = d[d["measure"] == measure]
    steps = list(dict.fromkeys(m["step"]))
    table = m.pivot(index="period", columns="step", values="rate").reindex(columns=steps)
    table.columns = [str(c) for c in table.columns]
    out = pd.concat([journeys.rename("journeys"), table], axis=1).sort_index()
    return out.rename_axis("period").reset_index()

