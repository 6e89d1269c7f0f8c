from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from consent.duo import (
    DataUseConditions,
    Decision,
    DiseaseTerm,
    Effect,
    InvalidConditionsError,
    InvalidPurposeError,
    JsonDiseaseOntology,
    Outcome,
    PrimaryUse,
    ResearchPurpose,
    Rule,
    UnknownDiseaseError,
    cohort_filter,
    match,
)

CANCER = "MONDO:0004992"
LUNG_CANCER = "MONDO:0008903"
LUNG_ADENOCARCINOMA = "MONDO:0005061"
BREAST_CANCER = "MONDO:0007254"
TYPE_2_DIABETES = "MONDO:0005148"
DIABETES = "MONDO:0005015"

APPROVE, DENY, REVIEW = Outcome.APPROVE, Outcome.DENY, Outcome.NEEDS_REVIEW


def purpose(
    primary: str = "HMB", diseases: Iterable[str] = (), **kwargs: object
) -> ResearchPurpose:
    return ResearchPurpose(PrimaryUse(primary), frozenset(diseases), **kwargs)  # type: ignore[arg-type]


def conditions(
    permission: str = "GRU",
    diseases: Iterable[str] = (),
    modifiers: Iterable[str] = (),
    **kwargs: object,
) -> DataUseConditions:
    return DataUseConditions(
        permission,
        diseases=frozenset(diseases),
        modifiers=frozenset(modifiers),
        **kwargs,  # type: ignore[arg-type]
    )


def messages(decision: Decision, effect: Effect | None = None) -> list[str]:
    return [r.message for r in decision.reasons if effect is None or r.effect is effect]


# --- permissions -------------------------------------------------------------------------


def _permission_case(primary: str, permission: str) -> tuple[ResearchPurpose, DataUseConditions]:
    p = purpose(primary, [LUNG_CANCER] if primary == "DS" else [])
    c = conditions(permission, [CANCER] if permission == "DS" else [])
    return p, c


@pytest.mark.parametrize(
    ("primary", "permission", "expected"),
    [
        ("GRU", "NRES", APPROVE),
        ("GRU", "GRU", APPROVE),
        ("GRU", "HMB", DENY),
        ("GRU", "DS", DENY),
        ("GRU", "POA", DENY),
        ("HMB", "NRES", APPROVE),
        ("HMB", "GRU", APPROVE),
        ("HMB", "HMB", APPROVE),
        ("HMB", "DS", DENY),
        ("HMB", "POA", DENY),
        ("DS", "NRES", APPROVE),
        ("DS", "GRU", APPROVE),
        ("DS", "HMB", APPROVE),
        ("DS", "DS", APPROVE),
        ("DS", "POA", DENY),
        ("POA", "NRES", APPROVE),
        ("POA", "GRU", APPROVE),
        ("POA", "HMB", DENY),
        ("POA", "DS", DENY),
        ("POA", "POA", APPROVE),
    ],
)
def test_match_permission_table_gives_expected_outcome(
    primary: str, permission: str, expected: Outcome
) -> None:
    decision = match(*_permission_case(primary, permission))
    assert decision.outcome is expected
    rules = {r.rule for r in decision.reasons}
    assert rules & {Rule.PERMISSION, Rule.DISEASE}


def test_match_gru_purpose_on_hmb_data_denied_with_readable_reason() -> None:
    decision = match(purpose("GRU"), conditions("HMB"))
    assert decision.outcome is DENY
    assert messages(decision) == [
        "General research use is not permitted: the data carry HMB (health or medical or "
        "biomedical research), which limits use to health, medical or biomedical research."
    ]
    assert decision.reasons[0].term == "HMB"
    assert decision.reasons[0].term_id == "DUO:0000006"


def test_match_hmb_purpose_on_gru_data_approved_with_readable_reason() -> None:
    decision = match(purpose("HMB"), conditions("GRU"))
    assert decision.outcome is APPROVE
    assert messages(decision) == [
        "Health, medical or biomedical research is permitted: the data carry GRU "
        "(general research use)."
    ]


def test_match_nres_accepts_poa_purpose() -> None:
    decision = match(purpose("POA"), conditions("NRES"))
    assert decision.outcome is APPROVE
    assert "the data carry NRES (no restriction)" in messages(decision)[0]


