"""Numbered releases of the published register (`manage.py release`, /data/).

A release is the dump's files frozen under a number, `YYYY.N` (the year it was made and
its place in that year: 2026.1, 2026.2, …), dated, with what changed since the release
before it (CHANGELOG.md, and changes.json for programs), a CITATION.cff that names it,
and the SHA-256 of every file it holds (SHA256SUMS). Releases live in RELEASES_DIR as
`heritage-register-<version>.zip`, next to their index, releases.json: the index is
what makes a file a release, so the folder can be copied or moved whole, and a file it
does not name (the trace of a release interrupted between its last two steps) is never
served and is replaced by the next release.
"""

import datetime
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from heritage import dataset
from heritage.models import PublicStamp

INDEX = "releases.json"
SUMS = "SHA256SUMS"
DATA_FILE = "heritage-register.json"
VERSION = re.compile(r"^(\d{4})\.([1-9]\d*)$")

# How the rows of each table are told apart from one release to the next.
KEYS = {
    "sites": ("slug",),
    "site_names": ("site", "name", "language"),
    "events": ("id",),
    "sources": ("id",),
    "captures": ("id",),
    "citations": ("id",),
}
# Not compared: when a row was saved, and what a site or a source counts of other rows
# (a new event would otherwise "change" its site, and every source it cites, too).
NOT_COMPARED = {"created", "updated", "condition", "event_count", "last_event"}
# The tables the changelog lists row by row; the others it counts.
LISTED = ("events", "citations", "sites", "sources")
KINDS = ("added", "changed", "withdrawn")
SINGULAR = {
    "sites": "site",
    "site_names": "site name",
    "events": "event",
    "sources": "source",
    "captures": "capture",
    "citations": "citation",
}


class ReleaseError(Exception):
    """A release that cannot be made; the message says why. Nothing was written."""


class NothingChanged(ReleaseError):
    """The published register is as the latest release holds it."""


def file_name(version):
    return f"heritage-register-{version}.zip"


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def citation_cff(version, date):
    """The dataset's CITATION.cff (heritage.dataset) naming release `version`."""
    text = dataset.citation_cff(date)
    line = f'version: "{version}"'
    if re.search(r"^version:", text, flags=re.MULTILINE):
        return re.sub(r"^version:.*$", line, text, count=1, flags=re.MULTILINE)
    return text.rstrip("\n") + f"\n{line}\n"


@dataclass(frozen=True)
class Release:
    """One release, as its index entry records it."""

    version: str
    date: datetime.date
    created: str
    size: int
    sha256: str
    counts: dict
    # {table: {"added": n, "changed": n, "withdrawn": n}} since `previous`.
    changes: dict
    previous: str | None = None
    forced: bool = False
    public_version: int = 0

    def __str__(self):
        return f"Release {self.version} of {self.date.isoformat()}"

    @property
    def file(self):
        return file_name(self.version)

    @property
    def path(self):
        return Path(settings.RELEASES_DIR) / self.file

    @property
    def citation(self):
        return citation_cff(self.version, self.date)

    @property
    def summary(self):
        """The changelog in a line: "2 events added, 1 changed; 3 citations added"."""
        if self.previous is None:
            return "First release."
        return summary_line(self.changes) or "No change (made with --force)."

    def as_json(self):
        return {**asdict(self), "date": self.date.isoformat(), "file": self.file}

    @classmethod
    def from_json(cls, entry):
        names = cls.__dataclass_fields__
        values = {key: value for key, value in entry.items() if key in names}
        if not VERSION.match(str(values.get("version", ""))):
            raise ReleaseError(f"The release index names a release {values.get('version')!r}.")
        return cls(**values | {"date": datetime.date.fromisoformat(values["date"])})

    def tables(self):
        """Its tables as the zip holds them, once its file matches its checksum."""
        if not self.path.exists():
            raise ReleaseError(f"The file of release {self.version} is missing: {self.path}.")
        if sha256_of(self.path) != self.sha256:
            raise ReleaseError(
                f"The file of release {self.version} does not match its SHA-256: {self.path}."
            )
        try:
            with zipfile.ZipFile(self.path) as archive:
                return json.loads(archive.read(DATA_FILE))
        except (KeyError, ValueError, zipfile.BadZipFile) as error:
            message = f"The tables of release {self.version} cannot be read: {error}."
            raise ReleaseError(message) from error


def summary_line(counts):
    """Counts of changes in words: "2 events added, 1 changed; 1 citation added"."""
    parts = []
    for table, kinds in counts.items():
        said = [(n, kind) for kind, n in kinds.items() if n]
        if said:
            (n, kind), rest = said[0], said[1:]
            noun = SINGULAR[table] if n == 1 else table.replace("_", " ")
            parts.append(", ".join([f"{n} {noun} {kind}", *(f"{m} {k}" for m, k in rest)]))
    return "; ".join(parts)


