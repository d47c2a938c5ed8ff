"""CX metrics with honest intervals: NPS, CSAT (top-box and mean), CES, and segment comparisons.

Every metric returns an :class:`Estimate` with ``value``, ``low``, ``high`` and ``n``. Weighted
shares and means use Kish's effective sample size, ``n_eff = (sum w)^2 / sum w^2``, in place of
``n`` in every variance; the weighted NPS uses the linearisation (ratio-estimator) variance.
Each metric can instead give a seeded percentile bootstrap interval (``interval="bootstrap"``).

Segment tables (:func:`segment_table`) and tests (:func:`compare_segments`) suppress every
segment whose base is under ``min_base``: its estimates are missing and ``suppressed`` is true.
:func:`segment_analysis` does both for every outcome of a study and segment variable at once, and
:func:`adjust_family` corrects all of its tests as one family.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

__all__ = ["Estimate", "adjust_family", "adjust_p", "ces", "compare_segments", "csat",
           "estimate_text", "kish_n", "mean", "nps", "outcome_metric", "outcome_table",
           "in_box", "scale_boxes", "segment_analysis", "segment_table", "segment_view", "top_box",
           "value_text", "welch"]

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

    Examples
    --------
    >>> from cx_helpers.metrics import Estimate
    >>> est = Estimate(9.2, 6.0, 12.4, n=2400, n_eff=2400.0, metric="nps")
    >>> est.as_dict()
    {'value': 9.2, 'low': 6.0, 'high': 12.4, 'n': 2400, 'n_eff': 2400.0, 'metric': 'nps'}
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
    """Kish's effective sample size of a set of weights, ``(sum w)^2 / sum w^2``.

    Examples
    --------
    >>> from cx_helpers.metrics import kish_n
    >>> kish_n([1, 1, 1, 1])
    4.0
    >>> kish_n([1, 1, 2, 2])      # unequal weights carry less information than 4 equal ones
    3.6
    """
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

    Examples
    --------
    >>> from cx_helpers.metrics import scale_boxes
    >>> scale_boxes((1, 5))
    ((4.0, 5.0), (1.0, 2.0))
    >>> top, bottom = scale_boxes((0, 10))
    >>> top
    (9.0, 10.0)
    >>> bottom
    (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
    >>> scale_boxes((1, 7), boxes=3)
    ((5.0, 6.0, 7.0), (1.0, 2.0, 3.0))
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


def in_box(x, box) -> np.ndarray:
    """Whether each value lies in a box: the range from the box's lowest to its highest point.

    Boxes are runs of scale points, so a range rather than a list: on a scale stored in other
    units (0-100 in steps of 100/9, say) a value between two of the listed points still counts.
    Missing values are in no box.

    Examples
    --------
    >>> from cx_helpers.metrics import in_box
    >>> in_box([3, 4, 4.5, 5, None], (4, 5)).tolist()
    [False, True, True, True, False]
    """
    x = np.asarray(x, dtype=float)
    with np.errstate(invalid="ignore"):
        return (x >= min(box)) & (x <= max(box))


def _stat_share(top):
    def share(x, w):
        return (w * in_box(x, top)).sum(axis=-1) / w.sum(axis=-1)
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

    The analytic interval is the adjusted Wald interval for the trinomial difference (Rocks,
    2016, *The American Statistician* 70(3)): add 3/4 of an answer to the promoters and to the
    detractors and 3 to the base, then use the trinomial variance ``(p + d - (p - d)^2) / n`` at
    the adjusted shares. It keeps its level at small bases and extreme scores, where the plain
    Wald interval (``interval="wald"``) covers less than it says (``tests/test_metrics.py``
    measures both by simulation).

    With weights, ``n`` is the effective n of the linearisation variance: the variance of the
    weighted mean of the +1/0/-1 scores, ``sum w_i^2 (s_i - NPS)^2 / (sum w)^2`` (the ratio
    estimator's Taylor variance), expressed as the base a simple random sample would need for
    it. Unlike Kish's effective n, it grows the interval when the up-weighted respondents are
    the more variable ones. Unweighted, it is ``n``.

    Parameters
    ----------
    scores : array-like
        Likelihood-to-recommend answers on 0-10; missing values are ignored.
    weights : array-like, optional
        Survey weights, aligned with ``scores``.
    confidence : float, default 0.95
    interval : {"analytic", "wald", "bootstrap"}, default "analytic"
        ``"analytic"``: adjusted Wald; ``"wald"``: the plain normal interval around the
        estimate (same variance, no adjustment); ``"bootstrap"``: percentile interval over
        ``n_boot`` resamples of the respondents.
    n_boot : int, default 2000
    seed : int, default 0
        Seed of the bootstrap (the same seed gives the same interval).

    Returns
    -------
    Estimate
        ``n_eff`` is the effective n of the variance (see above).

    Examples
    --------
    Five promoters (9-10) and three detractors (0-6) among ten answers:

    >>> from cx_helpers import metrics
    >>> scores = [10, 9, 9, 8, 7, 6, 3, 10, 9, 5]
    >>> est = metrics.nps(scores)
    >>> est.value, est.n
    (20.0, 10)
    >>> print(f"{est.value:+.1f} (95 % CI {est.low:+.1f} to {est.high:+.1f})")
    +20.0 (95 % CI -30.3 to +61.1)

    The seeded bootstrap gives the same interval for the same seed:

    >>> boot = metrics.nps(scores, interval="bootstrap", n_boot=1000, seed=1)
    >>> print(f"{boot.low:+.1f} to {boot.high:+.1f}")
    -40.0 to +70.0

    Weighted, promoters weigh 9 and detractors 3 of 14:

    >>> w = [3, 3, 1, 1, 1, 1, 1, 1, 1, 1]
    >>> est = metrics.nps(scores, weights=w)
    >>> print(f"{est.value:+.1f}, n = {est.n}, n_eff = {est.n_eff:.1f}")
    +42.9, n = 10, n_eff = 9.9
    """
    if interval != "wald":
        _check_interval(interval)
    x, w = _clean(scores, weights)
    n = x.size
    if n == 0:
        return Estimate(np.nan, np.nan, np.nan, 0, 0.0, "nps")
    p, d, var_mean = _nps_parts(x, w)
    n_eff = _nps_eff_n(p, d, var_mean, w)
    value = float(_stat_nps(x, w))
    if interval == "bootstrap":
        low, high = _bootstrap(_stat_nps, x, w, n_boot, seed, confidence)
        return Estimate(value, low, high, n, n_eff, "nps")
    z = _z(confidence)
    if interval == "wald":
        centre, half = value, 100 * z * np.sqrt(var_mean)
    else:
        base = n_eff + 3
        pa, da = (p * n_eff + 0.75) / base, (d * n_eff + 0.75) / base
        centre, half = 100 * (pa - da), 100 * z * np.sqrt(_nps_var(pa, da) / base)
    return Estimate(value, max(centre - half, -100.0), min(centre + half, 100.0), n, n_eff, "nps")


