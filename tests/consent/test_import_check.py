"""Checking a participants CSV: every problem, with its line number, and nothing written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from consent.models import Participant
from consent.services import consent_version_publish, participants_import_check
from portal.models import AuditEvent, Role, User
from tests.consent.conftest import make_version
from tests.factories import ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "study_id,email,full_name,language,date_of_birth,proxy_email,proxy_name"
CHILD = (timezone.localdate() - dt.timedelta(days=365 * 10)).isoformat()


def _problems(*lines: str, header: str = HEADER) -> list[str]:
    content = "\n".join([header, *lines]).encode()
    return [str(problem) for problem in participants_import_check(content=content).problems]


def test_check_good_file_lists_rows_to_create() -> None:
    content = "\n".join(
        [
            HEADER,
            "S-1,Ann@Example.org,Ann  Jones,EN,1980-04-12,,",
            f"S-2,tom@example.org,Tom Bryn,en,{CHILD},Rhian@example.org,Rhian Bryn",
        ]
    ).encode()

    check = participants_import_check(content=content)

    assert check.problems == ()
    assert check.ok
    assert [(r.line, r.study_id, r.email, r.full_name, r.language) for r in check.rows] == [
        (2, "S-1", "ann@example.org", "Ann Jones", "en"),
        (3, "S-2", "tom@example.org", "Tom Bryn", "en"),
    ]
    assert check.rows[0].date_of_birth == dt.date(1980, 4, 12)
    assert not check.rows[0].has_proxy
    assert (check.rows[1].proxy_email, check.rows[1].proxy_name) == (
        "rhian@example.org",
        "Rhian Bryn",
    )
    assert check.proxies == 1
    assert len(check.sha256) == 64


def test_check_writes_nothing() -> None:
    participants_import_check(content=f"{HEADER}\nS-1,a@example.org,A,en,,,".encode())

    assert Participant.objects.count() == 0
    assert User.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_check_reports_bad_emails() -> None:
    assert _problems("S-1,jo@,Jo,en,,,", "S-2,not an email,Al,en,,,") == [
        "Line 2: email “jo@” is not a valid email address.",
        "Line 3: email “not an email” is not a valid email address.",
    ]


def test_check_reports_duplicate_study_ids_in_the_file() -> None:
    assert _problems(
        "S-1,a@example.org,A,en,,,", "S-2,b@example.org,B,en,,,", "S-1,c@example.org,C,en,,,"
    ) == ["Line 4: study ID S-1 is also on line 2."]


def test_check_reports_study_ids_already_enrolled() -> None:
    ParticipantFactory(study_id="S-2")

    assert _problems("S-1,a@example.org,A,en,,,", "S-2,b@example.org,B,en,,,") == [
        "Line 3: study ID S-2 is already enrolled."
    ]


def test_check_reports_duplicate_emails_whatever_their_case() -> None:
    assert _problems("S-1,jo@example.org,Jo,en,,,", "S-2, JO@Example.ORG ,Jo B,en,,,") == [
        "Line 3: email jo@example.org is also on line 2."
    ]


def test_check_reports_emails_of_existing_accounts() -> None:
    UserFactory(email="taken@example.org", role=Role.RESEARCHER)

    assert _problems("S-1,Taken@example.org,T,en,,,") == [
        "Line 2: an account with the email taken@example.org already exists."
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2023-02-30", "date_of_birth 2023-02-30 is not a real date."),
        ("2023-13-01", "date_of_birth 2023-13-01 is not a real date."),
        ("30/01/2001", "date_of_birth “30/01/2001” is not a date in the form YYYY-MM-DD."),
        ("2001-1-5", "date_of_birth “2001-1-5” is not a date in the form YYYY-MM-DD."),
        ("1899-12-31", "date_of_birth 1899-12-31 is before 1900."),
    ],
)
def test_check_reports_impossible_dates(value: str, message: str) -> None:
    assert _problems(
        "S-1,a@example.org,A,en,1980-01-01,,", f"S-2,b@example.org,B,en,{value},,"
    ) == [f"Line 3: {message}"]


def test_check_reports_a_date_of_birth_in_the_future() -> None:
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()

    assert _problems(f"S-1,a@example.org,A,en,{tomorrow},,") == [
        f"Line 2: date_of_birth {tomorrow} is in the future."
    ]


def test_check_accepts_languages_of_published_versions_only(steward: User) -> None:
    english = make_version(steward)
    consent_version_publish(
        actor=steward, version=make_version(steward, language="fr", document=english.document)
    )
    make_version(steward, language="cy", document=english.document)  # a draft does not count

    assert _problems(
        "S-1,a@example.org,A,fr,,,", "S-2,b@example.org,B,cy,,,", "S-3,c@example.org,C,en,,,"
    ) == ["Line 3: language “cy” has no published consent form; use one of: en, fr."]


def test_check_reports_a_proxy_for_an_adult() -> None:
    assert _problems("S-1,a@example.org,A,en,1990-06-01,g@example.org,Gina G") == [
        "Line 2: a proxy is given but the participant is an adult (born 1990-06-01, 18 or "
        "older): adults consent for themselves."
    ]


def test_check_reports_a_proxy_without_a_date_of_birth() -> None:
    assert _problems("S-1,a@example.org,A,en,,g@example.org,Gina G") == [
        "Line 2: a proxy is given but date_of_birth is empty: a proxy acts only for a child."
    ]


def test_check_reports_incomplete_or_wrong_proxies() -> None:
    UserFactory(email="researcher@example.org", role=Role.RESEARCHER)

    assert _problems(
        f"S-1,a@example.org,A,en,{CHILD},,Gina G",
        f"S-2,b@example.org,B,en,{CHILD},g@example.org,",
        f"S-3,c@example.org,C,en,{CHILD},g@,Gina G",
        f"S-4,d@example.org,D,en,{CHILD},d@example.org,Dee D",
        f"S-5,e@example.org,E,en,{CHILD},a@example.org,Ann A",
        f"S-6,f@example.org,F,en,{CHILD},researcher@example.org,Rae R",
    ) == [
        "Line 2: proxy_name is given but proxy_email is missing.",
        "Line 3: proxy_email is given but proxy_name is missing.",
        "Line 4: proxy_email “g@” is not a valid email address.",
        "Line 5: proxy_email d@example.org is the participant's own email.",
        "Line 6: proxy_email a@example.org is the email of the participant on line 2.",
        "Line 7: proxy_email researcher@example.org belongs to an account that is not a proxy "
        "(researcher).",
    ]


def test_check_accepts_siblings_with_the_same_guardian_and_an_existing_guardian() -> None:
    UserFactory(email="gina@example.org", role=Role.PROXY)

    check = participants_import_check(
        content="\n".join(
            [
                HEADER,
                f"S-1,a@example.org,A,en,{CHILD},gina@example.org,Gina G",
                f"S-2,b@example.org,B,en,{CHILD},gina@example.org,Gina G",
            ]
        ).encode()
    )

    assert check.problems == ()
    assert check.proxies == 2


def test_check_accepts_an_enrolled_participant_as_guardian() -> None:
    # proxy_link gives them the proxy role beside their own participant role.
    ParticipantFactory(user__email="parent@example.org")

    check = participants_import_check(
        content="\n".join(
            [HEADER, f"S-1,kid@example.org,Kid K,en,{CHILD},parent@example.org,Pam Parent"]
        ).encode()
    )

    assert check.problems == ()
    assert check.proxies == 1


def test_check_names_every_role_of_an_account_that_cannot_be_a_guardian() -> None:
    UserFactory(email="both@example.org", roles=[Role.RESEARCHER, Role.DAC_MEMBER])

    assert _problems(f"S-1,a@example.org,A,en,{CHILD},both@example.org,Bo Both") == [
        "Line 2: proxy_email both@example.org belongs to an account that is not a proxy "
        "(dac member, researcher)."
    ]


def test_check_reports_one_guardian_email_with_two_names() -> None:
    assert _problems(
        f"S-1,a@example.org,A,en,{CHILD},gina@example.org,Gina G",
        f"S-2,b@example.org,B,en,{CHILD},gina@example.org,Tina T",
    ) == [
        "Line 3: proxy_email gina@example.org is also on line 2 with another proxy_name "
        "(“Gina G” there, “Tina T” here)."
    ]


def test_check_reports_missing_required_fields() -> None:
    assert _problems(" , a@example.org , , ,,,", "S-2,,B,en,,,") == [
        "Line 2: study_id is missing.",
        "Line 2: full_name is missing.",
        "Line 2: language is missing.",
        "Line 3: email is missing.",
    ]


def test_check_reports_too_long_values_and_too_many_values() -> None:
    assert _problems(f"{'S' * 65},a@example.org,A,en,,,", "S-2,b@example.org,B,en,,,,extra") == [
        "Line 2: study_id is longer than 64 characters.",
        "Line 3: has 8 values but the header has 7 columns.",
    ]


def test_check_reports_every_problem_of_every_row_in_line_order() -> None:
    ParticipantFactory(study_id="OLD-1")

    problems = _problems(
        "OLD-1,jo@,Jo,en,2023-02-30,,",
        "S-2,ok@example.org,Ok,de,,,",
        "S-3,ok@example.org,Ok Two,en,1980-01-01,g@example.org,Gee",
    )

    assert problems == [
        "Line 2: email “jo@” is not a valid email address.",
        "Line 2: date_of_birth 2023-02-30 is not a real date.",
        "Line 2: study ID OLD-1 is already enrolled.",
        "Line 3: language “de” has no published consent form; use one of: en.",
        "Line 4: email ok@example.org is also on line 3.",
        "Line 4: a proxy is given but the participant is an adult (born 1980-01-01, 18 or "
        "older): adults consent for themselves.",
    ]


def test_check_counts_lines_across_quoted_line_breaks_and_blank_lines() -> None:
    content = (
        f'{HEADER}\r\n\r\nS-1,a@example.org,"Ann\nJones",en,,,\r\nS-2,bad,B,en,,,\r\n'
    ).encode()

    problems = [str(p) for p in participants_import_check(content=content).problems]

    assert problems == ["Line 5: email “bad” is not a valid email address."]


def test_check_tolerates_a_byte_order_mark_and_header_case() -> None:
    content = "\ufeffStudy_ID, Email ,FULL_NAME,language,date_of_birth\nS-1,a@example.org,A,en,\n"

    check = participants_import_check(content=content.encode())

    assert check.ok
    assert check.rows[0].study_id == "S-1"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "The file is empty: the first line must name the columns."),
        (HEADER.encode() + b"\n", "The file has a header but no participants."),
        (
            b"study_id,email,name,language\nS-1,a@example.org,A,en\n",
            "Line 1: unknown column name. The columns are study_id, email, full_name, "
            "language, date_of_birth, and optionally proxy_email and proxy_name.",
        ),
        (
            b"study_id;email;full_name;language;date_of_birth\n",
            "Line 1: the columns are separated by semicolons; save the file as “CSV UTF-8” "
            "(comma-separated) and upload it again.",
        ),
        (
            b"study_id,email,full_name,language,date_of_birth\nS-1,caf\xe9@example.org,A,en,\n",
            "Line 2: the text is not UTF-8. Save the file as “CSV UTF-8” and upload it again.",
        ),
    ],
)
def test_check_reports_file_problems(content: bytes, problem: str) -> None:
    check = participants_import_check(content=content)

    assert [str(p) for p in check.problems][:1] == [problem]
    assert not check.ok


def test_check_reports_missing_and_repeated_columns() -> None:
    check = participants_import_check(content=b"study_id,email,email,language\n")

    assert [str(p) for p in check.problems] == [
        "Line 1: column email appears twice.",
        "Line 1: the header has no column full_name, date_of_birth. The first line must name "
        "the columns: study_id,email,full_name,language,date_of_birth[,proxy_email,proxy_name].",
    ]


def test_check_refuses_too_many_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("consent.services.imports.IMPORT_MAX_ROWS", 2)
    rows = [f"S-{n},p{n}@example.org,P {n},en,,," for n in range(3)]

    assert _problems(*rows)[:1] == ["The file has more than 2 rows: split it up."]
