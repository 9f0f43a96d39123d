"""The API's other formats: CSV for spreadsheets, GeoJSON for GIS, CSL-JSON for Zotero."""

import csv
import io
import json

import geojson
import pytest

from heritage import readmodel
from heritage.models import DamageEvent, Site
from reports.models import Source
from tests.helpers import make_published_event

pytestmark = pytest.mark.usefixtures("palmyra")


def read_csv(response):
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_holds_every_matching_row_not_one_page(api):
    for n in range(60):
        make_published_event(date=f"2016-{n % 12 + 1:02d}", level="destroyed")
    rows = read_csv(api.get("/api/v1/events/", {"format": "csv", "page_size": 10}))
    assert len(rows) == DamageEvent.objects.published().count() == 72
    bel = next(r for r in rows if r["site_slug"] == "temple-of-bel")
    assert (bel["date"], bel["date_lower"], bel["grade"]) == (
        "2015-08-30",
        "2015-08-30",
        "confirmed",
    )


def test_the_csv_is_chosen_by_accept_header_too(api):
    response = api.get("/api/v1/sites/", HTTP_ACCEPT="text/csv")
    rows = read_csv(response)
    assert len(rows) == Site.objects.count()
    assert 'filename="sites.csv"' in response["Content-Disposition"]


@pytest.mark.parametrize(
    ("path", "table"),
    [("/api/v1/events/{event}/", "events"), ("/api/v1/sites/temple-of-bel/", "sites"),
     ("/api/v1/sources/{source}/", "sources"), ("/api/v1/citations/{citation}/", "citations")],
)  # fmt: skip
def test_one_records_csv_is_one_row_in_the_lists_columns(api, path, table):
    from heritage import dataset

    event = DamageEvent.objects.published().get(site__slug="temple-of-bel")
    citation = event.citations.first()
    url = path.format(event=event.pk, source=citation.source_id, citation=citation.pk)
    response = api.get(url, {"format": "csv"})
    rows = read_csv(response)
    assert len(rows) == 1
    assert list(rows[0]) == dataset.header(table)
    assert not any(value.startswith(("[{", "{'", "[OrderedDict")) for value in rows[0].values())


def test_the_csv_keeps_the_filters(api):
    rows = read_csv(api.get("/api/v1/events/", {"format": "csv", "grade": "weak"}))
    assert [r["site_slug"] for r in rows] == ["palmyra-castle"]


