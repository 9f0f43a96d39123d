"""Checking the evidence store against what was recorded when it was captured: each
capture's bytes against its SHA-256, its row against its `captured` log entry, and the
custody log's chain entry by entry."""

import hashlib

from reports.models import Capture, CustodyAction, CustodyEntry, capture_storage

CHUNK = 1024 * 1024


def file_digest(storage, name):
    """The SHA-256 and size of a stored file, read in chunks (a web archive may be large)."""
    digest, size = hashlib.sha256(), 0
    with storage.open(name, "rb") as stored:
        while chunk := stored.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def capture_problems(capture, logged):
    """What no longer matches in one capture, as sentences ([] when all does)."""
    storage = capture_storage()
    problems = []
    if not storage.exists(capture.file.name):
        problems.append(f"its file {capture.file.name} is missing from the store")
    else:
        sha256, size = file_digest(storage, capture.file.name)
        if sha256 != capture.sha256:
            problems.append(
                f"its file {capture.file.name} no longer has its SHA-256 "
                f"(recorded {capture.sha256}, now {sha256})"
            )
        elif size != capture.size:
            problems.append(f"its file is {size} bytes, recorded as {capture.size}")
    text_sha256 = hashlib.sha256(capture.text.encode()).hexdigest() if capture.text else ""
    if text_sha256 != capture.text_sha256:
        problems.append("its extracted text no longer has its recorded hash")
    if logged is None:
        problems.append("the custody log has no entry of its capture")
    else:
        changed = sorted(k for k, v in capture.facts().items() if logged.get(k) != v)
        if changed:
            problems.append(
                "its record differs from the custody log's entry of its capture: "
                + ", ".join(changed)
            )
    return problems


def problems():
    """Every mismatch in the store and the log, as (what, why) pairs."""
    captured = {
        entry.capture_id: entry.detail
        for entry in CustodyEntry.objects.filter(action=CustodyAction.CAPTURED).only(
            "capture", "detail"
        )
    }
    for capture in Capture.objects.order_by("pk").iterator(chunk_size=200):
        for problem in capture_problems(capture, captured.get(capture.pk)):
            yield f"capture {capture.pk} (source {capture.source_id})", problem
    for position, why in CustodyEntry.objects.breaks():
        yield f"custody entry {position}", why
