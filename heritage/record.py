"""The register's record: the files of fixtures/record/, read, checked and loaded.

One file per place, and one per country holding its governorates and the actors that
several places share; they are read together, so a file may name what another
defines. Everything is checked before anything is written, and loaded in one
transaction: a row that breaks a rule is named (file, section, key) and nothing is
loaded. Loading goes through the workflow as a command (workflow.Command): each site,
name, actor and source reviewed, each event drafted with its citations and then
published, under the conditions a curator's work meets. Loading the same files again
changes nothing; a row changed in a file changes its record, with the file named as
the reason in its history. docs/data.md says how the files are written.
"""

import dataclasses
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from heritage import workflow
from heritage.models import Actor, DamageEvent, Site, SiteKind, SiteName, State
from reports.models import Citation, Source

RECORD_DIR = Path(settings.BASE_DIR) / "fixtures" / "record"

SITE_FIELDS = ["name", "kind", "latitude", "longitude", "location_precision", "description",
               "built", "unesco_ref", "wikidata", "pleiades"]  # fmt: skip
SOURCE_FIELDS = ["kind", "title", "publisher", "authors", "published", "url", "archived_url",
                 "language", "note", "text"]  # fmt: skip
EVENT_FIELDS = ["kind", "summary", "date", "level", "extent", "cause", "condition_after",
                "description"]  # fmt: skip
CITATION_FIELDS = ["quote", "locator", "stance", "basis", "certainty", "claimed_level",
                   "claimed_date", "note"]  # fmt: skip
# What a row may leave out: the models' own defaults.
EVENT_DEFAULTS = {"kind": "damage", "level": "unknown", "extent": "unknown", "cause": "unknown"}
# Identifiers that the models keep as null when not known.
NULLABLE = {"wikidata", "pleiades"}


