"""The steward's pages for consent documents and versions: write, preview, publish."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from consent.models import (
    ConsentDocument,
    ConsentVersion,
    CurrentConsent,
    Participant,
    VersionStatus,
)
from consent.services import consent_document_create, consent_version_publish
from consent.version_text import format_choices, format_questions, format_sections
from portal.models import AuditEvent, User
from tests.consent.conftest import CHOICES as BASE_CHOICES
from tests.consent.conftest import give, make_version

SECTIONS = "## Why we ask\nWe study DNA to understand disease.\n\n## Your rights\nYou may withdraw."
QUESTIONS = "? Can you withdraw at any time?\n* Yes\n- No\n> You can withdraw whenever you like."
CHOICES = (
    "key: general\nquestion: May your data be used for any research?\n"
    "meaning: general_research\nanswers: yes, no\n\n"
    "key: recontact\nquestion: May we contact you again?\nmeaning: recontact\n"
    "answers: yes, no\nrecommended: yes"
)


def _form(**changes: Any) -> dict[str, Any]:
    return {
        "number": "1",
        "language": "en",
        "title": "Main study consent",
        "summary": "How your data may be used.",
        "body": "Please read **carefully**.",
        "sections": SECTIONS,
        "questions": QUESTIONS,
        "choices": CHOICES,
        **changes,
    }


def _changed() -> list[dict[str, Any]]:
    """The standard choices without "recontact", and "general" now also allows "ask"."""
    changed = [dict(c) for c in BASE_CHOICES if c["key"] != "recontact"]
    changed[0]["allowed_answers"] = ["yes", "no", "ask"]
    return changed


@pytest.fixture
def document(steward: User) -> ConsentDocument:
    return consent_document_create(actor=steward, name="Biobank consent", country="GB")


def test_document_create_page_creates_and_goes_to_version_1(steward: User, sign_in: Any) -> None:
    client = sign_in(steward)

    response = client.post("/consent/documents/new/", {"name": "Biobank consent", "country": "fr"})

    document = ConsentDocument.objects.get()
    assert (document.name, document.country) == ("Biobank consent", "FR")
    assert response["Location"] == f"/consent/documents/{document.pk}/versions/new/"
    page = client.get(response["Location"]).content.decode()
    assert 'name="number" value="1"' in page


def test_document_create_page_refuses_a_bad_country_and_a_duplicate(
    steward: User, document: ConsentDocument, sign_in: Any
) -> None:
    client = sign_in(steward)

    bad = client.post("/consent/documents/new/", {"name": "Other", "country": "G1"})
    duplicate = client.post("/consent/documents/new/", {"name": "Biobank consent", "country": "GB"})

    assert bad.status_code == 400
    assert "&#x27;G1&#x27; is not a two-letter country code." in bad.content.decode()
    assert duplicate.status_code == 400
    assert "A consent document named Biobank consent exists." in duplicate.content.decode()
    assert ConsentDocument.objects.count() == 1


def test_version_create_page_saves_a_draft_with_everything(
    steward: User, document: ConsentDocument, sign_in: Any
) -> None:
    response = sign_in(steward).post(f"/consent/documents/{document.pk}/versions/new/", _form())

    version = ConsentVersion.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/consent/versions/{version.pk}/"
    assert (version.number, version.language, version.status) == (1, "en", VersionStatus.DRAFT)
    assert version.created_by == steward
    assert [(s.order, s.heading) for s in version.sections.all()] == [
        (1, "Why we ask"),
        (2, "Your rights"),
    ]
    (question,) = version.questions.all()
    assert (question.options, question.correct_option) == (["Yes", "No"], 0)
    assert [(c.key, c.allowed_answers, c.recommended_answer) for c in version.choices.all()] == [
        ("general", ["yes", "no"], ""),
        ("recontact", ["yes", "no"], "yes"),
    ]
    assert AuditEvent.objects.filter(action="consent_version.create").count() == 1


def test_version_create_page_shows_every_problem_with_its_line(
    steward: User, document: ConsentDocument, sign_in: Any
) -> None:
    form = _form(
        language="English",
        sections="Intro first\n## Why",
        questions="? Can you withdraw?\n* Yes\n> Always.",
        choices="key: general\nquestion: Any research?\nmeaning: everything\nanswers: yes, maybe",
    )

    response = sign_in(steward).post(f"/consent/documents/{document.pk}/versions/new/", form)

    page = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem: the draft was not saved" in page
    for message in [
        "Language: Use a language code such as en, cy or pt-br.",
        "Sections: Line 1: text before the first section; start each section with “## Heading”.",
        "Sections: Line 2: the section “Why” has no text.",
        "Comprehension questions: Line 1: the question needs at least two answers (“*” and “-” "
        "lines).",
        "Choices: Line 3: the meaning “everything” is not one of:",
        "Choices: Line 4: answers may only be yes, no and ask (not maybe).",
    ]:
        assert message in page, message
    assert ConsentVersion.objects.count() == 0


def test_version_create_page_refuses_a_number_not_above_the_version_in_force(
    steward: User, version: ConsentVersion, sign_in: Any
) -> None:
    client = sign_in(steward)
    url = f"/consent/documents/{version.document_id}/versions/new/"

    same = client.post(url, _form(number="1"))
    translation = client.post(url, _form(number="1", language="cy"))

    assert same.status_code == 400
    assert "Version 1 is in force in en: a new version needs a higher number." in (
        same.content.decode()
    )
    assert translation.status_code == 302
    assert ConsentVersion.objects.filter(language="cy", number=1).exists()


def test_version_create_page_starts_from_the_latest_version(
    steward: User, version: ConsentVersion, sign_in: Any
) -> None:
    response = sign_in(steward).get(f"/consent/documents/{version.document_id}/versions/new/")

    form = response.context["form"]
    assert form.initial["number"] == 2
    assert form.initial["language"] == "en"
    assert form.initial["title"] == "Main study consent, version 1"
    assert form.initial["sections"] == format_sections(version.sections.all())
    assert form.initial["questions"] == format_questions(version.questions.all())
    assert form.initial["choices"] == format_choices(version.choices.all())
    assert "The form starts from version 1 (en), in force" in response.content.decode()


def test_version_create_page_unknown_document_is_not_found(steward: User, sign_in: Any) -> None:
    assert sign_in(steward).get("/consent/documents/999/versions/new/").status_code == 404


def test_version_preview_renders_markdown_safely(
    steward: User, document: ConsentDocument, sign_in: Any
) -> None:
    client = sign_in(steward)
    client.post(
        f"/consent/documents/{document.pk}/versions/new/",
        _form(body="Read **this**.<script>alert(1)</script>"),
    )
    version = ConsentVersion.objects.get()

    page = client.get(f"/consent/versions/{version.pk}/").content.decode()

    assert "<h1>Preview: Main study consent</h1>" in page
    assert "<strong>this</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert "<h2>2. Your rights</h2>" in page
    assert "Yes <strong>(right answer)</strong>" in page
    assert "No version of this document is in force in en" in page
    assert "Publish version 1 (en)" in page


def test_preview_of_a_draft_with_changed_choices_says_reconsent_is_required(
    steward: User, version: ConsentVersion, sign_in: Any
) -> None:
    draft = make_version(steward, number=2, document=version.document, choices=_changed())

    page = sign_in(steward).get(f"/consent/versions/{draft.pk}/").content.decode()

    assert "<strong>Re-consent required.</strong>" in page
    assert (
        "Changed: May your data be used for any research? (general): answers yes, no → yes, "
        in page
    )
    assert "Removed choice: May we contact you again? (recontact)" in page
    assert "Suspend consent given to older versions until participants re-consent" in page


def test_preview_of_a_draft_with_the_same_choices_needs_no_reconsent(
    steward: User, version: ConsentVersion, sign_in: Any
) -> None:
    draft = make_version(steward, number=2, document=version.document)

    page = sign_in(steward).get(f"/consent/versions/{draft.pk}/").content.decode()

    assert "<strong>No re-consent needed.</strong>" in page
    assert "suspend_previous" not in page


@pytest.mark.parametrize("suspend", [False, True])
def test_publish_page_publishes_marks_reconsent_and_suspends_if_asked(
    steward: User,
    version: ConsentVersion,
    enrolled: Participant,
    sign_in: Any,
    suspend: bool,
) -> None:
    give(enrolled, version)
    draft = make_version(steward, number=2, document=version.document, choices=_changed())
    client = sign_in(steward)

    response = client.post(
        f"/consent/versions/{draft.pk}/publish/", {"suspend_previous": "on"} if suspend else {}
    )

    draft.refresh_from_db()
    version.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == "/consent/documents/"
    assert (draft.status, draft.requires_reconsent, draft.suspends_previous) == (
        VersionStatus.PUBLISHED,
        True,
        suspend,
    )
    assert version.status == VersionStatus.SUPERSEDED
    assert CurrentConsent.objects.get(participant=enrolled).suspended is suspend
    page = client.get("/consent/documents/").content.decode()
    meanwhile = (
        "their consent is suspended until they do"
        if suspend
        else "their consent to the older version stays in force meanwhile"
    )
    assert (
        "Its choices changed: participants who consented to an older version are emailed to "
        f"review it, and {meanwhile}."
    ) in page


def test_publish_page_with_unchanged_choices_ignores_suspend(
    steward: User, version: ConsentVersion, enrolled: Participant, sign_in: Any
) -> None:
    give(enrolled, version)
    draft = make_version(steward, number=2, document=version.document)

    sign_in(steward).post(f"/consent/versions/{draft.pk}/publish/", {"suspend_previous": "on"})

    draft.refresh_from_db()
    assert (draft.status, draft.requires_reconsent, draft.suspends_previous) == (
        VersionStatus.PUBLISHED,
        False,
        False,
    )
    assert CurrentConsent.objects.get(participant=enrolled).suspended is False


def test_publish_page_refuses_a_lower_number_and_a_published_version(
    steward: User, version: ConsentVersion, sign_in: Any
) -> None:
    client = sign_in(steward)
    newer = consent_version_publish(
        actor=steward, version=make_version(steward, number=3, document=version.document)
    )
    older = make_version(steward, number=2, document=version.document)

    lower = client.post(f"/consent/versions/{older.pk}/publish/")
    again = client.post(f"/consent/versions/{newer.pk}/publish/")

    assert lower.status_code == 400
    assert "Version 3 is already in force; publish a higher number." in lower.content.decode()
    assert again.status_code == 409
    assert "Version 3 (en) is published: only a draft can be published." in again.content.decode()
    older.refresh_from_db()
    assert older.status == VersionStatus.DRAFT


def test_publish_page_needs_post(steward: User, version: ConsentVersion, sign_in: Any) -> None:
    assert sign_in(steward).get(f"/consent/versions/{version.pk}/publish/").status_code == 405


def test_documents_page_lists_versions_with_their_participants(
    steward: User, version: ConsentVersion, enrolled: Participant, sign_in: Any
) -> None:
    give(enrolled, version)
    make_version(steward, number=2, document=version.document)

    page = sign_in(steward).get("/consent/documents/").content.decode()

    assert ">Main study consent</h2>" in page
    assert 'Preview and publish<span class="visually-hidden"> version 2 (en)</span>' in page
    assert 'View<span class="visually-hidden"> version 1 (en)</span>' in page
    assert "<td>1</td>\n        <td><a href=" in page


STEWARD_PAGES = [
    ("get", "/consent/documents/"),
    ("get", "/consent/documents/new/"),
    ("post", "/consent/documents/new/"),
    ("get", "/consent/documents/{document}/versions/new/"),
    ("post", "/consent/documents/{document}/versions/new/"),
    ("get", "/consent/versions/{version}/"),
    ("post", "/consent/versions/{version}/publish/"),
]


@pytest.mark.parametrize(("method", "page"), STEWARD_PAGES)
def test_version_pages_anonymous_is_sent_to_sign_in(
    client: Client, version: ConsentVersion, method: str, page: str
) -> None:
    url = page.format(document=version.document_id, version=version.pk)

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response["Location"] == f"/account/sign-in/?next={url}"


@pytest.mark.parametrize("persona", ["outsider", "participant"])
@pytest.mark.parametrize(("method", "page"), STEWARD_PAGES)
def test_version_pages_refuse_non_stewards(
    steward: User,
    persona: str,
    method: str,
    page: str,
    request: pytest.FixtureRequest,
    sign_in: Any,
) -> None:
    draft = make_version(steward)
    url = page.format(document=draft.document_id, version=draft.pk)
    client = sign_in(request.getfixturevalue(persona))

    response = getattr(client, method)(
        url, _form(name="X", country="GB") if method == "post" else {}
    )

    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT
    assert ConsentVersion.objects.count() == 1
    assert ConsentDocument.objects.count() == 1
