from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("sources/", views.SourceListView.as_view(), name="source-list"),
    path("sources/<int:pk>/", views.SourceDetailView.as_view(), name="source-detail"),
]
