"""Access requests (applications), their review by committees, and the grants they give.

A request asks for one or more datasets. Each dataset's DAC reviews its part, and the
governance committee of each community whose members' samples those datasets hold
reviews it too: one `CommitteeReview` per committee per review round, with its own
votes and decision. Grants are per dataset and per person (the applicant and every
co-applicant who accepted the agreement); whether a grant is active is decided by time at
every use, never by a job having run.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from consent.models import ConsentQuestion, Participant
from datasets.models import Committee, DataFile, Dataset

REQUEST_ACCESSION_PREFIX = "CAR"


def request_accession_for(pk: int) -> str:
    return f"{REQUEST_ACCESSION_PREFIX}{pk:06d}"


class RequestStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    UNDER_REVIEW = "under_review", "Under review"
    RETURNED = "returned", "Returned for changes"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class PrimaryUse(models.TextChoices):
    """The matcher's primary uses (consent.duo.PrimaryUse), as the form offers them."""

    GRU = "GRU", "General research use"
    HMB = "HMB", "Health, medical or biomedical research"
    DS = "DS", "Research on specific diseases"
    POA = "POA", "Population origins or ancestry research"


class SensitiveArea(models.TextChoices):
    """Research areas the matcher always sends to the committee (NEEDS_REVIEW)."""

    CONTROLS = "controls", "Uses the data as controls"
    POPULATION_WIDE_VARIATION = "population_wide_variation", "Studies population-wide variation"
    PEDIATRIC = "pediatric", "Concerns children"
    VULNERABLE_GROUPS = "vulnerable_groups", "Concerns vulnerable groups"
    STIGMATISING_CONDITIONS = "stigmatising_conditions", "Concerns stigmatising conditions"
    NON_HEALTH_AIM = "non_health_aim", "Has an aim outside health"


class AccessRequest(models.Model):
    """A researcher's application to use datasets for one research purpose."""

    # Null until the creating transaction has its primary key.
    accession = models.CharField(  # noqa: DJ001 - NULLs do not collide in the unique index
        max_length=16, unique=True, null=True, editable=False
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests"
    )
    status = models.CharField(
        max_length=14, choices=RequestStatus.choices, default=RequestStatus.DRAFT
    )
    title = models.CharField("project title", max_length=300, blank=True)
    lay_summary = models.TextField(blank=True)
    scientific_abstract = models.TextField(blank=True)
    # The structured research purpose: maps field for field onto consent.duo.ResearchPurpose.
    primary_use = models.CharField(max_length=3, choices=PrimaryUse.choices, blank=True)
    diseases = models.JSONField(default=list, blank=True)
    methods_development = models.BooleanField(default=False)
    commercial = models.BooleanField("commercial purpose", default=False)
    for_profit_organisation = models.BooleanField(default=False)
    countries = models.JSONField("countries of use", default=list, blank=True)
    sensitive_areas = models.JSONField(default=list, blank=True)
    institution = models.CharField("applicant's institution", max_length=200, blank=True)
    access_end = models.DateField("access wanted until", null=True, blank=True)
    signing_official_name = models.CharField(max_length=200, blank=True)
    signing_official_email = models.EmailField(blank=True)
    security_attestation = models.BooleanField("data-security attestation", default=False)
    datasets = models.ManyToManyField(
        Dataset, through="RequestedDataset", related_name="access_requests"
    )
    # A renewal is a new request, pre-filled from the old one and linked to it.
    renewal_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewals"
    )
    # Each submission after a return starts a new round of reviews and votes.
    review_round = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Reminders already sent before the grants end ("30", "7"), so a rerun sends none twice.
    expiry_reminders = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "access request"
        ordering: ClassVar = ["-created_at", "-pk"]
        indexes: ClassVar = [models.Index(fields=["status", "-submitted_at"])]

    def __str__(self) -> str:
        return f"{self.accession} {self.title}"

    @property
    def is_editable(self) -> bool:
        return self.status in {RequestStatus.DRAFT, RequestStatus.RETURNED}


