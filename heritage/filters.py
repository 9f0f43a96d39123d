"""The filters of the site and event lists, shared by the public pages and the API.

One FilterSet per model, in django-filter's own idiom: each filter does its own work.
A period's two ends are two filters, each reading its date with the bounded reader
(heritage.dates.edtf_bounds) once; on sites, the filters about events (cause, grade,
period) together keep the sites with one published event that has them all
(SiteQuerySet.with_published_event).
"""

import datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from heritage.dates import edtf_bounds
from heritage.models import (
    REVIEWED_EVIDENCE,
    Actor,
    Cause,
    DamageEvent,
    DamageLevel,
    Grade,
    Site,
    SiteKind,
    SiteName,
    State,
)
from heritage.search import search

PERIOD_HELP = "A year, a month or a day: 2015, 2015-09 or 2015-09-01."


class PeriodBoundField(forms.CharField):
    """One end of a period, as a year, a month or a day (any EDTF date), cleaned to the
    day it stands for: its first for `start`, its last for `end`."""

    def __init__(self, *args, end, **kwargs):
        self.end = end
        kwargs.setdefault("max_length", 64)
        super().__init__(*args, **kwargs)

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        try:
            lower, upper = edtf_bounds(text)
        except ValidationError as error:
            if error.code in ("too_long", "edtf_set"):
                raise
            raise ValidationError(
                "“%(value)s” is not a year, a month or a day.",
                code="invalid_date",
                params={"value": text},
            ) from error
        return lower if self.end == "start" else upper


# Documented as text: an EDTF date, which no model field of its own describes.
@extend_schema_field(OpenApiTypes.STR)
class PeriodBoundFilter(django_filters.Filter):
    """One end of a period: the events that may have happened after its start, or
    before its end (their possible dates overlap the period)."""

    field_class = PeriodBoundField

    def __init__(self, *args, end, **kwargs):
        kwargs.setdefault("help_text", PERIOD_HELP)
        kwargs["end"] = end
        super().__init__(*args, **kwargs)
        self.end = end
        self.extra["widget"] = forms.TextInput(attrs={"placeholder": "2015-09", "size": 10})

    def condition(self, day):
        return Q(date_upper__gte=day) if self.end == "start" else Q(date_lower__lte=day)

    def filter(self, queryset, value):
        if value is None:
            return queryset
        if queryset.model is Site:
            return queryset.with_published_event(self.condition(value))
        return queryset.filter(self.condition(value))


class EventPropertyFilter(django_filters.ChoiceFilter):
    """A property of an event (its cause, its grade): on events, the events with it; on
    sites, the sites with a published event that has it (and the other event filters'
    properties: SiteQuerySet.with_published_event)."""

    def filter(self, queryset, value):
        if value in django_filters.constants.EMPTY_VALUES:
            return queryset
        condition = Q(**{self.field_name: value})
        if queryset.model is Site:
            return queryset.with_published_event(condition)
        return queryset.filter(condition)


class SearchFilter(django_filters.CharFilter):
    """Words to find in these fields (heritage/search.py)."""

    def __init__(self, *args, fields, **kwargs):
        self.fields = fields
        kwargs.setdefault("label", "Search")
        kwargs.setdefault("max_length", 200)
        super().__init__(*args, **kwargs)

    def filter(self, queryset, value):
        return search(queryset, value, self.fields) if value else queryset


class CitedFilter(django_filters.CharFilter):
    """Events with reviewed evidence from a source matching `lookup` (an id, a
    publisher's name): EXISTS rather than a join, which would repeat an event."""

    def __init__(self, *args, lookup, **kwargs):
        self.lookup = lookup
        super().__init__(*args, **kwargs)

    def filter(self, queryset, value):
        if value in django_filters.constants.EMPTY_VALUES:
            return queryset
        citations = DamageEvent._meta.get_field("citations").related_model.objects
        cited = citations.filter(REVIEWED_EVIDENCE, event=OuterRef("pk"), **{self.lookup: value})
        return queryset.filter(Exists(cited))


class CitedSourceFilter(CitedFilter):
    """Events citing a source, by its id: a whole number the databases can hold."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, lookup="source_id", min_value=1, max_value=2**63 - 1, **kwargs)


class ChangedSinceField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 moment, turned into UTC: PostgreSQL refuses offsets beyond ±15:59,
    which ISO allows, and a moment at the edge of the calendar may not fit in UTC."""

    def clean(self, value):
        moment = super().clean(value)
        if moment is None or timezone.is_naive(moment):
            return moment
        try:
            return moment.astimezone(datetime.UTC)
        except OverflowError as error:
            raise ValidationError("This moment is outside the calendar.", code="invalid") from error


