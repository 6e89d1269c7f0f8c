from django.db import migrations, models


def roles_from_role(apps, schema_editor):
    User = apps.get_model("portal", "User")
    for user in User.objects.all().only("pk", "role"):
        User.objects.filter(pk=user.pk).update(roles=[user.role] if user.role else [])


class Migration(migrations.Migration):
    """A person may hold several roles: the single `role` becomes the list `roles`."""

    dependencies = [
        ("portal", "0003_proxy"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="roles",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(roles_from_role, migrations.RunPython.noop),
        migrations.RemoveField(model_name="user", name="role"),
    ]
