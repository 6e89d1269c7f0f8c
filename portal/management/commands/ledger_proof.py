from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from portal import merkle
from portal.exceptions import PortalError
from portal.management.base import ExampleCommand
from portal.proofs import consistency_proof_get, inclusion_proof_get


def _positive(value: str) -> int:
    number = int(value)
    if not 0 <= number < 2**62:
        raise ValueError(value)
    return number


class Command(ExampleCommand):
    help = (
        "Print a proof of the transparency log as JSON (the same as /ledger/proof/...): "
        "inclusion (an audit entry is in the tree of a signed checkpoint) or consistency (a "
        "later checkpoint's tree extends an earlier one's)."
    )

    examples = (
        "manage.py ledger_proof inclusion --entry 1234",
        "manage.py ledger_proof inclusion --leaf-index 0 --tree-size 100",
        "manage.py ledger_proof consistency 100 250",
        "manage.py ledger_proof consistency 100          (to the latest checkpoint)",
    )

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="inclusion|consistency")
        inclusion = kinds.add_parser("inclusion", help="an entry (or a leaf) is in the tree")
        which = inclusion.add_mutually_exclusive_group(required=True)
        which.add_argument("--entry", type=_positive, help="an audit entry's id")
        which.add_argument("--leaf-index", type=_positive, help="a leaf's index")
        inclusion.add_argument(
            "--tree-size", type=_positive, help="a signed checkpoint's size (default: latest)"
        )
        consistency = kinds.add_parser("consistency", help="a later tree extends an earlier one")
        consistency.add_argument("first", type=_positive, help="the earlier tree size")
        consistency.add_argument(
            "second", type=_positive, nargs="?", help="the later tree size (default: latest)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["kind"] == "inclusion":
                answer = inclusion_proof_get(
                    entry_id=options["entry"],
                    leaf_index=options["leaf_index"],
                    tree_size=options["tree_size"],
                ).as_json()
            else:
                answer = consistency_proof_get(first=options["first"], second=options["second"])
        except (PortalError, merkle.ProofError) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from None
        self.stdout.write(json.dumps(answer, indent=2))
