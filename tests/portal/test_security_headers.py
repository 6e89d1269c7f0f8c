from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from portal.models import AuditEvent, User
from tests.factories import PASSWORD

PAGES = ["/", "/account/sign-in/", "/api/v1/", "/no/such/page/"]


def _directives(header: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


@pytest.mark.parametrize("path", PAGES)
def test_security_headers_content_security_policy(db: None, path: str) -> None:
    response = Client().get(path)

    csp = _directives(response["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]


@pytest.mark.parametrize("path", PAGES)
def test_security_headers_framing_sniffing_and_referrer(db: None, path: str) -> None:
    response = Client().get(path)

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_security_headers_new_request_id_when_none_given(db: None) -> None:
    client = Client()

    first = client.get("/")["X-Request-ID"]
    second = client.get("/")["X-Request-ID"]

    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert re.fullmatch(r"[0-9a-f]{32}", second)
    assert first != second


@pytest.mark.parametrize("incoming", ["abc-123", "req.2024_11_21-Z9", "a" * 64])
def test_security_headers_well_formed_request_id_is_kept(db: None, incoming: str) -> None:
    response = Client().get("/", headers={"X-Request-ID": incoming})

    assert response["X-Request-ID"] == incoming


@pytest.mark.parametrize(
    "incoming", ["has space", "<script>", "a" * 65, "semi;colon", "new\\nline", "ü"]
)
def test_security_headers_malformed_request_id_is_replaced(db: None, incoming: str) -> None:
    response = Client().get("/", headers={"X-Request-ID": incoming})

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_security_headers_request_id_reaches_the_audit_ledger(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    # The account is created by the task the page queues, which keeps the request's id.
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            "/account/register/",
            {
                "full_name": "Robin Newcomer",
                "email": "robin@example.org",
                "institution": "Example Institute",
                "password": "a long and unusual passphrase",
                "password_again": "a long and unusual passphrase",
            },
            headers={"X-Request-ID": "trace-42"},
        )

    assert response["X-Request-ID"] == "trace-42"
    assert AuditEvent.objects.get(action="user.register").request_id == "trace-42"


def test_security_headers_session_cookie_is_http_only(researcher: User) -> None:
    response = Client().post("/account/sign-in/", {"email": researcher.email, "password": PASSWORD})

    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_security_headers_csrf_cookie_same_site(db: None) -> None:
    response = Client().get("/account/sign-in/")

    assert response.cookies["csrftoken"]["samesite"] == "Lax"


def test_security_headers_sign_in_page_has_no_inline_script(db: None) -> None:
    page = Client().get("/account/sign-in/").content.decode()

    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", page) == []
