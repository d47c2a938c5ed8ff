"""CX metrics with honest intervals: NPS, CSAT (top-box and mean), CES.

Every metric returns an :class:`Estimate` with ``value``, ``low``, ``high`` and ``n``. Weighted
metrics use Kish's effective sample size, ``n_eff = (sum w)^2 / sum w^2``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["Estimate", "kish_n", "mean", "nps", "top_box"]


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


def nps(scores, weights=None, confidence=0.95) -> Estimate:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), on -100..100.

    The interval is the normal approximation with the trinomial variance
    ``(p + d - (p - d)^2) / n`` (``n`` the Kish effective n when weighted).

    Parameters
    ----------
    scores : array-like
        Likelihood-to-recommend answers on 0-10; missing values are ignored.
    weights : array-like, optional
        Survey weights, aligned with ``scores``.
    confidence : float, default 0.95

    Returns
    -------
    Estimate
    """
    x, w = _clean(scores, weights)
    n = x.size
    if n == 0:
        return Estimate(np.nan, np.nan, np.nan, 0, 0.0, "nps")
    p = w[x >= 9].sum() / w.sum()
    d = w[x <= 6].sum() / w.sum()
    n_eff = kish_n(w)
    se = np.sqrt(max(p + d - (p - d) ** 2, 0.0) / n_eff)
    half = _z(confidence) * se
    value = p - d
    return Estimate(100 * value, 100 * max(value - half, -1), 100 * min(value + half, 1), n,
                    n_eff, "nps")


def top_box(scores, weights=None, top=(4, 5), confidence=0.95) -> Estimate:
    """Share of answers in the top box(es), e.g. CSAT top-2-box, with a Wilson interval.

    Parameters
    ----------
    scores : array-like
        Ratings; missing values are ignored.
    weights : array-like, optional
        Survey weights; the Wilson interval then uses the Kish effective n.
    top : sequence, default (4, 5)
        The values that count as the top box.
    confidence : float, default 0.95

    Returns
    -------
    Estimate
        A share in 0..1.
    """
    x, w = _clean(scores, weights)
    if x.size == 0:
        return Estimate(np.nan, np.nan, np.nan, 0, 0.0, "top_box")
    p = w[np.isin(x, top)].sum() / w.sum()
    n_eff = kish_n(w)
    z = _z(confidence)
    centre = (p + z**2 / (2 * n_eff)) / (1 + z**2 / n_eff)
    half = z / (1 + z**2 / n_eff) * np.sqrt(p * (1 - p) / n_eff + z**2 / (4 * n_eff**2))
    return Estimate(p, max(centre - half, 0.0), min(centre + half, 1.0), x.size, n_eff, "top_box")


def mean(scores, weights=None, confidence=0.95) -> Estimate:
    """Mean score (CSAT mean, CES) with a t interval (weighted: Kish effective n).

    Parameters
    ----------
    scores : array-like
        Ratings; missing values are ignored.
    weights : array-like, optional
        Survey weights.
    confidence : float, default 0.95

    Returns
    -------
    Estimate
    """
    x, w = _clean(scores, weights)
    if x.size == 0:
        return Estimate(np.nan, np.nan, np.nan, 0, 0.0, "mean")
    m = np.average(x, weights=w)
    n_eff = kish_n(w)
    if x.size < 2:
        return Estimate(m, np.nan, np.nan, x.size, n_eff, "mean")
    var = np.average((x - m) ** 2, weights=w) * x.size / (x.size - 1)
    half = stats.t.ppf(0.5 + confidence / 2, max(n_eff - 1, 1)) * np.sqrt(var / n_eff)
    return Estimate(m, m - half, m + half, x.size, n_eff, "mean")
