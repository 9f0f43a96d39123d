"""`make bench-intake`: how long intake takes to read a day's worth of articles.

Builds a gazetteer of 10,000 synthetic sites (three names each, 50 to a town) and reads
1,000 synthetic articles of about 5 KB (a byline, a dateline, then paragraphs where a
monument is named with damage words, with threats, or not at all) with the same
functions the admin and `manage.py ingest` call. Deterministic (random.Random(0)).
Prints the figures and exits 1 when the whole run is over the target (20 s).

    python bench/intake.py [--articles N] [--sites N] [--bytes N] [--target S]
"""

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reports.articles import read_article  # noqa: E402
from reports.intake import Gazetteer, extract  # noqa: E402

SYLLABLES = ["al", "ba", "shi", "mar", "qa", "tel", "dur", "ka", "ni", "ra", "zu", "om"]
KINDS = ["temple", "tomb", "mosque", "church", "castle", "shrine", "museum", "arch"]
FILLER = (
    "Fighters moved through the old quarter as residents fled the shelling. "
    "Officials said the situation remained tense and that more people had left. "
)
VERBS = ["blew up", "damaged", "visited", "looted", "could destroy", "flattened"]


def sites(rng, count):
    entries = []
    for i in range(count):
        word = "".join(rng.choice(SYLLABLES) for _ in range(3)) + str(i)
        kind = rng.choice(KINDS)
        names = [f"{kind.title()} of {word.title()}", f"{word.title()} {kind}", word.upper()]
        entries.append((f"site-{i}", kind, names, f"town{i // 50}"))
    return entries


def articles(rng, entries, count, size):
    for number in range(count):
        parts = [f"Report {number}\n\nBy Staff Writer, The Bench Courier, 31 August 2015\n\n"]
        length = len(parts[0])
        while length < size:
            entry = rng.choice(entries)
            sentence = f"On Sunday militants {rng.choice(VERBS)} the {entry[2][0]} near the square."
            parts.append(f"{FILLER}{sentence}\n\n")
            length += len(FILLER) + len(sentence) + 2
        yield "".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--sites", type=int, default=10000)
    parser.add_argument("--bytes", type=int, default=5000)
    parser.add_argument("--target", type=float, default=20.0)
    options = parser.parse_args()
    rng = random.Random(0)
    entries = sites(rng, options.sites)
    texts = list(articles(rng, entries, options.articles, options.bytes))
    started = time.perf_counter()
    gazetteer = Gazetteer(entries)
    built = time.perf_counter()
    claims = 0
    for text in texts:
        article = read_article(text)
        claims += len(extract(article.text, gazetteer, published=article.published_date))
    finished = time.perf_counter()
    total = finished - started
    print(
        f"intake: {options.sites:,} sites, {options.articles:,} articles of "
        f"~{options.bytes:,} characters: gazetteer {built - started:.2f} s, reading "
        f"{finished - built:.2f} s ({options.articles / (finished - built):.0f} articles/s), "
        f"{claims:,} claims; total {total:.2f} s (target {options.target:.0f} s)"
    )
    return 0 if total <= options.target else 1


if __name__ == "__main__":
    sys.exit(main())
