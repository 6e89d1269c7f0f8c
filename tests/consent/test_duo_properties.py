from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from consent.duo import (
    DataUseConditions,
    Effect,
    Outcome,
    PrimaryUse,
    ResearchPurpose,
    Rule,
    cohort_filter,
    match,
    modifiers,
    shipped_ontology,
)
from consent.duo.matcher import CONTEXT_MODIFIERS, SENSITIVE_AREAS

ONTOLOGY = shipped_ontology()
DISEASE_IDS = sorted(t.id for t in ONTOLOGY)
# (broader, narrower) pairs: narrower is a strict descendant of broader.
NARROWING_PAIRS = sorted(
    (broad, narrow) for broad in DISEASE_IDS for narrow in ONTOLOGY.descendants(broad)
)
PERMISSION_CODES = ["NRES", "GRU", "HMB", "DS", "POA"]
MODIFIER_CODES = sorted(t.shorthand for t in modifiers())
PARAMETERISED = frozenset({*CONTEXT_MODIFIERS, "MOR"})
COUNTRIES = ["GB", "DE", "US"]
IDENTIFIERS = ["a1", "b2"]
SEVERITY = {Outcome.APPROVE: 0, Outcome.NEEDS_REVIEW: 1, Outcome.DENY: 2}

# Small pools make purpose context and condition parameters collide often, so every branch of
# the context rules (listed, unlisted, missing, exactly on a date limit) is exercised.
DATES = [date(2025, 1, 1), date(2025, 6, 30), date(2025, 12, 31)]
dates = st.sampled_from(DATES)
disease_sets = st.frozensets(st.sampled_from(DISEASE_IDS), min_size=1, max_size=3)
rarely = st.integers(min_value=0, max_value=19).map(lambda n: n == 0)


@st.composite
def purposes(
    draw: st.DrawFn, *, primary: PrimaryUse | None = None, sensitive: bool = True
) -> ResearchPurpose:
    use = primary or draw(st.sampled_from(list(PrimaryUse)))
    start, end = draw(st.none() | dates), draw(st.none() | dates)
    if start and end and start > end:
        start, end = end, start
    flags = {name: draw(rarely) for name in SENSITIVE_AREAS} if sensitive else {}
    return ResearchPurpose(
        use,
        draw(disease_sets) if use is PrimaryUse.DS else frozenset(),
        methods_development=draw(st.booleans()),
        commercial=draw(rarely),
        for_profit_organisation=draw(rarely),
        country=draw(st.none() | st.sampled_from(COUNTRIES)),
        access_start=start,
        access_end=end,
        user_id=draw(st.none() | st.sampled_from(IDENTIFIERS)),
        project_id=draw(st.none() | st.sampled_from(IDENTIFIERS)),
        institution_id=draw(st.none() | st.sampled_from(IDENTIFIERS)),
        **flags,
    )


