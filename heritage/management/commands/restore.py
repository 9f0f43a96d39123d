import re
import sqlite3
import sys
import zipfile
from contextlib import closing
from pathlib import Path

from django.core.files import File
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from heritage.management.commands.backup import (
    CaptureFile,
    Refused,
    captures_archive,
    check_database,
    copy_checked,
    count_rows,
    describe,
    distinct_files,
    name_capture,
    new_backup_path,
    postgres_tool,
    run_postgres_tool,
    sqlite_captures,
)
from reports.models import capture_storage


# The rows of a table in pg_restore's script: COPY … (columns) FROM stdin; then a line a
# row, tab-separated, up to "\.".
def copied_rows(table):
    return re.compile(
        rf"^COPY \S*{table} \((.*)\) FROM stdin;\n(.*?)^\\\.$", re.MULTILINE | re.DOTALL
    )


COPY_MIGRATIONS = copied_rows("django_migrations")
COPY_MARKS = copied_rows("heritage_backupmark")
COPY_CAPTURES = copied_rows("reports_capture")


def copied_records(pattern, script):
    """The rows of one table in pg_restore's script, as dicts by column name; None when
    the script does not hold the table."""
    copy = pattern.search(script)
    if copy is None:
        return None
    columns = [column.strip('"') for column in copy[1].split(", ")]
    return [dict(zip(columns, line.split("\t"), strict=True)) for line in copy[2].splitlines()]


# What a backup of the register holds, whatever else: without these it is not one.
REQUIRED_TABLES = [
    "django_migrations", "heritage_site", "heritage_damageevent", "reports_source",
    "reports_citation", "heritage_backupmark",
]  # fmt: skip


