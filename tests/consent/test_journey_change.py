from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from consent.models import (
    Channel,
    ConsentRecord,
    ConsentVersion,
    CurrentConsent,
    Participant,
    RecordKind,
    WithdrawalLevel,
)
from consent.services import consent_version_publish, consent_withdraw
from portal.models import User
from tests.consent.conftest import ALL_YES, CHOICES, give, make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_in(enrolled: Participant, version: ConsentVersion, sign_in: Any) -> Client:
    give(enrolled, version)
    return sign_in(enrolled.user)


def _change(client: Client, key: str, answer: str | None, **fields: Any) -> Any:
    data = {"signature": "Pat Participant", "expected_sequence": "1", **fields}
    if answer is not None:
        data[f"choice-{key}"] = answer
    return client.post(f"/consent/change/{key}/", data)


def test_change_page_preselects_the_current_answer(client_in: Client) -> None:
    response = client_in.get("/consent/change/commercial/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<legend>May companies use your data?</legend>" in html
    assert 'value="yes" id="id_choice-commercial_0" checked' in html
    assert "Your answer now: <strong>Yes</strong>" in html
    assert 'name="expected_sequence" value="1"' in html
    assert html.count("<fieldset") == 1


def test_change_one_choice_records_a_change(client_in: Client, enrolled: Participant) -> None:
    response = _change(client_in, "commercial", "no")

    assert response.status_code == 302
    assert response["Location"] == "/consent/"
    record = ConsentRecord.objects.get(participant=enrolled, sequence=2)
    assert record.kind == RecordKind.CHANGE
    assert record.answers == dict(sorted({**ALL_YES, "commercial": "no"}.items()))
    current = CurrentConsent.objects.get(participant=enrolled)
    assert current.non_commercial_only is True
    home = client_in.get("/consent/").content.decode()
    assert "Your answer to “May companies use your data?” is changed." in home


def test_change_needs_a_signature(client_in: Client, enrolled: Participant) -> None:
    response = _change(client_in, "commercial", "no", signature="")

    assert response.status_code == 400
    assert "Type your full name to sign." in response.content.decode()
    assert ConsentRecord.objects.filter(participant=enrolled).count() == 1


def test_change_with_a_wrong_name(client_in: Client, enrolled: Participant) -> None:
    response = _change(client_in, "commercial", "no", signature="Pat Someone")

    assert response.status_code == 400
    assert "must be your full name as on your account (Pat Participant)" in (
        response.content.decode()
    )
    assert ConsentRecord.objects.filter(participant=enrolled).count() == 1


def test_same_answer_is_nothing_to_change(client_in: Client, enrolled: Participant) -> None:
    response = _change(client_in, "commercial", "yes")

    assert response.status_code == 400
    assert "Nothing changed: your choices are already these." in response.content.decode()
    assert ConsentRecord.objects.filter(participant=enrolled).count() == 1


def test_disallowed_answer_is_refused(client_in: Client, enrolled: Participant) -> None:
    response = _change(client_in, "general", "ask")

    assert response.status_code == 400
    assert (
        "“Ask me each time” is not an allowed answer to “May your data be used for any "
        "research?”; allowed: yes, no." in (response.content.decode())
    )
    assert ConsentRecord.objects.filter(participant=enrolled).count() == 1


def test_unknown_key_posted_is_refused(client_in: Client, enrolled: Participant) -> None:
    response = _change(client_in, "general", "no", **{"choice-resell": "yes"})

    assert response.status_code == 400
    assert "Unknown choices: resell." in response.content.decode()
    assert ConsentRecord.objects.filter(participant=enrolled).count() == 1


def test_unknown_key_in_the_address_is_not_found(client_in: Client) -> None:
    assert client_in.get("/consent/change/resell/").status_code == 404


def test_stale_change_shows_current_state_and_writes_nothing(
    client_in: Client, enrolled: Participant, version: ConsentVersion
) -> None:
    give(enrolled, version, {**ALL_YES, "health": "no"}, sequence=1)

    response = _change(client_in, "commercial", "no", expected_sequence="1")

    assert response.status_code == 409
    html = response.content.decode()
    assert "Your consent was changed since this page was loaded" in html
    assert "Your consent as it is saved now" in html
    assert 'name="expected_sequence" value="2"' in html
    assert ConsentRecord.objects.filter(participant=enrolled).count() == 2
    assert CurrentConsent.objects.get(participant=enrolled).answers["commercial"] == "yes"


def test_no_change_after_withdrawal(client_in: Client, enrolled: Participant) -> None:
    consent_withdraw(
        actor=enrolled.user,
        participant=enrolled,
        level=WithdrawalLevel.NO_CONTACT,
        signature="Pat Participant",
        channel=Channel.WEB,
        expected_sequence=1,
    )

    response = client_in.get("/consent/change/commercial/", follow=True)

    assert response.redirect_chain == [("/consent/", 302)]
    assert "You cannot change a choice now" in response.content.decode()


def test_no_single_change_while_reconsent_is_due(
    client_in: Client, enrolled: Participant, version: ConsentVersion, steward: User
) -> None:
    newer = make_version(steward, number=2, document=version.document, choices=[*CHOICES[:5]])
    consent_version_publish(actor=steward, version=newer)

    response = _change(client_in, "commercial", "no")

    assert response.status_code == 302
    assert ConsentRecord.objects.filter(participant=enrolled).count() == 1
