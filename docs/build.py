"""Build the documentation site: user guide, executed notebooks and API reference.

Usage::

    python docs/build.py                      # runs the sample study first (about a minute)
    python docs/build.py --run reports/sample/20261122-181500   # the notebooks of a finished run
    python docs/build.py --out /tmp/site      # default build/docs (git-ignored)

The site is ``<out>/html/index.html``. The script assembles a Sphinx source tree in
``<out>/source`` and builds it with warnings as errors, so a broken link, a malformed docstring
or a missing page fails the build:

* the hand-written pages of ``docs/`` (this folder) and ``conf.py``;
* the project's texts, included as they are: ``README.md``, ``data/README.md`` (the study
  contract) and ``CHANGELOG.md``, with the repository files they link to (downloads);
* the API reference, generated from the package each time (the module list is never written
  by hand): a page per public module of ``cx_helpers`` (found by walking the package, leaving
  out modules whose name starts with ``_``), documented by autodoc and numpydoc, and a "Public
  API" page for the names in ``cx_helpers.__all__``;
* the executed notebooks of a run (``<run>/notebooks/*.ipynb``, written by ``cx run``). With no
  ``--run``, ``cx run data/sample`` runs first into a temporary folder with a small bootstrap
  (``-p n_boot 30 -p n_repeats 2``). Sphinx never executes a notebook; the pages show the
  stored outputs. Progress-bar widgets and papermill's injected-parameters cell (which holds
  local paths) are left out; the run's parameters are listed on the notebooks' index page.

Nothing is loaded from the network: no CDN scripts (widget manager, require.js, MathJax).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import pkgutil
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
TEXTS = ("README.md", "data/README.md", "CHANGELOG.md")
SAMPLE_ARGS = ("--seed", "11", "-p", "n_boot", "30", "-p", "n_repeats", "2")
WIDGET = "application/vnd.jupyter.widget-view+json"
MARKER = ".cx-docs-build"


def public_modules() -> list[str]:
    """Every public module of ``cx_helpers``: walked, not listed; ``_``-prefixed parts skipped."""
    import cx_helpers

    names = []
    for info in pkgutil.walk_packages(cx_helpers.__path__, "cx_helpers."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        names.append(info.name)
    return sorted(names)


def _title(text: str) -> str:
    return f"{text}\n{'=' * len(text)}\n"


def write_api(src: Path) -> list[str]:
    """Write ``api/index.md``, ``api/public.rst`` and one ``api/<module>.rst`` per module."""
    import cx_helpers

    api = src / "api"
    api.mkdir(parents=True, exist_ok=True)
    modules = public_modules()
    public = ", ".join(f"``{n}``" for n in cx_helpers.__all__ if not n.startswith("_"))
    (api / "public.rst").write_text(
        _title("Public API")
        + f"\nThe names ``import cx_helpers`` exports ({public}). Every submodule is also\n"
        "reachable as an attribute (``cx_helpers.metrics``), imported on first use.\n\n"
        ".. automodule:: cx_helpers\n\n"
        + "".join(_public_entry(cx_helpers, n) for n in cx_helpers.__all__
                  if not n.startswith("_")))
    rows = ["| module | what it holds |", "|---|---|",
            "| [Public API](public.rst) | the names `import cx_helpers` exports |"]
    for name in modules:
        module = importlib.import_module(name)   # fails here, by name, if a module is broken
        (api / f"{name}.rst").write_text(_title(f"``{name}``") + _module_page(module))
        summary = (inspect.getdoc(module) or "").split("\n\n")[0].replace("\n", " ")
        summary = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", summary)     # RST roles as code
        rows.append(f"| [`{name}`]({name}.rst) | {summary.replace('|', '/')} |")
    (api / "index.md").write_text(
        "# API reference\n\n"
        "Generated from the numpydoc docstrings of the package at build time: the public API, "
        "then a page per public module of `cx_helpers` (modules whose name starts with `_` "
        "are internal). The examples in the docstrings run as doctests "
        "(`tests/test_doctests.py`).\n\n" + "\n".join(rows) + "\n\n"
        "```{toctree}\n:hidden:\n:maxdepth: 1\n\npublic\n" + "\n".join(modules) + "\n```\n")
    return modules


def split_exports(module) -> tuple[list[str], list[str]]:
    """A package's exports: (defined in the package, re-exported from its submodules).

    A re-export is documented on its submodule's page only, and linked from the package's: two
    descriptions of one object would collide when a function shares its module's name
    (``cx_helpers.journeys.compare``). A plain module keeps autodoc's rule (``__all__``).
    """
    names = list(getattr(module, "__all__", []))
    if not hasattr(module, "__path__"):
        return names, []
    prefix = module.__name__ + "."
    own, again = [], []
    for n in names:
        obj = getattr(module, n)
        origin = obj.__name__ if inspect.ismodule(obj) else getattr(obj, "__module__", "")
        (again if str(origin).startswith(prefix) else own).append(n)
    return own, again


def _module_page(module) -> str:
    name = module.__name__
    own, again = split_exports(module)
    if not again:
        return f"\n.. automodule:: {name}\n   :members:\n"
    text = f"\n.. automodule:: {name}\n"
    if own:
        text += f"   :members: {', '.join(own)}\n"
    text += "\nAlso exported here, documented with their module:\n\n"
    for n in again:
        obj = getattr(module, n)
        if inspect.ismodule(obj):
            text += f"* :mod:`{obj.__name__}`\n"
        else:
            role = {"class": "class", "exception": "exc", "function": "func"}.get(_kind(obj),
                                                                              "data")
            where = getattr(obj, "__module__", name) if _kind(obj) != "data" else name
            qual = getattr(obj, "__qualname__", n)
            text += f"* :{role}:`{n} <{where}.{qual}>`\n" if role != "data" else f"* ``{n}``\n"
    return text


def _public_entry(package, name: str) -> str:
    """The reST of one exported name: autodoc for a function, class or exception; for a module
    (which may also be callable: ``cx.inventory(study)``), a line linking its page."""
    obj = getattr(package, name)
    full = f"{package.__name__}.{name}"
    if not inspect.ismodule(obj):
        return f".. auto{_kind(obj)}:: {full}\n\n"
    target = getattr(obj, "__call_target__", None)
    if callable(obj) and target is not None:
        return (f".. rubric:: ``{full}(...)``\n\nThe module :mod:`{full}`, called: the same as "
                f":func:`{target.__module__}.{target.__qualname__}` (its parameters and "
                "returns are documented there).\n\n")
    return f".. rubric:: ``{full}``\n\nThe module :mod:`{full}`.\n\n"


def _kind(obj) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj):
        return "function"
    return "data"


def clean_notebook(path: Path, dest: Path) -> None:
    """Copy an executed notebook without progress-bar widgets and papermill's injected cell."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)
    cells = []
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if WIDGET not in o.get("data", {})]
        cells.append(cell)
    nb.cells = cells
    nbformat.write(nb, dest)


