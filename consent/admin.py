"""Admin for operators. Consent records and their projection are read-only here; a version
is edited only while it is a draft and is published through the same service as the
steward's page (so supersession, re-consent emails and suspension happen the same way)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from consent import services
from consent.models import (
    Answer,
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
    VersionStatus,
)
from portal.audit import audit_log
from portal.exceptions import PortalError


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ("study_id", "user", "language", "date_of_birth", "enrolled_at")
    search_fields = ("study_id", "user__email")
    raw_id_fields = ("user", "enrolled_by")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never written: these rows are written only by the consent services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- documents and versions ----------------------------------------------------------------------


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(admin.ModelAdmin):
    list_display = ("name", "country", "created_at")
    search_fields = ("name",)
    readonly_fields = ("created_at",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Versions and the consent given to them refer to the document for good.
        return False

    def save_model(
        self, request: HttpRequest, obj: ConsentDocument, form: Any, change: bool
    ) -> None:
        obj.country = obj.country.strip().upper()
        super().save_model(request, obj, form, change)
        audit_log(
            actor=request.user,  # type: ignore[arg-type]
            action="consent_document.change" if change else "consent_document.create",
            target=obj,
            after={"name": obj.name, "country": obj.country, "via": "admin"},
        )


class _DraftOnlyInline:
    """Inlines of a version: editable while the version is a draft, read-only after."""

    extra = 0

    def _editable(self, obj: ConsentVersion | None) -> bool:
        return obj is None or obj.status == VersionStatus.DRAFT

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)  # type: ignore[misc]


class SectionInline(_DraftOnlyInline, admin.StackedInline):
    model = ConsentSection


class QuestionInlineForm(forms.ModelForm):
    class Meta:
        model = ComprehensionQuestion
        fields = ("order", "text", "options", "correct_option", "explanation")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        options = cleaned.get("options")
        if options is not None and (
            not isinstance(options, list)
            or len(options) < 2
            or not all(isinstance(o, str) and o.strip() for o in options)
        ):
            self.add_error("options", 'A list of at least two answers: ["Yes", "No"].')
        elif options is not None and not 0 <= cleaned.get("correct_option", -1) < len(options):
            self.add_error(
                "correct_option", f"The number of the right answer, 0 to {len(options) - 1}."
            )
        return cleaned


class QuestionInline(_DraftOnlyInline, admin.StackedInline):
    model = ComprehensionQuestion
    form = QuestionInlineForm


class ChoiceInlineForm(forms.ModelForm):
    class Meta:
        model = ConsentChoice
        fields = (
            "order",
            "key",
            "question",
            "explanation",
            "meaning",
            "allowed_answers",
            "recommended_answer",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        allowed = cleaned.get("allowed_answers")
        if allowed is not None and (
            not isinstance(allowed, list)
            or not allowed
            or not set(allowed) <= set(Answer.values)
            or len(set(allowed)) != len(allowed)
        ):
            self.add_error(
                "allowed_answers", 'Some of "yes", "no", "ask", as a list: ["yes", "no"].'
            )
        elif (
            allowed
            and cleaned.get("recommended_answer")
            and cleaned["recommended_answer"] not in allowed
        ):
            self.add_error(
                "recommended_answer", "The recommended answer must be one of the allowed answers."
            )
        return cleaned


class ChoiceInline(_DraftOnlyInline, admin.StackedInline):
    model = ConsentChoice
    form = ChoiceInlineForm


@admin.action(description="Publish the selected drafts")
def publish_versions(
    modeladmin: ConsentVersionAdmin, request: HttpRequest, queryset: QuerySet[ConsentVersion]
) -> None:
    _publish(modeladmin, request, queryset, suspends_previous=False)


@admin.action(description="Publish the selected drafts, suspending older consent until re-consent")
def publish_versions_suspending(
    modeladmin: ConsentVersionAdmin, request: HttpRequest, queryset: QuerySet[ConsentVersion]
) -> None:
    _publish(modeladmin, request, queryset, suspends_previous=True)


def _publish(
    modeladmin: ConsentVersionAdmin,
    request: HttpRequest,
    queryset: QuerySet[ConsentVersion],
    *,
    suspends_previous: bool,
) -> None:
    for version in queryset.select_related("document").order_by("number"):
        try:
            published = services.consent_version_publish(
                actor=request.user,  # type: ignore[arg-type]
                version=version,
                suspends_previous=suspends_previous,
            )
        except PortalError as exc:
            modeladmin.message_user(request, f"{version}: {exc.message}", messages.ERROR)
        else:
            note = " (re-consent required)" if published.requires_reconsent else ""
            modeladmin.message_user(request, f"{version} is published{note}.", messages.SUCCESS)


@admin.register(ConsentVersion)
class ConsentVersionAdmin(admin.ModelAdmin):
    list_display = ("document", "number", "language", "title", "status", "requires_reconsent")
    list_filter = ("status", "language", "document")
    list_select_related = ("document",)
    search_fields = ("title", "document__name")
    inlines = (SectionInline, QuestionInline, ChoiceInline)
    actions = (publish_versions, publish_versions_suspending)
    fields = (
        "document",
        "number",
        "language",
        "title",
        "summary",
        "body",
        "status",
        "requires_reconsent",
        "suspends_previous",
        "created_at",
        "created_by",
        "published_at",
    )
    _always_read_only = (
        "status",
        "requires_reconsent",
        "suspends_previous",
        "created_at",
        "created_by",
        "published_at",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.status != VersionStatus.DRAFT:
            return self.fields
        if obj is not None:
            return (*self._always_read_only, "document")
        return self._always_read_only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only a draft may go: nobody has read or signed it.
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.status == VersionStatus.DRAFT)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ConsentVersion]) -> None:
        super().delete_queryset(request, queryset.filter(status=VersionStatus.DRAFT))

    def save_model(
        self, request: HttpRequest, obj: ConsentVersion, form: Any, change: bool
    ) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
        audit_log(
            actor=request.user,  # type: ignore[arg-type]
            action="consent_version.change" if change else "consent_version.create",
            target=obj,
            after={"number": obj.number, "language": obj.language, "via": "admin"},
        )


# --- records and their projection: read-only ------------------------------------------------------


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
