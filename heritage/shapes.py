"""What a site and an event look like to a reader, defined once: the API's JSON (the
serializers' output, the stored documents of heritage/readmodel.py and the pages built
from either), the GeoJSON feature of a site, and their CSV rows.

Shapes are built from plain rows, many at a time (a page of events is two queries), and
take their addresses from functions: relative ones for the stored documents, absolute
ones for an answer made from the models."""

import datetime
import functools

from django.db.models import F, Prefetch
from django.urls import get_script_prefix, get_urlconf, reverse

from heritage.dataset import COLUMNS, iso_bound
from heritage.dates import describe_edtf
from heritage.models import (
    GRADE_EXPLANATIONS,
    REVIEWED_EVIDENCE,
    DamageLevel,
    SiteName,
)

# What an event's shape is built from: its columns, and its citations'.
EVENT_VALUES = [
    "id", "kind", "summary", "date", "date_lower", "date_upper", "level", "extent",
    "cause", "condition_after", "description", "state", "grade", "grade_override",
    "grade_override_reason", "has_conflict", "created", "updated",
]  # fmt: skip
EVENT_RELATED = {
    "site_slug": F("site__slug"),
    "site_name": F("site__name"),
    "actor_name": F("actor__name"),
}
CITATION_VALUES = [
    "event_id", "id", "source_id", "quote", "locator", "stance", "basis", "claimed_level",
    "claimed_date", "claimed_lower", "claimed_upper", "note",
]  # fmt: skip
CITATION_RELATED = {
    "source_title": F("source__title"),
    "source_publisher": F("source__publisher"),
    "source_published": F("source__published"),
}


def drf_datetime(value):
    """A datetime as DRF's DateTimeField writes it: ISO 8601 in UTC, with a Z. The CSV
    columns use it too, so that a timestamp reads the same in every format."""
    if value is None:
        return None
    text = value.astimezone(datetime.UTC).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def url_parts(viewname):
    """The URL of `viewname` before and after its one argument (an id or a slug), to be
    joined with each of a list's: reverse() takes longer than the rest of a list item."""
    return _url_parts(viewname, get_script_prefix(), get_urlconf())


@functools.lru_cache(maxsize=64)
def _url_parts(viewname, script_prefix, urlconf):
    # reverse() reads the script prefix itself; it is an argument to be part of the key.
    placeholder = "999999999999"  # a valid id and slug that no URL contains otherwise
    before, after = reverse(viewname, args=[placeholder], urlconf=urlconf).split(placeholder)
    return before, after


def url_pattern(view_name, prefix=""):
    """A function giving the URL of `view_name` for its one argument, reversing once
    rather than once per row; `prefix` (a scheme and host) makes it absolute."""
    before, after = url_parts(view_name)
    before = prefix + before
    return lambda argument: f"{before}{argument}{after}"


class Addresses:
    """The three addresses a shape holds, relative (no `prefix`) or absolute."""

    def __init__(self, prefix=""):
        self.event = url_pattern("api:event-detail", prefix)
        self.site = url_pattern("api:site-detail", prefix)
        self.page = url_pattern("heritage:site-detail", prefix)

    @classmethod
    def of(cls, request):
        return cls(request.build_absolute_uri("/").removesuffix("/"))


def citation_shape(row):
    return {
        "id": row["id"],
        "source": row["source_id"],
        "source_title": row["source_title"],
        "publisher": row["source_publisher"],
        "published": row["source_published"],
        "quote": row["quote"],
        "locator": row["locator"],
        "stance": row["stance"],
        "basis": row["basis"],
        "claimed_level": row["claimed_level"],
        "claimed_date": row["claimed_date"],
        "claimed_lower": iso_bound(row["claimed_lower"]),
        "claimed_upper": iso_bound(row["claimed_upper"]),
        "note": row["note"],
    }


def event_shape(row, citations, addresses):
    """An event as the API shows it, from its row (EVENT_VALUES and EVENT_RELATED) and
    its citations' shapes."""
    return {
        "id": row["id"],
        "url": addresses.event(row["id"]),
        "page": addresses.page(row["site_slug"]) + f"#event-{row['id']}",
        "site": row["site_slug"],
        "site_name": row["site_name"],
        "kind": row["kind"],
        "summary": row["summary"],
        "date": row["date"],
        "date_lower": iso_bound(row["date_lower"]),
        "date_upper": iso_bound(row["date_upper"]),
        "date_text": describe_edtf(row["date"]),
        "level": row["level"],
        "extent": row["extent"],
        "cause": row["cause"],
        "actor": row["actor_name"],
        "condition_after": row["condition_after"],
        "description": row["description"],
        "state": row["state"],
        "grade": row["grade"],
        "grade_explanation": GRADE_EXPLANATIONS.get(row["grade"], ""),
        "grade_override": row["grade_override"],
        "grade_override_reason": row["grade_override_reason"],
        "has_conflict": row["has_conflict"],
        "citations": citations,
        "created": drf_datetime(row["created"]),
        "updated": drf_datetime(row["updated"]),
    }


