"""`make loadtest`: the register under a crowd of readers while a curator writes.

Serves a copy of demo data (`manage.py generate_demo`, built once into var/loadtest/,
and into PostgreSQL's heritage_loadtest when PostgreSQL answers) with gunicorn on
loopback, on SQLite and then on PostgreSQL. wrk's 50 connections rotate through public pages and API
calls for LOADTEST_SECONDS (default 60) while a curator, in a thread of this process,
adds draft events and citations through the API with a token and corrects some,
pausing 150 ms after each answer. Any socket error, any answer outside 2xx and 3xx,
any failed or missing write, or a run past its time limit fails it. Prints the
figures and writes them into docs/benchmarks.md between the loadtest markers.

    python bench/loadtest.py [--seconds N] [--no-docs] [--no-postgres]
"""

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

# Run as a script (python bench/loadtest.py), so the checkout is not on the path yet.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (  # noqa: E402
    BIN,
    DOCS,
    ROOT,
    build,
    collect_static,
    free_port,
    log,
    machine,
    refresh,
    serve,
    server_env,
    sqlite_database,
    write_docs,
)

VAR = ROOT / "var" / "loadtest"
POSTGRES_BASE = os.environ.get(
    "LOADTEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/heritage_loadtest"
)
POSTGRES_BASE_NAME = POSTGRES_BASE.rpartition("/")[2]
POSTGRES_RUN_NAME = f"{POSTGRES_BASE_NAME}_run"
SIZES = {"sites": 2_000, "events": 20_000, "sources": 6_000, "citations": 50_000}
SEED = 1
CONNECTIONS = 50
WRK_THREADS = 2
# Requests slower than this count as errors (wrk's timeouts).
WRK_TIMEOUT = 10
# Sync workers, 2 × cores + 1 (gunicorn's own rule): the pages are Python bound to the
# CPU, so threads sharing one interpreter lock add no throughput on two cores, and a
# gthread worker keeps each kept-alive connection however long its queue (tried: the
# slowest tenth of requests waited up to twice as long, and the curator's writes
# anywhere from a fifth to twice as long, by the worker their connection landed on).
# Sync workers all take the next request from one queue, in turn; the fifth keeps both
# cores busy while another waits on SQLite, Redis or a slow socket.
GUNICORN = ["--workers", "5"]
CURATOR_PAUSE = 0.15  # seconds between two of the curator's writes
TIME_LIMIT = 300  # seconds for a whole run, building the data (some 20 s) included
REDIS = ("127.0.0.1", 6379)
REDIS_DB = 2
SEARCH = "roof"
MARK = "Load test"  # starts the summary of every event the curator adds
START, END = "<!-- loadtest:start -->", "<!-- loadtest:end -->"
METHOD = (
    "`make loadtest` serves a fresh copy of smaller demo data with gunicorn on loopback "
    "(`DEBUG` off, persistent connections, the cache on Redis when it answers), and wrk "
    f"keeps {CONNECTIONS} connections busy for a minute, each going round the public pages "
    "and API calls listed below: a site with 200 events, full-text search, a cursor page, "
    "filtered pages, the GeoJSON map of every site. Meanwhile a curator, authenticated by "
    "token, adds draft events and citations through the API and corrects some, each write "
    f"{CURATOR_PAUSE * 1000:.0f} ms after the answer to the one before. Throttling stays on, "
    "but `API_ANON_RATE` is raised to a million a second: every reader comes from one "
    "loopback address, which the default rate would throttle within a second. gunicorn "
    "runs five sync workers (2 × cores + 1): the pages are Python bound to the CPU, so "
    "threads add nothing on two cores, and sync workers take every request from one queue "
    "in turn (gthread workers, tried, keep each connection on one worker however long its "
    "queue: the slowest tenth of requests waited up to twice as long). The run fails on "
    "any socket error or timeout (over "
    f"{WRK_TIMEOUT} s), any answer outside 2xx and 3xx, any write refused or missing from "
    f"the database afterwards, or a run over {TIME_LIMIT // 60} minutes. Latencies are "
    "wrk's, from sending a request to the last byte of its answer: with "
    f"{CONNECTIONS} connections and no pause between requests they are mostly queueing, "
    f"{CONNECTIONS} divided by the requests a second. The figures between the markers are "
    "rewritten by each run."
)
SECTION = f"\n## Load test\n\n{textwrap.fill(METHOD, 88)}\n\n{START}\n{END}\n"


