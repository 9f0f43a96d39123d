"""Evidence bundles: an event's (or a site's) records, citations with quotes and
offsets, history, captures and custody entries in one zip, signed with the register's
Ed25519 key; `manage.py verify_bundle` checks one offline, file by file."""

import base64
import hashlib
import json
import zipfile

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError

from heritage.models import DamageEvent
from reports.evidence import store
from reports.evidence.signing import public_text
from reports.models import CustodyAction, CustodyEntry
from tests.helpers import edit, make_citation, make_published_event, make_site, make_source

PAGE = (
    b"<html><head><title>Temple of Bel destroyed</title></head><body><article>"
    b"<p>Satellite images show the Temple of Bel in Palmyra was destroyed on Sunday.</p>"
    b"<p>The cella and most columns are gone.</p></article></body></html>"
)
QUOTE = "The cella and most columns are gone."


@pytest.fixture
def signing_key(settings):
    """A key made for this test (none is kept anywhere), configured as the register's."""
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    settings.EVIDENCE_SIGNING_KEY = base64.b64encode(raw).decode()
    return public_text(key.public_key())


@pytest.fixture
def cited_event(db):
    source = make_source(title="Temple of Bel destroyed")
    capture = store.take(source, PAGE, method="upload", name="bel.html")
    site = make_site(name="Temple of Bel")
    event = make_published_event(site=site, summary="Cella blown up")
    make_citation(event, source=source, quote=QUOTE, approve=True)
    edit(DamageEvent.objects.get(pk=event.pk), description="Seen on imagery of 31 August.")
    return event, capture


def export(tmp_path, *args, name="bundle.zip"):
    output = tmp_path / name
    call_command("export_bundle", *args, "--output", str(output))
    return output


def verify(bundle, *args):
    call_command("verify_bundle", str(bundle), *args)


def rewritten(bundle, tmp_path, change):
    """A copy of the bundle with `change(name, data)` applied to each member (None drops
    it), as someone tampering with it would make."""
    copy = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as original, zipfile.ZipFile(copy, "w") as out:
        for name in original.namelist():
            data = change(name, original.read(name))
            if data is not None:
                out.writestr(name, data)
    return copy


def test_a_signed_bundle_holds_the_record_and_its_evidence_and_verifies(
    cited_event, signing_key, tmp_path, capsys
):
    event, capture = cited_event
    bundle = export(tmp_path, "--event", str(event.pk))
    assert "1 event(s), 1 capture(s), signed" in capsys.readouterr().out
    with zipfile.ZipFile(bundle) as opened:
        manifest = json.loads(opened.read("manifest.json"))
        stored = opened.read(f"captures/{capture.sha256}.html")
    assert stored == PAGE
    [record] = manifest["events"]
    assert record["id"] == event.pk
    assert record["summary"] == "Cella blown up"
    quoted = [c for c in record["citations"] if c["quote"] == QUOTE][0]
    start = capture.text.index(QUOTE)
    assert quoted["in_capture"] == {
        "sha256": capture.sha256,
        "text_sha256": capture.text_sha256,
        "start": start,
        "end": start + len(QUOTE),
        "page": None,
    }
    assert [h["change"] for h in record["history"]][0] == "created"
    assert any(h["description"] == "Seen on imagery of 31 August." for h in record["history"])
    assert manifest["captures"][0]["sha256"] == capture.sha256
    logged = {entry["action"] for entry in manifest["custody"]}
    assert {"captured", "extracted", "cited"} <= logged
    assert manifest["signature"]["public_key"] == signing_key
    verify(bundle, "--key", signing_key)
    assert "verifies" in capsys.readouterr().out


