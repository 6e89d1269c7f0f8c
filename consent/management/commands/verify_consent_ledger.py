from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from consent.selectors import consent_ledger_verify


class Command(BaseCommand):
    help = "Check every participant's consent-record chain and the current-consent projection."

    def handle(self, *args: Any, **options: Any) -> None:
        report = consent_ledger_verify()
        if not report.ok:
            raise CommandError("consent ledger broken: " + "; ".join(report.problems))
        self.stdout.write(
            f"consent ledger intact: {report.records_checked} records of "
            f"{report.participants_checked} participants verified"
        )
