from django.conf import settings
from django.db.models import Prefetch
from django.http import JsonResponse
from django.views.defaults import page_not_found
from django.views.generic import DetailView, TemplateView
from django_filters.views import FilterView

from heritage.filters import DamageEventFilter, SiteFilter
from heritage.models import (
    GRADE_EXPLANATIONS,
    Cause,
    DamageEvent,
    DamageExtent,
    DamageLevel,
    Grade,
    Site,
)
from reports.models import Basis, Source, SourceKind, Stance


def not_found(request, exception=None):
    """Scripts asking the API for something that is not there get JSON; people, a page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def map_points(sites):
    """What the map draws: one marker per located site, with its current condition."""
    return [
        {
            "name": site.name,
            "url": site.get_absolute_url(),
            "lat": float(site.latitude),
            "lon": float(site.longitude),
            "condition": site.condition or "",
            "condition_label": DamageLevel(site.condition).label if site.condition else "",
            "approximate": site.location_precision == "approximate",
        }
        for site in sites
        if site.is_located
    ]


class PublicFilterView(FilterView):
    """A list page with its FilterSet's form, less the filters meant for scripts."""

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        for name in getattr(filterset, "api_only", ()):
            filterset.form.fields.pop(name, None)
        return filterset


class MapMixin:
    def get_context_data(self, **kwargs):
        return super().get_context_data(
            map_tiles_url=settings.MAP_TILES_URL,
            map_tiles_attribution=settings.MAP_TILES_ATTRIBUTION,
            levels=DamageLevel,
            **kwargs,
        )


class HomeView(MapMixin, TemplateView):
    template_name = "heritage/home.html"

    def get_context_data(self, **kwargs):
        sites = Site.objects.with_record().located()
        return super().get_context_data(
            site_count=Site.objects.count(),
            event_count=DamageEvent.objects.published().count(),
            source_count=Source.objects.public().count(),
            points=map_points(sites),
            latest_events=DamageEvent.objects.published().for_timeline().latest_first()[:6],
            **kwargs,
        )


class SiteListView(MapMixin, PublicFilterView):
    filterset_class = SiteFilter
    queryset = Site.objects.with_record().select_related("parent")
    template_name = "heritage/site_list.html"
    paginate_by = 24

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["points"] = map_points(context["object_list"])
        return context


class SiteDetailView(MapMixin, DetailView):
    queryset = (
        Site.objects.with_record()
        .select_related("parent")
        .prefetch_related(
            "names",
            "images",
            Prefetch("children", queryset=Site.objects.with_record()),
        )
    )
    template_name = "heritage/site_detail.html"

    def get_context_data(self, **kwargs):
        site = self.object
        return super().get_context_data(
            events=site.events.published().for_timeline(),
            points=map_points([site]),
            **kwargs,
        )


class EventListView(PublicFilterView):
    filterset_class = DamageEventFilter
    queryset = DamageEvent.objects.published().for_timeline()
    template_name = "heritage/damageevent_list.html"
    paginate_by = 25


class AboutView(TemplateView):
    template_name = "heritage/about.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            levels=DamageLevel,
            extents=DamageExtent,
            causes=Cause,
            grades=[(grade, GRADE_EXPLANATIONS[grade]) for grade in Grade],
            source_kinds=SourceKind,
            stances=Stance,
            bases=Basis,
            **kwargs,
        )
