"""Enrol participants from a CSV file: every row is checked first, then all or nothing.

Columns (a header line is required; UTF-8, a byte-order mark is tolerated):
study_id, email, full_name, language, date_of_birth, and optionally proxy_email and
proxy_name for a child whose guardian consents for them.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from consent.models import ConsentChoice, ConsentVersion, Participant, VersionStatus
from consent.services.actions import ConsentActions
from consent.services.errors import ConsentError
from consent.services.participants import majority_date, participant_enrol, proxy_link
from portal.audit import audit_log
from portal.exceptions import PortalError
from portal.models import Role, User, normalize_email

REQUIRED_COLUMNS = ("study_id", "email", "full_name", "language", "date_of_birth")
OPTIONAL_COLUMNS = ("proxy_email", "proxy_name")
# Kept small enough for one request, and for the checked file to travel back in the form.
IMPORT_MAX_BYTES = 1_000_000
IMPORT_MAX_ROWS = 2_000
EARLIEST_BIRTH = dt.date(1900, 1, 1)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LIMITS = {"study_id": 64, "full_name": 200, "proxy_name": 200}


@dataclass(frozen=True)
class ImportRow:
    line: int
    study_id: str
    email: str
    full_name: str
    language: str
    date_of_birth: dt.date | None
    proxy_email: str = ""
    proxy_name: str = ""

    @property
    def has_proxy(self) -> bool:
        return bool(self.proxy_email)


@dataclass(frozen=True)
class ImportProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True)
class ImportCheck:
    """What an import would create, or every problem that stops it."""

    rows: tuple[ImportRow, ...]
    problems: tuple[ImportProblem, ...]
    sha256: str

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.problems

    @property
    def proxies(self) -> int:
        return sum(row.has_proxy for row in self.rows)


@dataclass(frozen=True)
class ImportResult:
    participants: tuple[Participant, ...]
    proxies: int
    sha256: str


class ParticipantImportError(ConsentError):
    code = "import_invalid"

    def __init__(self, problems: tuple[ImportProblem, ...]):
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"The file has {count}: nothing was imported.")
        self.problems = problems


def import_languages() -> list[str]:
    """Languages a participant may be enrolled in: those of published consent forms, and en."""
    published = ConsentVersion.objects.filter(status=VersionStatus.PUBLISHED).values_list(
        "language", flat=True
    )
    return sorted({"en", *published})


def _decode(content: bytes) -> str | ImportProblem:
    if len(content) > IMPORT_MAX_BYTES:
        return ImportProblem(
            0,
            f"The file is larger than {IMPORT_MAX_BYTES // 1000} kB: split it into smaller files.",
        )
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        return ImportProblem(
            line, "the text is not UTF-8. Save the file as “CSV UTF-8” and upload it again."
        )


def _published_choice_keys() -> set[str]:
    return set(
        ConsentChoice.objects.filter(version__status=VersionStatus.PUBLISHED).values_list(
            "key", flat=True
        )
    )


def _header_problems(header: list[str]) -> list[ImportProblem]:
    problems: list[ImportProblem] = []
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    # Consent is the participant's own act in the portal: no file answers a choice for them.
    keys = _published_choice_keys()
    choices = [name for name in header if name in keys and name not in known]
    if choices:
        problems.append(
            ImportProblem(
                1,
                f"consent choices are never imported (column{'s' if len(choices) > 1 else ''} "
                f"{', '.join(choices)}): each participant answers every question themselves "
                "when they sign in.",
            )
        )
    unknown = [name or "(empty)" for name in header if name not in known | set(choices)]
    if unknown:
        problems.append(
            ImportProblem(
                1,
                f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}. The "
                f"columns are {', '.join(REQUIRED_COLUMNS)}, and optionally "
                f"{' and '.join(OPTIONAL_COLUMNS)}.",
            )
        )
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        problems.append(ImportProblem(1, f"column {', '.join(repeated)} appears twice."))
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        problems.append(
            ImportProblem(
                1,
                f"the header has no column {', '.join(missing)}. The first line must name the "
                f"columns: {','.join(REQUIRED_COLUMNS)}[,{','.join(OPTIONAL_COLUMNS)}].",
            )
        )
    return problems


def _records(text: str) -> Iterator[tuple[int, list[str]] | ImportProblem]:
    """(first line of the row, values) for each non-blank row; a quoted value may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""))
    end = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield ImportProblem(reader.line_num, f"cannot be read as CSV ({exc}).")
            return
        start, end = end + 1, reader.line_num
        if any(value.strip() for value in values):
            yield start, values


