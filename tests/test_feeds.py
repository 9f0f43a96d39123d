"""Atom feeds of the published events (heritage/feeds.py): every one at /feeds/events/,
a place's and its monuments' at /feeds/sites/<slug>/, newest change first."""

import datetime
import re
import xml.etree.ElementTree as ET

import pytest

from heritage import feeds, kept, workflow
from heritage.models import DamageEvent, Site, State
from tests.helpers import (
    SETUP,
    edit,
    make_citation,
    make_event,
    make_published_event,
    make_site,
    make_source,
    move,
    publish,
)

ATOM = {"atom": "http://www.w3.org/2005/Atom"}


def read(client, url="/feeds/events/", **headers):
    response = client.get(url, **headers)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    return ET.fromstring(response.content)


def entries(feed):
    return feed.findall("atom:entry", ATOM)


def text(element, path):
    return element.findtext(path, namespaces=ATOM)


def titles(feed):
    return [text(entry, "atom:title") for entry in entries(feed)]


def entry_for(feed, event):
    found = [e for e in entries(feed) if text(e, "atom:title").endswith(f": {event.summary}")]
    assert len(found) == 1, [text(e, "atom:title") for e in entries(feed)]
    return found[0]


def moment(value):
    return datetime.datetime.fromisoformat(value)


# The overall feed


def test_the_overall_feed_is_valid_atom_naming_itself_and_the_register(client, db):
    site = make_site(name="Temple of Bel")
    event = make_published_event(site, summary="Cella blown up")
    feed = read(client)
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    assert text(feed, "atom:id") == "http://testserver/feeds/events/"
    assert text(feed, "atom:title") == "Heritage damage register: damage events"
    assert text(feed, "atom:author/atom:name") == "Heritage damage register"
    links = {link.get("rel"): link.get("href") for link in feed.findall("atom:link", ATOM)}
    assert links == {
        "self": "http://testserver/feeds/events/",
        "alternate": "http://testserver/events/",
    }
    [entry] = entries(feed)
    assert text(entry, "atom:id") == (f"tag:testserver,{event.created:%Y-%m-%d}:event/{event.pk}")
    assert text(entry, "atom:title") == "Temple of Bel: Cella blown up"
    [link] = entry.findall("atom:link", ATOM)
    assert (link.get("rel"), link.get("href")) == (
        "alternate",
        f"http://testserver/sites/{site.slug}/#event-{event.pk}",
    )
    event.refresh_from_db()
    assert moment(text(entry, "atom:updated")) == event.updated
    assert moment(text(entry, "atom:published")) == event.published_at
    assert entry.find("atom:summary", ATOM).get("type") == "text"
    assert text(entry, "atom:summary")
    assert text(feed, "atom:updated") == text(entry, "atom:updated")


def test_an_entry_says_when_how_bad_how_well_established_and_who_says_so(client, db):
    site = make_site(name="Temple of Baalshamin")
    source = make_source(publisher="Reuters")
    event = make_event(site, summary="Blown up", date="2015-08~", level="destroyed")
    make_citation(event, source, quote="The temple was   blown up\nwith explosives.")
    make_citation(event, make_source(publisher="SANA"), quote="Militants destroyed it.")
    make_citation(event, make_source(publisher="Denier"), stance="contradicts", quote="No.")
    publish(event)
    entry = entry_for(read(client), event)
    assert text(entry, "atom:summary") == (
        "About August 2015. Damage level: destroyed. Verification grade: contested. "
        "2 supporting sources. “The temple was blown up with explosives.” (Reuters)"
    )
    terms = [category.get("term") for category in entry.findall("atom:category", ATOM)]
    assert terms == ["Destroyed", "Contested"]


def test_a_long_quote_is_cut_and_a_source_without_publisher_goes_by_its_title(client, db):
    source = make_source(publisher="", title="Satellite report")
    event = make_event(summary="Cut short")
    make_citation(event, source, quote="word " * 200)
    publish(event)
    summary = text(entry_for(read(client), event), "atom:summary")
    assert "1 supporting source." in summary
    assert "…” (Satellite report)" in summary
    assert len(summary) < 500


