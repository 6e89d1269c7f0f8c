"""portal.db: an ORM query compiled once gives the ORM's rows; prepared writes store what the
ORM would."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from portal.audit import audit_log
from portal.db import PreparedQuery, insert_prepared, update_prepared
from portal.models import ApiToken, AuditEvent, Notification, User
from portal.services import api_token_create

pytestmark = pytest.mark.django_db

TOKENS_OF = PreparedQuery(
    lambda: ApiToken.objects.select_related("user").filter(user_id=0).order_by("name")
)
ENTRY = PreparedQuery(lambda: AuditEvent.objects.filter(pk=0).filter(action=""))
LOCKED_IDS = PreparedQuery(lambda: User.objects.select_for_update().filter(pk=0).values_list("pk"))


def test_instances_carry_every_field_and_the_related_model_without_another_query(
    participant: User, researcher: User
) -> None:
    api_token_create(actor=participant, name="beta", scope="read")
    api_token_create(actor=participant, name="alpha", scope="write")
    api_token_create(actor=researcher, name="other", scope="read")

    with CaptureQueriesContext(connection) as queries:
        tokens = TOKENS_OF.rows(participant.pk)
        owners = [token.user.email for token in tokens]

    assert [token.name for token in tokens] == ["alpha", "beta"]
    assert [token.scope for token in tokens] == ["write", "read"]
    assert owners == [participant.email, participant.email]
    # One statement, owners included (a prepared statement bypasses Django's query log on
    # PostgreSQL; SQLite runs it through Django's cursor).
    assert len(queries) == (0 if connection.vendor == "postgresql" else 1)
    orm = ApiToken.objects.get(pk=tokens[0].pk)
    assert tokens[0].expires_at == orm.expires_at
    assert isinstance(tokens[0].expires_at, dt.datetime)
    assert tokens[0]._state.adding is False


def test_values_are_converted_as_the_orm_converts_them(participant: User) -> None:
    with transaction.atomic():
        event = audit_log(
            actor=participant,
            action="test.prepared",
            object_type="portal.thing",
            object_id="7",
            after={"answers": {"general": "yes"}, "n": 3},
        )

    found = ENTRY.first(event.pk, "test.prepared")

    assert found.after == {"answers": {"general": "yes"}, "n": 3}
    assert found.actor_id == participant.pk
    assert found.occurred_at == AuditEvent.objects.get(pk=event.pk).occurred_at
    assert ENTRY.first(event.pk, "another.action") is None


def test_a_values_list_query_gives_tuples_and_may_lock(participant: User) -> None:
    with transaction.atomic():
        assert LOCKED_IDS.rows(participant.pk) == [(participant.pk,)]
        assert LOCKED_IDS.rows(participant.pk + 1000) == []


def test_the_number_of_values_is_checked(participant: User) -> None:
    with pytest.raises(TypeError, match="2 parameters expected, 1 given"):
        ENTRY.rows(participant.pk)


def test_a_prepared_insert_stores_what_the_orm_would_and_sets_the_key(participant: User) -> None:
    notice = Notification(user=participant, message="Lliwiau ✓", url="/consent/")

    insert_prepared(notice)

    assert notice.pk is not None
    assert notice._state.adding is False
    stored = Notification.objects.get(pk=notice.pk)
    assert (stored.user_id, stored.message, stored.url) == (
        participant.pk,
        "Lliwiau ✓",
        "/consent/",
    )
    assert stored.created_at == notice.created_at
    assert stored.read_at is None


def test_a_prepared_update_changes_the_keyed_row_only(participant: User, researcher: User) -> None:
    mine = Notification.objects.create(user=participant, message="one")
    theirs = Notification.objects.create(user=researcher, message="two")
    read = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)

    changed = update_prepared(Notification, ("id", mine.pk), {"read_at": read, "user": researcher})

    assert changed == 1
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.read_at, mine.user_id) == (read, researcher.pk)
    assert (theirs.read_at, theirs.user_id) == (None, researcher.pk)
    assert update_prepared(Notification, ("id", theirs.pk + 1000), {"read_at": read}) == 0
