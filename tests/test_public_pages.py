"""The public pages: what anyone can read, on the Palmyra record."""

import json
import re

import pytest

from heritage.models import DamageEvent, Site, SiteName
from reports.models import Source
from tests.helpers import (
    make_citation,
    make_event,
    make_published_event,
    make_site,
    make_source,
    reviewed,
)

pytestmark = pytest.mark.usefixtures("palmyra")


def page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, url
    return response.content.decode()


def listed(response, name="object_list"):
    return list(response.context[name])


# The home page


def test_home_counts_sites_published_events_and_public_sources(client):
    make_event(summary="A draft nobody may see")
    html = page(client, "/")
    assert f"<strong>{Site.objects.count()}</strong> sites" in html
    assert f"<strong>{DamageEvent.objects.published().count()}</strong> events" in html
    assert f"<strong>{Source.objects.public().count()}</strong> sources" in html
    assert "A draft nobody may see" not in html


def test_home_maps_every_located_site_with_its_condition(client, settings):
    settings.MAP_TILES_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    response = client.get("/")
    html = response.content.decode()
    points = json.loads(re.search(r'id="map-points"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert len(points) == Site.objects.located().count()
    bel = next(p for p in points if p["name"] == "Temple of Bel")
    assert (bel["condition"], bel["url"]) == ("destroyed", "/sites/temple-of-bel/")
    assert 'data-tiles="https://tiles.example.org/{z}/{x}/{y}.png"' in html
    assert "/static/leaflet/leaflet.js" in html


def test_home_lists_the_latest_events_first(client):
    events = listed(client.get("/"), "latest_events")
    assert events[0].site.slug in {"tetrapylon", "roman-theatre"}
    assert all(e.state == "published" for e in events)


# A site's page


def test_a_site_page_answers_what_happened_when_and_who_says_so(client):
    html = page(client, "/sites/temple-of-bel/")
    assert '<li lang="ar" dir="rtl">معبد بل</li>' in html
    assert "30 August 2015" in html
    assert "Cella and a row of columns blown up" in html
    assert "Confirmed" in html
    assert "Supported by analysis of imagery" in html
    assert 'class="level level-destroyed">Destroyed' in html
    assert "Islamic State militants dynamited the temples of Baal Shamin and Bel" in html
    assert '<ol class="citations"' in html
    bel = DamageEvent.objects.get(site__slug="temple-of-bel")
    for citation in bel.citations.all():
        assert f'href="/sources/{citation.source_id}/"' in html
    assert "Cite this page:" in html
    assert "“Temple of Bel”" in html


def test_a_site_page_says_dates_as_a_reader_would(client):
    assert "Between 26 December 2016 and 10 January 2017" in page(client, "/sites/tetrapylon/")
    assert "About March 2016" in page(client, "/sites/palmyra-castle/")
    assert "Between May 2015 and 27 March 2016" in page(client, "/sites/palmyra-museum/")


def test_a_site_page_warns_where_sources_disagree(client):
    assert "Sources disagree" in page(client, "/sites/tower-tombs/")
    assert "Sources disagree" not in page(client, "/sites/temple-of-bel/")


def test_a_site_page_links_the_original_report(client):
    html = page(client, "/sites/monumental-arch/")
    assert (
        'href="http://www.reuters.com/article/mideast-crisis-palmyra-idUSL3N1240HJ20151004"' in html
    )


def test_the_city_page_lists_its_monuments_with_their_condition(client):
    html = page(client, "/sites/palmyra/")
    assert "Within <bdi>Palmyra</bdi>" in html
    assert 'href="/sites/temple-of-baalshamin/"' in html


def test_an_unknown_site_is_a_404(client):
    assert client.get("/sites/atlantis/").status_code == 404


# Drafts never leak


def test_drafts_and_events_in_review_appear_nowhere(client):
    site = Site.objects.get(slug="temple-of-bel")
    source = make_source(title="A source only a draft cites")
    draft = make_event(site, summary="Draft claim")
    make_citation(draft, source)
    make_event(site, summary="Claim in review", state="review")

    for url in ["/", "/sites/temple-of-bel/", "/events/", "/sources/", "/sites/?q=Bel"]:
        html = page(client, url)
        assert "Draft claim" not in html, url
        assert "Claim in review" not in html, url
        assert "A source only a draft cites" not in html, url
    assert client.get(f"/sources/{source.pk}/").status_code == 404
    bel = next(s for s in listed(client.get("/sites/", {"q": "Bel"})) if s.slug == "temple-of-bel")
    assert bel.event_count == 1


def test_a_source_no_published_event_cites_stays_with_the_curators(client):
    retreat = Source.objects.get(publisher="Al-Masdar News")
    assert client.get(retreat.get_absolute_url()).status_code == 404
    assert "Al-Masdar" not in page(client, "/sources/")


# The site list and its filters


def site_slugs(client, **params):
    return {site.slug for site in listed(client.get("/sites/", params))}


def test_the_site_list_filters_by_kind_and_current_condition(client):
    assert site_slugs(client, kind="temple") == {"temple-of-bel", "temple-of-baalshamin"}
    destroyed = site_slugs(client, condition="destroyed")
    assert {"temple-of-bel", "monumental-arch", "tadmur-prison"} <= destroyed
    assert "palmyra-castle" not in destroyed
    assert site_slugs(client, condition="unknown") == {"palmyra-castle"}


def test_the_site_list_filters_by_cause_and_grade_of_the_same_event(client):
    assert site_slugs(client, cause="shelling") == {"palmyra-castle"}
    assert site_slugs(client, grade="weak") == {"palmyra-castle"}
    assert site_slugs(client, cause="shelling", grade="confirmed") == set()
    assert "lion-of-al-lat" in site_slugs(client, grade="contested")


def test_the_site_list_filters_by_a_period_overlapping_the_events(client):
    assert site_slugs(client, date_after="2016-12", date_before="2017") == {
        "tetrapylon",
        "roman-theatre",
    }
    september = site_slugs(client, date_after="2015-09", date_before="2015-09")
    assert "tower-tombs" in september  # 27 August to 2 September 2015
    assert "palmyra-museum" in september  # May 2015 to March 2016
    assert "temple-of-bel" not in september


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("Baal Shamin", "temple-of-baalshamin"),
        ("baalshamin", "temple-of-baalshamin"),
        ("Tadmor", "palmyra"),
        ("تدمر", "palmyra"),
        ("funerary towers", "tower-tombs"),
    ],
)
def test_the_site_list_searches_names_aliases_and_descriptions(client, words, expected):
    assert expected in site_slugs(client, q=words)


