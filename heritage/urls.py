from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from heritage import views

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
    path("about/", views.AboutView.as_view(), name="about"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include((public_pages, "heritage"))),
    path("", include("reports.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
