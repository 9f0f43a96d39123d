"""The full dataset download: a zip of the published register."""

import csv
import io
import json
import zipfile

import pytest
from django.core.management import call_command

from heritage.dataset import COLUMNS, VOCABULARIES
from heritage.models import DamageEvent, Site
from reports.models import Citation
from tests.helpers import make_citation, make_event

pytestmark = pytest.mark.usefixtures("palmyra")


@pytest.fixture
def dump_path(settings, tmp_path):
    settings.DUMP_PATH = tmp_path / "heritage-register.zip"
    return settings.DUMP_PATH


def read_table(archive, name):
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


def test_the_dump_holds_every_published_table_a_dictionary_and_a_citation_file(client, dump_path):
    make_citation(make_event(Site.objects.get(slug="temple-of-bel"), summary="Draft claim"))
    out = io.StringIO()
    call_command("build_dump", stdout=out)
    assert "12 events" in out.getvalue()

    response = client.get("/api/v1/dump/")
    assert response.status_code == 200
    assert 'filename="heritage-register.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    assert {f"{table}.csv" for table in COLUMNS} <= names
    assert {"heritage-register.json", "data-dictionary.md", "CITATION.cff"} <= names

    events = read_table(archive, "events.csv")
    assert len(events) == DamageEvent.objects.published().count()
    assert "Draft claim" not in archive.read("events.csv").decode()
    citations = read_table(archive, "citations.csv")
    assert len(citations) == Citation.objects.filter(event__state="published").count()
    data = json.loads(archive.read("heritage-register.json"))
    assert len(data["sites"]) == Site.objects.count()
    assert data["events"][0].keys() == events[0].keys()


def test_the_data_dictionary_describes_every_column_and_vocabulary(dump_path):
    call_command("build_dump", stdout=io.StringIO())
    dictionary = zipfile.ZipFile(dump_path).read("data-dictionary.md").decode()
    for table, columns in COLUMNS.items():
        assert f"## {table}.csv" in dictionary
        for column, _, _ in columns:
            assert f"| `{column}` |" in dictionary
    for name, choices in VOCABULARIES.items():
        assert f"### {name}" in dictionary
        assert all(f"| `{choice.value}` |" in dictionary for choice in choices)


def test_citation_cff_is_a_dataset_citation(dump_path):
    call_command("build_dump", stdout=io.StringIO())
    cff = zipfile.ZipFile(dump_path).read("CITATION.cff").decode()
    assert "cff-version: 1.2.0" in cff
    assert "type: dataset" in cff


def test_before_it_is_built_the_download_says_how_to_build_it(client, dump_path):
    response = client.get("/api/v1/dump/")
    assert response.status_code == 404
    assert "build_dump" in response.json()["detail"]
