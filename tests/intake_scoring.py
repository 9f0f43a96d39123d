"""Scoring intake against annotated articles: what it reads about each article (date,
publisher, authors, language) and the claims it proposes.

An article's claims are matched as lists, not keyed by site: a site can have two
claims in one article (two events, or a report and its denial). A proposed claim
matches an expected one of the same site and stance, the best-dated first. Expected
claims marked `background` are left out of recall, and finding them is not a false
positive. Proposals naming no site (kind phrases left for the curator) are not scored,
only counted. A date is right when the claim's interval overlaps the expected one
widened by seven days and is at most two months wide, or when both are empty.

    python -m tests.intake_scoring dev      # the tuning half, with every miss
    python -m tests.intake_scoring heldout  # the final figures only
    python -m tests.intake_scoring real TEXTS [SET]  # a real set, its texts in TEXTS
"""

import datetime
import json
import sys
from pathlib import Path

from heritage.dates import edtf_bounds
from reports.articles import read_article
from reports.intake import Gazetteer, extract

V2 = Path(__file__).parent / "intake_corpus_v2"
REAL = Path(__file__).parent / "real_articles"
WEEK = datetime.timedelta(days=7)
WIDEST = datetime.timedelta(days=62)


def v2_gazetteer(folder=V2):
    entries = json.loads((folder / "sites.json").read_text(encoding="utf-8"))
    return Gazetteer((s["key"], s["kind"], s["names"], s["place"]) for s in entries)


def real_articles(texts, folder=REAL):
    """The real articles whose text was fetched again into the folder `texts` (NN.txt;
    not ours, so not in the repository), with their annotations in `folder` (set 1 in
    tests/real_articles/, sets 2 to 4 in its set2/ … set4/)."""
    for path in sorted((folder / "annotations").glob("*.json")):
        text = Path(texts) / f"{path.stem}.txt"
        if text.exists():
            expected = json.loads(path.read_text(encoding="utf-8"))
            yield path.stem, text.read_bytes(), text.name, expected


def v2_articles(split):
    for path in sorted((V2 / split).iterdir()):
        if path.suffix in (".txt", ".html"):
            expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            yield path.stem, path.read_bytes(), path.name, expected


def date_right(found, wanted):
    if not wanted or not found:
        return found == wanted
    try:
        low, high = edtf_bounds(found)
        w_low, w_high = edtf_bounds(wanted)
    except ValueError:
        return False
    # Open ends ("../2015-10-05") are the widest dates: widening them stays in range.
    w_low, w_high = max(w_low, datetime.date.min + WEEK), min(w_high, datetime.date.max - WEEK)
    return high - low <= WIDEST and low <= w_high + WEEK and high >= w_low - WEEK


def match(claims, expected):
    """[(proposed, expected or None)] and the expected claims nothing matched."""
    left = list(expected)
    pairs = []
    for claim in claims:
        same = [e for e in left if e["site"] == claim.site_key and e["stance"] == claim.stance]
        if not same:
            pairs.append((claim, None))
            continue
        best = max(same, key=lambda e: (date_right(claim.date, e["date"]), not e.get("background")))
        left.remove(best)
        pairs.append((claim, best))
    return pairs, left


def day(value):
    return (value or "").rstrip("?~")


