"""What an article says about itself: when it was published, by whom, who wrote it, and
in which language. Read from the lines a reader looks at for them (the first lines,
and a "Posted on …" at the end), in the shapes newspapers, wire services, authorities
and NGOs use:

    Published: Mon 31 Aug 2015 17.40 BST          Jun. 14, 2016 | 9:12 AM
    BEIRUT, March 27 (Reuters) -                   DAMASCUS, Syria, Oct 5, 2015 (AFP) -
    By Leila Haddad, The Desert Ledger, 6 March 2017
    The Levant Courier, 12 May 2016                Updated 2016-04-02T08:12Z
    Release date: 5 September 2015                Posted on March 12, 2015 by Daniel Weiss
    Publié le lundi 5 octobre 2015                 الاثنين ٣١ آب ٢٠١٥

A wire dateline without a year ("BEIRUT, March 27 (Reuters) -") takes the latest year
the text names, marked uncertain in EDTF ("2016-03-27?"): a curator confirms it.
"""

import dataclasses
import datetime
import re
import unicodedata

# Month names in the languages the register's sources are written in.
MONTHS = {}
for _number, _names in enumerate(
    [
        "january jan janvier janv enero januari يناير كانون_الثاني",
        "february feb février fevrier févr febrero februari فبراير شباط",
        "march mar mars marzo maret مارس آذار",
        "april apr avril abril أبريل ابريل نيسان",
        "may mai mayo mei مايو أيار ايار",
        "june jun juin junio juni يونيو حزيران",
        "july jul juillet julio juli يوليو تموز",
        "august aug août aout agosto agustus أغسطس اغسطس آب",
        "september sept sep septembre septiembre سبتمبر أيلول ايلول",
        "october oct octobre octubre oktober أكتوبر اكتوبر تشرين_الأول",
        "november nov novembre noviembre نوفمبر تشرين_الثاني",
        "december dec décembre decembre diciembre desember ديسمبر كانون_الأول",
    ],
    start=1,
):
    for _name in _names.split():
        MONTHS[_name.replace("_", " ")] = _number

_MONTH = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_WEEKDAY = (
    r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?|lundi|mardi|mercredi"
    r"|jeudi|vendredi|samedi|dimanche|الاثنين|الثلاثاء|الأربعاء|الخميس|الجمعة|السبت|الأحد)\.?,?"
)
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_MON = rf"(?P<month>{_MONTH})\.?"
# Each shape a publication date takes, most specific first.
_DATE_SHAPES = [
    re.compile(rf"{_YEAR}-(?P<mm>[01]\d)-(?P<dd>[0-3]\d)(?:[T ][\d:.]+(?:Z|[+-][\d:]+)?)?"),
    re.compile(rf"(?:{_WEEKDAY}\s*)?{_DAY}(?:\s+de)?\s+{_MON}(?:\s+de)?,?\s+{_YEAR}", re.I),
    re.compile(rf"(?:{_WEEKDAY}\s*)?{_MON},?\s+{_DAY},?\s+{_YEAR}", re.I),
    re.compile(rf"{_YEAR}\s*年\s*(?P<mm>[01]?\d)\s*月\s*(?P<dd>[0-3]?\d)\s*日"),
    re.compile(rf"{_YEAR}/(?P<mm>[01]?\d)/(?P<dd>[0-3]?\d)"),
    # "BEIRUT – AFP – 1.10.2012": day first, as in Europe and the Middle East
    re.compile(rf"\b(?P<dd>[0-3]?\d)\.(?P<mm>[01]?\d)\.{_YEAR}\b"),
]
# A dateline without a year: "BEIRUT, March 27 (Reuters) -".
_YEARLESS_DATELINE = re.compile(
    rf"^[A-Z][A-Z .'-]+,(?:\s*[A-Z][\w .'-]*,)?\s*{_MON}\s+{_DAY}\s*\((?P<wire>[A-Za-z]+)\)",
    re.I,
)
_WIRE = re.compile(r"\((?P<wire>Reuters|AP|AFP|UPI|Xinhua|dpa|ANSA|SANA)\)\s*[-—–]")
WIRES = {
    "reuters": "Reuters",
    "ap": "Associated Press",
    "afp": "AFP",
    "upi": "UPI",
    "xinhua": "Xinhua",
    "dpa": "dpa",
    "ansa": "ANSA",
    "sana": "SANA",
}
_PUBLISHED_WORDS = re.compile(
    r"\b(?:published|posted|release date|released|issued|report date|date|publié|publicado"
    r"|diterbitkan|نشر)\b",
    re.I,
)
_UPDATED_WORDS = re.compile(r"\b(?:updated|modified|last updated|mis à jour)\b", re.I)
_ORGANISATION_WORDS = re.compile(
    r"\b(?:Directorate|Ministry|Board|Watch|Monitor|Lab|Laboratory|Observatory|Institute|Centre"
    r"|Center|Agency|Office|Organi[sz]ation|Foundation|Initiative|Society|Council|Network"
    r"|Programme|Program|UNESCO|UNITAR|UNOSAT|ASOR|Department|Commission|Trust)\b"
)
_RELEASE_WORDS = re.compile(
    r"\s*(?:[-—–|:,]\s*)?\b(?:press release|news release|urgent alert|statement|media release"
    r"|imagery brief|site report|technical note|briefing)\b.*$",
    re.I,
)
_NAME = r"[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|al-\w+|bin|ibn|de|van|von|da))*"
_BY = re.compile(r"^\s*(?:By|BY|Par|Por|Oleh)\s+(?P<names>.+?)\s*$")
_REPORTING = re.compile(r"\((?:Reporting|Additional reporting)\s+by\s+(?P<names>[^;)]+)")
_WRITING = re.compile(r";\s*Writing\s+by\s+(?P<names>[^;)]+)")
_POSTED_BY = re.compile(rf"\bPosted\s+on\s+.+?\s+by\s+(?P<names>{_NAME})\s*$")
_NOT_PEOPLE = re.compile(
    r"\b(?:staff|desk|correspondents?|reporters?|writers?|editors?|agencies|news|wire|team"
    r"|bureau|AFP|Reuters|Associated Press|Agence|Presse|Press)\b",
    re.I,
)
_ROLE = re.compile(
    r",\s*(?:(?:our|the|a|an)\s+)?(?:[\w-]+\s+){0,3}(?:correspondent|editor|reporter|writer"
    r"|analyst|producer)\b.*$",
    re.I,
)