def write_notebooks(src: Path, run: Path) -> list[str]:
    """Copy the run's executed notebooks and write their index page; return their names."""
    from cx_helpers import layout

    found = sorted((run / layout.NOTEBOOKS).glob("*.ipynb"))
    if not found:
        raise SystemExit(f"docs/build.py: no executed notebooks in {run / layout.NOTEBOOKS} "
                         "(give the folder of a finished `cx run`).")
    out = src / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    for nb in found:
        clean_notebook(nb, out / nb.name)
    manifest = json.loads((run / layout.MANIFEST).read_text()) \
        if (run / layout.MANIFEST).is_file() else {}
    params = {k: v for k, v in manifest.get("parameters", {}).items()
              if k not in ("study", "output_dir")}
    shown = ", ".join(f"`{k} = {v!r}`" for k, v in params.items()) or "the notebooks' defaults"
    (out / "index.md").write_text(
        "# Example notebooks\n\n"
        f"The three notebooks of the suite as `cx run` executed them on the study "
        f"`{manifest.get('study', run.name)}`, with {shown} (other parameters at the "
        "notebooks' defaults). The pages show the stored outputs (formatted tables and "
        "figures); the code cells are the calls into `cx_helpers` a notebook makes. The "
        "intervals' precision follows the run's bootstrap size (`n_boot`).\n\n"
        "```{toctree}\n:maxdepth: 1\n\n" + "\n".join(nb.stem for nb in found) + "\n```\n")
    return [nb.stem for nb in found]


