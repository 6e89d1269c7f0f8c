"""Single sign-on is configured by the environment: without an issuer there is no button and
every sign-on address is a 404; a half configuration stops the portal with one line naming
what is missing. Local sign-in does not depend on it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from portal.models import OidcIdentity, User
from tests.conftest import signed_in_client
from tests.portal.test_startup_errors import PRODUCTION, manage

SSO_BUTTON = "Sign in with"


def test_sso_off_by_default_no_button_and_404s(researcher: User) -> None:
    identity = OidcIdentity.objects.create(user=researcher, issuer="https://x.example", subject="1")
    anonymous = Client()
    page = anonymous.get("/account/sign-in/").content.decode()
    assert SSO_BUTTON not in page
    assert anonymous.get("/account/sso/start/").status_code == 404
    assert anonymous.get("/account/sso/callback/?code=a&state=b").status_code == 404

    client = signed_in_client(researcher)

    assert "Link your" not in client.get("/account/").content.decode()
    assert client.post("/account/sso/link/").status_code == 404
    assert client.post(f"/account/sso/{identity.pk}/unlink/").status_code == 404
    assert OidcIdentity.objects.filter(pk=identity.pk).exists()


def test_sso_on_shows_the_button_with_the_providers_name(db: None, settings: Any) -> None:
    settings.CUSTODIAN_OIDC_ISSUER = "https://login.example.org/oidc/"
    settings.CUSTODIAN_OIDC_NAME = "LS Login"

    page = Client().get("/account/sign-in/?next=/access/researcher/").content.decode()

    assert (
        '<a class="button secondary" href="/account/sso/start/?next=/access/researcher/">'
        "Sign in with LS Login</a>"
    ) in page


def test_sso_name_defaults_to_the_issuers_host(db: None, settings: Any) -> None:
    settings.CUSTODIAN_OIDC_ISSUER = "https://login.example.org/oidc/"
    settings.CUSTODIAN_OIDC_NAME = ""

    assert (
        "Sign in with login.example.org</a>" in Client().get("/account/sign-in/").content.decode()
    )


def test_sso_link_and_unlink_need_sign_in(db: None, settings: Any) -> None:
    settings.CUSTODIAN_OIDC_ISSUER = "https://login.example.org/oidc/"
    client = Client()

    for path in ["/account/sso/link/", "/account/sso/1/unlink/"]:
        response = client.post(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/account/sign-in/?next=")


def test_sso_start_and_link_refuse_the_wrong_method(researcher: User, settings: Any) -> None:
    settings.CUSTODIAN_OIDC_ISSUER = "https://login.example.org/oidc/"
    client = signed_in_client(researcher)

    assert client.post("/account/sso/start/").status_code == 405
    assert client.get("/account/sso/link/").status_code == 405


def test_sso_unlink_of_another_persons_link_is_404(
    researcher: User, outsider: User, settings: Any
) -> None:
    settings.CUSTODIAN_OIDC_ISSUER = "https://login.example.org/oidc/"
    identity = OidcIdentity.objects.create(user=outsider, issuer="https://x.example", subject="1")

    response = signed_in_client(researcher).post(f"/account/sso/{identity.pk}/unlink/")

    assert response.status_code == 404
    assert OidcIdentity.objects.filter(pk=identity.pk).exists()


def test_sso_issuer_without_client_stops_the_portal_with_one_line() -> None:
    result = manage("check", **PRODUCTION, CUSTODIAN_OIDC_ISSUER="https://login.example.org/oidc")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "custodian: CUSTODIAN_OIDC_ISSUER is set: set CUSTODIAN_OIDC_CLIENT_ID and "
        "CUSTODIAN_OIDC_CLIENT_SECRET (or CUSTODIAN_OIDC_CLIENT_SECRET_FILE) too"
    ]


def test_sso_plain_http_issuer_stops_the_portal_with_one_line() -> None:
    result = manage(
        "check",
        **PRODUCTION,
        CUSTODIAN_OIDC_ISSUER="http://login.example.org/oidc",
        CUSTODIAN_OIDC_CLIENT_ID="portal",
        CUSTODIAN_OIDC_CLIENT_SECRET="secret",
    )

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "custodian: CUSTODIAN_OIDC_ISSUER=http://login.example.org/oidc must be an https:// URL"
    ]


@pytest.mark.parametrize("provider", ["https://login.example.org/oidc", "http://127.0.0.1:9/o"])
def test_sso_configured_portal_starts_while_the_provider_is_unreachable(provider: str) -> None:
    result = manage(
        "check",
        "--deploy",
        **PRODUCTION,
        CUSTODIAN_OIDC_ISSUER=provider,
        CUSTODIAN_OIDC_CLIENT_ID="portal",
        CUSTODIAN_OIDC_CLIENT_SECRET="secret",
    )

    assert result.returncode == 0, result.stderr
