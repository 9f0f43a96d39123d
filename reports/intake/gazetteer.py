"""Names of sites: kind words ("the temple"), and the Gazetteer of every site's names
compiled into one pattern."""

import dataclasses
import re

from reports.intake.text import normalise, trie_pattern

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
    # (The register has a kind for monasteries: SiteKind.MONASTERY.)
    "monastery": ("monastery", "church"),
}

# Plural kind words never resolve to one site ("the city's temples and tombs"), except
# to a site that is itself a group ("funeral towers" → the necropolis).
PLURAL_KIND_WORDS = {
    "arches",
    "shrines",
    "tombs",
    "temples",
    "statues",
    "mosques",
    "churches",
    "towers",
}
GROUP_KINDS = {"necropolis", "colonnade"}

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


KIND_RE = re.compile(r"(?<!\w)(?:" + trie_pattern(KIND_WORDS) + r")(?!\w)")


_PLACE_KINDS = {"city", "country", "governorate"}
# Words written one for another in names: saints, and "son of" in transliterated Arabic.
_SAME_WORD = {
    "saint": ("st",),
    "st": ("saint",),
    "bin": ("ibn", "ben"),
    "ibn": ("bin", "ben"),
    "ben": ("ibn", "bin"),
}


def _unqualified(name):
    """A name without its parenthesised qualifier: "Clock Church (Mosul)"."""
    return re.sub(r"\s*\([^)]*\)\s*", " ", name).strip()


_NOT_PART_WORDS = {"of", "the", "and", "al", "el", "de", "in", "at", "s", "a"}


@dataclasses.dataclass(frozen=True)
class _Site:
    key: str
    kind: str
    place: str | None


class Gazetteer:
    """Every name and alias of every site, compiled into one pattern.

    Built from an iterable of ``(site_key, kind, names)``, ``(site_key, kind, names,
    place)`` or ``(site_key, kind, names, place, parent)`` tuples; ``kind`` is a SiteKind
    value, ``place`` the key of the place the site belongs to (e.g. "palmyra" for every
    Palmyra monument; usually the key of a city site in the same gazetteer), ``parent``
    the site it is part of when that is not the place (a mosque's minaret). ``places``
    optionally maps further place keys to their names, for places that are not sites
    themselves.

    A part is found through its whole: "the minaret of the Great Mosque" names the
    minaret when the gazetteer has a part of the mosque whose names hold "minaret".

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
        parents, words = {}, {}
        entries = list(entries)
        names_of = {entry[0]: [normalise(_unqualified(n)) for n in entry[2]] for entry in entries}
        for entry in entries:
            key, kind, names = entry[0], entry[1], entry[2]
            place = entry[3] if len(entry) > 3 else None
            index = len(self.sites)
            self.sites.append(_Site(key, kind, place))
            parents[index] = (entry[4] if len(entry) > 4 else None) or place
            # "Clock Church (Mosul)" also without its qualifier, which is for the reader of
            # a list: the text says "the Clock Church".
            forms = [
                form
                for name in names
                for form in dict.fromkeys([normalise(name), normalise(_unqualified(name))])
                if form
            ]
            # "Umayyad Mosque of Aleppo" is also "the Umayyad Mosque in Aleppo" and
            # "Aleppo's Umayyad Mosque".
            for where in names_of.get(place, []) + names_of.get(parents[index], []):
                for form in list(forms):
                    if where and form.endswith(" of " + where):
                        thing = form[: -len(" of " + where)]
                        forms += [f"{thing} in {where}", f"{where} {thing}"]
            words[index] = {w for f in forms for w in f.split()}
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
        # A place is where other sites are: one in no place itself (Palmyra, when the
        # gazetteer goes no higher), or a city, governorate or country others are in.
        # A monument with parts (a mosque and its minaret) is no place.
        placed = {s.key for s in self.sites if s.place}
        wholes = {p for p in parents.values() if p} | {s.place for s in self.sites if s.place}
        self.place_keys = (
            {s.place for s in self.sites if s.place and s.place not in placed}
            | {s.key for s in self.sites if s.kind in _PLACE_KINDS and s.key in wholes}
            | set(places or {})
        )
        # Parts by their whole: {whole's index: [(part's index, words only the part's
        # names have)]}.
        by_key = {site.key: i for i, site in enumerate(self.sites)}
        self.parts: dict[int, list[tuple[int, frozenset]]] = {}
        for index, parent in parents.items():
            whole = by_key.get(parent)
            if whole is None or whole == index or self.sites[whole].key in self.place_keys:
                continue
            place = by_key.get(self.sites[whole].place)
            around = words[place] if place is not None else set()
            own = words[index] - words[whole] - around - _NOT_PART_WORDS
            if own:
                self.parts.setdefault(whole, []).append((index, frozenset(own)))
        self.by_kind_place: dict[tuple[str, str], list[int]] = {}
        for index, site in enumerate(self.sites):
            if site.place:
                self.by_kind_place.setdefault((site.kind, site.place), []).append(index)
        body = trie_pattern(self._forms) if self._forms else r"(?!x)x"
        self.pattern = re.compile(r"(?<!\w)(?:" + body + r")(?!\w)")

    @staticmethod
    def _variants(form):
        """The ways a name is written: possessive dropped (as the text is read), Saint as
        St, and the usual variations of transliterated Arabic (the article "al" left out,
        bin for ibn, ee for i, ou for u)."""
        found, todo = {form}, [form]
        while todo and len(found) < 24:  # a closure over the rewrites, bounded
            spelling = todo.pop()
            words = spelling.split(" ")
            rewrites = [spelling.replace(" s ", " ")]  # "St Simeon's pillar", as read
            rewrites += [
                " ".join(alternative if i == at else w for i, w in enumerate(words))
                for at, word in enumerate(words)
                for alternative in _SAME_WORD.get(word, ())
            ]
            bare = [w for w in words if w not in ("al", "el")]
            if len(bare) >= 2:
                rewrites.append(" ".join(bare))
            rewrites.append(spelling.replace("ee", "i").replace("ou", "u").replace("oo", "u"))
            for rewrite in rewrites:
                if rewrite not in found:
                    found.add(rewrite)
                    todo.append(rewrite)
        ordered = [form] + sorted(found - {form})
        for spelling in ordered:
            yield spelling
            words = spelling.split(" ")
            if 2 <= len(words) <= 3:
                yield spelling.replace(" ", "")

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
        """Whether a site is where others are (Palmyra, Aleppo, a country): claimed only
        for damage to itself. An ancient city nothing else is part of (Dura-Europos,
        Mari) is a monument like any other."""
        site = self.sites[index]
        return site.key in self.place_keys or site.kind in _PLACE_KINDS - {"city"}

    def __len__(self):
        return len(self.sites)
