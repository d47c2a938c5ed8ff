"""The public API a researcher guesses: cx.load, cx.inventory, cx.key_drivers, cx.journeys,
cx.compare -- the same tables as the modules behind them, keyword-only options, the study's
defaults, and unknown names refused with the closest one."""

from __future__ import annotations

import inspect
import re

import matplotlib
import pandas as pd
import pytest

import cx_helpers as cx
from cx_helpers import drivers, inventory, journeys, synth
from tests.conftest import EXAMPLES, ROOT, SAMPLE

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def study():
    return cx.load(SAMPLE)


def test_the_five_calls_are_the_modules_functions(study):
    pd.testing.assert_frame_equal(cx.inventory(study, min_base=50),
                                  inventory.touchpoint_inventory(study, min_base=50))
    pd.testing.assert_frame_equal(cx.key_drivers(study, outcomes=["osat"]),
                                  drivers.key_drivers(study, outcomes=["osat"]))
    helpdesk = cx.load(EXAMPLES / "helpdesk-log")
    pd.testing.assert_frame_equal(cx.journeys(helpdesk),
                                  journeys.journey_log(helpdesk).journeys())
    # compare: the journeys of the event log join model J, as notebook 03 does
    log = journeys.journey_log(study)
    by_hand = journeys.compare_all(study, outcomes=["osat"], journeys=log.journeys(),
                                   n_repeats=1, n_boot=30, seed=study.seed)
    pd.testing.assert_frame_equal(cx.compare(study, outcomes=["osat"], n_repeats=1, n_boot=30),
                                  by_hand)
    assert set(by_hand["basis"]) >= {"direct rating and event log"}


def test_seed_defaults_to_the_studys(study):
    """Seeds come from one place: seed=None is the study's seed, another seed changes the
    bootstrap intervals but not the point estimates."""
    default = cx.key_drivers(study, outcomes=["osat"], methods=["lmg"], n_boot=40)
    same = cx.key_drivers(study, outcomes=["osat"], methods=["lmg"], n_boot=40, seed=study.seed)
    other = cx.key_drivers(study, outcomes=["osat"], methods=["lmg"], n_boot=40,
                           seed=study.seed + 1)
    pd.testing.assert_frame_equal(default, same)
    pd.testing.assert_series_equal(default["share"], other["share"])
    assert not default["share_low"].equals(other["share_low"])


def test_confidence_widens_the_intervals(study):
    kw = dict(outcomes=["osat"], methods=["lmg"], n_boot=40)
    narrow = cx.key_drivers(study, confidence=0.5, **kw)
    wide = cx.key_drivers(study, confidence=0.95, **kw)
    assert ((wide["share_high"] - wide["share_low"])
            > (narrow["share_high"] - narrow["share_low"])).all()


@pytest.mark.parametrize("call", [
    lambda s: cx.key_drivers(s, outcomes=["ltrr"]),
    lambda s: cx.inventory(s, outcome="ltrr"),
    lambda s: cx.compare(s, outcomes=["ltrr"], n_repeats=1, n_boot=10),
    lambda s: drivers.driver_model(s, "ltrr"),
])
def test_an_unknown_outcome_names_the_closest(study, call):
    with pytest.raises(cx.StudyError, match="did you mean 'ltr'"):
        call(study)


def test_an_unknown_touchpoint_names_the_closest(study):
    with pytest.raises(cx.StudyError, match="did you mean 'online_checkout'"):
        cx.key_drivers(study, outcomes=["osat"], drivers=["online_chekout", "chat"])
    with pytest.raises(cx.StudyError, match="'region' is not a segment|not a segment"):
        drivers.driver_model(study, "osat", controls=["regon"])


def test_options_are_keyword_only():
    for func in (cx.load, cx.key_drivers, cx.compare, journeys.journeys,
                 inventory.touchpoint_inventory, journeys.compare_all):
        params = list(inspect.signature(func).parameters.values())
        assert params[1:], func
        assert all(p.kind is p.KEYWORD_ONLY for p in params[1:]), func.__name__


def test_one_name_and_one_default_for_each_idea():
    """confidence (never level), weights (never weight), seed=None (the study's), na=None (the
    study's policy)."""
    import cx_helpers.journeys.compare as jc
    import cx_helpers.metrics as metrics
    for module in (drivers, inventory, journeys, jc, metrics, journeys.timeline):
        for name, func in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or func.__module__ != module.__name__:
                continue
            params = inspect.signature(func).parameters
            assert "level" not in params, f"{module.__name__}.{name}: use confidence"
            assert "weight" not in params, f"{module.__name__}.{name}: use weights"
            if "seed" in params and "study" in params:
                assert params["seed"].default is None, f"{module.__name__}.{name}"
            if "na" in params:
                assert params["na"].default is None, f"{module.__name__}.{name}"
            if "confidence" in params:
                assert params["confidence"].default == 0.95, f"{module.__name__}.{name}"


def test_journeys_without_an_event_log_is_a_clear_error(tmp_path):
    from tests.conftest import survey_study
    df = pd.DataFrame({"rid": range(40), "a": [1, 2, 3, 4, 5] * 8, "y": [2, 3, 3, 4, 5] * 8})
    st = survey_study(tmp_path / "s", df, {"y": {"column": "y", "kind": "ordinal",
                                                 "scale": [1, 5]}}, ["a"])
    with pytest.raises(cx.StudyError, match="no event log.*journey_scores"):
        cx.journeys(st)


def test_a_study_prints_a_summary(study):
    text = repr(study)
    assert text.splitlines()[0] == f"Study 'sample' ({SAMPLE})"
    assert f"respondents: {len(study.respondents):,}" in text
    assert f"events: {len(study.events):,}" in text
    assert "outcomes: ltr (nps), osat (ordinal)" in text


@pytest.mark.slow
def test_the_readme_python_quick_start_runs(monkeypatch, tmp_path):
    """The README's five-line notebook runs as written, from a folder laid out like the
    repository's root whose ``data/sample`` is a smaller study of the sample's design (the
    full sample takes over a minute of the suite; the README's lines are the same)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    part = readme[readme.index("<!-- python-quick-start -->"):]
    code = re.search(r"```python\n(.*?)```", part, re.S).group(1)
    assert all(call in code for call in ("cx.load(", "cx.inventory(", "cx.key_drivers(",
                                         "cx.compare(", "cx.plots."))
    synth.write_study(tmp_path / "data" / "sample", customers=600, seed=3)
    monkeypatch.chdir(tmp_path)
    names: dict = {}
    exec(compile(code, "README.md", "exec"), names)
    assert isinstance(names["drivers"], pd.DataFrame) and len(names["drivers"])
    assert isinstance(names["comparison"], pd.DataFrame) and len(names["comparison"])
