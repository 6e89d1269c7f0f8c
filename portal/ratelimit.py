"""Rate limits on the account pages (registration, password reset, activation, sign-in), per
client address and per account, in fixed windows counted in the `ratelimit` cache.

django-axes already locks out repeated wrong passwords per address and account; these limits
add the account across addresses, and the pages that send email. A library was weighed:
django-ratelimit (the usual choice) refuses Django's own Redis cache and the per-process
memory cache of `make run` in its system checks, and had no release since 2023; the counting
needed here is a few lines over Django's cache, whose `incr` is atomic on Redis.
"""

from __future__ import annotations

import hashlib
import math
import time

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import BaseCache, caches
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

CACHE = "ratelimit"


def _cache() -> BaseCache:
    # A deployment (or a test) that configures only `default` counts there.
    return caches[CACHE if CACHE in settings.CACHES else "default"]


def _key(limit: str, who: str, window: int) -> str:
    # Hashed: the cache never holds the addresses people typed.
    digest = hashlib.sha256(who.encode()).hexdigest()[:32]
    return f"rl:{limit}:{window}:{digest}"


def _window(limit: str) -> tuple[int, int, int]:
    """(allowed count, window length in seconds, current window number)."""
    count, seconds = settings.CUSTODIAN_RATE_LIMITS[limit]
    return count, seconds, int(time.time() // seconds)


def hit(limit: str, who: str) -> bool:
    """Count one use; True once the limit is passed in the current window."""
    count, seconds, window = _window(limit)
    cache = _cache()
    key = _key(limit, who, window)
    cache.add(key, 0, timeout=seconds + 5)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds + 5)
        used = 1
    return used > count


def reached(limit: str, who: str) -> bool:
    """Whether the limit is already used up, without counting a use."""
    count, _, window = _window(limit)
    return (_cache().get(_key(limit, who, window)) or 0) >= count


def client_address(request: HttpRequest) -> str:
    """The address django-axes sees (its AXES_IPWARE_* settings describe the proxies)."""
    return get_client_ip_address(request) or "unknown"


def retry_after(limit: str) -> int:
    _, seconds, _ = _window(limit)
    return max(1, math.ceil(seconds - time.time() % seconds))


def too_many(request: HttpRequest, limit: str) -> HttpResponse:
    """The 429 page (problem+json for API clients), with Retry-After."""
    from portal.views import error_response

    wait = retry_after(limit)
    minutes = max(1, math.ceil(wait / 60))
    response = error_response(
        request,
        429,
        _("Too many tries"),
        _(
            "There have been too many tries from here or for this account in a short time. "
            "Wait %(minutes)d minutes, then try again."
        )
        % {"minutes": minutes},
        "rate_limited",
    )
    response["Retry-After"] = str(wait)
    return response


def limit_request(request: HttpRequest, action: str, account: str | None) -> HttpResponse | None:
    """Count this request against `<action>_address` and, when an account (an address typed
    in the form, a link's account) is named, `<action>_account`; a 429 once either is
    passed, else None. An address with no account is counted like one with an account, so
    the limit says nothing about who is enrolled."""
    over = hit(f"{action}_address", client_address(request))
    if account:
        over = hit(f"{action}_account", account.strip().lower()) or over
    if over:
        return too_many(request, f"{action}_address")
    return None
