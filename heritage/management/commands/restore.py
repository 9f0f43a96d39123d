import re
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from heritage.management.commands.backup import (
    Refused,
    check_database,
    count_rows,
    describe,
    new_backup_path,
    postgres_tool,
    run_postgres_tool,
)


# The rows of a table in pg_restore's script: COPY … (columns) FROM stdin; then a line a
# row, tab-separated, up to "\.".
def copied_rows(table):
    return re.compile(
        rf"^COPY \S*{table} \((.*)\) FROM stdin;\n(.*?)^\\\.$", re.MULTILINE | re.DOTALL
    )


COPY_MIGRATIONS = copied_rows("django_migrations")
COPY_MARKS = copied_rows("heritage_backupmark")
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
        self.confirm(path, yes)

        # A new, empty database (the recovery path) has nothing to keep first.
        safety = None
        if "heritage_site" in connection.introspection.table_names():
            safety = new_backup_path("before-restore")
            call_command("backup", output=safety, stdout=self.stdout, no_color=options["no_color"])
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
        copy = COPY_MIGRATIONS.search(script)
        if copy is None:
            raise Refused(f"{path} is not a backup of the register: it has no django_migrations.")
        columns = [column.strip('"') for column in copy[1].split(", ")]
        app, name = columns.index("app"), columns.index("name")
        rows = [line.split("\t") for line in copy[2].splitlines()]
        return [(row[app], row[name]) for row in rows]

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
