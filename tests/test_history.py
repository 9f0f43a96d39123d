"""Every edit is kept, and a curator can go back to any earlier version."""

import pytest
from django.urls import reverse

from heritage import workflow
from heritage.models import DamageEvent, PendingChange
from reports.models import Citation
from tests.helpers import (
    SETUP,
    event_form,
    make_citation,
    make_event,
    make_source,
    move,
    publish,
    remove,
)

pytestmark = pytest.mark.django_db


def test_each_save_of_an_event_is_a_version_with_its_author(editor_client, editor):
    event = make_event(summary="Reported blown up")
    url = reverse("admin:heritage_damageevent_change", args=[event.pk])
    editor_client.post(
        url, event_form(event.site, summary="Cella blown up", opened_version=event.version)
    )

    versions = list(event.history.order_by("history_date"))
    assert [v.summary for v in versions] == ["Reported blown up", "Cella blown up"]
    assert versions[-1].history_user == editor


def test_a_curator_reverts_an_event_to_an_earlier_version_from_the_admin(editor_client):
    event = make_event(summary="Cella blown up", date="2015-08-30", level="destroyed")
    make_citation(event)
    change_url = reverse("admin:heritage_damageevent_change", args=[event.pk])
    editor_client.post(
        change_url,
        event_form(event.site, summary="Wrong", date="2015-09", level="slight", opened_version=1),
    )
    event.refresh_from_db()
    assert (event.summary, event.date, event.level) == ("Wrong", "2015-09", "slight")

    first = event.history.earliest("history_date")
    revert_url = reverse(
        "admin:heritage_damageevent_simple_history", args=[event.pk, first.history_id]
    )
    assert editor_client.get(revert_url).status_code == 200
    response = editor_client.post(revert_url, event_form(event.site, opened_version=event.version))
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
    # Deleted on its own a moment before the event: not part of the event's deletion,
    # which is told by the deletion's batch, not by how close in time it was.
    workflow.delete(removed_earlier, SETUP, "A duplicate")
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
    remove(site)
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


# History pages obey the same rules as the change pages


def revert_url(record, version):
    name = f"admin:{record._meta.app_label}_{record._meta.model_name}_simple_history"
    return reverse(name, args=[record.pk, version.history_id])


def test_a_curator_may_view_but_not_revert_an_event_in_review(curator_client):
    event = make_event(summary="First words")
    first = event.history.earliest("history_date")
    event.summary = "Second words"
    event.save()
    event = move(event, "review")
    url = revert_url(event, first)
    page = curator_client.get(url).content.decode()
    assert "you may not change this record now" in page
    assert 'value="Revert"' not in page
    response = curator_client.post(url, event_form(event.site, summary="First words"))
    assert response.status_code == 403
    event.refresh_from_db()
    assert (event.summary, event.state) == ("Second words", "review")


def test_reverting_a_cited_source_proposes_the_old_version(curator_client, curator):
    source = make_source(kind="news", title="As first published")
    first = source.history.earliest("history_date")
    event = make_event()
    make_citation(event, source)
    source.title = "Retitled before publication"
    source.save()
    publish(event)
    url = revert_url(source, first)
    response = curator_client.post(
        url,
        {"kind": "news", "title": "As first published", "publisher": source.publisher,
         "published": source.published, "change_reason": "The outlet's own title",
         "opened_version": source.version},
    )  # fmt: skip
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.title == "Retitled before publication"
    proposal = PendingChange.objects.get(status="pending")
    assert (proposal.changes, proposal.proposed_by) == ({"title": "As first published"}, curator)


def test_reverting_a_citation_of_an_event_in_review_is_refused_to_a_curator(curator_client):
    event = make_event()
    citation = make_citation(event, locator="p. 1")
    first = citation.history.earliest("history_date")
    citation.locator = "p. 2"
    citation.save()
    move(event, "review")
    response = curator_client.post(
        revert_url(citation, first),
        {"event": event.pk, "source": citation.source_id, "stance": "supports",
         "basis": "report", "locator": "p. 1"},
    )  # fmt: skip
    assert response.status_code == 403
    assert Citation.objects.get(pk=citation.pk).locator == "p. 2"


def test_history_pages_answer_404_for_a_record_that_is_gone(editor_client):
    event = make_event()
    version = event.history.earliest("history_date")
    url = revert_url(event, version)
    remove(event)
    assert editor_client.get(url).status_code == 404
