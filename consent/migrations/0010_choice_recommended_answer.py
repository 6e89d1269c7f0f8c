"""A version's default answer becomes a recommendation: it is shown, never preselected."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0009_current_consent_covering_index"),
    ]

    operations = [
        migrations.RenameField(
            model_name="consentchoice",
            old_name="default_answer",
            new_name="recommended_answer",
        ),
    ]