class IdFilter(django_filters.NumberFilter):
    """A record's id: a whole number the databases can hold."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class ChangedSinceFilter(django_filters.IsoDateTimeFilter):
    """Records changed at or after an ISO 8601 moment, for incremental pulls."""

    field_class = ChangedSinceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("field_name", "updated")
        kwargs.setdefault("lookup_expr", "gte")
        kwargs.setdefault("label", "Changed since")
        kwargs.setdefault(
            "help_text", "ISO 8601 date and time, e.g. 2026-11-21T00:00:00Z: what changed since."
        )
        super().__init__(*args, **kwargs)


class OrderingFilter(django_filters.OrderingFilter):
    """Sorting that puts rows without a value last, whichever way and whichever database
    (PostgreSQL puts NULLs first when descending, SQLite when ascending)."""

    def filter(self, queryset, value):
        if value in ([], (), {}, "", None):
            return queryset
        ordering = []
        for param in value:
            name = self.get_ordering_value(param)
            field = F(name.removeprefix("-"))
            ordering.append(
                field.desc(nulls_last=True) if name.startswith("-") else field.asc(nulls_last=True)
            )
        return queryset.order_by(*ordering, "pk")


class PeriodForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_after"), cleaned.get("date_before")
        if start and end and start > end:
            self.add_error("date_before", "The period ends before it begins.")
        return cleaned


# A site's own names and those of the places it lies in, up its parent chain (monument ›
# place › governorate › country): searching a place, by any of its names, finds what
# happened to its monuments.
PLACE_DEPTH = 4


def place_names(to_site=""):
    fields, path = [], to_site
    for _ in range(PLACE_DEPTH):
        fields += [f"{path}name", f"{path}names__name"]
        path += "parent__"
    return fields


class SiteReferenceFilter(django_filters.CharFilter):
    """A site by its slug or by any of its names (in any case)."""

    def filter(self, queryset, value):
        if value in django_filters.constants.EMPTY_VALUES:
            return queryset
        named = SiteName.objects.filter(site=OuterRef("site"), name__iexact=value, approved=True)
        return queryset.filter(Q(site__slug=value) | Q(site__name__iexact=value) | Exists(named))


class DamageEventFilter(django_filters.FilterSet):
    # Filters for scripts, left off the public pages' forms.
    api_only = {"updated_since", "source", "publisher", "state"}

    q = SearchFilter(fields=["summary", "description", *place_names("site__")])
    site = SiteReferenceFilter(label="Site (its slug or one of its names)")
    site_kind = django_filters.ChoiceFilter(
        field_name="site__kind", choices=SiteKind.choices, empty_label="Any", label="Kind of site"
    )
    kind = django_filters.ChoiceFilter(
        empty_label="Any", choices=DamageEvent._meta.get_field("kind").choices
    )
    level = django_filters.MultipleChoiceFilter(
        choices=DamageLevel.choices, label="Damage level", widget=forms.CheckboxSelectMultiple
    )
    cause = EventPropertyFilter(empty_label="Any", choices=Cause.choices)
    grade = EventPropertyFilter(
        empty_label="Any", choices=Grade.choices, label="Verification grade"
    )
    # Only actors of published events: any other would reveal a draft. EXISTS, not a
    # join and DISTINCT, which would read every event of every actor.
    actor = django_filters.ModelChoiceFilter(
        queryset=Actor.objects.filter(
            Exists(DamageEvent.objects.filter(actor=OuterRef("pk"), state=State.PUBLISHED))
        ),
        to_field_name="name",  # as events show it
        empty_label="Any",
    )
    year = django_filters.NumberFilter(
        method="filter_year",
        label="Year",
        min_value=1,
        max_value=9999,
        widget=forms.NumberInput(attrs={"placeholder": "2015"}),
    )
    date_after = PeriodBoundFilter(label="From", end="start")
    date_before = PeriodBoundFilter(label="To", end="end")
    state = django_filters.ChoiceFilter(
        choices=State.choices, empty_label="Any", help_text="Only curators see drafts."
    )
    source = CitedSourceFilter(label="Cited source (id)")
    publisher = CitedFilter(
        lookup="source__publisher__icontains", label="Cited publisher", max_length=200
    )
    updated_since = ChangedSinceFilter()
    ordering = OrderingFilter(
        fields=[("date_lower", "date"), ("site__name", "site"), ("updated", "updated")],
        field_labels={"date_lower": "Date", "site__name": "Site", "updated": "Last updated"},
        label="Sort by",
        empty_label="Default",
    )

    class Meta:
        model = DamageEvent
        form = PeriodForm
        fields = ["q", "site", "site_kind", "kind", "level", "cause", "grade", "actor", "year",
                  "date_after", "date_before", "state", "source", "publisher",
                  "updated_since"]  # fmt: skip

    def filter_year(self, queryset, name, year):
        return queryset.overlapping(
            datetime.date(int(year), 1, 1), datetime.date(int(year), 12, 31)
        )


class SiteFilter(django_filters.FilterSet):
    api_only = {"updated_since"}

    q = SearchFilter(fields=[*place_names(), "description"])
    kind = django_filters.ChoiceFilter(empty_label="Any", choices=SiteKind.choices)
    condition = django_filters.ChoiceFilter(
        empty_label="Any", choices=DamageLevel.choices, label="Current condition"
    )
    cause = EventPropertyFilter(empty_label="Any", choices=Cause.choices, label="Cause of an event")
    grade = EventPropertyFilter(empty_label="Any", choices=Grade.choices, label="Grade of an event")
    date_after = PeriodBoundFilter(label="From", end="start")
    date_before = PeriodBoundFilter(label="To", end="end")
    updated_since = ChangedSinceFilter()
    ordering = OrderingFilter(
        fields=[
            ("name", "name"),
            ("last_event", "latest"),
            ("event_count", "events"),
            ("updated", "updated"),
        ],
        field_labels={
            "name": "Name",
            "last_event": "Latest event",
            "event_count": "Events",
            "updated": "Last updated",
        },
        label="Sort by",
        empty_label="Default",
    )

    class Meta:
        model = Site
        form = PeriodForm
        fields = ["q", "kind", "condition", "cause", "grade", "date_after", "date_before",
                  "updated_since"]  # fmt: skip