class RequestedDataset(models.Model):
    request = models.ForeignKey(
        AccessRequest, on_delete=models.CASCADE, related_name="requested_datasets"
    )
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering: ClassVar = ["dataset__accession"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["request", "dataset"], name="access_dataset_once")
        ]

    def __str__(self) -> str:
        return f"{self.request_id}: dataset {self.dataset_id}"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Waiting for an answer"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"


class CoApplicant(models.Model):
    """A person invited by email to join a request; they must accept (before it expires)."""

    request = models.ForeignKey(
        AccessRequest, on_delete=models.CASCADE, related_name="coapplicants"
    )
    email = models.EmailField()
    full_name = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="coapplications",
    )
    status = models.CharField(
        max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    invited_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "co-applicant"
        ordering: ClassVar = ["request", "email"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["request", "email"], name="access_coapplicant_once"),
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(user__isnull=False),
                name="access_coapplicant_accepted_has_user",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_expired(self) -> bool:
        return self.status == InvitationStatus.PENDING and timezone.now() >= self.expires_at


class DataAccessAgreement(models.Model):
    """A committee's data-access agreement, in numbered versions; the newest published applies."""

    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="agreements")
    version = models.PositiveIntegerField()
    text = models.TextField()
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "data-access agreement"
        ordering: ClassVar = ["committee", "-version"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["committee", "version"], name="access_agreement_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.committee} agreement v{self.version}"


class AgreementAcceptance(models.Model):
    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="acceptances")
    agreement = models.ForeignKey(DataAccessAgreement, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    accepted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["accepted_at"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["request", "agreement", "user"], name="access_acceptance_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} accepted {self.agreement_id} on {self.request_id}"


class EthicsDocument(models.Model):
    """An ethics approval (PDF), stored outside the web root, served only to those allowed."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="ethics")
    # Relative to CUSTODIAN_PRIVATE_ROOT; never under STATIC_ROOT or MEDIA_ROOT.
    path = models.CharField(max_length=300)
    original_name = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    sha256 = models.CharField("SHA-256", max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "ethics document"
        ordering: ClassVar = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return self.original_name


class ReviewDecision(models.TextChoices):
    PENDING = "pending", "Waiting for a decision"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    RETURNED = "returned", "Returned for changes"
    SUPERSEDED = "superseded", "Superseded by a later round"


class CommitteeReview(models.Model):
    """One committee's review of a request in one round: its votes and its decision."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="reviews")
    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="reviews")
    review_round = models.PositiveSmallIntegerField()
    decision = models.CharField(
        max_length=10, choices=ReviewDecision.choices, default=ReviewDecision.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # Shown to the applicant with the decision.
    comment = models.TextField(blank=True)
    # Why the decision departs from the automated DUO match (required when it does).
    justification = models.TextField(blank=True)
    # The automated match outcome when the decision was recorded (APPROVE/DENY/NEEDS_REVIEW).
    match_outcome = models.CharField(max_length=12, blank=True)
    grant_end = models.DateField(null=True, blank=True)
    conditions = models.TextField("conditions of the approval", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The last day members who had not voted were reminded (a rerun the same week sends none).
    reminded_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = "committee review"
        ordering: ClassVar = ["request", "review_round", "committee__name"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["request", "committee", "review_round"], name="access_review_once"
            )
        ]
        indexes: ClassVar = [models.Index(fields=["committee", "decision"])]

    def __str__(self) -> str:
        return f"{self.committee} on {self.request_id} (round {self.review_round})"

    @property
    def is_open(self) -> bool:
        return self.decision == ReviewDecision.PENDING


class VoteChoice(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class Vote(models.Model):
    """A member's vote with its rationale; it may change until the committee decides."""

    review = models.ForeignKey(CommitteeReview, on_delete=models.CASCADE, related_name="votes")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    choice = models.CharField(max_length=7, choices=VoteChoice.choices)
    rationale = models.TextField()
    cast_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["review", "cast_at"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["review", "member"], name="access_vote_once")
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.choice}"


class Grant(models.Model):
    """Access for one person to one dataset; active while not revoked and not past its end."""

    request = models.ForeignKey(AccessRequest, on_delete=models.PROTECT, related_name="grants")
    review = models.ForeignKey(CommitteeReview, on_delete=models.PROTECT, related_name="grants")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="grants")
    grantee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grants"
    )
    starts_on = models.DateField()
    # The last day of use, inclusive.
    ends_on = models.DateField()
    conditions = models.TextField(blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["request", "dataset", "grantee"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["request", "dataset", "grantee"], name="access_grant_once"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="access_grant_ends_after"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grantee} → {self.dataset_id} until {self.ends_on}"

    def is_active_on(self, day: dt.date) -> bool:
        return self.revoked_at is None and self.starts_on <= day <= self.ends_on

    @property
    def is_active(self) -> bool:
        return self.is_active_on(timezone.localdate())

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.is_active else "expired"


class EventKind(models.TextChoices):
    CREATED = "created", "Draft created"
    SUBMITTED = "submitted", "Submitted"
    REVIEW_STARTED = "under_review", "Review started"
    RETURNED = "returned", "Returned for changes"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"
    COMMITTEE_DECISION = "committee_decision", "Committee decision"
    VOTE = "vote", "Vote"
    COAPPLICANT_INVITED = "coapplicant_invited", "Co-applicant invited"
    COAPPLICANT_ANSWERED = "coapplicant_answered", "Co-applicant answered"
    AGREEMENT_ACCEPTED = "agreement_accepted", "Agreement accepted"
    ETHICS_UPLOADED = "ethics_uploaded", "Ethics approval uploaded"


class RequestEvent(models.Model):
    """The request's timeline: every transition and step, with actor, time and comment.

    `internal` events (votes, reviewers' comments) are shown to committees only.
    """

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=22, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    committee = models.ForeignKey(
        Committee, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    comment = models.TextField(blank=True)
    internal = models.BooleanField(default=False)

    class Meta:
        ordering: ClassVar = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.kind} at {self.at:%Y-%m-%d %H:%M}"


class RequestQuestion(models.Model):
    """An "ask me each time" question raised for a request, and the consent it was asked on.

    The participant counts as consenting through their answers only while their consent is
    the one the questions were raised on (`consent_sequence`): any later change of consent
    drops them back to what their answers alone say.
    """

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="questions")
    question = models.OneToOneField(
        ConsentQuestion, on_delete=models.PROTECT, related_name="access_request_link"
    )
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    consent_sequence = models.PositiveIntegerField()

    class Meta:
        indexes: ClassVar = [models.Index(fields=["request", "participant"])]

    def __str__(self) -> str:
        return f"{self.request_id}: question {self.question_id}"


