"""Background work: the latest dump (/api/v1/dump/) rebuilt after each change to the
public record, through Django's tasks framework (settings.TASKS: a queue in the database
by default, run by `manage.py db_worker`).

PublicStamp.bump(), which every change to the public record calls in its transaction,
asks for one rebuild when that transaction commits, however many publications it holds.
The rebuild is told the public version that asked for it, and does nothing when the
dump already holds that version or a later one: a burst of transactions queues a task
each, and the first to run rebuilds for them all.
"""

import datetime
import fcntl
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from heritage.dataset import write_dump
from heritage.models import PublicStamp


def rebuild_dump_after_commit(using=None):
    """Queue one rebuild of the dump for when the current transaction commits (at once
    outside a transaction); a second call in the same transaction adds nothing."""
    connection = transaction.get_connection(using)
    if any(func is _enqueue_rebuild for _, func, _ in connection.run_on_commit):
        return
    # Robust: the publication has committed by then, and a queue that cannot be reached
    # is logged rather than made the curator's error.
    transaction.on_commit(_enqueue_rebuild, using=using, robust=True)


def _enqueue_rebuild():
    version, _, _ = PublicStamp.current()
    rebuild_dump.enqueue(version)


@task
def rebuild_dump(version):
    """Rebuild the dump, unless it already holds public version `version` or later."""
    with _rebuilding():
        built = latest_dump()
        _, epoch, _ = PublicStamp.current()
        if built and built.get("epoch") == epoch and built.get("public_version", -1) >= version:
            return {"rebuilt": False, "public_version": built["public_version"]}
        built = build_latest_dump()
        return {"rebuilt": True, "public_version": built["public_version"]}


def build_latest_dump(today=None):
    """Write the dump (heritage.dataset.write_dump) and note beside it which version of
    the public record it holds. When a publication came in while it was read, the
    version noted is the one before it, so the rebuild that publication queued runs."""
    path = Path(settings.DUMP_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    version, epoch, _ = PublicStamp.current()
    # A name of its own: write_dump's fixed ".partial" would be shared with build_dump.
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=".rebuild-", suffix=".zip")
    os.close(handle)
    try:
        counts = write_dump(Path(partial), today)
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)
        Path(partial).with_suffix(".partial").unlink(missing_ok=True)
    stat = path.stat()
    built = {
        "built": timezone.now().isoformat(timespec="seconds"),
        "public_version": version,
        "epoch": epoch,
        "counts": counts,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }
    note = _note_path()
    note.with_suffix(".partial").write_text(json.dumps(built), encoding="utf-8")
    note.with_suffix(".partial").replace(note)
    return built


def latest_dump():
    """What is known of the dump: when it was built, its size and, when this module
    built it, the public version and row counts it holds; None before it is built."""
    path = Path(settings.DUMP_PATH)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    known = {
        "built": datetime.datetime.fromtimestamp(stat.st_mtime, datetime.UTC).isoformat(
            timespec="seconds"
        ),
        "size": stat.st_size,
    }
    try:
        note = json.loads(_note_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return known
    # Only while the note describes this very file: `manage.py build_dump` writes the
    # dump without one.
    if note.get("mtime_ns") != stat.st_mtime_ns or note.get("size") != stat.st_size:
        return known
    return known | note


def _note_path():
    path = Path(settings.DUMP_PATH)
    return path.with_name(path.stem + ".built.json")


@contextmanager
def _rebuilding():
    """One rebuild at a time on this machine: a second waits, then finds the dump
    current and does nothing."""
    path = Path(settings.DUMP_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(".rebuild.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
