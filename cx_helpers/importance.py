"""Exact relative importance of key drivers: LMG (Shapley), Johnson's weights and dominance.

How much of the explained variance of a loyalty outcome goes to each touchpoint, when the
touchpoints are correlated? Three answers, all exact:

``"lmg"``
    Lindeman, Merenda and Gold: a driver's R^2 increment averaged over every order of entry, which
    is the Shapley value of the R^2 game. It needs the R^2 of all ``2^p`` subsets of drivers.
``"johnson"``
    Johnson's relative weights: the drivers are replaced by their closest orthogonal counterparts
    (``Lambda = V D^(1/2) V'`` from the eigendecomposition ``R_xx = V D V'``), the outcome is
    regressed on those (``beta = Lambda^-1 r_xy``) and ``eps_j = sum_k Lambda_jk^2 beta_k^2``.
``"dominance"``
    Budescu's dominance analysis. General dominance equals LMG on a continuous outcome; on a 0/1
    outcome the fit measure is McFadden's pseudo-R^2 of weighted logits over all subsets (one
    logit per subset: made only when asked for). ``"lmg"`` on a 0/1 outcome splits the R^2 of
    the linear probability model: exact and fast, and it ranks drivers as logit dominance does
    (tests/test_design.py).
    Conditional and complete dominance come from the same subset values
    (:func:`dominance_analysis`).

All-subset R^2 without fitting ``2^p`` regressions
--------------------------------------------------
The R^2 of every subset comes from the correlation matrix of outcome and drivers by sweeping
(Gaussian elimination of the drivers that enter the model). Subsets are visited so that each one
is reached from a parent by sweeping in exactly one more driver, and a sweep drops the pivot's row
and column, because later steps never need them: with the outcome at index 0 and driver ``j`` at
index ``j + 1``, the level-``b`` matrix holds only the outcome and drivers ``0..b-1`` conditioned
on the subset's drivers above ``b``. Subset ``m`` (a bitmask, bit ``j`` = driver ``j``) is
``sweep(level of the next set bit above b, driver b)`` with ``b`` its lowest set bit, and its
residual outcome variance is the 1x1 corner. Half the subsets need a 2x2 update, a quarter a 3x3
one, and so on: about 6 multiply-adds per subset instead of ``p^2`` for a Gray-code walk that
sweeps drivers in and out of the full matrix, and no driver is ever swept out, so rounding does not
accumulate along the walk (every value is at most ``p`` eliminations from the correlation matrix).
The loop is compiled with numba and split over cores by fixing the top bits per task.

Groups of drivers (all touchpoints of a stage; a rating and its not-rated indicator) are treated
as one unit: subsets of groups are enumerated and a group's members are swept in together.

Missing ratings
---------------
A touchpoint the respondent never met is missing, never a low score. ``na="complete"`` keeps
respondents who rated every driver; ``"pairwise"`` uses pairwise-complete (weighted) correlations
and refuses a matrix that is not positive definite; ``"indicator"`` codes the ratings with
:func:`cx_helpers.design.design_matrix` (the one place the suite does it): each rating centred on
its weighted raters' mean, 0 where missing, and a 0/1 not-rated indicator where it carries
information (merged when touchpoints are skipped by the same respondents, left out when aliased).
A rating and its own indicator form one unit, so each touchpoint still gets one importance and
the subset R^2 does not depend on the centring; an indicator shared by several touchpoints enters
with the first of them to enter (the coalition's model holds the columns of all its members), by
enumerating it as an extra unit and reading each subset's value at the matching superset.

Direction and segments
----------------------
Importance is a share of explained variance and has no sign: ``sign`` carries the direction of
each driver's coefficient in the full model. ``segments`` (categorical columns, dummy-coded) can
enter the split as players of their own, beside the drivers.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cx_helpers._kernels import (
    _bootstrap_kernel,
    _shapley_kernel,
    _shapley_serial,
    _subset_r2_kernel,
    _subset_r2_serial,
)
from cx_helpers.design import design_matrix

__all__ = ["METHODS", "NA_HANDLINGS", "complete_dominance", "conditional_dominance",
           "dominance_analysis", "johnson_weights", "relative_importance", "shapley_values",
           "subset_pseudo_r2", "subset_r2"]

METHODS = ("lmg", "johnson", "dominance")
NA_HANDLINGS = ("complete", "pairwise", "indicator")
MAX_UNITS = 30              # 2^30 subset values = 8 GB; beyond that, group drivers
COLLINEAR_TOL = 1e-9        # smallest eigenvalue of the drivers' correlation matrix
NA_SUFFIX = "__na"
PARALLEL_FROM = 14          # units from which the walk is split over threads
MAX_PHANTOMS = 3            # shared not-rated indicators enumerated as units of their own
BATCH_MAX_UNITS = 22        # bootstrap walks run one per thread up to this many units (2^22 x 8 B)


# ---------------------------------------------------------------------------------------------
# subset values from a correlation matrix
# ---------------------------------------------------------------------------------------------

def _as_units(groups, n):
    """Units as lists of column positions (0-based among the drivers)."""
    if groups is None:
        return [[j] for j in range(n)]
    return [list(map(int, g)) for g in groups]


def _collinear_error(rxx, labels, where=""):
    vals, vecs = np.linalg.eigh(rxx)
    v = np.abs(vecs[:, 0])
    members = [labels[i] for i in np.flatnonzero(v >= 0.1 * v.max())]
    names = ", ".join(f"'{m}'" for m in members)
    return ValueError(
        f"drivers {names} are collinear{where}: one is (almost) a linear combination of the "
        f"others (smallest eigenvalue of their correlation matrix {vals[0]:.2g}), so their "
        "separate importances are not defined. Fix: drop one of them, or average them into one "
        "driver.")


def _check_collinear(rxx, labels):
    if rxx.shape[0] and np.linalg.eigvalsh(rxx)[0] < COLLINEAR_TOL:
        raise _collinear_error(rxx, labels)


def _ordered_values(corr, sizes, labels):
    """Subset R^2 of units from a correlation matrix already in unit order (outcome first)."""
    n_units = len(sizes)
    if n_units > MAX_UNITS:
        raise ValueError(f"{n_units} drivers (or groups) need 2^{n_units} subsets; at most "
                         f"{MAX_UNITS} are supported. Fix: combine drivers into groups.")
    _check_collinear(corr[1:, 1:], labels)
    off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    corr = np.ascontiguousarray(corr, dtype=float)
    if n_units >= PARALLEL_FROM:
        values, failed = _subset_r2_kernel(corr, off, min(5, n_units - 8))
    else:
        values, failed = _subset_r2_serial(corr, off)
    bad = failed[failed >= 0]
    if bad.size:
        m = int(bad[0])
        cols = [c for g in range(n_units) if (m >> g) & 1 for c in range(off[g], off[g + 1])]
        raise _collinear_error(corr[1:, 1:][np.ix_(cols, cols)], [labels[c] for c in cols])
    return values


def _to_corr(cov, labels):
    d = np.sqrt(np.diag(cov))
    flat = np.flatnonzero(~(d > 0))
    if flat.size:
        raise ValueError(f"column '{labels[flat[0]]}' has no variance (a constant), so it "
                         "cannot explain or be explained. Fix: leave it out.")
    return cov / np.outer(d, d)


def subset_r2(cov, outcome=0, groups=None) -> np.ndarray:
    """R^2 of the regression of an outcome on every subset of drivers, by sweeping.

    Parameters
    ----------
    cov : array-like or DataFrame, shape (k + 1, k + 1)
        Covariance or correlation matrix of the outcome and ``k`` drivers (weighted, if the data
        are). The drivers are the columns other than ``outcome``, in their order.
    outcome : int or label, default 0
        Position (or DataFrame label) of the outcome.
    groups : list of lists, optional
        Units to enumerate, each a list of driver positions (0-based among the drivers, or labels
        with a DataFrame); every driver in exactly one unit. Default: one unit per driver.

    Returns
    -------
    ndarray, shape (2^units,)
        ``values[m]`` is the R^2 of the subset whose bit ``g`` is set when unit ``g`` is in it
        (``values[0] = 0``; ``values[-1]`` is the full model).

    Raises
    ------
    ValueError
        Naming the drivers, when some are collinear or constant.
    """
    frame = isinstance(cov, pd.DataFrame)
    labels = list(cov.columns) if frame else None
    cov = np.asarray(cov, dtype=float)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"cov must be a square matrix, got shape {cov.shape}.")
    k = cov.shape[0]
    if not frame:
        labels = list(range(k))
    if outcome not in labels:
        raise ValueError(f"outcome {outcome!r} is not a row of cov.")
    y = labels.index(outcome)
    xs = [i for i in range(k) if i != y]
    if groups is not None and frame:
        names = [labels[i] for i in xs]
        groups = [[names.index(c) for c in g] for g in groups]
    units = _as_units(groups, k - 1)
    flat = [c for u in units for c in u]
    if sorted(flat) != list(range(k - 1)):
        raise ValueError("groups must hold every driver exactly once.")
    order = [y] + [xs[c] for c in flat]
    corr = _to_corr(cov[np.ix_(order, order)], [labels[i] for i in order])
    return _ordered_values(corr, [len(u) for u in units], [labels[i] for i in order[1:]])


# ---------------------------------------------------------------------------------------------
# Shapley values and dominance from subset values
# ---------------------------------------------------------------------------------------------

def _n_players(values):
    n = np.asarray(values).size
    p = n.bit_length() - 1
    if n < 2 or 1 << p != n:
        raise ValueError(f"values must have length 2^p (p >= 1), got {n}.")
    return p


def _popcount(p):
    pop = np.zeros(1 << p, dtype=np.uint8)
    for j in range(p):
        pop.reshape(-1, 2, 1 << j)[:, 1, :] += 1
    return pop


def _shapley_weights(p):
    """w(s) = s! (p-s-1)! / p!, the weight of a subset of size s not holding the player."""
    return np.array([1.0 / (p * math.comb(p - 1, s)) for s in range(p)])


def shapley_values(values) -> np.ndarray:
    """Shapley values of a game given by its value on every subset.

    ``phi_j = sum_{S not holding j} w(|S|) (v(S + j) - v(S))`` with
    ``w(s) = s! (p - s - 1)! / p!``, computed in O(p 2^p) as
    ``sum_{T holding j} c(T) - sum_S w(|S|) v(S)`` with ``c(T) = (w(|T| - 1) + w(|T|)) v(T)``.

    Parameters
    ----------
    values : array-like, shape (2^p,)
        ``values[m]`` the value of the subset with bitmask ``m`` (e.g. from :func:`subset_r2`).

    Returns
    -------
    ndarray, shape (p,)
        Sums to ``values[-1] - values[0]``.
    """
    v = np.ascontiguousarray(values, dtype=float)
    p = _n_players(v)
    return _shapley(v, p)


def _shapley(v, p, ext=None):
    """Shapley values by the compiled kernel (threads from PARALLEL_FROM players on)."""
    ext = _NO_EXT if ext is None else ext
    kernel = _shapley_kernel if p >= PARALLEL_FROM else _shapley_serial
    return kernel(v, ext, _shapley_weights(p))


_NO_EXT = np.empty(0, np.int64)


def _shapley_numpy(values) -> np.ndarray:
    """The same Shapley values in vectorised numpy (the reference the kernel is tested against)."""
    v = np.asarray(values, dtype=float)
    p = _n_players(v)
    w = _shapley_weights(p)
    coef = np.zeros(p + 1)
    coef[1:] += w
    coef[:p] += w
    pop = _popcount(p)
    c = coef[pop]
    c *= v
    base = np.bincount(pop, weights=v, minlength=p + 1)[:p] @ w
    return np.array([c.reshape(-1, 2, 1 << j)[:, 1, :].sum() - base for j in range(p)])


def conditional_dominance(values, names=None) -> pd.DataFrame:
    """Average increment of each unit by the number of other units already in the model.

    Parameters
    ----------
    values : array-like, shape (2^p,)
        Subset values (R^2 or pseudo-R^2), as from :func:`subset_r2`.
    names : list of str, optional
        Unit names, default ``x0, x1, ...``.

    Returns
    -------
    DataFrame
        Tidy: ``driver, size, contribution`` with ``size`` = 0..p-1 others in the model. The mean
        of a driver's contributions over sizes is its general dominance (Shapley value).
    """
    v = np.asarray(values, dtype=float)
    p = _n_players(v)
    names = list(names) if names is not None else [f"x{j}" for j in range(p)]
    pop = _popcount(p)
    counts = np.array([math.comb(p - 1, k) for k in range(p)], dtype=float)
    rows = []
    for j in range(p):
        pair = v.reshape(-1, 2, 1 << j)
        gain = (pair[:, 1, :] - pair[:, 0, :]).ravel()
        size = pop.reshape(-1, 2, 1 << j)[:, 0, :].ravel()
        mean = np.bincount(size, weights=gain, minlength=p)[:p] / counts
        rows.append(pd.DataFrame({"driver": names[j], "size": np.arange(p), "contribution": mean}))
    return pd.concat(rows, ignore_index=True)


def complete_dominance(values, names=None) -> pd.DataFrame:
    """Pairwise complete dominance: does ``driver`` beat ``other`` in every subset of the rest?

    Parameters
    ----------
    values : array-like, shape (2^p,)
        Subset values, as from :func:`subset_r2`.
    names : list of str, optional
        Unit names, default ``x0, x1, ...``.

    Returns
    -------
    DataFrame
        Tidy, a row per ordered pair: ``driver, other, share, dominates``; ``share`` is the
        fraction of the ``2^(p-2)`` subsets ``S`` of the other units with
        ``v(S + driver) > v(S + other)``, ``dominates`` is ``share == 1``.
    """
    v = np.asarray(values, dtype=float)
    p = _n_players(v)
    names = list(names) if names is not None else [f"x{j}" for j in range(p)]
    rows = []
    for i in range(p):
        for j in range(i + 1, p):
            view = v.reshape(-1, 2, 1 << (j - i - 1), 2, 1 << i)
            with_i, with_j = view[:, 0, :, 1, :], view[:, 1, :, 0, :]
            total = with_i.size
            wins_i = np.count_nonzero(with_i > with_j) / total
            wins_j = np.count_nonzero(with_j > with_i) / total
            rows.append((names[i], names[j], wins_i, wins_i == 1.0))
            rows.append((names[j], names[i], wins_j, wins_j == 1.0))
    return pd.DataFrame(rows, columns=["driver", "other", "share", "dominates"])


# ---------------------------------------------------------------------------------------------
# Johnson's relative weights
# ---------------------------------------------------------------------------------------------

def johnson_weights(corr, outcome=0) -> np.ndarray:
    """Johnson's relative weights from a correlation (or covariance) matrix.

    With ``R_xx = V D V'``: ``Lambda = V D^(1/2) V'``, ``beta = Lambda^-1 r_xy`` and
    ``eps_j = sum_k Lambda_jk^2 beta_k^2``.

    Parameters
    ----------
    corr : array-like, shape (k + 1, k + 1)
        Correlation or covariance matrix of the outcome and the drivers.
    outcome : int, default 0
        Position of the outcome.

    Returns
    -------
    ndarray, shape (k,)
        The weights, in the drivers' order; they sum to the full model's R^2.
    """
    c = np.asarray(corr, dtype=float)
    d = np.sqrt(np.diag(c))
    c = c / np.outer(d, d)
    xs = [i for i in range(c.shape[0]) if i != outcome]
    rxx, rxy = c[np.ix_(xs, xs)], c[xs, outcome]
    vals, vecs = np.linalg.eigh(rxx)
    if vals[0] < COLLINEAR_TOL:
        raise _collinear_error(rxx, xs)
    lam = (vecs * np.sqrt(vals)) @ vecs.T
    beta = (vecs / np.sqrt(vals)) @ (vecs.T @ rxy)
    return (lam ** 2) @ (beta ** 2)


# ---------------------------------------------------------------------------------------------
# weighted logit over all subsets
# ---------------------------------------------------------------------------------------------

def _logit_batch(xb, y, w, tol=1e-10, max_iter=60):
    """Newton fits of a batch of weighted logits; xb (B, n, k) holds the intercept column."""
    beta = np.zeros(xb.shape[::2])
    ybar = np.average(y, weights=w)
    beta[:, 0] = math.log(ybar / (1 - ybar))
    for _ in range(max_iter):
        eta = np.matmul(xb, beta[:, :, None])[:, :, 0]
        mu = 1.0 / (1.0 + np.exp(-eta))
        grad = np.matmul((w * (y - mu))[:, None, :], xb)[:, 0, :]
        hess = np.matmul(xb.transpose(0, 2, 1) * (w * mu * (1.0 - mu))[:, None, :], xb)
        try:
            step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            return None
        beta += step
        if not np.all(np.isfinite(beta)):
            return None
        if np.abs(step).max() < tol:
            eta = np.matmul(xb, beta[:, :, None])[:, :, 0]
            return (w * (y * eta - np.logaddexp(0.0, eta))).sum(axis=1)
    return None


def subset_pseudo_r2(x, y, weights=None, groups=None, names=None) -> np.ndarray:
    """McFadden pseudo-R^2 of weighted logits of a 0/1 outcome on every subset of drivers.

    ``1 - LL(S) / LL(intercept only)`` with weighted log-likelihoods. The fits are vectorised
    Newton iterations over batches of subsets with the same number of columns (drivers are
    standardised first, which leaves every fit's likelihood unchanged).

    Parameters
    ----------
    x : array-like, shape (n, k)
        Drivers (no intercept column, no missing values).
    y : array-like, shape (n,)
        0/1 outcome.
    weights : array-like, shape (n,), optional
        Non-negative case weights (frequency or survey weights).
    groups : list of lists, optional
        Units of driver positions (see :func:`subset_r2`).
    names : list of str, optional
        Driver names for error messages.

    Returns
    -------
    ndarray, shape (2^units,)
        Pseudo-R^2 per subset bitmask.

    Raises
    ------
    ValueError
        When a fit does not converge (perfect or quasi-perfect separation).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("the outcome must be 0/1 for a logit. Fix: recode it.")
    n, k = x.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    names = list(names) if names is not None else [f"x{j}" for j in range(k)]
    units = _as_units(groups, k)
    if len(units) > MAX_UNITS:
        raise ValueError(f"{len(units)} drivers (or groups) are too many for all subsets.")
    sw = w.sum()
    mean = w @ x / sw
    sd = np.sqrt(w @ (x - mean) ** 2 / sw)
    if np.any(~(sd > 0)):
        j = int(np.flatnonzero(~(sd > 0))[0])
        raise ValueError(f"column '{names[j]}' has no variance (a constant). Fix: leave it out.")
    z = (x - mean) / sd
    _check_collinear(_weighted_corr(z, w), names)
    ybar = (w @ y) / sw
    if not 0 < ybar < 1:
        raise ValueError("the outcome has a single value (all 0 or all 1); a logit needs both.")
    ll0 = sw * (ybar * math.log(ybar) + (1 - ybar) * math.log(1 - ybar))
    n_units = len(units)
    values = np.zeros(1 << n_units)
    cols = [[]]
    for m in range(1, 1 << n_units):
        b = (m & -m).bit_length() - 1
        cols.append(cols[m & (m - 1)] + units[b])
    by_size: dict[int, list[int]] = {}
    for m in range(1, 1 << n_units):
        by_size.setdefault(len(cols[m]), []).append(m)
    for size, masks in by_size.items():
        chunk = max(1, int(3e6 // (n * (size + 1))))
        for start in range(0, len(masks), chunk):
            part = masks[start:start + chunk]
            idx = np.array([sorted(cols[m]) for m in part])
            xb = np.empty((len(part), n, size + 1))
            xb[:, :, 0] = 1.0
            xb[:, :, 1:] = z[:, idx].transpose(1, 0, 2)
            ll = _logit_batch(xb, y, w)
            if ll is None:
                bad = ", ".join(f"'{names[c]}'" for c in sorted(cols[part[-1]]))
                raise ValueError(
                    f"a logit on some of the drivers {bad} did not converge: the outcome is "
                    "(quasi-)perfectly separated by them, or they are collinear. Fix: drop or "
                    "merge the offending drivers, or use method='lmg' (linear).")
            values[part] = 1.0 - ll / ll0
    return values


# ---------------------------------------------------------------------------------------------
# data preparation
# ---------------------------------------------------------------------------------------------

@dataclass
class _Design:
    y: np.ndarray            # outcome (n,)
    x: np.ndarray            # driver columns (n, k); NaN allowed only with na="pairwise"
    w: np.ndarray            # weights (n,)
    units: list              # per unit, column positions in x
    names: list              # unit names
    labels: list             # column labels of x
    levels: list = None      # per unit: "driver", "group" or "segment"
    phantoms: list = None    # shared indicators: (column positions, owner unit indices)
    sign_cols: list = None   # per unit: the rating column whose coefficient gives the sign
    notes: list = None       # what the N/A coding merged, dropped or set to the mean


def _unknown(name, data, role):
    close = difflib.get_close_matches(str(name), [str(c) for c in data.columns], n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return ValueError(f"{role} column '{name}' is not in the data.{hint} Fix: pass one of the "
                      "data's columns.")


def _numeric_column(data, name, role):
    if name not in data.columns:
        raise _unknown(name, data, role)
    col = data[name]
    if pd.api.types.is_bool_dtype(col):
        return col.astype(float).to_numpy()
    if not pd.api.types.is_numeric_dtype(col):
        raise ValueError(f"{role} column '{name}' is not numeric (dtype {col.dtype}). Fix: "
                         "convert it to numbers, with missing values as NaN (e.g. "
                         "pd.to_numeric(df[col], errors='coerce')).")
    return col.to_numpy(dtype=float, na_value=np.nan)


def _weights(data, weights):
    n = len(data)
    if weights is None:
        return np.ones(n)
    if isinstance(weights, str):
        w = _numeric_column(data, weights, "weights")
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (n,):
            raise ValueError(f"weights has {w.size} values for {n} rows. Fix: pass a column "
                             "name or one weight per row.")
    if np.any(w[~np.isnan(w)] < 0) or np.any(np.isinf(w)):
        raise ValueError("weights must be finite and non-negative. Fix: correct the weights.")
    return w


def _group_units(drivers, groups):
    """Units (lists of driver names) and their names from the groups dict."""
    if groups is None:
        return [[d] for d in drivers], list(drivers), False
    seen = {}
    for name, members in groups.items():
        members = [members] if isinstance(members, str) else list(members)
        if not members:
            raise ValueError(f"group '{name}' is empty. Fix: give it at least one driver.")
        for d in members:
            if d not in drivers:
                raise ValueError(f"group '{name}' holds '{d}', which is not among the drivers. "
                                 "Fix: add it to drivers or remove it from the group.")
            if d in seen:
                raise ValueError(f"driver '{d}' is in groups '{seen[d]}' and '{name}'. Fix: put "
                                 "each driver in one group only.")
            seen[d] = name
    units, names, done = [], [], set()
    for d in drivers:  # groups in the order of their first driver; others stand alone
        if d in seen:
            g = seen[d]
            if g not in done:
                done.add(g)
                members = groups[g]
                units.append([members] if isinstance(members, str) else list(members))
                names.append(g)
        else:
            units.append([d])
            names.append(d)
    if len(set(names)) != len(names):
        raise ValueError("a group has the name of an ungrouped driver. Fix: rename the group.")
    return units, names, True


def _design(data, outcome, drivers, weights, groups, na, binary, segments=()):
    if not isinstance(data, pd.DataFrame):
        raise ValueError("data must be a pandas DataFrame with a row per respondent.")
    if na not in NA_HANDLINGS:
        raise ValueError(f"na must be one of {NA_HANDLINGS}, got {na!r}.")
    drivers = [drivers] if isinstance(drivers, str) else list(drivers)
    if not drivers:
        raise ValueError("drivers is empty. Fix: pass at least one driver column.")
    if len(set(drivers)) != len(drivers):
        raise ValueError("drivers lists a column twice. Fix: list each driver once.")
    if outcome in drivers:
        raise ValueError(f"'{outcome}' is both the outcome and a driver. Fix: remove it from "
                         "drivers.")
    y = _numeric_column(data, outcome, "outcome")
    x = np.column_stack([_numeric_column(data, d, "driver") for d in drivers])
    w = _weights(data, weights)
    units, names, grouped = _group_units(drivers, groups)
    segments = [segments] if isinstance(segments, str) else list(segments or ())
    for seg in segments:
        if seg not in data.columns:
            raise _unknown(seg, data, "segment")
        if seg in drivers or seg == outcome:
            raise ValueError(f"'{seg}' is both a segment and a driver or the outcome. Fix: "
                             "remove it from segments.")
    keep = ~np.isnan(y) & ~np.isnan(w) & (w > 0)
    for seg in segments:
        keep &= data[seg].notna().to_numpy()
    if na == "complete":
        keep &= ~np.isnan(x).any(axis=1)
    y, x, w = y[keep], x[keep], w[keep]
    seg_values = {seg: data[seg].to_numpy()[keep] for seg in segments}
    if binary:
        if na == "pairwise":
            raise ValueError("na='pairwise' works with the linear methods only; a logit needs "
                             "whole rows. Fix: use na='indicator' or na='complete'.")
        if not np.isin(y, (0.0, 1.0)).all():
            odd = np.unique(y[~np.isin(y, (0.0, 1.0))])[:3]
            raise ValueError(f"outcome column '{outcome}' is not binary (values such as "
                             f"{', '.join(f'{v:g}' for v in odd)}); dominance on a logit needs "
                             "0/1. Fix: recode it to 0/1, or use method='lmg'.")
    for j, d in enumerate(drivers):
        if np.isnan(x[:, j]).all():
            raise ValueError(f"driver column '{d}' has no values among the rows used. Fix: "
                             "leave it out.")
    notes: list = []
    if na == "indicator":
        coded = design_matrix(pd.DataFrame(x, columns=drivers), drivers, na="indicator",
                              weights=w)
        labels = list(coded.columns)
        x = coded.to_numpy(dtype=float)
        owners = coded.attrs["owners"]
        notes = list(coded.attrs["notes"])
    else:
        labels = list(drivers)
        owners = {d: [d] for d in drivers}
    unit_of = {d: g for g, u in enumerate(units) for d in u}
    unit_cols = [[] for _ in units]
    phantoms = []
    for c, label in enumerate(labels):
        homes = sorted({unit_of[d] for d in owners[label]})
        if len(homes) == 1:
            unit_cols[homes[0]].append(c)
        else:
            phantoms.append(([c], homes))
    if len(phantoms) > MAX_PHANTOMS or len(units) + len(phantoms) > MAX_UNITS:
        for cols, homes in phantoms:
            unit_cols[homes[0]].extend(cols)
        notes.append("Shared 'not rated' indicators are counted with their first touchpoint "
                     "(too many to enumerate separately).")
        phantoms = []
    for u, name in zip(unit_cols, names):
        if not u:
            raise ValueError(f"column '{name}' has no variance (a constant) among the rows "
                             "used, so it cannot explain or be explained. Fix: leave it out.")
    sign_cols = [labels.index(u[0]) if len(u) == 1 and u[0] in labels else None for u in units]
    levels = ["group" if grouped and name in groups else "driver" for name in names]
    if segments:
        dummies, seg_units = [], []
        for seg in segments:
            codes = seg_values[seg]
            d = pd.get_dummies(pd.Series(codes).astype("category"), prefix=seg,
                               drop_first=True, dtype=float)
            d = d.loc[:, d.sum() > 0]
            if d.shape[1] == 0:
                raise ValueError(f"segment column '{seg}' has a single value among the rows "
                                 "used, so it cannot explain anything. Fix: leave it out.")
            start = x.shape[1] + sum(part.shape[1] for part in dummies)
            seg_units.append(list(range(start, start + d.shape[1])))
            labels += list(d.columns)
            dummies.append(d.to_numpy())
        x = np.column_stack([x, *dummies])
        unit_cols += seg_units
        names = list(names) + list(segments)
        levels += ["segment"] * len(segments)
        sign_cols += [None] * len(segments)
    n_cols = x.shape[1]
    if y.size < n_cols + 2:
        raise ValueError(f"{y.size} usable rows for {n_cols} model columns; at least "
                         f"{n_cols + 2} are needed. Fix: use fewer drivers, or na='indicator' "
                         "to keep respondents with missing ratings.")
    return _Design(y=y, x=x, w=w, units=unit_cols, names=names, labels=labels, levels=levels,
                   phantoms=phantoms, sign_cols=sign_cols, notes=notes)


def _weighted_corr(z, w):
    sw = w.sum()
    mean = w @ z / sw
    d = z - mean
    return (d * w[:, None]).T @ d / sw


def _pairwise_corr(z, w):
    """Weighted pairwise-complete correlations (means and SDs from each pair's rows)."""
    have = ~np.isnan(z)
    m = have.astype(float)
    f = np.where(have, z, 0.0)
    wm, wf = m * w[:, None], f * w[:, None]
    cnt = wm.T @ m                                  # sum of w over rows with both i and j
    with np.errstate(invalid="ignore", divide="ignore"):
        s1 = wf.T @ m / cnt                         # [i, j]: mean of i where j is present
        s2 = (wf * f).T @ m / cnt                   # [i, j]: mean of i^2 where j is present
        sxy = wf.T @ f / cnt
        cov = sxy - s1 * s1.T
        var_i = s2 - s1 ** 2
        used = have & (w > 0)[:, None]
        return cov / np.sqrt(var_i * var_i.T), used.T.astype(float) @ used.astype(float)


def _corr(design, w, na):
    z = np.column_stack([design.y, design.x])
    if na != "pairwise":
        return _to_corr(_weighted_corr(z, w), ["outcome"] + design.labels)
    corr, pairs = _pairwise_corr(z, w)
    labels = ["outcome"] + design.labels
    low = np.argwhere(pairs < 3)
    if low.size:
        i, j = low[0]
        raise ValueError(f"columns '{labels[i]}' and '{labels[j]}' are both present in fewer "
                         "than 3 rows, so their correlation is undefined with na='pairwise'. "
                         "Fix: use na='indicator'.")
    if np.any(~np.isfinite(corr)):
        i = int(np.argwhere(~np.isfinite(corr))[0][0])
        raise ValueError(f"column '{labels[i]}' has no variance among some pairwise-complete "
                         "rows. Fix: use na='indicator' or leave it out.")
    np.fill_diagonal(corr, 1.0)
    smallest = np.linalg.eigvalsh(corr)[0]
    if smallest <= COLLINEAR_TOL:
        raise ValueError(f"the pairwise-complete correlation matrix is not positive definite "
                         f"(smallest eigenvalue {smallest:.3g}): pairs computed on different "
                         "respondents do not fit together. Fix: use na='indicator' (keeps every "
                         "respondent) or na='complete'.")
    return corr


def _game(values, n_units, phantoms):
    """Subset values of the units from those of units + shared indicators.

    A shared "not rated" indicator enters with the first of its touchpoints (a coalition's model
    holds the columns of all its members, a shared one once), so each touchpoint's rating always
    comes with its indicator and the values do not depend on the centring.
    """
    if not phantoms:
        return values
    return values[_game_index(n_units, phantoms)]


def _game_index(n_units, phantoms):
    """``ext[m]``: the subset of units + shared indicators whose value is unit subset ``m``'s."""
    masks = np.arange(1 << n_units, dtype=np.int64)
    ext = masks.copy()
    for k, (_, homes) in enumerate(phantoms):
        owner = sum(1 << h for h in homes)
        ext |= np.where(masks & owner, 1 << (n_units + k), 0)
    return ext


def _estimate(design, w, method, na, binary):
    """Importance per unit and the model's fit (R^2 or pseudo-R^2) for weights ``w``."""
    phantoms = design.phantoms or []
    units = list(design.units) + [cols for cols, _ in phantoms]
    n_units = len(design.units)
    order = [c for u in units for c in u]
    sizes = [len(u) for u in units]
    if binary:
        values = subset_pseudo_r2(design.x, design.y, w, units, design.labels)
        values = _game(values, n_units, phantoms)
        return shapley_values(values), values[-1], values
    corr = _corr(design, w, na)
    if method == "johnson":
        _check_collinear(corr[1:, 1:], design.labels)
        eps = johnson_weights(corr)
        imp = np.array([eps[u].sum() for u in design.units])
        for cols, homes in phantoms:          # a shared indicator's weight split evenly
            imp[homes] += eps[cols].sum() / len(homes)
        return imp, imp.sum(), None
    idx = [0] + [c + 1 for c in order]
    values = _ordered_values(corr[np.ix_(idx, idx)], sizes,
                             [design.labels[c] for c in order])
    values = _game(values, n_units, phantoms)
    return shapley_values(values), values[-1], values


def _bootstrap_lmg(design, all_counts, na):
    """LMG of every resample (``counts``: how often each row is drawn) in one compiled batch.

    Each resample's weighted correlation matrix comes from its resampling weights applied to the
    cross-products, exactly as :func:`_estimate` computes it; the all-subset walks and Shapley
    sums then run in parallel over resamples (:func:`_bootstrap_kernel`), with no Python work
    per subset. A resample whose matrix is degenerate (a column without variance, collinear
    drivers) is left out and counted, as in the one-at-a-time path. Returns the list of
    importance vectors and the number of failed resamples.
    """
    phantoms = design.phantoms or []
    units = list(design.units) + [cols for cols, _ in phantoms]
    n_units = len(design.units)
    order = [c for u in units for c in u]
    idx = np.array([0] + [c + 1 for c in order])
    off = np.concatenate([[0], np.cumsum([len(u) for u in units])]).astype(np.int64)
    corrs = []
    for counts in all_counts:
        try:
            corr = _corr(design, design.w * counts, na)
        except ValueError:
            continue
        corrs.append(corr[np.ix_(idx, idx)])
    failed = len(all_counts) - len(corrs)
    if not corrs:
        return [], failed
    corrs = np.ascontiguousarray(np.array(corrs))
    good = np.linalg.eigvalsh(corrs[:, 1:, 1:])[:, 0] >= COLLINEAR_TOL
    ext = _game_index(n_units, phantoms) if phantoms else _NO_EXT
    imps, bad = _bootstrap_kernel(np.ascontiguousarray(corrs[good]), off, ext,
                                  _shapley_weights(n_units))
    keep = bad < 0
    failed += int((~good).sum() + (~keep).sum())
    return list(imps[keep]), failed


def _signs(design, na, binary):
    """+1 / -1 per unit: the sign of its rating's coefficient in the full model (NaN for groups
    and segments). The full model is the one decomposed: the linear regression (the logit for
    dominance on a 0/1 outcome)."""
    cols = design.sign_cols or [None] * len(design.units)
    if all(c is None for c in cols):
        return np.full(len(cols), np.nan)
    if binary:
        import statsmodels.api as sm

        xc = np.column_stack([np.ones(design.y.size), design.x])
        beta = sm.GLM(design.y, xc, family=sm.families.Binomial(),
                      var_weights=design.w).fit().params[1:]
    else:
        corr = _corr(design, design.w, na)
        beta = np.linalg.solve(corr[1:, 1:], corr[1:, 0])
    return np.array([np.nan if c is None else (1.0 if beta[c] >= 0 else -1.0) for c in cols])


def _resolve(data, outcome, drivers, method, weights, groups, na, segments=()):
    """The design and whether the fit is a logit (dominance on a 0/1 outcome)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    binary = False
    if method == "dominance" and isinstance(data, pd.DataFrame) and outcome in data.columns:
        y = _numeric_column(data, outcome, "outcome")
        seen = np.unique(y[~np.isnan(y)])
        binary = bool(np.isin(seen, (0.0, 1.0)).all())
        if not binary and seen.size == 2:
            raise ValueError(f"outcome column '{outcome}' has two values ({seen[0]:g}, "
                             f"{seen[1]:g}) but dominance on a logit needs 0/1. Fix: recode it "
                             "to 0/1 (1 = the event, e.g. churned).")
    return _design(data, outcome, drivers, weights, groups, na, binary, segments), binary


# ---------------------------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------------------------

def relative_importance(data: pd.DataFrame, outcome: str, drivers, method: str = "lmg",
                        weights=None, groups: dict | None = None, na: str = "complete",
                        n_boot: int = 0, seed=None, confidence: float = 0.95,
                        progress: bool = False, segments=None) -> pd.DataFrame:
    """Relative importance of key drivers, exact, with bootstrap intervals.

    Parameters
    ----------
    data : DataFrame
        A row per respondent.
    outcome : str
        Outcome column (e.g. likelihood to recommend 0-10, or churn 0/1).
    drivers : list of str
        Driver columns (touchpoint ratings); missing values as NaN.
    method : {"lmg", "johnson", "dominance"}, default "lmg"
        ``"lmg"``: Shapley decomposition of R^2. ``"johnson"``: relative weights.
        ``"dominance"``: general dominance; on a 0/1 outcome over McFadden's pseudo-R^2 of
        weighted logits, otherwise identical to ``"lmg"``.
    weights : str or array-like, optional
        Survey weights: a column name or one value per row. Rows with a missing or zero weight
        are left out.
    groups : dict, optional
        ``{name: [driver, ...]}``: drivers that enter and leave together and get one importance
        (e.g. the touchpoints of one stage). Drivers in no group stand alone.
    na : {"complete", "pairwise", "indicator"}, default "complete"
        Missing ratings: complete cases; pairwise-complete weighted correlations (linear methods
        only); or centred rating plus a not-rated indicator, entered as one group. Rows with a
        missing outcome are always left out.
    n_boot : int, default 0
        Bootstrap resamples of respondents (with replacement) for percentile intervals.
    seed : int, optional
        Seed of ``numpy.random.default_rng``; the same seed gives identical intervals.
    confidence : float, default 0.95
        Coverage of the intervals.
    progress : bool, default False
        Show a tqdm progress bar over the resamples.
    segments : list of str, optional
        Categorical columns (e.g. region, plan) entered beside the drivers, each dummy-coded and
        taken as one player: their share of the explained variance shows how much of it belongs
        to who the respondents are rather than to a touchpoint (rows with ``level`` "segment",
        after the drivers). Rows with a missing segment are left out.

    Returns
    -------
    DataFrame
        Indexed by driver (``"driver"``) or by group (``"group"``) when ``groups`` is given, with
        ``importance`` (sums to the model's R^2 or pseudo-R^2), ``share`` (percent, sums to
        100), ``low``, ``high`` (bootstrap interval of ``importance``; NaN without bootstrap),
        ``share_low``, ``share_high`` (bootstrap interval of the share itself, from each
        resample's own split), ``rank`` (1 = most important), ``sign`` (+1 or -1: the direction
        of the driver's coefficient in the full model; NaN for groups and segments) and
        ``level`` (``driver``, ``group`` or ``segment``), in the drivers' order. ``attrs`` holds
        ``r2``, ``n``, ``method``, ``na``, ``n_boot``, ``seed``, ``confidence``, ``measure``
        ("R2" or "McFadden pseudo-R2"), ``weighted``, ``n_boot_failed`` (resamples whose model
        could not be fitted, e.g. a rating with no variance; left out of the intervals) and
        ``notes`` (what the N/A coding merged, dropped or set to the mean).

    Raises
    ------
    ValueError
        For an unknown or non-numeric column, a non-binary outcome with logit dominance, fewer
        usable rows than model columns + 2, collinear drivers, or a pairwise correlation matrix
        that is not positive definite; the message names the column and the fix.

    Examples
    --------
    Two correlated drivers of ``y``; ``a`` carries most of what the model explains:

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=200)
    >>> b = 0.5 * a + rng.normal(size=200)
    >>> frame = pd.DataFrame({"y": 2 * a + b + rng.normal(size=200), "a": a, "b": b})
    >>> table = relative_importance(frame, "y", ["a", "b"])
    >>> table[["importance", "share"]].round(3)  # doctest: +NORMALIZE_WHITESPACE
            importance   share
    driver
    a            0.571  65.317
    b            0.303  34.683
    """
    design, binary = _resolve(data, outcome, drivers, method, weights, groups, na, segments)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}.")
    n_boot = int(n_boot)
    if n_boot < 0:
        raise ValueError(f"n_boot must be 0 or more, got {n_boot}.")
    imp, fit, _ = _estimate(design, design.w, method, na, binary)
    low = np.full(imp.size, np.nan)
    high, share_low, share_high = low.copy(), low.copy(), low.copy()
    failed = 0
    if n_boot:
        rng = np.random.default_rng(seed)
        n = design.y.size
        draws = []
        steps = range(n_boot)
        if progress:
            from tqdm.auto import tqdm
            steps = tqdm(steps, desc="bootstrap", unit="resample")
        batched = method != "johnson" and not binary and len(design.units) + len(
            design.phantoms or []) <= BATCH_MAX_UNITS
        for _ in steps:
            counts = np.bincount(rng.integers(0, n, n), minlength=n)
            if batched:          # only the weighted cross-products here; the walks below
                draws.append(counts)
                continue
            try:
                draws.append(_estimate(design, design.w * counts, method, na, binary)[0])
            except ValueError:
                failed += 1
        if batched:
            draws, failed = _bootstrap_lmg(design, draws, na)
        if not draws:
            raise ValueError("no bootstrap resample could be fitted (a driver without variance "
                             "or collinear drivers in every resample). Fix: use more "
                             "respondents or fewer drivers.")
        a = (1 - confidence) / 2
        draws = np.array(draws)
        low, high = np.quantile(draws, [a, 1 - a], axis=0)
        totals = draws.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = 100 * draws / totals
        shares = shares[np.isfinite(shares).all(axis=1)]
        if len(shares):
            share_low, share_high = np.quantile(shares, [a, 1 - a], axis=0)
    share = 100 * imp / imp.sum() if imp.sum() != 0 else np.full(imp.size, np.nan)
    out = pd.DataFrame({"importance": imp, "share": share, "low": low, "high": high,
                        "share_low": share_low, "share_high": share_high},
                       index=pd.Index(design.names, name="group" if groups else "driver"))
    out["rank"] = out["importance"].rank(ascending=False, method="min").astype(int)
    out["sign"] = _signs(design, na, binary)
    out["level"] = design.levels
    out.attrs.update({
        "r2": float(fit), "n": int(design.y.size), "method": method, "na": na,
        "n_boot": n_boot, "seed": seed, "confidence": confidence,
        "measure": "McFadden pseudo-R2" if binary else "R2",
        "weighted": weights is not None, "n_boot_failed": failed,
        "notes": list(design.notes or []),
    })
    return out


def dominance_analysis(data: pd.DataFrame, outcome: str, drivers, weights=None,
                       groups: dict | None = None, na: str = "complete") -> dict:
    """General, conditional and complete dominance of drivers, as tidy tables.

    The fit measure is McFadden's pseudo-R^2 of weighted logits when ``outcome`` is 0/1 and R^2
    otherwise. Arguments as in :func:`relative_importance`.

    Returns
    -------
    dict of DataFrame
        ``"general"``: ``driver, importance, share, rank`` (the Shapley values);
        ``"conditional"``: ``driver, size, contribution`` (average increment with ``size`` other
        drivers in the model); ``"complete"``: ``driver, other, share, dominates``. Each table's
        ``attrs`` hold ``r2``, ``n``, ``na`` and ``measure``.
    """
    design, binary = _resolve(data, outcome, drivers, "dominance", weights, groups, na)
    imp, fit, values = _estimate(design, design.w, "dominance", na, binary)
    general = pd.DataFrame({"driver": design.names, "importance": imp,
                            "share": 100 * imp / imp.sum()})
    general["rank"] = general["importance"].rank(ascending=False, method="min").astype(int)
    tables = {"general": general,
              "conditional": conditional_dominance(values, design.names),
              "complete": complete_dominance(values, design.names)}
    for t in tables.values():
        t.attrs.update({"r2": float(fit), "n": int(design.y.size), "na": na,
                        "measure": "McFadden pseudo-R2" if binary else "R2"})
    return tables
