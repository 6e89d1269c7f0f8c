from __future__ import annotations

from typing import Any

from celery import chord, shared_task

from access.models import Delivery, DeliveryStatus

# access.services queue these tasks, so each task imports the service it calls inside its
# body, not at the top (the convention of every app's tasks.py).


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=600, time_limit=660)
def start_review_task(request_id: int) -> bool:
    """Does nothing unless the request is still submitted (a redelivery is a no-op)."""
    from access.services.requests import access_request_review_start

    return access_request_review_start(request_id=request_id) is not None


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=300, time_limit=360)
def expire_access_task() -> dict[str, Any]:
    from access.services.grants import access_requests_expire

    return access_requests_expire()


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=300, time_limit=360)
def remind_voters_task() -> int:
    from access.services.grants import vote_reminders_send

    return vote_reminders_send()


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1800, time_limit=1900)
def prepare_delivery_task(delivery_id: int) -> bool:
    """Does nothing unless the delivery is still preparing (a redelivery is a no-op).

    Consent-filtered copies not built yet are built by a chord: one subtask per region of
    each copy, on whichever workers are free, then a join that prepares the delivery. With
    nothing to build, the delivery is prepared here.
    """
    from access.services.deliveries import (
        delivery_building,
        delivery_copies_to_build,
        delivery_prepare,
    )

    if not Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PREPARING).exists():
        return False
    builds = delivery_copies_to_build(delivery_id=delivery_id)
    if not builds:
        return delivery_prepare(delivery_id=delivery_id) is not None
    delivery_building(delivery_id=delivery_id, builds=builds)
    messages = [build.as_message() for build in builds]
    pieces = [
        build_piece_task.si(delivery_id, message, number)
        for build, message in zip(builds, messages, strict=True)
        for number in range(len(build.regions))
    ]
    chord(pieces)(join_copies_task.si(delivery_id, messages))
    return True


# Pieces are short (a region of one file); a redelivered one finds its finished piece.
@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1800, time_limit=1900)
def build_piece_task(delivery_id: int, build: dict[str, Any], number: int) -> bool:
    from access.services.deliveries import CopyBuild, delivery_copy_piece

    return delivery_copy_piece(
        delivery_id=delivery_id, build=CopyBuild.from_message(build), number=number
    )


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1800, time_limit=1900)
def join_copies_task(delivery_id: int, builds: list[dict[str, Any]]) -> bool:
    from access.services.deliveries import CopyBuild, delivery_copies_join

    prepared = delivery_copies_join(
        delivery_id=delivery_id, builds=[CopyBuild.from_message(b) for b in builds]
    )
    return prepared is not None


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=300, time_limit=360)
def tell_holders_task() -> int:
    from access.services.withdrawals import delivery_holders_tell

    return delivery_holders_tell()
