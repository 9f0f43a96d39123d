"""What keeps the API fast at a country's scale does not change what it answers: pages
of events are built from plain values, JSON is written by orjson."""

import json

import pytest

from heritage.models import DamageEvent
from tests.helpers import make_actor, make_citation, make_event, make_source

pytestmark = pytest.mark.usefixtures("palmyra")


def every_event(api, **params):
    response = api.get("/api/v1/events/", {"page_size": 500, **params})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_each_event_in_a_page_is_what_its_own_address_answers(api):
    listed = every_event(api)
    assert len(listed) == DamageEvent.objects.published().count()
    for event in listed:
        assert event == api.get(event["url"]).json()


def test_so_are_drafts_with_an_actor_an_override_and_open_dates_for_curators(api, curator):
    draft = make_event(
        date="../2016-03",
        actor=make_actor(name="Someone"),
        grade_override="weak",
        grade_override_reason="Only one witness.",
        condition_after="slight",
        description="Walls \u2028 and \u201cquotes\u201d",
    )
    make_citation(draft, make_source(published="2016-03~"), claimed_date="2016-02/..", quote="")
    make_citation(draft, make_source(publisher=""), stance="contradicts", claimed_level="severe")
    api.force_authenticate(curator)
    listed = {event["id"]: event for event in every_event(api, state="draft")}
    assert set(listed) == {draft.pk}
    single = api.get(f"/api/v1/events/{draft.pk}/").json()
    assert listed[draft.pk] == single
    assert single["date_lower"] is None
    assert single["actor"] == "Someone"
    assert len(single["citations"]) == 2


def test_filtered_and_sorted_pages_are_built_the_same_way(api):
    for params in ({"level": "destroyed", "date_after": "2015"}, {"ordering": "-updated"}):
        for event in every_event(api, **params):
            assert event == api.get(event["url"]).json()


def test_absolute_addresses_follow_the_host_asked_for(api):
    event = api.get("/api/v1/events/", HTTP_HOST="localhost").json()["results"][0]
    assert event["url"].startswith("http://localhost/api/v1/events/")
    assert event["page"].startswith("http://localhost/sites/")


def test_json_asked_for_with_an_indent_is_indented(api):
    response = api.get("/api/v1/events/", HTTP_ACCEPT="application/json; indent=2")
    assert response.status_code == 200
    assert response.content.decode().startswith('{\n  "next"')
    assert json.loads(response.content)["results"]


def test_error_messages_are_json_from_the_fast_renderer_too(api):
    response = api.get("/api/v1/events/", {"level": "shattered"})
    assert response.status_code == 400
    assert "level" in json.loads(response.content)


def test_postgresql_finds_words_through_its_indexes_not_by_reading_every_row():
    from django.db import connection

    from heritage.search import search

    if connection.vendor != "postgresql":
        pytest.skip("SQLite matches words in each row (see heritage/search.py)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes")
        indexes = {row[0] for row in cursor.fetchall()}
    assert {"event_search", "site_name_search", "site_search", "site_other_name_search"} <= indexes
    assert "source_search" in indexes
    fields = ["summary", "description", "site__name", "site__names__name"]
    query = search(DamageEvent.objects.all(), "cella", fields)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a table this small is read whole anyway
        plan = query.explain()
        cursor.execute("RESET enable_seqscan")
    for index in ("event_search", "site_name_search", "site_other_name_search"):
        assert index in plan