def test_match_poa_purpose_on_hmb_data_denied_naming_the_scope() -> None:
    decision = match(purpose("POA"), conditions("HMB"))
    assert decision.outcome is DENY
    assert messages(decision)[0].startswith(
        "Population origins or ancestry research is not permitted: the data carry HMB"
    )


def test_match_hmb_purpose_on_poa_data_denied_naming_the_scope() -> None:
    decision = match(purpose("HMB"), conditions("POA"))
    assert decision.outcome is DENY
    assert messages(decision)[0].endswith(
        "which limits use to population origins or ancestry research."
    )


def test_match_hmb_purpose_on_ds_data_denied_naming_the_disease() -> None:
    decision = match(purpose("HMB"), conditions("DS", [LUNG_CANCER]))
    assert decision.outcome is DENY
    assert "limits use to research on lung cancer and its subtypes" in messages(decision)[0]


# --- diseases ------------------------------------------------------------------------------


def test_match_ds_purpose_narrower_than_consented_disease_approved() -> None:
    decision = match(purpose("DS", [LUNG_CANCER]), conditions("DS", [CANCER]))
    assert decision.outcome is APPROVE
    assert decision.reasons[0].rule is Rule.DISEASE
    assert messages(decision) == [
        "Research on lung cancer is permitted: the data carry DS (disease specific research) "
        "for cancer."
    ]


def test_match_ds_purpose_broader_than_consented_disease_denied() -> None:
    decision = match(purpose("DS", [CANCER]), conditions("DS", [LUNG_CANCER]))
    assert decision.outcome is DENY
    assert messages(decision) == [
        "Research on cancer is not covered: the data carry DS (disease specific research), "
        "which covers only lung cancer and its subtypes."
    ]


def test_match_ds_purpose_same_disease_approved() -> None:
    decision = match(purpose("DS", [DIABETES]), conditions("DS", [DIABETES]))
    assert decision.outcome is APPROVE


def test_match_ds_purpose_unrelated_disease_denied() -> None:
    decision = match(purpose("DS", [BREAST_CANCER]), conditions("DS", [LUNG_CANCER]))
    assert decision.outcome is DENY
    assert decision.reasons[0].subject == "diseases"


def test_match_ds_purpose_outside_two_consented_diseases_names_both() -> None:
    decision = match(purpose("DS", [TYPE_2_DIABETES]), conditions("DS", [LUNG_CANCER, CANCER]))
    assert decision.outcome is DENY
    assert messages(decision)[0].endswith("covers only cancer, lung cancer and their subtypes.")


def test_match_ds_purpose_with_several_diseases_needs_every_one_covered() -> None:
    p = purpose("DS", [LUNG_ADENOCARCINOMA, TYPE_2_DIABETES])
    decision = match(p, conditions("DS", [LUNG_CANCER]))
    assert decision.outcome is DENY
    assert messages(decision)[0].startswith("Research on type 2 diabetes mellitus is not covered")


def test_match_ds_purpose_with_several_diseases_covered_by_different_consented_ones() -> None:
    p = purpose("DS", [LUNG_ADENOCARCINOMA, TYPE_2_DIABETES])
    decision = match(p, conditions("DS", [LUNG_CANCER, DIABETES]))
    assert decision.outcome is APPROVE
    assert "lung adenocarcinoma and type 2 diabetes mellitus" in messages(decision)[0]


@pytest.mark.parametrize("permission", ["GRU", "HMB", "NRES"])
def test_match_ds_purpose_accepted_by_broad_permissions(permission: str) -> None:
    assert match(purpose("DS", [LUNG_CANCER]), conditions(permission)).outcome is APPROVE


def test_match_unknown_purpose_disease_raises() -> None:
    with pytest.raises(UnknownDiseaseError, match="MONDO:9999999"):
        match(purpose("DS", ["MONDO:9999999"]), conditions("GRU"))


def test_match_unknown_condition_disease_raises() -> None:
    with pytest.raises(UnknownDiseaseError, match="MONDO:9999999"):
        match(purpose("DS", [LUNG_CANCER]), conditions("DS", ["MONDO:9999999"]))


