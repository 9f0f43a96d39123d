"""Citations edited on their own: the evidence of a published event stays whole."""

import pytest
from django.urls import reverse

from heritage.models import Grade, PendingChange
from reports.models import Citation
from tests.helpers import event_form, make_citation, make_event, make_source, publish

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
        "opened_version": type(citation).objects.get(pk=citation.pk).version if citation.pk else "",
        "_save": "Save",
    } | fields


def published_with_one_citation():
    event = make_event()
    citation = make_citation(event)
    event.refresh_from_db()
    event = publish(event)
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


def test_reverting_a_published_event_restores_content_never_its_state(editor_client):
    event = make_event(summary="First words")
    make_citation(event)
    draft_version = event.history.latest("history_date")
    event = publish(event)
    revert_url = reverse(
        "admin:heritage_damageevent_simple_history", args=[event.pk, draft_version.history_id]
    )
    response = editor_client.post(
        revert_url,
        event_form(event.site, summary="First words", change_reason="The first wording was right")
        | {"citations-TOTAL_FORMS": "0", "opened_version": event.version},
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.state == "published"


def test_a_curators_change_to_published_evidence_waits_for_review(curator_client, curator):
    published, citation = published_with_one_citation()
    url = reverse("admin:reports_citation_change", args=[citation.pk])

    response = curator_client.post(url, citation_form(citation, locator="p. 2"))
    assert response.status_code == 200
    assert "Say why you change it" in str(response.context["adminform"].form.errors)

    response = curator_client.post(
        url, citation_form(citation, locator="p. 2", change_reason="Page number")
    )
    assert response.status_code == 302
    citation.refresh_from_db()
    assert citation.locator == ""  # the public record is unchanged
    proposal = PendingChange.objects.get(status="pending")
    assert (proposal.changes, proposal.proposed_by) == ({"locator": "p. 2"}, curator)


def test_a_curator_changes_the_evidence_of_drafts_at_once_and_of_events_in_review_not_at_all(
    curator_client,
):
    draft = make_event()
    draft_citation = make_citation(draft)
    draft_url = reverse("admin:reports_citation_change", args=[draft_citation.pk])
    response = curator_client.post(draft_url, citation_form(draft_citation, locator="p. 2"))
    assert response.status_code == 302
    draft_citation.refresh_from_db()
    assert draft_citation.locator == "p. 2"

    in_review = make_event(state="review")
    reviewed_citation = make_citation(in_review)
    url = reverse("admin:reports_citation_change", args=[reviewed_citation.pk])
    response = curator_client.post(url, citation_form(reviewed_citation, locator="p. 3"))
    assert response.status_code == 403


def test_a_curators_retyping_of_a_cited_source_leaves_the_public_grade(curator_client):
    event, citation = published_with_one_citation()
    grade = event.grade
    url = reverse("admin:reports_source_change", args=[citation.source_id])
    source = citation.source
    response = curator_client.post(
        url,
        {"kind": "satellite", "title": source.title, "published": source.published,
         "publisher": source.publisher, "change_reason": "It is an imagery report",
         "opened_version": source.version},
    )  # fmt: skip
    assert response.status_code == 302
    assert type(source).objects.get(pk=source.pk).kind == "news"
    event.refresh_from_db()
    assert event.grade == grade
    assert PendingChange.objects.get(status="pending").changes == {"kind": "satellite"}


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
