"""Eight processes writing events and citations at once on one SQLite file: none fails
with "database is locked", every write lands (and nothing rolled back does), and the
derived grades and conditions still agree with the citations.

pytest's SQLite test database lives in memory and cannot be shared between processes,
so this test builds a file of its own in a temporary folder, whatever DATABASE_URL
says, and runs this module as a script in each process (`seed`, `work`, `check`), with
the settings as deployed: WAL, IMMEDIATE transactions and the default busy timeout.
"""

import datetime
import json
import os
import random
import secrets
import sqlite3
import subprocess
import sys
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 8
ITERATIONS = 40
SHARED_SITES = 3
LEVELS = ["slight", "moderate", "severe", "destroyed", "unknown"]
# What each worker records of its rows, to compare with what the database holds.
FIELDS = {
    "damageevent": ("summary", "level", "state"),
    "citation": ("stance", "basis", "claimed_level"),
}
# Each step of a worker's round, by iteration number modulo its length.
ROUND = ["drafts", "published", "rolled back", "updates", "updates in a transaction"]
TIME_LIMIT = 120  # seconds for any one process; the whole test takes 10 to 25
# Marks the rows written in transactions rolled back on purpose. (Their ids are no mark:
# SQLite rolls back AUTOINCREMENT's counter with them, and the next insert reuses them.)
LOST = "Written in a transaction that was rolled back."


class RolledBack(Exception):
    """Raised on purpose to abandon a transaction."""


def expected_rows():
    """How many events and citations each worker commits, from its round alone."""
    events = citations = 0
    for n in range(ITERATIONS):
        step = ROUND[n % len(ROUND)]
        if step == "drafts":
            events, citations = events + 1, citations + 1 + n % 2
        elif step == "published":
            events, citations = events + 1, citations + 2
        elif step == "updates in a transaction":
            citations += 1
    return events, citations


# The processes


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heritage.settings")
    import django

    django.setup()


def seed():
    """Sites (some shared by every worker, one of each worker's own) and sources from
    several publishers, one of them satellite imagery: enough for every grade."""
    setup_django()
    from heritage.models import Site
    from reports.models import Source
    from tests.helpers import reviewed

    for n in range(SHARED_SITES):
        reviewed(Site(name=f"Shared site {n}", slug=f"shared-{n}", kind="temple"))
    for index in range(WORKERS):
        reviewed(Site(name=f"Worker {index}'s site", slug=f"worker-{index}", kind="tomb"))
    publishers = ["Alpha Daily", "Beta Times", "Gamma Wire", "", "Delta Post"]
    for n, publisher in enumerate(publishers):
        Source(kind="news", title=f"Report {n}", publisher=publisher, published="2015-09").save()
    Source(kind="satellite", title="Imagery analysis", publisher="Orbit Lab").save()


def snapshot(record):
    name = record._meta.model_name
    return name, str(record.pk), {field: getattr(record, field) for field in FIELDS[name]}


