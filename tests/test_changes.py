"""The change feed (/api/v1/changes/): every published, changed, unpublished and deleted
event and citation, in order, cursor-paged, so that an incremental pull sees all of it."""

import os
import threading

import pytest
from django.db import connections

from heritage.models import Change, DamageEvent, State
from tests.helpers import edit, make_citation, make_event, make_published_event, move, remove


def pull(api, *, page_size=100, after=None, **params):
    """Every entry from `after` on, page by page, as a researcher's script pulls them;
    and the cursor to resume from."""
    seen, query = [], {"page_size": page_size, **params}
    if after:
        query["after"] = after
    answer = api.get("/api/v1/changes/", query).json()
    seen += answer["results"]
    while answer["next"]:
        answer = api.get(answer["next"]).json()
        seen += answer["results"]
    return seen, answer["cursor"]


def actions(entries):
    return [(e["type"], e["record"], e["action"]) for e in entries]


def test_publishing_an_event_publishes_it_and_its_citations(db, api):
    event = make_published_event()
    citation = event.citations.get()
    entries, _ = pull(api)
    assert actions(entries) == [
        ("event", event.pk, "published"),
        ("citation", citation.pk, "published"),
    ]
    assert entries[0]["data"]["summary"] == event.summary
    assert entries[0]["url"].endswith(f"/api/v1/events/{event.pk}/")
    assert entries[1]["data"]["id"] == citation.pk
    assert entries[1]["event"] == event.pk


def test_drafts_and_unapproved_evidence_are_not_in_the_feed(db, api):
    draft = make_event()
    make_citation(draft)
    published = make_published_event()
    _, cursor = pull(api)
    make_citation(published)  # a proposal: waits for an editor
    edit(DamageEvent.objects.get(pk=draft.pk), summary="Still a draft")
    assert pull(api, after=cursor)[0] == []


def test_a_citation_approved_on_a_published_event_changes_the_event_too(db, api):
    event = make_published_event()
    _, cursor = pull(api)
    citation = make_citation(event, approve=True, quote="")
    entries, _ = pull(api, after=cursor)
    assert ("citation", citation.pk, "published") in actions(entries)
    assert ("event", event.pk, "changed") in actions(entries)
    changed = next(e for e in entries if e["type"] == "event")
    assert citation.pk in [c["id"] for c in changed["data"]["citations"]]


def test_a_change_unpublishing_and_deletion_are_each_said(db, api):
    event = make_published_event()
    citation = event.citations.get()
    _, cursor = pull(api)
    edit(DamageEvent.objects.get(pk=event.pk), summary="Corrected summary")
    entries, cursor = pull(api, after=cursor)
    assert actions(entries) == [("event", event.pk, "changed")]
    assert entries[0]["data"]["summary"] == "Corrected summary"
    move(DamageEvent.objects.get(pk=event.pk), State.DRAFT)
    entries, cursor = pull(api, after=cursor)
    assert actions(entries) == [
        ("event", event.pk, "unpublished"),
        ("citation", citation.pk, "unpublished"),
    ]
    assert entries[0]["data"] is None
    assert entries[0]["url"] is None
    remove(DamageEvent.objects.get(pk=event.pk))
    entries, _ = pull(api, after=cursor)
    assert ("event", event.pk, "deleted") in actions(entries)
    assert ("citation", citation.pk, "deleted") in actions(entries)
    assert len(entries) == 2


def test_a_pull_in_small_pages_sees_each_entry_once_in_order(db, api):
    for _ in range(4):
        make_published_event()
    everything, _ = pull(api, page_size=100)
    paged, cursor = pull(api, page_size=3)
    assert [e["id"] for e in paged] == [e["id"] for e in everything]
    assert [e["id"] for e in everything] == sorted(e["id"] for e in everything)
    # Nothing new: an empty page that keeps the cursor.
    answer = api.get("/api/v1/changes/", {"after": cursor}).json()
    assert answer == {"cursor": cursor, "next": None, "results": []}
    event = make_published_event()
    assert ("event", event.pk, "published") in actions(pull(api, after=cursor)[0])


