"""The public lists and a source's page cost the same however large the record grows:
matching rows are counted only up to a limit (heritage/paging.py), pages reach no
deeper than that, and a source's citations come a hundred at a time.

The limit and the page sizes are made small here, so that Palmyra's record already runs
past them."""

import re

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from heritage.models import DamageEvent, Site
from heritage.paging import BoundedPaginator
from heritage.views import EventListView, PublicFilterView, SiteListView
from reports.models import Source
from reports.views import SourceListView
from tests.helpers import make_citation, make_event, make_site, make_source, publish

pytestmark = pytest.mark.usefixtures("palmyra")

# Each list, the table its rows come from, and the rows it shows, in its order.
LISTS = {
    "/events/": ("heritage_damageevent", lambda: DamageEvent.objects.published()),
    "/sites/": ("heritage_site", lambda: Site.objects.public()),
    "/sources/": ("reports_source", lambda: Source.objects.public()),
}


@pytest.fixture
def limit(monkeypatch):
    """Sets how many rows the lists count and page, for one test."""

    def set_limit(rows):
        monkeypatch.setattr(BoundedPaginator, "limit", rows)

    return set_limit


@pytest.fixture
def page_size(monkeypatch):
    """Sets how many rows a page of each list shows, for one test."""

    def set_size(rows):
        for view in (EventListView, SiteListView, SourceListView):
            monkeypatch.setattr(view, "paginate_by", rows)

    return set_size


def cited_source(times, events=5):
    """A source cited `times` times, across `events` published events of one site."""
    source = make_source(title=f"A report cited {times} times")
    site = make_site(name=f"A site reported {times} times")
    drafts = [make_event(site, date=f"2016-{n + 1:02d}-01") for n in range(min(events, times))]
    for n in range(times):
        make_citation(drafts[n % len(drafts)], source, quote=f"Quote {n}")
    for draft in drafts:
        publish(draft)  # its citations are reviewed with it
    return source


def top_level(sql):
    """A query's own clauses, with its subqueries taken out."""
    while (shorter := re.sub(r"\([^()]*\)", "", sql)) != sql:
        sql = shorter
    return sql


def unbounded(queries, table):
    """The queries that count or read `table`'s rows with no LIMIT on them."""
    found = []
    for query in queries:
        sql, own = query["sql"], top_level(query["sql"])
        counts_all = own.startswith("SELECT COUNT") and not re.search(r"LIMIT \d+\) subquery", sql)
        reads_all = f'FROM "{table}"' in own and not re.search(r"LIMIT \d+( OFFSET \d+)?$", own)
        if counts_all or reads_all:
            found.append(sql)
    return found


def reads(queries, table):
    return [q["sql"] for q in queries if f'FROM "{table}"' in top_level(q["sql"])]


def shown(response):
    return [row.pk for row in response.context["object_list"]]


def heading(response):
    html = response.content.decode()
    return re.search(r'id="results-heading"[^>]*>(.*?)</h2>', html, re.S).group(1)


# Counting


@pytest.mark.parametrize(
    ("url", "table"),
    [
        ("/events/", "heritage_damageevent"),
        ("/events/?q=temple&level=destroyed", "heritage_damageevent"),
        ("/events/?ordering=-date&page=2", "heritage_damageevent"),
        ("/sites/", "heritage_site"),
        ("/sites/?kind=temple&ordering=-latest", "heritage_site"),
        ("/sources/", "reports_source"),
        ("/sources/?q=palmyra&ordering=-events", "reports_source"),
        ("/sources/1/", "reports_citation"),
    ],
)
def test_a_list_page_never_counts_or_reads_every_matching_row(client, page_size, url, table):
    page_size(2)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert reads(queries, table), "the test reads no query of the list"
    assert unbounded(queries, table) == []


def test_the_unbounded_check_would_catch_djangos_own_paginator(client, monkeypatch):
    monkeypatch.setattr(PublicFilterView, "paginator_class", Paginator)
    with CaptureQueriesContext(connection) as queries:
        client.get("/sources/")
    assert len(unbounded(queries, "reports_source")) == 1


@pytest.mark.parametrize("url", LISTS)
def test_a_list_says_more_than_the_limit_when_more_rows_match(client, limit, url):
    rows = LISTS[url][1]().count()
    noun = url.strip("/")
    limit(rows - 1)
    response = client.get(url)
    assert heading(response) == f"More than {rows - 1} {noun}"
    assert response.context["paginator"].count == rows - 1
    assert "The pages stop at the first" in response.content.decode()
    limit(rows)
    response = client.get(url)
    assert heading(response) == f"{rows} {noun}"
    assert "The pages stop at the first" not in response.content.decode()


def test_the_limit_is_written_as_people_read_numbers(client, monkeypatch):
    # A thousand and one matches, as the bounded read would find them.
    monkeypatch.setattr(BoundedPaginator, "found", property(lambda self: [0] * 1001))
    assert heading(client.get("/events/")) == "More than 1,000 events"


