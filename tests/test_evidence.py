"""Captures: a source's bytes as received, with their SHA-256, never changed or deleted
on any path; the custody log, append-only and hash-chained; `manage.py verify_evidence`
naming whatever no longer matches. Bad input leaves nothing stored and the log as it was."""

import hashlib
import os
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.db.models import ProtectedError

from reports.evidence import store
from reports.evidence.formats import CaptureError
from reports.models import (
    Capture,
    CaptureMethod,
    CustodyAction,
    CustodyEntry,
    Immutable,
    Source,
)
from tests.helpers import make_citation, make_published_event, make_source

PAGE = (
    b"<html><head><title>Temple of Bel destroyed</title></head><body><article>"
    b"<p>Satellite images show the Temple of Bel in Palmyra was destroyed on Sunday.</p>"
    b"<p>The cella and most columns are gone.</p></article></body></html>"
)


def captured(source=None, data=PAGE, name="bel.html", **options):
    options.setdefault("method", CaptureMethod.UPLOAD)
    return store.take(source or make_source(), data, name=name, **options)


def on_disk(capture_store, capture):
    return capture_store / capture.file.name


def unguarded(cursor, table):
    """Drops the database's own guard on `table` (migration reports 0012), as whoever
    holds the database's owner rights could, to tamper as they would. Rolled back with
    the test."""
    if connection.vendor == "postgresql":
        cursor.execute(f"DROP TRIGGER {table}_unchanged ON {table}")
    else:
        cursor.execute(f"DROP TRIGGER {table}_unchanged")


def verify_fails(*named):
    with pytest.raises(CommandError) as failed:
        call_command("verify_evidence")
    return failed.value


def test_a_capture_keeps_the_bytes_as_received_with_their_hash_size_and_provenance(
    db, capture_store, curator
):
    capture = captured(user=curator, url="https://example.org/bel")
    assert capture.sha256 == hashlib.sha256(PAGE).hexdigest()
    assert capture.size == len(PAGE)
    assert capture.media_type == "text/html"
    assert on_disk(capture_store, capture).read_bytes() == PAGE
    assert capture.captured_by == curator.username
    assert capture.method == "upload"
    assert capture.url == "https://example.org/bel"
    assert capture.register_version.startswith("0.")
    # The working copy is the text read from the bytes, tied to them by its own hash.
    assert "Temple of Bel in Palmyra was destroyed" in capture.text
    assert capture.text_sha256 == hashlib.sha256(capture.text.encode()).hexdigest()
    actions = list(capture.custody.values_list("action", flat=True))
    assert actions == [CustodyAction.CAPTURED, CustodyAction.EXTRACTED]


def test_the_same_bytes_again_are_the_capture_already_held(db):
    first = captured()
    assert captured(first.source) == first
    assert Capture.objects.count() == 1
    assert CustodyEntry.objects.count() == 2


def test_a_newer_capture_supersedes_the_older_and_both_stay(db, capture_store):
    older = captured()
    newer = captured(older.source, PAGE.replace(b"gone", b"fallen"))
    assert newer.supersedes == older
    assert list(Capture.objects.current()) == [newer]
    assert on_disk(capture_store, older).exists()
    assert on_disk(capture_store, newer).exists()
    superseded = older.custody.get(action=CustodyAction.SUPERSEDED)
    assert superseded.detail == {"superseded_by": newer.pk, "sha256": newer.sha256}


def test_a_capture_cannot_be_changed_by_any_path(db):
    capture = captured()
    capture.media_type = "text/plain"
    with pytest.raises(Immutable):
        capture.save()
    with pytest.raises(Immutable):
        Capture.objects.filter(pk=capture.pk).update(size=1)
    with pytest.raises(Immutable):
        Capture.objects.bulk_update([capture], ["media_type"])
    capture.refresh_from_db()
    assert capture.media_type == "text/html"


