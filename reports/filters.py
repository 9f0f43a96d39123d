"""The filters of the source list, shared by the public page and the API."""

import django_filters

from heritage.filters import ChangedSinceFilter, IdFilter, OrderingFilter
from heritage.search import search
from reports.models import Citation, Source, SourceKind, Stance


class SourceFilter(django_filters.FilterSet):
    api_only = {"updated_since"}

    q = django_filters.CharFilter(method="filter_words", label="Search")
    updated_since = ChangedSinceFilter()
    kind = django_filters.ChoiceFilter(choices=SourceKind.choices, empty_label="Any")
    publisher = django_filters.CharFilter(lookup_expr="icontains")
    ordering = OrderingFilter(
        fields=[
            ("published_lower", "published"),
            ("title", "title"),
            ("event_count", "events"),
            ("updated", "updated"),
        ],
        field_labels={
            "published_lower": "Publication date",
            "title": "Title",
            "event_count": "Events citing it",
            "updated": "Last updated",
        },
        label="Sort by",
        empty_label="Default",
    )

    class Meta:
        model = Source
        fields = ["q", "kind", "publisher", "updated_since"]

    def filter_words(self, queryset, name, value):
        return search(queryset, value, ["title", "publisher", "authors"])


class CitationFilter(django_filters.FilterSet):
    # Ids rather than choices: a list of events to choose from would name drafts.
    event = IdFilter(field_name="event_id")
    source = IdFilter(field_name="source_id")
    stance = django_filters.ChoiceFilter(choices=Stance.choices, empty_label="Any")
    updated_since = ChangedSinceFilter()

    class Meta:
        model = Citation
        fields = ["event", "source", "stance", "updated_since"]
