"""Spreadsheet import and export (`manage.py import_records`, `export_records`, the admin's
"Import records" page): sites, names, sources, events and citations from CSV or XLSX,
through the workflow, all or nothing, each problem named by row and column."""

import csv
import io
import time
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from heritage import workflow
from heritage.imports import loading, reading
from heritage.imports.tables import TABLES
from heritage.models import DamageEvent, PendingChange, Site, SiteName, State
from reports.models import Capture, Citation, Source
from tests.helpers import make_source

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:heritage_import_records")
EXPORT_URL = reverse("admin:heritage_export_records")

# A small register of our own: a country (whose bounds the record's syria.json gives), a
# temple in it with two names, a report with its text, an event citing it.
ROWS = {
    "sites": [
        {"slug": "syria", "name": "Syria", "kind": "country"},
        {
            "slug": "a-temple",
            "name": "A temple",
            "kind": "temple",
            "parent": "syria",
            "latitude": "34.5",
            "longitude": "38.2",
            "location_precision": "exact",
        },
    ],  # fmt: skip
    "names": [
        {"site": "a-temple", "name": "معبد", "language": "ar"},
        {"site": "a-temple", "name": "The Temple", "language": "en"},
    ],
    "sources": [
        {
            "key": "report",
            "kind": "news",
            "title": "A report",
            "publisher": "A paper",
            "published": "2015-08-31",
            "url": "https://example.org/report",
            "text": "The temple was blown up on Sunday, witnesses said.",
        },
    ],  # fmt: skip
    "events": [
        {
            "key": "blast",
            "site": "a-temple",
            "summary": "Blown up",
            "date": "2015-08-30",
            "level": "destroyed",
            "cause": "explosives",
        },
    ],  # fmt: skip
    "citations": [
        {
            "event": "blast",
            "source": "report",
            "quote": "The temple was blown up",
            "claimed_date": "2015-08-30",
        },
    ],  # fmt: skip
}


def rows_with(**changes):
    """ROWS, with tables replaced or rows changed: changes={"sites": {1: {...}}} changes
    row 1 of sites; a list replaces the table."""
    rows = {name: [dict(row) for row in table] for name, table in ROWS.items()}
    for name, change in changes.items():
        if isinstance(change, list):
            rows[name] = change
        else:
            for index, cells in change.items():
                rows[name][index] |= cells
    return rows


