"""'Who used my data': approved requests whose deliveries included the participant's data (the
consented sample set recorded when the links were issued), with the date it was received."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.utils import timezone

from access.models import AccessRequest, Delivery
from access.services import delivery_request
from portal.models import User
from tests.access.conftest import Cohort, approve_by_votes
from tests.access.delivery_support import World
from tests.conftest import signed_in_client

URL = "/access/my-data/"


def test_participant_sees_honest_empty_state(participant: User) -> None:
    response = signed_in_client(participant).get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Who used my data</h1>" in page
    assert "No research project has received data that includes yours." in page


def _deliver(world: World, researcher: User, capture: Any, *files: Any) -> Delivery:
    with capture(execute=True):
        delivery = delivery_request(
            actor=researcher, grant=world.grant, datafile_ids=[f.pk for f in files]
        )
    delivery.refresh_from_db()
    return delivery


def test_a_participant_whose_data_was_delivered_sees_the_request(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    _deliver(
        delivery_world, researcher, django_capture_on_commit_callbacks, delivery_world.bam_s000
    )
    today = f"{timezone.localdate():%-d %B %Y}"

    page = signed_in_client(delivery_world.cohort.consenting[0].user).get(URL).content.decode()

    assert "<h2>Variants in heart disease</h2>" in page
    assert "We look for DNA changes linked to heart disease." in page
    assert "<dt>Institution</dt><dd>Example University</dd>" in page
    assert f"<dt>Data received</dt><dd>{today}</dd>" in page
    assert "<dt>Status</dt><dd>Approved</dd>" in page
    assert f"<dt>Reference</dt><dd>{delivery_world.request.accession}</dd>" in page


def test_an_approved_request_without_a_delivery_is_not_listed(
    in_review: AccessRequest, cohort: Cohort, dac_chair: User, dac_member: User
) -> None:
    approve_by_votes(in_review, dac_chair, dac_member)

    page = signed_in_client(cohort.consenting[0].user).get(URL).content.decode()

    assert "Variants in heart disease" not in page
    assert "No research project has received data that includes yours." in page


def test_a_participant_left_out_of_the_delivery_does_not_see_it(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    # S000's file only: the second consenting participant's data was not sent, and the
    # refusing participant's file is never sent.
    _deliver(
        delivery_world,
        researcher,
        django_capture_on_commit_callbacks,
        delivery_world.bam_s000,
        delivery_world.bam_s006,
    )

    for person in (delivery_world.cohort.consenting[1], delivery_world.cohort.refusing[0]):
        page = signed_in_client(person.user).get(URL).content.decode()
        assert "Variants in heart disease" not in page


def test_a_request_under_review_is_not_listed(in_review: AccessRequest, cohort: Cohort) -> None:
    page = signed_in_client(cohort.consenting[0].user).get(URL).content.decode()

    assert "Variants in heart disease" not in page


def test_participant_menu_links_the_page(participant: User) -> None:
    page = signed_in_client(participant).get("/consent/").content.decode()

    assert 'href="/access/my-data/"' in page


def test_other_roles_are_refused(researcher: User) -> None:
    response = signed_in_client(researcher).get(URL)

    assert response.status_code == 403
    assert "This page is for participants." in response.content.decode()


def test_anonymous_is_sent_to_sign_in(db: None) -> None:
    response = Client().get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
