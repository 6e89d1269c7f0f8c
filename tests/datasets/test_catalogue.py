from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client

from consent.models import Channel, ConsentVersion, Participant, WithdrawalLevel
from consent.services import consent_version_publish, consent_withdraw
from datasets import selectors, services
from datasets.models import Dataset
from portal.models import User
from tests.consent.conftest import ALL_YES, CHOICES, give, make_version
from tests.datasets.conftest import make_dataset, register, validate_now
from tests.factories import ParticipantFactory

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles, PlaceFile

NO_GENERAL = {**ALL_YES, "general": "no"}
ALL_NO = {c["key"]: "no" for c in CHOICES}


@pytest.fixture
def version(steward: User) -> ConsentVersion:
    return consent_version_publish(actor=steward, version=make_version(steward))


def _people(count: int) -> list[Participant]:
    return [
        ParticipantFactory(study_id=f"P-{n:02d}", user__full_name=f"Person {n}")
        for n in range(1, count + 1)
    ]


def _release(
    steward: User,
    dataset: Dataset,
    good: GoodFiles,
    place: PlaceFile,
    links: dict[str, Participant | None],
) -> Dataset:
    """A released dataset of the 12-sample VCF; samples not in `links` are unlinked."""
    place(good.vcf_gz, f"{dataset.accession}/cohort.vcf.gz")
    validate_now(steward, register(steward, dataset, f"{dataset.accession}/cohort.vcf.gz")[0])
    choices = [
        services.SampleChoice(s, links[s].study_id if links.get(s) else "", not links.get(s))
        for s in good.vcf_samples
    ]
    services.samples_link(actor=steward, dataset=dataset, choices=choices)
    return services.dataset_release(actor=steward, dataset=dataset)


def _withdraw(participant: Participant, level: WithdrawalLevel) -> None:
    consent_withdraw(
        actor=participant.user,
        participant=participant,
        level=level,
        signature=participant.user.full_name,
        channel=Channel.WEB,
        expected_sequence=1,
    )


@pytest.fixture
def cohort(
    steward: User,
    committee: Any,
    version: ConsentVersion,
    good: GoodFiles,
    place: PlaceFile,
) -> Dataset:
    """12 samples: 8 whose participants consent now to general or health research."""
    people = _people(11)
    for person in people[:5]:
        give(person, version, ALL_YES)  # samples 1-5: GRU and HMB
    give(people[5], version, NO_GENERAL)  # 6: HMB only: counts
    give(people[6], version, ALL_NO)  # 7: neither: does not count
    give(people[7], version, ALL_YES)
    _withdraw(people[7], WithdrawalLevel.NO_USE)  # 8: no further use: does not count
    give(people[8], version, ALL_YES)
    _withdraw(people[8], WithdrawalLevel.NO_CONTACT)  # 9: no contact, data in use: counts
    # 10: never consented; 11: consents, but the sample is deliberately unlinked
    give(people[10], version, ALL_YES)
    samples = good.vcf_samples
    links: dict[str, Participant | None] = {samples[n]: people[n] for n in range(10)}
    links[samples[10]] = None
    links[samples[11]] = people[0]  # a second sample of participant 1: counts
    dataset = make_dataset(steward, committee, title="Cohort genotypes", permission="GRU")
    return _release(steward, dataset, good, place, links)


def test_consenting_count_follows_current_consent(cohort: Dataset) -> None:
    entry = selectors.catalogue_entry(cohort.accession)

    assert entry is not None
    assert entry.sample_count == 12
    assert entry.consenting_count == 8
    assert entry.consenting_display == "8"


def test_suspended_consent_does_not_count(
    cohort: Dataset, steward: User, version: ConsentVersion
) -> None:
    changed = [{**c, "allowed_answers": ["yes", "no"]} for c in CHOICES]
    consent_version_publish(
        actor=steward,
        suspends_previous=True,
        version=make_version(steward, number=2, document=version.document, choices=changed),
    )

    entry = selectors.catalogue_entry(cohort.accession)

    assert entry is not None
    assert entry.consenting_count == 0
    assert entry.consenting_display == "fewer than 5"


