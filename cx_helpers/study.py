"""Load and validate a study: ``study.yaml`` plus the client's tables (see ``data/README.md``).

``load_study(path)`` reads every table once, checks it against the contract and returns a
:class:`Study` whose tables use roles (touchpoint ids, outcome names) instead of the client's
column names. Every problem found is reported at once, as one :class:`~cx_helpers.StudyError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from cx_helpers.config import CONFIG_NAME, closest, read_config
from cx_helpers.errors import StudyError

__all__ = ["Journey", "Outcome", "Study", "load_study", "summarize"]


@dataclass(frozen=True)
class Outcome:
    """A loyalty or business outcome: where it lives and what kind of variable it is."""

    name: str
    column: str
    kind: str
    scale: tuple[float, float] | None
    label: str
    table: str = "survey"
    higher_is_better: bool = True


@dataclass(frozen=True)
class Journey:
    """A declared journey: a group of touchpoints, optionally rated as a whole."""

    name: str
    touchpoints: tuple[str, ...]
    rating_column: str | None = None
    scale: tuple[float, float] | None = None
    label: str = ""


@dataclass
class Study:
    """A loaded, validated study. See ``data/README.md`` for each attribute."""

    name: str
    root: Path
    config: dict
    catalog: pd.DataFrame
    ratings: pd.DataFrame
    respondents: pd.DataFrame
    journey_ratings: pd.DataFrame
    events: pd.DataFrame | None
    outcomes: pd.DataFrame | None
    outcome_specs: dict[str, Outcome]
    journeys: dict[str, Journey]
    segments: list[str]
    has_weight: bool
    inputs: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def seed(self) -> int:
        """The study's default seed."""
        return int(self.config.get("seed", 20261122))

    @property
    def min_base(self) -> int:
        """Bases under this are suppressed in reports."""
        return int(self.config.get("min_base", 30))

    @property
    def na(self) -> str:
        """The study-wide not-applicable policy, ``"indicator"`` (default) or ``"complete"``.

        ``indicator``: everyone stays in, a missing rating gets a "not rated" indicator (for
        structural N/A, such as touchpoints a customer never used). ``complete``: only
        respondents who rated every touchpoint in a model are used (for rare N/A unrelated to
        the outcome). Notebooks read it when their own ``na`` parameter is None.
        """
        return str(self.config.get("na") or "indicator")

    @property
    def client(self) -> str:
        """The client's name, for reports."""
        return str(self.config.get("client", ""))

    @property
    def stages(self) -> list[str]:
        """Stages in journey order."""
        return list(self.catalog["stage"].cat.categories)

    @property
    def rated_touchpoints(self) -> list[str]:
        """Touchpoints with a survey rating column, in catalog order."""
        return list(self.ratings.columns)

    def segment_values(self, column: str) -> list[str]:
        """The values of a segment column, sorted.

        Raises
        ------
        StudyError
            When ``column`` is not one of the study's segments.
        """
        if column not in self.segments:
            raise StudyError(f"'{column}' is not a segment of study '{self.name}'.",
                             file=self.root / CONFIG_NAME, column=column,
                             expected=f"one of: {', '.join(self.segments) or '(none configured)'}",
                             fix="list the column under segments: in study.yaml.")
        return sorted(self.respondents[column].dropna().unique())

    def subset(self, segment: str) -> "Study":
        """The study restricted to one segment, ``"column=value"``.

        Respondents, ratings and journey ratings keep the segment's respondents; events and
        outcomes keep those respondents' customers (customers who did not answer the survey
        have no known segment and are left out).
        """
        column, sep, value = str(segment).partition("=")
        values = self.segment_values(column.strip())
        if not sep or value.strip() not in values:
            raise StudyError(f"segment {segment!r} selects no respondents.",
                             file=self.root / CONFIG_NAME, column=column.strip(),
                             expected=f"column=value with a value among: {', '.join(values)}")
        keep = self.respondents[column.strip()] == value.strip()
        customers = set(self.respondents.loc[keep, "customer"])
        events = None if self.events is None else \
            self.events[self.events["customer"].isin(customers)].reset_index(drop=True)
        outcomes = None if self.outcomes is None else \
            self.outcomes[self.outcomes["customer"].isin(customers)].reset_index(drop=True)
        return replace(self, respondents=self.respondents[keep], ratings=self.ratings[keep],
                       journey_ratings=self.journey_ratings[keep], events=events,
                       outcomes=outcomes)

    def frame(self) -> pd.DataFrame:
        """One wide table a row per respondent: respondents, ratings and journey ratings."""
        jr = self.journey_ratings.add_prefix("journey_")
        return self.respondents.join(self.ratings).join(jr)

    def __repr__(self) -> str:
        info = summarize(self)
        lines = [f"Study {self.name!r} ({self.root})"]
        lines += [f"  {key}: {value:,}" if isinstance(value, int) else f"  {key}: {value}"
                  for key, value in info.items() if key != "study"]
        return "\n".join(lines)

    def outcome(self, name) -> Outcome:
        """The outcome called ``name``.

        Raises
        ------
        StudyError
            When the study has no such outcome, with the closest name or the valid ones.
        """
        if name not in self.outcome_specs:
            raise StudyError(f"'{name}' is not an outcome of study '{self.name}'.",
                             file=self.root / CONFIG_NAME,
                             expected=f"one of: {', '.join(self.outcome_specs) or '(none)'}",
                             fix=closest(name, list(self.outcome_specs)) if self.outcome_specs
                             else "declare the outcome under outcomes: in study.yaml.")
        return self.outcome_specs[name]

    def check_touchpoints(self, names, rated: bool = False) -> list[str]:
        """``names`` as a list, each checked to be a touchpoint (a rated one if ``rated``).

        Raises
        ------
        StudyError
            Naming each unknown touchpoint with the closest known name.
        """
        known = self.rated_touchpoints if rated else list(self.catalog["touchpoint"])
        names = [names] if isinstance(names, str) else list(names)
        unknown = [n for n in names if n not in known]
        if unknown:
            what = "rated touchpoint" if rated else "touchpoint"
            raise StudyError(
                "; ".join(f"'{n}' is not a {what} of study '{self.name}' "
                          f"({closest(n, known) if known else 'it has none'})" for n in unknown)
                + ".", file=self.root / CONFIG_NAME,
                fix="use the touchpoint ids of the catalog (study.catalog['touchpoint']).")
        return names


