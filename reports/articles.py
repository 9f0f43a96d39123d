"""Reading an article a curator brings in: from pasted text, a .txt, .md or .html file.

What comes out is plain readable text, with its title, byline date and URL where the
text says them. Files that are not text (or are too large) are refused with a reason,
and HTML is reduced to its words: scripts, styles and page furniture never get through.
"""

import dataclasses
import datetime
import hashlib
import re
import unicodedata
from html.parser import HTMLParser

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

MAX_BYTES = 2 * 1024 * 1024
SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}


class ArticleError(ValueError):
    """An article that cannot be read, with a reason a curator understands."""


@dataclasses.dataclass
class Article:
    text: str
    title: str = ""
    published: str = ""  # EDTF, from a dated byline
    url: str = ""

    @property
    def fingerprint(self):
        return text_fingerprint(self.text)


def text_fingerprint(text):
    """The same article twice gives the same fingerprint, whatever its spacing or case."""
    words = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(words.encode()).hexdigest()


def check_size(size):
    if size > MAX_BYTES:
        raise ArticleError(
            f"This file is {size / 1_048_576:.1f} MB; an article can be at most "
            f"{MAX_BYTES // 1_048_576} MB of text."
        )


def decode(data):
    """Bytes as text: UTF-8 (with or without a byte-order mark), UTF-16 with one, or
    Windows-1252, the usual encodings of saved web pages. Binary files are refused."""
    check_size(len(data))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise ArticleError("This file's characters could not be read as text.") from error
    if b"\x00" in data[:8192]:
        raise ArticleError("This file is not text (it holds binary data).")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(
            1 for c in text[:8192] if unicodedata.category(c) == "Cc" and c not in "\n\r\t"
        )
        if controls > 8:
            raise ArticleError("This file is not text (it holds control characters).")
        return text
    raise ArticleError("This file's characters could not be read as text.")


class _Readable(HTMLParser):
    """Collects the words a reader sees; skips scripts, styles and page furniture."""

    SKIPPED = {"script", "style", "noscript", "template", "svg", "nav", "footer", "header",
               "aside", "form", "button", "iframe", "head"}  # fmt: skip
    BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section",
              "article", "blockquote", "figcaption", "time"}  # fmt: skip

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skipping, self.title, self.h1 = [], 0, "", ""
        self._in = None

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        if tag in ("title", "h1"):
            self._in = tag
        if tag == "meta":
            found = dict(attrs)
            if found.get("property") == "og:url" and found.get("content"):
                self.url = found["content"]

    def handle_endtag(self, tag):
        if tag in self.SKIPPED and self.skipping:
            self.skipping -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "title":
            self.title += data
        if self.skipping:
            return
        if self._in == "h1":
            self.h1 += data
        self.parts.append(data)


def html_to_text(html):
    parser = _Readable()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    return _tidy(text), (parser.h1 or parser.title).strip(), getattr(parser, "url", "")


def _tidy(text):
    lines = [" ".join(line.split()) for line in text.replace("\r", "\n").split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august",
     "september", "october", "november", "december"], start=1)}  # fmt: skip
BYLINE_DATE = re.compile(
    r"^\s*(?:[A-Z][a-z]+day,?\s+)?(\d{1,2})\s+(" + "|".join(MONTHS) + r")\s+(\d{4})\s*$"
    r"|^\s*(?:[A-Z][a-z]+day,?\s+)?(" + "|".join(MONTHS) + r")\s+(\d{1,2}),?\s+(\d{4})\s*$",
    re.IGNORECASE | re.MULTILINE,
)
URL_LINE = re.compile(
    r"^\s*(?:url|source|link)\s*:\s*(https?://\S+)\s*$", re.IGNORECASE | re.MULTILINE
)


def byline_date(text):
    """The date of a dated byline ("2 March 2017", "March 2, 2017") standing on a line of
    its own near the top, as EDTF; "" when there is none."""
    match = BYLINE_DATE.search(text[:1500])
    if not match:
        return ""
    if match.group(1):
        day, month, year = match.group(1), match.group(2), match.group(3)
    else:
        month, day, year = match.group(4), match.group(5), match.group(6)
    try:
        return datetime.date(int(year), MONTHS[month.lower()], int(day)).isoformat()
    except ValueError:
        return ""


def read_article(data, name=""):
    """An Article from the bytes (or text) of a file called `name`."""
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if name and suffix not in SUFFIXES:
        raise ArticleError(f"“{name}” is not an article: bring a .txt, .md or .html file.")
    text = decode(data) if isinstance(data, bytes) else data
    title, url = "", ""
    if suffix in (".html", ".htm") or re.search(r"<(html|body|p|div)\b", text[:2000], re.I):
        text, title, url = html_to_text(text)
    else:
        text = _tidy(text)
        first = next((line for line in text.split("\n") if line.strip()), "")
        title = first.strip().lstrip("#").strip().strip('"“”') if len(first) < 200 else ""
    if not text.strip():
        raise ArticleError("This article has no text.")
    if "\x00" in text:
        raise ArticleError("This file is not text (it holds NUL characters).")
    url_line = URL_LINE.search(text[:1500])
    found = [url.strip(), url_line.group(1) if url_line else ""]
    return Article(
        text=text,
        title=title[:500],
        published=byline_date(text),
        url=next((address for address in found if is_web_address(address)), ""),
    )


def is_web_address(url):
    """Whether `url` is an address a source may keep (http or https, as the model's
    field checks). A page's og:url is whatever its author wrote: `manage.py ingest`
    stores the URL without the model's checks, so "javascript:…" would become the
    "Original" link on the source's public page."""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return False
    return len(url) <= 1000  # Source.url's max_length
