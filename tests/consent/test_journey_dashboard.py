from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from consent.models import Channel, ConsentRecord, ConsentVersion, Participant, WithdrawalLevel
from consent.selectors import consent_overview, record_signer
from consent.services import consent_withdraw
from portal.models import Role, User
from tests.consent.conftest import ALL_YES, give, make_version
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_in(enrolled: Participant, sign_in: Any) -> Client:
    return sign_in(enrolled.user)


def test_honest_empty_state_without_a_published_form(client_in: Client) -> None:
    html = client_in.get("/consent/").content.decode()

    assert "Your study has not published its consent form in Custodian yet." in html
    assert 'href="/consent/form/"' not in html
    assert client_in.get("/consent/form/").status_code == 404


def test_draft_versions_are_not_offered(client_in: Client, steward: User) -> None:
    make_version(steward)

    html = client_in.get("/consent/").content.decode()

    assert "Your study has not published its consent form in Custodian yet." in html


def test_invitation_to_consent_when_a_form_is_published(
    client_in: Client, version: ConsentVersion
) -> None:
    html = client_in.get("/consent/").content.decode()

    assert "You have not given consent yet." in html
    assert '<a class="button" href="/consent/form/">Read and sign the consent form</a>' in html
    assert '<h2 id="history-heading">History</h2>' not in html


def test_current_choices_in_plain_words_with_dates_and_change_links(
    client_in: Client, enrolled: Participant, version: ConsentVersion
) -> None:
    first = give(enrolled, version, {**ALL_YES, "ancestry": "ask"})

    html = client_in.get("/consent/").content.decode()

    assert "<dt>Status</dt><dd>Consent given</dd>" in html
    assert "<td>May your data be used for ancestry research?</td>" in html
    assert "<td><strong>Ask me each time</strong></td>" in html
    assert f'<time datetime="{timezone.localtime(first.created_at).isoformat()}">' in html
    assert (
        'href="/consent/change/ancestry/">Change<span class="visually-hidden"> your answer to: '
        "May your data be used for ancestry research?</span></a>"
    ) in html
    assert 'href="/consent/withdraw/">Withdraw from the study</a>' in html


def test_date_of_each_choice_is_when_it_last_changed(
    enrolled: Participant, version: ConsentVersion
) -> None:
    first = give(enrolled, version)
    second = give(enrolled, version, {**ALL_YES, "health": "no"}, sequence=1)

    since = {c.key: c.since for c in consent_overview(enrolled).choices}

    assert since["health"] == second.created_at
    assert since["general"] == first.created_at
    assert set(since) == set(ALL_YES)


def test_history_shows_every_record_newest_first_with_what_changed(
    client_in: Client, enrolled: Participant, version: ConsentVersion
) -> None:
    give(enrolled, version)
    give(enrolled, version, {**ALL_YES, "health": "no", "commercial": "ask"}, sequence=1)
    consent_withdraw(
        actor=enrolled.user,
        participant=enrolled,
        level=WithdrawalLevel.NO_CONTACT,
        signature="Pat Participant",
        channel=Channel.WEB,
        expected_sequence=2,
    )

    html = client_in.get("/consent/").content.decode()
    timeline = html[html.index('<ol class="timeline">') :]

    headings = ["Withdrew: no further contact", "Changed choices", "Gave consent (version 1)"]
    positions = [timeline.index(f"<h3>{h}</h3>") for h in headings]
    assert positions == sorted(positions)
    changed = timeline[positions[1] : positions[2]]
    assert (
        'May your data be used for health research? <span class="change">'
        "Yes → <strong>No</strong></span>"
    ) in changed
    assert (
        'May companies use your data? <span class="change">'
        "Yes → <strong>Ask me each time</strong></span>"
    ) in changed
    assert "any research" not in changed
    first = timeline[positions[2] :]
    assert (
        'May your data be used for any research? <span class="change"><strong>Yes</strong>' in first
    )
    assert "by Pat Participant · Web" in timeline
    assert timeline.count("/pdf/") == 3


def test_signer_names_both_proxy_and_participant(
    enrolled: Participant, version: ConsentVersion
) -> None:
    guardian = UserFactory(full_name="Gale Guardian", role=Role.PARTICIPANT)
    steward = UserFactory(full_name="Sam Steward", role=Role.STEWARD)
    by_proxy = ConsentRecord(participant=enrolled, actor=guardian, proxy=guardian)
    on_paper = ConsentRecord(participant=enrolled, actor=steward)
    own = ConsentRecord(participant=enrolled, actor=enrolled.user)

    assert record_signer(by_proxy) == "Gale Guardian (guardian) for Pat Participant"
    assert record_signer(on_paper) == "Sam Steward for Pat Participant"
    assert record_signer(own) == "Pat Participant"


def test_withdrawn_participant_sees_what_it_means(
    client_in: Client, enrolled: Participant, version: ConsentVersion
) -> None:
    give(enrolled, version)
    consent_withdraw(
        actor=enrolled.user,
        participant=enrolled,
        level=WithdrawalLevel.NO_USE,
        signature="Pat Participant",
        channel=Channel.WEB,
        expected_sequence=1,
    )

    html = client_in.get("/consent/").content.decode()

    assert "<dt>Status</dt><dd>Withdrawn: no further use</dd>" in html
    assert "Analyses already done cannot be undone:" in html
    assert "/consent/change/" not in html
    assert 'href="/consent/withdraw/"' not in html


def test_participant_without_enrolment_is_told(sign_in: Any) -> None:
    user = UserFactory(role=Role.PARTICIPANT, full_name="Nora Noenrol")

    client = sign_in(user)

    assert "Your account is not linked to a study enrolment yet" in (
        client.get("/consent/").content.decode()
    )
    assert client.get("/consent/form/").status_code == 404
    assert client.get("/consent/withdraw/").status_code == 404
