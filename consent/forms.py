from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.models import Answer, ComprehensionQuestion, ConsentChoice
from consent.version_text import Parsed, parse_choices, parse_questions, parse_sections


class EnrolForm(forms.Form):
    study_id = forms.CharField(label="Study ID", max_length=64)
    full_name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="Email address")
    date_of_birth = forms.DateField(
        label="Date of birth",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Needed for participants who are children (consent by a guardian).",
    )


# --- the participant's consent journey ---------------------------------------------------------
# Answers, signatures and withdrawal levels are checked by the consent services, so a refusal
# reads the same on the page, in the API and in the tests. The forms only carry the input.

CHOICE_PREFIX = "choice-"


def posted_answers(data: Mapping[str, Any]) -> dict[str, str]:
    """Every `choice-<key>` field posted, known or not: the service names unknown keys."""
    return {
        name.removeprefix(CHOICE_PREFIX): str(value)
        for name, value in data.items()
        if name.startswith(CHOICE_PREFIX)
    }


def _answer_label(
    answer: str,
    *,
    previous: str = "",
    recommended: str = "",
    guardian: str = "",
    child: str = "",
) -> str:
    """An answer's label, marked when it was the participant's previous answer, the answer
    a guardian gave for them, or the study's recommendation: said in words, never by
    preselecting it."""
    marks = []
    if answer == previous:
        # A guardian is shown the child's previous answer as the child's.
        marks.append(
            _("(%(name)s's previous answer)") % {"name": child}
            if child
            else _("(your previous answer)")
        )
    if answer == guardian:
        marks.append(_("(your guardian's choice)"))
    if answer == recommended:
        marks.append(_("(recommended by the study team)"))
    if not marks:
        return str(Answer(answer).label)
    return format_html(
        "{} {}",
        Answer(answer).label,
        format_html_join(" ", '<span class="meta">{}</span>', ((mark,) for mark in marks)),
    )


def _answer_field(
    choice: ConsentChoice,
    initial: str,
    *,
    previous: str = "",
    recommended: str = "",
    guardian: str = "",
    child: str = "",
) -> forms.CharField:
    # A CharField, not a ChoiceField: a disallowed answer must reach the service's check.
    return forms.CharField(
        label=choice.question,
        required=False,
        initial=initial,
        help_text=choice.explanation,
        widget=forms.RadioSelect(
            choices=[
                (
                    a,
                    _answer_label(
                        a,
                        previous=previous,
                        recommended=recommended,
                        guardian=guardian,
                        child=child,
                    ),
                )
                for a in choice.allowed_answers
                if a in Answer.values
            ]
        ),
    )


