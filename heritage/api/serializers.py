"""The API's serializers: what a site and an event look like to a reader."""

import copy
import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import F
from rest_framework import (
    serializers,
)

from heritage.dataset import iso_bound
from heritage.dates import describe_edtf
from heritage.models import (
    GRADE_EXPLANATIONS,
    Actor,
    DamageEvent,
    Site,
    SiteName,
    State,
)
from heritage.views import url_parts


class OnlyText:
    """A text field that takes only text: DRF would take 0 or true for "0" and "True"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError("Give text, as a JSON string.", code="invalid")
        return super().to_internal_value(data)


class TextField(OnlyText, serializers.CharField):
    pass


class SlugText(OnlyText, serializers.SlugField):
    pass


class URLText(OnlyText, serializers.URLField):
    pass


class ModelValidation:
    """Serializer mixin: the model's own validation (quote check, EDTF dates, the grade
    override's reason) runs on API writes as it does in the admin; text fields take text
    only."""

    serializer_field_mapping = serializers.ModelSerializer.serializer_field_mapping | {
        models.CharField: TextField,
        models.TextField: TextField,
        models.SlugField: SlugText,
        models.URLField: URLText,
    }

    def validate(self, attrs):
        attrs = super().validate(attrs)
        # A copy: the stored instance must keep its old values until it is saved, for
        # the checks that compare old and new (publishing, moving a citation).
        instance = copy.copy(self.instance) if self.instance else self.Meta.model()
        for name, value in attrs.items():
            if name != "reason":
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

    def run_validation(self, data=serializers.empty):
        # DRF reads "" as null, for HTML forms; in JSON a reference is a slug or null.
        if data == "":
            raise serializers.ValidationError("Give a slug, or null for none.")
        return super().run_validation(data)

    def to_internal_value(self, data):
        if "\x00" in str(data):
            raise serializers.ValidationError("Null characters are not allowed.")
        return super().to_internal_value(data)


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


class ReasonField(TextField):
    """Why a write is made: kept in the record's history, and required for a change to
    the published record and for every change of state."""

    def __init__(self, **kwargs):
        super().__init__(
            write_only=True,
            required=False,
            allow_blank=True,
            max_length=500,
            help_text="Why: kept in the history; required for a change to the published "
            "record and for a change of state.",
            **kwargs,
        )


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
    reason = ReasonField()

    class Meta:
        model = DamageEvent
        fields = [
            "id", "url", "page", "site", "site_name", "kind", "summary", "date", "date_lower",
            "date_upper", "date_text", "level", "extent", "cause", "actor", "condition_after",
            "description", "state", "grade", "grade_explanation", "grade_override",
            "grade_override_reason", "has_conflict", "citations", "created", "updated",
            "reason",
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
        if self.instance is None and attrs.get("state", State.DRAFT) != State.DRAFT:
            raise serializers.ValidationError(
                {"state": ["A new event is a draft: send it for review, then publish it."]}
            )
        return super().validate(attrs)


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