class RecordError(Exception):
    """The record cannot be loaded; `problems` names each row at fault."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclasses.dataclass
class Row:
    file: str
    section: str
    index: int
    data: dict

    @property
    def key(self):
        return self.data.get("slug") or self.data.get("key") or ""

    def __str__(self):
        return f"{self.file}, {self.section}[{self.index}] ({self.key or 'no key'})"


@dataclasses.dataclass
class Record:
    actors: list
    sites: list
    sources: list
    events: list

    def by_key(self, section):
        return {row.key: row for row in getattr(self, section)}


def files(places=None):
    """The record's files, or those of `places` (file names without .json) and the
    country files they rest on."""
    paths = sorted(RECORD_DIR.glob("*.json"))
    if places:
        wanted = set(places) | {place.split("-")[0] for place in places}
        paths = [p for p in paths if p.stem in wanted]
        missing = set(places) - {p.stem for p in paths}
        if missing:
            raise RecordError([f"No record file for {', '.join(sorted(missing))}."])
    return paths


def read(paths):
    """The rows of these files, or RecordError naming a file that is not a record."""
    record, problems = Record([], [], [], []), []
    for path in paths:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            problems.append(f"{path.name}: not a JSON record file ({error}).")
            continue
        if not isinstance(data, dict):
            problems.append(f"{path.name}: a record file is a JSON object.")
            continue
        for section in ("actors", "sites", "sources", "events"):
            rows = data.get(section, [])
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                problems.append(f"{path.name}: “{section}” is a list of objects.")
                continue
            getattr(record, section).extend(
                Row(path.name, section, n, row) for n, row in enumerate(rows)
            )
    if problems:
        raise RecordError(problems)
    return record


def check(record):
    """Problems the rows have among themselves, before the database is asked: keys
    defined twice, names of what no file defines, points outside their country, events
    without support."""
    problems = []
    for section in ("actors", "sites", "sources", "events"):
        seen = {}
        for row in getattr(record, section):
            if not row.key:
                problems.append(f"{row}: has no key.")
            elif row.key in seen:
                problems.append(f"{row}: “{row.key}” is defined again (first in {seen[row.key]}).")
            else:
                seen[row.key] = row
    urls = {}
    for row in record.sources:
        url = row.data.get("url")
        if url and url in urls:
            problems.append(f"{row}: its URL is that of {urls[url]}: one source, defined once.")
        urls.setdefault(url, row)
    sites, actors = record.by_key("sites"), record.by_key("actors")
    sources = record.by_key("sources")
    known_sites = sites.keys() | set(Site.objects.values_list("slug", flat=True))
    for row in record.sites:
        parent = row.data.get("parent")
        if parent and parent not in known_sites:
            problems.append(f"{row}: its parent “{parent}” is defined in no file.")
        problems += outside_country(row, sites)
    for row in record.events:
        data = row.data
        if data.get("site") not in known_sites:
            problems.append(f"{row}: its site “{data.get('site')}” is defined in no file.")
        if data.get("actor") and data["actor"] not in actors:
            problems.append(f"{row}: its actor “{data['actor']}” is defined in no file.")
        citations = data.get("citations") or []
        for n, citation in enumerate(citations):
            if citation.get("source") not in sources:
                problems.append(
                    f"{row}, citation {n}: its source “{citation.get('source')}” is defined "
                    "in no file."
                )
        if not any(c.get("stance", "supports") == "supports" for c in citations):
            problems.append(f"{row}: no citation supports it, so it cannot be published.")
    return problems


def outside_country(row, sites):
    """Whether the row's point lies outside the bounds its country's row gives."""
    latitude, longitude = row.data.get("latitude"), row.data.get("longitude")
    if latitude is None and longitude is None:
        return []
    if latitude is None or longitude is None:
        return [f"{row}: give both latitude and longitude, or neither."]
    country, seen = row, set()
    while country and country.data.get("kind") != SiteKind.COUNTRY and country.key not in seen:
        seen.add(country.key)
        country = sites.get(country.data.get("parent"))
    bounds = country.data.get("bounds") if country else None
    if not bounds:
        return []
    south, west, north, east = bounds
    if not (south <= latitude <= north and west <= longitude <= east):
        return [
            f"{row}: its point ({latitude}, {longitude}) lies outside "
            f"{country.data['name']} ({south}–{north} N, {west}–{east} E)."
        ]
    return []


def load(record, name="load_record"):
    """Load `record` (checked first) through the workflow as the command `name`; a
    Counter of what was added, changed and left as it was. RecordError if any row is
    refused, and then nothing is loaded."""
    problems = check(record)
    if problems:
        raise RecordError(problems)
    loader = _Loader(workflow.Command(name))
    with transaction.atomic():
        for row in record.actors:
            loader.actor(row)
        for row in parents_first(record.sites):
            loader.site(row)
        for row in record.sources:
            loader.source(row)
        for row in record.events:
            loader.event(row)
        if loader.problems:
            raise RecordError(loader.problems)
    return loader.counts


def parents_first(rows):
    by_key, done, ordered = {row.key: row for row in rows}, set(), []

    def visit(row, path=()):
        if row.key in done or row.key in path:
            return
        parent = by_key.get(row.data.get("parent"))
        if parent:
            visit(parent, (*path, row.key))
        done.add(row.key)
        ordered.append(row)

    for row in rows:
        visit(row)
    return ordered


class _Loader:
    def __init__(self, user):
        self.user = user
        self.counts = Counter()
        self.problems = []
        self.actors, self.sites, self.sources = {}, {}, {}

    def reason(self, row):
        return f"From the record file {row.file}"

    def save(self, row, record, what):
        """Save `record` as reviewed, through the workflow; False if refused."""
        try:
            record.full_clean(validate_unique=False, validate_constraints=False)
            outcome = workflow.save(record, self.user, self.reason(row))
            if outcome.pending:
                workflow.approve(outcome.proposal, self.user, self.reason(row))
        except ValidationError as error:
            self.problems.append(f"{row}: {_messages(error)}")
            return False
        except workflow.Refused as error:
            self.problems.append(f"{row}: {' '.join(error.messages)}")
            return False
        self.counts[what] += 1
        return True

    def update(self, row, record, values, what):
        """Set `values` on a stored `record`; saved only if one differs."""
        changed = {k: v for k, v in values.items() if getattr(record, k) != v}
        if not changed:
            self.counts[f"{what} unchanged"] += 1
            return record
        for key, value in changed.items():
            setattr(record, key, value)
        self.save(row, record, f"{what} changed")
        record.refresh_from_db()
        return record

    def actor(self, row):
        data = row.data
        values = {"name": data.get("name", ""), "description": data.get("description", "")}
        actor = Actor.objects.filter(name=values["name"]).first()
        if actor is None:
            actor = Actor(**values)
            self.save(row, actor, "actors added")
        else:
            self.update(row, actor, values, "actors")
        self.actors[row.key] = actor

    def site(self, row):
        data = row.data
        values = {f: field_value(f, data.get(f)) for f in SITE_FIELDS}
        values["parent"] = self.sites.get(data.get("parent")) or (
            Site.objects.filter(slug=data["parent"]).first() if data.get("parent") else None
        )
        site = Site.objects.filter(slug=row.key).first()
        if site is None:
            site = Site(slug=row.key, **values)
            if not self.save(row, site, "sites added"):
                return
        else:
            site = self.update(row, site, values, "sites")
        self.sites[row.key] = site
        known = set(site.names.values_list("name", flat=True))
        for n, name in enumerate(data.get("names") or []):
            if name.get("name") and name["name"] not in known:
                named = Row(row.file, f"{row.section}[{row.index}].names", n, name)
                self.save(named, SiteName(site=site, **name), "site names added")

    def source(self, row):
        data = row.data
        values = {f: data.get(f) or "" for f in SOURCE_FIELDS}
        source = Source.objects.filter(record_key=row.key).first()
        if source is None and values["url"]:
            source = Source.objects.filter(url=values["url"]).first()
        if source is None:
            source = Source(record_key=row.key, **values)
            if not self.save(row, source, "sources added"):
                return
        else:
            source = self.update(row, source, values, "sources")
        self.sources[row.key] = source
        if source.text:
            # The text as the record's file gives it: its capture (the same text again
            # is the capture already held, so loading twice adds none).
            from reports.evidence import store
            from reports.evidence.formats import CaptureError

            try:
                store.take(
                    source, source.text.encode(), method="import", name=str(row.file)[:255],
                    user=self.user,
                )  # fmt: skip
            except CaptureError as error:
                self.problems.append(f"{row}: its text cannot be kept as a capture: {error}")

    def event(self, row):
        data = row.data
        site = self.sites.get(data["site"]) or Site.objects.filter(slug=data["site"]).first()
        if site is None:  # refused above; named there
            return
        values = {f: data.get(f) or EVENT_DEFAULTS.get(f, "") for f in EVENT_FIELDS}
        values["site"] = site
        values["actor"] = self.actors.get(data.get("actor")) if data.get("actor") else None
        event = DamageEvent.objects.filter(record_key=row.key).first()
        if event is None:
            event = DamageEvent(record_key=row.key, **values)
            if not self.save(row, event, "events added"):
                return
        else:
            event = self.update(row, event, values, "events")
        stored = {(c.source_id, c.quote): c for c in event.citations.all()}
        for n, data in enumerate(row.data.get("citations") or []):
            cited = Row(row.file, f"{row.section}[{row.index}].citations", n, data)
            source = self.sources.get(data["source"])
            if source is None:
                continue
            values = {f: data.get(f) or "" for f in CITATION_FIELDS}
            values["stance"] = values["stance"] or "supports"
            values["basis"] = values["basis"] or "report"
            citation = stored.get((source.pk, values["quote"]))
            if citation is None:
                self.save(cited, Citation(event=event, source=source, **values), "citations added")
            else:
                self.update(cited, citation, values, "citations")
        event.refresh_from_db()
        if event.state != State.PUBLISHED:
            try:
                workflow.transition(event, State.PUBLISHED, self.user, self.reason(row))
                self.counts["events published"] += 1
            except workflow.Refused as error:
                self.problems.append(f"{row}: {' '.join(error.messages)}")


def field_value(field, value):
    if field in NULLABLE:
        return value or None
    if field in ("latitude", "longitude"):
        return None if value is None else Decimal(str(value)).quantize(Decimal("0.00001"))
    return "" if value is None else value


def _messages(error):
    if hasattr(error, "message_dict"):
        return "; ".join(f"{field}: {' '.join(m)}" for field, m in error.message_dict.items())
    return " ".join(error.messages)
