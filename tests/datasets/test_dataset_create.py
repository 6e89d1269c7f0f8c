from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from consent.duo import DataUseConditions
from datasets import services
from datasets.conditions import ConditionsError
from datasets.models import Dataset
from portal.exceptions import PermissionError_
from portal.models import AuditEvent, User
from tests.datasets.conftest import make_dataset


def test_dataset_gets_an_accession_and_normalised_conditions(steward: User, committee: Any) -> None:
    dataset = make_dataset(
        steward,
        committee,
        permission="DUO:0000007",
        diseases=["cancer"],
        modifiers=["IRB", "ncu", "GS", "TS", "MOR"],
        countries=["gb", "FR"],
        time_limit=dt.date(2030, 12, 31),
        moratorium_until=dt.date(2027, 6, 1),
    )

    dataset.refresh_from_db()
    assert dataset.accession == f"CDS{dataset.pk:06d}"
    assert dataset.status == "draft"
    assert dataset.permission == "DS"
    assert dataset.diseases == ["MONDO:0004992"]
    assert dataset.modifiers == ["NCU", "IRB", "GS", "MOR", "TS"]
    assert dataset.countries == ["FR", "GB"]
    assert dataset.conditions == DataUseConditions(
        permission="DS",
        diseases=frozenset({"MONDO:0004992"}),
        modifiers=frozenset({"NCU", "IRB", "GS", "MOR", "TS"}),
        countries=frozenset({"GB", "FR"}),
        time_limit=dt.date(2030, 12, 31),
        moratorium_until=dt.date(2027, 6, 1),
    )
    event = AuditEvent.objects.get(action="dataset.create")
    assert event.after["accession"] == dataset.accession


def test_accessions_follow_each_other_and_are_never_reused(steward: User, committee: Any) -> None:
    first = make_dataset(steward, committee, title="One", permission="GRU")
    with pytest.raises(ConditionsError):
        make_dataset(steward, committee, title="Bad", permission="DS")
    second = make_dataset(steward, committee, title="Two", permission="GRU")

    assert first.accession < second.accession
    assert int(second.accession[3:]) > int(first.accession[3:])
    assert Dataset.objects.filter(accession=first.accession).count() == 1


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"permission": ""}, "Choose the kind of research"),
        ({"permission": "XYZ"}, "Unknown DUO term 'XYZ'"),
        ({"permission": "NCU"}, "NCU (non-commercial use only) is a DUO modifier, not a perm"),
        ({"permission": "RU"}, "DUO:0000014 (RU) is obsolete; use GRU instead."),
        ({"permission": "DS"}, "DS (disease specific research) needs at least one disease."),
        ({"permission": "DS", "diseases": ["gout-ish"]}, "Unknown disease 'gout-ish'"),
        ({"permission": "GRU", "diseases": ["cancer"]}, "Diseases apply only to DS conditions"),
        (
            {"permission": "GRU", "modifiers": ["GS"]},
            "GS (geographical restriction) needs at least one country.",
        ),
        ({"permission": "GRU", "modifiers": ["GS"], "countries": ["GBR"]}, "'GBR' is not an ISO"),
        ({"permission": "GRU", "modifiers": ["TS"]}, "TS (time limit on use) needs an end date"),
        ({"permission": "GRU", "modifiers": ["MOR"]}, "MOR (publication moratorium) needs a date"),
        ({"permission": "GRU", "modifiers": ["HMB"]}, "HMB (health or medical or biomedical"),
        ({"permission": "GRU", "countries": ["GB"]}, "countries was given but the conditions"),
    ],
)
def test_bad_conditions_are_refused_with_the_duo_message(
    steward: User, committee: Any, conditions: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConditionsError) as caught:
        make_dataset(steward, committee, **conditions)

    assert caught.value.message.startswith(message), caught.value.message
    assert not Dataset.objects.exists()


def test_title_is_required(steward: User, committee: Any) -> None:
    with pytest.raises(services.DatasetError, match="A title is required."):
        services.dataset_create(actor=steward, title="  ", committee=committee, permission="GRU")


def test_only_stewards_create_datasets(researcher: User, committee: Any) -> None:
    with pytest.raises(PermissionError_, match="Only data stewards"):
        make_dataset(researcher, committee)
