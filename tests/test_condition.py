"""A site's condition, derived from its published events."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from heritage.models import DamageLevel
from tests.helpers import edit, make_event, make_published_event, make_site, remove

pytestmark = pytest.mark.django_db


def test_a_site_without_events_has_no_recorded_condition():
    assert make_site().current_condition() is None


def test_the_latest_published_event_sets_the_condition_and_a_restoration_improves_it():
    site = make_site()
    make_published_event(site, date="2015-06-27", level="destroyed")
    assert site.current_condition() == DamageLevel.DESTROYED

    make_published_event(
        site, kind="restoration", date="2017-10", level="none", condition_after="slight"
    )
    assert site.current_condition() == DamageLevel.SLIGHT


def test_drafts_do_not_change_the_condition():
    site = make_site()
    make_published_event(site, date="2015-06-27", level="moderate")
    make_event(site, date="2016-01-01", level="destroyed")
    assert site.current_condition() == DamageLevel.MODERATE


def test_the_condition_on_a_date_counts_only_events_certainly_over_by_then():
    site = make_site()
    make_published_event(site, date="2015-06-27", level="moderate")
    make_published_event(site, date="2016-12-26/2017-01-10", level="destroyed")

    assert site.condition_on(datetime.date(2015, 6, 1)) is None
    assert site.condition_on(datetime.date(2015, 6, 27)) == DamageLevel.MODERATE
    assert site.condition_on(datetime.date(2017, 1, 1)) == DamageLevel.MODERATE
    assert site.condition_on(datetime.date(2017, 1, 10)) == DamageLevel.DESTROYED


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [(91, 38, "latitude"), (-90.5, 38, "latitude"), (34, 181, "longitude")],
)
def test_coordinates_outside_wgs84_are_refused(latitude, longitude, field):
    site = make_site()
    site.latitude, site.longitude = latitude, longitude
    with pytest.raises(ValidationError) as caught:
        site.full_clean()
    assert field in caught.value.message_dict


def test_half_a_coordinate_pair_is_refused():
    site = make_site()
    site.latitude = 34.5
    with pytest.raises(ValidationError, match="both latitude and longitude"):
        site.full_clean()


def test_a_site_cannot_lie_within_itself():
    city = make_site(kind="city")
    temple = make_site(parent=city)
    city.parent = temple
    with pytest.raises(ValidationError, match="within itself"):
        city.full_clean()


def test_a_later_lesser_or_unknown_report_does_not_undo_a_destruction():
    site = make_site()
    make_published_event(site, date="2015-08-30", level="destroyed")
    make_published_event(site, date="2016-01", level="severe")
    make_published_event(site, date="2016-02", kind="looting", level="unknown")
    assert site.current_condition() == DamageLevel.DESTROYED


def test_an_event_a_curator_discounted_counts_for_nothing():
    site = make_site()
    make_published_event(site, date="2015-08-30", level="destroyed")
    discounted = make_published_event(site, date="2016-01", level="none", condition_after="slight")
    edit(
        discounted,
        grade_override="discounted",
        grade_override_reason="The photograph shows another temple.",
    )
    site.refresh_from_db()
    assert site.condition == DamageLevel.DESTROYED


def test_the_stored_condition_follows_publishing_editing_and_deleting():
    site = make_site()
    event = make_published_event(site, date="2015-06", level="moderate")
    site.refresh_from_db()
    assert site.condition == DamageLevel.MODERATE

    edit(event, level="severe")
    site.refresh_from_db()
    assert site.condition == DamageLevel.SEVERE

    remove(event)
    site.refresh_from_db()
    assert site.condition == ""


def test_an_unknown_level_is_the_condition_until_something_is_known():
    site = make_site()
    make_published_event(site, date="2016-03~", level="unknown")
    assert site.current_condition() == DamageLevel.UNKNOWN
    make_published_event(site, date="2016-04", level="moderate")
    assert site.current_condition() == DamageLevel.MODERATE
