from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Page, sync_playwright

from portal.models import User
from tests.conftest import totp_device, totp_now
from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in this thread; the live server's ORM calls
# happen in another thread, but Django checks the calling thread's loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path("/usr/bin/chromium").exists():
        pytest.fail("Debian's chromium is not installed: run `apt-get install chromium`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server: Any) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


_axe = Axe()


def assert_accessible(page: Page) -> None:
    """axe-core on the current page: no serious or critical violation."""
    results = _axe.run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]
    assert not bad, "accessibility violations:\n" + "\n".join(bad)


def browser_sign_in(page: Page, user: User) -> None:
    # Staff have an authenticator already (setting one up needs the emailed enrolment link).
    device = (
        TOTPDevice.objects.filter(user=user, confirmed=True).first() or totp_device(user)
        if user.needs_otp
        else None
    )
    page.goto("/account/sign-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if device is not None and page.url.endswith("/account/otp/"):
        page.get_by_label("6-digit code").fill(totp_now(device))
        page.get_by_role("button", name="Confirm").click()
