"""The header shows every signed-in person a link to their notices with the unread count."""

from __future__ import annotations

from portal.models import Notification, User
from tests.conftest import signed_in_client


def test_unread_count_in_the_header(researcher: User, outsider: User) -> None:
    Notification.objects.create(user=researcher, message="One", url="/")
    Notification.objects.create(user=researcher, message="Two", url="/")
    Notification.objects.create(user=outsider, message="Not yours", url="/")

    page = signed_in_client(researcher).get("/access/researcher/").content.decode()

    assert (
        '<a href="/access/notifications/">Notices <span class="badge">2'
        '<span class="visually-hidden"> unread</span></span></a>' in page
    )


def test_no_badge_when_everything_is_read(researcher: User) -> None:
    page = signed_in_client(researcher).get("/access/researcher/").content.decode()

    assert '<a href="/access/notifications/">Notices</a>' in page


def test_stewards_reach_requests_and_committees_from_the_menu(steward: User) -> None:
    page = signed_in_client(steward).get("/datasets/steward/").content.decode()

    assert '<a href="/access/steward/requests/">Requests</a>' in page
    assert '<a href="/access/steward/committees/">Committees</a>' in page
