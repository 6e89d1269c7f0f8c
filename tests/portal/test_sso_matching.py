"""Which account a provider's login opens, decided by the sign-on services on the claims that
passed every check (the flow itself runs against a real provider in tests/browser/sso)."""

from __future__ import annotations

from typing import Any

import pytest

from portal import services
from portal.exceptions import NotFoundError, PortalError
from portal.models import AuditEvent, OidcIdentity, Role, User
from portal.oidc import ProviderClaims
from tests.factories import UserFactory

ISSUER = "https://login.example.org/oidc"


@pytest.fixture(autouse=True)
def _provider(settings: Any) -> None:
    settings.CUSTODIAN_OIDC_ISSUER = ISSUER
    settings.CUSTODIAN_OIDC_CLIENT_ID = "portal"
    settings.CUSTODIAN_OIDC_CLIENT_SECRET = "secret"
    settings.CUSTODIAN_OIDC_NAME = "LS Login"


def claims(
    subject: str = "sub-1",
    email: str = "researcher@example.org",
    *,
    verified: bool = True,
    name: str = "Riley Researcher",
    mfa: bool = False,
    issuer: str = ISSUER,
) -> ProviderClaims:
    return ProviderClaims(
        issuer=issuer, subject=subject, email=email, email_verified=verified, name=name, mfa=mfa
    )


def test_sso_match_by_stored_link_whatever_the_email(researcher: User) -> None:
    OidcIdentity.objects.create(user=researcher, issuer=ISSUER, subject="sub-1")

    user = services.oidc_sign_in(claims=claims(email="someone.else@example.org", verified=False))

    assert user == researcher
    assert AuditEvent.objects.get(action="user.oidc_sign_in").after == {
        "issuer": ISSUER,
        "subject": "sub-1",
        "matched_by": "link",
        "mfa": False,
    }
    assert not AuditEvent.objects.filter(action="user.oidc_link").exists()


def test_sso_match_by_verified_email_any_case_stores_the_link(researcher: User) -> None:
    user = services.oidc_sign_in(claims=claims(email=" Researcher@EXAMPLE.org", mfa=True))

    assert user == researcher
    identity = OidcIdentity.objects.get()
    assert (identity.user, identity.issuer, identity.subject) == (researcher, ISSUER, "sub-1")
    assert identity.email == "researcher@example.org"
    assert identity.last_used_at is not None
    assert AuditEvent.objects.get(action="user.oidc_sign_in").after["mfa"] is True


def test_sso_unverified_email_refused_even_when_an_account_has_it(researcher: User) -> None:
    with pytest.raises(PortalError) as refused:
        services.oidc_sign_in(claims=claims(verified=False))

    assert refused.value.code == "sign_on_unverified_email"
    assert refused.value.http_status == 403
    assert refused.value.message == (
        "LS Login has not confirmed your email address, so we cannot tell which Custodian "
        "account is yours. Sign in with your Custodian email and password, then choose “Link "
        "your LS Login login” on your account page: from then on LS Login signs you in."
    )
    assert not OidcIdentity.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="user.oidc_").exists()


def test_sso_no_email_at_all_refused(db: None) -> None:
    with pytest.raises(PortalError) as refused:
        services.oidc_sign_in(claims=claims(email=""))

    assert refused.value.code == "sign_on_unverified_email"
    assert not User.objects.exists()


@pytest.mark.parametrize("linked", [False, True])
def test_sso_inactive_account_refused(researcher: User, linked: bool) -> None:
    researcher.is_active = False
    researcher.save()
    if linked:
        OidcIdentity.objects.create(user=researcher, issuer=ISSUER, subject="sub-1")

    with pytest.raises(PortalError) as refused:
        services.oidc_sign_in(claims=claims())

    assert refused.value.code == "sign_on_inactive"
    assert refused.value.http_status == 403
    assert OidcIdentity.objects.count() == (1 if linked else 0)
    assert not AuditEvent.objects.filter(action="user.oidc_sign_in").exists()


def test_sso_unknown_verified_email_creates_a_researcher_only(db: None) -> None:
    user = services.oidc_sign_in(claims=claims(email="new@example.org", name="Nia Newcomer"))

    assert user.email == "new@example.org"
    assert user.full_name == "Nia Newcomer"
    assert user.roles == ["researcher"]
    assert (user.is_active, user.email_verified, user.is_staff, user.is_superuser) == (
        True,
        True,
        False,
        False,
    )
    assert not user.has_usable_password()
    register = AuditEvent.objects.get(action="user.register")
    assert register.after == {"role": "researcher", "via": "oidc", "issuer": ISSUER}
    assert [e.action for e in AuditEvent.objects.all()] == [
        "user.register",
        "user.oidc_link",
        "user.oidc_sign_in",
    ]


