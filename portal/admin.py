"""Admin for operators. A person's roles change only through `user_roles_set` (audited);
deactivating an account revokes its API tokens (`api_tokens_revoke_all`, audited)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest

from portal.exceptions import PortalError
from portal.models import ApiToken, AuditEvent, Role, User
from portal.services import api_tokens_revoke_all, user_roles_set


def _roles_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="A person may hold several roles; /home/ opens the highest of them.",
    )


class UserRolesChangeForm(UserChangeForm):
    roles = _roles_field()


class UserRolesCreationForm(AdminUserCreationForm):
    roles = _roles_field()


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserRolesChangeForm
    add_form = UserRolesCreationForm
    ordering = ("email",)
    list_display = ("email", "full_name", "roles_display", "is_active", "email_verified")
    list_filter = ("is_active", "is_staff")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "institution", "roles")}),
        ("Status", {"fields": ("is_active", "email_verified", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"fields": ("email", "full_name", "roles", "password1", "password2")}),)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        roles_changed = not change or "roles" in form.changed_data
        if roles_changed:
            # The roles are written by the service below (locked and audited), not here.
            obj.roles = list(form.initial.get("roles") or []) if change else []
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            # A deactivated account's tokens end for good, even if it is reactivated later.
            api_tokens_revoke_all(
                actor=request.user,  # type: ignore[arg-type]
                user=obj,
                reason="account deactivated",
            )
        if roles_changed:
            try:
                user_roles_set(
                    actor=request.user,  # type: ignore[arg-type]
                    user=obj,
                    roles=form.cleaned_data["roles"],
                )
            except PortalError as exc:
                self.message_user(request, exc.message, messages.ERROR)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the ledger is append-only."""

    list_display = ("id", "occurred_at", "actor_label", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "actor_label", "request_id")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only: people create and revoke their tokens themselves; only digests are stored."""

    list_display = ("name", "prefix", "user", "scope", "created_at", "expires_at", "revoked_at")
    list_filter = ("scope",)
    search_fields = ("user__email", "name", "prefix")
    exclude = ("digest", "password_stamp")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
