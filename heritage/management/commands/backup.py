import argparse
import hashlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
from collections import namedtuple
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from heritage.models import BackupMark, DamageEvent, Site
from reports.models import Citation, Source, capture_storage

# Counted after a backup and after a restore, so that the operator sees what a file holds.
MAIN_TABLES = {"sites": Site, "events": DamageEvent, "sources": Source, "citations": Citation}


class Refused(CommandError):
    """Nothing was done, for a reason the operator can fix: exit code 2."""

    def __init__(self, message):
        super().__init__(message, returncode=2)


def check_database():
    if connection.vendor not in {"sqlite", "postgresql"}:
        raise CommandError(f"Backups of {connection.vendor} databases are not supported.")


def backup_folder():
    return Path(settings.BACKUP_DIR)


def new_backup_path(prefix):
    """<backup folder>/<prefix>-<UTC timestamp>.sqlite3 (or .dump on PostgreSQL)."""
    stem = f"{prefix}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    suffix = ".sqlite3" if connection.vendor == "sqlite" else ".dump"
    path, n = backup_folder() / f"{stem}{suffix}", 1
    # A restore just after a backup, or a second restore, can fall in the same second.
    while path.exists():
        n += 1
        path = path.with_name(f"{stem}-{n}{suffix}")
    return path


def count_rows(cursor):
    counts = {}
    for name, model in MAIN_TABLES.items():
        cursor.execute(f'SELECT COUNT(*) FROM "{model._meta.db_table}"')
        counts[name] = cursor.fetchone()[0]
    return counts


def describe(counts):
    return ", ".join(f"{count} {name}" for name, count in counts.items())


# What a backup needs of each capture to carry its file and check it.
CaptureFile = namedtuple("CaptureFile", "id file sha256 size")
CAPTURE_FILES = "SELECT id, file, sha256, size FROM reports_capture ORDER BY id"
CHUNK = 1024 * 1024


def sqlite_captures(db):
    """The capture files an SQLite database names: none when it predates captures."""
    table = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'reports_capture'"
    if db.execute(table).fetchone() is None:
        return []
    return [CaptureFile(*row) for row in db.execute(CAPTURE_FILES)]


def distinct_files(captures):
    """One capture a file: the same bytes captured for two sources are stored once."""
    seen = set()
    for capture in captures:
        if (capture.file, capture.sha256) not in seen:
            seen.add((capture.file, capture.sha256))
            yield capture


def captures_archive(path):
    """The capture files of the backup at `path`, beside it."""
    return path.with_name(f"{path.name}.captures.zip")


def name_capture(capture):
    return f"capture {capture.id} ({capture.file})"


def copy_checked(source, capture, target=None):
    """Reads `source` in chunks, writing them to `target` when given: True when it holds
    exactly the capture's bytes. It stops one byte past the recorded size, so a file or
    archive member larger than it (a zip bomb) costs no more than that."""
    digest, read = hashlib.sha256(), 0
    while chunk := source.read(min(CHUNK, capture.size + 1 - read)):
        digest.update(chunk)
        read += len(chunk)
        if target is not None:
            target.write(chunk)
    return read == capture.size and digest.hexdigest() == capture.sha256


def partial_file(path):
    """A hidden, empty file in `path`'s folder, readable by its owner only, to be renamed to
    `path` once complete, so that an interrupted backup is never taken for a whole one."""
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    return Path(partial)


def fsync(path):
    with open(path, "rb") as written:
        os.fsync(written.fileno())


def postgres_tool(name):
    path = shutil.which(name)
    if path is None:
        raise CommandError(
            f"{name} was not found on the PATH. Install the PostgreSQL client tools "
            f"(Debian: postgresql-client) of the server's major version or newer."
        )
    return path


def run_postgres_tool(args, check=True):
    """Runs pg_dump or pg_restore against Django's database. The connection details go
    through libpq's environment: a password on the command line is visible in `ps`."""
    database = connection.settings_dict
    env = dict(os.environ)
    for variable, key in [
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ]:
        if database.get(key):
            env[variable] = str(database[key])
    if database.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = database["OPTIONS"]["sslmode"]
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    if check and result.returncode:
        raise CommandError(f"{Path(args[0]).name} failed:\n{result.stderr.strip()}")
    return result


