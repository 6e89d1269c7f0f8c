from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from datasets import services
from datasets.models import Dataset, DatasetStatus, LinkStatus, Sample
from portal.models import AuditEvent, User
from tests.datasets.conftest import register, validate_now
from tests.factories import ParticipantFactory

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles, PlaceFile


@pytest.fixture
def validated(steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile) -> Dataset:
    place(good.vcf_gz)
    validate_now(steward, register(steward, dataset, "cohort.vcf.gz")[0])
    return dataset


def _links(dataset: Dataset) -> dict[str, tuple[str, str | None]]:
    return {
        s.sample_id: (s.link, s.participant.study_id if s.participant else None)
        for s in Sample.objects.filter(dataset=dataset).select_related("participant")
    }


def test_validation_lists_the_samples_unresolved(validated: Dataset, good: GoodFiles) -> None:
    assert _links(validated) == dict.fromkeys(good.vcf_samples, (LinkStatus.UNRESOLVED, None))


def test_samples_are_linked_or_marked_unlinked(steward: User, validated: Dataset) -> None:
    ParticipantFactory(study_id="S-1")
    choices = [
        services.SampleChoice("HG00001", "S-1"),
        services.SampleChoice("HG00002", unlinked=True),
    ]

    changed = services.samples_link(actor=steward, dataset=validated, choices=choices)

    assert changed == 2
    links = _links(validated)
    assert links["HG00001"] == (LinkStatus.LINKED, "S-1")
    assert links["HG00002"] == (LinkStatus.UNLINKED, None)
    assert links["HG00003"] == (LinkStatus.UNRESOLVED, None)
    event = AuditEvent.objects.get(action="dataset.samples_link")
    assert event.after == {"changes": {"HG00001": "S-1", "HG00002": "unlinked"}}

    again = services.samples_link(actor=steward, dataset=validated, choices=choices)
    assert again == 0


def test_every_bad_choice_is_reported_and_nothing_changes(
    steward: User, validated: Dataset
) -> None:
    ParticipantFactory(study_id="S-1")
    choices = [
        services.SampleChoice("HG00001", "S-1"),
        services.SampleChoice("HG00002", "S-404"),
        services.SampleChoice("HG00003", "S-1", unlinked=True),
        services.SampleChoice("NOBODY", "S-1"),
    ]

    with pytest.raises(services.SampleLinkError) as caught:
        services.samples_link(actor=steward, dataset=validated, choices=choices)

    assert caught.value.problems == (
        "Sample HG00002: unknown study ID S-404 (no participant is enrolled with it).",
        "Sample HG00003: choose a participant or 'unlinked', not both.",
        f"Sample NOBODY is not in {validated.accession}.",
    )
    assert not Sample.objects.filter(dataset=validated).exclude(link=LinkStatus.UNRESOLVED)


def test_samples_of_a_released_dataset_cannot_be_relinked(
    steward: User, validated: Dataset
) -> None:
    Dataset.objects.filter(pk=validated.pk).update(status=DatasetStatus.RELEASED)

    with pytest.raises(services.DatasetError, match="samples can be linked in only a draft"):
        services.samples_link(
            actor=steward,
            dataset=validated,
            choices=[services.SampleChoice("HG00001", unlinked=True)],
        )
