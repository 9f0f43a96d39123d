"""Conditional GET and kept answers: what makes a repeated request cheap."""

import datetime
import functools
import hashlib

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date, quote_etag
from rest_framework import (
    renderers,
)
from rest_framework.exceptions import (
    APIException,
    ParseError,
)
from rest_framework.response import Response

from heritage import kept


def _as_datetime(value):
    # SQLite answers a raw MAX() of a datetime column with its text.
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, datetime.UTC)


def data_stamp():
    """What changes whenever anything the API shows may have, and when it last did: the
    newest entry of every table's edit history (each save and each deletion writes one,
    names and actors included) and each table's newest `updated` (derived grades and
    conditions move it). One query, on indexed columns."""
    sql, stamp_count = data_stamp_sql(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    latest = [_as_datetime(value) for value in row[stamp_count:] if value is not None]
    return row, max(latest, default=None)


@functools.cache
def data_stamp_sql(vendor):
    # Built once: finding the history tables through their managers costs more than
    # the query.
    from heritage.models import Actor, DamageEvent, PublicStamp, Site, SiteImage, SiteName
    from reports.models import Capture, Citation, Source

    quote = connection.ops.quote_name
    stamps, moments = [], []
    for model in (Site, SiteName, SiteImage, Actor, DamageEvent, Source, Citation):
        history = quote(model.history.model._meta.db_table)
        stamps.append(f"(SELECT MAX(history_id) FROM {history})")
        moments.append(f"(SELECT MAX(history_date) FROM {history})")
    # Captures are never changed or deleted: the newest one's id says a source has one more.
    stamps.append(f"(SELECT MAX(id) FROM {quote(Capture._meta.db_table)})")
    # The epoch: a restore changes it (PublicStamp), so no stamp from before comes back.
    stamps.append(f"(SELECT MAX(epoch) FROM {quote(PublicStamp._meta.db_table)})")
    for model in (Site, DamageEvent, Source, Citation):
        moments.append(f"(SELECT MAX(updated) FROM {quote(model._meta.db_table)})")
    return "SELECT " + ", ".join(stamps + moments), len(stamps)


def representation_etag(content):
    """A strong ETag of one answer's bytes: what a record looked like to its reader."""
    return quote_etag(hashlib.sha256(content).hexdigest()[:32])


class PreconditionRequired(APIException):
    status_code = 428
    default_detail = (
        "Send If-Match with the ETag of the record as you last read it (GET it first): "
        "a write that does not say which version it changes could overwrite someone's edit."
    )
    default_code = "precondition_required"


class PreconditionFailed(APIException):
    status_code = 412
    default_detail = (
        "The record changed since you read it (its ETag is no longer the one you sent): "
        "GET it again and make your change on what it is now."
    )
    default_code = "precondition_failed"


class Answered(Exception):
    """Raised by RegisterViewSet.initial() to answer before any work is done: 304 Not
    Modified, or an answer kept from an identical request."""

    def __init__(self, response):
        self.response = response


class ConditionalAnswers:
    """ViewSet mixin: an ETag and Last-Modified on every read, 304 when nothing changed,
    caching headers, and anonymous answers kept for the next identical request."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # negotiation, authentication, throttles
        # (A method the address does not take is answered 405 by dispatch, body or not.)
        takes = hasattr(self, request.method.lower())
        if request.method in ("POST", "PUT", "PATCH") and takes and request.stream is None:
            # DRF reads an empty body as an empty object, whatever its Content-Type: a
            # PATCH of nothing would answer 200 and add a version to the history.
            raise ParseError("The body is empty: send a JSON object.")
        if request.method in ("GET", "HEAD"):
            # One record's validator is its answer's own bytes (finalize_response): its
            # 304 is decided once the answer is made.
            not_modified = None if self.is_detail() else self.not_modified(request)
            if not_modified:
                raise Answered(not_modified)
            if self.keeps_answer(request):
                # One process makes a missing answer; the others wait for it (single
                # flight) rather than all making it at once after a change.
                key = self.answer_key(request)
                kept_answer, claimed = kept.fetch_or_claim(key)
                self._claimed = key if claimed else False
                if kept_answer is not None:
                    content, content_type = kept_answer
                    raise Answered(HttpResponse(content, content_type=content_type))

    def record_documents(self):
        """The read model's document of the one record asked for (a queryset), whose
        token this record's answers are kept under; None where there is none."""
        return None

    def is_detail(self):
        return (self.lookup_url_kwarg or self.lookup_field) in self.kwargs

    def keeps_answer(self, request):
        """Whether this answer is kept for the next identical request: anonymous JSON
        answers, which the ETag (data stamp, address, format) identifies exactly, so a
        kept one is never stale. Keeping them makes a popular page cost a cache read."""
        return (
            settings.API_CACHE_SECONDS > 0
            and not request.user.is_authenticated
            and getattr(request, "accepted_renderer", None) is not None
            and isinstance(request.accepted_renderer, renderers.JSONRenderer)
        )

    def answer_key(self, request):
        return "api-answer:" + self.validators(request)[0]

    def keep_answer(self, request, response):
        if not (
            response.status_code == 200
            and isinstance(response, Response)
            and self.keeps_answer(request)
        ):
            return
        response.render()
        if len(response.content) <= settings.API_CACHE_MAX_BYTES:
            answer = (response.content, response["Content-Type"])
            kept.keep(self.answer_key(request), answer, settings.API_CACHE_SECONDS)

    def validators(self, request):
        """The ETag and Last-Modified of this request's answer. Anonymous readers see
        only the public record, whose version moves with it alone (PublicStamp);
        curators see drafts too, whose every save moves the edit history."""
        if not hasattr(self, "_validators"):
            from heritage.models import PublicStamp

            if request.user.is_authenticated:
                row, latest = data_stamp()
                row = (*row, request.user.pk)
            else:
                version, epoch, latest = PublicStamp.current()
                row = (version, epoch, "anonymous")
                documents = self.record_documents() if self.is_detail() else None
                if documents is not None:
                    # One record's answer changes with its stored document only: a
                    # change elsewhere in the public record leaves it kept.
                    from heritage.readmodel import version_of

                    row = (version_of(documents), epoch, "anonymous")
            accepted = getattr(request, "accepted_media_type", "")
            # The whole address, host included: answers hold absolute URLs.
            # The documents' shape too: a new shape is a new representation.
            from heritage.readmodel import SHAPE

            key = repr((row, request.build_absolute_uri(), accepted, SHAPE))
            self._validators = (quote_etag(hashlib.sha256(key.encode()).hexdigest()[:32]), latest)
        return self._validators

    def last_modified(self, request):
        """Last-Modified, in whole seconds as HTTP has it, only once the second of the
        latest change is over: until then another change may still fall in the same
        second, and If-Modified-Since would answer that reader a stale 304."""
        latest = self.validators(request)[1]
        if latest is None or int(latest.timestamp()) >= int(timezone.now().timestamp()):
            return None
        return int(latest.timestamp())

    def not_modified(self, request):
        etag, _ = self.validators(request)
        return get_conditional_response(
            request._request, etag=etag, last_modified=self.last_modified(request)
        )

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            # Released whatever happened: DRF re-raises an unexpected error past
            # finalize_response, and readers would otherwise wait for a claim nobody holds.
            if getattr(self, "_claimed", False):
                kept.release(self._claimed)
                self._claimed = False

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method == "GET":
            self.keep_answer(request, response)
        if request.method in ("GET", "HEAD") and response.status_code in (200, 304):
            etag, _ = self.validators(request)
            last_modified = self.last_modified(request)
            if self.is_detail() and not response.streaming and response.status_code == 200:
                # A strong validator of exactly what this reader was shown, which a
                # write sends back in If-Match (WorkflowWrites).
                if hasattr(response, "render"):
                    response.render()
                etag = representation_etag(response.content)
                not_modified = get_conditional_response(
                    request._request, etag=etag, last_modified=last_modified
                )
                if not_modified is not None:
                    response = not_modified
            response["ETag"] = etag
            if last_modified:
                response["Last-Modified"] = http_date(last_modified)
            anonymous = not request.user.is_authenticated
            response["Cache-Control"] = "public, max-age=60" if anonymous else "private, no-cache"
            patch_vary_headers(response, ["Accept", "Cookie", "Authorization"])
        return response
