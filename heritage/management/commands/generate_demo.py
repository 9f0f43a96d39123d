"""Synthetic data at a country's scale, for trying the register out and for `make bench`.

Every value is made up, and every URL is on example domains (RFC 2606), so demo data
can never pass for a real report. The shapes follow the real record: a few sites carry
many events while most carry a handful, most events have two or three citations, a few
publishers and sources are cited everywhere, and source texts run to a few kilobytes.
"""

import datetime
import functools
import random
import re
from bisect import bisect
from collections import namedtuple
from itertools import accumulate

from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils.text import slugify
from tqdm import tqdm

from heritage import readmodel
from heritage.dates import edtf_bounds
from heritage.models import (
    Actor,
    Cause,
    DamageEvent,
    DamageExtent,
    DamageLevel,
    EventKind,
    LocationPrecision,
    PublicStamp,
    Site,
    SiteKind,
    SiteName,
    State,
    condition_after,
    through_workflow,
)
from reports.articles import text_fingerprint
from reports.models import Basis, Certainty, Citation, Source, SourceKind, Stance

# The busiest site has this many events (with four citations each): the shape of the
# benchmark's "site with 200 events and 800 citations".
BUSIEST_EVENTS = 200
BUSIEST_CITATIONS_EACH = 4

# Syria's bounding box, roughly: demo sites fall where the real ones would.
LATITUDES = (32.4, 37.2)
LONGITUDES = (35.8, 42.2)

PLACE_PREFIXES = ["Tell", "Qasr", "Deir", "Khirbet", "Jebel", "Ain", "Bab", "Wadi", "Qalaat"]
SYLLABLES = [
    "al", "ba", "dar", "fa", "ha", "jar", "ka", "lat", "ma", "nab", "qa", "ra", "sa",
    "ta", "wa", "zi", "bu", "du", "mu", "ru", "shi", "ki", "ya", "sur", "hin", "mar",
]  # fmt: skip
KIND_WORDS = {
    SiteKind.TEMPLE: "Temple",
    SiteKind.TOMB: "Tomb",
    SiteKind.TOWER_TOMB: "Tower tomb",
    SiteKind.NECROPOLIS: "Necropolis",
    SiteKind.ARCH: "Arch",
    SiteKind.COLONNADE: "Colonnade",
    SiteKind.THEATRE: "Theatre",
    SiteKind.MUSEUM: "Museum",
    SiteKind.SHRINE: "Shrine",
    SiteKind.MOSQUE: "Mosque",
    SiteKind.CHURCH: "Church",
    SiteKind.CASTLE: "Castle",
    SiteKind.OTHER: "Market",
}
PUBLISHER_WORDS = ["Daily", "News", "Monitor", "Observer", "Times", "Wire", "Report", "Post"]
VERBS = {
    DamageLevel.NONE: "left standing",
    DamageLevel.SLIGHT: "lightly damaged",
    DamageLevel.MODERATE: "partly damaged",
    DamageLevel.SEVERE: "badly damaged",
    DamageLevel.DESTROYED: "destroyed",
    DamageLevel.UNKNOWN: "damaged to an unknown degree",
}
SENTENCES = [
    "Residents said the {place} had been {verb} in fighting near the town.",
    "Images taken from above show the {place} {verb}, with rubble across its courtyard.",
    "The antiquities authority said its staff could not reach the {place} to inspect it.",
    "A local official told reporters that the {place} was {verb} by {cause}.",
    "Witnesses described heavy machinery at work beside the {place} for several days.",
    "The report lists the {place} among the monuments {verb} since the spring.",
    "Archaeologists who worked at the {place} said its carved doorway was the finest in "
    "the province.",
    "Photographs shared online appear to show the {place} {verb}.",
    "The group that held the area said nothing about the {place}.",
    "Earlier reports that the {place} was intact could not be confirmed.",
    "Conservators asked for access to record what remains of the {place}.",
    "The road to the {place} was closed, and no independent observer has seen it since.",
]
SUMMARIES = {
    EventKind.DAMAGE: ["{Verb} by {cause}", "Walls {verb}", "Roof {verb}", "Facade {verb}"],
    EventKind.LOOTING: ["Looted", "Objects taken from the store", "Illegal digging"],
    EventKind.RESTORATION: ["Restored", "Stabilised and partly rebuilt"],
}
CAUSE_WORDS = {
    Cause.EXPLOSIVES: "explosives",
    Cause.DEMOLITION: "deliberate demolition",
    Cause.BULLDOZING: "bulldozers",
    Cause.SHELLING: "shelling",
    Cause.GUNFIRE: "gunfire",
    Cause.SMASHING: "hammers",
    Cause.LOOTING: "looters",
    Cause.FIRE: "fire",
    Cause.UNKNOWN: "unknown means",
}
SAYERS = ["residents", "officials", "monitors", "archaeologists", "activists"]
ACTORS = ["Armed group A", "Armed group B", "Army C", "Air force D", "Militia E", "Unknown"]

