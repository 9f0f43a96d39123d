"""The JSON API researchers pull the register with, at /api/v1/.

What every endpoint shares lives here: cursor pagination, conditional GET, caching
headers, the CSV stream, and validation by the models' own rules (the admin's).
"""

import copy
import datetime
import functools
import hashlib

import orjson
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.db.models import F, ProtectedError
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date, quote_etag
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import (
    parsers,
    permissions,
    renderers,
    serializers,
    status,
    viewsets,
)
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import (
    NotFound,
    ParseError,
    PermissionDenied,
    ValidationError,
)
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.response import Response

from heritage import dataset
from heritage.dataset import csv_line, iso_bound
from heritage.dates import describe_edtf
from heritage.filters import DamageEventFilter, SiteFilter
from heritage.models import (
    GRADE_EXPLANATIONS,
    Actor,
    DamageEvent,
    DamageLevel,
    Site,
    SiteName,
    State,
)
from heritage.views import url_parts
from reports.models import Citation


class RecordPagination(CursorPagination):
    """Cursor pages: a deep page costs what the first does (no OFFSET), and rows added
    meanwhile neither repeat nor vanish. Sorted by the `ordering` parameter where the
    view offers it, always ending on the primary key so that every row has one place."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_ordering(self, request, queryset, view):
        return view.cursor_orderings[request.query_params.get("ordering", "")]

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        # b64decode() skips what is not base64, so an altered cursor ("' OR 1=1 --", "%")
        # can read as no position at all, and would answer the first page as if it were
        # the one asked for. No cursor we hand out reads so.
        if request.query_params.get(self.cursor_query_param) and cursor == Cursor(0, False, None):
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except (NotFound, DjangoValidationError, ValueError, TypeError, OverflowError) as error:
            # A cursor is only ever one we handed out: anything else was altered.
            raise ValidationError(
                {"cursor": ["Invalid cursor: follow `next` as given."]}
            ) from error


class FastJSONRenderer(renderers.JSONRenderer):
    """JSON by orjson, several times faster than the standard library on a page of a
    few hundred rows; what orjson does not know (lazy translations, Decimals) goes
    through DRF's own encoder. An `indent` asked for in Accept takes DRF's path."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        return orjson.dumps(data, default=self.encoder_class().default)


class JSONParser(parsers.JSONParser):
    """Writes are JSON objects, and only JSON is read: a form, multipart or text body is a
    415 rather than read field by field (where bytes that are not UTF-8 would quietly
    become U+FFFD). JSON nested deeper than Python's parser goes ("[[[[…") is a 400,
    where it was a RecursionError and a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - nested too deeply.") from error


class CSVRenderer(renderers.BaseRenderer):
    """Lets content negotiation choose CSV (`?format=csv` or `Accept: text/csv`). Lists
    stream their rows themselves (RegisterViewSet.list); this renders the rest, such as
    an error, as key,value lines."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        rows = data.items() if isinstance(data, dict) else enumerate(data or [])
        return "".join(csv_line([key, value]) for key, value in rows).encode()


