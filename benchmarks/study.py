"""Wall time and peak memory of `cx run` on synthetic studies of real sizes.

    .venv/bin/python benchmarks/study.py [--cases sample survey-26k ...] [--keep DIR]

Each case writes a synthetic study with ``cx synth`` (seeded), then times ``cx run`` on it with
the notebooks' full defaults, as a user runs it: a separate process, from start to the written
report. The peak memory is that of the whole process tree (``cx run``, papermill and the
kernels), sampled every 0.1 s with psutil as the sum of the resident sizes. From the run's
manifest come the time of each notebook and of the report; from the executed notebooks, the
slowest cells (papermill records every cell's duration), shown by their first line.

The targets are those of the issue "Fast on real sizes" (2 cores, full defaults). The
100,000-customer case asks ``cx synth`` for 13 journeys per customer, about 3 million events.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil

CX = [sys.executable, "-m", "cx_helpers"]

# name: (cx synth arguments, target wall seconds, target peak GB or None, what it stands for)
CASES = {
    "sample": (["--customers", "3000"], 30, None,
               "the bundled sample: 3,000 customers with events"),
    "survey-26k": (["--shape", "airline", "--customers", "26000"], 60, None,
                   "survey only, 26,000 respondents, 14 touchpoints, binary outcome"),
    "survey-130k": (["--shape", "airline", "--customers", "130000"], 180, 4,
                    "survey only, 130,000 respondents, 14 touchpoints"),
    "events-100k": (["--customers", "100000", "--journeys-per-customer", "13"], 180, 6,
                    "synthetic, 100,000 customers with 3M events"),
}


class PeakMemory(threading.Thread):
    """Samples the summed resident memory of a process and its descendants."""

    def __init__(self, pid: int, every: float = 0.1):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.every = every
        self.peak = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self.stop.wait(self.every)


def slowest_cells(run_dir: Path, top: int = 2) -> list[str]:
    """The slowest cells of each executed notebook: 'notebook: first line (seconds)'."""
    found = []
    for path in sorted((run_dir / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells = [(c.metadata.get("papermill", {}).get("duration") or 0.0,
                  c.source.strip().splitlines()[0] if c.source.strip() else "")
                 for c in nb.cells if c.cell_type == "code"]
        for seconds, line in sorted(cells, reverse=True)[:top]:
            found.append(f"{path.stem[:2]}: {line[:60]} ({seconds:.1f} s)")
    return found


def run_case(name: str, work: Path, seed: int = 1) -> dict:
    synth_args, target_s, target_gb, what = CASES[name]
    study = work / name
    res = subprocess.run([*CX, "synth", "--out", str(study), "--seed", str(seed), *synth_args],
                         capture_output=True, text=True)
    if res.returncode != 0:
        return {"case": name, "what": what, "error": res.stderr.strip().splitlines()[-1:]}
    run_dir = work / f"{name}-run"
    t0 = time.perf_counter()
    proc = subprocess.Popen([*CX, "run", str(study), "--out", str(run_dir), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    meter = PeakMemory(proc.pid)
    meter.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    meter.stop.set()
    meter.join()
    row = {"case": name, "what": what, "wall_s": wall, "peak_gb": meter.peak / 1e9,
           "target_s": target_s, "target_gb": target_gb, "exit": proc.returncode}
    manifest_path = run_dir / "manifest.json"
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        row["timings"] = manifest.get("timings", {})
        row["respondents"] = None
        row["slowest"] = slowest_cells(run_dir)
    if proc.returncode != 0:
        row["error"] = err.strip().splitlines()[-1:]
    truth = study / "truth.json"
    if truth.is_file():
        info = json.loads(truth.read_text())
        row["respondents"] = info.get("respondents") or info.get("n_respondents")
    events = study / "events.csv"
    row["events"] = sum(1 for _ in open(events)) - 1 if events.is_file() else 0
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--keep", help="keep the studies and runs in this folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = []
        for name in args.cases:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            rows.append(run_case(name, work))
    print(f"\n`cx run` with full defaults, {psutil.cpu_count()} cores\n")
    print("| case | respondents | events | wall | 01 | 02 | 03 | report | peak memory | target |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "wall_s" not in r:
            print(f"| {r['case']} | | | not run: {' '.join(r['error'])} | | | | | | |")
            continue
        t = r.get("timings", {})
        nb = [f"{t[k]:.1f} s" if k in t else "" for k in
              ("01_touchpoint_inventory.ipynb", "02_loyalty_regression.ipynb",
               "03_journey_vs_touchpoint.ipynb", "report")]
        met = r["wall_s"] <= r["target_s"] and (r["target_gb"] is None
                                                 or r["peak_gb"] <= r["target_gb"])
        target = f"<= {r['target_s']} s" + (f", <= {r['target_gb']} GB" if r["target_gb"] else "")
        status = "met" if met and r["exit"] == 0 else ("FAILED" if r["exit"] else "missed")
        print(f"| {r['case']} | {r.get('respondents') or ''} | {r['events']:,} | "
              f"{r['wall_s']:.1f} s | {' | '.join(nb)} | {r['peak_gb']:.2f} GB | "
              f"{target}: {status} |")
    print("\nSlowest cells:")
    for r in rows:
        for line in r.get("slowest", []):
            print(f"  {r['case']} {line}")
        if r.get("error"):
            print(f"  {r['case']} error: {' '.join(r['error'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
