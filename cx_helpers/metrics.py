"""CX metrics with honest intervals: NPS, CSAT (top-box and mean), CES, and segment comparisons.

Every metric returns an :class:`Estimate` with ``value``, ``low``, ``high`` and ``n``. Weighted
metrics use Kish's effective sample size, ``n_eff = (sum w)^2 / sum w^2``, in place of ``n`` in
every variance. Each metric can instead give a seeded percentile bootstrap interval
(``interval="bootstrap"``).

Segment tables (:func:`segment_table`) and tests (:func:`compare_segments`) suppress every
segment whose base is under ``min_base``: its estimates are missing and ``suppressed`` is true.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

__all__ = ["Estimate", "adjust_p", "ces", "compare_segments", "csat", "kish_n", "mean", "nps",
           "scale_boxes", "segment_table", "top_box", "welch"]

METRICS = ("nps", "top_box", "mean")
_BOOT_CHUNK = 250


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval.

    Attributes
    ----------
    value, low, high : float
        Estimate and interval bounds.
    n : int
        Number of non-missing observations used.
    n_eff : float
        Effective sample size (equal to ``n`` when unweighted).
    metric : str
        What was estimated.
    """

    value: float
    low: float
    high: float
    n: int
    n_eff: float
    metric: str = ""

    def as_dict(self) -> dict:
        """The estimate as a plain dict (a table row)."""
        return asdict(self)


def _clean(scores, weights):
    x = pd.to_numeric(pd.Series(scores), errors="coerce").to_numpy(dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != x.shape:
        raise ValueError(f"weights has {w.size} values for {x.size} scores.")
    keep = ~np.isnan(x) & ~np.isnan(w)
    x, w = x[keep], w[keep]
    if np.any(w <= 0):
        raise ValueError("weights must be positive.")
    return x, w


def kish_n(weights) -> float:
    """Kish's effective sample size of a set of weights."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (w**2).sum()) if w.size else 0.0


def _z(confidence):
    return stats.norm.ppf(0.5 + confidence / 2)


def scale_boxes(scale, boxes: int | None = None) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The top and bottom boxes of an integer rating scale.

    Parameters
    ----------
    scale : (min, max)
        The scale's end points, e.g. ``(1, 5)``.
    boxes : int, optional
        How many scale points count as the top (and as the bottom) box. Default: 2 on scales of
        up to 7 points; on longer scales the Net Promoter convention carried over: the top box
        is the points above 80 % of the range and the bottom box the points up to 60 % of it
        (0-10: 9-10 satisfied, 0-6 dissatisfied).

    Returns
    -------
    (top, bottom) : tuple of tuples
        ``scale_boxes((1, 5))`` is ``((4, 5), (1, 2))``; ``scale_boxes((0, 10))`` is
        ``((9, 10), (0, 1, 2, 3, 4, 5, 6))``; ``scale_boxes((0, 10), 2)`` is
        ``((9, 10), (0, 1))``.
    """
    lo, hi = int(scale[0]), int(scale[1])
    points = [float(v) for v in range(lo, hi + 1)]
    if boxes is None:
        if len(points) <= 7:
            boxes = 2
        else:
            return (tuple(v for v in points if v > lo + 0.8 * (hi - lo)),
                    tuple(v for v in points if v <= lo + 0.6 * (hi - lo)))
    if boxes < 1 or 2 * boxes > len(points):
        raise ValueError(f"{boxes} boxes do not fit twice on the scale {lo}-{hi}.")
    return tuple(points[-boxes:]), tuple(points[:boxes])


# ----------------------------------------------------------------------------------------------
# statistics shared by the analytic and the bootstrap intervals (vectorised over rows)
# ----------------------------------------------------------------------------------------------

def _stat_nps(x, w):
    total = w.sum(axis=-1)
    return 100 * ((w * (x >= 9)).sum(axis=-1) - (w * (x <= 6)).sum(axis=-1)) / total


def _stat_share(top):
    def share(x, w):
        return (w * np.isin(x, top)).sum(axis=-1) / w.sum(axis=-1)
    return share


def _stat_mean(x, w):
    return (w * x).sum(axis=-1) / w.sum(axis=-1)


def _bootstrap(stat, x, w, n_boot, seed, confidence):
    """Percentile interval of ``stat`` over ``n_boot`` resamples of the rows (seeded)."""
    if n_boot < 10:
        raise ValueError("n_boot must be at least 10.")
    rng = np.random.default_rng(seed)
    values = []
    for start in range(0, n_boot, _BOOT_CHUNK):
        idx = rng.integers(0, x.size, size=(min(_BOOT_CHUNK, n_boot - start), x.size))
        values.append(stat(x[idx], w[idx]))
    values = np.concatenate(values)
    alpha = 1 - confidence
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _check_interval(interval):
    if interval not in ("analytic", "bootstrap"):
        raise ValueError(f"interval must be 'analytic' or 'bootstrap', not {interval!r}.")


def nps(scores, weights=None, confidence=0.95, interval="analytic", n_boot=2000,
        seed=0) -> Estimate:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), on -100..100.

    The analytic interval is the normal approximation with the trinomial variance
    ``(p + d - (p - d)^2) / n`` (``n`` the Kish effective n when weighted).

    Parameters
    ----------
    scores : array-like
        Likelihood-to-recommend answers on 0-10; missing values are ignored.
    weights : array-like, optional
        Survey weights, aligned with ``scores``.
    confidence : float, default 0.95
    interval : {"analytic", "bootstrap"}, default "analytic"
        ``"bootstrap"``: percentile interval over ``n_boot`` resamples of the respondents.
    n_boot : int, default 2000
    seed : int, default 0
        Seed of the bootstrap (the same seed gives the same interval).

    Returns
    -------
    Estimate
    """
    _check_interval(interval)
    x, w = _clean(scores, weights)
    n = x.size
    if n == 0:
        return Estimate(np.nan, np.nan, np.nan, 0, 0.0, "nps")
    n_eff = kish_n(w)
    value = float(_stat_nps(x, w))
    if interval == "bootstrap":
        low, high = _bootstrap(_stat_nps, x, w, n_boot, seed, confidence)
        return Estimate(value, low, high, n, n_eff, "nps")
    p = w[x >= 9].sum() / w.sum()
    d = w[x <= 6].sum() / w.sum()
    half = 100 * _z(confidence) * np.sqrt(_nps_var(p, d) / n_eff)
    return Estimate(value, max(value - half, -100.0), min(value + half, 100.0), n, n_eff, "nps")


def _nps_var(p, d):
    """Variance of one answer's promoter-minus-detractor score (trinomial), on the 0-1 scale."""
    return max(p + d - (p - d) ** 2, 0.0)


