"""The prebuilt token lookup gives the token and its owner as the ORM reads them, on
PostgreSQL and on SQLite (where it once gave dates as text, and every API call failed)."""

from __future__ import annotations

import pytest

from portal.models import ApiToken, User
from portal.selectors import api_tokens_with_prefix
from portal.services import api_token_create

pytestmark = pytest.mark.django_db


def test_the_lookup_reads_every_field_as_the_orm_does(researcher: User) -> None:
    token, _ = api_token_create(actor=researcher, name="laptop", scope="read", expires_in_days=7)

    (found,) = api_tokens_with_prefix(token.prefix)

    orm = ApiToken.objects.select_related("user").get(pk=token.pk)
    for field in ApiToken._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(orm, field.attname), field.name
    for field in User._meta.concrete_fields:
        assert getattr(found.user, field.attname) == getattr(orm.user, field.attname), field.name
    assert found.expires_at.tzinfo is not None
    assert found.user.is_active is True
