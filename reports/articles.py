"""Reading an article a curator brings in: from pasted text, a .txt, .md or .html file.

What comes out is plain readable text, with its title, byline date and URL where the
text says them. Files that are not text (or are too large) are refused with a reason,
and HTML is reduced to its words: scripts, styles and page furniture never get through.
"""

import dataclasses
import datetime
import hashlib
import json
import re
import unicodedata
from html.parser import HTMLParser

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from reports.intake.byline import people, read_byline

MAX_BYTES = 2 * 1024 * 1024
SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}


class ArticleError(ValueError):
    """An article that cannot be read, with a reason a curator understands."""


@dataclasses.dataclass
class Article:
    text: str
    title: str = ""
    published: str = ""  # EDTF: "2016-03-27?" when a yearless dateline was dated
    url: str = ""
    publisher: str = ""
    authors: list = dataclasses.field(default_factory=list)
    language: str = ""  # ISO 639-1, "" when it cannot be told
    notes: list = dataclasses.field(default_factory=list)  # what a curator should know

    @property
    def fingerprint(self):
        return text_fingerprint(self.text)

    @property
    def published_date(self):
        """The day relative dates count from, or None when it is not known to the day."""
        return publication_day(self.published)


def publication_day(edtf):
    """The day of a publication date given to the day ("2015-08-31", or "2016-03-27?"
    as a guessed dateline gives it), else None: "on Sunday" needs the day."""
    match = re.fullmatch(r"((?:19|20)\d\d-[01]\d-[0-3]\d)[?~]?", edtf or "")
    if not match:
        return None
    try:
        return datetime.date.fromisoformat(match.group(1))
    except ValueError:
        return None


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
    """Collects the words a reader sees, skipping scripts, styles and page furniture,
    and what the page says about itself: its <meta> tags, JSON-LD, first <time>, lang."""

    SKIPPED = {"script", "style", "noscript", "template", "svg", "nav", "footer", "header",
               "aside", "form", "button", "iframe", "head"}  # fmt: skip
    BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section",
              "article", "blockquote", "figcaption", "time"}  # fmt: skip

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skipping, self.title, self.h1 = [], 0, "", ""
        self.meta, self.json_ld, self.time, self.lang = {}, [], "", ""
        self._in = None

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        if tag in ("title", "h1"):
            self._in = tag
        if tag == "script" and (found.get("type") or "").lower() == "application/ld+json":
            self._in = "json-ld"
            self.json_ld.append("")
        if tag == "meta":
            key = (found.get("property") or found.get("name") or "").strip().lower()
            if key and found.get("content") and key not in self.meta:
                self.meta[key] = found["content"].strip()
        if tag == "time" and not self.time and found.get("datetime"):
            self.time = found["datetime"]
        if tag == "html" and found.get("lang"):
            self.lang = found["lang"].split("-")[0].lower()[:8]

    def handle_endtag(self, tag):
        if tag in self.SKIPPED and self.skipping:
            self.skipping -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == self._in or (tag == "script" and self._in == "json-ld"):
            self._in = None

    def handle_data(self, data):
        if self._in == "json-ld":
            self.json_ld[-1] += data
            return
        if self._in == "title":
            self.title += data
        if self.skipping:
            return
        if self._in == "h1":
            self.h1 += data
        self.parts.append(data)


@dataclasses.dataclass
class _PageFacts:
    title: str = ""
    url: str = ""
    published: str = ""
    publisher: str = ""
    authors: list = dataclasses.field(default_factory=list)
    language: str = ""


def _news_article(blocks):
    """The first JSON-LD object that is an article (in a list or an @graph)."""
    for block in blocks:
        try:
            data = json.loads(block)
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                kind = item.get("@type")
                kinds = kind if isinstance(kind, list) else [kind]
                if any(isinstance(k, str) and k.endswith("Article") for k in kinds):
                    return item
                stack.extend(v for k, v in item.items() if k == "@graph")
    return {}


