from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PARTICIPANT = "participant", _("Participant")
    RESEARCHER = "researcher", _("Researcher")
    DAC_MEMBER = "dac_member", _("DAC member")
    DAC_CHAIR = "dac_chair", _("DAC chair")
    STEWARD = "steward", _("Data steward")
    PROXY = "proxy", _("Proxy (guardian)")


# Roles whose sign-in needs a second factor when CUSTODIAN_REQUIRE_OTP is on.
OTP_ROLES = frozenset({Role.DAC_MEMBER, Role.DAC_CHAIR, Role.STEWARD})
# Where /home/ sends a person with several roles: the first they hold in this order.
ROLE_PRIORITY = (
    Role.STEWARD,
    Role.DAC_CHAIR,
    Role.DAC_MEMBER,
    Role.RESEARCHER,
    Role.PARTICIPANT,
    Role.PROXY,
)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("roles", [Role.STEWARD])
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


def normalize_email(email: str) -> str:
    # Email is the login name: one spelling per person, whatever case they type.
    return email.strip().lower()


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=200)
    # A person may wear several hats (a DAC member who also applies for data); what makes
    # someone a reviewer of a request is membership of its committee, not a role.
    roles = models.JSONField(default=list, blank=True)
    institution = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    email_verified = models.BooleanField(default=False)
    # The language chosen on the language switch (a code of settings.LANGUAGES), used for
    # the pages once signed in, emails and receipts; blank: not chosen (browser's, cookie's).
    language = models.CharField(max_length=10, blank=True, default="")
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]

    class Meta:
        ordering: ClassVar = ["email"]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>" if self.full_name else self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def role_set(self) -> frozenset[Role]:
        return frozenset(Role(r) for r in self.roles if r in Role.values)

    @property
    def primary_role(self) -> Role | None:
        return next((r for r in ROLE_PRIORITY if r in self.roles), None)

    @property
    def roles_display(self) -> str:
        return ", ".join(str(Role(r).label) for r in ROLE_PRIORITY if r in self.roles)

    @property
    def needs_otp(self) -> bool:
        return self.has_role(*OTP_ROLES)

    @property
    def is_dac(self) -> bool:
        return self.has_role(Role.DAC_MEMBER, Role.DAC_CHAIR)