@pytest.mark.parametrize("payload", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx"])
def test_the_csv_neutralises_spreadsheet_formulas(api, payload):
    event = make_published_event(summary=payload)
    rows = read_csv(api.get("/api/v1/events/", {"format": "csv"}))
    row = next(r for r in rows if r["id"] == str(event.pk))
    assert row["summary"] == "'" + payload


def test_negative_numbers_stay_numbers_in_the_csv(api):
    # Written around the models, so its stored document is rebuilt by hand.
    Site.objects.filter(slug="palmyra").update(longitude=-3.5)
    readmodel.sites_changed(Site.objects.filter(slug="palmyra").values_list("pk", flat=True))
    rows = read_csv(api.get("/api/v1/sites/", {"format": "csv"}))
    assert next(r for r in rows if r["slug"] == "palmyra")["longitude"] == "-3.5"


def test_every_table_exports_as_csv(api):
    for url in ["/api/v1/sources/", "/api/v1/citations/"]:
        assert read_csv(api.get(url, {"format": "csv"}))


def test_the_sites_are_rfc_7946_geojson(api):
    response = api.get("/api/v1/sites/", {"format": "geojson"})
    assert response["Content-Type"] == "application/geo+json"
    collection = geojson.loads(response.content.decode())
    assert collection.is_valid, collection.errors()
    assert len(collection["features"]) == Site.objects.count()
    bel = next(f for f in collection["features"] if f["id"] == "temple-of-bel")
    assert bel["geometry"]["coordinates"] == [38.2739, 34.5474]  # [longitude, latitude]
    assert bel["properties"]["condition"] == "destroyed"
    assert bel["properties"]["unosat_label"] == "Destroyed"
    tetrapylon = next(f for f in collection["features"] if f["id"] == "tetrapylon")
    assert tetrapylon["geometry"] is None


def test_one_site_is_a_geojson_feature(api):
    feature = geojson.loads(
        api.get("/api/v1/sites/temple-of-bel/", {"format": "geojson"}).content.decode()
    )
    assert feature.is_valid
    assert feature["type"] == "Feature"


def test_the_sources_are_csl_json_for_zotero(api, editor):
    response = api.get("/api/v1/sources/", {"format": "csl"})
    assert response["Content-Type"] == "application/vnd.citationstyles.csl+json"
    assert len(json.loads(response.content)) == Source.objects.public().count()
    # The retreat report is cited by no event: curators see it, the public does not.
    api.force_authenticate(editor)
    items = json.loads(api.get("/api/v1/sources/", {"format": "csl"}).content)
    retreat = next(i for i in items if i.get("publisher") == "Al-Masdar News")
    assert retreat["type"] == "article-newspaper"
    assert retreat["issued"] == {"date-parts": [[2017, 3, 2]]}
    assert retreat["author"] == [{"literal": "Chris Tomson"}, {"literal": "Majd Fahd"}]
    compiled = next(i for i in items if i["title"].startswith("Syrian forces battle IS"))
    assert compiled["issued"] == {"date-parts": [[2016, 3]]}
    assert "publisher" not in compiled
    assert all(item["id"].startswith("heritage-register-source-") for item in items)


@pytest.mark.parametrize(
    ("edtf", "csl"),
    [
        ("2017-03-02", {"date-parts": [[2017, 3, 2]]}),
        ("2016-03", {"date-parts": [[2016, 3]]}),
        ("2015", {"date-parts": [[2015]]}),
        ("2015-08~", {"date-parts": [[2015, 8]], "circa": True}),
        ("2016-03-28/2016-03-29", {"date-parts": [[2016, 3, 28], [2016, 3, 29]]}),
        ("../2015-10-05", {"raw": "../2015-10-05"}),
    ],
)
def test_publication_dates_become_csl_dates_zotero_reads(edtf, csl):
    from reports.api import csl_date

    assert csl_date(edtf) == csl


def test_events_are_geojson_too_at_their_sites_points(api):
    answer = api.get("/api/v1/events/?format=geojson&level=destroyed")
    assert answer["Content-Type"] == "application/geo+json"
    collection = geojson.loads(answer.content)
    assert collection.is_valid
    events = DamageEvent.objects.published().filter(level="destroyed")
    assert len(collection["features"]) == events.count()
    feature = next(f for f in collection["features"] if f["properties"]["site"] == "temple-of-bel")
    bel = Site.objects.get(slug="temple-of-bel")
    assert feature["geometry"]["coordinates"] == [float(bel.longitude), float(bel.latitude)]
    one = api.get(f"/api/v1/events/{feature['properties']['id']}/?format=geojson").json()
    assert one == feature


@pytest.mark.parametrize(
    ("address", "offered"),
    [
        ("/api/v1/events/?format=xml", "json, csv, geojson"),
        ("/api/v1/sites/?format=kml", "json, csv, geojson"),
        ("/api/v1/sources/1/?format=ris", "json, csv, csl"),
    ],
)
def test_an_unknown_format_is_a_400_naming_the_formats_offered(api, address, offered):
    answer = api.get(address)
    assert answer.status_code == 400
    assert offered in answer.json()["format"][0]


def test_events_sort_by_site_as_the_schema_and_the_events_page_offer(api):
    names, address = [], "/api/v1/events/?ordering=site&page_size=4"
    while address:
        answer = api.get(address).json()
        names += [event["site_name"] for event in answer["results"]]
        address = answer["next"]
    assert names == sorted(names)
    assert len(names) == DamageEvent.objects.published().count()
    backwards = api.get("/api/v1/events/?ordering=-site&page_size=500").json()["results"]
    assert [event["site_name"] for event in backwards] == sorted(names, reverse=True)


def test_the_api_root_lists_the_schema_docs_change_feed_dump_and_feeds(api):
    root = api.get("/api/v1/").json()
    for key, ending in [("changes", "/api/v1/changes/"), ("dump", "/api/v1/dump/"),
                        ("schema", "/api/v1/schema/"), ("docs", "/api/v1/docs/"),
                        ("feeds", "/feeds/events/"), ("events", "/api/v1/events/")]:  # fmt: skip
        assert root[key].endswith(ending), key


def test_csv_timestamps_read_as_the_jsons_and_citations_name_their_source(api):
    for table in ("sources", "citations"):
        rows = read_csv(api.get(f"/api/v1/{table}/?format=csv"))
        first = rows[0]
        record = api.get(f"/api/v1/{table}/{first['id']}/").json()
        assert (first["created"], first["updated"]) == (record["created"], record["updated"])
    citation = next(row for row in rows if row["source"])
    source = Source.objects.get(pk=citation["source"])
    assert (citation["source_title"], citation["source_publisher"]) == (
        source.title,
        source.publisher,
    )
