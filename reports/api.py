"""The API's sources and citations (the shared machinery is in heritage/api/)."""

import datetime

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from edtf import parse_edtf, struct_time_to_date
from edtf.parser.parser_classes import (
    Interval,
    UncertainOrApproximate,
    UnspecifiedIntervalSection,
)
from rest_framework import permissions, renderers, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from heritage.api.conditional import ConditionalAnswers
from heritage.api.pagination import RecordPagination
from heritage.api.renderers import FastJSONRenderer
from heritage.api.schema import CSV_RECORD, CSV_RESPONSE, RegisterSchema
from heritage.api.serializers import ModelValidation, ReasonField
from heritage.api.views import RegisterViewSet, WorkflowWrites
from heritage.dataset import iso_bound
from heritage.dates import edtf_bounds
from heritage.models import DamageEvent
from reports.filters import CitationFilter, SourceFilter
from reports.models import Capture, Citation, Claim, ClaimStatus, Source, SourceKind


class CSLRenderer(renderers.JSONRenderer):
    """CSL-JSON, the citation format Zotero, Mendeley and pandoc import."""

    media_type = "application/vnd.citationstyles.csl+json"
    format = "csl"


CSL_TYPES = {
    SourceKind.NEWS: "article-newspaper",
    SourceKind.SOCIAL: "post",
    SourceKind.SATELLITE: "report",
    SourceKind.AUTHORITY: "report",
    SourceKind.MONITOR: "report",
    SourceKind.OFFICIAL: "report",
    SourceKind.PERPETRATOR: "report",
}


def _csl_parts(section):
    """Date parts as precise as one EDTF date is: [2016, 3] for March 2016."""
    lower = struct_time_to_date(section.lower_strict())
    upper = struct_time_to_date(section.upper_strict())
    whole_month = lower.day == 1 and (upper + datetime.timedelta(days=1)).day == 1
    if lower == upper:
        return [lower.year, lower.month, lower.day]
    if (lower.year, lower.month) == (upper.year, upper.month) and whole_month:
        return [lower.year, lower.month]
    if lower.year == upper.year and (lower.month, lower.day, upper.month, upper.day) == (
        1,
        1,
        12,
        31,
    ):
        return [lower.year]
    return None


def csl_date(value):
    """An EDTF date as CSL-JSON: `date-parts` as precise as the date ("2016-03" gives
    year and month), two of them for an interval, `circa` for "about"; {"raw": …} for
    what CSL cannot say (an open interval, a season)."""
    try:
        edtf_bounds(value)
        parsed = parse_edtf(value.strip())
    except Exception:
        return {"raw": value}
    sections = [parsed.lower, parsed.upper] if isinstance(parsed, Interval) else [parsed]
    parts, circa = [], False
    for section in sections:
        if isinstance(section, UncertainOrApproximate):
            circa = circa or "~" in str(section.ua) or "%" in str(section.ua)
            section = section.date
        part = None if isinstance(section, UnspecifiedIntervalSection) else _csl_parts(section)
        if part is None:
            return {"raw": value}
        parts.append(part)
    return {"date-parts": parts, **({"circa": True} if circa else {})}


def csl_item(source, request):
    item = {
        "id": f"heritage-register-source-{source.pk}",
        "type": CSL_TYPES.get(source.kind, "document"),
        "title": source.title,
        "publisher": source.publisher or None,
        "author": [{"literal": name.strip()} for name in source.authors.split(";") if name.strip()],
        "issued": csl_date(source.published) if source.published else None,
        "URL": source.url or request.build_absolute_uri(source.get_absolute_url()),
        "accessed": (
            {"date-parts": [[source.accessed.year, source.accessed.month, source.accessed.day]]}
            if source.accessed
            else None
        ),
        "language": source.language or None,
        "note": f"Archived: {source.archived_url}" if source.archived_url else None,
    }
    return {key: value for key, value in item.items() if value not in (None, [], "")}


def _bound(value, end):
    if not value:
        return None
    return iso_bound(edtf_bounds(value)[end])


