"""Mentions of sites and the claims proposed from them."""

import bisect
import dataclasses
import datetime
import re

from reports.intake.dates import find_dates
from reports.intake.gazetteer import GROUP_KINDS, KIND_RE, KIND_WORDS, PLURAL_KIND_WORDS
from reports.intake.sentences import MAX_SENTENCE, split_sentences
from reports.intake.text import normalise_with_map, original_span
from reports.intake.wording import (
    BLOCK_RE,
    CLAUSE_RE,
    CUE_RE,
    CUES,
    HEARSAY_RE,
    INTACT_RE,
    LOCATION_RE,
    PASSIVE_RE,
    RELATIVE_RE,
    RESTORATION_RE,
    SENTENCE_BLOCK_RE,
    adjust_level,
)


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
    stance: str = "supports"


@dataclasses.dataclass
class _Mention:
    start: int  # in the original text
    end: int
    site: int | None  # index in gazetteer.sites
    kind: str
    how: str  # "name", "core" or "kind"
    candidates: tuple = ()


def extract(text, gazetteer, published=None, places=None, language=None):
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
    if language and language != "en":
        return []  # the damage wording read here is English
    normal, positions = normalise_with_map(text)
    length = len(text)

    names = []
    for match in gazetteer.pattern.finditer(normal):
        start, end = original_span(positions, match.start(), match.end(), length)
        names.append((start, end, gazetteer.lookup(match.group())))
    kinds = []
    for match in KIND_RE.finditer(normal):
        start, end = original_span(positions, match.start(), match.end(), length)
        form = " ".join(match.group().split())
        kinds.append((start, end, KIND_WORDS[form], form in PLURAL_KIND_WORDS))

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
    if SENTENCE_BLOCK_RE.search(lowered):
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
        if len(candidates) == 1 and not (plural and kind not in GROUP_KINDS):
            mentions.append(_Mention(start, end, candidates[0], kind, "kind"))
        else:
            mentions.append(_Mention(start, end, None, kind, "kind", tuple(candidates)))

    # A city named as a location ("damage in Palmyra") is not itself claimed.
    mentions = [
        m
        for m in mentions
        if m.site is None
        or not gazetteer.is_place(m.site)
        or not LOCATION_RE.search(text, max(s_start, m.start - 40), m.start)
    ]
    # A city is claimed only when nothing more precise is in the sentence.
    if any(m.site is None or not gazetteer.is_place(m.site) for m in mentions):
        mentions = [m for m in mentions if m.site is None or not gazetteer.is_place(m.site)]
    if not mentions:
        return []

    # Cues: damage words, with whether they are blocked, and "intact" words.
    cues = []  # (start, end, positive, level, label) offsets in the sentence
    for match in CUE_RE.finditer(lowered):
        index = int(match.lastgroup[1:])
        _, level, label = CUES[index]
        before = lowered[: match.start()]
        stretch = re.split(r"[,;:()\"“”]", before)[-1]
        window = " ".join(stretch.split()[-8:])
        blocked = bool(BLOCK_RE.search(window)) if window else False
        level = adjust_level(level, before)
        cues.append((match.start(), match.end(), not blocked, level, label))
    for match in INTACT_RE.finditer(lowered):
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

    clause_breaks = [m.start() for m in CLAUSE_RE.finditer(lowered)]

    def clause_of(position):
        return bisect.bisect_right(clause_breaks, position)

    restoration_clauses = {clause_of(m.start()) for m in RESTORATION_RE.finditer(lowered)}
    dates = find_dates(sentence, published)
    hearsay = bool(HEARSAY_RE.search(lowered))

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
        passive = bool(PASSIVE_RE.search(lowered[: nearest[0]]))
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
        return bool(RELATIVE_RE.search(lowered, other.end - s_start, rel_start))
    others = [m for m in mentions if rel_end <= m.start - s_start < cue[0]]
    if not others:  # mention … other … cue
        return False
    other = min(others, key=lambda m: m.start)
    return bool(RELATIVE_RE.search(lowered, rel_end, other.start - s_start))
