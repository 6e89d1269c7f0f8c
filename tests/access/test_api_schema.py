"""Every access API operation is documented in the OpenAPI schema."""

from __future__ import annotations

from django.test import Client

from portal.models import User
from tests.access.api_support import api_client

A = "/api/v1/access"
DOCUMENTED = {
    (f"{A}/requests/", "get"),
    (f"{A}/requests/", "post"),
    (f"{A}/requests/{{accession}}/", "get"),
    (f"{A}/requests/{{accession}}/", "patch"),
    (f"{A}/requests/{{accession}}/submit/", "post"),
    (f"{A}/requests/{{accession}}/withdraw/", "post"),
    (f"{A}/requests/{{accession}}/renew/", "post"),
    (f"{A}/requests/{{accession}}/timeline/", "get"),
    (f"{A}/requests/{{accession}}/match/", "get"),
    (f"{A}/requests/{{accession}}/coapplicants/", "post"),
    (f"{A}/requests/{{accession}}/coapplicants/{{invitation_id}}/", "delete"),
    (f"{A}/requests/{{accession}}/agreements/", "get"),
    (f"{A}/requests/{{accession}}/agreements/accept/", "post"),
    (f"{A}/requests/{{accession}}/ethics/", "post"),
    (f"{A}/requests/{{accession}}/ethics/{{document_id}}/", "get"),
    (f"{A}/requests/{{accession}}/reviews/", "get"),
    (f"{A}/requests/{{accession}}/reviews/{{review_id}}/vote/", "put"),
    (f"{A}/requests/{{accession}}/reviews/{{review_id}}/decision/", "post"),
    (f"{A}/requests/{{accession}}/revoke/", "post"),
    (f"{A}/requests/{{accession}}/deliveries/", "get"),
    (f"{A}/invitations/{{token}}/accept/", "post"),
    (f"{A}/invitations/{{token}}/decline/", "post"),
    (f"{A}/grants/", "get"),
    (f"{A}/grants/{{grant_id}}/", "get"),
    (f"{A}/grants/{{grant_id}}/deliveries/", "post"),
    (f"{A}/deliveries/{{delivery_id}}/", "get"),
    (f"{A}/deliveries/{{delivery_id}}/revoke/", "post"),
    (f"{A}/notifications/", "get"),
    (f"{A}/notifications/read/", "post"),
    (f"{A}/committees/{{committee_id}}/agreements/", "get"),
    (f"{A}/committees/{{committee_id}}/agreements/", "post"),
    (f"{A}/communities/{{committee_id}}/uses/", "get"),
}


def _schema(client: Client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_every_access_operation_is_in_the_openapi_schema(researcher: User) -> None:
    schema = _schema(api_client(researcher))

    documented = {
        (path, method)
        for path, operations in schema["paths"].items()
        if path.startswith(f"{A}/")
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented == DOCUMENTED


def test_access_operations_have_distinct_ids_and_responses(researcher: User) -> None:
    schema = _schema(api_client(researcher))

    operations = [
        operation
        for path, methods in schema["paths"].items()
        if path.startswith(f"{A}/")
        for operation in methods.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    ids = [o["operationId"] for o in operations]
    assert len(ids) == len(set(ids)) == len(DOCUMENTED)
    for operation in operations:
        assert operation["responses"], operation["operationId"]
    upload = schema["paths"][f"{A}/requests/{{accession}}/ethics/"]["post"]
    assert list(upload["requestBody"]["content"]) == ["multipart/form-data"]