class CaptureSerializer(serializers.ModelSerializer):
    """A capture as the public sees it: when, what and its hash; not who took it."""

    class Meta:
        model = Capture
        fields = ["id", "captured", "media_type", "size", "sha256", "url", "supersedes"]
        read_only_fields = fields


class SourceSerializer(ModelValidation, serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="api:source-detail")
    page = serializers.SerializerMethodField(help_text="The source's public page.")
    published_lower = serializers.SerializerMethodField(
        help_text="Earliest possible publication day; null when unknown or open."
    )
    published_upper = serializers.SerializerMethodField(
        help_text="Latest possible publication day; null when unknown or open."
    )
    event_count = serializers.SerializerMethodField(help_text="Published events citing it.")
    captures = CaptureSerializer(
        many=True,
        read_only=True,
        help_text="The source as the register received it, oldest first, each with its "
        "SHA-256. Added through the admin or `manage.py ingest`, never through the API.",
    )
    reason = ReasonField()

    class Meta:
        model = Source
        fields = [
            "id", "api_url", "page", "kind", "title", "publisher", "authors", "published",
            "published_lower", "published_upper", "url", "archived_url", "accessed",
            "language", "event_count", "captures", "created", "updated", "reason",
        ]  # fmt: skip
        read_only_fields = ["created", "updated"]

    def get_page(self, source) -> str:
        return self.context["request"].build_absolute_uri(source.get_absolute_url())

    def get_published_lower(self, source) -> str | None:
        return _bound(source.published, 0)

    def get_published_upper(self, source) -> str | None:
        return _bound(source.published, 1)

    def get_event_count(self, source) -> int:
        return getattr(source, "event_count", 0)


CSL_ITEMS = {
    "type": "array",
    "description": "CSL-JSON items, as Zotero imports them.",
    "items": {
        "type": "object",
        "required": ["id", "type", "title"],
        "properties": {
            "id": {"type": "string"},
            "type": {"type": "string"},
            "title": {"type": "string"},
        },
        "additionalProperties": True,
    },
}


