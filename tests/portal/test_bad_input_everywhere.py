"""The bad inputs of issue 13 (NUL bytes, huge paging numbers, deep JSON, NUL form fields,
5,000-character path segments) sent to every URL of the HTML and API surface, collected from
the URL configuration, anonymously and as a signed-in steward: never a server error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter

from portal.models import User
from tests.conftest import signed_in_client

# Django's own admin is left to Django; signing out would end the steward's session mid-way.
SKIPPED = ("admin/", "account/sign-out/")


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(route, its converters) of every URL, includes followed."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), getattr(entry.pattern, "converters", {})


def _fill(route: str, converters: dict[str, Any], text: str) -> str:
    def value(match: re.Match[str]) -> str:
        return "1" if isinstance(converters.get(match.group(2)), IntConverter) else text

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


def _urls() -> list[tuple[str, dict[str, Any]]]:
    routes = [
        (route, converters)
        for route, converters in _routes(get_resolver().url_patterns)
        if not route.startswith(SKIPPED) and "^" not in route
    ]
    assert len(routes) > 100  # the whole surface, not a handful
    return routes


def _probe(client: Client, route: str, converters: dict[str, Any], **headers: Any) -> list[str]:
    """Each bad input at this route; the answers that were server errors."""
    plain = _fill(route, converters, "x")
    tries = [
        ("GET", plain + "?limit=99999999999999999999&offset=99999999999999999999", None),
        ("GET", plain + "?status=%00&q=a%00b", None),
        ("GET", _fill(route, converters, "%00"), None),
        ("GET", _fill(route, converters, "x" * 5000), None),
        ("POST", plain, ("application/json", "[" * 100_000)),
        ("POST", plain, ("application/json", '{"name": "a\\u0000", "a\\u0000": 1}')),
        ("POST", plain, ("form", {"email": "a\x00@example.org", "files": "x\x00"})),
    ]
    errors = []
    for method, url, body in tries:
        if method == "GET":
            response = client.get(url, **headers)
        elif body and body[0] == "form":
            response = client.post(url, body[1], **headers)
        else:
            response = client.post(url, body[1], content_type=body[0], **headers)  # type: ignore[index]
        if response.status_code >= 500:
            errors.append(f"{method} {url[:120]} -> {response.status_code}")
    return errors


@pytest.mark.parametrize("who", ["anonymous", "steward"])
def test_bad_input_everywhere_is_never_a_server_error(who: str, steward: User) -> None:
    client = Client() if who == "anonymous" else signed_in_client(steward)
    client.raise_request_exception = False  # a 500 is counted, not raised
    errors = [error for route, conv in _urls() for error in _probe(client, route, conv)]

    assert errors == []
