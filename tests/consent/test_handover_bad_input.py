"""After the handover at coming of age, proxy pages opened by the young person, and the
young person's pages opened by the former guardian, are refused with a clear 4xx message
(in the reader's language) and nothing is written."""

from __future__ import annotations

import html

import pytest
from django.test import Client
from django.utils import timezone

from consent.models import ConsentRecord, ConsentVersion, Participant
from consent.services import proxy_link
from consent.views.common import ACTING_FOR
from portal.models import AuditEvent, Role, User
from tests.conftest import signed_in_client
from tests.consent.conftest import GUARDIAN_ANSWERS, born_years_ago
from tests.factories import UserFactory

ENDED = (
    "Your authority to act for Pat Participant (study ID {study_id}) ended on {date}: "
    "Pat came of age and now decides about their consent themselves. Nothing was changed."
)


def _guardian_with_pat_open(guardian: User, child: Participant) -> Client:
    """Gwen had opened Pat's consent before Pat came of age; her session still says so."""
    client = signed_in_client(guardian)
    session = client.session
    session[ACTING_FOR] = child.pk
    session.save()
    return client


def _ended(child: Participant) -> str:
    link = child.proxies.get()
    assert link.ended_at is not None
    return ENDED.format(
        study_id=child.study_id, date=f"{timezone.localtime(link.ended_at):%-d %B %Y}"
    )


def _unwritten(child: Participant, events_before: int) -> None:
    assert list(ConsentRecord.objects.filter(participant=child).values_list("kind", flat=True)) == [
        "consent"
    ]
    assert AuditEvent.objects.filter(action__startswith="consent.").count() == events_before


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/consent/", {}),
        ("get", "/consent/form/", {}),
        ("post", "/consent/form/review/", {"signature": "Gwen Guardian", "expected_sequence": 1}),
        (
            "post",
            "/consent/change/commercial/",
            {"choice-commercial": "no", "signature": "Gwen Guardian", "expected_sequence": 1},
        ),  # noqa: E501
        (
            "post",
            "/consent/withdraw/confirm/",
            {"level": "no_use", "signature": "Gwen Guardian", "expected_sequence": 1},
        ),  # noqa: E501
        ("get", "/consent/withdraw/", {}),
        ("get", "/consent/questions/", {}),
        ("get", "/consent/handover/", {}),
    ],
)
def test_the_former_guardian_is_told_their_authority_ended(
    handed_over: Participant, guardian: User, method: str, path: str, data: dict[str, object]
) -> None:
    client = _guardian_with_pat_open(guardian, handed_over)
    events = AuditEvent.objects.filter(action__startswith="consent.").count()

    response = getattr(client, method)(path, data)

    assert response.status_code == 403
    assert _ended(handed_over) in response.content.decode()
    _unwritten(handed_over, events)
    # Said once: the next page is the guardian's own home, where the ended link is listed.
    after = client.get("/consent/", follow=True)
    assert after.redirect_chain[-1][0] == "/consent/proxy/"
    assert "Ended" in after.content.decode()
    assert "Open consent for Pat Participant" not in after.content.decode()


def test_the_former_guardian_cannot_open_the_young_person_again(
    handed_over: Participant, guardian: User
) -> None:
    client = signed_in_client(guardian)

    response = client.post("/consent/proxy/", {"participant": handed_over.pk})

    assert response.status_code == 403
    assert _ended(handed_over) in response.content.decode()
    assert ACTING_FOR not in client.session


def test_a_stranger_guardian_still_gets_a_plain_404(
    handed_over: Participant, other_participant: User, steward: User
) -> None:
    other = other_participant.participant
    other.date_of_birth = born_years_ago(9)
    other.save(update_fields=["date_of_birth"])
    stranger = UserFactory(email="stranger@example.org", role=Role.PROXY)
    proxy_link(actor=steward, participant=other, email=stranger.email, full_name="Stan Stranger")

    response = signed_in_client(stranger).post("/consent/proxy/", {"participant": handed_over.pk})

    assert response.status_code == 404
    assert "Pat" not in response.content.decode()


def test_the_young_person_opening_the_proxy_page_is_told_it_is_not_for_them(
    handed_over: Participant,
) -> None:
    client = signed_in_client(handed_over.user)

    for response in (
        client.get("/consent/proxy/"),
        client.post("/consent/proxy/", {"participant": handed_over.pk}),
    ):
        assert response.status_code == 403
        assert (
            "This page is for parents and guardians who act for a child in the study. Nobody "
            "acts for you here: your own consent is on your consent page."
        ) in response.content.decode()
    assert ACTING_FOR not in client.session


def test_the_young_person_is_told_in_welsh(handed_over: Participant) -> None:
    handed_over.user.language = "cy"
    handed_over.user.save(update_fields=["language"])
    client = signed_in_client(handed_over.user)
    client.cookies["django_language"] = "cy"

    response = client.get("/consent/proxy/")

    assert response.status_code == 403
    assert (
        "Mae'r dudalen hon ar gyfer rhieni a gwarcheidwaid sy'n gweithredu ar ran plentyn yn yr "
        "astudiaeth."
    ) in html.unescape(response.content.decode())


def test_confirming_again_after_the_handover_is_a_409_and_writes_nothing(
    handed_over: Participant, version: ConsentVersion
) -> None:
    client = signed_in_client(handed_over.user)
    form = {
        **{f"choice-{k}": v for k, v in GUARDIAN_ANSWERS.items()},
        "signature": "Pat Participant",
        "expected_sequence": 1,
        "version": version.pk,
    }
    assert client.post("/consent/handover/", form).status_code == 302

    again = client.post("/consent/handover/", form)
    page = client.get("/consent/handover/")

    for response in (again, page):
        assert response.status_code == 409
        assert "No choices to confirm" in response.content.decode()
        assert "the consent on your consent page is your own. Nothing was changed." in (
            response.content.decode()
        )
    assert handed_over.records.count() == 2


def test_a_stale_handover_form_is_a_409_showing_the_consent_now(
    handed_over: Participant, version: ConsentVersion
) -> None:
    client = signed_in_client(handed_over.user)
    form = {
        **{f"choice-{k}": v for k, v in GUARDIAN_ANSWERS.items()},
        "signature": "Pat Participant",
        "expected_sequence": 0,
        "version": version.pk,
    }

    response = client.post("/consent/handover/", form)

    assert response.status_code == 409
    assert "Your consent was changed since this page was loaded" in response.content.decode()
    assert handed_over.records.count() == 1


def test_a_child_cannot_open_the_handover_page(
    child: Participant, guardian: User, version: ConsentVersion
) -> None:
    response = signed_in_client(child.user).get("/consent/handover/")

    assert response.status_code == 409
    assert "No choices to confirm" in response.content.decode()


def test_the_guardian_acting_before_the_handover_cannot_confirm_for_the_child(
    child: Participant, guardian: User, version: ConsentVersion
) -> None:
    client = signed_in_client(guardian)
    client.post("/consent/proxy/", {"participant": child.pk})

    response = client.get("/consent/handover/")

    assert response.status_code == 403
    assert (
        "Only Pat can confirm or change the choices made for them, once they come of age. "
        "Until then, you decide as Pat's guardian."
    ) in html.unescape(response.content.decode())
