"""The plain-text form of sections, comprehension questions and choices."""

from __future__ import annotations

from consent.models import ConsentVersion
from consent.version_text import (
    format_choices,
    format_questions,
    format_sections,
    parse_choices,
    parse_questions,
    parse_sections,
)
from tests.consent.conftest import CHOICES, QUESTIONS

CHOICE_TEXT = """key: health
question: May your data be used for health research?
explanation: For example cancer.
meaning: health_research
answers: yes, no, ask
recommended: yes

key: recontact
question: May we contact you again?
meaning: recontact
answers: yes,no
"""


def test_sections_parse_headings_and_markdown_bodies() -> None:
    parsed = parse_sections(
        "## Why\nWe study *DNA*.\n\nMore text.\n## Rights\r\nYou may withdraw.\n"
    )

    assert parsed.problems == []
    assert parsed.items == [
        {"heading": "Why", "body": "We study *DNA*.\n\nMore text."},
        {"heading": "Rights", "body": "You may withdraw."},
    ]


def test_sections_report_text_before_a_heading_and_empty_parts() -> None:
    parsed = parse_sections("Intro\nmore\n##\nBody\n## Empty\n\n## Last\nText")

    assert parsed.problems == [
        "Line 1: text before the first section; start each section with “## Heading”.",
        "Line 3: a section heading is empty.",
        "Line 5: the section “Empty” has no text.",
    ]


def test_questions_parse_answers_and_the_right_one() -> None:
    parsed = parse_questions(
        "? Can you withdraw?\n- No\n* Yes, at any time\n> You can withdraw\n> without a reason.\n"
    )

    assert parsed.problems == []
    assert parsed.items == [
        {
            "text": "Can you withdraw?",
            "options": ["No", "Yes, at any time"],
            "correct_option": 1,
            "explanation": "You can withdraw without a reason.",
        }
    ]


def test_questions_report_each_mistake_with_its_line() -> None:
    parsed = parse_questions(
        "- stray\n? One?\n- a\n- b\n> why\n\n"
        "? Two?\n* a\n* b\n> why\n? Three?\n* only\nplain text\n"
    )

    assert parsed.problems == [
        "Line 1: an answer or explanation before the first question (“?”).",
        "Line 2: the question has no right answer: mark it with “*”.",
        "Line 7: the question has more than one answer marked “*”.",
        "Line 11: the question needs at least two answers (“*” and “-” lines).",
        "Line 11: the question has no explanation (a line starting with “>”).",
        "Line 13: start each line with “?” (a question), “*” (the right answer), “-” (another "
        "answer) or “>” (the explanation).",
    ]


def test_choices_parse_blocks() -> None:
    parsed = parse_choices(CHOICE_TEXT)

    assert parsed.problems == []
    assert parsed.items == [
        {
            "key": "health",
            "question": "May your data be used for health research?",
            "explanation": "For example cancer.",
            "meaning": "health_research",
            "allowed_answers": ["yes", "no", "ask"],
            "recommended_answer": "yes",
        },
        {
            "key": "recontact",
            "question": "May we contact you again?",
            "explanation": "",
            "meaning": "recontact",
            "allowed_answers": ["yes", "no"],
            "recommended_answer": "",
        },
    ]


def test_choices_report_each_mistake_with_its_line() -> None:
    text = (
        "key: Health Data\nquestion: Q1?\nmeaning: health\nanswers: yes, maybe\n\n"
        "key: b\nquestion: Q2?\nquestion: again\ncolour: red\nmeaning: recontact\n"
        "answers: yes, no\nrecommended: ask\n\n"
        "key: b\nmeaning: recontact\nanswers: yes, yes\nnot a field line\n"
    )

    assert parse_choices(text).problems == [
        "Line 1: the key “Health Data” may only have lower-case letters, digits, “-” and “_” "
        "(at most 50).",
        "Line 3: the meaning “health” is not one of: general_research, health_research, "
        "ancestry_research, commercial_use, international_use, recontact, return_of_results, "
        "additional_findings, sample_storage.",
        "Line 4: answers may only be yes, no and ask (not maybe).",
        "Line 8: “question” is given twice in one choice; leave a blank line between choices.",
        "Line 9: unknown field “colour”; use key, question, explanation, meaning, answers, "
        "recommended.",
        "Line 12: the recommended answer “ask” is not one of the answers.",
        "Line 14: the choice has no question.",
        "Line 14: the key “b” is also used on line 6.",
        "Line 16: an answer is listed twice.",
        "Line 17: write each line as “name: value” (for example “key: health”).",
    ]


def test_choices_are_required() -> None:
    assert parse_choices("\n \n").problems == ["Add at least one choice."]


def test_formatting_a_version_parses_back_to_the_same_content(version: ConsentVersion) -> None:
    sections = parse_sections(format_sections(version.sections.all()))
    questions = parse_questions(format_questions(version.questions.all()))
    choices = parse_choices(format_choices(version.choices.all()))

    assert sections.items == [
        {"heading": "Why we ask", "body": "We study DNA to understand disease."}
    ]
    assert questions.items == QUESTIONS
    assert [{k: v for k, v in c.items() if v not in ("", None)} for c in choices.items] == CHOICES
