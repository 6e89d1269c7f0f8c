from __future__ import annotations

from typing import Any

from celery import shared_task

from access.models import Delivery, DeliveryStatus
from access.services.deliveries import delivery_prepare
from access.services.grants import access_requests_expire, vote_reminders_send
from access.services.requests import access_request_review_start
from access.services.withdrawals import delivery_holders_tell


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=600, time_limit=660)
def start_review_task(request_id: int) -> bool:
    """Does nothing unless the request is still submitted (a redelivery is a no-op)."""
    return access_request_review_start(request_id=request_id) is not None


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=300, time_limit=360)
def expire_access_task() -> dict[str, Any]:
    return access_requests_expire()


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=300, time_limit=360)
def remind_voters_task() -> int:
    return vote_reminders_send()


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1800, time_limit=1900)
def prepare_delivery_task(delivery_id: int) -> bool:
    """Does nothing unless the delivery is still preparing (a redelivery is a no-op)."""
    if not Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PREPARING).exists():
        return False
    return delivery_prepare(delivery_id=delivery_id) is not None


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=300, time_limit=360)
def tell_holders_task() -> int:
    return delivery_holders_tell()
