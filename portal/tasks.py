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
