"""The documentation: the site builds from the sources, and the project texts are well formed.

The build test (``slow``) builds the site with ``docs/build.py`` from the executed notebooks of
a real run of the sample (the session fixture ``two_runs``), with Sphinx's warnings as errors
(``-W --keep-going``): a broken link or section anchor, a malformed docstring or a page left out
of every table of contents fails it. No warning is allowed; the failure lists them all. Then it
reads the HTML: every notebook became a page with its figures and formatted tables, every
public module has a reference page whose functions show their numpydoc Parameters, and no page
loads a script or stylesheet from the network.

The other tests are quick: the API pages are generated for every module the package holds (the
list is walked, never written down), ``CITATION.cff`` is valid Citation File Format 1.2.0 and
``CHANGELOG.md`` follows Keep a Changelog.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.util
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from numpydoc.docscrape import ClassDoc, FunctionDoc

import cx_helpers

ROOT = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = ROOT / "docs" / "build.py"

# Public modules none of whose exported functions or classes has a numpydoc Parameters section
# (a command-line entry point; the schema's functions take none). Checked below: a module that
# gains a documented parameter must leave this list.
NO_PARAMETERS = {"cx_helpers.cli", "cx_helpers.schema"}


def _build_module():
    spec = importlib.util.spec_from_file_location("cx_docs_build", BUILD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _documented(module_name):
    """The functions and classes a module's page documents (autodoc's ``:members:``; for a
    package, what it defines itself: its re-exports are documented with their submodules)."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is not None:
        names = _build_module().split_exports(module)[0]
    else:
        names = [n for n, o in vars(module).items() if not n.startswith("_")
                 and getattr(o, "__module__", None) == module_name and inspect.getdoc(o)]
    return {n: getattr(module, n) for n in names
            if inspect.isfunction(getattr(module, n)) or inspect.isclass(getattr(module, n))}


def _with_parameters(module_name):
    """Exported functions and classes whose docstring has a numpydoc Parameters section."""
    out = []
    for name, obj in _documented(module_name).items():
        doc = ClassDoc(obj, config={"show_class_members": False}) if inspect.isclass(obj) \
            else FunctionDoc(obj)
        if doc["Parameters"]:
            out.append(name)
    return out


def _entry(html, object_id):
    """The HTML of one documented object: from its signature to the next object's."""
    start = html.find(f'id="{object_id}"')
    if start < 0:
        return None
    nxt = html.find('<dt class="sig sig-object py" id="', start + 1)
    return html[start: nxt if nxt > 0 else len(html)]


# ---------------------------------------------------------------------------------------------
# quick tests
# ---------------------------------------------------------------------------------------------

def test_api_pages_cover_every_public_module(tmp_path):
    build = _build_module()
    modules = build.public_modules()
    walked = {m for m in modules}
    # the walk finds the package's modules, private ones and __main__ left out
    assert {"cx_helpers.metrics", "cx_helpers.study", "cx_helpers.display"} <= walked
    assert not [m for m in modules if any(p.startswith("_") for p in m.split("."))]
    for path in (ROOT / "cx_helpers").rglob("*.py"):
        if not (path.parent / "__init__.py").is_file():
            continue                                  # not a module (package data)
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        if len(parts) > 1 and not any(p.startswith("_") for p in parts):
            assert ".".join(parts) in walked, f"{path} has no API page"
    written = build.write_api(tmp_path)
    assert written == modules
    for name in modules:
        page = (tmp_path / "api" / f"{name}.rst").read_text()
        assert f".. automodule:: {name}\n   :members:" in page
    index = (tmp_path / "api" / "index.md").read_text()
    assert all(f"\n{name}\n" in index for name in modules)
    public = (tmp_path / "api" / "public.rst").read_text()
    for name in cx_helpers.__all__:
        if name.startswith("_"):
            continue
        if inspect.ismodule(getattr(cx_helpers, name)):       # a step's module, also callable
            assert f":mod:`cx_helpers.{name}`" in public
        else:
            assert f":: cx_helpers.{name}\n" in public


