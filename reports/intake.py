"""Article intake: read an article and propose damage claims for a curator to review.

Pure Python (standard library only, no database access) so it is fast and testable.
The admin and `manage.py ingest` build a :class:`Gazetteer` once from the register's
sites and names, then call :func:`extract` on each article's text::

    gazetteer = Gazetteer(
        [("temple-of-bel", "temple", ["Temple of Bel", "Temple of Baal", "معبد بل"], "palmyra"),
         ("palmyra", "city", ["Palmyra", "Tadmur"])],
    )
    claims = extract(text, gazetteer, published=datetime.date(2015, 8, 31))

Each :class:`Claim` is one (sentence, site) pair: the sentence is the quote, with its
character offsets into the text, the damage level its wording implies, the date it
implies (EDTF, as vague as the words) and a confidence. A claim whose `site_key` is
None names only a kind of monument ("a shrine") that the article's place does not
make unambiguous: it is left for the curator.

Choices (documented here because a curator will ask):

* Damage level from the wording: destroyed / razed / levelled / blew up / dynamited /
  demolished / pulverised / bulldozed / smashed / flattened → ``destroyed``;
  heavily, badly, severely, extensively damaged, partly or largely destroyed, gutted,
  burned, torched → ``severe``; plain "damaged", "damage to", defaced, vandalised →
  ``moderate`` (the text says damage happened but not how much: moderate is the
  middle of the scale and matches how curators read "damaged", e.g. the Lion of Al-lat
  "found damaged but restorable"); slightly, lightly damaged, minor or superficial
  damage → ``slight``; looted, plundered, shelled, bombed, hit by shells →
  ``unknown`` (an act, not an outcome).
* Not claims: a site named without a damage word; restoration, reconstruction or
  repair news (even when it recalls the earlier damage in passing: the curator records
  restorations separately); predictions, threats and fears ("could be destroyed",
  "threatened to destroy", "vowed to", "may", "might", "would", "feared"); denials
  ("denied", "did not destroy", "no damage", "remains intact", "unharmed"); questions
  and conditionals ("if", "unless").
* A city (a site that other sites have as their place, or of kind ``city``) is
  claimed only when no other site or kind phrase is in the sentence: "the
  demolition of Tadmur prison in Palmyra" is a claim about the prison, not the city.
* Relative dates resolve against ``published``: "on Sunday" is the most recent
  Sunday strictly before the publication day; "yesterday", "today"; "last week" is the
  seven days ending the day before; "this week" runs from its Monday to the
  publication day; "N days ago" is a day, "N weeks ago" a seven-day interval, "N
  months ago" a month; "earlier this month" runs from the 1st to the day before; "last
  month", "this month", "last year". "About/around" adds EDTF ``~``. Without a
  publication date, relative words give "" (the curator decides).
"""

import bisect
import calendar
import dataclasses
import datetime
import random
import re
import time
import unicodedata

__all__ = [
    "Claim",
    "Gazetteer",
    "KIND_WORDS",
    "benchmark",
    "extract",
    "find_dates",
    "normalise",
    "split_sentences",
]

# --------------------------------------------------------------------------------------
# Normalisation

_SEPARATORS = "-‐‑‒–—―'’‘`´ʼʻ_\u00a0\u2009\u202f\t\n\r\f\v"
_ASCII_TABLE = str.maketrans(dict.fromkeys(_SEPARATORS, " "))
_char_cache: dict[str, str] = {}


def _normalise_char(char):
    cached = _char_cache.get(char)
    if cached is None:
        if char in _SEPARATORS or char.isspace():
            cached = " "
        else:
            decomposed = unicodedata.normalize("NFKD", char)
            cached = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
            if decomposed and not cached and not unicodedata.combining(char):
                cached = ""
        _char_cache[char] = cached
    return cached


def _normalise_with_map(text):
    """The text case-folded, accent-free, with separators as spaces, and for each
    position of the result the position in `text` it came from (None: identity)."""
    if text.isascii():
        return text.translate(_ASCII_TABLE).lower(), None
    pieces = [_normalise_char(c) for c in text]
    if all(len(p) == 1 for p in pieces):
        return "".join(pieces), None
    positions = []
    for index, piece in enumerate(pieces):
        positions.extend([index] * len(piece))
    positions.append(len(text))
    return "".join(pieces), positions


def normalise(name):
    """A name as the gazetteer indexes it: case-folded, without accents, hyphens and
    apostrophes as spaces, one space between words, no leading "the"."""
    folded, _ = _normalise_with_map(name)
    folded = " ".join(folded.split())
    if folded.startswith("the "):
        folded = folded[4:]
    return folded


# --------------------------------------------------------------------------------------
# Kind words: a phrase naming only a kind of monument. Each maps to SiteKind values,
# the first being the kind it resolves to; the others are kinds it also stands for
# when it licenses a bare core name ("the tower tombs of Elahbel and Kitot").

