from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from reports.articles import SUFFIXES, ArticleError, check_size, read_article
from reports.models import Source, SourceKind, site_gazetteer


class Command(BaseCommand):
    help = (
        "Bring articles into the register: each .txt, .md or .html file (folders are read "
        "through) becomes a source with its text, and the register proposes the damage "
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
            raise CommandError("No .txt, .md or .html file found in the paths given.", returncode=2)
        added = duplicates = claims = 0
        refused = []
        gazetteer = site_gazetteer()  # once: it compiles every site's names
        for number, path in enumerate(files, start=1):
            prefix = f"[{number}/{len(files)}] {path}"
            try:
                check_size(path.stat().st_size)  # before reading it into memory
                article = read_article(path.read_bytes(), path.name)
            except (ArticleError, OSError) as error:
                refused.append(path)
                self.stderr.write(f"{prefix}: refused. {error}")
                continue
            try:
                source = Source.objects.bring_in(
                    article,
                    gazetteer,
                    kind=kind,
                    title=article.title or path.stem,
                    publisher=article.publisher or publisher,
                    language=article.language or language,
                )
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
                yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES)
            elif path.exists():
                yield path
            else:
                raise CommandError(f"{path} does not exist.", returncode=2)
