from __future__ import annotations

from celery import shared_task

from consent.models import ConsentRecord, ConsentVersion, Participant


@shared_task(
    soft_time_limit=60,
    time_limit=90,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def generate_receipt_task(record_id: int) -> str:
    """Make the record's PDF receipt and email it; a rerun finds both done and does nothing."""
    # consent.services queues this task, so it is imported here, not at the top.
    from consent.services import consent_receipt_deliver

    record = ConsentRecord.objects.select_related("participant__user").filter(pk=record_id).first()
    if record is None:
        return "missing"
    receipt = consent_receipt_deliver(record=record)
    return receipt.sha256


@shared_task(soft_time_limit=120, time_limit=180, acks_late=True, reject_on_worker_lost=True)
def notify_reconsent_task(version_id: int, after_participant_id: int) -> int | None:
    """One batch of re-consent emails; the service queues the next batch itself."""
    from consent.services import reconsent_notify_batch

    version = ConsentVersion.objects.filter(pk=version_id).first()
    if version is None:
        return None
    return reconsent_notify_batch(version=version, after_participant_id=after_participant_id)


@shared_task(soft_time_limit=300, time_limit=360, acks_late=True, reject_on_worker_lost=True)
def proxy_majority_check_task() -> int:
    """Daily: participants who came of age take over from their proxies (a rerun is a no-op)."""
    from consent.selectors import participants_coming_of_age
    from consent.services import proxy_majority_handover

    handed_over = 0
    for participant in Participant.objects.filter(pk__in=participants_coming_of_age()):
        handed_over += proxy_majority_handover(participant=participant) > 0
    return handed_over
