"""The handover at coming of age: the young person sees what their guardian chose and
confirms or changes each choice, in a record that makes the consent their own."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from consent.models import Channel, ConsentRecord, ConsentVersion, CurrentConsent, Participant
from consent.selectors import guardian_choices
from consent.services import (
    ConsentError,
    consent_confirm,
    consent_record,
    proxy_majority_handover,
)
from portal.models import AuditEvent, User
from tests.conftest import signed_in_client
from tests.consent.conftest import ALL_YES, GUARDIAN_ANSWERS, born_years_ago


def confirm(participant: Participant, version: ConsentVersion, answers: dict[str, str], **kw):  # type: ignore[no-untyped-def]
    arguments = {
        "actor": participant.user,
        "participant": participant,
        "version": version,
        "answers": answers,
        "signature": "Pat Participant",
        "channel": Channel.WEB,
        "expected_sequence": 1,
        **kw,
    }
    return consent_confirm(**arguments)


def test_keeping_every_guardian_answer_is_recorded_as_the_young_persons_own(
    handed_over: Participant, version: ConsentVersion
) -> None:
    record = confirm(handed_over, version, GUARDIAN_ANSWERS)

    assert (record.kind, record.sequence, record.proxy, record.actor) == (
        "confirm",
        2,
        None,
        handed_over.user,
    )
    assert record.signature == "Pat Participant"
    assert record.answers == {
        "abroad": "no",
        "ancestry": "ask",
        "commercial": "yes",
        "general": "yes",
        "health": "yes",
        "recontact": "yes",
    }
    event = AuditEvent.objects.get(action="consent.confirm")
    assert event.actor == handed_over.user
    assert event.after["guardian_record"] == 1
    assert event.after["changed"] == []
    assert event.after["kept"] == [
        "abroad",
        "ancestry",
        "commercial",
        "general",
        "health",
        "recontact",
    ]
    assert guardian_choices(handed_over) is None


def test_the_same_unchanged_answers_are_still_refused_as_a_change(
    handed_over: Participant, version: ConsentVersion
) -> None:
    with pytest.raises(ConsentError, match="Nothing changed: your choices are already these."):
        consent_record(
            actor=handed_over.user,
            participant=handed_over,
            version=version,
            answers=GUARDIAN_ANSWERS,
            signature="Pat Participant",
            channel=Channel.WEB,
            expected_sequence=1,
        )


def test_confirming_some_and_changing_one_names_which_changed(
    handed_over: Participant, version: ConsentVersion
) -> None:
    confirm(handed_over, version, {**GUARDIAN_ANSWERS, "commercial": "no"})

    event = AuditEvent.objects.get(action="consent.confirm")
    assert event.after["changed"] == ["commercial"]
    assert event.after["kept"] == ["abroad", "ancestry", "general", "health", "recontact"]
    assert CurrentConsent.objects.get(participant=handed_over).answers["commercial"] == "no"


def test_an_unanswered_question_is_refused_and_nothing_is_written(
    handed_over: Participant, version: ConsentVersion
) -> None:
    answers = {k: v for k, v in GUARDIAN_ANSWERS.items() if k != "health"}

    with pytest.raises(ConsentError) as refused:
        confirm(handed_over, version, answers)

    assert refused.value.code == "missing_answer"
    assert refused.value.message == (
        "Please answer this question: “May your data be used for health research?”."
    )
    assert handed_over.records.count() == 1


def test_the_former_guardian_cannot_confirm(
    handed_over: Participant, guardian: User, version: ConsentVersion
) -> None:
    with pytest.raises(ConsentError) as refused:
        confirm(handed_over, version, GUARDIAN_ANSWERS, actor=guardian, signature="Gwen Guardian")

    assert (refused.value.code, refused.value.http_status) == ("not_participant", 403)
    assert refused.value.message == (
        "Only Pat can confirm the choices made for them: a guardian's authority ends when "
        "Pat comes of age."
    )
    assert handed_over.records.count() == 1


def test_a_child_cannot_confirm_before_coming_of_age(
    child: Participant, guardian: User, version: ConsentVersion
) -> None:
    consent_record(
        actor=guardian,
        participant=child,
        version=version,
        answers=ALL_YES,
        signature="Gwen Guardian",
        channel=Channel.WEB,
        expected_sequence=0,
        proxy=guardian,
    )

    with pytest.raises(ConsentError) as refused:
        confirm(child, version, ALL_YES)

    assert (refused.value.code, refused.value.http_status) == ("nothing_to_confirm", 409)
    assert refused.value.message.startswith("You can confirm the choices your guardian made once")
    assert child.records.count() == 1


def test_confirming_twice_is_refused(handed_over: Participant, version: ConsentVersion) -> None:
    confirm(handed_over, version, GUARDIAN_ANSWERS)

    with pytest.raises(ConsentError) as refused:
        confirm(handed_over, version, GUARDIAN_ANSWERS, expected_sequence=2)

    assert refused.value.code == "nothing_to_confirm"
    assert refused.value.message == (
        "There are no choices made by a guardian for you to confirm: your consent is already "
        "your own."
    )
    assert handed_over.records.count() == 2


def test_the_signature_is_the_young_persons_own_name(
    handed_over: Participant, version: ConsentVersion
) -> None:
    with pytest.raises(
        ConsentError, match=r"your full name as on your account \(Pat Participant\)"
    ):
        confirm(handed_over, version, GUARDIAN_ANSWERS, signature="Gwen Guardian")


def test_handover_emails_the_young_person_and_the_former_guardian(
    child: Participant,
    guardian: User,
    version: ConsentVersion,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    consent_record(
        actor=guardian,
        participant=child,
        version=version,
        answers=ALL_YES,
        signature="Gwen Guardian",
        channel=Channel.WEB,
        expected_sequence=0,
        proxy=guardian,
        receipt=False,
    )
    child.date_of_birth = born_years_ago(18)
    child.save(update_fields=["date_of_birth"])

    with django_capture_on_commit_callbacks(execute=True):
        proxy_majority_handover(participant=child)

    sent = {m.to[0]: m for m in mail.outbox}
    to_guardian = sent["guardian@example.org"]
    assert to_guardian.subject == "Your authority to act for Pat Participant has ended"
    assert "Hello Gwen Guardian," in to_guardian.body
    assert "you can no longer see or change Pat's consent" in to_guardian.body
    assert "stay in force until Pat confirms or changes each of them" in to_guardian.body
    to_young_person = sent["participant@example.org"]
    assert "asks you to confirm or change each one" in to_young_person.body


# --- the pages --------------------------------------------------------------------------------


def test_home_asks_the_young_person_to_act_on_each_choice(handed_over: Participant) -> None:
    page = signed_in_client(handed_over.user).get("/consent/").content.decode()

    assert '<h2 id="handover-heading">Your choices are now yours to make</h2>' in page
    assert "made for you by Gwen Guardian, your guardian" in page
    assert 'href="/consent/handover/"' in page
    # One choice at a time would leave the guardian's other answers standing.
    assert "/consent/change/" not in page


def test_handover_page_shows_the_guardians_choices_and_preselects_nothing(
    handed_over: Participant,
) -> None:
    response = signed_in_client(handed_over.user).get("/consent/handover/")
    page = response.content.decode()

    assert response.status_code == 200
    assert "<h1>Your choices are now yours to make</h1>" in page
    assert "Until you came of age, Gwen Guardian made the choices below for you" in page
    assert "What your guardian chose for you" in page
    assert re.search(
        r"May researchers outside the UK use your data\?</td>\s*<td[^>]*><strong>No</strong>", page
    )
    assert " checked" not in page
    assert page.count("(your guardian&#x27;s choice)") == 6
    assert "Sign and make these choices my own" in page


def test_handover_page_in_welsh(handed_over: Participant) -> None:
    handed_over.user.language = "cy"
    handed_over.user.save(update_fields=["language"])
    client = signed_in_client(handed_over.user)
    client.cookies["django_language"] = "cy"

    page = client.get("/consent/handover/", HTTP_ACCEPT_LANGUAGE="cy").content.decode()

    assert '<html lang="cy"' in page
    assert "<h1>Chi sy'n gwneud eich dewisiadau bellach</h1>" in page
    assert "Llofnodi a gwneud y dewisiadau hyn yn rhai i mi" in page


def test_confirming_on_the_page_makes_a_record_and_shows_its_receipt(
    handed_over: Participant,
) -> None:
    client = signed_in_client(handed_over.user)
    posted = {f"choice-{k}": v for k, v in {**GUARDIAN_ANSWERS, "commercial": "no"}.items()}

    response = client.post(
        "/consent/handover/",
        {
            **posted,
            "signature": "Pat Participant",
            "expected_sequence": 1,
            "version": handed_over.current_consent.version_id,
        },
        follow=True,
    )
    page = response.content.decode()

    record = ConsentRecord.objects.get(participant=handed_over, sequence=2)
    assert record.kind == "confirm"
    assert response.redirect_chain[-1][0] == f"/consent/receipts/{record.pk}/"
    assert "Thank you: these choices are now your own consent." in page
    assert "Own consent at coming of age" in page
    assert "came of age and answered each question themselves" in page
    home = client.get("/consent/").content.decode()
    assert "handover-heading" not in home
    assert "Confirmed or changed each choice made by the guardian (version 1)" in home


def test_an_unanswered_question_on_the_page_is_named_and_nothing_is_written(
    handed_over: Participant,
) -> None:
    posted = {f"choice-{k}": v for k, v in GUARDIAN_ANSWERS.items() if k != "recontact"}

    response = signed_in_client(handed_over.user).post(
        "/consent/handover/",
        {
            **posted,
            "signature": "Pat Participant",
            "expected_sequence": 1,
            "version": handed_over.current_consent.version_id,
        },
    )

    assert response.status_code == 400
    assert "May we contact you again? — Choose an answer." in response.content.decode()
    assert handed_over.records.count() == 1


def test_the_whole_form_after_coming_of_age_shows_guardian_answers_unselected(
    handed_over: Participant, steward: User, version: ConsentVersion
) -> None:
    from consent.services import consent_version_publish
    from tests.consent.conftest import CHOICES, make_version

    newer = make_version(
        steward,
        number=2,
        document=version.document,
        choices=[
            *CHOICES,
            {
                "key": "storage",
                "question": "May we keep your sample?",
                "meaning": "sample_storage",
                "allowed_answers": ["yes", "no"],
            },
        ],
    )
    consent_version_publish(actor=steward, version=newer)
    client = signed_in_client(handed_over.user)
    client.get("/consent/form/")
    session = client.session
    session["consent_journey"] = {**session["consent_journey"], "quiz_passed": True}
    session.save()

    page = client.get("/consent/form/choices/").content.decode()

    assert " checked" not in page
    assert "(your previous answer)" not in page
    assert page.count("(your guardian&#x27;s choice)") == 6
    assert "Your guardian chose for you until you came of age." in page


def test_handover_emails_are_in_each_readers_language(
    child: Participant,
    guardian: User,
    version: ConsentVersion,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    guardian.language = "cy"
    guardian.save(update_fields=["language"])
    consent_record(
        actor=guardian,
        participant=child,
        version=version,
        answers=ALL_YES,
        signature="Gwen Guardian",
        channel=Channel.WEB,
        expected_sequence=0,
        proxy=guardian,
        receipt=False,
    )
    child.date_of_birth = born_years_ago(18)
    child.save(update_fields=["date_of_birth"])

    with django_capture_on_commit_callbacks(execute=True):
        proxy_majority_handover(participant=child)

    sent = {m.to[0]: m for m in mail.outbox}
    welsh = sent["guardian@example.org"]
    assert welsh.subject == "Mae eich awdurdod i weithredu ar ran Pat Participant wedi dod i ben"
    assert "Helo Gwen Guardian," in welsh.body
    assert "ni allwch bellach weld na newid cydsyniad Pat" in welsh.body
    assert sent["participant@example.org"].subject == (
        "You can now decide about your study data yourself"
    )
