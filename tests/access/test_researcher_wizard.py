"""The new-request wizard: create from the catalogue, save each step, move between steps."""

from __future__ import annotations

from typing import Any

import pytest

from access.models import AccessRequest, RequestStatus
from datasets.models import Committee
from portal.models import User
from tests.access.conftest import Cohort, released_dataset
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db


def test_catalogue_apply_link_leads_to_the_wizard_with_the_dataset(
    researcher: User, cohort: Cohort
) -> None:
    accession = cohort.dataset.accession
    client = signed_in_client(researcher)

    catalogue = client.get(f"/datasets/{accession}/").content.decode()
    assert f'href="/access/requests/new/?dataset={accession}"' in catalogue

    page = client.get(f"/access/requests/new/?dataset={accession}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>New access request</h1>" in html
    assert f"<strong>{accession}</strong> Test cohort" in html
    assert f'<input type="hidden" name="dataset" value="{cohort.dataset.pk}">' in html
    assert '<label for="id_title">Project title' in html


def test_unknown_dataset_in_the_link_is_named(researcher: User) -> None:
    page = signed_in_client(researcher).get("/access/requests/new/?dataset=CDS999999")

    assert page.status_code == 200
    assert "No released dataset has the accession “CDS999999”." in page.content.decode()


def test_saving_the_first_step_creates_the_draft_and_opens_the_next_step(
    researcher: User, cohort: Cohort
) -> None:
    client = signed_in_client(researcher)

    response = client.post(
        "/access/requests/new/",
        {
            "title": "Heart variants",
            "lay_summary": "Why hearts fail.",
            "dataset": [str(cohort.dataset.pk)],
            "then": "purpose",
        },
    )

    draft = AccessRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/access/requests/{draft.accession}/edit/?step=purpose"
    assert draft.applicant == researcher
    assert draft.status == RequestStatus.DRAFT
    assert (draft.title, draft.lay_summary, draft.institution) == (
        "Heart variants",
        "Why hearts fail.",
        "Example University",
    )
    assert list(draft.datasets.all()) == [cohort.dataset]
    page = client.get(response["Location"]).content.decode()
    assert "Your draft " + draft.accession + " is saved." in page
    assert "<h2>Research purpose</h2>" in page


def test_each_step_saves_its_fields(researcher: User, cohort: Cohort, steward: User) -> None:
    client = signed_in_client(researcher)
    client.post("/access/requests/new/", {"title": "T"})
    draft = AccessRequest.objects.get()
    url = f"/access/requests/{draft.accession}/edit/"
    second = released_dataset(steward, cohort.dataset.committee, title="Second cohort")

    steps = [
        ("project", {"title": "Heart variants", "lay_summary": "L", "scientific_abstract": "A"}),
        (
            "purpose",
            {
                "primary_use": "DS",
                "diseases": ["MONDO:0004992"],
                "methods_development": "on",
                "countries": "gb, fr",
                "sensitive_areas": ["pediatric"],
                "institution": "Heart Institute",
                "access_end": "2099-12-31",
            },
        ),
        ("datasets", {"datasets": [str(cohort.dataset.pk), str(second.pk)]}),
        ("people", {"signing_official_name": "Sig", "signing_official_email": "sig@example.org"}),
        ("documents", {"security_attestation": "on"}),
    ]
    for step, data in steps:
        response = client.post(f"{url}?step={step}", {**data, "then": step})
        assert response.status_code == 302, response.content.decode()[:2000]
        assert response["Location"] == f"{url}?step={step}"

    draft.refresh_from_db()
    assert draft.title == "Heart variants"
    assert draft.primary_use == "DS"
    assert draft.diseases == ["MONDO:0004992"]
    assert draft.methods_development is True
    assert draft.commercial is False
    assert draft.countries == ["FR", "GB"]
    assert draft.sensitive_areas == ["pediatric"]
    assert draft.institution == "Heart Institute"
    assert draft.access_end.isoformat() == "2099-12-31"
    assert sorted(d.title for d in draft.datasets.all()) == ["Second cohort", "Test cohort"]
    assert (draft.signing_official_name, draft.signing_official_email) == (
        "Sig",
        "sig@example.org",
    )
    assert draft.security_attestation is True
    # Saved values come back in the forms.
    purpose = client.get(f"{url}?step=purpose").content.decode()
    assert 'value="FR, GB"' in purpose
    assert '<option value="MONDO:0004992" selected>' in purpose


def test_steps_are_linked_and_save_and_continue_moves_on(researcher: User, cohort: Cohort) -> None:
    client = signed_in_client(researcher)
    client.post("/access/requests/new/", {"title": "T"})
    accession = AccessRequest.objects.get().accession
    url = f"/access/requests/{accession}/edit/"

    page = client.get(f"{url}?step=people").content.decode()
    for step in ("project", "purpose", "datasets", "documents", "review"):
        assert f'href="{url}?step={step}"' in page
    assert '<li aria-current="step" class="current">\n        People' in page
    response = client.post(f"{url}?step=people", {"then": "documents"})
    assert response["Location"] == f"{url}?step=documents"
    assert client.get(f"{url}?step=nowhere").status_code == 404


def test_invalid_values_are_shown_beside_their_fields_and_nothing_typed_is_lost(
    researcher: User, cohort: Cohort
) -> None:
    client = signed_in_client(researcher)
    client.post("/access/requests/new/", {"title": "T"})
    draft = AccessRequest.objects.get()
    url = f"/access/requests/{draft.accession}/edit/?step=purpose"

    response = client.post(
        url,
        {
            "primary_use": "HMB",
            "countries": "GB, France",
            "institution": "Typed Institute",
            "access_end": "someday",
            "then": "purpose",
        },
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert (
        '<p class="error" id="id_countries_error">Countries are two-letter ISO codes (GB, FR…), '
        "not: FRANCE.</p>" in page
    )
    assert (
        '<p class="error" id="id_access_end_error">“someday” is not a date (YYYY-MM-DD).</p>'
        in (page)
    )
    assert 'value="Typed Institute"' in page
    assert 'value="GB, France"' in page
    assert 'value="HMB" id="id_primary_use_1" checked' in page
    draft.refresh_from_db()
    assert (draft.primary_use, draft.institution) == ("", "Example University")


def test_home_lists_my_requests_with_state_datasets_and_the_new_button(
    researcher: User, cohort: Cohort, dac: Committee
) -> None:
    client = signed_in_client(researcher)
    client.post("/access/requests/new/", {"title": "Heart variants", "dataset": cohort.dataset.pk})
    draft = AccessRequest.objects.get()

    page = client.get("/access/researcher/").content.decode()

    assert '<a class="button" href="/access/requests/new/">New request</a>' in page
    assert (
        f'<td><a href="/access/requests/{draft.accession}/">{draft.accession}</a> '
        "Heart variants</td>" in page
    )
    assert '<span class="status status-draft">Draft</span>' in page
    assert f"<td>{cohort.dataset.accession}</td>" in page
    assert "You hold no access to any dataset today." in page


def test_a_submitted_request_is_not_editable(
    draft: AccessRequest, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    from access.services import access_request_submit

    with django_capture_on_commit_callbacks(execute=True):
        access_request_submit(actor=researcher, request=draft)

    response = signed_in_client(researcher).post(
        f"/access/requests/{draft.accession}/edit/?step=project", {"title": "Changed"}
    )

    assert response.status_code == 409
    assert (
        "This request is under review: it can be changed only while it is a draft or returned "
        "for changes." in response.content.decode()
    )
    draft.refresh_from_db()
    assert draft.title == "Variants in heart disease"
