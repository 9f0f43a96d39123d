from django.core.management.base import BaseCommand, CommandError

from heritage import record
from heritage.models import Site


class Command(BaseCommand):
    help = (
        "Load the register's record (fixtures/record/*.json, or the files given) through "
        "the workflow: all of it or, if any row breaks a rule, none of it. Loading the "
        "same files again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", help="Record files (default: all of them).")
        parser.add_argument(
            "--place",
            action="append",
            dest="places",
            help="Only this place's file (e.g. syria-palmyra), with its country's.",
        )
        parser.add_argument(
            "--check", action="store_true", help="Check the files, and load nothing."
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Only into a register with no sites yet (make run), so that curators' "
            "edits made since are never taken back to the files' version.",
        )

    def handle(self, *args, paths, places, check, if_empty, **options):
        if if_empty and not check and Site.objects.exists():
            self.stdout.write("The register already holds sites; the record is not loaded again.")
            return
        try:
            rows = record.read(paths or record.files(places))
            if check:
                problems = record.check(rows)
                if problems:
                    raise record.RecordError(problems)
                self.stdout.write(self.style.SUCCESS("The record files hold together."))
                return
            counts = record.load(rows)
        except record.RecordError as error:
            raise CommandError(
                "The record was not loaded; nothing was changed:\n- " + "\n- ".join(error.problems),
                returncode=2,
            ) from None
        done = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()) if n)
        self.stdout.write(self.style.SUCCESS(f"Loaded the record: {done or 'no change'}."))