def test_texts_bring_what_they_link_to(tmp_path, monkeypatch):
    build = _build_module()
    repo, src = tmp_path / "repo", tmp_path / "src"
    (repo / "data" / "examples").mkdir(parents=True)
    (repo / "README.md").write_text(
        "# R\n\n[contract](data/README.md#keys), [licence](LICENSE), "
        "[examples](data/examples/), [site](https://example.org/x), [top](#r)\n")
    (repo / "data" / "README.md").write_text("# C\n\n[back](../README.md), [notes](notes.md)\n")
    (repo / "data" / "notes.md").write_text("# N\n")
    (repo / "LICENSE").write_text("MIT\n")
    monkeypatch.setattr(build, "ROOT", repo)
    monkeypatch.setattr(build, "TEXTS", ("README.md",))
    build.copy_texts(src)
    readme = (src / "README.md").read_text()
    assert "[contract](data/README.md#keys)" in readme and "[licence](LICENSE)" in readme
    assert "examples (`data/examples/`)" in readme           # a folder cannot be a page
    assert "[site](https://example.org/x)" in readme and "[top](#r)" in readme
    assert (src / "LICENSE").read_text() == "MIT\n"           # a download
    # linked Markdown files follow, as pages outside the contents
    assert (src / "data" / "README.md").read_text().startswith("---\norphan: true\n---")
    assert (src / "data" / "notes.md").is_file()


def test_modules_without_parameters_are_listed_truly():
    build = _build_module()
    for name in build.public_modules():
        documented = _with_parameters(name)
        if name in NO_PARAMETERS:
            assert not documented, f"{name} now documents parameters: remove it from NO_PARAMETERS"
        else:
            assert documented, f"{name}: no exported function documents its Parameters"


# Citation File Format 1.2.0: the keys of the schema (https://citation-file-format.github.io/)
CFF_REQUIRED = {"cff-version", "message", "title", "authors"}
CFF_KEYS = CFF_REQUIRED | {
    "abstract", "commit", "contact", "date-released", "doi", "identifiers", "keywords",
    "license", "license-url", "preferred-citation", "references", "repository",
    "repository-artifact", "repository-code", "type", "url", "version"}
PERSON_KEYS = {"family-names", "given-names", "name-particle", "name-suffix", "affiliation",
               "address", "city", "country", "email", "fax", "orcid", "post-code", "region",
               "tel", "website", "alias"}
ENTITY_KEYS = {"name", "address", "alias", "city", "country", "date-end", "date-start",
               "email", "fax", "location", "orcid", "post-code", "region", "tel", "website"}


def test_citation_cff_is_valid():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert isinstance(cff, dict)
    assert CFF_REQUIRED <= set(cff), CFF_REQUIRED - set(cff)
    assert set(cff) <= CFF_KEYS, f"not CFF 1.2.0 keys: {set(cff) - CFF_KEYS}"
    assert cff["cff-version"] == "1.2.0"
    assert isinstance(cff["message"], str) and cff["message"].strip()
    assert cff["title"].strip()
    assert cff["type"] in ("software", "dataset")
    assert isinstance(cff["authors"], list) and cff["authors"]
    for author in cff["authors"]:
        # a person has family-names (or a name-particle); an entity has a name
        if "name" in author:
            assert set(author) <= ENTITY_KEYS, set(author) - ENTITY_KEYS
        else:
            assert set(author) <= PERSON_KEYS and "family-names" in author, author
    assert {"name": "The cx-helpers contributors"} in cff["authors"]
    # the version and licence agree with the package's metadata
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert str(cff["version"]) == cx_helpers.__version__ == project["version"]
    assert cff["license"] == "MIT"
    if "date-released" in cff:
        assert isinstance(cff["date-released"], datetime.date)
    for key in ("keywords",):
        assert all(isinstance(k, str) and k for k in cff.get(key, []))


KEEP_A_CHANGELOG = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")


def test_changelog_follows_keep_a_changelog():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changelog\n")
    assert "keepachangelog.com" in text
    versions = re.findall(r"^## \[([^\]]+)\](?: - (\S+))?$", text, flags=re.MULTILINE)
    assert versions, "no '## [version] - date' heading"
    # the newest entry is the package's version, released on a date or still unreleased
    assert versions[0][0] == cx_helpers.__version__
    for _, date in versions:
        assert date == "Unreleased" or re.fullmatch(r"\d{4}-\d{2}-\d{2}", date), date
    kinds = re.findall(r"^### (.+)$", text, flags=re.MULTILINE)
    assert kinds and set(kinds) <= set(KEEP_A_CHANGELOG), kinds
    # every entry of a kind is a bullet
    for block in re.split(r"^### .+$", text, flags=re.MULTILINE)[1:]:
        body = block.split("\n## ")[0]
        items = [ln for ln in body.splitlines() if ln.startswith("- ")]
        assert items