class Failed(Exception):
    pass


def remaining(deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise Failed(f"the run took more than {TIME_LIMIT} s")
    return left


# The data: built once, copied for each run


def base_database():
    return sqlite_database(VAR, SIZES)[1]


def run_folder(name):
    folder = VAR / "run" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def sqlite_copy():
    """A copy for this run, so that the curator's writes never reach the next one.
    Through SQLite's backup, which includes what is still in the base's WAL file."""
    base = base_database()
    folder = run_folder("sqlite")
    path = folder / "register.sqlite3"
    source, copy = sqlite3.connect(base), sqlite3.connect(path)
    try:
        source.backup(copy)
        # Set now, once: otherwise the workers' first connections would all try to.
        copy.execute("PRAGMA journal_mode=WAL")
    finally:
        source.close()
        copy.close()
    return folder, f"sqlite:///{path}"


def postgres_copy():
    """The same for PostgreSQL: the demo data built once into heritage_loadtest, and
    each run on a database made from it as a template. None if PostgreSQL is not there."""
    import psycopg

    server, _, _ = POSTGRES_BASE.rpartition("/")
    try:
        with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=3) as db:
            built = db.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [POSTGRES_BASE_NAME]
            ).fetchone()
    except psycopg.OperationalError as error:
        log(f"PostgreSQL is not reachable ({error}); loading SQLite only.")
        return None
    marker = VAR / "postgres.built"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{POSTGRES_RUN_NAME}" WITH (FORCE)')
        if not (built and marker.exists()):
            db.execute(f'DROP DATABASE IF EXISTS "{POSTGRES_BASE_NAME}" WITH (FORCE)')
            db.execute(f'CREATE DATABASE "{POSTGRES_BASE_NAME}"')
            marker.unlink(missing_ok=True)
            build(POSTGRES_BASE, SIZES)
            with psycopg.connect(POSTGRES_BASE, autocommit=True) as base:
                base.execute("VACUUM ANALYZE")
            VAR.mkdir(parents=True, exist_ok=True)
            marker.touch()
        else:
            refresh(POSTGRES_BASE)
        db.execute(
            f'CREATE DATABASE "{POSTGRES_RUN_NAME}" TEMPLATE "{POSTGRES_BASE_NAME}" '
            "STRATEGY FILE_COPY"
        )
    return run_folder("postgres"), f"{server}/{POSTGRES_RUN_NAME}"


def prepare(env, deadline):
    """Ask Django, in a process of its own, for what the load needs, and make the
    curator with their token."""
    result = subprocess.run(
        [sys.executable, str(Path(__file__)), "--prepare"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=remaining(deadline),
    )
    return json.loads(result.stdout)


def run_prepare():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heritage.settings")
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db.models import Count
    from rest_framework.authtoken.models import Token

    from heritage.models import Site
    from reports.models import Source

    busiest = Site.objects.annotate(n=Count("events")).order_by("-n", "pk").first()
    user, _ = get_user_model().objects.get_or_create(
        username="loadtest-curator", defaults={"is_staff": True}
    )
    user.groups.add(Group.objects.get(name="curator"))
    token, _ = Token.objects.get_or_create(user=user)
    rng = random.Random(SEED)
    slugs = list(Site.objects.order_by("pk").values_list("slug", flat=True))
    sources = list(Source.objects.order_by("pk").values_list("pk", flat=True))
    print(
        json.dumps(
            {
                "slug": busiest.slug,
                "events": busiest.n,
                "token": token.key,
                "curator_slugs": rng.sample(slugs, min(50, len(slugs))),
                "curator_sources": rng.sample(sources, min(50, len(sources))),
                "cache": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
            }
        )
    )


def redis_flush():
    """Empty the cache's Redis database, if Redis answers: whether it does decides
    CACHE_URL. Spoken directly, so that the load test needs no Redis client."""
    try:
        with socket.create_connection(REDIS, timeout=2) as connection:
            connection.sendall(
                f"*2\r\n$6\r\nSELECT\r\n${len(str(REDIS_DB))}\r\n{REDIS_DB}\r\n".encode()
                + b"*1\r\n$7\r\nFLUSHDB\r\n"
            )
            answer = b""
            while answer.count(b"\r\n") < 2:
                chunk = connection.recv(64)
                if not chunk:
                    break
                answer += chunk
    except OSError:
        return None
    if answer != b"+OK\r\n+OK\r\n":
        raise Failed(f"Redis did not flush db {REDIS_DB}: {answer!r}")
    return f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}"


