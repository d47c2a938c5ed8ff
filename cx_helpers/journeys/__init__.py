"""Journeys: rebuilt from event logs, scored from surveys, compared with touchpoints, followed
over time.

:mod:`~cx_helpers.journeys.reconstruct`
    Cutting an event log into journeys (in DuckDB): types, paths, transitions, operational
    measures, repeat contacts (:func:`journey_log`, :class:`JourneyLog`).
:mod:`~cx_helpers.journeys.scores`
    Scores of the declared journeys from survey ratings (:func:`journey_scores`) and the
    journey measures of the comparison's model J (:func:`journey_features`).
:mod:`~cx_helpers.journeys.compare`
    The journey-versus-touchpoint test (:func:`compare`, :func:`compare_all`, :func:`verdicts`).
:mod:`~cx_helpers.journeys.timeline`
    Journeys over time: funnels, conversion and drop-off by week or month, periods that stand out.

The package is also a function: ``cx.journeys(study)`` is :func:`journeys`, the table of the
journeys rebuilt from the study's event log.
"""

from __future__ import annotations

import pandas as pd

from cx_helpers._callable import make_callable
from cx_helpers.errors import StudyError
from cx_helpers.journeys import timeline
from cx_helpers.journeys.compare import compare, compare_all, compare_journey_touchpoint, verdicts
from cx_helpers.journeys.reconstruct import (END, START, JourneyLog, discover_types, journey_log,
                                             reconstruct_journeys, transition_matrix)
from cx_helpers.journeys.scores import (MEASURES, journey_features, journey_score_methods,
                                        journey_scores, operational_features)
from cx_helpers.study import CONFIG_NAME, Study

__all__ = ["END", "MEASURES", "START", "JourneyLog", "compare", "compare_all",
           "compare_journey_touchpoint", "discover_types", "journey_features", "journey_log",
           "journey_score_methods", "journey_scores", "journeys", "operational_features",
           "reconstruct_journeys", "timeline", "transition_matrix", "verdicts"]


def journeys(study: Study, *, gap_days: float | None = None, repeat_days: float | None = None,
             by_case: bool | None = None) -> pd.DataFrame:
    """The journeys rebuilt from a study's event log, one row per journey.

    Parameters
    ----------
    study : Study
    gap_days : float, optional
        Days without contact that end a journey; default ``journeys.events.gap_days`` of
        study.yaml, else 7 (or one journey per case when the events have a case id).
    repeat_days : float, optional
        A journey within this many days of the customer's previous journey of the same type is
        a repeat; default the study's, else 30.
    by_case : bool, optional
        One journey per case id; default when the events have a ``case`` column and no gap is
        configured.

    Returns
    -------
    DataFrame
        ``journey, customer, type, start, end, duration_h, contacts, touchpoints, path,
        first_touchpoint, last_touchpoint, channel_switches, longest_wait_h, resolution_h,
        rating_mean, ratings, is_repeat, followed_by_repeat, is_repeat_any, resolved``, each
        described in :meth:`JourneyLog.journeys`.

    Raises
    ------
    StudyError
        When the study has no event log (its declared journeys are scored with
        :func:`journey_scores` instead).

    Examples
    --------
    >>> import cx_helpers as cx
    >>> study = cx.load("data/examples/helpdesk-log")
    >>> table = cx.journeys(study)
    >>> int(table["journey"].is_unique)
    1
    """
    log = journey_log(study, gap_days=gap_days, repeat_days=repeat_days, by_case=by_case)
    if log is None:
        raise StudyError(f"study '{study.name}' has no event log, so there are no journeys to "
                         "rebuild.", file=study.root / CONFIG_NAME,
                         fix="add tables.events to study.yaml, or score the declared journeys "
                             "from the survey with cx.journeys.journey_scores(study).")
    return log.journeys()


make_callable(__name__, journeys)
