"""The language switch: Django's set_language behind a check, remembered on the account."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.models import User
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db

COOKIE = "custodian_language"


def test_every_page_has_the_switch_and_its_own_language() -> None:
    html = Client().get("/").content.decode()

    assert '<html lang="en">' in html
    assert 'action="/language/"' in html
    assert '<button type="submit" name="language" value="cy" lang="cy"' in html
    assert ">Cymraeg</button>" in html


def test_switching_to_welsh_sets_the_cookie_and_returns_to_the_page() -> None:
    client = Client()

    response = client.post("/language/", {"language": "cy", "next": "/account/sign-in/"})
    page = client.get("/account/sign-in/").content.decode()

    assert response.status_code == 302
    assert response["Location"] == "/account/sign-in/"
    assert response.cookies[COOKIE].value == "cy"
    assert '<html lang="cy">' in page
    assert "<h1>Mewngofnodi</h1>" in page
    assert '<button type="submit">Mewngofnodi</button>' in page
    assert ">English</button>" in page


def test_a_language_not_offered_is_refused_with_a_message() -> None:
    client = Client()

    response = client.post("/language/", {"language": "fr", "next": "/"})

    assert response.status_code == 400
    assert COOKIE not in response.cookies
    assert "This language is not offered" in response.content.decode()
    assert "Choose one of: English, Cymraeg." in response.content.decode()
    assert '<html lang="en">' in client.get("/").content.decode()


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_a_tampered_next_never_leaves_the_portal(target: str) -> None:
    response = Client().post("/language/", {"language": "cy", "next": target})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies[COOKIE].value == "cy"


def test_the_switch_takes_only_post() -> None:
    assert Client().get("/language/?language=cy&next=/").status_code == 405


def test_switching_signed_in_is_remembered_on_the_account(participant: User) -> None:
    client = signed_in_client(participant)

    client.post("/language/", {"language": "cy", "next": "/consent/"})
    participant.refresh_from_db()
    elsewhere = signed_in_client(participant)  # another browser: no cookie
    page = elsewhere.get("/consent/")

    assert participant.language == "cy"
    assert '<html lang="cy">' in page.content.decode()
    assert '<h2 id="consent-heading">Eich cydsyniad</h2>' in page.content.decode()
    # The cookie follows the account, so pages after signing out stay in Welsh too.
    assert elsewhere.cookies[COOKIE].value == "cy"


def test_the_account_language_wins_over_the_browser_once_signed_in(participant: User) -> None:
    User.objects.filter(pk=participant.pk).update(language="cy")
    client = signed_in_client(participant)

    page = client.get("/consent/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<html lang="cy">' in page


def test_the_browser_language_applies_before_any_choice() -> None:
    page = Client().get("/", HTTP_ACCEPT_LANGUAGE="cy,en;q=0.5").content.decode()

    assert '<html lang="cy">' in page
    assert "Eich data, wedi'i rannu dim ond fel y cytunoch" in page
