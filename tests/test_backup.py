"""manage.py backup and restore: a backup brings back every row and every capture's file,
is consistent while the site writes, and a restore refuses what it cannot safely do and
can itself be undone."""

import io
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from contextlib import closing
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from heritage.management.commands.backup import captures_archive
from heritage.models import DamageEvent, Site
from reports.evidence import store
from reports.models import Capture, Citation, CustodyEntry
from tests.databases import new_database
from tests.helpers import edit, make_citation, make_event, make_source, remove

# Restores happen outside the test's transaction, so each test commits for real.
pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
SUFFIX = ".sqlite3" if connection.vendor == "sqlite" else ".dump"


@pytest.fixture
def backups(settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "backups"
    return settings.BACKUP_DIR


@pytest.fixture
def backup_file(palmyra, backups):
    path = backups / f"palmyra{SUFFIX}"
    run("backup", output=path)
    return path


def run(command, *args, **options):
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


# About the backups themselves, not the register: a restore starts a new epoch of the
# public record's validators, and every backup leaves its mark.
OPERATIONAL = {"heritage.PublicStamp", "heritage.BackupMark"}


def snapshot():
    """Every row of every table of both apps, their edit history and the auth tables."""
    models = [
        model
        for app in ("heritage", "reports", "auth")
        for model in apps.get_app_config(app).get_models(include_auto_created=True)
        if model._meta.label not in OPERATIONAL
    ]
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values()) for model in models
    }


def change_everything():
    """Edits, additions and deletions after a backup, in both apps and in auth."""
    site = edit(Site.objects.get(slug="temple-of-bel"), name="Renamed after the backup")
    make_citation(make_event(site, summary="Added after the backup"), make_source())
    cited = DamageEvent.objects.filter(citations__isnull=False).first()
    citations = Citation.objects.count()
    remove(cited)
    assert Citation.objects.count() < citations
    Group.objects.create(name="added after the backup")
    Group.objects.first().delete()


def test_a_restore_brings_back_every_row_of_every_table(palmyra, backups, django_user_model):
    django_user_model.objects.create_user("curator-before", password="x" * 12)
    backup_file = backups / f"palmyra{SUFFIX}"
    run("backup", output=backup_file)
    before = snapshot()
    assert before["heritage.HistoricalSite"]
    assert before["reports.HistoricalCitation"]

    change_everything()
    django_user_model.objects.create_user("added-after")
    django_user_model.objects.filter(username="curator-before").update(first_name="Changed")
    assert snapshot() != before

    out = run("restore", str(backup_file), yes=True)
    after = snapshot()
    for table, rows in before.items():
        assert after[table] == rows, table
    assert f"Restored {backup_file}: {Site.objects.count()} sites" in out


def test_a_backup_is_written_under_a_timestamped_name_and_says_what_it_holds(palmyra, backups):
    out = run("backup")
    [path] = backups.iterdir()  # nothing half-written is left beside it
    assert re.fullmatch(r"heritage-\d{8}T\d{6}Z" + re.escape(SUFFIX), path.name)
    assert f"Wrote {path} (" in out
    assert " MB): 17 sites, " in out
    counts = [DamageEvent.objects.count(), "events", Citation.objects.count(), "citations"]
    assert "{} {}, 21 sources, {} {}, 0 captures.".format(*counts) in out


def test_a_restore_first_backs_up_what_it_replaces_so_it_can_be_undone(backup_file, backups):
    Site.objects.filter(slug="temple-of-bel").update(name="Changed after the backup")
    changed = snapshot()

    out = run("restore", str(backup_file), yes=True)
    [safety] = backups.glob("before-restore-*")
    assert f"The data it replaced is in {safety}" in out
    assert not Site.objects.filter(name="Changed after the backup").exists()

    run("restore", str(safety), yes=True)
    assert snapshot() == changed


# Refusals: exit code 2, a reason, and the data as it was.


def assert_refused(command, *args, reason, **options):
    before = snapshot()
    with pytest.raises(CommandError, match=reason) as refusal:
        run(command, *args, **options)
    assert refusal.value.returncode == 2
    assert snapshot() == before


def test_a_restore_refuses_a_missing_file(backup_file):
    Site.objects.filter(slug="temple-of-bel").update(name="Kept")
    assert_refused("restore", str(backup_file.with_name("missing")), yes=True, reason="no backup")
    assert not list(backup_file.parent.glob("before-restore-*"))


def test_a_restore_refuses_a_file_that_is_not_a_backup(backup_file, tmp_path):
    notes = tmp_path / f"notes{SUFFIX}"
    notes.write_text("Not a backup, only a name that looks like one.\n")
    assert_refused("restore", str(notes), yes=True, reason="not a")
    assert not list(backup_file.parent.glob("before-restore-*"))


