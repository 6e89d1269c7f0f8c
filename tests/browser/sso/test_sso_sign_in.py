"""Signing in through the real OpenID Connect provider in Chromium: the portal's button, the
provider's own sign-in page, back to the portal signed in. The first time, the account is found
by the address the provider verified (and the link stored); an unknown verified address becomes
a researcher's account."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from portal.models import AuditEvent, OidcIdentity, Role, User
from tests.browser.conftest import assert_accessible, screenshot
from tests.browser.sso.conftest import PROVIDER_NAME, Provider, provider_sign_in, sso_sign_in
from tests.factories import PASSWORD
from tests.oidc_provider.server import CLIENT_ID, NEWCOMER, VERIFIED_RESEARCHER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sso_researcher_signs_in_by_verified_email_and_lands_where_they_were_going(
    page: Page, live_server: Any, sso: Provider, researcher: User
) -> None:
    page.goto("/access/researcher/")
    expect(page).to_have_url(f"{live_server.url}/account/sign-in/?next=/access/researcher/")
    expect(page.get_by_role("heading", name="Or use your institution's login")).to_be_visible()
    screenshot(page, "sso-sign-in-page")
    assert_accessible(page)

    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()

    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    authorize = parse_qs(urlsplit(next(u for u in asked if "/o/authorize/" in u)).query)
    assert authorize["response_type"] == ["code"]
    assert authorize["client_id"] == [CLIENT_ID]
    assert authorize["redirect_uri"] == [f"{live_server.url}/account/sso/callback/"]
    assert authorize["code_challenge_method"] == ["S256"]
    assert len(authorize["code_challenge"][0]) == 43
    assert len(authorize["state"][0]) >= 32
    assert len(authorize["nonce"][0]) >= 32
    assert set(authorize["scope"][0].split()) == {"openid", "email", "profile"}
    assert page.url.startswith(
        sso.issuer.removesuffix("/o") + "/accounts/login/?next=/o/authorize/"
    )
    provider_sign_in(page, VERIFIED_RESEARCHER)

    expect(page).to_have_url(f"{live_server.url}/access/researcher/")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    screenshot(page, "sso-researcher-signed-in")
    identity = OidcIdentity.objects.get(user=researcher)
    assert identity.issuer == sso.issuer
    assert identity.email == "researcher@example.org"
    assert identity.last_used_at is not None
    events = list(
        AuditEvent.objects.filter(action__startswith="user.oidc_").values_list(
            "action", "actor__email", "after"
        )
    )
    assert events == [
        (
            "user.oidc_link",
            "researcher@example.org",
            {"issuer": sso.issuer, "subject": identity.subject, "how": "verified_email"},
        ),
        (
            "user.oidc_sign_in",
            "researcher@example.org",
            {
                "issuer": sso.issuer,
                "subject": identity.subject,
                "matched_by": "verified_email",
                "mfa": False,
            },
        ),
    ]


def test_sso_unknown_verified_email_becomes_a_researcher(
    page: Page, live_server: Any, sso: Provider
) -> None:
    sso_sign_in(page, NEWCOMER)

    expect(page).to_have_url(f"{live_server.url}/access/researcher/")
    user = User.objects.get(email="newcomer@example.org")
    assert user.roles == [Role.RESEARCHER]
    assert user.full_name == "Nia Newcomer"
    assert user.is_active
    assert user.email_verified
    assert not user.is_staff
    assert not user.has_usable_password()
    assert OidcIdentity.objects.filter(user=user, issuer=sso.issuer).exists()


def test_sso_local_sign_in_still_works_beside_it(
    page: Page, live_server: Any, sso: Provider, researcher: User
) -> None:
    page.goto("/account/sign-in/")
    page.get_by_label("Email address").fill(researcher.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page).to_have_url(f"{live_server.url}/access/researcher/")
    assert not OidcIdentity.objects.exists()
