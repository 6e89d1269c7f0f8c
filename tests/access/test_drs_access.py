"""DRS access URLs come from the caller's own deliveries: the ready one is reused (no new
delivery, no audit row per read); once its links stop (revoked, consent withdrawn) a new
delivery is prepared (202) and a consent-filtered copy gets the id of its new sample set; a
preparation that just failed is a 409 with its reason, not another attempt."""

from __future__ import annotations

import hashlib
from typing import Any

from access.models import Delivery, DeliveryStatus
from access.services import delivery_revoke
from portal.models import AuditEvent, User
from tests.access.delivery_support import Sources, World, withdraw
from tests.access.drs_support import (
    DRS,
    SIX_HASH,
    add_mixed_vcf,
    drs_client,
    schema_errors,
    source_id,
)

FIVE_HASH = hashlib.sha256(b"S000\nS002\nS003\nS004\nS005").hexdigest()[:16]


def _ready(client: Any, url: str, capture: Any) -> Any:
    """Ask once (202, a delivery is asked for), let the worker prepare it, ask again."""
    with capture(execute=True):
        first = client.get(url)
    assert first.status_code == 202, first.content
    assert first["Retry-After"] == "5"
    assert schema_errors(first.json(), "1.2.0", "schemas/Error.yaml") == []
    second = client.get(url)
    assert second.status_code == 200, second.content
    return second.json()


def test_the_ready_delivery_is_reused_without_audit_rows(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = drs_client(researcher)
    url = f"{DRS}/objects/{source_id(delivery_world.bam_s000)}/access/https"
    first = _ready(client, url, django_capture_on_commit_callbacks)
    audited = AuditEvent.objects.count()

    again = client.get(url).json()
    posted = client.post(url, {}, format="json").json()

    assert again == posted == first
    assert first["url"].startswith("http://testserver/access/download/")
    assert first["url"].endswith("/S000.bam")
    assert AuditEvent.objects.count() == audited
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.datafile_ids) == (
        DeliveryStatus.READY,
        [delivery_world.bam_s000.pk],
    )


def test_after_the_delivery_is_revoked_a_new_one_is_prepared(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = drs_client(researcher)
    url = f"{DRS}/objects/{source_id(delivery_world.bam_s000)}/access/https"
    first = _ready(client, url, django_capture_on_commit_callbacks)

    delivery_revoke(actor=researcher, delivery=Delivery.objects.get(), reason="leaked")
    second = _ready(client, url, django_capture_on_commit_callbacks)

    assert second["url"] != first["url"]
    assert Delivery.objects.count() == 2
    assert client.get(first["url"]).status_code == 410


def test_after_a_withdrawal_the_copy_is_named_for_the_new_sample_set(
    delivery_world: World,
    researcher: User,
    steward: User,
    sources: Sources,
    django_capture_on_commit_callbacks: Any,
) -> None:
    mixed = add_mixed_vcf(delivery_world, steward, sources)
    client = drs_client(researcher)
    objects = f"{DRS}/objects/{source_id(mixed)}"
    six = _ready(client, objects, django_capture_on_commit_callbacks)
    assert six["id"] == f"{source_id(mixed)}.{SIX_HASH}"

    withdraw(delivery_world.cohort.consenting[1])  # S001's participant
    five = _ready(client, objects, django_capture_on_commit_callbacks)
    old_copy = client.get(f"{objects}.{SIX_HASH}/access/https")

    assert five["id"] == f"{source_id(mixed)}.{FIVE_HASH}"
    assert five["checksums"] != six["checksums"]
    assert old_copy.status_code == 404
    assert old_copy.json()["msg"].endswith(f"Ask for {source_id(mixed)}.")


def test_a_preparation_that_just_failed_is_409_with_its_reason(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = drs_client(researcher)
    url = f"{DRS}/objects/{source_id(delivery_world.bam_s000)}/access/https"
    with (delivery_world.root / "reads/S000.bam").open("ab") as handle:
        handle.write(b"x")

    with django_capture_on_commit_callbacks(execute=True):
        first = client.get(url)
    second = client.get(url)

    assert first.status_code == 202
    assert Delivery.objects.get().status == DeliveryStatus.FAILED
    assert second.status_code == 409
    assert second.json()["msg"].startswith(
        "Preparing this file failed a moment ago: reads/S000.bam: the file has changed since "
        "it was validated"
    )
    assert second.json()["msg"].endswith("Ask again in a minute.")
    assert Delivery.objects.count() == 1


def test_the_url_points_at_the_download_pool_when_there_is_one(
    delivery_world: World,
    researcher: User,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.CUSTODIAN_DOWNLOAD_URL = "https://downloads.custodian.example"
    client = drs_client(researcher)
    url = f"{DRS}/objects/{source_id(delivery_world.bam_s000)}/access/https"

    found = _ready(client, url, django_capture_on_commit_callbacks)

    assert found["url"].startswith("https://downloads.custodian.example/access/download/")
    assert found["url"].endswith("/S000.bam")
