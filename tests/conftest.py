"""Shared fixtures: the bundled sample study, the bundled real examples (data/examples) and the
real datasets in ../shared/data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# pytest-xdist runs a worker per core: each worker (and every `cx run` it starts) gets its share
# of the cores for the numerical libraries' thread pools, or the workers' BLAS and numba threads
# oversubscribe the machine (cx_helpers.runner.THREAD_VARIABLES). Set before the libraries load
# in this worker, and inherited by its subprocesses.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _threads = str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                  "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(_name, _threads)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
EXAMPLES = ROOT / "data" / "examples"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The bundled sample study (read only)."""
    return SAMPLE


@pytest.fixture(scope="session")
def sample_study():
    """The sample study, loaded once."""
    from cx_helpers import load_study

    return load_study(SAMPLE)


@pytest.fixture
def sample_copy(tmp_path) -> Path:
    """A private copy of the sample study that a test may break."""
    dest = tmp_path / "study"
    shutil.copytree(SAMPLE, dest)
    return dest


@pytest.fixture(scope="session")
def examples() -> Path:
    """data/examples: the real public datasets bundled with their study configs (read only).

    Each ``data/examples/<name>/`` holds the data, its SOURCE.md (origin and licence) and, where
    a worked example uses it, its ``study.yaml``; they are in every clone, so nothing skips.
    """
    return EXAMPLES


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, the real public datasets; skipped where a clone has no ../shared."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (a user's clone without ../shared): the real-data "
                    "tests need it; CI always has it")
    return SHARED_DATA


# Test runs of the sample keep the bootstrap and cross-validation small: the numbers are checked
# for reproducibility and structure here; their statistical properties are tested in the package.
FAST = ("-p", "n_boot", "30", "-p", "n_repeats", "2")


def survey_study(folder, df, outcomes, drivers, *, na_codes=(), segments=(), weight=None,
                 na=None):
    """Write ``df`` as a one-stage survey study on 1-5 (id column ``rid``) and load it."""
    import yaml

    from cx_helpers import load_study

    folder.mkdir(parents=True)
    df.to_csv(folder / "survey.csv", index=False)
    config = {"name": "t", "rating_scale": [1, 5], "na_codes": list(na_codes),
              "tables": {"survey": {"path": "survey.csv", "id": "rid"}}, "stages": ["s"],
              "touchpoints": {d: {"column": d, "stage": "s"} for d in drivers},
              "outcomes": outcomes, "segments": list(segments)}
    if weight:
        config["weight"] = weight
    if na:
        config["na"] = na
    (folder / "study.yaml").write_text(yaml.safe_dump(config))
    return load_study(folder)


def cx(*args, cwd=None):
    """Run the ``cx`` command line in a subprocess."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "cx_helpers", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="session")
def two_runs(tmp_path_factory):
    """Two runs of the sample study with one seed (shared by the run, report and verify tests).

    Under pytest-xdist the runs are made once for the whole session: the first worker to need
    them makes them in the session's shared temporary folder while holding a lock, and the
    others wait for it and read them (the tests only read the runs, or copy them).
    """
    import fcntl
    import os

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent                     # shared by the workers of this session
    runs = [base / "two-runs" / f"run{k}" for k in (1, 2)]
    done = base / "two-runs" / "done"
    done.parent.mkdir(parents=True, exist_ok=True)
    with open(base / "two-runs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            for run in runs:
                res = cx("run", SAMPLE, "--out", run, "--seed", "11", *FAST)
                assert res.returncode == 0, res.stderr[-3000:]
            done.touch()
    return runs


def pytest_collection_modifyitems(config, items):
    """Tests that read the two full runs of the sample are end-to-end tests: mark them slow.

    ``make test`` spreads the tests over the cores with pytest-xdist, a test file (or notebook)
    per worker (``--dist loadscope``), so a module's fixtures (a study run shared by its tests)
    are made once and nbval runs a notebook's cells in order in one kernel.
    """
    for item in items:
        if "two_runs" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
    # the longest files first, so that no worker is left alone with one at the end: files
    # with end-to-end runs, the one that makes the two sample runs leading and the others that
    # read them after the rest (by then the runs exist), then the notebooks, then the quick ones
    files = {}
    for item in items:
        files.setdefault(item.path, []).append(item)

    def cost(path):
        group = files[path]
        reads_runs = any("two_runs" in getattr(i, "fixturenames", ()) for i in group)
        heavy = any(i.get_closest_marker("slow") for i in group)
        if reads_runs:
            return 0 if path == next(p for p in files if any(
                "two_runs" in getattr(i, "fixturenames", ()) for i in files[p])) else 2
        return 1 if heavy else 3 if path.suffix == ".ipynb" else 4

    items[:] = [i for path in sorted(files, key=cost) for i in files[path]]