def score(articles, gazetteer):
    totals = dict.fromkeys(
        [
            "tp",
            "fp",
            "fn",
            "matched",
            "date",
            "date_open",
            "level",
            "unresolved",
            "background_found",
        ],
        0,
    )
    meta = dict.fromkeys(["articles", "published", "publisher", "authors", "language"], 0)
    misses = []
    for name, data, filename, expected in articles:
        article = read_article(data, filename)
        meta["articles"] += 1
        for field in ("published", "publisher", "authors", "language"):
            got, want = getattr(article, field), expected.get(field)
            if field_right(field, got, want):
                meta[field] += 1
            else:
                misses.append(f"{name}: {field} {got!r}, expected {want!r}")
        claims = extract(
            article.text, gazetteer, published=article.published_date, language=article.language
        )
        totals["unresolved"] += sum(1 for c in claims if not c.site_key)
        claims = [c for c in claims if c.site_key]
        pairs, unmatched = match(claims, expected["claims"])
        for claim, wanted in pairs:
            if wanted is None:
                totals["fp"] += 1
                misses.append(
                    f"{name}: extra {claim.site_key} {claim.stance} {claim.level} "
                    f"{claim.date!r} «{claim.quote[:90]}»"
                )
                continue
            if wanted.get("background"):
                totals["background_found"] += 1
                continue
            totals["tp"] += 1
            totals["matched"] += 1
            if date_right(claim.date, wanted["date"]):
                totals["date"] += 1
                totals["date_open"] += 1
            elif not claim.date and wanted["date"].startswith(".."):
                # Known only to have happened by the report: an undated claim, which the
                # register dates "../publication date" when it is accepted.
                totals["date_open"] += 1
            else:
                misses.append(f"{name}: date {claim.site_key} {claim.date!r}, expected "
                              f"{wanted['date']!r} «{claim.quote[:90]}»")  # fmt: skip
            if claim.level == wanted["level"]:
                totals["level"] += 1
            else:
                misses.append(f"{name}: level {claim.site_key} {claim.level}, expected "
                              f"{wanted['level']} «{claim.quote[:90]}»")  # fmt: skip
        for wanted in unmatched:
            if not wanted.get("background"):
                totals["fn"] += 1
                misses.append(f"{name}: missed {wanted['site']} {wanted['stance']} "
                              f"{wanted['level']} {wanted['date']!r}")  # fmt: skip
    tp, fp, fn = totals["tp"], totals["fp"], totals["fn"]
    found_right = tp + totals["background_found"]
    return {
        "precision": found_right / ((found_right + fp) or 1),
        "recall": tp / ((tp + fn) or 1),
        "date": totals["date"] / (totals["matched"] or 1),
        "date_open": totals["date_open"] / (totals["matched"] or 1),
        "level": totals["level"] / (totals["matched"] or 1),
        "counts": totals,
        "meta": {k: v / (meta["articles"] or 1) for k, v in meta.items() if k != "articles"},
        "articles": meta["articles"],
        "misses": misses,
    }


def field_right(field, got, wanted):
    if field == "published":
        return day(got) == (wanted or "")
    if field == "publisher":
        return _same_name(got, wanted or "")
    if field == "authors":
        return sorted(got) == sorted(wanted or [])
    return got == (wanted or "en")


def _same_name(got, wanted):
    def key(name):
        return " ".join(name.replace("&", "and").casefold().split())

    return key(got) == key(wanted)


def report(result):
    c = result["counts"]
    lines = [
        f"{result['articles']} articles: precision {result['precision']:.2f}, recall "
        f"{result['recall']:.2f}, date {result['date']:.2f} ({result['date_open']:.2f} with "
        f"'../published' as undated), level {result['level']:.2f} "
        f"(tp {c['tp']}, fp {c['fp']}, fn {c['fn']}, background found "
        f"{c['background_found']}, unresolved {c['unresolved']})",
        "metadata: " + ", ".join(f"{k} {v:.2f}" for k, v in result["meta"].items()),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    import django

    django.setup()
    split = sys.argv[1] if len(sys.argv) > 1 else "dev"
    if split == "real":  # python -m tests.intake_scoring real TEXTS [tests/real_articles/set2]
        folder = Path(sys.argv[3]) if len(sys.argv) > 3 else REAL
        outcome = score(real_articles(sys.argv[2], folder), v2_gazetteer(folder))
    else:
        outcome = score(v2_articles(split), v2_gazetteer())
    print("\n".join(outcome["misses"]))
    print(report(outcome))
