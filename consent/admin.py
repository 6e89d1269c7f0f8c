from __future__ import annotations

from django.contrib import admin

from consent.models import Participant


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ("study_id", "user", "language", "date_of_birth", "enrolled_at")
    search_fields = ("study_id", "user__email")
    raw_id_fields = ("user", "enrolled_by")
