"""Run a study: execute the notebooks with papermill, write the report and the manifest."""

from __future__ import annotations

import ast
import contextlib
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from cx_helpers.errors import StudyError
from cx_helpers.layout import (LOCK_NAME, RunLayout, input_record, package_versions,
                               table_hashes, write_manifest)
from cx_helpers.report import available_inputs, build_report, print_pdf
from cx_helpers.study import SHARED_STUDY_ENV, load_study, share_study

__all__ = ["NOTEBOOKS", "RunError", "run_many", "run_study", "slug"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# the study notebooks ship in the package as cx_helpers.notebooks (pyproject.toml maps the
# repository's notebooks/ folder to it), so an installed `cx run` finds them from anywhere
NOTEBOOK_DIR = Path(str(resources.files("cx_helpers.notebooks")))
NOTEBOOKS = (
    "01_touchpoint_inventory.ipynb",
    "02_loyalty_regression.ipynb",
    "03_journey_vs_touchpoint.ipynb",
)
KERNEL_NAME = "cx-suite"
# the kernel's own start-up warnings (e.g. "running over TCP without encryption") are noise to users
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]


# the thread pools of the numerical libraries (BLAS, OpenMP, numba), set per kernel: the
# notebooks run side by side, and a library that starts a thread per core in each kernel
# oversubscribes the machine (measured on 2 cores: the key-driver bootstrap of two kernels at
# once took 330 s with a thread per core each, 24 s with one thread each)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS")


@contextlib.contextmanager
def _kernel_environment(study, study_path, segment, threads: int):
    """The environment of the kernels started inside: the study loaded by the runner, shared
    with them (:func:`cx_helpers.study.share_study`, a pickle in a temporary folder removed on
    exit), and ``threads`` threads per numerical library (a variable the user set is kept).
    The runner's own environment is restored on exit."""
    with tempfile.TemporaryDirectory(prefix="cx-run-") as folder:
        shared = Path(folder) / "study.pickle"
        share_study(study, study_path, segment, shared)
        changes = {SHARED_STUDY_ENV: str(shared),
                   **{name: str(threads) for name in THREAD_VARIABLES if name not in os.environ}}
        before = {name: os.environ.get(name) for name in changes}
        os.environ.update(changes)
        try:
            yield
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@contextlib.contextmanager
def _ctrl_c_remembered():
    """Ctrl-C (SIGINT) also sets an event while the notebooks run, so that it is not lost when
    the KeyboardInterrupt lands where Python swallows it (a finalizer run by the garbage
    collector in this thread prints "Exception ignored" and goes on): the waiting loop raises
    it again. Outside the main thread, nothing changes."""
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return

    def on_sigint(signum, frame):
        interrupted.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


class RunError(RuntimeError):
    """A notebook failed while running a study."""


