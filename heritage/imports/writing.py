"""The register to spreadsheet files, in the columns the import reads (tables.py): an
XLSX workbook with a sheet per table, or a CSV file per table (in a folder or a zip).
Importing an export unchanged changes nothing; edit it, and importing it again changes
what was edited.

Every record is written, drafts and records waiting for review included, with exact
points: an export is for staff, as the import is. Text a spreadsheet would run as a
formula is written with a leading apostrophe, which the import reads as text; in a
workbook, a character XML cannot hold (a carriage return) is written as Excel writes it
(_x000D_)."""

import csv
import io
import re
import zipfile

from heritage.dataset import FORMULA_PREFIXES
from heritage.imports.tables import CITATIONS, EVENTS, NAMES, SITES, SOURCES, TABLES, id_key
from heritage.models import DamageEvent, Site, SiteName
from heritage.record import CITATION_FIELDS, EVENT_FIELDS, SITE_FIELDS, SOURCE_FIELDS
from reports.models import Citation, Source

# What XML 1.0 cannot hold, and a carriage return (which XML reads as a line feed); and
# a literal "_xHHHH_", which would otherwise read as one of those (reading.XSTRING).
NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0d\x0e-\x1f]|_(?=x[0-9A-Fa-f]{4}_)")


def rows(table):
    """The table's rows, each a list of values in its columns' order."""
    columns = table.columns
    for values in _RECORDS[table.name]():
        yield [values[column] for column in columns]


def _sites():
    parents = dict(Site.objects.values_list("pk", "slug"))
    for site in Site.objects.order_by("pk"):
        values = {field: getattr(site, field) for field in SITE_FIELDS}
        values |= {"slug": site.slug, "parent": parents.get(site.parent_id, ""),
                   "sensitive": site.sensitive}  # fmt: skip
        yield values


def _names():
    names = SiteName.objects.order_by("pk").values("site__slug", "name", "language")
    for name in names:
        yield {"site": name["site__slug"], "name": name["name"], "language": name["language"]}


def _sources():
    for source in Source.objects.order_by("pk").values("pk", "record_key", *SOURCE_FIELDS):
        source["key"] = source["record_key"] or id_key(source["pk"])
        yield source


def _events():
    events = DamageEvent.objects.order_by("pk").values(
        "pk", "record_key", "site__slug", "actor__name", *EVENT_FIELDS
    )
    for event in events:
        event["key"] = event["record_key"] or id_key(event["pk"])
        event["site"], event["actor"] = event["site__slug"], event["actor__name"] or ""
        yield event


def _citations():
    citations = Citation.objects.order_by("event", "pk").values(
        "event_id", "event__record_key", "source_id", "source__record_key", *CITATION_FIELDS
    )
    for citation in citations:
        citation["event"] = citation["event__record_key"] or id_key(citation["event_id"])
        citation["source"] = citation["source__record_key"] or id_key(citation["source_id"])
        yield citation


_RECORDS = {SITES.name: _sites, NAMES.name: _names, SOURCES.name: _sources,
            EVENTS.name: _events, CITATIONS.name: _citations}  # fmt: skip


def as_text(value):
    """A text cell as the import reads it back: a formula-like text marked with an
    apostrophe (reading._text takes it off)."""
    if value.lstrip("'").startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return as_text(value) if isinstance(value, str) else str(value)


def _xlsx_value(value):
    if isinstance(value, str):
        return NOT_IN_XML.sub(lambda m: f"_x{ord(m[0]):04X}_", as_text(value))
    return value


def write_csv(table, stream):
    """The table as CSV, in UTF-8 with a byte-order mark (so that Excel reads Arabic
    right), to a binary `stream`."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(table.columns)
    for values in rows(table):
        writer.writerow([_csv_value(value) for value in values])
    text.detach()


def write_csv_folder(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for table in TABLES.values():
        with open(folder / f"{table.name}.csv", "wb") as stream:
            write_csv(table, stream)


def write_zip(stream):
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in TABLES.values():
            with archive.open(f"{table.name}.csv", "w") as member:
                write_csv(table, member)


def write_workbook(stream):
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    for table in TABLES.values():
        sheet = workbook.create_sheet(table.name)
        sheet.append(list(table.columns))
        for values in rows(table):
            sheet.append([_xlsx_value(value) for value in values])
    workbook.save(stream)
