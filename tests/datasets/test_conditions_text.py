from __future__ import annotations

import datetime as dt

from consent.duo import DataUseConditions
from datasets.conditions import conditions_obligations, conditions_text, split_list


def test_each_term_in_words_with_its_parameters() -> None:
    conditions = DataUseConditions(
        permission="DS",
        diseases=frozenset({"MONDO:0004992", "MONDO:0005015"}),
        modifiers=frozenset({"GS", "TS", "MOR", "US", "PS"}),
        countries=frozenset({"GB", "FR"}),
        time_limit=dt.date(2030, 12, 31),
        moratorium_until=dt.date(2027, 6, 1),
        projects=frozenset({"P-1"}),
    )

    lines = conditions_text(conditions)

    assert [(t.code, t.id, t.title) for t in lines] == [
        ("DS", "DUO:0000007", "Disease specific research"),
        ("GS", "DUO:0000022", "Geographical restriction"),
        ("MOR", "DUO:0000024", "Publication moratorium"),
        ("TS", "DUO:0000025", "Time limit on use"),
        ("US", "DUO:0000026", "User specific restriction"),
        ("PS", "DUO:0000027", "Project specific restriction"),
    ]
    details = {t.code: t.detail for t in lines}
    assert details == {
        "DS": "Diseases: cancer (MONDO:0004992), diabetes mellitus (MONDO:0005015) and their "
        "subtypes.",
        "GS": "Countries: FR and GB.",
        "MOR": "Results may be published from 1 June 2027.",
        "TS": "Use ends on 31 December 2030.",
        "US": "The data access committee approves each one.",
        "PS": "Approved in advance: P-1.",
    }
    assert lines[0].description.startswith("The data can be used only for research on the named")


def test_obligations_are_the_matchers() -> None:
    conditions = DataUseConditions(
        permission="GRU",
        modifiers=frozenset({"IRB", "PUB", "NCU", "MOR"}),
        moratorium_until=dt.date(2027, 6, 1),
    )

    obligations = conditions_obligations(conditions)

    assert [(o.term, o.message) for o in obligations] == [
        ("IRB", "Provide documentation that an ethics committee (IRB/ERB) approved the project."),
        ("PUB", "Make the results of the research public."),
        ("MOR", "Do not publish results from the data before 2027-06-01."),
    ]


def test_split_list() -> None:
    assert split_list(" GB, fr ,\nDE,, ") == ["GB", "fr", "DE"]
