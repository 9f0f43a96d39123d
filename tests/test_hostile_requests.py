"""Requests built to cost the register too much, or to slip something past it: each is
answered within a bound measured by counting the work done (parser calls, characters
copied), not by a clock, and with a clear refusal where it is refused."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from heritage import dates
from heritage.images import validate_image_upload
from heritage.middleware import PageThrottle
from reports import intake
from reports.models import Source
from tests.helpers import make_citation, make_event, make_site, make_source, publish
from tests.test_intake_quality import SITES

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


@pytest.fixture
def parser_calls(monkeypatch):
    """How many times the edtf package's parser runs, whatever calls it."""
    calls = []
    real = dates.parse_edtf

    def counting(text):
        calls.append(len(text))
        return real(text)

    monkeypatch.setattr(dates, "parse_edtf", counting)
    return calls


EDTF_SET = "{" + ",".join(["2015"] * 600) + "}"  # about 3 KB


@pytest.mark.parametrize("url", ["/api/v1/events/", "/api/v1/sites/", "/events/", "/sites/"])
@pytest.mark.parametrize("parameter", ["date_after", "date_before"])
def test_a_3_kb_edtf_set_in_a_period_is_refused_unparsed(client, parameter, url, parser_calls):
    response = client.get(url, {parameter: EDTF_SET})
    if url.startswith("/api/"):
        assert response.status_code == 400
        assert parameter in response.json()
    else:
        assert response.status_code == 200
        assert parameter in response.context["filter"].form.errors
    assert parser_calls == []


@pytest.mark.parametrize(
    "value",
    ["[2015,2016]", "{2015..2017}", "2015-" + "0" * 80, "2015/" * 20 + "2016", " " * 5000],
)
def test_the_same_cap_holds_wherever_a_date_is_read(value, parser_calls):
    with pytest.raises(ValidationError):
        dates.edtf_bounds(value)
    assert dates.describe_edtf(value) == value  # words for it are refused alike
    assert parser_calls == []


def test_an_ordinary_date_of_the_rarer_shapes_still_goes_to_the_parser(parser_calls):
    assert dates.edtf_bounds("2015-21") == (dates.edtf_bounds("2015-03")[0],
                                              dates.edtf_bounds("2015-05")[1])  # fmt: skip
    assert parser_calls == [7]


class CountingText(str):
    """An article that counts the characters copied out of it by slicing: reading it
    must copy each character a bounded number of times, however it is shaped."""

    copied = 0

    def __getitem__(self, key):
        part = super().__getitem__(key)
        CountingText.copied += len(part)
        return part


def copies(text):
    CountingText.copied = 0
    intake.extract(CountingText(text), intake.Gazetteer(SITES))
    return CountingText.copied


MB = 1024 * 1024
SHAPES = {
    "titles": "Mr. ",
    "initials": "A. ",
    "lines that never end": "a short line,\n",
    "one long line naming sites": "the Temple of Bel and the arch were damaged, ",
}


