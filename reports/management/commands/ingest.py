from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from reports.articles import SUFFIXES, ArticleError, check_size
from reports.evidence import store
from reports.evidence.formats import CaptureError
from reports.models import CaptureMethod, Source, SourceKind, site_gazetteer

# What ingest reads: articles, and the reports and web archives captures keep.
READ = SUFFIXES | {".pdf", ".warc", ".wacz"}


def readable(path):
    return path.suffix.lower() in READ or path.name.lower().endswith(".warc.gz")


class Command(BaseCommand):
    help = (
        "Bring articles into the register: each .txt, .md or .html file, PDF report or "
        "WARC/WACZ web archive (folders are read through) becomes a source with its text, "
        "kept as received with its SHA-256, and the register proposes the damage "
        "claims it reads in it, for curators to review. An article already held (same URL "
        "or same text) is recognised and left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--kind", default=SourceKind.NEWS, choices=SourceKind.values)
        parser.add_argument(
            "--publisher", default="", help="Who published them, when the articles do not say."
        )
        parser.add_argument(
            "--language", default="", help="Their language, when it cannot be told from them."
        )

    def handle(self, *args, paths, kind, publisher, language, **options):
        files = list(self.articles(paths))
        if not files:
            raise CommandError(
                "No .txt, .md, .html, .pdf, .warc(.gz) or .wacz file found in the paths given.",
                returncode=2,
            )
        added = duplicates = claims = 0
        refused = []
        gazetteer = site_gazetteer()  # once: it compiles every site's names
        for number, path in enumerate(files, start=1):
            prefix = f"[{number}/{len(files)}] {path}"
            try:
                # Before reading it into memory: an article's limit for texts, the
                # capture's for reports and archives.
                size = path.stat().st_size
                if path.suffix.lower() in SUFFIXES:
                    check_size(size)
                store.check_size(size)
                data = path.read_bytes()
                extracted = store.read(data, path.name)
                if extracted.article is None:
                    raise CaptureError("It holds no text to read (an image?): add it in the admin.")
            except (ArticleError, CaptureError, OSError) as error:
                refused.append(path)
                self.stderr.write(f"{prefix}: refused. {error}")
                continue
            article = extracted.article
            try:
                # The source and its capture together, or neither.
                with transaction.atomic():
                    source = Source.objects.bring_in(
                        article,
                        gazetteer,
                        kind=kind,
                        title=article.title or path.stem,
                        publisher=article.publisher or publisher,
                        language=article.language or language,
                    )
                    store.take(
                        source, data, method=CaptureMethod.INGEST, name=path.name,
                        extracted=extracted,
                    )  # fmt: skip
            except ValidationError as error:
                if getattr(error, "code", None) == "article_held":
                    duplicates += 1
                    self.stdout.write(f"{prefix}: {error.messages[0]}")
                else:
                    refused.append(path)
                    self.stderr.write(f"{prefix}: refused. {' '.join(error.messages)}")
                continue
            found = source.claims.count()
            added, claims = added + 1, claims + found
            notices = "".join(f" {notice}" for notice in source.intake_notices())
            self.stdout.write(f"{prefix}: source {source.pk}, {found} claim(s) proposed.{notices}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{added} article(s) added with {claims} claim(s) to review; "
                f"{duplicates} already held; {len(refused)} refused."
            )
        )
        if refused:
            raise CommandError(
                f"{len(refused)} file(s) could not be read; see above.", returncode=2
            )

    def articles(self, paths):
        for path in paths:
            if path.is_dir():
                yield from sorted(p for p in path.rglob("*") if readable(p))
            elif path.exists():
                yield path
            else:
                raise CommandError(f"{path} does not exist.", returncode=2)
