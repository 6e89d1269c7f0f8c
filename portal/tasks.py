from __future__ import annotations

from typing import Any

from celery import shared_task
from django.core.mail import send_mail
from django.db import connection
from django.utils import timezone


@shared_task(soft_time_limit=10, time_limit=20)
def health_check_task() -> dict[str, Any]:
    """Proves a worker is alive and reaches the database; the result lands in TaskResult."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (database_ok,) = cursor.fetchone()
    return {"worker": "ok", "database": database_ok == 1, "at": timezone.now().isoformat()}


@shared_task(
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_email_task(*, to: list[str], subject: str, body: str) -> int:
    # OSError covers an SMTP server that is briefly unreachable: retry with backoff.
    return send_mail(subject, body, None, to)


# Registrations and reset requests carry an address (and a password hash): no result row.
# Each keeps the request id of the page that queued it, for its audit entry.
@shared_task(soft_time_limit=30, time_limit=60, ignore_result=True)
def researcher_register_task(
    *, email: str, full_name: str, institution: str, password_hash: str, request_id: str = ""
) -> None:
    from portal.audit import request_id_var
    from portal.services import researcher_account_create

    token = request_id_var.set(request_id)
    try:
        researcher_account_create(
            email=email, full_name=full_name, institution=institution, password_hash=password_hash
        )
    finally:
        request_id_var.reset(token)


@shared_task(soft_time_limit=30, time_limit=60, ignore_result=True)
def password_reset_request_task(*, email: str, request_id: str = "") -> None:
    from portal.audit import request_id_var
    from portal.services import password_reset_request

    token = request_id_var.set(request_id)
    try:
        password_reset_request(email=email)
    finally:
        request_id_var.reset(token)


# Several may start at once (beat, a burst): they take turns on the ledger's state row, and
# one that finds nothing unsealed signs nothing.
@shared_task(soft_time_limit=60, time_limit=90, ignore_result=True)
def seal_ledger_task() -> None:
    from portal.ledger import ledger_seal
    from portal.proofs import ledger_nodes_extend
    from portal.witnesses import witness_pushes_queue

    ledger_seal()
    # Afterwards, outside the seal's transaction: the subtree hashes proofs are built from,
    # and the checkpoint's copies for the witnesses (each push a task of its own).
    ledger_nodes_extend()
    witness_pushes_queue()


# One push of one checkpoint to one witness. A network failure or a 5xx is retried with
# backoff (about 5 s, 10 s, 20 s, 40 s, 80 s); the last failure leaves the push FAILED.
@shared_task(
    bind=True,
    soft_time_limit=60,
    time_limit=90,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def push_checkpoint_task(self: Any, push_id: int) -> None:
    from portal.witnesses import WitnessUnreachableError, witness_push

    try:
        witness_push(push_id=push_id, final=self.request.retries >= self.max_retries)
    except WitnessUnreachableError as exc:
        raise self.retry(exc=exc, countdown=5 * 2**self.request.retries) from exc
