"""The matrix of study shapes: each named shape of ``cx synth --shape`` writes what its
``truth.json`` says, validates, and (slow) runs end to end into a complete report that recovers
the planted drivers with their signs and says in one line what it skips and why.

The expectations come from ``truth.json`` (``sections``, ``drivers``, ``na``, ``outcome``), never
from a list written by hand per shape.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import time
import types

import nbformat
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import yaml
from statsmodels.miscmodels.ordinal_model import OrderedModel

from conftest import FAST, ROOT
from cx_helpers import load_study, synth
from cx_helpers.cli import main

SEED = 20261123
N = 1500                                                   # respondents (customers: mobile world)
SHAPES = [name for name in synth.SHAPES if name != "sample"]
SURVEY_SHAPES = [name for name in SHAPES if synth.SHAPES[name].world != "mobile"]
TEXT_SHAPES = [name for name in SHAPES if synth.SHAPES[name].outcome.endswith("-text")]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Write each shape once per module: ``written(shape) -> (folder, truth)``."""
    base = tmp_path_factory.mktemp("shapes")
    cache = {}

    def get(shape):
        if shape not in cache:
            out = synth.write_study(base / shape, customers=N, seed=SEED, shape=shape)
            cache[shape] = out, json.loads((out / "truth.json").read_text())
        return cache[shape]

    return get


def _raw(folder, name="survey.csv"):
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


# ---------------------------------------------------------------------------------------------
# fast: the generator writes what truth.json says


def test_every_shape_is_documented_in_the_readme():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Study shapes", 1)[1].split("\n## ", 1)[0]
    for name, shape in synth.SHAPES.items():
        assert f"`{name}`" in section, name
    assert "--shape" in section


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_validates_and_its_sections_follow_its_inputs(shape, written, capsys):
    folder, truth = written(shape)
    assert main(["validate", str(folder)]) == 0
    assert "valid" in capsys.readouterr().out
    study = load_study(folder)
    sections = truth["sections"]
    has_survey = len(study.respondents) > 0
    assert truth["options"] == synth.SHAPES[shape].options()
    assert sections["nps"] == any(o.kind == "nps" for o in study.outcome_specs.values())
    assert sections["events"] == (study.events is not None)
    assert sections["segments"] == (has_survey and bool(study.segments))
    assert sections["declared_journeys"] == bool(study.journeys)
    assert sections["journey_ratings"] == (study.journey_ratings.shape[1] > 0)
    assert sections["drivers"] == (has_survey and bool(study.outcome_specs))
    assert sections["touchpoint_impact"] == sections["drivers"]
    assert sections["journey_comparison"] == (sections["drivers"] and (
        bool(study.journeys) or study.events is not None))
    if truth["main_outcome"] is not None:
        # the main outcome is the study's first: the notebooks' default
        first = next(iter(study.outcome_specs.values()))
        assert first.name == truth["main_outcome"] == truth["drivers"]["outcome"]
        assert set(truth["drivers"]["effects"]) == set(study.rated_touchpoints)
    if shape in SURVEY_SHAPES:
        assert len(study.respondents) == truth["respondents"] == N
        assert first.kind == truth["outcome"]["kind"]
        assert study.has_weight == synth.SHAPES[shape].weights


