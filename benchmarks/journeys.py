"""Journey reconstruction at scale: DuckDB (in and out of core), Spark local and plain pandas.

    .venv/bin/python benchmarks/journeys.py [--sizes 1000000 10000000 100000000]
        [--memory-limit 8GB] [--spark-memory 8g] [--workdir DIR] [--keep] [--json FILE]

**The log.** For each size a synthetic event log is generated, seeded, and written to one
Parquet file, without ever holding the whole log in memory: customers come in fixed blocks of
``BLOCK`` customers, each block from its own random generator (``default_rng([seed, block])``)
and with its rows shuffled (rows out of order), and blocks are written in chunks of about
``chunk_rows`` rows as Parquet row groups (``pyarrow.parquet.ParquetWriter``). The log is
therefore the same for a size and seed whatever the chunk size. Design: about 3 events per
journey (1-5), 4 journeys per customer a month apart, steps minutes to hours apart, 20
touchpoints on 4 channels. 100 million events (500 MiB of Parquet) took 31 s and 270 MB.
The data go under ``--workdir`` (default: a new temporary folder), deleted at the end unless
``--keep``; a log already there (same size, seed and generator version, recorded in the file's
metadata) is reused.

**The work.** Each approach runs in its own subprocess and is timed from reading the Parquet
file to having the journey table and the transition counts:

* read the events (customer, time, touchpoint, channel), order each customer's events by time
  (ties: file order) and cut journeys at a 7-day gap;
* build the journey table, a row per journey (customer, start, end, contacts, channel switches,
  path of touchpoints joined by " > ", last touchpoint) -- with ``reconstruct_journeys`` as a
  table materialised in its local DuckDB connection (``journey_core`` selected into a
  temporary table; with Spark, the journeys are computed there and brought back), with pandas
  as a DataFrame;
* count the transitions between touchpoints, "(start)" and "(end)" included (a DataFrame).

The approaches:

* **DuckDB**: ``reconstruct_journeys(path, gap_days=7, repeat_days=30,
  memory_limit=--memory-limit, temp_directory=<workdir>/spill)``; beyond the limit DuckDB
  spills to that folder, whose size the parent samples every 0.5 s (allocated blocks: the peak
  spill). After the timed part, ``log.journeys()`` (the full table with types and repeat flags,
  as a pandas DataFrame) is timed on its own ("+ full table"), up to ``--full-table-max``
  events (beyond that, 33 million rows as pandas would not fit the memory limit's spirit).
* **Spark local**: ``reconstruct_journeys(path, ..., engine="spark", spark=session)`` with a
  session built here: ``local[2]``, ``spark.driver.memory`` = ``--spark-memory`` (default 8g:
  the same budget as DuckDB's limit, on a 24 GiB machine; Spark's shuffle files go to
  ``<workdir>/spark-tmp``), ``spark.sql.session.timeZone=UTC``, a shuffle partition per
  million events (at least 4; Spark's default of 200 costs seconds of task overhead on small
  logs) and no limit on results brought to the driver (``spark.driver.maxResultSize=0``: the
  journey table comes back to this process). The session's start (a JVM, several seconds) is
  not timed. ``--spark-input dataframe`` hands it ``spark.read.parquet(path)`` (read within the
  timed part) instead of the path. Where ``reconstruct_journeys`` has no ``engine`` parameter,
  the column says so. A run longer than ``--spark-timeout`` seconds (default 1500) is stopped;
  a size whose estimate (the previous size's time, scaled by the events) exceeds twice that is
  not started.
* **pandas** (the baseline, one process, idiomatic pandas): skipped, with the reason, when its
  estimated peak (the measured bytes per event of a smaller size, else 350 B, times the
  events) exceeds ``--pandas-max-gb`` (default 20).

**Peak memory** is the whole process tree's: at the end of the timed part (before the full
table, the hash and Spark's stop), the child reads ``VmHWM`` (the peak resident memory) of itself and of every descendant
(``/proc/<pid>/task/<tid>/children``, recursively: for Spark, the JVM) and reports their sum,
an upper bound of the tree's simultaneous peak (MiB and GiB, powers of 2; DuckDB's "8GB" is
8 * 10**9 bytes, 7.45 GiB). The parent also samples the tree's ``VmRSS``
every 0.5 s over the child's whole life, the untimed full table and checks included (shown
in the detail lines as ``rss_sampled_mb``). ``VmHWM`` starts afresh at ``exec``, so the
children's figures do not include the parent's memory. The detail lines also give the
machine's mean 1-minute load average during each run (``load_mean``, the run's own threads
included): on a shared machine, the context of the times.

**Checks.** For every size, all approaches that ran must give the same journey count, the
same transition table and the same order-free hash of the journey rows (customer, start, end,
contacts, switches, path, last touchpoint); the hash is computed in batches of rows, so 33
million journeys need no large DataFrame. Results print as one Markdown table (a row per size)
followed by how wall time grows with the log.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

TOUCHPOINTS = [f"tp_{i:02d}" for i in range(20)]
CHANNELS = ["web", "phone", "store", "app"]
PER_CUSTOMER = 4                 # journeys per customer, a month apart
BLOCK = 4096                     # customers per random block (the unit of the seeded streams)
GENERATOR_VERSION = 2            # recorded in the Parquet metadata; bump when the design changes
SCHEMA = pa.schema([("customer", pa.string()), ("time", pa.timestamp("us", tz="UTC")),
                    ("touchpoint", pa.string()), ("channel", pa.string())])
_EPOCH_US = int(pd.Timestamp("2026-01-01", tz="UTC").value // 1000)
APPROACHES = {"duckdb": "DuckDB", "spark": "Spark local", "pandas": "pandas"}


# --------------------------------------------------------------------------- the event log

def _layout(n_events: int) -> tuple[int, int]:
    """Journeys and blocks for a log of about ``n_events`` events."""
    n_journeys = max(1, n_events // 3)
    n_customers = -(-n_journeys // PER_CUSTOMER)
    return n_journeys, -(-n_customers // BLOCK)


def _block(b: int, n_journeys: int, seed: int) -> pa.Table:
    """The events of customers ``b * BLOCK`` ... ``(b + 1) * BLOCK - 1``, rows shuffled."""
    rng = np.random.default_rng([seed, b])
    j = np.arange(b * BLOCK * PER_CUSTOMER, min((b + 1) * BLOCK * PER_CUSTOMER, n_journeys))
    length = rng.integers(1, 6, j.size)                          # 1-5 events, mean 3
    start = (j % PER_CUSTOMER) * 30 * 1440 + rng.integers(0, 1440, j.size)     # minutes
    idx = np.repeat(np.arange(j.size), length)                   # the event's journey
    first = np.ones(idx.size, bool)
    first[1:] = idx[1:] != idx[:-1]
    step_gap = rng.exponential(600, idx.size).astype(np.int64)   # minutes between steps
    step_gap[first] = 0
    elapsed = np.cumsum(step_gap)
    minutes = start[idx] + elapsed - np.repeat(elapsed[first], length)
    tp = rng.integers(0, len(TOUCHPOINTS), idx.size)
    order = rng.permutation(idx.size)                            # rows out of order
    customer = pc.binary_join_element_wise(
        "C", pc.cast(pa.array((j // PER_CUSTOMER)[idx][order]), pa.string()), "")
    return pa.table([customer,
                     pa.array(_EPOCH_US + minutes[order] * 60_000_000, SCHEMA.field("time").type),
                     pc.take(pa.array(TOUCHPOINTS), pa.array(tp[order])),
                     pc.take(pa.array(CHANNELS), pa.array(tp[order] % len(CHANNELS)))],
                    schema=SCHEMA)


def generate_chunks(n_events: int, seed: int = 1, chunk_rows: int = 1_000_000):
    """The log of about ``n_events`` events as Arrow tables of about ``chunk_rows`` rows.

    Each block of ``BLOCK`` customers comes from its own generator, ``default_rng([seed,
    block])``, with its rows shuffled; a chunk is whole blocks. The concatenated log depends on
    ``n_events`` and ``seed`` only, not on ``chunk_rows``. Events: 1-5 per journey (so the total
    is ``n_events`` within a fraction of a percent), ``PER_CUSTOMER`` journeys per customer.
    """
    n_journeys, n_blocks = _layout(n_events)
    blocks_per_chunk = max(1, round(chunk_rows / (3 * PER_CUSTOMER * BLOCK)))
    for c0 in range(0, n_blocks, blocks_per_chunk):
        yield pa.concat_tables([_block(b, n_journeys, seed)
                                for b in range(c0, min(c0 + blocks_per_chunk, n_blocks))])


def generate(n_events: int, seed: int = 1) -> pd.DataFrame:
    """The whole log as a DataFrame (small sizes: tests)."""
    return pa.concat_tables(generate_chunks(n_events, seed)).to_pandas()


def write_log(path: str | Path, n_events: int, seed: int = 1,
              chunk_rows: int = 1_000_000) -> int:
    """Write the log to one Parquet file (a row group per chunk); returns its rows.

    Written to a temporary name and renamed when complete; the size, seed and generator version
    go into the file's metadata (key ``cx_bench``), so that :func:`existing_log` can reuse it.
    """
    path = Path(path)
    part = path.with_name(path.name + ".part")
    meta = {b"cx_bench": json.dumps({"n": n_events, "seed": seed,
                                     "version": GENERATOR_VERSION}).encode()}
    rows = 0
    with pq.ParquetWriter(part, SCHEMA.with_metadata(meta)) as writer:
        for chunk in generate_chunks(n_events, seed, chunk_rows):
            writer.write_table(chunk, row_group_size=chunk.num_rows)
            rows += chunk.num_rows
    part.rename(path)
    return rows


def existing_log(path: str | Path, n_events: int, seed: int) -> int | None:
    """The rows of a complete log at ``path`` written for this size and seed, else None."""
    try:
        f = pq.ParquetFile(path)
        meta = json.loads((f.schema_arrow.metadata or {}).get(b"cx_bench", b"{}"))
    except (OSError, ValueError, pa.ArrowException):
        return None
    if meta == {"n": n_events, "seed": seed, "version": GENERATOR_VERSION}:
        return f.metadata.num_rows
    return None


# --------------------------------------------------------------------------- results and checks

def _us(t: pd.Series) -> pd.Series:
    """Times as microseconds since the epoch (times without a zone are UTC)."""
    t = pd.to_datetime(t)
    if t.dt.tz is None:
        t = t.dt.tz_localize("UTC")
    return (t - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, "us")


def _row_hash(df: pd.DataFrame) -> int:
    """An order-free hash of journey rows (customer, start, end in microseconds, contacts,
    switches, path, last touchpoint): a sum modulo 2**64 of row hashes, so that hashes of
    batches add up to the hash of the table."""
    key = pd.DataFrame({"customer": df["customer"].astype(str), "start": _us(df["start"]),
                        "end": _us(df["end"]), "contacts": df["contacts"].astype("int64"),
                        "switches": df["channel_switches"].astype("int64"),
                        "path": df["path"].astype(str), "last": df["last"].astype(str)})
    return int(pd.util.hash_pandas_object(key, index=False).to_numpy().sum(dtype=np.uint64))


def _row_hash_batches(batches) -> tuple[int, int]:
    """Rows and :func:`_row_hash` of a table given as Arrow record batches."""
    total = rows = 0
    for batch in batches:
        if batch.num_rows:
            total = (total + _row_hash(batch.to_pandas())) % 2 ** 64
            rows += batch.num_rows
    return rows, total


def _pairs(transitions: pd.DataFrame) -> list:
    return sorted([f, t, int(n)] for f, t, n in
                  transitions[["from", "to", "n"]].itertuples(index=False))


def _proc_status(pid: int) -> dict:
    """``VmHWM`` and ``VmRSS`` of a process in kB (empty once it is gone)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    out[line[:5]] = int(line.split()[1])
    except OSError:
        pass
    return out


