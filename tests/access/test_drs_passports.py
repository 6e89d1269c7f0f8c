"""Passports in DRS POST bodies: visas this portal issued, alone (the visas' subject, limited
to the datasets their ControlledAccessGrants name) or beside the holder's own token; a
tampered, expired, foreign (its jku never fetched) or another person's visa is refused in
DRS's error shape."""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone
from rest_framework.test import APIClient

from access.selectors.visas import VisaContent, visas_of
from access.services.visas import visa_key_current
from access.visas import visa_sign
from portal.models import User
from tests.access.delivery_support import World
from tests.access.drs_support import DRS, drs_client, source_id
from tests.access.visa_support import passport_of, site  # noqa: F401 - fixture

pytestmark = [pytest.mark.usefixtures("site")]


def _grant_visa(user: User) -> str:
    """The user's ControlledAccessGrants visa, as GET /ga4gh/passport/v1/visas gives it."""
    for visa in passport_of(user):
        if jwt.decode(visa, options={"verify_signature": False})["ga4gh_visa_v1"]["type"] == (
            "ControlledAccessGrants"
        ):
            return visa
    raise AssertionError("no ControlledAccessGrants visa")


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.content
    assert set(response.json()) == {"msg", "status_code"}
    assert response.json()["status_code"] == status
    return response.json()["msg"]


def test_a_passport_alone_reads_and_fetches_the_granted_dataset(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    bam = source_id(delivery_world.bam_s000)
    body = {"passports": [_grant_visa(researcher)]}
    client = APIClient()

    found = client.post(f"{DRS}/objects/{bam}", body, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        preparing = client.post(f"{DRS}/objects/{bam}/access/https", body, format="json")
    ready = client.post(f"{DRS}/objects/{bam}/access/https", body, format="json")

    assert (found.status_code, found.json()["id"]) == (200, bam)
    assert preparing.status_code == 202
    assert ready.status_code == 200
    assert ready.json()["url"].endswith("/S000.bam")


def test_a_passport_wrapping_the_visas_is_accepted(delivery_world: World, researcher: User) -> None:
    # A broker's passport: its own signature is not what grants anything here.
    wrapper = jwt.encode(
        {
            "iss": "https://broker.example",
            "sub": str(researcher.pk),
            "ga4gh_passport_v1": [_grant_visa(researcher)],
        },
        "broker-secret-of-at-least-32-bytes-long",
        algorithm="HS256",
    )

    response = APIClient().post(
        f"{DRS}/objects/{source_id(delivery_world.bam_s000)}",
        {"passports": [wrapper]},
        format="json",
    )

    assert response.status_code == 200


def test_a_passport_without_a_grant_visa_for_the_dataset_is_403(
    delivery_world: World, outsider: User
) -> None:
    status = VisaContent(
        type="ResearcherStatus",
        value="https://doi.org/10.1038/s41431-018-0219-y",
        source="https://custodian.example/ga4gh/officials/1",
        by="so",
        asserted=timezone.now(),
        ends=None,
    )
    visas = [visa_sign(status, subject=str(outsider.pk), key=visa_key_current())]

    response = APIClient().post(
        f"{DRS}/objects/{source_id(delivery_world.bam_s000)}",
        {"passports": visas},
        format="json",
    )

    assert _error(response, 403) == (
        f"None of the passport's visas grants access to {delivery_world.cohort.dataset.accession}"
        ", so its files are not yours to fetch."
    )


def test_a_tampered_visa_is_401(delivery_world: World, researcher: User) -> None:
    header, payload, signature = _grant_visa(researcher).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "1"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    response = APIClient().post(
        f"{DRS}/objects/{source_id(delivery_world.bam_s000)}",
        {"passports": [f"{header}.{forged}.{signature}"]},
        format="json",
    )

    assert _error(response, 401) == (
        "This visa's signature does not match its content: it was altered or forged."
    )
    assert response["WWW-Authenticate"] == "Bearer"


def test_an_expired_visa_is_401(delivery_world: World, researcher: User) -> None:
    content = next(c for c in visas_of(researcher) if c.type == "ControlledAccessGrants")
    expired = visa_sign(
        content,
        subject=str(researcher.pk),
        key=visa_key_current(),
        now=timezone.now() - dt.timedelta(hours=3),
    )

    response = APIClient().post(
        f"{DRS}/objects/{source_id(delivery_world.bam_s000)}/access/https",
        {"passports": [expired]},
        format="json",
    )

    assert _error(response, 401) == "This visa has expired. Fetch a new passport."


def test_another_person_s_visa_beside_a_token_is_403(
    delivery_world: World, researcher: User, outsider: User
) -> None:
    response = drs_client(outsider).post(
        f"{DRS}/objects/{source_id(delivery_world.bam_s000)}",
        {"passports": [_grant_visa(researcher)]},
        format="json",
    )

    assert _error(response, 403) == (
        "A visa sent belongs to another person: send only your own passport with your own "
        "credentials."
    )


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        type(self).hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, type[_Recorder]]]:
    """Someone else's JWKS address, on this machine: it records every request."""
    handler = type("Recorder", (_Recorder,), {"hits": []})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json", handler
    server.shutdown()
    server.server_close()


def test_a_foreign_visa_is_401_and_its_jku_never_fetched(
    delivery_world: World, researcher: User, jwks_server: tuple[str, type[_Recorder]]
) -> None:
    url, recorder = jwks_server
    visa_key_current()
    genuine = jwt.decode(_grant_visa(researcher), options={"verify_signature": False})
    foreign = jwt.encode(
        genuine,
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"kid": "someone-elses-key", "jku": url},
    )

    response = APIClient().post(
        f"{DRS}/objects/{source_id(delivery_world.bam_s000)}",
        {"passports": [foreign]},
        format="json",
    )

    assert _error(response, 401).startswith(
        "This visa was signed with a key this portal does not publish"
    )
    assert recorder.hits == []


def test_something_that_is_no_visa_is_401(delivery_world: World) -> None:
    response = APIClient().post(
        f"{DRS}/objects/{source_id(delivery_world.bam_s000)}",
        {"passports": ["not-a-jwt"]},
        format="json",
    )

    assert _error(response, 401) == (
        "This is not a visa: a visa is a signed JWT in three dot-separated parts."
    )
