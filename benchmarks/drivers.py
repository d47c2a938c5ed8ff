"""Speed of exact relative importance (LMG): cx_helpers.importance against baselines.

Prints a table of seconds for exact LMG at p = 8, 12, 16, 20, 25 drivers on 5000 simulated
respondents with correlated drivers:

* ``cx`` -- :func:`cx_helpers.importance.relative_importance` end to end (weighted correlation,
  all-subset R^2 by the compiled sweep walk, Shapley values by a compiled kernel);
* ``gray`` -- the textbook alternative, a Gray-code walk that sweeps one driver in or out of the
  full (p+1)^2 matrix per subset (compiled with numba here, for comparison only);
* ``brute`` -- one least-squares fit per subset (numpy.linalg.lstsq); stopped when it would
  exceed the time budget, and then extrapolated from a random sample of subsets (marked ``~``);
* ``dominance-analysis`` -- the PyPI package (1.1.9), if a throwaway environment with it exists
  (it pins bokeh 2.4.3, which fails on numpy 2, so it cannot live in .venv). Create one with::

      python3 -m venv /tmp/cx-da-venv
      /tmp/cx-da-venv/bin/pip install dominance-analysis "numpy<2" "pandas<2" "ipython<8.10"

  and pass ``--da-python /tmp/cx-da-venv/bin/python`` (the default path is tried).

Then 200 bootstrap resamples at p = 12, and numba's JIT compile time (cold cache) reported apart
from run time; then notebook 02's heavy call on the bundled sample study (``--sample``, the
default): LMG of the main outcome over 20 touchpoints with not-rated indicators (40 columns),
200 resamples, batched (one compiled walk per resample, in parallel, fused with its Shapley
sums) against the former loop of one ``_estimate`` per resample, and the ordered-logit fits.

Usage: ``.venv/bin/python benchmarks/drivers.py [--budget 30] [--da-python PATH] [--quick]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# a private, empty numba cache so that compile time is measured cold (set before numba loads)
os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="cx-bench-numba-")

import numba  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from cx_helpers import importance  # noqa: E402

N = 5000
PS = (8, 12, 16, 20, 25)
DA_DEFAULT = "/tmp/cx-da-venv/bin/python"
DA_TIMEOUT = 150.0

DA_SCRIPT = r"""
import contextlib, io, json, sys, time
import numpy as np, pandas as pd
from dominance_analysis import Dominance
z = np.load(sys.argv[1])
df = pd.DataFrame(z["x"], columns=[f"d{j}" for j in range(z["x"].shape[1])])
df["y"] = z["y"]
t = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    d = Dominance(data=df, target="y", objective=1, top_k=df.shape[1] - 1)
    r = d.incremental_rsquare()
print(json.dumps({"seconds": time.perf_counter() - t, "lmg": [r[c] for c in df.columns[:-1]]}))
"""


def simulate(p, seed=0, n=N):
    """Correlated drivers (a shared factor plus noise), outcome, uneven weights."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) + 0.7 * rng.normal(size=(n, 1))
    y = x @ rng.uniform(0.0, 1.0, p) + rng.normal(size=n) * 2.0
    df = pd.DataFrame(x, columns=[f"d{j}" for j in range(p)])
    df["y"] = y
    return df


@numba.njit(cache=False)
def gray_code_r2(corr):
    """All-subset R^2 by a Gray-code walk of sweeps in and out of the full matrix."""
    q = corr.shape[0]
    p = q - 1
    a = corr.copy()
    inside = np.zeros(p, np.bool_)
    out = np.empty(1 << p)
    out[0] = 0.0
    mask = 0
    for i in range(1, 1 << p):
        b = 0
        while (i >> b) & 1 == 0:
            b += 1
        k = b + 1
        d = a[k, k]
        sign = -1.0 if inside[b] else 1.0
        for r in range(q):
            if r != k:
                f = a[r, k] / d
                for c in range(q):
                    if c != k:
                        a[r, c] -= f * a[k, c]
        for r in range(q):
            if r != k:
                a[r, k] = sign * a[r, k] / d
                a[k, r] = sign * a[k, r] / d
        a[k, k] = -1.0 / d
        inside[b] = not inside[b]
        mask ^= 1 << b
        out[mask] = 1.0 - a[0, 0]
    return out


def corr_of(df):
    return np.corrcoef(df.to_numpy().T[[-1] + list(range(df.shape[1] - 1))])


def best_of(func, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - t)
    return min(times), result


def brute_force(df, budget, rng):
    """Seconds for one lstsq fit per subset (run, or extrapolated), and the LMG when run."""
    p = df.shape[1] - 1
    x = np.column_stack([np.ones(len(df)), df.iloc[:, :p].to_numpy()])
    y = df["y"].to_numpy()
    sst = ((y - y.mean()) ** 2).sum()

    def fit(m):
        cols = [0] + [j + 1 for j in range(p) if m >> j & 1]
        resid = y - x[:, cols] @ np.linalg.lstsq(x[:, cols], y, rcond=None)[0]
        return 1.0 - (resid @ resid) / sst

    # one BLAS thread: on 2 busy cores OpenBLAS's threads make a 5000 x 13 lstsq 50x slower
    with threadpool_limits(1):
        sample = rng.integers(1, 1 << p, 200)
        t = time.perf_counter()
        for m in sample:
            fit(int(m))
        estimate = (time.perf_counter() - t) / sample.size * (1 << p)
        if estimate > budget:
            return estimate, True, None
        t = time.perf_counter()
        values = np.array([0.0] + [fit(m) for m in range(1, 1 << p)])
        return time.perf_counter() - t, False, importance.shapley_values(values)


