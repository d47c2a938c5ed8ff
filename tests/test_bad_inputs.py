"""A corpus of bad and unusual inputs, each with its expected class.

Every case starts from a small synthetic study (written once), breaks or bends one thing, runs
``cx validate`` and checks the outcome:

* ``refuse``: exit 2, no traceback, and the message names what it must (the file or key, and the
  words a user needs to fix it); a refusal never quotes a file's contents;
* ``accept``: exit 0, and the loaded numbers are checked against an independent computation;
* ``warn``: exit 0 with a warning that names the column or the counts.

No input file may change: every file of the study (and the files planted outside it) is hashed
before and after. The counts per family and class are printed at the end of the run.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cx_helpers import load_study
from cx_helpers.cli import main

SECRET = "password=hunter2-do-not-echo"
COUNTS: Counter = Counter()


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A small synthetic study (400 customers), written once."""
    from cx_helpers.synth import write_study

    return write_study(tmp_path_factory.mktemp("base") / "study", customers=400, seed=3)


@pytest.fixture(scope="module", autouse=True)
def _print_counts(request):
    yield
    if COUNTS:
        lines = [f"bad-input corpus: {sum(COUNTS.values())} cases checked"]
        lines += [f"  {family:<8} {kind:<7} {n}" for (family, kind), n in sorted(COUNTS.items())]
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print("\n" + "\n".join(lines), flush=True)


# ---------------------------------------------------------------------------------------------
# helpers that bend a study folder
# ---------------------------------------------------------------------------------------------

def config(study: Path) -> dict:
    return yaml.safe_load((study / "study.yaml").read_text())


def set_config(study: Path, **changes):
    cfg = config(study)
    for dotted, value in changes.items():
        node = cfg
        *parents, last = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        if value is _DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    (study / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


_DELETE = object()


def edit_yaml_text(study: Path, old: str, new: str):
    text = (study / "study.yaml").read_text()
    assert old in text, old
    (study / "study.yaml").write_text(text.replace(old, new, 1))


def survey(study: Path) -> pd.DataFrame:
    return pd.read_csv(study / "survey.csv", dtype=str, keep_default_na=False)


def set_survey(study: Path, df: pd.DataFrame, name="survey.csv"):
    df.to_csv(study / name, index=False)


def events(study: Path) -> pd.DataFrame:
    return pd.read_csv(study / "events.csv", dtype=str, keep_default_na=False)


def set_events(study: Path, df: pd.DataFrame):
    df.to_csv(study / "events.csv", index=False)


def survey_cell(column, value, rows=(0,)):
    def mutate(study):
        df = survey(study)
        for r in rows:
            df.loc[r, column] = value
        set_survey(study, df)
    return mutate


def survey_column(column, value):
    def mutate(study):
        df = survey(study)
        df[column] = value
        set_survey(study, df)
    return mutate


def cfg(**changes):
    return lambda study: set_config(study, **changes)


def raw_survey(transform):
    """Rewrite survey.csv's bytes."""
    def mutate(study):
        path = study / "survey.csv"
        path.write_bytes(transform(path.read_bytes()))
    return mutate


def nps_of(study_dir: Path) -> float:
    """NPS of the raw survey file, computed independently of the package (weighted)."""
    df = pd.read_csv(study_dir / "survey.csv")
    cfg_ = config(study_dir)
    col = cfg_["outcomes"]["ltr"]["column"]
    w = pd.to_numeric(df[cfg_["weight"]])
    x = pd.to_numeric(df[col], errors="coerce")
    ok = x.notna()
    return 100 * (w[ok & (x >= 9)].sum() - w[ok & (x <= 6)].sum()) / w[ok].sum()


def check_nps(study_dir: Path, study):
    from cx_helpers import metrics

    got = metrics.nps(study.respondents["ltr"], study.respondents["weight"]).value
    assert got == pytest.approx(nps_of(study_dir), abs=1e-9)


# ---------------------------------------------------------------------------------------------
# the corpus: (family, name, mutation, expected, words or check)
# ---------------------------------------------------------------------------------------------

def _symlink_out(study):
    outside = study.parent / "outside.csv"
    shutil.copy(study / "survey.csv", outside)
    (study / "survey.csv").unlink()
    os.symlink(outside, study / "survey.csv")


def _outside_copy(study):
    shutil.copy(study / "survey.csv", study.parent / "outside.csv")
    set_config(study, tables__survey__path="../outside.csv")


def _absolute(study):
    shutil.copy(study / "survey.csv", study.parent / "outside.csv")
    set_config(study, tables__survey__path=str((study.parent / "outside.csv").resolve()))


def _secret_logo(study):
    (study.parent / "secret.txt").write_text(SECRET)
    set_config(study, branding__logo="../secret.txt")


def _text_logo(study):
    (study / "logo.png").write_text(SECRET)
    set_config(study, branding__logo="logo.png")


def _good_logo(study):
    # a real 1x1 PNG
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae"
                        "426082")
    (study / "logo.png").write_bytes(png)
    set_config(study, branding__logo="logo.png")


