"""A refused request (403, 404) is one log line naming the request id, never a traceback."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from portal.models import User
from tests.conftest import signed_in_client


def _request_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "django.request"]


def test_refusal_logs_permission_denied_is_one_line_without_traceback(
    researcher: User, caplog: pytest.LogCaptureFixture
) -> None:
    client = signed_in_client(researcher)
    caplog.clear()

    with caplog.at_level(logging.INFO):
        response = client.get("/datasets/steward/", HTTP_X_REQUEST_ID="req-403-test")

    assert response.status_code == 403
    (record,) = _request_records(caplog)
    assert record.levelno == logging.INFO
    assert record.exc_info is None
    assert record.getMessage() == (
        "Forbidden (Permission denied): /datasets/steward/ [request req-403-test]"
    )


def test_refusal_logs_not_found_is_one_line_with_request_id(
    db: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = Client().get("/api/v1/datasets/CDS999999/", HTTP_X_REQUEST_ID="req-404-test")

    assert response.status_code == 404
    (record,) = _request_records(caplog)
    assert record.levelno == logging.INFO
    assert record.exc_info is None
    assert record.getMessage() == "Not Found: /api/v1/datasets/CDS999999/ [request req-404-test]"
