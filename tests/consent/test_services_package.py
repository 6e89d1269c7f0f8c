"""consent.services is a package: every name the rest of the portal uses is importable from it."""

from __future__ import annotations

import pytest

from consent import services

# Imported elsewhere as `from consent.services import ...` or used as `services.<name>`
# (views, API, tasks, demo, seed_demo, benchmarks, tests).
USED = [
    "ConsentError",
    "StaleConsentError",
    "RECONSENT_BATCH",
    "consent_answers_check",
    "consent_document_create",
    "consent_receipt_create",
    "consent_receipt_deliver",
    "consent_record",
    "consent_version_create",
    "consent_version_publish",
    "consent_withdraw",
    "majority_date",
    "participant_enrol",
    "proxy_link",
    "proxy_majority_handover",
    "reconsent_notify_batch",
    "participants_import",
    "participants_import_check",
    "consent_question_raise",
    "consent_question_answer",
    "consent_question_withdraw",
]


@pytest.mark.parametrize("name", USED)
def test_services_package_exports(name: str) -> None:
    assert hasattr(services, name)
    assert name in services.__all__


def test_services_package_reads_the_batch_size_at_call_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from consent.services.documents import _reconsent_batch

    monkeypatch.setattr(services, "RECONSENT_BATCH", 7)

    assert _reconsent_batch() == 7
