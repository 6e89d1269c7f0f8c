"""Deliveries from an S3-compatible bucket (CUSTODIAN_STORAGE=s3), against a real local S3
server (moto's, started here on a free port): the served files and derivatives are uploaded
with their bytes, links are presigned URLs that live no longer than the link (15 minutes by
default), a ranged GET on one answers 206 with exactly those bytes, a second delivery of the
same files uploads nothing, and a bucket that refuses fails the delivery with a plain message.

moto does not check presigned signatures or expiry: authorization is tested on portal-served
links elsewhere; here, what is tested is which URLs the portal hands out, and when.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
import shutil
import socket
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pysam
import pytest
from moto.server import ThreadedMotoServer

from access.models import Delivery, DeliveryFile, DeliveryParticipant, DeliveryStatus, SignedLink
from access.selectors.deliveries import links_of
from access.services import delivery_request
from portal.models import User
from tests.access.api_support import api_client
from tests.access.delivery_support import (
    CONSENTING_VCF_SAMPLES,
    MIXED_VCF_SAMPLES,
    Sources,
    World,
    add_file,
    withdraw,
)
from tests.portal.test_startup_errors import manage

PREFIX = "custodian/deliveries"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server in a thread of this process, on a port nobody else holds."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@dataclass
class Bucket:
    name: str
    endpoint: str
    client: Any

    def key_bytes(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def keys(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture
def bucket(s3_endpoint: str, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    """A fresh bucket, and the portal set to deliver from it as an operator would."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "custodian-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "custodian-test-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    name = f"deliveries-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    settings.CUSTODIAN_STORAGE = "s3"
    settings.CUSTODIAN_S3_BUCKET = name
    settings.CUSTODIAN_S3_ENDPOINT_URL = s3_endpoint
    settings.CUSTODIAN_S3_REGION = "us-east-1"
    settings.CUSTODIAN_S3_PREFIX = PREFIX + "/"
    # What portal/settings.py makes the default with CUSTODIAN_STORAGE=s3 (tested below).
    settings.CUSTODIAN_LINK_MAX_SECONDS = 900
    return Bucket(name=name, endpoint=s3_endpoint, client=client)


