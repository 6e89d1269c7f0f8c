"""Forms of the committee and steward pages: queue filters, votes, decisions, revocation,
committees, membership and agreements. They check shapes; the services decide."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms

from access.models import RequestStatus, ReviewDecision, VoteChoice
from access.selectors.committees import user_by_email
from datasets.models import CommitteeKind, Dataset
from portal.models import User

STATE_CHOICES = [("", "Any state")] + [
    (value, label) for value, label in RequestStatus.choices if value != RequestStatus.DRAFT
]


class QueueFilterForm(forms.Form):
    state = forms.ChoiceField(choices=STATE_CHOICES, required=False)
    dataset = forms.ChoiceField(required=False)
    waiting = forms.BooleanField(label="Only requests waiting for my vote", required=False)

    def __init__(self, *args: Any, datasets: list[Dataset], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["dataset"]).choices = [("", "Any dataset")] + [
            (d.accession, f"{d.accession}: {d.title}") for d in datasets
        ]

    def filters(self) -> dict[str, Any]:
        """The selector's arguments; an invalid filter falls back to "everything"."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "state": data.get("state") or "",
            "dataset": data.get("dataset") or "",
            "waiting_for_me": bool(data.get("waiting")),
        }


def page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and int(value) > 0 else 1


class StateFilterForm(forms.Form):
    state = forms.ChoiceField(choices=[("", "Any state"), *RequestStatus.choices], required=False)

    def state_value(self) -> str:
        return (self.cleaned_data.get("state") or "") if self.is_valid() else ""


class VoteForm(forms.Form):
    choice = forms.ChoiceField(
        label="Your vote", choices=VoteChoice.choices, widget=forms.RadioSelect
    )
    rationale = forms.CharField(
        label="Rationale",
        help_text="The committee and the data stewards see it; the applicants do not.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label="Decision", widget=forms.RadioSelect)
    comment = forms.CharField(
        label="Comment to the applicants",
        required=False,
        help_text="Required when returning the request: say what should change.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    justification = forms.CharField(
        label="Justification",
        required=False,
        help_text="Required when the decision departs from the automated match.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    grant_end = forms.DateField(
        label="Access ends on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The last day of use (approval only).",
    )
    conditions = forms.CharField(
        label="Conditions of the approval",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, community: bool, grant_end: dt.date | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        decisions = [ReviewDecision.APPROVED, ReviewDecision.REJECTED]
        if community:
            # A community approves or rejects the use of its members' data; no grant end.
            del self.fields["grant_end"]
            self.fields["comment"].help_text = ""
        else:
            decisions.append(ReviewDecision.RETURNED)
            self.fields["grant_end"].initial = grant_end
            if grant_end:
                self.fields[
                    "grant_end"
                ].help_text = (
                    f"The last day of use (approval only). Default: {grant_end:%-d %B %Y}."
                )
        labels = {
            ReviewDecision.APPROVED: "Approve",
            ReviewDecision.REJECTED: "Reject",
            ReviewDecision.RETURNED: "Return to the applicants for changes",
        }
        cast(forms.ChoiceField, self.fields["decision"]).choices = [
            (d.value, labels[d]) for d in decisions
        ]

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "decision": data["decision"],
            "comment": data["comment"],
            "justification": data["justification"],
            "grant_end": data.get("grant_end"),
            "conditions": data["conditions"],
        }


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        help_text="The researchers will see it.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


# --- stewards ---------------------------------------------------------------------------


def _people(text: str) -> tuple[list[User], list[str]]:
    """Users for a list of emails (commas, spaces or lines), and the emails nobody holds."""
    users, unknown = [], []
    for email in text.replace(",", " ").split():
        user = user_by_email(email)
        if user is None:
            unknown.append(email)
        else:
            users.append(user)
    return users, unknown


class CommitteeSettingsForm(forms.Form):
    contact_email = forms.EmailField()
    quorum = forms.IntegerField(
        min_value=1,
        required=False,
        help_text="Votes a decision needs. Empty: a majority of the members who may vote.",
    )
    recuse_same_institution = forms.BooleanField(
        label="Members from the applicant's institution are recused", required=False
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    field_order: tuple[str, ...] = (
        "contact_email",
        "quorum",
        "recuse_same_institution",
        "description",
    )


class CommitteeCreateForm(CommitteeSettingsForm):
    field_order = (
        "name",
        "kind",
        "contact_email",
        "chairs",
        "members",
        "quorum",
        "recuse_same_institution",
        "description",
    )
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=CommitteeKind.choices, initial=CommitteeKind.DAC)
    chairs = forms.CharField(
        label="Chairs", help_text="Email addresses of registered people, separated by commas."
    )
    members = forms.CharField(
        label="Other members",
        required=False,
        help_text="Email addresses, separated by commas. Chairs are members too.",
    )

    def clean_chairs(self) -> list[User]:
        users, unknown = _people(self.cleaned_data["chairs"])
        if unknown:
            raise forms.ValidationError(f"Nobody is registered as {', '.join(unknown)}.")
        return users

    def clean_members(self) -> list[User]:
        users, unknown = _people(self.cleaned_data["members"])
        if unknown:
            raise forms.ValidationError(f"Nobody is registered as {', '.join(unknown)}.")
        return users


class MemberAddForm(forms.Form):
    email = forms.EmailField(label="Email address of a registered person")
    chair = forms.BooleanField(label="Chair", required=False)

    def clean_email(self) -> User:
        user = user_by_email(self.cleaned_data["email"])
        if user is None:
            raise forms.ValidationError(
                f"Nobody is registered as {self.cleaned_data['email']}: they must register first."
            )
        return user


class MemberForm(forms.Form):
    """Remove a member, or make them chair: the member's id, from the membership table."""

    user_id = forms.IntegerField(widget=forms.HiddenInput)


class AgreementForm(forms.Form):
    text = forms.CharField(
        label="Text of the new version",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Requests accept the newest version; earlier acceptances stay recorded.",
    )
