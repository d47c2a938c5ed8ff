"""Where the journey reconstruction runs: embedded DuckDB (the default) or Apache Spark.

The reconstruction's heavy pass (numbering customers, ordering each one's events, cutting
journeys, the per-journey measures) is SQL written once, in Spark's dialect, by
:mod:`cx_helpers.journeys.reconstruct`. An engine runs that SQL where the events are:

* :class:`DuckDBEngine` translates it to DuckDB's dialect with `sqlglot
  <https://sqlglot.com>`_ and runs it in the in-process connection;
* :class:`SparkEngine` runs it as written in a Spark session (local or a cluster) and brings
  back only the compact results, a row per journey and per customer, into the same local
  DuckDB connection, where everything downstream (types, repeat flags, funnels, transitions)
  runs for both engines alike.

Rows that tie in time keep their order in the input: the row number of a DataFrame, or, for
Parquet, the file (files in path order) and the row within it.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb
import numpy as np
import pandas as pd

__all__ = ["DuckDBEngine", "SparkEngine", "spark_session", "to_duckdb"]

ROW_BITS = 40          # _row = file number << ROW_BITS | row within the file


@contextlib.contextmanager
def _quiet():
    """PySpark warns at each pandas conversion that it does not fully support pandas 3; the
    engine hands it Arrow tables (and reads Arrow back), so the warning does not apply."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas",
                                FutureWarning)
        yield


@functools.lru_cache(maxsize=256)
def to_duckdb(sql: str) -> str:
    """Spark SQL translated to DuckDB's dialect (sqlglot)."""
    import sqlglot

    return sqlglot.transpile(sql, read="spark", write="duckdb")[0]