def test_a_capture_cannot_be_deleted_by_any_path(db, capture_store):
    capture = captured()
    with pytest.raises(Immutable):
        capture.delete()
    with pytest.raises(Immutable):
        Capture.objects.all().delete()
    # A cascade from its source stops at the capture.
    with pytest.raises(ProtectedError):
        Source.objects.filter(pk=capture.source_id).delete()
    assert Capture.objects.filter(pk=capture.pk).exists()
    assert on_disk(capture_store, capture).exists()


def test_the_admin_shows_captures_and_the_log_but_offers_no_change_or_delete(
    db, client, django_user_model
):
    capture = captured()
    entry = CustodyEntry.objects.first()
    admin = django_user_model.objects.create_superuser("chief", password=os.urandom(8).hex())
    client.force_login(admin)
    assert client.get(f"/admin/reports/capture/{capture.pk}/change/").status_code == 200
    assert client.get(f"/admin/reports/capture/{capture.pk}/delete/").status_code == 403
    assert client.get(f"/admin/reports/custodyentry/{entry.pk}/delete/").status_code == 403
    assert client.get("/admin/reports/capture/add/").status_code == 403
    response = client.post(
        f"/admin/reports/capture/{capture.pk}/change/", {"media_type": "text/plain"}
    )
    assert response.status_code == 403
    listing = client.get("/admin/reports/capture/")
    assert "delete_selected" not in listing.content.decode()
    page = client.get(f"/admin/reports/source/{capture.source_id}/change/").content.decode()
    assert capture.sha256 in page


def test_custody_entries_cannot_be_changed_or_deleted(db):
    captured()
    entry = CustodyEntry.objects.first()
    entry.actor = "someone else"
    with pytest.raises(Immutable):
        entry.save()
    with pytest.raises(Immutable):
        CustodyEntry.objects.update(actor="x")
    with pytest.raises(Immutable):
        entry.delete()
    with pytest.raises(Immutable):
        CustodyEntry.objects.filter(pk=entry.pk).delete()


def test_each_custody_entry_chains_on_the_one_before(db):
    captured()
    captured(data=PAGE.replace(b"Sunday", b"Monday"))
    entries = list(CustodyEntry.objects.order_by("position"))
    assert [e.position for e in entries] == [1, 2, 3, 4]
    assert entries[0].previous == "0" * 64
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.previous == before.hash
    assert all(entry.digest() == entry.hash for entry in entries)


def test_verify_evidence_passes_on_untouched_evidence_and_logs_that_it_did(db, capsys):
    captured()
    call_command("verify_evidence")
    assert "1 capture(s) and 2 custody entries checked: all match" in capsys.readouterr().out
    assert CustodyEntry.objects.last().action == CustodyAction.VERIFIED
    call_command("verify_evidence")  # its own entry chains like any other


def test_flipping_one_byte_on_disk_makes_verify_evidence_fail_naming_the_capture(
    db, capture_store, capsys
):
    keep, flipped = captured(), captured(data=PAGE.replace(b"Sunday", b"Monday"))
    path = on_disk(capture_store, flipped)
    path.chmod(0o644)  # stored read-only; whoever tampers has the rights to undo that
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    entries = CustodyEntry.objects.count()
    error = verify_fails()
    assert error.returncode == 1
    err = capsys.readouterr().err
    assert f"capture {flipped.pk} (source {flipped.source_id})" in err
    assert "no longer has its SHA-256" in err
    assert f"capture {keep.pk} " not in err
    assert CustodyEntry.objects.count() == entries  # a failed check vouches for nothing


def test_a_capture_missing_from_the_store_is_named(db, capture_store, capsys):
    capture = captured()
    on_disk(capture_store, capture).unlink()
    verify_fails()
    assert f"its file {capture.file.name} is missing" in capsys.readouterr().err


def test_editing_a_log_row_breaks_the_chain_at_that_row(db, capsys):
    captured()
    captured(data=PAGE.replace(b"Sunday", b"Monday"))
    table = CustodyEntry._meta.db_table
    with connection.cursor() as cursor:
        unguarded(cursor, table)
        cursor.execute(f"UPDATE {table} SET actor = 'forger' WHERE position = 3")
    verify_fails()
    err = capsys.readouterr().err
    assert "custody entry 3: its content no longer matches its hash (edited)" in err
    assert "custody entry 2" not in err
    assert "custody entry 4" not in err