def test_match_uses_ontology_passed_in() -> None:
    mini = JsonDiseaseOntology(
        [DiseaseTerm("X:1", "root"), DiseaseTerm("X:2", "leaf disease", parents=("X:1",))]
    )
    decision = match(purpose("DS", ["X:2"]), conditions("DS", ["X:1"]), ontology=mini)
    assert decision.outcome is APPROVE
    assert "Research on leaf disease is permitted" in messages(decision)[0]


# --- NPOA -----------------------------------------------------------------------------------


def test_match_poa_purpose_denied_where_npoa() -> None:
    decision = match(purpose("POA"), conditions("GRU", modifiers=["NPOA"]))
    assert decision.outcome is DENY
    assert messages(decision, Effect.DENY) == [
        "Population origins or ancestry research is not permitted: the data carry NPOA "
        "(population origins or ancestry research prohibited)."
    ]


def test_match_hmb_purpose_unaffected_by_npoa() -> None:
    decision = match(purpose("HMB"), conditions("GRU", modifiers=["NPOA"]))
    assert decision.outcome is APPROVE


# --- NMDS -----------------------------------------------------------------------------------


def test_match_methods_development_denied_where_nmds() -> None:
    decision = match(
        purpose("HMB", methods_development=True), conditions("GRU", modifiers=["NMDS"])
    )
    assert decision.outcome is DENY
    reason = decision.reasons[0]
    assert (reason.rule, reason.term, reason.subject) == (
        Rule.METHODS,
        "NMDS",
        "methods_development",
    )
    assert reason.message.startswith(
        "Methods development is not permitted: the data carry NMDS (no general methods research)"
    )


def test_match_methods_development_allowed_when_ds_disease_matches() -> None:
    p = purpose("DS", [LUNG_ADENOCARCINOMA], methods_development=True)
    decision = match(p, conditions("DS", [LUNG_CANCER], modifiers=["NMDS"]))
    assert decision.outcome is APPROVE
    assert any(
        m.startswith("Methods development is permitted: it is part of research on lung")
        for m in messages(decision, Effect.ALLOW)
    )


def test_match_methods_development_denied_when_ds_disease_does_not_match() -> None:
    p = purpose("DS", [BREAST_CANCER], methods_development=True)
    decision = match(p, conditions("DS", [LUNG_CANCER], modifiers=["NMDS"]))
    assert decision.outcome is DENY
    assert {r.rule for r in decision.reasons_with(Effect.DENY)} == {Rule.DISEASE, Rule.METHODS}


def test_match_ds_methods_development_on_gru_with_nmds_denied() -> None:
    p = purpose("DS", [LUNG_CANCER], methods_development=True)
    decision = match(p, conditions("GRU", modifiers=["NMDS"]))
    assert decision.outcome is DENY


def test_match_nmds_ignored_without_methods_development() -> None:
    assert match(purpose("HMB"), conditions("GRU", modifiers=["NMDS"])).outcome is APPROVE


# --- commercial -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("modifier", "label"),
    [
        ("NCU", "non-commercial use only"),
        ("NPU", "not for profit organisation use only"),
        ("NPUNCU", "not for profit, non commercial use only"),
    ],
)
def test_match_commercial_purpose_denied_where_non_commercial(modifier: str, label: str) -> None:
    decision = match(purpose("HMB", commercial=True), conditions("GRU", modifiers=[modifier]))
    assert decision.outcome is DENY
    assert messages(decision, Effect.DENY) == [
        f"Commercial use is not permitted: the data carry {modifier} ({label})."
    ]


@pytest.mark.parametrize("modifier", ["NCU", "NPU", "NPUNCU"])
def test_match_for_profit_organisation_denied_where_non_commercial(modifier: str) -> None:
    p = purpose("HMB", for_profit_organisation=True)
    decision = match(p, conditions("GRU", modifiers=[modifier]))
    assert decision.outcome is DENY
    assert messages(decision, Effect.DENY)[0].startswith(
        "Use by a for-profit organisation is not permitted: the data carry " + modifier
    )
    assert decision.reasons[0].subject == "for_profit_organisation"


def test_match_commercial_for_profit_gives_one_reason_per_modifier() -> None:
    p = purpose("HMB", commercial=True, for_profit_organisation=True)
    decision = match(p, conditions("GRU", modifiers=["NPU", "NCU"]))
    assert [r.term for r in decision.reasons_with(Effect.DENY)] == ["NPU", "NCU"]
    assert all(
        "Commercial use by a for-profit organisation" in m for m in messages(decision, Effect.DENY)
    )


