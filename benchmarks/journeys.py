"""Journey reconstruction speed: DuckDB SQL (cx_helpers.paths) against plain pandas.

    .venv/bin/python benchmarks/journeys.py [--sizes 1000000 10000000]

For each size, a synthetic event log is generated (seeded; about 3.4 events per journey, journeys
of a customer days apart, 20 touchpoints on 4 channels) and written to Parquet. Each approach then
runs in its own subprocess (so its peak memory is its own) and does the same work: read the
Parquet file, cut journeys at a 7-day gap, build the journey table (start, end, contacts, path,
channel switches) and count the transitions between touchpoints. Prints seconds and peak resident
memory of each, and the speed-up.
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


def run_duckdb(path: str) -> dict:
    from cx_helpers.paths import reconstruct_journeys

    t0 = time.perf_counter()
    log = reconstruct_journeys(path, gap_days=7, repeat_days=30)
    n_journeys = log.con.execute("SELECT count(*) FROM journeys").fetchall()[0][0]
    transitions = log.transitions()
    return {"seconds": time.perf_counter() - t0, "journeys": int(n_journeys),
            "transitions": int(transitions["n"].sum())}


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
    g = ev.assign(switch=switch).groupby("journey", sort=False)
    journeys = g.agg(customer=("customer", "first"), start=("time", "min"), end=("time", "max"),
                     contacts=("touchpoint", "size"), channel_switches=("switch", "sum"),
                     path=("touchpoint", " > ".join), last=("touchpoint", "last"))
    pairs = pd.concat([pd.DataFrame({"from": prev_tp, "to": ev["touchpoint"]}),
                       pd.DataFrame({"from": journeys["last"], "to": "(end)"})])
    transitions = pairs.groupby(["from", "to"]).size()
    return {"seconds": time.perf_counter() - t0, "journeys": len(journeys),
            "transitions": int(transitions.sum())}


def _child(kind: str, path: str) -> None:
    result = (run_duckdb if kind == "duckdb" else run_pandas)(path)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = str(Path(tmp) / f"events_{n}.parquet")
            generate(n).to_parquet(path)
            rows = len(pd.read_parquet(path, columns=["customer"]))
            res = {}
            for kind in ("duckdb", "pandas"):
                out = subprocess.run([sys.executable, __file__, "--child", kind, path],
                                     capture_output=True, text=True, check=True)
                res[kind] = json.loads(out.stdout.strip().splitlines()[-1])
            assert res["duckdb"]["journeys"] == res["pandas"]["journeys"]
            assert res["duckdb"]["transitions"] == res["pandas"]["transitions"]
            d, p = res["duckdb"], res["pandas"]
            print(f"{rows:>11,} events, {d['journeys']:,} journeys: DuckDB {d['seconds']:.2f} s "
                  f"(peak {d['peak_mb']:.0f} MB), pandas {p['seconds']:.2f} s (peak "
                  f"{p['peak_mb']:.0f} MB), speed-up {p['seconds'] / d['seconds']:.1f}x",
                  flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        main()