def _dup_columns(study):
    text = (study / "survey.csv").read_text().splitlines()
    header = text[0].split(",")
    header[header.index("q_chat")] = "q_faq_page"
    (study / "survey.csv").write_text("\n".join([",".join(header), *text[1:]]) + "\n")


def _ragged(study):
    lines = (study / "survey.csv").read_text().splitlines()
    lines[5] = lines[5].replace(",", ",extra,", 1)
    (study / "survey.csv").write_text("\n".join(lines) + "\n")


def _events_future(study):
    df = events(study)
    df.loc[3, "timestamp"] = "2999-01-01T00:00:00+00:00"
    set_events(study, df)


def _events_no_match(study):
    df = events(study)
    df["customer_id"] = "X" + df["customer_id"]
    set_events(study, df)


def _events_some_unmatched(study):
    df = events(study)
    df.loc[:9, "customer_id"] = "NOBODY"
    set_events(study, df)


def _catalog_bad_stage(study):
    df = pd.read_csv(study / "touchpoints.csv", dtype=str)
    df.loc[2, "stage"] = "nowhere"
    df.to_csv(study / "touchpoints.csv", index=False)


def _catalog_dup(study):
    df = pd.read_csv(study / "touchpoints.csv", dtype=str)
    df.loc[3, "touchpoint"] = df.loc[2, "touchpoint"]
    df.to_csv(study / "touchpoints.csv", index=False)


def _unpii(columns):
    def mutate(study):
        cfg_ = config(study)
        cfg_["pii"] = [c for c in cfg_.get("pii", []) if c not in columns]
        (study / "study.yaml").write_text(yaml.safe_dump(cfg_, sort_keys=False))
    return mutate


def _add_phone(study):
    df = survey(study)
    df["contact"] = [f"+44 20 7946 {i:04d}" for i in range(len(df))]
    set_survey(study, df)


def _xlsx(study):
    (study / "survey.csv").write_bytes(b"PK\x03\x04" + b"\x14\x00\x06\x00" + os.urandom(200))


def _gzip(study):
    data = (study / "survey.csv").read_bytes()
    (study / "survey.csv").write_bytes(gzip.compress(data, mtime=0))


def _secret_text(study):
    (study / "survey.csv").write_text(SECRET + "\n")


def _utf16_yaml(study):
    text = (study / "study.yaml").read_text()
    (study / "study.yaml").write_bytes(text.encode("utf-16"))


def _latin1_yaml(study):
    text = (study / "study.yaml").read_text().replace("client: ", "client: Caf\u00e9 ", 1)
    (study / "study.yaml").write_bytes(text.encode("latin-1"))


def _latin1_survey(study):
    df = survey(study)
    df.loc[0, "region"] = "Z\u00fcrich"
    (study / "survey.csv").write_bytes(df.to_csv(index=False).encode("latin-1"))


def _quoted_segment(study):
    df = survey(study)
    df.loc[:, "region"] = df["region"].where(df["region"] != "North", "North, coast")
    set_survey(study, df)


def _check_quoted_segment(study_dir, study):
    assert "North, coast" in set(study.respondents["region"])
    check_nps(study_dir, study)


def _reordered(study):
    df = survey(study)
    set_survey(study, df[list(reversed(df.columns))])


def _padded(study):
    df = survey(study)
    df["q_recommend"] = " " + df["q_recommend"] + " "
    set_survey(study, df)


def _check_weights_sum(study_dir, study):
    raw = pd.to_numeric(pd.read_csv(study_dir / "survey.csv")["weight"])
    assert study.respondents["weight"].sum() == pytest.approx(raw.sum())
    check_nps(study_dir, study)


