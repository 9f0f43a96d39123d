"""/api/v1/changes/: every change to the public record of events and citations, in the
order it was committed, for an incremental pull (heritage/changes.py writes them). A
page ends with a cursor to resume from; the cursor is signed, so a tampered one is a
400 rather than a silent jump."""

import re

import orjson
from django.core import signing
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from heritage.models import Change, ChangeAction, PublicStamp
from heritage.readmodel import absolute

SALT = "heritage.changes"
DEFAULT_PAGE, MAX_PAGE = 100, 1000
TYPES = {"event", "citation"}
API_NAMES = {"event": "api:event-detail", "citation": "api:citation-detail"}


class BadParameter(Exception):
    def __init__(self, parameter, message):
        super().__init__(message)
        self.parameter, self.message = parameter, message


def epoch():
    """The database's epoch: a restore starts a new one (PublicStamp.new_epoch), and its
    feed is another history, which a cursor of the old one must not read on in."""
    return PublicStamp.current()[1]


def cursor_for(change_id, current):
    return signing.dumps([current, change_id], salt=SALT, compress=False)


def read_cursor(text, current):
    if not text:
        return 0
    try:
        value = signing.loads(text, salt=SALT)
    except signing.BadSignature:
        raise BadParameter(
            "after",
            "This cursor was not given by this feed (or was altered); resume "
            "from the `cursor` of the last page read, or start again without one.",
        ) from None
    well_formed = (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and value[1] >= 0
    )
    if not well_formed:
        raise BadParameter("after", "This cursor does not hold a position in the feed.")
    if value[0] != current:
        raise BadParameter(
            "after",
            "The register was restored from a backup since this cursor was given: its "
            "history may differ from the one you read. Start again without a cursor.",
        )
    return value[1]


def page_size(text):
    if text is None:
        return DEFAULT_PAGE
    # ASCII digits only: str.isdigit() takes "²", which int() does not.
    if not re.fullmatch(r"[0-9]{1,4}", text) or not 1 <= int(text) <= MAX_PAGE:
        raise BadParameter("page_size", f"Give a whole number from 1 to {MAX_PAGE}.")
    return int(text)


def entry(change, request):
    data = orjson.loads(absolute(change.json, request)) if change.json else None
    url = None
    if change.action in (ChangeAction.PUBLISHED, ChangeAction.CHANGED):
        url = request.build_absolute_uri(reverse(API_NAMES[change.record_type],
                                                 args=[change.record_id]))  # fmt: skip
    return {
        "id": change.id,
        "at": change.at.isoformat().replace("+00:00", "Z"),
        "type": change.record_type,
        "record": change.record_id,
        "event": change.event_id_of,
        "action": change.action,
        "url": url,
        "data": data,
    }


CHANGE = inline_serializer(
    "Change",
    {
        "id": serializers.IntegerField(help_text="Its place in the feed."),
        "at": serializers.DateTimeField(),
        "type": serializers.ChoiceField(choices=sorted(TYPES)),
        "record": serializers.IntegerField(help_text="The event's or the citation's id."),
        "event": serializers.IntegerField(help_text="The event (a citation's event)."),
        "action": serializers.ChoiceField(choices=ChangeAction.values),
        "url": serializers.URLField(allow_null=True, help_text="Null once it left the record."),
        "data": serializers.JSONField(
            allow_null=True, help_text="The record as the public saw it after the change."
        ),
    },
)


class ChangesView(APIView):
    """Every published, changed, unpublished and deleted event and citation, oldest
    first. Start without `after`; each page gives `cursor`, to pass as `after` to read
    what came since (also when the page is empty: keep it, and ask again later)."""

    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="changes_list",
        parameters=[
            OpenApiParameter("after", OpenApiTypes.STR, description="A `cursor` this feed gave."),
            OpenApiParameter("type", OpenApiTypes.STR, enum=sorted(TYPES)),
            OpenApiParameter(
                "page_size", OpenApiTypes.INT, description=f"1 to {MAX_PAGE}; {DEFAULT_PAGE}."
            ),
        ],
        responses={
            200: inline_serializer(
                "ChangesPage",
                {
                    "cursor": serializers.CharField(),
                    "next": serializers.URLField(allow_null=True),
                    "results": CHANGE.__class__(many=True),
                },
            ),
            400: OpenApiResponse(description="A parameter is wrong: the answer names it."),
        },
    )
    def get(self, request):
        try:
            current = epoch()  # read once: the cursor read and the one given
            after = read_cursor(request.query_params.get("after"), current)
            size = page_size(request.query_params.get("page_size"))
            kind = request.query_params.get("type")
            if kind is not None and kind not in TYPES:
                raise BadParameter("type", "Give event or citation.")
        except BadParameter as error:
            return Response({error.parameter: [error.message]}, status=400)
        changes = Change.objects.filter(id__gt=after).order_by("id")
        if kind:
            changes = changes.filter(record_type=kind)
        page = list(changes[: size + 1])
        more, page = len(page) > size, page[:size]
        cursor = cursor_for(page[-1].id if page else after, current)
        next_url = None
        if more:
            query = request.query_params.copy()
            query["after"] = cursor
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response(
            {"cursor": cursor, "next": next_url, "results": [entry(c, request) for c in page]}
        )
