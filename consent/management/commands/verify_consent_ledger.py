from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from consent.selectors import consent_ledger_verify
from portal.management.base import ExampleCommand


class Command(ExampleCommand):
    help = (
        "Check every participant's consent-record chain and the current-consent projection; "
        "exit status 1 if anything is broken."
    )
    examples = ("manage.py verify_consent_ledger",)

    def handle(self, *args: Any, **options: Any) -> None:
        report = consent_ledger_verify()
        if not report.ok:
            raise CommandError("consent ledger broken: " + "; ".join(report.problems))
        self.stdout.write(
            f"consent ledger intact: {report.records_checked} records of "
            f"{report.participants_checked} participants verified"
        )
