"""The JSON Schema of study.yaml (cx schema) and the loader's key check come from one typed
definition (cx_helpers.schema.CONFIG)."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from conftest import EXAMPLES, SAMPLE, cx

from cx_helpers import config as study_mod
from cx_helpers.schema import CONFIG, json_schema, key_tree

STUDIES = [SAMPLE / "study.yaml"] + sorted(EXAMPLES.glob("*/study.yaml"))


def test_loader_checks_keys_from_the_typed_definition():
    assert study_mod.SCHEMA == key_tree()


def test_schema_is_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(json_schema())


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.parent.name)
def test_bundled_studies_pass_the_schema(path):
    config = yaml.safe_load(path.read_text())
    jsonschema.validate(config, json_schema(), cls=jsonschema.Draft202012Validator)


def _paths(tree, prefix=()):
    for key, sub in tree.items():
        yield prefix + (key,)
        if isinstance(sub, dict):
            yield from _paths(sub, prefix + (key,))


def _config_with(path):
    node = {}
    config = node
    for key in path[:-1]:
        name = "x" if key == "*" else key
        node[name] = {}
        node = node[name]
    node["y" if path[-1] == "*" else path[-1]] = None
    return config


def test_every_schema_key_is_accepted_and_a_typo_is_refused_by_both(tmp_path):
    """The schema and the loader agree key by key: each key the definition lists passes the
    loader's check, and a misspelt one fails both."""
    for path in _paths(key_tree()):
        if path[-1] == "*":
            continue
        problems = []
        study_mod.check_keys(_config_with(path), study_mod.SCHEMA, "", problems, "study.yaml")
        assert not problems, (path, problems)
    schema = json_schema()
    bad = {"name": "x", "tables": {"survey": {"path": "s.csv", "sheeet": "Data"}}}
    with pytest.raises(jsonschema.ValidationError, match="sheeet"):
        jsonschema.validate(bad, schema)
    problems = []
    study_mod.check_keys(bad, study_mod.SCHEMA, "", problems, "study.yaml")
    assert problems and "sheet" in str(problems[0])
    wrong_kind = {"outcomes": {"ltr": {"column": "q", "kind": "nsp"}}}
    with pytest.raises(jsonschema.ValidationError, match="nsp"):
        jsonschema.validate(wrong_kind, schema)


def test_definition_enums_match_the_loader():
    assert tuple(CONFIG["outcomes"].keys["kind"].enum) == study_mod.OUTCOME_KINDS
    assert tuple(CONFIG["na"].enum) == study_mod.NA_POLICIES
    from cx_helpers.readers import FORMATS
    assert tuple(CONFIG["tables"].keys["survey"].keys["format"].enum) == FORMATS


def test_cx_schema_prints_it():
    res = cx("schema")
    assert res.returncode == 0
    assert json.loads(res.stdout) == json_schema()


def test_every_synthetic_shape_passes_the_schema(tmp_path):
    """The configs `cx synth` writes for each study shape use only keys and types the schema
    allows (and every draft of `cx init` is checked in tests/test_init.py)."""
    from cx_helpers.synth import SHAPES, write_study

    for shape in SHAPES:
        out = write_study(tmp_path / shape, customers=200, seed=1, shape=shape)
        config = yaml.safe_load((out / "study.yaml").read_text())
        jsonschema.validate(config, json_schema(), cls=jsonschema.Draft202012Validator)
