"""What waits for review: the editors' queue, the preview, and a public record that shows
only what has been reviewed."""

import csv
import io
import json
import zipfile

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from heritage import dataset, workflow
from heritage.models import DamageEvent, PendingChange
from reports.models import Citation, Claim, Source
from tests.helpers import make_citation, make_event, make_source, move, publish

pytestmark = pytest.mark.usefixtures("palmyra")

QUEUE = reverse("admin:heritage_review_queue")


@pytest.fixture
def second_editor(django_user_model):
    user = django_user_model.objects.create_user("second-editor", is_staff=True)
    user.groups.add(Group.objects.get(name="editor"))
    return user


def contradiction_proposed(curator):
    """A curator's contradicting citation on the published Temple of Bel event: were it
    public, the event would be contested."""
    bel = DamageEvent.objects.get(site__slug="temple-of-bel")
    source = make_source(title="A denial", publisher="Denials Weekly")
    citation = Citation(event=bel, source=source, stance="contradicts", claimed_date="2014")
    outcome = workflow.save(citation, curator, "The ministry denies it")
    assert outcome.pending
    return bel, citation


def decide_all(decision, reason):
    """The queue's form with every event in review and every proposal ticked, each with
    the version the page showed beside it."""
    data = {decision: "1", "reason": reason, "event": [], "proposal": []}
    for event in DamageEvent.objects.filter(state="review"):
        data["event"].append(event.pk)
        data[f"version-event-{event.pk}"] = event.version
    for proposal in PendingChange.objects.filter(status="pending"):
        target = proposal.content_type.model_class().objects.get(pk=proposal.object_id)
        data["proposal"].append(proposal.pk)
        data[f"version-proposal-{proposal.pk}"] = target.version
    return data


def fill_the_queue(curator, count):
    for n in range(count):
        event = make_event(summary=f"Waiting {n}")
        make_citation(event)
        move(event, "review")
        bel = DamageEvent.objects.get(site__slug="temple-of-bel")
        source = make_source(publisher=f"Publisher {n}")
        workflow.save(Citation(event=bel, source=source), curator, f"Evidence {n}")
        Claim.objects.create(
            source=source, site=bel.site, matched="Temple of Bel", quote="x", start=0, end=1
        )


def test_the_queue_costs_the_same_queries_however_long(
    editor_client, curator, django_assert_num_queries
):
    fill_the_queue(curator, 2)
    editor_client.get(QUEUE)  # fills the process-wide content-type cache
    # Expect 8 queries: the session, the user, the user's and the group's permissions,
    # the events in review with their citation counts, the proposals with their
    # authors, the citations they propose (one kind of record here), the claims.
    with django_assert_num_queries(8):
        short = editor_client.get(QUEUE)
    fill_the_queue(curator, 5)
    with django_assert_num_queries(8):
        long = editor_client.get(QUEUE)
    assert long.content.decode().count('name="event"') == 7
    assert short.content.decode().count('name="proposal"') == 2


def test_the_admin_index_counts_what_waits(editor_client, curator):
    fill_the_queue(curator, 3)
    html = editor_client.get(reverse("admin:index")).content.decode()
    counts = html[html.index('id="review-queue-counts"') :]
    assert "Events in review</a></th><td>3" in counts
    assert "Proposed changes to the published record</a></th><td>3" in counts


def test_an_editor_approves_many_at_once_and_a_refused_one_is_named(
    editor_client, curator, second_editor
):
    fill_the_queue(curator, 2)
    unsupported = move(make_event(summary="Nothing supports it"), "review")
    response = editor_client.post(QUEUE, decide_all("approve", "Checked today"), follow=True)
    shown = " ".join(str(m) for m in response.context["messages"])
    assert "4 item(s) approved" in shown
    assert "Nothing supports it" in shown
    assert "the others went ahead" in shown
    unsupported.refresh_from_db()
    assert unsupported.state == "review"
    assert not PendingChange.objects.filter(status="pending").exists()
    published = DamageEvent.objects.get(summary="Waiting 0")
    assert published.history.latest("history_date").history_change_reason == (
        "Publish: Checked today"
    )


def test_a_bulk_decision_needs_a_reason(editor_client, curator):
    fill_the_queue(curator, 1)
    chosen = list(DamageEvent.objects.filter(state="review").values_list("pk", flat=True))
    response = editor_client.post(QUEUE, decide_all("approve", ""), follow=True)
    assert "Give a reason" in " ".join(str(m) for m in response.context["messages"])
    assert DamageEvent.objects.get(pk=chosen[0]).state == "review"


def test_rejecting_a_proposed_citation_removes_it_and_leaves_the_public_record(
    editor_client, curator
):
    bel, citation = contradiction_proposed(curator)
    proposal = PendingChange.objects.get(status="pending")
    editor_client.post(QUEUE, decide_all("reject", "Not credible"))
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decision_reason) == ("rejected", "Not credible")
    assert not Citation.objects.filter(pk=citation.pk).exists()


