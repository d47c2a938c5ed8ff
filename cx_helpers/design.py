"""Model matrices from ratings: the one place where "not applicable" is coded.

A touchpoint the respondent never met is missing, never a low score. Every model of the suite
(driver models, relative importance, the journey comparison) builds its touchpoint columns here,
with one of three handlings:

``"indicator"``
    Each rating is centred on its (weighted) mean among those who gave it; missing becomes 0 and
    a "not rated" indicator (1 = not rated) is added, so every respondent stays in the model.
    Indicators are built only where they carry information:

    * a touchpoint rated by everyone, or by no one, gets none (a never-rated touchpoint is left
      out, with a note);
    * a touchpoint missing for fewer than :data:`MIN_NA` respondents gets none either: those few
      ratings are set to the raters' mean (a stated note), since a term fitted on a handful of
      respondents is noise and, in a logit, often separates;
    * touchpoints not rated by exactly the same respondents share one indicator, named after all
      of them (``a+b__na``) instead of two identical, perfectly collinear columns;
    * a rank check (:func:`independent_columns`) drops any indicator that is still a linear
      combination of the other columns (e.g. ``c`` missing exactly where ``a`` or ``b`` is), with
      a note, so a singular design is never fitted.
``"complete"``
    Only respondents who rated every driver; how many were dropped is recorded.
``"mean"``
    Missing replaced by the driver's mean (shrinks effects; offered for comparison only).

The returned DataFrame carries what was done in ``attrs`` (see :func:`design_matrix`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cx_helpers.errors import StudyError

__all__ = ["ALIAS_TOL", "MIN_NA", "NA_HANDLINGS", "NA_SUFFIX", "design_matrix",
           "independent_columns", "rated_enough", "resolve_na"]

NA_HANDLINGS = ("indicator", "complete", "mean")
NA_SUFFIX = "__na"
MIN_NA = 10           # fewer not-rated respondents than this: no indicator (raters' mean instead)
ALIAS_TOL = 1e-9      # a column whose residual on the others keeps less of its variance is aliased


def resolve_na(na, study=None) -> str:
    """The N/A handling to use: ``na`` if given, else the study's policy, else ``"indicator"``.

    Parameters
    ----------
    na : str or None
        A notebook's or function's ``na`` argument; None means "the study's policy".
    study : Study, optional
        Its ``na`` attribute (``study.yaml``'s ``na:``) is the policy.

    Returns
    -------
    str

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from cx_helpers.design import resolve_na
    >>> resolve_na(None), resolve_na("complete")
    ('indicator', 'complete')
    >>> resolve_na(None, SimpleNamespace(na="complete"))      # the study's policy
    'complete'
    """
    return str(na or getattr(study, "na", None) or "indicator")


def _weighted_centre(x: pd.DataFrame, w: np.ndarray) -> pd.Series:
    have = x.notna().to_numpy()
    vals = np.where(have, x.to_numpy(dtype=float), 0.0)
    ww = have * w[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.Series((ww * vals).sum(axis=0) / ww.sum(axis=0), index=x.columns)


def independent_columns(x: pd.DataFrame, weights=None, protect=(), tol: float = ALIAS_TOL):
    """Columns of a model matrix that are linearly independent of the intercept and each other.

    Columns are taken in order (put the ones that must stay first); a column whose (weighted)
    residual on the intercept and the columns already kept holds less than ``tol`` of its
    variance is aliased.

    Parameters
    ----------
    x : DataFrame
        Model columns without the intercept, no missing values.
    weights : array-like, optional
        Case weights.
    protect : collection of str
        Columns that may not be dropped: if one is aliased, a :class:`StudyError` names it and
        the columns it depends on.
    tol : float

    Returns
    -------
    kept : list of str
    dropped : dict
        Dropped column -> the kept columns it is a combination of (empty: a constant).

    Raises
    ------
    StudyError
        When a protected column (a touchpoint's rating) is aliased.

    Examples
    --------
    ``b`` is twice ``a`` and ``d`` is ``a + c``, so both are dropped:

    >>> import pandas as pd
    >>> from cx_helpers.design import independent_columns
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 4, 6, 8, 10],
    ...                   "c": [1, 0, 0, 1, 0], "d": [2, 2, 3, 5, 5]})
    >>> kept, dropped = independent_columns(x)
    >>> kept, dropped
    (['a', 'c'], {'b': ['a'], 'd': ['a', 'c']})
    """
    n = len(x)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    sw = np.sqrt(w / w.sum())
    basis = [sw]                              # the intercept, weighted
    basis_norm = [sw / np.linalg.norm(sw)]
    kept, dropped = [], {}
    values = x.to_numpy(dtype=float)
    for j, col in enumerate(x.columns):
        v = values[:, j] * sw
        total = v @ v
        r = v.copy()
        for _ in range(2):                    # Gram-Schmidt, twice for stability
            for q in basis_norm:
                r -= (q @ r) * q
        centred = v - (basis_norm[0] @ v) * basis_norm[0]
        scale = centred @ centred
        if total == 0 or scale <= tol * max(total, 1e-300) or (r @ r) <= tol * scale:
            coef = np.linalg.lstsq(np.column_stack(basis), v, rcond=None)[0] \
                if scale > 0 else np.zeros(len(basis))
            names = [kept[k - 1] for k in np.flatnonzero(np.abs(coef[1:]) > 1e-6) + 1]
            if col in protect:
                if scale <= tol * max(total, 1e-300):
                    raise StudyError(
                        f"'{col}' has the same value for every respondent in the model, so its "
                        "effect cannot be estimated.", column=col,
                        fix=f"leave touchpoint '{col}' out of the drivers.")
                raise StudyError(
                    f"the rating '{col}' is an exact linear combination of "
                    f"{', '.join(repr(c) for c in names) or 'the intercept'} among the "
                    "respondents in the model, so their separate effects are not defined.",
                    column=col, fix=f"drop touchpoint '{col}' (or average it with "
                    f"{', '.join(repr(c) for c in names[:2])}) from the drivers, or use "
                    "na='complete'.")
            dropped[col] = names
            continue
        kept.append(col)
        basis.append(v)
        basis_norm.append(r / np.sqrt(r @ r))
    return kept, dropped


def design_matrix(data: pd.DataFrame, columns, na: str = "indicator", weights=None,
                  min_na: int = MIN_NA) -> pd.DataFrame:
    """Build the drivers' part of a model matrix.

    Parameters
    ----------
    data : DataFrame
        A row per respondent.
    columns : list of str
        Driver columns (ratings), missing = not applicable.
    na : {"indicator", "complete", "mean"}
        How missing ratings are handled (see the module docstring).
    weights : array-like or str, optional
        Case weights (one per row, or a column of ``data``): the centres are weighted means and
        the rank check weighted.
    min_na : int, default MIN_NA
        Fewest not-rated respondents for a touchpoint to get an indicator.

    Returns
    -------
    DataFrame
        Same index as ``data`` (fewer rows with ``"complete"``); the ratings (centred with
        ``"indicator"``) then the indicator columns. ``attrs``:

        ``na``
            the handling.
        ``owners``
            column -> list of the touchpoints it belongs to (an indicator may cover several).
        ``centres``
            rating -> the value subtracted (``"indicator"``; 0 otherwise): the uncentred
            design is ``x + centre`` for each rating.
        ``merged``
            shared indicator -> the touchpoints it covers.
        ``dropped``
            column -> why it was left out.
        ``notes``
            plain sentences saying what was merged, dropped or set to the mean.
        ``n_dropped``
            rows left out (``"complete"``: incomplete cases).

    Raises
    ------
    StudyError
        For an unknown ``na`` or column, or a rating that is a linear combination of others.

    Examples
    --------
    Forty respondents; ``chat`` is not rated by ten of them, ``store`` by one:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from cx_helpers.design import design_matrix
    >>> ratings = pd.DataFrame({"chat": [5, 4, np.nan, 2] * 10,
    ...                         "store": [3, 3, 4, 5] * 9 + [np.nan, 2, 3, 4]})
    >>> x = design_matrix(ratings, ["chat", "store"], na="indicator")
    >>> list(x.columns), len(x)
    (['chat', 'store', 'chat__na'], 40)
    >>> {k: round(v, 3) for k, v in x.attrs["centres"].items()}
    {'chat': 3.667, 'store': 3.692}
    >>> x.iloc[:3].round(3)  # doctest: +NORMALIZE_WHITESPACE
        chat  store  chat__na
    0  1.333 -0.692       0.0
    1  0.333 -0.692       0.0
    2  0.000  0.308       1.0
    >>> print(x.attrs["notes"][0])  # doctest: +NORMALIZE_WHITESPACE
    Too few not-rated respondents for a 'not rated' term (store: 1; under 10): their missing
    ratings are set to the raters' mean.

    ``"complete"`` keeps only those who rated both:

    >>> x = design_matrix(ratings, ["chat", "store"], na="complete")
    >>> len(x), x.attrs["n_dropped"]
    (29, 11)
    """
    if na not in NA_HANDLINGS:
        raise StudyError(f"na must be one of {', '.join(NA_HANDLINGS)}, got {na!r}.",
                         fix="use na='indicator' (keep everyone) or na='complete'.")
    columns = list(columns)
    missing_cols = [c for c in columns if c not in data.columns]
    if missing_cols:
        raise StudyError(f"no column {', '.join(map(repr, missing_cols))} in the data.",
                         fix="pass rated touchpoints of the study.")
    if isinstance(weights, str):
        weights = data[weights]
    w_all = (np.ones(len(data)) if weights is None
             else np.asarray(weights, dtype=float).reshape(-1))
    x = data[columns].astype(float)
    notes, dropped = [], {}
    never = [c for c in columns if x[c].isna().all()]
    for c in never:
        dropped[c] = "never rated"
    if never:
        notes.append(f"{', '.join(never)} {'is' if len(never) == 1 else 'are'} rated by no one "
                     "among these respondents and left out.")
        x = x.drop(columns=never)
    rated = list(x.columns)
    attrs = {"na": na, "owners": {c: [c] for c in rated}, "centres": {c: 0.0 for c in rated},
             "merged": {}, "dropped": dropped, "notes": notes, "n_dropped": 0}
    if na == "complete":
        keep = x.notna().all(axis=1)
        out = x[keep]
        attrs["n_dropped"] = int((~keep).sum())
        out.attrs = attrs
        return out
    means = _weighted_centre(x, w_all)
    if na == "mean":
        out = x.fillna(means)
        out.attrs = attrs
        return out
    miss = x.isna()
    counts = miss.sum()
    out = (x - means).fillna(0.0)
    attrs["centres"] = {c: float(means[c]) for c in rated}
    rare = [c for c in rated if 0 < counts[c] < min_na]
    if rare:
        notes.append("Too few not-rated respondents for a 'not rated' term ("
                     + ", ".join(f"{c}: {counts[c]}" for c in rare)
                     + f"; under {min_na}): their missing ratings are set to the raters' mean.")
    patterns: dict[bytes, list[str]] = {}
    for c in rated:
        if counts[c] >= min_na and counts[c] < len(x):
            patterns.setdefault(np.packbits(miss[c].to_numpy()).tobytes(), []).append(c)
    ind_cols = {}
    for group in patterns.values():
        name = "+".join(group) + NA_SUFFIX
        ind_cols[name] = miss[group[0]].astype(float)
        attrs["owners"][name] = list(group)
        if len(group) > 1:
            attrs["merged"][name] = list(group)
            notes.append(f"{', '.join(group)} are not rated by exactly the same respondents: "
                         f"one shared 'not rated' indicator ({name}).")
    if ind_cols:
        out = pd.concat([out, pd.DataFrame(ind_cols, index=out.index)], axis=1)
    kept, aliased = independent_columns(out, w_all, protect=())
    for col, names in aliased.items():
        if col in rated:
            if not names:
                dropped[col] = "same rating from everyone who rated it"
                notes.append(f"{col} has the same rating from everyone who rated it: no effect "
                             "can be estimated; left out.")
            else:
                raise StudyError(
                    f"the rating '{col}' is an exact linear combination of "
                    f"{', '.join(map(repr, names))} among these respondents, so their separate "
                    "effects are not defined.", column=col,
                    fix=f"drop touchpoint '{col}' from the drivers, or average it with "
                        f"{names[0]!r}.")
        else:
            dropped[col] = "aliased with " + ", ".join(names or ["the intercept"])
            notes.append(f"The 'not rated' indicator {col} is a linear combination of "
                         f"{', '.join(names) or 'the intercept'} (the same respondents skip "
                         "these touchpoints): left out, its information is already in the "
                         "model.")
    out = out[kept]
    attrs["owners"] = {c: o for c, o in attrs["owners"].items() if c in kept}
    out.attrs = attrs
    return out


def rated_enough(ratings: pd.DataFrame, min_base: int) -> tuple[list[str], list[str]]:
    """Split touchpoints into those rated by at least ``min_base`` respondents and the rest.

    A driver model or importance split that held a touchpoint rated by a handful of respondents
    would publish numbers (coefficient, importance, share) that rest on fewer answers than the
    minimum base; such touchpoints are left out of the driver analysis instead.

    Parameters
    ----------
    ratings : DataFrame
        A column per touchpoint (``Study.ratings``), missing where not rated.
    min_base : int
        The study's minimum base.

    Returns
    -------
    (kept, left_out) : two lists of touchpoint ids, in column order

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from cx_helpers.design import rated_enough
    >>> ratings = pd.DataFrame({"chat": [4, 5, 3, np.nan], "store": [np.nan, np.nan, 2, 5]})
    >>> rated_enough(ratings, min_base=3)
    (['chat'], ['store'])
    """
    counts = ratings.notna().sum()
    return ([c for c in ratings.columns if counts[c] >= min_base],
            [c for c in ratings.columns if counts[c] < min_base])
