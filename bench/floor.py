"""The floor the API list is measured against: the same Django stack and database, one
`.values()` query of a page of events, dumped with orjson. No pagination, filters,
nested sites or citations: the least a Django view can do to answer such a page.
Served only by `make bench`, never by the register itself."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heritage.settings")

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from heritage.models import DamageEvent  # noqa: E402


def events(request):
    size = min(int(request.GET.get("page_size", 100)), 500)
    rows = list(DamageEvent.objects.published().order_by("date_lower", "id").values()[:size])
    return HttpResponse(orjson.dumps(rows), content_type="application/json")


urlpatterns = [path("floor/events/", events)]
# Read at each request, so this module's two URLs replace the register's.
settings.ROOT_URLCONF = __name__
application = get_wsgi_application()
