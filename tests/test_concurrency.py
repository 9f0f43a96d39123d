"""Writers at once. Eight processes writing events and citations on one SQLite file:
none fails with "database is locked", every write lands (and nothing rolled back does),
and the derived grades and conditions still agree with the citations. Then the races
an adversarial test found, on SQLite and on PostgreSQL alike (test_two_writers…, below):
no acknowledged edit lost, no stale grade or condition, no last support removed twice
over, no publication undone by a save from an older read.

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

import pytest

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


# Races, on the database the suite runs on: SQLite, where IMMEDIATE transactions queue
# every writer, and PostgreSQL, where READ COMMITTED lets two transactions read the same
# row at once and only row locks keep them apart. Each scenario runs its writers as
# separate processes on a database of their own (a file, or a PostgreSQL database made
# and dropped here), ROUNDS times, each round started by a signal all of them wait for.

ROUNDS = 20
RACE_WORKERS = 2


@pytest.fixture(scope="module")
def race(tmp_path_factory):
    """Runs a scenario's seed, its writers and its check against the race database."""
    folder = tmp_path_factory.mktemp("races")
    from tests.databases import new_database  # here: this file also runs as a script

    url, drop = new_database(folder, "race")
    (folder / "static").mkdir()
    env = environment(folder) | {
        "DATABASE_URL": url,
        "ALLOWED_HOSTS": "testserver",
        # Production settings, but plain HTTP: the test client has no TLS to redirect to.
        "SECURE_SSL_REDIRECT": "false",
        "STATIC_ROOT": str(folder / "static"),
    }
    try:
        run(env, "manage.py", "migrate", "--no-input", "-v0")

        def play(scenario):
            here = folder / scenario
            here.mkdir()
            run(env, __file__, "race-seed", scenario, str(here))
            workers = [
                subprocess.Popen(
                    [sys.executable, __file__, "race-work", scenario, str(n), str(here)],
                    cwd=ROOT,
                    env=env,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for n in range(RACE_WORKERS)
            ]
            try:
                codes = [w.wait(timeout=TIME_LIMIT) for w in workers]
            finally:
                for worker in workers:
                    if worker.poll() is None:
                        worker.kill()
            errors = [w.stderr.read() for w in workers]
            assert codes == [0] * RACE_WORKERS, "\n".join(errors)
            results = [
                json.loads((here / f"result-{n}.json").read_text()) for n in range(RACE_WORKERS)
            ]
            return results, json.loads(run(env, __file__, "race-check", scenario, str(here)))

        yield play
    finally:
        drop()


def race_seed(scenario, folder):
    """The records a scenario's rounds race on, one set per round, and the people."""
    setup_django()
    from django.contrib.auth.models import Group, User

    from heritage import workflow
    from heritage.models import DamageEvent, Site, State
    from reports.models import Citation, Source
    from tests.helpers import SETUP, reviewed

    people = {}
    for name, role in [("curator-0", "curator"), ("curator-1", "curator"),
                       ("editor-0", "editor"), ("editor-1", "editor")]:  # fmt: skip
        user, _ = User.objects.get_or_create(username=name, defaults={"is_staff": True})
        user.groups.add(Group.objects.get(name=role))
        people[name] = user.pk
    rounds = []
    for n in range(ROUNDS):
        slug = f"{scenario.replace(' ', '-')}-{n}"
        site = reviewed(Site(name=f"Site {slug}", slug=slug, kind="temple"))
        reuters = Source.objects.create(kind="news", title=f"R{n}", publisher="Reuters")
        record = {"site": site.pk}
        if scenario == "lost update":
            event = DamageEvent.objects.create(site=site, summary="First", date="2015")
            record["event"] = event.pk
        elif scenario == "stale grade":
            event = DamageEvent.objects.create(site=site, summary="Two reports", date="2015")
            record["event"] = event.pk
            record["sources"] = [
                Source.objects.create(kind="news", title=f"{p}{n}", publisher=p).pk
                for p in ("AFP", "AP")
            ]
        elif scenario == "stale condition":
            record["events"] = []
            for level, date in (("severe", "2015-01"), ("destroyed", "2015-06")):
                event = DamageEvent.objects.create(site=site, summary=level, date=date, level=level)
                workflow.save(Citation(event=event, source=reuters), SETUP, "Seed")
                workflow.transition(event, State.REVIEW, SETUP, "Seed")
                record["events"].append(event.pk)
        elif scenario == "last support":
            event = DamageEvent.objects.create(site=site, summary="Published", date="2015")
            afp = Source.objects.create(kind="news", title=f"A{n}", publisher="AFP")
            citations = [
                workflow.save(Citation(event=event, source=source), SETUP, "Seed").record
                for source in (reuters, afp)
            ]
            workflow.transition(event, State.PUBLISHED, SETUP, "Seed")
            curator = User.objects.get(pk=people["curator-0"])
            record["event"] = event.pk
            record["proposals"] = [
                workflow.delete(Citation.objects.get(pk=c.pk), curator, "Duplicate").proposal.pk
                for c in citations
            ]
        elif scenario == "save after publish":
            event = DamageEvent.objects.create(site=site, summary="In review", date="2015")
            workflow.save(Citation(event=event, source=reuters), SETUP, "Seed")
            workflow.transition(event, State.REVIEW, SETUP, "Seed")
            record["event"] = event.pk
        rounds.append(record)
    (folder / "seed.json").write_text(json.dumps({"people": people, "rounds": rounds}))


def race_work(scenario, index, folder):
    """One writer: for each round, wait for the others, then race."""
    setup_django()
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    from heritage import workflow
    from heritage.models import PendingChange

    seed = json.loads((folder / "seed.json").read_text())
    users = {name: User.objects.get(pk=pk) for name, pk in seed["people"].items()}
    outcomes = []

    def client(name):
        api = APIClient()
        api.force_authenticate(users[name])
        return api

    for n, record in enumerate(seed["rounds"]):
        prepared = prepare(scenario, index, record, client)
        barrier(folder, n, index)
        outcomes.append(act(scenario, index, record, prepared, client, users, workflow,
                            PendingChange))  # fmt: skip
    (folder / f"result-{index}.json").write_text(json.dumps(outcomes))


def barrier(folder, round_number, index):
    """Wait until every writer has reached this round: they then go at once."""
    (folder / f"round-{round_number}-{index}").touch()
    deadline = time.monotonic() + TIME_LIMIT
    while len(list(folder.glob(f"round-{round_number}-*"))) < RACE_WORKERS:
        if time.monotonic() > deadline:
            raise SystemExit("the other writers never came")
        time.sleep(0.001)


def prepare(scenario, index, record, client):
    """What each writer reads before the race: the record and its ETag, as a client
    would have read it before deciding to write."""
    if scenario in ("lost update", "save after publish"):
        url = f"/api/v1/events/{record['event']}/"
        name = f"curator-{index}" if scenario == "lost update" else f"editor-{index}"
        return client(name).get(url, HTTP_ACCEPT="application/json")["ETag"]
    return None


def act(scenario, index, record, etag, client, users, workflow, PendingChange):
    url = f"/api/v1/events/{record.get('event')}/"
    if scenario == "lost update":
        field = ("summary", "description")[index]
        value = f"Written by writer {index}"
        response = client(f"curator-{index}").patch(url, {field: value}, "json", HTTP_IF_MATCH=etag)
        return {"status": response.status_code, "field": field, "value": value}
    if scenario == "stale grade":
        response = client(f"curator-{index}").post(
            "/api/v1/citations/",
            {"event": record["event"], "source": record["sources"][index], "stance": "supports"},
            "json",
        )
        return {"status": response.status_code}
    if scenario == "stale condition":
        event = record["events"][index]
        response = client(f"editor-{index}").patch(
            f"/api/v1/events/{event}/",
            {"state": "published", "reason": "Checked"},
            "json",
            HTTP_IF_MATCH=client(f"editor-{index}").get(f"/api/v1/events/{event}/")["ETag"],
        )
        return {"status": response.status_code}
    if scenario == "last support":
        proposal = PendingChange.objects.get(pk=record["proposals"][index])
        try:
            workflow.approve(proposal, users[f"editor-{index}"], "Duplicate indeed")
            return {"approved": True}
        except workflow.Refused as error:
            return {"approved": False, "why": " ".join(error.messages)}
    if scenario == "save after publish":
        if index == 0:  # the editor who read it earlier, and now changes it
            response = client("editor-0").patch(
                url, {"description": "Changed after reading"}, "json", HTTP_IF_MATCH=etag
            )
        else:  # another editor, who read it at the same time, publishes it meanwhile
            response = client("editor-1").patch(
                url, {"state": "published", "reason": "Checked"}, "json", HTTP_IF_MATCH=etag
            )
        return {"status": response.status_code}
    raise ValueError(scenario)


def race_check(scenario, folder):
    """What the database holds after the races, for the test to judge."""
    setup_django()
    from heritage.models import DamageEvent, Site, condition_after
    from reports.models import Citation

    seed = json.loads((folder / "seed.json").read_text())
    found = []
    for record in seed["rounds"]:
        site = Site.objects.get(pk=record["site"])
        events = list(DamageEvent.objects.filter(site=site).order_by("pk"))
        found.append(
            {
                "events": [
                    {"pk": e.pk, "state": e.state, "summary": e.summary,
                     "description": e.description, "grade": e.grade,
                     "derived_grade": e.verification(), "supports": Citation.objects.filter(
                         event=e, stance="supports", approved=True).count()}
                    for e in events
                ],
                "condition": site.condition,
                "derived_condition": condition_after(site.events.published()) or "",
            }
        )  # fmt: skip
    print(json.dumps(found))


def test_two_writers_never_lose_an_acknowledged_edit(race):
    results, rounds = race("lost update")
    for n, state in enumerate(rounds):
        event = state["events"][0]
        acknowledged = [r[n] for r in results if r[n]["status"] == 200]
        # One of them wins; the other is told the record changed since it read it.
        assert sorted(r[n]["status"] for r in results) == [200, 412], n
        for edit in acknowledged:
            assert event[edit["field"]] == edit["value"], (n, edit)


def test_two_supporting_citations_added_at_once_both_count_in_the_grade(race):
    results, rounds = race("stale grade")
    assert all(r[n]["status"] == 201 for r in results for n in range(ROUNDS))
    for state in rounds:
        event = state["events"][0]
        assert event["grade"] == event["derived_grade"] == "fair"


def test_two_events_published_at_once_leave_their_site_in_the_right_condition(race):
    results, rounds = race("stale condition")
    assert all(r[n]["status"] == 200 for r in results for n in range(ROUNDS))
    for state in rounds:
        assert state["condition"] == state["derived_condition"] == "destroyed"


def test_the_last_support_is_not_removed_by_two_approvals_at_once(race):
    results, rounds = race("last support")
    for n, state in enumerate(rounds):
        approved = [r[n]["approved"] for r in results]
        assert sorted(approved) == [False, True], n
        assert state["events"][0]["supports"] == 1
        assert state["events"][0]["state"] == "published"


def test_a_save_made_from_a_read_before_publication_does_not_undo_it(race):
    results, rounds = race("save after publish")
    for n, state in enumerate(rounds):
        event = state["events"][0]
        writer, publisher = results[0][n]["status"], results[1][n]["status"]
        # Whichever goes first, the other is refused as stale; never both.
        assert sorted([writer, publisher]) == [200, 412], n
        if publisher == 200:
            assert event["state"] == "published"
            assert event["description"] == ""
        else:
            assert event["state"] == "review"
            assert event["description"] == "Changed after reading"


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "seed":
        seed()
    elif command == "work":
        work(int(arguments[0]), Path(arguments[1]))
    elif command == "check":
        check()
    elif command == "race-seed":
        race_seed(arguments[0], Path(arguments[1]))
    elif command == "race-work":
        race_work(arguments[0], int(arguments[1]), Path(arguments[2]))
    elif command == "race-check":
        race_check(arguments[0], Path(arguments[1]))
