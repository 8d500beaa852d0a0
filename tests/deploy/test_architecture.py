"""The layers stay apart and the modules stay findable.

`domain/` is plain Python (no Telegram, no database, no web), `db/` knows no Telegram, no
module imports another that imports it back (a circle means neither can be read or
tested alone), and a module past ~500 lines says in its docstring why it is one module.
Each rule failed on an earlier layout of this code: the command line and the application
imported each other, and two modules of 1,300 and 1,900 lines held many purposes each.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "db", "domain")
LONG_MODULE = 500
FORBIDDEN = {
    "domain": ("bot", "db", "telegram", "sqlalchemy", "sqlmodel", "aiohttp", "httpx", "alembic"),
    "db": ("bot", "telegram", "aiohttp"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def production_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def imported(path: Path, name: str, known: set[str]) -> Iterator[str]:
    """Every module `path` imports, wherever the import statement sits; a name imported
    from a package counts as its submodule when there is one of that name."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in known else base


def test_domain_and_db_do_not_reach_into_outer_layers() -> None:
    modules = production_modules()
    crossings = [
        f"{name} imports {target}"
        for name, path in modules.items()
        for layer, banned in FORBIDDEN.items()
        if name.split(".")[0] == layer
        for target in imported(path, name, set(modules))
        if target.split(".")[0] in banned
    ]
    assert crossings == []


def test_no_module_imports_one_that_imports_it_back() -> None:
    modules = production_modules()
    graph = {
        name: {t for t in imported(path, name, set(modules)) if t in modules and t != name}
        for name, path in modules.items()
    }
    # A package's __init__ re-exporting its submodules is not a circle: the submodules'
    # imports of each other name the submodule, never the package.
    circles: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                circles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


def test_long_modules_say_why_they_are_one_module() -> None:
    unexplained = []
    for name, path in production_modules().items():
        source = path.read_text(encoding="utf-8")
        lines = source.count("\n")
        docstring = ast.get_docstring(ast.parse(source)) or ""
        if lines > LONG_MODULE and "One module because" not in docstring:
            unexplained.append(f"{name}: {lines} lines")
    assert unexplained == []
