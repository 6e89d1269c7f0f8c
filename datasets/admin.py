"""Admin for operators. Committees are written through the committee services (audited, and
appointing someone gives them the DAC member role); the name and kind stay once created."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from datasets import services
from datasets.models import Committee
from datasets.services.committees import DAC_ROLES
from portal.models import User


class CommitteeAdminForm(forms.ModelForm):
    class Meta:
        model = Committee
        fields = (
            "name",
            "kind",
            "contact_email",
            "description",
            "quorum",
            "recuse_same_institution",
            "chairs",
            "members",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chairs = list(cleaned.get("chairs") or [])
        if "chairs" in self.fields and not chairs:
            self.add_error("chairs", "A committee needs at least one chair.")
        if cleaned.get("quorum") == 0:
            self.add_error("quorum", "At least 1, or empty for a majority of the members.")
        if self.instance.pk is None:
            # Appointing someone to an existing committee gives them the DAC member role;
            # a new committee is made only of people who already hold a DAC role.
            people = [*chairs, *(cleaned.get("members") or [])]
            outsiders = sorted({user.email for user in people if not user.has_role(*DAC_ROLES)})
            if outsiders:
                self.add_error(
                    "members",
                    "Only people with the DAC member or DAC chair role can sit on a new "
                    "committee: " + ", ".join(outsiders),
                )
        return cleaned


@admin.register(Committee)
class CommitteeAdmin(admin.ModelAdmin):
    form = CommitteeAdminForm
    list_display = ("name", "kind", "contact_email", "quorum", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "contact_email")
    filter_horizontal = ("chairs", "members")

    def get_readonly_fields(self, request: HttpRequest, obj: Committee | None = None) -> Any:
        # Requests and decisions cite the committee by name; a DAC never becomes a community.
        return ("name", "kind", "created_at") if obj is not None else ("created_at",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Datasets, samples and decisions refer to the committee for good.
        return False

    def save_model(self, request: HttpRequest, obj: Committee, form: Any, change: bool) -> None:
        actor: User = request.user  # type: ignore[assignment]
        data = form.cleaned_data
        if not change:
            created = services.committee_create(
                actor=actor,
                name=data["name"],
                contact_email=data["contact_email"],
                chairs=data["chairs"],
                members=data["members"],
                kind=data["kind"],
                quorum=data["quorum"],
                recuse_same_institution=data["recuse_same_institution"],
                description=data["description"],
            )
            obj.pk, obj.created_at = created.pk, created.created_at
            return
        services.committee_update(
            actor=actor,
            committee=obj,
            contact_email=data["contact_email"],
            quorum=data["quorum"],
            recuse_same_institution=data["recuse_same_institution"],
            description=data["description"],
        )
        self._people_update(actor, obj, set(data["chairs"]), set(data["members"]))

    def _people_update(
        self, actor: User, committee: Committee, chairs: set[User], members: set[User]
    ) -> None:
        old_chairs, old_members = set(committee.chairs.all()), set(committee.members.all())
        members |= chairs
        # New chairs first, so that replacing the only chair never leaves the committee
        # without one in between.
        for user in sorted(chairs - old_chairs, key=lambda u: u.pk):
            services.committee_member_add(actor=actor, committee=committee, user=user, chair=True)
        for user in sorted(members - old_members - chairs, key=lambda u: u.pk):
            services.committee_member_add(actor=actor, committee=committee, user=user)
        for user in sorted((old_members - members) | (old_chairs - chairs), key=lambda u: u.pk):
            services.committee_member_remove(actor=actor, committee=committee, user=user)
            if user in members:
                # No longer a chair but still a member: removed, then appointed again.
                services.committee_member_add(actor=actor, committee=committee, user=user)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Chairs and members were written by the services in save_model.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