def top_box(scores, weights=None, top=(4, 5), confidence=0.95, interval="analytic",
            n_boot=2000, seed=0) -> Estimate:
    """Share of answers in the top box(es), e.g. CSAT top-2-box, with a Wilson interval.

    Parameters
    ----------
    scores : array-like
        Ratings; missing values are ignored.
    weights : array-like, optional
        Survey weights; the Wilson interval then uses the Kish effective n.
    top : sequence, default (4, 5)
        The values that count as the top box (see :func:`scale_boxes` for other scales).
    confidence : float, default 0.95
    interval : {"analytic", "bootstrap"}, default "analytic"
        ``"analytic"`` is Wilson's score interval.
    n_boot : int, default 2000
    seed : int, default 0

    Returns
    -------
    Estimate
        A share in 0..1.
    """
    _check_interval(interval)
    x, w = _clean(scores, weights)
    if x.size == 0:
        return Estimate(np.nan, np.nan, np.nan, 0, 0.0, "top_box")
    stat = _stat_share(np.asarray(top, dtype=float))
    p = float(stat(x, w))
    n_eff = kish_n(w)
    if interval == "bootstrap":
        low, high = _bootstrap(stat, x, w, n_boot, seed, confidence)
        return Estimate(p, low, high, x.size, n_eff, "top_box")
    z = _z(confidence)
    centre = (p + z**2 / (2 * n_eff)) / (1 + z**2 / n_eff)
    half = z / (1 + z**2 / n_eff) * np.sqrt(p * (1 - p) / n_eff + z**2 / (4 * n_eff**2))
    return Estimate(p, max(centre - half, 0.0), min(centre + half, 1.0), x.size, n_eff, "top_box")


def _weighted_var(x, w):
    """Weighted variance with the ``n_eff / (n_eff - 1)`` correction (unweighted: ddof=1)."""
    m = np.average(x, weights=w)
    n_eff = kish_n(w)
    return np.average((x - m) ** 2, weights=w) * n_eff / (n_eff - 1)


