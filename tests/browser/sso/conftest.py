"""The single sign-on tests' provider: tests/oidc_provider (django-oauth-toolkit in OIDC mode)
in its own process on a free port, with an RSA key made for the session, PKCE required and
the portal's live-server callback registered; the portal is pointed at it per test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import Page

from portal import oidc
from tests.conftest import wait_for
from tests.oidc_provider.server import CLIENT_ID, CLIENT_SECRET, PASSWORD, ProviderPerson

ROOT = Path(__file__).resolve().parents[3]
PROVIDER_NAME = "Test Login"


@dataclass(frozen=True)
class Provider:
    issuer: str
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def oidc_provider(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    folder = tmp_path_factory.mktemp("oidc-provider")
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}/o"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    env = {
        **os.environ,
        "OIDC_PROVIDER_DB": str(folder / "provider.sqlite3"),
        "OIDC_PROVIDER_RSA_KEY": pem,
        "OIDC_PROVIDER_ISSUER": issuer,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = folder / "provider.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.oidc_provider.server",
                str(port),
                f"{live_server.url}/account/sso/callback/",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        if (
            not wait_for(
                lambda: (
                    process.poll() is not None
                    or _answers(f"{issuer}/.well-known/openid-configuration")
                ),
                timeout=60,
            )
            or process.poll() is not None
        ):
            pytest.fail("the test OIDC provider did not start:\n" + log.read_text()[-3000:])
        yield Provider(issuer=issuer, log=log)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def sso(settings: Any, oidc_provider: Provider) -> Iterator[Provider]:
    """The portal configured for the test provider, as the environment would configure it."""
    settings.CUSTODIAN_OIDC_ISSUER = oidc_provider.issuer
    settings.CUSTODIAN_OIDC_CLIENT_ID = CLIENT_ID
    settings.CUSTODIAN_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.CUSTODIAN_OIDC_NAME = PROVIDER_NAME
    oidc.forget_discovery()
    yield oidc_provider
    oidc.forget_discovery()


def provider_sign_in(page: Page, person: ProviderPerson) -> None:
    """Sign in on the provider's own page (the browser is there now)."""
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in at the provider").click()


def sso_sign_in(page: Page, person: ProviderPerson) -> None:
    """From the portal's sign-in page, through the provider's, back to the portal."""
    page.goto("/account/sign-in/")
    page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()
    provider_sign_in(page, person)
