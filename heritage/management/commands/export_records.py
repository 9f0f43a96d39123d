from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from heritage.imports import writing


class Command(BaseCommand):
    help = (
        "Export sites, their names, sources, events and citations in the columns "
        "import_records reads: to FILE.xlsx (a sheet per table), FILE.zip (a CSV file per "
        "table) or a folder (the CSV files). Importing the export unchanged changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", required=True, help="FILE.xlsx, FILE.zip, or a folder for CSV files."
        )

    def handle(self, *args, output, **options):
        path = Path(output)
        suffix = "" if path.is_dir() else path.suffix.lower()
        if suffix == ".xlsx":
            with open(path, "wb") as stream:
                writing.write_workbook(stream)
        elif suffix == ".zip":
            with open(path, "wb") as stream:
                writing.write_zip(stream)
        elif suffix:
            raise CommandError(
                f"{path}: give a .xlsx or .zip file, or a folder for CSV files.", returncode=2
            )
        else:
            writing.write_csv_folder(path)
        self.stdout.write(self.style.SUCCESS(f"Exported the register to {path}."))