@pytest.mark.parametrize("shape", SURVEY_SHAPES)
def test_not_applicable_codes_as_planted(shape, written):
    folder, truth = written(shape)
    config_na = truth["na"]
    raw = _raw(folder)
    study = load_study(folder)
    cols = study.catalog.set_index("touchpoint")["column"]
    code = config_na["code"]
    masks = {}
    for tp in study.rated_touchpoints:
        text = raw[cols[tp]]
        na = (text == str(code)).to_numpy() if code is not None else np.zeros(len(raw), bool)
        blank = (text == "").to_numpy()
        masks[tp] = na
        assert round(na.mean(), 4) == config_na["rates"][tp], tp
        assert round(blank.mean(), 4) == config_na["blank_rates"][tp], tp
        # not applicable is missing, never a low score
        assert np.array_equal(study.ratings[tp].isna().to_numpy(), na | blank), tp
    items = config_na["items"]
    others = [tp for tp in masks if tp not in items]
    assert all(not masks[tp].any() for tp in others)
    if config_na["kind"] == "none":
        assert items == [] and all(v == 0 for v in config_na["blank_rates"].values())
        assert not (raw[cols.to_numpy()] == "").any().any()
    elif config_na["kind"] == "rare":
        stacked = np.column_stack([masks[tp] for tp in items])
        assert all(0.015 < masks[tp].mean() < 0.07 for tp in items)
        co = stacked.all(axis=1).sum() / stacked.any(axis=1).sum()
        assert round(co, 4) == config_na["co_occurrence"] and co > 0.5   # the same respondents
    else:   # structural: a whole group applies to some respondents only
        first = masks[items[0]]
        assert all(np.array_equal(masks[tp], first) for tp in items)
        assert 0.4 < first.mean() < 0.7


@pytest.mark.parametrize("shape", TEXT_SHAPES)
def test_text_coded_outcome_maps_to_its_values(shape, written):
    folder, truth = written(shape)
    out = truth["outcome"]
    codes = out["codes"]
    raw = _raw(folder)[out["column"]]
    assert set(raw.unique()) == set(codes)
    loaded = load_study(folder).respondents[out["name"]].to_numpy(dtype=float)
    assert np.array_equal(loaded, raw.map(codes).to_numpy(dtype=float))
    assert round(loaded.mean(), 4) == out["mean"]


def _design(folder, truth):
    """Drivers as planted, (r_t - c_t) * rated_t, plus segment dummies (reference: effect 0)."""
    study = load_study(folder)
    tps = list(truth["drivers"]["effects"])
    r = study.ratings[tps]
    centers = pd.Series(truth["touchpoint_centers"])[tps]
    x = (r - centers).fillna(0.0)
    for col, effects in truth["segment_effects"].items():
        ref = min(effects, key=lambda v: abs(effects[v]))
        for value in effects:
            if value != ref:
                x[f"{col}={value}"] = (study.respondents[col] == value).astype(float)
    y = study.respondents[truth["main_outcome"]].to_numpy(dtype=float)
    return x.astype(float), y, tps


@pytest.mark.parametrize("shape", SURVEY_SHAPES)
def test_an_independent_fit_recovers_the_planted_effects(shape, written):
    folder, truth = written(shape)
    x, y, tps = _design(folder, truth)
    kind = truth["outcome"]["kind"]
    if kind == "ordinal":
        fit = OrderedModel(y, x, distr="logit").fit(method="bfgs", disp=False, maxiter=500)
    elif kind == "binary":
        fit = sm.Logit(y, sm.add_constant(x)).fit(disp=False)
    else:
        fit = sm.OLS(y, sm.add_constant(x)).fit()
    est, se, low, high = fit.params, fit.bse, fit.conf_int()[0], fit.conf_int()[1]
    beta = pd.Series(truth["drivers"]["effects"])[tps]
    assert np.corrcoef(est[tps], beta)[0, 1] > 0.8
    if synth.SHAPES[shape].journeys != "rated":     # else the journey experience is omitted
        assert ((est[tps] - beta).abs() < 4 * se[tps]).all(), (est[tps] - beta) / se[tps]
    for tp in tps:
        if abs(beta[tp]) >= 0.2 * (5.0 if kind == "continuous" else 1.0):
            assert np.sign(est[tp]) == truth["drivers"]["sign"][tp], tp
    for tp in truth["drivers"]["negative"]:
        assert high[tp] < 0, tp
    assert len(truth["drivers"]["negative"]) == int(synth.SHAPES[shape].negative_driver)
    for col, effects in truth["segment_effects"].items():
        for value, effect in effects.items():
            key = f"{col}={value}"
            if key in est:
                assert low[key] - 0.1 < effect < high[key] + 0.1, key
    if synth.SHAPES[shape].segments == "driving":
        seg = [c for c in x.columns if "=" in c]
        tp_part = x[tps].to_numpy() @ est[tps].to_numpy()
        seg_part = x[seg].to_numpy() @ est[seg].to_numpy()
        assert seg_part.var() > tp_part.var()         # segments carry most of what is explained
        biggest = max(abs(e) for v in truth["segment_effects"].values() for e in v.values())
        assert biggest > 2 * max(abs(b) for b in beta) * x[tps].std().max()