def _descendants(pid: int) -> list[int]:
    """The process and all its descendants (``/proc/<pid>/task/<tid>/children``)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
    return found


def tree_peak_mb(pid: int | None = None) -> float:
    """The sum of ``VmHWM`` (peak resident memory) over a process and its descendants, in MB."""
    pids = _descendants(os.getpid() if pid is None else pid)
    return sum(_proc_status(p).get("VmHWM", 0) for p in pids) / 1024


def _folder_bytes(folder: Path) -> int:
    """Disk space allocated to the files under ``folder``."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


# --------------------------------------------------------------------------- the approaches

def run_reconstruct(path: str, engine: str = "duckdb", memory_limit: str | None = None,
                    temp_directory: str | None = None, full_table: bool = True,
                    spark_conf: dict | None = None, spark_input: str = "path") -> dict:
    """``reconstruct_journeys`` on the Parquet log: timed until the journey table (materialised
    in its connection) and the transitions exist; then the full table timed on its own.

    ``spark_input="dataframe"`` hands Spark ``spark.read.parquet(path)`` (read inside the
    timed part) instead of the path."""
    import inspect

    from cx_helpers.journeys import reconstruct_journeys

    kwargs = {"gap_days": 7, "repeat_days": 30}
    if memory_limit is not None:
        kwargs["memory_limit"] = memory_limit
    if temp_directory is not None:
        kwargs["temp_directory"] = temp_directory
    spark = None
    out = {}
    if engine == "spark":
        if "engine" not in inspect.signature(reconstruct_journeys).parameters:
            return {"unavailable": "not available (needs engine=spark)"}
        from pyspark.sql import SparkSession

        t = time.perf_counter()
        builder = SparkSession.builder.master("local[2]").appName("cx journeys benchmark")
        for key, value in (spark_conf or {}).items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("WARN")
        out["session_seconds"] = time.perf_counter() - t
        kwargs.update(engine="spark", spark=spark)
    try:
        t0 = time.perf_counter()
        events = spark.read.parquet(path) if spark and spark_input == "dataframe" else path
        log = reconstruct_journeys(events, **kwargs)
        log.con.execute("""CREATE TEMP TABLE bench_journeys AS
                           SELECT kid, jn, customer, start, "end", contacts, channel_switches,
                                  path, last_touchpoint AS last FROM journey_core""")
        transitions = log.transitions()
        out["seconds"] = time.perf_counter() - t0
        out["peak_mb"] = tree_peak_mb()
        out["memory_limit"] = log.con.execute(
            "SELECT current_setting('memory_limit')").fetchall()[0][0]
        if full_table:
            t1 = time.perf_counter()
            full = log.journeys()                          # every measure, types, repeat flags
            out["full_seconds"] = time.perf_counter() - t1
            out["full_rows"] = len(full)
            del full
        reader = log.con.sql("""SELECT customer, start, "end", contacts, channel_switches,
                                       path, last FROM bench_journeys""").to_arrow_reader(
            1_000_000)
        rows, digest = _row_hash_batches(reader)
    finally:
        if spark is not None:
            spark.stop()
    return {**out, "journeys": rows, "transitions": int(transitions["n"].sum()),
            "pairs": _pairs(transitions), "row_hash": digest}


