"""The participant's "ask me each time" questions: what is asked, and a yes or no for each."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from consent import selectors, services
from consent.forms import QuestionAnswerForm
from consent.models import ConsentQuestion, Participant, QuestionStatus
from consent.views.common import acting_participant, acting_proxy
from portal.decorators import role_required, signed_in_user
from portal.exceptions import PortalError
from portal.models import Role


def _form(question: ConsentQuestion, data: Any = None) -> QuestionAnswerForm:
    form = QuestionAnswerForm(data, prefix=f"q{question.pk}")
    form.fields["answer"].label = _("May “%(title)s” use the data?") % {
        "title": question.request_title
    }
    return form


def _page(
    request: HttpRequest,
    participant: Participant,
    *,
    refused: ConsentQuestion | None = None,
    form: QuestionAnswerForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    questions = list(selectors.participant_questions(participant))
    pending = [
        (q, form if refused is not None and q.pk == refused.pk and form else _form(q))
        for q in questions
        if q.status == QuestionStatus.PENDING
    ]
    context = {
        "participant": participant,
        "acting_as_proxy": acting_proxy(request) is not None,
        "pending": pending,
        "closed": [q for q in questions if q.status != QuestionStatus.PENDING],
        "error": error,
    }
    return render(request, "consent/questions.html", context, status=status)


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_GET
def questions(request: HttpRequest) -> HttpResponse:
    return _page(request, acting_participant(request))


@role_required(Role.PARTICIPANT, Role.PROXY)
@require_POST
def question_answer(request: HttpRequest, question_id: int) -> HttpResponse:
    participant = acting_participant(request)
    question = get_object_or_404(selectors.participant_questions(participant), pk=question_id)
    form = _form(question, request.POST)
    if not form.is_valid():
        return _page(request, participant, refused=question, form=form, status=400)
    try:
        services.consent_question_answer(
            actor=signed_in_user(request),
            proxy=acting_proxy(request),
            question=question,
            answer=form.cleaned_data["answer"],
        )
    except PortalError as exc:
        return _page(request, participant, error=exc.message, status=exc.form_status)
    answer = _("yes") if form.cleaned_data["answer"] == "yes" else _("no")
    said = {"answer": answer, "title": question.request_title}
    messages.success(
        request,
        _("Thank you: your answer “%(answer)s” for %(name)s about “%(title)s” is recorded.")
        % {**said, "name": participant.user.get_short_name()}
        if acting_proxy(request) is not None
        else _("Thank you: your answer “%(answer)s” about “%(title)s” is recorded.") % said,
    )
    return redirect("consent:questions")