def test_sso_unknown_email_without_a_name_is_named_by_the_address(db: None) -> None:
    user = services.oidc_sign_in(claims=claims(email="nn@example.org", name=""))

    assert user.full_name == "nn"


def test_sso_unknown_email_refused_when_account_creation_is_off(db: None, settings: Any) -> None:
    settings.CUSTODIAN_OIDC_CREATE_ACCOUNTS = False

    with pytest.raises(PortalError) as refused:
        services.oidc_sign_in(claims=claims(email="new@example.org"))

    assert refused.value.code == "sign_on_no_account"
    assert "There is no Custodian account for new@example.org." in refused.value.message
    assert not User.objects.exists()


def test_sso_email_of_an_account_linked_to_another_login_refused(researcher: User) -> None:
    OidcIdentity.objects.create(user=researcher, issuer=ISSUER, subject="sub-old")

    with pytest.raises(PortalError) as refused:
        services.oidc_sign_in(claims=claims(subject="sub-new"))

    assert refused.value.code == "sign_on_other_login"
    assert refused.value.http_status == 409
    assert list(OidcIdentity.objects.values_list("subject", flat=True)) == ["sub-old"]


def test_sso_another_issuers_link_does_not_count(researcher: User) -> None:
    OidcIdentity.objects.create(user=researcher, issuer="https://other.example", subject="sub-1")

    with pytest.raises(PortalError) as refused:
        services.oidc_sign_in(claims=claims(verified=False))

    assert refused.value.code == "sign_on_unverified_email"


def test_sso_steward_matched_by_email_keeps_exactly_their_roles(steward: User) -> None:
    user = services.oidc_sign_in(claims=claims(email="steward@example.org"))

    assert user == steward
    user.refresh_from_db()
    assert user.roles == [Role.STEWARD]


def test_sso_link_from_the_account_stores_an_unverified_login(outsider: User) -> None:
    identity = services.oidc_identity_link(actor=outsider, claims=claims(verified=False))

    assert (identity.user, identity.subject) == (outsider, "sub-1")
    assert AuditEvent.objects.get(action="user.oidc_link").after == {
        "issuer": ISSUER,
        "subject": "sub-1",
        "how": "account_page",
    }
    assert services.oidc_sign_in(claims=claims(verified=False)) == outsider


def test_sso_link_twice_is_a_no_op(outsider: User) -> None:
    first = services.oidc_identity_link(actor=outsider, claims=claims())

    again = services.oidc_identity_link(actor=outsider, claims=claims())

    assert again == first
    assert AuditEvent.objects.filter(action="user.oidc_link").count() == 1


def test_sso_link_of_a_login_linked_to_someone_else_refused(
    outsider: User, researcher: User
) -> None:
    OidcIdentity.objects.create(user=researcher, issuer=ISSUER, subject="sub-1")

    with pytest.raises(PortalError) as refused:
        services.oidc_identity_link(actor=outsider, claims=claims())

    assert refused.value.code == "sign_on_linked_elsewhere"
    assert refused.value.http_status == 409
    assert OidcIdentity.objects.get().user == researcher


def test_sso_link_second_login_of_the_same_provider_refused(outsider: User) -> None:
    services.oidc_identity_link(actor=outsider, claims=claims(subject="sub-1"))

    with pytest.raises(PortalError) as refused:
        services.oidc_identity_link(actor=outsider, claims=claims(subject="sub-2"))

    assert refused.value.code == "sign_on_other_login"


def test_sso_unlink_own_link(outsider: User) -> None:
    identity = services.oidc_identity_link(actor=outsider, claims=claims())

    services.oidc_identity_unlink(actor=outsider, identity_id=identity.pk)

    assert not OidcIdentity.objects.exists()
    assert AuditEvent.objects.get(action="user.oidc_unlink").after == {
        "issuer": ISSUER,
        "subject": "sub-1",
    }


def test_sso_unlink_someone_elses_link_is_not_found(outsider: User) -> None:
    other = UserFactory(email="other@example.org", role=Role.RESEARCHER)
    identity = OidcIdentity.objects.create(user=other, issuer=ISSUER, subject="sub-9")

    with pytest.raises(NotFoundError):
        services.oidc_identity_unlink(actor=outsider, identity_id=identity.pk)

    assert OidcIdentity.objects.filter(pk=identity.pk).exists()
