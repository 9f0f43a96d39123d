from django.views.generic import ListView
from django.views.generic.detail import SingleObjectMixin

from heritage.paging import BoundedPaginator
from heritage.views import PublicFilterView
from reports.filters import SourceFilter
from reports.models import Source


class SourceListView(PublicFilterView):
    filterset_class = SourceFilter
    queryset = Source.objects.public().with_event_count(published_only=True)
    template_name = "reports/source_list.html"
    paginate_by = 50


class SourceDetailView(SingleObjectMixin, ListView):
    """A source, and the events it is cited for a page at a time: a source cited 13,000
    times made one page of megabytes. Django's own way of listing one object's rows
    (a SingleObjectMixin on a ListView), with the lists' paginator."""

    # Kept for the next anonymous reader until the public record changes (heritage/kept.py).
    kept_page = True

    template_name = "reports/source_detail.html"
    paginate_by = 100
    paginator_class = BoundedPaginator

    def get(self, request, *args, **kwargs):
        self.object = self.get_object(queryset=Source.objects.public())
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        # As received, newest first: their SHA-256 lets a reader check a copy they hold.
        captures = self.object.captures.only(
            "captured", "media_type", "size", "sha256", "supersedes", "source"
        ).order_by("-captured", "-pk")
        return super().get_context_data(captures=captures, **kwargs)

    def get_queryset(self):
        # Only what the page shows of each citation: sorting thousands of rows with every
        # column of the event and its site (descriptions included) took twice as long.
        return (
            self.object.citations.public()
            .select_related("event__site")
            .only(
                "stance",
                "quote",
                "locator",
                "note",
                "event__summary",
                "event__date",
                "event__site__name",
                "event__site__slug",
            )
            .order_by("event__date_lower", "event_id", "id")
        )
