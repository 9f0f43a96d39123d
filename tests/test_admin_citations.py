"""Citations edited on their own: the evidence of a published event stays whole."""

import pytest
from django.urls import reverse

from heritage.models import Grade
from reports.models import Citation
from tests.helpers import event_form, make_citation, make_event, make_source

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:reports_citation_changelist")


def citation_form(citation, **fields):
    return {
        "event": citation.event_id,
        "source": citation.source_id,
        "stance": citation.stance,
        "basis": citation.basis,
        "quote": citation.quote,
        "locator": "",
        "certainty": "",
        "claimed_level": "",
        "claimed_date": "",
        "note": "",
        "_save": "Save",
    } | fields


def published_with_one_citation():
    event = make_event()
    citation = make_citation(event)
    event.refresh_from_db()
    event.publish()
    return event, citation


def test_the_last_support_of_a_published_event_cannot_change_its_stance(editor_client):
    event, citation = published_with_one_citation()
    url = reverse("admin:reports_citation_change", args=[citation.pk])
    response = editor_client.post(url, citation_form(citation, stance="mentions"))
    assert response.status_code == 200
    assert "only citation supporting" in str(response.context["errors"])
    citation.refresh_from_db()
    assert citation.stance == "supports"


def test_the_last_support_of_a_published_event_cannot_move_to_another_event(editor_client):
    event, citation = published_with_one_citation()
    url = reverse("admin:reports_citation_change", args=[citation.pk])
    response = editor_client.post(url, citation_form(citation, event=make_event().pk))
    assert response.status_code == 200
    assert Citation.objects.get(pk=citation.pk).event == event


def test_the_last_support_of_a_published_event_cannot_be_deleted(editor_client):
    event, citation = published_with_one_citation()
    url = reverse("admin:reports_citation_delete", args=[citation.pk])
    response = editor_client.post(url, {"post": "yes"}, follow=True)
    assert "only citation supporting" in " ".join(str(m) for m in response.context["messages"])
    assert Citation.objects.filter(pk=citation.pk).exists()

    second = make_citation(event)
    editor_client.post(reverse("admin:reports_citation_delete", args=[second.pk]), {"post": "yes"})
    assert not Citation.objects.filter(pk=second.pk).exists()
    event.refresh_from_db()
    assert event.grade == Grade.WEAK


def test_citations_have_no_bulk_delete_that_would_skip_the_check(editor_client):
    response = editor_client.get(LIST_URL)
    assert "delete_selected" not in response.content.decode()


def test_reverting_an_event_to_a_published_version_needs_a_supporting_citation(editor_client):
    event, citation = published_with_one_citation()
    published_version = event.history.filter(state="published").latest("history_date")
    change_url = reverse("admin:heritage_damageevent_change", args=[event.pk])
    editor_client.post(
        change_url,
        event_form(event.site, state="draft")
        | {
            "citations-TOTAL_FORMS": "1",
            "citations-INITIAL_FORMS": "1",
            "citations-0-id": str(citation.pk),
            "citations-0-event": str(event.pk),
            "citations-0-source": str(citation.source_id),
            "citations-0-stance": "supports",
            "citations-0-basis": "report",
            "citations-0-DELETE": "on",
        },
    )
    event.refresh_from_db()
    assert event.state == "draft"
    assert not event.citations.exists()

    revert_url = reverse(
        "admin:heritage_damageevent_simple_history",
        args=[event.pk, published_version.history_id],
    )
    response = editor_client.post(
        revert_url, event_form(event.site, state="published"), follow=True
    )
    assert "Not restored" in " ".join(str(m) for m in response.context["messages"])
    event.refresh_from_db()
    assert event.state == "draft"


def test_a_curator_changes_the_evidence_of_drafts_only(curator_client):
    draft = make_event()
    draft_citation = make_citation(draft)
    published, published_citation = published_with_one_citation()

    draft_url = reverse("admin:reports_citation_change", args=[draft_citation.pk])
    response = curator_client.post(draft_url, citation_form(draft_citation, locator="p. 2"))
    assert response.status_code == 302

    published_url = reverse("admin:reports_citation_change", args=[published_citation.pk])
    response = curator_client.post(published_url, citation_form(published_citation, locator="p. 2"))
    assert response.status_code == 403

    response = curator_client.post(
        reverse("admin:reports_citation_add"),
        citation_form(draft_citation, event=published.pk, source=make_source().pk),
    )
    assert response.status_code == 200
    assert "Select a valid choice" in str(response.context["errors"])


def test_a_curator_cannot_retype_a_source_that_a_published_event_cites(curator_client):
    _, citation = published_with_one_citation()
    url = reverse("admin:reports_source_change", args=[citation.source_id])
    response = curator_client.post(url, {"kind": "satellite", "title": "Changed", "published": ""})
    assert response.status_code == 403
    assert citation.source.__class__.objects.get(pk=citation.source_id).kind == "news"


def test_a_quote_of_nothing_but_an_ellipsis_is_refused():
    source = make_source(text="The temple was blown up.")
    assert not source.contains_quote("…")
    assert not source.contains_quote("[...]")


def test_a_quote_matches_across_modifier_apostrophes_and_invisible_spaces():
    source = make_source(text="Syria\u02bcs antiquities chief said the arch was\u200b destroyed.")
    assert source.contains_quote("Syria's antiquities chief said the arch was destroyed")


def test_a_source_text_edit_that_drops_a_quoted_passage_is_refused(admin_client):
    source = make_source(title="Statement", text="The cella was blown up on Sunday.")
    make_citation(make_event(), source, quote="The cella was blown up")
    response = admin_client.post(
        reverse("admin:reports_source_change", args=[source.pk]),
        {"kind": "news", "title": "Statement", "published": "", "text": "Nothing happened."},
    )
    assert response.status_code == 200
    assert "no longer contains what events quote from it" in str(response.context["errors"])
    source.refresh_from_db()
    assert source.text == "The cella was blown up on Sunday."