def test_exporting_a_bundle_is_logged_with_the_manifests_hash(cited_event, tmp_path):
    event, _ = cited_event
    bundle = export(tmp_path, "--event", str(event.pk))
    with zipfile.ZipFile(bundle) as opened:
        manifest = opened.read("manifest.json")
    exported = CustodyEntry.objects.get(action=CustodyAction.EXPORTED)
    assert exported.detail["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert exported.detail["events"] == [event.pk]
    assert list(CustodyEntry.objects.breaks()) == []


@pytest.mark.parametrize(
    "member", ["manifest.json", "README.txt", "captures/{sha256}.html", "manifest.sig"]
)
def test_a_bundle_fails_when_any_file_in_it_changes(
    cited_event, signing_key, tmp_path, capsys, member
):
    event, capture = cited_event
    bundle = export(tmp_path, "--event", str(event.pk))
    target = member.format(sha256=capture.sha256)

    def flip(name, data):
        if name != target:
            return data
        if name == "manifest.sig":  # another valid-looking signature
            return base64.b64encode(bytes(64)) + b"\n"
        return data[:-2] + bytes([data[-2] ^ 1]) + data[-1:]

    with pytest.raises(CommandError) as failed:
        verify(rewritten(bundle, tmp_path, flip), "--key", signing_key)
    assert failed.value.returncode == 1
    err = capsys.readouterr().err
    named = "manifest.sig" if target in ("manifest.json", "manifest.sig") else target
    assert named in err


def test_a_bundle_with_a_file_missing_or_added_names_it(cited_event, tmp_path, capsys):
    event, capture = cited_event
    bundle = export(tmp_path, "--event", str(event.pk))
    path = f"captures/{capture.sha256}.html"
    with pytest.raises(CommandError):
        verify(rewritten(bundle, tmp_path, lambda n, d: None if n == path else d))
    assert f"{path}: missing from the bundle" in capsys.readouterr().err

    def add(name, data):
        return data

    with zipfile.ZipFile(rewritten(bundle, tmp_path, add), "a") as opened:
        opened.writestr("captures/extra.html", b"<p>planted</p>")
    with pytest.raises(CommandError):
        verify(tmp_path / "tampered.zip")
    assert "captures/extra.html: not listed in the manifest" in capsys.readouterr().err


def test_a_bundle_signed_by_another_key_fails(cited_event, signing_key, tmp_path, capsys):
    event, _ = cited_event
    bundle = export(tmp_path, "--event", str(event.pk))
    other = public_text(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(CommandError) as failed:
        verify(bundle, "--key", other)
    assert failed.value.returncode == 1
    assert "does not match manifest.json with this key" in capsys.readouterr().err


def test_an_unsigned_bundle_says_so_and_a_key_cannot_vouch_for_it(
    cited_event, settings, tmp_path, capsys
):
    settings.EVIDENCE_SIGNING_KEY = ""
    event, _ = cited_event
    bundle = export(tmp_path, "--event", str(event.pk))
    assert "UNSIGNED" in capsys.readouterr().out
    with zipfile.ZipFile(bundle) as opened:
        assert "manifest.sig" not in opened.namelist()
        manifest = json.loads(opened.read("manifest.json"))
    assert manifest["signature"]["algorithm"] is None
    verify(bundle)  # its files still check against the manifest
    assert "signature NOT checked" in capsys.readouterr().out
    other = public_text(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(CommandError):
        verify(bundle, "--key", other)
    assert "the bundle is not signed" in capsys.readouterr().err


def test_the_public_key_may_be_given_as_a_pem_file(cited_event, settings, tmp_path):
    key = Ed25519PrivateKey.generate()
    settings.EVIDENCE_SIGNING_KEY = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    pem = tmp_path / "register.pub"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    event, _ = cited_event
    verify(export(tmp_path, "--event", str(event.pk)), "--key", str(pem))


def test_a_sites_bundle_holds_the_events_of_the_places_within_it(db, tmp_path):
    palmyra = make_site(name="Palmyra test city")
    temple = make_site(name="A temple within it", parent=palmyra)
    inside = make_published_event(site=temple)
    elsewhere = make_published_event()
    bundle = export(tmp_path, "--site", palmyra.slug)
    with zipfile.ZipFile(bundle) as opened:
        manifest = json.loads(opened.read("manifest.json"))
    ids = [event["id"] for event in manifest["events"]]
    assert inside.pk in ids
    assert elsewhere.pk not in ids
    verify(bundle)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--event", "999999"], "There is no event 999999."),
        (["--site", "nowhere"], "There is no site “nowhere”."),
    ],
)
def test_export_bundle_refuses_what_does_not_exist(db, tmp_path, args, message):
    with pytest.raises(CommandError, match=message) as failed:
        export(tmp_path, *args)
    assert failed.value.returncode == 2
    assert not (tmp_path / "bundle.zip").exists()
    assert not CustodyEntry.objects.exists()


def test_a_capture_altered_in_the_store_is_not_exported(cited_event, capture_store, tmp_path):
    event, capture = cited_event
    path = capture_store / capture.file.name
    path.chmod(0o644)
    path.write_bytes(PAGE.replace(b"gone", b"here"))
    before = CustodyEntry.objects.count()
    with pytest.raises(CommandError, match="no longer has its SHA-256"):
        export(tmp_path, "--event", str(event.pk))
    assert not list(tmp_path.glob("*.zip"))
    assert not list(tmp_path.glob(".*.part"))
    assert CustodyEntry.objects.count() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a zip at all", "is not a zip file"),
        (None, "has no manifest.json"),
    ],
)
def test_verify_bundle_refuses_what_is_not_a_bundle(db, tmp_path, content, message):
    path = tmp_path / "odd.zip"
    if content is None:
        with zipfile.ZipFile(path, "w") as opened:
            opened.writestr("something.txt", "hello")
    else:
        path.write_bytes(content)
    with pytest.raises(CommandError, match=message) as failed:
        verify(path)
    assert failed.value.returncode == 2


