"""The plain-text form in which stewards write a version's sections, questions and choices.

Sections:                     Questions:                      Choices (blank line between):
    ## Heading                    ? Question text                 key: health_research
    Markdown text...              * the right answer              question: May we ...?
                                  - another answer                explanation: For example ...
    ## Next heading               > why (shown if wrong)          meaning: health_research
    ...                                                           answers: yes, no, ask
                                                                  recommended: yes

Each parser returns what the consent services take, or every problem with its line number;
each formatter writes a version back in the same form (to start the next version from it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from consent.models import Answer, ChoiceMeaning

CHOICE_FIELDS = ("key", "question", "explanation", "meaning", "answers", "recommended")
_KEY = re.compile(r"[a-z0-9][a-z0-9_-]*")
_FIELD = re.compile(r"([A-Za-z_]+)\s*:(.*)")


@dataclass
class Parsed:
    items: list[dict[str, Any]] = field(default_factory=list)
    found: list[tuple[int, str]] = field(default_factory=list)

    def problem(self, line: int, message: str) -> None:
        """A problem on a line (0: about the whole text)."""
        self.found.append((line, message))

    @property
    def problems(self) -> list[str]:
        # In line order; a stable sort keeps one line's problems in the order found.
        ordered = sorted(self.found, key=lambda problem: problem[0])
        return [f"Line {line}: {message}" if line else message for line, message in ordered]


def _lines(text: str) -> Iterable[tuple[int, str]]:
    return enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1)


def parse_sections(text: str) -> Parsed:
    parsed = Parsed()
    starts: list[int] = []
    stray = False
    for number, line in _lines(text):
        if line.startswith("## ") or line.strip() == "##":
            heading = line.strip()[2:].strip()
            if not heading:
                parsed.problem(number, "a section heading is empty.")
            elif len(heading) > 200:
                parsed.problem(number, "a section heading is longer than 200 characters.")
            parsed.items.append({"heading": heading, "body": ""})
            starts.append(number)
        elif not parsed.items:
            if line.strip() and not stray:
                stray = True
                parsed.problem(
                    number, "text before the first section; start each section with “## Heading”."
                )
        else:
            parsed.items[-1]["body"] += line + "\n"
    for start, section in zip(starts, parsed.items, strict=True):
        section["body"] = section["body"].strip()
        if not section["body"] and section["heading"]:
            parsed.problem(start, f"the section “{section['heading']}” has no text.")
    return parsed


def parse_questions(text: str) -> Parsed:
    parsed = Parsed()
    starts: list[int] = []
    for number, raw in _lines(text):
        line = raw.strip()
        if not line:
            continue
        mark, rest = line[0], line[1:].strip()
        if mark == "?":
            parsed.items.append({"text": rest, "options": [], "correct": [], "explanation": ""})
            starts.append(number)
            if not rest:
                parsed.problem(number, "the question has no text after “?”.")
            elif len(rest) > 500:
                parsed.problem(number, "the question is longer than 500 characters.")
        elif mark not in "*->":
            parsed.problem(
                number,
                "start each line with “?” (a question), “*” (the right answer), “-” (another "
                "answer) or “>” (the explanation).",
            )
        elif not parsed.items:
            parsed.problem(number, "an answer or explanation before the first question (“?”).")
        elif mark == ">":
            question = parsed.items[-1]
            question["explanation"] = f"{question['explanation']} {rest}".strip()
        elif not rest:
            parsed.problem(number, f"the answer after “{mark}” is empty.")
        else:
            question = parsed.items[-1]
            if mark == "*":
                question["correct"].append(len(question["options"]))
            question["options"].append(rest)
    for start, question in zip(starts, parsed.items, strict=True):
        if len(question["options"]) < 2:
            parsed.problem(start, "the question needs at least two answers (“*” and “-” lines).")
        if not question["correct"]:
            parsed.problem(start, "the question has no right answer: mark it with “*”.")
        elif len(question["correct"]) > 1:
            parsed.problem(start, "the question has more than one answer marked “*”.")
        if not question["explanation"]:
            parsed.problem(start, "the question has no explanation (a line starting with “>”).")
        correct = question.pop("correct")
        question["correct_option"] = correct[0] if correct else 0
    return parsed


def _choice_blocks(text: str, parsed: Parsed) -> list[tuple[int, dict[str, tuple[int, str]]]]:
    blocks: list[tuple[int, dict[str, tuple[int, str]]]] = []
    current: dict[str, tuple[int, str]] | None = None
    for number, raw in _lines(text):
        line = raw.strip()
        if not line:
            current = None
            continue
        match = _FIELD.fullmatch(line)
        if match is None:
            parsed.problem(number, "write each line as “name: value” (for example “key: health”).")
            continue
        name, value = match.group(1).lower(), match.group(2).strip()
        if name == "default":
            # Consent is never preselected; an older text's default is at most a recommendation.
            parsed.problem(
                number,
                "“default” is no longer used: no answer is ever chosen for the participant. "
                "Write “recommended: …” to show the study's recommendation beside the question.",
            )
            continue
        if name not in CHOICE_FIELDS:
            parsed.problem(number, f"unknown field “{name}”; use {', '.join(CHOICE_FIELDS)}.")
            continue
        if current is None:
            current = {}
            blocks.append((number, current))
        if name in current:
            parsed.problem(
                number,
                f"“{name}” is given twice in one choice; leave a blank line between choices.",
            )
            continue
        current[name] = (number, value)
    return blocks


def _choice(start: int, block: Mapping[str, tuple[int, str]], parsed: Parsed) -> dict[str, Any]:
    def value(name: str) -> str:
        return block.get(name, (start, ""))[1]

    def line(name: str) -> int:
        return block.get(name, (start, ""))[0]

    for name in ("key", "question", "meaning", "answers"):
        if not value(name):
            parsed.problem(line(name), f"the choice has no {name}.")
    key = value("key")
    if key and (not _KEY.fullmatch(key) or len(key) > 50):
        parsed.problem(
            line("key"),
            f"the key “{key}” may only have lower-case letters, digits, “-” and “_” (at most 50).",
        )
    if len(value("question")) > 300:
        parsed.problem(line("question"), "the question is longer than 300 characters.")
    meaning = value("meaning")
    if meaning and meaning not in ChoiceMeaning.values:
        parsed.problem(
            line("meaning"),
            f"the meaning “{meaning}” is not one of: {', '.join(ChoiceMeaning.values)}.",
        )
    answers = [a.strip().lower() for a in value("answers").split(",") if a.strip()]
    unknown = [a for a in answers if a not in Answer.values]
    if unknown:
        parsed.problem(
            line("answers"),
            f"answers may only be yes, no and ask (not {', '.join(unknown)}).",
        )
    elif len(set(answers)) != len(answers):
        parsed.problem(line("answers"), "an answer is listed twice.")
    recommended = value("recommended").lower()
    if recommended and not unknown and recommended not in answers:
        parsed.problem(
            line("recommended"),
            f"the recommended answer “{recommended}” is not one of the answers.",
        )
    return {
        "key": key,
        "question": value("question"),
        "explanation": value("explanation"),
        "meaning": meaning,
        "allowed_answers": answers,
        "recommended_answer": recommended,
    }


def parse_choices(text: str) -> Parsed:
    parsed = Parsed()
    blocks = _choice_blocks(text, parsed)
    keys: dict[str, int] = {}
    for start, block in blocks:
        choice = _choice(start, block, parsed)
        key = choice["key"]
        if key in keys:
            parsed.problem(block["key"][0], f"the key “{key}” is also used on line {keys[key]}.")
        elif key:
            keys[key] = block["key"][0]
        parsed.items.append(choice)
    if not blocks and not parsed.found:
        parsed.problem(0, "Add at least one choice.")
    return parsed


def format_sections(sections: Iterable[Any]) -> str:
    return "\n\n".join(f"## {s.heading}\n{s.body}" for s in sections)


def format_questions(questions: Iterable[Any]) -> str:
    blocks = []
    for question in questions:
        lines = [f"? {question.text}"]
        for number, option in enumerate(question.options):
            lines.append(f"{'*' if number == question.correct_option else '-'} {option}")
        lines.append(f"> {' '.join(question.explanation.split())}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def format_choices(choices: Iterable[Any]) -> str:
    blocks = []
    for choice in choices:
        lines = [
            f"key: {choice.key}",
            f"question: {choice.question}",
            f"explanation: {' '.join(choice.explanation.split())}" if choice.explanation else "",
            f"meaning: {choice.meaning}",
            f"answers: {', '.join(choice.allowed_answers)}",
            f"recommended: {choice.recommended_answer}" if choice.recommended_answer else "",
        ]
        blocks.append("\n".join(line for line in lines if line))
    return "\n\n".join(blocks)
