"""The filters of the source list, shared by the public page and the API."""

import django_filters

from heritage.filters import ChangedSinceFilter, OrderingFilter
from heritage.search import search
from reports.models import Source, SourceKind


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
