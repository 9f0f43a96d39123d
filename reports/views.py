from django.views.generic import DetailView

from heritage.views import PublicFilterView
from reports.filters import SourceFilter
from reports.models import Source


class SourceListView(PublicFilterView):
    filterset_class = SourceFilter
    queryset = Source.objects.public().with_event_count(published_only=True)
    template_name = "reports/source_list.html"
    paginate_by = 50


class SourceDetailView(DetailView):
    queryset = Source.objects.public()
    template_name = "reports/source_detail.html"

    def get_context_data(self, **kwargs):
        citations = (
            self.object.citations.public()
            .select_related("event__site")
            .order_by("event__date_lower", "event_id", "id")
        )
        return super().get_context_data(citations=citations, **kwargs)