def test_a_place_matching_by_several_names_is_listed_once(client, api):
    site = make_site(name="Qasr Zetta", description="Zetta's fort")
    reviewed(SiteName(site=site, name="Zetta castle", language="en"))
    reviewed(SiteName(site=site, name="Qalaat Zetta", language="ar-Latn"))
    event = make_published_event(site, summary="Zetta walls shelled")
    assert [s.slug for s in listed(client.get("/sites/", {"q": "zetta"}))] == [site.slug]
    assert [e.pk for e in listed(client.get("/events/", {"q": "zetta"}))] == [event.pk]
    found = api.get("/api/v1/events/", {"q": "zetta castle"}).json()["results"]
    assert [e["id"] for e in found] == [event.pk]


def test_the_site_list_sorts_and_pages(client):
    names = [s.name for s in listed(client.get("/sites/", {"ordering": "-name"}))]
    assert names == sorted(names, reverse=True)
    latest = listed(client.get("/sites/", {"ordering": "-latest"}))
    assert latest[0].slug in {"tetrapylon", "roman-theatre"}
    for n in range(30):
        make_site(name=f"Extra site {n:02d}")
    first = client.get("/sites/", {"kind": "temple", "ordering": "name"})
    assert first.context["paginator"].count == 32
    second = client.get("/sites/", {"kind": "temple", "ordering": "name", "page": 2})
    assert len(listed(second)) == 8
    assert "kind=temple" in first.content.decode().split('rel="next"')[1][:200]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_after": "last summer"}, "date_after"),
        ({"date_before": "2015-02-30"}, "date_before"),
        ({"kind": "spaceport"}, "kind"),
        ({"condition": "obliterated"}, "condition"),
        ({"ordering": "secret"}, "ordering"),
    ],
)
def test_a_bad_filter_value_is_a_form_error_not_a_500(client, params, field):
    response = client.get("/sites/", params)
    assert response.status_code == 200
    assert field in response.context["filter"].form.errors
    assert 'role="alert"' in response.content.decode()


