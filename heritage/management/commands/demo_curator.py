import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from heritage.roles import CURATOR, EDITOR, ensure_roles

USERNAME = "demo-curator"


class Command(BaseCommand):
    help = (
        "Create or reset the demo curator account (curator and editor roles) with a new "
        "random password, and print it. For trying the register on your own machine only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/admin/")

    def handle(self, *args, url, **options):
        ensure_roles()
        user, _ = get_user_model().objects.get_or_create(username=USERNAME)
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.is_staff = True
        user.is_active = True
        user.save()
        user.groups.set(Group.objects.filter(name__in=[CURATOR, EDITOR]))
        self.stdout.write(
            f"\n  Log in at {url}\n  as {USERNAME} with the password {password}\n"
            "  (a new password is made each time the register starts)\n\n"
        )