def _date(value: str) -> tuple[dt.date | None, str]:
    if not value:
        return None, ""
    if not _ISO_DATE.fullmatch(value):
        return None, f"date_of_birth “{value}” is not a date in the form YYYY-MM-DD."
    try:
        born = dt.date.fromisoformat(value)
    except ValueError:
        return None, f"date_of_birth {value} is not a real date."
    if born > timezone.localdate():
        return None, f"date_of_birth {value} is in the future."
    if born < EARLIEST_BIRTH:
        return None, f"date_of_birth {value} is before {EARLIEST_BIRTH.year}."
    return born, ""


def _email_problem(value: str, column: str) -> str:
    try:
        validate_email(value)
    except ValidationError:
        return f"{column} “{value}” is not a valid email address."
    return ""


class _Checker:
    """Checks rows one by one, remembering what earlier rows used (study IDs, emails)."""

    def __init__(self, languages: list[str]):
        self.languages = languages
        self.problems: list[ImportProblem] = []
        self.rows: list[ImportRow] = []
        self.study_ids: dict[str, int] = {}
        self.emails: dict[str, int] = {}
        self.proxies: dict[str, tuple[int, str]] = {}

    def problem(self, line: int, message: str) -> None:
        self.problems.append(ImportProblem(line, message))

    def row(self, line: int, values: dict[str, str]) -> None:
        before = len(self.problems)
        for column in ("study_id", "email", "full_name", "language"):
            if not values[column]:
                self.problem(line, f"{column} is missing.")
        for column, limit in _LIMITS.items():
            if len(values.get(column, "")) > limit:
                self.problem(line, f"{column} is longer than {limit} characters.")
        study_id = values["study_id"]
        if study_id in self.study_ids:
            self.problem(line, f"study ID {study_id} is also on line {self.study_ids[study_id]}.")
        elif study_id:
            self.study_ids[study_id] = line
        email = normalize_email(values["email"])
        if email and (message := _email_problem(email, "email")):
            self.problem(line, message)
        elif email in self.emails:
            self.problem(line, f"email {email} is also on line {self.emails[email]}.")
        elif email:
            self.emails[email] = line
        language = values["language"].lower()
        if language and language not in self.languages:
            self.problem(
                line,
                f"language “{values['language']}” has no published consent form; use one "
                f"of: {', '.join(self.languages)}.",
            )
        born, message = _date(values["date_of_birth"])
        if message:
            self.problem(line, message)
        proxy_email = normalize_email(values.get("proxy_email", ""))
        proxy_name = " ".join(values.get("proxy_name", "").split())
        if proxy_email or proxy_name:
            self.proxy(line, proxy_email, proxy_name, born, values["date_of_birth"])
        if len(self.problems) == before:
            self.rows.append(
                ImportRow(
                    line=line,
                    study_id=study_id,
                    email=email,
                    full_name=" ".join(values["full_name"].split()),
                    language=language,
                    date_of_birth=born,
                    proxy_email=proxy_email,
                    proxy_name=proxy_name,
                )
            )

    def proxy(self, line: int, email: str, name: str, born: dt.date | None, born_text: str) -> None:
        if not email:
            self.problem(line, "proxy_name is given but proxy_email is missing.")
        elif message := _email_problem(email, "proxy_email"):
            self.problem(line, message)
        elif not name:
            self.problem(line, "proxy_email is given but proxy_name is missing.")
        elif email in self.proxies and self.proxies[email][1] != name:
            first_line, first_name = self.proxies[email]
            self.problem(
                line,
                f"proxy_email {email} is also on line {first_line} with another proxy_name "
                f"(“{first_name}” there, “{name}” here).",
            )
        else:
            self.proxies.setdefault(email, (line, name))
        if not born_text:
            self.problem(
                line, "a proxy is given but date_of_birth is empty: a proxy acts only for a child."
            )
        elif born is not None and majority_date(born) <= timezone.localdate():
            years = settings.CUSTODIAN_AGE_OF_MAJORITY
            self.problem(
                line,
                f"a proxy is given but the participant is an adult (born {born}, {years} or "
                "older): adults consent for themselves.",
            )

    def against_each_other_and_the_database(self) -> None:
        """Proxies who are participants in the file, and what is already in the database."""
        for email, (line, _) in self.proxies.items():
            if email in self.emails:
                other = self.emails[email]
                where = (
                    "the participant's own email"
                    if other == line
                    else (f"the email of the participant on line {other}")
                )
                self.problem(line, f"proxy_email {email} is {where}.")
        enrolled = set(
            Participant.objects.filter(study_id__in=self.study_ids).values_list(
                "study_id", flat=True
            )
        )
        for study_id in sorted(enrolled, key=self.study_ids.__getitem__):
            self.problem(self.study_ids[study_id], f"study ID {study_id} is already enrolled.")
        accounts = {
            user.email: user
            for user in User.objects.filter(email__in=[*self.emails, *self.proxies]).only(
                "email", "roles"
            )
        }
        for email, line in self.emails.items():
            if email in accounts:
                self.problem(line, f"an account with the email {email} already exists.")
        for email, (line, _) in self.proxies.items():
            account = accounts.get(email)
            # As proxy_link: a participant's account may also be a guardian's (it gains the
            # proxy role); any other account is refused.
            if account is not None and not account.has_role(Role.PROXY, Role.PARTICIPANT):
                self.problem(
                    line,
                    f"proxy_email {email} belongs to an account that is not a proxy "
                    f"({account.roles_display.lower() or 'no role'}).",
                )
        failed = {problem.line for problem in self.problems}
        self.rows = [row for row in self.rows if row.line not in failed]
        self.problems.sort(key=lambda problem: problem.line)


