"""Builders for test data: each makes a valid record, and takes overrides by keyword."""

import itertools

from heritage import workflow
from heritage.models import Actor, DamageEvent, Site, State
from reports.models import Citation, Source

# Test data is set up as a management command would: through the workflow, with all of
# a role's rights and none of four eyes (heritage.workflow.Command).
SETUP = workflow.Command("tests")

_serial = itertools.count(1)


def reviewed(record):
    """`record`, added through the workflow and approved, as a command may: a site, a
    name, a picture or an actor the public sees. Pass `approve=False` to the makers
    below for one still waiting for review."""
    outcome = workflow.save(record, SETUP, "Set up by a test")
    if outcome.pending:
        workflow.approve(outcome.proposal, SETUP, "Set up by a test")
    record.refresh_from_db()
    return record


def make_site(approve=True, **fields):
    n = next(_serial)
    fields.setdefault("name", f"Test site {n}")
    fields.setdefault("slug", f"test-site-{n}")
    fields.setdefault("kind", "temple")
    site = Site(**fields)
    return reviewed(site) if approve else workflow.save(site, SETUP, "Test").record


def make_actor(approve=True, **fields):
    fields.setdefault("name", f"Test actor {next(_serial)}")
    actor = Actor(**fields)
    return reviewed(actor) if approve else workflow.save(actor, SETUP, "Test").record


def if_match(api, url):
    """The If-Match header of a client that read the record at `url` first."""
    return {"HTTP_IF_MATCH": api.get(url, HTTP_ACCEPT="application/json")["ETag"]}


def make_source(**fields):
    n = next(_serial)
    fields.setdefault("kind", "news")
    fields.setdefault("title", f"Test report {n}")
    fields.setdefault("publisher", f"Test publisher {n}")
    fields.setdefault("published", "2015-09-01")
    return Source.objects.create(**fields)


def make_event(site=None, state=State.DRAFT, **fields):
    """A draft, or an event taken to `state` through the workflow (a published one needs
    a supporting citation first: see make_published_event)."""
    fields.setdefault("summary", "Blown up")
    fields.setdefault("date", "2015-08-30")
    fields.setdefault("level", "destroyed")
    fields.setdefault("cause", "explosives")
    event = DamageEvent.objects.create(site=site or make_site(), **fields)
    return move(event, state) if state != State.DRAFT else event


def move(event, state, reason="Set up by a test"):
    """Take `event` to `state` through the workflow, as a command would."""
    return workflow.transition(event, state, SETUP, reason)


def publish(event):
    return move(event, State.PUBLISHED)


def make_citation(event, source=None, **fields):
    """A citation, added through the workflow: on a published event it is a proposal
    (pass approve=True to have it reviewed at once, as a command may)."""
    approve = fields.pop("approve", False)
    fields.setdefault("stance", "supports")
    citation = Citation(event=event, source=source or make_source(), **fields)
    outcome = workflow.save(citation, SETUP, "Set up by a test")
    if approve and outcome.pending:
        workflow.approve(outcome.proposal, SETUP, "Set up by a test")
        citation.refresh_from_db()
    return citation


def make_published_event(site=None, **fields):
    """An event with one supporting citation, published."""
    event = make_event(site, **fields)
    make_citation(event)
    return publish(event)


def event_form(site, citations=(), **fields):
    """The POST data of the event form with its inline citations."""
    data = {
        "site": site.pk,
        "kind": "damage",
        "summary": "Cella blown up",
        "date": "2015-08-30",
        "level": "destroyed",
        "extent": "61-90",
        "cause": "explosives",
        "actor": "",
        "condition_after": "",
        "description": "",
        "grade_override": "",
        "grade_override_reason": "",
        "citations-TOTAL_FORMS": str(len(citations)),
        "citations-INITIAL_FORMS": "0",
        "citations-MIN_NUM_FORMS": "0",
        "citations-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for i, citation in enumerate(citations):
        row = {
            "source": "",
            "stance": "supports",
            "basis": "report",
            "quote": "",
            "locator": "",
            "certainty": "",
            "claimed_level": "",
            "claimed_date": "",
            "note": "",
        } | citation
        data.update({f"citations-{i}-{key}": value for key, value in row.items()})
    data.update(fields)
    return data


def form_errors(response):
    """Every error message the admin page shows, main form and inlines."""
    messages = [str(e) for e in response.context["errors"]]
    for formset in response.context["inline_admin_formsets"]:
        messages += [str(e) for e in formset.formset.non_form_errors()]
        for form_errors in formset.formset.errors:
            messages += [str(m) for errors in form_errors.values() for m in errors]
    return " ".join(messages)


def edit(record, **fields):
    """Change `record` through the workflow as a command would, a change to the
    published record approved at once (commands are not bound by four eyes)."""
    for name, value in fields.items():
        setattr(record, name, value)
    outcome = workflow.save(record, SETUP, "Set up by a test")
    if outcome.pending:
        workflow.approve(outcome.proposal, SETUP, "Set up by a test")
    record.refresh_from_db()
    return record


def remove(record):
    """Delete `record` through the workflow as a command would: a published event is
    withdrawn first, a published event's citation deleted by an approved proposal."""
    if isinstance(record, DamageEvent) and record.state == State.PUBLISHED:
        record = move(record, State.DRAFT)
    outcome = workflow.delete(record, SETUP, "Set up by a test")
    if outcome.pending:
        workflow.approve(outcome.proposal, SETUP, "Set up by a test")


class ReadFirstClient:
    """Wraps DRF's APIClient as a careful client writes: it reads a record before it
    changes or deletes it, and sends back the ETag it read (If-Match), unless the test
    gives an If-Match of its own."""

    def __init__(self, client):
        self.client = client

    def __getattr__(self, name):
        return getattr(self.client, name)

    def _write(self, method, path, *args, **extra):
        if "HTTP_IF_MATCH" not in extra:
            read = self.client.get(path.split("?")[0], HTTP_ACCEPT="application/json")
            if read.status_code == 200:
                extra["HTTP_IF_MATCH"] = read["ETag"]
        return getattr(self.client, method)(path, *args, **extra)

    def patch(self, path, *args, **extra):
        return self._write("patch", path, *args, **extra)

    def put(self, path, *args, **extra):
        return self._write("put", path, *args, **extra)

    def delete(self, path, *args, **extra):
        return self._write("delete", path, *args, **extra)
