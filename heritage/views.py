import orjson
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig
from django.db.models import Prefetch
from django.http import JsonResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.safestring import mark_safe
from django.views.defaults import bad_request, page_not_found
from django.views.generic import DetailView, TemplateView
from django_filters.views import FilterView

from heritage import shapes, workflow
from heritage.filters import DamageEventFilter, SiteFilter
from heritage.models import (
    GRADE_EXPLANATIONS,
    Cause,
    DamageEvent,
    DamageExtent,
    DamageLevel,
    Grade,
    Site,
    SiteImage,
    SiteName,
)
from heritage.paging import BoundedPaginator
from heritage.text import SCRIPT_ESCAPES
from reports.models import Basis, SourceKind, Stance


def not_found(request, exception=None):
    """Scripts asking the API for something that is not there get JSON; people, a page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def bad_request_answer(request, exception=None):
    """A request Django refuses before any view (a body over DATA_UPLOAD_MAX_MEMORY_SIZE,
    a forged host): JSON for the API, saying what was wrong, and 413 for a body too
    large; people get Django's page."""
    if request.path.startswith("/api/"):
        if isinstance(exception, RequestDataTooBig):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1_048_576
            return JsonResponse(
                {"detail": f"The request body is larger than the {limit} MB the API reads."},
                status=413,
            )
        return JsonResponse({"detail": "Bad request."}, status=400)
    return bad_request(request, exception)


def map_points(sites):
    """What the map draws of `sites`: one marker per located site, with its current
    condition, as the stored documents hold it (heritage.shapes.map_point). The home
    page's map of every site is heritage.readmodel.StoredMap."""
    addresses = shapes.Addresses()
    return MapPoints(
        [
            shapes.map_point(shapes.site_shape(site, [], addresses))
            for site in sites
            if site.is_located
        ]
    )


class MapPoints:
    """A map's points as its template reads them: `json` for its <script> element,
    `items` for its list of places; its length is the number of points."""

    def __init__(self, points):
        self.points = points

    def __len__(self):
        return len(self.points)

    @property
    def json(self):
        return mark_safe(orjson.dumps(self.points).decode().translate(SCRIPT_ESCAPES))

    @property
    def items(self):
        from heritage.templatetags.register import place_items

        return place_items(self.points)


class PublicFilterView(FilterView):
    """A list page with its FilterSet's form, less the filters meant for scripts, paged
    without counting every row (heritage/paging.py)."""

    # Kept for the next anonymous reader until the public record changes (heritage/kept.py).
    kept_page = True

    paginator_class = BoundedPaginator

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
    # Kept for the next anonymous reader until the public record changes (heritage/kept.py).
    kept_page = True

    template_name = "heritage/home.html"

    def get_context_data(self, **kwargs):
        # Imported here: the read model builds on this module's addresses.
        from heritage.readmodel import StoredMap, public_counts

        return super().get_context_data(
            **public_counts(),
            # Every located site's stored point: no Python per site.
            points=StoredMap(),
            latest_events=DamageEvent.objects.published()
            .for_list(with_site=True)
            .latest_first()[:6]
            .with_citation_rows(),
            **kwargs,
        )


class SiteListView(MapMixin, PublicFilterView):
    filterset_class = SiteFilter
    queryset = Site.objects.public().with_record().select_related("parent")
    template_name = "heritage/site_list.html"
    paginate_by = 24

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["points"] = map_points(context["object_list"])
        return context


class SiteDetailView(MapMixin, DetailView):
    # Kept for the next anonymous reader until the public record changes (heritage/kept.py).
    kept_page = True

    # Only what an editor has reviewed: the site, its names, pictures and places within.
    queryset = (
        Site.objects.public()
        .with_record()
        .select_related("parent")
        .prefetch_related(
            Prefetch("names", queryset=SiteName.objects.public()),
            Prefetch("images", queryset=SiteImage.objects.public()),
            Prefetch("children", queryset=Site.objects.public().with_record()),
        )
    )
    template_name = "heritage/site_detail.html"

    @staticmethod
    def kept_version(view_kwargs):
        """Kept under its site's documents' tokens (heritage/kept.py), not the whole
        public record's version: a change to another site leaves this page kept."""
        from heritage.readmodel import site_page_version

        return site_page_version(view_kwargs["slug"])

    def get_context_data(self, **kwargs):
        site = self.object
        return super().get_context_data(
            # Each event's site is this one already (the related manager sets it).
            events=site.events.published().for_list().with_citation_rows(),
            points=map_points([site]),
            **kwargs,
        )


