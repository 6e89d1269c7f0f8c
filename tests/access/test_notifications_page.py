"""Each signed-in person sees their own notices, unread ones marked, and can mark all read."""

from __future__ import annotations

from django.test import Client

from portal.models import Notification, User
from tests.conftest import signed_in_client

URL = "/access/notifications/"


def test_user_sees_own_notices_and_marks_them_read(researcher: User, outsider: User) -> None:
    Notification.objects.create(user=researcher, message="CAR000001 was approved.", url="/x/")
    Notification.objects.create(user=outsider, message="Someone else's notice.")
    client = signed_in_client(researcher)

    before = client.get(URL).content.decode()
    marked = client.post(URL)
    after = client.get(URL).content.decode()

    assert "1 unread notice." in before
    assert '<strong>New:</strong> \n    <a href="/x/">CAR000001 was approved.</a>' in before
    assert "Someone else" not in before
    assert marked.status_code == 302
    assert "1 notice marked read." in after
    assert "No unread notices." in after
    assert "<strong>New:</strong>" not in after
    assert Notification.objects.filter(user=outsider, read_at__isnull=True).count() == 1


def test_no_notices(outsider: User) -> None:
    page = signed_in_client(outsider).get(URL).content.decode()

    assert "You have no notices." in page


def test_anonymous_is_sent_to_sign_in(db: None) -> None:
    for response in (Client().get(URL), Client().post(URL)):
        assert response.status_code == 302
        assert response["Location"].startswith("/account/sign-in/")
