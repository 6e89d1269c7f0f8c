"""Demo consent: a realistic document in English and Welsh, and varied histories.

Everything goes through the services, so the demo's records are chained, projected and
audited exactly like real ones. Idempotent: a participant who has records is left alone.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, TextIO

from django.db import transaction
from django.utils import timezone

from consent.models import (
    Channel,
    ConsentDocument,
    ConsentVersion,
    Participant,
    VersionStatus,
    WithdrawalLevel,
)
from consent.services import (
    consent_document_create,
    consent_record,
    consent_version_create,
    consent_version_publish,
    consent_withdraw,
    proxy_link,
)
from portal.models import User

DOCUMENT = "Main study consent"

SECTIONS = {
    "en": [
        (
            "What the study is",
            "The Custodian Genomes Study reads the DNA of volunteers to find "
            "how genes affect health. Your DNA sequence and health records are kept securely.",
        ),
        (
            "Who can use your data",
            "Approved researchers can use your coded data. A data-access "
            "committee checks every request against the choices you make below.",
        ),
        (
            "Your rights",
            "You can change any choice at any time, see who used your data, and "
            "withdraw. Analyses that were already done cannot be undone.",
        ),
    ],
    "cy": [
        (
            "Beth yw'r astudiaeth",
            "Mae Astudiaeth Genomau Custodian yn darllen DNA gwirfoddolwyr i "
            "ddeall sut mae genynnau'n effeithio ar iechyd.",
        ),
        (
            "Pwy all ddefnyddio'ch data",
            "Gall ymchwilwyr cymeradwy ddefnyddio'ch data wedi'i godio. "
            "Mae pwyllgor mynediad at ddata yn gwirio pob cais yn erbyn eich dewisiadau.",
        ),
        (
            "Eich hawliau",
            "Gallwch newid unrhyw ddewis ar unrhyw adeg, neu dynnu'n ôl. Ni ellir "
            "dadwneud dadansoddiadau sydd eisoes wedi'u gwneud.",
        ),
    ],
}
QUESTIONS = {
    "en": [
        {
            "text": "Can you change your choices later?",
            "options": ["Yes, at any time", "No, never"],
            "correct_option": 0,
            "explanation": "You can change any choice whenever you like.",
        },
        {
            "text": "If you withdraw, what happens to analyses already done?",
            "options": ["They are undone", "They cannot be undone"],
            "correct_option": 1,
            "explanation": "Results already produced stay, but your data is not used again.",
        },
    ],
    "cy": [
        {
            "text": "Allwch chi newid eich dewisiadau yn nes ymlaen?",
            "options": ["Gallaf, unrhyw bryd", "Na allaf"],
            "correct_option": 0,
            "explanation": "Gallwch newid unrhyw ddewis pryd bynnag y dymunwch.",
        },
    ],
}
CHOICES = {
    "en": [
        (
            "general_research",
            "general_research",
            "May approved researchers use your data for any kind of research?",
            "This includes research that is not about health, such as how humans evolved.",
            ["yes", "no"],
            "",
        ),
        (
            "health_research",
            "health_research",
            "May your data be used for health and medical research?",
            "For example research into cancer, diabetes or heart disease.",
            ["yes", "no"],
            "yes",
        ),
        (
            "ancestry_research",
            "ancestry_research",
            "May your data be used to study population origins and ancestry?",
            "Research into where groups of people came from.",
            ["yes", "no", "ask"],
            "",
        ),
        (
            "commercial_use",
            "commercial_use",
            "May companies use your data, for example to develop medicines?",
            "If you say no, only non-commercial research may use it.",
            ["yes", "no", "ask"],
            "",
        ),
        (
            "international_use",
            "international_use",
            "May researchers outside the United Kingdom use your data?",
            "If you say no, your data stays with UK researchers.",
            ["yes", "no"],
            "",
        ),
        (
            "recontact",
            "recontact",
            "May we contact you again about new studies?",
            "We would email you; you can always say no then.",
            ["yes", "no"],
            "yes",
        ),
        (
            "return_of_results",
            "return_of_results",
            "Would you like to receive results that matter for your health?",
            "A doctor would contact you first.",
            ["yes", "no"],
            "",
        ),
        (
            "sample_storage",
            "sample_storage",
            "May we store your blood sample for future research?",
            "Samples are kept frozen in the biobank.",
            ["yes", "no"],
            "yes",
        ),
    ],
}
# Welsh wording for the same choices (keys and meanings are shared).
CHOICES["cy"] = [
    (k, m, q, e, a, d)
    for (k, m, _, _, a, d), (q, e) in zip(
        CHOICES["en"],
        [
            (
                "A gaiff ymchwilwyr ddefnyddio'ch data ar gyfer unrhyw ymchwil?",
                "Gan gynnwys ymchwil nad yw'n ymwneud ag iechyd.",
            ),
            ("A gaiff eich data ei ddefnyddio ar gyfer ymchwil iechyd?", "Er enghraifft canser."),
            (
                "A gaiff eich data ei ddefnyddio i astudio tarddiad poblogaethau?",
                "O ble daeth grwpiau o bobl.",
            ),
            ("A gaiff cwmnïau ddefnyddio'ch data?", "Os na, dim ond ymchwil anfasnachol."),
            (
                "A gaiff ymchwilwyr y tu allan i'r DU ddefnyddio'ch data?",
                "Os na, mae'n aros yn y DU.",
            ),
            ("A gawn ni gysylltu â chi eto?", "Byddem yn anfon e-bost."),
            (
                "Hoffech chi gael canlyniadau sy'n bwysig i'ch iechyd?",
                "Byddai meddyg yn cysylltu gyntaf.",
            ),
            ("A gawn ni gadw'ch sampl gwaed?", "Caiff samplau eu rhewi yn y biobanc."),
        ],
        strict=True,
    )
]
TITLES = {"en": "Main study consent", "cy": "Cydsyniad y brif astudiaeth"}


def _published(document: ConsentDocument, language: str, steward: User) -> ConsentVersion:
    version = document.versions.filter(language=language, status=VersionStatus.PUBLISHED).first()
    if version is not None:
        return version
    version = consent_version_create(
        actor=steward,
        document=document,
        number=1,
        language=language,
        title=TITLES[language],
        summary="How your DNA data may be used, and your choices.",
        sections=[{"heading": h, "body": b} for h, b in SECTIONS[language]],
        questions=QUESTIONS[language],
        choices=[
            {
                "key": k,
                "meaning": m,
                "question": q,
                "explanation": e,
                "allowed_answers": a,
                "recommended_answer": d,
            }
            for k, m, q, e, a, d in CHOICES[language]
        ],
    )
    return consent_version_publish(actor=steward, version=version)


def _answers(rng: random.Random) -> dict[str, str]:
    return {
        "general_research": "yes" if rng.random() < 0.6 else "no",
        "health_research": "yes" if rng.random() < 0.92 else "no",
        "ancestry_research": rng.choice(["yes", "yes", "no", "ask"]),
        "commercial_use": rng.choice(["yes", "no", "no", "ask"]),
        "international_use": "yes" if rng.random() < 0.5 else "no",
        "recontact": "yes" if rng.random() < 0.8 else "no",
        "return_of_results": rng.choice(["yes", "no"]),
        "sample_storage": "yes" if rng.random() < 0.85 else "no",
    }


def seed_demo_consent(
    *, steward: User, participants: list[Participant], stdout: TextIO
) -> dict[str, int]:
    """Publish the document and give each participant a history. Returns what was done."""
    document = ConsentDocument.objects.filter(name=DOCUMENT).first() or consent_document_create(
        actor=steward, name=DOCUMENT, country="GB"
    )
    versions = {lang: _published(document, lang, steward) for lang in ("en", "cy")}
    done = {
        "consented": 0,
        "changed": 0,
        "proxies": 0,
        **{level.value: 0 for level in WithdrawalLevel},
    }
    for number, participant in enumerate(participants, start=1):
        # One generator per participant: the same history whatever was seeded before.
        rng = random.Random(f"custodian-demo-{participant.study_id}")
        plan = rng.random()
        if participant.records.exists() or plan < 0.08:  # a few have not consented yet
            continue
        with transaction.atomic():
            _history(participant, number, plan, versions, steward, rng, done)
    if not any(done.values()):
        # A second `make run`: say so, rather than "0 consented".
        stdout.write("Demo consent histories are already there.")
        return done
    stdout.write(
        "Demo consent: {consented} consented ({changed} changed a choice, {proxies} children "
        "with a guardian); withdrawn: {no_contact} no further contact, {no_access} no further "
        "access, {no_use} no further use".format(**done)
    )
    return done


def _history(
    participant: Participant,
    number: int,
    plan: float,
    versions: dict[str, ConsentVersion],
    steward: User,
    rng: random.Random,
    done: dict[str, int],
) -> None:
    proxy = None
    if number % 25 == 0:  # every 25th participant is a child with a guardian
        participant.date_of_birth = timezone.localdate() - dt.timedelta(days=365 * 12 + number)
        participant.save(update_fields=["date_of_birth"])
        link = proxy_link(
            actor=steward,
            participant=participant,
            email=f"guardian{number:03d}@demo.custodian.test",
            full_name=f"Guardian of {participant.study_id}",
        )
        proxy = link.proxy
        done["proxies"] += 1
    if number % 10 == 3:
        participant.language = "cy"
        participant.save(update_fields=["language"])
    version = versions[participant.language]
    signer = proxy or participant.user
    common: dict[str, Any] = {
        "actor": signer,
        "participant": participant,
        "signature": signer.full_name,
        "proxy": proxy,
        "channel": Channel.PAPER if number % 7 == 0 else Channel.WEB,
        # Receipts of demo records are made when first opened, not emailed at seeding.
        "receipt": False,
    }
    answers = _answers(rng)
    consent_record(version=version, answers=answers, expected_sequence=0, **common)
    done["consented"] += 1
    sequence = 1
    if plan > 0.6:
        flipped = rng.choice(["general_research", "international_use", "recontact"])
        answers = {**answers, flipped: "no" if answers[flipped] == "yes" else "yes"}
        consent_record(version=version, answers=answers, expected_sequence=sequence, **common)
        done["changed"] += 1
        sequence += 1
    if 0.08 <= plan < 0.14:
        level = [WithdrawalLevel.NO_CONTACT, WithdrawalLevel.NO_ACCESS, WithdrawalLevel.NO_USE][
            number % 3
        ]
        consent_withdraw(level=level, expected_sequence=sequence, **common)
        done[level.value] += 1