class SitePreviewView(SiteDetailView):
    """A site's page as the public would see it once everything waiting is approved:
    drafts and events in review, and proposed changes, marked as such. For logged-in
    staff who may see drafts; never indexed, never kept by a cache."""

    kept_page = False  # a curator's preview of what is not public yet

    template_name = "heritage/site_preview.html"
    queryset = (
        Site.objects.with_record()
        .select_related("parent")
        .prefetch_related("names", "images", Prefetch("children", Site.objects.with_record()))
    )

    def dispatch(self, request, *args, **kwargs):
        if not (request.user.is_staff and request.user.has_perm("heritage.view_damageevent")):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        response = super().dispatch(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow"
        patch_cache_control(response, private=True, no_store=True)
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["events"] = workflow.preview_events(self.object)
        context["preview"] = True
        return context


class EventListView(PublicFilterView):
    filterset_class = DamageEventFilter
    queryset = DamageEvent.objects.published().for_list(with_site=True)
    template_name = "heritage/damageevent_list.html"
    paginate_by = 25

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["object_list"] = context["object_list"].with_citation_rows()
        return context


class AboutView(TemplateView):
    # Kept for the next anonymous reader until the public record changes (heritage/kept.py).
    kept_page = True

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
            signing_key=signing_public_key(),
            **kwargs,
        )


def signing_public_key():
    """The public half of the register's bundle-signing key, for readers to check
    bundles with; "" when none is configured (or it cannot be read: `check` says so)."""
    from reports.evidence.signing import BadKey, public_text, register_key

    try:
        key = register_key()
    except BadKey:
        return ""
    return public_text(key.public_key()) if key else ""


class DataView(TemplateView):
    """/data/: the numbered releases (releases.json in RELEASES_DIR, newest first) and the
    latest dump; /data/heritage-register-<version>.zip: a release's file, served only
    when the index lists that release, under its SHA-256."""

    template_name = "heritage/data.html"

    def get(self, request, *args, version=None, **kwargs):
        from base64 import b64encode

        from django.http import FileResponse, Http404
        from django.utils.cache import get_conditional_response
        from django.utils.http import http_date, quote_etag

        from heritage import releases

        if version is None:
            return super().get(request, *args, **kwargs)
        try:
            release = releases.Index.read().get(version)
        except releases.ReleaseError:
            release = None
        if release is None or not release.path.is_file():
            raise Http404("No such release.")
        built = int(release.path.stat().st_mtime)
        etag = quote_etag(release.sha256)
        response = get_conditional_response(request, etag=etag, last_modified=built)
        if response is None:
            response = FileResponse(
                release.path.open("rb"),
                as_attachment=True,
                filename=release.file,
                content_type="application/zip",
            )
        # RFC 9530: the checksum the page and the index give, for the client to check.
        response["Repr-Digest"] = f"sha-256=:{b64encode(bytes.fromhex(release.sha256)).decode()}:"
        response["ETag"], response["Last-Modified"] = etag, http_date(built)
        # A release never changes once made.
        patch_cache_control(response, public=True, max_age=86400, immutable=True)
        return response

    def get_context_data(self, **kwargs):
        import datetime

        from heritage import releases, tasks
        from heritage.models import PublicStamp

        try:
            index, index_unreadable = releases.Index.read(), False
        except releases.ReleaseError:
            index, index_unreadable = releases.Index(), True
        dump = tasks.latest_dump()
        version, epoch, _ = PublicStamp.current()
        return super().get_context_data(
            releases=list(reversed(index.releases)),
            index_unreadable=index_unreadable,
            dump=dump,
            dump_built=dump and datetime.datetime.fromisoformat(dump["built"]),
            # The record changed since the dump was built: its rebuild is queued.
            dump_behind=bool(dump and "public_version" in dump)
            and (dump["public_version"], dump["epoch"]) != (version, epoch),
            **kwargs,
        )