class Command(BaseCommand):
    help = (
        "Replace the whole database with a file written by `manage.py backup`. The data it "
        "replaces is backed up first (var/backups/before-restore-…), so a restore can be "
        "undone by restoring that file."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The backup to restore.")
        parser.add_argument(
            "--yes", action="store_true", help="Do not ask; needed when not on a terminal."
        )

    def handle(self, *args, path, yes=False, **options):
        check_database()
        if not path.is_file():
            raise Refused(f"There is no backup at {path}.")
        if connection.vendor == "sqlite":
            applied = self.sqlite_migrations(path)
        else:
            applied = self.postgres_migrations(path)
        # Older code would run on tables it does not know, and `migrate` cannot go back.
        if newer := sorted(set(applied) - known_migrations()):
            names = ", ".join(f"{app}.{name}" for app, name in newer)
            raise Refused(
                f"{path} was made by a newer version of the register: it holds migrations "
                f"this code does not have ({names}). Update the code, then restore."
            )
        if connection.vendor == "sqlite":
            captures = self.sqlite_captures(path)
        else:
            captures = self.postgres_captures(path)
        # Kept open until the files are copied: what was checked is what is copied, even
        # if another archive is put in its place while the operator is asked to confirm.
        archive = self.open_archive(path)
        try:
            missing = self.check_captures(path, captures, archive)
            self.confirm(path, yes)

            # A new, empty database (the recovery path) has nothing to keep first.
            safety = None
            if "heritage_site" in connection.introspection.table_names():
                safety = new_backup_path("before-restore")
                call_command(
                    "backup",
                    output=safety,
                    captures=False,
                    stdout=self.stdout,
                    no_color=options["no_color"],
                )
            # The files before the rows that name them: the site never shows a capture
            # whose file is not there yet, and a restore that fails from here on leaves
            # the store only holding more files (under their hash, so of no harm).
            self.bring_back(missing, archive)
        finally:
            if archive:
                archive.close()
        if connection.vendor == "sqlite":
            self.restore_sqlite(path)
        else:
            self.restore_postgres(path)
        # Persistent connections (CONN_MAX_AGE) would otherwise keep cached state from
        # before; the next query opens a fresh one.
        connections.close_all()

        with connection.cursor() as cursor:
            counts = count_rows(cursor)
        self.new_epoch()
        self.stdout.write(self.style.SUCCESS(f"Restored {path}: {describe(counts)}."))
        if missing:
            self.stdout.write(
                f"Brought {len(missing)} capture file(s) back from {archive.filename}."
            )
        if safety:
            self.stdout.write(f"The data it replaced is in {safety}: restore that file to undo.")
        else:
            self.stdout.write("The database was empty: nothing was replaced.")
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            self.stdout.write(
                self.style.WARNING("The backup predates this code: run `manage.py migrate`.")
            )

    def new_epoch(self):
        # Validators handed out before the restore must not match what it brought back.
        from heritage.models import PublicStamp

        if "heritage_publicstamp" in connection.introspection.table_names():
            PublicStamp.new_epoch()

    def confirm(self, path, yes):
        if yes:
            return
        if not sys.stdin.isatty():
            raise Refused(
                "A restore replaces every row of the database; not on a terminal, so pass "
                "--yes to confirm."
            )
        database = connection.settings_dict["NAME"]
        answer = input(f"Replace every row of {database} with {path}? Type 'yes' to go on: ")
        if answer.strip().lower() != "yes":
            raise Refused("Not restored: nothing was changed.")

    def sqlite_migrations(self, path):
        with open(path, "rb") as file:
            if file.read(16) != b"SQLite format 3\x00":
                raise Refused(f"{path} is not an SQLite database, so not a backup of this one.")
        try:
            with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
                problems = [row[0] for row in db.execute("PRAGMA integrity_check")]
                if problems != ["ok"]:
                    raise Refused(f"{path} is damaged: {'; '.join(problems[:5])}")
                tables = {
                    row[0]
                    for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
                }
                self.check_tables(path, tables)
                if not db.execute("SELECT COUNT(*) FROM heritage_backupmark").fetchone()[0]:
                    raise Refused(f"{path} was not written by `manage.py backup`: refused.")
                return db.execute("SELECT app, name FROM django_migrations").fetchall()
        except sqlite3.DatabaseError as error:
            raise Refused(f"{path} is not a backup of the register: {error}.") from error

    def postgres_migrations(self, path):
        pg_restore = postgres_tool("pg_restore")
        listing = run_postgres_tool([pg_restore, "--list", str(path)], check=False)
        if listing.returncode:
            raise Refused(f"{path} is not a pg_dump archive: {listing.stderr.strip()}")
        tables = set(re.findall(r"TABLE DATA \S+ (\S+) ", listing.stdout))
        self.check_tables(path, tables)
        marks = run_postgres_tool(
            [pg_restore, "--data-only", "--table=heritage_backupmark", "--file=-", str(path)]
        ).stdout
        found = COPY_MARKS.search(marks)
        if found is None or not found[2].strip():
            raise Refused(f"{path} was not written by `manage.py backup`: refused.")
        script = run_postgres_tool(
            [pg_restore, "--data-only", "--table=django_migrations", "--file=-", str(path)]
        ).stdout
        rows = copied_records(COPY_MIGRATIONS, script)
        if rows is None:
            raise Refused(f"{path} is not a backup of the register: it has no django_migrations.")
        return [(row["app"], row["name"]) for row in rows]

    def sqlite_captures(self, path):
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            return sqlite_captures(db)

    def postgres_captures(self, path):
        pg_restore = postgres_tool("pg_restore")
        script = run_postgres_tool(
            [pg_restore, "--data-only", "--table=reports_capture", "--file=-", str(path)]
        ).stdout
        rows = copied_records(COPY_CAPTURES, script) or []  # none: made before captures
        return [
            CaptureFile(int(row["id"]), row["file"], row["sha256"], int(row["size"]))
            for row in rows
        ]

    def open_archive(self, path):
        """The zip of capture files beside the backup, or None when there is none."""
        if not captures_archive(path).is_file():
            return None
        try:
            return zipfile.ZipFile(captures_archive(path))
        except zipfile.BadZipFile as error:
            raise Refused(f"{captures_archive(path)} is damaged: {error}.") from error

    def check_captures(self, path, captures, archive):
        """The captures whose files must come from the backup's archive. Refused, naming
        each, when a file is neither in the store nor in the archive with its SHA-256, or
        when the store holds other bytes under its name: a record pointing at evidence
        that is not there, or not as captured, is not restored."""
        storage, problems, missing = capture_storage(), [], {}
        carried = set(archive.namelist()) if archive else set()
        for capture in distinct_files(captures):
            if storage.exists(capture.file):
                with storage.open(capture.file, "rb") as stored:
                    if not copy_checked(stored, capture):
                        problems.append(
                            f"{name_capture(capture)}: the store holds other bytes under its "
                            "name, which are never overwritten. Run `manage.py verify_evidence`."
                        )
            elif capture.file not in carried:
                problems.append(
                    f"{name_capture(capture)}: not in the store, nor in "
                    f"{captures_archive(path)} (copy it beside the backup)"
                )
            else:
                try:
                    with archive.open(capture.file) as member:
                        matches = copy_checked(member, capture)
                except zipfile.BadZipFile:  # a damaged member: zipfile checks its CRC
                    matches = False
                if not matches:
                    problems.append(
                        f"{name_capture(capture)}: its copy in {archive.filename} is not the "
                        f"file captured (SHA-256 {capture.sha256}, {capture.size} bytes)"
                    )
                missing[capture.file] = capture
        if problems:
            raise Refused(
                f"Not restored: {path} names capture files that cannot be brought back as "
                "captured. Nothing was changed.\n" + "\n".join(problems)
            )
        return list(missing.values())

    def bring_back(self, missing, archive):
        """Writes the checked files of the archive into the store, under their names."""
        storage = capture_storage()
        for capture in missing:
            if storage.exists(capture.file):
                continue  # written meanwhile by a new capture of the same bytes
            # The member's size was checked: zipfile reads no more than that.
            with archive.open(capture.file) as member:
                saved = storage.save(capture.file, File(member, name=capture.file))
            if saved != capture.file:  # a store that renames rather than overwrite
                storage.delete(saved)

    def check_tables(self, path, tables):
        missing = [table for table in REQUIRED_TABLES if table not in tables]
        if missing:
            raise Refused(
                f"{path} is not a backup of the register: it has no "
                f"{', '.join(missing)} table(s). Nothing was changed."
            )

    def restore_sqlite(self, path):
        # Into Django's own connection with the backup API, in one step: SQLite holds the
        # write lock for the whole copy, so the running site sees the old database or the
        # restored one, never a mix. Copying over db.sqlite3 would tear under open
        # connections and be undone by the WAL.
        connection.ensure_connection()
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as source:
            source.backup(connection.connection)

    def restore_postgres(self, path):
        pg_restore = postgres_tool("pg_restore")
        # Our own idle connection must not be among those the DROPs wait for.
        connections.close_all()
        run_postgres_tool(
            [
                pg_restore,
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={connection.settings_dict['NAME']}",
                str(path),
            ]
        )


def known_migrations():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    # A backup from before a squash holds the names the squashed migration replaces.
    for migration in loader.disk_migrations.values():
        known.update(migration.replaces)
    return known
