"""`{% lang_attr code %}`: a `lang` attribute for text in another language than the page's
(a consent form's Welsh wording inside an English page), nothing when they are the same."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()


def _base(code: str) -> str:
    return code.lower().split("-")[0]


@register.simple_tag
def lang_attr(code: str | None) -> SafeString | str:
    if not code or _base(code) == _base(get_language() or ""):
        return ""
    return format_html(' lang="{}"', code)
