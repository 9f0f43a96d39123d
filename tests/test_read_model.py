"""The read model (heritage/readmodel.py): every published event's and public site's
stored public form stays what the serializers make of the models, after every kind of
write, and a missing or old one is rebuilt when read rather than shown."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from heritage import dataset, readmodel, shapes
from heritage.api.serializers import DamageEventSerializer, SiteSerializer
from heritage.models import (
    Actor,
    DamageEvent,
    EventDocument,
    Site,
    SiteDocument,
    SiteFeature,
    SiteName,
    State,
)
from tests.helpers import (
    edit,
    make_actor,
    make_citation,
    make_event,
    make_published_event,
    make_site,
    move,
    remove,
    reviewed,
)

pytestmark = pytest.mark.usefixtures("palmyra")


def request():
    return RequestFactory().get("/", HTTP_HOST="testserver")


def stored(document, field="json"):
    return json.loads(readmodel.absolute(getattr(document, field), request()))


def csv_cells(line):
    return next(csv.reader(io.StringIO(line)))


def exported(queryset, table):
    """The CSV cells the export makes of `queryset` from the models."""
    return [csv_cells(dataset.csv_line(row)) for row in dataset.rows(queryset, table)]


def assert_documents_match_the_models():
    context = {"request": request()}
    events = DamageEvent.objects.published().for_timeline()
    documents = {document.pk: document for document in EventDocument.objects.all()}
    assert set(documents) == {event.pk for event in events}
    for event in events:
        expected = json.loads(json.dumps(DamageEventSerializer(event, context=context).data))
        assert stored(documents[event.pk]) == expected, event
        assert [csv_cells(documents[event.pk].csv)] == exported(
            DamageEvent.objects.filter(pk=event.pk), "events"
        )
    sites = (
        Site.objects.public()
        .with_record()
        .select_related("parent")
        .prefetch_related(shapes.public_names())
    )
    documents = {document.pk: document for document in SiteDocument.objects.all()}
    assert set(documents) == {site.pk for site in sites}
    for site in sites:
        expected = json.loads(json.dumps(SiteSerializer(site, context=context).data))
        assert stored(documents[site.pk]) == expected, site
        feature = SiteFeature.objects.get(pk=site.pk)
        assert stored(feature, "feature") == shapes.site_feature(expected)
        point = json.loads(feature.point) if feature.point else None
        # The map links to pages by their paths.
        relative = json.loads(documents[site.pk].json)
        assert point == (shapes.map_point(relative) if site.is_located else None)
        assert [csv_cells(documents[site.pk].csv)] == exported(
            Site.objects.filter(pk=site.pk), "sites"
        )


@pytest.fixture
def event():
    """A published event with an actor and two supporting citations."""
    event = make_published_event(actor=make_actor(name="Test group"))
    make_citation(event, approve=True, quote="", claimed_level="destroyed")
    return event


def test_the_loaded_record_has_a_document_for_each_public_event_and_site():
    assert EventDocument.objects.exists()
    assert_documents_match_the_models()


def test_publishing_an_event_adds_its_document_and_counts_it_on_its_site(event):
    assert EventDocument.objects.filter(pk=event.pk).exists()
    assert stored(SiteDocument.objects.get(pk=event.site_id))["event_count"] == 1
    assert_documents_match_the_models()


def test_an_approved_change_to_a_published_event_reaches_its_document(event):
    edit(event, summary="Cella and portico blown up", date="2015-08-30/2015-09-01")
    assert stored(EventDocument.objects.get(pk=event.pk))["summary"] == (
        "Cella and portico blown up"
    )
    assert_documents_match_the_models()


def test_a_new_citation_and_its_regrade_reach_the_document(event):
    before = stored(EventDocument.objects.get(pk=event.pk))
    make_citation(event, approve=True, basis="imagery", quote="", claimed_level="severe")
    after = stored(EventDocument.objects.get(pk=event.pk))
    assert len(after["citations"]) == len(before["citations"]) + 1
    assert (after["grade"], after["has_conflict"]) != (before["grade"], before["has_conflict"])
    assert_documents_match_the_models()


def test_a_deleted_citation_leaves_the_document(event):
    citation = event.citations.order_by("-pk").first()
    remove(citation)
    ids = [c["id"] for c in stored(EventDocument.objects.get(pk=event.pk))["citations"]]
    assert citation.pk not in ids
    assert_documents_match_the_models()


def test_a_changed_source_shows_in_every_event_citing_it(event):
    source = event.citations.first().source
    other = make_published_event()
    make_citation(other, source=source, approve=True)
    edit(source, title="Renamed report", publisher="Another publisher")
    for pk in (event.pk, other.pk):
        titles = {c["source_title"] for c in stored(EventDocument.objects.get(pk=pk))["citations"]}
        assert "Renamed report" in titles
    assert_documents_match_the_models()


def test_a_renamed_site_shows_in_its_events_and_its_children(event):
    child = make_site(parent=event.site)
    edit(event.site, name="Renamed temple", slug="renamed-temple")
    document = stored(EventDocument.objects.get(pk=event.pk))
    assert (document["site"], document["site_name"]) == ("renamed-temple", "Renamed temple")
    assert stored(SiteDocument.objects.get(pk=child.pk))["parent"] == "renamed-temple"
    assert_documents_match_the_models()


def test_a_new_name_of_a_site_shows_once_reviewed(event):
    name = SiteName(site=event.site, name="معبد", language="ar")
    reviewed(name)
    names = stored(SiteDocument.objects.get(pk=event.site_id))["names"]
    assert {"name": "معبد", "language": "ar"} in names
    assert_documents_match_the_models()


def test_a_renamed_actor_shows_in_its_events(event):
    edit(Actor.objects.get(name="Test group"), name="Another group")
    assert stored(EventDocument.objects.get(pk=event.pk))["actor"] == "Another group"
    assert_documents_match_the_models()


def test_an_event_moved_to_another_site_moves_between_their_documents(event):
    old_site, new_site = event.site, make_site()
    edit(event, site=new_site)
    assert stored(SiteDocument.objects.get(pk=old_site.pk))["event_count"] == 0
    assert stored(SiteDocument.objects.get(pk=new_site.pk))["event_count"] == 1
    assert_documents_match_the_models()


def test_a_withdrawn_or_deleted_event_has_no_document(event):
    event = move(event, State.DRAFT, "Withdrawn by a test")
    assert not EventDocument.objects.filter(pk=event.pk).exists()
    assert stored(SiteDocument.objects.get(pk=event.site_id))["event_count"] == 0
    assert_documents_match_the_models()
    remove(event)
    assert_documents_match_the_models()


def test_drafts_and_unreviewed_sites_have_none():
    draft = make_event(site=make_site(approve=False))
    assert not EventDocument.objects.filter(pk=draft.pk).exists()
    assert not SiteDocument.objects.filter(pk=draft.site_id).exists()
    assert_documents_match_the_models()


def page(api, url="/api/v1/events/", **params):
    response = api.get(url, {"page_size": 500, **params})
    assert response.status_code == 200
    return response.json()["results"]


def test_a_missing_document_is_built_when_read_and_stored_again(api):
    event = DamageEvent.objects.published().first()
    from_models = page(api)
    EventDocument.objects.filter(pk=event.pk).delete()
    api.credentials()  # a new request, not a kept answer
    from django.core.cache import cache

    cache.clear()
    assert page(api) == from_models
    assert EventDocument.objects.filter(pk=event.pk).exists()
    assert_documents_match_the_models()


def test_a_document_of_an_older_shape_is_never_shown(api):
    from django.core.cache import cache

    site = Site.objects.public().first()
    SiteDocument.objects.filter(pk=site.pk).update(
        shape=readmodel.SHAPE - 1, json='{"slug": "old"}', csv="old\r\n"
    )
    SiteFeature.objects.filter(pk=site.pk).update(shape=readmodel.SHAPE - 1, feature="{}")
    rows = page(api, "/api/v1/sites/")
    assert "old" not in {row["slug"] for row in rows}
    assert site.slug in {row["slug"] for row in rows}
    cache.clear()
    features = api.get("/api/v1/sites/", {"format": "geojson"}).json()["features"]
    assert site.slug in {feature["id"] for feature in features}
    assert SiteDocument.objects.get(pk=site.pk).shape == readmodel.SHAPE
    assert_documents_match_the_models()


def test_a_failed_rebuild_leaves_no_document_and_the_next_read_builds_it(api, monkeypatch):
    event = make_published_event()

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in building documents")

    with monkeypatch.context() as patched:
        patched.setattr(readmodel, "event_documents", broken)
        edit(event, summary="Changed while the builder is broken")
    assert DamageEvent.objects.get(pk=event.pk).summary == "Changed while the builder is broken"
    assert not EventDocument.objects.filter(pk=event.pk).exists()
    summaries = {row["id"]: row["summary"] for row in page(api)}
    assert summaries[event.pk] == "Changed while the builder is broken"
    assert_documents_match_the_models()


def test_no_answer_is_stale_after_a_write(api):
    event = make_published_event()
    assert {row["id"]: row["summary"] for row in page(api)}[event.pk] == "Blown up"
    edit(event, summary="Changed after a reader read it")
    assert {row["id"]: row["summary"] for row in page(api)}[event.pk] == (
        "Changed after a reader read it"
    )


def test_the_csv_export_is_the_stored_lines(api):
    response = api.get("/api/v1/events/", {"format": "csv"})
    lines = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(lines)))
    assert rows[0] == dataset.header("events")
    assert rows[1:] == exported(
        DamageEvent.objects.published().order_by("date_lower", "id"), "events"
    )


def test_the_geojson_of_every_site_is_the_stored_features(api):
    features = api.get("/api/v1/sites/", {"format": "geojson"}).json()["features"]
    expected = [
        stored(SiteFeature.objects.get(site__slug=feature["id"]), "feature") for feature in features
    ]
    for feature, document in zip(features, expected, strict=True):
        assert feature["properties"]["page"].startswith("http://testserver/")
        assert feature == document
    assert len(features) == Site.objects.public().count()


def test_the_command_rebuilds_every_document(capsys):
    EventDocument.objects.all().delete()
    SiteDocument.objects.update(json="{}")
    SiteFeature.objects.update(feature="{}", point="")
    call_command("rebuild_read_model", "--no-progress")
    total = DamageEvent.objects.published().count() + Site.objects.public().count()
    assert f"Rebuilt the documents of {total:,} records." in capsys.readouterr().out
    assert_documents_match_the_models()


def test_the_command_refuses_a_chunk_it_cannot_use():
    with pytest.raises(CommandError, match="--chunk") as refused:
        call_command("rebuild_read_model", "--chunk", "0", "--no-progress")
    assert refused.value.returncode == 2


@pytest.mark.parametrize(
    ("url", "fmt"), [("/api/v1/sites/", "geojson"), ("/api/v1/events/", "csv")]
)
def test_whole_lists_cost_the_same_queries_however_many_records(
    api, django_assert_num_queries, url, fmt
):
    def read_all():
        response = api.get(url, {"format": fmt})
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)

    # the public record's version, and the stored features (or lines) in one query
    with django_assert_num_queries(2):
        read_all()
    for _ in range(5):
        make_published_event()
    from django.core.cache import cache

    cache.clear()  # not a kept answer
    with django_assert_num_queries(2):
        read_all()


def located_points():
    """The map's points as made from the models (heritage.views.map_points)."""
    from heritage.views import map_points

    return map_points(Site.objects.public().located()).points


