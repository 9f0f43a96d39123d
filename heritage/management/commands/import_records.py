from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from heritage import workflow
from heritage.imports import loading, reading


class Command(BaseCommand):
    help = (
        "Import sites, their names, sources, events and citations from a spreadsheet: an "
        ".xlsx workbook (a sheet per table), CSV files named after their tables "
        "(sites.csv, names.csv, sources.csv, events.csv, citations.csv), a folder of them "
        "or a .zip. All of it goes through the workflow in one transaction, or, if any row "
        "breaks a rule, none of it (exit code 2, each problem named by row and column). "
        "docs/data.md, “Importing a spreadsheet”, says how the files are written."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="Files, or a folder of CSV files.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say what would be added and changed, and change nothing.",
        )
        parser.add_argument(
            "--publish",
            action="store_true",
            help="Publish the file's events as well (each needs a supporting citation), as "
            "load_record does. Without it, new events arrive as drafts.",
        )

    def handle(self, *args, paths, dry_run, publish, **options):
        files = []
        for path in map(Path, paths):
            if path.is_dir():
                files += sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv")
            elif path.is_file():
                files.append(path)
            else:
                raise CommandError(f"{path}: no such file or folder.", returncode=2)
        try:
            tables = reading.read_paths(files)
            report = loading.run(
                tables, workflow.Command("import_records"), dry_run=dry_run, publish=publish
            )
        except reading.ImportRefused as error:
            raise CommandError(
                "Nothing was imported:\n- " + "\n- ".join(error.problems), returncode=2
            ) from None
        self.describe(report)

    def describe(self, report):
        """Per table, what was (or would be) added, changed and left as it was; and each
        changed row with the columns it changes."""
        for name, new, changed, unchanged in report.tables():
            if not (new or changed or unchanged):
                continue
            self.stdout.write(
                f"{name}: {len(new)} new, {len(changed)} changed, {unchanged} unchanged"
            )
            for change in changed:
                what = change.row.key or change.row.data.get("name")
                self.stdout.write(f"  {change.row.at()} ({what}): {', '.join(change.fields)}")
        if report.published:
            self.stdout.write(f"{len(report.published)} event(s) published.")
        if report.dry_run:
            files = ", ".join(report.files)
            self.stdout.write(f"Nothing was changed (--dry-run): {files} would be imported so.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Imported {', '.join(report.files)}."))