def test_a_member_larger_than_its_manifest_says_is_read_no_further(cited_event, tmp_path, capsys):
    event, capture = cited_event
    bundle = export(tmp_path, "--event", str(event.pk))
    path = f"captures/{capture.sha256}.html"
    # A zip bomb in place of the capture: megabytes of zeros where 300 bytes are listed.
    bomb = rewritten(bundle, tmp_path, lambda n, d: bytes(20_000_000) if n == path else d)
    with pytest.raises(CommandError):
        verify(bomb)
    assert f"{path}: its size is not the manifest's" in capsys.readouterr().err


def test_a_wrong_key_argument_is_a_clear_refusal(cited_event, tmp_path):
    event, _ = cited_event
    bundle = export(tmp_path, "--event", str(event.pk))
    with pytest.raises(CommandError, match="neither PEM nor base64") as failed:
        verify(bundle, "--key", "not a key!")
    assert failed.value.returncode == 2


def test_the_admin_downloads_an_events_bundle_and_a_lists(
    cited_event, signing_key, client, django_user_model, tmp_path
):
    event, capture = cited_event
    import secrets

    from django.contrib.auth.models import Group

    call_command("setup_roles", verbosity=0)
    user = django_user_model.objects.create_user("reader", password=secrets.token_urlsafe())
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name="curator"))
    client.force_login(user)
    page = client.get(f"/admin/heritage/damageevent/{event.pk}/change/").content.decode()
    assert f"/admin/heritage/damageevent/{event.pk}/bundle/" in page
    # Exporting is logged: a link another site could make a browser follow must not do it.
    assert client.get(f"/admin/heritage/damageevent/{event.pk}/bundle/").status_code == 405
    assert not CustodyEntry.objects.filter(action="exported").exists()
    response = client.post(f"/admin/heritage/damageevent/{event.pk}/bundle/")
    assert response["Content-Type"] == "application/zip"
    single = tmp_path / "single.zip"
    single.write_bytes(b"".join(response.streaming_content))
    verify(single, "--key", signing_key)
    assert CustodyEntry.objects.filter(action="exported").get().actor == "reader"

    other = make_published_event()
    response = client.post(
        "/admin/heritage/damageevent/",
        {"action": "export_bundle", "_selected_action": [event.pk, other.pk]},
    )
    listed = tmp_path / "list.zip"
    listed.write_bytes(b"".join(response.streaming_content))
    with zipfile.ZipFile(listed) as opened:
        manifest = json.loads(opened.read("manifest.json"))
    assert sorted(e["id"] for e in manifest["events"]) == sorted([event.pk, other.pk])
    verify(listed, "--key", signing_key)