class QuizForm(forms.Form):
    """One radio group per comprehension question; `wrong` lists those answered wrongly."""

    def __init__(self, questions: Sequence[ComprehensionQuestion], *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        for question in self.questions:
            self.fields[f"q{question.order}"] = forms.TypedChoiceField(
                label=question.text,
                choices=list(enumerate(question.options)),
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": gettext_lazy("Choose an answer to this question.")},
            )

    def pairs(self) -> list[tuple[forms.BoundField, ComprehensionQuestion]]:
        return [(self[f"q{q.order}"], q) for q in self.questions]

    def wrong(self) -> list[ComprehensionQuestion]:
        return [
            q for q in self.questions if self.cleaned_data.get(f"q{q.order}") != q.correct_option
        ]


class ChoicesForm(forms.Form):
    """One radio group per choice of the version, named `choice-<key>`.

    Only the participant's own answers are preselected (`initial_answers`: this session's
    draft or, on re-consent, the answers in force); `previous` marks the latter on the page,
    `guardian` marks the answers a guardian gave for a young person, never preselected.
    """

    def __init__(
        self,
        choices: Sequence[ConsentChoice],
        initial_answers: Mapping[str, str],
        *args: Any,
        previous: Mapping[str, str] | None = None,
        guardian: Mapping[str, str] | None = None,
        child: str = "",
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        for choice in choices:
            self.fields[CHOICE_PREFIX + choice.key] = _answer_field(
                choice,
                initial_answers.get(choice.key, ""),
                previous=(previous or {}).get(choice.key, ""),
                recommended=choice.recommended_answer,
                guardian=(guardian or {}).get(choice.key, ""),
                child=child,
            )


class SignForm(forms.Form):
    """The typed-name signature and the consent sequence the page was rendered from."""

    signature = forms.CharField(
        label=gettext_lazy("Type your full name to sign"),
        required=False,
        max_length=200,
        help_text=gettext_lazy(
            "As it appears on your account. Typing your name here is your signature."
        ),
    )
    expected_sequence = forms.IntegerField(
        min_value=0,
        widget=forms.HiddenInput,
        error_messages={
            "required": gettext_lazy("This form is incomplete: reload the page and try again.")
        },
    )

    def __init__(self, *args: Any, signer_name: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["signature"].widget.attrs.update(
            {"autocomplete": "name", "spellcheck": "false"}
        )
        if signer_name:
            self.fields["signature"].help_text = _(
                "Type %(name)s, as on your account. Typing your name is your signature."
            ) % {"name": signer_name}


class ReviewForm(SignForm):
    """The signature under the reviewed answers, which travel as hidden `choice-<key>` fields."""

    version = forms.IntegerField(
        widget=forms.HiddenInput,
        error_messages={
            "required": gettext_lazy("This form is incomplete: reload the page and try again.")
        },
    )


class ChangeForm(SignForm):
    """One choice, with the signature; the other answers stay as they are."""

    def __init__(
        self, *args: Any, choice: ConsentChoice, current_answer: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.choice = choice
        self.current_answer = current_answer
        self.choice_field = CHOICE_PREFIX + choice.key
        self.fields[self.choice_field] = _answer_field(choice, current_answer)
        self.order_fields([self.choice_field, "signature", "expected_sequence"])

    @property
    def answer_field(self) -> forms.BoundField:
        return self[self.choice_field]


class HandoverForm(SignForm):
    """At coming of age: one radio group per choice, the guardian's answer marked and none
    selected, then the young person's own signature."""

    version = forms.IntegerField(
        widget=forms.HiddenInput,
        error_messages={
            "required": gettext_lazy("This form is incomplete: reload the page and try again.")
        },
    )

    def __init__(
        self,
        *args: Any,
        choices: Sequence[ConsentChoice],
        guardian: Mapping[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.choices = list(choices)
        self.guardian = dict(guardian)
        self.choice_fields = [CHOICE_PREFIX + choice.key for choice in choices]
        for choice in choices:
            self.fields[CHOICE_PREFIX + choice.key] = _answer_field(
                choice, "", guardian=guardian.get(choice.key, "")
            )
        self.order_fields([*self.choice_fields, "signature", "expected_sequence", "version"])

    def answer_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.choice_fields]


class WithdrawForm(SignForm):
    level = forms.CharField(widget=forms.HiddenInput, required=False)


# --- the steward's pages ----------------------------------------------------------------------


class ParticipantImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            "UTF-8, with a header line: study_id, email, full_name, language, date_of_birth "
            "(YYYY-MM-DD), and for a child whose guardian consents, proxy_email and proxy_name."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class ParticipantImportConfirmForm(forms.Form):
    """The checked file, signed by the server so that what is imported is what was checked."""

    content = forms.CharField(widget=forms.HiddenInput)


class ProxyLinkForm(forms.Form):
    email = forms.EmailField(label="Guardian's email address")
    full_name = forms.CharField(label="Guardian's full name", max_length=200)
    relationship = forms.CharField(
        label="Relationship to the participant", max_length=100, initial="parent or guardian"
    )


class ConsentDocumentForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=200, help_text="For example “Main study consent”."
    )
    country = forms.CharField(
        label="Country of the study",
        max_length=2,
        initial="GB",
        help_text="Two letters (GB, FR): a “no use outside the country” answer means this one.",
    )


_LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")


def _parsed(parse: Callable[[str], Parsed], text: str) -> list[dict[str, Any]]:
    parsed = parse(text)
    if parsed.problems:
        raise forms.ValidationError(parsed.problems)
    return parsed.items


class ConsentVersionForm(forms.Form):
    """A draft version; sections, questions and choices are written as in consent/version_text."""

    number = forms.IntegerField(label="Version number", min_value=1)
    language = forms.CharField(
        label="Language", max_length=10, help_text="A language code: en, cy, fr."
    )
    title = forms.CharField(label="Title", max_length=200)
    summary = forms.CharField(
        label="Summary",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One or two sentences shown at the start.",
    )
    body = forms.CharField(
        label="Introduction",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Markdown, shown before the sections.",
    )
    sections = forms.CharField(
        label="Sections",
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "true"}),
        help_text="Start each section with a line “## Heading”; the text under it is Markdown.",
    )
    questions = forms.CharField(
        label="Comprehension questions",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=(
            "For each question: “? question”, then one line per answer, “* ” before the right "
            "one and “- ” before the others, then “> ” and the explanation shown after a "
            "wrong answer."
        ),
    )
    choices = forms.CharField(
        label="Choices",
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
        help_text=(
            "One block per choice, blank lines between them, each line “name: value”: key, "
            "question, explanation (optional), meaning, answers (some of yes, no, ask), "
            "recommended (optional: shown to participants, never preselected)."
        ),
    )

    def __init__(self, *args: Any, in_force: Mapping[str, int] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.in_force = dict(in_force or {})

    def clean_language(self) -> str:
        language = self.cleaned_data["language"].strip().lower()
        if not _LANGUAGE.fullmatch(language):
            raise forms.ValidationError("Use a language code such as en, cy or pt-br.")
        return language

    def clean_sections(self) -> list[dict[str, Any]]:
        return _parsed(parse_sections, self.cleaned_data["sections"])

    def clean_questions(self) -> list[dict[str, Any]]:
        return _parsed(parse_questions, self.cleaned_data["questions"])

    def clean_choices(self) -> list[dict[str, Any]]:
        return _parsed(parse_choices, self.cleaned_data["choices"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        number, language = cleaned.get("number"), cleaned.get("language")
        if number and language in self.in_force and number <= self.in_force[language]:
            self.add_error(
                "number",
                f"Version {self.in_force[language]} is in force in {language}: a new version "
                "needs a higher number.",
            )
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}


class ConsentVersionPublishForm(forms.Form):
    suspend_previous = forms.BooleanField(
        label="Suspend consent given to older versions until participants re-consent",
        required=False,
        widget=forms.CheckboxInput(attrs={"aria-describedby": "suspend-help"}),
    )


class QuestionAnswerForm(forms.Form):
    answer = forms.ChoiceField(
        label=gettext_lazy("Your answer"),
        choices=[
            (Answer.YES, gettext_lazy("Yes, the data may be used for this")),
            (Answer.NO, gettext_lazy("No")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("Choose yes or no.")},
    )
