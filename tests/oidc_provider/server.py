"""Run the test provider: `python -m tests.oidc_provider.server PORT REDIRECT_URI`.

Creates its database (OIDC_PROVIDER_DB), the portal's client application and the test people,
then serves until terminated. The RSA signing key and the issuer come from the environment
(OIDC_PROVIDER_RSA_KEY, OIDC_PROVIDER_ISSUER), set by the tests' fixture."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

CLIENT_ID = "custodian-portal"
CLIENT_SECRET = "custodian-portal-test-secret"  # noqa: S105 - a throwaway test provider's
PASSWORD = "provider-password-1"  # noqa: S105


@dataclass(frozen=True)
class ProviderPerson:
    username: str
    email: str
    name: str
    email_verified: bool
    mfa: bool


# Each matches (or deliberately does not match) one of the portal tests' personas.
VERIFIED_RESEARCHER = ProviderPerson(
    "riley", "Researcher@Example.org", "Riley Researcher", email_verified=True, mfa=False
)
UNVERIFIED = ProviderPerson(
    "oscar", "outsider@elsewhere.example", "Oscar Outsider", email_verified=False, mfa=False
)
NEWCOMER = ProviderPerson(
    "nia", "newcomer@example.org", "Nia Newcomer", email_verified=True, mfa=False
)
MEMBER_WITH_MFA = ProviderPerson(
    "morgan", "member@example.org", "Morgan Member", email_verified=True, mfa=True
)
CHAIR_WITHOUT_MFA = ProviderPerson(
    "dana", "chair@example.org", "Dana Chair", email_verified=True, mfa=False
)
PEOPLE = [VERIFIED_RESEARCHER, UNVERIFIED, NEWCOMER, MEMBER_WITH_MFA, CHAIR_WITHOUT_MFA]


def _prepare(redirect_uri: str) -> None:
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    from tests.oidc_provider.validator import EMAIL_VERIFIED_GROUP, MFA_GROUP

    call_command("migrate", verbosity=0, interactive=False)
    verified, _ = Group.objects.get_or_create(name=EMAIL_VERIFIED_GROUP)
    mfa, _ = Group.objects.get_or_create(name=MFA_GROUP)
    for person in PEOPLE:
        first, _, last = person.name.partition(" ")
        user = User.objects.create_user(
            person.username, person.email, PASSWORD, first_name=first, last_name=last
        )
        if person.email_verified:
            user.groups.add(verified)
        if person.mfa:
            user.groups.add(mfa)
    Application.objects.create(
        name="Custodian",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
        skip_authorization=True,
        algorithm=Application.RS256_ALGORITHM,
    )


def main(port: str, redirect_uri: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django
    from django.core.management import call_command

    django.setup()
    _prepare(redirect_uri)
    call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, skip_checks=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