def test_an_unreadable_signing_key_is_a_system_check_error_not_a_failed_export(settings):
    from reports.checks import signing_key_is_readable

    settings.EVIDENCE_SIGNING_KEY = "c2hvcnQ="  # base64, but 5 bytes
    [error] = signing_key_is_readable(None)
    assert error.id == "reports.E001"
    assert "must be 32 bytes; it is 5" in error.msg
    settings.EVIDENCE_SIGNING_KEY = ""
    assert signing_key_is_readable(None) == []


def test_the_method_page_publishes_the_public_key_to_check_bundles_with(db, client, signing_key):
    page = client.get("/about/").content.decode()
    assert signing_key in page
    assert "verify_bundle" in page


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("planted", ["captures/{sha256}.html", "manifest.json"])
def test_a_second_member_of_the_same_name_planted_before_the_real_one_is_refused(
    cited_event, signing_key, tmp_path, capsys, planted
):
    event, capture = cited_event
    bundle = export(tmp_path, "--event", str(event.pk))
    forged, name = tmp_path / "forged.zip", planted.format(sha256=capture.sha256)
    with zipfile.ZipFile(bundle) as original, zipfile.ZipFile(forged, "w") as out:
        out.writestr(name, b"<p>The temple is intact.</p>")  # what a reader may see first
        for member in original.namelist():
            out.writestr(member, original.read(member))
    with pytest.raises(CommandError) as failed:
        verify(forged, "--key", signing_key)
    assert failed.value.returncode == 1
    assert f"{name}: in the bundle twice" in capsys.readouterr().err


def test_the_same_bytes_captured_for_two_cited_sources_are_one_file(db, tmp_path):
    event = make_published_event()
    for title in ("First relay", "Second relay"):
        source = make_source(title=title)
        store.take(source, PAGE, method="upload", name="bel.html")
        make_citation(event, source=source, quote=QUOTE, approve=True)
    bundle = export(tmp_path, "--event", str(event.pk))
    with zipfile.ZipFile(bundle) as opened:
        names = opened.namelist()
    assert len(names) == len(set(names))
    verify(bundle)


@pytest.mark.parametrize(
    "files",
    [
        "not a list",
        {"README.txt": "not a dict"},
        {"README.txt": {"sha256": "0" * 64}},
        {"README.txt": {"sha256": "0" * 64, "size": 10**13}},
    ],
)
def test_a_hand_made_manifest_is_refused_with_a_reason(cited_event, tmp_path, files):
    event, _ = cited_event
    bundle = export(tmp_path, "--event", str(event.pk))

    def rewrite(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["files"] = files
        return json.dumps(manifest).encode()

    with pytest.raises(CommandError, match="does not list its files") as failed:
        verify(rewritten(bundle, tmp_path, rewrite))
    assert failed.value.returncode == 2


def test_a_capture_missing_from_the_store_is_a_clear_refusal_not_an_error_page(
    cited_event, capture_store, tmp_path, admin_client
):
    event, capture = cited_event
    (capture_store / capture.file.name).unlink()
    with pytest.raises(CommandError, match="cannot be read"):
        export(tmp_path, "--event", str(event.pk))
    response = admin_client.post(f"/admin/heritage/damageevent/{event.pk}/bundle/", follow=True)
    assert response.status_code == 200
    assert "No bundle written" in response.content.decode()


def test_a_bundle_costs_the_same_queries_however_many_events_it_holds(db, tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(site, count):
        for _ in range(count):
            event = make_published_event(site=site)
            source = make_source()
            store.take(source, PAGE + str(event.pk).encode(), method="upload", name="p.html")
            make_citation(event, source=source, quote=QUOTE, approve=True)
        with CaptureQueriesContext(connection) as counted:
            export(tmp_path, "--site", site.slug, name=f"{site.slug}.zip")
        return len(counted)

    assert queries(make_site(), 2) == queries(make_site(), 6)
