from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from heritage import feeds, views
from heritage.api import views as api
from heritage.api.changes import ChangesView
from reports import api as reports_api

admin.site.site_header = "Heritage damage register"
admin.site.site_title = "Heritage damage register"
admin.site.index_title = "Curation"
admin.site.site_url = "/"
# The event list has many columns; the list of models is one click away on the home page.
admin.site.enable_nav_sidebar = False

public_pages = [
    path("", views.HomeView.as_view(), name="home"),
    path("sites/", views.SiteListView.as_view(), name="site-list"),
    path("sites/<slug:slug>/", views.SiteDetailView.as_view(), name="site-detail"),
    path("events/", views.EventListView.as_view(), name="event-list"),
    path("preview/sites/<slug:slug>/", views.SitePreviewView.as_view(), name="preview-site"),
    path("about/", views.AboutView.as_view(), name="about"),
    path("data/", views.DataView.as_view(), name="data"),
    path("data/heritage-register-<str:version>.zip", views.DataView.as_view(), name="release"),
    path("feeds/events/", feeds.AllEventsFeed(), name="feed-events"),
    path("feeds/sites/<slug:slug>/", feeds.SiteEventsFeed(), name="feed-site"),
]

router = DefaultRouter()
# The root lists the schema, the docs, the change feed and the dump too.
router.APIRootView = api.RegisterRootView
router.register("sites", api.SiteViewSet, basename="site")
router.register("events", api.DamageEventViewSet, basename="event")
router.register("sources", reports_api.SourceViewSet, basename="source")
router.register("citations", reports_api.CitationViewSet, basename="citation")
router.register("actors", api.ActorViewSet, basename="actor")
router.register("claims", reports_api.ClaimViewSet, basename="claim")

api_v1 = [
    *router.urls,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("dump/", api.dump, name="dump"),
    path("changes/", ChangesView.as_view(), name="changes"),
    path("reconcile/", include("heritage.api.reconcile")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
    path("", include((public_pages, "heritage"))),
    path("", include("reports.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler404 = "heritage.views.not_found"
handler400 = "heritage.views.bad_request_answer"
