"""The API's serializers: what a site and an event look like to a reader."""

import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import (
    serializers,
)

from heritage import shapes
from heritage.models import (
    Actor,
    DamageEvent,
    DamageLevel,
    Site,
    SiteName,
    State,
)


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
    page = serializers.URLField(read_only=True, help_text="The site's public page.")
    parent = SlugField(
        slug_field="slug", queryset=Site.objects.all(), allow_null=True, required=False
    )
    names = SiteNameSerializer(many=True, read_only=True)
    condition = serializers.ChoiceField(
        choices=DamageLevel.choices,
        read_only=True,
        allow_null=True,
        help_text="Damage level after the latest published event; null without one.",
    )
    event_count = serializers.IntegerField(read_only=True, help_text="Published events.")
    last_event = serializers.DateField(
        read_only=True,
        allow_null=True,
        help_text="Latest possible day of the latest published event.",
    )

    class Meta:
        model = Site
        fields = [
            "slug", "url", "page", "name", "kind", "parent", "names", "latitude", "longitude",
            "location_precision", "description", "built", "unesco_ref", "wikidata",
            "pleiades", "condition", "event_count", "last_event", "created", "updated",
        ]  # fmt: skip
        read_only_fields = ["created", "updated"]

    def to_representation(self, site):
        # The one shape a site has (heritage/shapes.py), which the stored documents
        # hold too; the fields above describe it for the schema and take writes.
        return shapes.site_shape(
            site, site.names.all(), shapes.Addresses.of(self.context["request"])
        )

    def validate(self, attrs):
        # Stored as null when absent, as the admin does: they are unique when given.
        for name in ("wikidata", "pleiades"):
            if attrs.get(name) == "":
                attrs[name] = None
        return super().validate(attrs)


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
    claimed_lower = serializers.DateField(allow_null=True)
    claimed_upper = serializers.DateField(allow_null=True)
    note = serializers.CharField()


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
    page = serializers.URLField(read_only=True, help_text="The event on its site's public page.")
    site = SlugField(slug_field="slug", queryset=Site.objects.all())
    site_name = serializers.CharField(source="site.name", read_only=True)
    actor = SlugField(
        slug_field="name", queryset=Actor.objects.all(), allow_null=True, required=False
    )
    date_lower = serializers.DateField(
        read_only=True,
        allow_null=True,
        help_text="Earliest possible day; null when the interval is open.",
    )
    date_upper = serializers.DateField(
        read_only=True,
        allow_null=True,
        help_text="Latest possible day; null when the interval is open.",
    )
    date_text = serializers.CharField(read_only=True, help_text="The date in words.")
    grade_explanation = serializers.CharField(read_only=True)
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

    def to_representation(self, event):
        # The one shape an event has (heritage/shapes.py), which pages of events and the
        # stored documents hold too; the fields above describe it and take writes.
        return shapes.event_instance_shape(event, shapes.Addresses.of(self.context["request"]))

    def validate(self, attrs):
        if self.instance is None and attrs.get("state", State.DRAFT) != State.DRAFT:
            raise serializers.ValidationError(
                {"state": ["A new event is a draft: send it for review, then publish it."]}
            )
        return super().validate(attrs)
