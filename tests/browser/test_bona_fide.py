"""Bona fide researcher status in a real browser: the researcher asks, the signing official
(not signed in, a browser of their own) opens the emailed link and confirms; both pages pass
axe-core, and the anonymous official's form passes the CSRF check for real."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from portal.models import User
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot
from tests.conftest import link_from_last_email

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_researcher_asks_and_official_confirms(
    page: Page, browser: Browser, live_server: Any, researcher: User
) -> None:
    browser_sign_in(page, researcher)
    page.goto("/access/researcher/")
    page.get_by_role("link", name="See your status or ask for confirmation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bona fide researcher status")
    assert_accessible(page)
    page.get_by_label("Your signing official's name").fill("Sigrid Official")
    page.get_by_label("Your signing official's email").fill("sigrid@uni.example.ac.uk")
    page.get_by_label("Institution").fill("Example University")
    page.get_by_role("button", name="Ask for confirmation").click()
    expect(page.get_by_role("status")).to_contain_text(
        "We emailed sigrid@uni.example.ac.uk a link to confirm."
    )
    expect(page.get_by_text("Waiting for Sigrid Official")).to_be_visible()

    official = browser.new_context(base_url=live_server.url).new_page()
    official.goto(link_from_last_email("/access/bona-fide/"))
    expect(official.get_by_role("heading", level=1)).to_have_text("Confirm a bona fide researcher")
    expect(official.get_by_text("researcher@example.org")).to_be_visible()
    screenshot(official, "bona-fide-official")
    assert_accessible(official)
    official.get_by_role("button", name="Confirm").click()
    expect(official.get_by_text("Thank you. You confirmed that Riley Researcher")).to_be_visible()
    assert_accessible(official)

    page.reload()
    expect(page.get_by_text("Confirmed by Sigrid Official")).to_be_visible()
    screenshot(page, "bona-fide-researcher")
