"""A guardian is addressed as the child's guardian on every consent page, in every message
and refusal: "Pat's consent", never "your consent"."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from consent.models import ConsentVersion, Participant
from consent.services import consent_version_publish
from portal.models import User
from tests.conftest import signed_in_client
from tests.consent.conftest import ALL_YES, CHOICES, make_version

# Words meant for the participant themselves; none may reach a guardian acting for Pat.
# (The consent form's own questions say "your data": they are the study's text.)
NOT_FOR_A_GUARDIAN = [
    "Your consent",
    "your consent is",
    "Your choices",
    "Your answer",
    "Your withdrawal",
    "Who used my data",
    "You have withdrawn",
    "You have not given consent",
    "Hello,",
    "Keep my consent",
    "Back to my consent",
    "How far do you want to withdraw?",
    "your previous answer",
]


@pytest.fixture
def acting(child: Participant, guardian: User) -> Client:
    client = signed_in_client(guardian)
    client.post("/consent/proxy/", {"participant": child.pk})
    return client


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.content.decode())


def _for_a_guardian(page: str) -> None:
    wrong = [words for words in NOT_FOR_A_GUARDIAN if words in page]
    assert not wrong, f"words meant for the participant shown to a guardian: {wrong}"


def _sign_first_consent(client: Client, version: ConsentVersion):  # type: ignore[no-untyped-def]
    client.get("/consent/form/")
    client.post("/consent/form/questions/", {"q1": "0"})
    choices = {f"choice-{k}": v for k, v in ALL_YES.items()}
    client.post("/consent/form/choices/", choices)
    return client.post(
        "/consent/form/review/",
        {**choices, "signature": "Gwen Guardian", "expected_sequence": 0, "version": version.pk},
        follow=True,
    )


def test_every_step_of_a_guardians_journey_names_the_child(
    acting: Client, version: ConsentVersion
) -> None:
    before = _text(acting.get("/consent/"))
    assert "Consent for Pat Participant" in before
    assert "Pat has no consent yet." in before
    assert "Who used Pat's data" in before
    assert "No researcher has received data that includes Pat's." in before
    _for_a_guardian(before)
    for path in ["/consent/form/", "/consent/form/section/1/"]:
        _for_a_guardian(_text(acting.get(path)))

    receipt = _text(_sign_first_consent(acting, version))

    assert (
        "Thank you: Pat's consent is recorded. This is the receipt; a copy is on its way to "
        "your email."
    ) in receipt
    assert "Consent for Pat Participant, given by Gwen Guardian as Pat's guardian." in receipt
    _for_a_guardian(receipt)
    home = _text(acting.get("/consent/"))
    assert "You can withdraw Pat at any time, without giving a reason." in home
    assert "Pat's choices now" in home
    _for_a_guardian(home)


def test_a_guardians_change_and_its_refusals_name_the_child(
    acting: Client, version: ConsentVersion
) -> None:
    _sign_first_consent(acting, version)
    form = {"choice-commercial": "no", "signature": "Gwen Guardian", "expected_sequence": 1}

    page = _text(acting.get("/consent/change/commercial/"))
    unchanged = acting.post("/consent/change/commercial/", {**form, "choice-commercial": "yes"})
    stale = acting.post("/consent/change/commercial/", {**form, "expected_sequence": 0})
    changed = acting.post("/consent/change/commercial/", form, follow=True)

    assert "Change Pat's answer" in page
    _for_a_guardian(page)
    assert unchanged.status_code == 400
    assert "Nothing changed: Pat's choices are already these." in _text(unchanged)
    _for_a_guardian(_text(unchanged))
    assert stale.status_code == 409
    assert (
        "Pat's consent was changed since this page was loaded (for example in another window). "
        "Nothing was saved: check Pat's current choices below and submit again."
    ) in _text(stale)
    _for_a_guardian(_text(stale))
    assert (
        "The answer to “May companies use your data?” for Pat is changed. A receipt is on its "
        "way to your email and listed in Pat's history."
    ) in _text(changed)


def test_a_guardians_withdrawal_and_its_refusals_name_the_child(
    acting: Client, version: ConsentVersion
) -> None:
    _sign_first_consent(acting, version)
    form = {"level": "no_contact", "signature": "Gwen Guardian", "expected_sequence": 1}

    page = _text(acting.get("/consent/withdraw/"))
    done = acting.post("/consent/withdraw/confirm/", form, follow=True)
    again = acting.post("/consent/withdraw/confirm/", {**form, "expected_sequence": 2})
    start = _text(acting.get("/consent/form/"))

    assert "How far do you want to withdraw Pat?" in page
    assert "You can withdraw Pat at any time, without giving a reason. There are three" in page
    _for_a_guardian(page)
    assert (
        "Pat's withdrawal is recorded: no further contact. A receipt is on its way to your "
        "email and listed in Pat's history."
    ) in _text(done)
    assert "For Pat to take part again, contact the study team." in _text(done)
    assert "Pat's withdrawal can still go further." in _text(done)
    _for_a_guardian(_text(done))
    assert again.status_code == 400
    assert (
        "Pat has already withdrawn: no further contact. A withdrawal can only go further."
    ) in _text(again)
    assert "Pat is withdrawn from the study, so you cannot give consent again here." in start
    _for_a_guardian(start)


def test_a_guardians_reconsent_marks_the_childs_previous_answers_as_the_childs(
    acting: Client, version: ConsentVersion, steward: User
) -> None:
    _sign_first_consent(acting, version)
    storage = {
        "key": "storage",
        "question": "May we keep your sample?",
        "meaning": "sample_storage",
        "allowed_answers": ["yes", "no"],
    }
    newer = make_version(steward, number=2, document=version.document, choices=[*CHOICES, storage])
    consent_version_publish(actor=steward, version=newer)
    acting.get("/consent/form/")
    acting.post("/consent/form/questions/", {"q1": "0"})

    page = _text(acting.get("/consent/form/choices/"))

    assert page.count("(Pat's previous answer)") == 6
    assert (
        "Pat's answers to the questions asked before are selected and marked “Pat's previous "
        "answer”: check each one."
    ) in page
    _for_a_guardian(page)


def test_a_welsh_guardians_change_and_withdrawal_pages_are_in_welsh_and_name_the_child(
    acting: Client, guardian: User, version: ConsentVersion
) -> None:
    _sign_first_consent(acting, version)
    User.objects.filter(pk=guardian.pk).update(language="cy")

    change = _text(acting.get("/consent/change/commercial/"))
    withdraw = _text(acting.get("/consent/withdraw/"))

    assert '<html lang="cy">' in change
    assert "Newid ateb Pat" in change
    assert '<html lang="cy">' in withdraw
    assert "Pa mor bell ydych chi am dynnu Pat yn ôl?" in withdraw
    for page in (change, withdraw):
        assert "Change Pat's answer" not in page
        assert "How far do you want to withdraw" not in page
