import os
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from heritage.models import BackupMark, DamageEvent, Site
from reports.models import Citation, Source

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
            "or .dump on PostgreSQL).",
        )
        parser.add_argument("--force", action="store_true", help="Overwrite --output.")

    def handle(self, *args, output=None, force=False, **options):
        check_database()
        path = output or new_backup_path("heritage")
        if path.exists() and not force:
            raise Refused(f"{path} already exists: choose another --output, or pass --force.")
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written under a hidden name in the same folder and renamed when complete, so that
        # an interrupted backup is never taken for a whole one. mkstemp also makes the
        # file readable by its owner only: it holds password hashes and session keys.
        fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        os.close(fd)
        partial = Path(partial)
        # Committed before the copy starts, so the copy holds it: what restore looks for.
        BackupMark.objects.create()
        try:
            if connection.vendor == "sqlite":
                counts = self.backup_sqlite(partial)
            else:
                counts = self.backup_postgres(partial)
            with open(partial, "rb") as written:
                os.fsync(written.fileno())
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        size = path.stat().st_size / 1_000_000
        self.stdout.write(self.style.SUCCESS(f"Wrote {path} ({size:.1f} MB): {describe(counts)}."))

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
            return count_rows(target.cursor())

    def backup_postgres(self, partial):
        pg_dump = postgres_tool("pg_dump")
        # pg_dump reads in one snapshot; exporting ours to it lets the rows be counted in
        # that same snapshot, so the counts are the backup's even while the site writes.
        # The cursor is opened first: its health check must not start the transaction.
        with connection.cursor() as cursor, transaction.atomic():
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            run_postgres_tool(
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={partial}"]
            )
            return count_rows(cursor)