def mean(scores, weights=None, confidence=0.95, interval="analytic", n_boot=2000,
         seed=0) -> Estimate:
    """Mean score (CSAT mean, CES) with a t interval (weighted: Kish effective n).

    With weights ``w``, the variance of the mean is ``s_w^2 / n_eff`` with
    ``s_w^2 = sum w (x - m)^2 / sum w * n_eff / (n_eff - 1)`` and ``n_eff - 1`` degrees of
    freedom (the same as statsmodels' ``DescrStatsW`` with the weights scaled to sum to
    ``n_eff``); unweighted it is the textbook t interval.

    Parameters
    ----------
    scores : array-like
        Ratings; missing values are ignored.
    weights : array-like, optional
        Survey weights.
    confidence : float, default 0.95
    interval : {"analytic", "bootstrap"}, default "analytic"
    n_boot : int, default 2000
    seed : int, default 0

    Returns
    -------
    Estimate
    """
    _check_interval(interval)
    x, w = _clean(scores, weights)
    if x.size == 0:
        return Estimate(np.nan, np.nan, np.nan, 0, 0.0, "mean")
    m = float(np.average(x, weights=w))
    n_eff = kish_n(w)
    if x.size < 2:
        return Estimate(m, np.nan, np.nan, x.size, n_eff, "mean")
    if interval == "bootstrap":
        low, high = _bootstrap(_stat_mean, x, w, n_boot, seed, confidence)
        return Estimate(m, low, high, x.size, n_eff, "mean")
    half = stats.t.ppf(0.5 + confidence / 2, max(n_eff - 1, 1)) * np.sqrt(
        _weighted_var(x, w) / n_eff)
    return Estimate(m, m - half, m + half, x.size, n_eff, "mean")


def csat(scores, weights=None, kind="top_box", scale=(1, 5), boxes=None, **kwargs) -> Estimate:
    """Customer satisfaction: top-box share (Wilson interval) or mean (t interval).

    Parameters
    ----------
    scores, weights : array-like
    kind : {"top_box", "mean"}, default "top_box"
    scale : (min, max), default (1, 5)
        The rating scale; the top box is its ``boxes`` highest points.
    boxes : int, optional
        Default: see :func:`scale_boxes` (top-2-box on a 1-5 scale).
    **kwargs
        ``confidence``, ``interval``, ``n_boot``, ``seed`` as in :func:`top_box` / :func:`mean`.

    Returns
    -------
    Estimate
        ``metric`` is ``"csat_top_box"`` or ``"csat_mean"``.
    """
    if kind == "top_box":
        est = top_box(scores, weights, top=scale_boxes(scale, boxes)[0], **kwargs)
    elif kind == "mean":
        est = mean(scores, weights, **kwargs)
    else:
        raise ValueError(f"kind must be 'top_box' or 'mean', not {kind!r}.")
    return Estimate(**{**est.as_dict(), "metric": f"csat_{kind}"})


def ces(scores, weights=None, **kwargs) -> Estimate:
    """Customer Effort Score: the mean effort rating with a t interval (see :func:`mean`)."""
    return Estimate(**{**mean(scores, weights, **kwargs).as_dict(), "metric": "ces"})


# ----------------------------------------------------------------------------------------------
# two-group tests
# ----------------------------------------------------------------------------------------------

def _two_groups(x1, x2, w1, w2):
    """Both groups cleaned, and a test result with every number missing (filled by the caller)."""
    a, b = _clean(x1, w1), _clean(x2, w2)
    return a, b, dict(diff=np.nan, low=np.nan, high=np.nan, statistic=np.nan, df=np.nan,
                      p=np.nan, n1=a[0].size, n2=b[0].size)


def welch(x1, x2, w1=None, w2=None, confidence=0.95) -> dict:
    """Welch's t test and interval for a difference of (weighted) means, ``mean1 - mean2``.

    Each group's variance of the mean is ``s_w^2 / n_eff`` (see :func:`mean`); the degrees of
    freedom follow Welch-Satterthwaite with the effective n. Unweighted, this is
    ``scipy.stats.ttest_ind(x1, x2, equal_var=False)``.

    Returns
    -------
    dict
        ``diff, low, high, statistic, df, p, n1, n2``; missing numbers when a group has fewer
        than two answers.
    """
    (a, wa), (b, wb), out = _two_groups(x1, x2, w1, w2)
    if a.size < 2 or b.size < 2:
        return out
    na, nb = kish_n(wa), kish_n(wb)
    va, vb = _weighted_var(a, wa) / na, _weighted_var(b, wb) / nb
    diff = np.average(a, weights=wa) - np.average(b, weights=wb)
    se = np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    t = diff / se
    half = stats.t.ppf(0.5 + confidence / 2, df) * se
    out.update(diff=diff, low=diff - half, high=diff + half, statistic=t, df=df,
               p=2 * stats.t.sf(abs(t), df))
    return out


