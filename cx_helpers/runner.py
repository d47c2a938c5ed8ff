"""Run a study: execute the notebooks with papermill, write the report and the manifest."""

from __future__ import annotations

import copy
import hashlib
import json
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import nbformat

from cx_helpers.study import load_study

__all__ = ["NOTEBOOKS", "RunError", "build_report", "run_study", "sha256"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
NOTEBOOKS = (
    "01_touchpoint_inventory.ipynb",
    "02_loyalty_regression.ipynb",
    "03_journey_vs_touchpoint.ipynb",
)
KERNEL_NAME = "cx-suite"
PACKAGES = ("cx-helpers", "numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "seaborn",
            "matplotlib", "duckdb", "pyarrow", "papermill", "nbconvert", "nbformat", "ipykernel",
            "pyyaml")


class RunError(RuntimeError):
    """A notebook failed while running a study."""


def sha256(path) -> str:
    """The sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def kernel_name() -> str:
    """The project's registered kernel, or the current environment's ``python3`` kernel."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    return KERNEL_NAME if KERNEL_NAME in specs else "python3"


def _package_versions() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _git_commit() -> dict:
    def git(*args):
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        return {"commit": git("rev-parse", "HEAD"),
                "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def _new_run_dir(base: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    run_dir, k = base / stamp, 1
    while run_dir.exists():
        k += 1
        run_dir = base / f"{stamp}-{k}"
    run_dir.mkdir(parents=True)
    return run_dir


def build_report(executed, out_path, title: str) -> Path:
    """Join executed notebooks into one HTML report with no code cells.

    Parameters
    ----------
    executed : list of Path
        Executed notebooks, in report order.
    out_path : Path
        Where to write the HTML file.
    title : str
        The page title.

    Returns
    -------
    Path
        ``out_path``.
    """
    from nbconvert import HTMLExporter

    merged = None
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        cells = []
        for cell in nb.cells:
            tags = cell.get("metadata", {}).get("tags", [])
            if "parameters" in tags or "injected-parameters" in tags or "remove-cell" in tags:
                continue
            if cell.cell_type == "code":
                cell = copy.deepcopy(cell)
                cell.outputs = [o for o in cell.outputs
                                if not (o.output_type == "stream" and o.name == "stderr")]
            cells.append(cell)
        if merged is None:
            merged = nb
            merged.cells = cells
        else:
            merged.cells.extend(cells)
    merged.metadata["title"] = title
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(merged)
    Path(out_path).write_text(body, encoding="utf-8")
    return Path(out_path)


def run_study(study_path, out=None, seed=None, min_base=None, progress=True,
              notebooks=NOTEBOOKS) -> Path:
    """Run a study's notebooks and write a report folder.

    Parameters
    ----------
    study_path : str or Path
        The study folder (``study.yaml`` plus tables). It is validated first.
    out : str or Path, optional
        The run folder to create. Default ``reports/<study name>/<run id>/`` under the
        current directory.
    seed : int, optional
        Seed of every random step (default: the study's ``seed``).
    min_base : int, optional
        Minimum base size (default: the study's ``min_base``).
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
    study = load_study(study_path)
    seed = study.seed if seed is None else int(seed)
    min_base = study.min_base if min_base is None else int(min_base)
    if out is None:
        run_dir = _new_run_dir(Path.cwd() / "reports" / study.name)
    else:
        run_dir = Path(out).resolve()
        if run_dir.exists() and any(run_dir.iterdir()):
            raise RunError(f"{run_dir} exists and is not empty; choose a new --out folder.")
        run_dir.mkdir(parents=True, exist_ok=True)
    params = {"study": str(study_path), "output_dir": str(run_dir), "seed": seed,
              "min_base": min_base}
    manifest = {
        "study": study.name, "study_path": str(study_path), "run_dir": str(run_dir),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "parameters": params, "seed": seed,
        "inputs": [{"path": p.relative_to(study_path).as_posix(), "sha256": sha256(p),
                    "bytes": p.stat().st_size} for p in study.inputs],
        "python": sys.version.split()[0], "platform": platform.platform(),
        "packages": _package_versions(), "project": _git_commit(), "kernel": kernel_name(),
        "notebooks": [], "timings": {}, "status": "running",
    }
    (run_dir / "notebooks").mkdir(exist_ok=True)
    executed = []
    started = time.perf_counter()
    try:
        for k, name in enumerate(notebooks, 1):
            if progress:
                print(f"[{k}/{len(notebooks)}] {name}", flush=True)
            target = run_dir / "notebooks" / name
            t0 = time.perf_counter()
            try:
                pm.execute_notebook(str(NOTEBOOK_DIR / name), str(target), parameters=params,
                                    kernel_name=manifest["kernel"], cwd=str(run_dir),
                                    progress_bar=progress, log_output=False)
            except pm.PapermillExecutionError as exc:
                raise RunError(f"notebook {name} failed at cell {exc.exec_count}: {exc.ename}: "
                               f"{exc.evalue}. The executed notebook is at {target}.") from None
            finally:
                manifest["timings"][name] = round(time.perf_counter() - t0, 2)
            executed.append(target)
            manifest["notebooks"].append(f"notebooks/{name}")
        title = " - ".join(filter(None, [study.client, f"CX study '{study.name}'"]))
        t0 = time.perf_counter()
        build_report(executed, run_dir / "report.html", title)
        manifest["timings"]["report.html"] = round(time.perf_counter() - t0, 2)
        manifest["status"] = "ok"
    except Exception as exc:
        manifest["status"] = f"failed: {exc}"
        raise
    finally:
        manifest["timings"]["total"] = round(time.perf_counter() - started, 2)
        manifest["tables"] = {p.name: sha256(p) for p in sorted((run_dir / "tables").glob("*.csv"))}
        (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n",
                                               encoding="utf-8")
    return run_dir
