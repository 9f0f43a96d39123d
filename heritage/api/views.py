"""The API's endpoints: sites, events and the full download."""

import contextlib
import copy
import itertools
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, ProtectedError
from django.http import FileResponse, Http404
from django.urls import NoReverseMatch, reverse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import (
    permissions,
    renderers,
    routers,
    serializers,
    status,
    viewsets,
)
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import (
    APIException,
    ValidationError,
)
from rest_framework.response import Response
from rest_framework.settings import api_settings

from heritage import dataset, readmodel, shapes, workflow
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
    Documents,
    FastJSONRenderer,
    GeoJSONRenderer,
    JSONParser,
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
    DamageEventSerializer,
    SiteSerializer,
)
from heritage.filters import DamageEventFilter, SiteFilter
from heritage.models import (
    Actor,
    DamageEvent,
    EventDocument,
    Site,
    SiteDocument,
    SiteFeature,
    State,
    related_count,
)


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
    # The read model's documents of this endpoint's records (heritage/readmodel.py),
    # which anonymous readers' lists are made of; None where there are none.
    document_model = None

    def reads_documents(self):
        return self.document_model is not None and not self.sees_unpublished()

    def csv_lines(self, queryset):
        if self.reads_documents():
            # In the order of the list's pages, which an index holds: the models' own
            # ordering (by both date bounds) made SQLite sort every row with its line.
            lines = self.documents(queryset.order_by(*self.ordering), "csv", chunk=2000)
            # Sent a thousand lines at a time: a write to the socket per line cost more
            # than reading them.
            return ("".join(part) for part in itertools.batched(lines, 1000))
        return (dataset.csv_line(row) for row in dataset.rows(queryset, self.csv_table))

    def documents(self, queryset, field="json", chunk=None, model=None, relation="document"):
        """The stored documents (`field` of `model`, the view's document_model unless
        given, reached through `relation`) of `queryset`'s records in its order: one
        query, or `chunk` rows at a time when `chunk` is given (a whole list streamed).
        Tuples, not dicts: ten thousand rows made into dicts cost more than the query."""
        model = model or self.document_model
        rows = queryset.values_list("pk", f"{relation}__{field}", f"{relation}__shape")
        if chunk is None:
            return readmodel.documents_for(model, list(rows), field)
        return self._stream_documents(model, rows, field, chunk)

    def _stream_documents(self, model, rows, field, chunk):
        for batch in itertools.batched(rows.iterator(chunk_size=chunk), chunk):
            yield from readmodel.documents_for(model, list(batch), field)

    @property
    def ordering(self):
        """The ordering asked for (a valid one: filter_queryset has refused any other)."""
        return self.cursor_orderings[self.request.query_params.get("ordering", "")]

    @property
    def position_fields(self):
        """The field a cursor reads a row's position from: the ordering's first."""
        return [name.lstrip("-") for name in self.ordering if name.lstrip("-") != "pk"][:1]

    def document_page(self, queryset):
        """A page of stored documents: one query, no Python per row but the cursor's."""
        rows = queryset.values(
            *self.position_fields,
            pk=F("pk"),
            doc=F("document__json"),
            shape=F("document__shape"),
        )
        page = [(row["pk"], row["doc"], row["shape"]) for row in self.paginate_queryset(rows)]
        texts = readmodel.documents_for(self.document_model, page)
        body = readmodel.absolute(readmodel.joined(texts), self.request)
        return self.get_paginated_response(Documents(body))

    def perform_content_negotiation(self, request, force=False):
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            # A write answers with the record in JSON, whatever `format` asks: the
            # other formats are exports of what is read.
            return FastJSONRenderer(), FastJSONRenderer.media_type
        # DRF answers a `format` it does not know with 404 "Not found", as if the
        # address were wrong: say which parameter is, and what it may be.
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            asked = request.query_params.get(api_settings.URL_FORMAT_OVERRIDE, "")
            choices = ", ".join(r.format for r in self.get_renderers() if r.format != "api")
            raise ValidationError(
                {"format": [f"“{asked[:40]}” is not a format of this address: {choices}."]}
            ) from None

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
            lines = self.csv_lines(self.filter_queryset(self.get_queryset()))
            return stream_csv(dataset.header(self.csv_table), lines, self.csv_filename)
        if self.reads_documents():
            return self.document_page(self.filter_queryset(self.get_queryset()))
        if self.list_rows is not None:
            page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
            return self.get_paginated_response(self.list_rows(page))
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "csv":
            # One record in the list's columns, so that it reads like a row of the export
            # (a nested citation would otherwise become a Python repr in a cell).
            record = self.get_object()
            lines = self.csv_lines(self.get_queryset().filter(pk=record.pk))
            return stream_csv(
                dataset.header(self.csv_table), lines, f"{self.basename}-{record.pk}.csv"
            )
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
    document_model = SiteDocument

    def get_queryset(self):
        # Anonymous readers see reviewed sites and names only; curators, all of them.
        if self.reads_documents() and self.action == "list":
            return Site.objects.public()  # the rest is in each site's stored document
        sites = Site.objects.with_record().select_related("parent")
        if self.sees_unpublished():
            return sites.prefetch_related("names")
        return sites.public().prefetch_related(shapes.public_names())

    def list(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "geojson":
            return Response({"type": "FeatureCollection", "features": self.features()})
        return super().list(request, *args, **kwargs)

    def record_documents(self):
        return SiteDocument.objects.filter(site__slug=self.kwargs[self.lookup_field])

    def features(self):
        sites = self.filter_queryset(self.get_queryset())
        if self.reads_documents():
            features = self.documents(sites, "feature", model=SiteFeature, relation="feature")
            features = readmodel.joined(features)
            # A feature's one address is its page.
            return Documents(readmodel.absolute(features, self.request, keys=("page",)))
        addresses = shapes.Addresses.of(self.request)
        return [
            shapes.site_feature(shapes.site_shape(site, [], addresses))
            for site in sites.prefetch_related(None).iterator(chunk_size=2000)
        ]

    def retrieve(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "geojson":
            site = self.get_object()
            shape = shapes.site_shape(site, [], shapes.Addresses.of(request))
            return Response(shapes.site_feature(shape))
        return super().retrieve(request, *args, **kwargs)


@extend_schema_view(
    list=extend_schema(
        responses={
            (200, "application/json"): DamageEventSerializer,
            (200, "application/geo+json"): OpenApiResponse(
                GEOJSON_COLLECTION,
                description="Every matching event at its site's point (RFC 7946).",
            ),
            (200, "text/csv"): CSV_RESPONSE,
        }
    ),
    retrieve=extend_schema(
        responses={
            (200, "application/json"): DamageEventSerializer,
            (200, "application/geo+json"): OpenApiResponse(GEOJSON_FEATURE),
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
        # Offered by the events page and the filter's schema: by the site's name.
        "site": ("site__name", "pk"),
        "-site": ("-site__name", "-pk"),
    }
    csv_filename = "events.csv"
    csv_table = "events"
    document_model = EventDocument
    renderer_classes = [*RegisterViewSet.renderer_classes, GeoJSONRenderer]

    def event_features(self, events):
        """Events as GeoJSON features at their sites' public points (a sensitive site's
        rounded: Site.public_point)."""
        page = self.request.build_absolute_uri("/").removesuffix("/")
        for event in events.select_related("site").iterator(chunk_size=2000):
            latitude, longitude, precision = event.site.public_point()
            located = latitude is not None and longitude is not None
            yield {
                "type": "Feature",
                "id": str(event.pk),
                "geometry": {"type": "Point", "coordinates": [float(longitude), float(latitude)]}
                if located
                else None,
                "properties": {
                    "id": event.pk, "kind": event.kind, "summary": event.summary,
                    "date": event.date, "date_lower": dataset.iso_bound(event.date_lower),
                    "date_upper": dataset.iso_bound(event.date_upper), "level": event.level,
                    "grade": event.grade, "site": event.site.slug, "site_name": event.site.name,
                    "location_precision": precision or None,
                    "page": page + event.get_absolute_url(),
                },
            }  # fmt: skip

    def get_queryset(self):
        # A list reads plain values (paginate_queryset); one event, model instances.
        events = DamageEvent.objects.all()
        if self.action != "list":
            events = events.for_timeline()
        return events if self.sees_unpublished() else events.published()

    def record_documents(self):
        pk = int(self.kwargs["pk"])  # digits only (lookup_value_regex)
        if pk >= 2**63:  # no database holds such an id, and SQLite cannot even ask
            return EventDocument.objects.none()
        return EventDocument.objects.filter(event_id=pk)

    def paginate_queryset(self, queryset):
        if self.action == "list" and not self.reads_documents():
            queryset = queryset.values(*shapes.EVENT_VALUES, **shapes.EVENT_RELATED)
        return super().paginate_queryset(queryset)

    def list(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "geojson":
            events = self.filter_queryset(self.get_queryset()).order_by(*self.ordering)
            features = list(self.event_features(events))
            return Response({"type": "FeatureCollection", "features": features})
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "geojson":
            event = self.get_object()
            [feature] = self.event_features(DamageEvent.objects.filter(pk=event.pk))
            return Response(feature)
        return super().retrieve(request, *args, **kwargs)

    def list_rows(self, events):
        """A curator's page of events (drafts too, which have no stored document), from
        two queries of plain values rather than through the serializer: the same shape
        (heritage/shapes.py) at a tenth of the time."""
        return shapes.event_shapes(events, shapes.Addresses.of(self.request))


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


class RegisterRootView(routers.APIRootView):
    """The API's root: its lists, and what else a reader looks for first (the schema,
    its documentation, the change feed, the whole dataset)."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        for key, name in ROOT_LINKS.items():
            with contextlib.suppress(NoReverseMatch):  # the releases' page, once it exists
                response.data[key] = request.build_absolute_uri(reverse(name))
        return response


ROOT_LINKS = {
    "changes": "api:changes",
    "dump": "api:dump",
    "schema": "api:schema",
    "docs": "api:docs",
    "feeds": "heritage:feed-events",
    "releases": "heritage:data",
}


class ActorSerializer(serializers.ModelSerializer):
    event_count = serializers.IntegerField(read_only=True, help_text="Its published events.")
    events = serializers.SerializerMethodField(help_text="Its published events, in the API.")

    class Meta:
        model = Actor
        fields = ["id", "name", "description", "event_count", "events"]

    def get_events(self, actor) -> str:
        query = urlencode({"actor": actor.name})
        return self.context["request"].build_absolute_uri(f"{reverse('api:event-list')}?{query}")


class ActorViewSet(ConditionalAnswers, viewsets.ReadOnlyModelViewSet):
    """Who the events name as responsible: the actors of published events, each with how
    many it has. The events filter takes an actor by its name (`?actor=Islamic State`)."""

    serializer_class = ActorSerializer
    permission_classes = [permissions.AllowAny]  # read only: the public record
    renderer_classes = [FastJSONRenderer, renderers.BrowsableAPIRenderer]
    schema = RegisterSchema()  # its 400s and 404s documented, as every endpoint's
    pagination_class = RecordPagination
    cursor_orderings = {"": ("name", "pk")}
    ordering = ("name", "pk")
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        published = DamageEvent.objects.filter(actor=OuterRef("pk"), state=State.PUBLISHED)
        return (
            Actor.objects.public()
            .filter(Exists(published))
            .annotate(event_count=related_count(DamageEvent.objects.published(), "actor"))
            .order_by("name", "pk")
        )