def kernel_name() -> str:
    """The project's registered kernel, or the current environment's ``python3`` kernel."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    return KERNEL_NAME if KERNEL_NAME in specs else "python3"


def _git_commit() -> dict:
    """The project's commit, when the package runs from a git checkout (not from a wheel)."""
    if not (PROJECT_ROOT / ".git").exists():
        return {"commit": None, "dirty": None}

    def git(*args):
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        return {"commit": git("rev-parse", "HEAD"),
                "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def slug(name, fallback: str = "study") -> str:
    """A name made safe to use as one folder name: letters, digits, ``-``, ``_`` and ``.``.

    Anything else (path separators, ``..``, spaces, control characters) becomes ``-``; a result
    made of dots only, or empty, becomes ``fallback``.
    """
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip("-.")
    return text[:80] or fallback


def _claim(run_dir: Path) -> Path:
    """Take ``run_dir`` for this run, atomically: its lock file is created exclusively.

    Two runs can never share a folder: the second finds the lock (or a non-empty folder) and
    stops before writing anything. The lock stays for the run's life and is removed at its end.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = run_dir / LOCK_NAME
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise StudyError(f"the folder is in use by another run (its {LOCK_NAME} exists).",
                         file=run_dir, fix="choose a new --out folder, or delete the lock if no "
                                           "run is going on.") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{os.getpid()}\n")
    others = [p.name for p in run_dir.iterdir() if p.name != LOCK_NAME]
    if others:
        lock.unlink()
        raise StudyError("the run folder exists and is not empty (a run never overwrites "
                         "anything).", file=run_dir, fix="choose a new --out folder.")
    return run_dir


def _new_run_dir(base: Path) -> Path:
    """A fresh run folder under ``base``, named by the UTC time; never one another run holds."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = base.resolve()
    for k in range(1, 1000):
        run_dir = base / (stamp if k == 1 else f"{stamp}-{k}")
        try:
            run_dir.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            continue
        return _claim(run_dir)
    raise RunError(f"could not create a new run folder under {base}.")


def _check_out(run_dir: Path, study_path: Path) -> None:
    """Refuse an ``--out`` that is a file, the study folder, or a folder holding the study."""
    if run_dir.exists() and not run_dir.is_dir():
        raise StudyError("--out names a file, not a folder.", file=run_dir,
                         fix="give a new (or empty) folder for the run.")
    if run_dir == study_path or study_path.is_relative_to(run_dir) or \
            run_dir.is_relative_to(study_path):
        raise StudyError("--out must lie outside the study folder (the run would mix its output "
                         "with the study's inputs).", file=run_dir,
                         fix="give a folder outside the study, e.g. reports/<study>/<name>.")


def _stop_kernels() -> None:
    """Terminate this process's kernels (an interrupted run), without their tracebacks."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        try:
            child.terminate()
        except psutil.Error:
            pass


def _notebook_defaults(notebooks) -> dict:
    """The parameters each notebook declares, with their default values."""
    import papermill as pm

    def value(source):
        try:
            return ast.literal_eval(source)
        except (ValueError, SyntaxError):
            return source

    return {name: {k: value(v["default"])
                   for k, v in pm.inspect_notebook(str(NOTEBOOK_DIR / name)).items()}
            for name in notebooks}


def run_study(study_path, out=None, seed=None, min_base=None, parameters=None, segment=None,
              pdf=False, progress=True, notebooks=NOTEBOOKS) -> Path:
    """Run a study's notebooks and write a report folder.

    Parameters
    ----------
    study_path : str or Path
        The study folder (``study.yaml`` plus tables). It is validated first.
    out : str or Path, optional
        The run folder to create (new or empty). Default ``reports/<study name>/<run id>/``
        under the current directory.
    seed : int, optional
        Seed of every random step (default: the study's ``seed``).
    min_base : int, optional
        Minimum base size (default: the study's ``min_base``).
    parameters : dict, optional
        Further notebook parameters (e.g. ``{"n_boot": 500}``), passed to every notebook.
    segment : str, optional
        ``"column=value"``: run on the respondents of one segment only.
    pdf : bool, default False
        Also print ``report.pdf`` with headless Chromium.
    progress : bool, default True
        Show which notebook runs and a progress bar per notebook.
    notebooks : sequence of str
        Notebook file names in ``notebooks/``.

    Returns
    -------
    Path
        The run folder: executed notebooks, ``report.html``, ``tables/``, ``figures/`` and
        ``manifest.json``.

    Raises
    ------
    StudyError
        When the study does not meet the contract (nothing is run).
    RunError
        When a notebook fails; the executed notebook and the manifest are kept.
    """
    import papermill as pm

    study_path = Path(study_path).resolve()
    study = load_study(study_path, segment=segment)
    seed = study.seed if seed is None else int(seed)
    min_base = study.min_base if min_base is None else int(min_base)
    if segment and 0 < len(study.respondents) < min_base:
        raise StudyError(f"segment {segment} has {len(study.respondents)} respondents, fewer than "
                         f"the minimum base of {min_base}: its report would rest on too few "
                         "answers, so it is not run (nothing is written).",
                         file=study_path / "study.yaml",
                         fix="report this segment together with others, or lower min_base "
                             "knowingly (--min-base).")
    if pdf:
        from cx_helpers.report import find_chromium
        if find_chromium() is None:
            raise RunError("--pdf needs Chromium: install Debian's package with "
                           "`apt-get install chromium` (nothing was run).")
    defaults = _notebook_defaults(notebooks)
    accepted = set().union(*defaults.values())
    unknown = sorted(set(parameters or {}) - accepted) + ([] if not segment or "segment" in accepted
                                                          else ["segment"])
    if unknown:
        raise RunError(f"no notebook takes the parameter(s) {', '.join(unknown)}; the notebooks "
                       f"take: {', '.join(sorted(accepted))}.")
    if out is None:
        parent = (Path.cwd() / "reports").resolve()
        run_dir = _new_run_dir(parent / slug(study.name))
        if not run_dir.is_relative_to(parent):  # slug() makes this impossible; checked anyway
            raise RunError(f"refusing to write outside {parent}: {run_dir}")
    else:
        run_dir = Path(out).resolve()
        _check_out(run_dir, study_path)
        _claim(run_dir)
    params = {"study": str(study_path), "output_dir": str(run_dir), "seed": seed,
              "min_base": min_base, **(parameters or {})}
    if segment:
        params["segment"] = segment
    manifest = {
        "study": study.name, "study_path": str(study_path), "run_dir": str(run_dir),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "parameters": params, "seed": seed, "segment": segment,
        "effective_parameters": {name: {**d, **{k: v for k, v in params.items() if k in d}}
                                 for name, d in defaults.items()},
        "inputs": [input_record(p, study_path) for p in study.inputs],
        "python": platform.python_version(), "platform": platform.platform(),
        "packages": package_versions(), "project": _git_commit(), "kernel": kernel_name(),
        "notebooks": [], "timings": {}, "status": "running",
        "warnings": list(getattr(study, "warnings", []) or []),
    }
    for warning in manifest["warnings"]:
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    run = RunLayout(run_dir)
    run.notebooks.mkdir(exist_ok=True)
    started = time.perf_counter()

    def execute(name):
        target = run.notebook(name)
        t0 = time.perf_counter()
        try:
            pm.execute_notebook(str(NOTEBOOK_DIR / name), str(target),
                                parameters={k: v for k, v in params.items()
                                            if k in defaults[name]},
                                kernel_name=manifest["kernel"], cwd=str(run_dir),
                                progress_bar=False, log_output=False,
                                extra_arguments=KERNEL_ARGUMENTS)
        except pm.PapermillExecutionError as exc:
            raise RunError(f"notebook {name} failed at cell {exc.exec_count}: {exc.ename}: "
                           f"{exc.evalue}. The executed notebook is at {target}.") from None
        finally:
            manifest["timings"][name] = round(time.perf_counter() - t0, 2)
        if progress:
            print(f"  done {name} ({manifest['timings'][name]:.0f} s)", flush=True)
        return target

    try:
        # the notebooks are independent (each reads the study, each writes its own tables):
        # they run side by side, as many at once as there are cores (at most 3)
        workers = max(1, min(len(notebooks), os.cpu_count() or 1, 3))
        if progress:
            print(f"running {len(notebooks)} notebooks ({workers} at a time): "
                  f"{', '.join(notebooks)}", flush=True)
        pool = ThreadPoolExecutor(max_workers=workers)
        threads = max(1, (os.cpu_count() or 1) // workers)
        try:
            with _kernel_environment(study, study_path, segment, threads), \
                    _ctrl_c_remembered() as interrupted:
                futures = [pool.submit(execute, name) for name in notebooks]
                pending = set(futures)
                while pending:   # short waits, so that Ctrl-C reaches this thread at once
                    if interrupted.is_set():
                        raise KeyboardInterrupt
                    _, pending = wait(pending, timeout=0.5)
            errors = []
            for future in futures:
                try:
                    future.result()
                except RunError as exc:
                    errors.append(exc)
        except KeyboardInterrupt:
            _stop_kernels()     # the notebooks stop at once, and quietly
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if errors:
            raise RunError(" ".join(str(e) for e in errors))
        executed = [run.notebook(name) for name in notebooks]
        manifest["notebooks"] = [p.relative_to(run_dir).as_posix() for p in executed]
        t0 = time.perf_counter()
        branding = study.config.get("branding") or {}
        subtitle = f" ({segment})" if segment else ""
        build_report(executed, run.report,
                     title=f"Customer experience study: {study.name}{subtitle}",
                     client=study.client, study_name=study.name, tables_dir=run.tables,
                     params=params, n_respondents=len(study.respondents),
                     colour=branding.get("primary_colour"),
                     logo=study_path / branding["logo"] if branding.get("logo") else None,
                     run_id=run_dir.name, available=available_inputs(study))
        if pdf:
            print_pdf(run.report, run.pdf)
        manifest["timings"]["report"] = round(time.perf_counter() - t0, 2)
        manifest["status"] = "ok"
    except KeyboardInterrupt:
        manifest["status"] = "interrupted: the run was stopped before it finished (Ctrl-C)"
        raise
    except BaseException as exc:
        manifest["status"] = f"failed: {exc}"
        raise
    finally:
        manifest["timings"]["total"] = round(time.perf_counter() - started, 2)
        manifest["tables"] = table_hashes(run_dir)
        if manifest["status"] != "ok":
            # nothing of a failed run may look complete: no report, and a marker beside the tables
            run.report.unlink(missing_ok=True)
            run.failed.write_text(
                f"This run did not finish ({manifest['status']}). Its tables are incomplete "
                "and must not be used.\n", encoding="utf-8")
        write_manifest(run_dir, manifest)
        run.lock.unlink(missing_ok=True)
    return run_dir


def run_many(studies, by=None, out=None, progress=True, **kwargs) -> list[dict]:
    """Run several studies, or one study once per segment; a failing run does not stop the rest.

    Parameters
    ----------
    studies : list of str or Path
        Study folders.
    by : str, optional
        A segment column: one run (and report) per value of it, for each study.
    out : str or Path, optional
        Parent folder of the run folders (default ``reports/<study>/``).
    progress : bool
        Show a progress bar over the runs.
    **kwargs
        Passed to :func:`run_study` (seed, min_base, parameters, pdf).

    Returns
    -------
    list of dict
        A row per run: ``study, segment, status, run_dir, error``.
    """
    from tqdm.auto import tqdm

    from cx_helpers.errors import StudyError

    jobs = []
    for path in studies:
        if by is None:
            jobs.append((path, None))
            continue
        try:
            values = load_study(path).segment_values(by)
        except StudyError as exc:
            jobs.append((path, StudyError(str(exc))))
            continue
        jobs.extend((path, f"{by}={v}") for v in values)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    results = []
    bar = tqdm(jobs, desc="runs", unit="run", disable=not progress)
    for path, segment in bar:
        row = {"study": str(path), "segment": None if isinstance(segment, Exception) else segment,
               "status": "ok", "run_dir": None, "error": ""}
        bar.set_postfix_str(f"{Path(path).name} {segment or ''}".strip())
        try:
            if isinstance(segment, Exception):
                raise segment
            name = slug(Path(path).resolve().name)
            label = stamp + (f"-{slug(segment.replace('=', '-'), 'segment')}" if segment else "")
            target = (Path(out) / name / label) if out else \
                (Path.cwd() / "reports" / name / label if segment or len(jobs) > 1 else None)
            row["run_dir"] = str(run_study(path, out=target, segment=segment, progress=False,
                                           **kwargs))
        except (StudyError, RunError) as exc:
            row["status"], row["error"] = "failed", str(exc)
        except Exception as exc:  # one failing run does not stop the rest
            row["status"], row["error"] = "failed", f"{type(exc).__name__}: {exc}"
        results.append(row)
    return results
