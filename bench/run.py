"""`make bench`: the register at a country's scale, against Datasette and a floor.

Builds the demo data once per database (`manage.py generate_demo`, kept in var/bench/
and in the PostgreSQL database `heritage_bench`), serves it with gunicorn on loopback,
and measures each page with wrk: one connection, so that the latencies are service
times, for BENCH_SECONDS (default 10) after a warm-up. Beside it, on the same SQLite
file: Datasette's leanest JSON page and its CSV, and a floor view (bench/floor.py).
Each server is one process (gunicorn: one sync worker), on a machine of two cores: one
for the server, one for wrk. Prints one table per database and writes them into
docs/benchmarks.md.

    python bench/run.py [--seconds N] [--no-postgres] [--no-docs]
"""

import argparse
import datetime
import json
import os
import platform
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
VAR = ROOT / "var" / "bench"
DOCS = ROOT / "docs" / "benchmarks.md"
SIZES = {"sites": 10_000, "events": 100_000, "sources": 30_000, "citations": 250_000}
SEED = 1
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/heritage_bench"
)
# Rows before the deep page: half the events at most (the scale runs' smaller sizes).
DEEP = int(os.environ.get("BENCH_DEEP", 50_000))
# The sizes `--scale` measures, each with the same proportions as SIZES.
SCALES = (10_000, 100_000, 1_000_000)
SCALE_PAGES = (
    "API events, first page",
    f"API events, {DEEP:,} rows deep",
    "API events, level=destroyed",
    "GeoJSON of every site",
    "Home page",
    "Sites page",
    "Events page",
    "Events page, full-text search",
)
SCALE_START, SCALE_END = "<!-- scale:start -->", "<!-- scale:end -->"
LEAN = "_shape=objects&_nocount=1&_nofacet=1&_nosuggest=1&_size=100"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
KEPT = ", answer kept"


def log(message):
    print(message, file=sys.stderr, flush=True)


def server_env(database_url):
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        # A key for this run only; nothing is signed that outlives it.
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        # Throttling stays on, as in production, at a rate the load cannot reach.
        "API_ANON_RATE": "1000000/second",
        "PAGE_ANON_RATE": "1000000/second",
        "CONN_MAX_AGE": "600",
        # Plain HTTP on loopback: production's redirect to HTTPS would answer every page.
        "SECURE_SSL_REDIRECT": "false",
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "ERROR",
        # DEBUG off serves static files by their hashed names: collect_static() first.
        "STATIC_ROOT": str(ROOT / "var" / "bench" / "static"),
    }


def manage(env, *args):
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def collect_static():
    """The static files under their hashed names, as production serves them."""
    manage(server_env("sqlite:///:memory:"), "collectstatic", "--no-input", "-v0")


# The data, built once


def sqlite_database(folder=VAR, sizes=SIZES):
    """The SQLite file with the demo data of these `sizes`, built in `folder` if missing
    or incomplete."""
    folder.mkdir(parents=True, exist_ok=True)
    name = "register-{sites}-{events}-{sources}-{citations}".format(**sizes) + f"-{SEED}"
    path, done = folder / f"{name}.sqlite3", folder / f"{name}.built"
    url = f"sqlite:///{path}"
    if not done.exists():
        for stale in folder.glob(f"{name}.sqlite3*"):
            stale.unlink()
        build(url, sizes)
        done.touch()
    else:
        refresh(url)
    return url, path


def refresh(url):
    """Migrations made since the data was built (new indexes, say), and statistics for
    the planner that cover them."""
    manage(server_env(url), "migrate", "--no-input", "-v0")
    manage(
        server_env(url),
        "shell",
        "-c",
        "from django.db import connection; connection.cursor().execute('ANALYZE')",
    )


