"""The Palmyra record that `make run` loads: complete, consistent, and graded as the
evidence says."""

import datetime
import math

import pytest

from heritage.dates import edtf_bounds
from heritage.models import DamageEvent, Site, State
from reports.models import Citation, Source

pytestmark = pytest.mark.usefixtures("palmyra")

# Each row of the record: the site, the date, and the grade its citations earn.
RECORD = [
    ("tadmur-prison", "2015-05-30", "fair"),
    ("shrine-of-mohammed-bin-ali", "2015-06-19/2015-06-20", "fair"),
    ("tomb-of-nizar-abu-bahaa-al-din", "2015-06-19/2015-06-20", "fair"),
    ("lion-of-al-lat", "2015-06-27", "contested"),
    ("temple-of-baalshamin", "2015-08-23", "confirmed"),
    ("temple-of-bel", "2015-08-30", "confirmed"),
    ("tower-tombs", "2015-08-27/2015-09-02", "contested"),
    ("monumental-arch", "2015-10-04", "fair"),
    ("palmyra-museum", "2015-05/2016-03-27", "confirmed"),
    ("palmyra-castle", "2016-03~", "weak"),
    ("tetrapylon", "2016-12-26/2017-01-10", "confirmed"),
    ("roman-theatre", "2016-12-26/2017-01-10", "confirmed"),
]


def event_at(slug):
    return DamageEvent.objects.get(site__slug=slug)


def test_it_holds_the_city_and_its_monuments():
    palmyra = Site.objects.get(slug="palmyra")
    assert palmyra.kind == "city"
    assert palmyra.wikidata == "Q5747"
    assert palmyra.names.filter(language="ar", name="تدمر").exists()
    for slug, _, _ in RECORD:
        site = Site.objects.get(slug=slug)
        ancestors = []
        while site.parent:
            site = site.parent
            ancestors.append(site.slug)
        assert ancestors[-1] == "palmyra", slug


@pytest.mark.parametrize(("slug", "date", "grade"), RECORD)
def test_each_fact_is_a_published_event_with_the_grade_its_sources_earn(slug, date, grade):
    event = event_at(slug)
    assert event.state == State.PUBLISHED
    assert event.date == date
    assert event.grade == grade
    assert event.citations.filter(stance="supports").exists()


def test_bel_is_confirmed_by_imagery():
    bel = event_at("temple-of-bel")
    assert bel.grade == "confirmed"
    assert any(c.is_direct_evidence for c in bel.citations.filter(stance="supports"))
    assert bel.site.current_condition() == "destroyed"


def test_the_lion_is_contested_and_its_sources_disagree_on_the_damage():
    lion = event_at("lion-of-al-lat")
    assert lion.grade == "contested"
    assert lion.has_conflict
    assert lion.citations.filter(stance="contradicts").exists()


def test_the_castle_rests_on_one_publisher_and_is_weak():
    castle = event_at("palmyra-castle")
    assert castle.grade == "weak"
    supporting = castle.citations.filter(stance="supports").select_related("source")
    assert len({c.source.publisher_key for c in supporting}) == 1


def test_the_tower_tombs_conflicting_dates_are_flagged():
    tombs = event_at("tower-tombs")
    assert tombs.has_conflict
    assert tombs.grade == "contested"
    dated = tombs.citations.exclude(claimed_date="")
    assert max(c.claimed_lower for c in dated) > min(c.claimed_upper for c in dated)


def test_the_stored_derived_values_are_what_the_rules_give():
    for event in DamageEvent.objects.all():
        assert (event.date_lower, event.date_upper) == edtf_bounds(event.date), event
        assert event.grade == event.verification(), event
        assert event.has_conflict == event.citations_conflict(), event
    for citation in Citation.objects.exclude(claimed_date=""):
        assert (citation.claimed_lower, citation.claimed_upper) == edtf_bounds(
            citation.claimed_date
        )
    for source in Source.objects.exclude(published=""):
        assert source.published_lower == edtf_bounds(source.published)[0]


def test_every_row_passes_the_validation_a_curator_would_face():
    for model in (Site, DamageEvent, Source, Citation):
        for row in model.objects.all():
            row.full_clean()


def test_both_seed_articles_are_sources_and_only_the_first_claims_damage():
    compiled = Source.objects.get(title="Syrian forces battle IS on edge of ancient Palmyra")
    assert compiled.publisher == ""
    assert compiled.published == "2016-03"
    cited_sites = set(
        compiled.citations.filter(stance="supports").values_list("event__site__slug", flat=True)
    )
    assert cited_sites == {
        "tadmur-prison",
        "shrine-of-mohammed-bin-ali",
        "tomb-of-nizar-abu-bahaa-al-din",
        "temple-of-baalshamin",
        "temple-of-bel",
        "tower-tombs",
        "monumental-arch",
    }
    retreat = Source.objects.get(publisher="Al-Masdar News")
    assert retreat.published == "2017-03-02"
    assert not retreat.citations.exists()


def test_located_sites_lie_within_a_few_kilometres_of_the_city():
    centre = Site.objects.get(slug="palmyra")
    for site in Site.objects.exclude(latitude=None):
        north = float(site.latitude - centre.latitude) * 111.2
        east = float(site.longitude - centre.longitude) * 111.2 * math.cos(math.radians(34.55))
        assert math.hypot(north, east) < 5, site
    assert Site.objects.get(slug="tetrapylon").latitude is None


def test_the_record_shows_condition_on_a_date_before_and_after_the_destruction():
    bel = Site.objects.get(slug="temple-of-bel")
    assert bel.condition_on(datetime.date(2015, 8, 1)) is None
    assert bel.condition_on(datetime.date(2015, 9, 1)) == "destroyed"