def work(index, folder):
    """One worker's round, as fast as it goes; what it committed, into work-N.json."""
    setup_django()
    from django.db import connection, transaction

    from heritage import workflow
    from heritage.models import DamageEvent, PendingChange, Site, State
    from reports.models import Citation, Source

    command = workflow.Command(f"worker {index}")
    rng = random.Random(index)
    # Drafts go on sites every worker shares; publishing only on the worker's own.
    # DamageEvent.save derives a site's condition outside any transaction of its own
    # (read, then write), so two processes publishing on one site at once can leave it
    # stale until the next save there: a race in the model, not a lock, which would
    # make the check of conditions below fail only now and then.
    shared = list(Site.objects.filter(slug__startswith="shared-"))
    own = Site.objects.get(slug=f"worker-{index}")
    sources = list(Source.objects.order_by("pk"))
    ledger = {"damageevent": {}, "citation": {}}
    rolled_back = 0

    def note(snap):
        name, pk, values = snap
        entry = ledger[name].setdefault(pk, {"saves": 0})
        entry["saves"] += 1
        entry.update(values)

    def save(record, pending=None):
        """Through the workflow, as a command: a change to a published event is a
        proposal the command approves at once (a new citation's row is then saved twice:
        proposed, then approved)."""
        outcome = workflow.save(record, command, "Written by the concurrency test")
        if outcome.pending:
            workflow.approve(outcome.proposal, command, "Approved by the concurrency test")
        live = type(record).objects.get(pk=outcome.record.pk)
        proposal = outcome.proposal
        added = proposal is not None and proposal.action == PendingChange.Action.ADD
        written = 2 if added else 1 if (outcome.changed or proposal) else 0
        snaps = [snapshot(live)] * written
        # Noted at once when it committed at once, else when its transaction does.
        for snap in snaps:
            if pending is None:
                note(snap)
            else:
                pending.append(snap)
        return live

    def publish(record, pending):
        live = workflow.transition(record, State.PUBLISHED, command, "Publishing")
        pending.append(snapshot(live))

    @contextmanager
    def committed():
        pending = []
        with transaction.atomic():
            yield pending
        for snap in pending:
            note(snap)

    def event(site, n, **fields):
        day = datetime.date(2012, 1, 1) + datetime.timedelta(days=rng.randrange(3000))
        return DamageEvent(
            site=site,
            summary=f"Worker {index}, iteration {n}",
            date=day.isoformat(),
            level=rng.choice(LEVELS),
            cause="shelling",
            **fields,
        )

    def citation(record, **fields):
        fields.setdefault("stance", "supports")
        return Citation(
            event=record,
            source=rng.choice(sources),
            claimed_level=rng.choice(["", record.level]),
            **fields,
        )

    def mine(name, **filters):
        model = DamageEvent if name == "damageevent" else Citation
        return model.objects.filter(pk__in=list(ledger[name]), **filters).order_by("pk")

    # Every worker connects, then waits for the others: the writes start together.
    connection.ensure_connection()
    (folder / f"ready-{index}").touch()
    deadline = time.monotonic() + TIME_LIMIT
    while not (folder / "go").exists():
        if time.monotonic() > deadline:
            raise SystemExit("no start signal")
        time.sleep(0.005)

    started, errors = time.perf_counter(), []
    try:
        for n in range(ITERATIONS):
            if n % 10 == 9:
                # A fresh connection now and then: its PRAGMAs run amid the writers, as
                # a gunicorn worker's do when CONN_MAX_AGE runs out.
                connection.close()
            step = ROUND[n % len(ROUND)]
            if step == "drafts":
                # Autocommit: each save() is several transactions of its own.
                draft = event(rng.choice(shared), n)
                save(draft)
                for _ in range(1 + n % 2):
                    save(citation(draft))
            elif step == "published":
                with committed() as pending:
                    published = event(own, n)
                    save(published, pending)
                    save(citation(published), pending)
                    save(citation(published, basis=rng.choice(["report", "imagery"])), pending)
                    publish(published, pending)
            elif step == "rolled back":
                try:
                    with transaction.atomic():
                        lost = event(own, n, description=LOST)
                        save(lost, [])
                        save(citation(lost, note=LOST), [])
                        publish(lost, [])
                        raise RolledBack
                except RolledBack:
                    rolled_back += 1
            elif step == "updates":
                changed = rng.choice(list(mine("damageevent")))
                changed.summary = f"Worker {index}, changed at iteration {n}"
                changed.level = rng.choice(LEVELS)
                save(changed)
                regraded = rng.choice(list(mine("citation")))
                regraded.basis = "imagery" if regraded.basis == "report" else "report"
                regraded.claimed_level = rng.choice(LEVELS[:4])
                save(regraded)
            else:
                with committed() as pending:
                    changed = rng.choice(list(mine("damageevent", state=State.PUBLISHED)))
                    changed.level = rng.choice(LEVELS)
                    save(changed, pending)
                    save(citation(changed, stance=rng.choice(["supports", "contradicts"])), pending)
    except Exception as error:
        errors.append(f"iteration {n}: {error!r}\n{traceback.format_exc()}")
    answer = {
        "ledger": ledger,
        "rolled_back": rolled_back,
        "errors": errors,
        "seconds": time.perf_counter() - started,
    }
    (folder / f"work-{index}.json").write_text(json.dumps(answer), encoding="utf-8")
    if errors:
        sys.exit(1)


def check():
    """Every event's stored grade and conflict flag against what refresh_verification
    computes from its citations now, and every site's condition against its events."""
    setup_django()
    from heritage.models import DamageEvent, Site

    events = []
    for event in DamageEvent.objects.prefetch_related("citations__source"):
        citations = list(event.citations.all())
        stored = [event.grade, event.has_conflict]
        derived = [event.verification(citations), event.citations_conflict(citations)]
        events.append([event.pk, stored, derived])
    sites = [
        [site.slug, site.condition, site.current_condition() or ""] for site in Site.objects.all()
    ]
    print(json.dumps({"events": events, "sites": sites}))


