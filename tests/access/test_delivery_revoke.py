"""Revoking one delivery's links (a link leaked) without revoking the grant: the requester,
a chair of a reviewing committee or a steward may; the revocation is audited, the requester
is told when someone else did it, and the links then answer 410 with a plain message."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from access.models import Delivery, DeliveryStatus, SignedLink
from access.selectors.deliveries import link_url
from access.services import delivery_request, delivery_revoke
from portal.exceptions import PortalError
from portal.models import AuditEvent, Notification, User
from tests.access.api_support import api_client, problem
from tests.access.delivery_support import World

A = "/api/v1/access"
REVOKED_LINK = "This link was revoked. Ask for a fresh delivery on the delivery page."
REFUSED = (
    "Only the researcher who asked for these links, a chair of a committee reviewing the "
    "request or a data steward can revoke them."
)


def _ready(world: World, researcher: User, capture: Any) -> Delivery:
    with capture(execute=True):
        delivery = delivery_request(
            actor=researcher, grant=world.grant, datafile_ids=[world.bam_s000.pk]
        )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.READY
    return delivery


def _revoked_at(delivery: Delivery) -> list[Any]:
    return list(
        SignedLink.objects.filter(delivery_file__delivery=delivery).values_list(
            "revoked_at", flat=True
        )
    )


def _refusal(actor: User, delivery: Delivery, reason: str = "Leaked.") -> tuple[int, str]:
    with pytest.raises(PortalError) as refused:
        delivery_revoke(actor=actor, delivery=delivery, reason=reason)
    return refused.value.http_status, refused.value.message


# --- the service ------------------------------------------------------------------------------


def test_the_requester_revokes_their_own_links_and_it_is_audited(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)

    revoked = delivery_revoke(
        actor=researcher, delivery=delivery, reason="I pasted the link in a public chat."
    )

    assert revoked == 2  # the BAM and its index
    assert None not in _revoked_at(delivery)
    event = AuditEvent.objects.get(action="delivery.revoke")
    assert (event.actor, event.object_type, event.object_id) == (
        researcher,
        "access.delivery",
        str(delivery.pk),
    )
    assert event.after == {
        "request": delivery_world.request.accession,
        "links": 2,
        "reason": "I pasted the link in a public chat.",
    }
    # They did it themselves: no notice about it.
    assert not Notification.objects.filter(user=researcher, message__contains="revoked").exists()
    delivery_world.grant.refresh_from_db()
    assert delivery_world.grant.is_active


def test_a_chair_revokes_and_the_researcher_is_told(
    delivery_world: World,
    researcher: User,
    dac_chair: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        delivery_revoke(actor=dac_chair, delivery=delivery, reason="The link was seen on a forum.")

    notice = Notification.objects.get(user=researcher, message__contains="revoked")
    assert notice.message == (
        f"Your download links for Test cohort under {delivery_world.request.accession} were "
        "revoked by Dana Chair: The link was seen on a forum."
    )
    assert notice.url == f"/access/deliveries/{delivery.pk}/"
    (email,) = mail.outbox
    assert email.to == ["researcher@example.org"]
    assert "were revoked by Dana Chair: The link was seen on a forum." in email.body
    assert AuditEvent.objects.get(action="delivery.revoke").actor == dac_chair


def test_a_steward_revokes(
    delivery_world: World,
    researcher: User,
    steward: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)

    assert delivery_revoke(actor=steward, delivery=delivery, reason="Audit finding.") == 2

    assert None not in _revoked_at(delivery)
    assert Notification.objects.filter(user=researcher, message__contains="Sam Steward").exists()


def test_a_member_who_does_not_chair_is_refused_and_nothing_changes(
    delivery_world: World,
    researcher: User,
    dac_member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)

    assert _refusal(dac_member, delivery) == (403, REFUSED)
    assert _revoked_at(delivery) == [None, None]
    assert not AuditEvent.objects.filter(action="delivery.revoke").exists()


def test_an_outsider_and_another_committees_chair_find_no_delivery(
    delivery_world: World,
    researcher: User,
    outsider: User,
    other_dac_member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)

    for person in (outsider, other_dac_member):
        assert _refusal(person, delivery) == (404, "No such delivery."), person.email
    assert _revoked_at(delivery) == [None, None]


def test_what_cannot_be_revoked_is_a_conflict(
    delivery_world: World,
    researcher: User,
    dac_chair: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)
    delivery_revoke(actor=dac_chair, delivery=delivery, reason="Leaked.")
    preparing = Delivery.objects.create(grant=delivery_world.grant, requested_by=researcher)
    failed = Delivery.objects.create(
        grant=delivery_world.grant, requested_by=researcher, status=DeliveryStatus.FAILED
    )

    assert _refusal(dac_chair, delivery) == (
        409,
        "These links were already revoked: they no longer work.",
    )
    assert _refusal(researcher, preparing) == (
        409,
        "These links are still being prepared, so there is nothing to revoke yet. Revoke "
        "them once they are ready, or revoke the grant to stop them being issued.",
    )
    assert _refusal(researcher, failed) == (
        409,
        "This delivery failed: it has no links to revoke.",
    )
    assert _refusal(researcher, delivery, reason="  ") == (
        400,
        "Give the reason for revoking these links; it is kept in the audit.",
    )
    assert AuditEvent.objects.filter(action="delivery.revoke").count() == 1


def test_a_revoked_link_answers_410_and_a_fresh_delivery_works(
    delivery_world: World,
    researcher: User,
    dac_chair: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)
    link = SignedLink.objects.get(delivery_file__delivery=delivery, delivery_file__is_index=False)
    delivery_revoke(actor=dac_chair, delivery=delivery, reason="Leaked.")

    gone = Client().get(link_url(link))
    fresh = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)
    new_link = SignedLink.objects.get(delivery_file__delivery=fresh, delivery_file__is_index=False)
    works = Client().get(link_url(new_link))

    assert (gone.status_code, gone.content.decode()) == (410, REVOKED_LINK)
    assert gone["Content-Type"] == "text/plain; charset=utf-8"
    assert works.status_code == 200
    b"".join(works.streaming_content)


# --- the pages ----------------------------------------------------------------------------------


def test_a_chair_revokes_from_the_review_page(
    delivery_world: World,
    researcher: User,
    dac_chair: User,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)
    review_url = f"/access/review/{delivery_world.request.accession}/"
    client = sign_in(dac_chair)
    before = client.get(review_url).content.decode()

    posted = client.post(
        f"/access/deliveries/{delivery.pk}/revoke/", {"reason": "Seen on a forum."}
    )
    after = client.get(review_url).content.decode()
    researchers_page = sign_in(researcher).get(f"/access/deliveries/{delivery.pk}/")

    assert f'action="/access/deliveries/{delivery.pk}/revoke/"' in before
    assert posted.status_code == 302
    assert posted["Location"] == f"{review_url}#deliveries-heading"
    assert None not in _revoked_at(delivery)
    assert "The links were revoked: they no longer work." in after
    assert "by Dana Chair: Seen on a forum." in after
    assert f'action="/access/deliveries/{delivery.pk}/revoke/"' not in after
    page = researchers_page.content.decode()
    assert "by Dana Chair: Seen on a forum. They no longer work." in page
    assert "/access/download/" not in page


def test_the_researcher_revokes_from_the_delivery_page(
    delivery_world: World,
    researcher: User,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)
    client = sign_in(researcher)
    url = f"/access/deliveries/{delivery.pk}/"
    before = client.get(url).content.decode()

    posted = client.post(f"{url}revoke/", {"reason": "Shared by mistake."})
    after = client.get(url).content.decode()
    request_page = client.get(f"/access/requests/{delivery_world.request.accession}/")

    assert "<summary>Revoke these links</summary>" in before
    assert (posted.status_code, posted["Location"]) == (302, url)
    assert "by Riley Researcher: Shared by mistake. They no longer work." in after
    assert "<summary>Revoke these links</summary>" not in after
    assert "Ask for a fresh delivery" in after
    assert ", links revoked " in request_page.content.decode()


def test_the_confirmation_page_refuses_plainly(
    delivery_world: World,
    researcher: User,
    dac_member: User,
    outsider: User,
    dac_chair: User,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)
    url = f"/access/deliveries/{delivery.pk}/revoke/"

    chair, member = sign_in(dac_chair), sign_in(dac_member)

    confirm = chair.get(url)
    member_get = member.get(url)
    member_post = member.post(url, {"reason": "Leaked."})
    stranger = sign_in(outsider).post(url, {"reason": "Leaked."})
    no_reason = chair.post(url, {"reason": ""})
    anonymous = Client().post(url, {"reason": "Leaked."})

    assert confirm.status_code == 200
    assert "Revoke the links of delivery" in confirm.content.decode()
    assert 'name="reason"' in confirm.content.decode()
    for response in (member_get, member_post):
        assert response.status_code == 403
        assert REFUSED in response.content.decode()
        assert 'name="reason"' not in response.content.decode()
    assert stranger.status_code == 404
    assert no_reason.status_code == 400
    assert (
        "Give the reason for revoking these links; it is kept in the audit."
        in no_reason.content.decode()
    )
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/account/sign-in/")
    assert _revoked_at(delivery) == [None, None]


def test_revoking_twice_on_the_page_is_a_plain_409(
    delivery_world: World,
    researcher: User,
    dac_chair: User,
    steward: User,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)
    url = f"/access/deliveries/{delivery.pk}/revoke/"
    sign_in(dac_chair).post(url, {"reason": "Leaked."})

    again = sign_in(steward).post(url, {"reason": "Leaked too."})

    assert again.status_code == 409
    assert "These links were already revoked: they no longer work." in again.content.decode()


# --- the API ------------------------------------------------------------------------------------


def test_api_revoke_by_chair_requester_and_steward(
    delivery_world: World,
    researcher: User,
    dac_chair: User,
    steward: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    for person in (dac_chair, researcher, steward):
        delivery = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)

        response = api_client(person).post(
            f"{A}/deliveries/{delivery.pk}/revoke/", {"reason": "Leaked."}, format="json"
        )

        assert response.status_code == 200, person.email
        body = response.json()
        assert body["id"] == delivery.pk
        assert body["revocation"]["reason"] == "Leaked."
        assert body["revocation"]["by"] == person.full_name
        assert [link["name"] for link in body["links"]] == ["S000.bam", "S000.bam.bai"]
        assert all(link["revoked_at"] for link in body["links"])
        assert "url" not in body["links"][0]


def test_api_refusals_are_problems(
    delivery_world: World,
    researcher: User,
    dac_chair: User,
    dac_member: User,
    outsider: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _ready(delivery_world, researcher, django_capture_on_commit_callbacks)
    url = f"{A}/deliveries/{delivery.pk}/revoke/"

    member = api_client(dac_member).post(url, {"reason": "Leaked."}, format="json")
    stranger = api_client(outsider).post(url, {"reason": "Leaked."}, format="json")
    missing = api_client(dac_chair).post(f"{A}/deliveries/{delivery.pk + 99}/revoke/", {})
    no_reason = api_client(dac_chair).post(url, {}, format="json")
    first = api_client(dac_chair).post(url, {"reason": "Leaked."}, format="json")
    again = api_client(dac_chair).post(url, {"reason": "Leaked."}, format="json")

    assert (member.status_code, problem(member)["detail"]) == (403, REFUSED)
    assert (stranger.status_code, problem(stranger)["detail"]) == (404, "No such delivery.")
    assert (missing.status_code, problem(missing)["detail"]) == (404, "No such delivery.")
    assert no_reason.status_code == 400
    assert problem(no_reason)["errors"] == {
        "reason": ["Give the reason for revoking these links; it is kept in the audit."]
    }
    assert first.status_code == 200
    assert (again.status_code, problem(again)["detail"]) == (
        409,
        "These links were already revoked: they no longer work.",
    )


# --- a real client ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs Debian's curl")
def test_curl_gets_410_with_the_message_after_revocation(
    delivery_world: World, researcher: User, dac_chair: User, live_server: Any, tmp_path: Path
) -> None:
    # Transactional: the delivery is prepared at once (after commit, eager worker).
    delivery = delivery_request(
        actor=researcher, grant=delivery_world.grant, datafile_ids=[delivery_world.bam_s000.pk]
    )
    link = SignedLink.objects.get(delivery_file__delivery=delivery, delivery_file__is_index=False)
    url = live_server.url + link_url(link)

    def curl() -> tuple[str, str]:
        done = subprocess.run(  # noqa: S603 - a fixed tool, a URL from the test
            ["curl", "--silent", "-o", "body", "-w", "%{http_code}", url],  # noqa: S607
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout, (tmp_path / "body").read_text(errors="replace")

    before = curl()
    delivery_revoke(actor=dac_chair, delivery=delivery, reason="Leaked.")
    after = curl()

    assert before[0] == "200"
    assert after == ("410", REVOKED_LINK)
