from django.conf import settings
from django.core.management.base import BaseCommand

from heritage.dataset import write_dump


class Command(BaseCommand):
    help = (
        "Write the published register as one zip (a CSV per table, a JSON file, a data "
        "dictionary, CITATION.cff) for /api/v1/dump/."
    )

    def handle(self, *args, **options):
        counts = write_dump()
        summary = ", ".join(f"{count} {table}" for table, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Wrote {settings.DUMP_PATH}: {summary}."))