@extend_schema_view(
    list=extend_schema(
        responses={
            (200, "application/json"): SourceSerializer,
            (200, "application/vnd.citationstyles.csl+json"): OpenApiResponse(CSL_ITEMS),
            (200, "text/csv"): CSV_RESPONSE,
        }
    ),
    retrieve=extend_schema(
        responses={
            (200, "application/json"): SourceSerializer,
            (200, "application/vnd.citationstyles.csl+json"): OpenApiResponse(CSL_ITEMS),
            (200, "text/csv"): CSV_RECORD,
        }
    ),
)
class SourceViewSet(WorkflowWrites, RegisterViewSet):
    """Sources: the reports behind the events. Add `?format=csl` for every matching
    source as CSL-JSON, which Zotero imports; `?format=csv` for a spreadsheet."""

    serializer_class = SourceSerializer
    filterset_class = SourceFilter
    renderer_classes = [*RegisterViewSet.renderer_classes, CSLRenderer]
    cursor_orderings = {
        "": ("pk",),
        "updated": ("updated", "pk"),
        "-updated": ("-updated", "-pk"),
        "title": ("title", "pk"),
        "-title": ("-title", "-pk"),
    }
    csv_filename = "sources.csv"
    csv_table = "sources"

    def get_queryset(self):
        sources = Source.objects.with_event_count(published_only=True).prefetch_related(
            # Not their text: a capture's working copy may be megabytes.
            Prefetch(
                "captures",
                queryset=Capture.objects.order_by("captured", "pk").only(
                    "source", "captured", "media_type", "size", "sha256", "url", "supersedes"
                ),
            )
        )
        return sources if self.sees_unpublished() else sources.public()

    def list(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "csl":
            sources = self.filter_queryset(self.get_queryset())
            return Response([csl_item(s, request) for s in sources.iterator(chunk_size=2000)])
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "csl":
            return Response([csl_item(self.get_object(), request)])
        return super().retrieve(request, *args, **kwargs)


class CitationSerializer(ModelValidation, serializers.ModelSerializer):
    event = serializers.PrimaryKeyRelatedField(queryset=DamageEvent.objects.all())
    site = serializers.CharField(source="event.site.slug", read_only=True)
    source = serializers.PrimaryKeyRelatedField(queryset=Source.objects.all())
    claimed_lower = serializers.SerializerMethodField()
    claimed_upper = serializers.SerializerMethodField()
    reason = ReasonField()

    class Meta:
        model = Citation
        fields = [
            "id", "event", "site", "source", "quote", "locator", "stance", "basis",
            "certainty", "claimed_level", "claimed_date", "claimed_lower", "claimed_upper",
            "note", "approved", "created", "updated", "reason",
        ]  # fmt: skip
        read_only_fields = ["approved", "created", "updated"]

    def get_claimed_lower(self, citation) -> str | None:
        return iso_bound(citation.claimed_lower)

    def get_claimed_upper(self, citation) -> str | None:
        return iso_bound(citation.claimed_upper)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        citation = self.instance
        if citation is not None:
            withdrawn = attrs.get("stance", citation.stance) != "supports" or (
                attrs.get("event", citation.event) != citation.event
            )
            problem = citation.withdrawal_problem() if withdrawn else None
            if problem:
                raise serializers.ValidationError({"stance": [problem]})
        return attrs


@extend_schema_view(
    list=extend_schema(
        responses={(200, "application/json"): CitationSerializer, (200, "text/csv"): CSV_RESPONSE}
    ),
    retrieve=extend_schema(
        responses={(200, "application/json"): CitationSerializer, (200, "text/csv"): CSV_RECORD}
    ),
)
class CitationViewSet(WorkflowWrites, RegisterViewSet):
    """Citations: one source's claim about one event, in its words."""

    serializer_class = CitationSerializer
    cursor_orderings = {"": ("pk",), "updated": ("updated", "pk"), "-updated": ("-updated", "-pk")}
    csv_filename = "citations.csv"
    csv_table = "citations"
    filterset_class = CitationFilter

    def get_queryset(self):
        citations = Citation.objects.select_related("event__site", "source")
        return citations if self.sees_unpublished() else citations.public()


class ClaimSerializer(serializers.ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Claim
        fields = [
            "id", "source", "site", "matched", "quote", "start", "end", "further_quotes",
            "level", "date", "stance", "confidence", "reason", "status", "citation",
            "created", "updated",
        ]  # fmt: skip
        read_only_fields = fields


class ClaimPermission(permissions.DjangoModelPermissions):
    """Curators' work in progress: staff who may view claims, and no one else; reading
    only (claims are reviewed in the admin's review page)."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map,
                 "GET": ["%(app_label)s.view_%(model_name)s"],
                 "HEAD": ["%(app_label)s.view_%(model_name)s"]}  # fmt: skip


class ClaimViewSet(ConditionalAnswers, viewsets.ReadOnlyModelViewSet):
    """The damage claims intake read in sources' texts, for curators' own tools: filter
    by `status` (proposed, accepted, rejected) and `source` (its id). Staff only."""

    serializer_class = ClaimSerializer
    permission_classes = [ClaimPermission]
    renderer_classes = [FastJSONRenderer, renderers.BrowsableAPIRenderer]
    pagination_class = RecordPagination
    schema = RegisterSchema()
    cursor_orderings = {"": ("pk",)}
    ordering = ("pk",)
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        claims = Claim.objects.select_related("site").order_by("pk")
        status = self.request.query_params.get("status")
        if status is not None:
            if status not in ClaimStatus.values:
                choices = ", ".join(ClaimStatus.values)
                raise ValidationError({"status": [f"Give one of: {choices}."]})
            claims = claims.filter(status=status)
        source = self.request.query_params.get("source")
        if source is not None:
            if not source.isdigit() or int(source) >= 2**63:
                raise ValidationError({"source": ["Give a source's id (a whole number)."]})
            claims = claims.filter(source=int(source))
        return claims
