"""With authenticator codes required (the default), a committee member whose provider asserts
multi-factor authentication (`amr` holds "mfa") is not asked for the code again, in the pages
and in the API with the same session; one whose provider asserts only a password is asked, as
after a password sign-in here."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from portal.models import AuditEvent, User
from tests.browser.conftest import screenshot
from tests.browser.sso.conftest import Provider, sso_sign_in
from tests.conftest import totp_device, totp_now
from tests.oidc_provider.server import CHAIR_WITHOUT_MFA, MEMBER_WITH_MFA

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sso_member_with_mfa_asserted_is_not_asked_for_the_code(
    page: Page, live_server: Any, sso: Provider, dac_member: User
) -> None:
    assert settings.CUSTODIAN_REQUIRE_OTP is True

    sso_sign_in(page, MEMBER_WITH_MFA)

    expect(page).to_have_url(f"{live_server.url}/access/committee/")
    expect(page.get_by_text("Signed in as")).to_contain_text("Morgan Member")
    screenshot(page, "sso-member-mfa-committee-home")
    page.goto("/account/")
    expect(page).to_have_url(f"{live_server.url}/account/")
    me = page.request.get(f"{live_server.url}/api/v1/me/")
    assert me.status == 200
    assert me.json()["email"] == "member@example.org"
    sign_in = AuditEvent.objects.get(action="user.oidc_sign_in")
    assert sign_in.actor == dac_member
    assert sign_in.after["mfa"] is True


def test_sso_chair_without_mfa_is_asked_for_the_code(
    page: Page, live_server: Any, sso: Provider, dac_chair: User
) -> None:
    device = totp_device(dac_chair)

    sso_sign_in(page, CHAIR_WITHOUT_MFA)

    expect(page).to_have_url(f"{live_server.url}/account/otp/")
    expect(page.get_by_role("heading", name="Enter your authenticator code")).to_be_visible()
    screenshot(page, "sso-chair-without-mfa-asked-for-code")
    page.goto("/access/committee/")
    expect(page).to_have_url(f"{live_server.url}/account/otp/")
    me = page.request.get(f"{live_server.url}/api/v1/me/")
    assert me.status == 403
    assert me.json()["code"] == "otp_required"
    assert AuditEvent.objects.get(action="user.oidc_sign_in").after["mfa"] is False

    page.get_by_label("6-digit code").fill(totp_now(device))
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(f"{live_server.url}/access/committee/")
    assert page.request.get(f"{live_server.url}/api/v1/me/").status == 200
