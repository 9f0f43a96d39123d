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

import hashlib
import logging
import uuid

import orjson
from django.db import DatabaseError, transaction
from django.utils.safestring import mark_safe

from heritage import shapes
from heritage.dataset import csv_line
from heritage.models import DamageEvent, EventDocument, Site, SiteDocument, SiteFeature
from heritage.text import SCRIPT_ESCAPES

logger = logging.getLogger(__name__)

# Raise whenever heritage/shapes.py changes what a document holds: every stored document
# of an older shape is then rebuilt when it is next read, or by rebuild_read_model.
SHAPE = 3

# A site's documents: both are built, stored and repaired together.
SITE_MODELS = (SiteDocument, SiteFeature)

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
                token=uuid.uuid4().hex,
                json=dumps(shape),
                csv=csv_line(shapes.csv_row(shapes.event_csv_shape(shape), "events")),
            )
        )
    return documents


def site_documents(sites):
    """SiteDocuments and SiteFeatures of these sites (a queryset of public ones),
    unsaved, as one list."""
    documents = []
    addresses = shapes.Addresses()
    for site in (
        sites.with_record().select_related("parent").prefetch_related(shapes.public_names())
    ):
        shape = shapes.site_shape(site, site.names.all(), addresses)
        point = shapes.map_point(shape) if site.is_located else None
        documents.append(
            SiteDocument(
                site_id=site.pk,
                shape=SHAPE,
                token=uuid.uuid4().hex,
                json=dumps(shape),
                csv=csv_line(shapes.csv_row(shape, "sites")),
            )
        )
        documents.append(
            SiteFeature(
                site_id=site.pk,
                shape=SHAPE,
                feature=dumps(shapes.site_feature(shape)),
                point=dumps(point).translate(SCRIPT_ESCAPES) if point else "",
            )
        )
    return documents


def _store(documents):
    """Insert or replace each document (an upsert): two transactions storing the same
    record's document do not collide on its key, the later one wins."""
    for model in {type(document) for document in documents}:
        fields = [f.name for f in model._meta.concrete_fields if not f.primary_key]
        model.objects.bulk_create(
            [d for d in documents if type(d) is model],
            update_conflicts=True,
            unique_fields=[model._meta.pk.name],
            update_fields=fields,
        )


def _rebuild(models, documents_of, records, ids):
    ids = {pk for pk in ids if pk is not None}
    if not ids:
        return False
    with transaction.atomic():
        try:
            with transaction.atomic():
                documents = documents_of(records.filter(pk__in=ids))
        except DatabaseError:
            raise
        except Exception:
            # Readers then find no document and build one from the models, rather than
            # find the old one.
            logger.exception("Could not rebuild the documents of %s", sorted(ids))
            documents, rebuilt = [], False
        else:
            rebuilt = True
        built = {document.pk for document in documents}
        for model in models:
            # Records no longer public (withdrawn, unapproved, deleted) have none.
            model.objects.filter(pk__in=ids - built).delete()
        _store(documents)
    # Whether the documents say what the records are (a failed build says nothing).
    return rebuilt


def _kinds():
    """Each document model: the models built with it, how, and from which records
    (the public ones; others have none)."""
    events = ([EventDocument], event_documents, DamageEvent.objects.published())
    sites = (SITE_MODELS, site_documents, Site.objects.public())
    return {EventDocument: events, SiteDocument: sites, SiteFeature: sites}


def events_changed(ids):
    """Rebuild the documents of these events, and write the change feed's entries for
    what the public sees of them now (heritage/changes.py)."""
    from heritage import changes

    ids = {pk for pk in ids if pk is not None}
    if not ids:
        return
    with transaction.atomic():
        before = changes.documents(ids)
        if _rebuild(*_kinds()[EventDocument], ids):
            changes.record(before, changes.documents(ids))


def sites_changed(ids):
    """Rebuild the documents of these sites."""
    _rebuild(*_kinds()[SiteDocument], ids)


def events_of_sites_changed(site_ids):
    """A site's name or slug shows in each of its events."""
    events_changed(DamageEvent.objects.filter(site__in=site_ids).values_list("pk", flat=True))


