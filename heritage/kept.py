"""Kept answers: a public page or API answer, once made, kept in the cache for the next
anonymous reader who asks the same, until what it shows changes.

An answer is kept under its address and the version of what it shows, so a kept answer
is never stale: after a change its key is no longer asked for. A list's version is the
public record's (PublicStamp, which every change the public sees moves, in its own
transaction, and nothing else does: any publication may change which rows a list
holds); one record's answer, and a site's page, are kept under the tokens of the
documents they are made from (heritage/readmodel.py), which change only when those
records, or what they show, do. Only one process makes a missing answer at a time
(single flight): the others wait for it rather than all make the same page at once
after a change.
"""

import datetime
import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse

# How long a maker holds its claim on an answer, at most: long enough for the slowest
# page, short enough that a maker that died is not waited for long.
CLAIM_SECONDS = 10
# How long the others wait for the maker, polling the cache, before making it too.
WAIT_SECONDS = 2.0
POLL_SECONDS = 0.01


def kept_response(kept):
    """The response a kept (content, headers) pair was made from."""
    content, headers = kept
    response = HttpResponse(content)
    for name, value in headers.items():
        response[name] = value
    return response


def public_version():
    from heritage.models import PublicStamp

    version, epoch, _ = PublicStamp.current()
    return f"{epoch}:{version}"


def answer_key(kind, address, version):
    """The key of an answer: also the documents' shape (answers made by older code are
    not served by newer code sharing the cache) and the day (pages say when they were
    read)."""
    from heritage.readmodel import SHAPE

    key = f"{kind}|{version}|{address}|{SHAPE}|{datetime.date.today().isoformat()}"
    return f"kept:{kind}:{hashlib.sha256(key.encode()).hexdigest()[:40]}"


def claim(key):
    """Whether this process makes the answer under `key` (True), or another one already
    is (False). A maker calls `release(key)` when done, whatever happened."""
    return cache.add(key + ":making", 1, CLAIM_SECONDS)


def release(key):
    cache.delete(key + ":making")


def wait_for(key):
    """The answer another process is making under `key`, once it is kept; None if it
    is not kept within WAIT_SECONDS (the caller then makes it itself)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        kept = cache.get(key)
        if kept is not None:
            return kept
        if cache.get(key + ":making") is None:  # the maker gave up (an error, a 404)
            return None
    return None


def fetch_or_claim(key):
    """The kept answer under `key`, or None when the caller is to make it: either it
    holds the claim (`claimed` is True) or waiting for another maker took too long."""
    kept = cache.get(key)
    if kept is not None:
        return kept, False
    if claim(key):
        return None, True
    return wait_for(key), False


def keep(key, value, seconds):
    cache.set(key, value, seconds)


class KeptPagesMiddleware:
    """Keeps the public pages (views marked `kept_page = True`) made for anonymous
    readers who send no cookie, and answers the next such request from the cache. A page
    that sets a cookie, or any answer but a 200, is not kept."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        key = getattr(request, "_kept_page_key", None)
        if key is not None:
            try:
                if (
                    request.method == "GET"
                    and response.status_code == 200
                    and not response.cookies
                    and not response.streaming
                ):
                    keep(
                        key, (response.content, dict(response.items())), settings.PAGE_CACHE_SECONDS
                    )
            finally:
                if getattr(request, "_kept_page_claimed", False):
                    release(key)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        view = getattr(view_func, "view_class", view_func)
        if not (
            getattr(view, "kept_page", False)
            and settings.PAGE_CACHE_SECONDS > 0
            and request.method in ("GET", "HEAD")
            and not request.COOKIES
            and not request.user.is_authenticated
        ):
            return None
        # A view may say what its page depends on more narrowly than the whole public
        # record (SiteDetailView: its site's documents), so that a change elsewhere
        # leaves it kept.
        versioned = getattr(view, "kept_version", None)
        version = versioned(view_kwargs) if versioned else public_version()
        key = answer_key("page", request.build_absolute_uri(), version)
        kept, claimed = fetch_or_claim(key)
        if kept is not None:
            return kept_response(kept)
        request._kept_page_key, request._kept_page_claimed = key, claimed
        return None