# `cx run` loads the study once and shares it with the notebooks' kernels through a file named
# by this variable (a pickle of the key and the Study), so that every notebook analyses the same
# rows the manifest recorded (a database is not read again) and none parses the tables again
SHARED_STUDY_ENV = "CX_SHARED_STUDY"


def share_study(study: Study, path, segment: str | None, file: Path) -> None:
    """Write ``study`` (loaded from ``path``, ``segment``) where :func:`load_study` in a kernel
    started with ``CX_SHARED_STUDY=<file>`` finds it instead of reading the tables again."""
    import pickle

    with open(file, "wb") as fh:
        pickle.dump((str(Path(path).resolve()), segment), fh)
        pickle.dump(study, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _shared_study(path, segment) -> Study | None:
    """The study shared by `cx run` (see :func:`share_study`), when it is this one."""
    import os
    import pickle

    file = os.environ.get(SHARED_STUDY_ENV)
    if not file or not Path(file).is_file():
        return None
    with open(file, "rb") as fh:
        if pickle.load(fh) != (str(Path(path).resolve()), segment):
            return None
        return pickle.load(fh)


def load_study(path, *, segment: str | None = None) -> Study:
    """Load and validate a study folder.

    Each table has its reader in :mod:`cx_helpers.tables` (respondents, ratings, outcomes,
    declared journeys, events), over the config checked by :mod:`cx_helpers.config` against
    the typed definition of :mod:`cx_helpers.schema`.

    Parameters
    ----------
    path : str or Path
        A folder holding ``study.yaml`` and the tables it names.
    segment : str, optional
        ``"column=value"``: keep one segment only (see :meth:`Study.subset`).

    Returns
    -------
    Study
        Tidy tables keyed by roles (touchpoint ids, outcome names).

    Raises
    ------
    StudyError
        Listing every problem found: file, column, rows, what was expected and how to fix it.

    Examples
    --------
    >>> import cx_helpers as cx
    >>> study = cx.load("data/sample")
    >>> study.outcome("ltr").kind
    'nps'
    """
    from cx_helpers import tables as tb

    cached = _shared_study(path, segment)
    if cached is not None:
        return cached
    root = Path(path)
    reading = tb.Reading(root, read_config(root))
    tb.check_config(reading)
    config, problems = reading.config, reading.problems

    survey_cfg = reading.tables.get("survey") or {}
    survey, survey_file = tb.read_role(reading, "survey")
    catalog_raw, catalog_file = tb.read_role(reading, "touchpoints")
    events_raw, events_file = tb.read_role(reading, "events")
    outcomes_raw, outcomes_file = tb.read_role(reading, "outcomes")
    if survey is None:
        if survey_cfg or events_raw is None:
            raise StudyError.collect(problems)
        # an events-only study: no respondents
        survey_cfg = {"id": "respondent"}
        survey, survey_file = pd.DataFrame({"respondent": pd.Series(dtype="string")}), reading.file

    default_scale = tb.read_scale(config.get("rating_scale"), None, "rating_scale", problems,
                              reading.file)
    catalog = tb.build_catalog(config, catalog_raw, catalog_file, default_scale, problems,
                                reading.file, events_raw)
    respondents = tb.read_respondents(reading, survey, survey_file, survey_cfg)
    ratings = tb.read_ratings(reading, survey, survey_file, catalog, default_scale)
    outcome_specs, outcomes = tb.read_outcomes(reading, survey, survey_file, outcomes_raw,
                                               outcomes_file, respondents)
    journeys, journey_ratings = tb.read_journeys(
        config, catalog, survey, survey_file, default_scale, config.get("na_codes"), problems,
        reading.file, respondents.index)
    if journeys:
        member = {tp: j.name for j in reversed(journeys.values()) for tp in j.touchpoints}
        catalog["journey"] = catalog["touchpoint"].map(member).astype("string")
    events = tb.read_events(reading, events_raw, events_file, catalog, respondents, outcomes)
    if reading.tables.get("survey") and survey_file is not None:
        tb.check_pii(survey, survey_file, reading.pii, config, catalog, problems,
                      reading.warnings, reading.file)
    tb.check_branding(reading)
    tb.check_schema(reading)
    if problems:  # a top-level default shared by many columns is reported once
        raise StudyError.collect(list({str(p): p for p in problems}.values()))

    index = pd.Index(respondents.pop("respondent"), name="respondent")
    for frame in (respondents, ratings, journey_ratings):
        frame.index = index
    if outcomes is not None and len(outcomes.columns) > 1:
        respondents = respondents.join(outcomes.set_index("customer"), on="customer")
    study = Study(
        name=str(config.get("name") or root.resolve().name), root=root, config=config,
        catalog=catalog, ratings=ratings, respondents=respondents, journey_ratings=journey_ratings,
        events=events, outcomes=outcomes.reset_index(drop=True) if outcomes is not None else None,
        outcome_specs=outcome_specs, journeys=journeys,
        segments=[str(s) for s in (config.get("segments") or [])],
        has_weight=bool(config.get("weight")), inputs=reading.inputs, warnings=reading.warnings)
    return study.subset(segment) if segment else study


def summarize(study: Study) -> dict:
    """A short description of a loaded study, as printed by ``cx validate``.

    Returns
    -------
    dict
        respondents, touchpoints, rated touchpoints, stages, channels, journeys, events,
        customers with events, event date range, outcomes.
    """
    info = {
        "study": study.name,
        "respondents": len(study.respondents),
        "touchpoints": len(study.catalog),
        "rated touchpoints": len(study.rated_touchpoints),
        "stages": len(study.stages),
        "channels": study.catalog["channel"].nunique(),
        "declared journeys": len(study.journeys),
        "segments": ", ".join(study.segments) or "none",
        "weighted": "yes" if study.has_weight else "no",
    }
    if study.events is not None:
        info["events"] = len(study.events)
        info["customers with events"] = study.events["customer"].nunique()
        info["event dates"] = (f"{study.events['time'].min():%Y-%m-%d} to "
                               f"{study.events['time'].max():%Y-%m-%d}")
    else:
        info["events"] = 0
    info["outcomes"] = ", ".join(f"{o.name} ({o.kind})" for o in study.outcome_specs.values()) \
        or "none"
    for i, text in enumerate(study.warnings, 1):
        info[f"warning {i}" if len(study.warnings) > 1 else "warning"] = text
    return info
