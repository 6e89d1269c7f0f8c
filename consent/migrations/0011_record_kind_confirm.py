"""A record kind for a young person who came of age making their guardian's choices their own."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0010_choice_recommended_answer"),
    ]

    operations = [
        migrations.AlterField(
            model_name="consentrecord",
            name="kind",
            field=models.CharField(
                choices=[
                    ("consent", "First consent"),
                    ("change", "Change of choices"),
                    ("reconsent", "Consent to a new version"),
                    ("withdrawal", "Withdrawal"),
                    ("confirm", "Own consent at coming of age"),
                ],
                max_length=12,
            ),
        ),
    ]
