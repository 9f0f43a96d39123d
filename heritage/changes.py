"""The change feed's entries, written as the read model rebuilds events' documents:
what the public saw of each event and of each of its citations before the change is
compared with what it sees after it. Published, changed, unpublished or deleted, in the
transaction of the change, so a pull by id never misses one (writers queue on a lock on
PostgreSQL, so ids are committed in order; SQLite has one writer at a time)."""

import orjson
from django.db import connection

from heritage.models import Change, ChangeAction, DamageEvent, EventDocument

# pg_advisory_xact_lock's key for writing the change feed ("CHNG").
CHANGE_LOCK = 0x43484E47


def documents(ids):
    return dict(EventDocument.objects.filter(pk__in=ids).values_list("pk", "json"))


def _citations(text):
    if not text:
        return {}
    return {c["id"]: orjson.dumps(c).decode() for c in orjson.loads(text)["citations"]}


def record(before, after):
    """Entries for the events whose documents went from `before` to `after` (dicts of
    event id to stored JSON), and for their citations."""
    from reports.models import Citation

    gone = set(before) - set(after)
    deleted = gone - set(DamageEvent.objects.filter(pk__in=gone).values_list("pk", flat=True))
    changes = []
    for change in _entries("event", before, after, deleted, lambda pk: pk):
        changes.append(change)
        event = change.record_id
        was, now = _citations(before.get(event)), _citations(after.get(event))
        lost = set(was) - set(now)
        if event not in deleted:  # a citation gone with its event is deleted with it
            lost -= set(Citation.objects.filter(pk__in=lost).values_list("pk", flat=True))
        changes += _entries("citation", was, now, lost, lambda pk, event=event: event)
    changes = _not_deleted_twice(changes)
    if changes:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHANGE_LOCK])
        created = Change.objects.bulk_create(changes)
        _latest_only(created)


def _latest_only(created):
    """Only a record's newest entry keeps its text: a description corrected or a quote
    withdrawn must not stay public in the feed's older entries."""
    for record_type in {c.record_type for c in created}:
        Change.objects.filter(
            record_type=record_type,
            record_id__in={c.record_id for c in created if c.record_type == record_type},
            id__lt=max(c.id for c in created),
        ).exclude(id__in=[c.id for c in created]).exclude(json="").update(json="")


def _not_deleted_twice(changes):
    """Deleting a record sends its deletion twice (its document goes, and the record):
    the feed says it once."""
    deletions = [c for c in changes if c.action == ChangeAction.DELETED]
    if not deletions:
        return changes
    said = set()
    for record_type in {c.record_type for c in deletions}:
        ids = [c.record_id for c in deletions if c.record_type == record_type]
        said |= {
            (record_type, pk)
            for pk in Change.objects.filter(
                record_type=record_type, record_id__in=ids, action=ChangeAction.DELETED
            ).values_list("record_id", flat=True)
        }
    return [
        c for c in changes
        if c.action != ChangeAction.DELETED or (c.record_type, c.record_id) not in said
    ]  # fmt: skip


def _entries(record_type, before, after, deleted, event_of):
    """A change for each record whose public JSON differs between `before` and `after`
    (dicts of id to JSON): published, changed, or, gone, deleted (ids in `deleted`) or
    unpublished. `event_of(id)` is its event."""
    for pk in sorted(set(before) | set(after)):
        old, new = before.get(pk), after.get(pk)
        if old == new:
            continue
        if old is None:
            action = ChangeAction.PUBLISHED
        elif new is None:
            action = ChangeAction.DELETED if pk in deleted else ChangeAction.UNPUBLISHED
        else:
            action = ChangeAction.CHANGED
        yield Change(record_type=record_type, record_id=pk, event_id_of=event_of(pk),
                     action=action, json=new or "")  # fmt: skip


def record_deleted(sender, instance, **kwargs):
    """A record deleted after it left the public record (an event is withdrawn before it
    is deleted) is gone for good: the feed says so once, if it ever showed it."""
    from reports.models import Citation

    record_type = "citation" if sender is Citation else "event"
    shown = Change.objects.filter(record_type=record_type, record_id=instance.pk)
    last = shown.order_by("-id").values_list("action", flat=True).first()
    if last is None or last == ChangeAction.DELETED:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHANGE_LOCK])
    event = instance.pk if sender is DamageEvent else instance.event_id
    deleted = Change.objects.create(record_type=record_type, record_id=instance.pk,
                                    event_id_of=event, action=ChangeAction.DELETED)  # fmt: skip
    _latest_only([deleted])


def connect():
    from django.db.models.signals import post_delete

    from reports.models import Citation

    for model in (DamageEvent, Citation):
        post_delete.connect(record_deleted, sender=model, dispatch_uid=f"changes-{model.__name__}")
