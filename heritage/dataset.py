"""The published register as tables: the columns of every CSV export and of the full
dataset download, each described once for the data dictionary."""

import csv
import datetime
import io
import json
import zipfile

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from heritage.dates import EARLIEST, HELP_TEXT, LATEST
from heritage.models import (
    Cause,
    DamageEvent,
    DamageExtent,
    DamageLevel,
    EventKind,
    Grade,
    LocationPrecision,
    Site,
    SiteKind,
    SiteName,
    State,
)
from reports.models import Basis, Capture, Certainty, Citation, Source, SourceKind, Stance

EDTF = "An EDTF date (" + HELP_TEXT.removeprefix("EDTF: ") + ")"
OPEN_ENDED = " Empty when the interval is open at that end."

# table: [(column, lookup in the queryset, description)]; for the tables with a shape
# (SHAPED), the lookup is a key of the shape (heritage/shapes.py).
COLUMNS = {
    "sites": [
        ("slug", "slug", "Unique identifier of the site; its page is /sites/<slug>/."),
        ("name", "name", "The name the register uses."),
        ("kind", "kind", "What kind of place it is (vocabulary: site kind)."),
        ("parent", "parent", "Slug of the place that holds this one, if any."),
        ("latitude", "latitude", "WGS84 latitude in decimal degrees; empty when not known."),
        ("longitude", "longitude", "WGS84 longitude in decimal degrees; empty when not known."),
        ("location_precision", "location_precision", "How exact the point is (vocabulary)."),
        (
            "condition",
            "condition",
            "Damage level after the latest published event; empty "
            "without one (vocabulary: damage level).",
        ),
        ("event_count", "event_count", "Number of published events at the site."),
        ("last_event", "last_event", "Latest possible day of the latest published event."),
        ("unesco_ref", "unesco_ref", "UNESCO World Heritage List reference."),
        ("wikidata", "wikidata", "Wikidata item, e.g. Q5747."),
        ("pleiades", "pleiades", "Pleiades place identifier."),
        ("built", "built", "When it was built, in words."),
        ("description", "description", "A short description."),
        ("created", "created", "When the record was created (UTC)."),
        ("updated", "updated", "When the record was last changed (UTC)."),
    ],
    "site_names": [
        ("site", "site__slug", "Slug of the site."),
        ("name", "name", "Another name of the site."),
        (
            "language",
            "language",
            "BCP 47 language tag: ar (Arabic script), ar-Latn (a transliteration), en …",
        ),
    ],
    "events": [
        ("id", "id", "Unique identifier of the event."),
        ("site_slug", "site", "Slug of the site."),
        ("site_name", "site_name", "Name of the site."),
        ("kind", "kind", "Damage, looting or restoration (vocabulary: event kind)."),
        ("summary", "summary", "What happened, in a line."),
        ("date", "date", EDTF + ": when it happened, not when it was reported."),
        ("date_lower", "date_lower", "Earliest possible day of `date`." + OPEN_ENDED),
        ("date_upper", "date_upper", "Latest possible day of `date`." + OPEN_ENDED),
        ("level", "level", "Damage level (vocabulary)."),
        ("extent", "extent", "Share of the site damaged, in percent bins (vocabulary)."),
        ("cause", "cause", "Cause (vocabulary)."),
        ("actor", "actor", "Who carried it out, when known."),
        (
            "condition_after",
            "condition_after",
            "The site's state after the event when it "
            "differs from `level` (vocabulary: damage level).",
        ),
        (
            "state",
            "state",
            "Publication state (vocabulary); the dataset holds published events only.",
        ),
        ("grade", "grade", "Verification grade, derived from the citations (vocabulary)."),
        (
            "has_conflict",
            "has_conflict",
            "True when the citations disagree on the date or on the damage by two or more levels.",
        ),
        ("citation_count", "citation_count", "Number of citations."),
        ("description", "description", "What happened, in more words."),
        ("created", "created", "When the record was created (UTC)."),
        ("updated", "updated", "When the record was last changed (UTC)."),
    ],
    "sources": [
        ("id", "id", "Unique identifier of the source; its page is /sources/<id>/."),
        ("kind", "kind", "Kind of source (vocabulary: source kind)."),
        (
            "title",
            "title",
            "Title; in [brackets] when it describes a report whose headline was not found.",
        ),
        ("publisher", "publisher", "Publisher; empty when not known."),
        ("authors", "authors", "Authors as printed, separated by “;”."),
        ("published", "published", EDTF + ": the publication date."),
        ("published_lower", "published_lower", "Earliest possible publication day."),
        ("url", "url", "Where it was published."),
        ("archived_url", "archived_url", "An archived copy."),
        ("accessed", "accessed", "When the URL was read."),
        ("language", "language", "BCP 47 language tag."),
        ("event_count", "event_count", "Number of published events citing it."),
        ("created", "created", "When the record was created (UTC)."),
        ("updated", "updated", "When the record was last changed (UTC)."),
    ],
    "captures": [
        ("id", "id", "Unique identifier of the capture."),
        ("source", "source_id", "Identifier of the source (sources.id) it is a capture of."),
        ("captured", "captured", "When the register received these bytes (UTC)."),
        ("media_type", "media_type", "What the bytes are: text/html, application/pdf …"),
        ("size", "size", "Their size in bytes."),
        ("sha256", "sha256", "Their SHA-256: a copy with the same hash is the same file."),
        ("url", "url", "The address they came from, when known."),
        ("supersedes", "supersedes_id", "The capture of the same source it replaces, if any."),
    ],
    "citations": [
        ("id", "id", "Unique identifier of the citation."),
        ("event", "event_id", "Identifier of the event (events.id)."),
        ("site", "event__site__slug", "Slug of the event's site."),
        ("source", "source_id", "Identifier of the source (sources.id)."),
        ("source_title", "source__title", "The source's title, so a sheet reads on its own."),
        ("source_publisher", "source__publisher", "The source's publisher; empty when not known."),
        ("quote", "quote", "The source's own words, verbatim; “…” marks words left out."),
        ("locator", "locator", "Where in the source: paragraph, page, minute."),
        (
            "stance",
            "stance",
            "Whether the source supports, contradicts or only mentions the event (vocabulary).",
        ),
        ("basis", "basis", "What the claim rests on (vocabulary)."),
        ("certainty", "certainty", "How certain the claim is (vocabulary)."),
        ("claimed_level", "claimed_level", "The damage level the source claims."),
        ("claimed_date", "claimed_date", EDTF + ": the date the source gives."),
        ("claimed_lower", "claimed_lower", "Earliest possible day of `claimed_date`." + OPEN_ENDED),
        ("claimed_upper", "claimed_upper", "Latest possible day of `claimed_date`." + OPEN_ENDED),
        ("note", "note", "A curator's note: what the source says, where no quote is held."),
        ("created", "created", "When the record was created (UTC)."),
        ("updated", "updated", "When the record was last changed (UTC)."),
    ],
}