def dominance_analysis_pkg(df, python):
    """(seconds or None, LMG or None, note) from the dominance-analysis package."""
    if not python or not Path(python).exists():
        return None, None, f"not run: no environment at {python} (see this script's docstring)"
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.npz"
        np.savez(data, x=df.iloc[:, :-1].to_numpy(), y=df["y"].to_numpy())
        script = Path(tmp) / "run.py"
        script.write_text(DA_SCRIPT)
        try:
            done = subprocess.run([python, str(script), str(data)], capture_output=True,
                                  text=True, timeout=DA_TIMEOUT)
        except subprocess.TimeoutExpired:
            return None, None, f"stopped after {DA_TIMEOUT:.0f} s"
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return None, None, f"failed: {last}"
    import json
    res = json.loads(done.stdout.strip().splitlines()[-1])
    return res["seconds"], np.array(res["lmg"]), ""


def fmt(seconds, extrapolated=False):
    if seconds is None:
        return "-"
    text = f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"
    return f"~{text} (extrapolated)" if extrapolated else text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0,
                        help="seconds a brute-force run may take before it is extrapolated")
    parser.add_argument("--da-python", default=DA_DEFAULT,
                        help="python of a throwaway environment with dominance-analysis")
    parser.add_argument("--da-max-p", type=int, default=16,
                        help="largest p to try dominance-analysis at (stopped after 150 s)")
    parser.add_argument("--quick", action="store_true", help="p = 8, 12, 16 only")
    parser.add_argument("--no-sample", action="store_true",
                        help="skip the timings on the bundled sample study")
    args = parser.parse_args(argv)
    ps = PS[:3] if args.quick else PS
    rng = np.random.default_rng(1)

    print(f"numba {numba.__version__}, numpy {np.__version__}, {numba.config.NUMBA_NUM_THREADS} "
          f"threads, n = {N} respondents\n")
    small, wide = simulate(4), simulate(importance.PARALLEL_FROM)
    drivers = lambda df: list(df.columns[:-1])  # noqa: E731
    compile_s = {}
    for label, df in (("serial walk", small), ("parallel walk", wide)):
        first, _ = best_of(lambda: importance.relative_importance(df, "y", drivers(df)), 1)
        again, _ = best_of(lambda: importance.relative_importance(df, "y", drivers(df)), 3)
        compile_s[label] = first - again
    first, _ = best_of(lambda: gray_code_r2(corr_of(small)), 1)
    compile_s["gray-code baseline"] = first - best_of(lambda: gray_code_r2(corr_of(small)), 3)[0]
    print("JIT compile time (cold cache, first call minus a warm call): " + ", ".join(
        f"{k} {v:.2f} s" for k, v in compile_s.items()))
    print("(later runs load the compiled walk from numba's on-disk cache)\n")

    rows = []
    for p in ps:
        df = simulate(p, seed=p)
        repeat = 3 if p <= 20 else 1
        cx_s, cx = best_of(lambda: importance.relative_importance(df, "y", drivers(df)), repeat)
        note = []
        if p <= 20:
            gray_s, gray_values = best_of(lambda: gray_code_r2(corr_of(df)), 1)
            gray_diff = np.abs(importance.shapley_values(gray_values) - cx["importance"]).max()
            note.append(f"gray |diff| {gray_diff:.1e}")
            gray_col, last_gray = fmt(gray_s), (p, gray_s)
        else:  # the walk costs (p + 1)^2 per subset: scale the last measured run
            q0, s0 = last_gray
            gray_col = fmt(s0 * 2 ** (p - q0) * ((p + 1) / (q0 + 1)) ** 2, True)
        bf_s, bf_extra, bf_lmg = brute_force(df, args.budget, rng)
        if bf_lmg is not None:
            note.append(f"brute |diff| {np.abs(bf_lmg - cx['importance']).max():.1e}")
        if p <= args.da_max_p:
            da_s, da_lmg, da_note = dominance_analysis_pkg(df, args.da_python)
            if da_lmg is not None:
                note.append(f"d-a |diff| {np.abs(da_lmg - cx['importance']).max():.1e}")
        else:
            da_s, da_note = None, f"not run (p > {args.da_max_p}; over 120 s at p = 16)"
        rows.append({"p": p, "subsets": 1 << p, "cx LMG (s)": fmt(cx_s),
                     "gray-code sweep (s)": gray_col,
                     "brute force (s)": fmt(bf_s, bf_extra),
                     "dominance-analysis (s)": fmt(da_s) if da_s is not None else da_note,
                     "check": "; ".join(note)})
        print(f"p = {p} done", file=sys.stderr)
    table = pd.DataFrame(rows).set_index("p")
    with pd.option_context("display.width", 250, "display.max_colwidth", 60):
        print(table.to_string())

    df = simulate(12, seed=99)
    df["w"] = np.random.default_rng(3).uniform(0.5, 2.0, len(df))
    boot_s, out = best_of(lambda: importance.relative_importance(
        df, "y", drivers(df.drop(columns="w")), weights="w", n_boot=200, seed=1), 1)
    print(f"\n200 bootstrap resamples, p = 12, n = {N}, weighted: {boot_s:.2f} s "
          f"(target <= 10 s); widest interval {(out['high'] - out['low']).max():.4f}")
    print("targets: p = 20 <= 0.5 s, p = 25 <= 30 s")
    binary_outcome()
    if not args.no_sample:
        sample_study()


