from __future__ import annotations

from django.db import migrations

# 1. The sealer's tables are append-only like the ledger itself (custodian_refuse_change is
#    defined in 0002).
# 2. An audit entry's id is drawn only after its transaction has a transaction id. The
#    sealer's rule for late commits (portal/ledger.py) relies on it: whoever holds an id
#    drawn before the sealer read the sequence has a transaction id below the xmax of the
#    sealer's snapshot. The column default's value is drawn first and thrown away: ids have
#    gaps, as they already do after a rollback.
CREATE = """
CREATE TRIGGER portal_ledgerleaf_append_only
    BEFORE UPDATE OR DELETE ON portal_ledgerleaf
    FOR EACH ROW EXECUTE FUNCTION custodian_refuse_change();
CREATE TRIGGER portal_ledgercheckpoint_append_only
    BEFORE UPDATE OR DELETE ON portal_ledgercheckpoint
    FOR EACH ROW EXECUTE FUNCTION custodian_refuse_change();
CREATE OR REPLACE FUNCTION custodian_audit_id_after_xid() RETURNS trigger AS $$
BEGIN
    PERFORM pg_current_xact_id();
    NEW.id := nextval('{sequence}');
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER portal_auditevent_id_after_xid
    BEFORE INSERT ON portal_auditevent
    FOR EACH ROW EXECUTE FUNCTION custodian_audit_id_after_xid();
"""
DROP = """
DROP TRIGGER IF EXISTS portal_auditevent_id_after_xid ON portal_auditevent;
DROP FUNCTION IF EXISTS custodian_audit_id_after_xid();
DROP TRIGGER IF EXISTS portal_ledgercheckpoint_append_only ON portal_ledgercheckpoint;
DROP TRIGGER IF EXISTS portal_ledgerleaf_append_only ON portal_ledgerleaf;
"""


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('portal_auditevent', 'id')")
        (sequence,) = cursor.fetchone()
    schema_editor.execute(CREATE.replace("{sequence}", sequence), params=None)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("portal", "0009_ledger_tree")]
    operations = [migrations.RunPython(forwards, backwards)]
