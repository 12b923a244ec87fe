"""Sphinx configuration of the series' website (``make site``; see ``authoring/site.py``).

The notebooks are pages built from their stored outputs, never executed: the outputs are the ones nbval checks.
"""

from __future__ import annotations

import os

#: The repository's address, e.g. "https://github.com/<owner>/<repo>". Empty until the series is published:
#: then the pages have no "launch on Binder" button and no repository link, and links to the repository's files
#: are plain text. Set it here once the address is known (or SITE_REPOSITORY_URL for a one-off build).
REPOSITORY_URL = os.environ.get("SITE_REPOSITORY_URL", "")
#: The branch the Binder buttons open: "main" opens the instructor edition (solutions in place); a `student`
#: branch made as docs/instructor-guide.md describes opens the learners' edition.
BINDER_BRANCH = os.environ.get("SITE_BINDER_BRANCH", "main")

project = "JWT authentication with aiohttp, PyJWT and requests"
author = "the tutorial's authors"
extensions = ["myst_nb", "sphinx_design", "sphinxcontrib.mermaid"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# The stored outputs, never a new run: the site shows what nbval checked.
nb_execution_mode = "off"
# ```mermaid fences of the Markdown cells (as JupyterLab renders them) become diagrams, drawn in the browser.
myst_fence_as_directive = ["mermaid"]
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3
# MyST-NB renders text/html (show_token's colours) and images; the rest falls back to text/plain.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]

html_theme = "sphinx_book_theme"
html_title = "JWT authentication in Python"
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "use_download_button": True,
}
if REPOSITORY_URL:
    html_theme_options |= {
        "repository_url": REPOSITORY_URL,
        "repository_branch": BINDER_BRANCH,
        "path_to_docs": "",  # the site's sources mirror the repository: notebooks/NN-….ipynb
        "use_repository_button": True,
        "launch_buttons": {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"},
    }
