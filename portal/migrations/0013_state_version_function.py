from __future__ import annotations

from django.db import migrations

# portal.audit.state_version as one function: inlined, its subqueries cost a third of a
# millisecond to plan on every unprepared statement that reads it (a signed link's every
# Range request, a session's DRS request); PL/pgSQL keeps its plans per connection. STABLE, so
# its reads and its snapshot are those of the statement that calls it, like the other columns
# read beside it (the reasoning is in state_version_sql's docstring).
CREATE = """
CREATE OR REPLACE FUNCTION custodian_state_version() RETURNS text AS $$
DECLARE
    newest bigint;
    settled bigint;
BEGIN
    SELECT id INTO newest FROM portal_auditevent WHERE changes_state ORDER BY id DESC LIMIT 1;
    IF newest IS NULL THEN
        RETURN '0';
    END IF;
    SELECT sealed_through INTO settled FROM portal_ledgerstate WHERE id = 1;
    IF newest <= COALESCE(settled, 0) THEN
        RETURN newest::text;
    END IF;
    RETURN newest::text || '@' || md5(pg_current_snapshot()::text);
END;
$$ LANGUAGE plpgsql STABLE;
"""
DROP = "DROP FUNCTION IF EXISTS custodian_state_version();"


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("portal", "0012_audit_without_chain")]
    operations = [migrations.RunPython(forwards, backwards)]