@dataclass
class Index:
    """releases.json: every release, oldest first."""

    releases: list = field(default_factory=list)

    @classmethod
    def read(cls, folder=None):
        path = Path(folder or settings.RELEASES_DIR) / INDEX
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as error:
            raise ReleaseError(f"The release index {path} cannot be read: {error}.") from error
        try:
            return cls([Release.from_json(entry) for entry in data["releases"]])
        except (KeyError, TypeError, ValueError) as error:
            raise ReleaseError(f"The release index {path} is damaged: {error!r}.") from error

    def get(self, version):
        return next((r for r in self.releases if r.version == version), None)

    @property
    def latest(self):
        return self.releases[-1] if self.releases else None

    def next_version(self, date):
        numbers = [
            int(match[2])
            for match in (VERSION.match(r.version) for r in self.releases)
            if int(match[1]) == date.year
        ]
        return f"{date.year}.{max(numbers, default=0) + 1}"

    def as_json(self):
        return {"releases": [release.as_json() for release in self.releases]}


@dataclass
class Changes:
    """What each table gained, changed and lost since the previous release, by key."""

    # {table: {"added": [row], "changed": [(old row, new row)], "withdrawn": [old row]}}
    tables: dict
    first: bool = False

    @property
    def empty(self):
        return not any(rows for kinds in self.tables.values() for rows in kinds.values())

    def counts(self):
        return {
            table: {kind: len(kinds[kind]) for kind in KINDS}
            for table, kinds in self.tables.items()
        }

    def as_json(self, version, previous):
        """changes.json: the keys of what was added, changed (with the columns that
        changed) and withdrawn, table by table."""
        tables = {}
        for table, kinds in self.tables.items():
            tables[table] = {
                "added": [key_of(table, row) for row in kinds["added"]],
                "changed": [
                    {"key": key_of(table, new), "columns": changed_columns(old, new)}
                    for old, new in kinds["changed"]
                ],
                "withdrawn": [key_of(table, row) for row in kinds["withdrawn"]],
            }
        return {"version": version, "previous": previous, "first": self.first, "tables": tables}

    def markdown(self, version, date, previous, counts):
        title = f"# Heritage damage register {version} ({date.isoformat()})"
        if self.first:
            held = ", ".join(f"{n} {table.replace('_', ' ')}" for table, n in counts.items())
            return f"{title}\n\nFirst release: {held}.\n"
        since = f"{previous.version} ({previous.date.isoformat()})"
        if self.empty:
            return f"{title}\n\nNothing changed since {since}.\n"
        lines = [title, "", f"Since {since}: {summary_line(self.counts())}.", ""]
        for table in LISTED:
            kinds = self.tables[table]
            if not any(kinds.values()):
                continue
            lines += [f"## {table.replace('_', ' ').capitalize()}", ""]
            for kind in KINDS:
                if not kinds[kind]:
                    continue
                lines += [f"### {kind.capitalize()}", ""]
                for item in kinds[kind]:
                    if kind == "changed":
                        old, new = item
                        columns = ", ".join(changed_columns(old, new))
                        lines.append(f"- {describe(table, new)} (changed: {columns})")
                    else:
                        lines.append(f"- {describe(table, item)}")
                lines.append("")
        others = {t: k for t, k in self.counts().items() if t not in LISTED and any(k.values())}
        if others:
            lines += ["## Other tables", "", summary_line(others) + ".", ""]
        lines.append("changes.json lists the same changes by key, for programs.")
        return "\n".join(lines) + "\n"


def key_of(table, row):
    columns = KEYS[table]
    if len(columns) == 1:
        return row[columns[0]]
    return {column: row[column] for column in columns}


def changed_columns(old, new):
    return [c for c in new if c not in NOT_COMPARED and old.get(c) != new.get(c)]


def describe(table, row):
    """A changelog line's words for one row."""

    def text(value):
        return " ".join(str(value or "").split())

    if table == "events":
        return f"{row['id']}: {text(row['site_name'])}, {text(row['date'])}: {text(row['summary'])}"
    if table == "citations":
        return f"{row['id']}: event {row['event']}, source {row['source']} ({row['stance']})"
    if table == "sites":
        return f"{row['slug']}: {text(row['name'])}"
    if table == "sources":
        return f"{row['id']}: {text(row['title'])}"
    return text(key_of(table, row))


def compare(old, new):
    """The Changes from tables `old` to `new`; before the first release (`old` None),
    every row is added."""
    first = old is None
    old = old or {}
    tables = {}
    for table, rows in new.items():
        before = {_key(table, row): row for row in old.get(table, [])}
        after = {_key(table, row): row for row in rows}
        tables[table] = {
            "added": [row for key, row in after.items() if key not in before],
            "changed": [
                (before[key], row)
                for key, row in after.items()
                if key in before and changed_columns(before[key], row)
            ],
            "withdrawn": [row for key, row in before.items() if key not in after],
        }
    return Changes(tables, first=first)


def _key(table, row):
    return tuple(row[column] for column in KEYS[table])


@dataclass
class Outcome:
    """What `make_release` did, or would do (`release` is None on a dry run)."""

    version: str
    date: datetime.date
    previous: Release | None
    changes: Changes
    changelog: str
    release: Release | None = None