def _ready(world: World, researcher: User, capture: Any, **kwargs: Any) -> Delivery:
    with capture(execute=True):
        delivery = delivery_request(actor=researcher, grant=world.grant, **kwargs)
    delivery.refresh_from_db()
    return delivery


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _presigned(url: str, bucket: Bucket) -> dict[str, str]:
    """The query of a presigned URL for the bucket, checked to point at it."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == bucket.endpoint
    assert parts.path.startswith(f"/{bucket.name}/{PREFIX}/")
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert "X-Amz-Signature" in query
    return query


def test_preparing_uploads_every_served_file_with_its_bytes(
    delivery_world: World,
    researcher: User,
    steward: User,
    sources: Sources,
    bucket: Bucket,
    django_capture_on_commit_callbacks: Any,
) -> None:
    mixed = add_file(
        delivery_world.cohort.dataset,
        steward,
        delivery_world.root,
        sources.vcf_mixed,
        "calls/mixed.vcf.gz",
        list(MIXED_VCF_SAMPLES),
    )
    delivery = _ready(
        delivery_world,
        researcher,
        django_capture_on_commit_callbacks,
        datafile_ids=[delivery_world.bam_s000.pk, mixed.pk],
    )

    assert delivery.status == DeliveryStatus.READY, delivery.error
    derivative = DeliveryFile.objects.get(delivery=delivery, name="mixed.vcf.gz")
    assert derivative.served_path.startswith("derivatives/")
    assert bucket.keys() == sorted(
        [
            f"{PREFIX}/{derivative.served_path}",
            f"{PREFIX}/{derivative.served_path}.tbi",
            f"{PREFIX}/reads/S000.bam",
            f"{PREFIX}/reads/S000.bam.bai",
        ]
    )
    for relative in ("reads/S000.bam", "reads/S000.bam.bai"):
        source = (delivery_world.root / relative).read_bytes()
        assert _sha256(bucket.key_bytes(f"{PREFIX}/{relative}")) == _sha256(source)
    copy = bucket.key_bytes(f"{PREFIX}/{derivative.served_path}")
    assert _sha256(copy) == _sha256((delivery_world.root / derivative.served_path).read_bytes())
    head = bucket.client.head_object(Bucket=bucket.name, Key=f"{PREFIX}/reads/S000.bam")
    assert head["Metadata"] == {"sha256": delivery_world.bam_s000.sha256}
    # The bucket holds the consent-filtered copy: the two refusing participants are not in it.
    downloaded = delivery_world.root.parent / "from-bucket.vcf.gz"
    downloaded.write_bytes(copy)
    with pysam.VariantFile(str(downloaded)) as variants:
        assert tuple(variants.header.samples) == CONSENTING_VCF_SAMPLES


def test_page_and_api_hand_out_presigned_urls_of_at_most_15_minutes(
    delivery_world: World,
    researcher: User,
    sign_in: Any,
    bucket: Bucket,
    django_capture_on_commit_callbacks: Any,
) -> None:
    default = _ready(
        delivery_world,
        researcher,
        django_capture_on_commit_callbacks,
        datafile_ids=[delivery_world.bam_s000.pk],
    )
    short = _ready(
        delivery_world,
        researcher,
        django_capture_on_commit_callbacks,
        datafile_ids=[delivery_world.bam_s000.pk],
        lifetime_seconds=300,
    )
    client = sign_in(researcher)

    for delivery, longest in ((default, 900), (short, 300)):
        page = client.get(f"/access/deliveries/{delivery.pk}/").content.decode()
        hrefs = [html.unescape(h) for h in re.findall(r'href="(http[^"]+)"', page)]
        assert len(hrefs) == 2, hrefs
        for url in hrefs:
            assert 0 < int(_presigned(url, bucket)["X-Amz-Expires"]) <= longest
        bam_url, bai_url = hrefs
        assert urlsplit(bam_url).path == f"/{bucket.name}/{PREFIX}/reads/S000.bam"
        assert urlsplit(bai_url).path == f"/{bucket.name}/{PREFIX}/reads/S000.bam.bai"
        commands = html.unescape(page)
        # The commands use the presigned URL as it is, not glued to the portal's address.
        assert f"curl -o S000.bam '{bam_url}'" in commands
        assert f"samtools view '{bam_url}##idx##{bai_url}' chr1:1-1000" in commands
        assert "testserverhttp" not in commands
        assert "cannot be stopped before the time it expires" in page

        body = api_client(researcher).get(f"/api/v1/access/deliveries/{delivery.pk}/").json()
        [link] = body["links"]
        for url in (link["url"], link["index_url"]):
            assert 0 < int(_presigned(url, bucket)["X-Amz-Expires"]) <= longest
        assert urlsplit(link["url"]).path == f"/{bucket.name}/{PREFIX}/reads/S000.bam"


def test_a_presigned_url_lives_only_as_long_as_its_link_has_left(
    delivery_world: World,
    researcher: User,
    bucket: Bucket,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(
        delivery_world,
        researcher,
        django_capture_on_commit_callbacks,
        datafile_ids=[delivery_world.bam_s000.pk],
    )
    [expiry] = set(
        SignedLink.objects.filter(delivery_file__delivery=delivery).values_list(
            "expires_at", flat=True
        )
    )
    assert delivery.ready_at is not None
    assert expiry == delivery.ready_at + dt.timedelta(seconds=900)

    [later] = links_of(delivery, now=delivery.ready_at + dt.timedelta(seconds=600))
    [expired] = links_of(delivery, now=expiry)

    assert _presigned(later.url, bucket)["X-Amz-Expires"] == "300"
    assert _presigned(later.index_url, bucket)["X-Amz-Expires"] == "300"
    assert (expired.url, expired.index_url) == ("", "")


def test_a_ranged_get_on_a_presigned_url_returns_exactly_those_bytes(
    delivery_world: World,
    researcher: User,
    bucket: Bucket,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(
        delivery_world,
        researcher,
        django_capture_on_commit_callbacks,
        datafile_ids=[delivery_world.bam_s000.pk],
    )
    [link] = links_of(delivery)
    source = (delivery_world.root / "reads/S000.bam").read_bytes()

    ranged = urllib.request.Request(link.url, headers={"Range": "bytes=100-199"})  # noqa: S310
    with urllib.request.urlopen(ranged, timeout=30) as response:  # noqa: S310 - the test's server
        status, content = response.status, response.read()
        disposition = response.headers["Content-Disposition"]
    with urllib.request.urlopen(link.url, timeout=30) as response:  # noqa: S310
        whole = response.read()

    assert status == 206
    assert content == source[100:200]
    assert disposition == 'attachment; filename="S000.bam"'
    assert _sha256(whole) == delivery_world.bam_s000.sha256


@pytest.mark.skipif(shutil.which("samtools") is None, reason="needs Debian's samtools")
def test_samtools_reads_a_region_through_presigned_urls(
    delivery_world: World,
    researcher: User,
    bucket: Bucket,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(
        delivery_world,
        researcher,
        django_capture_on_commit_callbacks,
        datafile_ids=[delivery_world.bam_s000.pk],
    )
    [link] = links_of(delivery)

    def view(target: str) -> str:
        done = subprocess.run(  # noqa: S603 - fixed tool, arguments from the test
            ["samtools", "view", target, "chr1:1-1000"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    remote = view(f"{link.url}##idx##{link.index_url}")
    local = view(str(delivery_world.root / "reads/S000.bam"))

    assert remote == local
    assert remote.count("\n") > 0


def test_a_second_delivery_of_the_same_files_uploads_nothing(
    delivery_world: World,
    researcher: User,
    bucket: Bucket,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _ready(
        delivery_world,
        researcher,
        django_capture_on_commit_callbacks,
        datafile_ids=[delivery_world.bam_s000.pk],
    )
    key = f"{PREFIX}/reads/S000.bam"
    # Mark the object in place (same bytes, same size and SHA-256 metadata): an upload would
    # replace its metadata and drop the mark.
    bucket.client.copy_object(
        Bucket=bucket.name,
        Key=key,
        CopySource={"Bucket": bucket.name, "Key": key},
        Metadata={"sha256": delivery_world.bam_s000.sha256, "mark": "first"},
        MetadataDirective="REPLACE",
    )
    before = bucket.client.head_object(Bucket=bucket.name, Key=key)

    second = _ready(
        delivery_world,
        researcher,
        django_capture_on_commit_callbacks,
        datafile_ids=[delivery_world.bam_s000.pk],
    )

    after = bucket.client.head_object(Bucket=bucket.name, Key=key)
    assert second.status == DeliveryStatus.READY
    assert after["Metadata"] == {"sha256": delivery_world.bam_s000.sha256, "mark": "first"}
    assert (after["ETag"], after["LastModified"]) == (before["ETag"], before["LastModified"])


def test_an_object_with_other_bytes_under_the_key_is_replaced(
    delivery_world: World,
    researcher: User,
    bucket: Bucket,
    django_capture_on_commit_callbacks: Any,
) -> None:
    key = f"{PREFIX}/reads/S000.bam"
    bucket.client.put_object(
        Bucket=bucket.name, Key=key, Body=b"stale bytes", Metadata={"sha256": "0" * 64}
    )

    _ready(
        delivery_world,
        researcher,
        django_capture_on_commit_callbacks,
        datafile_ids=[delivery_world.bam_s000.pk],
    )

    assert _sha256(bucket.key_bytes(key)) == delivery_world.bam_s000.sha256


def test_a_bucket_that_refuses_fails_the_delivery_with_a_plain_message(
    delivery_world: World,
    researcher: User,
    bucket: Bucket,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    bucket.client.delete_bucket(Bucket=bucket.name)

    delivery = _ready(
        delivery_world,
        researcher,
        django_capture_on_commit_callbacks,
        datafile_ids=[delivery_world.bam_s000.pk],
    )

    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error == (
        "S000.bam could not be copied to the download storage: The specified bucket does not "
        "exist. Nothing was issued; ask again later, or tell the data steward if this persists."
    )
    # Never half-issued: no file, link or participant recorded for it.
    assert not DeliveryFile.objects.filter(delivery=delivery).exists()
    assert not SignedLink.objects.filter(delivery_file__delivery=delivery).exists()
    assert not DeliveryParticipant.objects.filter(delivery=delivery).exists()
    page = sign_in(researcher).get(f"/access/deliveries/{delivery.pk}/")
    assert page.status_code == 200
    assert "could not be copied to the download storage" in page.content.decode()


def test_no_presigned_url_is_handed_out_once_consent_was_withdrawn(
    delivery_world: World,
    researcher: User,
    sign_in: Any,
    bucket: Bucket,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(
        delivery_world,
        researcher,
        django_capture_on_commit_callbacks,
        datafile_ids=[delivery_world.bam_s000.pk],
    )
    withdraw(delivery_world.cohort.consenting[0])  # S000's participant

    page = sign_in(researcher).get(f"/access/deliveries/{delivery.pk}/").content.decode()
    assert "X-Amz" not in page
    assert "This link no longer works" in page
    body = api_client(researcher).get(f"/api/v1/access/deliveries/{delivery.pk}/").json()
    assert [(link["url"], link["index_url"]) for link in body["links"]] == [("", "")]


def test_no_presigned_url_is_handed_out_for_a_revoked_link(
    delivery_world: World,
    researcher: User,
    bucket: Bucket,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(
        delivery_world,
        researcher,
        django_capture_on_commit_callbacks,
        datafile_ids=[delivery_world.bam_s000.pk],
    )
    SignedLink.objects.filter(
        delivery_file__delivery=delivery, delivery_file__is_index=False
    ).update(revoked_at=delivery.ready_at)

    [link] = links_of(delivery)

    assert link.url == ""
    assert "X-Amz-Signature" in link.index_url


# --- settings, as an operator sets them ---------------------------------------------------


def test_object_storage_without_a_bucket_is_one_line_naming_the_variable() -> None:
    result = manage("check", DEBUG="1", CUSTODIAN_STORAGE="s3", CUSTODIAN_S3_BUCKET="")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "custodian: CUSTODIAN_S3_BUCKET is not set: set it when CUSTODIAN_STORAGE=s3"
    ]


def test_an_unknown_storage_is_one_line_naming_the_variable() -> None:
    result = manage("check", DEBUG="1", CUSTODIAN_STORAGE="ftp")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "custodian: CUSTODIAN_STORAGE='ftp' is not a storage (use portal or s3)"
    ]


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, "portal 3600"),
        ({"CUSTODIAN_STORAGE": "s3", "CUSTODIAN_S3_BUCKET": "b"}, "s3 900"),
        (
            {
                "CUSTODIAN_STORAGE": "s3",
                "CUSTODIAN_S3_BUCKET": "b",
                "CUSTODIAN_LINK_MAX_SECONDS": "300",
            },
            "s3 300",
        ),
    ],
)
def test_links_last_15_minutes_by_default_with_object_storage(
    environment: dict[str, str], expected: str
) -> None:
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.CUSTODIAN_STORAGE, s.CUSTODIAN_LINK_MAX_SECONDS)",
        DEBUG="1",
        CUSTODIAN_STORAGE=environment.get("CUSTODIAN_STORAGE", ""),
        CUSTODIAN_S3_BUCKET=environment.get("CUSTODIAN_S3_BUCKET", ""),
        CUSTODIAN_LINK_MAX_SECONDS=environment.get("CUSTODIAN_LINK_MAX_SECONDS", ""),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_a_link_longer_than_s3_allows_is_refused_at_start() -> None:
    result = manage(
        "check",
        DEBUG="1",
        CUSTODIAN_STORAGE="s3",
        CUSTODIAN_S3_BUCKET="b",
        CUSTODIAN_LINK_MAX_SECONDS=str(8 * 86400),
    )

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "custodian: CUSTODIAN_LINK_MAX_SECONDS=691200 is too long for presigned URLs: "
        "S3 accepts at most 604800 (7 days)"
    ]