def _nps_var(p, d):
    """Variance of one answer's promoter-minus-detractor score (trinomial), on the 0-1 scale."""
    return max(p + d - (p - d) ** 2, 0.0)


def _nps_parts(x, w):
    """Weighted promoter and detractor shares and the linearisation variance of their difference.

    The variance is ``sum w_i^2 (s_i - m)^2 / (sum w)^2`` with ``s`` the +1/0/-1 scores and
    ``m`` their weighted mean; unweighted it is the trinomial ``(p + d - (p - d)^2) / n``.
    """
    s = np.where(x >= 9, 1.0, np.where(x <= 6, -1.0, 0.0))
    total = w.sum()
    p, d = w[s > 0].sum() / total, w[s < 0].sum() / total
    m = p - d
    return p, d, float(((w * (s - m)) ** 2).sum() / total**2)


def _nps_eff_n(p, d, var_mean, w):
    """The base a simple random sample needs for ``var_mean`` (Kish's n for a constant score)."""
    v1 = _nps_var(p, d)
    return float(v1 / var_mean) if var_mean > 0 and v1 > 0 else kish_n(w)


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

    Examples
    --------
    >>> from cx_helpers.metrics import top_box
    >>> est = top_box([5, 4, 4, 3, 2, 5, 1, 4])      # 5 of 8 answers are 4 or 5
    >>> print(f"{est.value:.3f} (95 % CI {est.low:.3f} to {est.high:.3f}), n = {est.n}")
    0.625 (95 % CI 0.306 to 0.863), n = 8
    >>> top_box([10, 9, 8, 3], top=(9, 10)).value     # on 0-10, the top box is 9-10
    0.5
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

    Examples
    --------
    >>> from cx_helpers.metrics import mean
    >>> est = mean([5, 4, 4, 3, 2, 5, 1, 4])
    >>> print(f"{est.value:.2f} (95 % CI {est.low:.2f} to {est.high:.2f})")
    3.50 (95 % CI 2.32 to 4.68)
    >>> est = mean([5, 4, 4, 3, 2, 5, 1, 4], weights=[1, 1, 1, 1, 1, 1, 1, 5])
    >>> print(f"{est.value:.2f}, n = {est.n}, n_eff = {est.n_eff:.2f}")    # 44 / 12; 12^2 / 32
    3.67, n = 8, n_eff = 4.50
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

    Examples
    --------
    >>> from cx_helpers.metrics import csat
    >>> scores = [5, 4, 4, 3, 2, 5, 1, 4]
    >>> est = csat(scores)
    >>> est.metric, est.value
    ('csat_top_box', 0.625)
    >>> csat(scores, kind="mean").value
    3.5
    >>> csat([7, 6, 5, 2, 1, 6], scale=(1, 7)).value    # top-2-box on 1-7: 6 or 7
    0.5
    """
    if kind == "top_box":
        est = top_box(scores, weights, top=scale_boxes(scale, boxes)[0], **kwargs)
    elif kind == "mean":
        est = mean(scores, weights, **kwargs)
    else:
        raise ValueError(f"kind must be 'top_box' or 'mean', not {kind!r}.")
    return Estimate(**{**est.as_dict(), "metric": f"csat_{kind}"})


def ces(scores, weights=None, **kwargs) -> Estimate:
    """Customer Effort Score: the mean effort rating with a t interval (see :func:`mean`).

    Examples
    --------
    >>> from cx_helpers.metrics import ces
    >>> est = ces([2, 3, 1, 2, 4, 2])
    >>> print(f"{est.metric}: {est.value:.2f} (95 % CI {est.low:.2f} to {est.high:.2f})")
    ces: 2.33 (95 % CI 1.25 to 3.42)
    """
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

    Examples
    --------
    >>> from cx_helpers.metrics import welch
    >>> res = welch([4, 5, 3, 4, 5], [2, 3, 3, 2, 4])
    >>> print(f"diff {res['diff']:.1f} ({res['low']:.2f} to {res['high']:.2f}), "
    ...       f"t = {res['statistic']:.2f}, df = {res['df']:.0f}, p = {res['p']:.4f}")
    diff 1.4 (0.18 to 2.62), t = 2.65, df = 8, p = 0.0294
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
    """z test of an NPS difference (on the -100..100 scale).

    Each group's variance is the linearisation variance of :func:`nps` (unweighted: the
    trinomial ``(p + d - (p - d)^2) / n``).
    """
    (a, wa), (b, wb), out = _two_groups(x1, x2, w1, w2)
    if a.size == 0 or b.size == 0:
        return out
    parts = []
    for x, w in ((a, wa), (b, wb)):
        p, d, var_mean = _nps_parts(x, w)
        parts.append((p - d, var_mean))
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


def _groups(data, score, by, weights):
    if by not in data or score not in data:
        missing = by if by not in data else score
        raise ValueError(f"no column {missing!r} in the data.")
    frame = data[[by, score] + ([weights] if weights else [])].dropna(subset=[by])
    levels = list(pd.unique(frame[by]))
    try:
        levels = sorted(levels)
    except TypeError:
        pass
    return frame, levels


def segment_table(data: pd.DataFrame, score: str, by: str, metric: str = "nps",
                  weights: str | None = None, min_base: int = 30, top=(4, 5),
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
    weights : str, optional
        The column of the survey weights (their Kish effective n is used).
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

    Examples
    --------
    >>> import pandas as pd
    >>> from cx_helpers.metrics import segment_table
    >>> df = pd.DataFrame({"plan": ["prepaid"] * 6 + ["contract"] * 4,
    ...                    "ltr": [10, 9, 9, 8, 7, 6, 3, 10, 9, 5]})
    >>> t = segment_table(df, "ltr", by="plan", min_base=5)
    >>> print(t[["segment", "value", "n", "suppressed"]].round(1).to_string(index=False))
     segment  value  n  suppressed
       (all)   20.0 10       False
    contract    NaN  4        True
     prepaid   33.3  6       False
    """
    frame, levels = _groups(data, score, by, weights)
    kw = dict(confidence=confidence, interval=interval, n_boot=n_boot, seed=seed)
    parts = ([("(all)", data)] if total else []) + [(lv, frame[frame[by] == lv]) for lv in levels]
    rows = []
    for level, part in parts:
        est = _estimate(metric, part[score], part[weights] if weights else None, top, **kw)
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
                     weights: str | None = None, against: str = "rest", min_base: int = 30,
                     top=(4, 5), correction: str = "holm", alpha: float = 0.05,
                     confidence: float = 0.95) -> pd.DataFrame:
    """Significance tests between segments, corrected for multiple comparisons.

    NPS: z test with the trinomial variances; top-box share: Pearson chi-square on the 2x2
    table; mean: Welch's t test. Weighted, each group's effective n replaces its n.

    Parameters
    ----------
    data : DataFrame
        A row per respondent.
    score, by, metric, weights, top
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

    Examples
    --------
    >>> import pandas as pd
    >>> from cx_helpers.metrics import compare_segments
    >>> df = pd.DataFrame({"region": ["north"] * 5 + ["south"] * 5,
    ...                    "sat": [5, 5, 4, 5, 4, 2, 3, 3, 2, 4]})
    >>> res = compare_segments(df, "sat", by="region", metric="mean", min_base=5)
    >>> print(res[["segment", "other", "test", "diff", "p", "p_adjusted"]].round(4)
    ...       .to_string(index=False))
    segment  other    test  diff      p  p_adjusted
      north (rest) Welch t   1.8 0.0052      0.0104
      south (rest) Welch t  -1.8 0.0052      0.0104
    """
    if against not in ("rest", "pairwise"):
        raise ValueError(f"against must be 'rest' or 'pairwise', not {against!r}.")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}.")
    frame, levels = _groups(data, score, by, weights)
    if against == "rest":
        pairs = [(lv, "(rest)", frame[by] == lv, frame[by] != lv) for lv in levels]
    else:
        pairs = [(a, b, frame[by] == a, frame[by] == b) for a, b in combinations(levels, 2)]
    rows = []
    for a, b, ma, mb in pairs:
        x1, x2 = frame.loc[ma, score], frame.loc[mb, score]
        w1 = frame.loc[ma, weights] if weights else None
        w2 = frame.loc[mb, weights] if weights else None
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
        A ``statsmodels.stats.multitest.multipletests`` method, or ``"none"``. Holm's step-down
        adjustment, ``max_{j <= i} min(1, (m - j + 1) p_(j))`` over the sorted p-values, is
        computed here directly (statsmodels' version runs a full garbage collection on every
        call, which dominates simulations); it equals statsmodels' (tested).

    Returns
    -------
    ndarray
        The adjusted p-values, in the order given.

    Examples
    --------
    >>> from cx_helpers.metrics import adjust_p
    >>> adjust_p([0.01, 0.04, 0.03, None]).round(3).tolist()    # Holm over the three tests
    [0.03, 0.06, 0.06, nan]
    >>> adjust_p([0.01, 0.04, 0.03], "bonferroni").round(3).tolist()
    [0.03, 0.12, 0.09]
    """
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if not ok.any():
        return out
    if method == "none":
        out[ok] = p[ok]
    elif method == "holm":
        q = p[ok]
        order = np.argsort(q, kind="stable")
        steps = np.minimum(1.0, (q.size - np.arange(q.size)) * q[order])
        adjusted = np.empty_like(q)
        adjusted[order] = np.maximum.accumulate(steps)
        out[ok] = adjusted
    else:
        out[ok] = multipletests(p[ok], method=method)[1]
    return out


def adjust_family(tests: pd.DataFrame, method: str = "holm", alpha: float = 0.05,
                  p: str = "p") -> pd.DataFrame:
    """Adjust every p-value of a table of tests as ONE family.

    A report that tests several segment variables (and several outcomes) makes one decision
    per test; correcting within each variable separately lets the chance of at least one false
    "significant" difference grow with the number of variables (three variables of four
    segments, each Holm-corrected at 5 %, give about 12.5 % under a global null). Adjusting all
    the tests together keeps that familywise error at ``alpha`` (Holm: under any dependence
    between the tests).

    Parameters
    ----------
    tests : DataFrame
        Tests with a p-value column (e.g. the concatenated output of :func:`compare_segments`
        over every outcome and segment variable). Missing p-values (suppressed comparisons) are
        not tests: they stay missing and do not count in the family.
    method : str, default "holm"
        A ``statsmodels.stats.multitest.multipletests`` method, or ``"none"``.
    alpha : float, default 0.05
    p : str, default "p"
        The column of raw p-values.

    Returns
    -------
    DataFrame
        A copy with ``p_adjusted`` and ``significant`` (``p_adjusted < alpha``) replaced, and
        ``family_size`` (the number of tests adjusted together, the same on every row) and
        ``correction`` (the method) added.

    Examples
    --------
    Four tests from two segment variables, one of them suppressed (no p-value):

    >>> import pandas as pd
    >>> from cx_helpers.metrics import adjust_family
    >>> tests = pd.DataFrame({"by": ["plan", "plan", "region", "region"],
    ...                       "segment": ["prepaid", "contract", "north", "south"],
    ...                       "p": [0.004, 0.03, 0.02, None]})
    >>> out = adjust_family(tests)
    >>> print(out[["by", "segment", "p_adjusted", "significant", "family_size"]]
    ...       .to_string(index=False))
        by  segment  p_adjusted  significant  family_size
      plan  prepaid       0.012         True            3
      plan contract       0.040         True            3
    region    north       0.040         True            3
    region    south         NaN        False            3
    """
    if p not in tests:
        raise ValueError(f"adjust_family(): no column {p!r} of p-values in the tests table.")
    out = tests.copy()
    out["p_adjusted"] = adjust_p(out[p], method)
    out["significant"] = (out["p_adjusted"] < alpha).astype(bool)
    out["family_size"] = int(out[p].notna().sum())
    out["correction"] = method
    return out


def outcome_metric(kind: str, scale=None, boxes: int | None = None) -> dict:
    """How an outcome of a given kind is summarised by segment.

    Parameters
    ----------
    kind : {"nps", "ordinal", "binary", "continuous"}
        The outcome's kind (``study.yaml``).
    scale : (min, max), optional
        The rating scale of an ordinal outcome.
    boxes : int, optional
        Scale points in the top box (see :func:`scale_boxes`).

    Returns
    -------
    dict
        ``metric`` (``"nps"``, ``"top_box"`` or ``"mean"``), ``top`` (the values that count
        as the top box, or ``None``), ``name`` (what the value is, for a heading: "NPS",
        "top-2-box share (4-5)", "share yes", "mean") and ``unit`` (``"points"``,
        ``"share"`` or ``"mean"``).

    Examples
    --------
    >>> from cx_helpers.metrics import outcome_metric
    >>> outcome_metric("ordinal", scale=(1, 5))
    {'metric': 'top_box', 'top': (4.0, 5.0), 'name': 'top-2-box share (4-5)', 'unit': 'share'}
    >>> outcome_metric("binary")["name"], outcome_metric("nps")["unit"]
    ('share yes', 'points')
    """
    if kind == "nps":
        return dict(metric="nps", top=None, name="NPS", unit="points")
    if kind == "binary":
        return dict(metric="top_box", top=(1.0,), name="share yes", unit="share")
    if kind == "ordinal":
        if scale is None:
            raise ValueError("an ordinal outcome needs its scale for the top box.")
        top = scale_boxes(scale, boxes)[0]
        span = f"{top[0]:g}-{top[-1]:g}" if len(top) > 1 else f"{top[0]:g}"
        return dict(metric="top_box", top=top, name=f"top-{len(top)}-box share ({span})",
                    unit="share")
    if kind == "continuous":
        return dict(metric="mean", top=None, name="mean", unit="mean")
    raise ValueError(f"kind must be nps, ordinal, binary or continuous, not {kind!r}.")


SEGMENT_COLUMNS = ["outcome", "outcome_label", "kind", "measure", "by", "segment", "metric",
                   "value", "low", "high", "n", "n_eff", "suppressed"]


def segment_analysis(data: pd.DataFrame, outcomes, segments, weights: str | None = None,
                     min_base: int = 30, boxes: int | None = None, against: str = "rest",
                     correction: str = "holm", alpha: float = 0.05,
                     confidence: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every outcome by every segment variable, with intervals and tests corrected as one family.

    Each outcome is summarised by its kind (:func:`outcome_metric`): NPS for a 0-10
    likelihood to recommend (adjusted Wald interval), the top-box share of an ordinal outcome
    and the share of "yes" of a binary one (Wilson intervals), the mean of a continuous one (t
    interval). Each segment is tested against the rest (z test for NPS, chi-square for shares,
    Welch t for means), and all the tests of all outcomes and segment variables are adjusted
    together (:func:`adjust_family`).

    Parameters
    ----------
    data : DataFrame
        A row per respondent with the outcome and segment columns (``Study.respondents``).
    outcomes : iterable
        Outcome specifications with ``name``, ``kind``, ``scale`` and ``label`` attributes
        (:class:`cx_helpers.study.Outcome`). Outcomes absent from ``data`` or without any
        answer are left out.
    segments : list of str
        Segment columns; a column with fewer than two values is left out (a ``--by`` run).
    weights : str, optional
    min_base : int, default 30
        Segments and comparisons under it are suppressed and not tested.
    boxes : int, optional
        Top-box size of ordinal outcomes.
    against, correction, alpha, confidence
        As in :func:`compare_segments`; ``correction`` is applied over the whole family.

    Returns
    -------
    (table, tests) : tuple of DataFrames
        ``table``: :data:`SEGMENT_COLUMNS`, a row per outcome, segment variable and segment
        (with an ``(all)`` row per variable). ``tests``: ``outcome, outcome_label, measure``
        then the columns of :func:`compare_segments`, ``family_size`` and ``correction``.

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> from cx_helpers.metrics import segment_analysis
    >>> df = pd.DataFrame({"region": ["north"] * 5 + ["south"] * 5,
    ...                    "stay": [1, 1, 1, 0, 1, 0, 0, 1, 0, 0]})
    >>> stay = SimpleNamespace(name="stay", kind="binary", scale=None, label="Intends to stay")
    >>> table, tests = segment_analysis(df, [stay], ["region"], min_base=5)
    >>> print(table[["segment", "measure", "value", "n"]].to_string(index=False))
    segment   measure  value  n
      (all) share yes    0.5 10
      north share yes    0.8  5
      south share yes    0.2  5
    >>> print(tests[["segment", "other", "test", "family_size"]].to_string(index=False))
    segment  other       test  family_size
      north (rest) chi-square            2
      south (rest) chi-square            2
    """
    tables, tests = [], []
    for spec in outcomes:
        if spec.name not in data or data[spec.name].notna().sum() == 0:
            continue
        how = outcome_metric(spec.kind, spec.scale, boxes)
        top = how["top"] if how["top"] is not None else (4, 5)
        head = dict(outcome=spec.name, outcome_label=spec.label, kind=spec.kind,
                    measure=how["name"])
        for by in segments:
            if by not in data or data[by].nunique() < 2:
                continue
            t = segment_table(data, spec.name, by, metric=how["metric"], weights=weights,
                              min_base=min_base, top=top, confidence=confidence)
            tables.append(t.assign(**head))
            c = compare_segments(data, spec.name, by, metric=how["metric"], weights=weights,
                                 against=against, min_base=min_base, top=top,
                                 correction="none", confidence=confidence)
            tests.append(c.assign(outcome=spec.name, outcome_label=spec.label,
                                  measure=how["name"]))
    test_cols = ["outcome", "outcome_label", "measure", "by", "segment", "other", "metric",
                 "test", "diff", "low", "high", "statistic", "df", "p", "p_adjusted",
                 "significant", "n1", "n2", "suppressed", "family_size", "correction"]
    if not tables:
        return pd.DataFrame(columns=SEGMENT_COLUMNS), pd.DataFrame(columns=test_cols)
    table = pd.concat(tables, ignore_index=True)[SEGMENT_COLUMNS]
    tested = adjust_family(pd.concat(tests, ignore_index=True), correction, alpha)
    return table, tested[test_cols]