def test_the_home_map_is_every_located_public_sites_stored_point():
    stored_map = readmodel.StoredMap()
    points = json.loads(stored_map.json)
    assert sorted(points, key=lambda p: p["url"]) == sorted(
        located_points(), key=lambda p: p["url"]
    )
    assert len(stored_map) == len(points) > 1


def test_a_missing_or_old_feature_is_built_again_for_the_map():
    gone, old = Site.objects.public().located()[:2]
    SiteFeature.objects.filter(pk=gone.pk).delete()
    SiteFeature.objects.filter(pk=old.pk).update(shape=readmodel.SHAPE - 1, point="{}")
    points = json.loads(readmodel.StoredMap().json)
    assert {gone.name, old.name} <= {point["name"] for point in points}
    assert len(points) == len(located_points())
    assert SiteFeature.objects.filter(pk__in=[gone.pk, old.pk], shape=readmodel.SHAPE).count() == 2


def test_past_its_limit_the_home_map_lists_its_places_on_the_sites_page(client, monkeypatch):
    assert "as a list</summary>" in client.get("/").text
    monkeypatch.setattr(readmodel.StoredMap, "LIST_LIMIT", 2)
    html = client.get("/").text
    assert "as a list</summary>" not in html
    assert f"The {len(located_points())} places on this map are listed on" in html
