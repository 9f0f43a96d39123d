"""The editorial workflow, path by path, role by role, state by state.

The table below is the specification, written by hand (not generated from
heritage/workflow.py's state table, which would make it pass whatever the code does).
Each row is a path that can change an event or its evidence; each cell what that
path does for that role on an event in that state:

- applied: the change is in the live (public, once published) record
- proposed: the record is unchanged and a proposal waits in the review queue
- noop: accepted, with nothing to change
- login: an anonymous visitor is sent to log in (admin) or refused (API)
- anything else: refused, nothing changed, and the words the refusal must contain

The event is drafted by "author" (an editor); "editor" is another editor. Four eyes is
on, as by default.
"""

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from heritage import workflow
from heritage.models import DamageEvent, PendingChange, State, WorkflowBypass
from reports.models import Citation, Claim, Source
from tests.helpers import event_form, make_site, make_source

STATES = [State.DRAFT, State.REVIEW, State.PUBLISHED]

SPEC = """
path          | role      | draft               | review              | published
admin form    | anonymous | login               | login               | login
admin form    | curator   | applied             | 403                 | proposed
admin form    | author    | applied             | applied             | proposed
admin form    | editor    | applied             | applied             | proposed
step submit   | anonymous | login               | login               | login
step submit   | curator   | applied             | already in review   | cannot be sent
step submit   | author    | applied             | already in review   | cannot be sent
step submit   | editor    | applied             | already in review   | cannot be sent
step publish  | anonymous | login               | login               | login
step publish  | curator   | editor publishes    | editor publishes    | already published
step publish  | author    | review first        | You drafted         | already published
step publish  | editor    | review first        | applied             | already published
step withdraw | curator   | cannot be withdrawn | cannot be withdrawn | editor withdraws
step withdraw | author    | cannot be withdrawn | cannot be withdrawn | applied
step withdraw | editor    | cannot be withdrawn | cannot be withdrawn | applied
bulk publish  | anonymous | login               | login               | login
bulk publish  | curator   | No action selected  | No action selected  | No action selected
bulk publish  | author    | review first        | You drafted         | already published
bulk publish  | editor    | review first        | applied             | already published
revert        | anonymous | login               | login               | login
revert        | curator   | applied             | 403                 | proposed
revert        | author    | applied             | applied             | proposed
revert        | editor    | applied             | applied             | proposed
api change    | anonymous | login               | login               | login
api change    | curator   | applied             | in review           | proposed
api change    | author    | applied             | applied             | proposed
api change    | editor    | applied             | applied             | proposed
api publish   | anonymous | login               | login               | login
api publish   | curator   | editor publishes    | in review           | noop
api publish   | author    | review first        | You drafted         | noop
api publish   | editor    | review first        | applied             | noop
api cite      | anonymous | login               | login               | login
api cite      | curator   | applied             | in review           | proposed
api cite      | author    | applied             | applied             | proposed
api cite      | editor    | applied             | applied             | proposed
api uncite    | anonymous | login               | login               | login
api uncite    | curator   | applied             | in review           | proposed
api uncite    | author    | applied             | applied             | proposed
api uncite    | editor    | applied             | applied             | proposed
accept claim  | anonymous | login               | login               | login
accept claim  | curator   | applied             | in review           | proposed
accept claim  | author    | applied             | applied             | proposed
accept claim  | editor    | applied             | applied             | proposed
queue approve | anonymous | login               | login               | login
queue approve | curator   | editor publishes    | editor publishes    | already published
queue approve | author    | review first        | You drafted         | already published
queue approve | editor    | review first        | applied             | already published
"""


def table():
    rows = [line.split("|") for line in SPEC.strip().splitlines()[1:]]
    return [
        pytest.param(path.strip(), role.strip(), state, cell.strip())
        for path, role, *cells in rows
        for state, cell in zip(STATES, cells, strict=True)
    ]


