from __future__ import annotations

from django.db import migrations

# Consent records are append-only, like the audit ledger (the function is portal's).
CREATE = """
CREATE TRIGGER consent_consentrecord_append_only
    BEFORE UPDATE OR DELETE ON consent_consentrecord
    FOR EACH ROW EXECUTE FUNCTION custodian_refuse_change();
"""
DROP = "DROP TRIGGER IF EXISTS consent_consentrecord_append_only ON consent_consentrecord;"


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0003_consent_documents_records"),
        ("portal", "0002_audit_ledger_append_only"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
