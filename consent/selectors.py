from __future__ import annotations

from django.db.models import QuerySet

from consent.models import Participant
from portal.models import User


def participant_for_user(user: User) -> Participant | None:
    return Participant.objects.filter(user=user).first()


def participant_list() -> QuerySet[Participant]:
    return Participant.objects.select_related("user").order_by("study_id")


def participant_count() -> int:
    return Participant.objects.count()
