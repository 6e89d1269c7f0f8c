"""Writes on participants and their consent."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from consent.models import Participant
from portal.audit import audit_log
from portal.exceptions import PortalError
from portal.models import Role, User
from portal.services import user_invite


class ConsentError(PortalError):
    code = "consent_error"


def participant_enrol(
    *,
    actor: User,
    study_id: str,
    email: str,
    full_name: str,
    language: str = "en",
    date_of_birth: dt.date | None = None,
    account: User | None = None,
) -> Participant:
    """1. refuse a duplicate study ID; 2. invite an account (or take the given one);
    3. link the participant."""
    study_id = study_id.strip()
    if not study_id:
        raise ConsentError("A study ID is required.", code="invalid")
    with transaction.atomic():
        if Participant.objects.select_for_update().filter(study_id=study_id).exists():
            raise ConsentError(f"The study ID {study_id} is already enrolled.", code="duplicate")
        if account is None:
            user = user_invite(actor=actor, email=email, full_name=full_name, role=Role.PARTICIPANT)
        elif account.role != Role.PARTICIPANT:
            raise ConsentError(f"{account.email} is not a participant account.", code="invalid")
        else:
            user = account
        participant = Participant.objects.create(
            user=user,
            study_id=study_id,
            language=language,
            date_of_birth=date_of_birth,
            enrolled_by=actor,
        )
        audit_log(
            actor=actor,
            action="participant.enrol",
            target=participant,
            after={"study_id": study_id, "user_id": user.pk},
        )
    return participant
