from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from portal.models import User
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_landing_page_is_accessible_to_visitors(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your data, shared only as you agreed"
    )
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()
    screenshot(page, "landing")
    assert_accessible(page)


@pytest.mark.parametrize(
    ("persona", "heading", "nav_link", "absent_link"),
    [
        ("participant", "Hello, Pat", "My consent", "Administration"),
        ("researcher", "Hello, Riley", "My applications", "Participants"),
        ("dac_member", "Committee review", "Review requests", "My applications"),
        ("dac_chair", "Committee review", "Review requests", "Participants"),
        ("steward", "Data steward", "Participants", "My consent"),
    ],
)
def test_sign_in_reaches_role_home(
    page: Page,
    request: pytest.FixtureRequest,
    persona: str,
    heading: str,
    nav_link: str,
    absent_link: str,
) -> None:
    user: User = request.getfixturevalue(persona)
    browser_sign_in(page, user)
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation.get_by_role("link", name=nav_link)).to_be_visible()
    expect(navigation.get_by_role("link", name=absent_link)).to_have_count(0)
    expect(page.get_by_text(f"Signed in as {user.full_name}")).to_be_visible()
    screenshot(page, f"home-{persona}")
    assert_accessible(page)


def test_wrong_password_shows_message_in_browser(page: Page, researcher: User) -> None:
    page.goto("/account/sign-in/")
    page.get_by_label("Email address").fill(researcher.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "The email address or password is not correct."
    )
    screenshot(page, "sign-in-error")
    assert_accessible(page)