def _nps_test(x1, x2, w1, w2, confidence):
    """z test of an NPS difference with trinomial variances (on the -100..100 scale)."""
    (a, wa), (b, wb), out = _two_groups(x1, x2, w1, w2)
    if a.size == 0 or b.size == 0:
        return out
    parts = []
    for x, w in ((a, wa), (b, wb)):
        p, d = w[x >= 9].sum() / w.sum(), w[x <= 6].sum() / w.sum()
        parts.append((p - d, _nps_var(p, d) / kish_n(w)))
    diff = parts[0][0] - parts[1][0]
    se = np.sqrt(parts[0][1] + parts[1][1])
    z = diff / se if se > 0 else np.nan
    half = _z(confidence) * se
    out.update(diff=100 * diff, low=100 * (diff - half), high=100 * (diff + half),
               statistic=z, p=2 * stats.norm.sf(abs(z)) if se > 0 else np.nan)
    return out


def _share_test(x1, x2, w1, w2, top, confidence):
    """Pearson chi-square (1 df, no continuity correction) on the 2x2 table of top-box counts.

    Weighted, the counts are the weighted shares times each group's effective n.
    """
    (a, wa), (b, wb), out = _two_groups(x1, x2, w1, w2)
    if a.size == 0 or b.size == 0:
        return out
    share = _stat_share(np.asarray(top, dtype=float))
    pa, pb = float(share(a, wa)), float(share(b, wb))
    na, nb = kish_n(wa), kish_n(wb)
    table = np.array([[pa * na, (1 - pa) * na], [pb * nb, (1 - pb) * nb]])
    diff = pa - pb
    half = _z(confidence) * np.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
    out.update(diff=diff, low=diff - half, high=diff + half)
    if (table.sum(axis=0) > 0).all():
        res = stats.chi2_contingency(table, correction=False)
        out.update(statistic=res.statistic, df=res.dof, p=res.pvalue)
    return out


_TESTS = {"nps": "z (trinomial)", "top_box": "chi-square", "mean": "Welch t"}


def _estimate(metric, scores, weights, top, **kwargs):
    if metric == "nps":
        return nps(scores, weights, **kwargs)
    if metric == "top_box":
        return top_box(scores, weights, top=top, **kwargs)
    if metric == "mean":
        return mean(scores, weights, **kwargs)
    raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}.")


def _groups(data, score, by, weight):
    if by not in data or score not in data:
        missing = by if by not in data else score
        raise ValueError(f"no column {missing!r} in the data.")
    frame = data[[by, score] + ([weight] if weight else [])].dropna(subset=[by])
    levels = list(pd.unique(frame[by]))
    try:
        levels = sorted(levels)
    except TypeError:
        pass
    return frame, levels