def test_a_restore_off_a_terminal_refuses_without_yes(backup_file, monkeypatch):
    Site.objects.filter(slug="temple-of-bel").update(name="Kept")
    monkeypatch.setattr("sys.stdin", io.StringIO())
    assert_refused("restore", str(backup_file), reason="pass --yes")
    assert Site.objects.filter(name="Kept").exists()


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_restore_on_a_terminal_asks_first(backup_file, monkeypatch):
    Site.objects.filter(slug="temple-of-bel").update(name="Kept")
    monkeypatch.setattr("sys.stdin", Terminal("no\n"))
    assert_refused("restore", str(backup_file), reason="Not restored")

    monkeypatch.setattr("sys.stdin", Terminal("yes\n"))
    run("restore", str(backup_file))
    assert not Site.objects.filter(name="Kept").exists()


def test_a_restore_refuses_a_backup_from_a_newer_version_of_the_code(palmyra, backups):
    recorder = MigrationRecorder(connection)
    recorder.record_applied("heritage", "9999_from_the_future")
    path = backups / f"newer{SUFFIX}"
    run("backup", output=path)
    recorder.record_unapplied("heritage", "9999_from_the_future")
    assert_refused("restore", str(path), yes=True, reason=r"newer .*heritage\.9999_from_the_fut")


def test_a_backup_refuses_to_overwrite_an_existing_file_without_force(backup_file):
    written = backup_file.read_bytes()
    Site.objects.filter(slug="temple-of-bel").update(name="Kept")
    assert_refused("backup", output=backup_file, reason="already exists.*--force")
    assert backup_file.read_bytes() == written
    assert " 17 sites" in run("backup", output=backup_file, force=True)
    assert backup_file.read_bytes() != written


# A live SQLite file, driven by manage.py in subprocesses as a deployment would run it.


class LiveSite:
    """A register in an SQLite file, its backups in a folder beside it."""

    def __init__(self, folder):
        self.database = folder / "db.sqlite3"
        (folder / "live_settings.py").write_text(
            f"from heritage.settings import *\nBACKUP_DIR = {str(folder / 'backups')!r}\n"
        )
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.database}",
            "DJANGO_SETTINGS_MODULE": "live_settings",
            "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]),
        }

    def manage(self, *args, **options):
        command = [sys.executable, "manage.py", *args]
        return subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, **options
        )

    def count_events(self, path=None):
        with closing(
            sqlite3.connect(f"{(path or self.database).as_uri()}?mode=ro", uri=True)
        ) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            return db.execute("SELECT COUNT(*) FROM heritage_damageevent").fetchone()[0]


@pytest.fixture(scope="module")
def live_site(tmp_path_factory):
    if connection.vendor != "sqlite":
        pytest.skip("drives an SQLite file; pg_dump reads in one snapshot by PostgreSQL's design")
    site = LiveSite(tmp_path_factory.mktemp("live"))
    site.manage("migrate", "--no-input", check=True)
    site.manage("load_palmyra", check=True)
    return site


WRITER = """
import os, time
from django.db import transaction
from heritage.models import DamageEvent, Site
site = Site.objects.first()
deadline = time.monotonic() + 15
while not os.path.exists({stop!r}) and time.monotonic() < deadline:
    with transaction.atomic():
        for _ in range(3):
            DamageEvent.objects.create(site=site, summary="Meanwhile", date="2015", level="severe")
    print(DamageEvent.objects.count(), flush=True)
    time.sleep(0.005)  # leaves the backups some of a small machine's CPU
"""


def test_a_backup_taken_while_the_site_writes_holds_a_state_it_had(live_site, tmp_path):
    # Three events a transaction: a backup torn between two commits would show a count
    # the writer never printed.
    committed = {live_site.count_events()}
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-v0", "-c", WRITER.format(stop=str(stop))],
        cwd=ROOT,
        env=live_site.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        committed.add(first := int(writer.stdout.readline()))
        backups = [tmp_path / f"during-{n}.sqlite3" for n in range(2)]
        for path in backups:
            result = live_site.manage("backup", "--output", str(path))
            assert result.returncode == 0, result.stderr
            assert f"Wrote {path}" in result.stdout
    finally:
        stop.touch()
        printed, _ = writer.communicate(timeout=30)
    assert writer.returncode == 0
    committed.update(map(int, printed.split()))

    counts = [live_site.count_events(path) for path in backups]
    assert set(counts) <= committed
    assert min(counts) >= first
    assert max(committed) > max(counts), "the writer had stopped before the last backup"