class Command(BaseCommand):
    help = (
        "Write a consistent copy of the whole database while the site keeps running: an "
        "SQLite file, or a pg_dump archive on PostgreSQL. `manage.py restore` brings it back."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            type=Path,
            help="Where to write it (default: var/backups/heritage-<UTC timestamp>.sqlite3, "
            "or .dump on PostgreSQL). The capture files go beside it, in <output>.captures.zip.",
        )
        parser.add_argument("--force", action="store_true", help="Overwrite --output.")
        # For restore's own copy of what it replaces, and only for it (so not in --help):
        # restore never removes a file from the store, so undoing it finds them there, and
        # a store missing a file must not stop the restore that is to bring it back.
        parser.add_argument(
            "--no-captures", dest="captures", action="store_false", help=argparse.SUPPRESS
        )

    def handle(self, *args, output=None, force=False, captures=True, **options):
        check_database()
        path = output or new_backup_path("heritage")
        if path.exists() and not force:
            raise Refused(f"{path} already exists: choose another --output, or pass --force.")
        path.parent.mkdir(parents=True, exist_ok=True)
        archive = captures_archive(path)
        # mkstemp makes the file readable by its owner only: it holds password hashes and
        # session keys.
        partial, partial_archive = partial_file(path), None
        # Committed before the copy starts, so the copy holds it: what restore looks for.
        BackupMark.objects.create()
        try:
            if connection.vendor == "sqlite":
                counts, files = self.backup_sqlite(partial)
            else:
                counts, files = self.backup_postgres(partial)
            # Copied once the snapshot is released: a capture's file is written before its
            # row commits, and is never changed or removed after.
            if files and captures:
                partial_archive = partial_file(archive)
                self.copy_captures(files, partial_archive)
                fsync(partial_archive)
            fsync(partial)
            # The archive first: a backup under its final name has its captures beside it.
            if partial_archive:
                partial_archive.replace(archive)
            else:
                archive.unlink(missing_ok=True)  # --force over a backup that had some
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
            if partial_archive:
                partial_archive.unlink(missing_ok=True)
        size = path.stat().st_size / 1_000_000
        if not files:
            carried = ""
        elif captures:
            carried = f" (their files in {archive}, {archive.stat().st_size / 1_000_000:.1f} MB)"
        else:
            carried = " (their files stay in the store: restore never removes one)"
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {path} ({size:.1f} MB): {describe(counts)}, {len(files)} captures{carried}."
            )
        )

    def copy_captures(self, files, partial):
        """Copies each file the backup's captures name into a zip at `partial`, checking
        its SHA-256 on the way: a backup that would bring back evidence other than what
        was captured, or none, fails, naming each capture."""
        storage, problems = capture_storage(), []
        # Stored, not deflated: PDFs, images and WARC.gz are compressed already.
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for capture in distinct_files(files):
                if not storage.exists(capture.file):
                    problems.append(f"{name_capture(capture)}: its file is missing from the store")
                    continue
                member = zipfile.ZipInfo(capture.file)
                member.file_size = capture.size  # lets zipfile choose ZIP64 up front
                with storage.open(capture.file, "rb") as stored, archive.open(member, "w") as copy:
                    if not copy_checked(stored, capture, copy):
                        problems.append(
                            f"{name_capture(capture)}: its file no longer has its SHA-256 "
                            f"{capture.sha256} and size {capture.size}"
                        )
        if problems:
            raise CommandError(
                "Not backed up: the store does not hold these captures as captured. Run "
                "`manage.py verify_evidence`, and bring the files back from an earlier "
                "backup.\n" + "\n".join(problems)
            )

    def backup_sqlite(self, partial):
        # The online backup API rather than VACUUM INTO: it copies pages as they are
        # (VACUUM INTO rebuilds every table and index), works from Django's own
        # connection (the in-memory test database included), and is what restore uses
        # in reverse. In one step (pages=-1) it reads in a single read transaction: a
        # snapshot, which in WAL mode does not hold up the site's writers.
        connection.ensure_connection()
        with closing(sqlite3.connect(partial)) as target:
            connection.connection.backup(target)
            # The copy inherits WAL mode; a backup should be one self-contained file.
            target.execute("PRAGMA journal_mode=DELETE")
            # The capture rows read from the copy itself, so the files match the backup.
            return count_rows(target.cursor()), sqlite_captures(target)

    def backup_postgres(self, partial):
        pg_dump = postgres_tool("pg_dump")
        # pg_dump reads in one snapshot; exporting ours to it lets the rows be counted in
        # that same snapshot, so the counts and the capture rows are the backup's even
        # while the site writes.
        # The cursor is opened first: its health check must not start the transaction.
        with connection.cursor() as cursor, transaction.atomic():
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            run_postgres_tool(
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={partial}"]
            )
            files = []
            if "reports_capture" in connection.introspection.table_names(cursor):
                cursor.execute(CAPTURE_FILES)
                files = [CaptureFile(*row) for row in cursor.fetchall()]
            return count_rows(cursor), files
