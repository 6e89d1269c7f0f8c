from __future__ import annotations

import factory
from django.contrib.auth.hashers import make_password

from consent.models import Participant
from datasets.models import Committee
from portal.models import Role, User

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
