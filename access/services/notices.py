"""The reader's side of in-app notices."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from portal.models import Notification, User


def notifications_mark_read(*, actor: User, ids: list[int] | None = None) -> int:
    """Mark the actor's notices read (all of them when `ids` is None); others' are untouched."""
    with transaction.atomic(durable=True):
        unread = Notification.objects.filter(user=actor, read_at__isnull=True)
        if ids is not None:
            unread = unread.filter(pk__in=ids)
        return unread.update(read_at=timezone.now())
