"""Rows of a spreadsheet to the register, through the workflow as the importing user.

Rows are found by stable keys: a site by its slug, a site's name by (site, name), a
source by its key (its record key, or "#<id>" for one the register holds without a
key) or else by its URL, an event by its key, a citation by (event, source, quote),
rows with the same three matched in order. A row found is changed where its cells
differ; one not found is added; nothing is deleted.

Every row goes through heritage.workflow as `user`, as every other path does: the
model's checks (site kinds, EDTF dates, coordinates, the quote found in its source's
text, URLs, vocabularies), the workflow's rules (a change to what the public sees is
a proposal, a draft changes at once, an event in review only by an editor), and the
record's own (a point inside its country: heritage/record.py). A person's import
publishes nothing: events arrive as drafts, and changes to the published record wait
for an editor's review. A command (workflow.Command) acts for the maintainers as
load_record does: what it adds or changes is reviewed at once, and with `publish` its
events are published under the usual conditions.

All of it loads in one transaction, or none of it: every problem is named by file,
row and column. A dry run takes the same path and rolls back, so its report is what
the import would do.
"""

import dataclasses
from collections import Counter
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Q

from heritage import record, workflow
from heritage.imports.reading import ImportRefused
from heritage.imports.tables import (
    CITATIONS,
    EVENTS,
    NAMES,
    SITES,
    SOURCES,
    id_from_key,
    id_key,
)
from heritage.models import Actor, DamageEvent, PendingChange, Site, SiteName, State
from reports.evidence import store
from reports.evidence.formats import CaptureError
from reports.models import Citation, Source

# The column of each model field a message names, where they differ.
COLUMN_OF = {
    "record_key": "key",
    "parent_id": "parent",
    "site_id": "site",
    "actor_id": "actor",
    "event_id": "event",
    "source_id": "source",
}
# Problems named at most: past these, the rest are counted.
MAX_PROBLEMS = 100
# Keys looked up in one query at most (SQLite's limit on parameters is near).
CHUNK = 500


@dataclasses.dataclass
class Change:
    """A row that adds a record or changes one: which fields, and whether it waits for
    an editor's review."""

    row: object
    action: str  # "new" or "changed"
    fields: tuple
    proposed: bool = False


@dataclasses.dataclass
class Report:
    """What an import did, or would do (a dry run)."""

    files: list
    dry_run: bool
    changes: list = dataclasses.field(default_factory=list)
    unchanged: Counter = dataclasses.field(default_factory=Counter)
    published: list = dataclasses.field(default_factory=list)

    def tables(self):
        """Per table, in loading order: (name, new changes, changed changes, unchanged)."""
        names = [SITES.name, NAMES.name, SOURCES.name, EVENTS.name, CITATIONS.name]
        return [
            (
                name,
                [c for c in self.changes if c.row.table.name == name and c.action == "new"],
                [c for c in self.changes if c.row.table.name == name and c.action == "changed"],
                self.unchanged[name],
            )
            for name in names
        ]

    @property
    def proposals(self):
        return sum(change.proposed for change in self.changes)

    def summary(self):
        parts = [
            f"{name}: {len(new)} new, {len(changed)} changed, {unchanged} unchanged"
            for name, new, changed, unchanged in self.tables()
            if new or changed or unchanged
        ]
        text = "; ".join(parts) or "nothing"
        if self.proposals:
            text += f"; {self.proposals} wait for an editor's review"
        if self.published:
            text += f"; {len(self.published)} event(s) published"
        return text


def run(tables, user, *, dry_run=False, publish=False):
    """Import `tables` (reading.read's rows by table) as `user`: a Report, or
    ImportRefused naming every problem, and then nothing is changed. A dry run changes
    nothing either way."""
    loader = _Loader(tables, user, publish=publish and isinstance(user, workflow.Command))
    loader.resolve()
    if loader.problems:
        raise ImportRefused(loader.named())
    loader.report.dry_run = dry_run
    try:
        with transaction.atomic():
            loader.write(dry_run)
            if loader.problems:
                raise ImportRefused(loader.named())
            if dry_run:
                transaction.set_rollback(True)
    except DatabaseError as error:
        # The database's own checks, where a row passed ours (two imports at once).
        raise ImportRefused([f"The database refused the import, so nothing was: {error}"]) from None
    return loader.report


def _chunks(values):
    values = sorted(values, key=str)
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class _Place:
    """A site as record.outside_country reads it: a key, its data, and where it is."""

    def __init__(self, key, data, where=""):
        self.key, self.data, self.where = key, data, where

    def __str__(self):
        return self.where


