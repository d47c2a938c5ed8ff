"""The typed definition of ``study.yaml``, and the JSON Schema generated from it.

:data:`CONFIG` describes every key of the contract (``data/README.md``): its type, what it means,
and its sub-keys. The loader's key check (``cx_helpers.study``) uses :func:`key_tree` of this same
definition, and :func:`json_schema` turns it into a JSON Schema (draft 2020-12) that editors use
to complete and check keys (``cx schema`` prints it; the README shows how to point an editor at
it). Value checks that a schema cannot state (columns that exist, scales that fit the data) stay
in the loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CONFIG", "Key", "json_schema", "key_tree"]

@dataclass(frozen=True)
class Key:
    """One key of ``study.yaml``.

    Attributes
    ----------
    type : str
        ``string``, ``integer``, ``number``, ``boolean``, ``names`` (a list of names), ``scale``
        (``[min, max]``), ``codes`` (a list of numbers or text), ``labels`` (text -> number),
        ``code`` (a code or a list of codes), ``object`` (fixed sub-keys, ``keys``) or ``map``
        (user-named entries, each of the ``keys`` of ``entry``).
    description : str
        What it means (shown by editors).
    keys : dict, optional
        Sub-keys of an ``object``, or of each entry of a ``map``.
    enum : tuple, optional
        The allowed values.
    minimum : number, optional
        The smallest allowed number.
    open : bool
        A ``map`` whose entries the loader checks itself (not key by key).
    """

    type: str
    description: str
    keys: dict = field(default_factory=dict)
    enum: tuple | None = None
    minimum: float | None = None
    open: bool = False


def _k(type_, description, keys=None, **kw) -> Key:
    return Key(type_, description, keys or {}, **kw)


_NA = _k("codes", "Not-applicable codes (numbers or text): read as missing, never as scores.")
_VALUES = _k("labels", "Text label -> score on the scale, e.g. {Very satisfied: 5, Satisfied: 4}.")
_SCALE = _k("scale", "The rating scale, [min, max], e.g. [1, 5].")
_READ = {
    "format": _k("string", "How to read the file (default: from its suffix and first rows).",
                 enum=("csv", "parquet", "excel", "spss", "stata", "qualtrics",
                       "surveymonkey")),
    "sheet": _k("string", "Excel: the sheet holding the table (default: the first)."),
    "delimiter": _k("string", "Text: the column delimiter (default: sniffed), e.g. ';'."),
    "encoding": _k("string", "Text: the encoding (default: UTF-8, else cp1252), e.g. cp1252."),
}
_PATH = _k("string", "The file, relative to the study folder; or a Parquet dataset: a folder of "
                    "Parquet files (hive partitions such as month=2026-01/ become columns) or a "
                    "glob such as events/*.parquet.")
# where else a table can come from (cx_helpers.sources): exactly one of path, duckdb, database,
# spark
_SOURCE = {
    "path": _PATH,
    "duckdb": _k("string", "A DuckDB database file, relative to the study folder (with table: "
                           "or query:)."),
    "database": _k("string", "A SQL database by connection URL without a password, e.g. "
                             "postgresql://cx@db.example.com:5432/cx (with table: or query:)."),
    "spark": _k("string", "A Spark session by master URL, e.g. local[*], spark://host:7077 or "
                          "yarn (with table: or query:)."),
    "table": _k("string", "duckdb/database/spark: the table or view to read, e.g. events or "
                          "sales.events."),
    "query": _k("string", "duckdb/database/spark: a SELECT whose rows are the table."),
    "user_env": _k("string", "database: the environment variable holding the user name."),
    "password_env": _k("string", "database: the environment variable holding the password "
                                 "(never written in study.yaml)."),
}

CONFIG: dict[str, Key] = {
    "name": _k("code", "Study name (text or a number): the report folder is "
                       "reports/<name>/<run-id>/."),
    "client": _k("code", "The client's name, shown in the report."),
    "description": _k("string", "A description of the study."),
    "seed": _k("integer", "Default seed of every random step (cx run --seed overrides).",
               minimum=0),
    "min_base": _k("integer", "Bases under this are suppressed in reports (default 30).",
                   minimum=1),
    "branding": _k("object", "Report branding.", {
        "logo": _k("string", "Logo image, relative to the study folder."),
        "primary_colour": _k("string", "Colour of headings and rules, e.g. '#1f5f8b'."),
    }),
    "tables": _k("object", "The client's tables (CSV, Parquet, Excel, SPSS, Stata, Qualtrics, "
                           "SurveyMonkey), relative to the study folder.", {
        "survey": _k("object", "A row per respondent.", {
            **_SOURCE,
            "id": _k("string", "The respondent id column (unique); default: rows numbered."),
            "customer": _k("string", "Links respondents to events/outcomes (default: id)."),
            **_READ}),
        "touchpoints": _k("object", "Catalog: a row per touchpoint.", {
            **_SOURCE,
            "id": _k("string", "Touchpoint id column (default touchpoint)."),
            "label": _k("string", "Label column (default label)."),
            "stage": _k("string", "Stage column (default stage)."),
            "channel": _k("string", "Channel column (default channel)."),
            "type": _k("string", "Type column (default type)."),
            **_READ}),
        "events": _k("object", "A row per interaction.", {
            **_SOURCE,
            "customer": _k("string", "Customer id column."),
            "time": _k("string", "Time column (ISO 8601; naive times are UTC)."),
            "touchpoint": _k("string", "Touchpoint column."),
            "channel": _k("string", "Channel column (optional)."),
            "rating": _k("string", "Transactional rating column (optional)."),
            "rating_scale": _SCALE,
            "case": _k("string", "Ticket/case id grouping events into one journey."),
            "keep": _k("names", "Further columns carried along under their own names."),
            **_READ}),
        "outcomes": _k("object", "A row per customer.", {
            **_SOURCE,
            "customer": _k("string", "Customer id column."),
            **_READ}),
    }),
    "stages": _k("names", "Journey stages in order."),
    "rating_scale": _k("scale", "Default scale of touchpoint ratings, [min, max]."),
    "na_codes": _k("codes", "Default not-applicable codes of touchpoint ratings."),
    "values": _k("labels", "Default text labels of touchpoint ratings (label -> score)."),
    "na": _k("string", "Not-applicable policy of the models.", enum=("indicator", "complete")),
    "touchpoints": _k("map", "Touchpoint id -> how it is asked in the survey.", {
        "column": _k("string", "The survey's rating column (omit for events-only touchpoints)."),
        "label": _k("string", "Display name."),
        "stage": _k("string", "Journey stage."),
        "channel": _k("string", "Channel."),
        "type": _k("string", "Type (digital, assisted, resolution, ...)."),
        "scale": _SCALE, "na_codes": _NA, "values": _VALUES}),
    "outcomes": _k("map", "Outcome name -> column and kind.", {
        "column": _k("string", "The outcome's column."),
        "kind": _k("string", "nps (0-10), ordinal (integer scale), binary, continuous.",
                   enum=("nps", "ordinal", "binary", "continuous")),
        "label": _k("string", "Display name."),
        "scale": _SCALE,
        "table": _k("string", "survey (default) or outcomes.", enum=("survey", "outcomes")),
        "na_codes": _NA,
        "positive": _k("code", "Binary: the code(s) meaning yes."),
        "better": _k("string", "Which direction is good: higher (default) or lower (churn, "
                               "effort, complaints).", enum=("higher", "lower")),
        "values": _VALUES}),
    "segments": _k("names", "Survey columns to break results down by."),
    "weight": _k("string", "Survey weight column (> 0)."),
    "pii": _k("names", "Survey columns never read (personal data, free text)."),
    "read_outside": _k("names", "Folders outside the study whose files its tables may be read "
                                "from (an explicit opt-in; by default a study reads nothing "
                                "outside its folder)."),
    "journeys": _k("object", "Declared journeys and how events are cut into journeys.", {
        "declared": _k("map", "Journey name -> its touchpoints.", {
            "touchpoints": _k("names", "The journey's touchpoint ids."),
            "rating": _k("string", "A direct rating of the whole journey (column)."),
            "scale": _SCALE,
            "label": _k("string", "Display name."),
            "na_codes": _NA, "values": _VALUES}),
        "events": _k("object", "Cutting the event log into journeys.", {
            "gap_days": _k("number", "A new journey after this many days without contact.",
                           minimum=0),
            "starts": _k("names", "Touchpoints that always open a new journey."),
            "types": _k("map", "Journey type -> rule (starts_with, contains, ends_with).",
                        {"starts_with": _k("names", "Its first touchpoint is one of these."),
                         "contains": _k("names", "It contains one of these."),
                         "ends_with": _k("names", "Its last touchpoint is one of these.")},
                        open=True),
            "repeat_days": _k("number", "Repeat journey window in days (default 30).",
                              minimum=0),
            "engine": _k("string", "Where journeys are reconstructed: duckdb (default, in this "
                                   "process) or spark.", enum=("duckdb", "spark")),
            "master": _k("string", "engine: spark: the Spark master URL (default: the events' "
                                   "spark: URL, else local[*]), e.g. spark://host:7077."),
        }),
    }),
}


def key_tree(keys: dict[str, Key] | None = None) -> dict:
    """The nested dict of allowed keys the loader checks: None for a leaf, ``{"*": ...}`` for a
    map of user-named entries (entries of an ``open`` map are checked elsewhere: a leaf)."""
    keys = CONFIG if keys is None else keys
    tree = {}
    for name, key in keys.items():
        if key.type == "object":
            tree[name] = key_tree(key.keys)
        elif key.type == "map" and not key.open:
            tree[name] = {"*": key_tree(key.keys)}
        else:
            tree[name] = None
    return tree


_CODE = {"type": ["number", "string"]}


def _json(key: Key) -> dict:
    t = key.type
    if t in ("string", "integer", "number", "boolean"):
        out = {"type": t}
    elif t == "names":
        out = {"type": "array", "items": {"type": ["string", "integer"]}}
    elif t == "scale":
        out = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
    elif t == "codes":
        out = {"type": "array", "items": _CODE}
    elif t == "labels":
        out = {"type": "object", "additionalProperties": {"type": "number"}}
    elif t == "code":
        out = {"anyOf": [_CODE, {"type": "array", "items": _CODE}]}
    elif t == "object":
        out = {"type": "object", "properties": {k: _json(v) for k, v in key.keys.items()},
               "additionalProperties": False}
    elif t == "map":
        entry = {"type": "object", "properties": {k: _json(v) for k, v in key.keys.items()},
                 "additionalProperties": False}
        out = {"type": "object", "additionalProperties": {"anyOf": [entry, {"type": "null"}]}}
    else:  # pragma: no cover - a definition error
        raise ValueError(f"unknown key type {t!r}")
    out["description"] = key.description
    if key.enum:
        out["enum"] = list(key.enum)
    if key.minimum is not None:
        out["minimum"] = key.minimum
    return out


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of ``study.yaml``, generated from :data:`CONFIG`."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "CX research suite study (study.yaml)",
        "description": "A study: the client's tables and the roles of their columns. See "
                       "data/README.md.",
        "type": "object",
        "properties": {k: _json(v) for k, v in CONFIG.items()},
        "additionalProperties": False,
    }


def _validator():
    """jsonschema's draft 2020-12 validator, imported without the IRI format grammar.

    jsonschema's format checkers import ``rfc3987_syntax`` when it is installed (it comes with
    Jupyter), which builds a parser grammar at import: about 1.2 s in every kernel. The study
    schema uses no ``format`` keyword and no format checker, so that import is skipped.
    """
    import sys

    if "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None            # makes its import fail fast
        try:
            from jsonschema import Draft202012Validator
        finally:
            del sys.modules["rfc3987_syntax"]
    from jsonschema import Draft202012Validator
    return Draft202012Validator


def schema_problems(config: dict) -> list[tuple[str, str, str]]:
    """Every place where ``config`` breaks :func:`json_schema`: ``(key path, what is wrong,
    what the key is for)``, in a stable order.

    The loader runs this after its own, more specific checks, so that the one typed definition
    (:data:`CONFIG`) governs the values a study may hold as well as its keys.
    """
    Draft202012Validator = _validator()
    found = []
    for err in Draft202012Validator(json_schema()).iter_errors(config):
        path = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        found.append((path, err.message, str(err.schema.get("description", ""))))
    return sorted(found)
