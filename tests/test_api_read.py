"""Researchers read the register through /api/v1/: endpoints, filters, pages."""

import pytest

from heritage.models import DamageEvent, Site
from reports.models import Citation, Source
from tests.helpers import edit, make_citation, make_event, make_published_event, make_source

pytestmark = pytest.mark.usefixtures("palmyra")


def results(api, url, **params):
    response = api.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_the_root_lists_every_endpoint(api):
    root = api.get("/api/v1/").json()
    assert {"sites", "events", "sources", "citations", "changes", "dump", "schema"} <= set(root)


def test_an_event_carries_its_site_and_citations_without_a_second_request(api):
    bel = DamageEvent.objects.get(site__slug="temple-of-bel")
    event = api.get(f"/api/v1/events/{bel.pk}/").json()
    assert (event["site"], event["site_name"]) == ("temple-of-bel", "Temple of Bel")
    assert (event["date"], event["date_lower"], event["date_upper"]) == (
        "2015-08-30",
        "2015-08-30",
        "2015-08-30",
    )
    assert event["date_text"] == "30 August 2015"
    assert event["grade"] == "confirmed"
    assert len(event["citations"]) == bel.citations.count()
    seed = next(c for c in event["citations"] if c["quote"])
    assert seed["stance"] == "supports"
    assert seed["source_title"] == "Syrian forces battle IS on edge of ancient Palmyra"
    assert Source.objects.filter(pk=seed["source"]).exists()
    assert event["page"].endswith(f"/sites/temple-of-bel/#event-{bel.pk}")


def test_open_interval_ends_are_null_not_year_one(api):
    event = make_published_event(Site.objects.get(slug="monumental-arch"), date="../2015-10-04")
    data = api.get(f"/api/v1/events/{event.pk}/").json()
    assert (data["date_lower"], data["date_upper"]) == (None, "2015-10-04")


def test_a_site_carries_its_names_place_and_condition(api):
    bel = api.get("/api/v1/sites/temple-of-bel/").json()
    assert {"name": "معبد بل", "language": "ar"} in bel["names"]
    assert (bel["latitude"], bel["longitude"]) == (34.5474, 38.2739)
    assert (bel["condition"], bel["event_count"], bel["parent"]) == ("destroyed", 1, "palmyra")


def test_anonymous_readers_never_see_drafts(api):
    bel = Site.objects.get(slug="temple-of-bel")
    draft = make_event(bel, summary="Draft claim")
    only_draft_source = make_source(title="Cited by a draft only")
    citation = make_citation(draft, only_draft_source)

    assert "Draft claim" not in {
        e["summary"] for e in results(api, "/api/v1/events/", page_size=500)
    }
    assert api.get(f"/api/v1/events/{draft.pk}/").status_code == 404
    assert api.get(f"/api/v1/sources/{only_draft_source.pk}/").status_code == 404
    assert api.get(f"/api/v1/citations/{citation.pk}/").status_code == 404
    assert results(api, "/api/v1/events/", state="draft") == []
    assert api.get("/api/v1/sites/temple-of-bel/").json()["event_count"] == 1


def test_curators_see_drafts_and_filter_by_state(api, curator):
    draft = make_event(summary="Draft claim")
    api.force_authenticate(curator)
    drafts = results(api, "/api/v1/events/", state="draft")
    assert [e["id"] for e in drafts] == [draft.pk]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"site": "temple-of-bel"}, {"temple-of-bel"}),
        ({"level": ["severe", "unknown"]}, {"tetrapylon", "roman-theatre", "palmyra-museum",
                                            "palmyra-castle"}),
        ({"grade": "weak"}, {"palmyra-castle"}),
        ({"cause": "shelling"}, {"palmyra-castle"}),
        ({"year": 2017}, {"tetrapylon", "roman-theatre"}),
        ({"date_after": "2016-12", "date_before": "2017"}, {"tetrapylon", "roman-theatre"}),
        ({"q": "Baal Shamin"}, {"temple-of-baalshamin"}),
        ({"publisher": "UNITAR"}, {"temple-of-baalshamin", "temple-of-bel"}),
    ],
)  # fmt: skip
def test_events_filter_like_the_public_pages(api, params, expected):
    assert {e["site"] for e in results(api, "/api/v1/events/", page_size=500, **params)} == expected


