"""benchmarks/journeys.py: the chunked event-log generator, the peak-memory reading and a small
end-to-end run of the benchmark's DuckDB child against its pandas baseline."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    """The benchmark script, imported by path (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_journeys",
                                                  ROOT / "benchmarks" / "journeys.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _log(bench, n, seed, chunk_rows):
    return pa.concat_tables(bench.generate_chunks(n, seed, chunk_rows))


def test_generator_independent_of_chunk_size_and_seeded(bench):
    n = 150_000                                   # 12,500 customers: 4 blocks (the last partial)
    whole = _log(bench, n, 7, 10 ** 9)
    small = list(bench.generate_chunks(n, 7, 40_000))
    assert len(small) == 4 and whole.equals(pa.concat_tables(small))
    assert whole.equals(_log(bench, n, 7, 100_000))
    other = _log(bench, n, 8, 10 ** 9)
    assert other.num_rows != whole.num_rows or not other.equals(whole)


def test_generator_design(bench):
    n = 150_000
    df = _log(bench, n, 7, 40_000).to_pandas()
    assert list(df.columns) == ["customer", "time", "touchpoint", "channel"]
    assert _log(bench, n, 7, 40_000).schema.equals(bench.SCHEMA)
    # 50,000 journeys of 1-5 events (mean 3): the total within 1 % of the requested size
    assert abs(len(df) - n) < 0.01 * n
    # 4 journeys per customer, so 12,500 customers; 20 touchpoints, each on one of 4 channels
    assert df["customer"].nunique() == 12_500
    assert sorted(df["touchpoint"].unique()) == bench.TOUCHPOINTS
    assert df.groupby("touchpoint")["channel"].nunique().eq(1).all()
    assert set(df["channel"]) == set(bench.CHANNELS)
    # rows out of order: neither by customer nor by time
    assert not df["time"].is_monotonic_increasing
    key = df["customer"].str[1:].astype(int)
    assert not key.is_monotonic_increasing
    # each customer's events fall in 4 bursts a month apart: gaps over 7 days = 3 per customer
    ev = df.assign(key=key).sort_values(["key", "time"], kind="stable")
    gap = ev.groupby("key")["time"].diff() > pd.Timedelta(days=7)
    assert gap.sum() == 3 * 12_500


def test_write_log_and_reuse(bench, tmp_path):
    path = tmp_path / "events.parquet"
    rows = bench.write_log(path, 100_000, seed=5, chunk_rows=25_000)
    f = pq.ParquetFile(path)                # 8,334 customers: 3 blocks, a row group each
    assert rows == f.metadata.num_rows and f.metadata.num_row_groups == 3
    assert f.read().equals(_log(bench, 100_000, 5, 10 ** 9).replace_schema_metadata(
        f.schema_arrow.metadata))
    assert bench.existing_log(path, 100_000, 5) == rows
    assert bench.existing_log(path, 100_000, 6) is None
    assert bench.existing_log(tmp_path / "absent.parquet", 100_000, 5) is None
    assert not list(tmp_path.glob("*.part"))


def test_row_hash_adds_up_over_batches(bench):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"customer": [f"C{i}" for i in rng.integers(0, 50, 200)],
                       "start": pd.Timestamp("2026-01-01", tz="UTC")
                       + pd.to_timedelta(rng.integers(0, 10 ** 6, 200), unit="s"),
                       "contacts": rng.integers(1, 6, 200),
                       "channel_switches": rng.integers(0, 3, 200),
                       "path": "a > b", "last": "b"})
    df["end"] = df["start"] + pd.Timedelta(hours=1)
    table = pa.Table.from_pandas(df, preserve_index=False)
    rows, digest = bench._row_hash_batches(table.to_batches(max_chunksize=33))
    assert rows == 200 and digest == bench._row_hash(df)
    assert bench._row_hash(df.iloc[::-1]) == digest                 # order-free
    changed = df.assign(contacts=df["contacts"].where(df.index != 5, 99))
    assert bench._row_hash(changed) != digest
    # times without a zone count as UTC
    naive = df.assign(start=df["start"].dt.tz_localize(None), end=df["end"].dt.tz_localize(None))
    assert bench._row_hash(naive) == digest


