"""Telling what a capture is and reading its text: web pages, PDFs, web archives and
images, and the refusals a curator sees for what cannot be read. Every file is built
here, small, so nothing is downloaded and the hostile ones stay cheap to make."""

import gzip
import io
import json
import tracemalloc
import zipfile
import zlib

import pytest
from PIL import Image
from pypdf import PdfWriter

from reports.evidence import formats
from reports.evidence.formats import MAX_ZIP_MEMBERS, CaptureError, extract, media_type
from tests.documents import lines, pdf, wacz, warc

# --- PDFs, written by hand (tests/documents.py): pypdf cannot put text on a page ----

PAGE_TWO = "The colonnade was dynamited on the second day."
REPORT = pdf(
    lines("Damage assessment of Palmyra", "Published 5 September 2015"),
    lines("Satellite imagery was reviewed.", PAGE_TWO),
    lines("Annex: the sources consulted."),
    title=b"Palmyra assessment",
)


def encrypted(data, user_password):
    writer = PdfWriter(clone_from=io.BytesIO(data))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def flate_bomb(megabytes=200):
    """A content stream of a few hundred kilobytes that inflates to `megabytes` MB,
    compressed a megabyte at a time so that making it stays cheap."""
    packer, blank = zlib.compressobj(9), b" " * 1_048_576
    packed = [packer.compress(b"BT /F1 12 Tf 72 720 Td (boom) Tj ET ")]
    packed += [packer.compress(blank) for _ in range(megabytes)]
    return b"".join(packed) + packer.flush()


def test_a_pdf_is_read_page_by_page_and_the_page_map_finds_a_sentence_on_its_page():
    found = extract(REPORT, "report.pdf")
    text = found.article.text
    assert found.media_type == "application/pdf"
    assert found.article.title == "Palmyra assessment"
    assert found.article.published == "2015-09-05"
    at = text.index(PAGE_TWO)
    assert [page for start, end, page in found.pages if start <= at < end] == [2]
    assert [text[start:end] for start, end, _ in found.pages] == text.split("\n\n")
    assert [page for _, _, page in found.pages] == [1, 2, 3]


def test_a_pdf_without_a_title_takes_its_first_line():
    assert extract(pdf(lines("Field notes", "Day one."))).article.title == "Field notes"


def test_a_pdf_encrypted_only_for_permissions_is_read():
    found = extract(encrypted(REPORT, user_password=""))
    assert PAGE_TWO in found.article.text


def test_a_pdf_locked_with_a_password_is_refused():
    with pytest.raises(CaptureError, match="encrypted with a password"):
        extract(encrypted(REPORT, user_password="secret"))


