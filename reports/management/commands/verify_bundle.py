from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reports.evidence.bundles import BundleError, check
from reports.evidence.signing import BadKey, public_key


class Command(BaseCommand):
    help = (
        "Check an evidence bundle offline, file by file: each file's SHA-256 against the "
        "manifest, each custody entry's hash, and with --key, the register's signature of "
        "the manifest. Exits 1 naming each file that does not match."
    )

    def add_arguments(self, parser):
        parser.add_argument("bundle", type=Path)
        parser.add_argument(
            "--key",
            help="The register's public key (a file, or the key itself: base64 or PEM). "
            "Without it the signature is not checked.",
        )

    def handle(self, *args, bundle, key=None, **options):
        if not bundle.is_file():
            raise CommandError(f"There is no file at {bundle}.", returncode=2)
        try:
            verifier = public_key(key) if key else None
            problems, manifest = check(bundle, verifier)
        except (BundleError, BadKey) as error:
            raise CommandError(str(error), returncode=2) from error
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(
                f"{bundle} does not verify: {len(problems)} problem(s).", returncode=1
            )
        files = len(manifest.get("files") or {})
        if verifier is None:
            how = "signature NOT checked (give --key)"
        else:
            how = "signature checked with the key given"
        self.stdout.write(self.style.SUCCESS(f"{bundle} verifies: {files} file(s), {how}."))