def _constant_outcome(study):
    survey_column("q_recommend", "8")(study)


# --- where a table lives (cx_helpers.sources): Parquet datasets, DuckDB files, databases -----

def _events_from(**spec):
    """tables.events read from somewhere else than its CSV (the path: key removed)."""
    def mutate(study):
        changes = {"tables__events__path": _DELETE}
        changes.update({f"tables__events__{k}": v for k, v in spec.items()})
        set_config(study, **changes)
    return mutate


def _events_parquet_folder(study):
    df = events(study)
    for i, part in enumerate((df.iloc[: len(df) // 3], df.iloc[len(df) // 3:])):
        folder = study / "event_log" / f"part={i}"
        folder.mkdir(parents=True)
        part.to_parquet(folder / "data.parquet", index=False)
    set_config(study, tables__events__path="event_log")


def _check_parquet_events(study_dir, study):
    raw = pd.read_csv(study_dir / "events.csv", dtype=str)
    assert len(study.events) == len(raw)
    assert sorted(study.events["customer"]) == sorted(raw["customer_id"])


_NO_DB = "postgresql://cx@127.0.0.1:1/cx"   # port 1: nothing listens, the connection is refused


CASES = [
    # --- config values ---------------------------------------------------------------------
    ("config", "stages as a string", cfg(stages="awareness"), "refuse", ["stages", "list"]),
    ("config", "na_codes text word", cfg(na_codes="nine"), "refuse", ["na_codes"]),
    ("config", "weight as a list", cfg(weight=["weight"]), "refuse", ["weight"]),
    ("config", "path is a number", cfg(tables__survey__path=123), "refuse", ["path"]),
    ("config", "min_base text", cfg(min_base="thirty"), "refuse", ["min_base", "whole number"]),
    ("config", "min_base negative", cfg(min_base=-5), "refuse", ["min_base"]),
    ("config", "min_base fraction", cfg(min_base=2.5), "refuse", ["min_base"]),
    ("config", "min_base zero", cfg(min_base=0), "refuse", ["min_base"]),
    ("config", "seed text", cfg(seed="abc"), "refuse", ["seed", "whole number"]),
    ("config", "seed negative", cfg(seed=-1), "refuse", ["seed"]),
    ("config", "seed fraction", cfg(seed=1.5), "refuse", ["seed"]),
    ("config", "gap_days text", cfg(journeys__events__gap_days="seven"), "refuse", ["gap_days"]),
    ("config", "gap_days negative", cfg(journeys__events__gap_days=-1), "refuse", ["gap_days"]),
    ("config", "repeat_days text", cfg(journeys__events__repeat_days="x"), "refuse",
     ["repeat_days"]),
    ("config", "duplicate top-level key",
     lambda s: edit_yaml_text(s, "seed:", "min_base: 40\nseed:"), "refuse",
     ["duplicate", "min_base"]),
    ("config", "duplicate touchpoint key",
     lambda s: edit_yaml_text(s, "  store_visit:", "  website_browse:\n    column: q_website_browse\n"
                                                    "    scale: [1, 5]\n  store_visit:"),
     "refuse", ["duplicate", "website_browse"]),
    ("config", "segments as a string", cfg(segments="region"), "refuse", ["segments", "list"]),
    ("config", "unknown segment column", cfg(segments=["regoin"]), "refuse", ["regoin", "region"]),
    ("config", "pii typo", cfg(pii=["emial", "full_name"]), "refuse", ["pii", "emial", "email"]),
    ("config", "rating_scale reversed", cfg(rating_scale=[5, 1]), "refuse", ["rating_scale"]),
    ("config", "rating_scale text", cfg(rating_scale="1-5"), "refuse", ["rating_scale"]),
    ("config", "touchpoint scale one number", cfg(touchpoints__chat__scale=[1]), "refuse",
     ["chat", "scale"]),
    ("config", "outcome kind unknown", cfg(outcomes__osat__kind="likert"), "refuse",
     ["osat", "kind"]),
    ("config", "outcome column missing", cfg(outcomes__osat__column="q_overal"), "refuse",
     ["q_overal", "q_overall"]),
    ("config", "ordinal outcome without scale", cfg(outcomes__osat__scale=_DELETE), "refuse",
     ["osat", "scale"]),
    ("config", "outcomes as a list", cfg(outcomes=["ltr"]), "refuse", ["outcomes", "mapping"]),
    ("config", "touchpoints as a list", cfg(touchpoints=["chat"]), "refuse",
     ["touchpoints", "mapping"]),
    ("config", "misspelt top-level key", cfg(segmnets=["region"]), "refuse", ["segmnets",
                                                                              "segments"]),
    ("config", "YAML in Latin-1", _latin1_yaml, "refuse", ["study.yaml", "UTF-8"]),
    ("config", "YAML in UTF-16", _utf16_yaml, "refuse", ["study.yaml", "UTF-8"]),
    ("config", "YAML empty", lambda s: (s / "study.yaml").write_text(""), "refuse",
     ["study.yaml"]),
    ("config", "YAML a list", lambda s: (s / "study.yaml").write_text("- a\n- b\n"), "refuse",
     ["study.yaml", "mapping"]),
    ("config", "YAML syntax error", lambda s: edit_yaml_text(s, "seed:", "seed: [\nx:"),
     "refuse", ["study.yaml", "YAML"]),
    ("config", "colour not hex", cfg(branding__primary_colour="red"), "refuse",
     ["primary_colour"]),
    ("config", "unknown na policy", cfg(na="sometimes"), "refuse", ["na", "indicator"]),
    ("config", "no tables", cfg(tables=_DELETE), "refuse", ["tables"]),
    ("config", "survey path missing", cfg(tables__survey__path=_DELETE), "refuse", ["path"]),
    ("config", "weight column missing", cfg(weight="wieght"), "refuse", ["wieght", "weight"]),
    ("config", "survey id column missing", cfg(tables__survey__id="resp_id"), "refuse",
     ["resp_id"]),
    ("config", "journey lists unknown touchpoint",
     cfg(journeys__declared__buy__touchpoints=["website_browse", "shop"]), "refuse",
     ["buy", "shop"]),
    ("config", "journey with no touchpoints", cfg(journeys__declared__buy__touchpoints=[]),
     "refuse", ["buy"]),
    ("config", "journey starts unknown touchpoint",
     cfg(journeys__events__starts=["website_brows"]), "refuse", ["website_brows",
                                                                 "website_browse"]),
    ("config", "client as a mapping (caught by the typed definition)", cfg(client={"a": 1}),
     "refuse", ["client", "cx schema"]),
    ("config", "description as a list (caught by the typed definition)",
     cfg(description=["a", "b"]), "refuse", ["description"]),
    ("config", "numeric study name", cfg(name=123), "accept",
     lambda d, s: (s.name == "123") or pytest.fail(s.name)),
    ("config", "name that is a path", cfg(name="../../x"), "accept",
     lambda d, s: s.name == "../../x"),
    # --- paths outside the study -------------------------------------------------------------
    ("paths", "table path with ..", _outside_copy, "refuse", ["outside", "study folder"]),
    ("paths", "absolute table path", _absolute, "refuse", ["outside", "study folder"]),
    ("paths", "symlink leading out", _symlink_out, "refuse", ["outside", "study folder"]),
    ("paths", "events path with ..", cfg(tables__events__path="../events.csv"), "refuse",
     ["outside", "study folder"]),
    ("paths", "logo outside the study", _secret_logo, "refuse", ["logo", "study folder"]),
    ("paths", "logo that is not an image", _text_logo, "refuse", ["logo", "image"]),
    ("paths", "logo missing", cfg(branding__logo="nope.png"), "refuse", ["logo", "not found"]),
    ("paths", "real logo", _good_logo, "accept", lambda d, s: None),
    ("paths", "table path is a folder", cfg(tables__survey__path="."), "refuse", ["survey"]),
    ("paths", "table file missing", cfg(tables__survey__path="survey2.csv"), "refuse",
     ["survey2.csv", "not found"]),
    # --- unreadable files ---------------------------------------------------------------------
    ("files", "semicolon-delimited", raw_survey(lambda b: b.replace(b",", b";")), "refuse",
     ["survey.csv", "semicolon"]),
    ("files", "tab-delimited", raw_survey(lambda b: b.replace(b",", b"\t")), "refuse",
     ["survey.csv", "tab"]),
    ("files", "Latin-1 text", _latin1_survey, "refuse", ["survey.csv", "UTF-8"]),
    ("files", "UTF-16 text", raw_survey(lambda b: b.decode().encode("utf-16")), "refuse",
     ["survey.csv", "UTF-16"]),
    ("files", "Excel workbook renamed", _xlsx, "refuse", ["survey.csv", "Excel"]),
    ("files", "gzip renamed", _gzip, "refuse", ["survey.csv", "gzip"]),
    ("files", "ragged row", _ragged, "refuse", ["survey.csv", "row 5"]),
    ("files", "empty file", raw_survey(lambda b: b""), "refuse", ["survey.csv", "empty"]),
    ("files", "header only", raw_survey(lambda b: b.split(b"\n")[0] + b"\n"), "refuse",
     ["survey.csv", "empty"]),
    ("files", "binary junk", raw_survey(lambda b: bytes(range(256)) * 4), "refuse",
     ["survey.csv"]),
    ("files", "text that is not a table", _secret_text, "refuse", ["survey.csv"]),
    ("files", "UTF-8 with BOM", raw_survey(lambda b: b"\xef\xbb\xbf" + b), "accept", check_nps),
    ("files", "CRLF line ends", raw_survey(lambda b: b.replace(b"\n", b"\r\n")), "accept",
     check_nps),
    ("files", "columns reordered", _reordered, "accept", check_nps),
    ("files", "extra unused column", survey_column("notes_extra", "x"), "accept", check_nps),
    ("files", "quoted comma in a segment", _quoted_segment, "accept", _check_quoted_segment),
    ("files", "padded numbers", _padded, "accept", check_nps),
    # --- data problems ------------------------------------------------------------------------
    ("data", "duplicate column names", _dup_columns, "refuse", ["survey.csv", "q_faq_page",
                                                                "duplicate"]),
    ("data", "constant outcome", _constant_outcome, "refuse", ["q_recommend", "8"]),
    ("data", "all-missing rating (N/A code)", survey_column("q_chat", "9"), "refuse",
     ["q_chat"]),
    ("data", "all-blank rating", survey_column("q_chat", ""), "refuse", ["q_chat"]),
    ("data", "all-missing outcome", survey_column("q_overall", ""), "refuse", ["q_overall"]),
    ("data", "weight infinite", survey_cell("weight", "inf", rows=(2,)), "refuse",
     ["weight", "row 3"]),
    ("data", "weight negative", survey_cell("weight", "-1", rows=(4,)), "refuse",
     ["weight", "row 5"]),
    ("data", "weight zero", survey_cell("weight", "0", rows=(4,)), "refuse", ["weight"]),
    ("data", "weight missing", survey_cell("weight", "", rows=(6,)), "refuse",
     ["weight", "row 7"]),
    ("data", "weight text", survey_cell("weight", "heavy", rows=(1,)), "refuse",
     ["weight", "heavy"]),
    ("data", "blank customer id", survey_cell("customer_id", "", rows=(3,)), "refuse",
     ["customer_id", "row 4"]),
    ("data", "blank respondent id", survey_cell("respondent_id", "", rows=(3,)), "refuse",
     ["respondent_id", "row 4"]),
    ("data", "duplicate respondent id", survey_cell("respondent_id", "R00001", rows=(1,)),
     "refuse", ["respondent_id", "duplicate"]),
    ("data", "rating outside the scale", survey_cell("q_chat", "7", rows=(1,)), "refuse",
     ["q_chat", "row 2", "7"]),
    ("data", "rating text", survey_cell("q_chat", "good", rows=(1,)), "refuse",
     ["q_chat", "good"]),
    ("data", "recommend 11", survey_cell("q_recommend", "11", rows=(2,)), "refuse",
     ["q_recommend", "11"]),
    ("data", "recommend 7.5", survey_cell("q_recommend", "7.5", rows=(2,)), "refuse",
     ["q_recommend", "whole"]),
    ("data", "events match no respondent", _events_no_match, "refuse",
     ["events.csv", "customer_id", "match"]),
    ("data", "some events match no respondent", _events_some_unmatched, "warn",
     ["events.csv", "NOBODY"]),
    ("data", "events in the future", _events_future, "refuse", ["events.csv", "future",
                                                                "row 4"]),
    ("data", "event time unparseable", lambda s: set_events(
        s, events(s).assign(timestamp=lambda d: d["timestamp"].where(d.index != 5, "yesterday"))),
     "refuse", ["events.csv", "yesterday"]),
    ("data", "event on unknown touchpoint", lambda s: set_events(
        s, events(s).assign(touchpoint=lambda d: d["touchpoint"].where(d.index != 2, "kiosk"))),
     "refuse", ["events.csv", "kiosk"]),
    ("data", "blank event customer", lambda s: set_events(
        s, events(s).assign(customer_id=lambda d: d["customer_id"].where(d.index != 2, ""))),
     "refuse", ["events.csv", "row 3"]),
    ("data", "catalog stage unknown", _catalog_bad_stage, "refuse", ["touchpoints.csv",
                                                                     "nowhere"]),
    ("data", "catalog duplicate id", _catalog_dup, "refuse", ["touchpoints.csv", "duplicate"]),
    ("data", "outcomes duplicate customer", lambda s: pd.concat(
        [pd.read_csv(s / "outcomes.csv", dtype=str)] * 2).to_csv(s / "outcomes.csv", index=False),
     "refuse", ["outcomes.csv", "duplicate"]),
    ("data", "binary outcome not yes/no", lambda s: pd.read_csv(s / "outcomes.csv", dtype=str)
     .assign(churned=lambda d: d["churned"].where(d.index != 1, "maybe"))
     .to_csv(s / "outcomes.csv", index=False), "refuse", ["outcomes.csv", "maybe"]),
    ("data", "constant binary outcome", lambda s: pd.read_csv(s / "outcomes.csv", dtype=str)
     .assign(churned="0").to_csv(s / "outcomes.csv", index=False), "refuse",
     ["outcomes.csv", "churned"]),
    ("data", "N/A code as text digits", lambda s: None, "accept",
     lambda d, s: s.ratings.isna().any().any() or pytest.fail("no N/A")),
    ("data", "weights sum", lambda s: None, "accept", _check_weights_sum),
    ("data", "segment value formula-like", survey_cell("region", "=1+1", rows=(0, 1)), "accept",
     lambda d, s: "=1+1" in set(s.respondents["region"])),
    ("data", "segment value path-like", survey_cell("region", "../../x", rows=(0, 1)), "accept",
     lambda d, s: "../../x" in set(s.respondents["region"])),
    # --- where a table lives: Parquet datasets, DuckDB files, SQL databases -----------------
    ("config", "database URL holding a password",
     _events_from(database="postgresql://cx:password=hunter2-do-not-echo@localhost/cx",
                  table="events"), "refuse",
     ["tables.events.database", "password", "environment variable", "password_env"]),
    ("config", "database URL with a password parameter",
     _events_from(database="postgresql://cx@localhost/cx?password=hunter2-do-not-echo",
                  table="events"), "refuse", ["tables.events.database", "password_env"]),
    ("config", "password variable not set",
     _events_from(database=_NO_DB, table="events", password_env="CX_NO_SUCH_VARIABLE_7Q"),
     "refuse", ["tables.events.password_env", "CX_NO_SUCH_VARIABLE_7Q", "not set"]),
    ("config", "path and database together",
     cfg(tables__events__database=_NO_DB, tables__events__table="events"), "refuse",
     ["tables.events", "path and database", "exactly one"]),
    ("config", "table and query together",
     _events_from(database=_NO_DB, table="events", query="SELECT * FROM events"), "refuse",
     ["tables.events", "both table: and query:"]),
    ("config", "database without a table or query", _events_from(database=_NO_DB), "refuse",
     ["tables.events", "table: or query:"]),
    ("config", "table given with a file path", cfg(tables__events__table="events"), "refuse",
     ["tables.events", "table:", "not with path:"]),
    ("config", "table with nowhere to read it from", _events_from(table="events"), "refuse",
     ["tables.events", "nowhere", "database"]),
    ("config", "database URL that is not a URL", _events_from(database="my database",
                                                              table="events"),
     "refuse", ["tables.events.database", "not a database URL"]),
    ("files", "database refusing the connection", _events_from(database=_NO_DB, table="events"),
     "refuse", ["cannot connect", "127.0.0.1:1 ", "server"]),
    ("config", "file format with a database",
     _events_from(database=_NO_DB, table="events", delimiter=";"), "refuse",
     ["tables.events", "delimiter:", "need no parsing"]),
    ("files", "DuckDB file missing", _events_from(duckdb="warehouse.duckdb", table="events"),
     "refuse", ["warehouse.duckdb", "not found"]),
    ("files", "DuckDB file that is a CSV", _events_from(duckdb="events.csv", table="events"),
     "refuse", ["events.csv", "not a DuckDB database"]),
    ("paths", "DuckDB file outside the study", _events_from(duckdb="../w.duckdb", table="e"),
     "refuse", ["outside", "study folder"]),
    ("config", "spark with a password variable",
     _events_from(spark="local[1]", table="events", password_env="CX_PW"), "refuse",
     ["tables.events", "password_env", "Spark does not use"]),
    ("config", "spark and path together", cfg(tables__events__spark="local[1]",
                                              tables__events__table="events"),
     "refuse", ["tables.events", "path and spark", "exactly one"]),
    ("config", "unknown journey engine", cfg(journeys__events__engine="polars"), "refuse",
     ["journeys.events.engine", "polars", "duckdb", "spark"]),
    ("paths", "Parquet glob matching nothing", cfg(tables__events__path="log/*.parquet"),
     "refuse", ["log/*.parquet", "no Parquet file"]),
    ("paths", "Parquet glob leading out", cfg(tables__events__path="../*/events.csv"),
     "refuse", ["outside", "study folder"]),
    ("files", "Parquet folder, hive-partitioned", _events_parquet_folder, "accept",
     _check_parquet_events),
    # --- personal data ------------------------------------------------------------------------
    ("pii", "pii names a missing column", cfg(pii=["email", "fullname"]), "refuse",
     ["pii", "fullname", "full_name"]),
    ("pii", "undeclared e-mail column", _unpii(["email"]), "warn", ["email", "pii"]),
    ("pii", "undeclared names column", _unpii(["full_name"]), "warn", ["full_name", "pii"]),
    ("pii", "undeclared phone column", _add_phone, "warn", ["contact", "pii"]),
    ("pii", "declared PII never loaded", lambda s: None, "accept",
     lambda d, s: not ({"email", "full_name"} & set(s.frame().columns)) or pytest.fail("pii")),
]


def _hashes(folder: Path) -> dict:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize("family, name, mutate, expected, check", CASES,
                         ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_bad_input(base, tmp_path, family, name, mutate, expected, check):
    study = tmp_path / "study"
    shutil.copytree(base, study)
    mutate(study)
    before = _hashes(tmp_path)
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(["validate", str(study)])
    message = err.getvalue() + out.getvalue()
    assert _hashes(tmp_path) == before, "an input file changed"
    assert "Traceback" not in message
    assert SECRET not in message, "a file's contents were echoed"
    if expected == "refuse":
        assert code == 2, message
        for word in check:
            assert word.lower() in message.lower(), (word, message)
    else:
        assert code == 0, message
        if expected == "warn":
            assert "warning" in message.lower(), message
            for word in check:
                assert word.lower() in message.lower(), (word, message)
        else:
            assert "warning" not in message.lower(), message
            check(study, load_study(study))
    COUNTS[(family, expected)] += 1


def test_corpus_is_large_and_covers_every_family():
    families = Counter(c[0] for c in CASES)
    assert len(CASES) >= 100
    assert set(families) == {"config", "paths", "files", "data", "pii"}
    assert len({c[1] for c in CASES}) == len(CASES)


def test_read_outside_opts_in_to_a_folder(base, tmp_path):
    """A table outside the study is read only from a folder the config lists under read_outside."""
    study = tmp_path / "study"
    shutil.copytree(base, study)
    exports = tmp_path / "exports"
    exports.mkdir()
    shutil.move(study / "survey.csv", exports / "survey.csv")
    set_config(study, tables__survey__path="../exports/survey.csv")
    with pytest.raises(Exception, match="read_outside"):
        load_study(study)
    set_config(study, read_outside=["../exports"])
    loaded = load_study(study)
    assert len(loaded.respondents) == len(pd.read_csv(exports / "survey.csv"))
    set_config(study, read_outside=["../nowhere"])
    with pytest.raises(Exception, match="not a folder"):
        load_study(study)
