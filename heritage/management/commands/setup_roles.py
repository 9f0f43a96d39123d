from django.core.management.base import BaseCommand

from heritage.roles import CURATOR, EDITOR, ensure_roles


class Command(BaseCommand):
    help = "Create the curator and editor groups, or reset them to their permissions."

    def handle(self, *args, **options):
        ensure_roles()
        self.stdout.write(f"Groups “{CURATOR}” and “{EDITOR}” are ready.")