@pytest.mark.parametrize(
    ("count", "shown"), [(0, "fewer than 5"), (1, "fewer than 5"), (4, "fewer than 5"), (5, "5")]
)
def test_small_counts_are_hidden(
    steward: User,
    committee: Any,
    version: ConsentVersion,
    good: GoodFiles,
    place: PlaceFile,
    count: int,
    shown: str,
) -> None:
    people = _people(6)
    for person in people[:count]:
        give(person, version, ALL_YES)
    links = {good.vcf_samples[n]: people[n] for n in range(6)}
    dataset = _release(steward, make_dataset(steward, committee), good, place, links)

    entry = selectors.catalogue_entry(dataset.accession)

    assert entry is not None
    assert entry.consenting_display == shown
    page = Client().get(f"/datasets/{dataset.accession}/").content.decode()
    assert f"<dd>{shown}</dd>" in page


def test_catalogue_lists_in_a_fixed_number_of_queries(
    steward: User,
    committee: Any,
    version: ConsentVersion,
    good: GoodFiles,
    place: PlaceFile,
    django_assert_num_queries: Any,
) -> None:
    people = _people(6)
    for person in people:
        give(person, version, ALL_YES)
    links = {good.vcf_samples[n]: people[n] for n in range(6)}
    for n in range(3):
        _release(steward, make_dataset(steward, committee, title=f"D{n}"), good, place, links)

    with django_assert_num_queries(2):
        entries = selectors.catalogue()

    assert [e.consenting_count for e in entries] == [6, 6, 6]
    assert [e.total_size for e in entries] == [entries[0].total_size] * 3
    assert entries[0].total_size > good.vcf_gz.stat().st_size


@pytest.fixture
def tumour(steward: User, committee: Any, good: GoodFiles, place: PlaceFile) -> Dataset:
    dataset = make_dataset(
        steward,
        committee,
        title="Tumour reads",
        permission="DS",
        diseases=["MONDO:0004992"],
        modifiers=["NCU", "IRB"],
    )
    place(good.bam, "tumour/NA12878.bam")
    validate_now(steward, register(steward, dataset, "tumour/NA12878.bam")[0])
    services.samples_link(
        actor=steward, dataset=dataset, choices=[services.SampleChoice("NA12878", unlinked=True)]
    )
    return services.dataset_release(actor=steward, dataset=dataset)


def test_catalogue_page_shows_conditions_in_plain_language(
    db: None, tumour: Dataset, good: GoodFiles
) -> None:
    response = Client().get("/datasets/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Tumour reads" in page
    assert '<span class="code">DS</span> Disease specific research — Diseases: cancer' in page
    assert "Non-commercial use only" in page
    assert "BAM, " in page


def test_catalogue_detail_shows_terms_obligations_dac_and_how_to_apply(
    db: None, tumour: Dataset, committee: Any
) -> None:
    page = Client().get(f"/datasets/{tumour.accession}/").content.decode()

    assert "Disease specific research" in page
    assert "DUO:0000007" in page
    assert "Diseases: cancer (MONDO:0004992) and its subtypes." in page
    assert "The data may not be used to make or develop products or services that are sold." in (
        page
    )
    assert "Provide documentation that an ethics committee (IRB/ERB) approved the project." in (
        page
    )
    assert "Genomics DAC" in page
    assert "mailto:dac@example.org" in page
    assert "register as a researcher" in page
    assert "BAM (indexed: BAI)" in page


def test_drafts_and_retired_datasets_are_not_in_the_catalogue(
    db: None, steward: User, committee: Any, tumour: Dataset
) -> None:
    draft = make_dataset(steward, committee, title="Secret draft")
    client = Client()

    assert "Secret draft" not in client.get("/datasets/").content.decode()
    assert client.get(f"/datasets/{draft.accession}/").status_code == 404
    services.dataset_retire(actor=steward, dataset=tumour)
    assert client.get(f"/datasets/{tumour.accession}/").status_code == 404
    assert "Tumour reads" not in client.get("/datasets/").content.decode()


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("tumour", True),
        ("cancer", True),
        ("MONDO:0004992", True),
        ("ds irb", True),
        ("ethics", True),
        ("bam", True),
        ("genomics dac", True),
        ("GRU", False),
        ("diabetes", False),
    ],
)
def test_search(db: None, tumour: Dataset, query: str, found: bool) -> None:
    page = Client().get("/datasets/", {"q": query}).content.decode()

    assert ("Tumour reads" in page) is found
    assert f"match “{query}”" in page
