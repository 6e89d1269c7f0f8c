"""The access admin: deliveries, their files, participants and signed links, read-only.

They are written by the delivery services only (issuance audits every link, revocation is
delivery_revoke), so the admin shows them and never writes around a service.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from access.models import (
    Delivery,
    DeliveryFile,
    DeliveryParticipant,
    SignedLink,
    SigningOfficialConfirmation,
    VisaKey,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("pk", "accession", "dataset", "requested_by", "status", "created_at")
    list_filter = ("status",)
    list_select_related = ("grant__request", "grant__dataset", "requested_by")
    search_fields = ("grant__request__accession", "grant__dataset__accession")
    date_hierarchy = "created_at"

    @admin.display(description="Request", ordering="grant__request__accession")
    def accession(self, obj: Delivery) -> str:
        return obj.grant.request.accession or ""

    @admin.display(description="Dataset", ordering="grant__dataset__accession")
    def dataset(self, obj: Delivery) -> str:
        return obj.grant.dataset.accession or ""


@admin.register(DeliveryFile)
class DeliveryFileAdmin(ReadOnlyAdmin):
    list_display = ("name", "delivery", "size", "sha256", "is_index", "served_path")
    list_filter = ("delivery__status", "is_index")
    list_select_related = ("delivery",)
    search_fields = ("delivery__grant__request__accession", "name", "sha256")


@admin.register(DeliveryParticipant)
class DeliveryParticipantAdmin(ReadOnlyAdmin):
    list_display = ("delivery", "participant", "holder_told_at")
    list_filter = ("delivery__status",)
    list_select_related = ("delivery", "participant")
    search_fields = ("delivery__grant__request__accession", "participant__study_id")


class RevokedFilter(admin.SimpleListFilter):
    title = "revoked"
    parameter_name = "revoked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Revoked"), ("no", "Not revoked")]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() in {"yes", "no"}:
            return queryset.filter(revoked_at__isnull=self.value() == "no")
        return queryset


@admin.register(SignedLink)
class SignedLinkAdmin(ReadOnlyAdmin):
    list_display = ("pk", "delivery_file", "expires_at", "revoked_at", "created_at")
    list_filter = ("delivery_file__delivery__status", RevokedFilter)
    list_select_related = ("delivery_file",)
    search_fields = ("delivery_file__delivery__grant__request__accession",)


# Visa keys change only through `manage.py rotate_visa_key`; the encrypted private key and the
# officials' link tokens (hashed) are never shown.
@admin.register(VisaKey)
class VisaKeyAdmin(ReadOnlyAdmin):
    list_display = ("kid", "algorithm", "created_at", "retired_at", "published_until")
    list_filter = ("algorithm",)
    fields = ("kid", "algorithm", "public_jwk", "created_at", "retired_at", "published_until")


@admin.register(SigningOfficialConfirmation)
class SigningOfficialConfirmationAdmin(ReadOnlyAdmin):
    list_display = ("researcher", "official_email", "institution", "status", "asked_at")
    list_filter = ("status",)
    list_select_related = ("researcher",)
    search_fields = ("researcher__email", "official_email", "institution")
    fields = (
        "researcher",
        "official_name",
        "official_email",
        "institution",
        "status",
        "asked_at",
        "link_expires_at",
        "answered_at",
        "confirmed_at",
        "expires_at",
    )
