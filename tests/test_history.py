"""Every edit is kept, and a curator can go back to any earlier version."""

import pytest
from django.urls import reverse

from heritage.models import DamageEvent
from reports.models import Citation
from tests.helpers import event_form, make_citation, make_event, make_source

pytestmark = pytest.mark.django_db


def test_each_save_of_an_event_is_a_version_with_its_author(editor_client, editor):
    event = make_event(summary="Reported blown up")
    url = reverse("admin:heritage_damageevent_change", args=[event.pk])
    editor_client.post(url, event_form(event.site, summary="Cella blown up"))

    versions = list(event.history.order_by("history_date"))
    assert [v.summary for v in versions] == ["Reported blown up", "Cella blown up"]
    assert versions[-1].history_user == editor


def test_a_curator_reverts_an_event_to_an_earlier_version_from_the_admin(editor_client):
    event = make_event(summary="Cella blown up", date="2015-08-30", level="destroyed")
    make_citation(event)
    change_url = reverse("admin:heritage_damageevent_change", args=[event.pk])
    editor_client.post(
        change_url, event_form(event.site, summary="Wrong", date="2015-09", level="slight")
    )
    event.refresh_from_db()
    assert (event.summary, event.date, event.level) == ("Wrong", "2015-09", "slight")

    first = event.history.earliest("history_date")
    revert_url = reverse(
        "admin:heritage_damageevent_simple_history", args=[event.pk, first.history_id]
    )
    assert editor_client.get(revert_url).status_code == 200
    response = editor_client.post(revert_url, event_form(event.site))
    assert response.status_code == 302

    event.refresh_from_db()
    assert (event.summary, event.date, event.level) == ("Cella blown up", "2015-08-30", "destroyed")
    assert event.date_upper.isoformat() == "2015-08-30"
    assert event.grade == "weak"  # derived again, not taken from the old version
    assert event.history.count() == 3


def test_a_deleted_citation_and_a_deleted_event_stay_in_history():
    event = make_event()
    citation = make_citation(event, make_source(), quote="blown up")
    citation_id, event_id = citation.pk, event.pk
    citation.delete()
    event.delete()
    assert not DamageEvent.objects.filter(pk=event_id).exists()
    assert Citation.history.get(id=citation_id, history_type="-").quote == "blown up"
    restored = DamageEvent.history.filter(id=event_id, history_type="-").get().instance
    restored.save()
    assert DamageEvent.objects.get(pk=event_id).summary == "Blown up"
