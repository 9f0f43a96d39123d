"""The verification grade and the conflict flag, derived from an event's citations."""

import pytest
from django.core.exceptions import ValidationError

from heritage.models import DamageEvent, Grade
from tests.helpers import make_citation, make_event, make_source, publish

pytestmark = pytest.mark.django_db


def grade_of(event):
    event.refresh_from_db()
    return event.grade


def test_an_event_without_citations_is_unsupported():
    assert grade_of(make_event()) == Grade.UNSUPPORTED


def test_a_citation_that_only_mentions_leaves_it_unsupported():
    event = make_event()
    make_citation(event, stance="mentions")
    assert grade_of(event) == Grade.UNSUPPORTED


def test_one_publisher_makes_it_weak_however_many_reports():
    event = make_event()
    make_citation(event, make_source(publisher="Reuters"))
    make_citation(event, make_source(publisher="reuters "))
    assert grade_of(event) == Grade.WEAK


def test_two_publishers_make_it_fair():
    event = make_event()
    make_citation(event, make_source(publisher="Reuters"))
    make_citation(event, make_source(publisher="AFP"))
    assert grade_of(event) == Grade.FAIR


def test_sources_of_unknown_publisher_count_as_one_publisher_and_only_alone():
    event = make_event()
    make_citation(event, make_source(publisher=""))
    make_citation(event, make_source(publisher=""))
    assert grade_of(event) == Grade.WEAK

    # An anonymous page may copy a known outlet: it adds nobody independent.
    make_citation(event, make_source(publisher="Reuters"))
    assert grade_of(event) == Grade.WEAK

    make_citation(event, make_source(publisher="Xinhua"))
    assert grade_of(event) == Grade.FAIR


def test_imagery_analysis_confirms_it():
    event = make_event()
    make_citation(event, make_source(kind="satellite", publisher="UNITAR/UNOSAT"))
    assert grade_of(event) == Grade.CONFIRMED


def test_an_inspection_on_site_confirms_it():
    event = make_event()
    make_citation(event, basis="inspection")
    assert grade_of(event) == Grade.CONFIRMED


def test_a_contradiction_contests_it_unless_imagery_settles_it():
    event = make_event()
    make_citation(event, make_source(publisher="AFP"))
    make_citation(event, make_source(publisher="Reuters"))
    contradiction = make_citation(event, stance="contradicts")
    assert grade_of(event) == Grade.CONTESTED

    make_citation(event, basis="imagery")
    assert grade_of(event) == Grade.CONFIRMED

    contradiction.delete()
    assert grade_of(event) == Grade.CONFIRMED


def test_imagery_that_contradicts_does_not_confirm():
    event = make_event()
    make_citation(event)
    make_citation(event, stance="contradicts", basis="imagery")
    assert grade_of(event) == Grade.CONTESTED


def test_claimed_dates_that_do_not_overlap_are_a_conflict_and_contest_it():
    event = make_event(date="2015-08-27/2015-09-02")
    make_citation(event, claimed_date="2015-08-27/2015-09-02")
    make_citation(event, claimed_date="2015-06-27/2015-08-26")
    event.refresh_from_db()
    assert event.has_conflict
    assert event.grade == Grade.CONTESTED


def test_claimed_dates_that_overlap_are_no_conflict():
    event = make_event(date="2015-08")
    make_citation(event, make_source(publisher="A"), claimed_date="2015-08~")
    make_citation(event, make_source(publisher="B"), claimed_date="2015-08-30")
    make_citation(event, make_source(publisher="C"), claimed_date="2015-08-20/2015-09-05")
    event.refresh_from_db()
    assert not event.has_conflict
    assert event.grade == Grade.FAIR


def test_claimed_levels_two_steps_apart_are_a_conflict_one_step_is_not():
    event = make_event()
    make_citation(event, make_source(publisher="A"), claimed_level="destroyed")
    make_citation(event, make_source(publisher="B"), claimed_level="severe")
    make_citation(event, make_source(publisher="C"), claimed_level="unknown")
    assert not DamageEvent.objects.get(pk=event.pk).has_conflict

    make_citation(event, make_source(publisher="D"), claimed_level="moderate")
    assert DamageEvent.objects.get(pk=event.pk).has_conflict


def test_a_curator_override_wins_and_the_evidence_grade_is_kept_beside_it():
    event = make_event()
    make_citation(event)
    event.refresh_from_db()
    event.grade_override = Grade.DISCOUNTED
    event.grade_override_reason = "The photograph shows another building."
    event.save()
    event.refresh_from_db()
    assert event.grade == Grade.DISCOUNTED
    assert event.evidence_grade() == Grade.WEAK


def test_an_override_without_a_reason_is_refused():
    event = make_event()
    event.grade_override = Grade.CONFIRMED
    with pytest.raises(ValidationError) as caught:
        event.full_clean()
    assert "Say why" in str(caught.value.message_dict["grade_override_reason"])


def test_changing_a_sources_kind_regrades_the_events_that_cite_it():
    event = make_event()
    source = make_source(kind="news")
    make_citation(event, source)
    assert grade_of(event) == Grade.WEAK
    source.kind = "satellite"
    source.save()
    assert grade_of(event) == Grade.CONFIRMED


def test_an_event_can_only_be_published_with_a_supporting_citation():
    event = make_event()
    make_citation(event, stance="mentions")
    with pytest.raises(ValidationError, match="at least one citation that supports"):
        event = publish(event)
    event.refresh_from_db()
    assert event.state == "draft"

    make_citation(event)
    event = publish(event)
    event.refresh_from_db()
    assert event.state == "published"


def test_a_bulk_delete_of_citations_regrades_their_events():
    event = make_event()
    make_citation(event, make_source(publisher="A"))
    make_citation(event, make_source(publisher="B"))
    assert grade_of(event) == Grade.FAIR
    event.citations.all().delete()
    assert grade_of(event) == Grade.UNSUPPORTED


def test_moving_a_citation_to_another_event_regrades_both():
    first, second = make_event(), make_event()
    citation = make_citation(first)
    assert (grade_of(first), grade_of(second)) == (Grade.WEAK, Grade.UNSUPPORTED)
    citation.event = second
    citation.save()
    assert (grade_of(first), grade_of(second)) == (Grade.UNSUPPORTED, Grade.WEAK)