def parameters_for(
    draw: Callable[[st.SearchStrategy[Any]], Any], modifier_codes: frozenset[str]
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if "GS" in modifier_codes:
        params["countries"] = draw(st.frozensets(st.sampled_from(COUNTRIES), min_size=1))
    if "TS" in modifier_codes:
        params["time_limit"] = draw(dates)
    if "MOR" in modifier_codes:
        params["moratorium_until"] = draw(dates)
    for code, name in (("US", "users"), ("PS", "projects"), ("IS", "institutions")):
        if code in modifier_codes:
            params[name] = draw(st.frozensets(st.sampled_from(IDENTIFIERS), max_size=2))
    return params


@st.composite
def data_use_conditions(
    draw: st.DrawFn, *, parameterised: bool = True, near: frozenset[str] = frozenset()
) -> DataUseConditions:
    """Conditions; with ``near`` diseases, DS consents often cover some or all of them."""
    permission = draw(st.sampled_from(PERMISSION_CODES + (["DS", "DS"] if near else [])))
    diseases: frozenset[str] = frozenset()
    if permission == "DS":
        cover_near: bool = draw(st.booleans())
        if near and cover_near:
            covered = draw(st.frozensets(st.sampled_from(sorted(near)), min_size=1))
            diseases = frozenset(
                draw(st.sampled_from(sorted(ONTOLOGY.ancestors(d, include_self=True))))
                for d in covered
            )
        else:
            diseases = draw(disease_sets)
    pool = [m for m in MODIFIER_CODES if parameterised or m not in PARAMETERISED]
    codes = draw(st.frozensets(st.sampled_from(pool), max_size=3))
    return DataUseConditions(
        permission, diseases=diseases, modifiers=codes, **parameters_for(draw, codes)
    )


@st.composite
def cases(
    draw: st.DrawFn, *, parameterised: bool = True
) -> tuple[ResearchPurpose, DataUseConditions]:
    purpose = draw(purposes())
    conditions = draw(data_use_conditions(parameterised=parameterised, near=purpose.diseases))
    return purpose, conditions


@st.composite
def single_context_cases(draw: st.DrawFn) -> tuple[ResearchPurpose, DataUseConditions]:
    """Approvable apart from one parameterised restriction, so its edges come up often."""
    purpose = draw(purposes(sensitive=False))
    modifier = frozenset({draw(st.sampled_from(sorted(PARAMETERISED)))})
    permission = draw(st.sampled_from(["NRES", "GRU"]))
    conditions = DataUseConditions(permission, modifiers=modifier, **parameters_for(draw, modifier))
    return purpose, conditions


@st.composite
def disease_research_cases(draw: st.DrawFn) -> tuple[ResearchPurpose, DataUseConditions]:
    """DS purposes against DS-heavy consents carrying the rules that interact with diseases."""
    purpose = draw(purposes(primary=PrimaryUse.DS, sensitive=False))
    base = draw(data_use_conditions(parameterised=False, near=purpose.diseases))
    codes = draw(st.frozensets(st.sampled_from(["NMDS", "NCU", "NPOA", "IRB"]), max_size=2))
    return purpose, dataclasses.replace(base, modifiers=codes)


@given(
    pair=st.sampled_from(NARROWING_PAIRS),
    others=st.frozensets(st.sampled_from(DISEASE_IDS), max_size=2),
    base=purposes(primary=PrimaryUse.DS),
    data=st.data(),
)
def test_narrowing_purpose_disease_never_turns_approve_into_deny(
    pair: tuple[str, str], others: frozenset[str], base: ResearchPurpose, data: st.DataObject
) -> None:
    broad, narrow = pair
    conditions = data.draw(data_use_conditions(near=others | {broad}), label="conditions")
    broad_purpose = dataclasses.replace(base, diseases=others | {broad})
    narrow_purpose = dataclasses.replace(base, diseases=others | {narrow})
    before = match(broad_purpose, conditions)
    after = match(narrow_purpose, conditions)
    if before.outcome is Outcome.APPROVE:
        assert after.outcome is Outcome.APPROVE
    disease_denials = [
        r for r in after.reasons_with(Effect.DENY) if r.rule in (Rule.DISEASE, Rule.METHODS)
    ]
    if not any(r.rule in (Rule.DISEASE, Rule.METHODS) for r in before.reasons_with(Effect.DENY)):
        assert disease_denials == []


@given(case=cases(), data=st.data())
def test_adding_a_modifier_never_makes_the_outcome_more_permissive(
    case: tuple[ResearchPurpose, DataUseConditions], data: st.DataObject
) -> None:
    purpose, conditions = case
    unused = sorted(set(MODIFIER_CODES) - conditions.modifiers)
    extra = data.draw(st.sampled_from(unused), label="extra modifier")
    codes = conditions.modifiers | {extra}
    params = parameters_for(data.draw, frozenset({extra}))
    stricter = dataclasses.replace(conditions, modifiers=codes, **params)
    before = match(purpose, conditions).outcome
    after = match(purpose, stricter).outcome
    assert SEVERITY[after] >= SEVERITY[before], (before, after, extra)


@given(purpose=purposes(sensitive=False))
def test_nres_approves_every_purpose_without_sensitive_flags(purpose: ResearchPurpose) -> None:
    decision = match(purpose, DataUseConditions("NRES"))
    assert decision.outcome is Outcome.APPROVE
    assert decision.reasons[0].term == "NRES"


@settings(max_examples=300)
@given(case=cases(parameterised=False))
def test_cohort_filter_agrees_with_match_without_parameterised_restrictions(
    case: tuple[ResearchPurpose, DataUseConditions],
) -> None:
    purpose, conditions = case
    approved = match(purpose, conditions).outcome is Outcome.APPROVE
    assert cohort_filter(purpose).accepts(conditions) == approved


@settings(max_examples=300)
@given(case=cases())
def test_cohort_filter_agrees_with_match_including_context_restrictions(
    case: tuple[ResearchPurpose, DataUseConditions],
) -> None:
    purpose, conditions = case
    approved = match(purpose, conditions).outcome is Outcome.APPROVE
    assert cohort_filter(purpose).accepts(conditions) == approved


@given(case=cases())
def test_decision_is_json_serialisable_and_consistent_with_its_reasons(
    case: tuple[ResearchPurpose, DataUseConditions],
) -> None:
    purpose, conditions = case
    decision = match(purpose, conditions)
    data = json.loads(json.dumps(decision.to_dict()))
    effects = [r["effect"] for r in data["reasons"]]
    assert effects == sorted(effects, key=["deny", "review", "allow"].index)
    expected = "deny" if "deny" in effects else "needs_review" if "review" in effects else "approve"
    assert data["outcome"] == expected
    assert all(r["message"].strip() for r in data["reasons"])
    assert [o["term"] for o in data["obligations"]] == [
        o for o in ("IRB", "COL", "PUB", "MOR", "RTN", "GSO", "CC") if o in conditions.modifiers
    ]


@given(
    a=st.sampled_from(DISEASE_IDS), b=st.sampled_from(DISEASE_IDS), c=st.sampled_from(DISEASE_IDS)
)
def test_disease_is_a_is_transitive_and_antisymmetric(a: str, b: str, c: str) -> None:
    if ONTOLOGY.is_a(a, b) and ONTOLOGY.is_a(b, c):
        assert ONTOLOGY.is_a(a, c)
    if ONTOLOGY.is_a(a, b) and ONTOLOGY.is_a(b, a):
        assert a == b


@settings(max_examples=300)
@given(case=single_context_cases())
def test_cohort_filter_agrees_with_match_for_each_context_restriction(
    case: tuple[ResearchPurpose, DataUseConditions],
) -> None:
    purpose, conditions = case
    approved = match(purpose, conditions).outcome is Outcome.APPROVE
    assert cohort_filter(purpose).accepts(conditions) == approved


@given(case=disease_research_cases())
def test_cohort_filter_agrees_with_match_for_disease_research(
    case: tuple[ResearchPurpose, DataUseConditions],
) -> None:
    purpose, conditions = case
    approved = match(purpose, conditions).outcome is Outcome.APPROVE
    assert cohort_filter(purpose).accepts(conditions) == approved
