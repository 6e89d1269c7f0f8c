from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources

import pytest

from consent.duo import (
    DiseaseOntology,
    DiseaseOntologyError,
    DiseaseTerm,
    DuoDataError,
    JsonDiseaseOntology,
    TermKind,
    TermParameter,
    UnknownDiseaseError,
    UnknownTermError,
    all_terms,
    ancestors,
    get_ontology,
    modifiers,
    permissions,
    release,
    set_ontology,
    shipped_ontology,
    term,
    use_ontology,
)
from consent.duo.terms import build_release

LUNG_ADENOCARCINOMA = "MONDO:0005061"
NSCLC = "MONDO:0005233"
LUNG_CANCER = "MONDO:0008903"
CANCER = "MONDO:0004992"
DISEASE = "MONDO:0000001"
BREAST_CANCER = "MONDO:0007254"

PRODUCT_PERMISSIONS = {
    "DUO:0000004": "NRES",
    "DUO:0000042": "GRU",
    "DUO:0000006": "HMB",
    "DUO:0000007": "DS",
    "DUO:0000011": "POA",
}
PRODUCT_MODIFIERS = {
    "DUO:0000012": "RS",
    "DUO:0000015": "NMDS",
    "DUO:0000016": "GSO",
    "DUO:0000018": "NPUNCU",
    "DUO:0000045": "NPU",
    "DUO:0000046": "NCU",
    "DUO:0000019": "PUB",
    "DUO:0000020": "COL",
    "DUO:0000021": "IRB",
    "DUO:0000022": "GS",
    "DUO:0000024": "MOR",
    "DUO:0000025": "TS",
    "DUO:0000026": "US",
    "DUO:0000027": "PS",
    "DUO:0000028": "IS",
    "DUO:0000029": "RTN",
    "DUO:0000043": "CC",
    "DUO:0000044": "NPOA",
}


def _raw_document(name: str) -> dict:
    text = resources.files("consent.duo").joinpath("data", name).read_text(encoding="utf-8")
    return json.loads(text)


