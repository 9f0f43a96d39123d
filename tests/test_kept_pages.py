"""Kept pages (heritage/kept.py): a public page made for an anonymous reader answers the
next one from the cache until the public record changes, and only one process makes a
missing page at a time."""

import threading
import time

import pytest

from heritage import kept
from heritage.models import Site
from tests.helpers import edit, make_event, make_published_event

pytestmark = pytest.mark.usefixtures("palmyra")


@pytest.fixture(autouse=True)
def pages_kept(settings):
    settings.PAGE_CACHE_SECONDS = 300


def key(url):
    return kept.answer_key("page", f"http://testserver{url}", kept.public_version())


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        # the public record's version
        ("/", 1),
        ("/sites/", 1),
        ("/events/", 1),
        ("/sources/", 1),
        # the tokens of the site's document, its events' and its children's
        ("/sites/temple-of-bel/", 3),
    ],
)
def test_a_second_anonymous_reader_is_answered_from_the_cache(
    client, django_assert_num_queries, url, queries
):
    first = client.get(url)
    with django_assert_num_queries(queries):
        again = client.get(url)
    assert again.status_code == 200
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    assert again["Content-Security-Policy"] == first["Content-Security-Policy"]


def test_a_publication_shows_in_the_next_read(client):
    site = Site.objects.get(slug="temple-of-bel")
    assert "Roof fell in" not in client.get("/sites/temple-of-bel/").text
    make_published_event(site, summary="Roof fell in")
    assert "Roof fell in" in client.get("/sites/temple-of-bel/").text


def test_a_correction_shows_in_the_next_read(client):
    event = make_published_event(summary="First wording")
    assert "First wording" in client.get("/events/").text
    edit(event, summary="Corrected wording")
    html = client.get("/events/").text
    assert "Corrected wording" in html
    assert "First wording" not in html


def test_a_draft_does_not_make_kept_pages_new(client, django_assert_num_queries):
    client.get("/events/")
    make_event(Site.objects.get(slug="temple-of-bel"), summary="A draft nobody sees")
    with django_assert_num_queries(1):
        assert "A draft nobody sees" not in client.get("/events/").text


def test_logged_in_readers_get_pages_made_for_them(curator_client):
    curator_client.get("/sites/")
    assert kept.fetch_or_claim(key("/sites/")) == (None, True)  # nothing was kept


def test_a_page_not_found_is_not_kept(client):
    assert client.get("/sites/no-such-site/").status_code == 404
    assert kept.fetch_or_claim(key("/sites/no-such-site/")) == (None, True)


def test_a_curators_preview_is_never_kept(curator_client, client):
    url = "/preview/sites/temple-of-bel/"
    assert curator_client.get(url).status_code == 200
    client.get(url)  # an anonymous reader is sent to log in
    assert kept.fetch_or_claim(key(url)) == (None, True)


def test_a_reader_waits_for_the_page_another_process_is_making(client):
    url = "/sites/"
    made = key(url)  # read here: the other thread has no test database
    assert kept.claim(made)

    def other_maker():
        time.sleep(0.1)
        kept.keep(made, (b"made by the other process", {"Content-Type": "text/html"}), 60)

    maker = threading.Thread(target=other_maker)
    maker.start()
    response = client.get(url)
    maker.join()
    assert response.content == b"made by the other process"


def test_a_reader_makes_the_page_itself_when_the_maker_gives_up(client):
    url = "/sources/"
    made = key(url)
    assert kept.claim(made)

    def failed_maker():
        time.sleep(0.05)
        kept.release(made)

    maker = threading.Thread(target=failed_maker)
    maker.start()
    response = client.get(url)
    maker.join()
    assert response.status_code == 200
    assert b"Sources" in response.content
    assert kept.fetch_or_claim(key(url))[0] is not None  # and kept it


def test_a_change_to_another_site_leaves_a_site_page_kept(client, django_assert_num_queries):
    client.get("/sites/temple-of-bel/")
    make_published_event(summary="Elsewhere")  # on a new site
    with django_assert_num_queries(3):  # the tokens of the site's documents
        again = client.get("/sites/temple-of-bel/")
    assert "Elsewhere" not in again.text


def test_a_change_to_a_sites_event_shows_on_its_page(client):
    site = Site.objects.get(slug="temple-of-bel")
    event = make_published_event(site, summary="Portico damaged")
    assert "Portico damaged" in client.get("/sites/temple-of-bel/").text
    edit(event, summary="Portico and cella damaged")
    assert "Portico and cella damaged" in client.get("/sites/temple-of-bel/").text


def test_an_api_record_stays_kept_when_another_changes(api, settings, django_assert_num_queries):
    settings.API_CACHE_SECONDS = 300
    event = make_published_event()
    url = f"/api/v1/events/{event.pk}/"
    first = api.get(url)
    make_published_event(summary="Another event")
    with django_assert_num_queries(2):  # the public stamp, the record's document token
        again = api.get(url)
    assert again.content == first.content
    edit(event, summary="Changed")
    assert api.get(url).json()["summary"] == "Changed"


def test_the_home_pages_counts_are_counted_once_per_version_of_the_record(
    client, settings, django_assert_num_queries
):
    settings.PAGE_CACHE_SECONDS = 0  # the page made afresh, its counts kept
    client.get("/")
    with django_assert_num_queries(6):  # version, features, points, latest events…
        assert client.get("/").status_code == 200
    make_published_event()
    with django_assert_num_queries(9):  # … and the three counts again
        assert client.get("/").status_code == 200
