"""Sphinx configuration of the linalgad documentation.

Build (from the repository root; the notebooks are executed, ~1-2 min):

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Sources: the Markdown pages of docs/ (MyST), the notebooks of notebooks/
(MyST-NB, executed at build time) and the docstrings of the public API
(autosummary + numpydoc).
"""

import os
import pathlib
import re
import shutil
import sys

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))          # document the checkout (its _core must be built)
# The notebook kernels inherit these: they run the same checkout, headless.
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
os.environ.setdefault("MPLBACKEND", "Agg")

import linalgad  # noqa: E402

project = "linalgad"
author = "the linalgad developers"
copyright = "linalgad developers (BSD 3-Clause)"
version = release = linalgad.__version__

extensions = [
    "myst_nb",                      # Markdown (MyST) and notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx.ext.mathjax",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
# .rst first: autosummary writes its generated pages with the first suffix
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# --- the notebooks -------------------------------------------------------------
# They live in ../notebooks (where JupyterLab opens them); Sphinx only reads its
# source folder, so each build copies them to docs/notebooks/ (git-ignored; a
# notebook removed upstream disappears here too).
NB_COPY = DOCS / "notebooks"
shutil.rmtree(NB_COPY, ignore_errors=True)
NB_COPY.mkdir()
for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
    shutil.copy2(nb, NB_COPY / nb.name)

nb_execution_mode = "force"          # committed without outputs: run them every build
nb_execution_timeout = 180           # per cell (each takes seconds); a shared 2-core machine is slow
nb_execution_raise_on_error = True   # a failing cell fails the build
nb_execution_show_tb = True
# The views are ipywidgets; a static page cannot run them, so prefer the
# view's static HTML (its summary and its plot) to the live widget.
nb_mime_priority_overrides = [
    (builder, "application/vnd.jupyter.widget-view+json", 35)
    for builder in ("html", "dirhtml", "singlehtml")
]

# Pages link notebooks as ../notebooks/NAME.ipynb (right on GitHub and in a
# checkout); in the site the copy is notebooks/NAME.
_NB_LINK = re.compile(r"\]\(\.\./notebooks/([\w.-]+\.ipynb)")


def _rewrite_notebook_links(app, docname, source):
    if not docname.startswith("notebooks/"):
        source[0] = _NB_LINK.sub(r"](notebooks/\1", source[0])


# Pages index.md lists that may not exist yet: the site builds with or without
# each (a toctree entry naming a missing page is an error under -W).
OPTIONAL_PAGES = ("torch", "jax", "autograd", "sparse", "dask")


def _drop_missing_pages(app, docname, source):
    if docname == "index":
        for page in OPTIONAL_PAGES:
            if not (DOCS / f"{page}.md").exists():
                source[0] = re.sub(rf"^{page}\n", "", source[0], flags=re.M)


# --- MyST ----------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 4             # GitHub-style anchors for [..](#section) links

# --- API reference -------------------------------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = False        # a module's reference is its __all__
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# linalgad.SVD and linalgad.svd would share one file name on case-insensitive
# file systems (macOS, Windows): the result types get their own.
autosummary_filename_map = {
    f"linalgad.{name}": f"linalgad.{name}-result"
    for name in linalgad.__all__ if name != name.lower() and name.lower() in linalgad.__all__
}

# --- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "linalgad"
html_theme_options = {
    "navigation_with_keys": False,
    "header_links_before_dropdown": 3,     # the page titles are long
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
html_copy_source = False


def setup(app):
    app.connect("source-read", _rewrite_notebook_links)
    app.connect("source-read", _drop_missing_pages)
