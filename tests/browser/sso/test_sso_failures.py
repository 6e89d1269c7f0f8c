"""What goes wrong in single sign-on ends on a page that says what happened, never a 500: an
answer whose state was changed on the way, an answer used twice, a link answer arriving after
its account signed out, a provider that is down."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Page, expect

from portal.models import AuditEvent, OidcIdentity, User
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot
from tests.browser.sso.conftest import PROVIDER_NAME, Provider, provider_sign_in, sso_sign_in
from tests.oidc_provider.server import UNVERIFIED, VERIFIED_RESEARCHER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STATE_REFUSED = (
    "This sign-in answer does not match a sign-in started in this browser, or it was used "
    "already. Start again from the sign-in page."
)


def _with_state(url: str, state: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return parts._replace(query=urlencode({**query, "state": state})).geturl()


def _answer_held_back(page: Page, live_server: Any) -> str:
    """The provider's real answer to a sign-in started in this browser, not yet delivered:
    the browser context's own requests (same cookies, at the portal and at the provider),
    without following the provider's redirect back."""
    start = page.request.get(f"{live_server.url}/account/sso/start/", max_redirects=0)
    assert start.status == 302
    authorize = page.request.get(start.headers["location"], max_redirects=0)
    assert authorize.status == 302, authorize.text()[:500]
    answer = authorize.headers["location"]
    assert answer.startswith(f"{live_server.url}/account/sso/callback/?")
    return answer


def test_sso_tampered_state_refused_and_the_real_answer_works_once(
    page: Page, live_server: Any, sso: Provider, researcher: User
) -> None:
    sso_sign_in(page, VERIFIED_RESEARCHER)
    page.get_by_role("button", name="Sign out").click()
    # Still signed in at the provider: it answers at once.
    answer = _answer_held_back(page, live_server)
    state = parse_qs(urlsplit(answer).query)["state"][0]

    response = page.goto(_with_state(answer, state[:-4] + "AAAA"))

    assert response is not None
    assert response.status == 400
    expect(page.get_by_role("heading", name="Single sign-on did not work")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text(STATE_REFUSED)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    screenshot(page, "sso-tampered-state")
    assert_accessible(page)

    response = page.goto(answer)

    assert response is not None
    assert response.status == 200
    expect(page).to_have_url(f"{live_server.url}/access/researcher/")
    assert AuditEvent.objects.filter(action="user.oidc_sign_in").count() == 2

    page.get_by_role("button", name="Sign out").click()
    response = page.goto(answer)

    assert response is not None
    assert response.status == 400
    expect(page.get_by_role("alert")).to_have_text(STATE_REFUSED)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert AuditEvent.objects.filter(action="user.oidc_sign_in").count() == 2


def test_sso_link_answer_after_signing_out_refused(
    page: Page, live_server: Any, sso: Provider, outsider: User
) -> None:
    page.goto(sso.issuer.removesuffix("/o") + "/accounts/login/?next=/o/.well-known/jwks.json")
    provider_sign_in(page, UNVERIFIED)
    browser_sign_in(page, outsider)
    page.goto("/account/")
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    start = page.request.post(
        f"{live_server.url}/account/sso/link/",
        headers={"X-CSRFToken": csrf, "Referer": f"{live_server.url}/account/"},
        max_redirects=0,
    )
    assert start.status == 302
    answer = page.request.get(start.headers["location"], max_redirects=0).headers["location"]
    page.get_by_role("button", name="Sign out").click()

    response = page.goto(answer)

    assert response is not None
    assert response.status == 400
    # Signing out ended the session that started the linking, and its state with it.
    expect(page.get_by_role("alert")).to_have_text(STATE_REFUSED)
    assert not OidcIdentity.objects.exists()
    browser_sign_in(page, outsider)
    assert page.goto(answer).status == 400  # type: ignore[union-attr]
    assert not OidcIdentity.objects.exists()


def test_sso_provider_down_says_so(
    page: Page, live_server: Any, sso: Provider, settings: Any
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.CUSTODIAN_OIDC_ISSUER = f"http://127.0.0.1:{closed_port}/o"
    page.goto("/account/sign-in/")

    with page.expect_response(f"{live_server.url}/account/sso/start/") as started:
        page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()

    assert started.value.status == 502
    expect(page.get_by_role("alert")).to_have_text(
        "Test Login is not answering at the moment, so we cannot sign you in with it. Try "
        "again in a few minutes, or sign in with your Custodian email and password."
    )
    screenshot(page, "sso-provider-down")
    assert_accessible(page)
