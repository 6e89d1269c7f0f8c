"""Apps depend one way: portal ← consent ← datasets ← access. An app may import, point a
foreign key at, or have a migration depend on only itself and the apps to its left."""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps
from django.db.migrations.loader import MigrationLoader

ROOT = Path(__file__).resolve().parents[2]
ORDER = ("portal", "consent", "datasets", "access")
RANK = {app: rank for rank, app in enumerate(ORDER)}
# portal's URL map mounts every app, and the demo seeding calls every app's services.
IMPORT_EXCEPTIONS = frozenset(
    {
        "portal/urls.py",
        "portal/api_urls.py",
        "portal/management/commands/seed_demo.py",
    }
)


def _may_depend(app: str, other: str) -> bool:
    return other not in RANK or RANK[other] <= RANK[app]


def _imported_apps(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in the module, nested ones too."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def test_app_dependencies_imports_point_only_left() -> None:
    offences = []
    for app in ORDER:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in IMPORT_EXCEPTIONS:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
            offences += [
                f"{relative}:{line} imports {other} ({app} may import only "
                f"{', '.join(ORDER[: RANK[app] + 1])})"
                for line, other in _imported_apps(tree)
                if not _may_depend(app, other)
            ]
    assert not offences, "Imports against the app order:\n" + "\n".join(offences)


def test_app_dependencies_foreign_keys_point_only_left() -> None:
    offences = []
    for app in ORDER:
        for model in apps.get_app_config(app).get_models(include_auto_created=True):
            for field in model._meta.get_fields(include_hidden=True):
                # Forward relations only (FK, one-to-one, M2M): a reverse accessor is the
                # other model's field, checked from its own app.
                if not field.is_relation or field.auto_created or field.related_model is None:
                    continue
                related = field.related_model._meta
                if not _may_depend(app, related.app_label):
                    offences.append(
                        f"{model._meta.label}.{field.name} -> {related.label} "
                        f"({app} may refer only to {', '.join(ORDER[: RANK[app] + 1])})"
                    )
    assert not offences, "Relations against the app order:\n" + "\n".join(offences)


def test_app_dependencies_migrations_depend_only_left() -> None:
    # No connection: the migration files alone, not what a database has applied.
    loader = MigrationLoader(None, ignore_no_migrations=True)
    offences = []
    for (app, name), migration in sorted(loader.disk_migrations.items()):
        if app not in RANK:
            continue
        offences += [
            f"{app}/migrations/{name}.py depends on {other}.{other_name}"
            for other, other_name in migration.dependencies
            if not _may_depend(app, other)
        ]
        offences += [
            f"{app}/migrations/{name}.py runs before {other}.{other_name}"
            for other, other_name in migration.run_before
            if RANK.get(other, len(ORDER)) < RANK[app]
        ]
    assert not offences, "Migration dependencies against the app order:\n" + "\n".join(offences)