def test_a_restore_on_the_command_line_exits_2_unless_told_to_go_ahead(live_site, tmp_path):
    path = tmp_path / "backup.sqlite3"
    assert live_site.manage("backup", "--output", str(path)).returncode == 0

    refused = live_site.manage("restore", str(path), stdin=subprocess.DEVNULL)
    assert refused.returncode == 2
    assert "pass --yes" in refused.stderr
    assert not list((live_site.database.parent / "backups").glob("before-restore-*"))

    restored = live_site.manage("restore", str(path), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert f"Restored {path}: 17 sites" in restored.stdout
    assert list((live_site.database.parent / "backups").glob("before-restore-*"))


# Restore refuses what is not a backup, restores into a new database, and starts a new
# epoch of validators.


def test_a_restore_refuses_a_database_that_only_looks_like_a_backup(backup_file, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("an SQLite file; the pg_dump case is the marker test below")
    fake = tmp_path / f"fake{SUFFIX}"
    with closing(sqlite3.connect(fake)) as db:
        db.execute("CREATE TABLE django_migrations (id integer, app text, name text)")
        db.commit()
    assert_refused("restore", str(fake), yes=True, reason="not a backup of the register")


def test_a_restore_refuses_a_copy_that_backup_did_not_write(palmyra, backups):
    from heritage.models import BackupMark

    path = backups / f"unmarked{SUFFIX}"
    run("backup", output=path)
    if connection.vendor == "sqlite":
        with closing(sqlite3.connect(path)) as db:
            db.execute("DELETE FROM heritage_backupmark")
            db.commit()
    else:  # a plain pg_dump of the database, without the mark backup writes first
        from heritage.management.commands.backup import postgres_tool, run_postgres_tool

        BackupMark.objects.all().delete()
        path.unlink()
        run_postgres_tool([postgres_tool("pg_dump"), "--format=custom", f"--file={path}"])
    assert_refused("restore", str(path), yes=True, reason="not written by `manage.py backup`")


def test_a_backup_restores_into_a_new_empty_database(backup_file, tmp_path):
    url, drop = new_database(tmp_path, "empty")
    env = {**os.environ, "DATABASE_URL": url, "BACKUP_DIR": str(tmp_path / "b")}
    try:
        restored = subprocess.run(
            [sys.executable, "manage.py", "restore", str(backup_file), "--yes"],
            cwd=ROOT, env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert restored.returncode == 0, restored.stderr
        assert "17 sites" in restored.stdout
        assert "The database was empty: nothing was replaced." in restored.stdout
    finally:
        drop()


def test_validators_handed_out_before_a_restore_never_match_after_it(backup_file):
    from rest_framework.test import APIClient

    api = APIClient()
    before = api.get("/api/v1/events/")["ETag"]
    run("restore", str(backup_file), yes=True)
    # The same rows as when the ETag was given, but another epoch: no 304 across a restore.
    assert api.get("/api/v1/events/", HTTP_IF_NONE_MATCH=before).status_code == 200


# Evidence captures: each file the backup's captures name travels beside it, in
# <backup>.captures.zip, and comes back checked against its SHA-256.

PAGE = (
    b"<html><head><title>Temple of Bel destroyed</title></head><body><article><p>Satellite "
    b"images show the Temple of Bel in Palmyra was destroyed on Sunday.</p></article></body>"
    b"</html>"
)


def take_capture(data=PAGE):
    return store.take(make_source(), data, method="upload", name="x.html")


def custody_log():
    return list(CustodyEntry.objects.order_by("position").values_list("position", "hash"))


def move_store(settings, folder):
    """What a new machine looks like to the register: a captures store with nothing in it."""
    settings.STORAGES = {
        **settings.STORAGES,
        "captures": {**settings.STORAGES["captures"], "OPTIONS": {"location": str(folder)}},
    }


def empty(folder):
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(0o644)  # stored read-only
            path.unlink()


def test_a_restore_on_a_new_machine_brings_back_the_captures_and_their_custody_log(
    palmyra, backups, settings, tmp_path
):
    capture = take_capture()
    log = custody_log()
    path = backups / f"palmyra{SUFFIX}"
    out = run("backup", output=path)
    archive = captures_archive(path)
    assert f"1 captures (their files in {archive}, " in out
    with zipfile.ZipFile(archive) as carried:
        [member] = carried.infolist()
    assert member.filename == capture.file.name
    assert member.compress_type == zipfile.ZIP_STORED
    take_capture(b"<html><body><p>Taken after the backup.</p></body></html>")
    assert custody_log() != log

    new_store = tmp_path / "new machine"
    move_store(settings, new_store)
    out = run("restore", str(path), yes=True)
    assert f"Brought 1 capture file(s) back from {archive}." in out
    assert (new_store / capture.file.name).read_bytes() == PAGE
    assert list(Capture.objects.values_list("pk", flat=True)) == [capture.pk]
    assert custody_log() == log
    assert "all match" in run("verify_evidence")


def test_a_restore_leaves_a_file_the_store_holds_as_it_is(palmyra, backups, capture_store):
    capture = take_capture()
    path = backups / f"palmyra{SUFFIX}"
    run("backup", output=path)
    stored = (capture_store / capture.file.name).stat()

    out = run("restore", str(path), yes=True)
    assert "Brought" not in out
    again = (capture_store / capture.file.name).stat()
    assert (again.st_ino, again.st_mtime_ns) == (stored.st_ino, stored.st_mtime_ns)


def test_a_backup_without_its_captures_archive_is_refused_naming_the_capture(
    palmyra, backups, capture_store
):
    capture = take_capture()
    path = backups / f"palmyra{SUFFIX}"
    run("backup", output=path)
    captures_archive(path).unlink()
    empty(capture_store)
    Site.objects.filter(slug="temple-of-bel").update(name="Kept")

    where = re.escape(f"{captures_archive(path)} (copy it beside the backup)")
    reason = rf"capture {capture.pk} \({capture.file.name}\): not in the store, nor in {where}"
    assert_refused("restore", str(path), yes=True, reason=reason)
    assert Site.objects.filter(name="Kept").exists()
    assert not list(backups.glob("before-restore-*"))


def rewrite(archive, change):
    """The archive with each member's bytes changed by `change`, stored as zipfile would."""
    with zipfile.ZipFile(archive) as carried:
        members = {name: carried.read(name) for name in carried.namelist()}
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as carried:
        for name, data in members.items():
            carried.writestr(name, change(data))


def flip_a_byte(archive):
    """A damaged copy: one byte of the member's contents changed, its CRC left as it was."""
    data = bytearray(archive.read_bytes())
    data[data.index(b"Temple of Bel")] ^= 1
    archive.write_bytes(bytes(data))


ALTERATIONS = {
    "other bytes": lambda archive: rewrite(archive, lambda data: data.replace(b"Bel", b"Baal")),
    # A zip bomb's shape: tiny deflated, large read. Read no further than the recorded size.
    "more bytes": lambda archive: rewrite(archive, lambda data: data + b" " * 10_000_000),
    "damaged": flip_a_byte,
}


@pytest.mark.parametrize("alteration", ALTERATIONS)
def test_a_capture_altered_in_the_archive_is_refused(palmyra, backups, capture_store, alteration):
    capture = take_capture()
    path = backups / f"palmyra{SUFFIX}"
    run("backup", output=path)
    ALTERATIONS[alteration](captures_archive(path))
    empty(capture_store)

    reason = rf"capture {capture.pk} \(.*\): its copy in .* is not the file captured"
    assert_refused("restore", str(path), yes=True, reason=reason)
    assert not (capture_store / capture.file.name).exists()


def test_a_restore_refuses_a_store_holding_other_bytes_under_a_captures_name(
    palmyra, backups, capture_store
):
    capture = take_capture()
    path = backups / f"palmyra{SUFFIX}"
    run("backup", output=path)
    stored = capture_store / capture.file.name
    stored.chmod(0o644)
    stored.write_bytes(PAGE.replace(b"Bel", b"Baal"))

    reason = rf"capture {capture.pk} \(.*\): the store holds other bytes under its name"
    assert_refused("restore", str(path), yes=True, reason=reason)
    assert b"Baal" in stored.read_bytes()  # never overwritten, even with the archive's copy


def lose(path):
    path.unlink()


def alter(path):
    path.chmod(0o644)
    path.write_bytes(PAGE.replace(b"Bel", b"Baal"))


@pytest.mark.parametrize(
    ("damage", "reason"), [(lose, "is missing from"), (alter, "no longer has")]
)
def test_a_backup_fails_naming_a_capture_the_store_lost_or_altered_and_leaves_no_file(
    palmyra, backups, capture_store, damage, reason
):
    kept = take_capture(b"<html><body><p>Kept as captured.</p></body></html>")
    capture = take_capture()
    damage(capture_store / capture.file.name)

    with pytest.raises(
        CommandError, match=rf"capture {capture.pk} \(.*\): its file {reason}"
    ) as failed:
        run("backup", output=backups / f"palmyra{SUFFIX}")
    assert f"capture {kept.pk} " not in str(failed.value)
    assert not list(backups.iterdir())  # neither the database nor the archive, whole or part
