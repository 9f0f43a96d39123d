"""Taking a capture: the bytes a source came as, stored once under their SHA-256 and
logged. Every way in (the admin's upload and paste, `manage.py ingest`, the record's
import, the API) calls `take`, so each applies the same limits and leaves the same log."""

import functools
import hashlib
import importlib.metadata
import mimetypes
import subprocess

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from heritage.models import PublicStamp
from reports.evidence.formats import CaptureError, Extracted, extract
from reports.models import Capture, CustodyAction, CustodyEntry, Source, capture_storage

# Suffixes of stored files by media type, for whoever opens the store by hand.
SUFFIXES = {
    "text/html": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/pdf": ".pdf",
    "application/warc": ".warc",
    "application/wacz": ".wacz",
}


@functools.cache
def register_version():
    """This code's version: the package's, and the commit when run from a checkout."""
    try:
        version = importlib.metadata.version("heritage-register")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{version}+{commit}" if commit else version


def check_size(size):
    limit = settings.CAPTURE_MAX_BYTES
    if size > limit:
        raise CaptureError(
            f"This file is {size / 1_048_576:.1f} MB; a capture can be at most "
            f"{limit / 1_048_576:.1f} MB (CAPTURE_MAX_BYTES)."
        )


def read(data, name=""):
    """The bytes' size checked and their text extracted, before anything is stored."""
    check_size(len(data))
    return extract(data, name)


def storage_name(sha256, media_type):
    suffix = SUFFIXES.get(media_type) or mimetypes.guess_extension(media_type) or ""
    return f"captures/{sha256[:2]}/{sha256}{suffix}"


def take(source, data, *, method, name="", user=None, url="", extracted: Extracted = None):
    """A new capture of `source` from `data`, superseding its current one, with its
    custody entries; or the current one when it holds these very bytes already. Raises
    CaptureError (nothing stored, nothing logged) for bytes it cannot take."""
    extracted = extracted or read(data, name)
    check_size(len(data))
    sha256 = hashlib.sha256(data).hexdigest()
    actor = getattr(user, "username", "") or ""
    written, file_name = False, None
    try:
        with transaction.atomic():
            # Two captures of one source at once queue here, so each supersedes the other.
            list(type(source).objects.select_for_update(no_key=True).filter(pk=source.pk))
            current = source.captures.current().order_by("-pk").first()
            if current and current.sha256 == sha256:
                return current
            file_name = storage_name(sha256, extracted.media_type)
            written = _store(file_name, data, sha256)
            capture = _record(source, data, sha256, file_name, method, name, actor, url,
                              extracted, current)  # fmt: skip
    except BaseException:
        if written:
            capture_storage_delete(file_name)  # after the rollback: no row names it
        raise
    return capture


def _record(source, data, sha256, file_name, method, name, actor, url, extracted, current):
    text = extracted.article.text if extracted.article else ""
    capture = Capture(
        source=source,
        sha256=sha256,
        size=len(data),
        media_type=extracted.media_type,
        original_name=name[:255],
        url=(url or extracted.url or (extracted.article and extracted.article.url) or "")[:1000],
        method=method,
        captured_by=actor,
        register_version=register_version(),
        text=text,
        text_sha256=hashlib.sha256(text.encode()).hexdigest() if text else "",
        pages=extracted.pages,
        supersedes=current,
    )
    capture.file.name = file_name
    capture.save()
    if Source.objects.public().filter(pk=source.pk).exists():
        PublicStamp.bump()  # its page shows its captures: kept copies are stale now
    CustodyEntry.objects.append(CustodyAction.CAPTURED, actor, capture, capture.facts())
    if text:
        CustodyEntry.objects.append(
            CustodyAction.EXTRACTED,
            actor,
            capture,
            {
                "text_sha256": capture.text_sha256,
                "characters": len(text),
                "pages": len(extracted.pages),
                "media_type": extracted.media_type,
            },
        )
    if current:
        CustodyEntry.objects.append(
            CustodyAction.SUPERSEDED,
            actor,
            current,
            {"superseded_by": capture.pk, "sha256": sha256},
        )
    return capture


def _store(file_name, data, sha256):
    """Writes the bytes under their name unless the store holds them already; True when
    written. A stored copy that differs is never overwritten: it is reported."""
    storage = capture_storage()
    if storage.exists(file_name):
        with storage.open(file_name, "rb") as stored:
            if hashlib.sha256(stored.read()).hexdigest() != sha256:
                raise CaptureError(
                    f"The store already holds {file_name} with other bytes: it has been "
                    "altered. Run `manage.py verify_evidence` and restore it from a backup."
                )
        return False
    saved = storage.save(file_name, ContentFile(data))
    if saved != file_name:
        # Another curator stored the same bytes a moment ago (the store renamed ours
        # rather than overwrite): theirs is ours, once its hash says so.
        storage.delete(saved)
        return _store(file_name, data, sha256)
    return True


def capture_storage_delete(file_name):
    # Only a file this call wrote, whose row was never committed: no capture names it.
    if not Capture.objects.filter(file=file_name).exists():
        capture_storage().delete(file_name)