def write_csv(folder, rows=None, columns=None):
    """One CSV file per table in `folder`; `columns` overrides a table's heading."""
    folder.mkdir(exist_ok=True)
    for name, table_rows in (rows or ROWS).items():
        heading = (columns or {}).get(name, TABLES[name].columns)
        with open(folder / f"{name}.csv", "w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(heading)
            for row in table_rows:
                writer.writerow([row.get(column, "") for column in heading])
    return folder


def write_workbook(path, rows=None):
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, table_rows in (rows or ROWS).items():
        sheet = workbook.create_sheet(name)
        sheet.append(list(TABLES[name].columns))
        for row in table_rows:
            sheet.append([row.get(column) for column in TABLES[name].columns])
    workbook.save(path)
    return path


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def import_records(*paths):
    out = io.StringIO()
    call_command("import_records", *map(str, paths), stdout=out)
    return out.getvalue()


def refused(*paths):
    """The problems the import names (exit code 2), having checked it changed nothing."""
    counts = record_counts()
    with pytest.raises(CommandError) as refusal:
        import_records(*paths)
    assert refusal.value.returncode == 2
    assert record_counts() == counts
    return str(refusal.value)


def record_counts():
    """Every row of every table the import writes, and every version in their history."""
    models = (Site, SiteName, Source, DamageEvent, Citation)
    return (
        [model.objects.count() for model in models],
        [model.history.count() for model in models],
        PendingChange.objects.count(),
        Capture.objects.count(),
    )


def export(tmp_path, name="register.xlsx"):
    path = tmp_path / name
    call_command("export_records", "--output", str(path), stdout=io.StringIO())
    return path


def test_csv_files_add_sites_names_sources_events_and_citations_through_the_workflow(tmp_path):
    output = import_records(*sorted(write_csv(tmp_path / "csv").iterdir()))

    temple = Site.objects.get(slug="a-temple")
    assert (temple.parent.slug, str(temple.latitude), temple.approved) == (
        "syria",
        "34.50000",
        True,
    )
    assert set(temple.names.values_list("name", "language")) == {
        ("معبد", "ar"),
        ("The Temple", "en"),
    }
    event = DamageEvent.objects.get(record_key="blast")
    # A command's import drafts events, as a curator's does; --publish publishes them.
    assert (event.state, event.site, event.level) == (State.DRAFT, temple, "destroyed")
    citation = event.citations.get()
    assert (citation.source.record_key, citation.claimed_lower.isoformat()) == (
        "report",
        "2015-08-30",
    )
    # The source's text is kept as a capture, as the record's loader keeps it.
    assert citation.source.captures.get().method == "import"
    assert temple.history.latest().history_change_reason.endswith("imported from sites.csv")
    assert event.history.latest().history_change_reason == "imported from events.csv"
    assert "sites: 2 new, 0 changed, 0 unchanged" in output


def test_a_workbook_adds_the_same_records_as_csv_files(tmp_path):
    import_records(write_workbook(tmp_path / "register.xlsx"))

    event = DamageEvent.objects.get(record_key="blast")
    assert event.citations.get().quote == "The temple was blown up"
    assert Site.objects.get(slug="a-temple").names.count() == 2
    assert event.history.latest().history_change_reason == "imported from register.xlsx"


def test_a_zip_of_csv_files_is_read_as_the_files_themselves(tmp_path):
    folder = write_csv(tmp_path / "csv")
    path = tmp_path / "records.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in folder.iterdir():
            archive.write(file, f"export/{file.name}")
    import_records(path)
    assert DamageEvent.objects.get(record_key="blast").citations.count() == 1


def test_the_command_publishes_the_events_only_when_asked(tmp_path):
    path = write_workbook(tmp_path / "register.xlsx")
    call_command("import_records", str(path), "--publish", stdout=io.StringIO())
    event = DamageEvent.objects.get(record_key="blast")
    assert (event.state, event.grade) == (State.PUBLISHED, "weak")


def test_a_dry_run_says_what_would_be_added_and_changes_nothing(tmp_path, capture_store):
    path = write_workbook(tmp_path / "register.xlsx")
    before = record_counts()
    out = io.StringIO()
    call_command("import_records", str(path), "--dry-run", stdout=out)

    assert record_counts() == before
    assert not capture_store.exists() or not any(capture_store.rglob("*.*"))
    assert "events: 1 new, 0 changed, 0 unchanged" in out.getvalue()
    assert "Nothing was changed (--dry-run)" in out.getvalue()


@pytest.mark.parametrize("name", ["register.xlsx", "register.zip", "csv-folder"])
def test_an_unchanged_export_imports_without_changing_anything(palmyra, tmp_path, name):
    # Palmyra's sample was made in the admin's way: no record keys, so its sources and
    # events are exported under "#" and their ids.
    import_records(write_workbook(tmp_path / "ours.xlsx"))
    path = export(tmp_path, name)
    before = record_counts()

    output = import_records(*(sorted(path.iterdir()) if path.is_dir() else [path]))

    assert record_counts() == before
    assert "0 new, 0 changed" in output
    assert "citations: 0 new, 0 changed, 31 unchanged" in output


def test_a_changed_cell_changes_exactly_that_field_with_the_file_named_in_history(
    palmyra, tmp_path
):
    folder = export(tmp_path, "csv")
    sites = read_csv(folder / "sites.csv")
    bel = next(row for row in sites if row["slug"] == "temple-of-bel")
    bel["latitude"] = "34.54750"
    write_csv(folder, {"sites": sites})
    before = Site.objects.get(slug="temple-of-bel")

    output = import_records(*sorted(folder.iterdir()))

    after = Site.objects.get(slug="temple-of-bel")
    changed = {
        f.name
        for f in Site._meta.concrete_fields
        if f.value_from_object(before) != f.value_from_object(after)
    }
    assert changed - {"version", "updated"} == {"latitude"}
    assert str(after.latitude) == "34.54750"
    assert "imported from sites.csv" in after.history.latest().history_change_reason
    assert "sites.csv row 3 (temple-of-bel): latitude" in output
    assert "sites: 0 new, 1 changed, 16 unchanged" in output


def test_a_late_error_leaves_nothing_imported(tmp_path, capture_store):
    # Every row is sound but the last citation's quote, which its source does not hold:
    # the sites, names, source (and its capture) and event written before are undone.
    rows = rows_with(
        citations=[
            *ROWS["citations"],
            {"event": "blast", "source": "report", "quote": "The temple still stands"},
        ]
    )
    problems = refused(*sorted(write_csv(tmp_path / "csv", rows).iterdir()))

    assert "citations.csv row 3, column quote: This quote does not occur" in problems
    assert not Site.objects.exists()
    assert not Capture.objects.exists()


# Bad input: each refused, named by file, row and column, and nothing imported.


@pytest.mark.parametrize(
    ("columns", "named"),
    [
        ({"sites": ["slug", "name", "kind"]}, "sites.csv: missing column “latitude”"),
        (
            {"sites": [*TABLES["sites"].columns, "lat"]},
            "sites.csv: unknown column “lat”",
        ),
        (
            {"names": ["site", "name", "name", "language"]},
            "names.csv: column “name” is given twice",
        ),
    ],
)
def test_a_wrong_or_missing_column_is_named(tmp_path, columns, named):
    problems = refused(*sorted(write_csv(tmp_path / "csv", columns=columns).iterdir()))
    assert named in problems


@pytest.mark.parametrize(
    "formula",
    [
        '=HYPERLINK("https://example.org/x","Click")',
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
    ],
)
def test_a_formula_in_a_csv_cell_is_refused_naming_the_cell(tmp_path, formula):
    rows = rows_with(names={1: {"name": formula}})
    problems = refused(*sorted(write_csv(tmp_path / "csv", rows).iterdir()))
    assert f"names.csv row 3, column name: “{formula[:40]}" in problems
    assert "is a formula" in problems
    assert not SiteName.objects.exists()


def test_a_formula_cell_of_a_workbook_is_refused_and_never_evaluated(tmp_path):
    rows = rows_with(sites={1: {"description": '=HYPERLINK("https://example.org","x")'}})
    problems = refused(write_workbook(tmp_path / "register.xlsx", rows))
    assert "register.xlsx, sheet sites, row 3, column description (G): “=HYPERLINK(" in problems


def test_text_that_only_looks_like_a_formula_is_kept_when_marked_with_an_apostrophe(tmp_path):
    rows = rows_with(events={0: {"description": "'-- as the group's video shows"}})
    import_records(*sorted(write_csv(tmp_path / "csv", rows).iterdir()))
    event = DamageEvent.objects.get(record_key="blast")
    assert event.description == "-- as the group's video shows"
    # The export marks it again, so that a spreadsheet does not run it.
    folder = export(tmp_path, "out")
    assert "'-- as the group's video shows" in (folder / "events.csv").read_text("utf-8-sig")


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        (
            {"events": {0: {"date": "last Sunday"}}},
            "events.csv row 2, column date: “last Sunday” is not a date in EDTF",
        ),
        (
            {"citations": {0: {"claimed_date": "2015-13-45"}}},
            "citations.csv row 2, column claimed_date:",
        ),
        (
            {"sites": {1: {"kind": "pyramid"}}},
            "sites.csv row 3, column kind: Value 'pyramid' is not a valid choice.",
        ),
        (
            {"sites": {1: {"latitude": "48.85", "longitude": "2.35"}}},
            "sites.csv row 3, columns latitude and longitude: its point (48.85000, 2.35000) "
            "lies outside Syria (32.0–38.0 N, 35.0–43.0 E)",
        ),
        (
            {"sites": {1: {"latitude": "north"}}},
            "sites.csv row 3, column latitude: “north” is not a number",
        ),
        (
            {"sites": {1: {"longitude": ""}}},
            "give both latitude and longitude, or neither",
        ),
        (
            {"sources": {0: {"url": "not a web address"}}},
            "sources.csv row 2, column url: Enter a valid URL.",
        ),
        (
            {"citations": {0: {"quote": "The temple still stands"}}},
            "citations.csv row 2, column quote: This quote does not occur in the stored text",
        ),
        (
            {"events": {0: {"actor": "The Sea Peoples"}}},
            "events.csv row 2, column actor: no actor “The Sea Peoples” in the register",
        ),
        (
            {"events": {0: {"site": "atlantis"}}},
            "events.csv row 2, column site: no site “atlantis” in the file or the register",
        ),
    ],
)
def test_a_value_that_breaks_a_rule_is_named_by_row_and_column(tmp_path, changes, named):
    problems = refused(*sorted(write_csv(tmp_path / "csv", rows_with(**changes)).iterdir()))
    assert named in problems


