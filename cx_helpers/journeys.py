"""Journeys: declared groups of touchpoints, their scores, and the journey-versus-touchpoint test."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold

from cx_helpers.design import design_matrix
from cx_helpers.study import Study

__all__ = ["compare_journey_touchpoint", "journey_scores"]


def journey_scores(study: Study) -> pd.DataFrame:
    """Score every declared journey for every respondent.

    The direct journey rating when the survey asked for one; otherwise the mean of the journey's
    touchpoint ratings (missing when the respondent rated none of them).

    Returns
    -------
    DataFrame
        Index ``respondent``, a column per declared journey.
    """
    scores = pd.DataFrame(index=study.ratings.index)
    for name, journey in study.journeys.items():
        if name in study.journey_ratings:
            scores[name] = study.journey_ratings[name]
        else:
            members = [tp for tp in journey.touchpoints if tp in study.ratings]
            scores[name] = study.ratings[members].mean(axis=1)
    return scores


def journey_score_methods(study: Study) -> pd.DataFrame:
    """How each journey was scored: ``journey, touchpoints, score``."""
    return pd.DataFrame([{
        "journey": name, "touchpoints": ", ".join(j.touchpoints),
        "score": "direct rating" if name in study.journey_ratings else "mean of touchpoints",
    } for name, j in study.journeys.items()])


def _oos_scores(x, y, binary, n_splits, n_repeats, seed):
    """Out-of-sample score per repeat: predictions pooled over the folds of each repeat."""
    splitter = StratifiedKFold if binary else KFold
    score = roc_auc_score if binary else r2_score
    out = []
    for rep in range(n_repeats):
        pred = np.empty(len(y))
        folds = splitter(n_splits=n_splits, shuffle=True, random_state=seed + rep)
        for train, test in folds.split(x, y):
            if binary:
                model = LogisticRegression(max_iter=2000).fit(x[train], y[train])
                pred[test] = model.predict_proba(x[test])[:, 1]
            else:
                pred[test] = LinearRegression().fit(x[train], y[train]).predict(x[test])
        out.append(score(y, pred))
    return np.array(out)


def compare_journey_touchpoint(study: Study, outcome: str = "ltr", n_splits: int = 5,
                               n_repeats: int = 10, seed: int = 0,
                               na: str = "indicator") -> pd.DataFrame:
    """Out-of-sample fit of a touchpoint model (T), a journey model (J) and both (T+J).

    Repeated k-fold cross-validation: in each repeat every respondent is predicted once by a
    model fitted without them; the repeat's score is the R^2 (continuous outcomes) or AUC
    (binary outcomes) of those predictions. The interval is the 2.5-97.5 percentile range over
    repeats: it shows the variability of the split, not sampling uncertainty.

    Parameters
    ----------
    study : Study
    outcome : str
        An outcome name of the study.
    n_splits, n_repeats : int
        Folds and repeats.
    seed : int
        Seed of the fold assignment.
    na : str
        Handling of missing ratings (see :mod:`cx_helpers.design`).

    Returns
    -------
    DataFrame
        ``outcome, model, metric, value, low, high, n`` for models T, J, T+J and the
        difference J-T.
    """
    spec = study.outcome_specs[outcome]
    binary = spec.kind == "binary"
    frame = study.frame()
    y = frame[outcome]
    keep = y.notna()
    tps = study.rated_touchpoints
    scores = journey_scores(study).loc[keep]
    t = design_matrix(frame.loc[keep], tps, na=na)
    j = design_matrix(scores, list(scores.columns), na=na)
    if na == "complete":
        common = t.index.intersection(j.index)
        t, j = t.loc[common], j.loc[common]
    y = y.loc[t.index].to_numpy(dtype=float)
    cv = (n_splits, n_repeats, seed)
    results = {
        "T": _oos_scores(t.to_numpy(), y, binary, *cv),
        "J": _oos_scores(j.to_numpy(), y, binary, *cv),
        "T+J": _oos_scores(pd.concat([t, j.add_prefix("journey_")], axis=1).to_numpy(), y,
                           binary, *cv),
    }
    results["J-T"] = results["J"] - results["T"]
    metric = "auc" if binary else "r2"
    return pd.DataFrame([{
        "outcome": outcome, "model": model, "metric": metric, "value": float(np.mean(v)),
        "low": float(np.percentile(v, 2.5)), "high": float(np.percentile(v, 97.5)), "n": len(y),
    } for model, v in results.items()])
