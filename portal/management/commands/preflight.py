from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection
from django.db.utils import Error as DatabaseError

from portal.celery import app as celery_app
from portal.management.base import ExampleCommand


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", url)


class Command(ExampleCommand):
    help = (
        "Check that the database and the Celery broker answer; one line per problem, and exit "
        "status 1 if any."
    )
    examples = ("manage.py preflight", "manage.py preflight --timeout 10")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--timeout", type=float, default=5.0)

    def handle(self, *args: Any, **options: Any) -> None:
        problems = []
        try:
            connection.ensure_connection()
        except DatabaseError as exc:
            where = _redact(settings.DATABASE_URL) or str(settings.DATABASES["default"]["NAME"])
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            problems.append(f"cannot reach the database (DATABASE_URL={where}): {reason}")
        try:
            with celery_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=options["timeout"])
        except Exception as exc:  # noqa: BLE001 - kombu raises transport-specific errors
            problems.append(
                f"cannot reach the Celery broker (CELERY_BROKER_URL="
                f"{_redact(settings.CELERY_BROKER_URL)}): {exc}"
            )
        if problems:
            raise CommandError("; ".join(problems))
        self.stdout.write("preflight: database and broker answer")
