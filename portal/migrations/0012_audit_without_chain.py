from __future__ import annotations

from django.db import migrations, models

# 1. The per-entry SHA-256 chain goes: it made every audited write in the portal wait for the
#    one before it (a global lock), and proved nothing against the database's owner, who could
#    recompute it. The transparency log's leaves and signed checkpoints replace it. Existing
#    entries need no data migration: the sealer seals every entry without a leaf in id order,
#    SEAL_BATCH per run (portal/ledger.py), so the backlog is in the tree a few runs after
#    deployment.
# 2. TRUNCATE is refused on the ledger's tables like UPDATE and DELETE (0002, 0010, 0011). A
#    superuser can still switch triggers off (session_replication_role, ALTER TABLE ... DISABLE
#    TRIGGER); the checkpoints kept outside the database are what make that evident.
CREATE = """
CREATE TRIGGER portal_auditevent_no_truncate
    BEFORE TRUNCATE ON portal_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION custodian_refuse_change();
CREATE TRIGGER portal_ledgerleaf_no_truncate
    BEFORE TRUNCATE ON portal_ledgerleaf
    FOR EACH STATEMENT EXECUTE FUNCTION custodian_refuse_change();
CREATE TRIGGER portal_ledgernode_no_truncate
    BEFORE TRUNCATE ON portal_ledgernode
    FOR EACH STATEMENT EXECUTE FUNCTION custodian_refuse_change();
CREATE TRIGGER portal_ledgercheckpoint_no_truncate
    BEFORE TRUNCATE ON portal_ledgercheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION custodian_refuse_change();
"""
DROP = """
DROP TRIGGER IF EXISTS portal_ledgercheckpoint_no_truncate ON portal_ledgercheckpoint;
DROP TRIGGER IF EXISTS portal_ledgernode_no_truncate ON portal_ledgernode;
DROP TRIGGER IF EXISTS portal_ledgerleaf_no_truncate ON portal_ledgerleaf;
DROP TRIGGER IF EXISTS portal_auditevent_no_truncate ON portal_auditevent;
"""


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("portal", "0011_ledger_nodes_witnesses")]

    operations = [
        migrations.RemoveField(model_name="auditevent", name="entry_hash"),
        migrations.RemoveField(model_name="auditevent", name="previous_hash"),
        migrations.AddField(
            model_name="auditevent",
            name="changes_state",
            field=models.BooleanField(db_default=True, default=True),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("changes_state", True)),
                fields=["id"],
                name="portal_audit_changes_state",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
