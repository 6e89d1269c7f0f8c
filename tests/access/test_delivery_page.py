"""The delivery page: progress while preparing (htmx, and a refresh without JavaScript), then
the links with expiry, size, checksum and commands; only for the researcher who asked.
Committees and stewards see every delivery of a grant on the review page."""

from __future__ import annotations

from typing import Any

from django.test import Client

from access.models import Delivery, DeliveryStatus, SignedLink
from access.selectors.deliveries import link_url
from access.services import delivery_request
from portal.models import User
from tests.access.delivery_support import World


def _ready(world: World, researcher: User, capture: Any) -> Delivery:
    with capture(execute=True):
        delivery = delivery_request(
            actor=researcher, grant=world.grant, datafile_ids=[world.bam_s000.pk]
        )
    delivery.refresh_from_db()
    return delivery


def test_a_ready_delivery_lists_links_and_commands(
    delivery_world: World,
    researcher: User,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)
    bam = SignedLink.objects.get(delivery_file__delivery=delivery, delivery_file__is_index=False)
    bai = SignedLink.objects.get(delivery_file__delivery=delivery, delivery_file__is_index=True)
    url, index_url = f"http://testserver{link_url(bam)}", f"http://testserver{link_url(bai)}"

    page = sign_in(researcher).get(f"/access/deliveries/{delivery.pk}/").content.decode()

    assert f"curl -o S000.bam '{url}'" in page
    assert f"curl -o S000.bam.bai '{index_url}'" in page
    assert f"samtools view '{url}##idx##{index_url}' chr1:1-1000" in page
    assert delivery_world.bam_s000.sha256 in page
    assert f'action="/access/grants/{delivery_world.grant.pk}/deliveries/"' in page
    assert f"({delivery_world.bam_s000.size} bytes)" in page
    assert "hx-trigger" not in page


def test_a_vcf_gets_a_bcftools_command(
    delivery_world: World,
    researcher: User,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        delivery = delivery_request(
            actor=researcher,
            grant=delivery_world.grant,
            datafile_ids=[delivery_world.vcf_consenting.pk],
        )
    vcf = SignedLink.objects.get(delivery_file__delivery=delivery, delivery_file__is_index=False)
    tbi = SignedLink.objects.get(delivery_file__delivery=delivery, delivery_file__is_index=True)

    page = sign_in(researcher).get(f"/access/deliveries/{delivery.pk}/").content.decode()

    assert (
        f"bcftools view 'http://testserver{link_url(vcf)}##idx##"
        f"http://testserver{link_url(tbi)}' -r chr1:1-1000"
    ) in page


def test_a_preparing_delivery_polls_and_refreshes_without_javascript(
    delivery_world: World, researcher: User, sign_in: Any
) -> None:
    delivery = Delivery.objects.create(grant=delivery_world.grant, requested_by=researcher)
    client = sign_in(researcher)

    page = client.get(f"/access/deliveries/{delivery.pk}/").content.decode()
    partial = client.get(f"/access/deliveries/{delivery.pk}/", HTTP_HX_REQUEST="true")

    assert f'hx-get="/access/deliveries/{delivery.pk}/" hx-trigger="every 2s"' in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert "Ask for a fresh delivery" not in page
    assert partial.content.decode().startswith('<section id="delivery-status"')
    assert "<html" not in partial.content.decode()


def test_a_failed_delivery_shows_why(delivery_world: World, researcher: User, sign_in: Any) -> None:
    delivery = Delivery.objects.create(
        grant=delivery_world.grant,
        requested_by=researcher,
        status=DeliveryStatus.FAILED,
        error="a consent-filtered copy of calls/mixed.vcf.gz is not available yet",
    )

    page = sign_in(researcher).get(f"/access/deliveries/{delivery.pk}/").content.decode()

    assert (
        "The links could not be prepared: a consent-filtered copy of calls/mixed.vcf.gz is "
        "not available yet"
    ) in page


def test_someone_elses_delivery_is_not_found(
    delivery_world: World,
    researcher: User,
    dac_chair: User,
    steward: User,
    outsider: User,
    sign_in: Any,
) -> None:
    delivery = Delivery.objects.create(grant=delivery_world.grant, requested_by=researcher)
    url = f"/access/deliveries/{delivery.pk}/"

    for user in (dac_chair, steward, outsider):
        assert sign_in(user).get(url).status_code == 404, user.email
    assert sign_in(researcher).get(f"/access/deliveries/{delivery.pk + 1}/").status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/account/sign-in/")


def test_committees_and_stewards_see_every_delivery_of_a_grant(
    delivery_world: World,
    researcher: User,
    dac_chair: User,
    steward: User,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)
    url = f"/access/review/{delivery_world.request.accession}/"

    for user in (dac_chair, steward):
        page = sign_in(user).get(url).content.decode()
        assert delivery.sample_set_hash in page, user.email
        assert "/access/download/" not in page