@pytest.mark.parametrize("page_number", ["999", "abc", "-1"])
def test_a_page_out_of_range_is_a_404_not_a_500(client, page_number):
    assert client.get("/sites/", {"page": page_number}).status_code == 404


# The chronology


def event_sites(client, **params):
    return [event.site.slug for event in listed(client.get("/events/", params))]


def test_the_chronology_runs_in_date_order(client):
    events = listed(client.get("/events/"))
    assert len(events) == DamageEvent.objects.published().count()
    assert [e.date_lower for e in events] == sorted(e.date_lower for e in events)


def test_the_chronology_filters_by_year_actor_level_and_site(client):
    assert set(event_sites(client, year=2017)) == {"tetrapylon", "roman-theatre"}
    unknown_actor = DamageEvent.objects.get(site__slug="palmyra-castle").actor
    assert event_sites(client, actor=unknown_actor.name) == ["palmyra-castle"]
    levels = set(event_sites(client, level=["severe", "unknown"]))
    assert levels == {"tetrapylon", "roman-theatre", "palmyra-museum", "palmyra-castle"}
    assert event_sites(client, site="temple-of-bel") == ["temple-of-bel"]
    assert "temple-of-baalshamin" in event_sites(client, q="Baal Shamin")


@pytest.mark.parametrize("params", [{"year": "MMXV"}, {"year": "0"}, {"actor": "999999"}])
def test_the_chronology_refuses_bad_values_with_a_message(client, params):
    response = client.get("/events/", params)
    assert response.status_code == 200
    assert response.context["filter"].form.errors


# Sources and the method


def test_the_source_list_counts_published_events_only(client):
    unesco = Source.objects.get(publisher="UNESCO")
    make_citation(make_event(Site.objects.get(slug="tetrapylon")), unesco)
    row = next(s for s in listed(client.get("/sources/")) if s.pk == unesco.pk)
    assert row.event_count == 1


def test_a_source_page_lists_the_events_it_is_cited_for(client):
    compiled = Source.objects.get(title="Syrian forces battle IS on edge of ancient Palmyra")
    html = page(client, compiled.get_absolute_url())
    assert "Publisher" in html
    assert "Not known" in html
    assert "March 2016" in html
    for slug in ["temple-of-bel", "tadmur-prison", "monumental-arch"]:
        assert f"/sites/{slug}/#event-" in html


def test_the_method_page_explains_levels_grades_dates_and_citing(client):
    html = page(client, "/about/")
    for words in ["Destroyed", "Confirmed", "Contested", "2016-12-26/2017-01-10",
                  "about August 2015", "How to cite the register"]:  # fmt: skip
        assert words in html