def test_an_entry_without_a_quote_says_the_rest(client, db):
    event = make_published_event(summary="Unquoted", date="2016-12-26/2017-01-10")
    summary = text(entry_for(read(client), event), "atom:summary")
    assert summary.startswith("Between 26 December 2016 and 10 January 2017. ")
    assert summary.endswith("1 supporting source.")


def test_only_published_events_appear(client, db):
    shown = make_published_event(summary="Published and shown")
    make_event(summary="A draft nobody may see")
    make_event(summary="Waiting for review", state=State.REVIEW)
    withdrawn = make_published_event(summary="Withdrawn again")
    move(withdrawn, State.DRAFT)
    assert titles(read(client)) == [f"{shown.site.name}: Published and shown"]


def test_entries_come_newest_change_first(client, db):
    first = make_published_event(summary="First")
    make_published_event(summary="Second")
    make_published_event(summary="Third")
    assert [t.split(": ")[1] for t in titles(read(client))] == ["Third", "Second", "First"]
    edit(first, description="A correction, approved")
    feed = read(client)
    assert [t.split(": ")[1] for t in titles(feed)] == ["First", "Third", "Second"]
    updated = [moment(text(entry, "atom:updated")) for entry in entries(feed)]
    assert updated == sorted(updated, reverse=True)
    assert text(feed, "atom:updated") == text(entries(feed)[0], "atom:updated")


def test_an_entry_keeps_its_id_through_edits_and_a_move_to_another_site(client, db):
    event = make_published_event(summary="Before")
    before = text(entry_for(read(client), event), "atom:id")
    edit(event, summary="After", site=make_site(slug="another-place"))
    after = entry_for(read(client), event)
    assert text(after, "atom:id") == before
    assert "/sites/another-place/#event-" in after.find("atom:link", ATOM).get("href")


def test_an_empty_feed_is_still_valid_atom(client, db):
    feed = read(client)
    assert entries(feed) == []
    assert moment(text(feed, "atom:updated"))


@pytest.mark.parametrize("published", [3, 55])
def test_the_feeds_cost_a_fixed_number_of_queries(client, db, django_assert_num_queries, published):
    place = make_site(name="A place")
    for n in range(published):
        site = make_site(parent=place) if n % 2 else place
        make_published_event(site, summary=f"Event {n}")
    # The public record's version (the ETag), the FEED_LENGTH-th newest change of an
    # event's own row, then the entries changed since, each with its citations' newest
    # change, its sources counted and its first quote, all in one.
    with django_assert_num_queries(3):
        feed = read(client)
    assert len(entries(feed)) == min(published, feeds.FEED_LENGTH) == min(published, 50)
    # The same, and the place first.
    with django_assert_num_queries(4):
        feed = read(client, f"/feeds/sites/{place.slug}/")
    assert len(entries(feed)) == min(published, 50)


def test_the_entries_are_those_ranking_every_event_would_give(db, monkeypatch):
    """feed_entries() ranks only the events changed since the FEED_LENGTH-th newest
    change of an event's own row: held equal here to ranking them all."""
    monkeypatch.setattr(feeds, "FEED_LENGTH", 4)
    place = make_site(name="A place")
    events = [
        make_published_event(place if n % 3 else make_site(parent=place), summary=f"E{n}")
        for n in range(9)
    ]
    make_published_event(summary="Elsewhere")
    # Evidence approved on old events, after their rows last changed, lifts them.
    for event in (events[0], events[2]):
        publisher = event.citations.get().source.publisher
        make_citation(event, make_source(publisher=publisher), approve=True)
    make_citation(events[1], make_source(), quote="Not yet reviewed")

    def ranked(events):
        def changed(event):
            citations = [c.updated for c in event.citations.filter(approved=True)]
            return max([event.updated, *citations])

        rows = sorted(events.published(), key=lambda e: (changed(e), e.pk), reverse=True)
        return [event.pk for event in rows[:4]]

    everything = [event.pk for event in feeds.feed_entries()]
    assert everything == ranked(DamageEvent.objects.all())
    assert everything[:2] == [events[2].pk, events[0].pk]
    within = [event.pk for event in feeds.feed_entries(feeds.within(place))]
    assert within == ranked(DamageEvent.objects.filter(site__in=feeds.within(place)))
    assert set(within) <= {event.pk for event in events}