# --- deliveries: the files a grant holder downloads, and the signed links to them ---------------


class DeliveryStatus(models.TextChoices):
    PREPARING = "preparing", "Preparing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One request for download links under a grant, and the consented sample set it served.

    Whether its links still work is decided at every download (expiry, the grant, current
    consent), never by a status a job would have to update.
    """

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="deliveries")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deliveries"
    )
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PREPARING
    )
    # The data files asked for (empty: every data file of the grant's dataset).
    datafile_ids = models.JSONField(default=list, blank=True)
    lifetime_seconds = models.PositiveIntegerField(null=True, blank=True)
    # SHA-256 of the sorted sample IDs delivered, newline-joined.
    sample_set_hash = models.CharField(max_length=64, blank=True)
    # The audit ledger's head when the consented set was computed: while it has not moved,
    # nobody's consent can have changed, so downloads skip the consent query.
    consent_stamp = models.CharField(max_length=64, blank=True)
    excluded_files = models.PositiveIntegerField(default=0)
    # Progress of the consent-filtered copies being built: regions queued and done.
    pieces_total = models.PositiveIntegerField(default=0)
    pieces_done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = "delivery"
        verbose_name_plural = "deliveries"
        ordering: ClassVar = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class DeliveryFile(models.Model):
    """A file served by a delivery: the original data file or a derivative of it."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="files")
    datafile = models.ForeignKey(DataFile, on_delete=models.PROTECT, related_name="+")
    # Relative to CUSTODIAN_DATA_ROOT: the original, or a file under derivatives/.
    served_path = models.CharField(max_length=1024)
    name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField("SHA-256", max_length=64)
    # Blank for files delivered before it was recorded (DRS then lists the SHA-256 alone).
    md5 = models.CharField("MD5", max_length=32, blank=True)
    is_index = models.BooleanField(default=False)
    index_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="index"
    )

    class Meta:
        ordering: ClassVar = ["delivery", "is_index", "name"]

    def __str__(self) -> str:
        return self.name


