import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from heritage.models import DamageEvent, Site
from reports.evidence.bundles import BundleError, site_events, write
from reports.evidence.signing import BadKey


class Command(BaseCommand):
    help = (
        "Write the evidence bundle of an event (--event) or of a site and the places within "
        "it (--site): a zip with manifest.json, the captures and, when EVIDENCE_SIGNING_KEY "
        "is set, the register's Ed25519 signature. The export is logged in the custody log."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--event", type=int, help="The event's id.")
        which.add_argument("--site", help="The site's slug.")
        parser.add_argument("--output", type=Path, required=True, help="The zip to write.")
        parser.add_argument("--force", action="store_true", help="Overwrite --output.")

    def handle(self, *args, event=None, site=None, output, force=False, **options):
        if output.exists() and not force:
            raise CommandError(
                f"{output} already exists: pass --force to replace it.", returncode=2
            )
        if event is not None:
            if not DamageEvent.objects.filter(pk=event).exists():
                raise CommandError(f"There is no event {event}.", returncode=2)
            events, scope = DamageEvent.objects.filter(pk=event), {"event": event}
        else:
            place = Site.objects.filter(slug=site).first()
            if place is None:
                raise CommandError(f"There is no site “{site}”.", returncode=2)
            events, scope = site_events(place), {"site": site}
        output.parent.mkdir(parents=True, exist_ok=True)
        # Written beside, renamed when whole: a half-written bundle never has its name.
        fd, partial = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as written:
                manifest = write(events, written, scope, "manage.py export_bundle")
            Path(partial).replace(output)
        except (BundleError, BadKey) as error:
            raise CommandError(str(error), returncode=2) from error
        finally:
            Path(partial).unlink(missing_ok=True)
        signed = "signed" if manifest["signature"]["algorithm"] else "UNSIGNED (no key configured)"
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {output}: {len(manifest['events'])} event(s), "
                f"{len(manifest['captures'])} capture(s), {signed}."
            )
        )
