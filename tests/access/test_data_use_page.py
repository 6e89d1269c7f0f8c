from __future__ import annotations

from django.test import Client

from portal.models import User
from tests.conftest import signed_in_client


def test_participant_sees_honest_empty_state(participant: User) -> None:
    response = signed_in_client(participant).get("/access/my-data/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Who used my data</h1>" in page
    assert "No researcher has received data that includes yours." in page


def test_participant_menu_links_the_page(participant: User) -> None:
    page = signed_in_client(participant).get("/consent/").content.decode()

    assert 'href="/access/my-data/"' in page


def test_other_roles_are_refused(researcher: User) -> None:
    response = signed_in_client(researcher).get("/access/my-data/")

    assert response.status_code == 403
    assert "This page is for participants." in response.content.decode()


def test_anonymous_is_sent_to_sign_in(db: None) -> None:
    response = Client().get("/access/my-data/")

    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