def sample_study():
    """Notebook 02's bootstrap and model fits on the bundled sample study (issue 13)."""
    from cx_helpers import drivers as kd
    from cx_helpers import load_study

    study = load_study(Path(__file__).resolve().parents[1] / "data" / "sample")
    frame, tps = study.frame(), list(study.rated_touchpoints)
    main_outcome = next(iter(study.outcome_specs))
    kw = dict(data=frame, outcome=main_outcome, drivers=tps, weights="weight", na="indicator",
              n_boot=200, seed=20261122)
    print(f"\nsample study: LMG of '{main_outcome}' over {len(tps)} touchpoints (na='indicator'),"
          " 200 resamples")
    importance.relative_importance(**{**kw, "n_boot": 2})        # compile the batch kernel
    batch_s, batch = best_of(lambda: importance.relative_importance(**kw), 1)
    limit = importance.BATCH_MAX_UNITS
    importance.BATCH_MAX_UNITS = -1          # the former loop: one _estimate per resample
    try:
        loop_s, loop = best_of(lambda: importance.relative_importance(**kw), 1)
    finally:
        importance.BATCH_MAX_UNITS = limit
    diff = np.abs(batch[["low", "high"]].to_numpy() - loop[["low", "high"]].to_numpy()).max()
    print(f"batched: {batch_s:.2f} s; one resample at a time: {loop_s:.2f} s; "
          f"max |interval diff| {diff:.1e}")
    kd_s, _ = best_of(lambda: kd.key_drivers(study, outcomes=[main_outcome], n_boot=200,
                                             seed=20261122, segments=study.segments or None), 1)
    print(f"key_drivers (LMG and Johnson with intervals, segment split): {kd_s:.2f} s")
    for name, spec in study.outcome_specs.items():
        fit_s, _ = best_of(lambda: kd.driver_model(study, name), 1)
        print(f"driver_model('{name}', {spec.kind}): {fit_s:.2f} s")


def binary_outcome():
    """A yes/no outcome: LMG of the linear probability model against exact logit dominance.

    Times both at p = 8 and 10 (dominance fits 2^p logits) with the largest difference in shares
    and the rank agreement, then LMG with 200 resamples at p = 14 (what notebook 02 runs for a
    yes/no main outcome).
    """
    from scipy import stats

    print("\nyes/no outcome (n = 3000): LMG of the linear probability model vs exact logit "
          "dominance")
    rows = []
    for p in (8, 10):
        rng = np.random.default_rng(p)
        z = rng.normal(size=(3000, p)) + 0.7 * rng.normal(size=(3000, 1))
        eta = z @ (np.linspace(1.0, 0.0, p) * 0.8) - 1.0
        df = pd.DataFrame(z, columns=[f"d{j}" for j in range(p)])
        df["y"] = (rng.random(3000) < 1 / (1 + np.exp(-eta))).astype(float)
        cols = list(df.columns[:p])
        lmg_s, lmg = best_of(lambda: importance.relative_importance(df, "y", cols), 3)
        dom_s, dom = best_of(lambda: importance.relative_importance(df, "y", cols,
                                                                   method="dominance"), 1)
        rows.append({"p": p, "LMG linear probability (s)": fmt(lmg_s),
                     "logit dominance (s)": fmt(dom_s),
                     "max |share diff| (points)":
                         f"{(lmg['share'] - dom['share']).abs().max():.2f}",
                     "Spearman": f"{stats.spearmanr(lmg['share'], dom['share']).statistic:.3f}"})
    print(pd.DataFrame(rows).set_index("p").to_string())
    rng = np.random.default_rng(14)
    z = rng.normal(size=(3000, 14)) + 0.7 * rng.normal(size=(3000, 1))
    df = pd.DataFrame(z, columns=[f"d{j}" for j in range(14)])
    df["y"] = (rng.random(3000) < 1 / (1 + np.exp(-(z @ np.linspace(0.8, 0.0, 14))))).astype(float)
    boot_s, _ = best_of(lambda: importance.relative_importance(df, "y", list(df.columns[:14]),
                                                              n_boot=200, seed=1), 1)
    print(f"LMG with 200 bootstrap resamples, p = 14, yes/no outcome: {boot_s:.2f} s")


if __name__ == "__main__":
    main()
