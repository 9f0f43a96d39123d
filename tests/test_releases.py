"""Numbered releases (`manage.py release`, /data/) and the dump rebuilt in the background
after each publication (heritage/tasks.py)."""

import base64
import csv
import hashlib
import io
import json
import zipfile

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.tasks.signals import task_enqueued
from django.utils import timezone

from heritage import releases, tasks
from heritage.dataset import COLUMNS
from heritage.models import DamageEvent, PublicStamp, Site, State
from tests.helpers import edit, make_citation, make_event, make_published_event, move, publish

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def folders(settings, tmp_path):
    """Releases and the dump in the test's own folder, never the checkout's var/."""
    settings.RELEASES_DIR = tmp_path / "releases"
    settings.DUMP_PATH = tmp_path / "dump" / "heritage-register.zip"
    return settings.RELEASES_DIR


def release(*args):
    out = io.StringIO()
    call_command("release", *args, stdout=out)
    return out.getvalue()


def year(n):
    return f"{timezone.now().year}.{n}"


def opened(version):
    return zipfile.ZipFile(releases.Index.read().get(version).path)


def changes_of(version):
    return json.loads(opened(version).read("changes.json"))["tables"]


def every_file(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.mark.usefixtures("palmyra")
def test_a_first_release_holds_the_dumps_files_checksums_and_a_citation_naming_it(folders):
    output = release()

    first = releases.Index.read().latest
    assert first.version == year(1)
    assert f"Released {year(1)}" in output
    assert first.path == folders / f"heritage-register-{year(1)}.zip"
    assert hashlib.sha256(first.path.read_bytes()).hexdigest() == first.sha256
    archive = opened(first.version)
    names = set(archive.namelist())
    assert {f"{table}.csv" for table in COLUMNS} <= names
    assert {"heritage-register.json", "data-dictionary.md", "CITATION.cff"} <= names
    assert {"CHANGELOG.md", "changes.json", "SHA256SUMS"} <= names
    sums = dict(
        reversed(line.split("  ")) for line in archive.read("SHA256SUMS").decode().splitlines()
    )
    assert set(sums) == names - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest, name
    cff = archive.read("CITATION.cff").decode()
    assert f'version: "{year(1)}"' in cff
    assert f"date-released: {timezone.now().date().isoformat()}" in cff
    assert "First release" in archive.read("CHANGELOG.md").decode()
    published = DamageEvent.objects.published().values_list("id", flat=True)
    assert sorted(changes_of(first.version)["events"]["added"]) == sorted(published)
    events = list(csv.DictReader(io.StringIO(archive.read("events.csv").decode("utf-8-sig"))))
    assert len(events) == first.counts["events"] == DamageEvent.objects.published().count()
    # The folder's own SHA256SUMS, for `sha256sum -c` in a copy of it.
    assert (folders / "SHA256SUMS").read_text() == f"{first.sha256}  {first.file}\n"


@pytest.mark.usefixtures("palmyra")
def test_a_second_release_lists_exactly_the_events_published_changed_and_withdrawn():
    release()
    bel = Site.objects.get(slug="temple-of-bel")
    added = make_published_event(bel, summary="Newly published collapse")
    changed = edit(DamageEvent.objects.published().order_by("id")[0], summary="Summary reworded")
    withdrawn = DamageEvent.objects.published().exclude(pk__in=[added.pk, changed.pk]).first()
    withdrawn_citations = sorted(withdrawn.citations.values_list("id", flat=True))
    move(withdrawn, State.DRAFT)

    release()

    second = releases.Index.read().latest
    assert (second.version, second.previous) == (year(2), year(1))
    events = changes_of(second.version)["events"]
    assert events == {
        "added": [added.pk],
        "changed": [{"key": changed.pk, "columns": ["summary"]}],
        "withdrawn": [withdrawn.pk],
    }
    citations = changes_of(second.version)["citations"]
    assert citations["added"] == list(added.citations.values_list("id", flat=True))
    assert citations["changed"] == []
    assert sorted(citations["withdrawn"]) == withdrawn_citations
    # A new event at a site changes the site's counts, not the site.
    assert changes_of(second.version)["sites"] == {"added": [], "changed": [], "withdrawn": []}
    changelog = opened(second.version).read("CHANGELOG.md").decode()
    assert f"Since {year(1)}" in changelog
    assert f"- {added.pk}: Temple of Bel, 2015-08-30: Newly published collapse" in changelog
    assert f"- {changed.pk}: " in changelog
    assert "(changed: summary)" in changelog
    assert f"- {withdrawn.pk}: " in changelog
    # The new event's citation cites a new source.
    assert second.summary == (
        "1 event added, 1 changed, 1 withdrawn; 1 source added; 1 citation added, 1 withdrawn"
    )


@pytest.mark.usefixtures("palmyra")
def test_a_release_with_nothing_changed_is_refused_and_force_makes_one():
    release()
    make_event(Site.objects.get(slug="temple-of-bel"), summary="A draft changes nothing public")

    with pytest.raises(CommandError, match="Nothing in the published register changed") as error:
        release()
    assert error.value.returncode == 2
    assert [r.version for r in releases.Index.read().releases] == [year(1)]

    release("--force")
    forced = releases.Index.read().latest
    assert (forced.version, forced.forced) == (year(2), True)
    assert forced.summary == "No change (made with --force)."


@pytest.mark.usefixtures("palmyra")
def test_a_dry_run_shows_the_changelog_and_writes_nothing(folders):
    output = release("--dry-run")
    assert "First release" in output
    assert "nothing written" in output
    assert not folders.exists()

    release()
    before = every_file(folders)
    make_published_event(Site.objects.get(slug="temple-of-bel"), summary="Seen in the dry run")
    output = release("--dry-run")
    assert "Seen in the dry run" in output
    assert f"release {year(2)} not made" in output
    assert every_file(folders) == before


@pytest.mark.usefixtures("palmyra")
def test_an_interrupted_release_leaves_nothing_under_its_final_name(folders, monkeypatch):
    release()
    before = every_file(folders)
    make_published_event(Site.objects.get(slug="temple-of-bel"))

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    # Fails with the zip half written, after the dump's files went in.
    monkeypatch.setattr(releases, "citation_cff", disk_full)
    with pytest.raises(CommandError, match="No release made: .*No space left") as error:
        release()
    assert error.value.returncode == 1
    assert every_file(folders) == before  # no zip, no partial folder, the same index
    monkeypatch.undo()

    # Killed between moving the zip into place and listing it: the file is no release,
    # is never served, and the next release replaces it.
    stray = folders / f"heritage-register-{year(2)}.zip"
    stray.write_bytes(b"half a release")
    release()
    replaced = hashlib.sha256(stray.read_bytes()).hexdigest()
    assert releases.Index.read().get(year(2)).sha256 == replaced


@pytest.mark.usefixtures("palmyra")
def test_nothing_unpublished_is_in_a_release(client):
    draft = make_event(Site.objects.get(slug="temple-of-bel"), summary="Unpublished draft claim")
    make_citation(draft, quote="Words of an unreviewed citation")
    release()

    archive = opened(year(1))
    for name in archive.namelist():
        text = archive.read(name).decode("utf-8-sig")
        assert "Unpublished draft claim" not in text, name
        assert "Words of an unreviewed citation" not in text, name
    ids = {row["id"] for row in json.loads(archive.read("heritage-register.json"))["events"]}
    assert draft.pk not in ids
    assert "Unpublished draft claim" not in client.get("/data/").content.decode()


@pytest.mark.usefixtures("palmyra")
def test_the_data_page_lists_releases_with_their_checksums_and_links(
    client, django_assert_num_queries
):
    release()
    make_published_event(Site.objects.get(slug="temple-of-bel"))
    release()
    first, second = releases.Index.read().releases

    # Expect 1 query: the public record's version, to say whether the dump is current
    with django_assert_num_queries(1):
        response = client.get("/data/")

    assert response.status_code == 200
    page = response.content.decode()
    assert page.index(f"Release {second.version}") < page.index(f"Release {first.version}")
    for made in (first, second):
        assert made.sha256 in page
        assert f'href="/data/heritage-register-{made.version}.zip"' in page
        assert f"version {made.version} [data set]" in page
    assert "1 event added; 1 source added; 1 citation added" in page
    assert "First release." in page
    assert f"version: &quot;{second.version}&quot;" in page
    assert 'href="/data/"' in client.get("/about/").content.decode()


@pytest.mark.usefixtures("palmyra")
def test_a_download_answers_the_file_with_its_checksum(client):
    release()
    made = releases.Index.read().latest

    response = client.get(f"/data/heritage-register-{made.version}.zip")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{made.file}"'
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == made.sha256
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert response["Repr-Digest"] == f"sha-256=:{digest}:"
    assert response["ETag"] == f'"{made.sha256}"'
    again = client.get(response.wsgi_request.path, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


@pytest.mark.usefixtures("palmyra")
def test_a_release_the_index_does_not_list_is_not_found(client, folders):
    release()
    (folders / f"heritage-register-{year(9)}.zip").write_bytes(b"not a release")

    assert client.get(f"/data/heritage-register-{year(9)}.zip").status_code == 404
    assert client.get("/data/heritage-register-2099.1.zip").status_code == 404
    assert client.get("/data/heritage-register-..%2Freleases.json.zip").status_code == 404


# The dump rebuilt in the background: the ImmediateBackend runs each task as it is
# queued, and tasks are queued when a transaction commits, so these tests commit.


@pytest.fixture
def queued(settings):
    """The dump rebuilds queued while the test runs, each run at once."""
    settings.TASKS = IMMEDIATE
    seen = []

    def note(sender, task_result, **kwargs):
        if task_result.task.module_path == "heritage.tasks.rebuild_dump":
            seen.append(task_result)

    task_enqueued.connect(note)
    yield seen
    task_enqueued.disconnect(note)


def dumped_summaries():
    with zipfile.ZipFile(settings.DUMP_PATH) as dump:
        return {row["summary"] for row in json.loads(dump.read("heritage-register.json"))["events"]}


def ready_to_publish(summary):
    event = make_event(summary=summary)
    make_citation(event)
    return event


@pytest.mark.django_db(transaction=True)
def test_publishing_an_event_queues_one_dump_rebuild_run_after_commit(queued, client):
    event = ready_to_publish("Published in the background test")
    queued.clear()

    publish(event)

    assert len(queued) == 1
    assert queued[0].status == "SUCCESSFUL"
    assert queued[0].return_value["rebuilt"] is True
    assert "Published in the background test" in dumped_summaries()
    assert tasks.latest_dump()["public_version"] == PublicStamp.current()[0]
    assert "a new dump is on its way" not in client.get("/data/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_publications_in_one_transaction_queues_one_rebuild(queued):
    events = [ready_to_publish(f"Burst {n}") for n in range(3)]
    queued.clear()

    with transaction.atomic():
        for event in events:
            publish(event)
        assert queued == []  # nothing before the commit

    assert len(queued) == 1
    assert {"Burst 0", "Burst 1", "Burst 2"} <= dumped_summaries()


@pytest.mark.django_db(transaction=True)
def test_a_publication_rolled_back_queues_nothing(queued):
    event = ready_to_publish("Rolled back")
    queued.clear()

    def publish_then_fail():
        with transaction.atomic():
            publish(event)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        publish_then_fail()

    assert queued == []


@pytest.mark.django_db
def test_a_rebuild_asked_for_a_version_the_dump_holds_does_nothing(client):
    built = tasks.build_latest_dump()

    assert tasks.rebuild_dump.call(built["public_version"]) == {
        "rebuilt": False,
        "public_version": built["public_version"],
    }
    assert tasks.rebuild_dump.call(built["public_version"] + 1)["rebuilt"] is True
    page = client.get("/data/").content.decode()
    assert "built <time" in page
    PublicStamp.bump()
    assert "a new dump is on its way" in client.get("/data/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_with_the_database_queue_the_worker_rebuilds_once_for_a_burst_of_transactions():
    from django_tasks_db.models import DBTaskResult

    events = [ready_to_publish(f"Queued {n}") for n in range(3)]  # their sites queue too
    queued = DBTaskResult.objects.filter(task_path="heritage.tasks.rebuild_dump")
    before = queued.count()
    for event in events:
        publish(event)  # a transaction each, so a task each

    assert queued.count() == before + 3
    assert tasks.latest_dump() is None  # no worker has run

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    results = [result.task_result for result in queued.order_by("enqueued_at")]
    assert {r.status for r in results} == {"SUCCESSFUL"}
    # The first to run rebuilds for them all.
    assert [r.return_value["rebuilt"] for r in results] == [True] + [False] * (len(results) - 1)
    assert {"Queued 0", "Queued 1", "Queued 2"} <= dumped_summaries()
