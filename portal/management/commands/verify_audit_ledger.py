from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portal.audit import audit_verify


class Command(BaseCommand):
    help = "Recompute the audit ledger's hash chain and report the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify()
        if report.first_break is not None:
            raise CommandError(
                f"audit ledger broken after {report.entries_checked} good entries: "
                f"{report.first_break.problem}"
            )
        self.stdout.write(f"audit ledger intact: {report.entries_checked} entries verified")
