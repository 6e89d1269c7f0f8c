"""Only a digest of a token's secret is stored: the secret is in no column of any table, nor
in the audit ledger; the creation is audited with the name, prefix, scope and expiry."""

from __future__ import annotations

import hashlib

from django.db import connection

from portal.models import ApiToken, AuditEvent, User
from portal.services import api_token_create


def _database_text() -> str:
    """Every row of every table of the test database, as text."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT t::text FROM "{table}" t')  # noqa: S608 - our own names
            chunks.extend(row[0] for row in cursor.fetchall())
    return "\n".join(chunks)


def test_token_secret_is_not_stored_anywhere(researcher: User) -> None:
    token, secret = api_token_create(
        actor=researcher, name="laptop", scope="read", expires_in_days=7
    )

    stored = _database_text()
    assert secret not in stored
    assert secret[12:] not in stored
    assert secret[:12] in stored  # the public prefix, shown in lists
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert ApiToken.objects.get(pk=token.pk).digest in stored


def test_token_secrets_differ_and_are_long(researcher: User) -> None:
    secrets = {api_token_create(actor=researcher, name=f"t{n}", scope="read")[1] for n in range(5)}

    assert len(secrets) == 5
    for secret in secrets:
        assert secret.startswith("cus_")
        assert len(secret) == 47  # "cus_" and 43 URL-safe characters: 256 random bits


def test_token_creation_is_audited_without_the_secret(researcher: User) -> None:
    token, secret = api_token_create(
        actor=researcher, name="htsget", scope="download", expires_in_days=30
    )

    event = AuditEvent.objects.get(action="api_token.create")
    assert (event.actor, event.object_type, event.object_id) == (
        researcher,
        "portal.apitoken",
        str(token.pk),
    )
    assert event.after == {
        "name": "htsget",
        "prefix": secret[:12],
        "scope": "download",
        "expires_at": token.expires_at.isoformat(),
    }
