from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client, RequestFactory

from portal import views
from portal.models import User
from tests.factories import PASSWORD

NOT_FOUND_DETAIL = "There is nothing at this address, or you are not allowed to see it."
ERROR_DETAIL = "The error is logged and we will look at it. Please try again later."
PROBLEM = "application/problem+json"


def _problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == PROBLEM
    return json.loads(response.content)


def test_error_pages_unknown_url_gets_custom_404_page(db: None) -> None:
    response = Client().get("/no/such/page/")

    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    assert "<h1>Page not found</h1>" in page
    assert f"<p>{NOT_FOUND_DETAIL}</p>" in page
    assert '<a href="/">Go to the start page</a>' in page
    # The portal's page, not Django's technical one.
    assert "Using the URLconf" not in page
    assert "<title>Page not found · Custodian</title>" in page


def test_error_pages_404_page_links_signed_in_user_home(researcher: User) -> None:
    client = Client()
    client.post("/account/sign-in/", {"email": researcher.email, "password": PASSWORD})

    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert '<a href="/home/">your home page</a>' in response.content.decode()


def test_error_pages_unknown_api_url_gets_problem_json(db: None) -> None:
    response = Client().get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert _problem(response) == {
        "type": "https://custodian.invalid/problems/not_found",
        "title": "Page not found",
        "status": 404,
        "detail": NOT_FOUND_DETAIL,
        "code": "not_found",
    }


def test_error_pages_json_client_gets_problem_json_for_html_url(db: None) -> None:
    response = Client().get("/no/such/page/", headers={"Accept": "application/json"})

    assert response.status_code == 404
    assert _problem(response)["status"] == 404


def test_error_pages_500_handler_renders_standalone_page() -> None:
    request = RequestFactory().get("/consent/")

    response = views.error_500(request)

    assert response.status_code == 500
    page = response.content.decode()
    assert "<h1>Something went wrong</h1>" in page
    assert f"<p>{ERROR_DETAIL}</p>" in page
    assert '<link rel="stylesheet" href="/static/css/portal.css">' in page
    # Standalone: no navigation that would need the user or the database.
    assert "Sign in" not in page
    assert "Sign out" not in page


@pytest.mark.parametrize("path", ["/api/v1/me/", "/api/v1/anything/else/"])
def test_error_pages_500_handler_gives_problem_json_for_api(path: str) -> None:
    request = RequestFactory().get(path)

    response = views.error_500(request)

    assert response.status_code == 500
    assert _problem(response) == {
        "type": "https://custodian.invalid/problems/server_error",
        "title": "Something went wrong",
        "status": 500,
        "detail": ERROR_DETAIL,
        "code": "server_error",
    }


def test_error_pages_exception_in_view_gets_500_page(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "render", broken)
    client = Client(raise_request_exception=False)

    response = client.get("/")

    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in response.content.decode()
    assert "boom" not in response.content.decode()


def test_error_pages_exception_in_api_gets_problem_json(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("portal.api.reverse", broken)
    client = Client(raise_request_exception=False)

    response = client.get("/api/v1/")

    assert response.status_code == 500
    body = _problem(response)
    assert body["code"] == "server_error"
    assert "boom" not in response.content.decode()


def test_error_pages_csrf_failure_says_form_expired(researcher: User) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post("/account/sign-in/", {"email": researcher.email, "password": PASSWORD})

    assert response.status_code == 403
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    assert "<h1>Form expired</h1>" in page
    assert "The form was open too long or cookies are blocked." in page
    assert "_auth_user_id" not in client.session


def test_error_pages_csrf_token_from_the_form_is_accepted(researcher: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get("/account/sign-in/")
    token = client.cookies["csrftoken"].value

    response = client.post(
        "/account/sign-in/",
        {"email": researcher.email, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )

    assert response.status_code == 302


def test_error_pages_method_not_allowed(db: None) -> None:
    response = Client().put("/account/sign-in/")

    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
