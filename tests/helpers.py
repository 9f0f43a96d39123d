"""Builders for test data: each makes a valid record, and takes overrides by keyword."""

import itertools

from heritage.models import Actor, DamageEvent, Site, State
from reports.models import Citation, Source

_serial = itertools.count(1)


def make_site(**fields):
    n = next(_serial)
    fields.setdefault("name", f"Test site {n}")
    fields.setdefault("slug", f"test-site-{n}")
    fields.setdefault("kind", "temple")
    return Site.objects.create(**fields)


def make_actor(**fields):
    fields.setdefault("name", f"Test actor {next(_serial)}")
    return Actor.objects.create(**fields)


def make_source(**fields):
    n = next(_serial)
    fields.setdefault("kind", "news")
    fields.setdefault("title", f"Test report {n}")
    fields.setdefault("publisher", f"Test publisher {n}")
    fields.setdefault("published", "2015-09-01")
    return Source.objects.create(**fields)


def make_event(site=None, **fields):
    fields.setdefault("summary", "Blown up")
    fields.setdefault("date", "2015-08-30")
    fields.setdefault("level", "destroyed")
    fields.setdefault("cause", "explosives")
    return DamageEvent.objects.create(site=site or make_site(), **fields)


def make_citation(event, source=None, **fields):
    fields.setdefault("stance", "supports")
    return Citation.objects.create(event=event, source=source or make_source(), **fields)


def make_published_event(site=None, **fields):
    """An event with one supporting citation, published."""
    event = make_event(site, **fields)
    make_citation(event)
    event.refresh_from_db()
    event.state = State.PUBLISHED
    event.save()
    return event
