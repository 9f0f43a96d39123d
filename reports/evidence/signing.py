"""The register's Ed25519 key: signing evidence bundles, and checking a signature with
a public key given by whoever checks (never the one a bundle carries about itself)."""

import base64
import binascii
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings


class BadKey(ValueError):
    """A key that cannot be read, with the reason."""


def _raw(text, what):
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadKey(f"The {what} is neither PEM nor base64: {error}.") from error
    if len(raw) != 32:
        raise BadKey(f"The {what} in base64 must be 32 bytes; it is {len(raw)}.")
    return raw


def private_key(text):
    """An Ed25519 private key from PEM (PKCS#8) or its 32 bytes in base64."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as error:
            raise BadKey(f"The private key could not be read: {error}.") from error
        if not isinstance(key, Ed25519PrivateKey):
            raise BadKey("The private key is not an Ed25519 key.")
        return key
    return Ed25519PrivateKey.from_private_bytes(_raw(text, "private key"))


def public_key(given):
    """An Ed25519 public key from a file holding it, or from the text itself: PEM
    (SubjectPublicKeyInfo) or its 32 bytes in base64."""
    text = given
    path = Path(given)
    if len(given) < 4096 and "\n" not in given and path.is_file():
        text = path.read_text(encoding="ascii", errors="replace")
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, TypeError) as error:
            raise BadKey(f"The public key could not be read: {error}.") from error
        if not isinstance(key, Ed25519PublicKey):
            raise BadKey("The public key is not an Ed25519 key.")
        return key
    return Ed25519PublicKey.from_public_bytes(_raw(text, "public key"))


def public_text(key):
    """A public key as base64 of its 32 bytes: short enough to print and publish."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def register_key():
    """The configured private key (EVIDENCE_SIGNING_KEY), or None: bundles go unsigned."""
    return private_key(settings.EVIDENCE_SIGNING_KEY) if settings.EVIDENCE_SIGNING_KEY else None


def verifies(key, data, signature):
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def new_private_text():
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return base64.b64encode(raw).decode()