def test_removing_a_log_row_breaks_the_chain_after_it(db, capsys):
    captured()
    captured(data=PAGE.replace(b"Sunday", b"Monday"))
    with connection.cursor() as cursor:
        unguarded(cursor, CustodyEntry._meta.db_table)
        cursor.execute(f"DELETE FROM {CustodyEntry._meta.db_table} WHERE position = 2")
    verify_fails()
    err = capsys.readouterr().err
    assert "custody entry 3: expected entry 2 here" in err
    assert "custody entry 3: it does not chain on the entry before it" in err


def test_editing_a_capture_row_no_longer_matches_its_logged_capture(db, capsys):
    capture = captured()
    with connection.cursor() as cursor:
        unguarded(cursor, Capture._meta.db_table)
        cursor.execute(
            f"UPDATE {Capture._meta.db_table} SET url = 'https://elsewhere.example' "
            f"WHERE id = {capture.pk}"
        )
    verify_fails()
    err = capsys.readouterr().err
    assert f"capture {capture.pk}" in err
    assert "custody log's entry of its capture: url" in err


def test_a_capture_larger_than_the_setting_is_refused_with_nothing_stored(
    db, settings, capture_store
):
    settings.CAPTURE_MAX_BYTES = 100
    source = make_source()
    with pytest.raises(CaptureError, match=r"at most 0\.0 MB \(CAPTURE_MAX_BYTES\)"):
        captured(source)
    assert not Capture.objects.exists()
    assert not CustodyEntry.objects.exists()
    assert not capture_store.exists() or not any(capture_store.rglob("*.*"))


def test_bytes_that_cannot_be_read_leave_nothing_stored_and_the_log_unchanged(db, capture_store):
    captured()
    entries = list(CustodyEntry.objects.values_list("hash", flat=True))
    with pytest.raises(CaptureError):
        captured(data=b"\x7fELF\x02\x01\x01" + bytes(200), name="tool")
    assert Capture.objects.count() == 1
    assert list(CustodyEntry.objects.values_list("hash", flat=True)) == entries
    assert len(list(capture_store.rglob("*.html"))) == 1
    assert len([p for p in capture_store.rglob("*") if p.is_file()]) == 1


