"""Telling the holders of earlier deliveries that someone whose data they hold withdrew.

Consent never imports access (apps depend one way), so the portal looks from this side:
a beat task finds participants of ready deliveries whose consent changed after the
delivery, checks in one query per delivery whether they still consent to its purpose,
and tells each holder once, with what the committee's data-access agreement asks of them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from access.models import DeliveryParticipant, DeliveryStatus
from access.notifications import notify
from access.selectors.agreements import current_agreement
from access.selectors.consented import consenting_samples
from portal.audit import audit_log


class WithdrawalActions:
    HOLDER_TOLD = "delivery.holder_told"


def delivery_holders_tell(*, now: dt.datetime | None = None) -> int:
    """Tell holders about included participants who no longer consent; returns how many
    participants were newly reported (a rerun reports nobody twice)."""
    now = now or timezone.now()
    changed = DeliveryParticipant.objects.filter(
        holder_told_at__isnull=True,
        delivery__status=DeliveryStatus.READY,
        participant__current_consent__updated_at__gt=F("delivery__ready_at"),
    ).select_related(
        "delivery__requested_by",
        "delivery__grant__request",
        "delivery__grant__dataset__committee",
    )
    by_delivery: dict[int, list[DeliveryParticipant]] = defaultdict(list)
    for row in changed:
        by_delivery[row.delivery_id].append(row)
    told = 0
    for rows in by_delivery.values():
        delivery = rows[0].delivery
        grant = delivery.grant
        still = set(
            consenting_samples(grant.request, grant.dataset)
            .filter(participant_id__in=[r.participant_id for r in rows])
            .values_list("participant_id", flat=True)
        )
        gone = [r.pk for r in rows if r.participant_id not in still]
        if not gone:
            continue
        with transaction.atomic(durable=True):
            count = DeliveryParticipant.objects.filter(
                pk__in=gone, holder_told_at__isnull=True
            ).update(holder_told_at=now)
            if not count:
                continue
            dataset = grant.dataset
            agreement = current_agreement(dataset.committee)
            notify(
                users=[delivery.requested_by],
                message=f"Your copy of {dataset.accession} ({grant.request.accession}) included "
                f"data of {count} participant(s) who have since withdrawn their consent to this "
                "use. Follow your data-access agreement.",
                url=reverse("access:delivery", args=[delivery.pk]),
                template="access/email/withdrawal.txt",
                context={
                    "delivery": delivery,
                    "dataset": dataset,
                    "count": count,
                    "agreement": agreement,
                },
            )
            audit_log(
                actor=None,
                action=WithdrawalActions.HOLDER_TOLD,
                target=delivery,
                after={"participants": count},
            )
        told += count
    return told
