"""Precision and recall of the intake engine over a corpus of short articles.

Version 1: each article in tests/intake_corpus/ (written for this test, not copied from anywhere)
starts with a `published: YYYY-MM-DD` line; its sidecar .json lists the claims a careful
curator would mark: [{"site": key, "level": …, "date": EDTF or ""}]. Scored as
(article, site) pairs, micro-averaged; claims the engine leaves unresolved (no site)
are proposals for the curator and are not scored. Version 1 was annotated before
intake proposed denials (stance "contradicts") and monuments found unharmed (level
"none"): those are left out of its score.

Version 2 (tests/intake_corpus_v2/, scored by tests/intake_scoring.py): its `dev` half
only. The `heldout` half is for the final figures of a change to intake, never for
tuning, so no test reads it (docs/intake.md has its figures).
"""

import datetime
import json
from pathlib import Path

from reports.intake import Gazetteer, extract
from tests.intake_scoring import report, v2_articles, v2_gazetteer
from tests.intake_scoring import score as score_v2

CORPUS = Path(__file__).parent / "intake_corpus"

# (key, kind, names, place): Palmyra's sites and aliases (as in the domain notes), and
# a few sites of Aleppo, Mosul and Nimrud.
SITES = [
    ("palmyra", "city", ["Palmyra", "تدمر", "Tadmur", "Tadmor", "Tudmur", "Bride of the Desert"]),
    ("temple-of-bel", "temple", ["Temple of Bel", "Temple of Baal", "معبد بل"], "palmyra"),
    (
        "temple-of-baalshamin",
        "temple",
        ["Temple of Baalshamin", "Baal Shamin", "Baal-Shamin", "معبد بعل شمين"],
        "palmyra",
    ),
    (
        "monumental-arch",
        "arch",
        [
            "Monumental Arch",
            "Arch of Triumph",
            "Arch of Septimius Severus",
            "Triumphal arch",
            "قوس النصر",
        ],
        "palmyra",
    ),
    ("tetrapylon", "tetrapylon", ["Tetrapylon", "Great Tetrapylon", "التترابيل"], "palmyra"),
    ("roman-theatre", "theatre", ["Roman theatre", "Theatre of Palmyra"], "palmyra"),
    ("palmyra-museum", "museum", ["Palmyra Museum", "National Museum of Palmyra"], "palmyra"),
    (
        "palmyra-castle",
        "castle",
        ["Palmyra Castle", "Fakhr al-Din al-Ma'ani Castle", "Palmyra Citadel", "Qal'at Ibn Ma'n"],
        "palmyra",
    ),
    (
        "tower-tombs",
        "necropolis",
        ["Tower tombs", "Valley of the Tombs", "Funerary towers"],
        "palmyra",
    ),
    ("tower-of-elahbel", "tower-tomb", ["Tower of Elahbel"], "palmyra"),
    ("tower-of-iamliku", "tower-tomb", ["Tower of Iamliku", "Iamblichus"], "palmyra"),
    ("tower-of-kitot", "tower-tomb", ["Tower of Kitot", "Kithot"], "palmyra"),
    (
        "lion-of-al-lat",
        "statue",
        ["Lion of Al-lat", "Lion of Allat", "Lion of Athena", "أسد اللات"],
        "palmyra",
    ),
    (
        "tadmur-prison",
        "prison",
        ["Tadmur prison", "Tadmor prison", "Tadmor military prison", "سجن تدمر"],
        "palmyra",
    ),
    ("shrine-of-mohammed-bin-ali", "shrine", ["Shrine of Mohammed bin Ali"], "palmyra"),
    (
        "tomb-of-nizar-abu-bahaa-al-din",
        "tomb",
        ["Tomb of Nizar Abu Bahaa al-Din", "Abu Bahaaeddine"],
        "palmyra",
    ),
    ("great-colonnade", "colonnade", ["Great Colonnade", "Colonnaded street"], "palmyra"),
    ("aleppo", "city", ["Aleppo", "Halab", "حلب"]),
    ("aleppo-citadel", "castle", ["Citadel of Aleppo", "Aleppo Citadel", "قلعة حلب"], "aleppo"),
    (
        "great-mosque-of-aleppo",
        "mosque",
        ["Great Mosque of Aleppo", "Umayyad Mosque of Aleppo"],
        "aleppo",
    ),
    ("al-madina-souq", "other", ["Souq al-Madina", "Al-Madina Souq"], "aleppo"),
    ("mosul", "city", ["Mosul", "الموصل"]),
    (
        "al-nuri-mosque",
        "mosque",
        ["Great Mosque of al-Nuri", "al-Nuri mosque", "Nuri mosque", "al-Hadba"],
        "mosul",
    ),
    (
        "nabi-yunus",
        "mosque",
        ["Mosque of the Prophet Yunus", "Nabi Yunus", "Tomb of Jonah"],
        "mosul",
    ),
    ("mosul-museum", "museum", ["Mosul Museum", "Mosul Cultural Museum"], "mosul"),
    ("nimrud", "city", ["Nimrud", "Kalhu"]),
    (
        "northwest-palace",
        "other",
        ["Northwest Palace", "Palace of Ashurnasirpal II"],
        "nimrud",
    ),
]


