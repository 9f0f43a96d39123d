"""The register's record (fixtures/record/): loaded whole through the workflow by
`manage.py load_record`, again without change, and refused whole for one bad row."""

import json

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from heritage.models import DamageEvent, Site, State, condition_after
from reports.models import Citation, Source

pytestmark = pytest.mark.django_db


def load(*arguments):
    call_command("load_record", *arguments, verbosity=0)


def history_rows():
    return sum(model.history.count() for model in (Site, DamageEvent, Source, Citation))


def test_the_whole_record_loads_through_the_workflow_and_loading_again_changes_nothing():
    load()
    places = Site.objects.filter(parent__kind="governorate")
    countries = {place.parent.parent.slug for place in places}
    assert countries == {"syria", "iraq"}
    assert places.count() >= 8
    assert Site.objects.count() >= 80
    published = DamageEvent.objects.filter(state=State.PUBLISHED)
    assert published.count() == DamageEvent.objects.count() >= 60
    assert Source.objects.count() >= 120
    # Each event stands on a citation that supports it, and its grade is earned.
    assert not published.exclude(citations__stance="supports").exists()
    assert not published.filter(grade="unsupported").exists()

    rows, versions = Site.objects.count(), history_rows()
    load()
    assert (Site.objects.count(), history_rows()) == (rows, versions)


def test_the_lion_is_in_better_condition_after_its_restoration_in_2017():
    load("--place", "syria-palmyra")
    lion = Site.objects.get(slug="lion-of-al-lat")
    events = lion.events.published()
    restoration = events.get(kind="restoration")
    assert restoration.date_upper.isoformat() == "2017-10-01"
    before = condition_after(events.filter(date_upper__lt=restoration.date_lower))
    assert (before, lion.condition) == ("severe", "moderate")


def test_each_tower_the_sources_name_has_its_own_dated_event():
    load("--place", "syria-palmyra")
    towers = {
        slug: DamageEvent.objects.get(site__slug=slug, state=State.PUBLISHED)
        for slug in ("tower-of-iamliku", "tower-of-atenatan", "tower-of-elahbel")
    }
    # Two phases between ASOR's images: Iamliku and Atenatan before 27 August 2015,
    # Elahbel between 27 August and 2 September.
    assert towers["tower-of-iamliku"].date_upper.isoformat() == "2015-08-27"
    assert towers["tower-of-atenatan"].date_upper.isoformat() == "2015-08-27"
    elahbel = towers["tower-of-elahbel"]
    assert (elahbel.date_lower.isoformat(), elahbel.date_upper.isoformat()) == (
        "2015-08-27",
        "2015-09-02",
    )
    assert all(event.grade in ("confirmed", "fair") for event in towers.values())


def test_searching_a_place_by_any_of_its_names_finds_its_monuments_events():
    load("--place", "syria-palmyra")
    api = APIClient()
    for name in ("Palmyra", "تدمر", "Homs"):
        found = api.get("/api/v1/events/", {"q": name, "page_size": 500}).json()["results"]
        assert {"temple-of-bel", "tower-of-elahbel", "lion-of-al-lat"} <= {
            event["site"] for event in found
        }, name


def test_the_site_filter_takes_a_name_as_well_as_a_slug():
    load("--place", "syria-palmyra")
    api = APIClient()
    by_slug = api.get("/api/v1/events/", {"site": "temple-of-bel"}).json()["results"]
    for name in ("Temple of Bel", "temple of bel", "معبد بل"):
        by_name = api.get("/api/v1/events/", {"site": name}).json()["results"]
        assert by_slug
        assert by_name == by_slug, name


def record_file(tmp_path, **changes):
    """A small record of our own, one row changed by `changes`."""
    country = {"slug": "syria", "name": "Syria", "kind": "country", "parent": None,
               "bounds": [32.0, 35.0, 38.0, 43.0]}  # fmt: skip
    site = {"slug": "a-temple", "name": "A temple", "kind": "temple", "parent": "syria",
            "latitude": 34.5, "longitude": 38.2} | changes.get("site", {})  # fmt: skip
    source = {"key": "report", "kind": "news", "title": "A report", "publisher": "A paper",
              "text": "The temple was blown up on Sunday."} | changes.get("source", {})  # fmt: skip
    event = {"key": "blast", "site": "a-temple", "summary": "Blown up", "date": "2015-08-30",
             "level": "destroyed", "cause": "explosives", "actor": "",
             "citations": [{"source": "report", "quote": "The temple was blown up"}]}  # fmt: skip
    event |= changes.get("event", {})
    data = {"actors": [], "sites": [country, site], "sources": [source], "events": [event]}
    path = tmp_path / "syria-test.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_small_record_of_our_own_loads(tmp_path):
    load(str(record_file(tmp_path)))
    event = DamageEvent.objects.get(record_key="blast")
    assert (event.state, event.site.slug, event.citations.count()) == ("published", "a-temple", 1)
    # The source's text is kept as the file gave it, once however often it is loaded.
    source = event.citations.get().source
    capture = source.captures.get()
    assert capture.method == "import"
    assert capture.read_bytes() == source.text.encode()
    load(str(record_file(tmp_path)))
    assert source.captures.count() == 1


@pytest.mark.parametrize(
    ("changes", "named", "why"),
    [
        ({"site": {"latitude": 48.85, "longitude": 2.35}}, "sites[1] (a-temple)", "outside Syria"),
        (
            {"event": {"citations": [{"source": "report", "quote": "The temple still stands"}]}},
            "events[0].citations[0]",
            "does not occur in the stored text",
        ),
        ({"event": {"actor": "the-sea-peoples"}}, "events[0] (blast)", "defined in no file"),
        ({"event": {"date": "last Sunday"}}, "events[0] (blast)", "not a date in EDTF"),
        ({"site": {"kind": "pyramid"}}, "sites[1] (a-temple)", "not a valid choice"),
        (
            {"source": {"text": "The temple was blown up" + "\x07" * 9}},
            "sources[0] (report)",
            "cannot be kept as a capture",
        ),
    ],
)
def test_a_row_that_breaks_a_rule_is_named_and_nothing_is_loaded(tmp_path, changes, named, why):
    path = record_file(tmp_path, **changes)
    with pytest.raises(CommandError) as refused:
        load(str(path))
    assert refused.value.returncode == 2
    assert f"syria-test.json, {named}" in str(refused.value)
    assert why in str(refused.value)
    assert not Site.objects.exists()
    assert not Source.objects.exists()
