"""A delivery link as a client needs it: absolute, whether the portal or a bucket serves it."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def absolute_link(url: str, base_url: str) -> str:
    """`url` itself when it is absolute already (a presigned URL), else on the portal's base."""
    if "://" in url:
        return url
    return f"{base_url}{url}"