def test_a_url_given_twice_in_the_file_is_refused(tmp_path):
    second = ROWS["sources"][0] | {"key": "copy", "title": "A copy"}
    rows = rows_with(sources=[*ROWS["sources"], second])
    problems = refused(*sorted(write_csv(tmp_path / "csv", rows).iterdir()))
    assert "sources.csv row 3, column url: the URL of row 2 too" in problems


def test_a_url_another_source_of_the_register_has_is_refused(tmp_path):
    held = make_source(url="https://example.org/report", title="Held")
    Source.objects.filter(pk=held.pk).update(record_key="held")
    problems = refused(*sorted(write_csv(tmp_path / "csv").iterdir()))
    assert "sources.csv row 2, column url: another source of the register has this URL" in (
        problems
    )
    assert "(key held)" in problems


class GeneratedCSV:
    """A CSV file of `count` site rows, made as it is read: a file of any size, built
    never. `served` says how many rows were read."""

    def __init__(self, count):
        heading = ",".join(TABLES["sites"].columns) + "\n"
        self.lines = (
            heading if n == 0 else f"site-{n},Site {n},temple,,,,,,,,,,\n" for n in range(count + 1)
        )
        self.buffer, self.served = b"", -1

    def read(self, size=-1):
        while len(self.buffer) < size:
            line = next(self.lines, None)
            if line is None:
                break
            self.buffer += line.encode()
            self.served += 1
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


