from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from consent.models import (
    ConsentRecord,
    ConsentStatus,
    ConsentVersion,
    CurrentConsent,
    Participant,
    RecordKind,
    WithdrawalLevel,
)
from tests.consent.conftest import give

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_in(enrolled: Participant, version: ConsentVersion, sign_in: Any) -> Client:
    give(enrolled, version)
    return sign_in(enrolled.user)


def _withdraw(client: Client, level: str, sequence: int, **fields: Any) -> Any:
    data = {
        "level": level,
        "signature": "Pat Participant",
        "expected_sequence": str(sequence),
        **fields,
    }
    return client.post("/consent/withdraw/confirm/", data)


def test_levels_are_explained_with_their_consequences(client_in: Client) -> None:
    html = client_in.get("/consent/withdraw/").content.decode()

    assert "<legend>How far do you want to withdraw?</legend>" in html
    for level in WithdrawalLevel:
        assert f'<label for="level-{level.value}">{level.label}</label>' in html
    assert "Your data and samples stay in the study" in html
    assert "Analyses already done cannot be undone:" in html
    assert "will be told of your withdrawal" in html


def test_confirmation_page_explains_the_chosen_level(client_in: Client) -> None:
    response = client_in.get("/consent/withdraw/confirm/", {"level": "no_use"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Confirm your withdrawal: no further use</h1>" in html
    assert "Analyses already done cannot be undone:" in html
    assert 'name="level" value="no_use"' in html
    assert 'name="expected_sequence" value="1"' in html


@pytest.mark.parametrize("level", list(WithdrawalLevel))
def test_withdrawal_at_each_level_is_recorded(
    client_in: Client, enrolled: Participant, level: WithdrawalLevel
) -> None:
    response = _withdraw(client_in, level.value, 1)

    assert response.status_code == 302
    assert response["Location"] == "/consent/"
    record = ConsentRecord.objects.get(participant=enrolled, sequence=2)
    assert record.kind == RecordKind.WITHDRAWAL
    assert record.withdrawal_level == level
    assert CurrentConsent.objects.get(participant=enrolled).status == ConsentStatus(level)
    home = client_in.get("/consent/").content.decode()
    assert f"Your withdrawal is recorded: {level.label.lower()}." in home
    assert f"<h3>Withdrew: {level.label.lower()}</h3>" in home


def test_levels_already_in_force_are_not_offered(client_in: Client) -> None:
    _withdraw(client_in, "no_access", 1)

    html = client_in.get("/consent/withdraw/").content.decode()

    assert "Your status now is “Withdrawn: no further access”." in html
    assert "These levels are not offered again, because a withdrawal can only go further" in html
    assert 'id="level-no_contact"' not in html
    assert 'id="level-no_access"' not in html
    assert 'id="level-no_use"' in html
    # Even the one level left is chosen by the participant's own act, never preselected.
    assert "checked" not in html
    assert "How much further do you want to withdraw?" in html


def test_nothing_further_after_no_further_use(client_in: Client) -> None:
    _withdraw(client_in, "no_use", 1)

    html = client_in.get("/consent/withdraw/").content.decode()

    assert "You have withdrawn from all further use. There is no further level." in html
    assert 'name="level"' not in html
    assert 'href="/consent/withdraw/"' not in client_in.get("/consent/").content.decode()


def test_withdrawing_twice_is_refused(client_in: Client, enrolled: Participant) -> None:
    _withdraw(client_in, "no_contact", 1)

    response = _withdraw(client_in, "no_contact", 2)

    assert response.status_code == 400
    assert "A withdrawal can only go further." in response.content.decode()
    assert ConsentRecord.objects.filter(participant=enrolled).count() == 2


def test_resubmitted_withdrawal_is_stale(client_in: Client, enrolled: Participant) -> None:
    _withdraw(client_in, "no_contact", 1)

    # The same confirmation page submitted again (a double click or the back button).
    response = _withdraw(client_in, "no_contact", 1)

    assert response.status_code == 409
    html = response.content.decode()
    assert "Your consent was changed since this page was loaded" in html
    assert "Withdrawn: no further contact" in html
    assert ConsentRecord.objects.filter(participant=enrolled).count() == 2


def test_withdrawal_needs_the_signature(client_in: Client, enrolled: Participant) -> None:
    missing = _withdraw(client_in, "no_use", 1, signature="")
    wrong = _withdraw(client_in, "no_use", 1, signature="Not Me")

    assert missing.status_code == 400
    assert "Type your full name to sign." in missing.content.decode()
    assert wrong.status_code == 400
    assert "must be your full name as on your account (Pat Participant)" in wrong.content.decode()
    assert ConsentRecord.objects.filter(participant=enrolled).count() == 1


def test_unknown_level_is_refused(client_in: Client, enrolled: Participant) -> None:
    chosen = client_in.get("/consent/withdraw/confirm/", {"level": "everything"})
    posted = _withdraw(client_in, "everything", 1)

    assert chosen.status_code == 400
    assert "Choose one of the levels offered below." in chosen.content.decode()
    assert posted.status_code == 400
    assert "Unknown withdrawal level &#x27;everything&#x27;." in posted.content.decode()
    assert ConsentRecord.objects.filter(participant=enrolled).count() == 1


def test_passed_level_cannot_be_chosen(client_in: Client) -> None:
    _withdraw(client_in, "no_access", 1)

    response = client_in.get("/consent/withdraw/confirm/", {"level": "no_contact"})

    assert response.status_code == 400
    assert "Choose one of the levels offered below." in response.content.decode()


def test_nothing_to_withdraw_without_consent(
    enrolled: Participant, version: ConsentVersion, other_participant: Any, sign_in: Any
) -> None:
    client = sign_in(other_participant)

    page = client.get("/consent/withdraw/").content.decode()
    posted = _withdraw(client, "no_contact", 0)

    assert "You have not given consent, so there is nothing to withdraw." in page
    assert posted.status_code == 400
    assert "There is no consent to withdraw." in posted.content.decode()
