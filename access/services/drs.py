"""The one write GA4GH DRS makes: asking for a delivery of a file when the caller has none
usable. It is the web's delivery (`delivery_request`: audited, consent-filtered, prepared by
the worker), limited to that file; DRS adds no audit rows of its own.
"""

from __future__ import annotations

from access.selectors.drs import Caller, NeedsDelivery, Preparing
from access.services.deliveries import delivery_request


def drs_delivery_request(*, caller: Caller, needed: NeedsDelivery) -> Preparing:
    """Ask for a delivery of the files (their indexes come with them).

    Two clients asking at the same moment may both start one; the copies they build are the
    same file (cached by file and sample set), so the second costs a few links only.
    """
    delivery = delivery_request(
        actor=caller.user, grant=needed.grant, datafile_ids=needed.datafile_ids
    )
    return Preparing(delivery.pk)