VOCABULARIES = {
    "damage level": DamageLevel,
    "damage extent": DamageExtent,
    "cause": Cause,
    "event kind": EventKind,
    "verification grade": Grade,
    "publication state": State,
    "site kind": SiteKind,
    "location precision": LocationPrecision,
    "source kind": SourceKind,
    "stance": Stance,
    "basis": Basis,
    "certainty": Certainty,
}


class _Line:
    def write(self, value):
        return value


_writer = csv.writer(_Line())

# Text starting with one of these is run as a formula by spreadsheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_line(values):
    """One CSV line, each text cell that a spreadsheet would run as a formula escaped
    with a leading apostrophe (numbers, even negative ones, are left alone)."""
    return _writer.writerow(
        ["'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v for v in values]
    )


def open_bound(day):
    """An open interval end ("../2015-10-05") as None rather than year 1 or 9999."""
    return None if day in (EARLIEST, LATEST) else day


def iso_bound(day):
    """A date bound as ISO 8601 text; None when absent or open."""
    day = open_bound(day)
    return day.isoformat() if day else None


# Tables whose rows are their records' public shapes, as the API shows them.
SHAPED = {"events", "sites"}

# Timestamps: written as the API's JSON writes them ("2026-11-22T05:26:27.704000Z").
MOMENTS = {"created", "updated", "captured"}

OPEN_BOUNDS = {"date_lower", "date_upper", "claimed_lower", "claimed_upper", "published_lower"}


def header(table):
    return [column for column, _, _ in COLUMNS[table]]


def rows(queryset, table):
    """The table's rows from `queryset`, read in chunks, open interval ends as None."""
    if table in SHAPED:
        yield from shaped_rows(queryset, table)
        return
    lookups = [lookup for _, lookup, _ in COLUMNS[table]]
    bounds = [i for i, (column, _, _) in enumerate(COLUMNS[table]) if column in OPEN_BOUNDS]
    from heritage.shapes import drf_datetime

    moments = [i for i, (_, lookup, _) in enumerate(COLUMNS[table]) if lookup in MOMENTS]
    for row in queryset.prefetch_related(None).values_list(*lookups).iterator(chunk_size=2000):
        if bounds or moments:
            row = list(row)
            for i in bounds:
                row[i] = open_bound(row[i])
            for i in moments:  # as the API's JSON writes them (heritage.shapes)
                row[i] = drf_datetime(row[i])
        yield row


def shaped_rows(queryset, table, chunk=1000):
    """Rows of events or sites built from their shapes, a chunk of records at a time."""
    from heritage import shapes

    addresses = shapes.Addresses()
    ids = list(queryset.values_list("pk", flat=True))
    model = queryset.model
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        if table == "events":
            records = model.objects.filter(pk__in=part).order_by("date_lower", "id")
            found = {
                s["id"]: shapes.event_csv_shape(s) for s in shapes.event_shapes(records, addresses)
            }
        else:
            records = model.objects.filter(pk__in=part).with_record().select_related("parent")
            found = {s.pk: shapes.site_shape(s, [], addresses) for s in records}
        for pk in part:
            yield shapes.csv_row(found[pk], table)


def published_tables():
    """Each table of the public dataset: what anonymous readers of the API see."""
    return {
        "sites": Site.objects.public().with_record().order_by("slug"),
        "site_names": SiteName.objects.public()
        .filter(site__approved=True)
        .order_by("site__slug", "name"),
        "events": DamageEvent.objects.published().order_by("date_lower", "id"),
        "sources": Source.objects.public().with_event_count(published_only=True).order_by("id"),
        "captures": Capture.objects.filter(source__in=Source.objects.public()).order_by("id"),
        "citations": Citation.objects.public().order_by("id"),
    }


def data_dictionary():
    lines = [
        "# Heritage damage register: data dictionary",
        "",
        "Every table is a CSV file (UTF-8 with a byte-order mark, comma-separated, one header "
        "row); `heritage-register.json` holds the same tables. Text that a spreadsheet would "
        "run as a formula starts with an apostrophe in the CSV files. Dates are ISO 8601; "
        "times are UTC.",
        "",
    ]
    for table, columns in COLUMNS.items():
        lines += [f"## {table}.csv", "", "| column | meaning |", "|---|---|"]
        lines += [f"| `{column}` | {meaning} |" for column, _, meaning in columns]
        lines.append("")
    lines += ["## Vocabularies", ""]
    for name, choices in VOCABULARIES.items():
        lines += [f"### {name}", "", "| value | meaning |", "|---|---|"]
        lines += [f"| `{choice.value}` | {choice.label} |" for choice in choices]
        lines.append("")
    return "\n".join(lines)


def citation_cff(today):
    return "\n".join(
        [
            "cff-version: 1.2.0",
            'message: "If you use this dataset, please cite it as below."',
            "type: dataset",
            'title: "Heritage damage register"',
            "authors:",
            '  - name: "Heritage damage register curators"',
            f"date-released: {today.isoformat()}",
            f'version: "{today.isoformat()}"',
            "license: CC-BY-4.0",
            'abstract: "Damage to cultural heritage in war, each claim tied to its source and '
            'graded for how well it is established."',
            "",
        ]
    )


def write_dump(path=None, today=None):
    """Write the zip of the published register to `path` (settings.DUMP_PATH), through a
    temporary file, so that a download never meets half a file. Returns row counts."""
    path = path or settings.DUMP_PATH
    today = today or datetime.date.today()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    counts, everything = {}, {}
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table, queryset in published_tables().items():
            buffer = io.StringIO()
            buffer.write("\ufeff" + csv_line(header(table)))
            everything[table] = []
            for row in rows(queryset, table):
                buffer.write(csv_line(row))
                everything[table].append(dict(zip(header(table), row, strict=True)))
            counts[table] = len(everything[table])
            archive.writestr(f"{table}.csv", buffer.getvalue())
        archive.writestr(
            "heritage-register.json",
            json.dumps(everything, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1),
        )
        archive.writestr("data-dictionary.md", data_dictionary())
        archive.writestr("CITATION.cff", citation_cff(today))
    partial.replace(path)
    return counts
