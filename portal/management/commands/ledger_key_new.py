from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from portal.management.base import ExampleCommand
from portal.signed_note import NoteError, signer_generate


class Command(ExampleCommand):
    help = (
        "Print a new Ed25519 signing key for the transparency log (set it as "
        "CUSTODIAN_LEDGER_KEY or in the file named by CUSTODIAN_LEDGER_KEY_FILE) and, on "
        "standard error, its verifier key for witnesses."
    )
    examples = ("manage.py ledger_key_new custodian.example.org/audit-ledger > ledger.key",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "origin", help="the log's name, e.g. custodian.example.org/audit-ledger"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            signer = signer_generate(options["origin"])
        except NoteError as exc:
            raise CommandError(f"{options['origin']!r} cannot name a key: {exc}") from None
        self.stdout.write(signer.key)
        self.stderr.write(f"verifier key: {signer.verifier.key}")
