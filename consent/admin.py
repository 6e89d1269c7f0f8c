"""Admin for operators: every consent model is shown, none is written here.

Each write already has a page that goes through its service (checked, locked, audited):
documents, versions and publishing under /consent/documents/, participants' enrolment and
guardians under /consent/participants/, records through the participant's own pages. A
second write path here would need its own copy of every check, and copies drift apart.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from consent.models import (
    ComprehensionQuestion,
    ConsentChoice,
    ConsentDocument,
    ConsentQuestion,
    ConsentReceipt,
    ConsentRecord,
    ConsentSection,
    ConsentVersion,
    CurrentConsent,
    Participant,
    ParticipantProxy,
)


class _ReadOnly:
    """Shown, never written: these rows are written only by the consent services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(_ReadOnly, admin.ModelAdmin):
    pass


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyAdmin):
    list_display = ("study_id", "user", "language", "date_of_birth", "enrolled_at")
    list_select_related = ("user",)
    search_fields = ("study_id", "user__email")


# --- documents and versions ----------------------------------------------------------------------


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(ReadOnlyAdmin):
    list_display = ("name", "country", "created_at")
    search_fields = ("name",)


class SectionInline(_ReadOnly, admin.StackedInline):
    model = ConsentSection
    extra = 0


class QuestionInline(_ReadOnly, admin.StackedInline):
    model = ComprehensionQuestion
    extra = 0


class ChoiceInline(_ReadOnly, admin.StackedInline):
    model = ConsentChoice
    extra = 0


@admin.register(ConsentVersion)
class ConsentVersionAdmin(ReadOnlyAdmin):
    list_display = ("document", "number", "language", "title", "status", "requires_reconsent")
    list_filter = ("status", "language", "document")
    list_select_related = ("document",)
    search_fields = ("title", "document__name")
    inlines = (SectionInline, QuestionInline, ChoiceInline)


# --- records and their projection -----------------------------------------------------------------


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ("participant", "sequence", "kind", "version", "channel", "created_at")
    list_filter = ("kind", "channel", "withdrawal_level")
    list_select_related = ("participant", "version__document")
    search_fields = ("participant__study_id", "record_hash")
    date_hierarchy = "created_at"


@admin.register(CurrentConsent)
class CurrentConsentAdmin(ReadOnlyAdmin):
    list_display = ("participant", "status", "suspended", "version", "sequence", "updated_at")
    list_filter = ("status", "suspended", "permits_gru", "permits_hmb", "permits_poa")
    list_select_related = ("participant", "version__document")
    search_fields = ("participant__study_id",)


@admin.register(ParticipantProxy)
class ParticipantProxyAdmin(ReadOnlyAdmin):
    list_display = ("participant", "proxy", "relationship", "linked_at", "ended_at")
    list_select_related = ("participant", "proxy")
    search_fields = ("participant__study_id", "proxy__email")


@admin.register(ConsentReceipt)
class ConsentReceiptAdmin(ReadOnlyAdmin):
    list_display = ("record", "sha256", "created_at", "emailed_at")
    list_select_related = ("record__participant",)
    exclude = ("pdf",)
    search_fields = ("sha256", "record__participant__study_id")


@admin.register(ConsentQuestion)
class ConsentQuestionAdmin(ReadOnlyAdmin):
    list_display = ("participant", "choice_key", "request_title", "status", "answer", "created_at")
    list_filter = ("status", "answer", "choice_key")
    list_select_related = ("participant",)
    search_fields = ("participant__study_id", "request_title")
