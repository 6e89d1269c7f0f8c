from __future__ import annotations

from typing import Any, cast

from django import forms
from django.template.defaultfilters import filesizeformat

from consent.duo import modifiers as duo_modifiers
from consent.duo import permissions as duo_permissions
from datasets.conditions import split_list
from datasets.models import Committee, CommitteeKind, LinkStatus
from datasets.paths import ListedFile
from datasets.selectors import SampleRow, committees


def _term_choices(terms: Any) -> list[tuple[str, str]]:
    return [(t.shorthand, f"{t.label[:1].upper()}{t.label[1:]} ({t.shorthand})") for t in terms]


PARAMETER_FIELDS = (
    "diseases",
    "countries",
    "time_limit",
    "moratorium_until",
    "users",
    "projects",
    "institutions",
)


class DatasetForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    committee: forms.ModelChoiceField[Committee] = forms.ModelChoiceField(
        queryset=None,
        label="Data access committee",
        empty_label="Choose a committee",
        help_text="The committee that decides who may use the data.",
    )
    permission = forms.ChoiceField(
        label="What kind of research may use the data", widget=forms.RadioSelect
    )
    modifiers = forms.MultipleChoiceField(
        label="Further conditions", required=False, widget=forms.CheckboxSelectMultiple
    )
    diseases = forms.CharField(
        required=False,
        label="Diseases (for disease specific research, DS)",
        help_text="Disease ontology ids or exact names, separated by commas: "
        "MONDO:0004992 or cancer.",
    )
    countries = forms.CharField(
        required=False,
        label="Countries (for a geographical restriction, GS)",
        help_text="Two-letter country codes, separated by commas: GB, FR.",
    )
    time_limit = forms.DateField(
        required=False,
        label="Last day of use (for a time limit, TS)",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    moratorium_until = forms.DateField(
        required=False,
        label="First day results may be published (for a moratorium, MOR)",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    users = forms.CharField(
        required=False,
        label="Approved users (for US)",
        help_text="Portal identifiers, separated by commas; leave empty for the committee to "
        "approve each one.",
    )
    projects = forms.CharField(required=False, label="Approved projects (for PS)")
    institutions = forms.CharField(required=False, label="Approved institutions (for IS)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["committee"]).queryset = committees()
        cast(forms.ChoiceField, self.fields["permission"]).choices = _term_choices(
            duo_permissions()
        )
        cast(forms.ChoiceField, self.fields["modifiers"]).choices = _term_choices(duo_modifiers())
        self._descriptions = {
            t.shorthand: t.description for t in (*duo_permissions(), *duo_modifiers())
        }

    def _options(self, name: str) -> list[tuple[Any, str]]:
        return [(w, self._descriptions[w.data["value"]]) for w in self[name]]

    @property
    def permission_options(self) -> list[tuple[Any, str]]:
        return self._options("permission")

    @property
    def modifier_options(self) -> list[tuple[Any, str]]:
        return self._options("modifiers")

    @property
    def parameter_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in PARAMETER_FIELDS]

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "description": data["description"],
            "committee": data["committee"],
            "permission": data["permission"],
            "modifiers": data["modifiers"],
            "diseases": split_list(data["diseases"]),
            "countries": split_list(data["countries"]),
            "time_limit": data["time_limit"],
            "moratorium_until": data["moratorium_until"],
            "users": split_list(data["users"]),
            "projects": split_list(data["projects"]),
            "institutions": split_list(data["institutions"]),
        }


class AddFilesForm(forms.Form):
    # The form's metaclass takes declared fields off the class, so `self.files` stays the
    # uploaded files; only the type checker sees the name twice.
    files = forms.MultipleChoiceField(  # type: ignore[assignment]
        required=False,
        label="Files in the data root",
        widget=forms.CheckboxSelectMultiple,
    )
    other_paths = forms.CharField(
        required=False,
        label="Other paths",
        help_text="One per line, from the data root (for files the list does not show).",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, listing: list[ListedFile], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["files"]).choices = [(f.path, f.path) for f in listing]
        self._sizes = {f.path: filesizeformat(f.size) for f in listing}

    @property
    def file_options(self) -> list[tuple[Any, str]]:
        return [(box, self._sizes[box.data["value"]]) for box in self["files"]]

    def paths(self) -> list[str]:
        chosen = list(self.cleaned_data["files"])
        chosen += [line.strip() for line in self.cleaned_data["other_paths"].splitlines()]
        return [p for p in chosen if p]


class SampleLinksForm(forms.Form):
    """One study ID field and one "unlinked" box per sample, numbered (sample IDs may hold
    any character)."""

    def __init__(self, *args: Any, rows: list[SampleRow], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        for n, row in enumerate(rows):
            sample = row.sample
            self.fields[f"study_{n}"] = forms.CharField(
                required=False,
                max_length=64,
                label=f"Study ID for sample {sample.sample_id}",
                initial=sample.participant.study_id if sample.participant else "",
            )
            self.fields[f"unlinked_{n}"] = forms.BooleanField(
                required=False,
                label=f"Sample {sample.sample_id} is deliberately unlinked",
                initial=sample.link == LinkStatus.UNLINKED,
            )

    def table(self) -> list[tuple[SampleRow, forms.BoundField, forms.BoundField]]:
        return [(row, self[f"study_{n}"], self[f"unlinked_{n}"]) for n, row in enumerate(self.rows)]

    def choices(self) -> list[tuple[str, str, bool]]:
        return [
            (
                row.sample.sample_id,
                self.cleaned_data[f"study_{n}"],
                self.cleaned_data[f"unlinked_{n}"],
            )
            for n, row in enumerate(self.rows)
        ]


class CatalogueSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        label="Search datasets",
        help_text="Words from the title or description, a disease, a DUO code (GRU, DS…) "
        "or an accession.",
    )


class SampleCommunityForm(forms.Form):
    """Put samples in a community (its governance committee must approve every use)."""

    community: forms.ModelChoiceField[Committee] = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Community",
        empty_label="No community (take the samples out of any community)",
        help_text="The community's own governance committee will review every request for "
        "these samples.",
    )
    sample_ids = forms.CharField(
        label="Sample IDs",
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One per line, or separated by commas.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["community"]).queryset = committees(
            CommitteeKind.COMMUNITY
        )

    def sample_list(self) -> list[str]:
        return split_list(self.cleaned_data["sample_ids"])


class SampleMappingForm(forms.Form):
    """The sample mapping file that register_dataset and the registration API take."""

    MAX_BYTES = 10 * 1024 * 1024

    mapping = forms.FileField(
        label="Sample mapping file",
        help_text="Tab-separated, one sample a line: the sample ID as in the files, then the "
        "participant's study ID. A header line sample_id, study_id and lines starting with # "
        "are skipped. Samples not in the file stay as they are.",
        widget=forms.ClearableFileInput(attrs={"accept": ".tsv,.txt,text/tab-separated-values"}),
    )

    def clean_mapping(self) -> Any:
        file = self.cleaned_data["mapping"]
        if file.size > self.MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {filesizeformat(file.size)}; a mapping file may be at most "
                f"{filesizeformat(self.MAX_BYTES)}."
            )
        return file

    def content(self) -> bytes:
        return self.cleaned_data["mapping"].read(self.MAX_BYTES + 1)