def participants_import_check(*, content: bytes) -> ImportCheck:
    """Read and check the whole file; writes nothing. Every problem is reported, by line."""
    sha256 = hashlib.sha256(content).hexdigest()
    text = _decode(content)
    if isinstance(text, ImportProblem):
        return ImportCheck((), (text,), sha256)
    records = _records(text)
    first = next(records, None)
    if first is None:
        problem = ImportProblem(0, "The file is empty: the first line must name the columns.")
        return ImportCheck((), (problem,), sha256)
    if isinstance(first, ImportProblem):
        return ImportCheck((), (first,), sha256)
    header_line, names = first
    header = [name.strip().lower() for name in names]
    if len(header) == 1 and ";" in header[0]:
        problem = ImportProblem(
            header_line,
            "the columns are separated by semicolons; save the file as “CSV UTF-8” "
            "(comma-separated) and upload it again.",
        )
        return ImportCheck((), (problem,), sha256)
    header_problems = [
        ImportProblem(header_line, problem.message) for problem in _header_problems(header)
    ]
    if header_problems:
        return ImportCheck((), tuple(header_problems), sha256)
    checker = _Checker(import_languages())
    count = 0
    for record in records:
        if isinstance(record, ImportProblem):
            checker.problems.append(record)
            break
        line, values = record
        count += 1
        if count > IMPORT_MAX_ROWS:
            checker.problem(0, f"The file has more than {IMPORT_MAX_ROWS} rows: split it up.")
            break
        if len(values) > len(header):
            checker.problem(
                line, f"has {len(values)} values but the header has {len(header)} columns."
            )
            continue
        padded = [value.strip() for value in values] + [""] * (len(header) - len(values))
        checker.row(line, dict(zip(header, padded, strict=True)))
    if count == 0:
        checker.problem(0, "The file has a header but no participants.")
    checker.against_each_other_and_the_database()
    return ImportCheck(tuple(checker.rows), tuple(checker.problems), sha256)


def participants_import(*, actor: User, content: bytes) -> ImportResult:
    """Enrol every participant of the file, or none.

    1. check the whole file (ParticipantImportError lists every problem); 2. in one
    transaction enrol each row through participant_enrol, whose invitation email is queued
    for the worker on commit, and link any proxy (invited the same way); 3. audit the
    import with the file's SHA-256. A row that became invalid since the check (someone
    enrolled the same study ID meanwhile) rolls everything back.
    """
    check = participants_import_check(content=content)
    if not check.ok:
        raise ParticipantImportError(check.problems)
    participants: list[Participant] = []
    with transaction.atomic(durable=True):
        for row in check.rows:
            try:
                participant = participant_enrol(
                    actor=actor,
                    study_id=row.study_id,
                    email=row.email,
                    full_name=row.full_name,
                    language=row.language,
                    date_of_birth=row.date_of_birth,
                )
                if row.has_proxy:
                    proxy_link(
                        actor=actor,
                        participant=participant,
                        email=row.proxy_email,
                        full_name=row.proxy_name,
                    )
            except PortalError as exc:
                raise ParticipantImportError((ImportProblem(row.line, exc.message),)) from exc
            participants.append(participant)
        audit_log(
            actor=actor,
            action=ConsentActions.PARTICIPANT_IMPORT,
            object_type="consent.participant",
            after={
                "participants": len(participants),
                "proxies": check.proxies,
                "sha256": check.sha256,
                "first": participants[0].study_id,
                "last": participants[-1].study_id,
            },
        )
    return ImportResult(tuple(participants), check.proxies, check.sha256)