def test_every_confirmed_destruction_of_2015(api):
    rows = results(
        api, "/api/v1/events/", level="destroyed", grade="confirmed",
        date_after="2015", date_before="2015",
    )  # fmt: skip
    assert {e["site"] for e in rows} == {"temple-of-baalshamin", "temple-of-bel"}


def test_events_filter_by_a_cited_source(api):
    source = Source.objects.get(publisher="UNESCO")
    assert {e["site"] for e in results(api, "/api/v1/events/", source=source.pk)} == {
        "temple-of-baalshamin"
    }


def test_only_what_changed_since_a_moment(api):
    everything = results(api, "/api/v1/events/", page_size=500)
    latest = max(e["updated"] for e in everything)
    bel = DamageEvent.objects.get(site__slug="temple-of-bel")
    edit(bel, description=bel.description + " Edited.")
    changed = results(api, "/api/v1/events/", updated_since=latest.replace("+00:00", "Z"))
    assert [e["id"] for e in changed if e["updated"] > latest] == [bel.pk]


def test_sites_filter_by_condition_and_sources_by_publisher(api):
    unknown = results(api, "/api/v1/sites/", condition="unknown")
    assert [s["slug"] for s in unknown] == ["palmyra-castle"]
    reuters = results(api, "/api/v1/sources/", publisher="reuters")
    assert {s["publisher"] for s in reuters} == {"Reuters"}


def test_pages_follow_a_cursor_to_the_end_without_repeating(api):
    seen, url = [], "/api/v1/events/?page_size=5"
    while url:
        page = api.get(url).json()
        seen += [e["id"] for e in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(DamageEvent.objects.published().values_list("pk", flat=True))
    assert len(seen) == len(set(seen))


def test_newest_first_ordering(api):
    rows = results(api, "/api/v1/events/", ordering="-date", page_size=3)
    assert rows[0]["site"] in {"tetrapylon", "roman-theatre"}


def test_a_page_holds_at_most_500_rows(api):
    for n in range(3):
        make_published_event(date=f"2016-0{n + 1}")
    assert len(results(api, "/api/v1/events/", page_size=2)) == 2
    assert len(results(api, "/api/v1/events/", page_size=500)) == 15
    too_many = api.get("/api/v1/events/", {"page_size": 501})
    assert too_many.status_code == 400
    assert "from 1 to 500" in too_many.json()["page_size"][0]


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/events/?date_after=last+week", "date_after"),
        ("/api/v1/events/?level=obliterated", "level"),
        ("/api/v1/events/?year=MMXV", "year"),
        ("/api/v1/events/?updated_since=yesterday", "updated_since"),
        ("/api/v1/events/?ordering=latitude", "ordering"),
        ("/api/v1/events/?actor=999999", "actor"),
        ("/api/v1/sites/?condition=gone", "condition"),
        ("/api/v1/sources/?kind=rumour", "kind"),
    ],
)
def test_a_bad_value_is_a_400_naming_the_parameter(api, url, parameter):
    response = api.get(url)
    assert response.status_code == 400
    assert parameter in response.json()


@pytest.mark.parametrize("cursor", ["not-a-cursor", "cD14eHg=", "cD0xOTAwLTEzLTQw"])
def test_an_altered_cursor_is_a_400_naming_it(api, cursor):
    # the last two are base64 for "p=xxx" and "p=1900-13-40"
    response = api.get("/api/v1/events/", {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        # the data stamp, the events joined to their stored documents
        ("/api/v1/events/", 2),
        # the data stamp, the sites joined to their stored documents
        ("/api/v1/sites/", 2),
        # the data stamp, the public sources with their event counts, their captures
        ("/api/v1/sources/", 3),
        # the data stamp, the citations with their events, sites and sources
        ("/api/v1/citations/", 2),
    ],
)
def test_each_list_costs_the_same_queries_whatever_the_page_size(
    api, django_assert_num_queries, url, queries
):
    for page_size in (1, 5, 500):
        with django_assert_num_queries(queries):
            assert api.get(url, {"page_size": page_size}).status_code == 200


def test_citations_list_their_event_and_source(api):
    rows = results(api, "/api/v1/citations/", page_size=500)
    assert len(rows) == Citation.objects.filter(event__state="published").count()
    assert {"event", "site", "source", "quote", "stance", "claimed_date"} <= set(rows[0])


