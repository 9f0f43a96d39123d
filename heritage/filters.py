"""The filters of the site and event lists, shared by the public pages and the API."""

import datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

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
    State,
)
from heritage.search import search

PERIOD_HELP = "A year, a month or a day: 2015, 2015-09 or 2015-09-01."


def validate_period_bound(value):
    try:
        edtf_bounds(value)
    except ValidationError as error:
        raise ValidationError(
            "“%(value)s” is not a year, a month or a day.",
            code="invalid_date",
            params={"value": value},
        ) from error


class PeriodBoundFilter(django_filters.CharFilter):
    """One end of a period, written as a year, a month or a day (any EDTF date). The
    filtering itself is done by the FilterSet, which sees both ends at once."""

    def __init__(self, *args, end, **kwargs):
        self.end = end
        kwargs.setdefault("method", "filter_nothing")
        kwargs.setdefault("help_text", PERIOD_HELP)
        super().__init__(*args, validators=[validate_period_bound], **kwargs)
        self.extra["widget"] = forms.TextInput(attrs={"placeholder": "2015-09", "size": 10})

    def bound(self, value):
        """The period's first day for `from`, its last for `to`."""
        lower, upper = edtf_bounds(value)
        return lower if self.end == "start" else upper


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
        if start and end and edtf_bounds(start)[0] > edtf_bounds(end)[1]:
            self.add_error("date_before", "The period ends before it begins.")
        return cleaned


class RecordFilterSet(django_filters.FilterSet):
    """What the site and event lists share: the words to search for, the period, and
    the incremental pull of the API."""

    # Filters for scripts, left off the public pages' forms.
    api_only = {"updated_since"}

    q = django_filters.CharFilter(method="filter_nothing", label="Search")
    date_after = PeriodBoundFilter(label="From", end="start")
    date_before = PeriodBoundFilter(label="To", end="end")
    updated_since = ChangedSinceFilter()

    def filter_nothing(self, queryset, name, value):
        return queryset  # applied in filter_queryset, together with the others

    def period(self):
        data = self.form.cleaned_data
        start = (
            self.filters["date_after"].bound(data["date_after"]) if data.get("date_after") else None
        )
        end = (
            self.filters["date_before"].bound(data["date_before"])
            if data.get("date_before")
            else None
        )
        return start, end


class DamageEventFilter(RecordFilterSet):
    api_only = {"updated_since", "source", "publisher", "state"}

    site = django_filters.CharFilter(field_name="site__slug", label="Site (its slug)")
    state = django_filters.ChoiceFilter(
        choices=State.choices, empty_label="Any", help_text="Only curators see drafts."
    )
    source = IdFilter(method="filter_nothing", label="Cited source (id)")
    publisher = django_filters.CharFilter(method="filter_nothing", label="Cited publisher")
    kind = django_filters.ChoiceFilter(
        empty_label="Any", choices=DamageEvent._meta.get_field("kind").choices
    )
    level = django_filters.MultipleChoiceFilter(
        choices=DamageLevel.choices,
        label="Damage level",
        widget=forms.CheckboxSelectMultiple,
        method="filter_nothing",
    )
    cause = django_filters.ChoiceFilter(
        empty_label="Any", choices=Cause.choices, method="filter_nothing"
    )
    grade = django_filters.ChoiceFilter(
        empty_label="Any",
        choices=Grade.choices,
        label="Verification grade",
        method="filter_nothing",
    )
    # Only actors of published events: any other would reveal a draft. EXISTS, not a
    # join and DISTINCT, which would read every event of every actor.
    actor = django_filters.ModelChoiceFilter(
        queryset=Actor.objects.filter(
            Exists(DamageEvent.objects.filter(actor=OuterRef("pk"), state=State.PUBLISHED))
        ),
        to_field_name="name",  # as events show it
        method="filter_nothing",
        empty_label="Any",
    )
    site_kind = django_filters.ChoiceFilter(
        field_name="site__kind", choices=SiteKind.choices, empty_label="Any", label="Kind of site"
    )
    year = django_filters.NumberFilter(
        method="filter_year",
        label="Year",
        min_value=1,
        max_value=9999,
        widget=forms.NumberInput(attrs={"placeholder": "2015"}),
    )
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

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        start, end = self.period()
        queryset = queryset.matching(
            cause=data.get("cause"),
            grade=data.get("grade"),
            actor=data.get("actor"),
            levels=data.get("level"),
            start=start,
            end=end,
        )
        citations = DamageEvent._meta.get_field("citations").related_model.objects.filter(
            REVIEWED_EVIDENCE
        )
        if data.get("source"):
            cited = citations.filter(event=OuterRef("pk"), source_id=data["source"])
            queryset = queryset.filter(Exists(cited))
        if data.get("publisher"):
            cited = citations.filter(
                event=OuterRef("pk"), source__publisher__icontains=data["publisher"]
            )
            queryset = queryset.filter(Exists(cited))
        fields = ["summary", "description", "site__name", "site__names__name"]
        return search(queryset, data.get("q"), fields)


class SiteFilter(RecordFilterSet):
    kind = django_filters.ChoiceFilter(empty_label="Any", choices=SiteKind.choices)
    condition = django_filters.ChoiceFilter(
        empty_label="Any", choices=DamageLevel.choices, label="Current condition"
    )
    cause = django_filters.ChoiceFilter(
        empty_label="Any", choices=Cause.choices, method="filter_nothing", label="Cause of an event"
    )
    grade = django_filters.ChoiceFilter(
        empty_label="Any", choices=Grade.choices, method="filter_nothing", label="Grade of an event"
    )
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

    def filter_queryset(self, queryset):
        """Site fields filter sites; event fields keep the sites with a published event
        that has all of them at once."""
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        start, end = self.period()
        if any([data.get("cause"), data.get("grade"), start, end]):
            events = DamageEvent.objects.published().matching(
                cause=data.get("cause"), grade=data.get("grade"), start=start, end=end
            )
            queryset = queryset.filter(Exists(events.filter(site=OuterRef("pk"))))
        return search(queryset, data.get("q"), ["name", "names__name", "description"])
