# Sphinx configuration for massrecon, following the Astropy-affiliated package template.
import os
import sys
from datetime import datetime, timezone
from importlib import metadata

from sphinx_astropy.conf.v3 import *  # noqa: F403

project = "massrecon"
author = "The massrecon developers"
copyright = f"{datetime.now(timezone.utc).year}, {author}"
try:
    release = metadata.version("massrecon")
except metadata.PackageNotFoundError:
    release = "0.0.0"
version = ".".join(release.split(".")[:2])

sys.path.insert(0, os.path.abspath("."))

exclude_patterns.append("_templates")  # noqa: F405
exclude_patterns.append("_build")  # noqa: F405
exclude_patterns.append("validation_table.rst")  # included by validation.rst, not a page of its own  # noqa: F405

# Intersphinx inventories need the internet, which CI machines do not have: only enable them
# when asked (MASSRECON_INTERSPHINX=1), so an offline ``sphinx-build -W`` stays green.
if os.environ.get("MASSRECON_INTERSPHINX", "0") != "1":
    intersphinx_mapping = {}  # noqa: F811
    numpydoc_xref_param_type = False
else:
    intersphinx_mapping.update(  # noqa: F405
        {
            "astropy": ("https://docs.astropy.org/en/stable/", None),
            "reproject": ("https://reproject.readthedocs.io/en/stable/", None),
            "photutils": ("https://photutils.readthedocs.io/en/stable/", None),
            "torch": ("https://pytorch.org/docs/stable/", None),
            "h5py": ("https://docs.h5py.org/en/stable/", None),
        }
    )

# Without intersphinx, cross-references to other packages cannot resolve: keep them from
# failing the -W build.
nitpicky = False
suppress_warnings = ["ref.python", "ref.ref", "ref.doc"]
default_role = "obj"

html_theme_options = {"github_url": "https://github.com/massrecon/massrecon"}
html_title = f"massrecon {release}"
html_static_path = []
automodapi_toctreedirnm = "api"
automodsumm_inherited_members = False
plot_include_source = False
plot_formats = [("png", 100)]
plot_html_show_formats = False
plot_html_show_source_link = False
