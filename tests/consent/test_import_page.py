"""The steward's import page: upload, the dry-run report, then confirm."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from consent.models import Participant
from portal.models import AuditEvent, User

URL = "/consent/participants/import/"
GOOD = (
    b"study_id,email,full_name,language,date_of_birth\n"
    b"S-1,ann@example.org,Ann Jones,en,1980-04-12\n"
    b"S-2,bob@example.org,Bob Brown,en,\n"
)


def _upload(client: Client, content: bytes, name: str = "people.csv") -> Any:
    return client.post(URL, {"file": SimpleUploadedFile(name, content, "text/csv")})


def _signed_content(page: str) -> str:
    match = re.search(r'name="content" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def test_import_page_shows_the_upload_form(steward: User, sign_in: Any) -> None:
    response = sign_in(steward).get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Import participants from a CSV file</h1>" in page
    assert 'enctype="multipart/form-data"' in page
    assert "Check the file" in page


def test_import_page_dry_run_lists_every_problem_and_saves_nothing(
    steward: User, sign_in: Any
) -> None:
    content = GOOD + b"S-1,jo@,Jo,en,2023-02-30\n"

    response = _upload(sign_in(steward), content)

    page = response.content.decode()
    assert response.status_code == 400
    assert "There are 3 problems: nothing was imported" in page
    assert "<li>Line 4: study ID S-1 is also on line 2.</li>" in page
    assert "<li>Line 4: email “jo@” is not a valid email address.</li>" in page
    assert "<li>Line 4: date_of_birth 2023-02-30 is not a real date.</li>" in page
    assert 'name="content"' not in page
    assert Participant.objects.count() == 0


def test_import_page_dry_run_shows_who_would_be_enrolled(steward: User, sign_in: Any) -> None:
    response = _upload(sign_in(steward), GOOD)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Checked: 2 participants to enrol" in page
    assert "<td>S-1</td><td>Ann Jones</td><td>ann@example.org</td>" in page
    assert "Import 2 participants and send invitations" in page
    assert Participant.objects.count() == 0
    assert mail.outbox == []


def test_import_page_confirm_imports_the_checked_file(
    steward: User, sign_in: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = sign_in(steward)
    token = _signed_content(_upload(client, GOOD).content.decode())

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"content": token})

    assert response.status_code == 302
    assert response["Location"] == "/consent/participants/"
    assert sorted(Participant.objects.values_list("study_id", flat=True)) == ["S-1", "S-2"]
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.org", "bob@example.org"]
    assert "2 participants enrolled. Their invitations are being emailed." in (
        client.get(response["Location"]).content.decode()
    )


def test_import_page_refuses_altered_content(steward: User, sign_in: Any) -> None:
    client = sign_in(steward)
    token = _signed_content(_upload(client, GOOD).content.decode())

    response = client.post(URL, {"content": token[:-2] + "xx"})

    assert response.status_code == 400
    assert "The checked file has expired or was changed" in response.content.decode()
    assert Participant.objects.count() == 0


def test_import_page_content_checked_by_one_steward_cannot_be_posted_by_another(
    steward: User, sign_in: Any, django_user_model: Any
) -> None:
    other = django_user_model.objects.create_user(
        "other.steward@example.org",
        "correct horse battery staple",
        full_name="O S",
        roles=["steward"],
    )
    token = _signed_content(_upload(sign_in(steward), GOOD).content.decode())

    response = sign_in(other).post(URL, {"content": token})

    assert response.status_code == 400
    assert Participant.objects.count() == 0


def test_import_page_rechecks_at_import_time(steward: User, sign_in: Any) -> None:
    client = sign_in(steward)
    token = _signed_content(_upload(client, GOOD).content.decode())
    _upload(client, GOOD)  # checking again writes nothing
    client.post(URL, {"content": token})

    response = client.post(URL, {"content": token})

    page = response.content.decode()
    assert response.status_code == 400
    assert "Line 2: study ID S-1 is already enrolled." in page
    assert "Line 3: study ID S-2 is already enrolled." in page
    assert AuditEvent.objects.filter(action="participant.import").count() == 1


def test_import_page_without_a_file_is_refused_with_the_error_summary(
    steward: User, sign_in: Any
) -> None:
    response = sign_in(steward).post(URL, {})

    assert response.status_code == 400
    page = response.content.decode()
    summary = page.split('<div class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert "There is a problem: nothing was checked" in summary
    assert '<a href="#id_file">CSV file: This field is required.</a>' in summary


@pytest.mark.parametrize("method", ["get", "post"])
def test_import_page_anonymous_is_sent_to_sign_in(db: None, client: Client, method: str) -> None:
    response = getattr(client, method)(URL)

    assert response.status_code == 302
    assert response["Location"] == f"/account/sign-in/?next={URL}"


@pytest.mark.parametrize("persona", ["outsider", "participant"])
def test_import_page_refuses_non_stewards(
    persona: str, request: pytest.FixtureRequest, sign_in: Any
) -> None:
    client = sign_in(request.getfixturevalue(persona))

    assert client.get(URL).status_code == 403
    assert _upload(client, GOOD).status_code == 403
    assert Participant.objects.filter(study_id="S-1").count() == 0