def test_a_hundred_thousand_rows_are_refused_quickly_once_past_the_row_limit(settings):
    settings.IMPORT_MAX_ROWS = 2_000
    generated = GeneratedCSV(100_000)
    started = time.monotonic()
    with pytest.raises(reading.ImportRefused) as refusal:
        reading.read([reading.Upload("sites.csv", generated)])
    assert time.monotonic() - started < 2
    assert refusal.value.problems == [
        "sites.csv: the files hold more than 2,000 rows, the most one import takes "
        "(IMPORT_MAX_ROWS). Split them, table by table or by place, and import each part."
    ]
    # Read a buffer's worth past the limit, not the rest of the file.
    assert generated.served < 3_000


def test_a_file_larger_than_the_upload_limit_is_refused_before_it_is_read(settings, tmp_path):
    settings.IMPORT_MAX_BYTES = 200
    problems = refused(*sorted(write_csv(tmp_path / "csv").iterdir()))
    assert "more than the 200 bytes one import takes (IMPORT_MAX_BYTES)" in problems


def png_bytes():
    buffer = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    return buffer.getvalue()


def zip_bomb(settings):
    """A zip that inflates to twice what an import may unpack, from a few kilobytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (2 * settings.IMPORT_MAX_UNPACKED))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "named"),
    [
        ("register.xlsx", "png", "register.xlsx: not an XLSX workbook: it is a PNG image."),
        ("register.xlsx", "bomb", "register.xlsx: unpacks to 2 MB in 1 parts, more than"),
        ("register.xlsx", b"", "register.xlsx: the file is empty."),
        ("register.xlsx", b"PK\x03\x04 not really", "register.xlsx: not an XLSX workbook: a"),
        ("sites.csv", b"", "sites.csv: the file is empty."),
        ("sites.csv", "png", "sites.csv row 1: not text in UTF-8"),
        ("records.zip", "bomb", "records.zip: unpacks to 2 MB"),
        ("sites.txt", b"slug", "sites.txt: not a file the import reads."),
    ],
)
def test_a_file_that_is_not_a_spreadsheet_is_refused_without_being_opened(
    settings, tmp_path, monkeypatch, name, content, named
):
    settings.IMPORT_MAX_UNPACKED = 1_048_576
    content = {"png": png_bytes(), "bomb": zip_bomb(settings)}.get(content, content)

    def never(*args, **kwargs):
        raise AssertionError("openpyxl opened a file the import had refused")

    if named.startswith(f"{name}: not") or "unpacks" in named:
        monkeypatch.setattr(openpyxl, "load_workbook", never)
    path = tmp_path / name
    path.write_bytes(content)
    assert named in refused(path)


def test_an_entity_bomb_inside_a_workbook_is_refused_not_expanded(tmp_path):
    # A billion laughs in the names sheet: forty gigabytes once expanded, refused by the
    # XML parser's limit on amplification in milliseconds.
    path = write_workbook(tmp_path / "register.xlsx")
    entities = '<!ENTITY lol0 "lololololololololololololololololololol">' + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    )
    bombed = tmp_path / "bombed.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(bombed, "w") as target:
        for member in source.infolist():
            data = source.read(member)
            if member.filename == "xl/worksheets/sheet2.xml":
                body = data.decode().split("?>", 1)[-1].replace("<t>", "<t>&lol9;", 3)
                data = f"<!DOCTYPE worksheet [{entities}]>{body}".encode()
            target.writestr(member, data)
    started = time.monotonic()
    problems = refused(bombed)
    assert time.monotonic() - started < 2
    assert "bombed.xlsx: a sheet cannot be read (ParseError: limit on input amplification" in (
        problems
    )


def test_text_a_workbook_cannot_hold_as_written_comes_back_unchanged(tmp_path):
    # Carriage returns (XML reads them as line feeds), a control character, a literal
    # "_x000D_" and a formula-like start: each written so that it reads back as stored.
    text = "=Line one\r\nline two\x07 and _x000D_ as typed."
    source = make_source(title=text, note="+note")
    path = export(tmp_path)
    before = record_counts()
    assert "sources: 0 new, 0 changed, 1 unchanged" in import_records(path)
    assert record_counts() == before
    assert Source.objects.get(pk=source.pk).title == text


def test_a_curator_may_not_change_an_event_in_review_by_import_either(palmyra, curator, tmp_path):
    from tests.helpers import make_citation, make_event, move

    event = make_event(record_key="waiting", summary="Waiting")
    make_citation(event)
    move(event, State.REVIEW)
    folder = export(tmp_path, "csv")
    events = read_csv(folder / "events.csv")
    next(row for row in events if row["key"] == "waiting")["summary"] = "Changed meanwhile"
    write_csv(folder, {"events": events})
    with pytest.raises(reading.ImportRefused) as refusal:
        loading.run(reading.read_paths(sorted(folder.iterdir())), curator)
    row = next(n for n, row in enumerate(events, start=2) if row["key"] == "waiting")
    assert refusal.value.problems == [
        f"events.csv row {row}: This event is in review: only an editor changes it now. Ask "
        "for it back in draft."
    ]


def test_a_file_of_headings_alone_has_nothing_to_import(tmp_path):
    rows = {name: [] for name in ROWS}
    problems = refused(*sorted(write_csv(tmp_path / "csv", rows).iterdir()))
    assert "No rows to import:" in problems


def test_a_date_cell_that_holds_only_a_month_is_refused_rather_than_read_as_a_day(tmp_path):
    import datetime

    path = write_workbook(tmp_path / "register.xlsx")
    workbook = openpyxl.load_workbook(path)
    cell = workbook["events"]["E2"]
    cell.value, cell.number_format = datetime.datetime(2015, 8, 1), "mmm-yy"
    workbook.save(path)
    problems = refused(path)
    assert "register.xlsx, sheet events, row 2, column date (E): a date cell (2015-08-01)" in (
        problems
    )


# The admin


def upload(client, *files, **data):
    return client.post(IMPORT_URL, {"files": list(files), **data})


def csv_upload(tmp_path, rows=None):
    folder = write_csv(tmp_path / "upload", rows)
    return [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(folder.iterdir())]


@pytest.fixture(autouse=True)
def kept_uploads(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = str(tmp_path / "kept")
    return tmp_path / "kept"


def test_the_sites_list_links_to_the_import_and_the_export(curator_client):
    page = curator_client.get(reverse("admin:heritage_site_changelist")).content.decode()
    assert f'href="{IMPORT_URL}"' in page
    assert f'href="{EXPORT_URL}?format=xlsx"' in page


def test_only_staff_who_may_add_records_open_the_import_page(client, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    client.force_login(viewer)
    assert client.get(IMPORT_URL).status_code == 403
    assert client.post(IMPORT_URL, {}).status_code == 403
    assert client.get(EXPORT_URL).status_code == 200


def test_a_curators_import_is_previewed_then_imported_on_confirmation_publishing_nothing(
    palmyra, curator_client, tmp_path, kept_uploads
):
    bel = DamageEvent.objects.filter(site__slug="temple-of-bel", state=State.PUBLISHED).first()
    rows = rows_with(
        events=[
            *ROWS["events"],
            # A published event's summary, changed.
            {"key": f"#{bel.pk}", "site": "temple-of-bel", "summary": "Cella blown up again",
             "date": bel.date, "level": bel.level, "extent": bel.extent, "cause": bel.cause,
             "actor": bel.actor.name if bel.actor else "", "kind": bel.kind,
             "condition_after": bel.condition_after, "description": bel.description},
        ]
    )  # fmt: skip
    before, published = record_counts(), set(DamageEvent.objects.published())

    preview = upload(curator_client, *csv_upload(tmp_path, rows))

    assert preview.status_code == 200
    assert record_counts() == before
    report = preview.context["report"]
    assert [(name, len(new), len(changed)) for name, new, changed, _ in report.tables()] == [
        ("sites", 2, 0),
        ("names", 2, 0),
        ("sources", 1, 0),
        ("events", 1, 1),
        ("citations", 1, 0),
    ]
    page = preview.content.decode()
    assert f"events.csv row 3 (#{bel.pk}): changes summary, proposed for review" in page
    # Only a hash of the upload travels; the files stay on the server.
    digest = preview.context["digest"]
    assert curator_client.session["import_records"] == digest
    assert (kept_uploads / digest).is_dir()

    done = curator_client.post(IMPORT_URL, {"confirm": "1", "upload": digest}, follow=True)

    assert done.status_code == 200
    assert "Imported " in done.content.decode()
    assert not (kept_uploads / digest).exists()
    event = DamageEvent.objects.get(record_key="blast")
    assert event.state == State.DRAFT
    assert event.history.latest().history_user.username == "curator"
    # New sites wait for an editor; the published event is unchanged until one approves.
    assert not Site.objects.get(slug="a-temple").approved
    assert DamageEvent.objects.values_list("state", "summary").get(pk=bel.pk) == (
        State.PUBLISHED,
        bel.summary,
    )
    proposal = PendingChange.objects.get(object_id=bel.pk, status="pending")
    assert proposal.reason == "imported from events.csv"
    assert proposal.changes == {"summary": "Cella blown up again"}
    assert set(DamageEvent.objects.published()) == published


def test_importing_the_same_change_twice_proposes_it_once(palmyra, curator, tmp_path):
    folder = export(tmp_path, "csv")
    sites = read_csv(folder / "sites.csv")
    sites[1]["description"] = "Corrected."
    write_csv(folder, {"sites": sites})
    for _ in range(2):
        report = loading.run(reading.read_paths(sorted(folder.iterdir())), curator)
    assert PendingChange.objects.filter(status="pending").count() == 1
    assert report.summary().startswith("sites: 0 new, 0 changed, 17 unchanged")


def test_a_confirmation_imports_only_the_upload_this_session_previewed(curator_client, tmp_path):
    preview = upload(curator_client, *csv_upload(tmp_path))
    other = "0" * 64
    refused_page = curator_client.post(IMPORT_URL, {"confirm": "1", "upload": other})
    assert refused_page.status_code == 200
    assert "upload the file again" in refused_page.content.decode()
    assert not Site.objects.exists()
    # The preview's own hash still imports.
    curator_client.post(IMPORT_URL, {"confirm": "1", "upload": preview.context["digest"]})
    assert Site.objects.filter(slug="a-temple").exists()


@pytest.mark.parametrize(
    ("name", "content", "named"),
    [
        ("register.xlsx", "png", "not an XLSX workbook: it is a PNG image"),
        ("register.xlsx", "bomb", "unpacks to 2 MB"),
        ("register.xlsx", b"", "the file is empty"),
        ("names.csv", b'site,name,language\nx,"=HYPERLINK(""h"",""x"")",en\n', "is a formula"),
    ],
)
def test_a_bad_file_in_the_admin_is_named_on_the_page_never_an_error(
    settings, curator_client, name, content, named
):
    settings.IMPORT_MAX_UNPACKED = 1_048_576
    content = {"png": png_bytes(), "bomb": zip_bomb(settings)}.get(content, content)
    page = upload(curator_client, SimpleUploadedFile(name, content))
    assert page.status_code == 200
    assert "Nothing was imported" in page.content.decode()
    assert named in page.content.decode()
    assert page.context["report"] is None


def test_the_admin_export_is_a_workbook_the_import_reads_back_unchanged(
    palmyra, editor_client, tmp_path
):
    response = editor_client.get(EXPORT_URL, {"format": "xlsx"})
    assert response["Content-Disposition"].startswith("attachment")
    path = tmp_path / "download.xlsx"
    path.write_bytes(b"".join(response.streaming_content))
    before = record_counts()
    assert "sites: 0 new, 0 changed, 17 unchanged" in import_records(path)
    assert record_counts() == before


# Query counts


def many_rows(count, prefix="site"):
    """`count` sites, each with a name, a source, an event and a citation."""
    return {
        "sites": [{"slug": f"{prefix}-{n}", "name": f"Site {n}", "kind": "temple"}
                  for n in range(count)],
        "names": [{"site": f"site-{n}", "name": f"Other {n}"} for n in range(count)],
        "sources": [{"key": f"source-{n}", "kind": "news", "title": f"Report {n}",
                     "url": f"https://example.org/{n}"} for n in range(count)],
        "events": [{"key": f"event-{n}", "site": f"site-{n}", "summary": "Damaged",
                    "date": "2015-08"} for n in range(count)],
        "citations": [{"event": f"event-{n}", "source": f"source-{n}", "quote": f"Quote {n}"}
                      for n in range(count)],
    }  # fmt: skip


def test_an_unchanged_import_of_hundreds_of_rows_reads_the_register_in_a_few_queries(
    tmp_path, django_assert_max_num_queries
):
    import_records(write_workbook(tmp_path / "register.xlsx", many_rows(60)))
    path = export(tmp_path, "export.zip")
    # 300 rows, found in: the sites, their names, the sources, the events and their
    # actors, the citations; the transaction's savepoint and release: 8, whatever the
    # number of rows.
    with django_assert_max_num_queries(8):
        output = import_records(path)
    assert "citations: 0 new, 0 changed, 60 unchanged" in output


def test_each_new_row_costs_what_the_workflow_needs_and_no_more(tmp_path):
    def queries(count):
        rows = many_rows(count, prefix=f"of-{count}")
        tables = {name: [] for name in ROWS} | {"sites": rows["sites"]}
        path = write_workbook(tmp_path / f"sites-{count}.xlsx", tables)
        reset_queries()  # the log keeps 9,000 queries: counts start from an empty one
        with CaptureQueriesContext(connection) as captured:
            import_records(path)
        return len(captured)

    def one_site_through_the_workflow():
        # What the import does for each new site: check it, then save and approve it
        # through the workflow, as a command.
        site = Site(slug="alone", name="Alone", kind="temple")
        command = workflow.Command("import_records")
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            site.full_clean(exclude=["parent"])
            outcome = workflow.save(site, command, "imported from a test")
            workflow.approve(outcome.proposal, command, "imported from a test")
        return len(captured)

    twenty, forty = queries(20), queries(40)
    per_site = one_site_through_the_workflow()
    # Each new row costs what the workflow does for it alone (its checks, the save, the
    # approval a command gives, the read model), and the savepoint around it (two
    # queries); the reading of the register stays one query. (The first import also
    # reads what Django caches once, such as content types: hence "at most".)
    assert (forty - twenty) / 20 <= per_site + 2
    assert twenty <= 20 * (per_site + 2) + 10


def test_half_a_character_in_a_workbook_is_refused_naming_the_cell(tmp_path):
    # Workbooks write characters as _xHHHH_; _xD800_ is half of one, which no database
    # stores: a clear refusal, not an error page.
    rows = rows_with(sites={1: {"description": "a _xD800_ b"}})
    problems = refused(write_workbook(tmp_path / "register.xlsx", rows))
    assert "column description (G): half of a character" in problems
