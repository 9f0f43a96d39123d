"""What a capture is, and the text the register reads from it.

A capture is a source's bytes as received: a web page, plain text or markdown, a PDF, an
image, or a web archive (WARC, gzipped or not, or WACZ). `media_type` tells which from
the bytes themselves, the file name only where the bytes cannot say; `extract` reads the
text. Anything else is refused with a reason a curator can act on.

The caller limits the size of the bytes (CAPTURE_MAX_BYTES), but a few kilobytes of PDF,
gzip or zip can unpack to gigabytes, so each format's work is bounded here as well.
"""

import contextlib
import dataclasses
import gzip
import io
import json
import re
import zipfile
import zlib

import pypdf
from PIL import Image
from warcio.archiveiterator import ArchiveIterator

from reports import articles
from reports.articles import Article, ArticleError, _tidy
from reports.intake.byline import read_byline

MAX_PDF_PAGES = 2000
MAX_TEXT_CHARS = 5_000_000  # about 2,000 pages of dense print
# What a web archive may unpack to in all: gzip members inflate by up to 1,000 times.
MAX_UNPACKED_BYTES = 500 * 1024 * 1024
MAX_ZIP_RATIO = 100  # text and HTML deflate by 3 to 10 times; only a bomb reaches 100
MAX_ZIP_MEMBERS = 10_000
MAX_INDEX_BYTES = 1024 * 1024  # the first page is on pages.jsonl's second line

ACCEPTED = (
    "bring a web page (.html), text (.txt, .md), a PDF, an image (JPEG, PNG, GIF, WebP, "
    "TIFF) or a web archive (.warc, .warc.gz, .wacz)"
)
DAMAGED = "This web archive is damaged or truncated: {}"
TOO_LARGE = (
    f"unpacks to more than {MAX_UNPACKED_BYTES // 1_048_576} MB, more than the register reads"
)
# The name read_article is given for each kind of text, so it reads it as that kind.
TEXT_NAMES = {"text/html": "a.html", "text/markdown": "a.md", "text/plain": "a.txt"}
HTML_START = re.compile(rb"<(!doctype html|html|head|body)\b", re.I)
SUFFIXES = {"html": "text/html", "htm": "text/html", "md": "text/markdown",
            "markdown": "text/markdown", "txt": "text/plain"}  # fmt: skip
