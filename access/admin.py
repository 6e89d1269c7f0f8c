from __future__ import annotations

from django.contrib import admin

from access.models import Committee


@admin.register(Committee)
class CommitteeAdmin(admin.ModelAdmin):
    list_display = ("name", "contact_email", "created_at")
    filter_horizontal = ("chairs", "members")