# ---------------------------------------------------------------------------------------------
# the site, built from a real run (slow)
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(two_runs, tmp_path_factory):
    """The site built from the first run's executed notebooks; (html folder, warnings, result)."""
    out = tmp_path_factory.mktemp("docs")
    res = subprocess.run([sys.executable, str(BUILD_SCRIPT), "--run", str(two_runs[0]),
                          "--out", str(out)], capture_output=True, text=True, timeout=900,
                         check=False)
    warnings = (out / "warnings.txt").read_text() if (out / "warnings.txt").exists() else ""
    return out / "html", warnings, res


@pytest.mark.slow
def test_site_builds_without_warnings(site):
    html, warnings, res = site
    assert res.returncode == 0, f"Sphinx warnings (as errors):\n{warnings}\n{res.stderr[-3000:]}"
    assert not warnings.strip(), warnings
    assert (html / "index.html").is_file()
    for page in ("README", "data/README", "CHANGELOG", "citing", "guide/index", "api/index",
                 "api/public", "notebooks/index"):
        assert (html / f"{page}.html").is_file(), page


@pytest.mark.slow
def test_notebooks_are_pages_with_figures_and_tables(site, two_runs):
    html, _, _ = site
    notebooks = sorted((two_runs[0] / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == 3
    index = (html / "notebooks" / "index.html").read_text()
    for nb in notebooks:
        page = html / "notebooks" / f"{nb.stem}.html"
        assert page.is_file(), f"{nb.name} did not become a page"
        text = page.read_text()
        assert f'href="{nb.stem}.html"' in index
        images = re.findall(r'<img [^>]*src="([^"]+)"', text)
        assert images, f"{nb.stem}: no figure"
        for src in images:
            png = (page.parent / src).resolve()
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", src
        # the formatted tables of cx_helpers.display, rendered as HTML (not escaped text)
        assert re.search(r'<table class="[^"]*cx-table', text), f"{nb.stem}: no table"
        assert "&lt;table" not in text
        # the stored outputs, not a re-execution: no progress bars, no local paths injected
        assert "widget-view" not in text and str(two_runs[0]) not in text


@pytest.mark.slow
def test_api_reference_renders_parameters(site):
    html, _, _ = site
    public = (html / "api" / "public.html").read_text()
    entry = _entry(public, "cx_helpers.load_study")
    assert entry and ">Parameters<" in entry and ">Returns<" in entry
    build = _build_module()
    for name in build.public_modules():
        page = (html / "api" / f"{name}.html").read_text()
        assert f'id="module-{name}"' in page, name
        for obj in _documented(name):
            assert f'id="{name}.{obj}"' in page, f"{name}.{obj} is not documented"
        for obj in _with_parameters(name):
            entry = _entry(page, f"{name}.{obj}")
            assert ">Parameters<" in entry, f"{name}.{obj}: Parameters not rendered"
        if name not in NO_PARAMETERS:
            assert _with_parameters(name)
    metrics = (html / "api" / "cx_helpers.metrics.html").read_text()
    assert "&gt;&gt;&gt;" in _entry(metrics, "cx_helpers.metrics.nps")   # its doctest example


@pytest.mark.slow
def test_site_loads_nothing_from_the_network(site):
    html, _, _ = site
    pages = list(html.rglob("*.html"))
    assert len(pages) > 25
    remote = re.compile(r'<(?:script|link|img|iframe)\b[^>]*(?:src|href)="(?:https?:)?//',
                        flags=re.IGNORECASE)
    for page in pages:
        found = remote.findall(page.read_text())
        assert not found, f"{page.relative_to(html)} loads {found}"
    for js in html.rglob("*.js"):
        assert "cdn.jsdelivr" not in js.read_text() and "cdnjs" not in js.read_text(), js