def stream_csv(header, rows, filename):
    """A CSV response sent as `rows` are read, so that no export is held in memory."""

    def lines():
        yield "\ufeff"  # a byte-order mark: spreadsheets then read the file as UTF-8
        yield csv_line(header)
        for row in rows:
            yield csv_line(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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
    from heritage.models import Actor, DamageEvent, Site, SiteImage, SiteName
    from reports.models import Citation, Source

    quote = connection.ops.quote_name
    stamps, moments = [], []
    for model in (Site, SiteName, SiteImage, Actor, DamageEvent, Source, Citation):
        history = quote(model.history.model._meta.db_table)
        stamps.append(f"(SELECT MAX(history_id) FROM {history})")
        moments.append(f"(SELECT MAX(history_date) FROM {history})")
    for model in (Site, DamageEvent, Source, Citation):
        moments.append(f"(SELECT MAX(updated) FROM {quote(model._meta.db_table)})")
    return "SELECT " + ", ".join(stamps + moments), len(stamps)


class ModelValidation:
    """Serializer mixin: the model's own validation (quote check, EDTF dates, the grade
    override's reason) runs on API writes as it does in the admin."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        # A copy: the stored instance must keep its old values until it is saved, for
        # the checks that compare old and new (publishing, moving a citation).
        instance = copy.copy(self.instance) if self.instance else self.Meta.model()
        for name, value in attrs.items():
            setattr(instance, name, value)
        try:
            instance.full_clean(exclude=self.unvalidated_fields())
        except DjangoValidationError as error:
            raise serializers.ValidationError(serializers.as_serializer_error(error)) from error
        return attrs

    def unvalidated_fields(self):
        """Fields the request did not send and the model fills itself."""
        return [f.name for f in self.Meta.model._meta.fields if not f.editable]


class SlugField(serializers.SlugRelatedField):
    """A reference by slug or name that refuses NUL characters, as DRF's CharField does:
    PostgreSQL cannot even look them up."""

    def to_internal_value(self, data):
        if "\x00" in str(data):
            raise serializers.ValidationError("Null characters are not allowed.")
        return super().to_internal_value(data)


class RegisterSchema(AutoSchema):
    """Documents what a list really answers: only its JSON is a page of rows; CSV,
    GeoJSON and CSL-JSON hold every matching row, unwrapped."""

    def _get_response_for_code(
        self, serializer, status_code, media_types=None, direction="response"
    ):
        self._unpaged = bool(media_types) and "application/json" not in media_types
        try:
            return super()._get_response_for_code(serializer, status_code, media_types, direction)
        finally:
            self._unpaged = False

    def _is_list_view(self, serializer=None):
        return not getattr(self, "_unpaged", False) and super()._is_list_view(serializer)


class Answered(Exception):
    """Raised by RegisterViewSet.initial() to answer before any work is done: 304 Not
    Modified, or an answer kept from an identical request."""

    def __init__(self, response):
        self.response = response


class RegisterViewSet(viewsets.ModelViewSet):
    """Conditional GET (an ETag and Last-Modified, and 304 when nothing changed),
    caching headers, CSV for every list, and unpublished records kept from anyone who
    may not see them."""

    renderer_classes = [FastJSONRenderer, renderers.BrowsableAPIRenderer, CSVRenderer]
    parser_classes = [JSONParser]
    pagination_class = RecordPagination
    schema = RegisterSchema()
    # Records are found by their id: anything else is not found before it reaches the
    # database (PostgreSQL cannot compare a NUL character).
    lookup_value_regex = r"[0-9]+"
    cursor_orderings = {"": ("pk",)}
    csv_filename = "records.csv"

    def sees_unpublished(self):
        return self.request.user.has_perm("heritage.view_damageevent")

    csv_table = None  # the table of heritage/dataset.py this endpoint exports

    def csv_rows(self, queryset):
        return dataset.header(self.csv_table), dataset.rows(queryset, self.csv_table)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # negotiation, authentication, throttles
        if request.method in ("POST", "PUT", "PATCH") and request.stream is None:
            # DRF reads an empty body as an empty object, whatever its Content-Type: a
            # PATCH of nothing would answer 200 and add a version to the history.
            raise ParseError("The body is empty: send a JSON object.")
        if request.method in ("GET", "HEAD"):
            not_modified = self.not_modified(request)
            if not_modified:
                raise Answered(not_modified)
            if self.keeps_answer(request):
                kept = cache.get(self.answer_key(request))
                if kept is not None:
                    content, content_type = kept
                    raise Answered(HttpResponse(content, content_type=content_type))

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
            kept = (response.content, response["Content-Type"])
            cache.set(self.answer_key(request), kept, settings.API_CACHE_SECONDS)

    def handle_exception(self, exc):
        if isinstance(exc, Answered):
            return exc.response
        # Errors are JSON whatever format was asked for: a CSV of an error helps nobody.
        self.request.accepted_renderer = FastJSONRenderer()
        self.request.accepted_media_type = FastJSONRenderer.media_type
        return super().handle_exception(exc)

    def filter_queryset(self, queryset):
        ordering = self.request.query_params.get("ordering", "")
        if ordering not in self.cursor_orderings:
            choices = ", ".join(sorted(name for name in self.cursor_orderings if name))
            raise ValidationError({"ordering": [f"Sort by one of: {choices}."]})
        filters = getattr(self, "filterset_class", None)
        if filters and not set(self.request.query_params) & set(filters.base_filters):
            # Nothing to filter by: building and validating the filter form would cost
            # a page of plain rows as much again.
            return queryset
        return super().filter_queryset(queryset)

    def list(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "csv":
            header, rows = self.csv_rows(self.filter_queryset(self.get_queryset()))
            return stream_csv(header, rows, self.csv_filename)
        if self.list_rows is not None:
            page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
            return self.get_paginated_response(self.list_rows(page))
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "csv":
            # One record in the list's columns, so that it reads like a row of the export
            # (a nested citation would otherwise become a Python repr in a cell).
            record = self.get_object()
            header, rows = self.csv_rows(self.get_queryset().filter(pk=record.pk))
            return stream_csv(header, rows, f"{self.basename}-{record.pk}.csv")
        return super().retrieve(request, *args, **kwargs)

    # Lists that pages are pulled from at scale build their rows from plain values
    # (see DamageEventViewSet.list_rows) rather than through the serializer; others
    # leave this None.
    list_rows = None

    def destroy(self, request, *args, **kwargs):
        try:
            return super().destroy(request, *args, **kwargs)
        except ProtectedError as error:
            cited = len(error.protected_objects)
            return Response(
                {"detail": f"This record is cited {cited} time(s) and cannot be deleted."},
                status=status.HTTP_409_CONFLICT,
            )

    def validators(self, request):
        """The ETag and Last-Modified of this request's answer."""
        if not hasattr(self, "_validators"):
            row, latest = data_stamp()
            reader = f"{request.user.pk}" if request.user.is_authenticated else "anonymous"
            accepted = getattr(request, "accepted_media_type", "")
            # The whole address, host included: answers hold absolute URLs.
            key = repr((row, request.build_absolute_uri(), accepted, reader))
            self._validators = (quote_etag(hashlib.sha256(key.encode()).hexdigest()[:32]), latest)
        return self._validators

    def not_modified(self, request):
        etag, latest = self.validators(request)
        return get_conditional_response(
            request._request, etag=etag, last_modified=int(latest.timestamp()) if latest else None
        )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method == "GET":
            self.keep_answer(request, response)
        if request.method in ("GET", "HEAD") and response.status_code in (200, 304):
            etag, latest = self.validators(request)
            response["ETag"] = etag
            if latest:
                response["Last-Modified"] = http_date(latest.timestamp())
            anonymous = not request.user.is_authenticated
            response["Cache-Control"] = "public, max-age=60" if anonymous else "private, no-cache"
            patch_vary_headers(response, ["Accept", "Cookie", "Authorization"])
        return response

    def check_editable(self, *records):
        """The admin's rule: curators change drafts and their evidence; once an event is
        sent for review, only an editor may."""
        for record in records:
            if record is not None and not record.editable_by(self.request.user):
                raise PermissionDenied(
                    "Only an editor may change this: it is, or is evidence for, an event "
                    "under review or published."
                )

    def check_may_publish(self, new_state):
        if new_state == State.PUBLISHED and not self.request.user.has_perm(
            "heritage.publish_damageevent"
        ):
            raise PermissionDenied("Only an editor may publish an event.")


CSV_RESPONSE = OpenApiResponse(OpenApiTypes.STR, description="Every matching row, as CSV.")
CSV_RECORD = OpenApiResponse(
    OpenApiTypes.STR, description="The record as one CSV row, in the list's columns."
)

GEOJSON_FEATURE = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "string"},
        "geometry": {
            "type": "object",
            "nullable": True,
            "description": "A Point at [longitude, latitude]; null when not located.",
            "properties": {
                "type": {"type": "string", "enum": ["Point"]},
                "coordinates": {"type": "array", "items": {"type": "number"}},
            },
        },
        "properties": {"type": "object", "additionalProperties": True},
    },
}
GEOJSON_COLLECTION = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": GEOJSON_FEATURE},
    },
}