def _find_cycle(parents: Mapping[str, Sequence[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for parent in parents[node]:
            cycle = visit(parent)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for node in parents:
        cycle = visit(node)
        if cycle:
            return cycle
    return None


@pytest.fixture
def restore_ontology() -> Iterator[None]:
    yield
    set_ontology(None)


def test_term_lookup_by_shorthand_and_id_returns_same_term() -> None:
    assert term("GRU") is term("DUO:0000042")
    assert term("GRU").label == "general research use"


def test_term_lookup_ignores_case_and_whitespace() -> None:
    assert term(" gru ").id == "DUO:0000042"
    assert term("duo:0000046").shorthand == "NCU"


def test_term_lookup_unknown_raises_error_naming_the_term() -> None:
    with pytest.raises(UnknownTermError, match="'XYZ'") as excinfo:
        term("XYZ")
    assert isinstance(excinfo.value, ValueError)
    assert excinfo.value.ref == "XYZ"


def test_release_is_duo_2021_02_23() -> None:
    assert release().release == "2021-02-23"


def test_terms_include_every_permission_in_product_brief() -> None:
    found = {t.id: t.shorthand for t in permissions()}
    assert found == PRODUCT_PERMISSIONS
    assert all(t.kind is TermKind.PERMISSION for t in permissions())


def test_terms_include_every_modifier_in_product_brief() -> None:
    found = {t.id: t.shorthand for t in modifiers()}
    assert found == PRODUCT_MODIFIERS
    assert all(t.kind is TermKind.MODIFIER for t in modifiers())


def test_terms_obsolete_ones_are_flagged_and_left_out_of_current_lists() -> None:
    obsolete = {t.id for t in all_terms(include_obsolete=True) if t.obsolete}
    assert obsolete == {"DUO:0000005", "DUO:0000014"}
    assert not obsolete & {t.id for t in all_terms()}
    assert term("DUO:0000005").consider == ("DUO:0000042", "DUO:0000043")


@pytest.mark.parametrize(
    ("child", "parent"),
    [("HMB", "GRU"), ("DS", "HMB"), ("NPU", "NPUNCU"), ("NCU", "NPUNCU")],
)
def test_term_parents_follow_duo_hierarchy(child: str, parent: str) -> None:
    assert term(child).parents == (term(parent).id,)


def test_term_poa_is_not_under_gru() -> None:
    assert term("GRU").id not in ancestors("POA")
    assert ancestors("POA") == frozenset()


def test_term_ancestors_of_ds_include_hmb_and_gru_and_optionally_self() -> None:
    assert ancestors("DS") == {term("HMB").id, term("GRU").id}
    assert ancestors("DS", include_self=True) == {term("DS").id, term("HMB").id, term("GRU").id}


@pytest.mark.parametrize(
    ("shorthand", "parameter"),
    [
        ("DS", TermParameter.DISEASES),
        ("GS", TermParameter.COUNTRIES),
        ("TS", TermParameter.END_DATE),
        ("MOR", TermParameter.MORATORIUM_DATE),
        ("US", TermParameter.USERS),
        ("PS", TermParameter.PROJECTS),
        ("IS", TermParameter.INSTITUTIONS),
        ("GRU", None),
        ("IRB", None),
    ],
)
def test_term_parameter_matches_what_the_term_is_coupled_with(
    shorthand: str, parameter: TermParameter | None
) -> None:
    assert term(shorthand).parameter is parameter


def test_term_to_dict_is_json_serialisable() -> None:
    data = json.loads(json.dumps(term("DS").to_dict()))
    assert data["shorthand"] == "DS"
    assert data["parameter"] == "diseases"
    assert data["parents"] == ["DUO:0000006"]


def test_duo_data_ids_and_shorthands_are_unique_and_well_formed() -> None:
    raw = _raw_document("duo_terms.json")["terms"]
    ids = [t["id"] for t in raw]
    shorthands = [t["shorthand"] for t in raw]
    assert len(ids) == len(set(ids))
    assert len(shorthands) == len(set(shorthands))
    assert all(re.fullmatch(r"DUO:\d{7}", i) for i in ids)
    assert all(t["label"] and t["description"] for t in raw)


def test_duo_data_parents_exist_share_kind_and_have_no_cycle() -> None:
    raw = {t["id"]: t for t in _raw_document("duo_terms.json")["terms"]}
    for t in raw.values():
        for parent in t["parents"]:
            assert parent in raw, f"{t['id']} has unknown parent {parent}"
            assert raw[parent]["kind"] == t["kind"]
    assert _find_cycle({i: t["parents"] for i, t in raw.items()}) is None


def test_build_release_rejects_duplicate_shorthand() -> None:
    doc = _raw_document("duo_terms.json")
    doc["terms"].append({**doc["terms"][0], "id": "DUO:9999999"})
    with pytest.raises(DuoDataError, match="Duplicate DUO shorthand NRES"):
        build_release(doc)


def test_build_release_rejects_parent_cycle() -> None:
    doc = _raw_document("duo_terms.json")
    gru = next(t for t in doc["terms"] if t["shorthand"] == "GRU")
    gru["parents"] = ["DUO:0000007"]
    with pytest.raises(DuoDataError, match="Cycle"):
        build_release(doc)


def test_build_release_rejects_undefined_parent() -> None:
    doc = _raw_document("duo_terms.json")
    doc["terms"][0]["parents"] = ["DUO:0000999"]
    with pytest.raises(DuoDataError, match="undefined term DUO:0000999"):
        build_release(doc)


def test_disease_data_is_a_curated_mondo_subset_of_sensible_size() -> None:
    raw = _raw_document("diseases.json")["terms"]
    ids = [t["id"] for t in raw]
    assert 40 <= len(ids) <= 80
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"MONDO:\d{7}", i) for i in ids)
    assert all(t["label"].strip() for t in raw)


def test_disease_data_parents_exist_and_have_no_cycle() -> None:
    raw = {t["id"]: t["parents"] for t in _raw_document("diseases.json")["terms"]}
    for disease_id, parents in raw.items():
        assert set(parents) <= raw.keys(), f"{disease_id} has unknown parents"
        assert disease_id not in parents
    assert _find_cycle(raw) is None


def test_disease_data_has_single_root_disease() -> None:
    roots = [t.id for t in shipped_ontology() if not t.parents]
    assert roots == [DISEASE]


def test_disease_lung_adenocarcinoma_chain_reaches_cancer_and_disease() -> None:
    onto = shipped_ontology()
    assert onto.label(LUNG_ADENOCARCINOMA) == "lung adenocarcinoma"
    assert onto.parents(LUNG_ADENOCARCINOMA) == {NSCLC}
    assert {NSCLC, LUNG_CANCER, CANCER, DISEASE} <= onto.ancestors(LUNG_ADENOCARCINOMA)


def test_disease_ancestors_exclude_self_unless_asked() -> None:
    onto = shipped_ontology()
    assert LUNG_CANCER not in onto.ancestors(LUNG_CANCER)
    assert LUNG_CANCER in onto.ancestors(LUNG_CANCER, include_self=True)


def test_disease_is_a_is_reflexive_and_points_upwards_only() -> None:
    onto = shipped_ontology()
    assert onto.is_a(LUNG_CANCER, LUNG_CANCER)
    assert onto.is_a(LUNG_ADENOCARCINOMA, CANCER)
    assert not onto.is_a(CANCER, LUNG_CANCER)
    assert not onto.is_a(LUNG_CANCER, BREAST_CANCER)


def test_disease_with_two_parents_inherits_both_branches() -> None:
    onto = shipped_ontology()
    cystic_fibrosis = "MONDO:0009061"
    assert onto.is_a(cystic_fibrosis, "MONDO:0005087")  # respiratory system disorder
    assert onto.is_a(cystic_fibrosis, "MONDO:0003847")  # hereditary disease


def test_disease_descendants_of_lung_cancer_are_its_subtypes() -> None:
    onto = shipped_ontology()
    assert onto.descendants(LUNG_CANCER) == {
        NSCLC,
        LUNG_ADENOCARCINOMA,
        "MONDO:0005097",
        "MONDO:0008433",
    }


@pytest.mark.parametrize("method", ["label", "parents", "ancestors"])
def test_disease_unknown_id_raises_error_naming_it(method: str) -> None:
    with pytest.raises(UnknownDiseaseError, match="MONDO:9999999") as excinfo:
        getattr(shipped_ontology(), method)("MONDO:9999999")
    assert isinstance(excinfo.value, ValueError)


def test_disease_is_a_with_unknown_ancestor_raises() -> None:
    with pytest.raises(UnknownDiseaseError, match="MONDO:9999999"):
        shipped_ontology().is_a(LUNG_CANCER, "MONDO:9999999")


def test_disease_contains_known_ids_only() -> None:
    onto = shipped_ontology()
    assert CANCER in onto
    assert "MONDO:9999999" not in onto
    assert 42 not in onto


def test_disease_search_finds_by_label_broadest_first() -> None:
    found = [t.id for t in shipped_ontology().search("lung")]
    assert found[0] == LUNG_CANCER
    assert LUNG_ADENOCARCINOMA in found


def test_disease_search_finds_by_synonym_and_by_id() -> None:
    onto = shipped_ontology()
    assert onto.search("NSCLC")[0].id == NSCLC
    assert onto.search("heart attack")[0].label == "myocardial infarction"
    assert onto.search(CANCER.lower())[0].id == CANCER


def test_disease_search_blank_text_or_no_match_returns_nothing() -> None:
    onto = shipped_ontology()
    assert onto.search("   ") == ()
    assert onto.search("zzzz-not-a-disease") == ()


def test_disease_search_respects_limit() -> None:
    assert len(shipped_ontology().search("disease", limit=3)) == 3


def test_disease_json_ontology_satisfies_protocol() -> None:
    assert isinstance(shipped_ontology(), DiseaseOntology)


def test_disease_json_ontology_rejects_missing_parent() -> None:
    with pytest.raises(DiseaseOntologyError, match="undefined parent X:2"):
        JsonDiseaseOntology([DiseaseTerm("X:1", "one", parents=("X:2",))])


def test_disease_json_ontology_rejects_cycle() -> None:
    terms = [DiseaseTerm("X:1", "one", parents=("X:2",)), DiseaseTerm("X:2", "two", ("X:1",))]
    with pytest.raises(DiseaseOntologyError, match="Cycle"):
        JsonDiseaseOntology(terms)


def test_disease_json_ontology_rejects_duplicate_id() -> None:
    with pytest.raises(DiseaseOntologyError, match="Duplicate disease id X:1"):
        JsonDiseaseOntology([DiseaseTerm("X:1", "one"), DiseaseTerm("X:1", "again")])


def test_disease_json_ontology_loads_from_path(tmp_path) -> None:
    path = tmp_path / "mini.json"
    doc = {"ontology": "mini", "terms": [{"id": "X:1", "label": "root", "parents": []}]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    onto = JsonDiseaseOntology.from_path(path)
    assert onto.label("X:1") == "root"
    assert len(onto) == 1


def test_get_ontology_defaults_to_shipped_subset() -> None:
    assert get_ontology() is shipped_ontology()


@pytest.mark.usefixtures("restore_ontology")
def test_set_ontology_installs_and_none_restores_shipped() -> None:
    mini = JsonDiseaseOntology([DiseaseTerm("X:1", "root")])
    set_ontology(mini)
    assert get_ontology() is mini
    set_ontology(None)
    assert get_ontology() is shipped_ontology()


@pytest.mark.usefixtures("restore_ontology")
def test_set_ontology_rejects_object_without_protocol() -> None:
    with pytest.raises(TypeError, match="does not implement DiseaseOntology"):
        set_ontology(object())  # type: ignore[arg-type]


def test_use_ontology_restores_previous_on_exit() -> None:
    mini = JsonDiseaseOntology([DiseaseTerm("X:1", "root")])
    with use_ontology(mini):
        assert get_ontology() is mini
    assert get_ontology() is shipped_ontology()