# The test


def environment(folder):
    env = {key: value for key, value in os.environ.items() if key != "SQLITE_TIMEOUT"}
    return env | {
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "heritage.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PYTHONPATH": str(ROOT),
    }


def run(env, *args):
    result = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def start_workers(env, folder):
    """Start the workers, give the signal once all are ready, and wait for them."""
    workers = []
    try:
        for index in range(WORKERS):
            with (folder / f"stderr-{index}.txt").open("w") as stderr:
                command = [sys.executable, __file__, "work", str(index), str(folder)]
                workers.append(subprocess.Popen(command, cwd=ROOT, env=env, stderr=stderr))
        deadline = time.monotonic() + TIME_LIMIT
        while len(list(folder.glob("ready-*"))) < WORKERS:
            dead = [w.args for w in workers if w.poll() is not None]
            assert not dead, f"workers ended before the start: {dead}"
            assert time.monotonic() < deadline, "workers did not start"
            time.sleep(0.01)
        (folder / "go").touch()
        return [worker.wait(timeout=TIME_LIMIT) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


def stored(db, table, columns):
    rows = db.execute(f"SELECT id, {', '.join(columns)} FROM {table}").fetchall()
    return {str(row[0]): dict(zip(columns, row[1:], strict=True)) for row in rows}


def saves(db, table):
    rows = db.execute(f"SELECT id, count(*) FROM {table} GROUP BY id").fetchall()
    return {str(pk): count for pk, count in rows}


def test_eight_processes_writing_at_once_all_land(tmp_path):
    env = environment(tmp_path)
    run(env, "manage.py", "migrate", "--no-input", "-v0")
    run(env, __file__, "seed")

    codes = start_workers(env, tmp_path)

    stderr = "".join((tmp_path / f"stderr-{i}.txt").read_text() for i in range(WORKERS))
    reports = [
        json.loads((tmp_path / f"work-{i}.json").read_text())
        for i in range(WORKERS)
        if (tmp_path / f"work-{i}.json").exists()
    ]
    errors = [error for report in reports for error in report["errors"]]
    locked = [error for error in errors if "OperationalError" in error]
    assert not locked, locked[0]
    assert "database is locked" not in stderr, stderr
    assert errors == [], errors[0]
    assert codes == [0] * WORKERS, stderr
    assert len(reports) == WORKERS

    # Every committed write is there, as last written, and nothing else.
    events, citations = {}, {}
    for report in reports:
        assert not events.keys() & report["ledger"]["damageevent"].keys()
        events |= report["ledger"]["damageevent"]
        citations |= report["ledger"]["citation"]
    assert [report["rolled_back"] for report in reports] == [ITERATIONS // len(ROUND)] * WORKERS
    per_worker_events, per_worker_citations = expected_rows()
    assert (len(events), len(citations)) == (
        WORKERS * per_worker_events,
        WORKERS * per_worker_citations,
    )
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    try:
        for name, table, ledger in [
            ("damageevent", "heritage_damageevent", events),
            ("citation", "reports_citation", citations),
        ]:
            in_db = stored(db, table, FIELDS[name])
            assert in_db == {pk: {f: e[f] for f in FIELDS[name]} for pk, e in ledger.items()}
            # Each save() writes one row of edit history: none lost, none from rollbacks.
            history = table.replace("_", "_historical", 1)
            assert saves(db, history) == {pk: entry["saves"] for pk, entry in ledger.items()}
            column = "description" if name == "damageevent" else "note"
            for rows in (table, history):
                lost = f"SELECT count(*) FROM {rows} WHERE {column} = ?"
                assert db.execute(lost, [LOST]).fetchone() == (0,)
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        db.close()

    derived = json.loads(run(env, __file__, "check"))
    assert len(derived["events"]) == len(events)
    assert [e for e in derived["events"] if e[1] != e[2]] == []
    assert [s for s in derived["sites"] if s[1] != s[2]] == []
    # The rounds reached the grades that matter, and damaged every worker's site.
    assert {grade for _, (grade, _), _ in derived["events"]} >= {"confirmed", "weak", "fair"}
    assert all(condition for slug, condition, _ in derived["sites"] if slug.startswith("worker"))


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "seed":
        seed()
    elif command == "work":
        work(int(arguments[0]), Path(arguments[1]))
    elif command == "check":
        check()