def test_match_non_commercial_purpose_approved_where_non_commercial() -> None:
    decision = match(purpose("HMB"), conditions("GRU", modifiers=["NPUNCU", "NPU", "NCU"]))
    assert decision.outcome is APPROVE


def test_match_commercial_purpose_approved_without_restriction() -> None:
    decision = match(
        purpose("HMB", commercial=True, for_profit_organisation=True), conditions("GRU")
    )
    assert decision.outcome is APPROVE


# --- GS ------------------------------------------------------------------------------------


def _gs(countries: Iterable[str] = ("GB", "DE")) -> DataUseConditions:
    return conditions("GRU", modifiers=["GS"], countries=frozenset(countries))


def test_match_geography_country_listed_approved() -> None:
    decision = match(purpose("HMB", country="de"), _gs())
    assert decision.outcome is APPROVE
    assert "Use in DE is permitted" in messages(decision, Effect.ALLOW)[-1]


def test_match_geography_country_not_listed_denied() -> None:
    decision = match(purpose("HMB", country="US"), _gs())
    assert decision.outcome is DENY
    assert messages(decision, Effect.DENY) == [
        "Use in US is not permitted: the data carry GS (geographical restriction) and may be "
        "used only in DE and GB."
    ]


def test_match_geography_missing_country_needs_review() -> None:
    decision = match(purpose("HMB"), _gs())
    assert decision.outcome is REVIEW
    reason = decision.reasons[0]
    assert (reason.rule, reason.subject) == (Rule.GEOGRAPHY, "country")
    assert "does not say in which country" in reason.message


# --- TS ------------------------------------------------------------------------------------


def _ts(limit: date = date(2026, 12, 31)) -> DataUseConditions:
    return conditions("GRU", modifiers=["TS"], time_limit=limit)


def test_match_time_limit_end_within_limit_approved() -> None:
    p = purpose("HMB", access_start=date(2026, 1, 1), access_end=date(2026, 12, 31))
    assert match(p, _ts()).outcome is APPROVE


def test_match_time_limit_end_after_limit_denied() -> None:
    decision = match(purpose("HMB", access_end=date(2027, 1, 1)), _ts())
    assert decision.outcome is DENY
    assert messages(decision, Effect.DENY) == [
        "Use until 2027-01-01 is not permitted: the data carry TS (time limit on use) and may "
        "be used only until 2026-12-31."
    ]


def test_match_time_limit_start_after_limit_denied_without_end() -> None:
    decision = match(purpose("HMB", access_start=date(2027, 2, 1)), _ts())
    assert decision.outcome is DENY
    assert messages(decision, Effect.DENY)[0].startswith("Use from 2027-02-01 is not permitted")


def test_match_time_limit_without_end_date_needs_review() -> None:
    decision = match(purpose("HMB", access_start=date(2026, 1, 1)), _ts())
    assert decision.outcome is REVIEW
    assert "gives no end date" in messages(decision, Effect.REVIEW)[0]


# --- US / PS / IS ---------------------------------------------------------------------------


IDENTITY_CASES = pytest.mark.parametrize(
    ("modifier", "field", "allowed_field", "noun"),
    [
        ("US", "user_id", "users", "user"),
        ("PS", "project_id", "projects", "project"),
        ("IS", "institution_id", "institutions", "institution"),
    ],
)


@IDENTITY_CASES
def test_match_identity_restriction_listed_identity_approved(
    modifier: str, field: str, allowed_field: str, noun: str
) -> None:
    c = conditions("GRU", modifiers=[modifier], **{allowed_field: frozenset({"a1", "b2"})})
    decision = match(purpose("HMB", **{field: "a1"}), c)
    assert decision.outcome is APPROVE
    assert f"The {noun} a1 is approved under {modifier}" in messages(decision)[-1]


@IDENTITY_CASES
def test_match_identity_restriction_unlisted_identity_denied(
    modifier: str, field: str, allowed_field: str, noun: str
) -> None:
    c = conditions("GRU", modifiers=[modifier], **{allowed_field: frozenset({"a1"})})
    decision = match(purpose("HMB", **{field: "zz"}), c)
    assert decision.outcome is DENY
    assert messages(decision, Effect.DENY)[0].startswith(f"The {noun} zz is not approved")


