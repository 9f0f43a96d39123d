"""The API's endpoints: sites, events and the full download."""

import copy

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, ProtectedError
from django.http import FileResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import (
    permissions,
    renderers,
    status,
    viewsets,
)
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import (
    APIException,
    ValidationError,
)
from rest_framework.response import Response

from heritage import dataset, workflow
from heritage.api.conditional import (
    Answered,
    ConditionalAnswers,
    PreconditionFailed,
    PreconditionRequired,
    representation_etag,
)
from heritage.api.pagination import RecordPagination
from heritage.api.permissions import RecordPermission
from heritage.api.renderers import (
    CSVRenderer,
    FastJSONRenderer,
    GeoJSONRenderer,
    JSONParser,
    site_feature,
    stream_csv,
)
from heritage.api.schema import (
    CSV_RECORD,
    CSV_RESPONSE,
    GEOJSON_COLLECTION,
    GEOJSON_FEATURE,
    RegisterSchema,
)
from heritage.api.serializers import (
    CITATION_RELATED,
    CITATION_VALUES,
    EVENT_RELATED,
    EVENT_VALUES,
    DamageEventSerializer,
    SiteSerializer,
    drf_datetime,
    url_pattern,
)
from heritage.dataset import iso_bound
from heritage.dates import describe_edtf
from heritage.filters import DamageEventFilter, SiteFilter
from heritage.models import (
    GRADE_EXPLANATIONS,
    REVIEWED_EVIDENCE,
    DamageEvent,
    Site,
    SiteName,
)
from reports.models import Citation


class RegisterViewSet(ConditionalAnswers, viewsets.ModelViewSet):
    """Conditional GET (an ETag and Last-Modified, and 304 when nothing changed),
    caching headers, CSV for every list, and unpublished records kept from anyone who
    may not see them."""

    renderer_classes = [FastJSONRenderer, renderers.BrowsableAPIRenderer, CSVRenderer]
    parser_classes = [JSONParser]
    pagination_class = RecordPagination
    permission_classes = [RecordPermission]
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

    def perform_content_negotiation(self, request, force=False):
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            # A write answers with the record in JSON, whatever `format` asks: the
            # other formats are exports of what is read.
            return FastJSONRenderer(), FastJSONRenderer.media_type
        return super().perform_content_negotiation(request, force)

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


# How a refusal of the workflow reads over HTTP, by its kind (workflow.Refused's code).
REFUSED_STATUS = {
    "role": status.HTTP_403_FORBIDDEN,
    # Changed since it was read: as a stale If-Match is answered.
    "stale": status.HTTP_412_PRECONDITION_FAILED,
    "done": status.HTTP_409_CONFLICT,
    "condition": status.HTTP_409_CONFLICT,
    "reason": status.HTTP_400_BAD_REQUEST,
}


class WorkflowWrites:
    """ViewSet mixin for the records heritage.workflow keeps (events, citations,
    sources): each write goes through it, and is applied (200, 201, 204), kept as a
    proposal for an editor's review (202, the record unchanged), or refused with why."""

    outcome = None

    def handle_exception(self, exc):
        if isinstance(exc, workflow.Refused):
            field = "reason" if exc.code == "reason" else getattr(exc, "field", "detail")
            message = " ".join(exc.messages)
            refused = APIException({"detail": message} if field == "detail" else {field: [message]})
            refused.status_code = REFUSED_STATUS.get(exc.code, status.HTTP_409_CONFLICT)
            exc = refused
        return super().handle_exception(exc)

    @transaction.atomic
    def _write(self, serializer, record):
        # One transaction, the record's version checked at each step: a change and a
        # step in one request are taken on the record as it was read, or not at all.
        data = dict(serializer.validated_data)
        reason, target = data.pop("reason", ""), data.pop("state", None)
        read = getattr(record, "version", None) if record.pk else None
        for name, value in data.items():
            setattr(record, name, value)
        self.outcome = workflow.save(record, self.request.user, reason, version=read)
        serializer.instance = self.outcome.record
        if target is not None and target != self.outcome.record.state:
            version = self.outcome.record.version if self.outcome.changed else read
            try:
                serializer.instance = workflow.transition(
                    self.outcome.record, target, self.request.user, reason, version=version
                )
            except workflow.Refused as error:
                error.field = "state" if error.code == "condition" else "detail"
                raise

    def perform_create(self, serializer):
        self._write(serializer, serializer.Meta.model())

    def perform_update(self, serializer):
        # After the body is read and checked (bad input is a 400 first), before anything
        # is written.
        self.check_if_match(serializer.instance)
        # A copy: the instance read for this request stays as read, for the workflow to
        # compare with what is stored now.
        self._write(serializer, copy.copy(serializer.instance))

    def perform_destroy(self, instance):
        self.check_if_match(instance)
        reason = self.request.query_params.get("reason", "")
        self.outcome = workflow.delete(instance, self.request.user, reason)

    def _accepted(self, response):
        if self.outcome is not None and self.outcome.pending:
            body = {
                "detail": self.outcome.describe(),
                "pending_change": self.outcome.proposal.pk,
            }
            if response.data is not None:
                body["record"] = response.data
            return Response(body, status=status.HTTP_202_ACCEPTED)
        return response

    def check_if_match(self, instance):
        """A write names the record as its writer last read it (If-Match, with the ETag
        of its JSON): 428 without, 412 when it has changed since."""
        given = [tag.strip() for tag in self.request.headers.get("If-Match", "").split(",")]
        if not any(given):
            raise PreconditionRequired
        shown = FastJSONRenderer().render(self.get_serializer(instance).data)
        if "*" not in given and representation_etag(shown) not in given:
            raise PreconditionFailed

    def create(self, request, *args, **kwargs):
        return self._accepted(super().create(request, *args, **kwargs))

    def update(self, request, *args, **kwargs):
        return self._accepted(super().update(request, *args, **kwargs))

    def destroy(self, request, *args, **kwargs):
        return self._accepted(super().destroy(request, *args, **kwargs))


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
class SiteViewSet(WorkflowWrites, RegisterViewSet):
    """Sites: monuments and places, each with its current condition. Add `?format=geojson`
    for every matching site as GeoJSON (RFC 7946, for QGIS), or `?format=csv`."""

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

    def get_queryset(self):
        # Anonymous readers see reviewed sites and names only; curators, all of them.
        sites = Site.objects.with_record().select_related("parent")
        if self.sees_unpublished():
            return sites.prefetch_related("names")
        return sites.public().prefetch_related(Prefetch("names", SiteName.objects.public()))

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
class DamageEventViewSet(WorkflowWrites, RegisterViewSet):
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
            Citation.objects.filter(
                REVIEWED_EVIDENCE, event_id__in=[event["id"] for event in events]
            )
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
