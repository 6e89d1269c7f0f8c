"""A provider login whose email address the provider has not verified is refused with what to
do; the person signs in with their password, links the login from the account page (through
the real provider again), and from then on the provider signs them in by that link. Unlinking
ends it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from portal.models import AuditEvent, OidcIdentity, User
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot
from tests.browser.sso.conftest import PROVIDER_NAME, Provider, sso_sign_in
from tests.oidc_provider.server import UNVERIFIED

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFUSED = (
    "Test Login has not confirmed your email address, so we cannot tell which Custodian "
    "account is yours. Sign in with your Custodian email and password, then choose “Link your "
    "Test Login login” on your account page: from then on Test Login signs you in."
)


def test_sso_unverified_email_refused_then_linked_from_the_account_page(
    page: Page, live_server: Any, sso: Provider, outsider: User
) -> None:
    sso_sign_in(page, UNVERIFIED)

    expect(page.get_by_role("heading", name="Single sign-on did not work")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text(REFUSED)
    expect(page.get_by_role("link", name="Sign out")).to_have_count(0)
    screenshot(page, "sso-unverified-refused")
    assert_accessible(page)
    assert not OidcIdentity.objects.exists()

    browser_sign_in(page, outsider)
    page.goto("/account/")
    expect(page.get_by_role("heading", name="Single sign-on")).to_be_visible()
    assert_accessible(page)
    # Still signed in at the provider from the refused attempt: it answers at once.
    page.get_by_role("button", name=f"Link your {PROVIDER_NAME} login").click()

    expect(page.get_by_text("Your Test Login login is linked")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/account/")
    expect(page.get_by_text("Its email address: outsider@elsewhere.example.")).to_be_visible()
    screenshot(page, "sso-linked-account-page")
    assert_accessible(page)
    identity = OidcIdentity.objects.get()
    assert identity.user == outsider
    assert identity.issuer == sso.issuer

    page.get_by_role("button", name="Sign out").click()
    sso_sign_in_again(page)

    expect(page).to_have_url(f"{live_server.url}/access/researcher/")
    expect(page.get_by_text("Signed in as")).to_contain_text(outsider.full_name)
    assert list(
        AuditEvent.objects.filter(action__startswith="user.oidc_").values_list(
            "action", "after__how", "after__matched_by"
        )
    ) == [("user.oidc_link", "account_page", None), ("user.oidc_sign_in", None, "link")]

    page.goto("/account/")
    page.get_by_role("button", name=f"Unlink your {PROVIDER_NAME} login").click()

    expect(page.get_by_text("Your Test Login login is unlinked from this account.")).to_be_visible()
    assert not OidcIdentity.objects.exists()
    assert AuditEvent.objects.filter(action="user.oidc_unlink", actor=outsider).count() == 1
    page.get_by_role("button", name="Sign out").click()
    sso_sign_in_again(page)
    expect(page.get_by_role("alert")).to_have_text(REFUSED)


def sso_sign_in_again(page: Page) -> None:
    """The provider remembers the person: no sign-in form there this time."""
    page.goto("/account/sign-in/")
    page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()