MAGIC = [(b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
         (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"), (b"II*\x00", "image/tiff"),
         (b"MM\x00*", "image/tiff"), (b"WARC/", "application/warc")]  # fmt: skip


class CaptureError(ValueError):
    """Bytes that cannot be taken as a capture, with a reason a curator understands."""


@dataclasses.dataclass
class Extracted:
    media_type: str
    article: Article | None  # None for images
    pages: list  # [[start, end, page_number], ...] into article.text; PDFs only
    url: str = ""  # a web archive's main page


def media_type(data: bytes, name: str = "") -> str:
    """What the bytes are, from their magic numbers first, the file name's suffix second;
    CaptureError for what the register does not take (executables, unknown binary)."""
    if not data:
        raise CaptureError("This file is empty.")
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    found = next((kind for magic, kind in MAGIC if data.startswith(magic)), "")
    if found:
        return found
    if b"%PDF-" in data[:1024]:  # the PDF standard lets junk come before its header
        return "application/pdf"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"\x1f\x8b"):
        if _gunzip_head(data).startswith(b"WARC/"):
            return "application/warc"
        raise CaptureError(f"This gzip file is not a web archive (.warc.gz): {ACCEPTED}.")
    if data.startswith(b"PK\x03\x04"):
        if suffix == "wacz" or _zip_has(data, "datapackage.json"):
            return "application/wacz"
        raise CaptureError(
            "This zip file is not a WACZ web archive. If it is a Word or other office "
            "document, save it as PDF and bring that."
        )
    # Text has no magic number; read_article's own test for binary is a NUL near the start.
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" not in data[:8192]:
        if suffix in SUFFIXES:
            return SUFFIXES[suffix]
        return "text/html" if HTML_START.search(data[:2000]) else "text/plain"
    raise CaptureError(f"This file is not a kind the register takes: {ACCEPTED}.")


def extract(data: bytes, name: str = "") -> Extracted:
    """The capture's text as the register reads it."""
    kind = media_type(data, name)
    if kind in TEXT_NAMES:
        return Extracted(kind, _read_article(data, TEXT_NAMES[kind]), [])
    if kind == "application/pdf":
        return _pdf(data)
    if kind == "application/warc":
        stream = io.BytesIO(data)
        gzipped = data.startswith(b"\x1f\x8b")
        return _web_archive(kind, [gzip.GzipFile(fileobj=stream) if gzipped else stream])
    if kind == "application/wacz":
        return _wacz(data)
    _check_image(data)
    return Extracted(kind, None, [])


def _read_article(data, name):
    try:
        return articles.read_article(data, name)
    except ArticleError as error:
        raise CaptureError(str(error)) from error


def _gunzip_head(data):
    try:
        return zlib.decompressobj(wbits=31).decompress(data[:4096], 8)
    except zlib.error:
        return b""


def _zip_has(data, member):
    try:
        return member in zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _check_image(data):
    # verify() checks the file's structure without decoding its pixels, which could be
    # gigabytes; opening already refuses images past Pillow's decompression-bomb size.
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Image.DecompressionBombError as error:
        raise CaptureError(f"This image is too large to open: {error}") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise CaptureError("This image could not be read: it is damaged or cut short.") from error


# PDF. pypdf 7.1 bounds its own decompression (pypdf.Configuration): at most 75 MB out of
# any one stream for /FlateDecode, /LZWDecode, /RunLengthDecode and JBIG2
# (zlib_maximum_output_length and the like), 300 MB of decoding work per stream, 2 million
# content-stream operations, 100,000 page-tree entries; past them it raises
# LimitReachedError. The limits below bound what is left: pages and text.


def _pdf(data):
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        _unlock(reader)
        count = len(reader.pages)
        if count > MAX_PDF_PAGES:
            raise CaptureError(
                f"This PDF has {count} pages; the register reads at most {MAX_PDF_PAGES}."
            )
        title = (reader.metadata and reader.metadata.title) or ""
        text, pages = _page_texts(reader)
    except CaptureError:
        raise
    except pypdf.errors.LimitReachedError as error:
        raise CaptureError(
            "This PDF could not be read: part of it unpacks to more than the register "
            f"will read, as a damaged or hostile file does ({error})."
        ) from error
    except Exception as error:  # a malformed PDF can make pypdf raise almost anything
        raise CaptureError(f"This PDF could not be read: {error}") from error
    if not text:
        raise CaptureError(
            "This PDF holds no text layer (a scan?): its pages are pictures of text. "
            "Run it through text recognition (OCR) and bring the result."
        )
    said = read_byline(text)
    first = text.split("\n", 1)[0]
    return Extracted(
        "application/pdf",
        Article(
            text=text,
            title=str(title).strip()[:500] or (first if len(first) < 200 else ""),
            published=said.published,
            publisher=said.publisher[:200],
            authors=said.authors,
            language=said.language,
        ),
        pages,
    )


def _unlock(reader):
    """Open a PDF encrypted only to restrict printing or copying: those open with the
    empty password, and most "protected" reports are no more than that."""
    if not reader.is_encrypted:
        return
    try:
        unlocked = reader.decrypt("")
    except pypdf.errors.DependencyError as error:  # AES needs the `cryptography` package
        raise CaptureError(
            "This PDF is encrypted in a way the register cannot open (AES). Save it again "
            "without encryption (print it to PDF) and bring that."
        ) from error
    if unlocked == pypdf.PasswordType.NOT_DECRYPTED:
        raise CaptureError(
            "This PDF is encrypted with a password, so its text cannot be read. Bring a "
            "copy saved without the password."
        )


def _page_texts(reader):
    """The pages' texts joined by a blank line, and where each page is in the result
    (pages without text are left out of both, so no run of blank lines marks them)."""
    parts, pages, at = [], [], 0
    for number, page in enumerate(reader.pages, start=1):
        text = _tidy(page.extract_text().replace("\x00", ""))  # PostgreSQL cannot store NUL
        if not text:
            continue
        at += 2 if parts else 0
        pages.append([at, at + len(text), number])
        parts.append(text)
        at += len(text)
        if at > MAX_TEXT_CHARS:
            raise CaptureError(
                f"This PDF holds more than {MAX_TEXT_CHARS:,} characters of text, more "
                "than the register reads from one capture."
            )
    return "\n\n".join(parts), pages


class _Bounded:
    """A stream that stops at `budget` bytes and turns damage into one refusal. gzip and
    zip say nothing reliable about how far they inflate, so the bound is kept on what
    comes out; and warcio stops quietly at a truncated gzip member, so it is told here."""

    def __init__(self, stream, budget):
        self.stream, self.budget, self.count = stream, budget, 0

    def read(self, size=-1):
        try:
            chunk = self.stream.read(size if size and size > 0 else 65536)
        except (EOFError, OSError, zlib.error, zipfile.BadZipFile) as error:
            raise CaptureError(DAMAGED.format(error)) from error
        self.count += len(chunk)
        if self.count > self.budget:
            raise CaptureError(f"This web archive {TOO_LARGE}.")
        return chunk


def _web_archive(kind, streams, wanted=""):
    """The archive's main page, read as an article: the page `wanted` if the archive has
    it, else its first HTML page. Every record is read, so damage anywhere is told."""
    first = chosen = None
    budget = MAX_UNPACKED_BYTES
    for stream in streams:
        bounded = _Bounded(stream, budget)
        records = ArchiveIterator(bounded)
        try:
            for record in records:
                page = _html_page(record)
                if page and not first:
                    first = page
                if page and wanted and page[0] == wanted and not chosen:
                    chosen = page
                records.read_to_end()
                if record.length is None or record.raw_stream.tell() != record.length:
                    raise CaptureError(DAMAGED.format("a record is shorter than its header says."))
        except CaptureError:
            raise
        except Exception as error:  # warcio fails in many ways on a damaged record
            raise CaptureError(DAMAGED.format(f"a record is unreadable ({error}).")) from error
        if records.offset != bounded.count:  # warcio stopped at a record it could not parse
            raise CaptureError(DAMAGED.format("a record's header is cut short."))
        budget -= bounded.count
    if not first:
        raise CaptureError(
            "This web archive holds no HTML page (no response with status 200 and type "
            "text/html), so there is no text to read."
        )
    url, html = chosen or first
    if html is None:
        raise CaptureError(
            f"This web archive's main page ({url}) is more than "
            f"{articles.MAX_BYTES // 1_048_576} MB of HTML; an article can be at most that."
        )
    article = _read_article(html, TEXT_NAMES["text/html"])
    if not article.url and articles.is_web_address(url):
        article.url = url
    return Extracted(kind, article, [], url=url)


def _html_page(record):
    """(URL, HTML) of a response record that is a web page served whole, else None;
    the HTML is None when it is longer than an article may be."""
    headers = record.http_headers
    if record.rec_type != "response" or not headers or headers.get_statuscode() != "200":
        return None
    content_type = headers.get_header("Content-Type") or ""
    if content_type.split(";")[0].strip().lower() != "text/html":
        return None
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    # It becomes the source's public URL: a web address or nothing (a NUL would not even
    # be stored on PostgreSQL).
    if not articles.is_web_address(url) or any(ord(c) < 32 for c in url):
        url = ""
    html = record.content_stream().read(articles.MAX_BYTES + 1)
    if len(html) > articles.MAX_BYTES:
        return url, None
    # read_article guesses UTF-8 or Windows-1252; the server said which, e.g. windows-1256.
    charset = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.I)
    with contextlib.suppress(LookupError):  # a charset Python does not know: guess
        html = html.decode(charset.group(1), "replace") if charset else html
    return url, html


