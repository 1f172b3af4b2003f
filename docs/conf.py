"""Sphinx configuration of the sklearn-agn documentation.

Build (warnings are errors, no network needed)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Autosummary writes one page per public object into ``docs/generated/``
(git-ignored, regenerated at every build).
"""

import sklearn_agn

# -- Project -----------------------------------------------------------------
project = "sklearn-agn"
author = "the sklearn-agn developers"
copyright = "the sklearn-agn developers, BSD-3-Clause"
version = sklearn_agn.__version__
release = sklearn_agn.__version__

# -- General -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
default_role = "literal"

# The build must not reach the network: no intersphinx inventories.
intersphinx_mapping = {}

# -- autodoc / autosummary ---------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"

# -- numpydoc ----------------------------------------------------------------
# Members are listed by the autosummary templates; numpydoc's own member
# tables would document every method twice.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
# Docstring style is checked by the package's linters, not by the docs build.
numpydoc_validation_checks = set()

# -- HTML --------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"sklearn-agn {release}"
html_static_path = []
html_theme_options = {
    "description": "Recommendation on sparse implicit feedback, densified by a GAN",
    "page_width": "1100px",
    "sidebar_width": "240px",
}


# -- Members documented ------------------------------------------------------
# Class pages document the library's own methods and the scikit-learn methods
# users call (get_params, set_params, fit_transform). Two groups of inherited
# scikit-learn machinery are left out, as the API reference page says, because
# their docstrings point into scikit-learn's own user guide, whose labels do
# not exist here (undefined-label warnings):
# - metadata routing: get_metadata_routing, set_<method>_request;
# - set_output: InteractionEncoder does not have it (its ``available_if`` guard
#   is false), GANAugmenter has it but raises on pandas/polars output because
#   its output is sparse; the user guide explains both.
_SKLEARN_MACHINERY = {"get_metadata_routing", "set_output"}


def _skip_sklearn_machinery(app, what, name, obj, skip, options):
    if what == "class" and (
        name in _SKLEARN_MACHINERY or (name.startswith("set_") and name.endswith("_request"))
    ):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_machinery)
