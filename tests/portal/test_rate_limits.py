"""Registration, password reset, activation links and sign-in are rate-limited per client
address and per account (the sign-in's per account across addresses, counting failures),
with a 429 page or problem+json that says how long to wait. The counters live in Redis."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client

from portal.models import User
from tests.factories import PASSWORD

STRONG = "a long and unusual passphrase"
WAIT = "There have been too many tries from here or for this account in a short time."


@pytest.fixture(autouse=True)
def redis_counters(settings: Any) -> None:
    """The real Redis, under a prefix of this test's own, with small limits."""
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "KEY_PREFIX": f"test-ratelimit-{uuid.uuid4().hex}",
        },
    }
    settings.CUSTODIAN_RATE_LIMITS = {
        "sign_in_address": (6, 3600),
        "sign_in_account": (3, 3600),
        "register_address": (4, 3600),
        "register_account": (2, 3600),
        "password_reset_address": (4, 3600),
        "password_reset_account": (2, 3600),
        "activate_address": (4, 3600),
        "activate_account": (2, 3600),
    }


def _from(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def _is_429_page(response: Any) -> None:
    assert response.status_code == 429, response.content[:300]
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert int(response["Retry-After"]) > 0
    page = response.content.decode()
    assert "<h1>Too many tries</h1>" in page
    assert WAIT in page


def _reset(client: Client, email: str) -> Any:
    return client.post("/account/password-reset/", {"email": email})


def test_rate_limits_password_reset_per_account_across_addresses(db: None) -> None:
    assert _reset(_from("10.0.0.1"), "someone@example.org").status_code == 200
    assert _reset(_from("10.0.0.2"), "someone@example.org").status_code == 200

    _is_429_page(_reset(_from("10.0.0.3"), "someone@example.org"))
    assert _reset(_from("10.0.0.3"), "other@example.org").status_code == 200


def test_rate_limits_password_reset_per_address(db: None) -> None:
    client = _from("10.0.0.9")
    for n in range(4):
        assert _reset(client, f"person{n}@example.org").status_code == 200

    _is_429_page(_reset(client, "person9@example.org"))
    assert _reset(_from("10.0.0.10"), "person9@example.org").status_code == 200


def test_rate_limits_answer_problem_json_to_api_clients(db: None) -> None:
    client = _from("10.0.0.11")
    for _ in range(2):
        _reset(client, "someone@example.org")

    response = client.post(
        "/account/password-reset/", {"email": "someone@example.org"}, HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert (body["status"], body["code"], body["title"]) == (429, "rate_limited", "Too many tries")
    assert body["detail"].startswith(WAIT)


def _register(client: Client, email: str) -> Any:
    return client.post(
        "/account/register/",
        {
            "full_name": "Robin Newcomer",
            "email": email,
            "institution": "Example Institute",
            "password": STRONG,
            "password_again": STRONG,
        },
    )


def test_rate_limits_registration_per_account_and_per_address(db: None) -> None:
    assert _register(_from("10.0.1.1"), "robin@example.org").status_code == 200
    assert _register(_from("10.0.1.2"), "robin@example.org").status_code == 200
    _is_429_page(_register(_from("10.0.1.3"), "robin@example.org"))

    client = _from("10.0.1.4")
    for n in range(4):
        assert _register(client, f"new{n}@example.org").status_code == 200
    _is_429_page(_register(client, "new9@example.org"))


def test_rate_limits_activation_links_per_address(db: None) -> None:
    client = _from("10.0.2.1")
    for n in range(4):
        assert client.get(f"/account/verify/{n}:forged/").status_code == 400

    _is_429_page(client.get("/account/verify/9:forged/"))


def test_rate_limits_activation_links_per_account(db: None) -> None:
    for n in range(2):
        response = _from(f"10.0.3.{n}").post("/account/activate/7:forged/", {"password": "x"})
        assert response.status_code == 400

    _is_429_page(_from("10.0.3.9").post("/account/activate/7:other/", {"password": "x"}))


def _sign_in(client: Client, email: str, password: str) -> Any:
    return client.post("/account/sign-in/", {"email": email, "password": password})


def test_rate_limits_sign_in_failures_per_account_across_addresses(researcher: User) -> None:
    """Three wrong passwords, each from another address (axes, per address and account,
    never sees a second one): the account is refused even with the right password."""
    for n in range(3):
        assert _sign_in(_from(f"10.0.4.{n}"), researcher.email, "wrong").status_code == 400

    _is_429_page(_sign_in(_from("10.0.4.9"), researcher.email, PASSWORD))
    assert _sign_in(_from("10.0.4.9"), "other@example.org", "wrong").status_code == 400


def test_rate_limits_sign_in_successes_do_not_count_against_the_account(
    researcher: User,
) -> None:
    for n in range(4):
        assert _sign_in(_from(f"10.0.5.{n}"), researcher.email, PASSWORD).status_code == 302


def test_rate_limits_sign_in_per_address(db: None) -> None:
    client = _from("10.0.6.1")
    for n in range(6):
        assert _sign_in(client, f"guess{n}@example.org", "wrong").status_code == 400

    _is_429_page(_sign_in(client, "guess9@example.org", "wrong"))