def test_mobile_shapes_reuse_the_sample_world(written):
    folder, truth = written("nps-events")
    header = _raw(folder).columns
    assert not any(c.startswith("q_j_") for c in header)
    assert "journeys" not in yaml.safe_load((folder / "study.yaml").read_text())
    assert truth["drivers"]["effects"] == {tp: v[5] for tp, v in synth.TOUCHPOINTS.items()}
    assert truth["drivers"]["negative"] == []
    folder, truth = written("events-only")
    assert not (folder / "survey.csv").exists() and not (folder / "outcomes.csv").exists()
    study = load_study(folder)
    assert len(study.respondents) == 0 and truth["main_outcome"] is None
    journeys = pd.read_csv(folder / "truth_journeys.csv")
    assert journeys["n_events"].sum() == len(study.events)
    assert study.events["customer"].nunique() == truth["customers"] == N


@pytest.mark.parametrize("shape", SHAPES)
def test_same_seed_same_files_other_seed_other_files(shape):
    a = synth.shape_files(shape, customers=300, seed=3)
    assert a == synth.shape_files(shape, customers=300, seed=3)
    b = synth.shape_files(shape, customers=300, seed=4)
    data = "survey.csv" if synth.SHAPES[shape].survey else "events.csv"
    assert a[data] != b[data]


def test_cli_writes_a_shape_and_refuses_an_unknown_one(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path / "air"), "--shape", "airline",
                 "--customers", "200", "--seed", "2"]) == 0
    assert "shape 'airline'" in capsys.readouterr().out
    truth = json.loads((tmp_path / "air" / "truth.json").read_text())
    assert truth["shape"] == "airline" and truth["respondents"] == 200
    assert (tmp_path / "air" / "survey.csv").read_text() == \
        synth.shape_files("airline", customers=200, seed=2, name="air")["survey.csv"]
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--out", str(tmp_path / "x"), "--shape", "nope"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# slow: every shape runs end to end

# How each report section shows in a run: the tables it writes; when skipped, the words its
# one-line "skipped because" names.
def _section_present(section, run) -> bool:
    tables = {p.name for p in (run / "tables").glob("*.csv")}
    if section == "journey_ratings":
        if "journey_scoring.csv" not in tables:
            return False
        scoring = pd.read_csv(run / "tables" / "journey_scoring.csv")
        return scoring["score"].astype(str).str.contains("direct").any()
    if section == "touchpoint_impact":     # importance and impact of the inventory
        inventory = pd.read_csv(run / "tables" / "inventory.csv")
        return all(c in inventory and inventory[c].notna().any()
                   for c in ("importance", "impact"))
    return {
        "inventory": "inventory.csv" in tables,
        "nps": "nps.csv" in tables,
        "segments": any("segment" in t for t in tables),
        "drivers": {"driver_models.csv", "importance.csv"} <= tables,
        "events": "journeys.csv" in tables,
        "declared_journeys": "journey_scoring.csv" in tables,
        "journey_comparison": "journey_vs_touchpoint.csv" in tables,
    }[section]


SECTION_WORDS = {
    "touchpoint_impact": r"(importance|impact)",
    "nps": r"(0-10|recommend|Net Promoter|NPS)",
    "segments": r"segment",
    "drivers": r"(survey|outcome|driver)",
    "events": r"(event|interaction log)",
    "declared_journeys": r"journey",
    "journey_ratings": r"(direct|journey rating|rate[sd]? .*journey|journey.* rated)",
    "journey_comparison": r"(journey|compar)",
}
SKIP = r"(skip|no |not |without|none)"
SKIP_LINE = 250        # characters: a line saying what is skipped, not a paragraph of prose
# sections that must not appear at all when their input is absent (others may be built from
# another input: journey scores from the event log, say)
NEVER_WITHOUT_INPUT = ("nps", "events", "journey_ratings")


