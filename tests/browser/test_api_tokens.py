"""A participant makes a read-only API token on the account page in Chromium (CSRF passed for
real), copies it from the page, reads their consent with it, and revokes it with the button;
the page passes axe-core before and after."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from portal.models import User
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_participant_creates_uses_and_revokes_a_token(
    page: Page, live_server: Any, participant: User
) -> None:
    browser_sign_in(page, participant)
    page.goto("/account/")
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Name").fill("my consent app")
    page.get_by_label("Read only: look things up, never change them").check()
    page.get_by_label("Expires after (days)").fill("7")
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_role("status")).to_contain_text("it is shown only this once")
    secret = page.get_by_label("Token", exact=True).input_value()
    assert secret.startswith("cus_")
    assert len(secret) == 47
    screenshot(page, "api-token-created")
    assert_accessible(page)
    row = page.get_by_role("row", name="my consent app")
    expect(row).to_contain_text(secret[:12] + "…")
    expect(row).to_contain_text("Read only")
    expect(row).to_contain_text("Works")

    api = page.context.request
    reading = api.get(
        f"{live_server.url}/api/v1/consent/me/", headers={"Authorization": f"Bearer {secret}"}
    )
    assert reading.status == 200
    changing = api.post(
        f"{live_server.url}/api/v1/consent/me/withdrawal/",
        headers={"Authorization": f"Bearer {secret}", "Cookie": ""},
        data={"level": "no_contact"},
    )
    assert changing.status == 403
    assert changing.json()["detail"].startswith("This API token is read-only")

    page.goto("/account/")
    expect(page.get_by_label("Token", exact=True)).to_have_count(0)
    expect(page.get_by_text(secret)).to_have_count(0)
    page.get_by_role("button", name="Revoke the token my consent app").click()
    expect(
        page.get_by_text("The token “my consent app” is revoked: it no longer works.")
    ).to_be_visible()
    expect(page.get_by_role("row", name="my consent app")).to_contain_text("Revoked")
    assert_accessible(page)
    after = api.get(
        f"{live_server.url}/api/v1/consent/me/", headers={"Authorization": f"Bearer {secret}"}
    )
    assert after.status == 401
    assert after.json()["code"] == "token_revoked"