class AuditEvent(models.Model):
    """One entry of the append-only audit ledger.

    A service inserts it in its own transaction and nothing else: the sealer
    (`portal.ledger.ledger_seal`) later gives it its leaf in the transparency log, whose
    signed checkpoints make editing, deleting, inserting or reordering entries evident;
    `verify_audit_ledger` finds the first entry that differs.
    """

    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=100)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    # False for an entry that only records a read (a beacon query): it leaves
    # `portal.audit.state_version`, which caches are keyed by, where it was. Not part of the
    # leaf: it says nothing about what happened, only what a cache may skip.
    changes_state = models.BooleanField(default=True, db_default=True)

    class Meta:
        ordering: ClassVar = ["id"]
        indexes: ClassVar = [
            models.Index(fields=["object_type", "object_id"]),
            # The newest state change, read on every DRS request (state_version_sql).
            models.Index(
                fields=["id"], condition=Q(changes_state=True), name="portal_audit_changes_state"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"


class Notification(models.Model):
    """An in-app notice (the page shows the unread count); emails are sent beside it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    message = models.CharField(max_length=500)
    # A path inside the portal the notice links to.
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        indexes: ClassVar = [
            models.Index(
                fields=["user"], name="portal_notification_unread", condition=Q(read_at=None)
            )
        ]

    def __str__(self) -> str:
        return self.message


class ApiTokenScope(models.TextChoices):
    """What a personal API token may do; each scope includes the ones above it.

    read: GET (and HEAD, OPTIONS) on the API and GA4GH endpoints, except delivery links.
    download: read, and asking for delivery links and reading them (their URLs); DRS and
      htsget ask for this scope too.
    write: everything the account may do through the API (consent changes, requests, votes,
      datasets), except managing API tokens, which needs the signed-in session.
    """

    READ = "read", "Read only"
    DOWNLOAD = "download", "Read and download"
    WRITE = "write", "Read, download and change"


SCOPE_RANK = {ApiTokenScope.READ: 0, ApiTokenScope.DOWNLOAD: 1, ApiTokenScope.WRITE: 2}


class ApiToken(models.Model):
    """A personal API token. Only the SHA-256 of its secret is stored (the secret is random,
    not a password, so a slow hash adds nothing); the secret is shown once, at creation.

    `password_stamp` is a digest of the owner's password hash when the token was made: any
    password change or reset (which re-hashes with a new salt) makes every older token dead.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The secret's first characters: shown in lists, and the index a presented secret is
    # looked up by before its digest is compared in constant time.
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=10, choices=ApiTokenScope.choices)
    password_stamp = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Not stored: `portal.audit.state_version` read with the token at authentication
    # (portal.selectors.api_tokens_with_prefix), so DRS and htsget need not read it again.
    state_version: str | None = None

    class Meta:
        ordering: ClassVar = ["-created_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="portal_apitoken_expires_after_creation",
            ),
            models.CheckConstraint(
                condition=Q(scope__in=["read", "download", "write"]),
                name="portal_apitoken_scope_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def allows(self, scope: str) -> bool:
        return SCOPE_RANK[ApiTokenScope(self.scope)] >= SCOPE_RANK[ApiTokenScope(scope)]


class OidcIdentity(models.Model):
    """A person's login at an OpenID Connect provider, linked to their account.

    The provider's `sub` is the only stable name it gives a person (an email address can change
    hands), so a sign-in finds its account by (issuer, subject) first. One login per provider
    per account, one account per login.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="oidc_identities")
    issuer = models.CharField(max_length=255)
    # OpenID Connect Core 1.0, 2: at most 255 ASCII characters.
    subject = models.CharField(max_length=255)
    # The provider's address for the person when linked, shown on the account page.
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["created_at", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["issuer", "subject"], name="portal_oidcidentity_one_account"
            ),
            models.UniqueConstraint(
                fields=["user", "issuer"], name="portal_oidcidentity_one_per_provider"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class LedgerLeaf(models.Model):
    """An audit entry's place in the transparency log's Merkle tree (RFC 9162).

    Written only by the sealer (`portal.ledger.ledger_seal`), never by the services that
    audit: a writer's transaction takes no lock that another writer waits for.
    """

    leaf_index = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="ledger_leaf")
    # Hex SHA-256(0x00 || the entry's canonical JSON): what the tree is built from.
    leaf_hash = models.CharField(max_length=64)

    class Meta:
        ordering: ClassVar = ["leaf_index"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(leaf_index__gte=0), name="portal_ledgerleaf_index_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"leaf {self.leaf_index}: entry #{self.event_id}"


class LedgerState(models.Model):
    """The sealer's one row: the tree so far and how far sealing is known to be complete.

    The sealer locks this row, so two sealers started at once run one after the other.
    """

    tree_size = models.BigIntegerField(default=0)
    # Roots of the perfect subtrees that make up the tree, largest first (hex): enough to
    # append leaves and compute the root without reading every leaf.
    frontier = models.JSONField(default=list)
    # Every entry with an id up to this one is sealed (or was never committed).
    sealed_through = models.BigIntegerField(default=0)
    # Ids drawn up to `pending_sequence` belong to transactions whose ids are all below
    # `pending_xid`: once none of those is running, `sealed_through` may move there.
    pending_sequence = models.BigIntegerField(default=0)
    pending_xid = models.BigIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(id=1), name="portal_ledgerstate_one_row")
        ]

    def __str__(self) -> str:
        return f"ledger of {self.tree_size} leaves"


class LedgerCheckpoint(models.Model):
    """A signed checkpoint (c2sp.org/tlog-checkpoint) of the tree at one size, kept."""

    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.CharField(max_length=64)
    # The signed note exactly as served at /ledger/checkpoint.
    note = models.TextField()
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["tree_size"]

    def __str__(self) -> str:
        return f"checkpoint of {self.tree_size} leaves"


class LedgerNode(models.Model):
    """The hash of one perfect subtree of the transparency log: leaves
    [index * 2**level, (index + 1) * 2**level), level 1 and up (level 0 is `LedgerLeaf`).

    A perfect subtree never changes once its last leaf is sealed, so these are kept and a
    proof is built from O(log n) rows instead of every leaf (RFC 9162, 2.1.3-2.1.4). Written
    by `portal.proofs.ledger_nodes_extend` only, insert-only, recomputable from the leaves.
    """

    pk = models.CompositePrimaryKey("level", "index")
    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    node_hash = models.CharField(max_length=64)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(level__gte=1, index__gte=0), name="portal_ledgernode_above_leaves"
            )
        ]

    def __str__(self) -> str:
        return f"node {self.level}/{self.index}"


class WitnessPushStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class LedgerWitnessPush(models.Model):
    """One checkpoint sent to one configured witness (an HTTPS endpoint or an email address).

    Kept so that stewards and operators see which copies live outside the portal and which
    witness keeps failing (the task retries with backoff, then leaves it FAILED).
    """

    checkpoint = models.ForeignKey(
        LedgerCheckpoint, on_delete=models.PROTECT, related_name="witness_pushes"
    )
    witness = models.CharField(max_length=500)
    status = models.CharField(
        max_length=10, choices=WitnessPushStatus.choices, default=WitnessPushStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # The witness's signature line over this checkpoint (c2sp.org/tlog-cosignature), checked
    # against the witness's configured key; empty for a witness configured without one.
    cosignature = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["-checkpoint__tree_size", "witness"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["checkpoint", "witness"], name="portal_witnesspush_once_per_witness"
            )
        ]

    def __str__(self) -> str:
        return f"checkpoint {self.checkpoint_id} to {self.witness}: {self.status}"
