"""Text as intake compares it: case-folded, accent-free, separators as spaces, with a
map back to the original offsets so quotes are cut from the text as written."""

import re
import unicodedata

# (A full stop too: "St. Simeon" is "St Simeon".)
_SEPARATORS = "-‐‑‒–—―'’‘`´ʼʻ_.\u00a0\u2009\u202f\t\n\r\f\v"
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


def normalise_with_map(text):
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


def lower(text):
    """`text` in lower case, one character for one ("İ" lowers to two), so offsets into
    it are offsets into `text`."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(char.lower()[:1] for char in text)


_POSSESSIVE_RE = re.compile(r"(?<=\w) s (?=\w)")


def without_possessives(normal):
    """A possessive's "s" as a space, keeping every offset: "aleppo s covered market" is
    "Aleppo covered market" to the gazetteer."""
    return _POSSESSIVE_RE.sub("   ", normal)


def normalise(name):
    """A name as the gazetteer indexes it: case-folded, without accents, hyphens and
    apostrophes as spaces, one space between words, no leading "the"."""
    folded, _ = normalise_with_map(name)
    folded = " ".join(folded.split())
    if folded.startswith("the "):
        folded = folded[4:]
    return folded


def original_span(positions, start, end, text_length):
    if positions is None:
        return start, end
    return positions[start], positions[end] if end < len(positions) else text_length


def trie_pattern(words):
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