def postgres_database():
    """The PostgreSQL database with the demo data, or None if PostgreSQL is not there."""
    import psycopg

    base, _, name = POSTGRES_URL.rpartition("/")
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=3) as db:
            exists = db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                db.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        log(f"PostgreSQL is not reachable ({error}); measuring SQLite only.")
        return None
    refresh(POSTGRES_URL)
    with psycopg.connect(POSTGRES_URL) as db:
        events = db.execute("SELECT count(*) FROM heritage_damageevent").fetchone()[0]
        citations = db.execute("SELECT count(*) FROM reports_citation").fetchone()[0]
    if (events, citations) != (SIZES["events"], SIZES["citations"]):
        with psycopg.connect(f"{base}/postgres", autocommit=True) as db:
            db.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            db.execute(f'CREATE DATABASE "{name}"')
        build(POSTGRES_URL)
        with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
            db.execute("VACUUM ANALYZE")
    return POSTGRES_URL


def build(url, sizes=SIZES):
    log(f"Building the demo data in {url} (once) …")
    env = server_env(url)
    manage(env, "migrate", "--no-input", "-v0")
    started = time.perf_counter()
    arguments = [f"--{name}={count}" for name, count in sizes.items()]
    manage(env, "generate_demo", *arguments, f"--seed={SEED}", "--no-progress")
    log(f"Built in {time.perf_counter() - started:.0f} s.")


# What to measure


def probe(database_url):
    """Ask Django, in a process of its own, for the busiest site, a cursor 50,000 rows
    deep, and how many queries each of our pages takes."""
    result = subprocess.run(
        [sys.executable, str(Path(__file__)), "--probe"],
        cwd=ROOT,
        env=server_env(database_url),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout)


def our_pages(found):
    events = "/api/v1/events/?page_size=100"
    return {
        "API events, first page": events,
        f"API events, {DEEP:,} rows deep": f"{events}&cursor={found['cursor']}",
        "API events, level=destroyed": f"{events}&level=destroyed",
        "API events, level and dates": f"{events}&level=destroyed&date_after=2015&date_before=2016",
        "API events, full-text search": f"{events}&q=roof",
        "API sites, first page": "/api/v1/sites/?page_size=100",
        "API site (200 events)": f"/api/v1/sites/{found['slug']}/",
        "GeoJSON of every site": "/api/v1/sites/?format=geojson",
        "Home page": "/",
        "Sites page": "/sites/",
        "Sites page, filtered": "/sites/?kind=temple&condition=destroyed",
        "Site page (200 events)": f"/sites/{found['slug']}/",
        "Events page": "/events/",
        "Events page, full-text search": "/events/?q=roof",
        f"Source page (cited {found['source_citations']:,} times)": f"/sources/{found['source']}/",
    }


def datasette_pages(database, deep_id):
    table = f"/{database}/heritage_damageevent"
    return {
        "API events, first page": f"{table}.json?{LEAN}",
        f"API events, {DEEP:,} rows deep": f"{table}.json?{LEAN}&_next={deep_id}",
        "API events, level=destroyed": f"{table}.json?{LEAN}&level=destroyed",
        "API events, level and dates": f"{table}.json?{LEAN}&level=destroyed"
        "&date_upper__gte=2015-01-01&date_lower__lte=2016-12-31",
        "API events, full-text search": f"{table}.json?{LEAN}&summary__contains=Roof",
    }


FLOOR_PAGES = {"API events, first page": "/floor/events/?page_size=100"}