def test_pending_evidence_stays_out_of_every_public_output(client, api, curator):
    bel, citation = contradiction_proposed(curator)
    before = (bel.grade, bel.has_conflict)
    bel.refresh_from_db()
    assert (bel.grade, bel.has_conflict) == before == ("confirmed", False)
    denial = "Denials Weekly"

    assert denial not in client.get("/sites/temple-of-bel/").content.decode()
    assert denial not in client.get("/events/").content.decode()
    assert client.get(citation.source.get_absolute_url()).status_code == 404
    detail = api.get(f"/api/v1/events/{bel.pk}/").json()
    assert citation.pk not in [c["id"] for c in detail["citations"]]
    listed = api.get("/api/v1/events/", {"page_size": 500}).json()["results"]
    assert citation.pk not in [c["id"] for e in listed for c in e["citations"]]
    assert api.get(f"/api/v1/citations/{citation.pk}/").status_code == 404
    rows = b"".join(api.get("/api/v1/events/", {"format": "csv"}).streaming_content)
    row = next(
        r for r in csv.DictReader(io.StringIO(rows.decode("utf-8-sig"))) if r["id"] == str(bel.pk)
    )
    assert (row["grade"], row["has_conflict"], row["citation_count"]) == (
        "confirmed", "False", str(bel.citations.filter(approved=True).count())
    )  # fmt: skip
    assert api.get("/api/v1/events/", {"source": citation.source_id}).json()["results"] == []
    assert api.get("/api/v1/events/", {"publisher": denial}).json()["results"] == []

    counts = dataset.write_dump()
    with zipfile.ZipFile(dataset.settings.DUMP_PATH) as dump:
        everything = json.loads(dump.read("heritage-register.json"))
    assert citation.pk not in [c["id"] for c in everything["citations"]]
    assert counts["sources"] == Source.objects.public().count()


def test_approving_the_pending_evidence_makes_it_public_and_regrades(curator, editor, client):
    bel, citation = contradiction_proposed(curator)
    workflow.approve(PendingChange.objects.get(status="pending"), editor, "A real denial")
    bel.refresh_from_db()
    assert bel.has_conflict  # the claimed dates no longer overlap
    assert "Denials Weekly" in client.get("/sites/temple-of-bel/").content.decode()


def test_the_preview_shows_drafts_and_proposals_to_staff_only(curator_client, curator):
    client = Client()
    bel, _ = contradiction_proposed(curator)
    draft = make_event(bel.site, summary="A draft nobody sees yet")
    url = reverse("heritage:preview-site", args=["temple-of-bel"])

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert "/admin/login/" in anonymous["Location"]

    response = curator_client.get(url)
    html = response.content.decode()
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert "A draft nobody sees yet" in html
    assert "Draft: not public." in html
    assert "Denials Weekly" in html
    assert "New evidence proposed, waiting for review." in html
    # As it would be once approved: the sources disagree on its date.
    article = html[html.index(f'id="event-{bel.pk}"') :]
    assert "Sources disagree" in article[: article.index("</article>")]
    assert draft.summary not in client.get("/sites/temple-of-bel/").content.decode()


def test_the_preview_shows_a_proposed_change_in_place(curator_client, curator):
    bel = DamageEvent.objects.get(site__slug="temple-of-bel")
    bel.summary = "Cella, columns and portico blown up"
    workflow.save(bel, curator, "The portico went too")
    html = curator_client.get(reverse("heritage:preview-site", args=["temple-of-bel"])).content
    assert "Cella, columns and portico blown up" in html.decode()
    assert "Changes proposed, waiting for review." in html.decode()


def test_an_event_page_shows_its_pending_proposals_beside_the_public_record(editor_client, curator):
    bel, _ = contradiction_proposed(curator)
    bel.refresh_from_db()
    bel.level = "moderate"
    workflow.save(bel, curator, "Less than reported")
    html = editor_client.get(reverse("admin:heritage_damageevent_change", args=[bel.pk]))
    html = html.content.decode()
    waiting = html[html.index('id="pending-heading"') :]
    assert "Reason: Less than reported" in waiting
    assert "<td>destroyed</td><td>moderate</td>" in waiting
    assert "A new citation, not yet public" in waiting


def test_a_double_submitted_publication_says_it_is_already_done(editor_client, second_editor):
    event = make_event()
    make_citation(event)
    event = move(event, "review")
    url = reverse("admin:heritage_damageevent_step", args=[event.pk])
    data = {"step": "publish", "reason": "Checked", "version": event.version}
    editor_client.post(url, data)
    again = editor_client.post(url, data, follow=True)
    shown = " ".join(str(m) for m in again.context["messages"])
    assert "changed by someone else since you opened it" in shown or "already" in shown
    event.refresh_from_db()
    assert event.state == "published"
    assert event.history.filter(history_change_reason="Publish: Checked").count() == 1


def test_publishing_reviews_the_evidence_it_rests_on(editor):
    event = make_event()
    citation = make_citation(event)
    assert not Citation.objects.get(pk=citation.pk).approved
    publish(event)
    assert Citation.objects.get(pk=citation.pk).approved