KIND_WORDS = {
    "triumphal arch": ("arch",),
    "monumental arch": ("arch",),
    "arch": ("arch",),
    "arches": ("arch",),
    "funeral tower": ("necropolis", "tower-tomb"),
    "funeral towers": ("necropolis", "tower-tomb"),
    "funerary tower": ("necropolis", "tower-tomb"),
    "funerary towers": ("necropolis", "tower-tomb"),
    "tower tomb": ("necropolis", "tower-tomb"),
    "tower tombs": ("necropolis", "tower-tomb"),
    "tomb towers": ("necropolis", "tower-tomb"),
    "necropolis": ("necropolis",),
    "tower": ("tower-tomb",),
    "towers": ("tower-tomb",),
    "prison": ("prison",),
    "jail": ("prison",),
    "museum": ("museum",),
    "theatre": ("theatre",),
    "theater": ("theatre",),
    "amphitheatre": ("theatre",),
    "amphitheater": ("theatre",),
    "castle": ("castle",),
    "citadel": ("castle",),
    "fortress": ("castle",),
    "tetrapylon": ("tetrapylon",),
    "shrine": ("shrine",),
    "shrines": ("shrine",),
    "mausoleum": ("shrine", "tomb"),
    "tomb": ("tomb", "tower-tomb"),
    "tombs": ("tomb", "tower-tomb"),
    "temple": ("temple",),
    "temples": ("temple",),
    "statue": ("statue",),
    "statues": ("statue",),
    "lion": ("statue",),
    "colonnade": ("colonnade",),
    "colonnaded street": ("colonnade",),
    "mosque": ("mosque",),
    "mosques": ("mosque",),
    "minaret": ("mosque",),
    "church": ("church",),
    "churches": ("church",),
    "monastery": ("church",),
}

# Plural kind words never resolve to one site ("the city's temples and tombs"), except
# to a site that is itself a group ("funeral towers" → the necropolis).
_PLURAL_KIND_WORDS = {
    "arches",
    "shrines",
    "tombs",
    "temples",
    "statues",
    "mosques",
    "churches",
    "towers",
}
_GROUP_KINDS = {"necropolis", "colonnade"}

# Leading generic words: "Temple of Bel" has the core name "Bel".
_GENERIC_HEADS = {
    "temple",
    "temples",
    "tomb",
    "tower",
    "shrine",
    "lion",
    "arch",
    "mosque",
    "church",
    "castle",
    "citadel",
    "theatre",
    "museum",
    "statue",
    "monastery",
    "tetrapylon",
    "gate",
    "mausoleum",
}


