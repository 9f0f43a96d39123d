"""Conditional GET, caching headers, CORS and throttling on the API."""

import datetime

import pytest
from django.utils import timezone

from heritage.models import DamageEvent, PublicStamp, Site
from tests.helpers import edit, make_event, remove

pytestmark = pytest.mark.usefixtures("palmyra")


@pytest.mark.parametrize(
    "url", ["/api/v1/events/", "/api/v1/sites/temple-of-bel/", "/api/v1/sources/?format=csl"]
)
def test_an_unchanged_answer_is_a_bodiless_304(api, url):
    settle()
    first = api.get(url)
    assert first.status_code == 200
    again = api.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert not again.content
    since = api.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert since.status_code == 304


def test_an_edit_changes_the_etag(api):
    first = api.get("/api/v1/events/")
    bel = DamageEvent.objects.get(site__slug="temple-of-bel")
    edit(bel, description=bel.description + " Edited.")
    again = api.get("/api/v1/events/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]


def test_a_deletion_changes_the_etag_too(api, editor):
    first = api.get("/api/v1/sites/")
    remove(DamageEvent.objects.get(site__slug="palmyra-castle"))
    assert api.get("/api/v1/sites/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_each_query_and_format_has_its_own_etag(api):
    tags = {
        api.get("/api/v1/events/")["ETag"],
        api.get("/api/v1/events/", {"grade": "weak"})["ETag"],
        api.get("/api/v1/events/", HTTP_ACCEPT="text/csv")["ETag"],
    }
    assert len(tags) == 3


def test_anonymous_reads_may_be_cached_a_curators_may_not(api, curator):
    anonymous = api.get("/api/v1/events/")
    assert anonymous["Cache-Control"] == "public, max-age=60"
    assert "Accept" in anonymous["Vary"]
    api.force_authenticate(curator)
    assert api.get("/api/v1/events/")["Cache-Control"] == "private, no-cache"


def test_any_web_page_may_read_the_api(api):
    response = api.get("/api/v1/events/", HTTP_ORIGIN="https://researcher.example.org")
    assert response["Access-Control-Allow-Origin"] == "*"
    preflight = api.options(
        "/api/v1/events/",
        HTTP_ORIGIN="https://researcher.example.org",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="DELETE",
    )
    assert "DELETE" not in preflight.get("Access-Control-Allow-Methods", "")


def test_anonymous_clients_are_throttled_with_a_reason(api, monkeypatch):
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(AnonRateThrottle, "rate", "3/minute", raising=False)
    codes = [api.get("/api/v1/sites/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = api.get("/api/v1/sites/")
    assert "Retry-After" in refused
    assert "throttled" in refused.json()["detail"].lower()


def test_a_new_name_for_a_site_changes_the_etag_once_it_is_reviewed(api):
    from heritage import workflow
    from heritage.models import Site, SiteName
    from tests.helpers import SETUP

    first = api.get("/api/v1/sites/temple-of-bel/")
    bel = Site.objects.get(slug="temple-of-bel")
    proposal = workflow.save(SiteName(site=bel, name="Bel"), SETUP, "Another name").proposal
    waiting = api.get("/api/v1/sites/temple-of-bel/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert waiting.status_code == 304
    workflow.approve(proposal, SETUP, "Checked")
    again = api.get("/api/v1/sites/temple-of-bel/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200


def settle(seconds=2):
    """The public record as it is when its last change is `seconds` old: Last-Modified
    is sent only once the second of the latest change is over."""
    PublicStamp.objects.update(changed=timezone.now() - datetime.timedelta(seconds=seconds))


def test_a_deletion_moves_last_modified(api):
    settle()
    first = api.get("/api/v1/sites/")
    remove(DamageEvent.objects.get(site__slug="palmyra-castle"))
    settle(seconds=1)
    again = api.get("/api/v1/sites/", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert again.status_code == 200
    assert again["Last-Modified"] != first["Last-Modified"]


def test_a_change_in_the_same_second_never_answers_a_stale_304(api):
    first = api.get("/api/v1/events/")
    # Its second is not over: no Last-Modified yet, so no If-Modified-Since can match.
    assert "Last-Modified" not in first
    bel = DamageEvent.objects.get(site__slug="temple-of-bel")
    edit(bel, summary="Changed within the same second")
    again = api.get("/api/v1/events/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200


def test_a_curators_draft_leaves_anonymous_validators_alone(api):
    settle()
    first = api.get("/api/v1/events/")
    draft = make_event(Site.objects.get(slug="temple-of-bel"), summary="Work in progress")
    edit(draft, description="More work")
    again = api.get("/api/v1/events/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert api.get("/api/v1/events/")["Last-Modified"] == first["Last-Modified"]


def test_the_dump_answers_304_when_unchanged(api, settings, tmp_path):
    from django.core.management import call_command

    settings.DUMP_PATH = tmp_path / "dump.zip"
    call_command("build_dump", verbosity=0)
    first = api.get("/api/v1/dump/")
    assert first.status_code == 200
    assert api.get("/api/v1/dump/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


# Answers kept in the server's cache


def test_a_repeated_anonymous_request_is_answered_from_the_cache(api, django_assert_num_queries):
    with django_assert_num_queries(2):  # data stamp, the events' stored documents
        first = api.get("/api/v1/events/", {"page_size": 5})
    with django_assert_num_queries(1):  # the data stamp alone
        again = api.get("/api/v1/events/", {"page_size": 5})
    assert again.status_code == 200
    assert again.content == first.content
    assert again["ETag"] == first["ETag"]
    assert again["Content-Type"] == first["Content-Type"]
    assert again["Cache-Control"] == "public, max-age=60"


def test_a_kept_answer_is_never_stale(api):
    first = api.get("/api/v1/events/").json()
    bel = DamageEvent.objects.get(site__slug="temple-of-bel")
    edit(bel, summary="Cella and colonnade blown up")
    again = api.get("/api/v1/events/").json()
    assert again != first
    assert "Cella and colonnade blown up" in {event["summary"] for event in again["results"]}


def test_answers_for_another_host_are_not_shared(api):
    api.get("/api/v1/events/", HTTP_HOST="localhost")
    event = api.get("/api/v1/events/", HTTP_HOST="127.0.0.1").json()["results"][0]
    assert event["url"].startswith("http://127.0.0.1/")


def test_a_curators_answers_are_not_kept(api, curator, django_assert_num_queries):
    api.force_authenticate(curator)
    api.get("/api/v1/events/")
    with django_assert_num_queries(3):
        api.get("/api/v1/events/")


@pytest.mark.parametrize(("seconds", "limit"), [(0, 1024 * 1024), (300, 100)])
def test_nothing_is_kept_when_switched_off_or_too_large(
    api, settings, django_assert_num_queries, seconds, limit
):
    settings.API_CACHE_SECONDS, settings.API_CACHE_MAX_BYTES = seconds, limit
    api.get("/api/v1/events/")
    with django_assert_num_queries(2):
        api.get("/api/v1/events/")


def test_csv_is_streamed_not_kept(api, django_assert_num_queries):
    api.get("/api/v1/events/", {"format": "csv"})
    with django_assert_num_queries(2):  # data stamp, the rows
        response = api.get("/api/v1/events/", {"format": "csv"})
        assert response.streaming
        assert b"temple-of-bel" in b"".join(response.streaming_content)