_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")


def copy_texts(src: Path) -> None:
    """Copy the README files and the changelog, with what their relative links point to.

    A linked Markdown file becomes a page too (outside the contents, ``orphan``), any other
    linked file a download; a link to a folder, which a site cannot show, becomes its text
    followed by the folder's path. A link to a missing file is left for Sphinx to report.
    """
    queue, done = list(TEXTS), set()
    while queue:
        rel = queue.pop(0)
        if rel in done:
            continue
        done.add(rel)
        path = ROOT / rel

        def relink(match, path=path):
            label, target = match.groups()
            file_part = target.split("#")[0]
            if not file_part or "://" in target or target.startswith("mailto:"):
                return match.group(0)
            linked = (path.parent / file_part).resolve()
            if linked != ROOT and ROOT not in linked.parents:
                return match.group(0)
            where = linked.relative_to(ROOT).as_posix()
            if linked.is_dir():
                return f"{label} (`{where}/`)"
            if linked.suffix == ".md":
                queue.append(where)
            elif linked.is_file():
                (src / where).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(linked, src / where)
            return match.group(0)

        text = _LINK.sub(relink, path.read_text(encoding="utf-8"))
        if rel not in TEXTS:
            text = "---\norphan: true\n---\n\n" + text
        dest = src / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")


def run_sample(folder: Path) -> Path:
    """``cx run data/sample`` with a small bootstrap into ``folder/run``; return the run."""
    run = folder / "run"
    res = subprocess.run([sys.executable, "-m", "cx_helpers", "run", str(ROOT / "data" / "sample"),
                          "--out", str(run), *SAMPLE_ARGS], capture_output=True, text=True,
                         check=False)
    if res.returncode != 0:
        raise SystemExit(f"docs/build.py: cx run of the sample failed:\n{res.stderr[-3000:]}")
    return run


def assemble(src: Path, run: Path) -> None:
    """Fill ``src`` with the Sphinx sources (see the module docstring)."""
    shutil.copytree(DOCS, src, ignore=shutil.ignore_patterns("_build", "build.py", "__pycache__"))
    copy_texts(src)
    write_api(src)
    write_notebooks(src, run)


def build(out: Path, run: Path | None = None, warnings_as_errors: bool = True) -> int:
    """Assemble the sources and run Sphinx; return its exit status (0: built, no warning).

    Sphinx's warnings are written to ``<out>/warnings.txt`` as well as to stderr.
    """
    from sphinx.cmd.build import build_main

    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise SystemExit(f"docs/build.py: {out} is not empty and not a previous docs build; "
                         "give a new or empty folder.")
    for sub in ("source", "html", "doctrees"):
        shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("built by docs/build.py\n")
    with tempfile.TemporaryDirectory(prefix="cx-docs-run-") as tmp:
        if run is None:
            run = run_sample(Path(tmp))
        assemble(out / "source", Path(run))
    args = ["-b", "html", "-q", "-d", str(out / "doctrees"), "-w", str(out / "warnings.txt"),
            str(out / "source"), str(out / "html")]
    if warnings_as_errors:
        args[:0] = ["-W", "--keep-going"]
    return build_main(args)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a finished `cx run` folder (default: run the "
                        "sample study into a temporary folder first)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "docs",
                        help="build folder (default build/docs); the site is <out>/html")
    parser.add_argument("--allow-warnings", action="store_true",
                        help="build even when Sphinx warns (default: warnings are errors)")
    args = parser.parse_args(argv)
    status = build(args.out, args.run, warnings_as_errors=not args.allow_warnings)
    if status == 0:
        print(f"docs: {Path(args.out).resolve() / 'html' / 'index.html'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