def segment_table(data: pd.DataFrame, score: str, by: str, metric: str = "nps",
                  weight: str | None = None, min_base: int = 30, top=(4, 5),
                  total: bool = True, confidence: float = 0.95, interval: str = "analytic",
                  n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """A metric per segment, with its interval; segments under ``min_base`` are suppressed.

    Parameters
    ----------
    data : DataFrame
        A row per respondent.
    score : str
        The column scored (0-10 for NPS, a rating for top-box and mean).
    by : str
        The segment column.
    metric : {"nps", "top_box", "mean"}, default "nps"
    weight : str, optional
        A weight column (Kish effective n).
    min_base : int, default 30
        A segment with fewer non-missing answers has ``value``, ``low``, ``high`` and
        ``n_eff`` missing and ``suppressed`` true (``n`` is kept: it says why).
    top : sequence, default (4, 5)
        The top box when ``metric="top_box"``.
    total : bool, default True
        Add a first row for everyone (``segment = "(all)"``).
    confidence, interval, n_boot, seed
        As in :func:`nps`.

    Returns
    -------
    DataFrame
        ``by, segment, metric, value, low, high, n, n_eff, suppressed``, a row per segment.
    """
    frame, levels = _groups(data, score, by, weight)
    kw = dict(confidence=confidence, interval=interval, n_boot=n_boot, seed=seed)
    parts = ([("(all)", data)] if total else []) + [(lv, frame[frame[by] == lv]) for lv in levels]
    rows = []
    for level, part in parts:
        est = _estimate(metric, part[score], part[weight] if weight else None, top, **kw)
        row = {"by": by, "segment": str(level), "metric": metric, **{
            k: getattr(est, k) for k in ("value", "low", "high", "n", "n_eff")}}
        row["suppressed"] = est.n < min_base
        if row["suppressed"]:
            row.update(value=np.nan, low=np.nan, high=np.nan, n_eff=np.nan)
        rows.append(row)
    out = pd.DataFrame(rows, columns=["by", "segment", "metric", "value", "low", "high", "n",
                                      "n_eff", "suppressed"])
    return out.astype({"value": float, "low": float, "high": float, "n_eff": float,
                       "n": int, "suppressed": bool})


def compare_segments(data: pd.DataFrame, score: str, by: str, metric: str = "nps",
                     weight: str | None = None, against: str = "rest", min_base: int = 30,
                     top=(4, 5), correction: str = "holm", alpha: float = 0.05,
                     confidence: float = 0.95) -> pd.DataFrame:
    """Significance tests between segments, corrected for multiple comparisons.

    NPS: z test with the trinomial variances; top-box share: Pearson chi-square on the 2x2
    table; mean: Welch's t test. Weighted, each group's effective n replaces its n.

    Parameters
    ----------
    data : DataFrame
        A row per respondent.
    score, by, metric, weight, top
        As in :func:`segment_table`.
    against : {"rest", "pairwise"}, default "rest"
        Each segment against all the other respondents, or every pair of segments.
    min_base : int, default 30
        A comparison with a side under ``min_base`` answers is not made: its numbers are
        missing, ``suppressed`` is true, and it is left out of the correction.
    correction : str, default "holm"
        A method of ``statsmodels.stats.multitest.multipletests`` ("holm", "bonferroni",
        "fdr_bh"...), applied over the comparisons made; ``"none"`` for no correction.
    alpha : float, default 0.05
        ``significant`` is ``p_adjusted < alpha``.
    confidence : float, default 0.95
        Of the interval on the difference (normal for NPS and shares, Welch t for means).

    Returns
    -------
    DataFrame
        ``by, segment, other, metric, test, diff, low, high, statistic, df, p, p_adjusted,
        significant, n1, n2, suppressed``; ``diff`` is segment minus other (NPS points, share,
        or scale points).
    """
    if against not in ("rest", "pairwise"):
        raise ValueError(f"against must be 'rest' or 'pairwise', not {against!r}.")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}.")
    frame, levels = _groups(data, score, by, weight)
    if against == "rest":
        pairs = [(lv, "(rest)", frame[by] == lv, frame[by] != lv) for lv in levels]
    else:
        pairs = [(a, b, frame[by] == a, frame[by] == b) for a, b in combinations(levels, 2)]
    rows = []
    for a, b, ma, mb in pairs:
        x1, x2 = frame.loc[ma, score], frame.loc[mb, score]
        w1 = frame.loc[ma, weight] if weight else None
        w2 = frame.loc[mb, weight] if weight else None
        if metric == "nps":
            res = _nps_test(x1, x2, w1, w2, confidence)
        elif metric == "top_box":
            res = _share_test(x1, x2, w1, w2, top, confidence)
        else:
            res = welch(x1, x2, w1, w2, confidence)
        suppressed = min(res["n1"], res["n2"]) < min_base
        if suppressed:
            res.update(diff=np.nan, low=np.nan, high=np.nan, statistic=np.nan, df=np.nan,
                       p=np.nan)
        rows.append({"by": by, "segment": str(a), "other": str(b), "metric": metric,
                     "test": _TESTS[metric], **res, "suppressed": suppressed})
    cols = ["by", "segment", "other", "metric", "test", "diff", "low", "high", "statistic", "df",
            "p", "p_adjusted", "significant", "n1", "n2", "suppressed"]
    out = pd.DataFrame(rows, columns=[c for c in cols if c not in ("p_adjusted", "significant")])
    out["p_adjusted"] = adjust_p(out["p"], correction)
    out["significant"] = (out["p_adjusted"] < alpha).astype(bool)
    return out[cols].astype({"diff": float, "low": float, "high": float, "statistic": float,
                             "df": float, "p": float, "suppressed": bool})


def adjust_p(p, method: str = "holm") -> np.ndarray:
    """Multiple-comparison adjusted p values (missing p values stay missing, not counted).

    Parameters
    ----------
    p : array-like
    method : str, default "holm"
        A ``statsmodels.stats.multitest.multipletests`` method, or ``"none"``.
    """
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = p[ok] if method == "none" else multipletests(p[ok], method=method)[1]
    return out