def _wacz(data):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
        _check_zip(members)
        wanted = _first_page(archive)
        warcs = [
            member for member in members
            if member.filename.startswith("archive/")
            and member.filename.endswith((".warc", ".warc.gz"))
        ]  # fmt: skip
        if not warcs:
            raise CaptureError("This WACZ holds no web archive (no archive/*.warc file).")
        streams = (_open_warc(archive, member) for member in warcs)
        return _web_archive("application/wacz", streams, wanted)
    except (
        zipfile.BadZipFile,
        RuntimeError,
        NotImplementedError,
        OSError,
        EOFError,
        ValueError,
        zlib.error,
    ) as error:  # a damaged directory seeks before the start; a damaged member inflates badly
        raise CaptureError(f"This WACZ file is not a readable zip: {error}") from error


def _check_zip(members):
    """Refuse a zip bomb from its directory, before any member is unpacked."""
    if len(members) > MAX_ZIP_MEMBERS:
        raise CaptureError(
            f"This WACZ holds {len(members):,} files; the register reads at most "
            f"{MAX_ZIP_MEMBERS:,}."
        )
    if sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
        raise CaptureError(f"This WACZ {TOO_LARGE}.")
    for member in members:
        # Small files of repeated bytes deflate past the ratio too; a bomb is large.
        big = member.file_size > 1_048_576
        if big and member.file_size > MAX_ZIP_RATIO * member.compress_size:
            raise CaptureError(
                f"This WACZ's “{member.filename}” unpacks to {member.file_size:,} bytes from "
                f"{member.compress_size:,}, as only a zip bomb does; it was not opened."
            )


def _first_page(archive):
    """The URL of the first page pages/pages.jsonl lists (its first line is a header)."""
    if "pages/pages.jsonl" not in archive.namelist():
        return ""
    with archive.open("pages/pages.jsonl") as index:
        head = index.read(MAX_INDEX_BYTES)
    for line in head.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            return entry["url"]
    return ""


def _open_warc(archive, member):
    stream = archive.open(member)
    return gzip.GzipFile(fileobj=stream) if member.filename.endswith(".gz") else stream
