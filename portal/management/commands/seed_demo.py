"""Demo data for the embedded portal. Idempotent: running it again adds nothing twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO, cast

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import CommandParser
from django.db import transaction

from access.demo import DemoPeople, seed_demo_access
from consent.demo import seed_demo_consent
from consent.selectors import participant_for_user
from consent.services import participant_enrol
from datasets.demo import seed_demo_datasets
from datasets.selectors import committee_by_name
from datasets.services import committee_create
from portal.management.base import ExampleCommand
from portal.models import Role, User
from portal.services import user_create

DEMO_PASSWORD = "custodian-demo"  # noqa: S105 - printed for the demo; never a real account
DEMO_DOMAIN = "demo.custodian.test"
COMMITTEE_NAME = "Genomics Data Access Committee"

STAFF = [
    ("steward", "Sam Steward", Role.STEWARD, "Custodian Biobank"),
    ("chair", "Dana Chair", Role.DAC_CHAIR, "Custodian Biobank"),
    ("member", "Morgan Member", Role.DAC_MEMBER, "University of Leeds"),
    ("member2", "Jamie Reviewer", Role.DAC_MEMBER, "University of Cambridge"),
    ("elder", "Ela Elder", Role.DAC_CHAIR, "Tamar Valley Nation"),
    ("researcher", "Riley Researcher", Role.RESEARCHER, "University of Cambridge"),
    ("researcher2", "Robin Analyst", Role.RESEARCHER, "Oxford Genomics Ltd"),
]
FIRST = [
    "Alex",
    "Bea",
    "Chris",
    "Dee",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivo",
    "Jo",
    "Kai",
    "Lia",
    "Max",
    "Noor",
    "Oli",
    "Pia",
    "Quin",
    "Ray",
    "Sol",
    "Tia",
]
LAST = ["Adams", "Baker", "Chen", "Davies", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jones"]
PARTICIPANTS = 200


class Command(ExampleCommand):
    help = (
        "Create the demo committee, staff, researchers and 200 participants (idempotent), "
        "then print the demo sign-ins."
    )
    examples = (
        "manage.py seed_demo",
        "manage.py seed_demo --migrate --sign-ins-file var/sign-ins.txt",
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--sign-ins-file",
            type=Path,
            metavar="FILE",
            help="write the demo sign-ins to FILE instead (make run prints it last)",
        )
        parser.add_argument(
            "--migrate",
            action="store_true",
            # One Django start instead of two: most of a second `make run`'s time.
            help="migrate the database first (as make run does)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        password_hash = make_password(DEMO_PASSWORD)
        with transaction.atomic():
            people = {
                key: self._user(key, name, role, institution, password_hash)
                for key, name, role, institution in STAFF
            }
            steward = people["steward"]
            committee = committee_by_name(COMMITTEE_NAME) or committee_create(
                actor=steward,
                name=COMMITTEE_NAME,
                contact_email=f"dac@{DEMO_DOMAIN}",
                chairs=[people["chair"]],
                members=[people["member"], people["member2"]],
            )
            participants = []
            for number in range(1, PARTICIPANTS + 1):
                name = f"{FIRST[number % len(FIRST)]} {LAST[(number // len(FIRST)) % len(LAST)]}"
                user = self._user(
                    f"participant{number:03d}", name, Role.PARTICIPANT, "", password_hash
                )
                participant = participant_for_user(user) or participant_enrol(
                    actor=steward,
                    study_id=f"CUST-{number:04d}",
                    email=user.email,
                    full_name=name,
                    account=user,
                )
                participants.append(participant)
            seed_demo_consent(steward=steward, participants=participants, stdout=self._out())
        # Outside the transaction above: it writes genomic files and validates them.
        seed_demo_datasets(
            steward=steward,
            committee=committee,
            participants=participants,
            data_root=settings.CUSTODIAN_DATA_ROOT,
            stdout=self._out(),
        )
        # Each access service owns its (durable) transaction, so this runs outside one.
        seed_demo_access(
            people=DemoPeople(
                steward=steward,
                chair=people["chair"],
                member=people["member"],
                recused_member=people["member2"],
                researcher=people["researcher"],
                coapplicant=people["researcher2"],
                elder=people["elder"],
            ),
            committee=committee,
            participants=participants,
            stdout=self._out(),
        )
        sign_ins = "\n".join(self._sign_ins()) + "\n"
        if options["sign_ins_file"]:
            options["sign_ins_file"].write_text(sign_ins, encoding="utf-8")
        else:
            self.stdout.write(sign_ins, ending="")

    def _user(self, key: str, name: str, role: Role, institution: str, password_hash: str) -> User:
        email = f"{key}@{DEMO_DOMAIN}"
        existing = User.objects.filter(email=email).first()
        if existing is not None:
            return existing
        return user_create(
            actor=None,
            email=email,
            full_name=name,
            role=role,
            password_hash=password_hash,
            institution=institution,
        )

    def _out(self) -> TextIO:
        # Django's OutputWrapper writes like a text file (it is an io.TextIOBase).
        return cast(TextIO, self.stdout)

    def _sign_ins(self) -> list[str]:
        rows = [(str(Role(role).label), f"{key}@{DEMO_DOMAIN}") for key, _, role, _ in STAFF]
        rows.append(("Participant", f"participant001@{DEMO_DOMAIN} … participant200@{DEMO_DOMAIN}"))
        return [f"Demo sign-ins (password for all: {DEMO_PASSWORD}):"] + [
            f"  {label:<14} {email}" for label, email in rows
        ]
