"""Enrol participants from a CSV file, all or nothing; --dry-run only checks it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import CommandError, CommandParser

from consent.services import (
    IMPORT_MAX_BYTES,
    ParticipantImportError,
    participants_import,
    participants_import_check,
)
from portal.management.base import ExampleCommand
from portal.models import Role, User, normalize_email


class Command(ExampleCommand):
    help = (
        "Enrol the participants of FILE.csv (columns study_id, email, full_name, language, "
        "date_of_birth, and optionally proxy_email, proxy_name) and email their invitations. "
        "Every row is checked first: if any is wrong, nothing is imported (exit status 1)."
    )
    examples = (
        "manage.py import_participants cohort.csv --steward steward@example.org --dry-run",
        "manage.py import_participants cohort.csv --steward steward@example.org",
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--steward", required=True, help="Email of the importing steward")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and show what would be done"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        steward = User.objects.filter(email=normalize_email(options["steward"])).first()
        if steward is None or not steward.has_role(Role.STEWARD):
            raise CommandError(f"No data steward has the email {options['steward']}.")
        path: Path = options["file"]
        try:
            with path.open("rb") as file:
                content = file.read(IMPORT_MAX_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        if options["dry_run"]:
            check = participants_import_check(content=content)
            if not check.ok:
                self._fail(check.problems)
            for row in check.rows:
                proxy = f", guardian {row.proxy_name} <{row.proxy_email}>" if row.has_proxy else ""
                self.stdout.write(
                    f"line {row.line}: {row.study_id} {row.full_name} <{row.email}> "
                    f"{row.language} {row.date_of_birth or '-'}{proxy}"
                )
            self.stdout.write(
                f"Dry run: {len(check.rows)} participants ({check.proxies} with a guardian) "
                "would be enrolled; nothing was saved."
            )
            return
        try:
            result = participants_import(actor=steward, content=content)
        except ParticipantImportError as exc:
            self._fail(exc.problems)
        self.stdout.write(
            self.style.SUCCESS(
                f"Enrolled {len(result.participants)} participants ({result.proxies} with a "
                "guardian); their invitations are queued for the worker."
            )
        )

    def _fail(self, problems: Any) -> NoReturn:
        for problem in problems:
            self.stderr.write(str(problem))
        count = len(problems)
        raise CommandError(f"{count} problem{'s' if count != 1 else ''}: nothing was imported.")
