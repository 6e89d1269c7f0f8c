from __future__ import annotations

from django.db import migrations

# The ledger is append-only: PostgreSQL refuses UPDATE and DELETE on it for every client,
# including the portal itself. (TRUNCATE stays possible for the test runner's flush.)
CREATE = """
CREATE OR REPLACE FUNCTION custodian_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'custodian: % on %.% is refused: the table is append-only',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER portal_auditevent_append_only
    BEFORE UPDATE OR DELETE ON portal_auditevent
    FOR EACH ROW EXECUTE FUNCTION custodian_refuse_change();
"""
DROP = "DROP TRIGGER IF EXISTS portal_auditevent_append_only ON portal_auditevent;"


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
