"""The tables of a spreadsheet of the register, in the order they are loaded, with their
columns: the one list the import reads and the export writes. The fields are the
record files' (heritage/record.py), so a spreadsheet row says what a record file's row
says."""

import dataclasses

from heritage.record import CITATION_FIELDS, EVENT_FIELDS, SITE_FIELDS, SOURCE_FIELDS


@dataclasses.dataclass(frozen=True)
class Table:
    name: str
    columns: tuple
    # Columns whose surrounding spaces mean nothing (keys, references, vocabularies,
    # dates, numbers, addresses, language tags): stripped. Free text is read verbatim,
    # so that an exported text comes back unchanged.
    codes: frozenset = frozenset()
    numbers: frozenset = frozenset()
    flags: frozenset = frozenset()
    # EDTF dates: a spreadsheet's own date cell in one is read as its day.
    dates: frozenset = frozenset()

    def __str__(self):
        return self.name


SITES = Table(
    "sites",
    ("slug", *SITE_FIELDS, "parent", "sensitive"),
    codes=frozenset(
        {
            "slug",
            "kind",
            "parent",
            "latitude",
            "longitude",
            "location_precision",
            "unesco_ref",
            "wikidata",
            "pleiades",
            "sensitive",
        }
    ),  # fmt: skip
    numbers=frozenset({"latitude", "longitude"}),
    flags=frozenset({"sensitive"}),
)
NAMES = Table("names", ("site", "name", "language"), codes=frozenset({"site", "language"}))
SOURCES = Table(
    "sources",
    ("key", *SOURCE_FIELDS),
    codes=frozenset({"key", "kind", "published", "url", "archived_url", "language"}),
    dates=frozenset({"published"}),
)
EVENTS = Table(
    "events",
    ("key", "site", *EVENT_FIELDS, "actor"),
    codes=frozenset(
        {"key", "site", "kind", "date", "level", "extent", "cause", "condition_after", "actor"}
    ),  # fmt: skip
    dates=frozenset({"date"}),
)
CITATIONS = Table(
    "citations",
    ("event", "source", *CITATION_FIELDS),
    codes=frozenset(
        {"event", "source", "stance", "basis", "certainty", "claimed_level", "claimed_date"}
    ),  # fmt: skip
    dates=frozenset({"claimed_date"}),
)

TABLES = {table.name: table for table in (SITES, NAMES, SOURCES, EVENTS, CITATIONS)}

# A record the register holds without a key (made in the admin) is exported under "#"
# and its id, which no key can be (keys are slugs): the import finds it by that id.
ID_MARK = "#"


def id_key(pk):
    return f"{ID_MARK}{pk}"


def id_from_key(key):
    """The id an "#<id>" key names, or None for a key of the record's own."""
    digits = key[1:] if key.startswith(ID_MARK) else ""
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 19 else None