# Found in review


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/events/?updated_since=0001-01-01T00:00:00%2B15:00", "updated_since"),
        ("/api/v1/events/?source=1e30", "source"),
        ("/api/v1/events/?source=99999999999999999999", "source"),
        ("/api/v1/events/?source=1.5", "source"),
        ("/api/v1/citations/?event=99999999999999999999", "event"),
        ("/api/v1/sources/?ordering=published&format=csv", "ordering"),
        ("/api/v1/sites/?ordering=events&format=geojson", "ordering"),
    ],
)
def test_more_bad_values_are_400s_naming_the_parameter_in_json(api, url, parameter):
    response = api.get(url)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert parameter in response.json()


def test_an_unknown_api_address_answers_json(api, settings):
    settings.DEBUG = False
    response = api.get("/api/v1/nothing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_the_citation_filters_name_no_draft(api):
    draft = make_event(summary="A secret draft summary")
    make_citation(draft, make_source(title="A source only a draft cites"))
    html = api.get(
        "/api/v1/citations/", {"format": "api"}, HTTP_ACCEPT="text/html"
    ).content.decode()
    assert "A secret draft summary" not in html
    assert "A source only a draft cites" not in html
    assert api.get("/api/v1/citations/", {"event": draft.pk}).json()["results"] == []


def test_events_filter_by_actor_name_as_they_show_it(api):
    assert {e["site"] for e in results(api, "/api/v1/events/", actor="Unknown")} == {
        "palmyra-castle"
    }


def test_a_regrade_shows_in_an_incremental_pull(api):
    castle = DamageEvent.objects.get(site__slug="palmyra-castle")
    before = results(api, "/api/v1/events/", page_size=500)
    latest = max(e["updated"] for e in before).replace("+00:00", "Z")
    make_citation(castle, make_source(publisher="Another agency"), approve=True)
    changed = results(api, "/api/v1/events/", updated_since=latest)
    assert [(e["site"], e["grade"]) for e in changed if e["updated"] > latest] == [
        ("palmyra-castle", "fair")
    ]


def test_sources_and_citations_carry_both_bounds_of_their_dates(api):
    compiled = Source.objects.get(title__startswith="Syrian forces battle IS")
    data = api.get(f"/api/v1/sources/{compiled.pk}/").json()
    assert (data["published_lower"], data["published_upper"]) == ("2016-03-01", "2016-03-31")
    tombs = DamageEvent.objects.get(site__slug="tower-tombs")
    claims = api.get(f"/api/v1/events/{tombs.pk}/").json()["citations"]
    asor = next(c for c in claims if c["stance"] == "contradicts")
    assert (asor["claimed_lower"], asor["claimed_upper"]) == ("2015-06-27", "2015-08-26")


def test_the_actors_of_published_events_are_listed_with_their_events(api, editor):
    from heritage.models import Actor
    from tests.helpers import make_actor, make_event

    hidden = make_actor(name="Named only in a draft")
    make_event(actor=hidden)
    named = Actor.objects.filter(events__state="published").distinct()
    answer = api.get("/api/v1/actors/").json()
    names = [actor["name"] for actor in answer["results"]]
    assert names == sorted(a.name for a in named)
    assert hidden.name not in names
    first = answer["results"][0]
    events = api.get(first["events"]).json()["results"]
    assert len(events) == first["event_count"]
    assert api.get(f"/api/v1/actors/{hidden.pk}/").status_code == 404
    assert api.post("/api/v1/actors/", {"name": "x"}, format="json").status_code in (401, 403, 405)


def test_intake_claims_are_read_by_staff_only(api, client, curator):
    from reports.models import Claim, Source

    source = Source.objects.create(
        kind="news", title="Pasted", text="Militants blew up the Temple of Bel in Palmyra."
    )
    source.propose_claims()
    claim = Claim.objects.get(source=source)
    assert api.get("/api/v1/claims/").status_code in (401, 403)
    api.force_authenticate(curator)
    listed = api.get("/api/v1/claims/", {"status": "proposed", "source": source.pk}).json()
    assert [c["id"] for c in listed["results"]] == [claim.pk]
    assert listed["results"][0]["site"] == "temple-of-bel"
    assert api.get("/api/v1/claims/", {"status": "maybe"}).status_code == 400
    assert api.post("/api/v1/claims/", {}, format="json").status_code in (403, 405)