def _phrase_pattern(phrases):
    """One alternation over literal phrases, longest first, spaces matching runs."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    return "|".join(re.escape(p).replace(r"\ ", " ").replace(" ", " +") for p in ordered)


# Longer than this, a "sentence" is a run of words without a full stop: nothing a
# curator could quote, and costly to read.
MAX_SENTENCE = 2000

_KIND_RE = re.compile(r"(?<!\w)(?:" + _phrase_pattern(KIND_WORDS) + r")(?!\w)")


def _trie_pattern(words):
    """A regular expression matching exactly `words`, shaped as a trie so the regex
    engine never tries the words one by one."""
    root: dict = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node):
        alternatives = []
        for char in sorted(k for k in node if k):
            atom = " +" if char == " " else re.escape(char)
            alternatives.append(atom + build(node[char]))
        if not alternatives:
            return ""
        optional = "" in node
        if len(alternatives) == 1 and not optional:
            return alternatives[0]
        return "(?:" + "|".join(alternatives) + (")?" if optional else ")")

    return build(root)


@dataclasses.dataclass(frozen=True)
class _Site:
    key: str
    kind: str
    place: str | None


class Gazetteer:
    """Every name and alias of every site, compiled into one pattern.

    Built from an iterable of ``(site_key, kind, names)`` or ``(site_key, kind, names,
    place)`` tuples; ``kind`` is a SiteKind value, ``place`` the key of the place the
    site belongs to (e.g. "palmyra" for every Palmyra monument; usually the key of a
    city site in the same gazetteer). ``places`` optionally maps further place keys to
    their names, for places that are not sites themselves.

    Names are matched insensitive to case, accents, hyphens, apostrophes and spacing;
    a multi-word name is also indexed without its spaces ("Baal Shamin" finds
    "Baalshamin"). The core of a name ("Bel" in "Temple of Bel") is indexed too but
    only counts in a sentence that also has a kind word of the site's kind ("the
    temples of Baal Shamin and Bel").
    """

    def __init__(self, entries, places=None):
        self.sites: list[_Site] = []
        # normalised form -> list of (site index or -1, is_core, place key or None)
        self._forms: dict[str, list[tuple[int, bool, str | None]]] = {}
        full_forms = set()
        cores: list[tuple[str, int]] = []
        for entry in entries:
            key, kind, names = entry[0], entry[1], entry[2]
            place = entry[3] if len(entry) > 3 else None
            index = len(self.sites)
            self.sites.append(_Site(key, kind, place))
            forms = [f for f in (normalise(name) for name in names) if f]
            heads = set()
            for form in forms:
                core = self._core(form)
                if core:
                    cores.append((core, index))
                    heads.add(form[: len(form) - len(core)])
            # "Temple of Baalshamin" with the alias "Baal Shamin" also gives "temple of baal
            # shamin", so the longest match is this site, not "Temple of Baal" (Bel).
            for head in heads:
                forms.extend(head + f for f in list(forms) if not self._core(f))
            for form in dict.fromkeys(forms):
                for variant in self._variants(form):
                    self._add(variant, (index, False, None))
                    full_forms.add(variant)
        for place_key, names in (places or {}).items():
            for name in names:
                for variant in self._variants(normalise(name)):
                    self._add(variant, (-1, False, place_key))
                    full_forms.add(variant)
        for core, index in cores:
            if core not in full_forms and core.replace(" ", "") not in full_forms:
                self._add(core, (index, True, None))
        # A site is a place when other sites name it as theirs.
        self.place_keys = {s.place for s in self.sites if s.place} | set(places or {})
        self.by_kind_place: dict[tuple[str, str], list[int]] = {}
        for index, site in enumerate(self.sites):
            if site.place:
                self.by_kind_place.setdefault((site.kind, site.place), []).append(index)
        body = _trie_pattern(self._forms) if self._forms else r"(?!x)x"
        self.pattern = re.compile(r"(?<!\w)(?:" + body + r")(?!\w)")

    @staticmethod
    def _variants(form):
        yield form
        words = form.split(" ")
        if 2 <= len(words) <= 3:
            yield form.replace(" ", "")

    @staticmethod
    def _core(form):
        head, sep, rest = form.partition(" of ")
        if not sep or head not in _GENERIC_HEADS:
            return None
        if rest.startswith("the "):
            rest = rest[4:]
        if len(rest) < 3 or rest in KIND_WORDS:
            return None
        return rest

    def _add(self, form, ref):
        refs = self._forms.setdefault(form, [])
        if ref not in refs:
            refs.append(ref)

    def lookup(self, matched):
        """The references a matched (normalised) string stands for."""
        key = " ".join(matched.split())
        return self._forms.get(key) or self._forms.get(key.replace(" ", ""), [])

    def is_place(self, index):
        site = self.sites[index]
        return site.kind == "city" or site.key in self.place_keys

    def __len__(self):
        return len(self.sites)


# --------------------------------------------------------------------------------------
# Sentences

_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "prof",
    "gen",
    "col",
    "lt",
    "sgt",
    "capt",
    "maj",
    "rev",
    "sen",
    "rep",
    "gov",
    "jr",
    "sr",
    "no",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "u.s",
    "u.k",
    "u.n",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "approx",
    "ca",
    "c",
}

# A sentence ends at a full stop, "!", "?" or "…" (and any closing quote or bracket)
# before a space and a word that does not start in lower case; a full stop after an
# abbreviation ("Mr.", "U.S.") or a single letter (an initial) ends nothing. Those are
# told by the pattern itself, so that text of ten thousand "Mr." costs no more than prose.
# (The guards look back from after the full stop, so are checked only where there is
# one: a single letter first, then the abbreviations, one look-behind per length.)
_BY_LENGTH = {}
for _abbreviation in sorted(_ABBREVIATIONS):
    _BY_LENGTH.setdefault(len(_abbreviation), []).append(re.escape(_abbreviation))
_NOT_AFTER = r"(?<!\b[^\W\d_]\.)" + "".join(
    rf"(?<!\b(?i:{'|'.join(words)})\.)" for _, words in sorted(_BY_LENGTH.items())
)
_BOUNDARY_RE = re.compile(
    rf"(?:\.{_NOT_AFTER}[.!?…]*|[!?…][.!?…]*)[\"”’')\]]*(?=\s+[\"“‘'(\[]?[^\sa-z])"
)
_PARAGRAPH_RE = re.compile(r"\n[ \t]*\n\s*|\n(?=[ \t]*[-*•#>])")
_LINE_RE = re.compile(r"\n")
_CONTINUES_RE = re.compile(
    r"(?:[,;–—-]|\b(?:of|the|a|an|and|or|to|in|on|at|by|for|from|with|as|that|its|their))$",
    re.IGNORECASE,
)


# How far back a line or a sentence end is read to decide where it stops: enough for
# a line's last words or an abbreviation, and a bound that keeps reading an article
# linear in its length whatever its shape (10,000 "Mr. " or lines that never end).
LOOKBACK = 80


def _paragraphs(text):
    """Spans of paragraphs: a blank line ends one; so does a single line break after a
    sentence's end, or after a short line (a headline or byline) not ending mid-phrase
    ("of", "the", a comma…) and not followed by a lower-case word."""
    start = 0
    spans = []
    for match in _PARAGRAPH_RE.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    result = []
    for begin, end in spans:
        line_start = begin
        for line in _LINE_RE.finditer(text, begin, end):
            # The paragraph so far, read at its end only (LOOKBACK).
            tail = text[max(line_start, line.start() - LOOKBACK) : line.start()].rstrip()
            ends_sentence = tail.endswith((".", "!", "?", ":", "”", '"'))
            short_title = (
                line.start() - line_start < 60
                and not _CONTINUES_RE.search(tail)
                and not text[line.end() : line.end() + 1].islower()
            )
            if ends_sentence or short_title:
                result.append((line_start, line.start()))
                line_start = line.end()
        result.append((line_start, end))
    return result


def split_sentences(text):
    """[(start, end)] of each sentence of `text`, stripped of surrounding space."""
    spans = []
    for begin, end in _paragraphs(text):
        start = begin
        for match in _BOUNDARY_RE.finditer(text, begin, end):
            stop = match.end()
            spans.append((start, stop))
            start = stop
        spans.append((start, end))
    result = []
    for start, end in spans:
        chunk = text[start:end]
        stripped = chunk.strip()
        if stripped:
            offset = start + (len(chunk) - len(chunk.lstrip()))
            result.append((offset, offset + len(stripped)))
    return result


# --------------------------------------------------------------------------------------
# Damage words

# (pattern, level, label). Matched on the lower-cased sentence.
_CUES = [
    (r"dynamit\w*", "destroyed", "dynamited"),
    (r"bl(?:ew|own|owing|ows?) (?:\w+ ){0,3}?up", "destroyed", "blew up"),
    (r"destroy\w*|destruction", "destroyed", "destroyed"),
    (r"demoli\w*", "destroyed", "demolished"),
    (r"raz(?:ed|ing|es)|raze", "destroyed", "razed"),
    (r"levell?(?:ed|ing)", "destroyed", "levelled"),
    (r"flatten\w*", "destroyed", "flattened"),
    (r"pulveri[sz]\w*", "destroyed", "pulverised"),
    (r"reduc\w+ (?:\w+ ){0,2}to rubble", "destroyed", "reduced to rubble"),
    (r"bulldoz\w*", "destroyed", "bulldozed"),
    (r"obliterat\w*|wiped out", "destroyed", "obliterated"),
    (r"smash\w*", "destroyed", "smashed"),
    (r"toppl\w*", "destroyed", "toppled"),
    (r"t(?:orn|ore|earing) down|pulled down|brought down", "destroyed", "torn down"),
    (r"(?:in|into) pieces|shattered", "destroyed", "in pieces"),
    (r"gutted|collaps\w*", "severe", "collapsed"),
    (r"torch(?:ed|ing)|set (?:on )?fire|set ablaze|burn(?:ed|t|ing)", "severe", "burned"),
    (r"damag\w*", "moderate", "damaged"),
    (r"defac\w*|vandali[sz]\w*|desecrat\w*", "moderate", "defaced"),
    (r"detonat\w*", "unknown", "detonated"),
    (r"loot\w*|plunder\w*|pillag\w*|ransack\w*", "unknown", "looted"),
    (r"shell(?:ed|ing)", "unknown", "shelled"),
    (r"bomb(?:ed|ing)|air ?strikes? (?:hit|struck)", "unknown", "bombed"),
    (
        r"hit by (?:\w+ ){0,2}(?:shells?|rockets?|mortars?|air ?strikes?|missiles?)",
        "unknown",
        "hit",
    ),
]
_CUE_RE = re.compile(
    "|".join(f"(?P<c{i}>\\b(?:{p})\\b)" for i, (p, _, _) in enumerate(_CUES)),
)

_SEVERE_RE = re.compile(
    r"\b(?:heav(?:y|ily)|bad(?:ly)?|sever(?:e|ely)|serious(?:ly)?|extensive(?:ly)?|large(?:ly)?"
    r"|most(?:ly)?|part(?:ly|ially|ial)?|significant(?:ly)?|major|considerabl[ey]|much of)\W*$"
)
_SLIGHT_RE = re.compile(r"\b(?:slight(?:ly)?|light(?:ly)?|minor|superficial(?:ly)?|little)\W*$")
_TOTAL_RE = re.compile(r"\b(?:complete(?:ly)?|total(?:ly)?|entire(?:ly)?|fully|utterly)\W*$")

# Words before a damage word (same comma-free stretch) that make it not a report of
# damage: modality, threats, negation, fear.
_BLOCK_RE = re.compile(
    r"\b(?:could|would|might|(?<!\bin )(?<!\d )may(?! \d)|will|shall|should|must|can|"
    r"cannot|won't|not|never|no|nor|without|threat\w*|vow\w*|plan\w*|intend\w*|want\w*|"
    r"tr(?:y|ies|ied|ying) to|"
    r"attempt\w* to|going to|about to|fear\w*|risk\w*|danger|warn\w*|prevent\w*|avert\w*|"
    r"fail\w*|unless|if|whether|den(?:y|ied|ies)|aim\w* to|sought to|seek\w* to|ready to|"
    r"prepar\w* to|prepar\w* for|pledg\w*|promis\w*|possibl[ey]|potential\w*|rigg\w*|"
    r"escaped|avoid\w*|spared)\b|n't\b"
)
_INTACT_RE = re.compile(
    r"\b(?:intact|unharmed|undamaged|untouched|spared|still stand\w*|survived|unscathed|"
    r"no (?:\w+ )?damage|in good condition|escaped)\b"
)
_SENTENCE_BLOCK_RE = re.compile(
    r"\b(?:den(?:y|ied|ies|ial)|untrue|false|fake|hoax|baseless|unfounded)\b"
    r"|^[\s\"“'‘]*(?:if|unless|should)\b"
)
_RESTORATION_RE = re.compile(
    r"\b(?:restor\w*|reconstruct\w*|rebuil\w*|repair\w*|renovat\w*|reopen\w*|replica\w*|"
    r"re-?erect\w*|reassembl\w*|conserv\w*|cop(?:y|ies))\b"
)
_HEARSAY_RE = re.compile(
    r"\b(?:reportedly|allegedly|according to|said to|claimed|claims|unconfirmed|rumou?r\w*|"
    r"reports? (?:that|say|said)|purportedly|apparently)\b"
)
_PASSIVE_RE = re.compile(r"\b(?:was|were|been|being|is|are)\s+(?:\w+ly\s+)?$")
_LOCATION_RE = re.compile(
    r"\b(?:in|at|near|around|outside|inside|from|to|towards?|into|across|within|across)"
    r"(?: the (?:\w+ )?(?:town|city|oasis|desert city|ancient city) of)?\s+$",
    re.IGNORECASE,
)
_RELATIVE_RE = re.compile(r"\b(?:which|that|who|where|whose|when)\b")
_CLAUSE_RE = re.compile(r";|\b(?:but|while|whilst|whereas|although|though|however|yet|meanwhile)\b")


# --------------------------------------------------------------------------------------
# Dates

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            (),
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a couple of": 2,
    "a few": 3,
    "several": 3,
}

_M = (
    r"(?P<month>january|february|march|april|may|june|july|august|september|october|"
    r"november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
)
_D = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_Y = r"(?P<year>(?:19|20)\d\d)"
_N = (
    r"(?P<n>\d+|a couple of|a few|several|one|two|three|four|five|six|seven|eight|nine|"
    r"ten|eleven|twelve|an?)"
)
_APPROX = r"(?P<approx>(?:about|around|approximately|circa|roughly|some time around|c\.)\s+)?"
_PART = (
    r"(?:(?P<part>early|mid|late|the end of|the beginning of|the start of|the middle of)[\s-]+)?"
)

_DATE_FORMS = [
    ("iso", r"\b(?P<year>(?:19|20)\d\d)-(?P<mm>[01]\d)-(?P<dd>[0-3]\d)\b"),
    ("dmy", rf"\b{_APPROX}(?:on\s+)?(?:the\s+)?{_D}(?:\s+of)?\s+{_M},?\s+{_Y}\b"),
    ("mdy", rf"\b{_APPROX}(?:on\s+)?{_M}\s+{_D},?\s+{_Y}\b"),
    ("my", rf"\b{_APPROX}(?:in\s+)?{_PART}{_M},?\s+{_Y}\b"),
    ("dm", rf"\b{_APPROX}(?:on\s+)?(?:the\s+)?{_D}(?:\s+of)?\s+{_M}\b"),
    ("md", rf"\b{_APPROX}on\s+{_M}\s+{_D}\b"),
    ("y", rf"\b{_APPROX}(?:in|during|since|by)\s+{_PART}{_Y}\b"),
    ("m", rf"\b{_APPROX}(?:in|during)\s+{_PART}{_M}\b"),
    ("yesterday", r"\b(?:yesterday|last night)\b"),
    ("today", r"\b(?:today|this morning|earlier today|tonight)\b"),
    (
        "weekday",
        r"\b(?:(?P<last>last|this past|on|early on|late on)\s+)(?P<weekday>monday|tuesday|"
        r"wednesday|thursday|friday|saturday|sunday)\b",
    ),
    ("ago", rf"\b{_APPROX}{_N}\s+(?P<unit>day|week|month|year)s?\s+ago\b"),
    ("last_week", r"\blast\s+week\b|\bpast\s+week\b"),
    ("weekend", r"\b(?:over|at|during)\s+the\s+weekend\b|\blast\s+weekend\b"),
    ("this_week", r"\bthis\s+week\b"),
    ("earlier_month", r"\bearlier\s+(?:this|in the)\s+month\b"),
    ("last_month", r"\blast\s+month\b"),
    ("this_month", r"\bthis\s+month\b"),
    ("last_year", r"\blast\s+year\b"),
]
_DATE_RE = re.compile(
    "|".join(
        "(?P<f_{}>{})".format(name, re.sub(r"\(\?P<\w+>", "(?:", p)) for name, p in _DATE_FORMS
    )
)
# The same forms one by one, to read a form's named groups.
_FORM_RES = {name: re.compile(p) for name, p in _DATE_FORMS}


def _iso(day):
    return day.isoformat()


def _interval(first, last):
    return _iso(first) if first == last else f"{_iso(first)}/{_iso(last)}"


def _month(year, month):
    return f"{year:04d}-{month:02d}"


def _part_of_month(year, month, part):
    last = calendar.monthrange(year, month)[1]
    if part in ("early", "the beginning of", "the start of"):
        return _interval(datetime.date(year, month, 1), datetime.date(year, month, 10))
    if part in ("mid", "the middle of"):
        return _interval(datetime.date(year, month, 11), datetime.date(year, month, 20))
    if part in ("late", "the end of"):
        return _interval(datetime.date(year, month, 21), datetime.date(year, month, last))
    return _month(year, month)


def _shift_month(year, month, delta):
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _resolve(form, match, published):
    """EDTF for one date expression, or "" when it cannot be placed."""
    groups = match.groupdict()
    approx = "~" if groups.get("approx") else ""
    try:
        if form == "iso":
            day = datetime.date(int(groups["year"]), int(groups["mm"]), int(groups["dd"]))
            return _iso(day) + approx
        if form in ("dmy", "mdy"):
            day = datetime.date(int(groups["year"]), _MONTHS[groups["month"]], int(groups["day"]))
            return _iso(day) + approx
        if form == "my":
            year, month = int(groups["year"]), _MONTHS[groups["month"]]
            if groups.get("part"):
                return _part_of_month(year, month, groups["part"])
            return _month(year, month) + approx
        if form == "y":
            return groups["year"] + approx
        if published is None:
            return ""
        if form in ("dm", "md"):
            month, day_number = _MONTHS[groups["month"]], int(groups["day"])
            day = datetime.date(published.year, month, day_number)
            if day > published:
                day = datetime.date(published.year - 1, month, day_number)
            return _iso(day) + approx
        if form == "m":
            month = _MONTHS[groups["month"]]
            year = published.year if month <= published.month else published.year - 1
            if groups.get("part"):
                return _part_of_month(year, month, groups["part"])
            return _month(year, month) + approx
        one_day = datetime.timedelta(days=1)
        if form == "yesterday":
            return _iso(published - one_day)
        if form == "today":
            return _iso(published)
        if form == "weekday":
            wanted = _WEEKDAYS.index(groups["weekday"])
            back = (published.weekday() - wanted) % 7 or 7
            return _iso(published - datetime.timedelta(days=back)) + approx
        if form == "ago":
            n = groups["n"]
            count = int(n) if n.isdigit() else _NUMBERS[n]
            unit = groups["unit"]
            if unit == "day":
                return _iso(published - datetime.timedelta(days=count)) + approx
            if unit == "week":
                centre = published - datetime.timedelta(days=7 * count)
                return _interval(centre - 3 * one_day, centre + 3 * one_day)
            if unit == "month":
                return _month(*_shift_month(published.year, published.month, -count)) + approx
            return f"{published.year - count:04d}" + approx
        if form == "last_week":
            return _interval(published - 7 * one_day, published - one_day)
        if form == "weekend":
            back = (published.weekday() - 6) % 7 or 7
            sunday = published - datetime.timedelta(days=back)
            return _interval(sunday - one_day, sunday)
        if form == "this_week":
            monday = published - datetime.timedelta(days=published.weekday())
            return _interval(monday, published)
        if form == "earlier_month":
            first = published.replace(day=1)
            if first == published:
                return _month(published.year, published.month)
            return _interval(first, published - one_day)
        if form == "last_month":
            return _month(*_shift_month(published.year, published.month, -1))
        if form == "this_month":
            return _month(published.year, published.month)
        if form == "last_year":
            return f"{published.year - 1:04d}"
    except (ValueError, KeyError):
        return ""
    return ""


def find_dates(sentence, published=None):
    """[(start, end, edtf, words)] for each date expression in `sentence` (offsets into
    it); edtf is "" when a relative expression has no publication date to go by."""
    if isinstance(published, datetime.datetime):
        published = published.date()
    lowered = sentence.lower()
    found = []
    for match in _DATE_RE.finditer(lowered):
        form = None
        for name, _ in _DATE_FORMS:
            if match.group(f"f_{name}") is not None:
                form = name
                break
        detail = _FORM_RES[form].match(lowered, match.start(), match.end())
        if detail is None:
            continue
        if _REPORTING_RE.search(lowered, 0, match.start()):
            continue  # "said on Friday": when it was said, not when it happened
        edtf = _resolve(form, detail, published)
        found.append((match.start(), match.end(), edtf, sentence[match.start() : match.end()]))
    return found


_REPORTING_RE = re.compile(
    r"\b(?:said|says|say|told(?: \w+)?|announced|reported|stated|added|confirmed|released|"
    r"published|posted|wrote|declared|claimed)\s*,?\s*$"
)


# --------------------------------------------------------------------------------------
# Claims


@dataclasses.dataclass
class Claim:
    """One proposed claim: a sentence saying a site was damaged.

    ``quote == text[start:end]``; ``matched`` is the site's name as written, at
    ``match_start:match_end`` in the text. ``site_key`` is None for a kind phrase the
    article's place does not resolve (``kind`` says which kind). ``date`` is EDTF or "".
    """

    site_key: str | None
    matched: str
    quote: str
    start: int
    end: int
    level: str
    date: str
    confidence: float
    reason: str
    kind: str = ""
    match_start: int = 0
    match_end: int = 0


@dataclasses.dataclass
class _Mention:
    start: int  # in the original text
    end: int
    site: int | None  # index in gazetteer.sites
    kind: str
    how: str  # "name", "core" or "kind"
    candidates: tuple = ()


def _original_span(positions, start, end, text_length):
    if positions is None:
        return start, end
    return positions[start], positions[end] if end < len(positions) else text_length


def extract(text, gazetteer, published=None, places=None):
    """The claims in `text`, in order: one per (sentence, site).

    ``published`` (a date) resolves relative dates; ``places`` (place keys) says where
    the article is about; without it, the places are those named in the text plus the
    places of the sites it names.

    Confidence, from 0 to 1: it starts at 0.5; +0.2 for a site named in full (+0.1 for a
    core name licensed by a kind word, +0 for a kind phrase resolved by place); +0.1 for
    a strong verb (one implying destruction); +0.1 when the sentence dates it; +0.05 for
    the active voice; −0.15 for hearsay ("reportedly", "according to", "claimed");
    −0.05 for each further site in the sentence (at most −0.15). A kind phrase left
    unresolved gets at most 0.3. The result is clamped to [0.05, 0.95].
    """
    if isinstance(published, datetime.datetime):
        published = published.date()
    if not text or not text.strip():
        return []
    normal, positions = _normalise_with_map(text)
    length = len(text)

    names = []
    for match in gazetteer.pattern.finditer(normal):
        start, end = _original_span(positions, match.start(), match.end(), length)
        names.append((start, end, gazetteer.lookup(match.group())))
    kinds = []
    for match in _KIND_RE.finditer(normal):
        start, end = _original_span(positions, match.start(), match.end(), length)
        form = " ".join(match.group().split())
        kinds.append((start, end, KIND_WORDS[form], form in _PLURAL_KIND_WORDS))

    if places is None:
        article_places = set()
        for _, _, refs in names:
            for index, is_core, place_key in refs:
                if is_core:
                    continue
                if index < 0:
                    article_places.add(place_key)
                    continue
                site = gazetteer.sites[index]
                if site.place:
                    article_places.add(site.place)
                if site.key in gazetteer.place_keys:
                    article_places.add(site.key)
    else:
        article_places = set(places)

    claims = []
    sentences = split_sentences(text)
    name_i = kind_i = 0
    for s_start, s_end in sentences:
        sentence_names = []
        while name_i < len(names) and names[name_i][0] < s_start:
            name_i += 1
        j = name_i
        while j < len(names) and names[j][1] <= s_end:
            sentence_names.append(names[j])
            j += 1
        sentence_kinds = []
        while kind_i < len(kinds) and kinds[kind_i][0] < s_start:
            kind_i += 1
        j = kind_i
        while j < len(kinds) and kinds[j][1] <= s_end:
            sentence_kinds.append(kinds[j])
            j += 1
        if not sentence_names and not sentence_kinds:
            continue
        if s_end - s_start > MAX_SENTENCE:
            continue  # a run of words with no full stop is no sentence to quote
        claims.extend(
            _sentence_claims(
                text,
                s_start,
                s_end,
                sentence_names,
                sentence_kinds,
                gazetteer,
                article_places,
                published,
            )
        )
    return claims


def _choose(refs, gazetteer, places, kinds_here, allow_core):
    """The site indices a match stands for, after place and kind checks."""
    chosen = []
    for index, is_core, _ in refs:
        if index < 0:
            continue
        if is_core:
            if not allow_core:
                continue
            site = gazetteer.sites[index]
            if site.kind not in kinds_here:
                continue
        chosen.append(index)
    chosen = list(dict.fromkeys(chosen))
    if len(chosen) > 1 and places:
        local = [
            i
            for i in chosen
            if gazetteer.sites[i].place in places or gazetteer.sites[i].key in places
        ]
        if local:
            chosen = local
    return chosen


def _sentence_claims(text, s_start, s_end, names, kinds, gazetteer, places, published):
    sentence = text[s_start:s_end]
    lowered = sentence.lower().replace("’", "'").replace("‘", "'")
    if sentence.rstrip().rstrip("\"”’'").endswith("?"):
        return []
    if _SENTENCE_BLOCK_RE.search(lowered):
        return []

    kinds_here = set()
    for _, _, kind_tuple, _ in kinds:
        kinds_here.update(kind_tuple)

    mentions: list[_Mention] = []
    for start, end, refs in names:
        full = _choose([r for r in refs if not r[1]], gazetteer, places, kinds_here, False)
        if full:
            how = "name"
            chosen = full
        else:
            chosen = _choose(refs, gazetteer, places, kinds_here, True)
            how = "core"
        if len(chosen) == 1:
            site = gazetteer.sites[chosen[0]]
            mentions.append(_Mention(start, end, chosen[0], site.kind, how))
        elif len(chosen) > 1:
            mentions.append(_Mention(start, end, None, "", how, tuple(chosen)))

    named_kinds = {m.kind for m in mentions if m.site is not None}
    name_spans = sorted((m.start, m.end) for m in mentions)
    name_starts = [span[0] for span in name_spans]
    for start, end, kind_tuple, plural in kinds:
        # Within a name ("Tadmur prison")? Only the name starting last before `end` and
        # its neighbours can overlap: a bisection, not a scan of every name.
        at = bisect.bisect_left(name_starts, end)
        if any(name_spans[i][1] > start for i in range(max(0, at - 2), at)):
            continue
        kind = kind_tuple[0]
        if kind in named_kinds:
            continue  # "the temples of Baal Shamin and Bel": the temples are named
        candidates = []
        for place in places:
            candidates.extend(gazetteer.by_kind_place.get((kind, place), []))
        candidates = list(dict.fromkeys(candidates))
        if len(candidates) == 1 and not (plural and kind not in _GROUP_KINDS):
            mentions.append(_Mention(start, end, candidates[0], kind, "kind"))
        else:
            mentions.append(_Mention(start, end, None, kind, "kind", tuple(candidates)))

    # A city named as a location ("damage in Palmyra") is not itself claimed.
    mentions = [
        m
        for m in mentions
        if m.site is None
        or not gazetteer.is_place(m.site)
        or not _LOCATION_RE.search(text, max(s_start, m.start - 40), m.start)
    ]
    # A city is claimed only when nothing more precise is in the sentence.
    if any(m.site is None or not gazetteer.is_place(m.site) for m in mentions):
        mentions = [m for m in mentions if m.site is None or not gazetteer.is_place(m.site)]
    if not mentions:
        return []

    # Cues: damage words, with whether they are blocked, and "intact" words.
    cues = []  # (start, end, positive, level, label) offsets in the sentence
    for match in _CUE_RE.finditer(lowered):
        index = int(match.lastgroup[1:])
        _, level, label = _CUES[index]
        before = lowered[: match.start()]
        stretch = re.split(r"[,;:()\"“”]", before)[-1]
        window = " ".join(stretch.split()[-8:])
        blocked = bool(_BLOCK_RE.search(window)) if window else False
        level = _adjust_level(level, before)
        cues.append((match.start(), match.end(), not blocked, level, label))
    for match in _INTACT_RE.finditer(lowered):
        cues.append((match.start(), match.end(), False, "none", "intact"))
    if not any(c[2] for c in cues):
        return []
    # Several cities and nothing else ("Nimrud, south of Mosul"): the one nearest a
    # damage word.
    if len(mentions) > 1 and all(
        m.site is not None and gazetteer.is_place(m.site) for m in mentions
    ):
        positive = [c[0] for c in cues if c[2]]
        mentions = [min(mentions, key=lambda m: min(abs(m.start - s_start - p) for p in positive))]

    clause_breaks = [m.start() for m in _CLAUSE_RE.finditer(lowered)]

    def clause_of(position):
        return bisect.bisect_right(clause_breaks, position)

    restoration_clauses = {clause_of(m.start()) for m in _RESTORATION_RE.finditer(lowered)}
    dates = find_dates(sentence, published)
    hearsay = bool(_HEARSAY_RE.search(lowered))

    results = []
    seen = set()
    sites_in_sentence = len({m.site if m.site is not None else ("k", m.start) for m in mentions})
    for mention in mentions:
        rel_start, rel_end = mention.start - s_start, mention.end - s_start
        clause = clause_of(rel_start)
        if clause in restoration_clauses:
            continue
        own = [c for c in cues if clause_of(c[0]) == clause]
        if not own:
            continue

        def distance(cue, rel_start=rel_start, rel_end=rel_end):
            if cue[1] <= rel_start:
                return rel_start - cue[1]
            if cue[0] >= rel_end:
                return cue[0] - rel_end
            return 0

        nearest = min(own, key=lambda c: (distance(c), not c[2]))
        if not nearest[2]:
            continue
        # "smashed the Lion, a statue that stood at the entrance of the museum": a site
        # behind another one and a relative clause is where, not what. ("the theatre and
        # the Tetrapylon, which were damaged" keeps both: the clause follows the list.)
        if _behind_relative_clause(mention, mentions, nearest, s_start, lowered):
            continue
        identity = mention.site if mention.site is not None else ("kind", mention.kind)
        if identity in seen:
            continue
        seen.add(identity)

        date, date_words = "", ""
        if dates:
            chosen_date = min(
                dates,
                key=lambda d: min(abs(d[0] - nearest[1]), abs(nearest[0] - d[1])),
            )
            date, date_words = chosen_date[2], chosen_date[3]

        confidence = 0.5
        confidence += {"name": 0.2, "core": 0.1, "kind": 0.0}[mention.how]
        if nearest[3] == "destroyed":
            confidence += 0.1
        if date:
            confidence += 0.1
        passive = bool(_PASSIVE_RE.search(lowered[: nearest[0]]))
        if not passive:
            confidence += 0.05
        if hearsay:
            confidence -= 0.15
        confidence -= min(0.15, 0.05 * (sites_in_sentence - 1))
        if mention.site is None:
            confidence = min(confidence, 0.3)
        confidence = round(max(0.05, min(0.95, confidence)), 2)

        site_key = gazetteer.sites[mention.site].key if mention.site is not None else None
        reason = f"“{sentence[nearest[0] : nearest[1]]}” → {nearest[3]}"
        if date_words:
            reason += f"; date from “{date_words}”" + (f" = {date}" if date else " (unresolved)")
        else:
            reason += "; no date words"
        if mention.how == "kind":
            reason += (
                f"; kind phrase resolved by place ({', '.join(sorted(places))})"
                if site_key
                else "; kind phrase, ambiguous: left for the curator"
            )
        elif mention.how == "core":
            reason += "; core name with a kind word"
        if hearsay:
            reason += "; hearsay"
        if passive:
            reason += "; passive"
        results.append(
            Claim(
                site_key=site_key,
                matched=text[mention.start : mention.end],
                quote=sentence,
                start=s_start,
                end=s_end,
                level=nearest[3],
                date=date,
                confidence=confidence,
                reason=reason,
                kind=mention.kind,
                match_start=mention.start,
                match_end=mention.end,
            )
        )
    return results


def _behind_relative_clause(mention, mentions, cue, s_start, lowered):
    rel_start, rel_end = mention.start - s_start, mention.end - s_start
    if cue[1] <= rel_start:  # cue … other … mention
        others = [m for m in mentions if cue[1] <= m.end - s_start <= rel_start]
        if not others:
            return False
        other = max(others, key=lambda m: m.end)
        return bool(_RELATIVE_RE.search(lowered, other.end - s_start, rel_start))
    others = [m for m in mentions if rel_end <= m.start - s_start < cue[0]]
    if not others:  # mention … other … cue
        return False
    other = min(others, key=lambda m: m.start)
    return bool(_RELATIVE_RE.search(lowered, rel_end, other.start - s_start))


def _adjust_level(level, before):
    if level not in ("destroyed", "moderate"):
        return level
    tail = " ".join(before.split()[-3:])
    if _TOTAL_RE.search(tail):
        return "destroyed"
    if _SLIGHT_RE.search(tail):
        return "slight" if level == "moderate" else "severe"
    if _SEVERE_RE.search(tail):
        return "severe"
    return level


# --------------------------------------------------------------------------------------
# Benchmark


def benchmark(n_articles=1000, n_sites=10000, article_bytes=5000):
    """Seconds to build a gazetteer of `n_sites` synthetic sites and run `extract` on
    `n_articles` synthetic articles of about `article_bytes` characters. Deterministic
    (random.Random(0))."""
    rng = random.Random(0)
    syllables = ["al", "ba", "shi", "mar", "qa", "tel", "dur", "ka", "ni", "ra", "zu", "om"]
    kinds = ["temple", "tomb", "mosque", "church", "castle", "shrine", "museum", "arch"]
    entries = []
    for i in range(n_sites):
        word = "".join(rng.choice(syllables) for _ in range(3)) + str(i)
        kind = rng.choice(kinds)
        place = f"town{i // 50}"
        names = [f"{kind.title()} of {word.title()}", f"{word.title()} {kind}", word.upper()]
        entries.append((f"site-{i}", kind, names, place))
    filler = (
        "Fighters moved through the old quarter as residents fled the shelling. "
        "Officials said the situation remained tense and that more people had left. "
    )
    articles = []
    for _ in range(n_articles):
        parts = []
        size = 0
        while size < article_bytes:
            entry = rng.choice(entries)
            verb = rng.choice(["blew up", "damaged", "visited", "looted", "could destroy"])
            sentence = f"On Sunday militants {verb} the {entry[2][0]} near the square. "
            parts.append(filler + sentence)
            size += len(filler) + len(sentence)
        articles.append("".join(parts))
    started = time.perf_counter()
    gazetteer = Gazetteer(entries)
    published = datetime.date(2015, 8, 31)
    for article in articles:
        extract(article, gazetteer, published=published)
    return time.perf_counter() - started
