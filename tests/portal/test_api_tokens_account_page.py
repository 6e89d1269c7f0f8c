"""The account page's "API tokens" section: create (secret shown once), list, revoke; plain
errors; sign-in and CSRF required; another person's token is "not found"."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from portal.models import ApiToken, User
from tests.conftest import signed_in_client
from tests.factories import api_token_for

CREATE = "/account/tokens/"


def _secret_shown(response: Any) -> str | None:
    match = re.search(r'id="new-token-secret"[^>]*value="(cus_[A-Za-z0-9_-]{43})"', _html(response))
    return match.group(1) if match else None


def _html(response: Any) -> str:
    return response.content.decode()


def _rows(html: str) -> list[str]:
    tbody = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    if tbody is None:
        return []
    return [
        " ".join(re.sub(r"<[^>]+>", " ", row).split())
        for row in re.findall(r"<tr>(.*?)</tr>", tbody.group(1), re.S)
    ]


def test_account_page_without_tokens_offers_the_form(researcher: User) -> None:
    response = signed_in_client(researcher).get("/account/")

    html = _html(response)
    assert response.status_code == 200
    assert '<h2 id="tokens-heading">API tokens</h2>' in html
    assert "<p>You have no API tokens.</p>" in html
    assert 'name="name"' in html
    assert 'value="read" id="id_scope_0" required checked' in html
    assert 'name="expires_in_days" value="90"' in html
    assert _secret_shown(response) is None


def test_account_page_creates_a_token_and_shows_it_once(researcher: User) -> None:
    client = signed_in_client(researcher)

    response = client.post(
        CREATE, {"name": "laptop script", "scope": "download", "expires_in_days": "30"}
    )

    assert response.status_code == 200
    secret = _secret_shown(response)
    assert secret is not None
    assert f"<code>Authorization: Bearer {secret}</code>" in _html(response)
    assert "it is shown only this once" in _html(response)
    token = ApiToken.objects.get(user=researcher)
    assert (token.name, token.scope, (token.expires_at - token.created_at).days) == (
        "laptop script",
        "download",
        30,
    )
    later = _html(client.get("/account/"))
    assert secret not in later
    assert _rows(later)[0].startswith(f"laptop script {secret[:12]}… Read and download ")
    assert _rows(later)[0].endswith(" Never Works Revoke")
    me = Client().get("/api/v1/me/", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200


def test_account_page_refuses_a_nameless_or_too_long_token_in_plain_words(
    researcher: User,
) -> None:
    client = signed_in_client(researcher)

    response = client.post(CREATE, {"name": "", "scope": "read", "expires_in_days": "400"})

    assert response.status_code == 400
    html = _html(response)
    assert '<p class="error" id="id_name_error">This field is required.</p>' in html
    assert (
        '<p class="error" id="id_expires_in_days_error">A token lasts at most 365 days.</p>' in html
    )
    assert ApiToken.objects.count() == 0


def test_account_page_shows_the_cap_refusal(researcher: User, settings: Any) -> None:
    settings.CUSTODIAN_API_TOKEN_MAX_ACTIVE = 1
    api_token_for(researcher)

    response = signed_in_client(researcher).post(
        CREATE, {"name": "second", "scope": "read", "expires_in_days": "90"}
    )

    assert response.status_code == 409
    assert (
        "<li>You already have 1 working API tokens, the most one person may hold. Revoke one "
        "you no longer use, then create the new one.</li>" in _html(response)
    )
    assert _secret_shown(response) is None


def test_account_page_revokes_a_token(researcher: User) -> None:
    secret = api_token_for(researcher, name="old script")
    token = ApiToken.objects.get(user=researcher)
    client = signed_in_client(researcher)

    response = client.post(f"/account/tokens/{token.pk}/revoke/", follow=True)

    assert response.redirect_chain == [("/account/", 302)]
    html = _html(response)
    assert "The token “old script” is revoked: it no longer works." in html
    row = _rows(html)[0]
    assert row.startswith("old script ")
    assert "Revoked " in row
    assert not row.endswith("Revoke")
    assert (
        Client().get("/api/v1/me/", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 401
    )


def test_account_page_cannot_revoke_someone_elses_token(researcher: User, outsider: User) -> None:
    api_token_for(researcher)
    token = ApiToken.objects.get(user=researcher)

    response = signed_in_client(outsider).post(f"/account/tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_account_page_token_forms_need_sign_in(researcher: User) -> None:
    api_token_for(researcher)
    token = ApiToken.objects.get(user=researcher)

    for path in (CREATE, f"/account/tokens/{token.pk}/revoke/"):
        response = Client().post(path, {"name": "x", "scope": "read", "expires_in_days": "9"})

        assert response.status_code == 302
        assert response["Location"] == f"/account/sign-in/?next={path}"
    assert ApiToken.objects.count() == 1
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_account_page_token_forms_need_the_csrf_token(researcher: User) -> None:
    api_token_for(researcher)
    token = ApiToken.objects.get(user=researcher)
    client = Client(enforce_csrf_checks=True)
    client.force_login(researcher)

    created = client.post(CREATE, {"name": "x", "scope": "read", "expires_in_days": "9"})
    revoked = client.post(f"/account/tokens/{token.pk}/revoke/")

    assert (created.status_code, revoked.status_code) == (403, 403)
    assert ApiToken.objects.count() == 1
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