def make_release(*, force=False, dry_run=False, today=None):
    """Make the next release from the published register, or on a dry run only say what
    it would hold. Raises NothingChanged when nothing changed since the latest release
    (unless `force`), and ReleaseError for anything else that stops it; either way
    nothing is left under a release's name. The zip is built in a temporary folder
    beside the releases and moved into place whole, and only then listed in the index."""
    today = today or timezone.now().date()
    folder = Path(settings.RELEASES_DIR)
    if dry_run:
        index = Index.read(folder)
        with tempfile.TemporaryDirectory(prefix="heritage-release-") as work:
            return _prepare(index, Path(work), today)[0]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReleaseError(f"The releases folder {folder} cannot be made: {error}.") from error
    with _locked(folder):
        _sweep(folder)
        index = Index.read(folder)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".partial-") as work:
            work = Path(work)
            outcome, build = _prepare(index, work, today)
            if outcome.changes.empty and not outcome.changes.first and not force:
                raise NothingChanged(
                    f"Nothing in the published register changed since release "
                    f"{index.latest.version}: no release made (--force makes one anyway)."
                )
            built = work / file_name(outcome.version)
            _write_zip(built, build, outcome)
            release = Release(
                version=outcome.version,
                date=today,
                created=timezone.now().isoformat(timespec="seconds"),
                size=built.stat().st_size,
                sha256=sha256_of(built),
                counts=build.counts,
                changes=outcome.changes.counts(),
                previous=outcome.previous.version if outcome.previous else None,
                forced=outcome.changes.empty and not outcome.changes.first,
                public_version=build.public_version,
            )
            listed = Index([*index.releases, release])
            _write_text(work / INDEX, json.dumps(listed.as_json(), indent=1) + "\n")
            _write_text(work / SUMS, "".join(f"{r.sha256}  {r.file}\n" for r in listed.releases))
            os.replace(built, release.path)
            os.replace(work / INDEX, folder / INDEX)
            # A convenience for `sha256sum -c` in a copy of the folder; the index is the record.
            os.replace(work / SUMS, folder / SUMS)
    outcome.release = release
    return outcome


@dataclass
class _Build:
    dump: Path
    tables: dict
    counts: dict
    public_version: int


def _prepare(index, work, today):
    version = index.next_version(today)
    previous = index.latest
    build = _build_dump(work / "dump.zip", today)
    changes = compare(previous.tables() if previous else None, build.tables)
    changelog = changes.markdown(version, today, previous, build.counts)
    return Outcome(version, today, previous, changes, changelog), build


def _build_dump(path, today, attempts=3):
    """The dump of one state of the public record: built again if a publication came
    in while it was read (every change to the public record moves PublicStamp)."""
    for _ in range(attempts):
        version, epoch, _ = PublicStamp.current()
        counts = dataset.write_dump(path, today)
        if PublicStamp.current()[:2] == (version, epoch):
            with zipfile.ZipFile(path) as archive:
                tables = json.loads(archive.read(DATA_FILE))
            return _Build(path, tables, counts, version)
    raise ReleaseError(
        f"The published register changed while it was read, {attempts} times: try again."
    )


def _write_zip(path, build, outcome):
    """The release's zip: the dump's files with a CITATION.cff naming the release, its
    changelog in words and by key, and the SHA-256 of each (SHA256SUMS)."""
    previous = outcome.previous.version if outcome.previous else None
    added = {
        "CITATION.cff": citation_cff(outcome.version, outcome.date).encode(),
        "CHANGELOG.md": outcome.changelog.encode(),
        "changes.json": json.dumps(
            outcome.changes.as_json(outcome.version, previous),
            cls=DjangoJSONEncoder,
            ensure_ascii=False,
            indent=1,
        ).encode(),
    }
    sums = []
    with (
        zipfile.ZipFile(build.dump) as source,
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for info in source.infolist():
            if info.filename in added:
                continue
            digest = hashlib.sha256()
            with source.open(info) as reader, archive.open(info.filename, "w") as writer:
                for block in iter(lambda reader=reader: reader.read(1 << 20), b""):
                    digest.update(block)
                    writer.write(block)
            sums.append((digest.hexdigest(), info.filename))
        for name, content in added.items():
            archive.writestr(name, content)
            sums.append((hashlib.sha256(content).hexdigest(), name))
        archive.writestr(SUMS, "".join(f"{digest}  {name}\n" for digest, name in sums))
    _sync(path)


def _write_text(path, text):
    path.write_text(text, encoding="utf-8")
    _sync(path)


def _sync(path):
    with open(path, "rb") as stream:
        os.fsync(stream.fileno())


@contextmanager
def _locked(folder):
    """One release at a time: a second `release` is refused while one runs."""
    with open(folder / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise ReleaseError(f"Another release is being made in {folder}.") from error
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _sweep(folder):
    """What a release killed midway left: its temporary folder, and a file under a
    release's name that the index does not list (killed between its last two steps)."""
    for partial in folder.glob(".partial-*"):
        shutil.rmtree(partial, ignore_errors=True)
    listed = {release.file for release in Index.read(folder).releases}
    for stray in folder.glob("heritage-register-*.zip"):
        if stray.name not in listed:
            stray.unlink()
