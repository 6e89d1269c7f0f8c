"""DRS objects: a steward sees registered files; a grant holder sees a file delivered as is
under its own id, and a file that must be consent-filtered as 202 + Retry-After while a
delivery prepares it, then as the copy's own object; the index is an object of its own.
Every answer validates against the DRS 1.2.0 schemas."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.utils import timezone

from access.models import Delivery, DeliveryStatus
from access.services import grants_revoke
from datasets.models import DataFile
from portal.models import User
from tests.access.delivery_support import Sources, World, withdraw
from tests.access.drs_support import (
    DRS,
    SIX_HASH,
    add_mixed_vcf,
    drs_client,
    schema_errors,
    source_id,
)
from tests.access.visa_support import site  # noqa: F401 - fixture


def _checksums(datafile: DataFile) -> list[dict[str, str]]:
    return [
        {"checksum": datafile.sha256, "type": "sha-256"},
        {"checksum": datafile.md5, "type": "md5"},
    ]


@pytest.mark.usefixtures("site")
def test_a_steward_sees_a_registered_file(delivery_world: World, steward: User) -> None:
    bam = delivery_world.bam_s000
    accession = delivery_world.cohort.dataset.accession

    response = drs_client(steward).get(f"{DRS}/objects/{accession}-{bam.pk}")

    assert response.status_code == 200
    body = response.json()
    assert schema_errors(body, "1.2.0", "schemas/DrsObject.yaml") == []
    assert body["id"] == f"{accession}-{bam.pk}"
    assert body["self_uri"] == f"drs://custodian.example/{accession}-{bam.pk}"
    assert body["name"] == "S000.bam"
    assert body["size"] == (delivery_world.root / "reads/S000.bam").stat().st_size
    assert body["checksums"] == _checksums(bam)
    assert body["mime_type"] == "application/x-bam"
    assert body["access_methods"] == [{"type": "https", "access_id": "https"}]
    assert body["created_time"].endswith("Z")
    # Reading metadata asks for no delivery.
    assert not Delivery.objects.exists()


def test_a_grant_holder_sees_a_consenting_file_as_it_is(
    delivery_world: World, researcher: User
) -> None:
    vcf = delivery_world.vcf_consenting

    response = drs_client(researcher).get(f"{DRS}/objects/{source_id(vcf)}")

    assert response.status_code == 200
    body = response.json()
    assert schema_errors(body, "1.2.0", "schemas/DrsObject.yaml") == []
    assert (body["id"], body["name"], body["mime_type"]) == (
        source_id(vcf),
        "consenting.vcf.gz",
        "application/gzip",
    )
    assert body["checksums"] == _checksums(vcf)


def test_the_index_is_an_object_of_its_own(delivery_world: World, researcher: User) -> None:
    index = delivery_world.bam_s000.index

    body = drs_client(researcher).post(f"{DRS}/objects/{source_id(index)}", {}, format="json")

    assert body.status_code == 200
    assert schema_errors(body.json(), "1.2.0", "schemas/DrsObject.yaml") == []
    assert (body.json()["name"], body.json()["checksums"]) == ("S000.bam.bai", _checksums(index))


def test_a_mixed_file_is_prepared_then_seen_as_its_consent_filtered_copy(
    delivery_world: World,
    researcher: User,
    steward: User,
    sources: Sources,
    django_capture_on_commit_callbacks: Any,
) -> None:
    mixed_vcf = add_mixed_vcf(delivery_world, steward, sources)
    client = drs_client(researcher)
    source = source_id(mixed_vcf)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = client.get(f"{DRS}/objects/{source}")
    again = client.get(f"{DRS}/objects/{source}")

    assert first.status_code == 202
    assert first["Retry-After"] == "5"
    assert again.status_code == 202
    # One delivery, of that file only, asked for by the researcher; the second GET waits.
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.datafile_ids) == (DeliveryStatus.PREPARING, [mixed_vcf.pk])
    assert delivery.requested_by == researcher

    for callback in queued:
        callback()
    ready = client.get(f"{DRS}/objects/{source}")

    assert ready.status_code == 200
    body = ready.json()
    assert schema_errors(body, "1.2.0", "schemas/DrsObject.yaml") == []
    assert body["id"] == f"{source}.{SIX_HASH}"
    copy = delivery_world.root / Delivery.objects.get().files.get(is_index=False).served_path
    content = copy.read_bytes()
    assert body["size"] == len(content)
    assert body["checksums"] == [
        {"checksum": hashlib.sha256(content).hexdigest(), "type": "sha-256"},
        {"checksum": hashlib.md5(content).hexdigest(), "type": "md5"},  # noqa: S324
    ]
    assert body["name"] == "mixed.vcf.gz"
    # The copy's id answers the same object; its index has an id of its own.
    assert client.get(f"{DRS}/objects/{source}.{SIX_HASH}").json() == body
    index = client.get(f"{DRS}/objects/{source_id(mixed_vcf.index)}.{SIX_HASH}")
    assert index.status_code == 200
    assert index.json()["name"] == "mixed.vcf.gz.tbi"


def test_a_copy_named_for_another_sample_set_is_not_found(
    delivery_world: World, researcher: User, steward: User, sources: Sources
) -> None:
    mixed_vcf = add_mixed_vcf(delivery_world, steward, sources)
    response = drs_client(researcher).get(f"{DRS}/objects/{source_id(mixed_vcf)}.0123456789abcdef")

    assert response.status_code == 404
    assert response.json()["status_code"] == 404
    assert f"Ask for {source_id(mixed_vcf)}." in response.json()["msg"]


def test_a_single_sample_file_of_a_refusing_participant_is_refused(
    delivery_world: World, researcher: User
) -> None:
    response = drs_client(researcher).get(f"{DRS}/objects/{source_id(delivery_world.bam_s006)}")

    assert response.status_code == 403
    assert response.json() == {
        "msg": (
            "The participant whose sample S006.bam holds does not consent to your use of their "
            "data now, so this file is not delivered to you."
        ),
        "status_code": 403,
    }
    assert not Delivery.objects.exists()


def test_after_a_withdrawal_the_file_is_refused(delivery_world: World, researcher: User) -> None:
    withdraw(delivery_world.cohort.consenting[0])

    response = drs_client(researcher).get(f"{DRS}/objects/{source_id(delivery_world.bam_s000)}")

    assert response.status_code == 403
    assert "S000.bam holds does not consent" in response.json()["msg"]


def test_without_a_grant_a_released_dataset_s_file_is_forbidden(
    delivery_world: World, outsider: User
) -> None:
    accession = delivery_world.cohort.dataset.accession

    response = drs_client(outsider).get(f"{DRS}/objects/{source_id(delivery_world.bam_s000)}")

    assert response.status_code == 403
    assert response.json() == {
        "msg": (
            f"You have no active grant on {accession}, so its files are not yours to fetch. "
            "Apply for access to the dataset in the portal."
        ),
        "status_code": 403,
    }


def test_a_revoked_grant_sees_nothing(delivery_world: World, researcher: User) -> None:
    delivery_world.grant.revoked_at = timezone.now()
    delivery_world.grant.save(update_fields=["revoked_at"])

    response = drs_client(researcher).get(f"{DRS}/objects/{source_id(delivery_world.bam_s000)}")

    assert response.status_code == 403
    assert response.json()["msg"].startswith("You have no active grant on")


def test_an_object_seen_before_the_grant_is_revoked_is_refused_after(
    delivery_world: World, researcher: User, dac_chair: User
) -> None:
    client = drs_client(researcher)
    url = f"{DRS}/objects/{source_id(delivery_world.bam_s000)}"
    assert client.get(url).status_code == 200

    grants_revoke(
        actor=dac_chair,
        request=delivery_world.request,
        committee=delivery_world.cohort.dataset.committee,
        reason="Data stored outside the agreed environment.",
    )
    after = client.get(url)

    assert after.status_code == 403
    assert after.json()["msg"].startswith("You have no active grant on")


def test_a_steward_sees_a_copy_on_record_but_not_an_unknown_one(
    delivery_world: World,
    researcher: User,
    steward: User,
    sources: Sources,
    django_capture_on_commit_callbacks: Any,
) -> None:
    mixed_vcf = add_mixed_vcf(delivery_world, steward, sources)
    source = source_id(mixed_vcf)
    with django_capture_on_commit_callbacks(execute=True):
        assert drs_client(researcher).get(f"{DRS}/objects/{source}").status_code == 202
    seen = drs_client(researcher).get(f"{DRS}/objects/{source}").json()

    on_record = drs_client(steward).get(f"{DRS}/objects/{source}.{SIX_HASH}")
    unknown = drs_client(steward).get(f"{DRS}/objects/{source}.0123456789abcdef")

    assert on_record.status_code == 200
    assert on_record.json() == seen
    assert unknown.status_code == 404
