"""Each bad input is refused with a precise message, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from consent.models import ConsentRecord, ConsentVersion, CurrentConsent, Participant
from consent.services import consent_version_publish
from portal.models import AuditEvent, User
from tests.consent.conftest import ALL_YES, give, make_version

pytestmark = pytest.mark.django_db


def _choices(answers: dict[str, str]) -> dict[str, str]:
    return {f"choice-{key}": value for key, value in answers.items()}


@pytest.fixture
def client_in(enrolled: Participant, version: ConsentVersion, sign_in: Any) -> Client:
    """Signed in, past the questions and the choices: ready to sign."""
    client = sign_in(enrolled.user)
    client.post("/consent/form/questions/", {"q1": "0"})
    assert client.post("/consent/form/choices/", _choices(ALL_YES)).status_code == 302
    return client


def _sign(client: Client, version: ConsentVersion, **fields: Any) -> Any:
    data = {
        **_choices(ALL_YES),
        "signature": "Pat Participant",
        "expected_sequence": "0",
        "version": str(version.pk),
        **fields,
    }
    return client.post("/consent/form/review/", {k: v for k, v in data.items() if v is not None})


def _nothing_written(participant: Participant) -> None:
    assert not ConsentRecord.objects.filter(participant=participant).exists()
    assert not CurrentConsent.objects.filter(participant=participant).exists()
    assert not AuditEvent.objects.filter(action__startswith="consent.consent").exists()


def _alert(response: Any) -> str:
    html = response.content.decode()
    start = html.index('role="alert"')
    return html[start : html.index("</div>", start)]


def test_unknown_choice_key_at_the_choices_step(client_in: Client, enrolled: Participant) -> None:
    response = client_in.post("/consent/form/choices/", _choices({**ALL_YES, "sell": "yes"}))

    assert response.status_code == 400
    assert "<li>Unknown choices: sell.</li>" in _alert(response)
    _nothing_written(enrolled)


def test_unknown_choice_key_at_signing(
    client_in: Client, enrolled: Participant, version: ConsentVersion
) -> None:
    response = _sign(client_in, version, **{"choice-sell": "yes"})

    assert response.status_code == 400
    assert "<li>Unknown choices: sell.</li>" in _alert(response)
    _nothing_written(enrolled)


def test_disallowed_answer_at_the_choices_step(client_in: Client, enrolled: Participant) -> None:
    response = client_in.post("/consent/form/choices/", _choices({**ALL_YES, "general": "ask"}))

    assert response.status_code == 400
    assert (
        "“Ask me each time” is not an allowed answer to “May your data be used for any "
        "research?”; allowed: yes, no." in _alert(response)
    )
    assert "(general)" not in _alert(response)
    _nothing_written(enrolled)


def test_disallowed_answer_at_signing(
    client_in: Client, enrolled: Participant, version: ConsentVersion
) -> None:
    response = _sign(client_in, version, **{"choice-health": "maybe"})

    assert response.status_code == 400
    assert (
        "“maybe” is not an allowed answer to "
        "“May your data be used for health research?”; allowed: yes, no." in _alert(response)
    )
    _nothing_written(enrolled)


def test_missing_answers_are_named(client_in: Client, enrolled: Participant) -> None:
    answers = {k: v for k, v in ALL_YES.items() if k not in {"health", "abroad"}}

    response = client_in.post("/consent/form/choices/", _choices(answers))

    assert response.status_code == 400
    alert = _alert(response)
    assert "May your data be used for health research? — Choose an answer." in alert
    assert "May researchers outside the UK use your data? — Choose an answer." in alert
    assert alert.count("Choose an answer.") == 2
    _nothing_written(enrolled)


def test_missing_signature(
    client_in: Client, enrolled: Participant, version: ConsentVersion
) -> None:
    response = _sign(client_in, version, signature="  ")

    assert response.status_code == 400
    assert "<li>Type your full name to sign.</li>" in _alert(response)
    _nothing_written(enrolled)


def test_signature_not_matching_the_account_name(
    client_in: Client, enrolled: Participant, version: ConsentVersion
) -> None:
    response = _sign(client_in, version, signature="Someone Else")

    assert response.status_code == 400
    assert "The signature must be your full name as on your account (Pat Participant)." in _alert(
        response
    )
    html = response.content.decode()
    # The answers are still there to sign again; the consent was not changed by anyone.
    assert '<input type="hidden" name="choice-general" value="yes">' in html
    assert "Your consent as it is saved now" not in html
    _nothing_written(enrolled)


def test_missing_sequence_is_refused(
    client_in: Client, enrolled: Participant, version: ConsentVersion
) -> None:
    response = _sign(client_in, version, expected_sequence=None)

    assert response.status_code == 400
    assert "This form is incomplete: reload the page and try again." in _alert(response)
    _nothing_written(enrolled)


def test_stale_form_shows_current_state_and_writes_nothing(
    client_in: Client, enrolled: Participant, version: ConsentVersion
) -> None:
    # Another window gave consent after this page was loaded.
    give(enrolled, version, {**ALL_YES, "general": "no"})

    response = _sign(client_in, version, expected_sequence="0")

    assert response.status_code == 409
    html = response.content.decode()
    assert "Your consent was changed since this page was loaded" in _alert(response)
    assert "Your consent as it is saved now" in html
    assert "<td>May your data be used for any research?</td>" in html
    assert "<td><strong>No</strong></td>" in html
    # The form now carries the sequence in force: a new submission is a deliberate one.
    assert 'name="expected_sequence" value="1"' in html
    assert ConsentRecord.objects.filter(participant=enrolled).count() == 1
    assert CurrentConsent.objects.get(participant=enrolled).answers["general"] == "no"


def test_version_superseded_while_signing(
    client_in: Client, enrolled: Participant, version: ConsentVersion, steward: User
) -> None:
    newer = make_version(steward, number=2, document=version.document)
    consent_version_publish(actor=steward, version=newer)

    response = _sign(client_in, version)

    assert response.status_code == 302
    assert response["Location"] == "/consent/form/"
    start = client_in.get("/consent/form/").content.decode()
    assert "A new version of the consent form was published since you started." in start
    assert "<h1>Main study consent, version 2</h1>" in start
    _nothing_written(enrolled)


def test_old_version_posted_after_the_new_one_was_read(
    client_in: Client, enrolled: Participant, version: ConsentVersion, steward: User
) -> None:
    newer = make_version(steward, number=2, document=version.document)
    consent_version_publish(actor=steward, version=newer)
    client_in.get("/consent/form/")
    client_in.post("/consent/form/questions/", {"q1": "0"})
    client_in.post("/consent/form/choices/", _choices(ALL_YES))

    # A page of version 1 left open in another tab is signed.
    response = _sign(client_in, version)

    assert response.status_code == 409
    assert "This version of the consent form is no longer in force" in _alert(response)
    _nothing_written(enrolled)


def test_signing_the_same_answers_twice(
    client_in: Client, enrolled: Participant, version: ConsentVersion
) -> None:
    give(enrolled, version)

    response = _sign(client_in, version, expected_sequence="1")

    assert response.status_code == 400
    assert "Nothing changed: your choices are already these." in _alert(response)
    assert ConsentRecord.objects.filter(participant=enrolled).count() == 1
