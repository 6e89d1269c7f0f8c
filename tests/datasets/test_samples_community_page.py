"""The steward marks samples as a community's from the dataset's page."""

from __future__ import annotations

from typing import Any

import pytest

from datasets.models import Committee, CommitteeKind, Dataset, Sample
from portal.models import Role, User
from tests.conftest import signed_in_client
from tests.factories import CommitteeFactory, UserFactory


@pytest.fixture
def community(db: None) -> Committee:
    elder = UserFactory(email="elder@nation.example", role=Role.DAC_CHAIR)
    committee = CommitteeFactory(name="Nation committee", kind=CommitteeKind.COMMUNITY)
    committee.chairs.add(elder)
    committee.members.add(elder)
    return committee


@pytest.fixture
def with_samples(dataset: Dataset) -> Dataset:
    for name in ("S1", "S2", "S3"):
        Sample.objects.create(dataset=dataset, sample_id=name)
    return dataset


def _url(dataset: Dataset) -> str:
    return f"/datasets/steward/{dataset.accession}/communities/"


def test_steward_assigns_samples_to_a_community(
    steward: User, with_samples: Dataset, community: Committee
) -> None:
    client = signed_in_client(steward)

    response = client.post(
        _url(with_samples), {"community": community.pk, "sample_ids": "S1\nS3"}, follow=True
    )

    assert "2 sample(s) now belong to Nation committee." in response.content.decode()
    assert sorted(
        Sample.objects.filter(community=community).values_list("sample_id", flat=True)
    ) == [
        "S1",
        "S3",
    ]
    page = client.get(_url(with_samples)).content.decode()
    assert '<th scope="row">Nation committee</th><td class="num">2</td>' in page


def test_unknown_samples_change_nothing(
    steward: User, with_samples: Dataset, community: Committee
) -> None:
    response = signed_in_client(steward).post(
        _url(with_samples), {"community": community.pk, "sample_ids": "S1, NOPE"}
    )

    assert response.status_code == 400
    assert f"{with_samples.accession} has no sample NOPE: nothing was changed." in (
        response.content.decode()
    )
    assert not Sample.objects.filter(community=community).exists()


def test_a_dac_is_not_offered_as_a_community(
    steward: User, with_samples: Dataset, community: Committee, committee: Any
) -> None:
    response = signed_in_client(steward).post(
        _url(with_samples), {"community": committee.pk, "sample_ids": "S1"}
    )

    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()


def test_only_stewards(researcher: User, with_samples: Dataset, client: Any) -> None:
    assert signed_in_client(researcher).get(_url(with_samples)).status_code == 403
    assert client.get(_url(with_samples)).status_code == 302
