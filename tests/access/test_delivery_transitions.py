"""Every (from, to) pair of a delivery's life, allowed and refused.

The allowed pairs are written out here; they are never read from access.transitions.
"""

from __future__ import annotations

import itertools

import pytest

from access.models import Delivery, DeliveryStatus
from access.transitions import DELIVERY_TRANSITIONS
from portal.models import AuditEvent, User
from portal.transitions import TransitionError, transition
from tests.access.delivery_support import World

D = DeliveryStatus
ALLOWED = {(D.PREPARING, D.READY), (D.PREPARING, D.FAILED)}
PAIRS = list(itertools.product(D, D))


def test_the_table_allows_exactly_the_written_out_pairs() -> None:
    table = {(a, b) for a, targets in DELIVERY_TRANSITIONS.items() for b in targets}
    assert table == ALLOWED
    assert set(DELIVERY_TRANSITIONS) == set(D)


@pytest.mark.parametrize(("start", "end"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_each_pair_is_allowed_or_refused(
    delivery_world: World, researcher: User, start: DeliveryStatus, end: DeliveryStatus
) -> None:
    delivery = Delivery.objects.create(
        grant=delivery_world.grant, requested_by=researcher, status=start
    )

    if (start, end) in ALLOWED:
        transition(delivery, end, table=DELIVERY_TRANSITIONS, actor=None)
        delivery.refresh_from_db()
        assert delivery.status == end
        assert AuditEvent.objects.filter(
            action=f"delivery.{end.value}", object_id=str(delivery.pk)
        ).exists()
    else:
        with pytest.raises(TransitionError):
            transition(delivery, end, table=DELIVERY_TRANSITIONS, actor=None)
        delivery.refresh_from_db()
        assert delivery.status == start
