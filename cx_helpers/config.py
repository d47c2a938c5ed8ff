"""study.yaml: read it and check its keys, values and paths, before any table is read.

The keys come from the typed definition of the config (:mod:`cx_helpers.schema`, also the source
of the JSON Schema printed by ``cx schema``); a YAML file with a key given twice is refused,
since YAML would silently keep the last one. Paths must lie inside the study folder unless the
config opts in to a folder outside it (``read_outside:``).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml

from cx_helpers.errors import StudyError
from cx_helpers.schema import key_tree

__all__ = ["CONFIG_NAME", "NA_POLICIES", "OUTCOME_KINDS", "check_keys", "check_values",
           "closest", "inside", "outside_folders", "read_config"]

CONFIG_NAME = "study.yaml"
OUTCOME_KINDS = ("nps", "ordinal", "binary", "continuous")
NA_POLICIES = ("indicator", "complete")

# The contract's keys, from the typed definition of study.yaml (cx_helpers.schema): a nested dict
# of allowed keys (None: a leaf; "*": a mapping of user names).
SCHEMA = key_tree()


def closest(name, choices) -> str:
    """The fix for a mistyped name: the closest valid one, or the list of valid ones.

    Parameters
    ----------
    name : str
        The name given.
    choices : iterable
        The valid names.

    Returns
    -------
    str

    Examples
    --------
    >>> closest("ltrr", ["ltr", "osat"])
    "did you mean 'ltr'?"
    >>> closest("zzz", ["ltr", "osat"])
    'valid: ltr, osat'
    """
    match = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.5)
    return f"did you mean '{match[0]}'?" if match else f"valid: {', '.join(map(str, choices))}"


def check_keys(node, schema, where, problems, file) -> None:
    """Append a problem for every key of ``node`` that the schema does not allow.

    Parameters
    ----------
    node : dict
        A mapping of the config (the whole config at the top).
    schema : dict
        Allowed keys (:data:`SCHEMA`, from :func:`cx_helpers.schema.key_tree`): a nested dict
        whose leaves are None and where ``"*"`` stands for names the user chooses.
    where : str
        The dotted path of ``node`` ("" at the top), for the messages.
    problems : list
        Receives a :class:`~cx_helpers.StudyError` per unknown key, with the closest allowed one.
    file : Path
        study.yaml, for the messages.

    Examples
    --------
    >>> problems = []
    >>> check_keys({"outcome": {}}, SCHEMA, "", problems, "study.yaml")
    >>> "did you mean 'outcomes'?" in str(problems[0])
    True
    """
    if not isinstance(node, dict):
        problems.append(StudyError(f"'{where}' must be a mapping, found {type(node).__name__}.",
                                   file=file))
        return
    for key, value in node.items():
        if "*" in schema:
            sub = schema["*"]
        elif key in schema:
            sub = schema[key]
        else:
            problems.append(StudyError(
                f"unknown config key '{where + '.' if where else ''}{key}'.", file=file,
                fix=f"{closest(key, list(schema))} (see data/README.md)"))
            continue
        if isinstance(sub, dict) and value is not None:
            check_keys(value, sub, f"{where + '.' if where else ''}{key}", problems, file)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML keeps the last)."""


def _unique_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        try:
            key = loader.construct_object(key_node, deep=True)
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key: left to the schema check
            continue
        if duplicate:
            raise _DuplicateKey(key, key_node.start_mark.line + 1)
    return loader.construct_mapping(node, deep=deep)


class _DuplicateKey(Exception):
    def __init__(self, key, line):
        super().__init__(key, line)
        self.key, self.line = key, line


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _whole(value, lowest):
    return (isinstance(value, int) and not isinstance(value, bool) and value >= lowest)


def _names(value):
    return isinstance(value, list) and all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                           for v in value)


