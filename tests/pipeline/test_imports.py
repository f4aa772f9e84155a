"""The layering of the packages: serving (pipeline, readers, index, reply, serving, bot, web, cli) never imports
training/ nor torch, timm, yolov5 or albumentations, and no module imports itself through a circle."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from pipeline.settings import REPO_ROOT

SERVING = ("pipeline", "readers", "index", "reply", "serving", "bot", "web", "cli")
PACKAGES = (*SERVING, "training")
HEAVY = ("torch", "timm", "yolov5", "albumentations", "training")
# Data flows one way: a package may import only those before it (and itself).
ORDER = SERVING


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module of the repository's packages that `path` imports, at the top or inside a function."""
    package = module_name(path).split(".") if path.name == "__init__.py" else module_name(path).split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for package in PACKAGES for path in (REPO_ROOT / package).rglob("*.py")}
    return {name: {m for m in imported_modules(path) if m in modules and m != name} for name, path in modules.items()}


def test_serving_packages_import_only_packages_before_them() -> None:
    wrong = [(name, imported) for name, imports in import_graph().items() if name.split(".")[0] in SERVING
             for imported in imports
             if imported.split(".")[0] not in ORDER[: ORDER.index(name.split(".")[0]) + 1]]
    assert wrong == []


def test_no_import_circle() -> None:
    graph = import_graph()
    state: dict[str, str] = {}

    def circle_from(name: str, path: list[str]) -> list[str] | None:
        state[name] = "open"
        for imported in sorted(graph[name]):
            if state.get(imported) == "open":
                return [*path, imported]
            if imported not in state and (found := circle_from(imported, [*path, imported])):
                return found
        state[name] = "done"
        return None

    circles = [found for name in sorted(graph) if name not in state and (found := circle_from(name, [name]))]
    assert circles == []


SERVE = """
import json, sys
import bot.app, cli.main, index.build, reply.replier, readers, serving, web.server
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[1:]))))
"""


def test_serving_loads_no_torch_and_no_training_code() -> None:
    output = subprocess.run([sys.executable, "-c", SERVE, *HEAVY], capture_output=True, text=True, check=True,
                            cwd=REPO_ROOT)
    assert json.loads(output.stdout.strip().splitlines()[-1]) == []