# A site's feed


def test_a_sites_feed_holds_its_own_events_and_those_of_the_places_within_it(client, db):
    place = make_site(name="Old city", kind="city")
    quarter = make_site(name="Tombs valley", parent=place)
    monument = make_site(name="Tower of Elahbel", parent=quarter)
    elsewhere = make_site(name="Somewhere else")
    make_published_event(place, summary="Shelled")
    make_published_event(quarter, summary="Looted")
    make_published_event(monument, summary="Blown up")
    make_published_event(elsewhere, summary="Not here")
    make_event(monument, summary="A draft")
    feed = read(client, f"/feeds/sites/{place.slug}/")
    assert sorted(titles(feed)) == [
        "Old city: Shelled",
        "Tombs valley: Looted",
        "Tower of Elahbel: Blown up",
    ]
    assert text(feed, "atom:title") == "Old city: damage events"
    assert text(feed, "atom:id") == f"http://testserver/feeds/sites/{place.slug}/"
    links = {link.get("rel"): link.get("href") for link in feed.findall("atom:link", ATOM)}
    assert links["alternate"] == f"http://testserver/sites/{place.slug}/"
    assert titles(read(client, f"/feeds/sites/{monument.slug}/")) == ["Tower of Elahbel: Blown up"]


def test_palmyras_feed_holds_its_monuments_events(client, palmyra):
    # The Tower of Elahbel lies among the tower tombs, which lie in Palmyra.
    make_published_event(Site.objects.get(slug="tower-of-elahbel"), summary="Blown up alone")
    feed = read(client, "/feeds/sites/palmyra/")
    assert len(entries(feed)) == DamageEvent.objects.published().count()
    assert "Tower of Elahbel: Blown up alone" in titles(feed)
    assert all(
        not title.startswith("Tower of Elahbel: ")
        for title in titles(read(client, "/feeds/sites/temple-of-bel/"))
    )


def test_a_site_the_public_cannot_see_has_no_feed(client, db):
    waiting = make_site(approve=False, slug="not-reviewed-yet")
    assert client.get("/feeds/sites/no-such-site/").status_code == 404
    assert client.get(f"/feeds/sites/{waiting.slug}/").status_code == 404


# Evidence


def test_an_approved_new_citation_moves_its_event_to_the_top(client, db):
    source = make_source(publisher="One outlet")
    older = make_event(summary="Older")
    make_citation(older, source)
    publish(older)
    make_published_event(summary="Newer")
    before = entry_for(read(client), older)
    stored = DamageEvent.objects.get(pk=older.pk).updated
    # Another report by the same publisher: the grade stays, so the event's row does not
    # change, but what its entry shows does.
    make_citation(older, make_source(publisher="One outlet"), quote="Seen again", approve=True)
    assert DamageEvent.objects.get(pk=older.pk).updated == stored
    feed = read(client)
    assert titles(feed)[0].endswith(": Older")
    after = entry_for(feed, older)
    assert moment(text(after, "atom:updated")) > moment(text(before, "atom:updated"))
    assert "2 supporting sources" in text(after, "atom:summary")
    assert text(feed, "atom:updated") == text(after, "atom:updated")


def test_a_citation_not_yet_approved_changes_nothing(client, db):
    older = make_published_event(summary="Older")
    make_published_event(summary="Newer")
    before = client.get("/feeds/events/").content
    make_citation(older, make_source(publisher="Unreviewed"), quote="Words nobody checked")
    after = client.get("/feeds/events/").content
    assert after == before
    assert b"Words nobody checked" not in after
    assert b"Unreviewed" not in after


def test_no_curator_is_named(client, db, curator, editor, settings):
    settings.FOUR_EYES = True
    curator.username, curator.first_name = "zenobia-curator", "Zenobia"
    curator.save()
    editor.username, editor.first_name = "odaenathus-editor", "Odaenathus"
    editor.save()
    event = make_event(summary="Reviewed by two", drafted_by=curator)
    make_citation(event, quote="A quote")
    workflow.transition(event, State.REVIEW, curator, "Ready")
    workflow.transition(event, State.PUBLISHED, editor, "Checked")
    assert DamageEvent.objects.get(pk=event.pk).published_by == editor
    body = client.get("/feeds/events/").content.decode()
    assert "Reviewed by two" in body
    for word in ("zenobia", "odaenathus", "curator", "editor", "manage.py", str(SETUP)):
        assert word not in body.lower()


