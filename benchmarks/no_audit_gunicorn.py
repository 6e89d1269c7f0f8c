"""gunicorn configuration for bench_ledger (b): the same server with auditing switched off.

The consent service's `audit_log` becomes a no-op in each server process, so that the same
updates from the same clients can be timed with and without their audit entry.
"""

from __future__ import annotations

from typing import Any


def post_worker_init(worker: Any) -> None:
    import consent.services.records as records

    records.audit_log = lambda **_: None  # type: ignore[assignment,misc]
