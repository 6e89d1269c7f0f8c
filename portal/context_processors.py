from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portal.models import ROLE_PRIORITY, Notification, Role, User

# (label, url name) per role: the navigation shows only what the person's roles may use.
NAVIGATION: dict[str, list[tuple[Any, str]]] = {
    Role.PARTICIPANT: [
        (_("My consent"), "consent:home"),
        (_("Who used my data"), "access:data_use"),
    ],
    Role.RESEARCHER: [(_("My applications"), "access:researcher_home"), (_("API"), "api_docs")],
    Role.DAC_MEMBER: [(_("Review requests"), "access:dac_home")],
    Role.DAC_CHAIR: [(_("Review requests"), "access:dac_home")],
    Role.PROXY: [(_("People I act for"), "consent:proxy_home")],
    Role.STEWARD: [
        (_("Datasets"), "datasets:steward_home"),
        (_("Participants"), "consent:participants"),
        (_("Consent"), "consent:overview"),
        (_("Requests"), "access:steward_requests"),
        (_("Committees"), "access:steward_committees"),
        (_("API"), "api_docs"),
        (_("Administration"), "admin:index"),
    ],
}


def navigation_for(user: User, request: HttpRequest | None = None) -> list[tuple[Any, str]]:
    """The union of the menus of every role the user holds, in ROLE_PRIORITY order, each
    page once (a DAC chair who is also a member sees "Review requests" once); the
    administration only for someone who may use a page of it."""
    items: dict[str, tuple[Any, str]] = {}
    for role in ROLE_PRIORITY:
        if user.has_role(role):
            for label, url_name in NAVIGATION[role]:
                items.setdefault(url_name, (label, url_name))
    if "admin:index" in items and not (request is not None and _admin_usable(request)):
        del items["admin:index"]
    return list(items.values())


def _admin_usable(request: HttpRequest) -> bool:
    # What the admin's own index would list: a steward without any model permission would
    # find only "You don't have permission to view or edit anything".
    return admin.site.has_permission(request) and bool(admin.site.get_app_list(request))


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    signed_in = isinstance(user, User)
    return {
        "navigation": navigation_for(user, request) if isinstance(user, User) else [],
        # One indexed count per page (a partial index holds only unread notices).
        "unread_notices": (
            Notification.objects.filter(user=user, read_at__isnull=True).count() if signed_in else 0
        ),
        "require_otp": settings.CUSTODIAN_REQUIRE_OTP,
        "request_id": getattr(request, "request_id", ""),
    }