@IDENTITY_CASES
def test_match_identity_restriction_missing_identity_needs_review(
    modifier: str, field: str, allowed_field: str, noun: str
) -> None:
    c = conditions("GRU", modifiers=[modifier], **{allowed_field: frozenset({"a1"})})
    decision = match(purpose("HMB"), c)
    assert decision.outcome is REVIEW
    assert messages(decision, Effect.REVIEW)[0].endswith(
        f"but the request does not name the {noun}."
    )
    assert decision.reasons[0].subject == field


@IDENTITY_CASES
def test_match_identity_restriction_without_preapproved_list_needs_review(
    modifier: str, field: str, allowed_field: str, noun: str
) -> None:
    decision = match(purpose("HMB", **{field: "a1"}), conditions("GRU", modifiers=[modifier]))
    assert decision.outcome is REVIEW
    assert f"must approve the {noun}" in messages(decision, Effect.REVIEW)[0]


# --- obligations and RS ---------------------------------------------------------------------


def test_match_moratorium_becomes_obligation_with_date() -> None:
    c = conditions("GRU", modifiers=["MOR"], moratorium_until=date(2026, 6, 30))
    decision = match(purpose("HMB"), c)
    assert decision.outcome is APPROVE
    (obligation,) = decision.obligations
    assert (obligation.term, obligation.term_id, obligation.until) == (
        "MOR",
        "DUO:0000024",
        date(2026, 6, 30),
    )
    assert obligation.message == "Do not publish results from the data before 2026-06-30."


@pytest.mark.parametrize("modifier", ["IRB", "COL", "PUB", "RTN", "GSO", "CC"])
def test_match_obligation_modifier_never_denies(modifier: str) -> None:
    decision = match(purpose("HMB"), conditions("GRU", modifiers=[modifier]))
    assert decision.outcome is APPROVE
    assert [o.term for o in decision.obligations] == [modifier]
    assert decision.obligations[0].message


def test_match_obligations_kept_in_stable_order() -> None:
    c = conditions("GRU", modifiers=["CC", "PUB", "IRB"])
    assert [o.term for o in match(purpose("HMB"), c).obligations] == ["IRB", "PUB", "CC"]


def test_match_research_specific_restrictions_need_review() -> None:
    decision = match(purpose("HMB"), conditions("GRU", modifiers=["RS"]))
    assert decision.outcome is REVIEW
    assert messages(decision, Effect.REVIEW) == [
        "The data carry RS (research specific restrictions): the data access committee must "
        "check the research against them."
    ]


# --- sensitive areas ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flag",
    [
        "controls",
        "population_wide_variation",
        "pediatric",
        "vulnerable_groups",
        "stigmatising_conditions",
        "non_health_aim",
    ],
)
def test_match_sensitive_area_needs_review_even_without_restrictions(flag: str) -> None:
    flags: dict[str, Any] = {flag: True}
    decision = match(purpose("HMB", **flags), conditions("NRES"))
    assert decision.outcome is REVIEW
    (reason,) = decision.reasons_with(Effect.REVIEW)
    assert (reason.rule, reason.subject) == (Rule.SENSITIVE, flag)
    assert reason.message.endswith("a sensitive area that the data access committee must review.")


def test_match_sensitive_area_does_not_soften_a_deny() -> None:
    decision = match(purpose("GRU", pediatric=True), conditions("HMB"))
    assert decision.outcome is DENY
    assert [r.effect for r in decision.reasons] == [Effect.DENY, Effect.REVIEW]


# --- combination and serialisation ----------------------------------------------------------


def test_match_reasons_list_deny_then_review_then_allow() -> None:
    p = purpose("HMB", commercial=True, pediatric=True, country="GB")
    c = conditions("GRU", modifiers=["NCU", "RS", "GS"], countries=frozenset({"GB"}))
    decision = match(p, c)
    assert decision.outcome is DENY
    assert [r.effect for r in decision.reasons] == [
        Effect.DENY,
        Effect.REVIEW,
        Effect.REVIEW,
        Effect.ALLOW,
        Effect.ALLOW,
    ]