@pytest.fixture(scope="module", params=SHAPES)
def shape_run(request, tmp_path_factory):
    """One ``cx run`` per shape (small bootstrap), shared by every end-to-end assertion.

    The sample's own shape runs end to end in ``two_runs`` (tests/conftest.py), and its planted
    drivers are recovered in tests/test_drivers.py, so it is not run a third time here."""
    shape = request.param
    base = tmp_path_factory.mktemp(f"run-{shape}")
    study = synth.write_study(base / shape, customers=N, seed=SEED, shape=shape)
    start = time.perf_counter()
    err, out = io.StringIO(), io.StringIO()
    # `cx run` in this process (its exit code, its messages): saves the start-up of a new one
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(["run", str(study), "--out", str(base / "run"), "--quiet", *FAST])
    res = types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())
    seconds = time.perf_counter() - start
    return {"shape": shape, "truth": json.loads((study / "truth.json").read_text()),
            "study": study, "run": base / "run", "result": res, "seconds": seconds}


def _failed_cells(run):
    failures = []
    for path in sorted((run / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for k, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    failures.append(f"{path.name} cell {k}: {out['ename']}: {out['evalue']}")
    return failures


def _report_text(run):
    html = (run / "report.html").read_text()
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"data:image/[^\"']+", " ", text)
    return re.sub(r"[ \t]+", " ", re.sub(r"<[^>]+>", "\n", text))


@pytest.mark.slow
def test_run_completes_with_no_failed_cell(shape_run):
    res, run = shape_run["result"], shape_run["run"]
    failed = _failed_cells(run) if (run / "notebooks").is_dir() else []
    assert res.returncode == 0 and not failed, (res.stderr[-2000:], failed)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "ok" and (run / "report.html").is_file()


@pytest.mark.slow
def test_report_holds_no_console_output(shape_run):
    run = shape_run["run"]
    assert (run / "report.html").is_file(), shape_run["result"].stderr[-2000:]
    text = _report_text(run)
    leaks = [m.group(0) for pattern in (r"Traceback", r"\b[A-Z]\w*(Warning|Error)\b",
                                        r"\d+%\|", r"<Figure size", r"\bdtype: ")
             for m in [re.search(pattern, text)] if m]
    assert not leaks, f"console output in the report: {leaks}"


@pytest.mark.slow
def test_report_has_every_allowed_section_and_says_what_it_skips(shape_run):
    run, truth = shape_run["run"], shape_run["truth"]
    assert (run / "report.html").is_file(), shape_run["result"].stderr[-2000:]
    lines = [ln.strip() for ln in _report_text(run).splitlines() if ln.strip()]
    sections = truth["sections"]
    problems = []
    for section, allowed in sections.items():
        present = _section_present(section, run)
        if allowed and not present:
            problems.append(f"{section}: allowed by the inputs but missing")
            continue
        if allowed:
            continue
        if present and section in NEVER_WITHOUT_INPUT:
            problems.append(f"{section}: shown though the study has no input for it")
        said = [ln for ln in lines if len(ln) <= SKIP_LINE and re.search(SKIP, ln, re.I)
                and re.search(SECTION_WORDS[section], ln, re.I)]
        if section == "journey_ratings":
            # no declared journeys: the line on those covers it; declared but not rated: the
            # scoring table says how each journey is scored instead
            scored = (run / "tables" / "journey_scoring.csv").is_file()
            if not sections["declared_journeys"] or scored:
                said = said or ["(said by the declared journeys' line or their scoring table)"]
        if section == "nps":
            # not a section of its own: the outcomes are measured by their kind, and no NPS
            # figure may appear
            figure = [ln for ln in lines if re.search(
                r"\b(NPS|Net Promoter Score)\b\s*(of|is|:|=)?\s*[+\-\u2212]?\d+\.\d", ln)]
            if figure:
                problems.append(f"nps: a figure without a 0-10 question: {figure[0][:120]}")
            said = said or ["(the outcomes table measures each outcome by its kind)"]
        if not said:
            problems.append(f"{section}: skipped without a line saying so")
    assert not problems, problems


@pytest.mark.slow
def test_planted_drivers_are_recovered_with_their_signs(shape_run):
    run, truth = shape_run["run"], shape_run["truth"]
    drivers = truth.get("drivers")
    if drivers is None:
        pytest.skip(f"shape {shape_run['shape']} has no survey, so no drivers to recover")
    imp = pd.read_csv(run / "tables" / "importance.csv")
    imp = imp[imp["outcome"] == drivers["outcome"]]
    assert (imp["level"] == "driver").any(), f"no driver-level importance for {drivers['outcome']}"
    problems = []
    segment_rows = imp[imp["level"] == "segment"]
    imp = imp[imp["level"] == "driver"]
    for method, rows in imp.groupby("method"):
        if method == "lmg_segments":        # touchpoints beside segments: checked below
            continue
        ranks = rows.set_index("driver")["rank"]
        for tp in drivers["top"]:
            if not ranks.get(tp, np.inf) <= 5:
                problems.append(f"{method}: planted top driver {tp} ranks {ranks.get(tp)}")
        if "sign" in rows:
            signs = rows.set_index("driver")["sign"]
            for tp in drivers["negative"]:
                if signs.get(tp) != -1:
                    problems.append(f"{method}: negative driver {tp} has sign {signs.get(tp)}")
        else:
            problems.append("importance.csv has no sign column")
    if synth.SHAPES[shape_run["shape"]].segments == "driving":
        # segments that drive the outcome show as such beside the touchpoints
        beside = imp[imp["method"] == "lmg_segments"]
        if segment_rows.empty or beside.empty:
            problems.append("segments that drive the outcome get no importance beside the "
                            "touchpoints (no lmg_segments rows)")
        elif not segment_rows["share"].max() > beside["share"].max():
            problems.append(f"the largest segment share {segment_rows['share'].max():.1f} is "
                            f"below a touchpoint's {beside['share'].max():.1f}")
    coef = pd.read_csv(run / "tables" / "driver_coefficients.csv")
    coef = coef[coef["outcome"] == drivers["outcome"]].set_index("driver")["coef"]
    for tp, sign in drivers["sign"].items():
        big = abs(drivers["effects"][tp]) >= 0.25 * (5.0 if drivers["kind"] == "continuous"
                                                      else 1.0)
        if (big or tp in drivers["negative"]) and np.sign(coef.get(tp, np.nan)) != sign:
            problems.append(f"coefficient of {tp}: {coef.get(tp)}, planted sign {sign}")
    assert not problems, problems


@pytest.mark.slow
def test_report_words_come_from_the_study(shape_run):
    run, truth = shape_run["run"], shape_run["truth"]
    assert (run / "report.html").is_file(), shape_run["result"].stderr[-2000:]
    text = _report_text(run)
    study = load_study(shape_run["study"])
    problems = []
    if synth.SHAPES[shape_run["shape"]].world != "mobile":
        # nothing of the bundled sample leaks into another study's report
        own = set(study.stages) | set(study.catalog["label"])
        foreign = ([s for s in synth.STAGES if s not in own]
                   + [v[0] for v in synth.TOUCHPOINTS.values() if v[0] not in own]
                   + ["Northwind"])
        for word in foreign:
            hit = re.search(rf"\b{re.escape(word)}\b", text, re.I)
            if hit:
                problems.append(f"{word!r}: ...{text[max(0, hit.start() - 80):hit.end() + 40]}...")
    if truth["main_outcome"] is not None:
        label = study.outcome_specs[truth["main_outcome"]].label
        if label.lower() not in text.lower():
            problems.append(f"the main outcome's label {label!r} is not in the report")
        labels = study.catalog.set_index("touchpoint")["label"]
        for tp in truth["drivers"]["top"]:
            if labels[tp] not in text:
                problems.append(f"top driver {tp} is not named by its label {labels[tp]!r}")
    assert not problems, problems
