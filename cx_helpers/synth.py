"""A synthetic CX study with known ground truth: a mobile operator's customers, their journeys
and touchpoints, a survey and business outcomes.

The generator plants a loyalty model and writes its parameters to ``truth.json``, so every
analysis step can be checked against what it should recover.

The world
---------
* 20 touchpoints, each in exactly one of 5 journey types (buy, onboarding, billing, support,
  renewal), over 7 stages and 5 channels (:data:`TOUCHPOINTS`).
* Every customer has one or more journey instances (a customer may have two support journeys),
  starting at least 14 days apart in 2026. Within an instance the path is a Markov chain over the
  journey's touchpoints (:data:`CHAINS`) with log-normal gaps between contacts (median 3 hours,
  never more than 5 days).
* The experience of touchpoint *t* in journey *j* is the latent
  ``z = sqrt(halo) h + sqrt(rho_within) q_j + sqrt(1 - halo - rho_within) e_t`` (``h`` the
  customer's halo, ``q_j`` the quality of the journey), rated 1-5 through fixed cut points after a
  touchpoint-specific shift. The survey asks every touchpoint; those the customer never met
  (no event) are coded 9, and 3 % of the others are left blank.
* Loyalty: ``LTR* = intercept + sum_t beta_t (r_t - center_t) met_t
  + journey_effect * sum_j u_j had_j + plan effect + noise``, ``LTR = clip(round(LTR*), 0, 10)``.
  ``u_j ~ N(0, 1)`` is what a journey adds beyond its touchpoints (handoffs, effort); it shows in
  the direct journey rating ``q_j_<journey>`` but not in the touchpoint ratings.
* Overall satisfaction, intention to stay, churn and revenue all follow the same loyalty latent.

Study shapes
------------
:data:`SHAPES` names other designs real studies have (``write_study(..., shape=NAME)``, ``cx synth
--shape NAME``): a yes/no outcome stored as text with segments that drive it and rare co-occurring
not-applicable codes (``airline``), an ordinal outcome stored as labels, a continuous weighted one,
a 0/1 one with rated journeys, the operator without declared journeys, an event log alone. The
survey-only shapes come from a lighter latent-variable model (:func:`shape_files`); every shape's
``truth.json`` adds its options, the planted drivers with their signs, the segment effects and
the report sections its inputs allow.

Identical arguments give identical tables and byte-identical files.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["CHAINS", "JOURNEYS", "SHAPES", "Shape", "SyntheticStudy", "TOUCHPOINTS", "describe",
           "generate", "shape_files", "write_study"]

CLIENT = "Northwind Mobile (synthetic)"
STAGES = ["awareness", "purchase", "onboarding", "usage", "billing", "support", "renewal"]
CHANNEL_TYPE = {"web": "digital", "app": "digital", "phone": "assisted", "store": "assisted",
                "email": "communication"}

# id: (label, stage, channel, journey, latent shift, beta = LTR points per rating point)
TOUCHPOINTS = {
    "website_browse": ("Website browsing", "awareness", "web", "buy", 4.0, 0.0),
    "store_visit": ("Store visit", "purchase", "store", "buy", 4.2, 0.2),
    "online_checkout": ("Online checkout", "purchase", "web", "buy", 3.6, 0.8),
    "sales_call": ("Sales call", "purchase", "phone", "buy", 3.5, 0.1),
    "welcome_email": ("Welcome email", "onboarding", "email", "onboarding", 4.3, 0.0),
    "sim_activation": ("SIM activation", "onboarding", "app", "onboarding", 3.4, 0.8),
    "app_setup": ("App setup", "onboarding", "app", "onboarding", 3.8, 0.3),
    "setup_call": ("Setup call", "onboarding", "phone", "onboarding", 3.6, 0.2),
    "bill_received": ("Bill received", "billing", "email", "billing", 3.9, 0.0),
    "account_app": ("Account in the app", "usage", "app", "billing", 4.0, 0.2),
    "billing_call": ("Billing call", "billing", "phone", "billing", 2.9, 0.9),
    "online_payment": ("Online payment", "billing", "web", "billing", 4.3, 0.1),
    "faq_page": ("FAQ page", "usage", "web", "support", 3.7, 0.0),
    "chat": ("Chat", "support", "web", "support", 3.5, 0.4),
    "phone_support": ("Phone support", "support", "phone", "support", 3.0, 0.9),
    "store_repair": ("Store repair", "support", "store", "support", 3.3, 0.7),
    "renewal_offer": ("Renewal offer", "renewal", "email", "renewal", 3.8, 0.0),
    "plan_compare": ("Plan comparison", "renewal", "web", "renewal", 3.9, 0.1),
    "store_upgrade": ("Store upgrade", "renewal", "store", "renewal", 4.2, 0.5),
    "retention_call": ("Retention call", "renewal", "phone", "renewal", 3.4, 0.6),
}
# Touchpoints whose type differs from their channel's default (a chat is with an agent).
TYPE_OVERRIDE = {"chat": "assisted"}

# journey: (label, probability a customer has it)
JOURNEYS = {
    "buy": ("Buying a plan", 0.45),
    "onboarding": ("Getting started", 0.45),
    "billing": ("Paying a bill", 0.50),
    "support": ("Getting help", 0.55),
    "renewal": ("Renewing", 0.35),
}
SECOND_SUPPORT = 0.25          # P(a second support journey | a first one)
JOURNEY_ORDER_BIAS = {"buy": 0.0, "onboarding": 0.3, "billing": 0.6, "support": 0.6,
                      "renewal": 0.9}

# Markov chains over each journey's touchpoints, in TOUCHPOINTS order: start probabilities and a
# transition row per touchpoint (the last column is "end"; the diagonal holds repeat contacts).
CHAINS = {
    "buy": ([0.60, 0.25, 0.00, 0.15],
            [[0.15, 0.20, 0.40, 0.10, 0.15],
             [0.05, 0.10, 0.05, 0.10, 0.70],
             [0.05, 0.05, 0.05, 0.15, 0.70],
             [0.10, 0.15, 0.15, 0.10, 0.50]]),
    "onboarding": ([0.65, 0.20, 0.05, 0.10],
                   [[0.05, 0.60, 0.15, 0.05, 0.15],
                    [0.00, 0.10, 0.50, 0.15, 0.25],
                    [0.00, 0.05, 0.10, 0.20, 0.65],
                    [0.00, 0.15, 0.15, 0.10, 0.60]]),
    "billing": ([0.75, 0.15, 0.05, 0.05],
                [[0.05, 0.35, 0.20, 0.25, 0.15],
                 [0.00, 0.10, 0.25, 0.35, 0.30],
                 [0.05, 0.10, 0.20, 0.15, 0.50],
                 [0.00, 0.05, 0.10, 0.05, 0.80]]),
    "support": ([0.45, 0.20, 0.30, 0.05],
                [[0.10, 0.35, 0.20, 0.05, 0.30],
                 [0.05, 0.15, 0.30, 0.10, 0.40],
                 [0.00, 0.05, 0.25, 0.20, 0.50],
                 [0.00, 0.00, 0.20, 0.10, 0.70]]),
    "renewal": ([0.60, 0.20, 0.05, 0.15],
                [[0.05, 0.45, 0.15, 0.15, 0.20],
                 [0.00, 0.10, 0.30, 0.20, 0.40],
                 [0.00, 0.05, 0.05, 0.10, 0.80],
                 [0.00, 0.05, 0.20, 0.10, 0.65]]),
}
MAX_STEPS = 10

# Latent structure and loyalty model.
HALO = 0.10
RHO_WITHIN = 0.35
CUTS = np.array([1.5, 2.5, 3.5, 4.5])        # latent -> 1..5
INTERCEPT = 7.8
NOISE_SD = 1.3
PLAN_EFFECTS = {"prepaid": -0.4, "standard": 0.0, "premium": 0.4}
JOURNEY_RATING_U = 0.8                       # weight of u_j in the direct journey rating
JOURNEY_RATING_NOISE = 0.3
EVENT_RATING_SHARE = 0.30                    # share of assisted events with a post-contact rating
EVENT_RATING_NOISE = 0.5
ITEM_NONRESPONSE = 0.03
NA_CODE = 9
CHURN = {"intercept": -1.85, "slope": -0.55, "center": INTERCEPT}
OSAT = {"intercept": 3.8, "slope": 0.6, "center": INTERCEPT, "noise_sd": 0.7}
STAY = {"intercept": 3.6, "slope": 0.5, "center": INTERCEPT, "noise_sd": 0.9}
REVENUE = {"median": {"prepaid": 180.0, "standard": 420.0, "premium": 780.0}, "sigma": 0.35,
           "loyalty_slope": 0.04, "center": INTERCEPT}

# Segments: sample probabilities and (for region) known population shares.
REGIONS = {"North": (0.40, 0.30), "South": (0.25, 0.30), "East": (0.20, 0.20),
           "West": (0.15, 0.20)}
PLANS = {"prepaid": 0.30, "standard": 0.50, "premium": 0.20}
TENURES = {"<1y": 0.25, "1-3y": 0.35, "3y+": 0.40}

# Timing (minutes): journeys start between 08:00 and 20:00; contacts happen 07:00-22:00.
GAP_MEDIAN_MIN = 180.0
GAP_SIGMA = 1.2
GAP_MIN, GAP_MAX = 5.0, 4.5 * 1440
MIN_START_GAP_DAYS = 14
YEAR_DAYS = 365
EPOCH = np.datetime64("2026-01-01T00:00", "m")

FILES = ("study.yaml", "survey.csv", "touchpoints.csv", "events.csv", "outcomes.csv",
         "truth.json", "truth_journeys.csv")


@dataclass
class SyntheticStudy:
    """The tables of a synthetic study and the truth planted in them.

    Attributes
    ----------
    survey : pandas.DataFrame
        A row per respondent (columns as in ``data/README.md``); ratings are floats with 9 for
        not applicable and NaN for blanks.
    touchpoints : pandas.DataFrame
        The catalog: ``touchpoint, label, stage, channel, type``.
    events : pandas.DataFrame
        ``customer_id, timestamp (UTC), touchpoint, channel, rating`` sorted by customer and time.
    outcomes : pandas.DataFrame
        ``customer_id, churned, revenue`` for every customer.
    journeys_truth : pandas.DataFrame
        The true journey instances: ``customer_id, journey_instance, journey_type, start, end,
        n_events``.
    truth : dict
        The generator's parameters (written to ``truth.json``).
    """

    survey: pd.DataFrame
    touchpoints: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    journeys_truth: pd.DataFrame
    truth: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# small helpers


def _tp_ids() -> list[str]:
    return list(TOUCHPOINTS)


def _journey_ids() -> list[str]:
    return list(JOURNEYS)


def _tp_journey_index() -> np.ndarray:
    """The journey index of each touchpoint (in TOUCHPOINTS order)."""
    jids = _journey_ids()
    return np.array([jids.index(v[3]) for v in TOUCHPOINTS.values()])


def _tp_type(tp: str) -> str:
    return TYPE_OVERRIDE.get(tp, CHANNEL_TYPE[TOUCHPOINTS[tp][2]])


def _normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def expected_rating(shift: float) -> float:
    """The expected 1-5 rating of a touchpoint with latent shift ``shift`` (latent SD 1).

    Parameters
    ----------
    shift : float
        The touchpoint's latent location.

    Returns
    -------
    float
        ``1 + sum_k P(shift + z > cut_k)``, rounded to 4 decimals (the model's centre).
    """
    return round(1.0 + sum(1.0 - _normal_cdf(c - shift) for c in CUTS), 4)


def _centers() -> np.ndarray:
    return np.array([expected_rating(v[4]) for v in TOUCHPOINTS.values()])


def _to_rating(latent: np.ndarray) -> np.ndarray:
    """Map a latent to 1..5 through the fixed cut points."""
    return 1 + (latent[..., None] > CUTS).sum(axis=-1)


def _choice(rng: np.random.Generator, probs, size: int) -> np.ndarray:
    """Vectorised categorical draws (indices into ``probs``)."""
    cum = np.cumsum(np.asarray(probs, dtype=float))
    cum /= cum[-1]
    return np.minimum((rng.random(size)[:, None] > cum[None, :]).sum(axis=1), len(cum) - 1)


def _ids(prefix: str, numbers: np.ndarray) -> np.ndarray:
    width = max(5, len(str(int(numbers.max())))) if numbers.size else 5
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), width)).astype(object)


def _iso(minutes: np.ndarray) -> np.ndarray:
    """Minutes since 2026-01-01 UTC as ``2026-03-04T09:15:00+00:00`` strings."""
    stamps = EPOCH + minutes.astype("timedelta64[m]")
    return np.char.add(np.datetime_as_string(stamps.astype("datetime64[s]"), unit="s"), "+00:00")


def _timestamps(minutes: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(EPOCH + minutes.astype("timedelta64[m]"), utc=True))


# --------------------------------------------------------------------------------------------
# the world


def _customers(rng, n):
    """Segments of every customer (indices into REGIONS, PLANS, TENURES)."""
    region = _choice(rng, [p for p, _ in REGIONS.values()], n)
    plan = _choice(rng, list(PLANS.values()), n)
    tenure = _choice(rng, list(TENURES.values()), n)
    return region, plan, tenure


def _journey_instances(rng, n, per_customer=None):
    """Which journeys each customer has: instance arrays ``(customer, journey type)``.

    Every customer has at least one journey. By default each type comes at most once (a support
    journey may come twice); with ``per_customer`` (mean journeys per customer, for logs of a
    given density), each type comes a Poisson number of times, in the types' proportions.
    """
    probs = np.array([p for _, p in JOURNEYS.values()])
    if per_customer is not None:
        counts = rng.poisson(probs / probs.sum() * float(per_customer), size=(n, len(probs)))
        none = counts.sum(axis=1) == 0
        counts[np.flatnonzero(none), _choice(rng, probs, int(none.sum()))] = 1
        cust, jtype = np.nonzero(counts)
        reps = counts[cust, jtype]
        return np.repeat(cust, reps), np.repeat(jtype, reps), counts > 0
    had = rng.random((n, len(probs))) < probs
    none = ~had.any(axis=1)
    had[np.flatnonzero(none), _choice(rng, probs, int(none.sum()))] = True
    s = _journey_ids().index("support")
    twice = had[:, s] & (rng.random(n) < SECOND_SUPPORT)
    counts = had.astype(int)
    counts[:, s] += twice
    cust, jtype = np.nonzero(counts)
    reps = counts[cust, jtype]
    return np.repeat(cust, reps), np.repeat(jtype, reps), had


def _walk(rng, start, trans, m):
    """Simulate ``m`` paths of a Markov chain; returns (instance, step, state) of every visit."""
    trans = np.asarray(trans, dtype=float)
    n_states = trans.shape[0]
    state = _choice(rng, start, m)
    alive = np.arange(m)
    inst, steps, states = [], [], []
    for step in range(MAX_STEPS):
        inst.append(alive)
        steps.append(np.full(alive.size, step))
        states.append(state)
        cum = np.cumsum(trans[state], axis=1)
        nxt = (rng.random(alive.size)[:, None] > cum).sum(axis=1)
        keep = nxt < n_states
        alive, state = alive[keep], nxt[keep]
        if alive.size == 0:
            break
    return np.concatenate(inst), np.concatenate(steps), np.concatenate(states)


def _paths(rng, inst_type):
    """Touchpoint paths of all journey instances, as flat event arrays.

    Returns
    -------
    ev_inst, ev_step, ev_tp : ndarray
        Instance index, step within the instance and touchpoint index of every event.
    """
    tp_j = _tp_journey_index()
    parts = []
    for j, name in enumerate(_journey_ids()):
        members = np.flatnonzero(inst_type == j)
        start, trans = CHAINS[name]
        i, s, st = _walk(rng, start, trans, members.size)
        parts.append((members[i], s, np.flatnonzero(tp_j == j)[st]))
    ev_inst = np.concatenate([p[0] for p in parts])
    ev_step = np.concatenate([p[1] for p in parts])
    ev_tp = np.concatenate([p[2] for p in parts])
    order = np.lexsort((ev_step, ev_inst))
    return ev_inst[order], ev_step[order], ev_tp[order]


def _daytime(rng, t):
    """Move contacts falling at night (22:00-07:00) to the next morning (07:00-09:00)."""
    mod = t % 1440
    night = (mod < 420) | (mod >= 1320)
    jitter = rng.integers(0, 120, t.size)
    next_morning = t - mod + np.where(mod >= 1320, 1440, 0) + 420 + jitter
    return np.where(night, next_morning, t)


def _relative_times(rng, ev_inst, ev_step, n_inst):
    """Minutes of each event from midnight of its journey's first day."""
    t = np.empty(ev_inst.size, dtype=np.int64)
    current = np.zeros(n_inst, dtype=np.int64)
    for step in range(MAX_STEPS):
        at = np.flatnonzero(ev_step == step)
        if at.size == 0:
            break
        inst = ev_inst[at]
        if step == 0:
            new = rng.integers(480, 1200, at.size)
        else:
            gap = np.exp(rng.normal(math.log(GAP_MEDIAN_MIN), GAP_SIGMA, at.size))
            new = current[inst] + np.round(np.clip(gap, GAP_MIN, GAP_MAX)).astype(np.int64)
            new = _daytime(rng, new)
        current[inst] = new
        t[at] = new
    return t


def _start_days(rng, inst_cust, inst_type, last_minute, n):
    """Place the journey instances of each customer in 2026, at least 14 days apart.

    Returns the start day of each instance and the order of instances (by customer, start).
    """
    bias = np.array([JOURNEY_ORDER_BIAS[j] for j in _journey_ids()])
    key = bias[inst_type] + rng.random(inst_cust.size)
    order = np.lexsort((key, inst_cust))
    cust = inst_cust[order]
    dur = last_minute[order] // 1440                              # days after the start day
    need = np.maximum(MIN_START_GAP_DAYS + 1, dur + 7)            # start-day spacing
    first = np.r_[True, cust[1:] != cust[:-1]]
    last = np.r_[cust[1:] != cust[:-1], True]
    before = np.cumsum(need) - need
    before -= before[first][np.cumsum(first) - 1]                 # exclusive cumsum per customer
    total = np.bincount(cust, weights=np.where(last, dur + 1, need), minlength=n)
    slack = np.maximum(0, YEAR_DAYS - total)
    u = rng.random(cust.size)
    u_sorted = u[np.lexsort((u, cust))]
    offset = np.floor(u_sorted * (slack[cust] + 1)).astype(np.int64)
    start = np.empty(cust.size, dtype=np.int64)
    start[order] = offset + before.astype(np.int64)
    return start, order


def _experience(rng, n):
    """Latent experience: customer halo, journey quality, journey-level component, z per tp."""
    nj, nt = len(JOURNEYS), len(TOUCHPOINTS)
    halo = rng.normal(size=n)
    quality = rng.normal(size=(n, nj))
    extra = rng.normal(size=(n, nj))                               # u_j
    own = rng.normal(size=(n, nt))
    z = (math.sqrt(HALO) * halo[:, None] + math.sqrt(RHO_WITHIN) * quality[:, _tp_journey_index()]
         + math.sqrt(1.0 - HALO - RHO_WITHIN) * own)
    return z, extra


def _loyalty(rng, ratings, met, had, extra, plan, journey_effect):
    """The structural loyalty latent (without the LTR noise) and the LTR score."""
    beta = np.array([v[5] for v in TOUCHPOINTS.values()])
    tp_part = ((ratings - _centers()) * met) @ beta
    journey_part = journey_effect * (extra * had).sum(axis=1)
    plan_eff = np.array(list(PLAN_EFFECTS.values()))[plan]
    latent = INTERCEPT + tp_part + journey_part + plan_eff
    ltr = np.clip(np.round(latent + rng.normal(0.0, NOISE_SD, latent.size)), 0, 10)
    return latent, ltr


def _scale_item(rng, latent, spec):
    raw = spec["intercept"] + spec["slope"] * (latent - spec["center"])
    return np.clip(np.round(raw + rng.normal(0.0, spec["noise_sd"], latent.size)), 1, 5)


def _outcomes(rng, latent, plan):
    """Churn (logistic in loyalty) and revenue (plan-dependent log-normal) of every customer."""
    logit = CHURN["intercept"] + CHURN["slope"] * (latent - CHURN["center"])
    churned = (rng.random(latent.size) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    median = np.array(list(REVENUE["median"].values()))[plan]
    log_rev = (np.log(median) + REVENUE["loyalty_slope"] * (latent - REVENUE["center"])
               + rng.normal(0.0, REVENUE["sigma"], latent.size))
    return churned, np.round(np.exp(log_rev), 2)


def _journey_ratings(rng, ratings, met, had, extra):
    """Direct 1-5 rating of each journey type (NaN where the customer did not have it)."""
    tp_j = _tp_journey_index()
    out = np.full(had.shape, np.nan)
    for j in range(had.shape[1]):
        cols = tp_j == j
        k = met[:, cols].sum(axis=1)
        mean = (ratings[:, cols] * met[:, cols]).sum(axis=1) / np.maximum(k, 1)
        raw = (mean + JOURNEY_RATING_U * extra[:, j]
               + rng.normal(0.0, JOURNEY_RATING_NOISE, mean.size))
        out[:, j] = np.where(had[:, j], np.clip(np.round(raw), 1, 5), np.nan)
    return out


def _weights(region_resp):
    """Post-stratification weights by region: population share / sample share, mean 1."""
    pop = np.array([p for _, p in REGIONS.values()])
    sample = np.bincount(region_resp, minlength=pop.size) / region_resp.size
    w = pop[region_resp] / sample[region_resp]
    return np.round(w / w.mean(), 4)


# --------------------------------------------------------------------------------------------
# tables


def _catalog() -> pd.DataFrame:
    rows = [{"touchpoint": tp, "label": v[0], "stage": v[1], "channel": v[2], "type": _tp_type(tp)}
            for tp, v in TOUCHPOINTS.items()]
    return pd.DataFrame(rows)


def _survey_frame(resp, cust_ids, segs, weight, ratings, met, blanks, jr, ltr, osat, stay):
    region, plan, tenure = segs
    numbers = resp + 1
    survey = {
        "respondent_id": _ids("R", np.arange(1, resp.size + 1)),
        "customer_id": cust_ids[resp],
        "email": np.char.add(np.char.add("customer", numbers.astype(str)),
                             "@example.com").astype(object),
        "full_name": np.char.add("Customer ", numbers.astype(str)).astype(object),
        "region": np.array(list(REGIONS))[region[resp]],
        "plan": np.array(list(PLANS))[plan[resp]],
        "tenure": np.array(list(TENURES))[tenure[resp]],
        "weight": weight,
    }
    r = np.where(met, ratings, NA_CODE).astype(float)[resp]
    r[blanks] = np.nan
    for k, tp in enumerate(TOUCHPOINTS):
        survey[f"q_{tp}"] = r[:, k]
    for k, j in enumerate(JOURNEYS):
        survey[f"q_j_{j}"] = np.nan_to_num(jr[resp, k], nan=NA_CODE)
    survey["q_recommend"] = ltr[resp]
    survey["q_overall"] = osat[resp]
    survey["q_stay"] = stay[resp]
    return pd.DataFrame(survey)


def _event_ratings(rng, z, ev_cust, ev_tp):
    """Post-contact 1-5 ratings on a share of assisted events (NaN elsewhere)."""
    assisted = np.array([_tp_type(tp) == "assisted" for tp in TOUCHPOINTS])[ev_tp]
    asked = assisted & (rng.random(ev_tp.size) < EVENT_RATING_SHARE)
    shift = np.array([v[4] for v in TOUCHPOINTS.values()])[ev_tp]
    latent = shift + z[ev_cust, ev_tp] + rng.normal(0.0, EVENT_RATING_NOISE, ev_tp.size)
    return np.where(asked, _to_rating(latent), np.nan)


def _truth(seed, n, n_resp, journey_effect, response_rate, reach, churn_rate):
    centers = _centers()
    tps = _tp_ids()
    r4 = lambda x: round(float(x), 4)  # noqa: E731
    return {
        "seed": int(seed),
        "customers": int(n),
        "respondents": int(n_resp),
        "response_rate": r4(response_rate),
        "journey_effect": r4(journey_effect),
        "intercept": INTERCEPT,
        "noise_sd": NOISE_SD,
        "halo": HALO,
        "rho_within": RHO_WITHIN,
        "plan_effects": dict(PLAN_EFFECTS),
        "touchpoint_effects": {tp: TOUCHPOINTS[tp][5] for tp in tps},
        "touchpoint_centers": {tp: r4(c) for tp, c in zip(tps, centers)},
        "touchpoint_shifts": {tp: TOUCHPOINTS[tp][4] for tp in tps},
        "touchpoint_journey": {tp: TOUCHPOINTS[tp][3] for tp in tps},
        "reach": {tp: r4(x) for tp, x in zip(tps, reach)},
        "journey_probabilities": {j: p for j, (_, p) in JOURNEYS.items()},
        "second_support_probability": SECOND_SUPPORT,
        "journey_rating": {"u_weight": JOURNEY_RATING_U, "noise_sd": JOURNEY_RATING_NOISE},
        "rating_cuts": [float(c) for c in CUTS],
        "item_nonresponse": ITEM_NONRESPONSE,
        "na_code": NA_CODE,
        "churn_model": {**CHURN, "latent": "loyalty latent without the LTR noise",
                        "observed_rate": r4(churn_rate)},
        "osat_model": dict(OSAT),
        "retention_model": dict(STAY),
        "revenue_model": {"median": dict(REVENUE["median"]), "sigma": REVENUE["sigma"],
                          "loyalty_slope": REVENUE["loyalty_slope"],
                          "center": REVENUE["center"]},
        "region_population_shares": {r: p for r, (_, p) in REGIONS.items()},
        "description": (
            "LTR = clip(round(intercept + sum_t beta_t*(r_t - center_t)*met_t + journey_effect*"
            "sum_j u_j*had_j + plan_effect + N(0, noise_sd^2)), 0, 10). r_t is the 1-5 rating "
            "of latent z_t = sqrt(halo)*h + sqrt(rho_within)*q_j + sqrt(1-halo-rho_within)*e_t "
            "shifted by touchpoint_shifts[t] and cut at rating_cuts; met_t = the customer has "
            "an event on t. u_j ~ N(0,1) is journey-level experience not carried by touchpoint "
            "ratings; q_j_<journey> = round(mean of the journey's met ratings + "
            "u_weight*u_j + noise). osat, q_stay, churn (logistic) and revenue follow the "
            "loyalty latent (LTR before its noise)."),
    }


def generate(customers: int = 3000, seed: int = 20261122, journey_effect: float = 0.8,
             response_rate: float = 0.8,
             journeys_per_customer: float | None = None) -> SyntheticStudy:
    """Simulate a study with a planted loyalty model.

    Parameters
    ----------
    customers : int, default 3000
        Number of customers (every one has events and outcomes).
    seed : int, default 20261122
        Seed of the one random generator behind every draw.
    journey_effect : float, default 0.8
        LTR points per SD of the journey-level experience ``u_j`` (0: journeys add nothing
        beyond their touchpoints).
    response_rate : float, default 0.8
        Share of customers who answer the survey.
    journeys_per_customer : float, optional
        Mean journeys per customer, for event logs of a given density (about 2.3 events per
        journey: 13 gives some 30 events per customer). Default: the sample's design,
        each journey type at most once (about 6 events per customer).

    Returns
    -------
    SyntheticStudy
        The tables and the truth; identical arguments give identical results.
    """
    _check_args(customers, response_rate, journeys_per_customer)
    rng = np.random.default_rng(seed)
    n = int(customers)
    segs = _customers(rng, n)
    inst_cust, inst_type, had = _journey_instances(rng, n, journeys_per_customer)
    ev_inst, ev_step, ev_tp = _paths(rng, inst_type)
    rel = _relative_times(rng, ev_inst, ev_step, inst_cust.size)
    last_minute = np.zeros(inst_cust.size, dtype=np.int64)
    np.maximum.at(last_minute, ev_inst, rel)
    start_day, inst_order = _start_days(rng, inst_cust, inst_type, last_minute, n)
    ev_cust = inst_cust[ev_inst]
    ev_minute = start_day[ev_inst] * 1440 + rel

    met = np.zeros((n, len(TOUCHPOINTS)), dtype=bool)
    met[ev_cust, ev_tp] = True
    z, extra = _experience(rng, n)
    shifts = np.array([v[4] for v in TOUCHPOINTS.values()])
    ratings = _to_rating(shifts + z).astype(float)
    latent, ltr = _loyalty(rng, ratings, met, had, extra, segs[1], journey_effect)
    osat = _scale_item(rng, latent, OSAT)
    stay = _scale_item(rng, latent, STAY)
    churned, revenue = _outcomes(rng, latent, segs[1])
    jr = _journey_ratings(rng, ratings, met, had, extra)
    ev_rating = _event_ratings(rng, z, ev_cust, ev_tp)

    resp = np.sort(rng.choice(n, size=int(round(response_rate * n)), replace=False))
    blanks = met[resp] & (rng.random((resp.size, len(TOUCHPOINTS))) < ITEM_NONRESPONSE)
    weight = _weights(segs[0][resp])

    cust_ids = _ids("C", np.arange(1, n + 1))
    survey = _survey_frame(resp, cust_ids, segs, weight, ratings, met, blanks, jr, ltr, osat,
                           stay)
    events, journeys = _event_tables(cust_ids, ev_cust, ev_minute, ev_tp, ev_rating, ev_inst,
                                     inst_cust, inst_type, inst_order)
    outcomes = pd.DataFrame({"customer_id": cust_ids, "churned": churned, "revenue": revenue})
    truth = _truth(seed, n, resp.size, journey_effect, response_rate, met.mean(axis=0),
                   churned.mean())
    if journeys_per_customer is not None:
        truth["journeys_per_customer"] = float(journeys_per_customer)
    return SyntheticStudy(survey=survey, touchpoints=_catalog(), events=events,
                          outcomes=outcomes, journeys_truth=journeys, truth=truth)


def _check_args(customers, response_rate, journeys_per_customer=None):
    from cx_helpers.errors import StudyError

    if journeys_per_customer is not None and not 0.0 < float(journeys_per_customer) <= 24.0:
        raise StudyError("journeys per customer must be in (0, 24], not "
                         f"{journeys_per_customer}.",
                         fix="pass e.g. --journeys-per-customer 10 (journeys at least 14 "
                             "days apart fit a year up to about 24).")
    if int(customers) < 1:
        raise StudyError(f"customers must be at least 1, not {customers}.",
                         fix="pass --customers 1000 or more.")
    if not 0.0 < float(response_rate) <= 1.0:
        raise StudyError(f"response_rate must be in (0, 1], not {response_rate}.",
                         fix="pass e.g. --response-rate 0.8.")


def _event_tables(cust_ids, ev_cust, ev_minute, ev_tp, ev_rating, ev_inst, inst_cust, inst_type,
                  inst_order):
    """The event log (sorted by customer and time) and the true journey segmentation."""
    tps = np.array(_tp_ids(), dtype=object)
    channels = np.array([v[2] for v in TOUCHPOINTS.values()], dtype=object)
    order = np.lexsort((ev_minute, ev_cust))
    events = pd.DataFrame({
        "customer_id": cust_ids[ev_cust[order]],
        "timestamp": _timestamps(ev_minute[order]),
        "touchpoint": tps[ev_tp[order]],
        "channel": channels[ev_tp[order]],
        "rating": ev_rating[order],
    })
    n_inst = inst_cust.size
    first = np.full(n_inst, np.iinfo(np.int64).max)
    last = np.full(n_inst, -1)
    np.minimum.at(first, ev_inst, ev_minute)
    np.maximum.at(last, ev_inst, ev_minute)
    count = np.bincount(ev_inst, minlength=n_inst)
    o = inst_order                                    # by customer, then start
    cust = inst_cust[o]
    is_first = np.r_[True, cust[1:] != cust[:-1]]
    idx = np.arange(o.size)
    number = idx - np.maximum.accumulate(np.where(is_first, idx, 0)) + 1
    journeys = pd.DataFrame({
        "customer_id": cust_ids[cust],
        "journey_instance": np.char.add(np.char.add(cust_ids[cust].astype(str), "-"),
                                        number.astype(str)).astype(object),
        "journey_type": np.array(_journey_ids(), dtype=object)[inst_type[o]],
        "start": _timestamps(first[o]),
        "end": _timestamps(last[o]),
        "n_events": count[o],
    })
    return events, journeys


def describe(study: SyntheticStudy) -> dict:
    """Headline figures of a synthetic study (for a quick plausibility check).

    Parameters
    ----------
    study : SyntheticStudy
        A generated study.

    Returns
    -------
    dict
        Events, events per customer and per journey, reach range, LTR mean, NPS, churn rate.
    """
    ltr = study.survey["q_recommend"].to_numpy(dtype=float)
    reach = np.array(list(study.truth["reach"].values()))
    n = study.truth["customers"]
    return {
        "customers": n,
        "respondents": len(study.survey),
        "events": len(study.events),
        "events_per_customer": round(len(study.events) / n, 2),
        "journeys": len(study.journeys_truth),
        "events_per_journey": round(len(study.events) / len(study.journeys_truth), 2),
        "reach_min": round(float(reach.min()), 3),
        "reach_max": round(float(reach.max()), 3),
        "ltr_mean": round(float(ltr.mean()), 2),
        "nps": round(float(100 * ((ltr >= 9).mean() - (ltr <= 6).mean())), 1),
        "churn_rate": round(float(study.outcomes["churned"].mean()), 3),
    }


# --------------------------------------------------------------------------------------------
# files


def _study_config(name: str, seed: int) -> dict:
    scale = [1, 5]
    touchpoints = {tp: {"column": f"q_{tp}", "scale": list(scale)} for tp in TOUCHPOINTS}
    declared = {}
    for j, (label, _) in JOURNEYS.items():
        declared[j] = {"label": label,
                       "touchpoints": [tp for tp, v in TOUCHPOINTS.items() if v[3] == j],
                       "rating": f"q_j_{j}", "scale": list(scale)}
    return {
        "name": name,
        "client": CLIENT,
        "seed": int(seed),
        "min_base": 30,
        "tables": {
            "survey": {"path": "survey.csv", "id": "respondent_id", "customer": "customer_id"},
            "touchpoints": {"path": "touchpoints.csv", "id": "touchpoint", "label": "label",
                            "stage": "stage", "channel": "channel", "type": "type"},
            "events": {"path": "events.csv", "customer": "customer_id", "time": "timestamp",
                       "touchpoint": "touchpoint", "channel": "channel", "rating": "rating",
                       "rating_scale": list(scale)},
            "outcomes": {"path": "outcomes.csv", "customer": "customer_id"},
        },
        "stages": list(STAGES),
        "rating_scale": list(scale),
        "na_codes": [NA_CODE],
        "touchpoints": touchpoints,
        "outcomes": {
            "ltr": {"column": "q_recommend", "kind": "nps", "label": "Likelihood to recommend"},
            "osat": {"column": "q_overall", "kind": "ordinal", "scale": list(scale),
                     "label": "Overall satisfaction"},
            "retention": {"column": "q_stay", "kind": "ordinal", "scale": list(scale),
                          "label": "Intention to stay"},
            "churn": {"table": "outcomes", "column": "churned", "kind": "binary",
                      "label": "Churned"},
            "revenue": {"table": "outcomes", "column": "revenue", "kind": "continuous",
                        "label": "Revenue"},
        },
        "segments": ["region", "plan", "tenure"],
        "weight": "weight",
        "pii": ["email", "full_name"],
        "journeys": {"declared": declared},
    }


def _yaml_text(config: dict, customers: int, journey_effect: float) -> str:
    import yaml

    head = (f"# A synthetic study written by cx_helpers.synth ({customers} customers, journey "
            f"effect {journey_effect}).\n# truth.json holds the planted effects. See "
            "data/README.md for the format.\n")
    return head + yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=100,
                                 allow_unicode=True)


def _int_text(values) -> pd.Series:
    """Integers as text, blank where missing."""
    v = np.asarray(values, dtype=float)
    text = np.nan_to_num(v, nan=0).astype(np.int64).astype(str)
    return pd.Series(np.where(np.isnan(v), "", text), dtype=object)


def _csv_text(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, lineterminator="\n")


def _file_texts(study: SyntheticStudy, name: str, journey_effect: float) -> dict[str, str]:
    """The text of every file the generator writes."""
    survey = study.survey.copy()
    survey["weight"] = survey["weight"].map("{:.4f}".format)
    rating_cols = [c for c in survey.columns if c.startswith("q_")]
    for c in rating_cols:
        survey[c] = _int_text(survey[c].to_numpy())
    events = study.events.copy()
    events["timestamp"] = _iso_series(events["timestamp"])
    events["rating"] = _int_text(events["rating"].to_numpy())
    outcomes = study.outcomes.copy()
    outcomes["revenue"] = outcomes["revenue"].map("{:.2f}".format)
    journeys = study.journeys_truth.copy()
    journeys["start"] = _iso_series(journeys["start"])
    journeys["end"] = _iso_series(journeys["end"])
    return {
        "study.yaml": _yaml_text(_study_config(name, study.truth["seed"]),
                                 study.truth["customers"], journey_effect),
        "survey.csv": _csv_text(survey),
        "touchpoints.csv": _csv_text(study.touchpoints),
        "events.csv": _csv_text(events),
        "outcomes.csv": _csv_text(outcomes),
        "truth.json": json.dumps(study.truth, indent=2) + "\n",
        "truth_journeys.csv": _csv_text(journeys),
    }


def _iso_series(times: pd.Series) -> pd.Series:
    return times.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").astype(object)


def write_study(out, customers: int = 3000, seed: int = 20261122, journey_effect: float = 0.8,
                response_rate: float = 0.8, force: bool = False, shape: str = "sample",
                journeys_per_customer: float | None = None) -> Path:
    """Generate a synthetic study and write it as a study folder.

    Parameters
    ----------
    out : str or Path
        Folder to write (created if missing). Its name becomes the study's name.
    customers, seed, journey_effect, response_rate, journeys_per_customer
        As in :func:`generate`; for the survey-only shapes ``customers`` is the number of
        respondents (see :func:`shape_files`).
    force : bool, default False
        Write into a folder that already holds files. Only the generator's own files
        (``study.yaml``, the CSVs, ``truth.json``) are replaced; other files are left alone.
    shape : str, default "sample"
        A name from :data:`SHAPES`: the design of the study (outcome kind, events, segments,
        weights, journeys, not-applicable codes, a negative driver). ``"sample"`` writes the
        bundled sample's design.

    Returns
    -------
    Path
        The study folder.

    Raises
    ------
    StudyError
        If ``out`` is a file, or a folder holding files and ``force`` is false.
    """
    from cx_helpers.errors import StudyError

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StudyError("is a file, not a folder.", file=out,
                         fix="pass a folder path to --out.")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise StudyError("the folder is not empty; refusing to overwrite it.", file=out,
                         expected="an empty or missing folder",
                         fix="choose another --out, or pass --force to replace the generator's "
                             "own files (other files are kept).")
    texts = shape_files(shape, customers=customers, seed=seed, name=out.resolve().name,
                        journey_effect=journey_effect, response_rate=response_rate,
                        journeys_per_customer=journeys_per_customer)
    out.mkdir(parents=True, exist_ok=True)
    for fname in texts:
        (out / fname).write_text(texts[fname], encoding="utf-8", newline="\n")
    return out


# --------------------------------------------------------------------------------------------
# study shapes


@dataclass(frozen=True)
class Shape:
    """The design of a synthetic study: a small set of orthogonal options.

    Attributes
    ----------
    name : str
        The shape's name (``cx synth --shape NAME``).
    summary : str
        One line saying what real study it stands for.
    world : str
        ``"mobile"`` (the sample's operator, with an event log), ``"airline"`` (14 service
        ratings of a flight) or ``"insurer"`` (10 ratings of a car and home insurer).
    outcome : str
        The main outcome's kind: ``nps`` (0-10), ``ordinal``, ``ordinal-text`` (an ordinal scale
        stored as text labels, mapped by ``values:``), ``binary`` (0/1), ``binary-text`` (text
        codes, the yes codes named by ``positive:``) or ``continuous``.
    survey, events : bool
        Whether the study has a survey (a row per respondent) and an event log.
    segments : str
        ``none``, ``some`` (segments with small or no effects) or ``driving`` (segments whose
        effects on the outcome are larger than any touchpoint's).
    weights : bool
        A survey weight column (post-stratification to known population shares).
    journeys : str
        Declared journeys: ``none``, ``rated`` (with a direct rating of each journey) or
        ``unrated`` (groups of touchpoints only).
    na : str
        Not-applicable ratings: ``structural`` (a whole group of touchpoints applies to some
        respondents only), ``rare`` (a not-applicable code on a few touchpoints, given by the same
        few respondents) or ``none`` (every respondent rates every touchpoint).
    negative_driver : bool
        Whether one touchpoint's planted effect is negative.
    scale : tuple of int
        The touchpoint rating scale.
    """

    name: str
    summary: str
    world: str
    outcome: str
    survey: bool = True
    events: bool = False
    segments: str = "some"
    weights: bool = False
    journeys: str = "none"
    na: str = "structural"
    negative_driver: bool = True
    scale: tuple = (1, 5)

    def options(self) -> dict:
        """The options as a plain dict (as written to ``truth.json``)."""
        return {"world": self.world, "outcome": self.outcome, "survey": self.survey,
                "events": self.events, "segments": self.segments, "weights": self.weights,
                "journeys": self.journeys, "na": self.na,
                "negative_driver": self.negative_driver, "scale": list(self.scale)}


SHAPES = {s.name: s for s in (
    Shape("sample", "the bundled sample: a mobile operator with a survey, an event log, business "
          "outcomes, a 0-10 recommend question, weights and five rated journeys",
          world="mobile", outcome="nps", events=True, segments="some", weights=True,
          journeys="rated", na="structural", negative_driver=False),
    Shape("airline", "an airline's passenger survey: 14 service ratings 1-5 (0 = not applicable, "
          "rare and given by the same passengers), a yes/no satisfaction stored as text, travel "
          "class and purpose driving the outcome, no events, no NPS question",
          world="airline", outcome="binary-text", segments="driving", weights=False,
          journeys="none", na="rare", negative_driver=True),
    Shape("ordinal-survey", "a plain survey: an overall satisfaction scale stored as text labels, "
          "every respondent rates every touchpoint, no segments, no weights, no journeys",
          world="insurer", outcome="ordinal-text", segments="none", weights=False,
          journeys="none", na="none", negative_driver=True),
    Shape("continuous-weighted", "a weighted survey with a continuous loyalty index (0-100), "
          "ratings 1-7, claim touchpoints that only claimants rate, and journeys declared "
          "without a direct rating",
          world="insurer", outcome="continuous", segments="some", weights=True,
          journeys="unrated", na="structural", negative_driver=True, scale=(1, 7)),
    Shape("binary-journeys", "a weighted survey with a 0/1 renewal outcome and declared journeys "
          "rated directly, whose journey-level experience adds to the outcome",
          world="insurer", outcome="binary", segments="some", weights=True, journeys="rated",
          na="structural", negative_driver=True),
    Shape("nps-events", "the mobile operator's survey and event log with its 0-10 recommend "
          "question, but no declared journeys (journeys only from the events)",
          world="mobile", outcome="nps", events=True, segments="some", weights=True,
          journeys="none", na="structural", negative_driver=False),
    Shape("events-only", "an interaction log and a touchpoint catalog only: no survey, no "
          "outcomes", world="mobile", outcome="none", survey=False, events=True,
          segments="none", weights=False, journeys="none", na="none", negative_driver=False),
)}
"""The named study shapes of :func:`write_study` (``cx synth --shape NAME``)."""

# Survey-only worlds ---------------------------------------------------------------------------
# id: (survey column, label, stage, channel, effect, mean in latent SD units)
AIRLINE_ITEMS = {
    "wifi": ("Inflight wifi service", "Inflight wifi service", "inflight", "cabin", 0.5, -0.4),
    "time_convenient": ("Departure/Arrival time convenient", "Departure/arrival time",
                        "booking", "web", 0.05, 0.1),
    "online_booking": ("Ease of Online booking", "Ease of online booking", "booking", "web",
                       0.15, -0.3),
    "gate_location": ("Gate location", "Gate location", "airport", "airport", -0.4, 0.0),
    "food_drink": ("Food and drink", "Food and drink", "inflight", "cabin", 0.05, 0.2),
    "online_boarding": ("Online boarding", "Online boarding", "airport", "app", 0.8, 0.25),
    "seat_comfort": ("Seat comfort", "Seat comfort", "inflight", "cabin", 0.2, 0.45),
    "entertainment": ("Inflight entertainment", "Inflight entertainment", "inflight", "cabin",
                      0.6, 0.35),
    "onboard_service": ("On-board service", "On-board service", "inflight", "cabin", 0.2, 0.4),
    "leg_room": ("Leg room service", "Leg room", "inflight", "cabin", 0.2, 0.35),
    "baggage": ("Baggage handling", "Baggage handling", "arrival", "airport", 0.1, 0.65),
    "checkin": ("Checkin service", "Check-in service", "airport", "airport", 0.25, 0.3),
    "inflight_service": ("Inflight service", "Inflight service", "inflight", "cabin", 0.1, 0.65),
    "cleanliness": ("Cleanliness", "Cleanliness", "inflight", "cabin", 0.15, 0.3),
}
AIRLINE_STAGES = ("booking", "airport", "inflight", "arrival")
AIRLINE_RARE_NA = ("wifi", "time_convenient", "online_booking")
AIRLINE_SEGMENTS = {   # column: {value: (share, effect on the log-odds of satisfied)}
    "Class": {"Eco": (0.45, 0.0), "Eco Plus": (0.08, 0.4), "Business": (0.47, 3.2)},
    "Type of Travel": {"Personal Travel": (0.31, 0.0), "Business travel": (0.69, 2.8)},
}
AIRLINE_INTERCEPT = -4.3      # log-odds of satisfied for a personal-travel Eco passenger
INSURER_ITEMS = {
    "online_quote": ("q_quote", "Online quote", "quote", "web", 0.3, 0.5),
    "agent_call": ("q_agent", "Call with an agent", "quote", "phone", 0.6, 0.3),
    "policy_documents": ("q_documents", "Policy documents", "policy", "email", 0.0, 0.6),
    "app_login": ("q_app", "Logging in to the app", "policy", "app", 0.1, 0.4),
    "claim_report": ("q_claim_report", "Reporting a claim", "claim", "phone", 0.4, 0.1),
    "claim_updates": ("q_claim_updates", "Updates on the claim", "claim", "email", 0.8, -0.2),
    "repair_partner": ("q_repair", "Repair partner", "claim", "partner", 0.2, 0.3),
    "claim_payout": ("q_payout", "Claim payout", "claim", "web", 0.9, 0.0),
    "renewal_notice": ("q_renewal_notice", "Renewal notice", "renewal", "email", 0.05, 0.5),
    "cross_sell": ("q_offers", "Offers of other products", "renewal", "phone", -0.6, 0.2),
}
INSURER_STAGES = ("quote", "policy", "claim", "renewal")
INSURER_CLAIM = ("claim_report", "claim_updates", "repair_partner", "claim_payout")
INSURER_CLAIM_RATE = 0.45
INSURER_JOURNEYS = {
    "buying": ("Buying a policy", ("online_quote", "agent_call", "policy_documents",
                                   "app_login")),
    "claim": ("Making a claim", INSURER_CLAIM),
    "renewal": ("Renewing", ("renewal_notice", "cross_sell")),
}
INSURER_SEGMENTS = {   # region carries no effect; product a small one
    "region": {"North": (0.40, 0.0), "South": (0.25, 0.0), "East": (0.20, 0.0),
               "West": (0.15, 0.0)},
    "product": {"car": (0.6, 0.0), "home": (0.4, 0.3)},
}
INSURER_POPULATION = {"North": 0.30, "South": 0.30, "East": 0.20, "West": 0.20}
ORDINAL_LABELS = ("Very dissatisfied", "Dissatisfied", "Neither satisfied nor dissatisfied",
                  "Satisfied", "Very satisfied")
BINARY_TEXT = ("satisfied", "neutral or dissatisfied")     # (yes, no)
# Latent structure of the survey-only worlds: z = sqrt(halo) h + sqrt(rho) q_stage + rest.
SHAPE_HALO = 0.25
SHAPE_RHO = 0.15
SHAPE_RARE_NA = 0.03          # share of respondents with not applicable on every rare-NA item
SHAPE_SINGLE_NA = 0.004       # and, on each of those items, independently
SHAPE_BLANKS = 0.02           # item nonresponse on structural-NA shapes
SHAPE_JOURNEY_EFFECT = 0.6    # latent units per SD of the journey-level experience (rated)
SHAPE_JOURNEY_RATING = {"u_weight": 0.8, "noise_sd": 0.3}
# outcome kind -> latent to outcome: intercept, units per latent unit, noise
SHAPE_OUTCOMES = {
    "binary": {"intercept": -0.2, "noise": "logistic"},
    "ordinal": {"cuts": [-3.0, -1.6, 0.0, 1.6], "noise": "logistic"},
    "continuous": {"intercept": 62.0, "units": 5.0, "noise_sd": 8.0},
    "nps": {"intercept": 7.5, "units": 1.0, "noise_sd": 1.3},
}


def _shape(shape) -> Shape:
    from cx_helpers.errors import StudyError

    if isinstance(shape, Shape):
        return shape
    if shape not in SHAPES:
        raise StudyError(f"unknown study shape {shape!r}.",
                         expected=f"one of: {', '.join(SHAPES)}",
                         fix="pass one of the named shapes to --shape (README: Study shapes).")
    return SHAPES[shape]


def _sections(shape: Shape, has_segments: bool) -> dict:
    """Which report sections the shape's inputs allow (True) or must be skipped (False)."""
    survey = shape.survey
    return {
        "inventory": True,
        "touchpoint_impact": survey and shape.outcome != "none",
        "nps": survey and shape.outcome == "nps",
        "segments": survey and has_segments,
        "drivers": survey and shape.outcome != "none",
        "events": shape.events,
        "declared_journeys": survey and shape.journeys != "none",
        "journey_ratings": survey and shape.journeys == "rated",
        "journey_comparison": survey and shape.outcome != "none"
                              and (shape.journeys != "none" or shape.events),
    }


def _driver_truth(effects: dict, units: str, outcome: str, kind: str) -> dict:
    """Planted driver effects with signs; the three largest positive ones; the negative ones.

    The top drivers are the largest *positive* effects: a negative driver among positively
    correlated ratings (a halo) has a weak bivariate link to the outcome, so relative importance
    (LMG, Johnson) rightly ranks it below its coefficient's size; its sign is checked instead.
    """
    by_size = sorted(effects, key=lambda t: (-abs(effects[t]), t))
    return {
        "outcome": outcome,
        "kind": kind,
        "units": units,
        "effects": dict(effects),
        "sign": {t: int(np.sign(b)) for t, b in effects.items()},
        "top": [t for t in by_size if effects[t] > 0][:3],
        "negative": [t for t in by_size if effects[t] < 0],
        "null": [t for t in by_size if abs(effects[t]) < 0.1],
    }


def _world(shape: Shape):
    if shape.world == "airline":
        return AIRLINE_ITEMS, AIRLINE_SEGMENTS, {}
    items = dict(INSURER_ITEMS)
    if not shape.negative_driver:
        items["cross_sell"] = items["cross_sell"][:4] + (0.0,) + items["cross_sell"][5:]
    segs = INSURER_SEGMENTS if shape.segments != "none" else {}
    return items, segs, INSURER_JOURNEYS if shape.journeys != "none" else {}


def _survey_shape(shape: Shape, n: int, seed: int) -> tuple[dict, dict, dict]:
    """A survey-only study of ``shape`` (``airline`` or ``insurer`` world): tables and truth.

    The latent-variable model: touchpoint experience ``z_t = sqrt(halo) h + sqrt(rho) q_stage +
    sqrt(1 - halo - rho) e_t``; rating ``r_t = clip(round(mid + spread (m_t + z_t)))`` on the
    shape's scale (``mid`` the scale's middle, ``spread`` a quarter of its range). The outcome's
    latent is ``eta = sum_t beta_t (r_t - c_t) a_t + sum_s effect_s + journey_effect sum_j u_j``
    (``a_t`` = rated, ``c_t`` the mean rating among those who rated ``t``), turned into the
    outcome's kind (logistic noise for binary and ordinal, so ``beta_t`` is a log-odds effect).
    """
    rng = np.random.default_rng(seed)
    items, segments, journeys = _world(shape)
    tps = list(items)
    lo, hi = shape.scale
    mid, spread = (lo + hi) / 2.0, (hi - lo) / 4.0
    stages = list(AIRLINE_STAGES if shape.world == "airline" else INSURER_STAGES)
    stage_idx = np.array([stages.index(v[2]) for v in items.values()])

    seg_idx = {}
    for col, values in segments.items():
        seg_idx[col] = _choice(rng, [s for s, _ in values.values()], n)
    halo = rng.normal(size=n)
    quality = rng.normal(size=(n, len(stages)))
    own = rng.normal(size=(n, len(tps)))
    z = (math.sqrt(SHAPE_HALO) * halo[:, None] + math.sqrt(SHAPE_RHO) * quality[:, stage_idx]
         + math.sqrt(1.0 - SHAPE_HALO - SHAPE_RHO) * own)
    m = np.array([v[5] for v in items.values()])
    ratings = np.clip(np.round(mid + spread * (m + z)), lo, hi)

    # not applicable / blank
    na = np.zeros((n, len(tps)), dtype=bool)
    blank = np.zeros_like(na)
    na_code = 0 if shape.world == "airline" else (99 if hi > 5 else 9)
    claim = None
    if shape.na == "rare":
        cols = [tps.index(t) for t in AIRLINE_RARE_NA]
        group = rng.random(n) < SHAPE_RARE_NA
        single = rng.random((n, len(cols))) < SHAPE_SINGLE_NA
        na[:, cols] = group[:, None] | single
    elif shape.na == "structural":
        claim = rng.random(n) < INSURER_CLAIM_RATE
        cols = [tps.index(t) for t in INSURER_CLAIM]
        na[:, cols] = ~claim[:, None]
        blank = ~na & (rng.random(na.shape) < SHAPE_BLANKS)
    rated = ~na & ~blank
    centers = np.array([ratings[rated[:, k], k].mean() for k in range(len(tps))])

    beta = np.array([v[4] for v in items.values()])
    tp_part = (np.where(rated, ratings - centers, 0.0)) @ beta
    seg_part = np.zeros(n)
    for col, values in segments.items():
        seg_part += np.array([e for _, e in values.values()])[seg_idx[col]]
    # journey-level experience: adds to the outcome only when the survey rates journeys directly
    j_names = list(journeys)
    extra = rng.normal(size=(n, len(j_names)))
    j_had = np.zeros((n, len(j_names)), dtype=bool)
    j_ratings = np.full((n, len(j_names)), np.nan)
    journey_effect = SHAPE_JOURNEY_EFFECT if shape.journeys == "rated" else 0.0
    for k, j in enumerate(j_names):
        cols = [tps.index(t) for t in journeys[j][1]]
        j_had[:, k] = (~na[:, cols]).any(axis=1)
        if shape.journeys == "rated":
            obs = ~na[:, cols]
            mean = (ratings[:, cols] * obs).sum(axis=1) / np.maximum(obs.sum(axis=1), 1)
            raw = (mean + SHAPE_JOURNEY_RATING["u_weight"] * spread * extra[:, k]
                   + rng.normal(0.0, SHAPE_JOURNEY_RATING["noise_sd"], n))
            j_ratings[:, k] = np.where(j_had[:, k], np.clip(np.round(raw), lo, hi), np.nan)
    j_part = journey_effect * (extra * j_had).sum(axis=1)
    eta = tp_part + seg_part + j_part

    kind = shape.outcome.replace("-text", "")
    spec = SHAPE_OUTCOMES[kind]
    if kind == "binary":
        spec = dict(spec, intercept=AIRLINE_INTERCEPT if shape.world == "airline"
                    else spec["intercept"])
        y = (spec["intercept"] + eta + rng.logistic(size=n) > 0).astype(int)
        units = "log-odds per rating point"
    elif kind == "ordinal":
        y = 1 + (eta[:, None] + rng.logistic(size=n)[:, None] > np.array(spec["cuts"])).sum(1)
        units = "log-odds (proportional odds) per rating point"
    elif kind == "continuous":
        y = np.round(spec["intercept"] + spec["units"] * eta
                     + rng.normal(0.0, spec["noise_sd"], n), 2)
        units = "index points per rating point"
    else:
        y = np.clip(np.round(spec["intercept"] + eta + rng.normal(0.0, spec["noise_sd"], n)),
                    0, 10)
        units = "points (0-10) per rating point"
    scale_units = spec.get("units", 1.0)

    weight = None
    if shape.weights:
        region = seg_idx["region"]
        pop = np.array([INSURER_POPULATION[r] for r in segments["region"]])
        share = np.bincount(region, minlength=pop.size) / n
        w = pop[region] / share[region]
        weight = np.round(w / w.mean(), 4)

    # tables ---------------------------------------------------------------------------------
    airline = shape.world == "airline"
    id_col = "id" if airline else "respondent_id"
    survey = {id_col: np.arange(1, n + 1) if airline else _ids("R", np.arange(1, n + 1))}
    for col, values in segments.items():
        survey[col] = np.array(list(values), dtype=object)[seg_idx[col]]
    if weight is not None:
        survey["weight"] = weight
    coded = np.where(na, na_code, ratings)
    coded[blank] = np.nan
    for k, tp in enumerate(tps):
        survey[items[tp][0]] = coded[:, k]
    for k, j in enumerate(j_names):
        if shape.journeys == "rated":
            survey[f"q_j_{j}"] = np.nan_to_num(j_ratings[:, k], nan=na_code)
    if airline:
        out_col, out_label = "satisfaction", "Satisfied with the flight"
    else:
        out_col, out_label = {
            "binary": ("renewed", "Renewed the policy"),
            "ordinal": ("overall_satisfaction", "Overall satisfaction"),
            "continuous": ("loyalty_index", "Loyalty index"),
            "nps": ("recommend", "Likelihood to recommend"),
        }[kind]
    if shape.outcome == "binary-text":
        survey[out_col] = np.where(y == 1, BINARY_TEXT[0], BINARY_TEXT[1]).astype(object)
    elif shape.outcome == "ordinal-text":
        survey[out_col] = np.array(ORDINAL_LABELS, dtype=object)[y - 1]
    else:
        survey[out_col] = y
    survey = pd.DataFrame(survey)

    catalog = pd.DataFrame([{"touchpoint": tp, "label": v[1], "stage": v[2], "channel": v[3]}
                            for tp, v in items.items()])

    # config ---------------------------------------------------------------------------------
    out_name = {"binary": "satisfied" if airline else "renewed", "ordinal": "osat",
                "continuous": "loyalty", "nps": "ltr"}[kind]
    outcome_cfg = {"column": out_col, "kind": kind, "label": out_label}
    if kind == "ordinal":
        outcome_cfg["scale"] = [1, 5]
    if shape.outcome == "binary-text":
        outcome_cfg["positive"] = [BINARY_TEXT[0]]
    if shape.outcome == "ordinal-text":
        outcome_cfg["values"] = {label: k + 1 for k, label in enumerate(ORDINAL_LABELS)}
    config = {
        "name": None,
        "client": ("Skyways (synthetic)" if airline else "Harbour Insurance (synthetic)"),
        "seed": int(seed),
        "min_base": 30,
        "tables": {"survey": {"path": "survey.csv", "id": id_col}},
        "stages": stages,
        "rating_scale": [int(lo), int(hi)],
        "na_codes": [na_code] if shape.na != "none" else [],
    }
    if airline:   # the catalog lives in study.yaml
        config["touchpoints"] = {tp: {"column": v[0], "label": v[1], "stage": v[2],
                                      "channel": v[3]} for tp, v in items.items()}
    else:         # the catalog is a table; study.yaml maps the columns
        config["tables"]["touchpoints"] = {"path": "touchpoints.csv", "id": "touchpoint"}
        config["touchpoints"] = {tp: {"column": v[0]} for tp, v in items.items()}
    if not config["na_codes"]:
        del config["na_codes"]
    config["outcomes"] = {out_name: outcome_cfg}
    if segments:
        config["segments"] = list(segments)
    if weight is not None:
        config["weight"] = "weight"
    if journeys:
        declared = {}
        for j, (label, members) in journeys.items():
            declared[j] = {"label": label, "touchpoints": list(members)}
            if shape.journeys == "rated":
                declared[j]["rating"] = f"q_j_{j}"
        config["journeys"] = {"declared": declared}

    # truth ----------------------------------------------------------------------------------
    r4 = lambda x: round(float(x), 4)  # noqa: E731
    effects = {tp: r4(scale_units * b) for tp, b in zip(tps, beta)}
    var = {"touchpoints": float(np.var(tp_part)), "segments": float(np.var(seg_part)),
           "journeys": float(np.var(j_part))}
    total = sum(var.values())
    na_any = na[:, [tps.index(t) for t in AIRLINE_RARE_NA]] if shape.na == "rare" else None
    truth = {
        "shape": shape.name,
        "options": shape.options(),
        "seed": int(seed),
        "respondents": int(n),
        "main_outcome": out_name,
        "outcome": {"name": out_name, "column": out_col, "kind": kind,
                    "stored_as": "text" if shape.outcome.endswith("-text") else "numbers",
                    "model": {k: v for k, v in spec.items()},
                    "mean": r4(np.mean(y))},
        "drivers": _driver_truth(effects, units, out_name, kind),
        "halo": SHAPE_HALO,
        "rho_stage": SHAPE_RHO,
        "stages": stages,
        "touchpoint_stage": {tp: v[2] for tp, v in items.items()},
        "touchpoint_centers": {tp: r4(c) for tp, c in zip(tps, centers)},
        "touchpoint_means_sd": {tp: float(v[5]) for tp, v in items.items()},
        "segment_effects": {col: {v: r4(scale_units * e) for v, (_, e) in values.items()}
                            for col, values in segments.items()},
        "segment_shares": {col: {v: s for v, (s, _) in values.items()}
                           for col, values in segments.items()},
        "variance_shares": {k: r4(v / total) for k, v in var.items()},
        "journey_effect": r4(scale_units * journey_effect),
        "journeys": {j: list(v[1]) for j, v in journeys.items()},
        "na": {
            "kind": shape.na,
            "code": na_code if shape.na != "none" else None,
            "rates": {tp: r4(na[:, k].mean()) for k, tp in enumerate(tps)},
            "blank_rates": {tp: r4(blank[:, k].mean()) for k, tp in enumerate(tps)},
            "items": (list(AIRLINE_RARE_NA) if shape.na == "rare" else
                      list(INSURER_CLAIM) if shape.na == "structural" else []),
            "co_occurrence": (r4(na_any.all(axis=1).sum() / na_any.any(axis=1).sum())
                              if na_any is not None else None),
        },
        "sections": _sections(shape, bool(segments)),
        "description": _survey_shape.__doc__.split("\n\n")[1].strip().replace("\n    ", " "),
    }
    if shape.outcome == "binary-text":
        truth["outcome"]["codes"] = {BINARY_TEXT[0]: 1, BINARY_TEXT[1]: 0}
    if shape.outcome == "ordinal-text":
        truth["outcome"]["codes"] = {label: k + 1 for k, label in enumerate(ORDINAL_LABELS)}
    if weight is not None:
        truth["weights"] = {"by": "region", "population_shares": dict(INSURER_POPULATION)}
    tables = {"survey": survey}
    if not airline:
        tables["touchpoints"] = catalog
    return tables, config, truth


def _mobile_shape(shape: Shape, customers: int, seed: int, journey_effect: float,
                  response_rate: float, journeys_per_customer=None) -> tuple[dict, dict, dict]:
    """A shape of the mobile operator's world (the full generator): tables, config and truth."""
    study = generate(customers=customers, seed=seed, journey_effect=journey_effect,
                     response_rate=response_rate, journeys_per_customer=journeys_per_customer)
    config = _study_config(None, seed)
    truth = dict(study.truth)
    effects = {tp: TOUCHPOINTS[tp][5] for tp in TOUCHPOINTS}
    tables = {"touchpoints": study.touchpoints, "events": study.events}
    if shape.survey:
        # the 0-10 question and churn from the outcomes table (fewer outcomes: a shorter run)
        survey = study.survey.drop(columns=["q_overall", "q_stay"])
        for name in ("osat", "retention", "revenue"):
            del config["outcomes"][name]
        if shape.journeys == "none":
            survey = survey.drop(columns=[f"q_j_{j}" for j in JOURNEYS])
            del config["journeys"]
        tables.update(survey=survey, outcomes=study.outcomes.drop(columns=["revenue"]))
        for key in ("osat_model", "retention_model", "revenue_model"):
            truth.pop(key)
        truth["main_outcome"] = "ltr"
        truth["drivers"] = _driver_truth(effects, "LTR points per rating point", "ltr", "nps")
        truth["segment_effects"] = {"plan": dict(PLAN_EFFECTS), "region": {r: 0.0 for r in REGIONS},
                                    "tenure": {t: 0.0 for t in TENURES}}
    else:
        for key in ("tables", "touchpoints", "outcomes", "segments", "weight", "pii", "journeys",
                    "rating_scale", "na_codes"):
            config.pop(key, None)
        config["tables"] = {
            "touchpoints": _study_config(None, seed)["tables"]["touchpoints"],
            "events": {k: v for k, v in _study_config(None, seed)["tables"]["events"].items()
                       if k not in ("rating", "rating_scale")}}
        tables["events"] = study.events.drop(columns=["rating"])
        keep = ("seed", "customers", "reach", "journey_probabilities",
                "second_support_probability", "touchpoint_journey")
        truth = {k: truth[k] for k in keep}
        truth["main_outcome"] = None
    tables["truth_journeys"] = study.journeys_truth
    truth = {"shape": shape.name, "options": shape.options(), **truth,
             "sections": _sections(shape, shape.survey and shape.segments != "none")}
    return tables, config, truth


def shape_files(shape, customers: int = 1500, seed: int = 20261122, name: str = "study",
                journey_effect: float = 0.8, response_rate: float = 0.8,
                journeys_per_customer: float | None = None) -> dict[str, str]:
    """The text of every file of a study of the given shape.

    Parameters
    ----------
    shape : str or Shape
        A name from :data:`SHAPES`.
    customers : int, default 1500
        Customers of the mobile world (of whom ``response_rate`` answer the survey), or
        respondents of the survey-only worlds.
    seed : int
        Seed of every draw.
    name : str
        The study's name in ``study.yaml``.
    journey_effect, response_rate, journeys_per_customer
        As in :func:`generate` (mobile world only).

    Returns
    -------
    dict
        File name -> text; identical arguments give identical texts.
    """
    shape = _shape(shape)
    _check_args(customers, response_rate, journeys_per_customer)
    if journeys_per_customer is not None and shape.world != "mobile":
        from cx_helpers.errors import StudyError
        raise StudyError(f"shape '{shape.name}' has no event log: journeys per customer apply "
                         "to the shapes with events.", fix="leave out --journeys-per-customer.")
    if shape.name == "sample":
        study = generate(customers=customers, seed=seed, journey_effect=journey_effect,
                         response_rate=response_rate,
                         journeys_per_customer=journeys_per_customer)
        return _file_texts(study, name, journey_effect)
    if shape.world == "mobile":
        tables, config, truth = _mobile_shape(shape, int(customers), seed, journey_effect,
                                              response_rate, journeys_per_customer)
    else:
        tables, config, truth = _survey_shape(shape, int(customers), seed)
    config["name"] = name
    head = (f"# A synthetic study of shape '{shape.name}' written by cx_helpers.synth: "
            f"{shape.summary}.\n# truth.json holds the planted effects. See data/README.md for "
            "the format.\n")
    import yaml

    texts = {"study.yaml": head + yaml.safe_dump(config, sort_keys=False,
                                                 default_flow_style=None, width=100,
                                                 allow_unicode=True)}
    for key, df in tables.items():
        df = df.copy()
        for col in df.columns:
            if col in ("timestamp", "start", "end"):
                df[col] = _iso_series(df[col])
            elif col == "weight":
                df[col] = df[col].map("{:.4f}".format)
            elif df[col].dtype.kind == "f":
                v = df[col].to_numpy()
                whole = np.isnan(v) | (v == np.round(v))
                df[col] = _int_text(v) if whole.all() else df[col].map("{:.2f}".format)
        texts[f"{key}.csv"] = _csv_text(df)
    texts["truth.json"] = json.dumps(truth, indent=2) + "\n"
    return texts
