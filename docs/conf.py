"""Sphinx configuration of wavesim's documentation site.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (after
``pip install -e ".[docs]"``). ``-D plot_gallery=0`` skips running the
gallery's examples while writing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))

import wavesim  # noqa: E402  (after the path set-up, as Sphinx configurations do)

project = "wavesim"
author = "the wavesim developers"
copyright = "2026, the wavesim developers"
release = wavesim.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinxarg.ext",
    "sphinx_gallery.gen_gallery",
    "wavesim_api",
    "wavesim_pages",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "gallery/*.ipynb", "gallery/*.py", "**/*.codeobj.json"]

# A reference that does not resolve is an error (with -W); see nitpick_ignore_regex below for the
# projects whose inventories could not be had.
nitpicky = True

# --- API reference ---------------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types, with units
autodoc_default_options = {"member-order": "bysource"}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# GL08: an object with no docstring fails the build.
numpydoc_validation_checks = {"GL08"}
# Members that Python, dataclasses or torch give every object of their kind.
numpydoc_validation_exclude = {r"\.__\w+__$", r"\.forward$", r"\.extra_repr$"}

# --- Markdown pages --------------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist", "substitution"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

# --- Gallery: examples/gallery/plot_*.py run at build time -----------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples" / "gallery"),
    "gallery_dirs": "gallery",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "min_reported_time": 0,
    "show_signature": False,
    "reset_modules": ("matplotlib",),
}

# --- Theme -----------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"wavesim {release}"
html_static_path = []
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}


# --- Intersphinx, offline-tolerant -----------------------------------------------------------------------
#: Projects linked to, with their documentation roots.
INTERSPHINX = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "xarray": "https://docs.xarray.dev/en/stable/",
    "zarr": "https://zarr.readthedocs.io/en/stable/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "optuna": "https://optuna.readthedocs.io/en/stable/",
    "dask": "https://docs.dask.org/en/stable/",
    "distributed": "https://distributed.dask.org/en/stable/",
}
#: The Python names of each project, for ignoring references to a project whose inventory is absent.
PROJECT_MODULES = {"python": ("builtins", "typing", "collections", "pathlib", "os", "dataclasses", "argparse"),
                   "numpy": ("numpy", "np"), "xarray": ("xarray", "xr"), "zarr": ("zarr",),
                   "torch": ("torch",), "optuna": ("optuna",), "dask": ("dask",), "distributed": ("distributed",)}


def _inventory(name: str, url: str):
    """Where the project's ``objects.inv`` can be had: a local copy, the web, or nowhere (None).

    ``WAVESIM_DOCS_INVENTORIES`` names a folder of ``<project>.inv`` files (e.g. saved on a machine with a
    network); else the web is tried with a short timeout. Nothing is stored in the repository.
    """
    folder = os.environ.get("WAVESIM_DOCS_INVENTORIES")
    if folder and (Path(folder) / f"{name}.inv").is_file():
        return (url, str(Path(folder) / f"{name}.inv"))
    if os.environ.get("WAVESIM_DOCS_OFFLINE") == "1":
        return None
    try:
        with urllib.request.urlopen(url + "objects.inv", timeout=5) as response:
            response.read(64)
        return (url, None)
    except Exception:  # no route, no DNS, a timeout, an HTTP error: link without this project
        return None


with ThreadPoolExecutor(len(INTERSPHINX)) as _pool:
    _found = dict(zip(INTERSPHINX, _pool.map(lambda item: _inventory(*item), INTERSPHINX.items())))
intersphinx_mapping = {name: where for name, where in _found.items() if where is not None}
INTERSPHINX_MISSING = sorted(set(INTERSPHINX) - set(intersphinx_mapping))
intersphinx_timeout = 10
nitpick_ignore_regex = [
    (r"py:.*", rf"({'|'.join(module for name in INTERSPHINX_MISSING for module in PROJECT_MODULES[name])})(\..*)?")
] if INTERSPHINX_MISSING else []
if INTERSPHINX_MISSING:
    print(f"intersphinx: no inventory for {', '.join(INTERSPHINX_MISSING)} (offline?); "
          "links to them are left out and not checked")


def _commit() -> str:
    """The commit the docs are built from (with ``+dirty`` for uncommitted changes), for stamping numbers."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


BUILD_COMMIT = _commit()
myst_substitutions = {"build_commit": BUILD_COMMIT}
rst_epilog = f".. |build_commit| replace:: ``{BUILD_COMMIT}``\n"