class GeoJSONRenderer(FastJSONRenderer):
    media_type = "application/geo+json"
    format = "geojson"


# Sites


class SiteNameSerializer(serializers.ModelSerializer):
    class Meta:
        model = SiteName
        fields = ["name", "language"]


class SiteSerializer(ModelValidation, serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:site-detail", lookup_field="slug")
    page = serializers.SerializerMethodField(help_text="The site's public page.")
    parent = SlugField(
        slug_field="slug", queryset=Site.objects.all(), allow_null=True, required=False
    )
    names = SiteNameSerializer(many=True, read_only=True)
    condition = serializers.SerializerMethodField(
        help_text="Damage level after the latest published event; null without one."
    )
    event_count = serializers.SerializerMethodField(help_text="Published events.")
    last_event = serializers.SerializerMethodField(
        help_text="Latest possible day of the latest published event."
    )

    class Meta:
        model = Site
        fields = [
            "slug", "url", "page", "name", "kind", "parent", "names", "latitude", "longitude",
            "location_precision", "description", "built", "unesco_ref", "wikidata",
            "pleiades", "condition", "event_count", "last_event", "created", "updated",
        ]  # fmt: skip
        read_only_fields = ["created", "updated"]

    def get_page(self, site) -> str:
        return self.context["request"].build_absolute_uri(site.get_absolute_url())

    def validate(self, attrs):
        # Stored as null when absent, as the admin does: they are unique when given.
        for name in ("wikidata", "pleiades"):
            if attrs.get(name) == "":
                attrs[name] = None
        return super().validate(attrs)

    def get_condition(self, site) -> str | None:
        return getattr(site, "condition", None)

    def get_event_count(self, site) -> int:
        return getattr(site, "event_count", 0)

    def get_last_event(self, site) -> str | None:
        return iso_bound(getattr(site, "last_event", None))


def site_feature(site, request):
    """A site as an RFC 7946 Feature: [longitude, latitude], null where not located."""
    located = site.latitude is not None and site.longitude is not None
    condition = getattr(site, "condition", None)
    return {
        "type": "Feature",
        "id": site.slug,
        "geometry": {"type": "Point", "coordinates": [float(site.longitude), float(site.latitude)]}
        if located
        else None,
        "properties": {
            "slug": site.slug,
            "name": site.name,
            "kind": site.kind,
            "parent": site.parent.slug if site.parent_id else None,
            "location_precision": site.location_precision or None,
            "condition": condition,
            "unosat_label": DamageLevel.unosat_label(condition) or None,
            "event_count": getattr(site, "event_count", 0),
            "last_event": iso_bound(getattr(site, "last_event", None)),
            "page": request.build_absolute_uri(site.get_absolute_url()),
        },
    }


@extend_schema_view(
    list=extend_schema(
        responses={
            (200, "application/json"): SiteSerializer,
            (200, "application/geo+json"): OpenApiResponse(
                GEOJSON_COLLECTION, description="Every matching site (RFC 7946)."
            ),
            (200, "text/csv"): CSV_RESPONSE,
        }
    ),
    retrieve=extend_schema(
        responses={
            (200, "application/json"): SiteSerializer,
            (200, "application/geo+json"): OpenApiResponse(GEOJSON_FEATURE),
            (200, "text/csv"): CSV_RECORD,
        }
    ),
)
class SiteViewSet(RegisterViewSet):
    """Sites: monuments and places, each with its current condition. Add `?format=geojson`
    for every matching site as GeoJSON (RFC 7946, for QGIS), or `?format=csv`."""

    queryset = Site.objects.with_record().select_related("parent").prefetch_related("names")
    serializer_class = SiteSerializer
    filterset_class = SiteFilter
    lookup_field = "slug"
    # A slug, as the public pages take it: anything else (a NUL, which PostgreSQL cannot
    # compare) is not found before it reaches the database.
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    renderer_classes = [*RegisterViewSet.renderer_classes, GeoJSONRenderer]
    cursor_orderings = {
        "": ("name", "pk"),
        "name": ("name", "pk"),
        "-name": ("-name", "-pk"),
        "updated": ("updated", "pk"),
        "-updated": ("-updated", "-pk"),
    }
    csv_filename = "sites.csv"
    csv_table = "sites"

    def list(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "geojson":
            sites = self.filter_queryset(self.get_queryset()).prefetch_related(None)
            features = [site_feature(site, request) for site in sites.iterator(chunk_size=2000)]
            return Response({"type": "FeatureCollection", "features": features})
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "geojson":
            return Response(site_feature(self.get_object(), request))
        return super().retrieve(request, *args, **kwargs)


# Events


class EventCitationSerializer(serializers.Serializer):
    """A citation as an event carries it: enough to read the claim without a second
    request; /api/v1/sources/{source}/ has the rest of the source."""

    id = serializers.IntegerField()
    source = serializers.IntegerField(source="source_id")
    source_title = serializers.CharField(source="source.title")
    publisher = serializers.CharField(source="source.publisher")
    published = serializers.CharField(source="source.published")
    quote = serializers.CharField()
    locator = serializers.CharField()
    stance = serializers.CharField()
    basis = serializers.CharField()
    claimed_level = serializers.CharField()
    claimed_date = serializers.CharField()
    claimed_lower = serializers.SerializerMethodField()
    claimed_upper = serializers.SerializerMethodField()
    note = serializers.CharField()

    def get_claimed_lower(self, citation) -> str | None:
        return iso_bound(citation.claimed_lower)

    def get_claimed_upper(self, citation) -> str | None:
        return iso_bound(citation.claimed_upper)


class DamageEventSerializer(ModelValidation, serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:event-detail")
    page = serializers.SerializerMethodField(help_text="The event on its site's public page.")
    site = SlugField(slug_field="slug", queryset=Site.objects.all())
    site_name = serializers.CharField(source="site.name", read_only=True)
    actor = SlugField(
        slug_field="name", queryset=Actor.objects.all(), allow_null=True, required=False
    )
    date_lower = serializers.SerializerMethodField(
        help_text="Earliest possible day; null when the interval is open."
    )
    date_upper = serializers.SerializerMethodField(
        help_text="Latest possible day; null when the interval is open."
    )
    date_text = serializers.SerializerMethodField(help_text="The date in words.")
    grade_explanation = serializers.SerializerMethodField()
    citations = EventCitationSerializer(many=True, read_only=True)

    class Meta:
        model = DamageEvent
        fields = [
            "id", "url", "page", "site", "site_name", "kind", "summary", "date", "date_lower",
            "date_upper", "date_text", "level", "extent", "cause", "actor", "condition_after",
            "description", "state", "grade", "grade_explanation", "grade_override",
            "grade_override_reason", "has_conflict", "citations", "created", "updated",
        ]  # fmt: skip
        read_only_fields = ["grade", "has_conflict", "created", "updated"]

    def get_page(self, event) -> str:
        return self.context["request"].build_absolute_uri(event.get_absolute_url())

    def get_date_lower(self, event) -> str | None:
        return iso_bound(event.date_lower)

    def get_date_upper(self, event) -> str | None:
        return iso_bound(event.date_upper)

    def get_date_text(self, event) -> str:
        return describe_edtf(event.date)

    def get_grade_explanation(self, event) -> str:
        return GRADE_EXPLANATIONS.get(event.grade, "")

    def validate(self, attrs):
        # Read before ModelValidation copies the new values onto the instance.
        event = self.instance
        self.context["view"].check_editable(event)
        self.context["view"].check_may_publish(attrs.get("state"))
        publishing = attrs.get("state") == State.PUBLISHED and (
            event is None or event.state != State.PUBLISHED
        )
        attrs = super().validate(attrs)
        if publishing:
            problem = (event or DamageEvent()).publication_problem(None if event else [])
            if problem:
                raise serializers.ValidationError({"state": [problem]})
        return attrs


# What a page of events is built from: each event's columns, and its citations'.
EVENT_VALUES = [
    "id", "kind", "summary", "date", "date_lower", "date_upper", "level", "extent",
    "cause", "condition_after", "description", "state", "grade", "grade_override",
    "grade_override_reason", "has_conflict", "created", "updated",
]  # fmt: skip
EVENT_RELATED = {
    "site_slug": F("site__slug"),
    "site_name": F("site__name"),
    "actor_name": F("actor__name"),
}
CITATION_VALUES = [
    "event_id", "id", "source_id", "quote", "locator", "stance", "basis", "claimed_level",
    "claimed_date", "claimed_lower", "claimed_upper", "note",
]  # fmt: skip
CITATION_RELATED = {
    "source_title": F("source__title"),
    "source_publisher": F("source__publisher"),
    "source_published": F("source__published"),
}


def url_pattern(request, view_name):
    """A function giving the absolute URL of `view_name` for its one argument, reversing
    once rather than once per row."""
    before, after = url_parts(view_name)
    prefix = request.build_absolute_uri(before)
    return lambda argument: f"{prefix}{argument}{after}"


def drf_datetime(value):
    """A datetime as DRF's DateTimeField writes it: ISO 8601 in UTC, with a Z."""
    text = value.astimezone(datetime.UTC).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


@extend_schema_view(
    list=extend_schema(
        responses={
            (200, "application/json"): DamageEventSerializer,
            (200, "text/csv"): CSV_RESPONSE,
        }
    ),
    retrieve=extend_schema(
        responses={
            (200, "application/json"): DamageEventSerializer,
            (200, "text/csv"): CSV_RECORD,
        }
    ),
)
class DamageEventViewSet(RegisterViewSet):
    """Damage events, each with its site and its citations. Anonymous readers see
    published events only; `state` filters for curators."""

    serializer_class = DamageEventSerializer
    filterset_class = DamageEventFilter
    cursor_orderings = {
        "": ("date_lower", "pk"),
        "date": ("date_lower", "pk"),
        "-date": ("-date_lower", "-pk"),
        "updated": ("updated", "pk"),
        "-updated": ("-updated", "-pk"),
    }
    csv_filename = "events.csv"
    csv_table = "events"

    def get_queryset(self):
        # A list reads plain values (paginate_queryset); one event, model instances.
        events = DamageEvent.objects.all()
        if self.action != "list":
            events = events.for_timeline()
        return events if self.sees_unpublished() else events.published()

    def paginate_queryset(self, queryset):
        if self.action == "list" and self.request.accepted_renderer.format != "csv":
            queryset = queryset.values(*EVENT_VALUES, **EVENT_RELATED)
        return super().paginate_queryset(queryset)

    def list_rows(self, events):
        """The serializer's representation of each event, from two queries of plain
        values: at a hundred events with their citations it takes a tenth of the time
        of model instances through DamageEventSerializer. tests/test_api_scale.py holds
        the two to the same output."""
        request = self.request
        event_url = url_pattern(request, "api:event-detail")
        site_url = url_pattern(request, "heritage:site-detail")
        citations = {}
        for citation in (
            Citation.objects.filter(event_id__in=[event["id"] for event in events])
            .order_by("event", "id")
            .values(*CITATION_VALUES, **CITATION_RELATED)
        ):
            citations.setdefault(citation["event_id"], []).append(
                {
                    "id": citation["id"],
                    "source": citation["source_id"],
                    "source_title": citation["source_title"],
                    "publisher": citation["source_publisher"],
                    "published": citation["source_published"],
                    "quote": citation["quote"],
                    "locator": citation["locator"],
                    "stance": citation["stance"],
                    "basis": citation["basis"],
                    "claimed_level": citation["claimed_level"],
                    "claimed_date": citation["claimed_date"],
                    "claimed_lower": iso_bound(citation["claimed_lower"]),
                    "claimed_upper": iso_bound(citation["claimed_upper"]),
                    "note": citation["note"],
                }
            )
        return [
            {
                "id": event["id"],
                "url": event_url(event["id"]),
                "page": site_url(event["site_slug"]) + f"#event-{event['id']}",
                "site": event["site_slug"],
                "site_name": event["site_name"],
                "kind": event["kind"],
                "summary": event["summary"],
                "date": event["date"],
                "date_lower": iso_bound(event["date_lower"]),
                "date_upper": iso_bound(event["date_upper"]),
                "date_text": describe_edtf(event["date"]),
                "level": event["level"],
                "extent": event["extent"],
                "cause": event["cause"],
                "actor": event["actor_name"],
                "condition_after": event["condition_after"],
                "description": event["description"],
                "state": event["state"],
                "grade": event["grade"],
                "grade_explanation": GRADE_EXPLANATIONS.get(event["grade"], ""),
                "grade_override": event["grade_override"],
                "grade_override_reason": event["grade_override_reason"],
                "has_conflict": event["has_conflict"],
                "citations": citations.get(event["id"], []),
                "created": drf_datetime(event["created"]),
                "updated": drf_datetime(event["updated"]),
            }
            for event in events
        ]

    def perform_destroy(self, instance):
        self.check_editable(instance)
        instance.delete()


@extend_schema(
    responses={
        (200, "application/zip"): OpenApiResponse(
            OpenApiTypes.BINARY, description="The published register as a zip."
        ),
        404: OpenApiResponse(description="Not built yet."),
    }
)
@api_view(["GET"])
@permission_classes([permissions.AllowAny])
def dump(request):
    """The whole published register as one zip: a CSV per table, one JSON file, a data
    dictionary and CITATION.cff. Rebuilt by `manage.py build_dump`."""
    path = settings.DUMP_PATH
    if not path.exists():
        return Response(
            {"detail": "The dataset has not been built yet: run `manage.py build_dump`."},
            status=status.HTTP_404_NOT_FOUND,
        )
    built = int(path.stat().st_mtime)
    etag = quote_etag(f"{built}-{path.stat().st_size}")
    not_modified = get_conditional_response(request._request, etag=etag, last_modified=built)
    response = not_modified or FileResponse(path.open("rb"), as_attachment=True, filename=path.name)
    response["ETag"], response["Last-Modified"] = etag, http_date(built)
    response["Cache-Control"] = "public, max-age=300"
    return response
