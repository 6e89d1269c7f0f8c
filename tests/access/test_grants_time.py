"""Grants end by time at every use; the daily task records expiry and reminds applicants."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from access.models import AccessRequest, Grant, RequestStatus
from access.selectors.requests import active_grants
from access.services import (
    access_request_renew,
    access_request_submit,
    access_requests_expire,
    grants_revoke,
    review_decide,
    vote_cast,
)
from access.services.base import AccessConflict, AccessError
from datasets.models import Committee
from portal.exceptions import PermissionError_
from portal.models import Notification, User

TODAY = timezone.localdate


@pytest.fixture
def approved(
    draft: AccessRequest,
    researcher: User,
    dac_chair: User,
    dac_member: User,
    django_capture_on_commit_callbacks: Any,
) -> AccessRequest:
    with django_capture_on_commit_callbacks(execute=True):
        access_request_submit(actor=researcher, request=draft)
    review = draft.reviews.get()
    for member in (dac_chair, dac_member):
        vote_cast(actor=member, review=review, choice="approve", rationale="Sound")
    review_decide(
        actor=dac_chair,
        review=review,
        decision="approved",
        grant_end=TODAY() + dt.timedelta(days=40),
    )
    draft.refresh_from_db()
    return draft


def test_a_grant_is_active_until_its_last_day_whatever_has_run(
    approved: AccessRequest, researcher: User
) -> None:
    grant = Grant.objects.get()
    last = TODAY() + dt.timedelta(days=40)

    assert grant.is_active_on(last)
    assert not grant.is_active_on(last + dt.timedelta(days=1))
    assert list(active_grants(researcher, today=last)) == [grant]
    assert list(active_grants(researcher, today=last + dt.timedelta(days=1))) == []


def test_the_daily_task_marks_ended_requests_expired_once(
    approved: AccessRequest, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    after = TODAY() + dt.timedelta(days=41)

    with django_capture_on_commit_callbacks(execute=True):
        first = access_requests_expire(today=after)
    second = access_requests_expire(today=after)

    approved.refresh_from_db()
    assert approved.status == RequestStatus.EXPIRED
    assert (first["expired"], second["expired"]) == (1, 0)
    assert mail.outbox[-1].subject == (
        f"Access under {approved.accession} has ended. You can apply to renew it."
    )


def test_reminders_30_and_7_days_before_the_end_are_sent_once_each(
    approved: AccessRequest, researcher: User
) -> None:
    end = TODAY() + dt.timedelta(days=40)

    sent = [
        access_requests_expire(today=end - dt.timedelta(days=days))["reminded"]
        for days in (31, 30, 29, 7, 6)
    ]

    assert sent == [0, 1, 0, 1, 0]
    notices = Notification.objects.filter(user=researcher, message__contains="ends on")
    assert notices.count() == 2


def test_revocation_ends_access_at_once_with_a_reason(
    approved: AccessRequest, researcher: User, dac_chair: User, dac: Committee
) -> None:
    with pytest.raises(AccessError, match="Give the reason for revoking access"):
        grants_revoke(actor=dac_chair, request=approved, committee=dac, reason=" ")

    grants_revoke(actor=dac_chair, request=approved, committee=dac, reason="Data breach")

    grant = Grant.objects.get()
    approved.refresh_from_db()
    assert (grant.state, grant.revoke_reason, approved.status) == (
        "revoked",
        "Data breach",
        RequestStatus.REVOKED,
    )
    assert list(active_grants(researcher)) == []
    with pytest.raises(AccessConflict, match="only an approved request's access can be revoked"):
        grants_revoke(actor=dac_chair, request=approved, committee=dac, reason="Again")


def test_only_a_chair_revokes(approved: AccessRequest, dac_member: User, dac: Committee) -> None:
    with pytest.raises(PermissionError_, match="Only a chair of the Test DAC revokes its grants."):
        grants_revoke(actor=dac_member, request=approved, committee=dac, reason="No")


def test_renewal_is_a_prefilled_draft_linked_to_the_old_request(
    approved: AccessRequest, researcher: User
) -> None:
    renewal = access_request_renew(actor=researcher, request=approved)

    assert renewal.status == RequestStatus.DRAFT
    assert renewal.renewal_of == approved
    assert (renewal.title, renewal.primary_use, renewal.countries) == (
        "Variants in heart disease",
        "HMB",
        ["GB"],
    )
    assert list(renewal.datasets.all()) == list(approved.datasets.all())
    assert renewal.security_attestation is False


def test_members_who_have_not_voted_are_reminded_weekly(
    draft: AccessRequest,
    researcher: User,
    dac_chair: User,
    dac_member: User,
    third_member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from access.services import vote_reminders_send

    with django_capture_on_commit_callbacks(execute=True):
        access_request_submit(actor=researcher, request=draft)
    vote_cast(actor=dac_member, review=draft.reviews.get(), choice="approve", rationale="Fine")
    day = TODAY()

    sent = [
        vote_reminders_send(today=day + dt.timedelta(days=offset)) for offset in (6, 7, 7, 13, 14)
    ]

    assert sent == [0, 2, 0, 0, 2]
    reminded = Notification.objects.filter(message__startswith="Your vote is awaited on")
    assert sorted(set(reminded.values_list("user__email", flat=True))) == [
        "chair@example.org",
        "third.member@example.org",
    ]
