"""Sphinx configuration of the cx-helpers documentation.

Build the site with ``python docs/build.py`` (see its docstring), not with ``sphinx-build docs``
directly: the build script assembles the source tree first, from this folder, the README files,
the API pages it generates from the package (one page per public module, found by walking
``cx_helpers``) and the executed notebooks of a finished ``cx run``. Sphinx never executes a
notebook (``nb_execution_mode = "off"``) and the site loads nothing from the network.
"""

import cx_helpers

project = "cx-helpers"
author = "The cx-helpers contributors"
copyright = "2026, The cx-helpers contributors"
release = version = cx_helpers.__version__

extensions = ["sphinx.ext.autodoc", "numpydoc", "myst_nb"]

root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# API reference: numpydoc renders the Parameters / Returns / Examples sections of the docstrings.
autodoc_member_order = "bysource"    # the generated pages ask for :members: themselves
autodoc_typehints = "none"            # the numpydoc Parameters section says the types
numpydoc_show_class_members = False   # members are documented by autodoc, once
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# Notebooks: rendered from their stored outputs, never executed here.
nb_execution_mode = "off"
nb_ipywidgets_js = {}                 # no require.js / widget manager from a CDN
nb_merge_streams = True
myst_heading_anchors = 3              # README-style links to sections: README.md#a-runs-output

html_theme = "alabaster"
html_title = f"cx-helpers {release}"
html_copy_source = False
html_show_sourcelink = False
html_theme_options = {"description": "A tested package behind parameterised CX notebooks",
                      "fixed_sidebar": True, "page_width": "1180px", "sidebar_width": "280px"}
