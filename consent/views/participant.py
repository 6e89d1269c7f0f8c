"""The participant's pages (and a proxy's, acting for a child): dashboard, the consent
journey, changing a choice, withdrawal, receipts, and the proxy's home."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from consent import selectors, services
from consent.forms import (
    CHOICE_PREFIX,
    ChangeForm,
    ChoicesForm,
    HandoverForm,
    QuizForm,
    ReviewForm,
    SignForm,
    WithdrawForm,
    posted_answers,
)
from consent.models import (
    Channel,
    ConsentStatus,
    ConsentVersion,
    Participant,
    WithdrawalLevel,
)
from consent.receipts import receipt_context, receipt_filename
from consent.selectors.verification import record_seal
from consent.services.errors import MissingAnswersError
from consent.transitions import withdrawal_levels_open
from consent.views.common import (
    ACTING_FOR,
    acting_participant,
    acting_proxy,
    posted,
    render_markdown,
)
from portal.decorators import role_required, signed_in_user
from portal.exceptions import PortalError
from portal.models import Role, User
from portal.views import error_response

# The wizard's progress (version, quiz passed, draft answers) lives in the session; what is
# signed travels in the signing form itself, so a second tab cannot change it unseen.
JOURNEY = "consent_journey"
STEPS = (
    gettext_lazy("Read"),
    gettext_lazy("Questions"),
    gettext_lazy("Choices"),
    gettext_lazy("Review and sign"),
)


def _participant_or_none(request: HttpRequest) -> Participant | None:
    try:
        return acting_participant(request)
    except Http404:
        return None


def _orders(questions: list[Any]) -> set[int]:
    return {q.order for q in questions}


def _page(request: HttpRequest, template: str, context: dict[str, Any], form: Any) -> HttpResponse:
    return render(request, template, context, status=400 if form.errors else 200)


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    participant = _participant_or_none(request)
    if participant is None and acting_proxy(request) is not None:
        # A guardian who has not chosen a child yet: "your consent" would be about nobody.
        return redirect("consent:proxy_home")
    overview = selectors.consent_overview(participant) if participant else None
    return render(
        request,
        "consent/home.html",
        {
            "participant": participant,
            "overview": overview,
            "questions": selectors.question_counts(participant) if participant else None,
            "acting_as_proxy": acting_proxy(request) is not None,
        },
    )


# --- first consent and re-consent: read, questions, choices, review and sign ------------------


class _Journey:
    """The participant, the version to sign and the wizard state kept in the session."""

    def __init__(self, request: HttpRequest):
        self.request = request
        self.participant = acting_participant(request)
        self.current = selectors.current_consent(self.participant)
        found = selectors.consent_version_to_sign(self.participant, self.current)
        if found is None:
            raise Http404("No consent form is published for you yet.")
        self.version: ConsentVersion = selectors.consent_version_detail(found.pk)
        state = request.session.get(JOURNEY) or {}
        # Started on a version that was superseded since: begin again on the new one.
        self.restarted = bool(state) and state.get("version") != self.version.pk
        if self.restarted:
            messages.warning(
                request,
                _(
                    "A new version of the consent form was published since you started. "
                    "Nothing was saved: please read the new version from the start."
                ),
            )
        if state.get("version") != self.version.pk:
            state = {"version": self.version.pk, "quiz_passed": False, "answers": {}}
            request.session[JOURNEY] = state
        self.state: dict[str, Any] = state

    @property
    def withdrawn(self) -> bool:
        return self.current is not None and self.current.status != ConsentStatus.ACTIVE

    @property
    def expected_sequence(self) -> int:
        return self.current.sequence if self.current else 0

    def unready(self) -> HttpResponse | None:
        """Where to go first when a step is opened before the steps it needs."""
        if self.restarted:
            return redirect("consent:journey_start")
        if not self.state["quiz_passed"]:
            return redirect("consent:journey_quiz")
        return None

    def save(self, **changes: Any) -> None:
        self.state.update(changes)
        self.request.session[JOURNEY] = self.state

    def guardian_answers(self) -> dict[str, str]:
        """A young person's answers in force that their guardian gave: shown as the
        guardian's, never carried over as the young person's own."""
        if acting_proxy(self.request) is not None:
            return {}
        if selectors.guardian_choices(self.participant) is None:
            return {}
        return selectors.carried_over_answers(self.current, self.version)

    def previous_answers(self) -> dict[str, str]:
        if self.guardian_answers():
            return {}
        return selectors.carried_over_answers(self.current, self.version)

    def initial_answers(self) -> dict[str, str]:
        """This session's draft, else the participant's own answers in force (re-consent).
        A version's recommended answer is never preselected: consent is the participant's act.
        """
        return self.state["answers"] or self.previous_answers()

    def context(self, step: int, **extra: Any) -> dict[str, Any]:
        return {"version": self.version, "steps": STEPS, "step": step, **extra}


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_GET
def journey_start(request: HttpRequest) -> HttpResponse:
    journey = _Journey(request)
    first = (
        reverse("consent:journey_section", args=[1])
        if journey.version.sections.all()
        else reverse("consent:journey_quiz")
    )
    context = journey.context(
        1,
        body=render_markdown(journey.version.body),
        withdrawn=journey.withdrawn,
        reconsent=journey.current is not None,
        first=first,
    )
    return render(request, "consent/journey_start.html", context)


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_GET
def journey_section(request: HttpRequest, number: int) -> HttpResponse:
    journey = _Journey(request)
    sections = list(journey.version.sections.all())
    if not 1 <= number <= len(sections):
        raise Http404("There is no such section.")
    section = sections[number - 1]
    context = journey.context(
        1,
        section=section,
        body=render_markdown(section.body),
        number=number,
        total=len(sections),
    )
    return render(request, "consent/journey_section.html", context)


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_http_methods(["GET", "POST"])
def journey_quiz(request: HttpRequest) -> HttpResponse:
    journey = _Journey(request)
    questions = list(journey.version.questions.all())
    if not questions:
        journey.save(quiz_passed=True)
        return redirect("consent:journey_choices")
    form = QuizForm(questions, posted(request))
    wrong: list[Any] = []
    if request.method == "POST" and form.is_valid():
        wrong = form.wrong()
        if not wrong:
            journey.save(quiz_passed=True)
            return redirect("consent:journey_choices")
        # Ask the wrong ones again, with their explanation; keep the right answers.
        right = {f"q{q.order}": form.cleaned_data[f"q{q.order}"] for q in questions}
        form = QuizForm(
            questions, initial={k: v for k, v in right.items() if int(k[1:]) not in _orders(wrong)}
        )
    context = journey.context(2, form=form, wrong=_orders(wrong))
    return _page(request, "consent/journey_quiz.html", context, form)


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_http_methods(["GET", "POST"])
def journey_choices(request: HttpRequest) -> HttpResponse:
    journey = _Journey(request)
    if (detour := journey.unready()) is not None:
        return detour
    choices = list(journey.version.choices.all())
    previous = journey.previous_answers()
    guardian = journey.guardian_answers()
    proxy = acting_proxy(request)
    form = ChoicesForm(
        choices,
        journey.initial_answers(),
        posted(request),
        previous=previous,
        guardian=guardian,
        child=journey.participant.user.get_short_name() if proxy is not None else "",
    )
    if request.method == "POST" and form.is_valid():
        answers = posted_answers(request.POST)
        try:
            clean = services.consent_answers_check(version=journey.version, answers=answers)
        except PortalError as exc:
            _missing_to_fields(form, exc)
        else:
            journey.save(answers=clean)
            return redirect("consent:journey_review")
    context = journey.context(3, form=form, carried_over=bool(previous), from_guardian=guardian)
    return _page(request, "consent/journey_choices.html", context, form)


def _review_context(
    journey: _Journey, form: SignForm, answers: dict[str, str], *, stale: bool = False
) -> dict[str, Any]:
    summary = [
        (c.question, selectors.answer_label(answers.get(c.key, "")))
        for c in journey.version.choices.all()
    ]
    return journey.context(
        4,
        form=form,
        answers=answers,
        summary=summary,
        overview=selectors.consent_overview(journey.participant) if stale else None,
        stale=stale,
    )


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_http_methods(["GET", "POST"])
def journey_review(request: HttpRequest) -> HttpResponse:
    journey = _Journey(request)
    if (detour := journey.unready()) is not None:
        return detour
    if not journey.state["answers"]:
        return redirect("consent:journey_choices")
    initial = {"expected_sequence": journey.expected_sequence, "version": journey.version.pk}
    form = ReviewForm(
        posted(request), initial=initial, signer_name=signed_in_user(request).full_name
    )
    if request.method == "POST" and form.is_valid():
        version = get_object_or_404(ConsentVersion, pk=form.cleaned_data["version"])
        try:
            record = services.consent_record(
                actor=signed_in_user(request),
                proxy=acting_proxy(request),
                participant=journey.participant,
                version=version,
                answers=posted_answers(request.POST),
                signature=form.cleaned_data["signature"],
                channel=Channel.WEB,
                expected_sequence=form.cleaned_data["expected_sequence"],
            )
        except PortalError as exc:
            return _refused_page(
                request,
                "consent/journey_review.html",
                exc,
                form,
                journey.participant,
                lambda refused, stale: _review_context(
                    journey, refused, journey.state["answers"], stale=stale
                ),
            )
        request.session.pop(JOURNEY, None)
        messages.success(request, _recorded(journey.participant, acting_proxy(request)))
        return redirect("consent:receipt", record_id=record.pk)
    context = _review_context(journey, form, journey.state["answers"])
    return _page(request, "consent/journey_review.html", context, form)


SignedForm = TypeVar("SignedForm", bound=SignForm)


def _refused(form: SignedForm, exc: PortalError, participant: Participant, name: str) -> SignedForm:
    """The same form with the service's message, sent back with the sequence now in force:
    the page then shows the current state, and a new submission is a deliberate one."""
    current = selectors.current_consent(participant)
    data = dict(form.data.items())
    data["expected_sequence"] = str(current.sequence if current else 0)
    refused = type(form)(data, signer_name=name, **_form_args(form))
    refused.is_valid()
    refused.add_error(None, exc.message)
    return refused


def _refused_page(
    request: HttpRequest,
    template: str,
    exc: PortalError,
    form: SignedForm,
    participant: Participant,
    context_of: Callable[[SignedForm, bool], dict[str, Any]],
) -> HttpResponse:
    """A refused signature: the page again, with the refused form and the service's status.

    A 409 means the consent moved on meanwhile (another tab, a proxy, staff): the page says
    so, and shows what is in force now.
    """
    stale = exc.form_status == 409
    context = context_of(_refused(form, exc, participant, signed_in_user(request).full_name), stale)
    context["stale"] = stale
    return render(request, template, context, status=exc.form_status)


def _form_args(form: SignForm) -> dict[str, Any]:
    if isinstance(form, ChangeForm):
        return {"choice": form.choice, "current_answer": form.current_answer}
    if isinstance(form, HandoverForm):
        return {"choices": form.choices, "guardian": form.guardian}
    return {}


def _missing_to_fields(form: Any, exc: PortalError) -> None:
    """Each unanswered question is named by its own link in the error summary."""
    missing = getattr(exc, "missing", ())
    if not missing:
        form.add_error(None, exc.message)
    for key in missing:
        form.add_error(CHOICE_PREFIX + key, _("Choose an answer."))


# --- change one choice ------------------------------------------------------------------------


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_http_methods(["GET", "POST"])
def choice_change(request: HttpRequest, key: str) -> HttpResponse:
    participant = acting_participant(request)
    overview = selectors.consent_overview(participant)
    if not overview.can_change or overview.current is None or overview.version_to_sign is None:
        messages.error(request, _("You cannot change a choice now: see the notice below."))
        return redirect("consent:home")
    version = selectors.consent_version_detail(overview.version_to_sign.pk)
    choice = next((c for c in version.choices.all() if c.key == key), None)
    if choice is None:
        raise Http404("There is no such choice.")
    current = overview.current
    form = ChangeForm(
        posted(request),
        choice=choice,
        current_answer=current.answers.get(key, ""),
        initial={"expected_sequence": current.sequence},
        signer_name=signed_in_user(request).full_name,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_record(
                actor=signed_in_user(request),
                proxy=acting_proxy(request),
                participant=participant,
                version=version,
                answers={**current.answers, **posted_answers(request.POST)},
                signature=form.cleaned_data["signature"],
                channel=Channel.WEB,
                expected_sequence=form.cleaned_data["expected_sequence"],
            )
        except PortalError as exc:
            return _refused_page(
                request,
                "consent/choice_change.html",
                exc,
                form,
                participant,
                lambda refused, _stale: _change_context(
                    refused, choice, selectors.consent_overview(participant)
                ),
            )
        messages.success(request, _changed(participant, acting_proxy(request), choice.question))
        return redirect("consent:home")
    context = _change_context(form, choice, overview)
    return _page(request, "consent/choice_change.html", context, form)


def _change_context(
    form: ChangeForm, choice: Any, overview: selectors.ConsentOverview
) -> dict[str, Any]:
    now = next((c for c in overview.choices if c.key == choice.key), None)
    return {"form": form, "choice": choice, "overview": overview, "now": now}


# A guardian is told about the child's consent by the child's name (the receipt's email copy
# is the guardian's own, so "your email" stays).


def _recorded(participant: Participant, proxy: User | None) -> str:
    if proxy is not None:
        return _(
            "Thank you: %(name)s's consent is recorded. This is the receipt; a copy is on its "
            "way to your email."
        ) % {"name": participant.user.get_short_name()}
    return (
        _("Thank you: your consent is recorded.")
        + " "
        + _("This is your receipt; a copy is on its way to your email.")
    )


def _changed(participant: Participant, proxy: User | None, question: str) -> str:
    if proxy is not None:
        return _(
            "The answer to “%(question)s” for %(name)s is changed. A receipt is on its way to "
            "your email and listed in %(name)s's history."
        ) % {"question": question, "name": participant.user.get_short_name()}
    return (
        _("Your answer to “%(question)s” is changed.") % {"question": question}
        + " "
        + _emailed_home()
    )


def _emailed_home() -> str:
    return _("A receipt is on its way to your email and listed in your history.")


# --- the handover at coming of age ------------------------------------------------------------


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_http_methods(["GET", "POST"])
def handover(request: HttpRequest) -> HttpResponse:
    """A young person who came of age acts on each choice their guardian made for them."""
    participant = acting_participant(request)
    if acting_proxy(request) is not None:
        raise PermissionDenied(
            _(
                "Only %(name)s can confirm or change the choices made for them, once they "
                "come of age. Until then, you decide as %(name)s's guardian."
            )
            % {"name": participant.user.get_short_name()}
        )
    overview = selectors.consent_overview(participant)
    waiting = overview.guardian_choices
    if not overview.handover_due or waiting is None or overview.version_to_sign is None:
        return error_response(
            request,
            409,
            _("No choices to confirm"),
            _(
                "There are no choices made by a guardian waiting for you: the consent on your "
                "consent page is your own. Nothing was changed."
            ),
            "nothing_to_confirm",
        )
    version = selectors.consent_version_detail(overview.version_to_sign.pk)
    form = HandoverForm(
        posted(request),
        choices=list(version.choices.all()),
        guardian=waiting.answers,
        initial={"expected_sequence": waiting.sequence, "version": version.pk},
        signer_name=signed_in_user(request).full_name,
    )
    if request.method == "POST" and form.is_valid():
        try:
            record = services.consent_confirm(
                actor=signed_in_user(request),
                participant=participant,
                version=get_object_or_404(ConsentVersion, pk=form.cleaned_data["version"]),
                answers=posted_answers(request.POST),
                signature=form.cleaned_data["signature"],
                channel=Channel.WEB,
                expected_sequence=form.cleaned_data["expected_sequence"],
            )
        except MissingAnswersError as exc:
            _missing_to_fields(form, exc)
        except PortalError as exc:
            form = _refused(form, exc, participant, signed_in_user(request).full_name)
            context = _handover_context(form, waiting, selectors.consent_overview(participant))
            context["stale"] = exc.form_status == 409
            return render(request, "consent/handover.html", context, status=exc.form_status)
        else:
            messages.success(
                request,
                _("Thank you: these choices are now your own consent.")
                + " "
                + _("This is your receipt; a copy is on its way to your email."),
            )
            return redirect("consent:receipt", record_id=record.pk)
    return _page(request, "consent/handover.html", _handover_context(form, waiting, overview), form)


def _handover_context(
    form: HandoverForm, waiting: selectors.GuardianChoices, overview: selectors.ConsentOverview
) -> dict[str, Any]:
    chosen = [
        (choice.question, selectors.answer_label(waiting.answers.get(choice.key, "")))
        for choice in form.choices
    ]
    return {"form": form, "waiting": waiting, "chosen": chosen, "overview": overview}


# --- withdrawal -------------------------------------------------------------------------------


def _levels(
    overview: selectors.ConsentOverview,
) -> tuple[list[WithdrawalLevel], list[WithdrawalLevel]]:
    """(levels already in force, levels still open): a withdrawal can only go further."""
    status = overview.current.status if overview.current else ConsentStatus.ACTIVE
    offered = withdrawal_levels_open(status)
    return [level for level in WithdrawalLevel if level not in offered], offered


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_GET
def withdraw(request: HttpRequest) -> HttpResponse:
    overview = selectors.consent_overview(acting_participant(request))
    passed, offered = _levels(overview)
    context = {"overview": overview, "passed": passed, "offered": offered}
    return render(request, "consent/withdraw.html", context)


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_http_methods(["GET", "POST"])
def withdraw_confirm(request: HttpRequest) -> HttpResponse:
    participant = acting_participant(request)
    overview = selectors.consent_overview(participant)
    passed, offered = _levels(overview)
    level = request.POST.get("level") if request.method == "POST" else request.GET.get("level")
    if request.method == "GET" and (overview.current is None or level not in offered):
        context = {"overview": overview, "passed": passed, "offered": offered}
        context["error"] = _("Choose one of the levels offered below.")
        return render(request, "consent/withdraw.html", context, status=400)
    sequence = overview.current.sequence if overview.current else 0
    form = WithdrawForm(
        posted(request),
        initial={"level": level, "expected_sequence": sequence},
        signer_name=signed_in_user(request).full_name,
    )
    if request.method == "POST" and form.is_valid():
        try:
            record = services.consent_withdraw(
                actor=signed_in_user(request),
                proxy=acting_proxy(request),
                participant=participant,
                level=form.cleaned_data["level"],
                signature=form.cleaned_data["signature"],
                channel=Channel.WEB,
                expected_sequence=form.cleaned_data["expected_sequence"],
            )
        except PortalError as exc:
            return _refused_page(
                request,
                "consent/withdraw_confirm.html",
                exc,
                form,
                participant,
                lambda refused, _stale: _confirm_context(
                    refused, level, selectors.consent_overview(participant)
                ),
            )
        label = record.get_withdrawal_level_display().lower()
        if acting_proxy(request) is not None:
            done = _(
                "%(name)s's withdrawal is recorded: %(level)s. A receipt is on its way to your "
                "email and listed in %(name)s's history."
            ) % {"name": participant.user.get_short_name(), "level": label}
        else:
            done = _("Your withdrawal is recorded: %(level)s.") % {"level": label}
            done += " " + _emailed_home()
        messages.success(request, done)
        return redirect("consent:home")
    context = _confirm_context(form, level, overview)
    return _page(request, "consent/withdraw_confirm.html", context, form)


def _confirm_context(form: WithdrawForm, level: str | None, overview: Any) -> dict[str, Any]:
    label = WithdrawalLevel(level).label if level in WithdrawalLevel.values else ""
    return {"form": form, "level": level, "level_label": label, "overview": overview}


# --- receipts ---------------------------------------------------------------------------------


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_GET
def receipt(request: HttpRequest, record_id: int) -> HttpResponse:
    record = get_object_or_404(
        selectors.participant_records(acting_participant(request)), pk=record_id
    )
    stored = services.consent_receipt_create(actor=signed_in_user(request), record=record)
    context = {
        **receipt_context(record),
        "receipt": stored,
        "screen": True,
        "seal": record_seal(record),
    }
    return render(request, "consent/receipt.html", context)


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_GET
def receipt_pdf(request: HttpRequest, record_id: int) -> HttpResponse:
    record = get_object_or_404(
        selectors.participant_records(acting_participant(request)), pk=record_id
    )
    # Usually made by the task already; if not, made now by the same idempotent service.
    stored = services.consent_receipt_create(actor=signed_in_user(request), record=record)
    response = HttpResponse(bytes(stored.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{receipt_filename(record)}"'
    return response


# --- proxies ----------------------------------------------------------------------------------


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_http_methods(["GET", "POST"])
def proxy_home(request: HttpRequest) -> HttpResponse:
    """A guardian's home: the children they act for; choosing one opens that child's consent."""
    if not signed_in_user(request).has_role(Role.PROXY):
        # Often a young person who came of age, following an old link of their guardian's.
        raise PermissionDenied(
            _(
                "This page is for parents and guardians who act for a child in the study. "
                "Nobody acts for you here: your own consent is on your consent page."
            )
        )
    links = selectors.proxy_links(signed_in_user(request))
    if request.method == "POST":
        chosen = request.POST.get("participant")
        participant = selectors.proxied_participant(signed_in_user(request), chosen)
        if participant is None and (
            ended := selectors.ended_proxy_link(signed_in_user(request), chosen)
        ):
            raise PermissionDenied(services.proxy_ended_message(ended))
        if participant is None:
            raise Http404("You do not act for this participant.")
        request.session[ACTING_FOR] = participant.pk
        return redirect("consent:home")
    return render(request, "consent/proxy_home.html", {"links": links})