@pytest.mark.parametrize("unit", SHAPES.values(), ids=SHAPES.keys())
def test_reading_a_2_mb_article_of_a_pathological_shape_copies_it_a_bounded_number_of_times(
    unit,
):
    small = unit * (MB // 4 // len(unit))
    large = unit * (2 * MB // len(unit))
    # Each character copied a few times at most (a line's end is read within a bounded
    # look-back), and the work grows as the article does, not as its square.
    assert copies(large) <= 8 * len(large)
    assert copies(large) <= 9 * max(copies(small), len(small))


def test_anonymous_page_views_are_throttled_with_a_reason(client, monkeypatch):
    monkeypatch.setattr(PageThrottle, "rate", "3/minute", raising=False)
    codes = [client.get("/about/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = client.get("/sites/")
    assert refused["Retry-After"]
    assert "Too many requests" in refused.content.decode()
    # The API has its own throttle; a curator is not counted.
    assert client.get("/api/v1/sites/").status_code == 200


@pytest.mark.parametrize("url", ["/", "/api/v1/sites/", "/admin/login/"])
def test_every_answer_says_what_the_page_may_not_ask_for(client, url):
    policy = client.get(url)["Permissions-Policy"]
    assert "camera=()" in policy
    assert "geolocation=()" in policy


def test_a_json_body_over_the_limit_is_a_413_in_json(editor):
    token = Token.objects.create(user=editor)
    body = json.dumps({"name": "x" * (6 * MB), "slug": "big", "kind": "temple"})
    response = APIClient().generic(
        "POST", "/api/v1/sites/", body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )  # fmt: skip
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "larger than" in response.json()["detail"]


def test_a_bad_token_is_a_401_saying_how_to_authenticate():
    response = APIClient().post(
        "/api/v1/sites/", {"name": "x"}, format="json", HTTP_AUTHORIZATION="Token forged"
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(
    ("url", "status", "named"),
    [
        ("/api/v1/events/?cursor=cD0A", 400, "cursor"),
        ("/api/v1/events/?ordering=%00", 400, "ordering"),
        ("/admin/heritage/damageevent/abc/history/", 404, None),
        ("/admin/heritage/site/%00/history/", 404, None),
        ("/admin/reports/source/x/history/", 404, None),
    ],
)
def test_what_used_to_be_server_errors_is_a_clear_refusal(editor_client, url, status, named):
    response = editor_client.get(url)
    assert response.status_code == status
    if named:
        assert named in response.json()


def webp(width, height, mode):
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, format="WEBP", lossless=True)
    return SimpleUploadedFile("flat.webp", buffer.getvalue())


def test_a_picture_small_on_disk_but_huge_decoded_is_refused_before_decoding(monkeypatch):
    upload = webp(8000, 5000, "RGBA")  # 40 million pixels, a few KB
    assert upload.size < 200_000
    loads = []
    monkeypatch.setattr(Image.Image, "load", lambda self: loads.append(self.size))
    with pytest.raises(ValidationError, match="MB of memory to process"):
        validate_image_upload(upload)
    assert loads == []


def test_a_picture_within_the_memory_cap_passes():
    validate_image_upload(webp(600, 400, "RGB"))


def test_hashed_static_files_are_sent_with_a_long_cache_lifetime(tmp_path):
    env = {
        **os.environ, "DEBUG": "false", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "testserver",
        "STATIC_ROOT": str(tmp_path / "static"), "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }  # fmt: skip
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["heritage/site.css"]
    probe = (
        "from django.test import Client\n"
        f"r = Client().get('/static/{hashed}')\n"
        "print(r.status_code, r['Cache-Control'])\n"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v0", "-c", probe],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    status, cache = out.strip().splitlines()[-1].split(" ", 1)
    assert status == "200"
    assert "max-age=315360000" in cache
    assert "immutable" in cache


def test_bidi_controls_never_reach_a_page(client):
    site = make_site(name="Temple\u202e of Bel", slug="rtl-trick")
    event = make_event(site, summary="Blown\u2066 up")
    make_citation(event)
    publish(event)
    site.refresh_from_db()
    assert site.name == "Temple of Bel"
    html = client.get("/events/").content.decode()
    assert "\u202e" not in html
    assert "\u2066" not in html
    assert "<bdi>Temple of Bel</bdi>" in html


DENIAL = "Contrary to rumours, the Temple of Bel was not destroyed by fire, officials said."
REPORT = "The Temple of Bel, the city's largest, was destroyed by fire, officials said."


@pytest.mark.parametrize(
    ("text", "quote", "held"),
    [
        (DENIAL, "the Temple of Bel was not destroyed", True),
        (DENIAL, "the Temple of Bel was … destroyed", False),  # one word after it
        (DENIAL, "the Temple of Bel was … destroyed by fire", False),  # drops "not"
        (DENIAL, "the Temple of Bel … by fire, officials said", False),  # drops "not"
        (DENIAL, "T … d", False),
        (REPORT, "The Temple of Bel … was destroyed by fire", True),
        (REPORT, "The Temple of Bel, the city's largest, … by fire", True),
    ],
)
def test_an_elision_may_only_leave_out_words_that_do_not_turn_the_meaning(text, quote, held):
    source = make_source(text=text)
    assert Source.objects.get(pk=source.pk).contains_quote(quote) is held
