"""The translations: every participant-facing template text goes through gettext, and every
message of the code is translated in every catalogue (checked with `makemessages` itself)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.template.base import Lexer, TokenType
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"

# The pages, partials and emails a participant or guardian reads. Staff pages may stay
# English (the issue says so); anything listed here must say nothing outside gettext.
PARTICIPANT_TEMPLATES = sorted(
    [
        *(
            p
            for p in (TEMPLATES / "consent").glob("*.html")
            if p.name
            not in {
                # the steward's pages
                "documents.html",
                "document_create.html",
                "overview.html",
                "participants.html",
                "participants_import.html",
                "proxy_link.html",
                "version.html",
                "version_create.html",
                "_steward_nav.html",
            }
        ),
        *(TEMPLATES / "consent" / "email").glob("*.txt"),
        *(
            TEMPLATES / name
            for name in ("base.html", "403.html", "404.html", "500.html", "error.html")
        ),
        *(TEMPLATES / name for name in ("_form.html", "_pagination.html")),
        *(
            TEMPLATES / "portal" / name
            for name in (
                "sign_in.html",
                "activate.html",
                "landing.html",
                "link_error.html",
                "locked_out.html",
                "password_reset.html",
                "password_reset_confirm.html",
                "password_reset_sent.html",
                "email/invitation.txt",
                "email/password_reset.txt",
            )
        ),
    ]
)
# Words that are the same in every language: the product's name, formats, symbols.
ALLOWED = {"Custodian", "PDF", "SHA-256", "·", "→", "“", "”", ":", ".", ",", "(", ")"}
# Attributes a person reads (or hears): they need gettext too.
READ_ATTRIBUTES = re.compile(r'\b(?:aria-label|title|alt|placeholder)="([^"{]*[A-Za-z][^"{]*)"')


def _untranslated(path: Path) -> list[str]:
    """Text outside {% translate %} and {% blocktranslate %} that contains a letter.

    The template is flattened first: gettext's output and variables become a blank mark,
    other tags vanish (so a tag inside an attribute leaves a whole attribute), then the
    HTML tags (with their attributes), styles and entities are removed.
    """
    parts: list[str] = []
    inside_block = False
    for token in Lexer(path.read_text()).tokenize():
        if token.token_type == TokenType.TEXT:
            parts.append("" if inside_block else token.contents)
        elif token.token_type == TokenType.VAR:
            parts.append(" \x00 ")
        elif token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0]
            if name in {"blocktranslate", "blocktrans"}:
                inside_block = True
                parts.append(" \x00 ")
            elif name in {"endblocktranslate", "endblocktrans"}:
                inside_block = False
            elif name in {"translate", "trans"}:
                parts.append(" \x00 ")
    flat = "".join(parts)
    found = READ_ATTRIBUTES.findall(flat)
    text = re.sub(r"<style>.*?</style>", " ", flat, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text)
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    for word in text.split():
        if word in ALLOWED or word.startswith(("/", "http")):
            continue
        if re.search(r"[A-Za-z]", word):
            found.append(word)
    return found


def test_the_participant_templates_are_found() -> None:
    names = {p.relative_to(TEMPLATES).as_posix() for p in PARTICIPANT_TEMPLATES}

    assert {"consent/home.html", "consent/_receipt.html", "consent/email/receipt.txt"} <= names
    assert {"base.html", "portal/sign_in.html", "portal/email/invitation.txt"} <= names
    assert len(names) > 40


@pytest.mark.parametrize(
    "path", PARTICIPANT_TEMPLATES, ids=lambda p: p.relative_to(TEMPLATES).as_posix()
)
def test_no_participant_template_says_anything_outside_gettext(path: Path) -> None:
    assert _untranslated(path) == []


def test_the_check_finds_an_untranslated_word(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        '{% load i18n %}<h1>{% translate "Fine" %}</h1><p>Hello {{ name }}</p>'
        '<nav aria-label="Main"></nav>{% blocktranslate %}Also {{ fine }}{% endblocktranslate %}'
    )

    assert _untranslated(page) == ["Main", "Hello"]


def _languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def test_welsh_is_offered_from_its_catalogue() -> None:
    assert ("cy", "Cymraeg") in settings.LANGUAGES
    assert (ROOT / "locale" / "cy" / "LC_MESSAGES" / "django.po").is_file()


def test_every_message_of_the_code_is_translated(
    tmp_path: Path, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`makemessages` from the code into a copy of the catalogues, then no empty msgstr."""
    if shutil.which("msgattrib") is None:
        pytest.fail("Debian's gettext is missing: apt-get install gettext")
    # makemessages writes into the `locale` folder of the directory it runs in: run it in a
    # copy of the catalogues, beside links to the code, so the repository is left alone.
    copy = tmp_path / "locale"
    shutil.copytree(ROOT / "locale", copy, ignore=shutil.ignore_patterns("*.mo"))
    for name in ("portal", "consent", "datasets", "access", "templates"):
        (tmp_path / name).symlink_to(ROOT / name)
    settings.LOCALE_PATHS = [copy]  # type: ignore[attr-defined]
    monkeypatch.chdir(tmp_path)
    for code in _languages():
        call_command(
            "makemessages",
            locale=[code],
            symlinks=True,
            no_obsolete=True,
            no_location=True,
            verbosity=0,
        )
        po = copy / code / "LC_MESSAGES" / "django.po"
        untranslated = subprocess.run(
            ["msgattrib", "--untranslated", "--no-wrap", str(po)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        fuzzy = subprocess.run(
            ["msgattrib", "--only-fuzzy", "--no-wrap", str(po)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        missing = re.findall(r'^msgid "(.+)"$', untranslated + fuzzy, flags=re.M)
        assert missing == [], f"{code}: {len(missing)} untranslated: {missing[:10]}"


def test_the_compiled_catalogue_is_current() -> None:
    """The .mo is made by `make install` (never committed): older than its .po is stale."""
    for code in _languages():
        po = ROOT / "locale" / code / "LC_MESSAGES" / "django.po"
        mo = po.with_suffix(".mo")
        assert mo.is_file(), f"{mo} is missing: run `make install`"
        assert mo.stat().st_mtime >= po.stat().st_mtime, f"{mo} is stale: run `make install`"
    with translation.override("cy"):
        assert translation.gettext("Withdraw from the study") == "Tynnu'n ôl o'r astudiaeth"
