"""The researcher's forms: one per wizard step, and the small forms of the request page.

The fields are lenient on purpose: a draft saves whatever was typed, and the service is the
one place that checks values (its errors come back by field and are shown beside them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.conf import settings
from django.forms.boundfield import BoundWidget

from access.models import AccessRequest, PrimaryUse, SensitiveArea
from consent.duo import get_ontology
from datasets.models import Dataset

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


def _text(label: str, *, rows: int = 0, help_text: str = "", **kwargs: Any) -> forms.CharField:
    widget = kwargs.pop("widget", None) or (
        forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput
    )
    return forms.CharField(
        label=label, required=False, widget=widget, help_text=help_text, **kwargs
    )


class StepForm(forms.Form):
    """A wizard step: saves its own fields of the request, nothing else."""

    # Every field may stay empty in a draft; submission_problems() says what is missing.
    all_optional = True

    def __init__(self, *args: Any, access_request: AccessRequest | None = None, **kwargs: Any):
        if access_request is not None and not args and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(access_request)
        super().__init__(*args, **kwargs)

    def initial_from(self, access_request: AccessRequest) -> dict[str, Any]:
        return {name: getattr(access_request, name) for name in self.base_fields}

    def service_arguments(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class ProjectForm(StepForm):
    title = _text("Project title", max_length=300)
    lay_summary = _text(
        "Lay summary",
        rows=5,
        help_text="In plain words: participants read it on their “who used my data” page.",
    )
    scientific_abstract = _text("Scientific abstract", rows=8)


def _disease_choices() -> list[tuple[str, str]]:
    terms = sorted(get_ontology(), key=lambda t: t.label.casefold())  # type: ignore[call-overload]
    return [(t.id, f"{t.label} ({t.id})") for t in terms]


class PurposeForm(StepForm):
    primary_use = forms.ChoiceField(
        label="Primary use of the data",
        required=False,
        choices=PrimaryUse.choices,
        widget=forms.RadioSelect,
    )
    diseases = forms.MultipleChoiceField(
        label="Diseases studied",
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text="Only for research on specific diseases (DS). Hold Ctrl (⌘ on a Mac) to "
        "choose several.",
    )
    methods_development = forms.BooleanField(
        label="The project develops methods or software (methods development)", required=False
    )
    commercial = forms.BooleanField(label="The project has a commercial purpose", required=False)
    for_profit_organisation = forms.BooleanField(
        label="The applicant's organisation is for profit", required=False
    )
    countries = _text(
        "Countries where the data will be used",
        help_text="Two-letter ISO country codes separated by commas, for example: GB, FR.",
    )
    sensitive_areas = forms.MultipleChoiceField(
        label="Sensitive areas the project touches",
        required=False,
        choices=SensitiveArea.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The committee always reviews these itself.",
    )
    institution = _text("Your institution", max_length=200)
    access_end = _text(
        "Access wanted until",
        help_text="The last day you need the data (YYYY-MM-DD). The committee sets the end "
        "of the grant; one year by default.",
        widget=DATE_INPUT,
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["diseases"]).choices = _disease_choices()

    def initial_from(self, access_request: AccessRequest) -> dict[str, Any]:
        initial = super().initial_from(access_request)
        initial["countries"] = ", ".join(access_request.countries)
        initial["access_end"] = (
            access_request.access_end.isoformat() if access_request.access_end else ""
        )
        return initial


class DatasetsForm(StepForm):
    datasets = forms.MultipleChoiceField(
        label="Datasets you apply for",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Each dataset's committee reviews your request for it.",
    )

    def __init__(self, *args: Any, choices: Sequence[Dataset] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.datasets_offered = list(choices)
        cast(forms.ChoiceField, self.fields["datasets"]).choices = [
            (str(d.pk), f"{d.accession} {d.title}") for d in self.datasets_offered
        ]

    def initial_from(self, access_request: AccessRequest) -> dict[str, Any]:
        return {
            "datasets": [str(pk) for pk in access_request.datasets.values_list("pk", flat=True)]
        }

    def dataset_options(self) -> list[tuple[BoundWidget, Dataset]]:
        """Each checkbox with its dataset, for the hints beside it (committee, IRB)."""
        return list(zip(self["datasets"], self.datasets_offered, strict=True))

    def service_arguments(self) -> dict[str, Any]:
        return {"dataset_ids": self.cleaned_data["datasets"]}


class PeopleForm(StepForm):
    signing_official_name = _text(
        "Signing official's name",
        max_length=200,
        help_text="The person who signs for your institution (often in the research office).",
    )
    signing_official_email = _text(
        "Signing official's email", max_length=254, widget=forms.EmailInput
    )


class DocumentsForm(StepForm):
    security_attestation = forms.BooleanField(
        label="I confirm that the data will be stored and processed securely, as my "
        "institution's data-security policy and the agreements require",
        required=False,
    )


STEP_FORMS: dict[str, type[StepForm]] = {
    "project": ProjectForm,
    "purpose": PurposeForm,
    "datasets": DatasetsForm,
    "people": PeopleForm,
    "documents": DocumentsForm,
}


class InviteForm(forms.Form):
    email = forms.EmailField(label="Co-applicant's email")
    full_name = forms.CharField(label="Co-applicant's name", max_length=200, required=False)


class EthicsForm(forms.Form):
    document = forms.FileField(
        label="Ethics approval (PDF)",
        error_messages={"required": "Choose the PDF of the ethics approval to upload."},
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        limit = settings.CUSTODIAN_ETHICS_MAX_BYTES // (1024 * 1024)
        self.fields["document"].help_text = f"A PDF document, at most {limit} MB."


class WithdrawForm(forms.Form):
    comment = forms.CharField(
        label="Why you withdraw the request",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class InvitationAnswerForm(forms.Form):
    accept_agreements = forms.BooleanField(label="I accept the agreements", required=False)


class DeliveryRevokeForm(forms.Form):
    reason = forms.CharField(
        label="Why you revoke these links",
        help_text="Kept in the audit log; the researcher who asked for the links is told.",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        error_messages={
            "required": "Give the reason for revoking these links; it is kept in the audit."
        },
    )