def test_decision_to_dict_is_json_serialisable() -> None:
    c = conditions(
        "DS",
        [LUNG_CANCER],
        modifiers=["MOR", "GS", "IRB"],
        moratorium_until=date(2026, 1, 31),
        countries=frozenset({"GB"}),
    )
    data = json.loads(json.dumps(match(purpose("DS", [LUNG_ADENOCARCINOMA]), c).to_dict()))
    assert data["outcome"] == "needs_review"
    assert data["reasons"][0] == {
        "rule": "geography",
        "effect": "review",
        "term": "GS",
        "term_id": "DUO:0000022",
        "subject": "country",
        "message": "The data carry GS (geographical restriction) to GB, but the request does "
        "not say in which country the data will be used.",
    }
    assert {o["term"]: o["until"] for o in data["obligations"]} == {
        "IRB": None,
        "MOR": "2026-01-31",
    }


# --- conditions validation ------------------------------------------------------------------


def test_conditions_accept_ids_and_store_shorthands() -> None:
    c = DataUseConditions("DUO:0000042", modifiers=frozenset({"DUO:0000046", "irb"}))
    assert c.permission == "GRU"
    assert c.modifiers == {"NCU", "IRB"}
    assert c.codes == ("GRU", "NCU", "IRB")


def test_conditions_ds_without_disease_rejected() -> None:
    with pytest.raises(InvalidConditionsError, match="DS .* needs at least one disease"):
        conditions("DS")


def test_conditions_diseases_without_ds_rejected() -> None:
    with pytest.raises(InvalidConditionsError, match="Diseases apply only to DS"):
        conditions("HMB", [CANCER])


def test_conditions_gs_without_country_rejected() -> None:
    with pytest.raises(InvalidConditionsError, match="GS .* needs at least one country"):
        conditions("GRU", modifiers=["GS"])


def test_conditions_bad_country_code_rejected() -> None:
    with pytest.raises(InvalidConditionsError, match="ISO 3166-1 alpha-2"):
        conditions("GRU", modifiers=["GS"], countries=frozenset({"GBR"}))


def test_conditions_ts_without_date_rejected() -> None:
    with pytest.raises(InvalidConditionsError, match="TS .* needs an end date"):
        conditions("GRU", modifiers=["TS"])


def test_conditions_mor_without_date_rejected() -> None:
    with pytest.raises(InvalidConditionsError, match="MOR .* needs a date"):
        conditions("GRU", modifiers=["MOR"])


def test_conditions_parameter_without_its_modifier_rejected() -> None:
    with pytest.raises(InvalidConditionsError, match="users was given .* do not carry US"):
        conditions("GRU", users=frozenset({"a1"}))


def test_conditions_unknown_term_rejected_naming_it() -> None:
    with pytest.raises(InvalidConditionsError, match="Unknown DUO term 'XYZ'"):
        conditions("GRU", modifiers=["XYZ"])


def test_conditions_permission_given_as_modifier_rejected() -> None:
    with pytest.raises(InvalidConditionsError, match="HMB .* is a DUO permission, not a modifier"):
        conditions("GRU", modifiers=["HMB"])


def test_conditions_modifier_given_as_permission_rejected() -> None:
    with pytest.raises(InvalidConditionsError, match="NCU .* is a DUO modifier, not a permission"):
        conditions("NCU")


def test_conditions_obsolete_term_rejected_with_replacement() -> None:
    with pytest.raises(InvalidConditionsError, match=r"GRU-CC\) is obsolete; use GRU with CC"):
        conditions("GRU-CC")


def test_conditions_single_string_instead_of_collection_rejected() -> None:
    with pytest.raises(InvalidConditionsError, match="collection of strings"):
        DataUseConditions("GRU", modifiers="NCU")  # type: ignore[arg-type]


def test_conditions_datetime_instead_of_date_rejected() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidConditionsError, match="must be a datetime.date"):
        conditions("GRU", modifiers=["TS"], time_limit=moment)


# --- purpose validation ---------------------------------------------------------------------


def test_purpose_ds_without_disease_rejected() -> None:
    with pytest.raises(InvalidPurposeError, match="needs at least one disease"):
        purpose("DS")


def test_purpose_diseases_without_ds_rejected() -> None:
    with pytest.raises(InvalidPurposeError, match="Diseases apply only to disease specific"):
        purpose("HMB", [CANCER])


def test_purpose_accepts_duo_id_or_shorthand_for_primary_use() -> None:
    assert ResearchPurpose("DUO:0000006").primary is PrimaryUse.HMB  # type: ignore[arg-type]
    assert ResearchPurpose("poa").primary is PrimaryUse.POA  # type: ignore[arg-type]