@pytest.fixture
def people(db, django_user_model):
    def person(name, role):
        user = django_user_model.objects.create_user(name, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    return {
        "curator": person("curator", "curator"),
        "author": person("author", "editor"),
        "editor": person("editor", "editor"),
        "publisher": person("publisher", "editor"),
    }


def event_in(state, people):
    """An event the author drafted, supported by two publishers, taken to `state`: sent
    for review by the author, published by a third editor."""
    site = make_site(name="Temple of Bel", slug="temple-of-bel", kind="temple")
    event = DamageEvent(site=site, summary="First summary", date="2015-08-30", level="severe")
    workflow.save(event, people["author"], "Drafted")
    for publisher in ("Reuters", "AFP"):
        workflow.save(
            Citation(event=event, source=make_source(publisher=publisher), stance="supports"),
            people["author"],
            "Evidence",
        )
    event.refresh_from_db()
    workflow.save(edited(event, summary="Second summary"), people["author"], "Reworded")
    if state != State.DRAFT:
        event = workflow.transition(event, State.REVIEW, people["author"], "Ready")
    if state == State.PUBLISHED:
        event = workflow.transition(event, State.PUBLISHED, people["publisher"], "Checked")
    return DamageEvent.objects.get(pk=event.pk)


def edited(event, **fields):
    event.refresh_from_db()
    for name, value in fields.items():
        setattr(event, name, value)
    return event


def admin_client(user):
    client = Client()
    if user:
        client.force_login(user)
    return client


def api_client(user):
    client = APIClient()
    if user:
        client.force_authenticate(user)
    return client


def api_write(user, method, url, data=None):
    """A write as a client makes it: having read the record first, sending its ETag."""

    def act():
        client = api_client(user)
        read = client.get(url, HTTP_ACCEPT="application/json")
        headers = {"HTTP_IF_MATCH": read["ETag"]} if read.status_code == 200 else {}
        return getattr(client, method)(url, data, "json", **headers)

    return act


def messages_of(response):
    context = getattr(response, "context", None)
    return " ".join(str(m) for m in context["messages"]) if context else ""


def api_message(response):
    return str(response.json()) if response.content else ""


# Each path, for `user` on `event`: (a function that takes it and returns the response,
# a function that says whether the change it makes is live).


def admin_form(user, event):
    url = reverse("admin:heritage_damageevent_change", args=[event.pk])
    data = event_form(event.site, summary="Third summary", change_reason="Better words")
    data |= {"opened_version": event.version, "citations-TOTAL_FORMS": "0"}
    return lambda: admin_client(user).post(
        url, data, follow=True
    ), lambda: DamageEvent.objects.get(pk=event.pk).summary == "Third summary"


def admin_step(name):
    def do(user, event):
        target = workflow.BY_NAME[name].target
        return lambda: admin_client(user).post(
            reverse("admin:heritage_damageevent_step", args=[event.pk]),
            {"step": name, "reason": "Because", "version": event.version},
            follow=True,
        ), lambda: DamageEvent.objects.get(pk=event.pk).state == target

    return do


def admin_bulk_publish(user, event):
    return lambda: admin_client(user).post(
        reverse("admin:heritage_damageevent_changelist"),
        {
            "action": "publish",
            "_selected_action": [event.pk],
            "reason": "Because",
            f"version-{event.pk}": event.version,
        },  # fmt: skip
        follow=True,
    ), lambda: DamageEvent.objects.get(pk=event.pk).state == State.PUBLISHED


def history_revert(user, event):
    first = event.history.earliest("history_date")
    url = reverse("admin:heritage_damageevent_simple_history", args=[event.pk, first.history_id])
    data = event_form(event.site, summary="First summary", change_reason="The first was right")
    data |= {"opened_version": event.version}
    state = event.state

    def live():
        now = DamageEvent.objects.get(pk=event.pk)
        assert now.state == state, "a revert changed the state"
        return now.summary == "First summary"

    return lambda: admin_client(user).post(url, data, follow=True), live


def api_change(user, event):
    return api_write(user, "patch", f"/api/v1/events/{event.pk}/",
                     {"summary": "Third summary", "reason": "Better"}), lambda: (
        DamageEvent.objects.get(pk=event.pk).summary == "Third summary"
    )  # fmt: skip


def api_publish(user, event):
    return api_write(user, "patch", f"/api/v1/events/{event.pk}/",
                     {"state": "published", "reason": "Checked"}), lambda: (
        DamageEvent.objects.get(pk=event.pk).state == State.PUBLISHED
    )  # fmt: skip


def api_add_citation(user, event):
    source = make_source(publisher="SANA")
    data = {"event": event.pk, "source": source.pk, "stance": "supports", "reason": "More"}
    return lambda: api_client(user).post("/api/v1/citations/", data, "json"), cited(event, source)


def cited(event, source):
    """Whether `source` stands as `event`'s evidence: reviewed, or on a draft."""
    return lambda: (
        event.citations.filter(source=source, approved=True).exists()
        or (event.state != State.PUBLISHED and event.citations.filter(source=source).exists())
    )


def api_delete_citation(user, event):
    citation = event.citations.first()
    url = f"/api/v1/citations/{citation.pk}/?reason=Duplicate"
    return api_write(
        user, "delete", url
    ), lambda: not Citation.objects.filter(pk=citation.pk).exists()


def intake_accept(user, event):
    source = Source.objects.create(
        kind="news",
        title="Wire",
        publisher="Wire",
        published="2015-08-31",
        text="Militants blew up the Temple of Bel on Sunday.",
    )
    claim = Claim.objects.create(
        source=source, site=event.site, matched="Temple of Bel", start=0, end=46,
        quote=source.text, level="destroyed", date="2015-08-30",
    )  # fmt: skip
    url = reverse("admin:reports_source_claims", args=[source.pk])
    data = {"claim": claim.pk, "accept": "Accept", "reason": "Same event"}
    data |= {f"claim-{claim.pk}-{k}": v for k, v in
             {"site": "temple-of-bel", "level": "destroyed", "date": "2015-08-30",
              "event": event.pk}.items()}  # fmt: skip
    return lambda: admin_client(user).post(url, data, follow=True), cited(event, source)


def queue_approve(user, event):
    return lambda: admin_client(user).post(
        reverse("admin:heritage_review_queue"),
        {
            "event": [event.pk],
            "approve": "Approve selected",
            "reason": "Checked",
            f"version-event-{event.pk}": event.version,
        },  # fmt: skip
        follow=True,
    ), lambda: DamageEvent.objects.get(pk=event.pk).state == State.PUBLISHED


PATHS = {
    "admin form": admin_form,
    "step submit": admin_step("submit"),
    "step publish": admin_step("publish"),
    "step withdraw": admin_step("withdraw"),
    "bulk publish": admin_bulk_publish,
    "revert": history_revert,
    "api change": api_change,
    "api publish": api_publish,
    "api cite": api_add_citation,
    "api uncite": api_delete_citation,
    "accept claim": intake_accept,
    "queue approve": queue_approve,
}


@pytest.mark.parametrize(("path", "role", "state", "expected"), table())
def test_each_path_does_exactly_what_the_table_says(path, role, state, expected, people):
    event = event_in(state, people)
    user = people.get(role)
    proposals_before = PendingChange.objects.filter(status="pending").count()
    act, live = PATHS[path](user, event)
    live_before = live()
    response = act()
    proposed = PendingChange.objects.filter(status="pending").count() > proposals_before
    if path.startswith("api"):
        words = api_message(response)
    else:  # the messages shown, or the form's errors on the page
        words = messages_of(response) + " " + response.content.decode()

    if expected == "login":
        if path.startswith("api"):
            assert response.status_code in (401, 403)
        else:
            assert "/admin/login/" in response.redirect_chain[-1][0]
        assert not proposed
        assert live_before or not live()
    elif expected == "applied":
        assert response.status_code < 400, words
        assert not live_before
        assert live(), words
        assert not proposed
    elif expected == "proposed":
        assert response.status_code < 400, words
        assert proposed, words
        assert not live(), "a proposal changed the public record"
    elif expected == "noop":
        assert response.status_code == 200
        assert not proposed
        assert DamageEvent.objects.get(pk=event.pk).version == event.version
    elif expected == "403":
        assert response.status_code == 403
        assert not live()
        assert not proposed
    else:
        assert expected.lower() in words.lower(), words
        assert not proposed
        assert live_before or not live()


def test_the_table_covers_every_path_role_and_state():
    cells = {(p, r, s) for p, r, s, _ in (param.values for param in table())}
    for path in PATHS:
        for state in STATES:
            assert (path, "curator", state) in cells
            assert (path, "author", state) in cells
            assert (path, "editor", state) in cells


def test_a_state_changed_outside_the_workflow_is_refused_by_the_model(people):
    event = event_in(State.REVIEW, people)
    event.state = State.PUBLISHED
    with pytest.raises(WorkflowBypass) as raised:
        event.save()
    assert "only through heritage.workflow" in str(raised.value)
    assert DamageEvent.objects.get(pk=event.pk).state == State.REVIEW


def test_every_save_of_a_published_event_outside_the_workflow_is_refused(people):
    event = event_in(State.PUBLISHED, people)
    event.summary = "Quietly changed"
    citation = event.citations.first()
    source = citation.source
    citation.stance = "mentions"
    source.kind = "satellite"
    # Each attempt in a savepoint of its own, as a request's transaction would be.
    for attempt in (event.save, citation.save, citation.delete, source.save):
        with pytest.raises(WorkflowBypass), transaction.atomic():
            attempt()
    assert DamageEvent.objects.get(pk=event.pk).summary == "Second summary"


def test_a_proposal_is_approved_by_another_editor_only(people):
    event = event_in(State.PUBLISHED, people)
    outcome = workflow.save(edited(event, level="destroyed"), people["author"], "Worse")
    assert outcome.pending
    for who, words in [("curator", "Only an editor"), ("author", "You proposed this change")]:
        with pytest.raises(workflow.Refused, match=words):
            workflow.approve(outcome.proposal, people[who], "Fine")
    assert DamageEvent.objects.get(pk=event.pk).level == "severe"
    workflow.approve(outcome.proposal, people["editor"], "Matches the imagery")
    assert DamageEvent.objects.get(pk=event.pk).level == "destroyed"
    with pytest.raises(workflow.Refused, match="already been decided"):
        workflow.approve(outcome.proposal, people["editor"], "Again")


def test_a_stale_proposal_is_refused_when_the_record_changed_since(people):
    event = event_in(State.PUBLISHED, people)
    first = workflow.save(edited(event, level="destroyed"), people["curator"], "Worse")
    second = workflow.save(edited(event, summary="Other words"), people["curator"], "Words")
    # The later proposal replaces the earlier and keeps its change.
    first.proposal.refresh_from_db()
    assert first.proposal.status == "superseded"
    assert second.proposal.changes == {"level": "destroyed", "summary": "Other words"}
    # A source's proposal, then the source changed another way once no public event
    # cited it (its event withdrawn, edited, published again).
    source = event.citations.first().source
    source.title = "Proposed title"
    pending = workflow.save(source, people["curator"], "Title as published").proposal
    workflow.transition(event, State.DRAFT, people["editor"], "Checking", step="withdraw")
    source.refresh_from_db()
    source.title = "Edited meanwhile"
    workflow.save(source, people["editor"], "Fix")
    with pytest.raises(workflow.Refused, match="changed since this was proposed"):
        workflow.approve(pending, people["publisher"], "Fine")


def test_four_eyes_off_lets_one_editor_publish_their_own_draft(people, settings):
    settings.FOUR_EYES = False
    event = event_in(State.DRAFT, people)
    workflow.transition(event, State.PUBLISHED, people["author"], "Alone on the team")
    assert DamageEvent.objects.get(pk=event.pk).state == State.PUBLISHED
    outcome = workflow.save(edited(event, summary="Fixed"), people["author"], "Typo")
    assert outcome.proposal.status == "approved"
    assert DamageEvent.objects.get(pk=event.pk).summary == "Fixed"


def test_restoring_a_deleted_event_brings_back_a_draft_whatever_it_was(people):
    event = event_in(State.PUBLISHED, people)
    workflow.transition(event, State.DRAFT, people["editor"], "To delete")
    workflow.delete(DamageEvent.objects.get(pk=event.pk), people["editor"], "Duplicate")
    restored, lost = workflow.restore(event.pk, people["curator"], "Not a duplicate")
    assert (restored.state, lost) == (State.DRAFT, [])
    assert restored.citations.count() == 2
    assert not restored.citations.filter(approved=True).exists()


def test_a_published_event_is_deleted_only_once_withdrawn(people):
    event = event_in(State.PUBLISHED, people)
    with pytest.raises(workflow.Refused, match="Withdraw it from publication first"):
        workflow.delete(event, people["editor"], "Duplicate")
    assert DamageEvent.objects.filter(pk=event.pk).exists()


def test_approving_the_deletion_of_the_last_support_is_refused(people):
    event = event_in(State.PUBLISHED, people)
    first, second = event.citations.order_by("pk")
    one = workflow.delete(first, people["curator"], "Duplicate")
    two = workflow.delete(second, people["curator"], "Duplicate")
    workflow.approve(one.proposal, people["editor"], "Yes")
    with pytest.raises(workflow.Refused, match="only citation supporting"):
        workflow.approve(two.proposal, people["editor"], "Yes")
    assert Citation.objects.filter(pk=second.pk).exists()
