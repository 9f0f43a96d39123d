"""Every edit is kept, and a curator can go back to any earlier version."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from heritage.models import DamageEvent
from reports.models import Citation
from tests.helpers import event_form, make_citation, make_event, make_source, move, remove

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


# A deleted event can be restored from the admin


def delete_in_admin(client, event):
    url = reverse("admin:heritage_damageevent_delete", args=[event.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302


def test_an_editor_restores_a_deleted_event_as_a_draft_with_its_citations(palmyra, editor_client):
    bel = move(DamageEvent.objects.get(site__slug="temple-of-bel"), "draft")
    bel.site.refresh_from_db()
    before = {
        "event": DamageEvent.objects.filter(pk=bel.pk).values().get(),
        "citations": list(bel.citations.order_by("pk").values("pk", "source", "quote", "stance")),
        "condition": bel.site.condition,
    }
    delete_in_admin(editor_client, bel)
    assert not DamageEvent.objects.filter(pk=bel.pk).exists()
    listed = editor_client.get(reverse("admin:heritage_damageevent_deleted"))
    assert bel.summary in listed.content.decode()

    url = reverse("admin:heritage_damageevent_restore", args=[bel.pk])
    response = editor_client.post(url, follow=True)
    assert "Restored" in response.content.decode()
    restored = DamageEvent.objects.get(pk=bel.pk)
    after = DamageEvent.objects.filter(pk=bel.pk).values().get()
    for field in ("site_id", "summary", "date", "level", "state", "grade", "has_conflict"):
        assert after[field] == before["event"][field], field
    citations = list(restored.citations.order_by("pk").values("pk", "source", "quote", "stance"))
    assert citations == before["citations"]
    assert restored.site.condition == before["condition"]
    # The restoration is in the history too, after the deletion.
    deleted_at = restored.history.filter(history_type="-").latest("history_date").history_date
    assert restored.history.filter(history_type="+", history_date__gt=deleted_at).exists()
    assert bel.summary not in editor_client.get(listed.request["PATH_INFO"]).content.decode()


def test_a_curator_brings_a_once_published_event_back_as_a_draft(palmyra, curator_client):
    bel = DamageEvent.objects.get(site__slug="temple-of-bel")
    pk = bel.pk
    remove(bel)
    url = reverse("admin:heritage_damageevent_restore", args=[pk])
    curator_client.post(url)
    assert DamageEvent.objects.get(pk=pk).state == "draft"


def test_only_citations_deleted_with_the_event_come_back(editor_client):
    event = make_event()
    kept, removed_earlier = make_citation(event), make_citation(event)
    removed_pk = removed_earlier.pk
    removed_earlier.delete()
    # Long enough ago not to be taken for part of the event's deletion.
    Citation.history.filter(id=removed_pk, history_type="-").update(
        history_date=timezone.now() - datetime.timedelta(hours=1)
    )
    delete_in_admin(editor_client, event)
    editor_client.post(reverse("admin:heritage_damageevent_restore", args=[event.pk]))
    assert list(Citation.objects.filter(event=event.pk).values_list("pk", flat=True)) == [kept.pk]


def test_a_restore_whose_source_is_gone_says_what_was_lost(editor_client):
    event = make_event()
    source = make_source()
    make_citation(event, source)
    delete_in_admin(editor_client, event)
    source.delete()
    url = reverse("admin:heritage_damageevent_restore", args=[event.pk])
    response = editor_client.post(url, follow=True)
    assert "1 citation(s) could not come back" in response.content.decode()
    assert DamageEvent.objects.filter(pk=event.pk).exists()


def test_a_restore_is_refused_when_the_site_is_gone_or_nothing_was_deleted(editor_client):
    event = make_event()
    site = event.site
    url = reverse("admin:heritage_damageevent_restore", args=[event.pk])
    response = editor_client.post(url, follow=True)
    assert "has not been deleted" in response.content.decode()
    delete_in_admin(editor_client, event)
    site.delete()
    response = editor_client.post(url, follow=True)
    assert "restore the site first" in response.content.decode()
    assert not DamageEvent.objects.filter(pk=event.pk).exists()


def test_restoring_needs_a_post_and_the_right_to_add_events(
    editor_client, client, django_user_model
):
    event = make_event()
    delete_in_admin(editor_client, event)
    url = reverse("admin:heritage_damageevent_restore", args=[event.pk])
    assert editor_client.get(url).status_code == 405
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    client.force_login(viewer)
    assert client.post(url).status_code == 403
    assert client.get(reverse("admin:heritage_damageevent_deleted")).status_code == 403
    assert not DamageEvent.objects.filter(pk=event.pk).exists()


def test_the_deleted_events_page_costs_the_same_queries_however_many(
    editor_client, django_assert_num_queries
):
    for _ in range(3):
        delete_in_admin(editor_client, make_event())
    url = reverse("admin:heritage_damageevent_deleted")
    # session, user, the user's and the group's permissions, the deleted records with
    # their authors
    with django_assert_num_queries(5):
        first = editor_client.get(url)
    for _ in range(3):
        delete_in_admin(editor_client, make_event())
    with django_assert_num_queries(5):
        again = editor_client.get(url)
    assert again.content.decode().count("Restore</button>") == 6
    assert first.content.decode().count("Restore</button>") == 3
