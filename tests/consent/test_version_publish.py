from __future__ import annotations

import itertools

import pytest

from consent.models import ConsentVersion, CurrentConsent, Participant, VersionStatus
from consent.services import ConsentError, consent_version_publish
from consent.transitions import VERSION_TRANSITIONS
from portal.models import User
from portal.transitions import TransitionError, transition
from tests.consent.conftest import CHOICES, give, make_version

# Written out, not read from the table under test: a wrong pair in the table fails here.
ALLOWED = {
    (VersionStatus.DRAFT, VersionStatus.PUBLISHED),
    (VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED),
}


def test_version_transition_table_is_as_documented() -> None:
    pairs = {(start, to) for start, targets in VERSION_TRANSITIONS.items() for to in targets}

    assert pairs == ALLOWED
    assert set(VERSION_TRANSITIONS) == set(VersionStatus)


@pytest.mark.parametrize(("start", "to"), list(itertools.product(VersionStatus, VersionStatus)))
def test_version_transition_table(steward: User, start: VersionStatus, to: VersionStatus) -> None:
    version = make_version(steward)
    ConsentVersion.objects.filter(pk=version.pk).update(status=start)
    version.refresh_from_db()

    if (start, to) in ALLOWED:
        transition(version, to, table=VERSION_TRANSITIONS, actor=steward)
        version.refresh_from_db()
        assert version.status == to
    else:
        with pytest.raises(TransitionError, match=f"cannot become {to.value}"):
            transition(version, to, table=VERSION_TRANSITIONS, actor=steward)
        version.refresh_from_db()
        assert version.status == start


def test_publish_supersedes_previous_and_flags_changed_choices(steward: User) -> None:
    first = consent_version_publish(actor=steward, version=make_version(steward))
    changed = [
        *CHOICES,
        {
            "key": "storage",
            "question": "May we store your samples?",
            "meaning": "sample_storage",
            "allowed_answers": ["yes", "no"],
        },
    ]

    second = consent_version_publish(
        actor=steward,
        version=make_version(steward, number=2, document=first.document, choices=changed),
    )

    first.refresh_from_db()
    assert first.status == VersionStatus.SUPERSEDED
    assert second.status == VersionStatus.PUBLISHED
    assert second.requires_reconsent is True
    assert second.published_at is not None


def test_publish_with_same_choices_needs_no_reconsent(steward: User) -> None:
    first = consent_version_publish(actor=steward, version=make_version(steward))

    second = consent_version_publish(
        actor=steward, version=make_version(steward, number=2, document=first.document)
    )

    assert second.requires_reconsent is False


def test_suspending_publish_suspends_old_consent_until_reconsent(
    steward: User, enrolled: Participant
) -> None:
    first = consent_version_publish(actor=steward, version=make_version(steward))
    give(enrolled, first)
    changed = [{**c, "allowed_answers": ["yes", "no"]} for c in CHOICES]

    second = consent_version_publish(
        actor=steward,
        suspends_previous=True,
        version=make_version(steward, number=2, document=first.document, choices=changed),
    )

    current = CurrentConsent.objects.get(participant=enrolled)
    assert current.suspended is True
    assert current.releasable is False
    give(enrolled, second, sequence=1)
    current.refresh_from_db()
    assert current.suspended is False
    assert current.version == second


def test_publishing_an_older_number_is_refused(steward: User) -> None:
    second = make_version(steward, number=2)
    consent_version_publish(actor=steward, version=second)
    first = make_version(steward, number=1, document=second.document)

    with pytest.raises(ConsentError, match="Version 2 is already in force"):
        consent_version_publish(actor=steward, version=first)

    first.refresh_from_db()
    assert first.status == VersionStatus.DRAFT


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ([], "at least one choice"),
        ([CHOICES[0], CHOICES[0]], "Choice keys must be unique: general"),
        ([{**CHOICES[0], "allowed_answers": ["perhaps"]}], "allowed answers must be some of"),
        (
            [{**CHOICES[0], "recommended_answer": "ask"}],
            "the recommended answer 'ask' is not an allowed answer",
        ),
        ([{**CHOICES[0], "meaning": "telepathy"}], "unknown meaning 'telepathy'"),
    ],
)
def test_bad_choices_are_refused(steward: User, choices: list, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConsentError, match=message):
        make_version(steward, choices=choices)

    assert not ConsentVersion.objects.exists()
