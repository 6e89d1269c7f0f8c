"""Admin for operators. Every write to an account goes through a service (locked and
audited): details through `user_update` (deactivating an account ends its API tokens),
roles through `user_roles_set`, a password through `user_password_set`, a new account
through `user_create`. Accounts are never deleted: the ledger names them for good."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import (
    AdminPasswordChangeForm,
    AdminUserCreationForm,
    UserChangeForm,
)
from django.http import HttpRequest, HttpResponse

from portal.exceptions import PortalError
from portal.models import ROLE_PRIORITY, ApiToken, AuditEvent, LedgerWitnessPush, Role, User
from portal.services import (
    USER_DETAIL_FIELDS,
    user_create,
    user_password_set,
    user_roles_set,
    user_update,
)

# The operator changing a password, for the password form's save (the admin builds that form
# without the request); a context variable, so concurrent requests never see each other's.
_password_actor: ContextVar[User] = ContextVar("password_actor")


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


class PasswordSetForm(AdminPasswordChangeForm):
    def save(self, commit: bool = True) -> User:
        password = (
            self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        )
        return user_password_set(actor=_password_actor.get(), user=self.user, password=password)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserRolesChangeForm
    add_form = UserRolesCreationForm
    change_password_form = PasswordSetForm
    ordering = ("email",)
    list_display = ("email", "full_name", "roles_display", "is_active", "email_verified")
    list_filter = ("is_active", "is_staff")
    search_fields = ("email", "full_name")
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "institution", "roles")}),
        ("Status", {"fields": ("is_active", "email_verified", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"fields": ("email", "full_name", "roles", "password1", "password2")}),)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        reset = _password_actor.set(request.user)  # type: ignore[arg-type]
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _password_actor.reset(reset)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        actor: User = request.user  # type: ignore[assignment]
        roles = list(form.cleaned_data["roles"])
        if not change:
            # The creation form has hashed the password (or made it unusable) on `obj`.
            first = next(role for role in ROLE_PRIORITY if role in roles)
            created = user_create(
                actor=actor,
                email=obj.email,
                full_name=obj.full_name,
                role=first,
                password_hash=obj.password,
            )
            obj.pk, obj._state.adding = created.pk, False
            if len(roles) > 1:
                user_roles_set(actor=actor, user=created, roles=roles)
            return
        changes = {
            name: form.cleaned_data[name]
            for name in USER_DETAIL_FIELDS
            if name in form.changed_data
        }
        try:
            user_update(actor=actor, user=obj, changes=changes)
            if "roles" in form.changed_data:
                user_roles_set(actor=actor, user=obj, roles=roles)
        except PortalError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Groups and permissions are not used (roles are); nothing else to save.
        return


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


@admin.register(LedgerWitnessPush)
class LedgerWitnessPushAdmin(admin.ModelAdmin):
    """Read-only: the push tasks write these; operators see which witness keeps failing."""

    list_display = ("witness", "checkpoint", "status", "attempts", "updated_at", "last_error")
    list_filter = ("status", "witness")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
