from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from heritage.releases import NothingChanged, ReleaseError, make_release


class Command(BaseCommand):
    help = (
        "Make the next numbered release of the published register in RELEASES_DIR: the "
        "dump's files, a changelog since the last release, CITATION.cff naming it, and "
        "SHA-256 checksums. Refused (exit 2) when nothing changed, unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Show the changelog the next release would have, and write nothing.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Make a release even if nothing changed since the last one.",
        )

    def handle(self, *args, dry_run, force, **options):
        try:
            outcome = make_release(force=force, dry_run=dry_run)
        except NothingChanged as error:
            raise CommandError(str(error), returncode=2) from error
        except ReleaseError as error:
            raise CommandError(f"No release made: {error}") from error
        except OSError as error:
            raise CommandError(f"No release made: {error}.") from error
        self.stdout.write(outcome.changelog)
        if dry_run:
            refused = outcome.changes.empty and not outcome.changes.first
            self.stdout.write(
                f"Dry run: release {outcome.version} not made, nothing written"
                + (" (with nothing changed, it would need --force)." if refused else ".")
            )
            return
        release = outcome.release
        self.stdout.write(
            self.style.SUCCESS(
                f"Released {release.version}: {settings.RELEASES_DIR / release.file} "
                f"({filesizeformat(release.size)}), SHA-256 {release.sha256}."
            )
        )
