from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from portal.ledger import checkpoints_signed_here, ledger_tree_verify, ledger_verifier
from portal.management.base import ExampleCommand
from portal.merkle import ProofError
from portal.models import AuditEvent
from portal.proofs import consistency_verify
from portal.signed_note import Checkpoint, NoteError, checkpoint_open, verifier_from_key


def _checkpoint_text(name: str) -> str:
    """A kept checkpoint from a file, or from a URL where someone else keeps a copy."""
    if name.startswith(("https://", "http://")):
        with urllib.request.urlopen(name, timeout=30) as response:  # noqa: S310 - http(s) only
            return response.read(64 * 1024).decode("utf-8")
    return Path(name).read_text(encoding="utf-8")


class Command(ExampleCommand):
    help = (
        "Recompute the audit ledger's transparency log (every leaf from its entry, the Merkle "
        "tree from the leaves) and check it against earlier signed checkpoints kept outside "
        "the database; exit status 1 if anything is broken."
    )
    examples = (
        "manage.py verify_audit_ledger",
        "curl -s https://custodian.example.org/ledger/checkpoint > checkpoint-2026-11-30.txt",
        "manage.py verify_audit_ledger --checkpoint checkpoint-2026-11-30.txt",
        "manage.py verify_audit_ledger --checkpoint https://ethics.example.ac.uk/custodian.txt",
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoint",
            action="append",
            default=[],
            metavar="FILE|URL",
            help="an earlier signed checkpoint (as served at /ledger/checkpoint), a file or an "
            "https:// URL where a copy is kept (a witness's, an auditor's); repeatable",
        )
        parser.add_argument(
            "--key",
            help="the verifier key the checkpoints were signed with (default: the portal's own)",
        )

    def _earlier(
        self, files: list[str], key: str | None
    ) -> tuple[list[Checkpoint], list[Checkpoint]]:
        """(the checkpoints given as files, those in the database whose signature verifies)."""
        try:
            verifier = verifier_from_key(key) if key else ledger_verifier()
        except NoteError as exc:
            raise CommandError(f"--key is not a verifier key: {exc}") from None
        earlier = []
        for name in files:
            try:
                earlier.append(checkpoint_open(_checkpoint_text(name), verifier))
            except (OSError, UnicodeDecodeError, NoteError) as exc:
                raise CommandError(f"checkpoint {name} cannot be used: {exc}") from None
        return earlier, checkpoints_signed_here(verifier)

    def handle(self, *args: Any, **options: Any) -> None:
        earlier, here = self._earlier(options["checkpoint"], options["key"])
        # The database's own signed checkpoints narrow down where a rewrite starts; the kept
        # copies are what a rewriter cannot delete.
        tree = ledger_tree_verify(earlier=[*here, *earlier])
        if tree.problem is not None:
            raise CommandError(
                f"transparency log broken after {tree.tree_size} leaves: {tree.problem}"
            )
        self.stdout.write(
            f"transparency log intact: {tree.tree_size} leaves, root {tree.root_hash.hex()}"
        )
        for checkpoint in earlier:
            # Also by the RFC 9162 consistency proof a witness is given (from the kept subtree
            # hashes): a proof that fails here would be served to witnesses and participants.
            try:
                hashes = consistency_verify(
                    first=checkpoint.size,
                    first_root=checkpoint.root_hash,
                    second=tree.tree_size,
                    second_root=tree.root_hash,
                )
            except ProofError as exc:
                raise CommandError(
                    f"the consistency proof from the checkpoint of tree size {checkpoint.size} "
                    f"fails: {exc}"
                ) from None
            self.stdout.write(
                f"consistent with the checkpoint of tree size {checkpoint.size} "
                f"(consistency proof of {hashes} hashes verified)"
            )
        # Not an error: entries commit before the sealer (every few seconds) reaches them.
        unsealed = AuditEvent.objects.filter(ledger_leaf__isnull=True).count()
        if unsealed:
            self.stdout.write(f"{unsealed} newer entries are not sealed yet")
