from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from tqdm import tqdm

from heritage import readmodel


class Command(BaseCommand):
    help = (
        "Build again every published event's and public site's stored public document "
        "(heritage/readmodel.py): after a bulk load, or when a change of shape makes the "
        "stored ones old. Readers rebuild a missing or old one as they meet it; this does "
        "them all at once, a chunk per transaction."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--chunk", type=int, default=2000, help="Records per transaction (default 2000)."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, chunk, no_progress, **options):
        if chunk < 1:
            raise CommandError(
                "--chunk must be a whole number of records, 1 or more.", returncode=2
            )
        # On standard error, as generate_demo's: standard output keeps the summary.
        bar = tqdm(unit=" records", disable=True if no_progress else None, file=self.stderr._out)

        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)

        try:
            with bar:
                total = readmodel.rebuild_all(chunk=chunk, progress=progress)
        except DatabaseError as error:
            raise CommandError(f"The read model could not be rebuilt: {error}") from error
        self.stdout.write(self.style.SUCCESS(f"Rebuilt the documents of {total:,} records."))