def test_purpose_nres_is_not_a_research_purpose() -> None:
    with pytest.raises(InvalidPurposeError, match="'NRES' is not a research purpose"):
        ResearchPurpose("NRES")  # type: ignore[arg-type]


def test_purpose_country_normalised_and_checked() -> None:
    assert purpose("HMB", country=" gb ").country == "GB"
    with pytest.raises(InvalidPurposeError, match="not an ISO 3166-1 alpha-2"):
        purpose("HMB", country="Britain")


def test_purpose_access_start_after_end_rejected() -> None:
    with pytest.raises(InvalidPurposeError, match="is after access_end"):
        purpose("HMB", access_start=date(2026, 2, 1), access_end=date(2026, 1, 1))


def test_purpose_blank_identifier_treated_as_missing() -> None:
    assert purpose("HMB", user_id="  ").user_id is None


# --- cohort filter --------------------------------------------------------------------------


def test_cohort_filter_for_gru_purpose_lists_gru_and_nres_only() -> None:
    f = cohort_filter(purpose("GRU"))
    assert f.accepted_permissions == {"NRES", "GRU"}
    assert f.accepted_ds_diseases == frozenset()
    assert f.review_modifiers >= {"RS"}


def test_cohort_filter_ds_diseases_are_ancestors_or_self_of_each_purpose_disease() -> None:
    f = cohort_filter(purpose("DS", [LUNG_ADENOCARCINOMA, TYPE_2_DIABETES]))
    lung, diabetes = (set(r) for r in f.ds_disease_requirements)
    assert {LUNG_ADENOCARCINOMA, LUNG_CANCER, CANCER} <= lung
    assert {TYPE_2_DIABETES, DIABETES} <= diabetes
    assert BREAST_CANCER not in f.accepted_ds_diseases
    assert f.accepted_ds_diseases == lung | diabetes


def test_cohort_filter_needs_every_purpose_disease_covered() -> None:
    f = cohort_filter(purpose("DS", [LUNG_ADENOCARCINOMA, TYPE_2_DIABETES]))
    assert not f.accepts(conditions("DS", [LUNG_CANCER]))
    assert f.accepts(conditions("DS", [LUNG_CANCER, DIABETES]))


def test_cohort_filter_commercial_purpose_denied_by_non_commercial_modifiers() -> None:
    f = cohort_filter(purpose("HMB", commercial=True))
    assert f.denying_modifiers == {"NPUNCU", "NPU", "NCU"}
    assert not f.accepts(conditions("GRU", modifiers=["NCU"]))
    assert f.accepts(conditions("GRU", modifiers=["IRB"]))


def test_cohort_filter_ds_methods_exempt_from_nmds_only_on_ds_consent() -> None:
    f = cohort_filter(purpose("DS", [LUNG_CANCER], methods_development=True))
    assert f.ds_exempt_modifiers == {"NMDS"}
    assert f.accepts(conditions("DS", [CANCER], modifiers=["NMDS"]))
    assert not f.accepts(conditions("GRU", modifiers=["NMDS"]))


def test_cohort_filter_sensitive_purpose_accepts_nobody() -> None:
    f = cohort_filter(purpose("HMB", pediatric=True))
    assert f.purpose_needs_review
    assert not f.accepts(conditions("NRES"))


def test_cohort_filter_missing_context_makes_its_modifier_a_review_modifier() -> None:
    f = cohort_filter(purpose("HMB", country="GB"))
    assert "GS" in f.context_modifiers
    assert {"TS", "US", "PS", "IS"} <= f.review_modifiers
    assert f.accepts(conditions("GRU", modifiers=["GS"], countries=frozenset({"GB"})))
    assert not f.accepts(conditions("GRU", modifiers=["GS"], countries=frozenset({"FR"})))


def test_cohort_filter_to_dict_is_json_serialisable() -> None:
    f = cohort_filter(purpose("DS", [LUNG_CANCER], access_end=date(2026, 1, 1)))
    data = json.loads(json.dumps(f.to_dict()))
    assert data["accepted_permissions"] == ["DS", "GRU", "HMB", "NRES"]
    assert data["context"]["access_end"] == "2026-01-01"
