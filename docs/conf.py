"""Sphinx configuration of greenpatch's documentation site (``make docs``).

Why Sphinx: the API reference comes from the docstrings through autodoc, with the signatures and
type hints Python itself reports, and myst-parser renders the Markdown pages in docs/ unchanged
(they stay readable on a forge). The build runs with warnings as errors and nitpicky references
(``-W --keep-going -n``), so a broken internal link or a reference to an object that does not
exist fails it.

Every ``docs/*.md`` page is on the site: the index names the main pages in reading order, and a
glob collects any other page, so a new page needs no configuration. The API reference has one
page per public module, generated at build time (``docs/_ext/greenpatch_docs.py``) from the
modules found in ``hub/`` and ``monkeypatch/``.
"""

from __future__ import annotations

import os
import sys

DOCS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(DOCS)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(DOCS, "_ext"))

import hub  # noqa: E402

project = "greenpatch"
author = "the greenpatch developers"
copyright = "the greenpatch developers"
release = hub.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "greenpatch_docs",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "README.md"]
templates_path: list[str] = []
# The index's last toctree entry, a glob, collects the pages it does not name. It must match
# something (an empty glob is a warning Sphinx cannot be told to drop): changelog.md is never
# named, so it always does.

myst_enable_extensions = ["colon_fence", "deflist"]
# Links to headings (`page.md#a-heading`) are checked too.
myst_heading_anchors = 3

html_theme = "alabaster"
html_title = f"greenpatch {release}"
html_static_path: list[str] = []
html_theme_options = {
    "description": "Cooperative concurrency for unmodified Python code",
    "fixed_sidebar": True,
}

autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
# A method without a docstring of its own (a stdlib method a cooperative class overrides) shows
# none, rather than the stdlib's, whose markup is not reStructuredText.
autodoc_inherit_docstrings = False

# Nitpicky mode checks every cross-reference. References into other projects (the stdlib,
# greenlet) cannot be resolved without fetching their inventories, which the offline build does
# not do; only those are ignored.
nitpicky = True
_EXTERNAL_MODULES = [
    "builtins",
    "typing",
    "typing_extensions",
    "collections",
    "types",
    "greenlet",
    "_thread",
    "threading",
    "concurrent",
    "socket",
    "_socket",
    "ssl",
    "_ssl",
    "select",
    "selectors",
    "queue",
    "weakref",
    "io",
    "os",
    "enum",
    "contextlib",
    "subprocess",
    "signal",
    "time",
    "logging",
    "pytest",
    "_pytest",
    "pluggy",
    "dataclasses",
    "traceback",
    "celery",  # hub.celery.TaskPool's base class
    "gunicorn",  # hub.gunicorn.Worker's base class
]
_BUILTIN_NAMES = [
    "int",
    "float",
    "str",
    "bytes",
    "bool",
    "object",
    "type",
    "tuple",
    "list",
    "dict",
    "set",
    "Any",
    "None",
    "BaseException",
    "Exception",
    "OSError",
    "TimeoutError",
    "ValueError",
    "KeyError",
    "Callable",
    "Iterable",
    "Iterator",
    "Generator",
    "Mapping",
    "Sequence",
    "TracebackType",
    "Self",
    "ParamSpec",
    "TypeVar",
    "Generic",
    "Literal",
    "NamedTuple",
    "Protocol",
]
nitpick_ignore_regex = [
    (r"py:.*", rf"({'|'.join(_EXTERNAL_MODULES)})(\..*)?"),
    (r"py:.*", rf"({'|'.join(_BUILTIN_NAMES)})"),
    # Type variables and private names (the core's private modules in the Hub's signatures).
    (r"py:.*", r"(.*\.)?_[A-Za-z0-9_]+"),
    (r"py:.*", r"hub\._.*"),
    (r"py:.*", r"(T|P|R|_T|_P|_R)"),
    # hub.select.poll() returns an object whose class is called "poll" too, as the stdlib's.
    (r"py:class", r"hub\.select\.poll"),
]