def cited_by_event(event_ids):
    """The shapes of the reviewed evidence of these events, by event: one query."""
    from reports.models import Citation

    cited = {}
    rows = Citation.objects.filter(REVIEWED_EVIDENCE, event_id__in=list(event_ids))
    for row in rows.order_by("event", "id").values(*CITATION_VALUES, **CITATION_RELATED):
        cited.setdefault(row["event_id"], []).append(citation_shape(row))
    return cited


def event_shapes(events, addresses):
    """The shapes of `events` (a queryset, or rows already read from one with
    EVENT_VALUES and EVENT_RELATED), in its order: two queries however many."""
    rows = events
    if hasattr(events, "values"):
        rows = list(events.values(*EVENT_VALUES, **EVENT_RELATED))
    cited = cited_by_event(row["id"] for row in rows)
    return [event_shape(row, cited.get(row["id"], []), addresses) for row in rows]


def event_instance_shape(event, addresses):
    """The shape of one DamageEvent instance (the serializer's output)."""
    row = {name: getattr(event, name) for name in EVENT_VALUES}
    row |= {
        "site_slug": event.site.slug,
        "site_name": event.site.name,
        "actor_name": event.actor.name if event.actor_id else None,
    }
    if event.pk is None:
        return event_shape(row, [], addresses)
    if "citations" not in getattr(event, "_prefetched_objects_cache", {}):
        return event_shape(row, cited_by_event([event.pk]).get(event.pk, []), addresses)
    # Read with its reviewed evidence already (DamageEventQuerySet.for_timeline).
    citations = [
        citation_shape(
            {name: getattr(citation, name) for name in CITATION_VALUES}
            | {
                "source_title": citation.source.title,
                "source_publisher": citation.source.publisher,
                "source_published": citation.source.published,
            }
        )
        for citation in event.citations.all()
    ]
    return event_shape(row, citations, addresses)


def csv_row(shape, table):
    """A shape's row of the CSV `table` (heritage/dataset.py's columns)."""
    return [shape[key] for _, key, _ in COLUMNS[table]]


def event_csv_shape(shape):
    """What the events CSV reads from a shape: the shape, with its citations counted."""
    return {**shape, "citation_count": len(shape["citations"])}


def site_shape(site, names, addresses):
    """A site as the API shows it, from a Site read with its record (with_record()) and
    its parent, and the names its reader may see. A sensitive site's point is its public
    one (Site.public_point), whoever reads: the API is not a staff view."""
    latitude, longitude, precision = site.public_point()
    return {
        "slug": site.slug,
        "url": addresses.site(site.slug),
        "page": addresses.page(site.slug),
        "name": site.name,
        "kind": site.kind,
        "parent": site.parent.slug if site.parent_id else None,
        "names": [{"name": name.name, "language": name.language} for name in names],
        "latitude": float(latitude) if latitude is not None else None,
        "longitude": float(longitude) if longitude is not None else None,
        "location_precision": precision,
        "description": site.description,
        "built": site.built,
        "unesco_ref": site.unesco_ref,
        "wikidata": site.wikidata,
        "pleiades": site.pleiades,
        "condition": getattr(site, "condition", None) or None,
        "event_count": getattr(site, "event_count", 0) or 0,
        "last_event": iso_bound(getattr(site, "last_event", None)),
        "created": drf_datetime(site.created),
        "updated": drf_datetime(site.updated),
    }


def site_feature(shape):
    """A site's shape as an RFC 7946 Feature: [longitude, latitude], null where not
    located."""
    located = shape["latitude"] is not None and shape["longitude"] is not None
    condition = shape["condition"]
    return {
        "type": "Feature",
        "id": shape["slug"],
        "geometry": {"type": "Point", "coordinates": [shape["longitude"], shape["latitude"]]}
        if located
        else None,
        "properties": {
            "slug": shape["slug"],
            "name": shape["name"],
            "kind": shape["kind"],
            "parent": shape["parent"],
            "location_precision": shape["location_precision"] or None,
            "condition": condition,
            "unosat_label": DamageLevel.unosat_label(condition) or None,
            "event_count": shape["event_count"],
            "last_event": shape["last_event"],
            "page": shape["page"],
        },
    }


LEVEL_LABELS = dict(DamageLevel.choices)


def map_point(shape):
    """What the map draws of a located site: its marker, linked, coloured by its current
    condition."""
    condition = shape["condition"] or ""
    return {
        "name": shape["name"],
        "url": shape["page"],
        "lat": shape["latitude"],
        "lon": shape["longitude"],
        "condition": condition,
        "condition_label": LEVEL_LABELS[condition] if condition else "",
        "approximate": shape["location_precision"] == "approximate",
    }


def public_names():
    """The prefetch of a site's names that anonymous readers see."""
    return Prefetch("names", SiteName.objects.public())