def run_probe():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heritage.settings")
    django.setup()
    from base64 import b64encode

    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from heritage.models import DamageEvent, Site
    from reports.models import Source

    busiest = Site.objects.annotate(n=Count("events")).order_by("-n", "pk").first()
    published = DamageEvent.objects.published().order_by("date_lower", "pk")
    # A cursor as the API hands out: rows after position `p`, then `o` more skipped.
    day = published.values_list("date_lower", flat=True)[DEEP]
    before = published.filter(date_lower__lt=day)
    position = before.values_list("date_lower", flat=True).last()
    skipped = DEEP - before.count()
    tokens = f"o={skipped}&p={position}" if position else f"o={DEEP}"
    cursor = b64encode(tokens.encode()).decode()
    deep_id = DamageEvent.objects.order_by("pk").values_list("pk", flat=True)[DEEP - 1]
    cited = (
        Source.objects.public()
        .annotate(n=Count("citations"))
        .order_by("-n", "pk")
        .values_list("pk", "n")
        .first()
    )
    found = {
        "slug": busiest.slug,
        "cursor": cursor,
        "source": cited[0],
        "source_citations": cited[1],
    }
    client = Client(HTTP_HOST="127.0.0.1")
    queries = {}
    for label, url in our_pages(found).items():
        with (
            override_settings(API_CACHE_SECONDS=0, PAGE_CACHE_SECONDS=0),
            CaptureQueriesContext(connection) as captured,
        ):
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        queries[label] = len(captured)
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        queries[label + KEPT] = len(captured)
    print(json.dumps(found | {"events": busiest.n, "deep_id": deep_id, "queries": queries}))


# Servers and the load generator


def free_port():
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


@contextmanager
def serve(command, env, port):
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not start") from None
                time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def gunicorn(app, env):
    port = free_port()
    command = [str(BIN / "gunicorn"), app, "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    return port, serve(command, env, port)


def datasette(path):
    port = free_port()
    command = [str(BIN / "datasette"), "serve", str(path), "--port", str(port)]
    return port, serve(command, {**os.environ}, port)


def worker_pid(process):
    """The process that answers: gunicorn's worker, or the server itself."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    pids = children.read_text().split() if children.exists() else []
    return int(pids[0]) if pids else process.pid


def peak_rss_mb(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def fetch(url):
    with urllib.request.urlopen(url, timeout=300) as response:
        size = 0
        while chunk := response.read(1 << 16):
            size += len(chunk)
        return response.status, size


def export(base, path, process, warm="/"):
    """Time a full export, and the serving process's peak memory (as resident set) so
    far: measured first, after one small request, so the peak is the export's."""
    fetch(base + warm)
    started = time.perf_counter()
    status, size = fetch(base + path)
    seconds = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"{path} answered {status}")
    return {"seconds": seconds, "mb": size / 1e6, "peak_mb": peak_rss_mb(worker_pid(process))}