def run_pandas(path: str) -> dict:
    """The pandas baseline: the same work in idiomatic pandas, in memory."""
    t0 = time.perf_counter()
    ev = pd.read_parquet(path)
    ev = ev.sort_values(["customer", "time"], kind="stable").reset_index(drop=True)
    same = ev["customer"].eq(ev["customer"].shift())
    gap = ev["time"].diff().dt.total_seconds()
    new = ~same | (gap > 7 * 86400)
    ev["journey"] = new.cumsum()
    prev_tp = ev["touchpoint"].shift().where(~new, "(start)")
    switch = (~new) & ev["channel"].ne(ev["channel"].shift())
    # the path: a Python join per journey, over object strings (twice as fast as over pandas 3's
    # pyarrow-backed str dtype)
    tp_obj = ev["touchpoint"].astype(object)
    g = ev.assign(switch=switch, tp_obj=tp_obj).groupby("journey", sort=False)
    journeys = g.agg(customer=("customer", "first"), start=("time", "min"), end=("time", "max"),
                     contacts=("touchpoint", "size"), channel_switches=("switch", "sum"),
                     path=("tp_obj", " > ".join), last=("touchpoint", "last"))
    pairs = pd.concat([pd.DataFrame({"from": prev_tp, "to": ev["touchpoint"]}),
                       pd.DataFrame({"from": journeys["last"], "to": "(end)"})])
    transitions = pairs.groupby(["from", "to"]).size().rename("n").reset_index()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_mb": tree_peak_mb(), "journeys": len(journeys),
            "transitions": int(transitions["n"].sum()), "pairs": _pairs(transitions),
            "row_hash": _row_hash(journeys)}


