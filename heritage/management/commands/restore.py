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

# The django_migrations rows in pg_restore's script: COPY … (columns) FROM stdin; then a
# line a row, tab-separated, up to "\.".
COPY_MIGRATIONS = re.compile(
    r"^COPY \S*django_migrations \((.*)\) FROM stdin;\n(.*?)^\\\.$", re.MULTILINE | re.DOTALL
)


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
        self.stdout.write(self.style.SUCCESS(f"Restored {path}: {describe(counts)}."))
        self.stdout.write(f"The data it replaced is in {safety}: restore that file to undo.")
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            self.stdout.write(
                self.style.WARNING("The backup predates this code: run `manage.py migrate`.")
            )

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
                return db.execute("SELECT app, name FROM django_migrations").fetchall()
        except sqlite3.DatabaseError as error:
            raise Refused(f"{path} is not a backup of the register: {error}.") from error

    def postgres_migrations(self, path):
        pg_restore = postgres_tool("pg_restore")
        listing = run_postgres_tool([pg_restore, "--list", str(path)], check=False)
        if listing.returncode:
            raise Refused(f"{path} is not a pg_dump archive: {listing.stderr.strip()}")
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