@pytest.mark.parametrize(
    "damaged",
    [REPORT[: len(REPORT) // 3], b"%PDF-1.7\n" + bytes(range(256)) * 20],
    ids=["truncated", "garbage"],
)
def test_a_damaged_pdf_is_refused(damaged):
    with pytest.raises(CaptureError, match="This PDF could not be read"):
        extract(damaged, "report.pdf")


def test_a_flate_bomb_is_refused_without_inflating_it():
    bomb = pdf(lines("Cover page"), (flate_bomb(200), b"/Filter /FlateDecode"))
    assert len(bomb) < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(CaptureError, match="unpacks to more than the register will read"):
            extract(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # pypdf stops each stream at 75 MB; the 200 MB it would inflate to are never held.
    assert peak < 200 * 1_048_576


def test_a_pdf_of_more_pages_than_the_register_reads_is_refused(monkeypatch):
    monkeypatch.setattr(formats, "MAX_PDF_PAGES", 2)
    with pytest.raises(CaptureError, match="This PDF has 3 pages; the register reads at most 2"):
        extract(REPORT)


def test_a_pdf_of_more_text_than_the_register_reads_is_refused(monkeypatch):
    monkeypatch.setattr(formats, "MAX_TEXT_CHARS", 100)
    with pytest.raises(CaptureError, match="This PDF holds more than 100 characters of text"):
        extract(REPORT)


def test_a_scan_without_a_text_layer_is_refused():
    picture = b"q 612 0 0 792 0 0 cm BI /W 2 /H 2 /CS /G /BPC 8 ID \x00\x40\x80\xff EI Q"
    with pytest.raises(CaptureError, match=r"no text layer \(a scan\?\)"):
        extract(pdf(picture, picture))


# --- Web archives ---------------------------------------------------------------------

NEWS = "https://news.example/palmyra-temple"
NEWS_HTML = (
    b"<!doctype html><html><head><title>Temple of Bel destroyed</title></head><body>"
    b"<h1>Temple of Bel destroyed</h1><p>Satellite images show the temple is gone.</p>"
    b"<p>Only the gateway still stands.</p></body></html>"
)


STYLE = ("https://news.example/site.css", "text/css", b"body { color: #222 }" * 50)
PAGE = (NEWS, "text/html; charset=utf-8", NEWS_HTML)


@pytest.mark.parametrize("gzipped", [True, False], ids=["warc.gz", "warc"])
def test_a_web_archive_gives_its_html_page_words_title_and_url(gzipped):
    found = extract(warc(STYLE, PAGE, gzipped=gzipped), "capture.warc")
    assert found.media_type == "application/warc"
    assert found.url == NEWS
    assert found.article.url == NEWS
    assert found.article.title == "Temple of Bel destroyed"
    assert "Only the gateway still stands." in found.article.text
    assert "color" not in found.article.text


def test_a_web_archive_page_is_read_in_the_charset_its_server_named():
    arabic = "<html><body><p>دمّر التنظيم معبد بل في تدمر.</p></body></html>"
    page = (NEWS, "text/html; charset=windows-1256", arabic.encode("windows-1256"))
    assert "معبد بل" in extract(warc(page)).article.text


@pytest.mark.parametrize("gzipped", [True, False], ids=["warc.gz", "warc"])
def test_a_truncated_web_archive_is_refused(gzipped):
    data = warc(STYLE, PAGE, gzipped=gzipped)
    with pytest.raises(CaptureError, match="This web archive is damaged or truncated"):
        extract(data[: len(data) // 2])


def test_a_web_archive_without_an_html_page_is_refused():
    image = ("https://news.example/photo.png", "image/png", b"\x89PNG not really")
    with pytest.raises(CaptureError, match="This web archive holds no HTML page"):
        extract(warc(STYLE, image))


def test_a_web_archive_whose_page_is_too_long_for_an_article_is_refused():
    huge = (NEWS, "text/html", b"<html><body><p>" + b"word " * 500_000 + b"</p></body></html>")
    with pytest.raises(CaptureError, match="is more than 2 MB of HTML"):
        extract(warc(huge))


def test_a_web_archive_that_unpacks_past_the_bound_is_refused(monkeypatch):
    monkeypatch.setattr(formats, "MAX_UNPACKED_BYTES", 1_048_576)
    padding = ("https://news.example/blank.css", "text/css", bytes(2_000_000))
    data = warc(padding, PAGE)
    assert len(data) < 10_000
    with pytest.raises(CaptureError, match="This web archive unpacks to more than"):
        extract(data)


def test_a_wacz_reads_the_first_page_its_index_lists():
    other = ("https://news.example/", "text/html", b"<html><body><p>Front page.</p></body></html>")
    index = [{"format": "json-pages-1.0", "id": "pages"}, {"url": NEWS, "ts": "2015-08-31"}]
    data = wacz(
        {
            "archive/data.warc.gz": warc(STYLE, other, PAGE),
            "pages/pages.jsonl": "\n".join(json.dumps(line) for line in index),
            "datapackage.json": json.dumps({"profile": "data-package", "resources": []}),
        }
    )
    found = extract(data)
    assert found.media_type == "application/wacz"
    assert found.url == NEWS
    assert "Satellite images show the temple is gone." in found.article.text


def test_a_wacz_without_an_index_reads_its_first_html_page():
    found = extract(wacz({"archive/data.warc": warc(STYLE, PAGE, gzipped=False)}), "a.wacz")
    assert found.url == NEWS


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(monkeypatch):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("archive/data.warc", "w") as member:
            for _ in range(200):
                member.write(bytes(1_048_576))
        archive.writestr("datapackage.json", "{}")
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *args, **kwargs: pytest.fail("opened"))
    with pytest.raises(CaptureError, match="as only a zip bomb does; it was not opened"):
        extract(out.getvalue())


def test_a_wacz_that_says_it_unpacks_past_the_bound_is_refused(monkeypatch):
    monkeypatch.setattr(formats, "MAX_UNPACKED_BYTES", 100)
    data = wacz({"archive/data.warc": warc(PAGE, gzipped=False)})
    with pytest.raises(CaptureError, match="This WACZ unpacks to more than"):
        extract(data, "capture.wacz")


def test_a_wacz_of_too_many_files_is_refused():
    members = {f"pages/{number}.txt": "" for number in range(MAX_ZIP_MEMBERS + 1)}
    with pytest.raises(CaptureError, match="the register reads at most 10,000"):
        extract(wacz(members), "many.wacz")


def test_a_wacz_that_is_not_a_zip_is_refused():
    data = wacz({"archive/data.warc": warc(PAGE)})
    with pytest.raises(CaptureError, match="This WACZ file is not a readable zip"):
        extract(data[:-30], "capture.wacz")


def test_a_word_document_is_refused_with_advice():
    document = wacz({"word/document.xml": "<w:document/>", "[Content_Types].xml": "<Types/>"})
    with pytest.raises(CaptureError, match="not a WACZ web archive. If it is a Word"):
        extract(document, "report.docx")


def test_a_gzip_file_that_is_not_a_web_archive_is_refused():
    with pytest.raises(CaptureError, match="This gzip file is not a web archive"):
        extract(gzip.compress(b"\x00\x01 just data " * 100), "data.gz")


# --- Images, text and what is refused ---------------------------------------------------


def picture(format):
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "tan").save(out, format)
    return out.getvalue()


@pytest.mark.parametrize(
    ("format", "kind"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"),
     ("WEBP", "image/webp"), ("TIFF", "image/tiff")],
)  # fmt: skip
def test_an_image_is_recognised_and_has_no_text(format, kind):
    found = extract(picture(format), "photo")
    assert (found.media_type, found.article, found.pages) == (kind, None, [])


def test_a_truncated_image_is_refused():
    with pytest.raises(CaptureError, match="This image could not be read"):
        extract(picture("PNG")[:40])


def test_a_web_page_is_read_as_an_article():
    found = extract(NEWS_HTML)
    assert found.media_type == "text/html"
    assert found.article.title == "Temple of Bel destroyed"
    assert found.pages == []


@pytest.mark.parametrize(
    ("name", "kind"),
    [("notes.md", "text/markdown"), ("notes.txt", "text/plain"), ("", "text/plain")],
)
def test_text_takes_its_kind_from_its_name(name, kind):
    assert media_type(b"# Palmyra\n\nThe theatre was used for executions.", name) == kind


def test_text_that_is_not_an_article_is_refused_with_read_articles_reason():
    with pytest.raises(CaptureError, match="This article has no text"):
        extract(b"   \n\n  ", "empty.txt")


@pytest.mark.parametrize(
    "data",
    [b"\x7fELF\x02\x01\x01\x00" + bytes(56), b"MZ\x90\x00\x03\x00" + bytes(58), bytes(100)],
    ids=["elf", "windows-program", "zeros"],
)
def test_programs_and_unknown_binary_are_refused_naming_what_is_taken(data):
    with pytest.raises(CaptureError, match=r"not a kind the register takes: bring a web page"):
        extract(data, "tool.pdf")


def test_empty_bytes_are_refused():
    with pytest.raises(CaptureError, match="This file is empty"):
        media_type(b"")


def test_a_wacz_whose_directory_or_index_is_damaged_is_refused():
    import struct

    index = b'{"format": "json-pages-1.0"}\n' + b'{"url": "https://news.example/"}\n' * 50
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("datapackage.json", "{}")
        archive.writestr("pages/pages.jsonl", index)
        archive.writestr("archive/data.warc.gz", warc(PAGE))
    whole = bytearray(out.getvalue())
    # The index's deflated bytes scrambled (its local header is 30 bytes plus its name).
    scrambled = bytearray(whole)
    start = whole.index(b"pages/pages.jsonl") + len("pages/pages.jsonl")
    scrambled[start + 5 : start + 25] = bytes(range(20))
    # The directory said to start a megabyte further than it does.
    moved = bytearray(whole)
    end = whole.rindex(b"PK\x05\x06")
    struct.pack_into("<I", moved, end + 16, struct.unpack_from("<I", whole, end + 16)[0] + 10**6)
    for damaged in (scrambled, moved):
        with pytest.raises(CaptureError, match="not a readable zip"):
            extract(bytes(damaged), "capture.wacz")


def test_a_web_archive_page_address_that_is_not_a_web_address_is_dropped():
    found = extract(warc(("https://news.example/a\x00b", "text/html", NEWS_HTML)), "x.warc")
    assert found.url == ""
    found = extract(warc(("http://news example/<script>", "text/html", NEWS_HTML)), "x.warc")
    assert found.url == ""
