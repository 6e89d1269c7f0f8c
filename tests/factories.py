from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from consent.models import Participant
from datasets.models import Committee
from portal.models import ApiToken, ApiTokenScope, Role, User
from portal.tokens import api_token_digest, api_token_prefix, api_token_secret_new, password_stamp

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    class Params:
        # UserFactory(role=X) gives one role; UserFactory(roles=[X, Y]) several.
        role = Role.RESEARCHER

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name")
    roles = factory.LazyAttribute(lambda o: [o.role])
    institution = "Example University"
    is_active = True
    email_verified = True
    password = factory.LazyFunction(lambda: make_password(PASSWORD))
    is_staff = factory.LazyAttribute(lambda u: Role.STEWARD in u.roles)


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    user = factory.SubFactory(UserFactory, role=Role.PARTICIPANT)
    study_id = factory.Sequence(lambda n: f"TEST-{n:05d}")


class CommitteeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Committee

    name = factory.Sequence(lambda n: f"Committee {n}")
    contact_email = "dac@example.org"


def api_token_for(
    user: User, scope: str = ApiTokenScope.WRITE, *, days: int = 90, name: str = "test"
) -> str:
    """A new working API token of the user (straight into the table: no per-person cap, no
    audit entry); returns its secret, for `Authorization: Bearer <secret>`."""
    secret = api_token_secret_new()
    now = timezone.now()
    ApiToken.objects.create(
        user=user,
        name=name,
        prefix=api_token_prefix(secret),
        digest=api_token_digest(secret),
        scope=scope,
        password_stamp=password_stamp(User.objects.only("password").get(pk=user.pk)),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    return secret
