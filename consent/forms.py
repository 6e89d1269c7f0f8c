from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms

from consent.models import Answer, ComprehensionQuestion, ConsentChoice


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


def _answer_field(choice: ConsentChoice, initial: str) -> forms.CharField:
    # A CharField, not a ChoiceField: a disallowed answer must reach the service's check.
    return forms.CharField(
        label=choice.question,
        required=False,
        initial=initial,
        help_text=choice.explanation,
        widget=forms.RadioSelect(
            choices=[(a, Answer(a).label) for a in choice.allowed_answers if a in Answer.values]
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
                error_messages={"required": "Choose an answer to this question."},
            )

    def pairs(self) -> list[tuple[forms.BoundField, ComprehensionQuestion]]:
        return [(self[f"q{q.order}"], q) for q in self.questions]

    def wrong(self) -> list[ComprehensionQuestion]:
        return [
            q for q in self.questions if self.cleaned_data.get(f"q{q.order}") != q.correct_option
        ]


class ChoicesForm(forms.Form):
    """One radio group per choice of the version, named `choice-<key>`."""

    def __init__(
        self,
        choices: Sequence[ConsentChoice],
        initial_answers: Mapping[str, str],
        *args: Any,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        for choice in choices:
            self.fields[CHOICE_PREFIX + choice.key] = _answer_field(
                choice, initial_answers.get(choice.key, "")
            )


class SignForm(forms.Form):
    """The typed-name signature and the consent sequence the page was rendered from."""

    signature = forms.CharField(
        label="Type your full name to sign",
        required=False,
        max_length=200,
        help_text="As it appears on your account. Typing your name here is your signature.",
    )
    expected_sequence = forms.IntegerField(
        min_value=0,
        widget=forms.HiddenInput,
        error_messages={"required": "This form is incomplete: reload the page and try again."},
    )

    def __init__(self, *args: Any, signer_name: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["signature"].widget.attrs.update(
            {"autocomplete": "name", "spellcheck": "false"}
        )
        if signer_name:
            self.fields[
                "signature"
            ].help_text = (
                f"Type {signer_name}, as on your account. Typing your name is your signature."
            )


class ReviewForm(SignForm):
    """The signature under the reviewed answers, which travel as hidden `choice-<key>` fields."""

    version = forms.IntegerField(
        widget=forms.HiddenInput,
        error_messages={"required": "This form is incomplete: reload the page and try again."},
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


class WithdrawForm(SignForm):
    level = forms.CharField(widget=forms.HiddenInput, required=False)
