from django.core.management.base import BaseCommand, CommandError

from reports.evidence.signing import (
    BadKey,
    new_private_text,
    private_key,
    public_text,
    register_key,
)


class Command(BaseCommand):
    help = (
        "Make a new Ed25519 key pair for signing evidence bundles (set the private key as "
        "EVIDENCE_SIGNING_KEY; publish the public key), or with --public, print the public "
        "key of the one configured."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--public", action="store_true", help="Print the configured key's public key."
        )

    def handle(self, *args, public=False, **options):
        if public:
            try:
                key = register_key()
            except BadKey as error:
                raise CommandError(f"EVIDENCE_SIGNING_KEY: {error}", returncode=2) from error
            if key is None:
                raise CommandError("No EVIDENCE_SIGNING_KEY is configured.", returncode=2)
            self.stdout.write(public_text(key.public_key()))
            return
        secret = new_private_text()
        self.stdout.write(f"EVIDENCE_SIGNING_KEY={secret}")
        self.stdout.write(f"public key: {public_text(private_key(secret).public_key())}")
        self.stderr.write(
            "Keep the private key secret (in the server's environment, never in the "
            "repository); give the public key to whoever checks bundles."
        )
