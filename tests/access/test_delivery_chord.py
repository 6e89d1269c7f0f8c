"""Consent-filtered copies built by a chord: one piece per index-aligned region, joined
without recompressing; a lost piece is built by the join; a piece that cannot be built
fails the delivery with the reason; a cached copy needs no chord.

Tasks run in this process here (eager); tests/access/test_delivery_chord_workers.py runs the
same chord across real worker processes, one of them killed mid-build.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest

from access.models import Delivery, DeliveryStatus, SignedLink
from access.services import delivery_request
from access.services.deliveries import (
    CopyBuild,
    copy_join,
    copy_piece_build,
    delivery_building,
    delivery_copies_to_build,
    delivery_copy_piece,
)
from access.tasks import prepare_delivery_task
from portal.models import User
from tests.access.delivery_support import MIXED_VCF_SAMPLES, World, add_file, bcftools_genotypes

CONSENTING = ["S000", "S001", "S002", "S003", "S004", "S005"]
SIX_HASH = hashlib.sha256(b"S000\nS001\nS002\nS003\nS004\nS005").hexdigest()


def _mixed(world: World, steward: User, sources: Any) -> Any:
    return add_file(
        world.cohort.dataset,
        steward,
        world.root,
        sources.vcf_mixed,
        "calls/mixed.vcf.gz",
        list(MIXED_VCF_SAMPLES),
    )


def _queued(researcher: User, world: World, capture: Any, datafile_id: int) -> Delivery:
    """A delivery recorded as preparing, its task not run."""
    with capture(execute=False):
        return delivery_request(actor=researcher, grant=world.grant, datafile_ids=[datafile_id])


@dataclass(frozen=True)
class Queued:
    mixed: Any  # the mixed VCF's DataFile (S006 and S007 refuse)
    delivery: Delivery  # asked for it, still preparing, its task not run


@pytest.fixture
def queued(
    delivery_world: World,
    researcher: User,
    steward: User,
    sources: Any,
    django_capture_on_commit_callbacks: Any,
) -> Queued:
    mixed = _mixed(delivery_world, steward, sources)
    return Queued(
        mixed, _queued(researcher, delivery_world, django_capture_on_commit_callbacks, mixed.pk)
    )


def test_a_copy_is_planned_as_one_piece_per_region(
    queued: Queued, delivery_world: World, sources: Any
) -> None:
    mixed, delivery = queued.mixed, queued.delivery

    builds = delivery_copies_to_build(delivery_id=delivery.pk)

    assert builds == [
        CopyBuild(
            source="calls/mixed.vcf.gz",
            keep=CONSENTING,
            target=f"derivatives/{mixed.sha256}.{SIX_HASH}.vcf.gz",
            regions=[("chr1", 0, None), ("chr2", 0, None)],
        )
    ]
    # It travels as JSON in a task message and comes back the same.
    assert CopyBuild.from_message(builds[0].as_message()) == builds[0]


def test_the_chord_builds_the_pieces_and_joins_them_into_the_served_copy(
    queued: Queued, delivery_world: World, sources: Any
) -> None:
    mixed, delivery = queued.mixed, queued.delivery

    assert prepare_delivery_task(delivery.pk) is True

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.READY, delivery.error
    served = delivery.files.get(is_index=False)
    copy = delivery_world.root / served.served_path
    assert served.served_path == f"derivatives/{mixed.sha256}.{SIX_HASH}.vcf.gz"
    assert bcftools_genotypes(copy) == bcftools_genotypes(sources.vcf_mixed, CONSENTING)
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == served.sha256
    # Only the copy and its index remain, with the checksums kept beside each: the pieces'
    # folder is gone.
    assert sorted(p.name for p in (delivery_world.root / "derivatives").iterdir()) == [
        f".{mixed.sha256}.{SIX_HASH}.vcf.gz.sums.json",
        f".{mixed.sha256}.{SIX_HASH}.vcf.gz.tbi.sums.json",
        f"{mixed.sha256}.{SIX_HASH}.vcf.gz",
        f"{mixed.sha256}.{SIX_HASH}.vcf.gz.tbi",
    ]
    assert SignedLink.objects.filter(delivery_file__delivery=delivery).count() == 2


def test_the_join_builds_a_piece_the_chord_lost(
    queued: Queued, delivery_world: World, sources: Any
) -> None:
    delivery = queued.delivery
    (build,) = delivery_copies_to_build(delivery_id=delivery.pk)
    copy_piece_build(build=build, number=0)  # the chr2 piece never arrived

    copy_join(build=build)

    copy = delivery_world.root / build.target
    assert bcftools_genotypes(copy) == bcftools_genotypes(sources.vcf_mixed, CONSENTING)
    assert not build.piece(0).parent.exists()
    # A join run again (a redelivered callback) finds the copy and does nothing.
    before = copy.stat().st_mtime_ns
    copy_join(build=build)
    assert copy.stat().st_mtime_ns == before


def test_a_piece_that_cannot_be_built_fails_the_delivery_with_the_reason(
    queued: Queued, delivery_world: World, sources: Any
) -> None:
    delivery = queued.delivery
    (build,) = delivery_copies_to_build(delivery_id=delivery.pk)
    # The source vanished between the plan and the piece.
    (delivery_world.root / "calls/mixed.vcf.gz").unlink()

    assert delivery_copy_piece(delivery_id=delivery.pk, build=build, number=1) is False

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error.startswith(
        "the consent-filtered copy of calls/mixed.vcf.gz could not be built:"
    )
    assert not SignedLink.objects.filter(delivery_file__delivery=delivery).exists()
    # The other pieces and the join then do nothing.
    assert delivery_copy_piece(delivery_id=delivery.pk, build=build, number=0) is False


def test_a_cached_copy_needs_no_chord(
    delivery_world: World,
    researcher: User,
    steward: User,
    sources: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    mixed = _mixed(delivery_world, steward, sources)
    first = _queued(researcher, delivery_world, django_capture_on_commit_callbacks, mixed.pk)
    prepare_delivery_task(first.pk)

    second = _queued(researcher, delivery_world, django_capture_on_commit_callbacks, mixed.pk)

    assert delivery_copies_to_build(delivery_id=second.pk) == []
    # Nothing to build for a file served as it is, nor for a delivery no longer preparing.
    assert delivery_copies_to_build(delivery_id=first.pk) == []
    consenting = _queued(
        researcher,
        delivery_world,
        django_capture_on_commit_callbacks,
        delivery_world.vcf_consenting.pk,
    )
    assert delivery_copies_to_build(delivery_id=consenting.pk) == []


@pytest.mark.parametrize("number", [0, 1])
def test_a_piece_built_twice_is_the_same_piece(number: int, queued: Queued) -> None:
    (build,) = delivery_copies_to_build(delivery_id=queued.delivery.pk)

    piece = copy_piece_build(build=build, number=number)
    first = piece.read_bytes()
    assert copy_piece_build(build=build, number=number) == piece
    assert piece.read_bytes() == first
    # No temporary file is left beside it.
    assert sorted(p.name for p in piece.parent.iterdir()) == [piece.name]


def test_a_server_side_failure_fails_the_delivery_without_internals(
    queued: Queued, delivery_world: World, sources: Any
) -> None:
    delivery = queued.delivery
    (build,) = delivery_copies_to_build(delivery_id=delivery.pk)
    # The derivatives folder cannot be made (a file is in the way): an OSError on our side.
    (delivery_world.root / "derivatives").write_text("in the way")

    assert delivery_copy_piece(delivery_id=delivery.pk, build=build, number=0) is False

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error == (
        "the consent-filtered copy of calls/mixed.vcf.gz could not be built because of a "
        "problem on our side (it is in the workers' log); ask for the links again in a while."
    )


def test_the_delivery_page_shows_the_parts_built_so_far(
    queued: Queued, researcher: User, sign_in: Any
) -> None:
    delivery = queued.delivery
    builds = delivery_copies_to_build(delivery_id=delivery.pk)
    assert delivery_building(delivery_id=delivery.pk, builds=builds) == 2
    delivery_copy_piece(delivery_id=delivery.pk, build=builds[0], number=1)
    client = sign_in(researcher)

    page = client.get(f"/access/deliveries/{delivery.pk}/", HTTP_HX_REQUEST="true")

    text = page.content.decode()
    assert "Building the consent-filtered copy" in text
    assert "1 of 2 parts done." in text
    assert '<progress max="2" value="1"' in text
    # A piece counted twice (redelivered) never shows more than the total.
    delivery_copy_piece(delivery_id=delivery.pk, build=builds[0], number=1)
    delivery_copy_piece(delivery_id=delivery.pk, build=builds[0], number=0)
    text = client.get(f"/access/deliveries/{delivery.pk}/").content.decode()
    assert "2 of 2 parts done." in text