def _names(value):
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    return []


def _day(stamp):
    """The day of an ISO 8601 timestamp as written (its local date), or ""."""
    match = re.match(r"\s*((?:19|20)\d\d-[01]\d-[0-3]\d)", stamp or "")
    if not match:
        return ""
    try:
        return datetime.date.fromisoformat(match.group(1)).isoformat()
    except ValueError:
        return ""


# How far a tag may run: a "<" that no ">" closes within this many characters is text.
TAG_REACH = 2000


def _defuse(html):
    """`html` with each "<" that nothing closes soon written as "&lt;": the standard
    library's parser reads the rest of the page again from each one, so "<a <a <a …"
    would cost its length squared."""
    parts, last, closing = [], 0, html.find(">")
    for opening in re.finditer("<", html):
        at = opening.start()
        if closing != -1 and closing < at:
            closing = html.find(">", at)
        if closing == -1 or closing - at > TAG_REACH:
            parts += [html[last:at], "&lt;"]
            last = at + 1
    parts.append(html[last:])
    return "".join(parts)


def html_to_text(html):
    parser = _Readable()
    parser.feed(_defuse(html))
    parser.close()
    text = "".join(parser.parts)
    meta, ld = parser.meta, _news_article(parser.json_ld)
    facts = _PageFacts(
        title=(parser.h1 or meta.get("og:title") or ld.get("headline") or parser.title).strip(),
        url=meta.get("og:url", ""),
        published=_day(ld.get("datePublished"))
        or _day(meta.get("article:published_time"))
        or _day(meta.get("date") or meta.get("pubdate") or meta.get("dc.date"))
        or _day(parser.time),
        publisher=(_names(ld.get("publisher")) or [meta.get("og:site_name", "")])[0].strip(),
        authors=people(_names(ld.get("author"))) or people(meta.get("author", "").split(",")),
        language=parser.lang,
    )
    return _tidy(text), facts


def _tidy(text):
    lines = [" ".join(line.split()) for line in text.replace("\r", "\n").split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


URL_LINE = re.compile(
    r"^\s*(?:url|source|link)\s*:\s*(https?://\S+)\s*$", re.IGNORECASE | re.MULTILINE
)


def read_article(data, name=""):
    """An Article from the bytes (or text) of a file called `name`: its words, and what
    it says about itself (title, date, publisher, authors, language, URL). A page's
    metadata wins over what its text says; the text fills in what the page leaves out."""
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if name and suffix not in SUFFIXES:
        raise ArticleError(f"“{name}” is not an article: bring a .txt, .md or .html file.")
    text = decode(data) if isinstance(data, bytes) else data
    if suffix in (".html", ".htm") or re.search(r"<(html|body|p|div)\b", text[:2000], re.I):
        text, facts = html_to_text(text)
    else:
        text = _tidy(text)
        first = next((line for line in text.split("\n") if line.strip()), "")
        title = first.strip().lstrip("#").strip().strip('"“”') if len(first) < 200 else ""
        facts = _PageFacts(title=title)
    if not text.strip():
        raise ArticleError("This article has no text.")
    if "\x00" in text:
        raise ArticleError("This file is not text (it holds NUL characters).")
    said = read_byline(text)
    url_line = URL_LINE.search(text[:1500])
    found = [facts.url.strip(), url_line.group(1) if url_line else ""]
    notes = []
    published = said.published or facts.published
    if said.published and facts.published and said.published.rstrip("?") != facts.published:
        # The byline a reader sees wins; the page's metadata is often the last update.
        notes.append(
            f"The page's metadata dates it {facts.published}; its byline says "
            f"{said.published}, which is used."
        )
    return Article(
        text=text,
        title=facts.title[:500],
        published=published,
        notes=notes,
        url=next((address for address in found if is_web_address(address)), ""),
        publisher=(facts.publisher or said.publisher)[:200],
        authors=facts.authors or said.authors,
        language=said.language or facts.language,
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
