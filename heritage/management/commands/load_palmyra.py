from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from heritage.models import DamageEvent, PublicStamp, Site


class Command(BaseCommand):
    help = (
        "Load the tests' sample (fixtures/palmyra.json: Palmyra as first recorded, kept "
        "unchanged because the tests pin what it gives) into an empty register and start "
        "its edit history. Does nothing when the register already holds sites. The "
        "register's own data, Palmyra corrected and the places beyond it, is loaded by "
        "load_record."
    )

    def handle(self, *args, **options):
        if Site.objects.exists():
            self.stdout.write(
                "The register already holds sites; the Palmyra data is not loaded again."
            )
            return
        with transaction.atomic():
            # The fixture is a reviewed record, loaded whole into an empty register:
            # there is no earlier public state for it to change.
            call_command("loaddata", "palmyra", verbosity=0)
            # loaddata stores rows as written; derive the grades again in case the
            # fixture was edited by hand.
            DamageEvent.objects.refresh_verification()
            Site.objects.refresh_condition()
            # Fixtures load without history; give each row its first version so that the
            # first curator edit can be reverted.
            call_command("populate_history", auto=True, verbosity=0)
            PublicStamp.bump()
        self.stdout.write(
            self.style.SUCCESS(f"Loaded the Palmyra record: {Site.objects.count()} sites.")
        )