def _lit(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _parquet_files(path: str) -> bool:
    return path.endswith(".parquet") or Path(path).is_dir() or any(c in path for c in "*?[")


def _file_numbers(paths) -> pd.DataFrame:
    """Each file path numbered in path order (``_file, _fn``)."""
    paths = sorted(set(paths), key=lambda p: _local_path(p))
    return pd.DataFrame({"_file": paths, "_fn": np.arange(len(paths), dtype=np.int64)})


def _local_path(uri: str) -> str:
    """A file URI as Spark writes it (``file:/tmp/a%20b.parquet``) as a plain path."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


class DuckDBEngine:
    """Runs the reconstruction in the local DuckDB connection ``con``."""

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def register_events(self, events) -> None:
        """The events as the view ``src_raw``, with the tie-breaking row key ``_row``."""
        con = self.con
        if isinstance(events, (str, Path)):
            path = str(events)
            if not _parquet_files(path):
                con.execute("CREATE VIEW src_raw AS SELECT *, row_number() OVER () AS _row "
                            f"FROM read_csv_auto({_lit(path)})")
                return
            single = path.endswith(".parquet") and not any(c in path for c in "*?[")
            pattern = (str(Path(path) / "**" / "*.parquet") if Path(path).is_dir() else path)
            con.execute(f"CREATE VIEW src_files AS SELECT * FROM read_parquet({_lit(pattern)}, "
                        "filename = true, file_row_number = true, "
                        f"hive_partitioning = {'false' if single else 'true'})")
            names = [r[0] for r in con.execute("SELECT file FROM glob(?)", [pattern]).fetchall()]
            con.register("_files", _file_numbers(names))
            con.execute(f"""
                CREATE VIEW src_raw AS
                SELECT s.* EXCLUDE (filename, file_row_number),
                       (f._fn << {ROW_BITS}) | s.file_row_number AS _row
                FROM src_files s JOIN _files f ON s.filename = f._file""")
        else:
            con.register("src_events", events)
            con.register("src_order",
                         pd.DataFrame({"_row": np.arange(len(events), dtype=np.int64)}))
            con.execute("CREATE VIEW src_raw AS SELECT * FROM src_events POSITIONAL JOIN src_order")

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """A small pandas table, visible to the engine's SQL as ``name``."""
        self.con.register(name, frame)

    def create(self, name: str, sql: str) -> None:
        """Materialise the Spark SQL query ``sql`` as the table ``name``."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {to_duckdb(sql)}")

    def rows(self, sql: str) -> list[tuple]:
        """The rows of a (small) Spark SQL query."""
        return self.con.execute(to_duckdb(sql)).fetchall()

    def columns(self, name: str) -> list[str]:
        return [d[0] for d in self.con.execute(f"SELECT * FROM {name} LIMIT 0").description]

    def fetch(self, name: str) -> None:
        """Make the engine's table ``name`` a table of the local connection (here: it is)."""


@functools.lru_cache(maxsize=1)
def _default_session():
    return spark_session()


def spark_session(master: str | None = None, config: dict | None = None):
    """A Spark session for the reconstruction: the active one, or a new one.

    Parameters
    ----------
    master : str, optional
        The cluster's master URL (``spark://host:7077``, ``yarn``, ``local[4]``...). Default:
        the active session's, else ``local[*]`` (every core of this machine).
    config : dict, optional
        Further Spark settings (e.g. ``{"spark.driver.memory": "8g"}``), applied when the
        session is created.

    Notes
    -----
    The session's time zone is set to UTC, so that event times without a zone are read as UTC
    (as DuckDB reads them).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:      # pragma: no cover - depends on the installation
        raise ImportError("engine: spark needs PySpark: pip install 'cx-helpers[spark]' "
                          "(and Java 17 or newer).") from exc
    builder = SparkSession.builder.appName("cx-helpers journeys")
    active = SparkSession.getActiveSession()
    if active is None:
        builder = builder.master(master or "local[*]")
        settings = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                    "spark.sql.shuffle.partitions": "8", **(config or {})}
        for key, value in settings.items():
            builder = builder.config(key, value)
    with _quiet():
        spark = builder.getOrCreate()
    if active is None:
        spark.sparkContext.setLogLevel("ERROR")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    return spark


class SparkEngine:
    """Runs the reconstruction in a Spark session; results come back to ``con``.

    The labelled events stay in Spark (cached) until :meth:`fetch` is asked for them: only the
    journey and customer tables cross to the local connection by default.
    """

    name = "spark"

    def __init__(self, con: duckdb.DuckDBPyConnection, spark=None):
        self.con = con
        self.spark = spark if spark is not None else _default_session()
        self.aware = False

    def register_events(self, events) -> None:
        from pyspark.sql import DataFrame, functions as F

        spark = self.spark
        if isinstance(events, DataFrame):
            frame = events.withColumn("_row", F.monotonically_increasing_id())
        elif isinstance(events, (str, Path)):
            path = str(events)
            if _parquet_files(path):
                frame = spark.read.parquet(path).select(
                    "*", F.col("_metadata.file_path").alias("_file"),
                    F.col("_metadata.row_index").alias("_file_row"))
                files = [r[0] for r in frame.select("_file").distinct().collect()]
                with _quiet():
                    numbers = spark.createDataFrame(_file_numbers(files))
                frame = (frame.join(F.broadcast(numbers), "_file")
                         .withColumn("_row", F.shiftleft("_fn", ROW_BITS) + F.col("_file_row"))
                         .drop("_file", "_file_row", "_fn"))
            else:
                frame = (spark.read.csv(path, header=True, inferSchema=True)
                         .withColumn("_row", F.monotonically_increasing_id()))
        else:
            import pyarrow as pa

            table = pa.Table.from_pandas(
                events.assign(_row=np.arange(len(events), dtype=np.int64)), preserve_index=False)
            with _quiet():
                frame = spark.createDataFrame(table)
        kinds = dict(frame.dtypes)
        self.aware = kinds.get("time") == "timestamp"
        if "time" in kinds:                 # one time type inside: instants (UTC session)
            frame = frame.withColumn("time", F.col("time").cast("timestamp"))
        frame.createOrReplaceTempView("src_raw")

    def register(self, name: str, frame: pd.DataFrame) -> None:
        import pyarrow as pa

        with _quiet():
            self.spark.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False)) \
                .createOrReplaceTempView(name)

    def create(self, name: str, sql: str) -> None:
        from pyspark import StorageLevel

        self.spark.sql(sql).persist(StorageLevel.MEMORY_AND_DISK).createOrReplaceTempView(name)

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def columns(self, name: str) -> list[str]:
        return self.spark.table(name).columns

    def fetch(self, name: str) -> None:
        """Copy the Spark table ``name`` into the local connection (times as the input had
        them: with a zone, or as UTC wall-clock times)."""
        from pyspark.sql import functions as F

        frame = self.spark.table(name)
        if not self.aware:
            frame = frame.select(*[F.col(c).cast("timestamp_ntz").alias(c)
                                   if t == "timestamp" else F.col(c)
                                   for c, t in frame.dtypes])
        with _quiet():
            table = frame.toArrow()
        self.con.register("_arrow_in", table)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _arrow_in")
        self.con.unregister("_arrow_in")