SENTENCE = re.compile(r"[^.\n]+\.")

# What is kept in memory of each published event to derive its site's condition.
Reading = namedtuple("Reading", "id date_lower date_upper grade condition_after kind level")


@functools.cache
def bounds(date):
    return edtf_bounds(date)


def weighted(rng, weights):
    """A function drawing an index with these relative weights, in O(log n) a draw."""
    totals = list(accumulate(weights))
    return lambda: bisect(totals, rng.random() * totals[-1])


def pick(rng, table):
    """A value from {value: weight}."""
    return rng.choices(list(table), weights=list(table.values()))[0]


class Command(BaseCommand):
    help = (
        "Fill an empty register with synthetic sites, events, sources and citations at a "
        "country's scale, for demonstrations and benchmarks. The same --seed gives the "
        "same data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sites", type=int, default=10_000)
        parser.add_argument("--events", type=int, default=100_000)
        parser.add_argument("--sources", type=int, default=30_000)
        parser.add_argument("--citations", type=int, default=250_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--batch-size", type=int, default=2_000, help="Rows in each INSERT (default 2000)."
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="No progress bar (it shows on a terminal)."
        )

    def handle(self, *args, **options):
        counts = {name: options[name] for name in ("sites", "events", "sources", "citations")}
        for name, count in counts.items():
            if count < 0:
                raise CommandError(f"--{name} cannot be negative.", returncode=2)
        if counts["events"] and not counts["sites"]:
            raise CommandError("Events need at least one site (--sites).", returncode=2)
        if counts["citations"] and not (counts["events"] and counts["sources"]):
            raise CommandError("Citations need events and sources.", returncode=2)
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.", returncode=2)
        if Site.objects.exists() or Source.objects.exists():
            raise CommandError(
                "The register is not empty: demo data goes into an empty database only, so "
                "that it is never mixed with real records. Point DATABASE_URL at a new one.",
                returncode=2,
            )
        self.rng = random.Random(options["seed"])
        self.batch_size = options["batch_size"]
        self.today = datetime.date(2025, 12, 31)
        self.progress = tqdm(
            total=sum(counts.values()),
            unit=" rows",
            disable=True if options["no_progress"] else None,
            file=self.stderr._out,
        )
        # Written as a reviewed record, in one go, into an empty database: there is no
        # earlier public state for the workflow to keep, so the rows go in as reviewed.
        with self.progress, transaction.atomic(), through_workflow():
            sites = self.make_sites(counts["sites"])
            sources = self.make_sources(counts["sources"])
            readings = self.make_events_and_citations(
                sites, sources, counts["events"], counts["citations"]
            )
            self.store_conditions(sites, readings)
            self.reset_sequences()
            PublicStamp.bump()
        # The public documents of what was written in bulk, around the models' saves.
        documents = tqdm(
            unit=" documents",
            disable=True if options["no_progress"] else None,
            file=self.stderr._out,
        )
        with documents:
            readmodel.rebuild_all(progress=lambda done, total: documents.update(done - documents.n))
        # Fresh statistics: without them the query planners guess, and guess badly, on
        # tables that went from empty to hundreds of thousands of rows at once.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(
            self.style.SUCCESS(
                "Generated {sites} sites, {events} events, {sources} sources and "
                "{citations} citations.".format(**counts)
            )
        )

    def insert(self, model, rows):
        model.objects.bulk_create(rows, batch_size=self.batch_size)
        self.progress.update(len(rows))

    def in_batches(self, model, rows):
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) >= self.batch_size:
                self.insert(model, batch)
                batch = []
        if batch:
            self.insert(model, batch)

    def words(self, low, high):
        rng = self.rng
        return " ".join(
            "".join(rng.choices(SYLLABLES, k=rng.randint(2, 3))).capitalize()
            for _ in range(rng.randint(low, high))
        )

    def paragraph(self, place, level, cause, sentences):
        rng = self.rng
        return " ".join(
            rng.choice(SENTENCES).format(place=place, verb=VERBS[level], cause=CAUSE_WORDS[cause])
            for _ in range(sentences)
        )

    # Sites

    def make_sites(self, count):
        """Sites with ids 1…count. About one in twenty is a town holding monuments."""
        rng = self.rng
        kinds = list(KIND_WORDS)
        towns = max(1, count // 20)
        sites = []
        for pk in range(1, count + 1):
            town = pk <= towns
            place = f"{rng.choice(PLACE_PREFIXES)} {self.words(1, 1)}"
            kind = SiteKind.CITY if town else rng.choice(kinds)
            name = place if town else f"{KIND_WORDS[kind]} of {self.words(1, 2)}"
            located = rng.random() < 0.9
            sites.append(
                Site(
                    pk=pk,
                    name=name,
                    slug=f"{slugify(name)}-{pk}",
                    kind=kind,
                    parent_id=None if town or rng.random() < 0.4 else rng.randint(1, towns),
                    latitude=round(rng.uniform(*LATITUDES), 5) if located else None,
                    longitude=round(rng.uniform(*LONGITUDES), 5) if located else None,
                    location_precision=rng.choice(list(LocationPrecision)) if located else "",
                    description=self.paragraph(
                        f"site at {place}", DamageLevel.NONE, Cause.UNKNOWN, rng.randint(1, 4)
                    ),
                    built=rng.choice(["", "1st century", "2nd century AD", "Ottoman period"]),
                    approved=True,
                )
            )
        # Parents first: the foreign key is checked as each batch goes in.
        self.in_batches(Site, sites)
        names = [
            SiteName(
                site_id=site.pk,
                name=f"{site.name} ({self.words(1, 1)})",
                language="ar-Latn",
                approved=True,
            )
            for site in sites
            if rng.random() < 0.3
        ]
        SiteName.objects.bulk_create(names, batch_size=self.batch_size)
        return sites

    # Sources

    def make_sources(self, count):
        """Sources with ids 1…count, from publishers of very unequal output. Four in ten
        hold their full text; the rest are known by title and URL only."""
        rng = self.rng
        publisher_count = max(1, min(400, count // 50))
        publishers = [
            f"{self.words(1, 1)} {rng.choice(PUBLISHER_WORDS)}" for _ in range(publisher_count)
        ]
        next_publisher = weighted(rng, [1 / (rank + 1) for rank in range(publisher_count)])
        kinds = {
            SourceKind.NEWS: 60,
            SourceKind.MONITOR: 15,
            SourceKind.AUTHORITY: 8,
            SourceKind.SATELLITE: 5,
            SourceKind.SOCIAL: 7,
            SourceKind.OFFICIAL: 3,
            SourceKind.PERPETRATOR: 2,
        }
        sources, self.quotes = [], {}
        batch = []
        for pk in range(1, count + 1):
            kind = pick(rng, kinds)
            publisher = "" if rng.random() < 0.05 else publishers[next_publisher()]
            day = self.today - datetime.timedelta(days=rng.randint(0, 365 * 14))
            text = ""
            if rng.random() < 0.4:
                place = f"{KIND_WORDS[rng.choice(list(KIND_WORDS))].lower()} of {self.words(1, 2)}"
                level, cause = rng.choice(list(DamageLevel)), rng.choice(list(Cause))
                text = "\n\n".join(
                    self.paragraph(place, level, cause, rng.randint(3, 6))
                    for _ in range(rng.randint(3, 10))
                )
                # A few of its sentences, for citations to quote exactly.
                self.quotes[pk] = rng.sample(SENTENCE.findall(text), 3)
            source = Source(
                pk=pk,
                kind=kind,
                title=self.headline(),
                publisher=publisher,
                authors="; ".join(self.words(2, 2) for _ in range(rng.randint(0, 2))),
                published=day.isoformat() if rng.random() < 0.85 else day.strftime("%Y-%m"),
                url=f"https://{slugify(publisher) or 'unknown'}.example/{pk}",
                language=rng.choice(["en", "en", "en", "ar", "fr"]),
                text=text,
                fingerprint=text_fingerprint(text) if text else "",
            )
            source.published_lower = bounds(source.published)[0]
            batch.append(source)
            if len(batch) >= self.batch_size:
                self.insert(Source, batch)
                sources.extend(self.forget_text(batch))
                batch = []
        if batch:
            self.insert(Source, batch)
            sources.extend(self.forget_text(batch))
        return sources

    def headline(self):
        rng = self.rng
        kind = KIND_WORDS[rng.choice(list(KIND_WORDS))]
        level = rng.choice([DamageLevel.SEVERE, DamageLevel.DESTROYED, DamageLevel.MODERATE])
        return f"{kind} of {self.words(1, 2)} {VERBS[level]}, {rng.choice(SAYERS)} say"

    @staticmethod
    def forget_text(sources):
        # Grades need each source's kind and publisher only; texts would fill memory.
        for source in sources:
            source.text = ""
        return sources

    # Events and citations

    def events_per_site(self, sites, events):
        """How many events each site gets: the first exactly BUSIEST_EVENTS (fewer in
        small runs), the others drawn from a long-tailed distribution."""
        rng = self.rng
        busiest = min(BUSIEST_EVENTS, events // 5) if len(sites) > 1 else events
        per_site = [0] * len(sites)
        per_site[0] = busiest
        if len(sites) > 1:
            draw = weighted(rng, [1 / (rank + 10) ** 0.5 for rank in range(len(sites) - 1)])
            for _ in range(events - busiest):
                per_site[1 + draw()] += 1
        return per_site

    def make_events_and_citations(self, sites, sources, events, citations):
        rng = self.rng
        per_site = self.events_per_site(sites, events)
        # Citations per event: the busiest site's four each, the rest spread so that
        # every event has one where the total allows, and some have many.
        busiest = per_site[0] if events else 0
        if citations < BUSIEST_CITATIONS_EACH * busiest:
            busiest = 0
        per_event = [BUSIEST_CITATIONS_EACH] * busiest + [0] * (events - busiest)
        budget = citations - BUSIEST_CITATIONS_EACH * busiest
        for i in range(busiest, min(events, busiest + budget)):
            per_event[i] = 1
        budget -= min(events - busiest, budget)
        others = range(busiest, events) if events > busiest else range(events)
        while budget > 0:
            per_event[rng.choice(others)] += 1
            budget -= 1
        next_source = weighted(rng, [1 / (rank + 3) ** 1.1 for rank in range(len(sources))])
        actors = [
            Actor.objects.get_or_create(name=name, defaults={"approved": True})[0]
            for name in ACTORS
        ]

        readings = {}
        event_batch, citation_batch = [], []
        pk, citation_pk = 0, 0
        for site, count in zip(sites, per_site, strict=True):
            for _ in range(count):
                pk += 1
                event = self.make_event(pk, site, actors)
                cited = [
                    self.make_citation(citation_pk + n + 1, event, sources[next_source()], n)
                    for n in range(per_event[pk - 1])
                ]
                citation_pk += len(cited)
                event.grade = event.verification(cited)
                event.has_conflict = event.citations_conflict(cited)
                if event.publication_problem([c.stance for c in cited]):
                    event.state = State.DRAFT
                if event.state == State.PUBLISHED:
                    # A published event's evidence was reviewed when it was published.
                    for citation in cited:
                        citation.approved = True
                    readings.setdefault(site.pk, []).append(
                        Reading(*(getattr(event, f) for f in Reading._fields))
                    )
                event_batch.append(event)
                citation_batch.extend(cited)
                if len(event_batch) >= self.batch_size:
                    self.flush(event_batch, citation_batch)
                    event_batch, citation_batch = [], []
        self.flush(event_batch, citation_batch)
        return readings

    def flush(self, events, citations):
        # Events before their citations: each batch's foreign keys are then satisfied.
        self.in_batches(DamageEvent, events)
        self.in_batches(Citation, citations)

    def make_date(self):
        rng = self.rng
        day = datetime.date(2011, 3, 15) + datetime.timedelta(days=rng.randint(0, 365 * 13))
        shape = rng.random()
        if shape < 0.45:
            return day.isoformat()
        if shape < 0.75:
            return day.strftime("%Y-%m")
        if shape < 0.85:
            return day.strftime("%Y-%m") + rng.choice("~?")
        if shape < 0.95:
            end = day + datetime.timedelta(days=rng.randint(1, 60))
            return f"{day.isoformat()}/{end.isoformat()}"
        return str(day.year)

    def make_event(self, pk, site, actors):
        rng = self.rng
        kind = pick(rng, {EventKind.DAMAGE: 85, EventKind.LOOTING: 12, EventKind.RESTORATION: 3})
        level = pick(
            rng,
            {
                DamageLevel.SLIGHT: 15,
                DamageLevel.MODERATE: 25,
                DamageLevel.SEVERE: 25,
                DamageLevel.DESTROYED: 20,
                DamageLevel.UNKNOWN: 15,
            },
        )
        cause = Cause.LOOTING if kind == EventKind.LOOTING else rng.choice(list(Cause))
        summary = rng.choice(SUMMARIES[kind]).format(
            Verb=VERBS[level].capitalize(), verb=VERBS[level], cause=CAUSE_WORDS[cause]
        )
        date = self.make_date()
        lower, upper = bounds(date)
        return DamageEvent(
            pk=pk,
            site_id=site.pk,
            kind=kind,
            summary=summary,
            date=date,
            date_lower=lower,
            date_upper=upper,
            level=level,
            extent=rng.choice(list(DamageExtent)),
            cause=cause,
            actor_id=rng.choice(actors).pk if rng.random() < 0.6 else None,
            condition_after=DamageLevel.SLIGHT if kind == EventKind.RESTORATION else "",
            description=self.paragraph(site.name, level, cause, rng.randint(1, 5)),
            state=pick(rng, {State.PUBLISHED: 90, State.REVIEW: 6, State.DRAFT: 4}),
        )

    def make_citation(self, pk, event, source, position):
        """The first citation of an event supports it; later ones mostly do."""
        rng = self.rng
        stance = Stance.SUPPORTS
        if position:
            stance = pick(rng, {Stance.SUPPORTS: 85, Stance.MENTIONS: 10, Stance.CONTRADICTS: 5})
        quotes = self.quotes.get(source.pk)
        claimed_date = ""
        if rng.random() < 0.6:
            claimed_date = event.date if rng.random() < 0.9 else self.make_date()
        claimed_level = ""
        if rng.random() < 0.7:
            rank = DamageLevel.rank(event.level)
            levels = [DamageLevel.NONE, DamageLevel.SLIGHT, DamageLevel.MODERATE]
            levels += [DamageLevel.SEVERE, DamageLevel.DESTROYED]
            claimed_level = event.level
            if rank is not None and rng.random() < 0.1:
                claimed_level = levels[max(0, min(4, rank + rng.choice([-2, -1, 1])))]
        lower, upper = bounds(claimed_date) if claimed_date else (None, None)
        return Citation(
            pk=pk,
            event_id=event.pk,
            source=source,
            quote=rng.choice(quotes).strip() if quotes else "",
            locator=f"paragraph {rng.randint(1, 12)}" if quotes else "",
            stance=stance,
            basis=pick(rng, {Basis.REPORT: 92, Basis.IMAGERY: 6, Basis.INSPECTION: 2}),
            certainty=rng.choice(list(Certainty)),
            claimed_level=claimed_level,
            claimed_date=claimed_date,
            claimed_lower=lower,
            claimed_upper=upper,
            note="" if quotes else "Known from the headline only.",
        )

    def store_conditions(self, sites, readings):
        """Each site's condition, derived by the same rule as for curators' edits."""
        changed = []
        for site in sites:
            level = condition_after(readings.get(site.pk, []))
            if level:
                site.condition = level
                changed.append(site)
        Site.objects.bulk_update(changed, ["condition"], batch_size=self.batch_size)

    def reset_sequences(self):
        # Rows were inserted with explicit ids; the next one a curator adds must follow.
        models = [Site, SiteName, Source, DamageEvent, Citation]
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(statement)
