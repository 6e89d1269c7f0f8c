from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def majority_date(date_of_birth: dt.date) -> dt.date:
    """The day a person comes of age (29 February births: 1 March in common years)."""
    years = settings.CUSTODIAN_AGE_OF_MAJORITY
    try:
        return date_of_birth.replace(year=date_of_birth.year + years)
    except ValueError:
        return dt.date(date_of_birth.year + years, 3, 1)


class Participant(models.Model):
    """A person enrolled in the study; their account is activated from an invitation."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="participant"
    )
    study_id = models.CharField("study ID", max_length=64, unique=True)
    language = models.CharField(max_length=10, default="en")
    date_of_birth = models.DateField(null=True, blank=True)
    enrolled_at = models.DateTimeField(default=timezone.now)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["study_id"]

    def __str__(self) -> str:
        return self.study_id

    @property
    def of_age(self) -> bool:
        """Decides for themselves: an adult, or of unknown age (never linked to a guardian)."""
        return (
            self.date_of_birth is None or majority_date(self.date_of_birth) <= timezone.localdate()
        )


# --- consent documents ----------------------------------------------------------------------


class Answer(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    ASK = "ask", _("Ask me each time")


class ChoiceMeaning(models.TextChoices):
    """What a choice means for data use; consent/meanings.py maps these to DUO terms."""

    GENERAL_RESEARCH = "general_research", "Any research (DUO GRU)"
    HEALTH_RESEARCH = "health_research", "Health and medical research (DUO HMB)"
    ANCESTRY_RESEARCH = "ancestry_research", "Population origins or ancestry research (DUO POA)"
    COMMERCIAL_USE = "commercial_use", "Commercial use (if no: DUO NPUNCU)"
    INTERNATIONAL_USE = "international_use", "Use outside the country (if no: DUO GS)"
    RECONTACT = "recontact", "Being contacted again"
    RETURN_OF_RESULTS = "return_of_results", "Return of research results"
    ADDITIONAL_FINDINGS = "additional_findings", "Additional (incidental) findings"
    SAMPLE_STORAGE = "sample_storage", "Storing samples for future use"


class ConsentDocument(models.Model):
    """A consent form (e.g. "Main study consent"), published in numbered versions."""

    name = models.CharField(max_length=200, unique=True)
    # The study's country: "no use outside the country" becomes DUO GS with this code.
    country = models.CharField(max_length=2, default="GB")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"


class ConsentVersion(models.Model):
    """One numbered version of a document in one language. Published versions never change."""

    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    language = models.CharField(max_length=10, default="en")
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    body = models.TextField(blank=True, help_text="Markdown")
    status = models.CharField(
        max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    # Set when published: the choices differ from the version it supersedes.
    requires_reconsent = models.BooleanField(default=False)
    # The steward's decision: until they re-consent, participants' old consent is suspended.
    suspends_previous = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["document", "number", "language"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["document", "number", "language"], name="consent_version_unique"
            ),
            # At most one version in force per document and language.
            models.UniqueConstraint(
                fields=["document", "language"],
                condition=Q(status="published"),
                name="consent_version_one_published",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document.name} v{self.number} ({self.language})"


class ConsentSection(models.Model):
    version = models.ForeignKey(ConsentVersion, on_delete=models.CASCADE, related_name="sections")
    order = models.PositiveIntegerField()
    heading = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown")

    class Meta:
        ordering: ClassVar = ["version", "order"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["version", "order"], name="consent_section_order")
        ]

    def __str__(self) -> str:
        return self.heading


class ComprehensionQuestion(models.Model):
    version = models.ForeignKey(ConsentVersion, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveIntegerField()
    text = models.CharField(max_length=500)
    options = models.JSONField(help_text="List of answer texts")
    correct_option = models.PositiveIntegerField()
    explanation = models.TextField()

    class Meta:
        ordering: ClassVar = ["version", "order"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["version", "order"], name="consent_question_order")
        ]

    def __str__(self) -> str:
        return self.text


class ConsentChoice(models.Model):
    version = models.ForeignKey(ConsentVersion, on_delete=models.CASCADE, related_name="choices")
    key = models.SlugField(max_length=50)
    order = models.PositiveIntegerField()
    question = models.CharField(max_length=300)
    explanation = models.TextField()
    meaning = models.CharField(max_length=30, choices=ChoiceMeaning.choices)
    allowed_answers = models.JSONField(default=list, help_text='Subset of ["yes", "no", "ask"]')
    # Shown to the participant as the study's recommendation, never preselected: consent
    # is the participant's own act on each question (GDPR art. 4(11); Planet49, 2019).
    recommended_answer = models.CharField(max_length=3, choices=Answer.choices, blank=True)

    class Meta:
        ordering: ClassVar = ["version", "order"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["version", "key"], name="consent_choice_key")
        ]

    def __str__(self) -> str:
        return self.key


# --- consent records (append-only) and the current-consent projection -------------------------


class RecordKind(models.TextChoices):
    CONSENT = "consent", _("First consent")
    CHANGE = "change", _("Change of choices")
    RECONSENT = "reconsent", _("Consent to a new version")
    WITHDRAWAL = "withdrawal", _("Withdrawal")
    # A young person who came of age acted on each choice their guardian made for them:
    # from this record on, the consent is their own act, even where no answer changed.
    CONFIRM = "confirm", _("Own consent at coming of age")


class WithdrawalLevel(models.TextChoices):
    """Least first; each level is the ConsentStatus it leads to, and a withdrawal can only go
    further (consent.transitions.CONSENT_TRANSITIONS)."""

    NO_CONTACT = "no_contact", _("No further contact")
    NO_ACCESS = "no_access", _("No further access")
    NO_USE = "no_use", _("No further use")


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    PAPER = "paper", _("Imported paper form")


class ConsentRecord(models.Model):
    """One consent, change or withdrawal. Never updated or deleted (a trigger enforces it).

    `record_hash` chains to the participant's previous record, so any edit is detectable.
    """

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="records")
    sequence = models.PositiveIntegerField()
    version = models.ForeignKey(ConsentVersion, on_delete=models.PROTECT, related_name="records")
    kind = models.CharField(max_length=12, choices=RecordKind.choices)
    answers = models.JSONField(default=dict)
    withdrawal_level = models.CharField(max_length=12, choices=WithdrawalLevel.choices, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Set when a proxy (guardian) acted on the participant's behalf.
    proxy = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=6, choices=Channel.choices)
    signature = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    previous_hash = models.CharField(max_length=64)
    record_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering: ClassVar = ["participant", "sequence"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["participant", "sequence"], name="consent_record_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.participant} #{self.sequence} {self.kind}"


class ConsentStatus(models.TextChoices):
    ACTIVE = "active", _("Consent given")
    NO_CONTACT = "no_contact", _("Withdrawn: no further contact")
    NO_ACCESS = "no_access", _("Withdrawn: no further access")
    NO_USE = "no_use", _("Withdrawn: no further use")


# "This consent still allows use", stated once: the participant has not withdrawn from use,
# and the consent is not suspended until they review a new version. The cohort index's
# condition, the matcher's SQL (`consent.meanings.cohort_q`) and every count are built from
# `allows_use_q`: if the index condition and a query's filter drifted apart, PostgreSQL would
# silently stop using the covering index. `allows_use` is the same rule on one row
# (tests/consent/test_allows_use.py checks the two agree on every status).
USE_WITHDRAWN = ConsentStatus.NO_USE


def allows_use_q(prefix: str = "") -> Q:
    """A filter on CurrentConsent (or, with `prefix`, on a model that reaches it)."""
    return Q(**{f"{prefix}suspended": False}) & ~Q(**{f"{prefix}status": USE_WITHDRAWN})


def allows_use(*, status: str, suspended: bool) -> bool:
    return not suspended and status != USE_WITHDRAWN


class CurrentConsent(models.Model):
    """The participant's consent now: one row, rewritten with every record, queried by all.

    The DUO columns are what the cohort queries filter on; `sequence` is the optimistic
    concurrency token a form or API client sends back.
    """

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, primary_key=True, related_name="current_consent"
    )
    record = models.OneToOneField(ConsentRecord, on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveIntegerField()
    version = models.ForeignKey(ConsentVersion, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=ConsentStatus.choices)
    suspended = models.BooleanField(default=False)
    answers = models.JSONField(default=dict)
    permits_gru = models.BooleanField(default=False)
    permits_hmb = models.BooleanField(default=False)
    permits_poa = models.BooleanField(default=False)
    non_commercial_only = models.BooleanField(default=False)
    in_country_only = models.BooleanField(default=False)
    country = models.CharField(max_length=2, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        indexes: ClassVar = [
            # The cohort queries read only participants whose data may be released; every
            # column they filter on is in the index, so PostgreSQL answers from it alone.
            models.Index(
                fields=["participant"],
                name="consent_current_usable",
                condition=allows_use_q(),
                include=[
                    "permits_gru",
                    "permits_hmb",
                    "permits_poa",
                    "non_commercial_only",
                    "in_country_only",
                    "country",
                ],
            ),
            # Every participant's consent in the index alone: the breakdown of a dataset's
            # samples (withdrawn, suspended, narrower…) reads no table row.
            models.Index(
                fields=["participant"],
                name="consent_current_all",
                include=[
                    "status",
                    "suspended",
                    "sequence",
                    "permits_gru",
                    "permits_hmb",
                    "permits_poa",
                    "non_commercial_only",
                    "in_country_only",
                    "country",
                ],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.status}"

    @property
    def releasable(self) -> bool:
        return allows_use(status=self.status, suspended=self.suspended)


class ConsentReceipt(models.Model):
    """The PDF receipt of one record, kept beside it: the record row is never updated."""

    record = models.OneToOneField(
        ConsentRecord, on_delete=models.PROTECT, primary_key=True, related_name="receipt"
    )
    sha256 = models.CharField("SHA-256 of the PDF", max_length=64)
    pdf = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    # Set once the receipt was emailed, so a rerun of the task does not email it again.
    emailed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"receipt of {self.record}"


class ParticipantProxy(models.Model):
    """A guardian who consents for a child participant until the child comes of age."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="proxies")
    proxy = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proxy_links"
    )
    relationship = models.CharField(max_length=100, default="parent or guardian")
    linked_at = models.DateTimeField(default=timezone.now)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering: ClassVar = ["participant", "-linked_at"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["participant", "proxy"],
                condition=Q(ended_at__isnull=True),
                name="consent_proxy_one_active_link",
            )
        ]

    def __str__(self) -> str:
        return f"{self.proxy} for {self.participant}"