def test_the_feed_can_be_read_for_one_kind_of_record(db, api):
    make_published_event()
    entries, _ = pull(api, type="citation")
    assert {e["type"] for e in entries} == {"citation"}


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"after": "12"}, "after"),
        ({"after": "MTI:1sXyZ:forged"}, "after"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "5000"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"page_size": "\u00b2"}, "page_size"),
        ({"page_size": "\u0661\u0660"}, "page_size"),
        ({"type": "site"}, "type"),
    ],
)
def test_a_tampered_cursor_or_a_wrong_parameter_is_a_400_naming_it(db, api, query, named):
    answer = api.get("/api/v1/changes/", query)
    assert answer.status_code == 400
    assert named in answer.json()


def test_a_forged_cursor_made_from_a_real_one_is_refused(db, api):
    make_published_event()
    _, cursor = pull(api)
    value, signature = cursor.rsplit(":", 1)
    assert api.get("/api/v1/changes/", {"after": f"9{value}:{signature}"}).status_code == 400


def test_a_page_costs_two_queries_whatever_its_size(db, api, django_assert_num_queries):
    for _ in range(5):
        make_published_event()
    for size in (2, 100):
        # The database's epoch (cursors are of one history), and the page.
        with django_assert_num_queries(2):
            assert api.get("/api/v1/changes/", {"page_size": size}).status_code == 200


def test_the_feed_starts_with_what_was_published_before_it_existed(db, api):
    import importlib

    from django.apps import apps

    event = make_published_event()
    make_published_event(summary="Another")
    Change.objects.all().delete()  # as before the feed existed
    migration = importlib.import_module("heritage.migrations.0016_change_feed")
    migration.record_what_is_published(apps, None)
    entries, _ = pull(api)
    assert ("event", event.pk, "published") in actions(entries)
    assert ("citation", event.citations.get().pk, "published") in actions(entries)
    assert len(entries) == 4


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite has one writer at a time: the race shows on PostgreSQL",
)
def test_a_reader_pulling_while_editors_publish_misses_nothing(transactional_db, api):
    events = [make_event() for _ in range(3) for _ in range(4)]
    for event in events:
        make_citation(event)
    seen, errors, done = [], [], threading.Event()

    def publisher(part):
        try:
            for event in part:
                move(DamageEvent.objects.get(pk=event.pk), State.PUBLISHED)
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connections.close_all()

    def reader():
        cursor = None
        try:
            while True:
                finished = done.is_set()
                entries, cursor = pull(api, after=cursor, page_size=5)
                seen.extend(entries)
                if finished:
                    return
        finally:
            connections.close_all()

    threads = [threading.Thread(target=publisher, args=(events[n::3],)) for n in range(3)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    done.set()
    watcher.join(60)
    assert errors == []
    published = {e["record"] for e in seen if e["type"] == "event" and e["action"] == "published"}
    assert published == {event.pk for event in events}
    assert len({e["id"] for e in seen}) == len(seen)
    assert Change.objects.count() == len(seen)


def test_a_cursor_from_before_a_restore_is_refused_rather_than_read_on(db, api):
    from heritage.models import PublicStamp

    make_published_event()
    _, cursor = pull(api)
    PublicStamp.new_epoch()  # what a restore does
    answer = api.get("/api/v1/changes/", {"after": cursor})
    assert answer.status_code == 400
    assert "restored from a backup" in answer.json()["after"][0]


def test_only_a_records_latest_entry_keeps_its_text(db, api):
    event = make_published_event(description="Names a witness by mistake")
    edit(DamageEvent.objects.get(pk=event.pk), description="Corrected")
    entries, _ = pull(api, type="event")
    assert [e["action"] for e in entries] == ["published", "changed"]
    assert entries[0]["data"] is None  # the text corrected since is not kept public
    assert entries[1]["data"]["description"] == "Corrected"
    move(DamageEvent.objects.get(pk=event.pk), State.DRAFT)
    everything = api.get("/api/v1/changes/").content.decode()
    assert "Corrected" not in everything
    assert "witness" not in everything
