"""Every (from, to) pair of the signing official's answer table, allowed and refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from access.models import OfficialAnswer, SigningOfficialConfirmation
from access.transitions import OFFICIAL_TRANSITIONS
from portal.models import User
from portal.transitions import TransitionError, transition

pytestmark = pytest.mark.django_db

A = OfficialAnswer
ALLOWED = {(A.PENDING, A.CONFIRMED), (A.PENDING, A.DECLINED), (A.PENDING, A.CANCELLED)}
PAIRS = [(a, b) for a in A for b in A]


def _confirmation(researcher: User, status: OfficialAnswer, n: int) -> SigningOfficialConfirmation:
    now = timezone.now()
    confirmed = status == A.CONFIRMED
    return SigningOfficialConfirmation.objects.create(
        researcher=researcher,
        official_name="Sigrid Official",
        official_email="official@uni.example",
        institution="Example University",
        token_sha256=f"{n:064x}",
        status=status,
        link_expires_at=now + dt.timedelta(days=14),
        confirmed_at=now if confirmed else None,
        expires_at=now + dt.timedelta(days=365) if confirmed else None,
    )


def test_the_table_is_as_written() -> None:
    table = {(a, b) for a, targets in OFFICIAL_TRANSITIONS.items() for b in targets}
    assert table == ALLOWED
    assert set(OFFICIAL_TRANSITIONS) == set(A)


@pytest.mark.parametrize(("start", "end"), PAIRS)
def test_each_pair(researcher: User, start: OfficialAnswer, end: OfficialAnswer) -> None:
    confirmation = _confirmation(researcher, start, PAIRS.index((start, end)))
    now = timezone.now()
    extra = {"confirmed_at": now, "expires_at": now + dt.timedelta(days=1)}

    if (start, end) in ALLOWED:
        transition(confirmation, end, table=OFFICIAL_TRANSITIONS, actor=None, extra=extra)
        confirmation.refresh_from_db()
        assert confirmation.status == end
    else:
        with pytest.raises(TransitionError):
            transition(confirmation, end, table=OFFICIAL_TRANSITIONS, actor=None, extra=extra)
        confirmation.refresh_from_db()
        assert confirmation.status == start
