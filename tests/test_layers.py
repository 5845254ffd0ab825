"""The layer order of docs/architecture.md holds: no import in hub/ or monkeypatch/ runs upwards.

The layers are read from the first code block under "## Layers" in docs/architecture.md, top
first: a layer is one or more unindented lines naming its modules (``hub/x.py``) or packages
(``hub/_core/``, ``monkeypatch/``), then indented lines describing it. Every import statement
of every module is parsed (imports inside functions too, which is where an upward import
hides).
"""

from __future__ import annotations

import ast
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("hub", "monkeypatch")
CORE = "hub._core"


def _layers() -> list[list[str]]:
    """Per layer, bottom layer first: module names, and package names ending with ``.``
    (every module below it)."""
    with open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Layers", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block, "docs/architecture.md: no code block under '## Layers'"
    layers: list[list[str]] = []
    described = True  # the previous line was a description: a module line starts a layer
    for line in block.group(1).splitlines():
        if not line or line[0].isspace():
            described = True
            continue
        names = []
        for token in line.split():
            token = token.rstrip(",")
            if token.endswith("/"):
                names.append(token.rstrip("/").replace("/", ".") + ".")
            elif token.endswith(".py"):
                name = token[: -len(".py")].replace("/", ".")
                names.append(name[: -len(".__init__")] if name.endswith(".__init__") else name)
        assert names, f"docs/architecture.md: a layer line names no module: {line!r}"
        if described:
            layers.append(names)
        else:
            layers[-1].extend(names)
        described = False
    return layers[::-1]


def _modules() -> dict[str, str]:
    """Module name -> file, for every module of the packages."""
    found = {}
    for package in PACKAGES:
        for dirpath, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(dirpath, name)
                    mod = os.path.relpath(path, ROOT)[: -len(".py")].replace(os.sep, ".")
                    if mod.endswith(".__init__"):
                        mod = mod[: -len(".__init__")]
                    found[mod] = path
    return found


def _imports(module: str, path: str, modules: dict[str, str]) -> list[tuple[str, int]]:
    """(imported module of our packages, line) for each import in ``path``."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    is_package = path.endswith("__init__.py")
    package = module if is_package else module.rpartition(".")[0]
    result = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            # ``from . import x`` imports the module ``base.x`` when there is one.
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names
            ]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in PACKAGES:
                result.append((target, node.lineno))
    return result


def _layer_of(module: str, layers: list[list[str]]) -> int | None:
    best = None
    best_len = -1
    for i, names in enumerate(layers):
        for name in names:
            if name.endswith("."):  # a package: itself and every module below it
                hit = module == name[:-1] or module.startswith(name)
            else:
                hit = module == name
            if hit and len(name) > best_len:
                best, best_len = i, len(name)
    return best


def test_every_module_has_a_layer():
    layers = _layers()
    missing = sorted(m for m in _modules() if _layer_of(m, layers) is None)
    assert not missing, f"add these to the layer table in docs/architecture.md: {missing}"


def test_no_import_runs_against_the_layer_order():
    layers = _layers()
    modules = _modules()
    wrong = []
    for module, path in sorted(modules.items()):
        here = _layer_of(module, layers)
        if here is None:
            continue  # test_every_module_has_a_layer names it
        for target, line in _imports(module, path, modules):
            there = _layer_of(target, layers)
            if there is not None and there > here:
                rel = os.path.relpath(path, ROOT)
                wrong.append(f"{rel}:{line} imports {target}, a layer above it")
    assert not wrong, "\n".join(wrong)


def test_only_the_core_package_is_imported_from_above_it():
    modules = _modules()
    wrong = []
    for module, path in sorted(modules.items()):
        if module == CORE or module.startswith(CORE + "."):
            continue
        for target, line in _imports(module, path, modules):
            if target.startswith(CORE + "."):
                rel = os.path.relpath(path, ROOT)
                wrong.append(f"{rel}:{line} imports {target}: use what hub._core exports")
    assert not wrong, "\n".join(wrong)


def test_the_parser_sees_an_upward_import(tmp_path):
    # The test above is only as good as its parser: an import inside a function, relative,
    # two levels up, must be found.
    path = tmp_path / "mod.py"
    path.write_text("def f():\n    from ..threadpool import ThreadPool\n")
    found = _imports("hub._core._hub", str(path), _modules())
    assert ("hub.threadpool", 2) in found
    assert _layer_of("hub.threadpool", _layers()) > _layer_of("hub._core._hub", _layers())
