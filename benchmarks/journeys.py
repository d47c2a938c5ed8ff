"""Journey reconstruction speed: DuckDB SQL (cx_helpers.journeys) against plain pandas.

    .venv/bin/python benchmarks/journeys.py [--sizes 1000000 10000000]

For each size, a synthetic event log is generated (seeded; about 3 events per journey, journeys
of a customer days apart, 20 touchpoints on 4 channels, rows out of order) and written to
Parquet (in a subprocess). Each approach then runs in its own subprocess (so its peak memory is
its own: the parent stays small, as a child's peak includes its parent's at the fork) and does
the same work, timed from reading the file to having both results:

* read the Parquet file (customer, time, touchpoint, channel), order each customer's events by
  time (ties: file order) and cut journeys at a 7-day gap;
* build the journey table, a row per journey: an integer journey id, customer, start, end,
  contacts, channel switches, path (touchpoints joined by " > ") and last touchpoint -- pandas as
  a DataFrame (journey id: the running count of starts; the path by a groupby " > ".join over
  object strings), DuckDB as a materialised table in its
  connection (``journey_core`` of :class:`~cx_helpers.journeys.JourneyLog` selected into a
  temporary table; journey id: customer number and journey number);
* count the transitions between touchpoints, "(start)" and "(end)" included (a DataFrame on both
  sides).

Beyond that, ``reconstruct_journeys`` keeps the labelled events (journey, row number, previous
touchpoint, waits) for later queries and computes every journey's longest wait, and resolution
time and ratings when the log has them; the journey types, repeat flags and the remaining text
columns (string journey ids, distinct touchpoints) wait for the first call that needs them.
That call, ``log.journeys()`` (every measure, types and repeat flags, returned as a pandas
DataFrame), is timed separately after the main measurement and shown as "+ full table"; it is
not part of the speed-up, and the peak memory is read before it.

After timing, both sides' results are checked equal: journey count, the full transition table,
and an order-free hash of every journey row (customer, start, end, contacts, switches, path,
last touchpoint).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

TOUCHPOINTS = [f"tp_{i:02d}" for i in range(20)]
CHANNELS = ["web", "phone", "store", "app"]


def generate(n_events: int, seed: int = 1) -> pd.DataFrame:
    """A synthetic event log of about ``n_events`` rows, sorted by nothing in particular."""
    rng = np.random.default_rng(seed)
    n_journeys = n_events // 3
    per_customer = 4
    customer = np.arange(n_journeys) // per_customer
    length = rng.integers(1, 6, n_journeys)                       # 1-5 events, mean 3
    journey = np.repeat(np.arange(n_journeys), length)
    start = (np.arange(n_journeys) % per_customer) * 30 * 1440 + rng.integers(0, 1440, n_journeys)
    step_gap = rng.exponential(600, journey.size).astype(np.int64)
    first = np.r_[True, journey[1:] != journey[:-1]]
    minutes = start[journey] + np.cumsum(np.where(first, 0, step_gap)) - np.repeat(
        np.cumsum(np.where(first, 0, step_gap))[first], length)
    time = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(minutes, unit="min")
    tp = rng.integers(0, len(TOUCHPOINTS), journey.size)
    order = rng.permutation(journey.size)                         # rows out of order
    return pd.DataFrame({
        "customer": pd.Series(np.char.add("C", customer[journey].astype(str)))[order].to_numpy(),
        "time": time[order],
        "touchpoint": np.array(TOUCHPOINTS)[tp][order],
        "channel": np.array(CHANNELS)[tp % 4][order],
    })


def _row_hash(df: pd.DataFrame) -> int:
    """An order-free hash of the journey rows (customer, start, end in microseconds, contacts,
    switches, path, last touchpoint), to check that both sides built the same table."""
    def us(t):
        return (t - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, "us")
    key = pd.DataFrame({"customer": df["customer"].astype(str), "start": us(df["start"]),
                        "end": us(df["end"]), "contacts": df["contacts"].astype("int64"),
                        "switches": df["channel_switches"].astype("int64"),
                        "path": df["path"].astype(str), "last": df["last"].astype(str)})
    return int(pd.util.hash_pandas_object(key, index=False).to_numpy().sum(dtype=np.uint64))


def _summary(journeys: pd.DataFrame, transitions: pd.DataFrame) -> dict:
    return {"journeys": len(journeys), "transitions": int(transitions["n"].sum()),
            "pairs": sorted([f, t, int(n)] for f, t, n in
                            transitions[["from", "to", "n"]].itertuples(index=False)),
            "row_hash": _row_hash(journeys)}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_duckdb(path: str) -> dict:
    from cx_helpers.journeys import reconstruct_journeys

    t0 = time.perf_counter()
    log = reconstruct_journeys(path, gap_days=7, repeat_days=30)
    log.con.execute("""CREATE TEMP TABLE bench_journeys AS
                       SELECT kid, jn, customer, start, "end", contacts, channel_switches, path,
                              last_touchpoint AS last FROM journey_core""")
    transitions = log.transitions()
    seconds = time.perf_counter() - t0
    peak = _peak_mb()
    t1 = time.perf_counter()
    full = log.journeys()                                  # every measure, types, repeat flags
    full_seconds = time.perf_counter() - t1
    journeys = log.con.execute("SELECT * FROM bench_journeys").df()
    assert len(full) == len(journeys)
    return {"seconds": seconds, "peak_mb": peak, "full_seconds": full_seconds,
            **_summary(journeys, transitions)}


def run_pandas(path: str) -> dict:
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
    return {"seconds": seconds, "peak_mb": _peak_mb(), **_summary(journeys, transitions)}


def _child(kind: str, path: str) -> None:
    if kind == "generate":                  # in its own process too: a child inherits the peak
        n = int(Path(path).stem.rsplit("_", 1)[1])    # memory of its parent at the fork
        generate(n).to_parquet(path)
        return
    print(json.dumps((run_duckdb if kind == "duckdb" else run_pandas)(path)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = str(Path(tmp) / f"events_{n}.parquet")
            subprocess.run([sys.executable, __file__, "--child", "generate", path], check=True)
            rows = pq.ParquetFile(path).metadata.num_rows
            res = {}
            for kind in ("duckdb", "pandas"):
                out = subprocess.run([sys.executable, __file__, "--child", kind, path],
                                     capture_output=True, text=True, check=True)
                res[kind] = json.loads(out.stdout.strip().splitlines()[-1])
            d, p = res["duckdb"], res["pandas"]
            for key in ("journeys", "transitions", "pairs", "row_hash"):
                assert d[key] == p[key], f"DuckDB and pandas differ in {key}"
            print(f"{rows:>11,} events, {d['journeys']:,} journeys: DuckDB {d['seconds']:.2f} s "
                  f"(peak {d['peak_mb']:.0f} MB; + full table {d['full_seconds']:.2f} s), "
                  f"pandas {p['seconds']:.2f} s (peak {p['peak_mb']:.0f} MB), "
                  f"speed-up {p['seconds'] / d['seconds']:.1f}x; same journeys and transitions",
                  flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        main()
