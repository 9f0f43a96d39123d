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
    # The first entry of each capture is what was recorded when it came in; an entry
    # appended later cannot vouch for a row changed since.
    captured, again = {}, set()
    entries = CustodyEntry.objects.filter(action=CustodyAction.CAPTURED).order_by("position")
    for entry in entries.only("capture", "detail").iterator(chunk_size=2000):
        if entry.capture_id in captured:
            again.add(entry.capture_id)
        captured.setdefault(entry.capture_id, entry.detail)
    for capture in Capture.objects.order_by("pk").iterator(chunk_size=200):
        what = f"capture {capture.pk} (source {capture.source_id})"
        for problem in capture_problems(capture, captured.get(capture.pk)):
            yield what, problem
        if capture.pk in again:
            yield what, "the custody log records its capture more than once"
    for position, why in CustodyEntry.objects.breaks():
        yield f"custody entry {position}", why