# What each page costs


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        # the sites with their record and parents, and the paginator's bounded count
        # (heritage/paging.py)
        ("/sites/", 2),
        # the events with site and actor, their citations with their sources, the
        # actors for the filter's choices, and the paginator's bounded count
        ("/events/", 4),
        # the sources with their published event counts, and the paginator's bounded count
        ("/sources/", 2),
        # the site with its record and parent, names, images, children with their
        # record, events with site and actor, citations with their sources
        ("/sites/temple-of-bel/", 6),
        # the source, the paginator's bounded count of its citations, a page of them
        # with their events and sites, and the source's captures
        ("/sources/1/", 4),
        # the public record's version, its site, event and source counts (kept until
        # it changes), the public sites and their stored features counted, the stored
        # map points, the latest events, their citations with their sources
        ("/", 9),
    ],
)
def test_each_page_costs_a_fixed_number_of_queries(client, django_assert_num_queries, url, queries):
    with django_assert_num_queries(queries):
        client.get(url)
    # Many more rows, the same queries.
    bel = Site.objects.get(slug="temple-of-bel")
    source = Source.objects.get(pk=1)
    for n in range(15):
        event = make_published_event(bel, date=f"2016-{n % 12 + 1:02d}")
        make_citation(event, source)
        make_site(name=f"More {n}", latitude=34.5, longitude=38.2)
    with django_assert_num_queries(queries):
        client.get(url)


def test_the_stored_condition_is_the_one_a_site_computes(client):
    for site in listed(client.get("/sites/")):
        assert site.condition == (site.current_condition() or ""), site


# Found in review


def test_the_actor_filter_offers_only_actors_of_published_events(client):
    from tests.helpers import make_actor

    secret = make_actor(name="A group only a draft names")
    make_event(actor=secret)
    html = page(client, "/events/")
    assert "A group only a draft names" not in html
    assert "Islamic State" in html


def test_each_page_links_its_json_twin(client):
    html = page(client, "/sites/temple-of-bel/")
    twin = re.search(r'<link rel="alternate" type="application/json" href="([^"]+)">', html)
    assert twin.group(1) == "/api/v1/sites/temple-of-bel/"
    assert client.get(twin.group(1)).json()["slug"] == "temple-of-bel"
    events = page(client, "/events/", grade="weak")
    assert 'href="/api/v1/events/?grade=weak"' in events
    assert 'type="text/csv" href="/api/v1/events/?grade=weak&amp;format=csv"' in events


def test_a_period_that_ends_before_it_begins_is_a_form_error(client):
    response = client.get("/sites/", {"date_after": "2016", "date_before": "2015"})
    assert "ends before it begins" in str(response.context["filter"].form.errors["date_before"])
    assert listed(response) == []


def test_a_filter_error_is_tied_to_its_field_for_screen_readers(client):
    html = page(client, "/sites/", date_after="soon")
    described_by = re.search(r'id="id_date_after"[^>]*aria-describedby="([^"]+)"', html)
    if described_by is None:
        described_by = re.search(r'aria-describedby="([^"]+)"[^>]*id="id_date_after"', html)
    for target in described_by.group(1).split():
        assert f'id="{target}"' in html


def test_the_home_map_is_also_a_list_of_places(client):
    html = page(client, "/")
    assert "places on this map, as a list" in html
    assert '<a href="/sites/temple-of-bel/"><bdi>Temple of Bel</bdi></a>: Destroyed' in html


def test_a_curators_note_on_a_source_stays_in_the_admin(client):
    source = Source.objects.get(publisher="Xinhua News Agency")
    assert source.note
    assert source.note not in page(client, source.get_absolute_url())


def test_a_monument_without_events_of_its_own_points_to_its_group(client):
    html = page(client, "/sites/tower-of-elahbel/")
    assert "No event has been published for this site on its own" in html
    assert 'Events recorded for <a href="/sites/tower-tombs/">Tower tombs</a>' in html


def test_every_page_links_the_api_its_docs_the_change_feed_the_feed_and_the_data(client):
    page = client.get("/").content.decode()
    for address in ("/api/v1/", "/api/v1/docs/", "/api/v1/changes/", "/feeds/events/", "/data/"):
        assert f'href="{address}"' in page, address
