"""Hidden locations: a sensitive site's exact coordinates never leave staff views. Every
public output (pages, the map, the API in every format, the dump, the feeds) gives its
point rounded to 0.1° with its precision saying so; no filter or ordering recovers it."""

import re
import zipfile

import pytest
from django.urls import reverse

from heritage.dataset import write_dump
from heritage.models import Site
from tests.helpers import edit, make_citation, make_published_event, make_site, make_source

pytestmark = pytest.mark.usefixtures("palmyra")

EXACT = ("35.91357", "39.01357")  # far from Palmyra's own sites, 34.55 N 38.27 E
# The exact point to any useful number of decimals: 35.91, 35.914, 39.01, 39.0136 …
LEAKS = re.compile(r"35\.91|39\.01")


@pytest.fixture
def hidden(db):
    palmyra = Site.objects.get(slug="palmyra")
    site = make_site(
        name="Unpublished excavation trench", slug="trench-12", kind="other", parent=palmyra,
        latitude=EXACT[0], longitude=EXACT[1], location_precision="exact", sensitive=True,
    )  # fmt: skip
    event = make_published_event(site=site, summary="Looters dug pits in the trench")
    make_citation(event, source=make_source(title="Trench report"), quote="", approve=True)
    return site


def public_outputs(client, site):
    """(address, body) of every public output that can name a site."""
    pages = [
        "/", "/sites/", f"/sites/{site.slug}/", "/sites/palmyra/", "/events/",
        "/sites/?q=trench", "/events/?q=trench", "/about/",
    ]  # fmt: skip
    api = [
        "/api/v1/sites/", "/api/v1/sites/?format=csv", "/api/v1/sites/?format=geojson",
        f"/api/v1/sites/{site.slug}/", f"/api/v1/sites/{site.slug}/?format=csv",
        "/api/v1/sites/?q=trench", "/api/v1/events/", "/api/v1/events/?format=csv",
        f"/api/v1/events/?site={site.slug}", "/api/v1/citations/?format=csv",
        "/api/v1/events/?format=geojson", "/api/v1/changes/",
        "/api/v1/sources/",
    ]  # fmt: skip
    pages += [reverse("heritage:feed-events"), reverse("heritage:feed-site", args=[site.slug])]
    for address in pages + api:
        response = client.get(address)
        assert response.status_code == 200, address
        body = b"".join(response.streaming_content) if response.streaming else response.content
        yield address, body.decode("utf-8-sig")


def test_no_public_output_gives_a_sensitive_sites_exact_point(client, hidden, tmp_path):
    swept = 0
    for address, body in public_outputs(client, hidden):
        assert not LEAKS.search(body), f"{address} leaks {LEAKS.search(body).group()}"
        swept += 1
    write_dump(tmp_path / "dump.zip")
    with zipfile.ZipFile(tmp_path / "dump.zip") as dump:
        for name in dump.namelist():
            body = dump.read(name).decode("utf-8-sig")
            assert not LEAKS.search(body), f"the dump's {name} leaks it"
    assert swept >= 23


def test_public_outputs_give_the_rounded_point_and_say_so(client, hidden):
    record = client.get(f"/api/v1/sites/{hidden.slug}/", HTTP_ACCEPT="application/json").json()
    assert (record["latitude"], record["longitude"]) == (35.9, 39.0)
    assert record["location_precision"] == "rounded"
    feature = next(
        f
        for f in client.get("/api/v1/sites/?format=geojson").json()["features"]
        if f["id"] == hidden.slug
    )
    assert feature["geometry"]["coordinates"] == [39.0, 35.9]
    page = client.get(f"/sites/{hidden.slug}/").content.decode()
    assert "35.9, 39.0 (WGS84), rounded to 0.1°" in page


def test_curators_see_the_exact_point_in_the_admin(admin_client, hidden):
    page = admin_client.get(f"/admin/heritage/site/{hidden.pk}/change/").content.decode()
    assert EXACT[0] in page
    assert EXACT[1] in page


def test_marking_a_site_sensitive_withdraws_its_exact_point_from_kept_answers(
    client, hidden, settings
):
    settings.PAGE_CACHE_SECONDS = 300  # as deployed: pages kept for the next reader
    edit(Site.objects.get(pk=hidden.pk), sensitive=False)
    assert EXACT[0] in client.get(f"/sites/{hidden.slug}/").content.decode()
    assert EXACT[0] in client.get(f"/api/v1/sites/{hidden.slug}/").content.decode()
    edit(Site.objects.get(pk=hidden.pk), sensitive=True)
    assert not LEAKS.search(client.get(f"/sites/{hidden.slug}/").content.decode())
    assert not LEAKS.search(client.get(f"/api/v1/sites/{hidden.slug}/").content.decode())
    assert not LEAKS.search(client.get("/api/v1/sites/?format=geojson").content.decode())


def test_no_filter_or_ordering_reads_the_exact_point(api, hidden):
    assert api.get("/api/v1/sites/?ordering=latitude").status_code == 400
    everything = api.get("/api/v1/sites/").json()["results"]
    for probe in ("latitude=35.91357", "longitude__gt=39.01", "bbox=39.01,35.91,39.02,35.92"):
        # Unknown parameters narrow nothing: the answer is the same list.
        assert api.get(f"/api/v1/sites/?{probe}").json()["results"] == everything


def test_staff_may_not_be_told_apart_by_the_api_either(editor_client, hidden):
    # The API is not a staff view: a curator's script gets the public point too.
    record = editor_client.get(f"/api/v1/sites/{hidden.slug}/").json()
    assert record["latitude"] == 35.9
