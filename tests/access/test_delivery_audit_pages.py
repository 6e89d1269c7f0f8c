"""Who sees deliveries and links: the reviewing committee and stewards see every delivery and
link of a grant (who asked, when, status, sample-set hash, participants included, files left
out; each link's file, size, SHA-256, expiry and revocation), never the signed URLs; a
researcher sees their own and nobody else's."""

from __future__ import annotations

import hashlib
from typing import Any

from django.test import Client
from django.utils import timezone

from access import permissions
from access.models import Delivery, DeliveryStatus, SignedLink
from access.selectors.deliveries import delivery_records
from access.services import delivery_request
from portal.models import Role, User
from tests.access.api_support import api_client
from tests.access.delivery_support import World
from tests.factories import UserFactory

A = "/api/v1/access"


def _deliver(world: World, researcher: User, capture: Any, *files: Any) -> Delivery:
    with capture(execute=True):
        delivery = delivery_request(
            actor=researcher, grant=world.grant, datafile_ids=[f.pk for f in files]
        )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.READY
    return delivery


def _two_deliveries(world: World, researcher: User, capture: Any) -> tuple[Delivery, Delivery]:
    # S000 and S006 (who refuses): S006's file is left out, one participant included.
    bams = _deliver(world, researcher, capture, world.bam_s000, world.bam_s006)
    # Six consenting participants in one VCF.
    vcf = _deliver(world, researcher, capture, world.vcf_consenting)
    return bams, vcf


def _local(moment: Any) -> str:
    return f"{timezone.localtime(moment):%-d %b %Y %H:%M}"


