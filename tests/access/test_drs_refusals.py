"""Bad input to DRS, each answered in DRS's Error shape {msg, status_code} with its status and a
message a person understands, never a 500: no credentials, tokens expired, revoked, of
another user or read-only, unknown or malformed object ids, wrong access ids, malformed
JSON, a steward fetching without a grant."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import Delivery
from datasets.models import Dataset, DatasetStatus
from portal.models import ApiToken, ApiTokenScope, User
from tests.access.delivery_support import World
from tests.access.drs_support import DRS, drs_client, schema_errors, source_id

ENDPOINTS = [
    ("get", "/objects/{id}"),
    ("post", "/objects/{id}"),
    ("get", "/objects/{id}/access/https"),
    ("post", "/objects/{id}/access/https"),
]


def _error(response: object, status: int) -> str:
    assert response.status_code == status, response.content  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert schema_errors(body, "1.2.0", "schemas/Error.yaml") == []
    assert set(body) == {"msg", "status_code"}
    assert body["status_code"] == status
    assert body["msg"]
    return body["msg"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_without_credentials_every_endpoint_is_401(
    delivery_world: World, method: str, path: str
) -> None:
    url = DRS + path.format(id=source_id(delivery_world.bam_s000))

    response = getattr(APIClient(), method)(url, {}, format="json")

    assert _error(response, 401) == (
        "Send an API token (Authorization: Bearer <token>), or in a POST body a passport with "
        "visas this portal issued."
    )
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_an_outsider_is_refused_at_every_endpoint(
    delivery_world: World, outsider: User, method: str, path: str
) -> None:
    url = DRS + path.format(id=source_id(delivery_world.bam_s000))

    response = getattr(drs_client(outsider), method)(url, {}, format="json")

    assert _error(response, 403).startswith("You have no active grant on CDS")
    assert not Delivery.objects.exists()


def test_an_expired_or_revoked_token_is_401(delivery_world: World, researcher: User) -> None:
    url = f"{DRS}/objects/{source_id(delivery_world.bam_s000)}"
    client = drs_client(researcher)
    token = ApiToken.objects.get(user=researcher)

    ApiToken.objects.filter(pk=token.pk).update(
        created_at=timezone.now() - dt.timedelta(days=2),
        expires_at=timezone.now() - dt.timedelta(days=1),
    )
    expired = client.get(url)
    ApiToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() + dt.timedelta(days=1), revoked_at=timezone.now()
    )
    revoked = client.get(url)

    assert "expired" in _error(expired, 401)
    assert "revoked" in _error(revoked, 401)
    assert expired["WWW-Authenticate"] == "Bearer"


def test_a_token_that_does_not_exist_is_401(delivery_world: World) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer cus_not-a-token")

    response = client.get(f"{DRS}/objects/{source_id(delivery_world.bam_s000)}")

    assert "not valid" in _error(response, 401)


def test_a_read_only_token_reads_objects_but_fetches_nothing(
    delivery_world: World, researcher: User
) -> None:
    client = drs_client(researcher, ApiTokenScope.READ)
    bam = source_id(delivery_world.bam_s000)

    assert client.get(f"{DRS}/objects/{bam}").status_code == 200
    refused = client.get(f"{DRS}/objects/{bam}/access/https")

    assert "download" in _error(refused, 403)
    assert not Delivery.objects.exists()


def test_unknown_and_malformed_object_ids_are_404(delivery_world: World, researcher: User) -> None:
    client = drs_client(researcher)
    accession = delivery_world.cohort.dataset.accession

    missing = client.get(f"{DRS}/objects/{accession}-999999")
    malformed = client.get(f"{DRS}/objects/not-an-id")
    wrong_dataset = client.get(f"{DRS}/objects/CDS999999-{delivery_world.bam_s000.pk}")

    assert _error(missing, 404) == f"There is no DRS object {accession}-999999."
    assert _error(malformed, 404).startswith("There is no DRS object 'not-an-id': ids here look")
    assert _error(wrong_dataset, 404).startswith("There is no DRS object CDS999999-")
    assert schema_errors(missing.json(), "1.2.0", "schemas/Error.yaml") == []


def test_a_wrong_access_id_is_404(delivery_world: World, researcher: User) -> None:
    bam = source_id(delivery_world.bam_s000)

    response = drs_client(researcher).get(f"{DRS}/objects/{bam}/access/s3")

    assert _error(response, 404) == f"There is no access method 's3' for {bam}: its one is 'https'."


def test_malformed_json_and_a_body_that_is_no_object_are_400(
    delivery_world: World, researcher: User
) -> None:
    client = drs_client(researcher)
    url = f"{DRS}/objects/{source_id(delivery_world.bam_s000)}"

    broken = client.post(url, "{not json", content_type="application/json")
    listed = client.post(url, "[1, 2]", content_type="application/json")
    passports = client.post(url, {"passports": "eyJ"}, format="json")

    assert _error(broken, 400).startswith("The body is not valid JSON: JSON parse error")
    assert _error(listed, 400) == "The body must be a JSON object."
    assert _error(passports, 400) == "passports must be a list of JWT strings."


def test_a_steward_without_a_grant_sees_but_does_not_fetch(
    delivery_world: World, steward: User
) -> None:
    bam = source_id(delivery_world.bam_s000)

    response = drs_client(steward).get(f"{DRS}/objects/{bam}/access/https")

    assert _error(response, 403).startswith("Data stewards see the catalogue's files but")


def test_without_a_grant_an_unreleased_dataset_s_file_is_not_found(
    delivery_world: World, outsider: User
) -> None:
    dataset = delivery_world.cohort.dataset
    Dataset.objects.filter(pk=dataset.pk).update(status=DatasetStatus.RETIRED)
    bam = source_id(delivery_world.bam_s000)

    response = drs_client(outsider).get(f"{DRS}/objects/{bam}")

    assert _error(response, 404) == f"There is no DRS object {bam}."
