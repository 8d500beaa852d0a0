"""The plain install (`pip install .`, no extras) brings every package the runtime imports.

README's first command installs without extras; a module in `bot/`, `db/` or `domain/` that
imports a package only the dev extras bring in breaks `factcheck-bot` on a clean machine
while every test still passes in the dev venv. An optional extra may be imported only
where the import is guarded (inside `try: ... except ImportError`), so that the plain
install degrades instead of failing.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_PACKAGES = ("bot", "db", "domain")
IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return canonical(re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0])


def _project() -> dict[str, object]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert isinstance(project, dict)
    return project


def declared() -> set[str]:
    dependencies = _project()["dependencies"]
    assert isinstance(dependencies, list)
    return {requirement_name(requirement) for requirement in dependencies}


def optional_runtime_extras() -> set[str]:
    extras = _project().get("optional-dependencies", {})
    assert isinstance(extras, dict)
    return {
        requirement_name(requirement)
        for extra, requirements in extras.items()
        if extra != "dev"
        for requirement in requirements
    }


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether an import sits inside a `try` that handles ImportError."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                names = handler.type
                caught = names.elts if isinstance(names, ast.Tuple) else [names]
                if any(isinstance(name, ast.Name) and name.id in IMPORT_ERRORS for name in caught):
                    return True
    return False


def third_party_imports() -> list[tuple[str, str, bool]]:
    """(top-level module, where, guarded) for every import of a module from elsewhere."""
    local = set(RUNTIME_PACKAGES)
    found: list[tuple[str, str, bool]] = []
    for package in RUNTIME_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            parents = {
                child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)
            }
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top in local or top in sys.stdlib_module_names or top == "__future__":
                        continue
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    found.append((top, where, _guarded(node, parents)))
    return found


def test_every_runtime_import_is_a_declared_dependency() -> None:
    owners = metadata.packages_distributions()
    required, optional = declared(), optional_runtime_extras()
    problems = []
    for module, where, guarded in third_party_imports():
        distributions = {canonical(name) for name in owners.get(module, [])}
        if not distributions:
            problems.append(f"{where}: imports {module!r}, which no installed package provides")
        elif not (distributions & required or (guarded and distributions & optional)):
            hint = "" if guarded else "; an optional extra needs try/except ImportError around it"
            problems.append(
                f"{where}: imports {module!r} from {sorted(distributions)}, "
                f"not in [project.dependencies]{hint}"
            )
    assert not problems, "\n".join(problems)


def test_the_checker_finds_an_undeclared_import() -> None:
    # The test above is only worth having if it sees packages that the install lacks:
    # numpy, imported by the matcher, must be found and found declared.
    imports = {module for module, _, _ in third_party_imports()}
    assert {"numpy", "telegram", "sqlalchemy", "rapidfuzz"} <= imports
    assert "numpy" in declared() and "pytest" not in declared()