# Escaping


def test_markup_and_ampersands_in_the_record_are_text_in_the_feed(client, db):
    site = make_site(name="Temple & <b>court</b>")
    event = make_event(site, summary="<script>alert(1)</script> & more")
    make_citation(event, make_source(publisher="A & B <i>"), quote="Fire & <img src=x>")
    publish(event)
    response = client.get("/feeds/events/")
    assert b"<script>" not in response.content
    assert b"<img" not in response.content
    feed = ET.fromstring(response.content)
    entry = entries(feed)[0]
    assert text(entry, "atom:title") == "Temple & <b>court</b>: <script>alert(1)</script> & more"
    assert text(entry, "atom:summary").endswith("“Fire & <img src=x>” (A & B <i>)")
    assert text(read(client, f"/feeds/sites/{site.slug}/"), "atom:title") == (
        "Temple & <b>court</b>: damage events"
    )


def test_control_characters_in_a_quote_do_not_break_the_feed(client, db):
    event = make_event(summary="From a PDF")
    make_citation(event, quote="Page one\x0cpage two\x1b")
    publish(event)
    assert "Page one page two" in text(entry_for(read(client), event), "atom:summary")


# The pages link their feeds


@pytest.mark.parametrize(
    ("page", "feed"),
    [
        ("/", "/feeds/events/"),
        ("/events/", "/feeds/events/"),
        ("/events/?level=destroyed", "/feeds/events/"),
        ("/sites/temple-of-bel/", "/feeds/sites/temple-of-bel/"),
        ("/sites/palmyra/", "/feeds/sites/palmyra/"),
    ],
)
def test_the_pages_link_their_feed(client, palmyra, page, feed):
    html = client.get(page).content.decode()
    links = re.findall(r'<link rel="alternate" type="application/atom\+xml"[^>]*>', html)
    assert len(links) == 1, links
    assert f'href="{feed}"' in links[0]
    assert 'title="' in links[0]
    assert text(read(client, feed), "atom:id") == f"http://testserver{feed}"


# Answering again


def test_a_reader_that_has_the_feed_gets_a_304(client, db, django_assert_num_queries):
    make_published_event()
    first = client.get("/feeds/events/")
    assert first["ETag"]
    assert first["Last-Modified"]
    with django_assert_num_queries(1):  # the public record's version
        again = client.get("/feeds/events/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again["ETag"] == first["ETag"]
    make_published_event(summary="New since")
    fresh = client.get("/feeds/events/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert fresh.status_code == 200
    assert fresh["ETag"] != first["ETag"]
    assert b"New since" in fresh.content


def test_a_kept_feed_answers_the_next_reader_until_the_record_changes(
    client, db, settings, django_assert_num_queries, admin_client
):
    settings.PAGE_CACHE_SECONDS = 300
    event = make_published_event(summary="First wording")
    first = client.get("/feeds/events/")
    with django_assert_num_queries(1):  # the public record's version
        again = client.get("/feeds/events/")
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    assert again["ETag"] == first["ETag"]
    # The same feed for a logged-in curator: it shows only the public record.
    assert admin_client.get("/feeds/events/").content == first.content
    edit(event, summary="Corrected wording")
    body = client.get("/feeds/events/").content
    assert b"Corrected wording" in body
    assert b"First wording" not in body
    move(DamageEvent.objects.get(pk=event.pk), State.DRAFT)
    assert b"Corrected wording" not in client.get("/feeds/events/").content


def test_a_site_feed_not_found_is_not_kept(client, db, settings):
    settings.PAGE_CACHE_SECONDS = 300
    assert client.get("/feeds/sites/no-such-site/").status_code == 404
    key = kept.answer_key(
        "feed", "http://testserver/feeds/sites/no-such-site/", kept.public_version()
    )
    assert kept.fetch_or_claim(key) == (None, True)  # nothing kept, nobody making it


def test_a_feed_is_only_read(client, db):
    assert client.post("/feeds/events/").status_code == 405