def test_a_failure_after_the_file_is_written_removes_it_and_logs_nothing(
    db, capture_store, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(CustodyEntry.objects, "append", broken)
    with pytest.raises(RuntimeError):
        captured()
    assert not Capture.objects.exists()
    assert not [p for p in capture_store.rglob("*") if p.is_file()]


def test_citing_a_captured_source_is_logged_with_the_quote_offsets(db):
    capture = captured()
    event = make_published_event()
    quote = "The cella and most columns are gone."
    citation = make_citation(event, source=capture.source, quote=quote, approve=True)
    cited = capture.custody.get(action=CustodyAction.CITED)
    start = capture.text.index(quote)
    assert cited.detail["citation"] == citation.pk
    assert cited.detail["offsets"] == [start, start + len(quote)]
    assert cited.detail["quote_sha256"] == hashlib.sha256(quote.encode()).hexdigest()


def test_a_capture_is_found_in_its_text_whatever_the_quote_marks_and_spacing(db):
    capture = captured(data=PAGE.replace(b"The cella", "The \u201ccella\u201d".encode()))
    start, end = capture.locate('The "cella"   and most columns')
    assert capture.text[start:end] == "The \u201ccella\u201d and most columns"


def test_the_public_source_page_the_api_and_the_dump_carry_the_capture(db, client, tmp_path):
    capture = captured()
    make_citation(make_published_event(), source=capture.source, approve=True)
    page = client.get(f"/sources/{capture.source_id}/").content.decode()
    assert capture.sha256 in page
    assert f'datetime="{capture.captured.isoformat()}' in page
    answer = client.get(f"/api/v1/sources/{capture.source_id}/", HTTP_ACCEPT="application/json")
    shown = answer.json()["captures"]
    assert [c["sha256"] for c in shown] == [capture.sha256]
    assert "captured_by" not in shown[0]
    assert "text" not in shown[0]
    from heritage.dataset import write_dump

    counts = write_dump(tmp_path / "dump.zip")
    assert counts["captures"] == 1
    import zipfile

    with zipfile.ZipFile(tmp_path / "dump.zip") as dump:
        assert capture.sha256 in dump.read("captures.csv").decode("utf-8-sig")


def test_an_unpublished_sources_capture_stays_out_of_the_dump(db, tmp_path):
    captured()
    from heritage.dataset import write_dump

    assert write_dump(tmp_path / "dump.zip")["captures"] == 0


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite serialises writers: the race shows on PostgreSQL",
)
def test_captures_taken_at_once_by_many_curators_keep_one_unbroken_chain(transactional_db):
    sources = [make_source() for _ in range(6)]
    start, errors = threading.Barrier(len(sources)), []

    def capture(n, source):
        try:
            start.wait(5)
            for round_ in range(3):
                captured(source, PAGE.replace(b"Sunday", f"day {n}-{round_}".encode()))
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=capture, args=pair) for pair in enumerate(sources)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert Capture.objects.count() == 18
    assert CustodyEntry.objects.count() == 18 * 2 + 6 * 2  # captured, extracted; superseded
    assert list(CustodyEntry.objects.breaks()) == []
    assert list(CustodyEntry.objects.values_list("position", flat=True)) == list(range(1, 49))


def test_the_database_itself_refuses_to_change_evidence_by_raw_sql(db):
    from django.db import DatabaseError, transaction

    capture = captured()
    for table in (Capture._meta.db_table, CustodyEntry._meta.db_table):
        with (
            pytest.raises(DatabaseError, match="evidence is never changed"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"UPDATE {table} SET id = id")
    if connection.vendor == "postgresql":
        with (
            pytest.raises(DatabaseError, match="evidence is never changed"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"DELETE FROM {Capture._meta.db_table}")
    assert Capture.objects.get().sha256 == capture.sha256


def test_an_upsert_a_base_manager_or_a_fixture_cannot_overwrite_evidence(db):
    from django.core import serializers

    capture = captured()
    forged = Capture.objects.get(pk=capture.pk)
    forged.text = "forged"
    with pytest.raises(Immutable):
        Capture.objects.bulk_create(
            [forged], update_conflicts=True, unique_fields=["id"], update_fields=["text"]
        )
    with pytest.raises(Immutable):
        Capture._base_manager.filter(pk=capture.pk).update(text="forged")
    with pytest.raises(Immutable):
        CustodyEntry._base_manager.update(actor="mallory")
    [loaded] = serializers.deserialize("json", serializers.serialize("json", [capture]))
    loaded.object.text = "forged"
    with pytest.raises(Immutable):
        loaded.save()
    capture.refresh_from_db()
    assert capture.text != "forged"


def test_a_second_captured_entry_cannot_vouch_for_a_row_changed_since(db, capsys):
    capture = captured()
    with connection.cursor() as cursor:
        unguarded(cursor, Capture._meta.db_table)
        cursor.execute(
            f"UPDATE {Capture._meta.db_table} SET captured_by = 'mallory' WHERE id = {capture.pk}"
        )
    capture.refresh_from_db()
    CustodyEntry.objects.append(CustodyAction.CAPTURED, "", capture, capture.facts())
    verify_fails()
    err = capsys.readouterr().err
    assert "custody log's entry of its capture: captured_by" in err
    assert "records its capture more than once" in err


@pytest.mark.parametrize("listing", ["capture/?media_type=%00", "custodyentry/?action=%00"])
def test_a_nul_in_the_evidence_lists_filters_is_no_error_page(admin_client, listing):
    captured()
    assert admin_client.get(f"/admin/reports/{listing}").status_code in (200, 302)
