"""Four eyes and review hold against one person acting alone, by any route: each test is
a way round the workflow that an adversarial review found, and that is closed now."""

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from heritage import workflow
from heritage.models import (
    Actor,
    DamageEvent,
    PendingChange,
    Site,
    SiteName,
    State,
    WorkflowBypass,
)
from reports.models import Citation, Source
from tests.helpers import SETUP, if_match, make_citation, make_event, make_site, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(django_user_model):
    def person(name, role):
        user = django_user_model.objects.create_user(name, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    return {
        "curator": person("curator", "curator"),
        "a": person("editor-a", "editor"),
        "b": person("editor-b", "editor"),
    }


def published(**fields):
    """An event drafted and published by a command, supported by two publishers."""
    event = make_event(**fields)
    for publisher in ("Reuters", "AFP"):
        make_citation(event, make_source(publisher=publisher))
    return workflow.transition(event, State.PUBLISHED, SETUP, "Set up")


def fresh(record, **fields):
    record = type(record).objects.get(pk=record.pk)
    for name, value in fields.items():
        setattr(record, name, value)
    return record


def test_an_editor_whose_change_was_merged_into_anothers_proposal_does_not_approve_it(people):
    event = published()
    workflow.save(fresh(event, summary="A's wording"), people["a"], "Better")
    merged = workflow.save(fresh(event, description="Typo"), people["curator"], "Typo").proposal
    assert merged.changes["summary"] == "A's wording"
    with pytest.raises(workflow.Refused, match="You proposed this change, or a part of it"):
        workflow.approve(merged, people["a"], "Fine")
    workflow.approve(merged, people["b"], "Fine")
    assert DamageEvent.objects.get(pk=event.pk).summary == "A's wording"


def test_an_editor_cannot_publish_their_own_proposed_citation_by_withdrawing_alone(people):
    event = published()
    own = Citation(event=event, source=make_source(), stance="contradicts")
    assert workflow.save(own, people["a"], "A denial").pending
    a = people["a"]
    event = workflow.transition(event, State.DRAFT, a, "Rework", step="withdraw")
    # The proposal is part of the draft now, and its author one of its contributors.
    assert PendingChange.objects.get(object_id=own.pk).status == "superseded"
    event = workflow.transition(event, State.REVIEW, a, "Ready")
    with pytest.raises(workflow.Refused, match="You changed this event or its evidence"):
        workflow.transition(event, State.PUBLISHED, a, "Fine")
    workflow.transition(event, State.PUBLISHED, people["b"], "Checked")
    assert Citation.objects.get(pk=own.pk).approved


def test_an_editor_who_changed_a_cited_source_does_not_publish_the_event(people):
    event = make_event()
    source = make_source(kind="news")
    make_citation(event, source)
    event = workflow.transition(event, State.REVIEW, people["curator"], "Ready")
    workflow.save(fresh(source, kind="satellite"), people["a"], "It is imagery")
    with pytest.raises(workflow.Refused, match="You changed this event or its evidence"):
        workflow.transition(event, State.PUBLISHED, people["a"], "Confirmed now")


def test_a_citation_waiting_for_review_is_refined_only_with_its_authors_kept_apart(people):
    event = published()
    proposed = Citation(event=event, source=make_source(), stance="supports", note="Theirs")
    proposal = workflow.save(proposed, people["curator"], "More evidence").proposal
    workflow.save(fresh(proposed, note="Mine", stance="contradicts"), people["a"], "Better")
    with pytest.raises(workflow.Refused, match="or a part of it"):
        workflow.approve(proposal, people["a"], "Fine")
    # Changed since the reviewer saw it: refused with the version they saw.
    seen = Citation.objects.get(pk=proposed.pk).version
    workflow.save(fresh(proposed, note="Changed again"), people["curator"], "Again")
    with pytest.raises(workflow.Refused, match="changed by someone else"):
        workflow.approve(proposal, people["b"], "Fine", version=seen)


def test_an_editor_who_changed_the_source_of_a_proposed_citation_does_not_approve_it(people):
    event = published()
    source = make_source(title="Unknown blog")
    proposal = workflow.save(
        Citation(event=event, source=source), people["curator"], "Evidence"
    ).proposal
    workflow.save(fresh(source, title="A famous agency", kind="satellite"), people["a"], "Fix")
    with pytest.raises(workflow.Refused, match="or a part of it"):
        workflow.approve(proposal, people["a"], "Fine")


def test_declining_a_proposal_never_deletes_reviewed_evidence(people):
    event = published()
    added = Citation(event=event, source=make_source(), stance="supports")
    proposal = workflow.save(added, people["curator"], "More").proposal
    workflow.transition(event, State.DRAFT, people["a"], "Rework", step="withdraw")
    with pytest.raises(workflow.Refused, match="already been decided"):
        workflow.reject(proposal, people["curator"], "Changed my mind")
    assert Citation.objects.filter(pk=added.pk).exists()


def test_a_curator_cannot_move_a_citation_into_an_event_in_review(people):
    event = published()
    proposed = Citation(event=event, source=make_source())
    workflow.save(proposed, people["curator"], "More")
    in_review = make_event(state="review")
    with pytest.raises(workflow.Refused, match="in review"):
        workflow.save(fresh(proposed, event=in_review), people["curator"], "Wrong event")
    assert Citation.objects.get(pk=proposed.pk).event == event


def test_a_citation_approved_into_a_published_event_is_public_there(people):
    draft = make_event()
    citation = make_citation(draft)
    target = published()
    outcome = workflow.save(fresh(citation, event=target), people["curator"], "Belongs there")
    assert outcome.pending
    workflow.approve(outcome.proposal, people["a"], "Yes")
    moved = Citation.objects.get(pk=citation.pk)
    assert (moved.event, moved.approved) == (target, True)
    assert moved in Citation.objects.public()


def test_the_queue_and_the_list_refuse_a_step_on_an_event_changed_since_it_was_shown(people):
    event = make_event(summary="As shown")
    make_citation(event)
    event = workflow.transition(event, State.REVIEW, SETUP, "Ready")
    shown = event.version
    workflow.save(fresh(event, summary="Changed after"), people["a"], "Meanwhile")
    client = Client()
    client.force_login(people["b"])
    response = client.post(
        reverse("admin:heritage_review_queue"),
        {"event": [event.pk], "approve": "1", "reason": "Ok", f"version-event-{event.pk}": shown},
        follow=True,
    )
    assert "changed by someone else" in " ".join(str(m) for m in response.context["messages"])
    response = client.post(
        reverse("admin:heritage_damageevent_changelist"),
        {"action": "publish", "_selected_action": [event.pk], "reason": "Ok"},
        follow=True,
    )
    assert "did not say which version" in " ".join(str(m) for m in response.context["messages"])
    assert DamageEvent.objects.get(pk=event.pk).state == State.REVIEW


def test_an_api_write_needs_the_etag_it_read_and_a_stale_one_is_refused(people):
    event = make_event()
    url = f"/api/v1/events/{event.pk}/"
    first, second = APIClient(), APIClient()
    first.force_authenticate(people["curator"])
    second.force_authenticate(people["a"])
    assert first.patch(url, {"summary": "No ETag"}, "json").status_code == 428
    read_by_first = if_match(first, url)
    read_by_second = if_match(second, url)
    assert second.patch(url, {"summary": "Second"}, "json", **read_by_second).status_code == 200
    stale = first.patch(url, {"description": "First"}, "json", **read_by_first)
    assert stale.status_code == 412
    event.refresh_from_db()
    assert (event.summary, event.description) == ("Second", "")


def test_an_admin_form_without_the_version_it_was_opened_at_is_refused(people):
    event = make_event()
    client = Client()
    client.force_login(people["curator"])
    url = reverse("admin:heritage_damageevent_change", args=[event.pk])
    from tests.helpers import event_form

    response = client.post(url, event_form(event.site, summary="No version"))
    assert "does not say which version" in response.content.decode()
    assert DamageEvent.objects.get(pk=event.pk).summary == "Blown up"


def test_a_curators_change_to_a_site_or_an_actor_waits_for_review(people, client):
    site = make_site(name="Temple of Nabu", slug="temple-of-nabu", latitude=36, longitude=43)
    actor = Actor.objects.create(name="Placeholder")  # a draft actor, not public
    curator = people["curator"]
    outcome = workflow.save(fresh(site, latitude=10, longitude=10), curator, "Moved")
    assert outcome.pending
    assert float(Site.objects.get(pk=site.pk).latitude) == 36
    assert "10.0" not in client.get("/api/v1/sites/temple-of-nabu/").content.decode()
    # A new site, name and actor are public once approved, not before.
    new = workflow.save(
        Site(name="Khan al-Wazir", slug="khan-al-wazir", kind="other"), curator, "New"
    )
    workflow.save(SiteName(site=new.record, name="خان الوزير", language="ar"), curator, "Name")
    assert client.get("/sites/khan-al-wazir/").status_code == 404
    assert "khan-al-wazir" not in client.get("/api/v1/sites/").content.decode()
    workflow.approve(new.proposal, people["a"], "Checked")
    assert client.get("/sites/khan-al-wazir/").status_code == 200
    assert "خان الوزير" in client.get("/sites/khan-al-wazir/").content.decode()
    assert not actor.approved


def test_an_event_whose_site_or_actor_is_unreviewed_is_not_published(people):
    site = workflow.save(Site(name="New", slug="new-site", kind="temple"), SETUP, "x").record
    event = make_event(site)
    make_citation(event)
    with pytest.raises(workflow.Refused, match="Its site has not been reviewed yet"):
        workflow.transition(event, State.PUBLISHED, SETUP, "Go")
    actor = workflow.save(Actor(name="Unknown group"), SETUP, "x").record
    other = make_event(actor=actor)
    make_citation(other)
    with pytest.raises(workflow.Refused, match="Its actor, “Unknown group”, has not been reviewed"):
        workflow.transition(other, State.PUBLISHED, SETUP, "Go")


@pytest.mark.parametrize("value", ["²", "٣", "99999999999999999999", "-1", "1.5", ""])
def test_odd_ids_in_a_queue_decision_are_no_ids_and_no_error(people, value):
    client = Client()
    client.force_login(people["a"])
    response = client.post(
        reverse("admin:heritage_review_queue"),
        {"event": [value], "proposal": [value], "claim": [value], "approve": "1", "reason": "x"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Select something to decide first" in response.content.decode()


def test_the_preview_follows_a_citation_proposed_onto_another_source(people):
    event = published()
    citation = event.citations.first()
    other = make_source(title="Another report")
    workflow.save(fresh(citation, source=other), people["curator"], "Wrong source")
    client = Client()
    client.force_login(people["a"])
    html = client.get(reverse("heritage:preview-site", args=[event.site.slug])).content.decode()
    assert "Another report" in html


def test_restoring_an_event_whose_actor_is_gone_says_so(people):
    actor = make_actor_draft()
    event = make_event(actor=actor)
    workflow.delete(event, people["a"], "Duplicate")
    with transaction.atomic():
        Actor.objects.filter(pk=actor.pk).delete()
    with pytest.raises(workflow.Refused, match="Its actor has been deleted since"):
        workflow.restore(event.pk, people["curator"], "Not a duplicate")


def make_actor_draft():
    return workflow.save(Actor(name="Short-lived group"), SETUP, "x").record


@pytest.mark.parametrize(
    "write",
    [
        lambda: DamageEvent.objects.update(state=State.PUBLISHED),
        lambda: Citation.objects.update(approved=True),
        lambda: Site.objects.update(approved=True),
        lambda: DamageEvent.objects.bulk_create(
            [DamageEvent(site=Site.objects.first(), summary="x", date="2015", state="published")]
        ),
    ],
    ids=["state by update", "approval by update", "site by update", "bulk publish"],
)
def test_bulk_writes_cannot_publish_or_approve_around_the_workflow(write):
    make_event()
    with pytest.raises(WorkflowBypass), transaction.atomic():
        write()
    assert not DamageEvent.objects.published().exists()


def test_a_source_a_public_citation_cites_is_public_and_no_other(people):
    event = published()
    waiting = make_source(title="Only a proposal cites me")
    workflow.save(Citation(event=event, source=waiting), people["curator"], "More")
    assert not Source.objects.public().filter(pk=waiting.pk).exists()
    assert Source.objects.public().filter(pk=event.citations.first().source_id).exists()
