"""Sphinx helpers for greenpatch's site: the API pages, and the patch table as a page.

- At start-up, one Markdown page per public module of ``hub`` and ``monkeypatch`` is written to
  ``docs/api/modules/`` (not committed): a module added to ``hub/`` appears in the reference
  without any edit here. A module is public when its name has no leading underscore.
- The ``patch-table`` directive renders ``monkeypatch._table.TABLE``, so the page that lists
  what ``patch_all()`` replaces is the table itself, never a copy of it.
"""

from __future__ import annotations

import os
import pkgutil
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

PACKAGES = ("hub", "monkeypatch")


def public_modules(root: str) -> list[str]:
    """``hub``, ``hub.socket``, ..., ``monkeypatch``: every public module, sorted."""
    found = []
    for package in PACKAGES:
        found.append(package)
        for info in pkgutil.iter_modules([os.path.join(root, package)]):
            if not info.name.startswith("_"):
                found.append(f"{package}.{info.name}")
    return sorted(found)


def _write_api_pages(app: Sphinx) -> None:
    root = os.path.dirname(app.srcdir)
    out = os.path.join(app.srcdir, "api", "modules")
    os.makedirs(out, exist_ok=True)
    wanted = set()
    for name in public_modules(root):
        path = os.path.join(out, f"{name}.md")
        wanted.add(path)
        # A package re-exports what its private modules define: its __all__ is its API (``local``
        # is also the name of a module, documented on its own page). A module documents what it
        # defines itself, not the stdlib names a cooperative module re-exports.
        if "." in name:
            options = "   :members:\n   :ignore-module-all:\n"
        else:
            options = "   :members:\n   :imported-members:\n   :exclude-members: local\n"
        # (autodoc emits reStructuredText, which MyST parses only inside eval-rst.)
        text = f"# `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n{options}```\n"
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
        if old != text:  # unchanged pages keep their mtime: incremental builds stay quick
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    for entry in os.listdir(out):
        path = os.path.join(out, entry)
        if path not in wanted:
            os.remove(path)  # a module that went away


class PatchTable(SphinxDirective):
    """``patch-table``: one row per entry of monkeypatch._table.TABLE."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from monkeypatch._table import OPTIONS, TABLE

        table = nodes.table()
        group = nodes.tgroup(cols=4)
        table += group
        for _ in range(4):
            group += nodes.colspec(colwidth=1)
        head = nodes.thead()
        group += head
        head += self._row(["patch_all() option", "stdlib module", "replaced by", "names"])
        body = nodes.tbody()
        group += body
        order = {option: i for i, option in enumerate(OPTIONS)}
        for row in sorted(TABLE, key=lambda r: order.get(r.option, len(order))):
            body += self._row([row.option, row.module, row.source, ", ".join(row.names)])
        return [table]

    @staticmethod
    def _row(cells: list[str]) -> nodes.row:
        row = nodes.row()
        for text in cells:
            entry = nodes.entry()
            entry += nodes.paragraph("", "", nodes.literal(text, text))
            row += entry
        return row


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _write_api_pages)
    app.add_directive("patch-table", PatchTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