# What the readers ask for


def reader_paths(base, found):
    slug = found["slug"]
    paths = [
        "/",
        "/sites/",
        f"/sites/{slug}/",
        "/sites/?kind=temple&condition=destroyed",
        "/events/",
        f"/events/?q={SEARCH}",
        "/sources/",
        "/api/v1/events/?page_size=50",
        None,  # the second page, by its cursor
        "/api/v1/events/?level=destroyed",
        "/api/v1/events/?level=destroyed&date_after=2015&date_before=2016",
        "/api/v1/sites/?format=geojson",
        f"/api/v1/sites/{slug}/",
        "/api/v1/sources/",
    ]
    following = json.loads(get(f"{base}/api/v1/events/?page_size=50", 60))["next"]
    paths[paths.index(None)] = following.removeprefix(base)
    return paths


class Unredirected(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer to report, not to follow


def get(url, timeout):
    try:
        with urllib.request.build_opener(Unredirected).open(url, timeout=timeout) as answer:
            return answer.read()
    except urllib.error.HTTPError as error:
        raise Failed(f"{url} answered {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        raise Failed(f"{url}: {error.reason}") from error


def warm(base, paths, deadline):
    """Each path once, and it must answer 200, not redirect: wrk counts only errors,
    and not of which path."""
    for path in paths:
        get(base + path, remaining(deadline))


def wrk(base, paths_file, seconds, deadline):
    script = Path(__file__).with_name("loadtest.lua")
    command = ["wrk", "--threads", str(WRK_THREADS), "--connections", str(CONNECTIONS)]
    command += ["--duration", f"{seconds}s", "--timeout", f"{WRK_TIMEOUT}s", "--latency"]
    command += ["--script", str(script), f"{base}/", "--", str(paths_file)]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=remaining(deadline)
        )
    except subprocess.TimeoutExpired as error:
        raise Failed(f"wrk ran past the time limit of {TIME_LIMIT} s") from error
    return json.loads(result.stdout.strip().splitlines()[-1])


# The curator


class Curator(threading.Thread):
    """Writes through the API at a steady pace until stopped: a new draft event, a
    citation supporting it, a correction of the event, then of the citation (each read
    first, for its ETag, and read again after, where it must show the write). Every
    answer must be 2xx; each write's time is kept."""

    def __init__(self, port, found):
        super().__init__(name="curator", daemon=True)
        self.port, self.found = port, found
        self.stop = threading.Event()
        self.rng = random.Random(SEED)
        self.times = {"add event": [], "add citation": [], "correct event": []}
        self.times["correct citation"] = []
        self.failures, self.events, self.citations = [], [], []
        self.succeeded = dict.fromkeys(self.times, 0)
        self.checked = 0  # writes read back at once and found there
        self.connection = None

    def request(self, method, path, body=None, **extra):
        """(status, headers, content), or None after a failure it has noted."""
        headers = {
            "Authorization": f"Token {self.found['token']}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        } | extra
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            payload = None if body is None else json.dumps(body)
            self.connection.request(method, path, payload, headers)
            answer = self.connection.getresponse()
            return answer.status, answer.headers, answer.read()
        except (OSError, http.client.HTTPException) as error:
            self.connection = None
            self.failures.append(f"{method} {path}: {error!r}")
            return None

    def correct(self, kind, path, body):
        """A correction as a curator makes one: read the record, then change it saying
        which version was read (If-Match: the API refuses a change without it)."""
        read = self.request("GET", path)
        if read is None:
            return None
        if read[0] != 200:
            self.failures.append(f"GET {path}: {read[0]} {read[2][:300]!r}")
            return None
        return self.send(kind, "PATCH", path, body, **{"If-Match": read[1]["ETag"]})

    def send(self, kind, method, path, body, **extra):
        started = time.perf_counter()
        answered = self.request(method, path, body, **extra)
        if answered is None:
            return None
        status, _, content = answered
        self.times[kind].append(time.perf_counter() - started)
        if not 200 <= status < 300:
            self.failures.append(f"{method} {path}: {status} {content[:300]!r}")
            return None
        self.succeeded[kind] += 1
        record = json.loads(content)
        # The record's own address: the one written to, or the new record's.
        self.check_visible(path if method != "POST" else f"{path}{record['id']}/", body)
        return record

    def check_visible(self, path, body):
        """The next read of what was written shows it: the record's own address, read
        again at once, holds every value sent."""
        read = self.request("GET", path)
        if read is None or read[0] != 200:
            self.failures.append(f"GET {path} after writing it: {read and read[0]}")
            return
        shown = json.loads(read[2])
        stale = {k: v for k, v in body.items() if k in shown and shown[k] != v}
        if stale:
            self.failures.append(f"{path} read after the write still shows {stale}")
        self.checked += 1

    def run(self):
        rng, n = self.rng, 0
        event = citation = None
        while not self.stop.is_set():
            step = n % 4
            if step == 0 or event is None:
                event = self.send(
                    "add event",
                    "POST",
                    "/api/v1/events/",
                    {
                        "site": rng.choice(self.found["curator_slugs"]),
                        "summary": f"{MARK}: walls damaged ({n})",
                        "date": f"2016-{rng.randint(1, 12):02d}",
                        "level": rng.choice(["slight", "moderate", "severe"]),
                        "cause": "shelling",
                    },
                )
                if event:
                    self.events.append(event["id"])
            elif step == 1:
                citation = self.send(
                    "add citation",
                    "POST",
                    "/api/v1/citations/",
                    {
                        "event": event["id"],
                        "source": rng.choice(self.found["curator_sources"]),
                        "stance": "supports",
                        "claimed_level": event["level"],
                        "note": MARK,
                    },
                )
                if citation:
                    self.citations.append(citation["id"])
            elif step == 2:
                self.correct(
                    "correct event",
                    f"/api/v1/events/{event['id']}/",
                    {"level": rng.choice(["severe", "destroyed"]), "extent": "31-60"},
                )
            elif citation:
                self.correct(
                    "correct citation",
                    f"/api/v1/citations/{citation['id']}/",
                    {"locator": f"paragraph {rng.randint(1, 9)}"},
                )
            n += 1
            self.stop.wait(CURATOR_PAUSE)
        if self.connection is not None:
            self.connection.close()


def database_rows(url):
    """A function that runs one query on the run's database (placeholders %s)."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")

        def query(sql, parameters=()):
            with sqlite3.connect(path) as db:
                return db.execute(sql.replace("%s", "?"), parameters).fetchall()

        return query
    import psycopg

    def query(sql, parameters=()):
        with psycopg.connect(url) as db:
            return db.execute(sql, parameters).fetchall()

    return query


def landed(url, curator):
    """Whether the database holds every write the curator was answered 2xx for: the
    rows they were given the ids of, and a version in the edit history for each add and
    each correction."""
    done = curator.succeeded
    tables = [
        ("events", "heritage_damageevent", "summary LIKE %s", f"{MARK}:%", curator.events),
        ("citations", "reports_citation", "note = %s", MARK, curator.citations),
    ]
    expected_versions = {
        "events": done["add event"] + done["correct event"],
        "citations": done["add citation"] + done["correct citation"],
    }
    problems = []
    query = database_rows(url)
    for name, table, condition, mark, added in tables:
        rows = {pk for (pk,) in query(f"SELECT id FROM {table} WHERE {condition}", [mark])}
        if rows != set(added):
            problems.append(f"{name}: {len(added)} added, {len(rows)} in the database")
        history = table.replace("_", "_historical", 1)
        versions = query(f"SELECT count(*) FROM {history} WHERE {condition}", [mark])[0][0]
        if versions != expected_versions[name]:
            problems.append(
                f"{name}: {expected_versions[name]} writes answered, {versions} versions kept"
            )
    if url.startswith("sqlite:///"):
        integrity = query("PRAGMA integrity_check")[0][0]
        if integrity != "ok":
            problems.append(f"integrity check: {integrity}")
    return problems


# The server's own account


def access_log(path):
    """Requests the server answered, from its access log: status, microseconds, path."""
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        status, micros, method, target = line.split(" ", 3)
        rows.append((int(status), int(micros), method, target))
    return rows


def per_path(rows, paths):
    """Each path's count and median service time, as gunicorn measured it."""
    times = {path: [] for path in paths}
    for _, micros, method, target in rows:
        if method == "GET" and target.rstrip("?") in times:
            times[target.rstrip("?")].append(micros / 1000)
    return {path: (len(ms), statistics.median(ms) if ms else 0) for path, ms in times.items()}


def percentile(values, p):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# The report


def report(figures, curator, found, setup, paths_served, cache_url):
    writes = [t for kind in curator.times.values() for t in kind]
    kinds = ", ".join(f"{len(t)} {kind}" for kind, t in curator.times.items())
    socket_errors = sum(
        figures[key] for key in ("connect_errors", "read_errors", "write_errors", "timeouts")
    )
    sizes = ", ".join(f"{count:,} {name}" for name, count in SIZES.items())
    cache = found["cache"]
    if cache_url:
        cache += f" (CACHE_URL={cache_url} passed; Redis db {REDIS_DB} flushed first)"
    lines = [
        f"Data: `generate_demo --seed {SEED}`, {sizes}; the busiest site has "
        f"{found['events']} events. A fresh copy for each run.",
        "",
        machine(None),
        f"- Load average before the run: {found['load']} (other work on the machine slows "
        "everything here).",
        f"- gunicorn `{' '.join(setup)}`; cache: {cache}.",
        f"- wrk: {WRK_THREADS} threads, {CONNECTIONS} connections, "
        f"{figures['seconds']:.0f} s, {len(paths_served)} paths in turn.",
        "",
        "| figure | value |",
        "|---|--:|",
        f"| requests | {figures['requests']:,} |",
        f"| requests/s | {figures['requests'] / figures['seconds']:.0f} |",
        f"| latency p50 / p90 / p99 | {figures['p50_ms']:.0f} / {figures['p90_ms']:.0f} / "
        f"{figures['p99_ms']:.0f} ms |",
        f"| slowest | {figures['max_ms']:.0f} ms |",
        f"| socket errors and timeouts | {socket_errors} |",
        f"| answers outside 2xx/3xx | {figures['http_errors']} |",
        f"| curator's writes ({kinds}) | {len(writes)}, {len(curator.failures)} failed |",
        f"| writes read back at once and showing the change | {curator.checked} |",
        f"| curator's write p50 / p99 | {percentile(writes, 50) * 1000:.0f} / "
        f"{percentile(writes, 99) * 1000:.0f} ms |",
        "",
        "Per path, the time a worker spent on each request as gunicorn's access log has "
        "it, without the time queued before:",
        "",
        "| path | requests | median ms |",
        "|---|--:|--:|",
    ]
    for path, (count, median) in paths_served.items():
        shown = path if len(path) < 70 else path[:60] + "…"
        lines.append(f"| `{shown}` | {count:,} | {median:.1f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("LOADTEST_SECONDS", 60)))
    parser.add_argument("--no-docs", action="store_true", help="Print only.")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only.")
    parser.add_argument(
        "--gunicorn",
        default=" ".join(GUNICORN),
        help=f"gunicorn's worker options, to try others (default: {' '.join(GUNICORN)}).",
    )
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.prepare:
        return run_prepare()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk (Debian's package).")
    collect_static()
    texts, failures = [], []
    databases = [("SQLite", sqlite_copy)]
    if not options.no_postgres:
        databases.append(("PostgreSQL", postgres_copy))
    for name, copy in databases:
        made = copy()
        if made is None:
            continue
        log(f"{name}:")
        text, failed = load(name, *made, options)
        print(text)
        texts.append(f"### {name}\n\n{text}")
        failures += [f"{name}: {failure}" for failure in failed]
    if failures:
        sys.exit("make loadtest failed:\n- " + "\n- ".join(failures))
    if not options.no_docs:
        write_docs("\n\n".join(texts), START, END, SECTION)
        log(f"Written into {DOCS.relative_to(ROOT)}.")


def load(name, folder, url, options):
    """One run on one database: (its report, what failed)."""
    deadline = time.monotonic() + TIME_LIMIT
    # Plain HTTP on loopback: with DEBUG off every page would otherwise redirect to HTTPS.
    env = server_env(url) | {"SECURE_SSL_REDIRECT": "0"}
    cache_url = redis_flush()
    if cache_url:
        env["CACHE_URL"] = cache_url
    found = prepare(env, deadline)
    found["load"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    port = free_port()
    workers = options.gunicorn.split()
    setup = [*workers, "--access-logfile", str(folder / "access.log")]
    setup += ["--access-logformat", "%(s)s %(D)s %(m)s %(U)s?%(q)s"]
    setup += ["--error-logfile", str(folder / "error.log")]
    command = [str(BIN / "gunicorn"), "heritage.wsgi", "--bind", f"127.0.0.1:{port}", *setup]
    failures = []
    with serve(command, env, port):
        base = f"http://127.0.0.1:{port}"
        paths = reader_paths(base, found)
        warm(base, paths, deadline)
        paths_file = folder / "paths.txt"
        paths_file.write_text("\n".join(paths) + "\n", encoding="utf-8")
        log(f"Load: {CONNECTIONS} connections for {options.seconds} s, and a curator …")
        curator = Curator(port, found)
        curator.start()
        try:
            figures = wrk(base, paths_file, options.seconds, deadline)
        finally:
            curator.stop.set()
            curator.join(timeout=60)
    rows = access_log(folder / "access.log")
    refused = [f"{status} {method} {target}" for status, _, method, target in rows if status >= 400]
    if refused:
        failures.append(f"{len(refused)} answers outside 2xx/3xx, first: {refused[:5]}")
    socket_errors = {key: figures[key] for key in figures if key.endswith(("errors", "timeouts"))}
    if any(socket_errors.values()):
        failures.append(f"wrk counted errors: {socket_errors}")
    failures += [f"curator: {failure}" for failure in curator.failures[:10]]
    if not curator.events:
        failures.append("curator: no write went through")
    failures += landed(url, curator)
    if time.monotonic() > deadline:
        failures.append(f"the run took more than {TIME_LIMIT} s")
    if failures:
        failures += (folder / "error.log").read_text(errors="replace").strip().splitlines()[-20:]
    return report(figures, curator, found, workers, per_path(rows, paths), cache_url), failures


if __name__ == "__main__":
    try:
        main()
    except Failed as failure:
        sys.exit(f"make loadtest failed: {failure}")
