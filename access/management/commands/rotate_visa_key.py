from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from access.models import VisaAlgorithm
from access.services.visas import visa_key_rotate
from portal.exceptions import PortalError
from portal.management.base import ExampleCommand


class Command(ExampleCommand):
    help = (
        "Sign GA4GH visas with a new key from now on. The retired key stays in "
        "/ga4gh/jwks.json until every visa it signed has expired."
    )
    examples = ("manage.py rotate_visa_key", "manage.py rotate_visa_key --algorithm RS256")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--algorithm",
            choices=VisaAlgorithm.values,
            default=VisaAlgorithm.ES256,
            help="ES256 (default) or RS256",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key, retired = visa_key_rotate(actor=None, algorithm=options["algorithm"])
        except PortalError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"visas are now signed with {key.algorithm} key {key.kid}")
        for old in retired:
            until = timezone.localtime(old.published_until).strftime("%Y-%m-%d %H:%M %Z")
            self.stdout.write(f"retired key {old.kid}: published until {until}")
