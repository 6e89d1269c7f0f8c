from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from access.models import Committee
from consent.models import Participant
from portal.models import User


def committees_of(user: User) -> QuerySet[Committee]:
    return Committee.objects.filter(members=user).prefetch_related("chairs").order_by("name")


def committee_by_name(name: str) -> Committee | None:
    return Committee.objects.filter(name=name).first()


@dataclass(frozen=True)
class DataUse:
    """One approved use of data that included the participant's samples."""

    title: str
    lay_summary: str
    institution: str
    approved_on: dt.date
    delivered_on: dt.date | None


def data_uses_for_participant(participant: Participant) -> list[DataUse]:
    """Approved requests whose released files included this participant's samples.

    Access requests and deliveries arrive with the access issue; until a delivery exists
    nothing can have included anyone's samples, so the honest answer is an empty list.
    """
    return []