def test_chair_member_and_steward_see_every_delivery_and_link(
    delivery_world: World,
    researcher: User,
    dac_chair: User,
    dac_member: User,
    steward: User,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    bams, vcf = _two_deliveries(delivery_world, researcher, django_capture_on_commit_callbacks)
    expiry = _local(SignedLink.objects.filter(delivery_file__delivery=bams).first().expires_at)
    url = f"/access/review/{delivery_world.request.accession}/"

    for person in (dac_chair, dac_member, steward):
        page = sign_in(person).get(url).content.decode()

        for delivery in (bams, vcf):
            assert f"Delivery {delivery.pk}: {delivery_world.cohort.dataset.accession}" in page
            assert f"<code>{delivery.sample_set_hash}</code>" in page
            assert f"<dt>Asked for</dt><dd>{_local(delivery.created_at)}</dd>" in page
        assert page.count("<dt>Asked for by</dt><dd>Riley Researcher</dd>") == 2
        assert "<dt>Participants included</dt><dd>1</dd>" in page
        assert "<dt>Participants included</dt><dd>6</dd>" in page
        assert "<dt>Files left out</dt><dd>1</dd>" in page
        assert "<dt>Files left out</dt><dd>0</dd>" in page
        for name, datafile in (
            ("S000.bam", delivery_world.bam_s000),
            ("consenting.vcf.gz", delivery_world.vcf_consenting),
        ):
            assert f"<td>{name}</td>" in page
            assert f"({datafile.size} bytes)" in page
            assert f"<code>{datafile.sha256}</code>" in page
        assert "<td>S000.bam.bai</td>" in page
        assert "<td>consenting.vcf.gz.tbi</td>" in page
        assert "<td>S006.bam</td>" not in page
        assert f"<td>{expiry}</td>" in page
        assert page.count("<td>No</td>") == 4  # four links, none revoked
        # The signed URLs are the requester's credentials: never on the committees' page.
        assert "/access/download/" not in page
        assert hashlib.sha256(b"S000").hexdigest() == bams.sample_set_hash


def test_only_chairs_and_stewards_get_the_revoke_forms(
    delivery_world: World,
    researcher: User,
    dac_chair: User,
    dac_member: User,
    steward: User,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    bams, vcf = _two_deliveries(delivery_world, researcher, django_capture_on_commit_callbacks)
    url = f"/access/review/{delivery_world.request.accession}/"

    pages = {
        p.email: sign_in(p).get(url).content.decode() for p in (dac_chair, dac_member, steward)
    }

    for email in ("chair@example.org", "steward@example.org"):
        for delivery in (bams, vcf):
            assert f'action="/access/deliveries/{delivery.pk}/revoke/"' in pages[email]
            assert f'id="id_delivery{delivery.pk}_reason"' in pages[email]
    assert "/revoke/" not in pages["member@example.org"].replace(
        f"/access/review/{delivery_world.request.accession}/revoke/", ""
    )


def test_a_researcher_cannot_see_another_researchers_delivery(
    delivery_world: World,
    researcher: User,
    outsider: User,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    bams, _ = _two_deliveries(delivery_world, researcher, django_capture_on_commit_callbacks)
    # A co-applicant sees the request, but only their own deliveries under it.
    cora = UserFactory(email="cora@example.org", full_name="Cora Co", role=Role.RESEARCHER)
    permissions.grant_coapplicant(cora, delivery_world.request)
    accession = delivery_world.request.accession

    for person in (outsider, cora):
        client = sign_in(person)
        assert client.get(f"/access/deliveries/{bams.pk}/").status_code == 404, person.email
        assert client.get(f"/access/deliveries/{bams.pk}/revoke/").status_code == 404
        assert client.get(f"/access/review/{accession}/").status_code == 404
        assert api_client(person).get(f"{A}/deliveries/{bams.pk}/").status_code == 404
    assert api_client(outsider).get(f"{A}/requests/{accession}/deliveries/").status_code == 404
    coapplicants = api_client(cora).get(f"{A}/requests/{accession}/deliveries/")
    assert (coapplicants.status_code, coapplicants.json()["count"]) == (200, 0)
    own = api_client(researcher).get(f"{A}/requests/{accession}/deliveries/").json()
    assert own["count"] == 2
    anonymous = Client().get(f"/access/deliveries/{bams.pk}/revoke/")
    assert anonymous.status_code == 302


def test_the_committee_api_lists_deliveries_and_link_states_without_urls(
    delivery_world: World,
    researcher: User,
    dac_member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    bams, vcf = _two_deliveries(delivery_world, researcher, django_capture_on_commit_callbacks)
    accession = delivery_world.request.accession

    body = api_client(dac_member).get(f"{A}/requests/{accession}/deliveries/").json()

    assert body["count"] == 2
    newest, oldest = body["results"]
    assert (newest["id"], oldest["id"]) == (vcf.pk, bams.pk)
    assert oldest["requested_by"] == {
        "email": "researcher@example.org",
        "full_name": "Riley Researcher",
    }
    assert (oldest["status"], oldest["participants"], oldest["excluded_files"]) == ("ready", 1, 1)
    assert oldest["sample_set_hash"] == hashlib.sha256(b"S000").hexdigest()
    assert oldest["revocation"] is None
    assert [(link["name"], link["size"], link["is_index"]) for link in oldest["links"]] == [
        ("S000.bam", delivery_world.bam_s000.size, False),
        ("S000.bam.bai", (delivery_world.root / "reads/S000.bam.bai").stat().st_size, True),
    ]
    assert oldest["links"][0]["sha256"] == delivery_world.bam_s000.sha256
    assert oldest["links"][0]["revoked_at"] is None
    assert "url" not in oldest["links"][0]
    assert "/access/download/" not in str(body)


def test_records_take_three_queries_whatever_their_number(
    delivery_world: World,
    researcher: User,
    django_assert_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    bams, vcf = _two_deliveries(delivery_world, researcher, django_capture_on_commit_callbacks)
    one = list(Delivery.objects.filter(pk=bams.pk))
    two = list(Delivery.objects.filter(pk__in=[bams.pk, vcf.pk]))

    with django_assert_num_queries(3):
        delivery_records(one)
    with django_assert_num_queries(3):
        records = delivery_records(two)

    assert sorted(len(r.links) for r in records) == [2, 2]
