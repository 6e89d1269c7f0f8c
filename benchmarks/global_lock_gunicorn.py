"""gunicorn configuration for bench_ledger's reference: the old code path, in the same run.

Before migration 0012 every audited write took one global lock, `pg_advisory_xact_lock`,
held until its transaction committed, and read the ledger's tail under it to chain its hash
(`git show b91361a^:portal/audit.py`). This puts both back in front of the consent service's
audit entry, in each server process, so that the benchmark can measure the path the issue
replaced against the one that replaced it, on the same machine in the same run.
"""

from __future__ import annotations

from typing import Any

# The key the old portal/audit.py locked on.
LEDGER_LOCK_KEY = 0x637573746F6469  # "custodi"


def post_worker_init(worker: Any) -> None:
    from django.db import connection

    import consent.services.records as records

    append = records.audit_log

    def audit_log_behind_the_global_lock(**entry: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_LOCK_KEY])
            cursor.execute("SELECT id FROM portal_auditevent ORDER BY id DESC LIMIT 1")
            cursor.fetchone()
        return append(**entry)

    records.audit_log = audit_log_behind_the_global_lock