def _child(spec: dict) -> None:
    """Run one approach (``spec["kind"]``) and print its result as the last line of JSON."""
    kind = spec["kind"]
    try:
        if kind == "pandas":
            res = run_pandas(spec["path"])
        else:
            res = run_reconstruct(spec["path"], engine=kind,
                                  memory_limit=spec.get("memory_limit"),
                                  temp_directory=spec.get("temp_directory"),
                                  full_table=spec.get("full_table", True),
                                  spark_conf=spec.get("spark_conf"),
                                  spark_input=spec.get("spark_input", "path"))
    except Exception as exc:  # noqa: BLE001 - any failure is reported, with the peak reached
        res = {"error": f"{type(exc).__name__}: {exc}"[:2000], "peak_mb": tree_peak_mb()}
    print(json.dumps(res), flush=True)


def run_child(spec: dict, spill: Path | None = None, timeout: float | None = None) -> dict:
    """Run an approach in a subprocess while sampling its process tree's resident memory and
    the size of its spill folder every 0.5 s; stop it after ``timeout`` seconds."""
    if spill is not None:
        shutil.rmtree(spill, ignore_errors=True)
        spill.mkdir(parents=True)
    proc = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(spec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    peaks = {"rss": 0, "spill": 0, "load": []}
    done = threading.Event()

    def sample():
        while not done.wait(0.5):
            rss = sum(_proc_status(p).get("VmRSS", 0) for p in _descendants(proc.pid))
            peaks["rss"] = max(peaks["rss"], rss)
            peaks["load"].append(os.getloadavg()[0])
            if spill is not None:
                peaks["spill"] = max(peaks["spill"], _folder_bytes(spill))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)                 # the child's own session: it and its JVM
        stdout, stderr = proc.communicate()
        res = {"error": f"stopped after {timeout:.0f} s (time limit)"}
    else:
        lines = [x for x in stdout.splitlines() if x.startswith("{")]
        if lines:
            res = json.loads(lines[-1])
        else:
            tail = " | ".join(stderr.strip().splitlines()[-3:])
            res = {"error": f"exit code {proc.returncode}: {tail}"[:2000]}
    done.set()
    sampler.join()
    res["elapsed"] = time.perf_counter() - t0
    res["rss_sampled_mb"] = peaks["rss"] / 1024
    if peaks["load"]:               # the machine's 1-minute load average (the child included)
        res["load_mean"] = sum(peaks["load"]) / len(peaks["load"])
    if spill is not None:
        res["spill_mb"] = peaks["spill"] / 2 ** 20
        shutil.rmtree(spill, ignore_errors=True)
    return res


