"""What a participant's browser needs to check a consent record by itself: the record's own
fields and hash, its audit entry as sealed in the transparency log, the entry's inclusion
proof and the signed checkpoint it leads to, and the key that signed it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consent.ledger import _payload as record_payload
from consent.models import ConsentRecord
from consent.services.actions import RECORD_ACTIONS
from portal.ledger import leaf_data, ledger_verifier
from portal.models import AuditEvent
from portal.proofs import InclusionProof, inclusion_proof_get


@dataclass(frozen=True)
class RecordSeal:
    entry: AuditEvent
    proof: InclusionProof

    def for_browser(self, record: ConsentRecord) -> dict[str, Any]:
        return {
            "record_id": record.pk,
            "record": record_payload(record),
            "previous_hash": record.previous_hash,
            "record_hash": record.record_hash,
            # The exact bytes of the leaf (UTF-8 of this string), hashed by the browser.
            "entry": leaf_data(self.entry).decode("utf-8"),
            "leaf_index": self.proof.leaf_index,
            "tree_size": self.proof.tree_size,
            "leaf_hash": self.proof.leaf_hash.hex(),
            "inclusion_path": [h.hex() for h in self.proof.path],
            "checkpoint": self.proof.checkpoint.note,
            "key": ledger_verifier().key,
        }


def record_entry(record: ConsentRecord) -> AuditEvent | None:
    """The audit entry the service wrote with the record (same transaction, so it exists)."""
    return (
        AuditEvent.objects.filter(
            object_type=ConsentRecord._meta.label_lower,
            object_id=str(record.pk),
            action=RECORD_ACTIONS[record.kind],
        )
        .order_by("id")
        .first()
    )


def record_seal(record: ConsentRecord) -> RecordSeal | None:
    """The record's entry and its proof against the latest checkpoint; None until sealed."""
    entry = record_entry(record)
    if entry is None or not hasattr(entry, "ledger_leaf"):
        return None
    proof = inclusion_proof_get(entry_id=entry.pk)
    return RecordSeal(entry, proof)
