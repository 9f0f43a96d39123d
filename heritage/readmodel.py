"""The read model: each published event's and each public site's public form (JSON,
GeoJSON, CSV line) stored beside it, so that a public list is one indexed query joining
stored documents, with no Python per row.

Documents are rebuilt in the transaction of every change to what they show (the
models call `events_changed` and `sites_changed`: an event's save and regrade, a
site's save and new condition, a citation's or a source's change through the regrade
it causes, a name, an actor), so a reader never sees one older than the record.
Readers still check each document's shape version: a missing or older one (written by
an earlier version of the code, or lost to a failed rebuild) is built from the models,
served, and stored again (`documents_for`)."""

import logging

import orjson
from django.db import DatabaseError, transaction

from heritage import shapes
from heritage.dataset import csv_line
from heritage.models import DamageEvent, EventDocument, Site, SiteDocument

logger = logging.getLogger(__name__)

# Raise whenever heritage/shapes.py changes what a document holds: every stored document
# of an older shape is then rebuilt when it is next read, or by rebuild_read_model.
SHAPE = 1

# The keys whose values are addresses on this register: stored as paths, and given
# the host of each request when served (`absolute`). A key is matched with its quotes
# and colon, which JSON text in a value cannot contain unescaped, so no value is changed.
ADDRESS_KEYS = ("url", "page")


def dumps(value):
    return orjson.dumps(value).decode()


def event_documents(events):
    """EventDocuments of these events (a queryset of published ones), unsaved."""
    documents = []
    for shape in shapes.event_shapes(events, shapes.Addresses()):
        documents.append(
            EventDocument(
                event_id=shape["id"],
                shape=SHAPE,
                json=dumps(shape),
                csv=csv_line(shapes.csv_row(shapes.event_csv_shape(shape), "events")),
            )
        )
    return documents


def site_documents(sites):
    """SiteDocuments of these sites (a queryset of public ones), unsaved."""
    documents = []
    addresses = shapes.Addresses()
    for site in (
        sites.with_record().select_related("parent").prefetch_related(shapes.public_names())
    ):
        shape = shapes.site_shape(site, site.names.all(), addresses)
        documents.append(
            SiteDocument(
                site_id=site.pk,
                shape=SHAPE,
                json=dumps(shape),
                feature=dumps(shapes.site_feature(shape)),
                csv=csv_line(shapes.csv_row(shape, "sites")),
            )
        )
    return documents


def _rebuild(model, documents_of, records, ids):
    ids = {pk for pk in ids if pk is not None}
    if not ids:
        return
    with transaction.atomic():
        # Gone first: if building fails below, readers find no document and build one
        # from the models, rather than finding the old one.
        model.objects.filter(pk__in=ids).delete()
        try:
            with transaction.atomic():
                model.objects.bulk_create(documents_of(records.filter(pk__in=ids)))
        except DatabaseError:
            raise
        except Exception:
            logger.exception("Could not rebuild %s of %s", model.__name__, sorted(ids))


def events_changed(ids):
    """Rebuild the documents of these events (published ones; others have none)."""
    _rebuild(EventDocument, event_documents, DamageEvent.objects.published(), ids)


def sites_changed(ids):
    """Rebuild the documents of these sites (public ones; others have none)."""
    _rebuild(SiteDocument, site_documents, Site.objects.public(), ids)


def events_of_sites_changed(site_ids):
    """A site's name or slug shows in each of its events."""
    events_changed(DamageEvent.objects.filter(site__in=site_ids).values_list("pk", flat=True))


def rebuild_all(chunk=2000, progress=None):
    """Every document built again, a chunk at a time, each chunk in its own transaction.
    `progress(done, total)` is called after each chunk."""
    plan = [
        (events_changed, DamageEvent.objects.published(), EventDocument),
        (sites_changed, Site.objects.public(), SiteDocument),
    ]
    # Documents of records no longer public (withdrawn while the read model was off).
    EventDocument.objects.exclude(event__in=DamageEvent.objects.published()).delete()
    SiteDocument.objects.exclude(site__in=Site.objects.public()).delete()
    total = sum(records.count() for _, records, _ in plan)
    done = 0
    for rebuild, records, _ in plan:
        ids = list(records.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), chunk):
            rebuild(ids[start : start + chunk])
            done += len(ids[start : start + chunk])
            if progress:
                progress(done, total)
    return total


def documents_for(model, rows, field="json"):
    """The stored documents of `rows` (dicts with `pk`, `doc` and `shape`, read with the
    page's one query), each missing or older one built from the models and stored again.
    Returns the documents' texts in the rows' order."""
    stale = [row["pk"] for row in rows if row["doc"] is None or row["shape"] != SHAPE]
    if not stale:
        return [row["doc"] for row in rows]
    documents = repair(model, stale)
    return [
        getattr(documents[row["pk"]], field) if row["pk"] in documents else row["doc"]
        for row in rows
    ]


def repair(model, ids):
    """Documents built from the models for `ids`, stored again when the database takes
    the write (a read replica does not; the reader is served all the same)."""
    if model is EventDocument:
        documents = event_documents(DamageEvent.objects.published().filter(pk__in=ids))
    else:
        documents = site_documents(Site.objects.public().filter(pk__in=ids))
    logger.warning("Read model: rebuilt %d missing or stale %s", len(ids), model.__name__)
    try:
        with transaction.atomic():
            model.objects.filter(pk__in=ids).delete()
            model.objects.bulk_create(documents)
    except DatabaseError:
        logger.exception("Read model: could not store the rebuilt documents")
    return {document.pk: document for document in documents}


def absolute(text, request):
    """Stored JSON with its addresses made absolute for this request's host."""
    origin = request.build_absolute_uri("/").removesuffix("/")
    for key in ADDRESS_KEYS:
        text = text.replace(f'"{key}":"/', f'"{key}":"{origin}/')
    return text


def joined(texts):
    """JSON texts as one JSON array's text."""
    return "[" + ",".join(texts) + "]"


def site_saved(sender, instance, raw=False, **kwargs):
    """A site's own fields show in its document, its children's (their parent's slug)
    and its events' (its name and slug)."""
    if raw:
        return
    children = Site.objects.filter(parent=instance.pk).values_list("pk", flat=True)
    sites_changed([instance.pk, *children])
    events_of_sites_changed([instance.pk])


def name_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        sites_changed([instance.site_id])


def actor_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        events_changed(instance.events.values_list("pk", flat=True))


def connect():
    """Called once the apps are ready (HeritageConfig.ready)."""
    from django.db.models.signals import post_delete, post_save

    from heritage.models import Actor, SiteName

    post_save.connect(site_saved, sender=Site, dispatch_uid="readmodel-site")
    post_save.connect(name_changed, sender=SiteName, dispatch_uid="readmodel-name")
    post_delete.connect(name_changed, sender=SiteName, dispatch_uid="readmodel-name-gone")
    post_save.connect(actor_saved, sender=Actor, dispatch_uid="readmodel-actor")