class DeliveryParticipant(models.Model):
    """A participant whose samples a delivery included ("who used my data" lists these)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="participants")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    # When the delivery's holder was told this participant no longer consents (once).
    holder_told_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["delivery", "participant"], name="access_delivery_participant_once"
            )
        ]
        indexes: ClassVar = [models.Index(fields=["participant", "delivery"])]

    def __str__(self) -> str:
        return f"{self.delivery_id}: {self.participant_id}"


class SignedLink(models.Model):
    """A time-limited download link; the URL carries a signature over its id and expiry."""

    delivery_file = models.ForeignKey(DeliveryFile, on_delete=models.CASCADE, related_name="links")
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["pk"]

    def __str__(self) -> str:
        return f"link {self.pk} until {self.expires_at:%Y-%m-%d %H:%M}"


# --- GA4GH Passport visas: the portal's signing keys, and signing officials' confirmations -----


class VisaAlgorithm(models.TextChoices):
    ES256 = "ES256", "ECDSA P-256 with SHA-256"
    RS256 = "RS256", "RSA 2048 with SHA-256"


class VisaKey(models.Model):
    """A key the portal signs visas with; the newest unretired one signs, the others verify.

    The private key is stored encrypted with a key derived from SECRET_KEY (access/visas.py),
    so a database dump alone cannot sign visas. A retired key stays in the JWKS until
    `published_until`, when every visa it signed has expired.
    """

    # RFC 7638 thumbprint of the public key (base64url SHA-256).
    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=5, choices=VisaAlgorithm.choices)
    private_key_encrypted = models.TextField(editable=False)
    public_jwk = models.JSONField(editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)
    published_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "visa signing key"
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(retired_at__isnull=True, published_until__isnull=True)
                | Q(retired_at__isnull=False, published_until__gte=models.F("retired_at")),
                name="access_visakey_published_after_retired",
            )
        ]

    def __str__(self) -> str:
        return f"{self.algorithm} key {self.kid}"


class OfficialAnswer(models.TextChoices):
    PENDING = "pending", "Waiting for the signing official"
    CONFIRMED = "confirmed", "Confirmed"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Replaced by a newer request"


class SigningOfficialConfirmation(models.Model):
    """A researcher's signing official confirming their bona fide status, by an emailed link.

    The official needs no account: the link carries a random token, of which only the SHA-256
    is kept. A confirmed status gives a ResearcherStatus visa until `expires_at`.
    """

    researcher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="official_confirmations"
    )
    official_name = models.CharField("signing official's name", max_length=200)
    official_email = models.EmailField("signing official's email")
    institution = models.CharField(max_length=200)
    token_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(
        max_length=9, choices=OfficialAnswer.choices, default=OfficialAnswer.PENDING
    )
    asked_at = models.DateTimeField(default=timezone.now)
    link_expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The end of the confirmed status (the official vouches for a limited time).
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "signing official confirmation"
        ordering: ClassVar = ["-asked_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=~Q(status="confirmed")
                | Q(confirmed_at__isnull=False, expires_at__isnull=False),
                name="access_official_confirmed_has_dates",
            )
        ]
        indexes: ClassVar = [models.Index(fields=["researcher", "status"])]

    def __str__(self) -> str:
        return f"{self.official_email} for {self.researcher_id} ({self.status})"

    @property
    def is_in_force(self) -> bool:
        return (
            self.status == OfficialAnswer.CONFIRMED
            and self.expires_at is not None
            and timezone.now() < self.expires_at
        )
