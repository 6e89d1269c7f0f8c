"""One convention between services and tasks, in every app: a service that queues a task
imports it at the top (what a module queues is visible where it starts), and a task imports
the service it calls inside its body (the task module is then importable by the services)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("portal", "consent", "datasets", "access")


def _modules(app: str, name: str) -> list[Path]:
    single = ROOT / app / f"{name}.py"
    return [single] if single.exists() else sorted((ROOT / app / name).glob("*.py"))


def _imports(nodes: list[ast.stmt]) -> list[tuple[int, str]]:
    return [
        (node.lineno, node.module)
        for node in nodes
        if isinstance(node, ast.ImportFrom) and node.module
    ]


def _nested_imports(tree: ast.Module) -> list[tuple[int, str]]:
    top = {id(node) for node in tree.body}
    nested = [node for node in ast.walk(tree) if id(node) not in top]
    return _imports([n for n in nested if isinstance(n, ast.stmt)])


def test_services_import_the_tasks_they_queue_at_the_top() -> None:
    offences = []
    for app in APPS:
        for path in _modules(app, "services"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            offences += [
                f"{path.relative_to(ROOT)}:{line} imports {module} inside a function"
                for line, module in _nested_imports(tree)
                if module.endswith(".tasks")
            ]

    assert offences == []


def test_tasks_import_services_inside_the_task() -> None:
    offences = []
    for app in APPS:
        path = ROOT / app / "tasks.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offences += [
            f"{path.relative_to(ROOT)}:{line} imports {module} at the top"
            for line, module in _imports(tree.body)
            if ".services" in f".{module}"
        ]

    assert offences == []
