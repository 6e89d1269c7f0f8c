from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client, TestCase
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.models import ApiTokenScope, AuditEvent, User
from portal.views import _qr_data_uri
from tests.conftest import link_from_last_email, signed_in_client, totp_device, totp_now
from tests.factories import PASSWORD, api_token_for

OTP = "/account/otp/"
WRONG_CODE = (
    "That code is not right, or it has expired. Codes change every 30 seconds: try the current one."
)
DEMO_NOTICE = "two-factor sign-in (authenticator codes) is switched off on this server"
OTP_ROLES = ["dac_member", "dac_chair", "steward"]
HOME_URLS = {
    "participant": "/consent/",
    "researcher": "/access/researcher/",
    "dac_member": "/access/committee/",
    "dac_chair": "/access/committee/",
    "steward": "/datasets/steward/",
}


def _password_only(user: User) -> Client:
    client = Client()
    response = client.post("/account/sign-in/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _enrolled(user: User) -> Client:
    """Signed in with the password, then through the emailed enrolment link."""
    client = _password_only(user)
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(OTP, {"action": "send_link"})
    response = client.get(link_from_last_email("/account/otp/enrol/"))
    assert response.status_code == 302
    assert response["Location"] == OTP
    return client


def _other_code(code: str) -> str:
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


def test_otp_required_by_default() -> None:
    assert settings.CUSTODIAN_REQUIRE_OTP is True


@pytest.mark.parametrize("persona", OTP_ROLES)
def test_otp_every_page_redirects_to_otp_until_code_confirmed(
    persona: str, request: pytest.FixtureRequest
) -> None:
    client = _password_only(request.getfixturevalue(persona))

    for path in ["/home/", HOME_URLS[persona], "/account/", "/consent/participants/", "/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == OTP, path


def _app_code(page: str, shift: int = 0) -> str:
    """What an authenticator app shows after scanning the page's secret (as FreeOTP would)."""
    match = re.search(r'<code class="secret">([A-Z2-7=]+)</code>', page)
    assert match, page[:2000]
    code = TOTP(base64.b32decode(match.group(1))).token()
    return f"{(code + shift) % 1_000_000:06d}"


@pytest.mark.parametrize("persona", OTP_ROLES)
def test_otp_first_time_shows_setup_and_right_code_confirms_device(
    persona: str, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)
    client = _enrolled(user)

    response = client.get(OTP)

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Set up two-factor sign-in</h1>" in page
    assert re.search(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', page)
    # Opening the page stores nothing: the device exists once its first code is confirmed.
    assert not TOTPDevice.objects.filter(user=user).exists()

    response = client.post(OTP, {"token": _app_code(page)})

    assert response.status_code == 302
    assert response["Location"] == "/home/"
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed
    assert f'<code class="secret">{base64.b32encode(device.bin_key).decode()}</code>' in page
    response = client.get("/home/")
    assert response["Location"] == HOME_URLS[persona]
    assert client.get(HOME_URLS[persona]).status_code == 200


def test_otp_setup_qr_code_holds_the_provisioning_url_of_the_secret_shown(
    steward: User,
) -> None:
    client = _enrolled(steward)

    page = client.get(OTP).content.decode()
    client.post(OTP, {"token": _app_code(page)})

    device = TOTPDevice.objects.get(user=steward)
    assert device.config_url.startswith("otpauth://totp/")
    assert "issuer=Custodian" in device.config_url
    data = re.search(r'src="(data:image/svg\+xml;base64,[A-Za-z0-9+/=]+)"', page)
    assert data
    assert "<svg" in base64.b64decode(data.group(1).partition(",")[2]).decode()
    assert data.group(1) == _qr_data_uri(device.config_url)


def test_otp_page_reload_keeps_the_same_secret_and_stores_nothing(steward: User) -> None:
    client = _enrolled(steward)

    first = client.get(OTP).content.decode()
    second = client.get(OTP).content.decode()

    assert _app_code(first) == _app_code(second)
    assert not TOTPDevice.objects.filter(user=steward).exists()


def test_otp_confirmed_device_asks_only_for_the_code(steward: User) -> None:
    device = totp_device(steward)
    client = _password_only(steward)

    response = client.get(OTP)

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Enter your authenticator code</h1>" in page
    assert "data:image/svg+xml" not in page
    assert base64.b32encode(device.bin_key).decode() not in page
    assert TOTPDevice.objects.filter(user=steward).count() == 1


def test_otp_wrong_code_refused(steward: User) -> None:
    device = totp_device(steward)
    client = _password_only(steward)

    response = client.post(OTP, {"token": _other_code(totp_now(device))})

    assert response.status_code == 400
    assert response.context["form"].errors == {"token": [WRONG_CODE]}
    assert WRONG_CODE in response.content.decode()
    assert client.get("/home/")["Location"] == OTP


def test_otp_wrong_code_during_setup_stores_no_device(steward: User) -> None:
    client = _enrolled(steward)
    page = client.get(OTP).content.decode()

    response = client.post(OTP, {"token": _app_code(page, shift=500_000)})

    assert response.status_code == 400
    assert WRONG_CODE in response.content.decode()
    assert not TOTPDevice.objects.filter(user=steward).exists()


def test_otp_malformed_code_refused(steward: User) -> None:
    totp_device(steward)
    client = _password_only(steward)

    response = client.post(OTP, {"token": "12ab"})

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "token": ["Enter the 6 digits shown by your authenticator app."]
    }


def test_otp_code_is_per_session(steward: User) -> None:
    verified = signed_in_client(steward)

    other_browser = _password_only(steward)

    assert verified.get("/home/")["Location"] == HOME_URLS["steward"]
    assert other_browser.get("/home/")["Location"] == OTP


def test_otp_page_needs_sign_in(db: None) -> None:
    response = Client().get(OTP)

    assert response.status_code == 302
    assert response["Location"] == "/account/sign-in/?next=/account/otp/"


def test_otp_pending_user_can_sign_out(steward: User) -> None:
    client = _password_only(steward)

    response = client.post("/account/sign-out/")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("persona", ["participant", "researcher"])
def test_otp_never_asked_of_participants_and_researchers(
    persona: str, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)
    client = _password_only(user)

    assert client.get("/home/")["Location"] == HOME_URLS[persona]
    assert client.get(HOME_URLS[persona]).status_code == 200
    assert client.get("/account/").status_code == 200
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_otp_switched_off_steward_not_asked(steward: User, settings: object) -> None:
    settings.CUSTODIAN_REQUIRE_OTP = False  # type: ignore[attr-defined]
    client = _password_only(steward)

    assert client.get("/home/")["Location"] == HOME_URLS["steward"]
    assert client.get(HOME_URLS["steward"]).status_code == 200
    assert client.get("/api/v1/me/").json()["email"] == steward.email


def test_otp_switched_off_sign_in_page_shows_demo_notice(db: None, settings: object) -> None:
    settings.CUSTODIAN_REQUIRE_OTP = False  # type: ignore[attr-defined]

    response = Client().get("/account/sign-in/")

    assert response.status_code == 200
    assert "<strong>Demo mode:</strong>" in response.content.decode()
    assert DEMO_NOTICE in response.content.decode()


def test_otp_required_sign_in_page_has_no_demo_notice(db: None) -> None:
    response = Client().get("/account/sign-in/")

    assert response.status_code == 200
    assert "Demo mode" not in response.content.decode()


def test_otp_api_with_unverified_session_refused(steward: User) -> None:
    client = _password_only(steward)

    response = client.get("/api/v1/me/")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["code"] == "otp_required"
    assert body["status"] == 403
    assert body["type"] == "https://custodian.invalid/problems/otp_required"
    assert body["detail"] == (
        "Confirm your authenticator code in the browser first, or use an API token."
    )


def test_otp_api_with_verified_session_works(steward: User) -> None:
    response = signed_in_client(steward).get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["email"] == steward.email


def test_otp_api_with_token_works_without_code(steward: User) -> None:
    secret = api_token_for(steward, ApiTokenScope.READ)

    response = Client().get("/api/v1/me/", headers={"Authorization": f"Token {secret}"})

    assert response.status_code == 200
    assert response.json()["email"] == steward.email
    assert response.json()["role"] == "steward"


def test_otp_password_alone_cannot_set_up_an_authenticator(steward: User) -> None:
    client = _password_only(steward)

    page = client.get(OTP).content.decode()
    posted = client.post(OTP, {"token": "123456"})

    assert "open the enrolment link we email to your address" in page
    assert 'class="secret"' not in page
    assert 'class="secret"' not in posted.content.decode()
    assert not TOTPDevice.objects.filter(user=steward).exists()
    assert mail.outbox == []


def test_otp_enrolment_link_is_emailed_on_request(
    steward: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = _password_only(steward)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(OTP, {"action": "send_link"})

    assert "We sent an enrolment link to <strong>steward@example.org</strong>" in (
        response.content.decode()
    )
    (message,) = mail.outbox
    assert message.to == [steward.email]
    assert message.subject == "Set up your Custodian authenticator"
    assert AuditEvent.objects.filter(action="user.otp_enrolment_link").count() == 1


def test_otp_enrolment_link_of_another_account_is_refused(
    steward: User, dac_chair: User, django_capture_on_commit_callbacks: Any
) -> None:
    victim = _password_only(steward)
    with django_capture_on_commit_callbacks(execute=True):
        victim.post(OTP, {"action": "send_link"})
    link = link_from_last_email("/account/otp/enrol/")
    other = _password_only(dac_chair)

    response = other.get(link)

    assert response.status_code == 403
    assert "This enrolment link belongs to another account" in response.content.decode()
    assert 'class="secret"' not in other.get(OTP).content.decode()


def test_otp_enrolment_link_tampered_is_refused(steward: User) -> None:
    client = _password_only(steward)

    response = client.get(f"/account/otp/enrol/{steward.pk}:forged:x/")

    assert response.status_code == 400
    assert "This authenticator enrolment link is not valid" in response.content.decode()