def load(url, seconds):
    fetch(url)  # warm: imports, caches, the first connection
    for _ in range(20):
        fetch(url)
    result = subprocess.run(
        ["wrk", "--threads", "1", "--connections", "1", "--duration", f"{seconds}s"]
        + ["--latency", "--script", str(Path(__file__).with_name("report.lua")), url],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    if figures["socket_errors"] or figures["http_errors"]:
        raise RuntimeError(f"{url}: {figures}")
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


# One database


def afresh(env, pages, seconds, label):
    """The full CSV export, and each of `pages` as its first request costs: served with
    nothing kept between requests."""
    figures = {}
    port, server = gunicorn(
        "heritage.wsgi", {**env, "API_CACHE_SECONDS": "0", "PAGE_CACHE_SECONDS": "0"}
    )
    with server as process:
        base = f"http://127.0.0.1:{port}"
        csv = export(base, "/api/v1/events/?format=csv", process, "/api/v1/sites/?page_size=1")
        for name, path in pages.items():
            log(f"  {label}: {name}")
            figures[name] = load(base + path, seconds)
    return csv, figures


def measure(label, database_url, sqlite_path, seconds):
    found = probe(database_url)
    env = server_env(database_url)
    ours, theirs, floor = {}, {}, {}
    pages = our_pages(found)
    csv, ours = afresh(env, pages, seconds, label)
    # As served: a repeated anonymous request is answered from the cache, pages and API.
    port, server = gunicorn("heritage.wsgi", env)
    with server:
        for name, path in pages.items():
            log(f"  {label}: {name}{KEPT}")
            ours[name + KEPT] = load(f"http://127.0.0.1:{port}{path}", seconds)
    port, server = gunicorn("bench.floor:application", env)
    with server:
        for name, path in FLOOR_PAGES.items():
            floor[name] = load(f"http://127.0.0.1:{port}{path}", seconds)
    datasette_csv = None
    if sqlite_path:
        port, server = datasette(sqlite_path)
        with server as process:
            base = f"http://127.0.0.1:{port}"
            database = sqlite_path.stem
            datasette_csv = export(
                base, f"/{database}/heritage_damageevent.csv?_stream=on&_size=max", process
            )
            for name, path in datasette_pages(database, found["deep_id"]).items():
                log(f"  Datasette: {name}")
                theirs[name] = load(base + path, seconds)
    return {
        "label": label,
        "found": found,
        "ours": ours,
        "datasette": theirs,
        "floor": floor,
        "csv": csv,
        "datasette_csv": datasette_csv,
    }


def cell(figures, key, form):
    return form.format(figures[key]) if figures else "–"


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "–"


def table(result):
    ours, theirs, floor = result["ours"], result["datasette"], result["floor"]
    queries = result["found"]["queries"]
    lines = [
        f"### {result['label']}",
        "",
        "| measurement | req/s | p50 ms | p99 ms | queries | Datasette req/s | Datasette p50 ms "
        "| ours ÷ Datasette | floor req/s | ours ÷ floor |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    pages = list(dict.fromkeys(name.removesuffix(KEPT) for name in ours))
    for name in sorted(ours, key=lambda name: pages.index(name.removesuffix(KEPT))):
        figures = ours[name]
        them, low = theirs.get(name.removesuffix(KEPT)), floor.get(name.removesuffix(KEPT))
        cells = [
            name,
            cell(figures, "rps", "{:.0f}"),
            cell(figures, "p50_ms", "{:.1f}"),
            cell(figures, "p99_ms", "{:.1f}"),
            str(queries[name]),
            cell(them, "rps", "{:.0f}"),
            cell(them, "p50_ms", "{:.1f}"),
            ratio(figures["rps"], them and them["rps"]),
            cell(low, "rps", "{:.0f}"),
            ratio(figures["rps"], low and low["rps"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    csv, theirs_csv = result["csv"], result["datasette_csv"]
    lines += [
        "",
        f"Full CSV export of the published events: {csv['seconds']:.2f} s for {csv['mb']:.0f} MB, "
        f"serving process at {csv['peak_mb']:.0f} MB peak (resident)."
        + (
            f" Datasette's CSV of the whole table: {theirs_csv['seconds']:.2f} s for "
            f"{theirs_csv['mb']:.0f} MB, {theirs_csv['peak_mb']:.0f} MB peak."
            if theirs_csv
            else ""
        ),
        "",
    ]
    return "\n".join(lines)


def version(command):
    try:
        output = subprocess.run(command, capture_output=True, text=True, check=False)
        first = (output.stdout or output.stderr).strip().splitlines()[0]
        return first.split(" Copyright")[0]  # wrk adds its licence
    except (OSError, IndexError):
        return "not found"


def machine(postgres_url):
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    memory = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    lines = [
        f"- Run on {datetime.date.today().isoformat()}: {cpu.group(1) if cpu else 'CPU unknown'}, "
        f"{os.cpu_count()} cores, {int(memory.group(1)) / 1024**2:.0f} GiB of memory; "
        f"{platform.platform()}.",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{version([str(BIN / 'gunicorn'), '--version'])}, "
        f"{version([str(BIN / 'datasette'), '--version'])}, {version(['wrk', '--version'])}.",
    ]
    if postgres_url:
        import psycopg

        with psycopg.connect(postgres_url) as db:
            lines.append(f"- PostgreSQL {db.execute('SHOW server_version').fetchone()[0]}.")
    return "\n".join(lines)


def write_docs(text, start=START, end=END, section=None):
    """Put `text` between the `start` and `end` markers of docs/benchmarks.md, adding
    `section` (which holds them) at its end when they are not there yet."""
    current = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    if start not in current:
        current = current.rstrip("\n") + "\n" + (section or f"\n{start}\n{end}\n")
    before, rest = current.split(start, 1)
    after = rest.split(end, 1)[1]
    DOCS.write_text(f"{before}{start}\n{text}\n{end}{after}", encoding="utf-8")


def scaled(events):
    return {name: count * events // SIZES["events"] for name, count in SIZES.items()}


def scale(seconds, sizes_of_events=SCALES):
    """How cost grows: a few pages and the full CSV at each size of SCALES, SQLite."""
    columns = []
    for events in sizes_of_events:
        sizes = scaled(events)
        os.environ["BENCH_DEEP"] = str(min(50_000, events // 2))
        # The main run's data where it is the same size, rather than a second copy.
        url, path = sqlite_database(VAR if sizes == SIZES else VAR / "scale", sizes)
        found = probe(url)
        env = server_env(url)
        # The deep page's label names its depth, which differs by size.
        named = {
            re.sub(r"[\d,]+ rows deep", "deep page", k): v for k, v in our_pages(found).items()
        }
        wanted = {re.sub(r"[\d,]+ rows deep", "deep page", name) for name in SCALE_PAGES}
        pages = {name: path for name, path in named.items() if name in wanted}
        csv, figures = afresh(env, pages, seconds, f"{events:,} events")
        columns.append({"events": events, "figures": figures, "csv": csv, "sizes": sizes})
    names = list(columns[0]["figures"])
    lines = [
        "| p50 ms (req/s) | " + " | ".join(f"{c['events']:,} events" for c in columns) + " |",
        "|---|" + "--:|" * len(columns),
    ]
    for name in names:
        cells = [
            f"{c['figures'][name]['p50_ms']:.1f} ({c['figures'][name]['rps']:.0f})" for c in columns
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(
        "| Full CSV of the published events: s, MB, peak MB | "
        + " | ".join(
            f"{c['csv']['seconds']:.1f} s, {c['csv']['mb']:.0f} MB, {c['csv']['peak_mb']:.0f} MB"
            for c in columns
        )
        + " |"
    )
    return "\n".join(
        [
            f"SQLite; `generate_demo --seed {SEED}` at each size, in the proportions above "
            f"(a tenth as many sites, 0.3 sources and 2.5 citations per event). wrk, one "
            f"connection, {seconds} s a row after a warm-up; one gunicorn worker, nothing kept.",
            "",
            machine(None),
            "",
            *lines,
        ]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", 10)))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-docs", action="store_true", help="Print only.")
    parser.add_argument(
        "--scale",
        nargs="?",
        const=",".join(map(str, SCALES)),
        help="How cost grows, at these numbers of events (default 10000,100000,1000000).",
    )
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.probe:
        return run_probe()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk (Debian's package).")
    collect_static()
    if options.scale:
        text = scale(options.seconds, [int(n) for n in options.scale.split(",")])
        print(text)
        if not options.no_docs:
            write_docs(
                text, SCALE_START, SCALE_END, f"\n## How cost grows\n\n{SCALE_START}\n{SCALE_END}\n"
            )
        return None
    sqlite_url, sqlite_path = sqlite_database()
    results = [measure("SQLite", sqlite_url, sqlite_path, options.seconds)]
    postgres_url = None if options.no_postgres else postgres_database()
    if postgres_url:
        results.append(measure("PostgreSQL", postgres_url, None, options.seconds))
    sizes = ", ".join(f"{count:,} {name}" for name, count in SIZES.items())
    text = "\n".join(
        [
            f"Data: `generate_demo --seed {SEED}`, {sizes}; the busiest site has "
            f"{results[0]['found']['events']} events. wrk, one connection, "
            f"{options.seconds} s a row after a warm-up; one server process each.",
            "",
            machine(postgres_url),
            "",
            *(table(result) for result in results),
        ]
    )
    print(text)
    if not options.no_docs:
        write_docs(text)
        log(f"Written into {DOCS.relative_to(ROOT)}.")


if __name__ == "__main__":
    main()