def test_tree_peak_includes_children(bench):
    own = bench.tree_peak_mb()
    child = subprocess.Popen([sys.executable, "-c",
                              "b = bytearray(200 * 2**20); import time; time.sleep(30)"])
    try:
        for _ in range(100):              # until the child has touched its 200 MB
            if bench._proc_status(child.pid).get("VmHWM", 0) > 200 * 1024:
                break
            time.sleep(0.05)
        assert child.pid in bench._descendants(os.getpid())
        assert bench.tree_peak_mb() >= own + 200
    finally:
        child.kill()
        child.wait()


def test_duckdb_child_equals_pandas_baseline(bench, tmp_path):
    path = tmp_path / "events.parquet"
    rows = bench.write_log(path, 20_000, seed=2)
    d = bench.run_reconstruct(str(path), memory_limit="1GB",
                              temp_directory=str(tmp_path / "spill"))
    p = bench.run_pandas(str(path))
    assert d["journeys"] == p["journeys"] == 20_000 // 3          # the planted journeys
    assert d["transitions"] == p["transitions"] == rows + 20_000 // 3
    assert d["pairs"] == p["pairs"] and d["row_hash"] == p["row_hash"]
    assert d["full_rows"] == d["journeys"]
    assert d["memory_limit"].replace(" ", "") in ("953.6MiB", "1GB", "1.0GB")
    assert bench.compare({"duckdb": d, "pandas": p}) == []
    bad = dict(p, pairs=p["pairs"][1:])
    assert bench.compare({"duckdb": d, "pandas": bad}) == ["DuckDB and pandas differ in pairs"]


def test_table_and_growth(bench):
    runs = lambda s, j: {"duckdb": {"seconds": s, "peak_mb": 500.0, "journeys": j,
                                    "spill_mb": 0.0},
                         "spark": {"unavailable": "not available (needs engine=spark)"},
                         "pandas": {"skipped": "skipped: est. peak 33 GB > 20 GB"}}
    results = [{"n": 10 ** 6, "rows": 1_000_000, "runs": runs(2.0, 333_333)},
               {"n": 10 ** 7, "rows": 10_000_000, "runs": runs(19.0, 3_333_333)}]
    text = bench.table(results, ["duckdb", "spark", "pandas"])
    lines = text.splitlines()
    assert lines[0].count("|") == lines[1].count("|") == lines[2].count("|") == 13
    assert "| 1,000,000 | 333,333 | 2.00 s | 500 k/s | 500 MiB | 0 | not available" in lines[2]
    assert "skipped: est. peak 33 GB > 20 GB" in lines[3]
    results[1]["runs"]["spark"] = {"error": "stopped after 1500 s (time limit)\nmore",
                                   "rss_sampled_mb": 21127.0}
    assert ("| failed: stopped after 1500 s (time limit) | - | 20.6 GiB (sampled) |"
            in bench.table(results, ["duckdb", "spark", "pandas"]))
    assert bench.growth(results, ["duckdb"]) == (
        "Wall time growth: DuckDB 10M/1M 9.5x (events 10.0x).")


def test_spark_column_without_engine_parameter(bench, monkeypatch):
    import cx_helpers.journeys as cj

    def old_signature(events, gap_days=None, repeat_days=30.0, memory_limit=None,
                      temp_directory=None):
        raise AssertionError("not to be called")

    monkeypatch.setattr(cj, "reconstruct_journeys", old_signature)
    assert bench.run_reconstruct("unused.parquet", engine="spark") == {
        "unavailable": "not available (needs engine=spark)"}


def test_skip_reasons(bench):
    # pandas at 100M events: 10M events took 3.2 GB -> 32 GB > 20 GB
    assert bench.skip_reason("pandas", 100_000_000, pandas_bytes=3.2 * 2 ** 30 / 1e7) == (
        "skipped: est. peak 32 GB > 20 GB")
    assert bench.skip_reason("pandas", 10_000_000, pandas_bytes=500.0) is None
    assert bench.skip_reason("pandas", 100_000_000) == "skipped: est. peak 33 GB > 20 GB"
    # Spark: 20,000 events/s -> 100M in 83 min, more than twice a 25-minute limit
    assert bench.skip_reason("spark", 100_000_000, spark_rate=20_000.0) == (
        "skipped: est. 83 min at the previous size's rate")
    assert bench.skip_reason("spark", 100_000_000, spark_rate=40_000.0) is None   # 42 min
    assert bench.skip_reason("spark", 1_000_000) is None and bench.skip_reason(
        "duckdb", 10 ** 9) is None