def test_a_source_page_says_how_many_times_it_is_cited(client, limit):
    source = cited_source(7)
    assert "Cited 7 times." in client.get(source.get_absolute_url()).content.decode()
    limit(5)
    html = client.get(source.get_absolute_url()).content.decode()
    assert "Cited more than 5 times." in html
    assert f"/api/v1/events/?source={source.pk}&amp;format=csv" in html


# Paging


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/events/", {}),
        ("/events/", {"ordering": "-date"}),
        ("/events/", {"level": "destroyed", "ordering": "site"}),
        ("/sites/", {}),
        ("/sites/", {"ordering": "-latest"}),
        ("/sites/", {"ordering": "events"}),
        ("/sources/", {}),
        ("/sources/", {"ordering": "-events"}),
    ],
)
@pytest.mark.parametrize("rows_limit", [1000, 7], ids=["under-the-limit", "over-the-limit"])
def test_the_pages_follow_each_other_with_no_repeats_and_no_gaps(
    client, limit, page_size, url, params, rows_limit
):
    limit(rows_limit)
    page_size(3)
    first = client.get(url, params)
    everything = list(first.context["filter"].qs.values_list("pk", flat=True))
    assert len(everything) > 6  # more than two pages
    paged, number = [], 1
    while True:
        response = client.get(url, {**params, "page": number})
        if response.status_code == 404:
            break
        paged += shown(response)
        assert shown(response), number
        number += 1
    assert paged == everything[:rows_limit]
    assert shown(first) == paged[:3]


def test_page_two_shows_the_rows_after_page_one(client, page_size):
    page_size(5)
    one = shown(client.get("/events/", {"page": 1}))
    two = shown(client.get("/events/", {"page": 2}))
    ordered = list(DamageEvent.objects.published().values_list("pk", flat=True))
    assert one + two == ordered[:10]
    html = client.get("/events/", {"date_after": "2015", "page": 1}).content.decode()
    assert "date_after=2015&amp;page=2" in html.split('rel="next"')[1][:200]


def test_a_page_past_the_limit_is_not_found_though_more_rows_match(client, limit, page_size):
    limit(5)
    page_size(2)
    assert len(shown(client.get("/events/", {"page": 3}))) == 1  # the fifth row
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/events/", {"page": 4}).status_code == 404
    # Only the bounded read of the matches: nothing deeper was read.
    assert [re.search(r"LIMIT (\d+)", q["sql"]).group(1) for q in queries] == ["6"]


def test_a_source_page_shows_a_hundred_citations_and_the_rest_on_the_next(client):
    source = cited_source(130)
    url = source.get_absolute_url()
    first, second = client.get(url), client.get(url, {"page": 2})
    ordered = list(
        source.citations.public()
        .order_by("event__date_lower", "event_id", "id")
        .values_list("pk", flat=True)
    )
    assert len(shown(first)) == 100
    assert shown(first) + shown(second) == ordered
    assert len(ordered) == 130
    assert "Cited 130 times." in first.content.decode()
    assert 'rel="next" href="?page=2"' in first.content.decode()
    assert '<ol class="cited-for" start="101">' in second.content.decode()
    assert client.get(url, {"page": 3}).status_code == 404


BAD_PAGES = ["abc", "0", "-1", "1.5", "999999", str(10**30), "%00", "' OR 1=1 --"]


@pytest.mark.parametrize("value", BAD_PAGES)
@pytest.mark.parametrize("url", [*LISTS, "/sources/1/"])
def test_a_page_that_is_not_there_is_not_found_never_a_500(client, url, value):
    assert client.get(url, {"page": value}).status_code == 404


@pytest.mark.parametrize("url", [*LISTS, "/sources/1/"])
def test_the_last_page_and_no_page_are_answered(client, limit, page_size, url):
    limit(5)
    page_size(2)
    last = client.get(url, {"page": "last"})
    assert last.status_code == 200
    assert last.context["page_obj"].number == last.context["paginator"].num_pages
    assert client.get(url, {"page": ""}).context["page_obj"].number == 1


# What each page costs


@pytest.mark.parametrize("rows_limit", [1000, 3], ids=["under-the-limit", "over-the-limit"])
def test_the_events_page_with_a_search_costs_four_queries(
    client, django_assert_num_queries, limit, rows_limit
):
    limit(rows_limit)
    # Expect 4 queries: the matches' ids (no more than the limit and one), the page's
    # events with their site and actor, their citations with their sources, and the
    # actors for the filter's choices.
    with django_assert_num_queries(4):
        response = client.get("/events/", {"q": "temple"})
    assert shown(response)


def test_a_source_page_costs_four_queries_however_often_it_is_cited(
    client, django_assert_num_queries
):
    for times in (3, 130):
        source = cited_source(times)
        # Expect 4 queries: the source, its citations' ids (no more than the limit and
        # one), the page's citations with their events and sites, and its captures.
        with django_assert_num_queries(4):
            client.get(source.get_absolute_url())
