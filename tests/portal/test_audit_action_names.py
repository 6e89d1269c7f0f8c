"""Audit action names are constants you can grep, and keep the values already stored in the
ledger: no audit entry's action is a string literal or built at run time at the call site."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from access.transitions import DELIVERY_TRANSITIONS, OFFICIAL_TRANSITIONS, REQUEST_TRANSITIONS
from consent.models import RecordKind
from consent.services.actions import RECORD_ACTIONS
from consent.transitions import QUESTION_TRANSITIONS, VERSION_TRANSITIONS
from datasets.transitions import DATASET_TRANSITIONS, FILE_TRANSITIONS, VARIANT_INDEX_TRANSITIONS
from portal.transitions import StateTable

ROOT = Path(__file__).resolve().parents[2]
APPS = ("portal", "consent", "datasets", "access")

# The names already in ledgers (they were "<model>.<status>" and "consent.<kind>"): written
# out, so renaming one fails here.
STORED = {
    "consentversion": {"consentversion.published", "consentversion.superseded"},
    "consentquestion": {"consentquestion.answered", "consentquestion.withdrawn"},
    "dataset": {"dataset.released", "dataset.retired"},
    "datafile": {"datafile.pending", "datafile.validating", "datafile.valid", "datafile.failed"},
    "variantindex": {"variantindex.building", "variantindex.ready", "variantindex.failed"},
    "accessrequest": {
        "accessrequest.submitted",
        "accessrequest.under_review",
        "accessrequest.returned",
        "accessrequest.approved",
        "accessrequest.rejected",
        "accessrequest.withdrawn",
        "accessrequest.revoked",
        "accessrequest.expired",
    },
    "delivery": {"delivery.ready", "delivery.failed"},
    "signingofficialconfirmation": {
        "signingofficialconfirmation.confirmed",
        "signingofficialconfirmation.declined",
        "signingofficialconfirmation.cancelled",
    },
    "consentrecord": {
        "consent.consent",
        "consent.change",
        "consent.reconsent",
        "consent.withdrawal",
        "consent.confirm",
    },
}


def test_transition_and_record_action_names_keep_their_stored_values() -> None:
    tables: dict[str, StateTable[Any]] = {
        "consentversion": VERSION_TRANSITIONS,
        "consentquestion": QUESTION_TRANSITIONS,
        "dataset": DATASET_TRANSITIONS,
        "datafile": FILE_TRANSITIONS,
        "variantindex": VARIANT_INDEX_TRANSITIONS,
        "accessrequest": REQUEST_TRANSITIONS,
        "delivery": DELIVERY_TRANSITIONS,
        "signingofficialconfirmation": OFFICIAL_TRANSITIONS,
    }
    names = {model: set(table.actions.values()) for model, table in tables.items()}
    names["consentrecord"] = set(RECORD_ACTIONS.values())

    assert names == STORED
    assert set(RECORD_ACTIONS) == set(RecordKind)


def _literal_parts(node: ast.expr) -> list[ast.expr]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Constant | ast.JoinedStr)]


def test_every_audit_entry_names_its_action_by_a_constant() -> None:
    offences = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for call in ast.walk(tree):
                if not isinstance(call, ast.Call):
                    continue
                name = getattr(call.func, "id", getattr(call.func, "attr", ""))
                if name != "audit_log":
                    continue
                offences += [
                    f"{path.relative_to(ROOT)}:{call.lineno} action={ast.unparse(kw.value)}"
                    for kw in call.keywords
                    if kw.arg == "action" and _literal_parts(kw.value)
                ]

    assert offences == []
