"""Preparing a delivery: the consented files, the participants included, one set of audited
links with the shortest lifetime, and a rerun that issues nothing more."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.utils import timezone

from access.models import (
    Delivery,
    DeliveryFile,
    DeliveryParticipant,
    DeliveryStatus,
    SignedLink,
)
from access.services import delivery_prepare, delivery_request
from access.tasks import prepare_delivery_task
from portal.models import AuditEvent, Notification, User
from tests.access.delivery_support import (
    World,
    add_file,
)

ALL_SIX = hashlib.sha256(b"S000\nS001\nS002\nS003\nS004\nS005").hexdigest()


def _request(actor: User, delivery_world: World, capture: Any, **kwargs: Any) -> Delivery:
    with capture(execute=True):
        delivery = delivery_request(actor=actor, grant=delivery_world.grant, **kwargs)
    delivery.refresh_from_db()
    return delivery


def test_prepare_serves_consenting_files_with_their_indexes(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = _request(researcher, delivery_world, django_capture_on_commit_callbacks)

    assert delivery.status == DeliveryStatus.READY
    served = list(
        DeliveryFile.objects.filter(delivery=delivery)
        .order_by("served_path")
        .values_list("served_path", "is_index", "sha256")
    )
    assert served == [
        ("calls/consenting.vcf.gz", False, delivery_world.vcf_consenting.sha256),
        ("calls/consenting.vcf.gz.tbi", True, delivery_world.vcf_consenting.index.sha256),
        ("reads/S000.bam", False, delivery_world.bam_s000.sha256),
        ("reads/S000.bam.bai", True, delivery_world.bam_s000.index.sha256),
    ]
    # S006's participant refused research use: their BAM is left out, not filtered.
    assert delivery.excluded_files == 1
    assert delivery.sample_set_hash == ALL_SIX
    included = set(
        DeliveryParticipant.objects.filter(delivery=delivery).values_list(
            "participant_id", flat=True
        )
    )
    assert included == {p.pk for p in delivery_world.cohort.consenting}


def test_links_live_an_hour_by_default_or_less_when_asked(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    default = _request(researcher, delivery_world, django_capture_on_commit_callbacks)
    short = _request(
        researcher, delivery_world, django_capture_on_commit_callbacks, lifetime_seconds=600
    )

    for delivery, seconds in ((default, 3600), (short, 600)):
        expiries = set(
            SignedLink.objects.filter(delivery_file__delivery=delivery).values_list(
                "expires_at", flat=True
            )
        )
        assert expiries == {delivery.ready_at + dt.timedelta(seconds=seconds)}
    assert SignedLink.objects.filter(delivery_file__delivery=default).count() == 4


def test_links_end_with_the_grant_on_its_last_day(
    delivery_world: World, researcher: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CUSTODIAN_LINK_MAX_SECONDS = 10 * 86400
    delivery_world.grant.ends_on = timezone.localdate()
    delivery_world.grant.save(update_fields=["ends_on"])

    delivery = _request(researcher, delivery_world, django_capture_on_commit_callbacks)

    midnight = timezone.make_aware(
        dt.datetime.combine(timezone.localdate() + dt.timedelta(days=1), dt.time.min)
    )
    link = SignedLink.objects.filter(delivery_file__delivery=delivery).first()
    assert link is not None
    assert link.expires_at == midnight


def test_every_link_is_audited_and_the_researcher_told(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = _request(
        researcher,
        delivery_world,
        django_capture_on_commit_callbacks,
        datafile_ids=[delivery_world.bam_s000.pk],
    )

    entries = AuditEvent.objects.filter(action="signed_link.issue").order_by("id")
    assert [(e.actor_id, e.after["file"], e.after["sample_set_hash"]) for e in entries] == [
        (researcher.pk, "reads/S000.bam", hashlib.sha256(b"S000").hexdigest()),
        (researcher.pk, "reads/S000.bam.bai", hashlib.sha256(b"S000").hexdigest()),
    ]
    link = SignedLink.objects.filter(delivery_file__delivery=delivery).first()
    assert link is not None
    assert entries[0].after["expires_at"] == link.expires_at.isoformat()
    notice = Notification.objects.filter(user=researcher).latest("pk")
    assert notice.message == (
        f"Your download links for Test cohort under {delivery_world.request.accession} are ready."
    )
    assert notice.url == f"/access/deliveries/{delivery.pk}/"


def test_a_rerun_issues_nothing_more(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = _request(researcher, delivery_world, django_capture_on_commit_callbacks)

    assert delivery_prepare(delivery_id=delivery.pk) is None
    assert prepare_delivery_task(delivery.pk) is False
    assert SignedLink.objects.filter(delivery_file__delivery=delivery).count() == 4
    assert AuditEvent.objects.filter(action="delivery.ready").count() == 1


def test_a_mixed_vcf_is_delivered_as_a_consent_filtered_copy_shared_by_identical_deliveries(
    delivery_world: World,
    researcher: User,
    steward: User,
    sources: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    import pysam

    mixed = add_file(
        delivery_world.cohort.dataset,
        steward,
        delivery_world.root,
        sources.vcf_mixed,
        "calls/mixed.vcf.gz",
        ["S000", "S001", "S002", "S003", "S004", "S005", "S006", "S007"],
    )

    first = _request(
        researcher, delivery_world, django_capture_on_commit_callbacks, datafile_ids=[mixed.pk]
    )
    second = _request(
        researcher, delivery_world, django_capture_on_commit_callbacks, datafile_ids=[mixed.pk]
    )

    assert (first.status, second.status) == (DeliveryStatus.READY, DeliveryStatus.READY)
    served = first.files.get(is_index=False)
    assert served.served_path.startswith("derivatives/")
    assert served.served_path.endswith(".vcf.gz")
    assert first.files.get(is_index=True).served_path == served.served_path + ".tbi"
    with pysam.VariantFile(str(delivery_world.root / served.served_path)) as copy:
        assert list(copy.header.samples) == ["S000", "S001", "S002", "S003", "S004", "S005"]
    assert second.files.get(is_index=False).served_path == served.served_path
    name = served.served_path.removeprefix("derivatives/")
    # The data and its index, each with its checksums kept beside it (hashed once).
    assert sorted(p.name for p in (delivery_world.root / "derivatives").iterdir()) == [
        f".{name}.sums.json",
        f".{name}.tbi.sums.json",
        name,
        f"{name}.tbi",
    ]
    assert first.sample_set_hash == second.sample_set_hash


def test_a_file_changed_since_validation_fails_the_delivery(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    with (delivery_world.root / "reads/S000.bam").open("ab") as handle:
        handle.write(b"x")

    delivery = _request(
        researcher,
        delivery_world,
        django_capture_on_commit_callbacks,
        datafile_ids=[delivery_world.bam_s000.pk],
    )

    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error.startswith("reads/S000.bam: the file has changed since it was validated")


def test_nothing_consented_fails_with_a_reason(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = _request(
        researcher,
        delivery_world,
        django_capture_on_commit_callbacks,
        datafile_ids=[delivery_world.bam_s006.pk],
    )

    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error == (
        "None of the chosen files holds a sample whose participant consents to this use now, "
        "so there is nothing to deliver."
    )