def check_values(config, problems, file) -> None:
    """Check the type and range of the config's plain values (keys are checked elsewhere).

    Parameters
    ----------
    config : dict
        The config as read by :func:`read_config`.
    problems : list
        Receives a :class:`~cx_helpers.StudyError` per bad value (seed, min_base, lists of
        names, weight, table paths, the journeys' gap and repeat days).
    file : Path
        study.yaml, for the messages.

    Examples
    --------
    >>> problems = []
    >>> check_values({"min_base": 0}, problems, "study.yaml")
    >>> print(problems[0])
    study.yaml: min_base is 0. Expected a whole number of respondents, 1 or more (e.g. min_base: 30).
    """
    def bad(message, expected, fix=None):
        problems.append(StudyError(message, file=file, expected=expected, fix=fix))

    if "seed" in config and not _whole(config["seed"], 0):
        bad(f"seed is {config['seed']!r}.", "a whole number, 0 or more (e.g. seed: 20261122)")
    if "min_base" in config and not _whole(config["min_base"], 1):
        bad(f"min_base is {config['min_base']!r}.",
            "a whole number of respondents, 1 or more (e.g. min_base: 30)")
    for key in ("stages", "segments", "pii"):
        if config.get(key) is not None and not _names(config[key]):
            bad(f"{key} is {config[key]!r}.", "a list of names, e.g. [a, b]",
                f"write {key}: [{config[key]}] for a single name." if isinstance(
                    config[key], str) else None)
    if config.get("weight") is not None and not isinstance(config["weight"], str):
        bad(f"weight is {config['weight']!r}.", "the name of one survey column, e.g. weight: w")
    for role, spec in (config.get("tables") or {}).items():
        if isinstance(spec, dict) and spec.get("path") is not None \
                and not isinstance(spec["path"], str):
            bad(f"tables.{role}.path is {spec['path']!r}.",
                "a file name relative to the study folder, e.g. path: survey.csv")
    events = (config.get("journeys") or {}).get("events") or {}
    if isinstance(events, dict):
        for key in ("gap_days", "repeat_days"):
            value = events.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(
                    value, (int, float)) or not value > 0):
                bad(f"journeys.events.{key} is {value!r}.", "a number of days above 0")
        starts = events.get("starts")
        if starts is not None and not _names(starts):
            bad(f"journeys.events.starts is {starts!r}.", "a list of touchpoint ids")


def read_config(root: Path) -> dict:
    """Read ``study.yaml`` of a study folder: UTF-8 YAML, a mapping, no key given twice.

    Parameters
    ----------
    root : Path
        The study folder.

    Returns
    -------
    dict

    Raises
    ------
    StudyError
        A missing folder or file, another encoding, invalid YAML or a duplicate key (with its
        line), each with the fix.
    """
    path = root / CONFIG_NAME
    if not root.exists():
        raise StudyError("the study folder does not exist.", file=root,
                         fix="give the path of a folder holding study.yaml.")
    if not path.is_file():
        raise StudyError("no study.yaml in the study folder.", file=path,
                         fix="create study.yaml (see data/README.md) or run `cx synth --out DIR`.")
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise StudyError("the file is UTF-16 text.", file=path, expected="UTF-8 text",
                         fix="save study.yaml as UTF-8 (any text editor can).")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StudyError(f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position "
                         f"{exc.start}).", file=path, expected="UTF-8 text",
                         fix="save study.yaml as UTF-8 (any text editor can).") from None
    try:
        config = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except _DuplicateKey as dup:
        raise StudyError(f"duplicate key '{dup.key}' (line {dup.line}): YAML would silently "
                         "keep only the last one.", file=path,
                         fix=f"give '{dup.key}' once (merge the two entries).") from None
    except yaml.YAMLError as exc:
        raise StudyError(f"not valid YAML ({exc}).", file=path,
                         fix="correct the YAML syntax.") from None
    if not isinstance(config, dict):
        raise StudyError("study.yaml must be a mapping of keys to values.", file=path)
    return config


def inside(root: Path, path: Path, what, problems, file, allowed=()) -> bool:
    """Whether ``path`` may be read: inside the study folder, or in a folder opted in to.

    Parameters
    ----------
    root : Path
        The study folder.
    path : Path
        The file to read (symbolic links are followed).
    what : str
        The config key naming it, for the message.
    problems : list
        Receives a :class:`~cx_helpers.StudyError` when the path lies outside.
    file : Path
        study.yaml, for the message.
    allowed : sequence of Path
        The folders ``read_outside:`` opts in to (:func:`outside_folders`).

    Returns
    -------
    bool
    """
    target = path.resolve()
    if any(target.is_relative_to(Path(folder).resolve()) for folder in (root, *allowed)):
        return True
    problems.append(StudyError(
        f"{what} points outside the study folder ({path}).", file=file,
        expected="a file inside the study folder (a study reads nothing outside it unless its "
                 "folder is listed under read_outside:)",
        fix="copy the file into the study folder and give its name relative to it, or list "
            "its folder under read_outside: in study.yaml to read it where it is."))
    return False


def outside_folders(config, root: Path, problems, file) -> list[Path]:
    """The folders outside the study that ``read_outside:`` opts in to (tables only).

    Parameters
    ----------
    config : dict
    root : Path
        The study folder (relative folders are taken from it).
    problems : list
        Receives a :class:`~cx_helpers.StudyError` per folder that does not exist.
    file : Path
        study.yaml, for the messages.

    Returns
    -------
    list of Path
    """
    value = config.get("read_outside")
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(StudyError(f"read_outside is {value!r}.", file=file,
                                   expected="a list of folders, e.g. [../shared/exports]",
                                   fix="list the folders whose files the study may read."))
        return []
    folders = []
    for v in value:
        folder = root / v
        if not folder.is_dir():
            problems.append(StudyError(f"read_outside names {v!r}, which is not a folder.",
                                       file=file, fix="give existing folders (relative to the "
                                                      "study, or absolute)."))
        else:
            folders.append(folder)
    return folders