HEAD_LINES = 14
TAIL_LINES = 4
SHORT_LINE = 120


@dataclasses.dataclass
class Byline:
    published: str = ""  # EDTF
    publisher: str = ""
    authors: list = dataclasses.field(default_factory=list)
    language: str = ""


def read_byline(text):
    """The publication date, publisher, authors and language `text` states."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    head, tail = lines[:HEAD_LINES], lines[-TAIL_LINES:]
    return Byline(
        published=publication_date(head, tail, text),
        publisher=publisher(head, tail),
        authors=authors(head, tail),
        language=language(text),
    )


def to_digits(text):
    """Arabic-Indic and Persian digits as ASCII ones, so dates in Arabic read too."""
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.digit(c)) if c.isdigit() and not c.isascii() else c for c in text
    )


def find_date(line):
    """The first full date (day, month, year) in `line`, as a date, or None."""
    line = to_digits(line[: SHORT_LINE * 2])  # a date line's date is near its start
    if not re.search(r"\d", line):
        return None
    found = []
    for shape in _DATE_SHAPES:
        match = shape.search(line)
        if match:
            found.append(match)
    for match in sorted(found, key=lambda m: m.start()):
        day = _as_date(match.groupdict())
        if day:
            return day
    return None


def _as_date(groups):
    try:
        year = int(groups["year"])
        if groups.get("mm"):
            return datetime.date(year, int(groups["mm"]), int(groups["dd"]))
        return datetime.date(year, MONTHS[groups["month"].lower().rstrip(".")], int(groups["day"]))
    except (KeyError, ValueError, TypeError):
        return None


def publication_date(head, tail, text):
    """The article's own date: a "Published" date before an "Updated" one; a date on a
    short line of the head (or a dateline's); a "Posted on" date at the end; a yearless
    wire dateline dated by the latest year the text names."""
    candidates = []  # (rank, position, date)
    # "Updated 2 April 2016 | Published 1 April 2016": each part is read on its own.
    head = [part.strip() for line in head for part in re.split(r"\s+\|\s+", line) if part.strip()]
    for position, line in enumerate(head):
        short = len(line) <= SHORT_LINE
        day = find_date(line)
        if day is None:
            continue
        if re.match(r"(?:when|date of (?:the )?(?:event|incident|attack))\s*:", line, re.I):
            continue  # a fact sheet's date of what happened
        if _UPDATED_WORDS.search(line) and not _PUBLISHED_WORDS.search(line):
            rank = 2  # "Updated …": the publication date only when there is no other
        elif _PUBLISHED_WORDS.search(line) or short:
            rank = 0
        elif _WIRE.search(line) or re.match(r"^\W*\S{0,40}?\d", to_digits(line)):
            rank = 1  # a long line that starts with its date ("23 August 2015 – Statement")
        else:
            continue  # a date inside a paragraph of the story is the story's
        candidates.append((rank, position, day))
    for line in tail:
        if re.search(r"\b(?:posted|published)\b", line, re.I) and len(line) <= SHORT_LINE:
            day = find_date(line)
            if day:
                candidates.append((1, HEAD_LINES, day))
    if candidates:
        return min(candidates)[2].isoformat()
    for line in head[:6]:
        match = _YEARLESS_DATELINE.match(to_digits(line))
        if match:
            year = story_year(text)
            if year:
                groups = match.groupdict() | {"year": str(year)}
                day = _as_date(groups)
                if day:
                    return f"{day.isoformat()}?"
    return ""


_NUMBER_WORDS = {
    word: number
    for number, word in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six"]
        + ["seven", "eight", "nine", "ten", "eleven", "twelve"]
    )
}
_YEARS_INTO = re.compile(
    r"\b(?P<n>\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")(?:[- ]and[- ]a[- ]half)?[- ]years?\b"
    r"[^.]{0,80}?\b(?:since|began|begun|started)\b[^.]{0,40}?\b(?P<year>(?:19|20)\d\d)\b",
    re.I,
)
_LAST = re.compile(
    r"\blast (?:year|spring|summer|autumn|fall|winter|"
    + "|".join(m for m in MONTHS if m.isascii() and m.isalpha())
    + r")\b",
    re.I,
)


SYRIAN_WAR_BEGAN = 2011
# How much of a text is read for its year: a news story's first pages say it.
STORY_CHARACTERS = 20_000
_WAR_YEARS = re.compile(
    r"\bSyria['’]s (?P<n>\d{1,2}|"
    + "|".join(_NUMBER_WORDS)
    + r")(?:[- ]and[- ]a[- ]half)?[- ]years?"
    r"[- ](?:old )?(?:civil )?(?:conflict|war|uprising|crisis)\b",
    re.I,
)


def _count(word):
    """A count as written: "4" or "four"."""
    word = word.lower()
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def story_year(text):
    """The year a text written without its year was written in, from what it says:
    "four years into a war that began in 2011" (2015); else the latest year it names,
    or the year after when it also speaks of "last May" or "last year" (so those came
    after the latest year named). None when it names no year."""
    text = text[:STORY_CHARACTERS]
    years = [int(y) for y in re.findall(r"\b((?:19|20)\d\d)\b", text)]
    war = _WAR_YEARS.search(text)
    if war:  # Syria's war began in March 2011: "its four-and-a-half-year conflict"
        return SYRIAN_WAR_BEGAN + _count(war.group("n"))
    for into in _YEARS_INTO.finditer(text):
        year = int(into.group("year")) + _count(into.group("n"))
        if year >= max(years) and year <= max(years) + 10:  # not "2,000 years since …"
            return year
    if not years or max(years) < SYRIAN_WAR_BEGAN:
        return None  # only history: no year of the wars this register is about
    return max(years) + (1 if _LAST.search(text) else 0)


def publisher(head, tail):
    """Who published it: a wire service named in a dateline; a masthead before a date
    ("The Levant Courier, 12 May 2016"), or after a byline's name; an organisation
    heading the text (the one named most often in its head and foot)."""
    for line in head:
        wire = _WIRE.search(line) or re.search(r"\((?P<wire>Reuters|AP|AFP)\)", line)
        if wire:
            return WIRES[wire.group("wire").lower()]
        if line in ("Associated Press", "Reuters", "Agence France-Presse"):
            return WIRES.get(line.lower(), line)
    for line in head:
        if len(line) > SHORT_LINE:
            continue
        by = _BY.match(line)
        pieces = [p.strip() for p in re.split(r"\s+[—–|-]\s+|,\s+", line)]
        if by:
            pieces = pieces[1:]  # "By Leila Haddad, The Desert Ledger, 6 March 2017"
        for index, piece in enumerate(pieces):
            rest = " ".join(pieces[index + 1 :])
            if (
                re.fullmatch(r"The(?:\s+[A-Z][\w'’-]*){1,4}", piece)
                and find_date(rest)
                and not _ORGANISATION_WORDS.search(piece)
            ):
                return piece
    for line in head[:3]:
        statement = re.search(
            r"\b(?i:statement|press release|communiqu[ée]|announcement) (?:of|by|from) (?:the )?"
            r"(?P<org>[A-Z][\w&'’-]*(?: (?:[A-Z][\w&'’-]*|of|and|&|for|the))*)",
            line,
        )
        if statement and _ORGANISATION_WORDS.search(statement.group("org")):
            return statement.group("org").replace(" & ", " and ")
    counts = {}
    for position, line in enumerate(head + tail):
        if len(line) > 90:
            continue
        line = re.sub(r"^(?:Prepared|Issued|Published)\s+by\s+(?:the\s+)?", "", line)
        for piece in re.split(r"\s+[—–|]\s+|,\s+(?=[A-Z])", line):
            piece = _RELEASE_WORDS.sub("", piece).strip(" .")
            if not piece or len(piece.split()) > 8 or not _ORGANISATION_WORDS.search(piece):
                continue
            if not all(w[0].isupper() or w in {"of", "and", "&", "for", "the", "on"}
                       for w in piece.split()):  # fmt: skip
                continue  # a sentence, not a name
            if re.match(r"(?:Republic|Kingdom|State) of\b", piece) and "Board" not in piece:
                continue
            name = piece.replace(" & ", " and ")
            count, first = counts.get(name, (0, position))
            counts[name] = (count + 1, first)
    if counts:
        return max(counts, key=lambda n: (counts[n][0], -counts[n][1]))
    return ""


def people(names):
    """Of the names a page's metadata gives, those of people (not "Wire staff")."""
    return [n.strip() for n in names if n.strip() and not _NOT_PEOPLE.search(n)]


def _split_names(names):
    names = _ROLE.sub("", names)
    # "Kareem Shaheen in Beirut and Ian Black": where they wrote from is not a name.
    names = re.sub(r"\s+in\s+[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)?(?=\s*(?:,|\band\b|$))", "", names)
    names = re.split(r"\s*[·|•]\s*|\s+\d", names)[0]  # "Rami Aziz · 28 January 2018"
    parts = re.split(r",\s*|\s+and\s+|\s+AND\s+|\s+et\s+|\s+y\s+|\s+&\s+", names)
    people = []
    for part in parts:
        part = part.strip(" .")
        if not part or _NOT_PEOPLE.search(part) or find_date(part):
            continue
        if not re.fullmatch(_NAME, part) and not part.isupper():
            continue
        if len(part.split()) < 2 or len(part.split()) > 5:
            continue
        if part.startswith("The "):
            continue  # a publication after the names
        people.append(part.title() if part.isupper() else part)
    return people


def authors(head, tail):
    """The byline's people: "By …" (AP's capitals in title case), a name alone on the
    line above "Published:", "Posted … by …" at the end, and Reuters' "Reporting by" and
    "Writing by" (not its editors). Staff and desk credits are nobody."""
    for line in tail + head:
        reporting = _REPORTING.search(line)
        if reporting:
            people = _split_names(reporting.group("names"))
            writing = _WRITING.search(line)
            if writing:
                people += [p for p in _split_names(writing.group("names")) if p not in people]
            return people
    for position, line in enumerate(head):
        by = _BY.match(line)
        if by and len(line) <= SHORT_LINE and (named := _split_names(by.group("names"))):
            return named
        above_date = position + 1 < len(head) and re.match(
            r"(?:Published|Updated)\b", head[position + 1]
        )
        if above_date and len(line) <= 80 and (named := _split_names(line)):
            return named
    for line in tail:
        posted = _POSTED_BY.search(line)
        if posted:
            return _split_names(posted.group("names"))
    return []


_FUNCTION_WORDS = {
    "en": {"the", "and", "of", "to", "in", "was", "that", "is", "for", "on", "with", "said"},
    "fr": {"le", "la", "les", "des", "et", "du", "une", "est", "dans", "pour", "qui", "au"},
    "es": {"el", "la", "los", "las", "del", "y", "que", "en", "por", "con", "una", "fue"},
    "de": {"der", "die", "das", "und", "nicht", "mit", "ist", "von", "den", "sich", "zu"},
    "id": {"yang", "dan", "di", "ini", "itu", "dengan", "untuk", "dari", "tidak", "pada"},
}


def language(text):
    """An ISO 639-1 code: "ar" for text mostly in Arabic script, else the language whose
    commonest words it uses most; "" when it is too short to tell."""
    sample = text[:5000]
    letters = len(re.findall(r"[^\W\d_]", sample))
    if not letters:
        return ""
    arabic = len(re.findall(r"[\u0600-\u06ff\u0750-\u077f]", sample))
    if arabic / letters > 0.4:
        return "ar"
    words = re.findall(r"[^\W\d_]+", sample.lower())
    if len(words) < 8:
        return ""
    scores = {
        code: sum(1 for w in words if w in common) for code, common in _FUNCTION_WORDS.items()
    }
    best = max(scores, key=scores.get)
    return best if scores[best] >= 3 else ""
