"""`make bench-evidence`: what keeping evidence costs, on a database of its own.

Takes N captures (web pages of about 100 KB, each a source's), cites each from a
published event of one site, then times `manage.py verify_evidence` (every capture
re-hashed from the store, every custody entry), the export of the site's evidence
bundle and `verify_bundle` on it. Prints one row per step; no target fails the run
(the issue sets none), the figures go to docs/benchmarks.md.

    python bench/evidence.py [--captures N] [--kb K]   (DATABASE_URL: SQLite by default)
"""

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def page(n, kb):
    words = f"Paragraph {n}: the colonnade of the temple was damaged by shelling. " * 16
    body = "".join(f"<p>{words}</p>" for _ in range(max(1, kb * 1024 // (len(words) + 7))))
    return (
        f"<html><head><title>Report {n}</title></head><body><article><h1>Report {n}</h1>"
        f"<p>Published 2 September 2015</p>{body}</article></body></html>"
    ).encode()


def timed(label, rows, function, unit="", count=None):
    started = time.perf_counter()
    result = function()
    elapsed = time.perf_counter() - started
    rate = f"{count / elapsed:,.0f} {unit}/s" if count else ""
    rows.append((label, f"{elapsed:.2f} s", rate))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=int, default=500)
    parser.add_argument("--kb", type=int, default=100)
    args = parser.parse_args()
    if args.captures < 1 or args.kb < 1:
        parser.error("--captures and --kb must be at least 1")

    work = Path(tempfile.mkdtemp(prefix="bench-evidence-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'evidence.sqlite3'}")
    os.environ["CAPTURE_ROOT"] = str(work / "captures")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heritage.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from heritage import workflow
    from heritage.models import DamageEvent, Site, State
    from reports.evidence import store
    from reports.models import Citation, Source

    call_command("migrate", verbosity=0)
    user = workflow.Command("bench")  # as a command writes: every right, no four eyes
    site = Site(name="Bench temple", slug="bench-temple", kind="temple")
    outcome = workflow.save(site, user, "bench")
    if outcome.pending:
        workflow.approve(outcome.proposal, user, "bench")
    pages = [page(n, args.kb) for n in range(args.captures)]
    rows = []

    def take_all():
        sources = []
        for n, data in enumerate(pages):
            source = Source.objects.create(kind="news", title=f"Report {n}", publisher=f"P{n}")
            store.take(source, data, method="ingest", name=f"report-{n}.html")
            sources.append(source)
        return sources

    sources = timed("take captures", rows, take_all, "captures", args.captures)

    def cite_all():
        for n, source in enumerate(sources):
            event = DamageEvent.objects.create(
                site=site, summary=f"Damage {n}", date="2015-08", level="severe"
            )
            quote = f"Paragraph {n}: the colonnade of the temple was damaged by shelling."
            workflow.save(Citation(event=event, source=source, quote=quote), user, "bench")
            workflow.transition(event, State.PUBLISHED, user, "bench")

    timed("cite each from a published event", rows, cite_all, "citations", args.captures)
    megabytes = sum(map(len, pages)) / 1_000_000
    timed(
        f"verify_evidence ({megabytes:.1f} MB)",
        rows,
        lambda: call_command("verify_evidence", stdout=io.StringIO()),
        "captures",
        args.captures,
    )
    bundle = work / "site.zip"
    timed(
        "export_bundle --site",
        rows,
        lambda: call_command(
            "export_bundle", "--site", site.slug, "--output", str(bundle), stdout=io.StringIO()
        ),
        "events",
        args.captures,
    )
    timed(
        f"verify_bundle ({bundle.stat().st_size / 1_000_000:.1f} MB)",
        rows,
        lambda: call_command("verify_bundle", str(bundle), stdout=io.StringIO()),
    )
    print(f"{args.captures} captures of {args.kb} KB, {os.environ['DATABASE_URL'].split(':')[0]}")
    width = max(len(label) for label, _, _ in rows)
    for label, elapsed, rate in rows:
        print(f"{label:<{width}}  {elapsed:>9}  {rate}")


if __name__ == "__main__":
    main()