# --------------------------------------------------------------------------- report

def _size(n: float) -> str:
    return f"{n / 1e6:.3g}M" if n >= 0.95e6 else f"{n / 1e3:.3g}k"


def _first_line(text: str, width: int = 100) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "?"
    return line if len(line) <= width else line[:width - 3] + "..."


def _mem(mb: float | None) -> str:
    if mb is None:
        return "-"
    return f"{mb / 1024:.1f} GiB" if mb >= 1024 else f"{mb:.0f} MiB"


def _secs(s: float) -> str:
    return f"{s:.0f} s" if s >= 100 else f"{s:.1f} s" if s >= 10 else f"{s:.2f} s"


def _rate(n: int, s: float) -> str:
    r = n / s
    return f"{r / 1e6:.2f} M/s" if r >= 1e6 else f"{r / 1e3:.0f} k/s"


def table(results: list[dict], kinds: list[str]) -> str:
    """The results as one Markdown table: a row per size, columns per approach."""
    head = ["events", "journeys"]
    for k in kinds:
        name = APPROACHES[k]
        head += [f"{name} wall", f"{name} events/s", f"{name} peak memory"]
        if k == "duckdb":
            head.append("DuckDB spill peak")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        rows = r["rows"]
        journeys = next((x["journeys"] for x in r["runs"].values() if "journeys" in x), None)
        cells = [f"{rows:,}", "-" if journeys is None else f"{journeys:,}"]
        for k in kinds:
            x = r["runs"].get(k, {"skipped": "not run"})
            if "seconds" in x:
                cells += [_secs(x["seconds"]), _rate(rows, x["seconds"]), _mem(x["peak_mb"])]
                if k == "duckdb":
                    cells.append(_mem(x.get("spill_mb")) if x.get("spill_mb") else "0")
            else:
                why = (x.get("skipped") or x.get("unavailable")
                       or "failed: " + _first_line(x.get("error", "?")))
                peak = (_mem(x["peak_mb"]) if x.get("peak_mb") else
                        f"{_mem(x['rss_sampled_mb'])} (sampled)" if x.get("rss_sampled_mb")
                        else "-")
                cells += [why, "-", peak]
                if k == "duckdb":
                    cells.append(_mem(x.get("spill_mb")) if x.get("spill_mb") else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def growth(results: list[dict], kinds: list[str]) -> str:
    """How wall time grows with the log: the ratio of consecutive sizes' times."""
    parts = []
    for k in kinds:
        timed = [(r["rows"], r["runs"][k]["seconds"]) for r in results
                 if "seconds" in r["runs"].get(k, {})]
        steps = [f"{_size(b[0])}/{_size(a[0])} {b[1] / a[1]:.1f}x (events {b[0] / a[0]:.1f}x)"
                 for a, b in itertools.pairwise(timed)]
        if steps:
            parts.append(f"{APPROACHES[k]} " + ", ".join(steps))
    return "Wall time growth: " + ("; ".join(parts) if parts else "one size only") + "."


def compare(runs: dict) -> list[str]:
    """Differences between the approaches that ran (empty: the same journeys and transitions)."""
    ran = [(k, x) for k, x in runs.items() if "row_hash" in x]
    diffs = []
    for k, x in ran[1:]:
        k0, x0 = ran[0]
        for key in ("journeys", "transitions", "pairs", "row_hash"):
            if x[key] != x0[key]:
                diffs.append(f"{APPROACHES[k0]} and {APPROACHES[k]} differ in {key}")
    return diffs


def skip_reason(kind: str, rows: int, *, pandas_bytes: float | None = None,
                pandas_max_gb: float = 20.0, spark_rate: float | None = None,
                spark_timeout: float = 1500.0) -> str | None:
    """Why an approach is not started at this size (None: run it).

    pandas: its estimated peak (bytes per event measured at a smaller size, else 350 B, times
    the events) above ``pandas_max_gb``. Spark: its estimated time (the events at the previous
    size's rate) above twice ``spark_timeout``.
    """
    if kind == "pandas":
        est = (pandas_bytes or 350) * rows / 2 ** 30
        if est > pandas_max_gb:
            return f"skipped: est. peak {est:.0f} GB > {pandas_max_gb:g} GB"
    if kind == "spark" and spark_rate:
        est = rows / spark_rate
        if est > 2 * spark_timeout:
            return f"skipped: est. {est / 60:.0f} min at the previous size's rate"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[1_000_000, 10_000_000, 100_000_000])
    parser.add_argument("--approaches", nargs="+", choices=list(APPROACHES),
                        default=list(APPROACHES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-limit", default="8GB", help="DuckDB's memory_limit")
    parser.add_argument("--spark-memory", default="8g", help="spark.driver.memory")
    parser.add_argument("--spark-timeout", type=float, default=1500.0,
                        help="stop a Spark run after this many seconds")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="stop a DuckDB or pandas run after this many seconds")
    parser.add_argument("--spark-input", choices=["path", "dataframe"], default="path",
                        help="give Spark the Parquet path, or spark.read.parquet(path)")
    parser.add_argument("--pandas-max-gb", type=float, default=20.0)
    parser.add_argument("--full-table-max", type=int, default=20_000_000,
                        help="time log.journeys() (as pandas) up to this many events")
    parser.add_argument("--workdir", help="data, spill and Spark's files (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the workdir's data")
    parser.add_argument("--json", help="also write the raw results to this file")
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="cx-bench-journeys-"))
    workdir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(workdir).free / 2 ** 30
    print(f"workdir {workdir} ({free:.0f} GiB free); DuckDB memory_limit {args.memory_limit}, "
          f"Spark local[2] with spark.driver.memory {args.spark_memory}", flush=True)
    kinds = [k for k in APPROACHES if k in args.approaches]
    spark_conf = {"spark.driver.memory": args.spark_memory,
                  "spark.driver.maxResultSize": "0",      # the journey table comes back whole
                  "spark.sql.session.timeZone": "UTC", "spark.ui.enabled": "false",
                  "spark.ui.showConsoleProgress": "false",
                  "spark.local.dir": str(workdir / "spark-tmp")}
    print(f"cx_helpers from {importlib.util.find_spec('cx_helpers').origin}", flush=True)
    results, failures, pandas_bytes, spark_rate = [], [], None, None
    try:
        for n in args.sizes:
            path = workdir / f"events_{n}.parquet"
            rows = existing_log(path, n, args.seed)
            if rows is None:
                t = time.perf_counter()
                subprocess.run([sys.executable, __file__, "--child",
                                json.dumps({"kind": "generate", "path": str(path), "n": n,
                                            "seed": args.seed})], check=True)
                rows = pq.ParquetFile(path).metadata.num_rows
                print(f"generated {rows:,} events in {time.perf_counter() - t:.0f} s "
                      f"({path.stat().st_size / 2 ** 20:,.0f} MiB of Parquet)", flush=True)
            runs = {}
            for kind in kinds:
                spec = {"kind": kind, "path": str(path)}
                if kind == "pandas":
                    why = skip_reason("pandas", rows, pandas_bytes=pandas_bytes,
                                      pandas_max_gb=args.pandas_max_gb)
                    if why:
                        runs[kind] = {"skipped": why}
                        continue
                    res = run_child(spec, timeout=args.timeout)
                    if "peak_mb" in res and "seconds" in res:
                        pandas_bytes = res["peak_mb"] * 2 ** 20 / rows
                elif kind == "duckdb":
                    spec.update(memory_limit=args.memory_limit,
                                temp_directory=str(workdir / "spill"),
                                full_table=rows <= args.full_table_max)
                    res = run_child(spec, spill=workdir / "spill", timeout=args.timeout)
                else:
                    why = skip_reason("spark", rows, spark_rate=spark_rate,
                                      spark_timeout=args.spark_timeout)
                    if why:
                        runs[kind] = {"skipped": why}
                        continue
                    # about a million events per shuffle partition (Spark's default, 200,
                    # costs seconds of task overhead on small logs)
                    partitions = max(4, -(-rows // 1_000_000))
                    spec.update(spark_conf={**spark_conf,
                                            "spark.sql.shuffle.partitions": str(partitions)},
                                spark_input=args.spark_input)
                    res = run_child(spec, spill=workdir / "spark-tmp",
                                    timeout=args.spark_timeout)
                    if "seconds" in res:
                        spark_rate = rows / res["seconds"]
                runs[kind] = res
                print(f"  {_size(rows)} {APPROACHES[kind]}: " + ", ".join(
                    f"{k} {v:.2f}" if isinstance(v, float) else
                    f"{k} {_first_line(v, 300)}" if isinstance(v, str) else f"{k} {v}"
                    for k, v in res.items() if k not in ("pairs",)), flush=True)
            diffs = compare(runs)
            ran = [APPROACHES[k] for k, x in runs.items() if "row_hash" in x]
            if diffs:
                failures += [f"{_size(rows)}: {d}" for d in diffs]
                print(f"{rows:,} events: " + "; ".join(diffs), flush=True)
            elif len(ran) > 1:
                print(f"{rows:,} events: same journeys and transitions ({', '.join(ran)})",
                      flush=True)
            results.append({"n": n, "rows": rows, "runs": runs})
            if args.json:                       # after each size: a long run keeps its figures
                Path(args.json).write_text(json.dumps(results, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(table(results, kinds))
    print()
    print(growth(results, kinds))
    if failures:
        raise SystemExit("results differ: " + "; ".join(failures))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        spec = json.loads(sys.argv[2])
        if spec["kind"] == "generate":      # in its own process: the parent stays small
            write_log(spec["path"], spec["n"], spec["seed"])
        else:
            _child(spec)
    else:
        main()