# --- "ask me each time": questions raised when a data-access request would use such a choice ---


class QuestionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for your answer")
    ANSWERED = "answered", _("Answered")
    # Set by the portal, never by a person: the question no longer applies (the participant
    # changed that choice or withdrew, or the request it is about was withdrawn).
    WITHDRAWN = "withdrawn", _("No longer needed")


class ConsentQuestion(models.Model):
    """A participant who answered "ask me each time" to a choice is asked about one use.

    The choice's wording is copied when the question is raised, so the answer stays tied to
    what the participant was shown. What the question is about is plain text for now; the
    access app links it to its data-access request.
    """

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="consent_questions"
    )
    version = models.ForeignKey(ConsentVersion, on_delete=models.PROTECT, related_name="+")
    choice_key = models.SlugField(max_length=50)
    choice_question = models.CharField(max_length=300)
    request_title = models.CharField(max_length=300)
    request_summary = models.TextField()
    request_institution = models.CharField(max_length=200)
    status = models.CharField(
        max_length=12, choices=QuestionStatus.choices, default=QuestionStatus.PENDING
    )
    answer = models.CharField(
        max_length=3, choices=[(Answer.YES, _("Yes")), (Answer.NO, _("No"))], blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    # The participant, or the proxy who answered for them.
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering: ClassVar = ["participant", "-created_at"]
        indexes: ClassVar = [
            models.Index(
                fields=["participant", "choice_key"],
                name="consent_question_pending",
                condition=Q(status="pending"),
            )
        ]
        constraints: ClassVar = [
            # An answer exists exactly when the question was answered.
            models.CheckConstraint(
                condition=(
                    Q(
                        status="answered",
                        answer__in=["yes", "no"],
                        answered_at__isnull=False,
                        answered_by__isnull=False,
                    )
                    | (~Q(status="answered") & Q(answer="", answered_by__isnull=True))
                ),
                name="consent_question_answer_iff_answered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.choice_key} for {self.request_title}"