OUTCOME_COLUMNS = ["outcome", "outcome_label", "kind", "measure", "metric", "value", "low",
                   "high", "n", "n_eff", "suppressed"]


def outcome_table(data: pd.DataFrame, outcomes, weights: str | None = None, min_base: int = 30,
                  boxes: int | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Each outcome's overall value with its interval, measured by its kind.

    Parameters
    ----------
    data : DataFrame
        A row per respondent (``Study.respondents``).
    outcomes : iterable
        Outcome specifications (``name, kind, scale, label``); see :func:`segment_analysis`.
        Outcomes absent from ``data`` are left out.
    weights, min_base, boxes, confidence
        As in :func:`segment_analysis`.

    Returns
    -------
    DataFrame
        :data:`OUTCOME_COLUMNS`, a row per outcome: NPS in points, shares in 0..1, means on
        the outcome's scale; under ``min_base`` answers the numbers are missing and
        ``suppressed`` is true.

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> from cx_helpers.metrics import outcome_table
    >>> df = pd.DataFrame({"ltr": [10, 9, 9, 8, 7, 6, 3, 10, 9, 5],
    ...                    "sat": [5, 4, 4, 3, 2, 5, 1, 4, 4, 5]})
    >>> specs = [SimpleNamespace(name="ltr", kind="nps", scale=(0, 10), label="Recommend"),
    ...          SimpleNamespace(name="sat", kind="ordinal", scale=(1, 5), label="Satisfied")]
    >>> t = outcome_table(df, specs, min_base=5)
    >>> print(t[["outcome", "measure", "value", "n"]].to_string(index=False))
    outcome               measure  value  n
        ltr                   NPS   20.0 10
        sat top-2-box share (4-5)    0.7 10
    """
    rows = []
    for spec in outcomes:
        if spec.name not in data:
            continue
        how = outcome_metric(spec.kind, spec.scale, boxes)
        w = data[weights] if weights else None
        est = _estimate(how["metric"], data[spec.name], w,
                        how["top"] if how["top"] is not None else (4, 5),
                        confidence=confidence)
        row = dict(outcome=spec.name, outcome_label=spec.label, kind=spec.kind,
                   measure=how["name"], metric=how["metric"], value=est.value, low=est.low,
                   high=est.high, n=est.n, n_eff=est.n_eff, suppressed=est.n < min_base)
        if row["suppressed"]:
            row.update(value=np.nan, low=np.nan, high=np.nan, n_eff=np.nan)
        rows.append(row)
    out = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    return out.astype({"value": float, "low": float, "high": float, "n_eff": float,
                       "suppressed": bool})


def value_text(metric: str, value, signed: bool = False, difference: bool = False) -> str:
    """A value in its unit for a reader: NPS ``+9.2``, a share ``59.2 %``, a mean ``3.41``.

    ``difference=True`` writes a difference of shares in percentage points (``+4.1 pts``).
    Missing values give an en dash.

    Examples
    --------
    >>> from cx_helpers.metrics import value_text
    >>> value_text("nps", 9.2), value_text("top_box", 0.592), value_text("mean", 3.414)
    ('+9.2', '59.2 %', '3.41')
    >>> value_text("top_box", 0.041, difference=True)
    '+4.1 pts'
    """
    if value is None or pd.isna(value):
        return "\u2013"
    if metric == "nps":
        return f"{value:+.1f}"
    if metric == "top_box":
        unit = " pts" if difference else " %"
        return f"{100 * value:{'+' if signed or difference else ''}.1f}{unit}"
    return f"{value:{'+' if signed or difference else ''}.2f}"


def estimate_text(table: pd.DataFrame, metric: str = "metric") -> pd.DataFrame:
    """A copy of a table of estimates with ``value_text`` and ``ci_text`` in each row's unit.

    Parameters
    ----------
    table : DataFrame
        With ``value, low, high`` and a column naming each row's metric (``nps``, ``top_box``
        or ``mean``), e.g. :func:`outcome_table` or :func:`segment_analysis`.
    metric : str, default "metric"

    Returns
    -------
    DataFrame
        The table plus ``value_text`` and ``ci_text`` (``"+6.0 to +12.4"``); both missing
        where the value is (a suppressed row).

    Examples
    --------
    >>> import pandas as pd
    >>> from cx_helpers.metrics import estimate_text
    >>> t = pd.DataFrame({"metric": ["nps", "top_box", "mean"], "value": [9.2, 0.592, None],
    ...                   "low": [6.0, 0.57, None], "high": [12.4, 0.61, None]})
    >>> print(estimate_text(t)[["value_text", "ci_text"]].to_string(index=False))
    value_text          ci_text
          +9.2    +6.0 to +12.4
        59.2 % 57.0 % to 61.0 %
          None             None
    """
    out = table.copy()
    vt, ct = [], []
    for m, v, lo, hi in zip(out[metric], out["value"], out["low"], out["high"]):
        ok = not pd.isna(v)
        vt.append(value_text(m, v) if ok else None)
        ct.append(f"{value_text(m, lo)} to {value_text(m, hi)}"
                  if ok and not pd.isna(lo) else None)
    out["value_text"] = pd.Series(vt, index=out.index, dtype=object)
    out["ci_text"] = pd.Series(ct, index=out.index, dtype=object)
    return out


def segment_view(table: pd.DataFrame, tests: pd.DataFrame) -> pd.DataFrame:
    """Segments beside their test against the rest, with texts in each outcome's unit.

    Parameters
    ----------
    table, tests : DataFrame
        The two results of :func:`segment_analysis` (tests ``against="rest"``).

    Returns
    -------
    DataFrame
        ``table``'s rows with ``value_text, ci_text`` (:func:`estimate_text`) and, from the
        test of the segment against the rest, ``diff, diff_low, diff_high, p_adjusted,
        significant`` and ``diff_text`` (NPS points, percentage points or the mean's units);
        the ``(all)`` rows and untested segments have them missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> from cx_helpers.metrics import segment_analysis, segment_view
    >>> df = pd.DataFrame({"region": ["north"] * 5 + ["south"] * 5,
    ...                    "stay": [1, 1, 1, 0, 1, 0, 0, 1, 0, 0]})
    >>> stay = SimpleNamespace(name="stay", kind="binary", scale=None, label="Intends to stay")
    >>> view = segment_view(*segment_analysis(df, [stay], ["region"], min_base=5))
    >>> print(view[["segment", "value_text", "ci_text", "diff_text"]].to_string(index=False))
    segment value_text          ci_text diff_text
      (all)     50.0 % 23.7 % to 76.3 %      None
      north     80.0 % 37.6 % to 96.4 % +60.0 pts
      south     20.0 %  3.6 % to 62.4 % -60.0 pts
    """
    out = estimate_text(table)
    key = ["outcome", "by", "segment"]
    cols = tests[key + ["diff", "low", "high", "p_adjusted", "significant"]].rename(
        columns={"low": "diff_low", "high": "diff_high"})
    out = out.merge(cols[tests["other"] == "(rest)"], on=key, how="left")
    made = out["p_adjusted"].notna()
    out["diff_text"] = pd.Series(
        [value_text(m, d, difference=True) if ok else None
         for m, d, ok in zip(out["metric"], out["diff"], made)], index=out.index, dtype=object)
    out["significant"] = pd.Series([bool(s) if ok else None for s, ok in
                                    zip(out["significant"], made)], index=out.index,
                                   dtype=object)
    return out