class _Loader:
    def __init__(self, tables, user, publish):
        self.rows = {
            table.name: tables.get(table.name, [])
            for table in (SITES, NAMES, SOURCES, EVENTS, CITATIONS)
        }
        self.user = user
        self.command = isinstance(user, workflow.Command)
        self.publish = publish
        self.problems = []
        files = sorted({row.file for rows in self.rows.values() for row in rows})
        self.report = Report(files, dry_run=False)
        # What each row was resolved to: the stored record (None for a new one) and
        # the model values its cells give.
        self.found = {}
        self.values = {}
        # Records by key, stored or made by this import.
        self.sites, self.sources, self.events = {}, {}, {}

    def problem(self, where, text):
        self.problems.append(f"{where}: {text}")

    def named(self):
        if len(self.problems) <= MAX_PROBLEMS:
            return self.problems
        rest = len(self.problems) - MAX_PROBLEMS
        return [*self.problems[:MAX_PROBLEMS], f"… and {rest} more problem(s)."]

    def reason(self, row):
        return f"imported from {row.file}"

    # Reading what the rows name, in a few queries whatever their number

    def resolve(self):
        self._resolve_sites()
        self._resolve_names()
        self._resolve_sources()
        self._resolve_events()
        self._resolve_citations()

    def _keys(self, table, column="key"):
        """The table's rows by key, each key given once; a problem for each repeat."""
        by_key = {}
        for row in self.rows[table.name]:
            key = row.data[column]
            if not key:
                self.problem(row.at(column), f"empty: each row of {table} has its {column}.")
            elif key in by_key:
                self.problem(
                    row.at(column),
                    f"“{key}” is given again (first in row {by_key[key].number}): one row each.",
                )
            else:
                by_key[key] = row
        return by_key

    def _resolve_sites(self):
        rows = self._keys(SITES, "slug")
        self.site_rows = rows
        named = set(rows)
        named |= {row.data["parent"] for row in self.rows[SITES.name] if row.data["parent"]}
        named |= {row.data["site"] for row in self.rows[NAMES.name] + self.rows[EVENTS.name]}
        for chunk in _chunks(named - {""}):
            self.sites.update({site.slug: site for site in Site.objects.filter(slug__in=chunk)})
        for row in rows.values():
            self.found[id(row)] = self.sites.get(row.key)
            self.values[id(row)] = self._site_values(row)
        places = self._places()
        for row in rows.values():
            values = self.values[id(row)]
            parent = row.data["parent"]
            if parent and parent not in rows and parent not in self.sites:
                self.problem(row.at("parent"), f"no site “{parent}” in the file or the register.")
            if values is None:
                continue
            data = places[row.key].data | {
                "latitude": values["latitude"],
                "longitude": values["longitude"],
            }
            checked = _Place(row.key, data, f"{row.at()}, columns latitude and longitude")
            for problem in record.outside_country(checked, places):
                self.problems.append(problem)

    def _site_values(self, row):
        data = row.data
        values = {}
        for column in ("latitude", "longitude"):
            values[column] = self._number(row, column)
        if values["latitude"] is False or values["longitude"] is False:
            return None
        values |= {f: record.field_value(f, data[f]) for f in record.SITE_FIELDS if f not in values}
        values["sensitive"] = self._flag(row, "sensitive")
        return values

    def _number(self, row, column):
        text = row.data[column]
        if not text:
            return None
        try:
            number = Decimal(text)
            if number.is_finite():
                return record.field_value(column, number)
        except InvalidOperation:
            pass
        self.problem(
            row.at(column),
            f"“{text[:40]}” is not a number: WGS84 decimal degrees, such as 34.5514.",
        )
        return False

    def _flag(self, row, column):
        text = row.data[column].lower()
        if text in ("", "false", "no", "0"):
            return False
        if text in ("true", "yes", "1"):
            return True
        self.problem(row.at(column), f"“{row.data[column][:40]}” is not true or false.")
        return False

    def _places(self):
        """Every site the file's sites lie in, as record.outside_country reads them: the
        file's rows, the register's sites above them, and each country's bounds from the
        record's country files (syria.json, iraq.json)."""
        countries = [path for path in record.files() if "-" not in path.stem]
        bounds = {
            row.key: row.data["bounds"]
            for row in record.read(countries).sites
            if row.data.get("bounds")
        }
        places = {}
        wanted = {row.data["parent"] for row in self.site_rows.values()} - set(self.site_rows)
        stored = [self.sites[slug] for slug in wanted if slug in self.sites]
        slugs = {site.pk: site.slug for site in stored}
        for _ in range(20):  # the depth of any real chain of places, and more
            above = {site.parent_id for site in stored if site.parent_id} - set(slugs)
            for site in stored:
                places[site.slug] = {
                    "kind": site.kind,
                    "name": site.name,
                    "parent_id": site.parent_id,
                }
            if not above:
                break
            stored = list(Site.objects.filter(pk__in=above).only("slug", "kind", "name", "parent"))
            slugs |= {site.pk: site.slug for site in stored}
        for data in places.values():
            data["parent"] = slugs.get(data.pop("parent_id"))
        for slug, row in self.site_rows.items():
            places[slug] = {
                "kind": row.data["kind"],
                "name": row.data["name"],
                "parent": row.data["parent"],
            }
        for slug, data in places.items():
            if slug in bounds:
                data["bounds"] = bounds[slug]
        return {slug: _Place(slug, data) for slug, data in places.items()}

    def _resolve_names(self):
        seen = {}
        for row in self.rows[NAMES.name]:
            site, name = row.data["site"], row.data["name"]
            if not site:
                self.problem(row.at("site"), "empty: each name is a site's, given by its slug.")
            elif site not in self.site_rows and site not in self.sites:
                self.problem(row.at("site"), f"no site “{site}” in the file or the register.")
            if not name.strip():
                self.problem(row.at("name"), "empty: the name is missing.")
            elif (site, name) in seen:
                self.problem(
                    row.at("name"),
                    f"“{name}” is given again for {site} (first in row {seen[site, name].number}).",
                )
            seen[site, name] = row
        stored = [s.pk for s in self.sites.values()]
        self.names = {}
        for chunk in _chunks(stored):
            for name in SiteName.objects.filter(site__in=chunk):
                self.names[name.site_id, name.name] = name

    def _stored_sources(self, keys, urls=()):
        """The register's sources these keys ("#<id>" or a record key) or URLs name."""
        keys = set(keys)
        record_keys = [k for k in keys if id_from_key(k) is None]
        ids = [id_from_key(k) for k in keys if id_from_key(k) is not None]
        found = {}
        for chunk_keys, chunk_ids, chunk_urls in _zip_chunks(record_keys, ids, urls):
            query = Q(record_key__in=chunk_keys) | Q(pk__in=chunk_ids) | Q(url__in=chunk_urls)
            found.update({source.pk: source for source in Source.objects.filter(query)})
        return found

    def _stored_events(self, keys):
        keys = set(keys)
        record_keys = [k for k in keys if id_from_key(k) is None]
        ids = [id_from_key(k) for k in keys if id_from_key(k) is not None]
        found = {}
        for chunk_keys, chunk_ids, _ in _zip_chunks(record_keys, ids, ()):
            query = Q(record_key__in=chunk_keys) | Q(pk__in=chunk_ids)
            found.update({event.pk: event for event in DamageEvent.objects.filter(query)})
        return found

    def _resolve_sources(self):
        rows = self._keys(SOURCES)
        self.source_rows = rows
        # The sources the file's rows and its citations name, in one query.
        cited = {row.data["source"] for row in self.rows[CITATIONS.name]} - {""}
        urls = {row.data["url"] for row in rows.values()} - {""}
        stored = self._stored_sources(set(rows) | cited, urls)
        by_key = {s.record_key: s for s in stored.values() if s.record_key}
        by_url = {s.url: s for s in stored.values() if s.url}
        for key in cited - set(rows):
            self.sources[key] = _by_key(key, stored, by_key)
        urls_seen, taken = {}, {}
        for key, row in rows.items():
            url = row.data["url"]
            source = _by_key(key, stored, by_key)
            if id_from_key(key) is not None and source is None:
                self.problem(
                    row.at("key"),
                    f"no source {key} in the register (a new "
                    "source's key is a slug of your own, such as sana-2015-08-23).",
                )
                continue
            held = by_url.get(url) if url else None
            if source is None and held is not None and not held.record_key:
                source = held  # made in the admin without a key, found by its URL
            if url and url in urls_seen:
                self.problem(
                    row.at("url"),
                    f"the URL of row {urls_seen[url].number} too: one source, given once.",
                )
            urls_seen.setdefault(url, row)
            if held is not None and held != source:
                self.problem(
                    row.at("url"),
                    f"another source of the register has this URL: "
                    f"“{held}” (key {held.record_key or id_key(held.pk)}).",
                )
            if source is not None and source.pk in taken:
                self.problem(row.at("key"), f"the same source as row {taken[source.pk].number}.")
            if source is not None:
                taken[source.pk] = row
            self.found[id(row)] = source
            self.values[id(row)] = {f: row.data[f] for f in record.SOURCE_FIELDS}
            self.sources[key] = source

    def _resolve_events(self):
        rows = self._keys(EVENTS)
        self.event_rows = rows
        cited = {row.data["event"] for row in self.rows[CITATIONS.name]} - {""}
        stored = self._stored_events(set(rows) | cited)
        by_key = {e.record_key: e for e in stored.values() if e.record_key}
        for key in cited - set(rows):
            self.events[key] = _by_key(key, stored, by_key)
        actors = {row.data["actor"] for row in rows.values()} - {""}
        self.actors = {}
        for chunk in _chunks(actors):
            self.actors.update({a.name: a for a in Actor.objects.filter(name__in=chunk)})
        for key, row in rows.items():
            event = _by_key(key, stored, by_key)
            if id_from_key(key) is not None and event is None:
                self.problem(
                    row.at("key"),
                    f"no event {key} in the register (a new event's "
                    "key is a slug of your own, such as palmyra-bel-2015-08).",
                )
                continue
            site, actor = row.data["site"], row.data["actor"]
            if not site:
                self.problem(row.at("site"), "empty: each event is a site's, given by its slug.")
            elif site not in self.site_rows and site not in self.sites:
                self.problem(row.at("site"), f"no site “{site}” in the file or the register.")
            if actor and actor not in self.actors:
                self.problem(
                    row.at("actor"),
                    f"no actor “{actor}” in the register: add it in "
                    "the admin first, or leave the cell empty when not known.",
                )
            self.found[id(row)] = event
            self.values[id(row)] = {
                f: row.data[f] or record.EVENT_DEFAULTS.get(f, "") for f in record.EVENT_FIELDS
            }
            self.events[key] = event

    def _resolve_citations(self):
        stored_events = [e.pk for e in self.events.values() if e is not None]
        self.citations = {}
        for chunk in _chunks(stored_events):
            for citation in Citation.objects.filter(event__in=chunk).order_by("pk"):
                match = (citation.event_id, citation.source_id, citation.quote)
                self.citations.setdefault(match, []).append(citation)
        for row in self.rows[CITATIONS.name]:
            event, source = row.data["event"], row.data["source"]
            if event not in self.event_rows and self.events.get(event) is None:
                self.problem(row.at("event"), f"no event “{event}” in the file or the register.")
            if source not in self.source_rows and self.sources.get(source) is None:
                self.problem(row.at("source"), f"no source “{source}” in the file or the register.")
            values = {f: row.data[f] for f in record.CITATION_FIELDS}
            values["stance"] = values["stance"] or "supports"
            values["basis"] = values["basis"] or "report"
            self.values[id(row)] = values

    # Writing, through the workflow

    def write(self, dry_run):
        self.dry_run = dry_run
        for row in record.parents_first(list(self.site_rows.values())):
            self._site(row)
        for row in self.rows[NAMES.name]:
            self._name(row)
        for row in self.source_rows.values():
            self._source(row)
        for row in self.event_rows.values():
            self._event(row)
        taken = Counter()
        for row in self.rows[CITATIONS.name]:
            self._citation(row, taken)
        if self.publish:
            for row in self.event_rows.values():
                self._publish(row)

    def _save(self, row, record_, values, exclude=()):
        """Set `values` on `record_` (stored, or new when not yet saved) and save it
        through the workflow if any differs: the record as stored after, or None if
        refused (and named)."""
        adding = record_.pk is None
        changed = [
            name for name, value in values.items() if adding or getattr(record_, name) != value
        ]
        table = row.table.name
        if not changed:
            self.report.unchanged[table] += 1
            return record_
        if not adding and not self.command and self._already_proposed(record_, values, changed):
            self.report.unchanged[table] += 1
            return record_
        for name in changed:
            setattr(record_, name, values[name])
        try:
            with transaction.atomic():
                record_.full_clean(exclude=exclude)
                outcome = workflow.save(record_, self.user, self.reason(row))
                if outcome.pending and self.command:
                    workflow.approve(outcome.proposal, self.user, self.reason(row))
        except ValidationError as error:  # workflow.Refused among them
            self._refused(row, error)
            return None
        columns = tuple(COLUMN_OF.get(name, name) for name in changed)
        proposed = outcome.pending and not self.command
        self.report.changes.append(Change(row, "new" if adding else "changed", columns, proposed))
        return outcome.record

    def _already_proposed(self, record_, values, changed):
        """Whether what the row changes waits in a proposal already (an import made
        twice by a curator proposes it once)."""
        proposal = workflow.pending_for([record_]).get((type(record_), record_.pk))
        if proposal is None or proposal.action != PendingChange.Action.CHANGE:
            return False
        proposed = proposal.proposed_values()
        fields = {name: record_._meta.get_field(name).name for name in changed}
        return all(
            name in proposed and proposed[name] == values[attname]
            for attname, name in fields.items()
        )

    def _refused(self, row, error):
        if not hasattr(error, "error_dict"):
            self.problem(row.at(), " ".join(error.messages))
            return
        for field, messages in error.message_dict.items():
            column = COLUMN_OF.get(field, field)
            where = row.at(column) if column in row.table.columns else row.at()
            self.problem(where, " ".join(messages))

    def _site(self, row):
        values = dict(self.values[id(row)])
        parent = row.data["parent"]
        if parent and (parent in self.site_rows) and self.sites.get(parent) is None:
            return  # its parent's row was refused, and is named
        values["parent_id"] = self.sites[parent].pk if parent else None
        site = self.found[id(row)] or Site(slug=row.key)
        saved = self._save(row, site, values, exclude=["parent"])
        self.sites[row.key] = saved

    def _name(self, row):
        site = self.sites.get(row.data["site"])
        if site is None:
            return  # its site's row was refused, and is named
        name = self.names.get((site.pk, row.data["name"])) or SiteName(
            site=site, name=row.data["name"]
        )
        self._save(row, name, {"language": row.data["language"]}, exclude=["site"])

    def _source(self, row):
        source = self.found[id(row)] or Source(record_key=row.key)
        before = source.text if source.pk else ""
        saved = self._save(row, source, self.values[id(row)])
        self.sources[row.key] = saved
        # A new text is kept as a capture, as the record's loader keeps it; a proposed one
        # (the stored text unchanged) once an editor approves it.
        if saved is None or not saved.text or saved.text == before:
            return
        try:
            if self.dry_run:
                store.read(saved.text.encode(), row.file)
            else:
                store.take(
                    saved, saved.text.encode(), method="import", name=row.file[:255], user=self.user
                )
        except CaptureError as error:
            self.problem(row.at("text"), f"cannot be kept as a capture: {error}")

    def _event(self, row):
        site = self.sites.get(row.data["site"])
        actor = self.actors.get(row.data["actor"]) if row.data["actor"] else None
        if site is None:
            return  # its site's row was refused, and is named
        values = self.values[id(row)] | {"site_id": site.pk, "actor_id": actor and actor.pk}
        event = self.found[id(row)] or DamageEvent(record_key=row.key)
        self.events[row.key] = self._save(row, event, values, exclude=["site", "actor"])

    def _citation(self, row, taken):
        event = self.events.get(row.data["event"])
        source = self.sources.get(row.data["source"])
        if event is None or source is None:
            return  # its event's or source's row was refused, and is named
        values = self.values[id(row)]
        match = (event.pk, source.pk, values["quote"])
        stored = self.citations.get(match, [])
        nth = taken[match]
        taken[match] += 1
        citation = stored[nth] if nth < len(stored) else Citation(event=event)
        citation.source = source  # the source as this import left it: its quote is read there
        values = values | {"event_id": event.pk, "source_id": source.pk}
        self._save(row, citation, values, exclude=["event", "source"])

    def _publish(self, row):
        event = self.events.get(row.key)
        if event is None or event.state == State.PUBLISHED:
            return
        try:
            workflow.transition(event, State.PUBLISHED, self.user, self.reason(row))
        except workflow.Refused as error:
            self.problem(row.at(), "not published: " + " ".join(error.messages))
            return
        self.report.published.append(row)


def _by_key(key, stored, by_record_key):
    """The stored record a key names: "#<id>" one without a key of its own, else the
    one with that record key; None for a new one."""
    pk = id_from_key(key)
    if pk is None:
        return by_record_key.get(key)
    found = stored.get(pk)
    return found if found is not None and not found.record_key else None


def _zip_chunks(keys, ids, urls):
    """The three lists in chunks, side by side: a query each, however many rows."""
    keys, ids, urls = list(keys), list(ids), sorted(urls)
    longest = max(len(keys), len(ids), len(urls))
    for start in range(0, longest, CHUNK):
        yield (
            keys[start : start + CHUNK],
            ids[start : start + CHUNK],
            urls[start : start + CHUNK],
        )
