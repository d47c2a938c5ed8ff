"""One reconstruction, two engines: the same journey tables from embedded DuckDB and from Apache
Spark (local mode), on the sample, the real helpdesk ticket log and the real clickstream; Parquet
datasets and Spark DataFrames as inputs; and a study whose events live in Spark, run end to end.

Spark needs PySpark and Java 17+; the tests skip without them unless CX_REQUIRE_SPARK is set
(CI sets it, and `.ci/run` installs Java when it is missing). A Spark session takes seconds
to start, so every test that uses one is marked slow.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import EXAMPLES, FAST, SAMPLE
from pandas.testing import assert_frame_equal

import cx_helpers as cx
from cx_helpers import StudyError, synth
from cx_helpers.cli import main
from cx_helpers.journeys import journey_log, reconstruct_journeys
from cx_helpers.outputs import RunOutput

METHODS = ("journeys", "transitions", "funnel", "touchpoint_coverage", "summary", "customers",
           "events")


def _java_ok() -> bool:
    try:
        return subprocess.run(["java", "-version"], capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.fixture(scope="module")
def spark():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pyspark = None
    if pyspark is None or not _java_ok():
        if os.environ.get("CX_REQUIRE_SPARK"):
            pytest.fail("CX_REQUIRE_SPARK is set but PySpark or Java is missing")
        pytest.skip("PySpark and Java 17+ are needed for the Spark engine")
    from cx_helpers.journeys.engines import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


def _same(a, b) -> None:
    """Every table of two journey logs is equal, values and types."""
    for method in METHODS:
        left, right = getattr(a, method)(), getattr(b, method)()
        assert len(left), method
        assert_frame_equal(left, right, obj=method)


@pytest.mark.slow
@pytest.mark.parametrize("study", [SAMPLE, EXAMPLES / "helpdesk-log",
                                   EXAMPLES / "ecom-clickstream"],
                         ids=["sample", "helpdesk", "clickstream"])
def test_duckdb_and_spark_give_the_same_journeys(spark, study):
    st = cx.load(study)
    duck = journey_log(st)
    on_spark = journey_log(st, engine="spark", spark=spark)
    assert duck.engine.name == "duckdb" and on_spark.engine.name == "spark"
    _same(duck, on_spark)
    # and the tables are the real ones: the helpdesk's tickets, the clickstream's sessions
    raw = {"helpdesk-log": ("helpdesk_events.csv.gz", "case_id"),
           "ecom-clickstream": ("ecom.csv.gz", "session_id")}.get(study.name)
    if raw:
        expected = pd.read_csv(study / raw[0], usecols=[raw[1]])[raw[1]].nunique()
        assert len(on_spark.journeys()) == expected


def _tie_log() -> pd.DataFrame:
    """Two customers; c1 has two events at the same instant (a tie) and a third 10 days on."""
    t = pd.Timestamp("2026-03-01 09:00")
    return pd.DataFrame({
        "customer": ["c1", "c2", "c1", "c1", "c2"],
        "time": [t, t, t, t + pd.Timedelta(days=10), t + pd.Timedelta(hours=1)],
        "touchpoint": ["a", "x", "b", "c", "y"],
        "channel": ["web", "app", "phone", "web", "app"],
        "region": ["south", "south", "north", "north", "north"],
    })


@pytest.mark.slow
def test_ties_keep_the_input_order_on_both_engines(spark, tmp_path):
    log = _tie_log()
    # a DataFrame: the row order
    for engine in ("duckdb", "spark"):
        j = reconstruct_journeys(log, gap_days=7, engine=engine, spark=spark).journeys()
        assert list(j["path"]) == ["a > b", "c", "x > y"], engine
    # a hive-partitioned dataset: files in path order (region=north/ before region=south/)
    folder = tmp_path / "events"
    pq.write_to_dataset(pa.Table.from_pandas(log, preserve_index=False), folder,
                        partition_cols=["region"])
    tables = {}
    for engine in ("duckdb", "spark"):
        built = reconstruct_journeys(folder, gap_days=7, engine=engine, spark=spark,
                                     keep=["region"])
        tables[engine] = built
        assert list(built.journeys()["path"]) == ["b > a", "c", "x > y"], engine
        assert set(built.events()["region"]) == {"north", "south"}
    _same(tables["duckdb"], tables["spark"])


@pytest.mark.slow
def test_spark_dataframe_and_parquet_dataset_inputs(spark, tmp_path):
    events = cx.load(SAMPLE).events
    reference = reconstruct_journeys(events, gap_days=7, repeat_days=30)
    from_frame = reconstruct_journeys(spark.createDataFrame(pa.Table.from_pandas(
        events, preserve_index=False)), gap_days=7, repeat_days=30, engine="spark",
        spark=spark)
    _same(reference, from_frame)
    # the same rows in three Parquet files (a glob), in row order: the same journeys
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, part in enumerate((events.iloc[:6000], events.iloc[6000:12000], events.iloc[12000:])):
        part.to_parquet(folder / f"part-{i}.parquet", index=False)
    for engine in ("duckdb", "spark"):
        _same(reference, reconstruct_journeys(str(folder / "*.parquet"), gap_days=7,
                                              repeat_days=30, engine=engine, spark=spark))


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="'duckdb' or 'spark'"):
        reconstruct_journeys(_tie_log(), gap_days=7, engine="polars")


def _spark_study(tmp_path: Path, engine: str) -> Path:
    """A small study of the sample's design whose events are read through Spark (a query over
    a Parquet file) and, with ``engine="spark"``, cut into journeys by Spark."""
    study = synth.write_study(tmp_path / engine, customers=300, seed=8)
    cfg = yaml.safe_load((study / "study.yaml").read_text())
    if engine == "spark":
        events = pd.read_csv(study / "events.csv", dtype=str)
        events.to_parquet(tmp_path / "events.parquet", index=False)
        (study / "events.csv").unlink()
        spec = {k: v for k, v in cfg["tables"]["events"].items() if k != "path"}
        cfg["tables"]["events"] = {"spark": "local[1]", "query": "SELECT * FROM parquet.`"
                                   f"{tmp_path / 'events.parquet'}`", **spec}
        cfg.setdefault("journeys", {}).setdefault("events", {})["engine"] = "spark"
    (study / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return study


@pytest.mark.slow
def test_a_study_reads_its_events_from_spark(spark, tmp_path):
    csv_study, spark_study = _spark_study(tmp_path, "duckdb"), _spark_study(tmp_path, "spark")
    a, b = cx.load(csv_study), cx.load(spark_study)
    assert_frame_equal(a.events, b.events)
    record = [i for i in b.inputs if str(i).startswith("spark ")]
    assert len(record) == 1 and record[0].rows == len(b.events)
    _same(journey_log(a), journey_log(b, spark=spark))


@pytest.mark.slow
def test_a_bad_spark_query_names_the_query(spark, tmp_path):
    study = _spark_study(tmp_path, "spark")
    cfg = yaml.safe_load((study / "study.yaml").read_text())
    cfg["tables"]["events"]["query"] = "SELECT * FROM no_such_table"
    (study / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    with pytest.raises(StudyError) as err:
        cx.load(study)
    assert "no_such_table" in str(err.value) and "query" in str(err.value)


@pytest.mark.slow
def test_the_notebooks_run_unchanged_on_events_from_spark(spark, tmp_path):
    """`cx run` on the study whose events come from Spark, journeys cut by Spark, writes the
    journey tables that DuckDB builds from the same study's CSV."""
    spark_study, csv_study = _spark_study(tmp_path, "spark"), _spark_study(tmp_path, "duckdb")
    run = tmp_path / "run"
    assert main(["run", str(spark_study), "--out", str(run), "--seed", "4", *FAST]) == 0
    assert (run / "report.html").is_file()
    log = journey_log(cx.load(csv_study))
    reference = RunOutput(tmp_path / "reference")
    for name, table in (("journeys", log.journeys()), ("transitions", log.transitions()),
                        ("journey_types", log.summary())):
        reference.table(table, name)
        assert (run / "tables" / f"{name}.csv").read_bytes() == \
            (reference.tables / f"{name}.csv").read_bytes(), name
