"""DRS bulk requests as DRS 1.4 defines them: POST /objects and POST /objects/access answer
what resolves and, by status, what does not (202: being prepared, with Retry-After; one
delivery per grant for all the files that need one); more than CUSTODIAN_DRS_BULK_LIMIT ids
is a 413. Answers validate against the 1.4.0 response schemas."""

from __future__ import annotations

from typing import Any

from access.models import Delivery
from portal.models import User
from tests.access.delivery_support import World
from tests.access.drs_support import DRS, drs_client, schema_errors, source_id


def test_bulk_objects_resolve_refuse_and_report_by_status(
    delivery_world: World, researcher: User
) -> None:
    bam, bam_s006 = delivery_world.bam_s000, delivery_world.bam_s006
    accession = delivery_world.cohort.dataset.accession
    ids = [source_id(bam), source_id(bam_s006), f"{accession}-999999", source_id(bam)]

    response = drs_client(researcher).post(
        f"{DRS}/objects", {"bulk_object_ids": ids}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert schema_errors(body, "1.4.0", "responses/200OkDrsObjects.yaml") == []
    for found in body["resolved_drs_object"]:
        assert schema_errors(found, "1.2.0", "schemas/DrsObject.yaml") == []
    assert [o["id"] for o in body["resolved_drs_object"]] == [source_id(bam)]
    # The repeated id counts once.
    assert body["summary"] == {"requested": 3, "resolved": 1, "unresolved": 2}
    assert body["unresolved_drs_objects"] == [
        {"error_code": 403, "object_ids": [source_id(bam_s006)]},
        {"error_code": 404, "object_ids": [f"{accession}-999999"]},
    ]


def test_bulk_access_asks_for_one_delivery_then_gives_the_urls(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    bam, vcf = delivery_world.bam_s000, delivery_world.vcf_consenting
    client = drs_client(researcher)
    ask = {
        "bulk_object_access_ids": [
            {"bulk_object_id": source_id(bam), "bulk_access_ids": ["https"]},
            {"bulk_object_id": source_id(vcf), "bulk_access_ids": ["https", "s3"]},
        ]
    }

    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = client.post(f"{DRS}/objects/access", ask, format="json")

    assert first.status_code == 200
    assert first["Retry-After"] == "5"
    assert first.json() == {
        "summary": {"requested": 3, "resolved": 0, "unresolved": 3},
        "unresolved_drs_objects": [
            {"error_code": 202, "object_ids": [source_id(bam), source_id(vcf)]},
            {"error_code": 404, "object_ids": [source_id(vcf)]},
        ],
        "resolved_drs_object_access_urls": [],
    }
    delivery = Delivery.objects.get()
    assert sorted(delivery.datafile_ids) == sorted([bam.pk, vcf.pk])

    for callback in queued:
        callback()
    ready = client.post(f"{DRS}/objects/access", ask, format="json")

    body = ready.json()
    assert schema_errors(body, "1.4.0", "responses/200OkAccesses.yaml") == []
    assert body["summary"] == {"requested": 3, "resolved": 2, "unresolved": 1}
    resolved = body["resolved_drs_object_access_urls"]
    assert [(r["drs_object_id"], r["drs_access_id"]) for r in resolved] == [
        (source_id(bam), "https"),
        (source_id(vcf), "https"),
    ]
    assert resolved[0]["url"].startswith("http://testserver/access/download/")
    assert resolved[0]["url"].endswith("/S000.bam")
    assert resolved[1]["url"].endswith("/consenting.vcf.gz")
    assert "Retry-After" not in ready


def test_more_ids_than_the_limit_is_413(
    delivery_world: World, researcher: User, settings: Any
) -> None:
    settings.CUSTODIAN_DRS_BULK_LIMIT = 2
    ids = [source_id(delivery_world.bam_s000), source_id(delivery_world.bam_s006), "x-1"]
    client = drs_client(researcher)

    objects = client.post(f"{DRS}/objects", {"bulk_object_ids": ids}, format="json")
    access = client.post(
        f"{DRS}/objects/access",
        {
            "bulk_object_access_ids": [
                {"bulk_object_id": i, "bulk_access_ids": ["https"]} for i in ids
            ]
        },
        format="json",
    )

    message = (
        "This bulk request names 3 objects; at most 2 are taken at once. "
        "Split it into smaller requests."
    )
    assert (objects.status_code, objects.json()) == (413, {"msg": message, "status_code": 413})
    assert (access.status_code, access.json()) == (413, {"msg": message, "status_code": 413})
    assert schema_errors(objects.json(), "1.4.0", "responses/413RequestTooLarge.yaml") == []


def test_a_bulk_body_without_ids_is_400(researcher: User) -> None:
    client = drs_client(researcher)

    empty = client.post(f"{DRS}/objects", {"bulk_object_ids": []}, format="json")
    wrong = client.post(
        f"{DRS}/objects/access", {"bulk_object_access_ids": [{"id": "x"}]}, format="json"
    )

    assert (empty.status_code, empty.json()["msg"]) == (
        400,
        "bulk_object_ids must be a non-empty list of strings.",
    )
    assert wrong.status_code == 400
    assert wrong.json()["msg"].startswith("Each bulk_object_access_ids entry is")