def rebuild_all(chunk=2000, progress=None):
    """Every document built again, a chunk at a time, each chunk in its own transaction.
    `progress(done, total)` is called after each chunk."""
    plan = [_kinds()[EventDocument], _kinds()[SiteDocument]]
    # Documents of records no longer public (withdrawn while the read model was off).
    for models, _, records in plan:
        for model in models:
            model.objects.exclude(pk__in=records.values("pk")).delete()
    total = sum(records.count() for _, _, records in plan)
    done = 0
    for models, build, records in plan:
        ids = list(records.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            _rebuild(models, build, records, part)
            done += len(part)
            if progress:
                progress(done, total)
    return total


def documents_for(model, rows, field="json"):
    """The stored documents of `rows` ((pk, document, shape) tuples, read with the
    page's one query), each missing or older one built from the models and stored
    again. Returns the documents' texts in the rows' order."""
    stale = [pk for pk, doc, shape in rows if doc is None or shape != SHAPE]
    if not stale:
        return [doc for _, doc, _ in rows]
    documents = repair(model, stale)
    return [getattr(documents[pk], field) if pk in documents else doc for pk, doc, _ in rows]


def repair(model, ids):
    """Documents of `model` built from the models for `ids` (with the rest of their
    records' documents), stored again when the database takes the write (a read
    replica does not; the reader is served all the same)."""
    models, build, records = _kinds()[model]
    documents = build(records.filter(pk__in=ids))
    logger.warning("Read model: rebuilt %d missing or stale %s", len(ids), model.__name__)
    try:
        with transaction.atomic():
            # Stored only where still missing or old: a writer may have stored a newer
            # one since these were built, from the models as they were.
            for stored in models:
                stored.objects.filter(pk__in=ids).exclude(shape=SHAPE).delete()
                stored.objects.bulk_create(
                    [d for d in documents if type(d) is stored], ignore_conflicts=True
                )
    except DatabaseError:
        logger.exception("Read model: could not store the rebuilt documents")
    return {document.pk: document for document in documents if type(document) is model}


class StoredMap:
    """The public map of every located site from their stored points (what
    heritage/views.py's MapPoints gives of a few): `json` for its <script> element,
    `items` for its list of places; its length is the number of points. Past
    LIST_LIMIT places the list is left to the sites page: ten thousand list items
    would make the home page megabytes long."""

    LIST_LIMIT = 500

    def __init__(self):
        public = Site.objects.public()
        rows = None
        # Every public site has its feature (none is missing): then the points are read
        # from their own table alone, in no order (the map needs none).
        if SiteFeature.objects.count() == public.count():
            rows = list(SiteFeature.objects.exclude(point="").values_list("pk", "point", "shape"))
        if rows is None or any(shape != SHAPE for _, _, shape in rows):
            located = public.located().values_list("pk", "feature__point", "feature__shape")
            points = documents_for(SiteFeature, list(located), "point")
        else:
            points = [point for _, point, _ in rows]
        self.points = [point for point in points if point]
        self.count = len(self.points)
        self.json = mark_safe(joined(self.points))  # escaped when stored

    def __len__(self):
        return self.count

    @property
    def items(self):
        if self.count > self.LIST_LIMIT:
            return ""
        from heritage.templatetags.register import place_items

        points = sorted((orjson.loads(point) for point in self.points), key=lambda p: p["name"])
        return place_items(points)


def absolute(text, request, keys=ADDRESS_KEYS):
    """Stored JSON with its addresses (under `keys`) made absolute for this request's
    host."""
    origin = request.build_absolute_uri("/").removesuffix("/")
    for key in keys:
        text = text.replace(f'"{key}":"/', f'"{key}":"{origin}/')
    return text


def joined(texts):
    """JSON texts as one JSON array's text."""
    return "[" + ",".join(texts) + "]"


def site_saved(sender, instance, raw=False, **kwargs):
    """A site's own fields show in its document, its children's (their parent's slug)
    and its events' (its name and slug); its parent's page lists it."""
    if raw:
        return
    children = Site.objects.filter(parent=instance.pk).values_list("pk", flat=True)
    sites_changed([instance.pk, instance.parent_id, *children])
    events_of_sites_changed([instance.pk])


def name_changed(sender, instance, raw=False, **kwargs):
    """A site's names show in its document; its pictures, on its page, which is kept
    under its document's token. A name moved to another site leaves the first one."""
    if not raw:
        sites_changed([instance.site_id, getattr(instance, "_stored_site_id", None)])


def name_changing(sender, instance, raw=False, **kwargs):
    if not raw and instance.pk is not None:
        stored = sender._default_manager.filter(pk=instance.pk).values_list("site_id", flat=True)
        instance._stored_site_id = stored.first()


def lock_dependents(sender, instance, raw=False, **kwargs):
    """Before a site or an actor is saved, lock the events (and child sites) whose
    documents the save will rebuild. Its name or slug is a key (unique), so its update
    takes a lock that a writer of one of those events needs at commit, to check its
    foreign key; that writer must finish first, or each waits for the other (a
    deadlock on PostgreSQL)."""
    if raw or instance.pk is None:
        return
    field = "actor" if sender is not Site else "site"
    events = DamageEvent.objects.filter(**{field: instance.pk}).order_by("pk")
    list(events.select_for_update(no_key=True).values_list("pk", flat=True))
    if sender is Site:
        children = Site.objects.filter(parent=instance.pk).order_by("pk")
        list(children.select_for_update(no_key=True).values_list("pk", flat=True))


def site_deleted(sender, instance, **kwargs):
    """Deleting a site deletes its names and pictures first, each rebuilding its
    documents while its row is still there: they go again, with it."""
    SiteDocument.objects.filter(pk=instance.pk).delete()
    SiteFeature.objects.filter(pk=instance.pk).delete()


def version_of(*documents):
    """What answers made from these documents (querysets of them) are kept under: it
    changes with any of them rebuilt, added or gone. One small query each."""
    digest = hashlib.sha256()
    for queryset in documents:
        for pk, token in queryset.order_by("pk").values_list("pk", "token"):
            digest.update(f"{pk}:{token};".encode())
    return digest.hexdigest()[:32]


def site_page_version(slug):
    """The version of a site's public page: its document, its published events' and
    its children's. (Publishing or withdrawing one of its events rebuilds its own.)"""
    return version_of(
        SiteDocument.objects.filter(site__slug=slug),
        EventDocument.objects.filter(event__site__slug=slug),
        SiteDocument.objects.filter(site__parent__slug=slug),
    )


def actor_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        events_changed(instance.events.values_list("pk", flat=True))


def connect():
    """Called once the apps are ready (HeritageConfig.ready)."""
    from django.db.models.signals import post_delete, post_save, pre_save

    from heritage.models import Actor, SiteImage, SiteName

    post_save.connect(site_saved, sender=Site, dispatch_uid="readmodel-site")
    post_delete.connect(site_deleted, sender=Site, dispatch_uid="readmodel-site-gone")
    for model in (SiteName, SiteImage):
        pre_save.connect(name_changing, sender=model, dispatch_uid=f"readmodel-{model.__name__}")
    post_save.connect(name_changed, sender=SiteName, dispatch_uid="readmodel-name")
    post_delete.connect(name_changed, sender=SiteName, dispatch_uid="readmodel-name-gone")
    post_save.connect(name_changed, sender=SiteImage, dispatch_uid="readmodel-image")
    post_delete.connect(name_changed, sender=SiteImage, dispatch_uid="readmodel-image-gone")
    post_save.connect(actor_saved, sender=Actor, dispatch_uid="readmodel-actor")
    for model in (Site, Actor):
        pre_save.connect(lock_dependents, sender=model, dispatch_uid=f"readmodel-lock-{model}")


def public_counts():
    """How many sites, events and sources the public record holds, counted once per
    version of it (PublicStamp moves with every change the public sees, and only then)
    rather than on every request: a full COUNT of 100,000 events costs milliseconds."""
    from django.core.cache import cache

    from heritage.kept import public_version
    from reports.models import Source

    key = f"public-counts:{public_version()}"
    counts = cache.get(key)
    if counts is None:
        counts = {
            "site_count": Site.objects.public().count(),
            "event_count": DamageEvent.objects.published().count(),
            "source_count": Source.objects.public().count(),
        }
        cache.set(key, counts, 24 * 3600)
    return counts
