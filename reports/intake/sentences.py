"""Paragraphs and sentences, as spans of the text."""

import re

# Longer than this, a "sentence" is a run of words without a full stop: nothing a
# curator could quote, and costly to read.
MAX_SENTENCE = 2000


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
# (A sentence end starts only at the first mark of a run, and takes the run whole: a
# run of ten thousand dots is read once, not once from each dot.)
_BOUNDARY_RE = re.compile(
    rf"(?<![.!?…])(?:\.{_NOT_AFTER}[.!?…]*+|[!?…][.!?…]*+)[\"”’')\]]*+"
    rf"(?=\s+[\"“‘'(\[]?[^\sa-z])"
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
    return [(start, end) for _, start, end in paragraph_sentences(text)]


def paragraph_sentences(text):
    """[(paragraph number, start, end)] of each sentence of `text`."""
    result = []
    number = 0
    for begin, end in _paragraphs(text):
        spans = []
        start = begin
        for match in _BOUNDARY_RE.finditer(text, begin, end):
            spans.append((start, match.end()))
            start = match.end()
        spans.append((start, end))
        found = False
        for s_start, s_end in spans:
            chunk = text[s_start:s_end]
            stripped = chunk.strip()
            if stripped:
                offset = s_start + (len(chunk) - len(chunk.lstrip()))
                result.append((number, offset, offset + len(stripped)))
                found = True
        number += found
    return result
