"""Personal API tokens, stored hashed; DRF's plain-text tokens become hashed ones.

Each key of `rest_framework.authtoken` (if its table exists) becomes an ApiToken with the
same secret (clients keep working), the `write` scope it effectively had, and the default
90-day expiry; then the plain-text table is dropped and the app forgotten, so no readable
secret stays in the database.
"""

from datetime import timedelta

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

from portal.tokens import api_token_digest, api_token_prefix, password_stamp


def _convert_drf_tokens(apps, schema_editor):  # type: ignore[no-untyped-def]
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    user_model = apps.get_model("portal", "User")
    api_token = apps.get_model("portal", "ApiToken")
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id FROM authtoken_token")
        rows = cursor.fetchall()
    users = user_model.objects.in_bulk([user_id for _, user_id in rows])
    api_token.objects.bulk_create(
        api_token(
            user_id=user_id,
            name="Token from before named tokens",
            prefix=api_token_prefix(key),
            digest=api_token_digest(key),
            scope="write",
            password_stamp=password_stamp(users[user_id]),
            created_at=now,
            expires_at=now + timedelta(days=90),
        )
        for key, user_id in rows
    )
    schema_editor.execute("DROP TABLE authtoken_token")
    schema_editor.execute("DELETE FROM django_migrations WHERE app = 'authtoken'")


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0005_notification"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                ("prefix", models.CharField(db_index=True, max_length=12)),
                ("digest", models.CharField(max_length=64, unique=True)),
                (
                    "scope",
                    models.CharField(
                        choices=[
                            ("read", "Read only"),
                            ("download", "Read and download"),
                            ("write", "Read, download and change"),
                        ],
                        max_length=10,
                    ),
                ),
                ("password_stamp", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("expires_at", models.DateTimeField()),
                ("last_used_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("expires_at__gt", models.F("created_at"))),
                        name="portal_apitoken_expires_after_creation",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("scope__in", ["read", "download", "write"])),
                        name="portal_apitoken_scope_valid",
                    ),
                ],
            },
        ),
        migrations.RunPython(_convert_drf_tokens, migrations.RunPython.noop),
    ]