def load_corpus():
    articles = []
    for path in sorted(CORPUS.glob("*.txt")):
        header, _, body = path.read_text(encoding="utf-8").partition("\n\n")
        published = datetime.date.fromisoformat(header.removeprefix("published:").strip())
        expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        articles.append((path.stem, published, body, expected))
    return articles


def score():
    gazetteer = Gazetteer(SITES)
    true_positives = false_positives = false_negatives = 0
    dated = date_right = level_right = 0
    misses = []
    for name, published, text, expected in load_corpus():
        claims = [
            c
            for c in extract(text, gazetteer, published=published)
            if c.site_key and c.stance == "supports" and c.level != "none"
        ]
        for claim in claims:
            assert text[claim.start : claim.end] == claim.quote
        found = {c.site_key for c in claims}
        wanted = {e["site"]: e for e in expected}
        true_positives += len(found & set(wanted))
        false_positives += len(found - set(wanted))
        false_negatives += len(set(wanted) - found)
        misses += [f"{name}: extra {k}" for k in sorted(found - set(wanted))]
        misses += [f"{name}: missed {k}" for k in sorted(set(wanted) - found)]
        for key in found & set(wanted):
            mine = [c for c in claims if c.site_key == key]
            dated += 1
            date_right += any(c.date == wanted[key]["date"] for c in mine)
            level_right += any(c.level == wanted[key]["level"] for c in mine)
    precision = true_positives / ((true_positives + false_positives) or 1)
    recall = true_positives / ((true_positives + false_negatives) or 1)
    return {
        "articles": len(load_corpus()),
        "precision": precision,
        "recall": recall,
        "date_accuracy": date_right / (dated or 1),
        "level_accuracy": level_right / (dated or 1),
        "misses": misses,
    }


def test_the_corpus_has_at_least_thirty_articles_each_with_expected_claims():
    articles = load_corpus()
    assert len(articles) >= 30
    for name, _, text, expected in articles:
        assert 80 <= len(text.split()) <= 300, name
        assert isinstance(expected, list), name


def test_precision_and_recall_over_the_corpus_hold_the_bar(capsys):
    result = score()
    with capsys.disabled():
        print(
            f"\nintake corpus: {result['articles']} articles; "
            f"precision {result['precision']:.2f}, recall {result['recall']:.2f}, "
            f"date accuracy {result['date_accuracy']:.2f}, "
            f"level accuracy {result['level_accuracy']:.2f}"
        )
        for line in result["misses"]:
            print("  ", line)
    assert result["recall"] >= 0.9
    assert result["precision"] >= 0.8
    assert result["date_accuracy"] >= 0.5


def test_the_v2_tuning_half_holds_the_bar(capsys):
    result = score_v2(v2_articles("dev"), v2_gazetteer())
    with capsys.disabled():
        print("\nintake corpus v2, dev: " + report(result))
    # Floors a little under today's figures (0.98, 0.78, 0.86, 0.70): a change that
    # loses ground here is a regression to explain.
    assert result["precision"] >= 0.9
    assert result["recall"] >= 0.75
    assert result["date"] >= 0.8
    assert result["level"] >= 0.65
    assert all(share >= 0.95 for share in result["meta"].values()), result["meta"]
