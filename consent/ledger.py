"""The hash that chains a participant's consent records (shared by writer and verifier)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from consent.models import ConsentRecord
from portal.audit import chain_hash


def _payload(record: ConsentRecord) -> dict[str, Any]:
    return {
        "participant": record.participant_id,
        "sequence": record.sequence,
        "version": record.version_id,
        "kind": record.kind,
        "answers": record.answers,
        "withdrawal_level": record.withdrawal_level,
        "actor": record.actor_id,
        "proxy": record.proxy_id,
        "channel": record.channel,
        "signature": record.signature,
        "created_at": record.created_at.astimezone(UTC).isoformat(),
    }


def record_hash(record: ConsentRecord) -> str:
    return chain_hash(record.previous_hash, _payload(record))
