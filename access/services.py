"""Writes on committees, access requests and grants."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from access.models import Committee
from portal.audit import audit_log
from portal.exceptions import PortalError
from portal.models import Role, User


class AccessError(PortalError):
    code = "access_error"


def committee_create(
    *,
    actor: User,
    name: str,
    contact_email: str,
    chairs: Iterable[User],
    members: Iterable[User] = (),
) -> Committee:
    chairs, members, name = list(chairs), list(members), name.strip()
    if not chairs:
        raise AccessError("A committee needs at least one chair.", code="invalid")
    not_chairs = [u.email for u in chairs if u.role != Role.DAC_CHAIR]
    if not_chairs:
        raise AccessError(
            "A committee's chairs need the DAC chair role: " + ", ".join(not_chairs),
            code="invalid",
        )
    outsiders = [u.email for u in members if u.role not in {Role.DAC_MEMBER, Role.DAC_CHAIR}]
    if outsiders:
        raise AccessError(
            "Only DAC members and chairs can sit on a committee: " + ", ".join(outsiders),
            code="invalid",
        )
    try:
        with transaction.atomic():
            committee = Committee.objects.create(name=name, contact_email=contact_email)
            committee.chairs.set(chairs)
            committee.members.set({*chairs, *members})
            audit_log(
                actor=actor,
                action="committee.create",
                target=committee,
                after={
                    "name": committee.name,
                    "chairs": sorted(u.pk for u in chairs),
                    "members": sorted(u.pk for u in {*chairs, *members}),
                },
            )
    except IntegrityError as exc:
        raise AccessError(f"A committee named {name} already exists.", code="duplicate") from exc
    return committee
