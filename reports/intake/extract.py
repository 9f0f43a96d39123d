"""Mentions of sites and the claims proposed from them."""

import bisect
import dataclasses
import datetime
import re

from reports.intake.dates import day_interval, days_in, find_dates, overlap
from reports.intake.gazetteer import GROUP_KINDS, KIND_RE, KIND_WORDS, PLURAL_KIND_WORDS
from reports.intake.sentences import MAX_SENTENCE, paragraph_sentences
from reports.intake.text import lower, normalise_with_map, original_span, without_possessives
from reports.intake.wording import (
    BACKGROUND_RE,
    BLOCK_RE,
    CLAUSE_RE,
    CUE_RE,
    CUES,
    DENIAL_RE,
    HEARSAY_RE,
    HERITAGE_NOUN_RE,
    INDEFINITE_RE,
    INTACT_RE,
    LOCATION_RE,
    NEAR_RE,
    NEGATION_RE,
    PASSIVE_RE,
    RELATIVE_RE,
    RESTORATION_RE,
    SENTENCE_BLOCK_RE,
    adjust_level,
)


@dataclasses.dataclass
class ProposedClaim:
    """One proposed claim: what an article says happened to one site in one event.

    ``quote == text[start:end]`` is the sentence that says it best (dated, in the body
    rather than the headline, the surest wording); ``quotes`` are the spans of the
    other sentences saying the same, for the curator. ``matched`` is the site's name
    as written, at ``match_start:match_end``. ``site_key`` is None for a kind phrase
    nothing in the article resolves (``kind`` says which kind). ``date`` is EDTF or "".
    ``stance`` is "supports", or "contradicts" for a denial that it happened (its level
    is the level of the report it denies).
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
    quotes: tuple = ()
    headline: bool = False
    how: str = ""  # "name", "core", "part", "kind", "new" (a kind phrase saying "a"), "topic"


@dataclasses.dataclass
class _Mention:
    start: int  # in the original text
    end: int
    site: int | None  # index in gazetteer.sites
    kind: str
    how: str  # as ProposedClaim.how
    candidates: tuple = ()


IMAGE_RE = re.compile(
    r"\b(?:images?|imagery|satellite|pictures?|photographs?|photos?|footage|scenes?)\b", re.I
)


def extract(text, gazetteer, published=None, places=None, language=None):
    """The claims in `text`, in order of their first sentence: one per site and event.

    ``published`` (a date) resolves relative dates; ``places`` (place keys) says where
    the article is about; without it, the places are those named in the text plus the
    places of the sites it names. ``language``: an article not in English gives none
    (the wording read here is English's).

    Each sentence is read for sites and damage words; a sentence without date words
    takes the date of the story its paragraph is telling ("Fighters also razed …"); a
    sentence about images dated A and B gives the interval A/B. Then the sentences
    about one site are one claim per event (sentences whose dates cannot overlap are
    different events), led by the surest one.

    Confidence, from 0 to 1: it starts at 0.5; +0.2 for a site named in full (+0.1 for a
    core name licensed by a kind word, +0 for a kind phrase resolved by place); +0.1 for
    a strong verb (one implying destruction); +0.1 when the sentence dates it; +0.05 for
    the active voice; −0.15 for hearsay ("reportedly", "according to", "claimed");
    −0.05 for each further site in the sentence (at most −0.15); +0.05 for each further
    sentence saying it (at most +0.1). A kind phrase left unresolved gets at most 0.3.
    The result is clamped to [0.05, 0.95].
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
    for match in gazetteer.pattern.finditer(without_possessives(normal)):
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

    readings = []
    paragraphs = paragraph_sentences(text)
    story = _Story(text, published)
    name_i = kind_i = 0
    for number, (paragraph, s_start, s_end) in enumerate(paragraphs):
        story.enter(paragraph, s_start, s_end)
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
        if (sentence_names or sentence_kinds or story.topic) and s_end - s_start <= MAX_SENTENCE:
            # (Longer is a run of words with no full stop: no sentence to quote.)
            found = _sentence_claims(
                text,
                s_start,
                s_end,
                sentence_names,
                sentence_kinds,
                gazetteer,
                article_places,
                story,
            )
            for claim in found:
                claim.headline = paragraph == 0 and len(paragraphs) > 1 and number == 0
            readings.extend(found)
        story.leave()
    # A satellite report's findings are dated by the images it compares, wherever in
    # it they are told.
    images = sorted(set(story.image_days))
    if len(images) >= 2:
        interval = day_interval(images[-2], images[-1])
        for claim in readings:
            if not claim.date and not BACKGROUND_RE.search(claim.quote.lower()):
                claim.date = interval
                claim.reason += f"; dated by the images of {interval}"
    # Every site the article names in full, damaged or not, and where: what its kind
    # phrases mean.
    named_here = []
    for start, _, refs in names:
        full = {index for index, is_core, _ in refs if index >= 0 and not is_core}
        if len(full) == 1:
            site = gazetteer.sites[next(iter(full))]
            named_here.append((start, site.kind, site.key))
    claims = _one_per_event(_resolve_kinds(readings, named_here))
    # What the news is about happened when its lede says: a claim nothing else dates,
    # told as news (not background), takes the lede's date.
    lede = story.lede
    if lede and published:
        for claim in claims:
            if not claim.date and not BACKGROUND_RE.search(claim.quote.lower()):
                claim.date = lede
                claim.reason += f"; dated as the story its lede tells ({lede})"
    return claims


class _Story:
    """The date a paragraph's story is at, carried from sentence to sentence, and the
    days of the images the article describes."""

    def __init__(self, text, published):
        self.text, self.published = text, published
        self.paragraph, self.date, self.words = None, "", ""
        self.image_days = []
        # The monument the paragraph is about ("Dura-Europos." as a heading, then "Images
        # show the walled area covered in looting pits"): (site index, kind, words).
        self.topic, self.heading, self.since_topic = None, False, 0
        self.lede, self.long = None, False

    def enter(self, paragraph, start, end):
        sentence = self.text[start:end]
        self.since_topic += 1
        if paragraph != self.paragraph:
            if not self.heading:
                self.topic = None
            self.paragraph, self.date, self.words = paragraph, "", ""
            self.heading = len(sentence) <= 60 and not sentence.rstrip(".").count(".")
        else:
            self.heading = False
        # (A run of words with no full stop is no sentence, and reading it for dates
        # would cost its length squared.)
        too_long = len(sentence) > MAX_SENTENCE
        self.sentence_dates = [] if too_long else find_dates(sentence, self.published)
        self.long = len(sentence) > 100 and not BYLINE_RE.match(sentence)
        if not too_long and IMAGE_RE.search(sentence):
            self.image_days.extend(days_in(sentence, self.published))

    def leave(self):
        resolved = [d for d in self.sentence_dates if d[2]]
        if resolved:
            self.date, self.words = resolved[-1][2], resolved[-1][3]
            if self.lede is None and self.long:
                self.lede = resolved[0][2]  # the first sentence of the story dated
        if self.long and self.lede is None:
            self.lede = ""  # the story's first sentence gives no date: nothing to go by

    def image_interval(self, sentence):
        """For a sentence about images: "between images of A and B" → A/B; one image
        day D after an earlier image day C of the article → C/D."""
        if not IMAGE_RE.search(sentence):
            return ""
        days = days_in(sentence, self.published)
        if len(days) >= 2:
            return day_interval(min(days), max(days))
        if len(days) == 1:
            earlier = [d for d in self.image_days if d < days[0]]
            if earlier:
                return day_interval(max(earlier), days[0])
        return ""


def _resolve_kinds(readings, named_here):
    """A kind phrase ("the temple", "the mosque") is the site of that kind the article
    last named before it (a headline's, the one the article names); resolved by place
    alone, it yields to that. Nothing resolving it: when the article names sites of the
    kind, or other sites in the same sentence, it is dropped (it is one of those);
    otherwise it stays, for the curator to say which site. "A mosque" is never resolved
    to one named before (how "new")."""
    by_sentence = {}
    for claim in readings:
        by_sentence.setdefault(claim.start, []).append(claim)
    kept = []
    for claim in readings:
        if claim.how == "kind" or (claim.site_key is None and claim.how != "new"):
            same = [(start, key) for start, kind, key in named_here if kind == claim.kind]
            before = [key for start, key in same if start < claim.match_start]
            keys = {key for _, key in same}
            # The one named last before it; one named only after it, in a headline.
            chosen = before[-1] if before else None
            if chosen is None and claim.headline and len(keys) == 1:
                chosen = next(iter(keys))
            if chosen and chosen != claim.site_key:
                claim.site_key = chosen
                claim.reason += "; the kind phrase stands for the site the article names"
            elif claim.site_key is None and (
                keys or any(c.site_key for c in by_sentence[claim.start])
            ):
                continue
        kept.append(claim)
    return kept


_STRENGTH = {"destroyed": 5, "severe": 4, "moderate": 3, "slight": 2, "none": 1, "unknown": 0}


def _one_per_event(readings):
    """The sentences about one site (and stance) as one claim per event: sentences whose
    dates could be the same time are one event. The lead is the surest sentence: dated,
    in the body, most confident."""
    groups = []
    for claim in readings:
        # (Found unharmed and found damaged are two findings, never one claim.)
        # (A name two sites share, unresolved, is told apart by the words used.)
        unresolved = f"kind:{claim.kind}" if claim.kind else f"name:{claim.matched.casefold()}"
        identity = (claim.site_key or unresolved, claim.stance, claim.level == "none")
        for group in groups:
            if group[0] == identity and all(overlap(claim.date, c.date) for c in group[1]):
                group[1].append(claim)
                break
        else:
            groups.append((identity, [claim]))
    results = []
    for _, members in groups:
        lead = max(members, key=lambda c: (bool(c.date), not c.headline, c.confidence))
        level = lead.level
        known = [c.level for c in members if c.level not in ("unknown", "none") and not c.headline]
        if level == "unknown" and known:
            level = known[0]
        elif level == "destroyed" and any(k in ("severe", "moderate", "slight") for k in known):
            # The detail decides: "destroyed" in one sentence, "part of it" in another.
            level = max((k for k in known if k != "destroyed"), key=_STRENGTH.get)
        others = tuple((c.start, c.end) for c in members if c is not lead)
        results.append(
            dataclasses.replace(
                lead,
                level=level,
                quotes=tuple(dict.fromkeys(o for o in others if o != (lead.start, lead.end))),
                confidence=round(min(0.95, lead.confidence + min(0.1, 0.05 * len(others))), 2),
            )
        )
    # A monument found unharmed in an article that reports it damaged contradicts the
    # report ("IS blew up the temple" / "the temple appears largely intact").
    for claim in results:
        if (
            claim.level == "none"
            and claim.stance == "supports"
            and any(
                c.site_key == claim.site_key and c.stance == "supports" and c.level != "none"
                for c in results
            )
        ):
            claim.stance = "contradicts"
    # A denial's level and date are those of the report it denies, when the article
    # gives it.
    for claim in results:
        if claim.stance != "contradicts" or claim.level == "none":
            continue
        reports = [
            c
            for c in results
            if c.stance == "supports"
            and c.site_key == claim.site_key
            and c.level != "none"
            and overlap(c.date, claim.date)
        ]
        if reports:
            claim.level = reports[0].level
            claim.date = claim.date or reports[0].date
    return sorted(results, key=lambda c: c.start)


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
    if len(chosen) > 1:
        # A name a whole shares with its part ("Nabi Huri", the ancient town and the
        # shrine in it) names the whole.
        wholes = [i for i in chosen if any(p in chosen for p, _ in gazetteer.parts.get(i, ()))]
        if len(wholes) == 1:
            chosen = wholes
    return chosen


def _sentence_claims(text, s_start, s_end, names, kinds, gazetteer, places, story):
    sentence = text[s_start:s_end]
    lowered = lower(sentence).replace("’", "'").replace("‘", "'")
    if sentence.rstrip().rstrip("\"”’'").endswith("?"):
        return []
    if SENTENCE_BLOCK_RE.search(lowered):
        return []
    denial = DENIAL_RE.search(lowered)

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

    # Parts named through their whole: "the minaret of the Great Mosque", "the mosque
    # and its leaning minaret". The whole stays claimed unless the words are only
    # about the part ("the Great Mosque's minaret", "the minaret of the mosque").
    for mention in list(mentions):
        if mention.site is None or mention.how in ("kind", "new"):
            continue
        rel_start, rel_end = mention.start - s_start, mention.end - s_start
        for part, words in gazetteer.parts.get(mention.site, ()):
            window_start = max(0, rel_start - 40)
            # One of its words in the window, chosen by position (never by set order).
            hit = min(
                (
                    found
                    for word in sorted(words)
                    for found in re.finditer(
                        rf"\b{re.escape(word)}s?\b", lowered[window_start : rel_end + 40]
                    )
                ),
                # The one nearest the whole's name: "the Seljuk minaret of the mosque".
                key=lambda found: (
                    max(
                        window_start + found.start() - rel_end,
                        rel_start - window_start - found.end(),
                    ),
                    found.start(),
                ),
                default=None,
            )
            if hit is None:
                continue
            at = window_start + hit.start()
            mentions.append(
                _Mention(s_start + at, s_start + window_start + hit.end(), part,
                         gazetteer.sites[part].kind, "part")
            )  # fmt: skip
            only_part = re.fullmatch(
                r"\s*of(?: the)?\s*", lowered[window_start + hit.end() : rel_start]
            ) or (re.fullmatch(r"(?:'s)?\s*", lowered[rel_end:at]) and at >= rel_end)
            if only_part and mention in mentions:
                mentions.remove(mention)
    named_kinds = {m.kind for m in mentions if m.site is not None}
    # (Every name matched, those a part replaced too: "the minaret of the Great Mosque"
    # holds no kind phrase "Mosque".)
    name_spans = sorted({(m.start, m.end) for m in mentions} | {(a, b) for a, b, _ in names})
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
        # "a mosque", "another shrine": one not named before, never the one that was.
        how = "new" if INDEFINITE_RE.search(text, max(s_start, start - 40), start) else "kind"
        if len(candidates) == 1 and not (plural and kind not in GROUP_KINDS):
            mentions.append(_Mention(start, end, candidates[0], kind, how))
        else:
            mentions.append(_Mention(start, end, None, kind, how, tuple(candidates)))

    # A city or a kind phrase named as a location ("damage in Palmyra", "a few hundred
    # metres from the citadel") is not itself claimed.
    def is_where(m):  # a place, or a site with parts: where other things are
        return m.site is not None and (gazetteer.is_place(m.site) or m.site in gazetteer.parts)

    # (Except in a list of three or more: "sites in Aleppo, Damascus, Palmyra and the
    # Crac des Chevaliers have all sustained major damage" speaks of each.)
    in_list = _listed(mentions, text, at_least=3)

    def located(m):
        # A monument with parts is where only by the plainest words ("damage to the
        # mosque" is to it; "the minaret in the mosque's courtyard" is in it).
        plain = m.how not in ("kind", "new") and not gazetteer.is_place(m.site)
        pattern = NEAR_RE if plain else LOCATION_RE
        return pattern.search(text, max(s_start, m.start - 40), m.start)

    mentions = [
        m
        for m in mentions
        if (m.how not in ("kind", "new") and not is_where(m)) or id(m) in in_list or not located(m)
    ]
    # A name said of another place ("the Roman theatre in Bosra", where the register's
    # Roman theatre is Palmyra's) is that place's site of the kind, or none the
    # register knows.
    for m in list(mentions):
        if m.site is None or is_where(m):
            continue
        there = next(
            (
                other
                for other in mentions
                if other is not m
                and is_where(other)
                and 0 <= other.start - m.end <= 12
                and re.fullmatch(r"\s*(?:in|at|of)\s+", text[m.end : other.start])
            ),
            None,
        )
        site = gazetteer.sites[m.site]
        if there is None or gazetteer.sites[there.site].key in (site.place, site.key):
            continue
        mentions.remove(m)
        local = gazetteer.by_kind_place.get((site.kind, gazetteer.sites[there.site].key), [])
        if len(local) == 1:
            mentions.append(_Mention(m.start, m.end, local[0], site.kind, "kind"))
    # A city naming what follows ("the Palmyra temple", "Mosul's landmark mosque") is
    # where that is, not what was hit.
    starts = sorted(m.start for m in mentions)
    mentions = [
        m
        for m in mentions
        if not is_where(m)
        or not (
            any(
                m.end <= start <= m.end + 30
                and re.fullmatch(
                    r"(?:['’]s)?(?:\s+(?!and\b|or\b|its\b)[\w-]+){0,2}\s+", text[m.end : start]
                )
                for start in starts
            )
            or HERITAGE_NOUN_RE.match(text, m.end)
        )
    ]
    # Places listed with monuments ("Aleppo, Damascus, Palmyra and the Crac des
    # Chevaliers have all sustained major damage") are items of the list, not where.
    listed = _listed(mentions, text, at_least=2)
    # A city is claimed only when nothing more precise is in the sentence (a kind word
    # no place resolves, "whose temples", is not more precise).
    if any(m.site is not None and not gazetteer.is_place(m.site) for m in mentions):
        mentions = [
            m
            for m in mentions
            if m.site is None or not gazetteer.is_place(m.site) or id(m) in listed
        ]
    named = {m.site for m in mentions if m.how in ("name", "core") and m.site is not None}
    if len(named) == 1:
        only = next(m for m in mentions if m.site in named)
        story.topic = (only.site, only.kind, text[only.start : only.end])
        story.since_topic = 0
    elif named:
        story.topic = None
    if (
        not names
        and not kinds
        and story.topic
        and (
            story.since_topic == 1  # the sentence after the one naming it
            or re.match(
                r"\W*(?:it|its|the (?:site|building|structure|monument|walled area|complex"
                r"|whole)|images?|imagery|satellite|pictures|photographs|footage)\b",
                lowered,
            )
        )
    ):
        # No site named: the paragraph's monument, when the sentence speaks of it.
        site, kind, _ = story.topic
        mentions = [_Mention(s_start, s_start, site, kind, "topic")]
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
        if denial and denial.start() < match.start():
            window = " ".join(lowered[denial.end() : match.start()].split()[-8:])
        blocks = BLOCK_RE.findall(window) if window and label != "not spared" else []
        if blocks and all(NEGATION_RE.fullmatch(b.strip()) for b in blocks) and not denial:
            # "was not damaged": the site was found unharmed.
            cues.append((match.start(), match.end(), True, "none", f"not {label}"))
            continue
        level = adjust_level(level, before, lowered[match.end() :], label)
        cues.append((match.start(), match.end(), not blocks, level, label))
    for match in INTACT_RE.finditer(lowered):
        window = " ".join(re.split(r"[,;:()\"“”]", lowered[: match.start()])[-1].split()[-6:])
        modal = BLOCK_RE.search(window) and not NEGATION_RE.search(window)
        cues.append((match.start(), match.end(), not modal, "none", "intact"))
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
    dates = story.sentence_dates
    images = story.image_interval(sentence)
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
        # A denial contradicts what comes after it ("officials denied that the citadel
        # had been hit"); "denied reports that …" also tells the report.
        denied = bool(denial) and rel_start > denial.start() and nearest[3] != "none"
        stances = ["contradicts"] if denied else ["supports"]
        if denied and re.match(r"den\w+ (?:the |earlier )?reports?\b", lowered[denial.start() :]):
            stances = ["supports", "contradicts"]
        if (identity, stances[0]) in seen:
            continue
        seen.add((identity, stances[0]))

        date, date_words = "", ""
        relative = [d for d in dates if d[2] and not _ABSOLUTE_RE.search(d[3])]
        if images and not relative:
            date, date_words = images, "the images' dates"
        elif dates:
            chosen_date = min(
                dates,
                key=lambda d: min(abs(d[0] - nearest[1]), abs(nearest[0] - d[1])),
            )
            date, date_words = chosen_date[2], chosen_date[3]
        elif story.date and not BACKGROUND_RE.search(lowered):
            date, date_words = story.date, f"{story.words}, earlier in the paragraph"
        is_place = mention.site is not None and gazetteer.is_place(mention.site)
        if (
            is_place
            and id(mention) not in in_list
            and not _attached(lowered, rel_start, rel_end, nearest)
        ):
            continue  # the city named in a sentence about something else in it
        if nearest[3] == "none" and (is_place or mention.how in ("kind", "new")):
            continue  # only a named monument is found unharmed

        confidence = 0.5
        confidence += {
            "name": 0.2,
            "core": 0.1,
            "part": 0.1,
            "kind": 0.0,
            "new": 0.0,
            "topic": -0.1,
        }[mention.how]
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
        if mention.how in ("kind", "new"):
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
        if mention.how == "topic":
            reason += f"; the site the paragraph is about ({story.topic[2]})"
        for stance in stances:
            results.append(
                ProposedClaim(
                    site_key=site_key,
                    matched=story.topic[2]
                    if mention.how == "topic"
                    else text[mention.start : mention.end],
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
                    stance=stance,
                    how=mention.how,
                )
            )
    return results


BYLINE_RE = re.compile(r"\W*(?:by|published|updated|posted)\b", re.I)
_ABSOLUTE_RE = re.compile(r"(?:19|20)\d\d")


def _listed(mentions, text, at_least):
    """The ids of mentions in a list of at least `at_least` ("A, B and the C")."""
    ordered = sorted(mentions, key=lambda m: m.start)
    runs, run = [], []
    for mention in ordered:
        if run and re.fullmatch(
            r"\s*(?:,|,? and|,? or)\s+(?:the\s+)?", text[run[-1].end : mention.start]
        ):
            run.append(mention)
        else:
            runs.append(run)
            run = [mention]
    runs.append(run)
    return {id(m) for run in runs if len(run) >= at_least for m in run}


def _attached(lowered, rel_start, rel_end, cue):
    """Whether a damage word is said of the city itself: next to its name, in the same
    stretch of words ("Nimrud was bulldozed", "the destruction of old Aleppo")."""
    if cue[3] == "unknown" and cue[4] in ("shelled", "bombed", "hit"):
        return False  # shelling a city is war, not damage to its heritage
    between = lowered[cue[1] : rel_start] if cue[1] <= rel_start else lowered[rel_end : cue[0]]
    return len(between.split()) <= 5 and not re.search(r"[,;:()]", between)


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
