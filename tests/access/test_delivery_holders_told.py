"""Holders of an earlier delivery are told, once, that it included someone who withdrew,
with what their data-access agreement asks of them."""

from __future__ import annotations

from typing import Any

from django.core import mail

from access.models import Delivery, DeliveryParticipant
from access.services import delivery_request
from access.services.withdrawals import delivery_holders_tell
from consent.models import WithdrawalLevel
from portal.models import Notification, User
from tests.access.conftest import AGREEMENT_TEXT
from tests.access.delivery_support import World, withdraw


def _deliver(world: World, researcher: User, capture: Any) -> Delivery:
    with capture(execute=True):
        delivery = delivery_request(
            actor=researcher, grant=world.grant, datafile_ids=[world.bam_s000.pk]
        )
    delivery.refresh_from_db()
    return delivery


def test_the_holder_is_told_once_with_the_agreement(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = _deliver(delivery_world, researcher, django_capture_on_commit_callbacks)
    withdraw(delivery_world.cohort.consenting[0])
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        first = delivery_holders_tell()
    second = delivery_holders_tell()

    assert (first, second) == (1, 0)
    assert DeliveryParticipant.objects.get(delivery=delivery).holder_told_at is not None
    notice = Notification.objects.get(user=researcher, message__contains="withdrawn")
    assert notice.url == f"/access/deliveries/{delivery.pk}/"
    (email,) = mail.outbox
    assert email.subject == "Participants whose data you received have withdrawn"
    assert email.to == [researcher.email]
    assert AGREEMENT_TEXT in email.body
    assert "delete the copies you hold" in email.body


def test_nobody_is_told_while_everyone_still_consents(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    _deliver(delivery_world, researcher, django_capture_on_commit_callbacks)
    # No further contact keeps the data in use: the delivery's purpose is still covered.
    withdraw(delivery_world.cohort.consenting[0], WithdrawalLevel.NO_CONTACT)

    assert delivery_holders_tell() == 0
    assert not Notification.objects.filter(message__contains="withdrawn").exists()
