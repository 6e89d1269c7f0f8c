"""Bad htsget requests, each answered in htsget's error shape {"htsget": {"error", "message"}}
with the status htsget 1.3 gives it, never a 500: no credentials (InvalidAuthentication 401),
no grant or a read-only token (PermissionDenied 403), unknown ids and reference names
(NotFound 404), formats the endpoint does not serve (UnsupportedFormat 400), start after end
(InvalidRange 400), malformed parameters (InvalidInput 400); and a tampered slicing URL."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from access.models import Delivery
from portal.models import ApiTokenScope, User
from tests.access.delivery_support import World
from tests.access.drs_support import drs_client, source_id

pytestmark = pytest.mark.django_db(transaction=True)

HTSGET = "/ga4gh/htsget/v1"


def _error(response: Any, status: int, name: str) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"htsget"}
    assert set(body["htsget"]) == {"error", "message"}
    assert body["htsget"]["error"] == name
    assert body["htsget"]["message"]
    return str(body["htsget"]["message"])


def _ready_client(researcher: User, url: str) -> APIClient:
    """A client whose delivery of the file behind `url` is prepared (503, then 200)."""
    client = drs_client(researcher)
    assert client.get(url).status_code == 503
    assert client.get(url).status_code == 200
    return client


def test_without_a_token_it_is_invalid_authentication(delivery_world: World) -> None:
    url = f"{HTSGET}/reads/{source_id(delivery_world.bam_s000)}"

    response = APIClient().get(url)

    assert _error(response, 401, "InvalidAuthentication") == (
        "Send an API token with the download scope: Authorization: Bearer <token>."
    )
    assert response["WWW-Authenticate"] == "Bearer"


def test_an_unknown_token_is_invalid_authentication(delivery_world: World) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer cus_not-a-token")

    response = client.get(f"{HTSGET}/reads/{source_id(delivery_world.bam_s000)}")

    _error(response, 401, "InvalidAuthentication")


def test_without_a_grant_it_is_permission_denied(delivery_world: World, outsider: User) -> None:
    url = f"{HTSGET}/reads/{source_id(delivery_world.bam_s000)}"

    response = drs_client(outsider).get(url)

    assert _error(response, 403, "PermissionDenied").startswith("You have no active grant on CDS")
    assert not Delivery.objects.exists()


def test_a_read_only_token_is_permission_denied(delivery_world: World, researcher: User) -> None:
    url = f"{HTSGET}/reads/{source_id(delivery_world.bam_s000)}"

    response = drs_client(researcher, ApiTokenScope.READ).get(url)

    assert _error(response, 403, "PermissionDenied") == (
        "This API token's scope is “read”; this needs the “download” scope. Create a token "
        "with that scope on your account page."
    )
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("object_id", ["CDS000001-999999", "not-an-id", "CDS000001-1.zz"])
def test_an_unknown_id_is_not_found(
    delivery_world: World, researcher: User, object_id: str
) -> None:
    response = drs_client(researcher).get(f"{HTSGET}/reads/{object_id}")

    _error(response, 404, "NotFound")


def test_a_vcf_is_not_found_among_reads(delivery_world: World, researcher: User) -> None:
    vcf = source_id(delivery_world.vcf_consenting)

    response = drs_client(researcher).get(f"{HTSGET}/reads/{vcf}")

    assert _error(response, 404, "NotFound") == f"There is no reads object '{vcf}' here."
    assert not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("endpoint", "fmt", "message"),
    [
        ("reads", "VCF", "VCF is not served from /reads: ask for format BAM or CRAM."),
        ("variants", "CRAM", "CRAM is not served from /variants: ask for format VCF or BCF."),
        ("variants", "FASTA", "Unknown format 'FASTA'."),
        (
            "reads",
            "CRAM",
            "{id} is a BAM file, served as BAM: ask for format=BAM (turning one into the other "
            "needs the reference sequence the reads were aligned to, which this portal does "
            "not keep).",
        ),
    ],
)
def test_a_format_the_endpoint_does_not_serve_is_unsupported(
    delivery_world: World, researcher: User, endpoint: str, fmt: str, message: str
) -> None:
    datafile = delivery_world.bam_s000 if endpoint == "reads" else delivery_world.vcf_consenting
    url = f"{HTSGET}/{endpoint}/{source_id(datafile)}"

    response = drs_client(researcher).get(url, {"format": fmt})

    assert _error(response, 400, "UnsupportedFormat") == message.format(id=source_id(datafile))


def test_start_after_end_is_an_invalid_range(delivery_world: World, researcher: User) -> None:
    url = f"{HTSGET}/reads/{source_id(delivery_world.bam_s000)}"

    response = drs_client(researcher).get(
        url, {"referenceName": "chr1", "start": "2000", "end": "1000"}
    )

    assert _error(response, 400, "InvalidRange") == "start (2000) is greater than end (1000)."


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "10"}, "start and end need a referenceName."),
        ({"referenceName": "chr1", "start": "ten"}, "start must be a whole number, not 'ten'."),
        ({"class": "body-only"}, "class must be 'header' (or left out), not 'body-only'."),
        (
            {"class": "header", "referenceName": "chr1"},
            "class=header takes no referenceName, start or end.",
        ),
    ],
)
def test_malformed_parameters_are_invalid_input(
    delivery_world: World, researcher: User, params: dict[str, str], message: str
) -> None:
    url = f"{HTSGET}/reads/{source_id(delivery_world.bam_s000)}"

    response = drs_client(researcher).get(url, params)

    assert _error(response, 400, "InvalidInput") == message


def test_an_unknown_reference_name_is_not_found(delivery_world: World, researcher: User) -> None:
    url = f"{HTSGET}/reads/{source_id(delivery_world.bam_s000)}"
    client = _ready_client(researcher, url)

    response = client.get(url, {"referenceName": "chrZ"})
    past_the_end = client.get(url, {"referenceName": "chr2", "start": "242193529"})

    assert _error(response, 404, "NotFound") == "The file has no reference named 'chrZ'."
    assert _error(past_the_end, 400, "InvalidRange") == (
        "start (242193529) is past the end of chr2 (242193529)."
    )


def test_post_regions_make_one_url_and_bad_regions_are_invalid_input(
    delivery_world: World, researcher: User
) -> None:
    url = f"{HTSGET}/reads/{source_id(delivery_world.bam_s000)}"
    client = _ready_client(researcher, url)

    ticket = client.post(
        url,
        {
            "format": "BAM",
            "regions": [
                {"referenceName": "chr1", "start": 0, "end": 1000},
                {"referenceName": "chr2"},
            ],
        },
        format="json",
    )
    no_name = client.post(url, {"regions": [{"start": 5}]}, format="json")
    not_a_list = client.post(url, {"regions": "chr1"}, format="json")

    assert ticket.status_code == 200, ticket.content
    assert ticket.json()["htsget"]["format"] == "BAM"
    (only,) = ticket.json()["htsget"]["urls"]
    assert only["url"].startswith("http://testserver/access/slice/")
    assert only["url"].endswith("/S000.bam?region=chr1%3A0-1000&region=chr2%3A-")
    assert _error(no_name, 400, "InvalidInput") == "Each region needs a referenceName."
    assert _error(not_a_list, 400, "InvalidInput") == (
        "regions must be a list of {referenceName, start, end}."
    )


def test_a_tampered_slicing_url_is_refused(delivery_world: World, researcher: User) -> None:
    url = f"{HTSGET}/reads/{source_id(delivery_world.bam_s000)}"
    client = _ready_client(researcher, url)
    slice_url = client.get(url).json()["htsget"]["urls"][0]["url"]
    path = slice_url.removeprefix("http://testserver")
    token, name = path.split("/")[3:5]

    tampered = APIClient().get(f"/access/slice/{token[:-2]}xx/{name}")
    renamed = APIClient().get(f"/access/slice/{token}/other.bam")
    sliced = APIClient().get(path)

    assert tampered.status_code == 403
    assert tampered.content.decode() == "PermissionDenied: This download link is not valid."
    assert renamed.status_code == 404
    assert sliced.status_code == 200
    assert sliced["Cache-Control"] == "private, no-store"
