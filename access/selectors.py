from __future__ import annotations

from django.db.models import QuerySet

from access.models import Committee
from portal.models import User


def committees_of(user: User) -> QuerySet[Committee]:
    return Committee.objects.filter(members=user).prefetch_related("chairs").order_by("name")


def committee_by_name(name: str) -> Committee | None:
    return Committee.objects.filter(name=name).first()
