import hashlib
import json
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, pre_delete, pre_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords
from simple_history.utils import bulk_create_with_history

from heritage.dates import EDTFField, edtf_bounds
from heritage.models import (
    DamageEvent,
    DamageLevel,
    GuardedQuerySet,
    HistoryBatch,
    Site,
    SiteName,
    State,
    Versioned,
    WorkflowBypass,
    in_workflow,
    related_count,
)
from heritage.search import search_index
from reports.articles import publication_day, text_fingerprint


class SourceKind(models.TextChoices):
    SATELLITE = "satellite", "Satellite imagery analysis"
    AUTHORITY = "authority", "Heritage authority"
    MONITOR = "monitor", "Monitoring NGO"
    NEWS = "news", "News agency or newspaper"
    OFFICIAL = "official", "Official or military statement"
    PERPETRATOR = "perpetrator", "Perpetrator claim"
    SOCIAL = "social", "Social media"
    OTHER = "other", "Other"


class SourceQuerySet(models.QuerySet):
    def with_claims_to_review(self):
        return self.annotate(
            proposed_claims=related_count(Claim.objects.filter(status="proposed"), "source")
        )

    def with_event_count(self, published_only=False):
        """Each source with how many distinct events cite it, in the same query; with
        `published_only`, as the public sees them (Citation.objects.public())."""
        citations = Citation.objects.public() if published_only else Citation.objects.all()
        return self.annotate(event_count=related_count(citations, "source", counted="event"))

    def matching_article(self, article):
        """Sources that are this article already: the same URL, or the same text."""
        same = Q(fingerprint=article.fingerprint)
        if article.url:
            same |= Q(url=article.url)
        return self.filter(same)

    def refuse_held(self, article, exclude=None):
        """The one duplicate check of every way in (admin upload or paste, `manage.py
        ingest`): a ValidationError naming the source that is this article already."""
        held = self.matching_article(article).exclude(pk=exclude).first()
        if held:
            raise ValidationError(
                f"This article is already held, as source {held.pk}: “{held}”.",
                code="article_held",
            )

    @transaction.atomic
    def bring_in(self, article, gazetteer=None, **given):
        """A new source from an article, its claims proposed: the fields the article
        gives (title, date, publisher, authors, language, URL) unless `given` says
        otherwise, checked as a form would check them. All or nothing."""
        self.refuse_held(article)
        source = Source(**(given | article_fields(article, given)))
        source.full_clean()
        source.save()
        source.propose_claims(gazetteer)
        return source

    def public(self):
        """The sources the public sees: those a published event cites with reviewed
        evidence. A source nobody cites yet, or cited only by drafts and proposals, is
        unreviewed work and stays with the curators."""
        return self.filter(
            models.Exists(Citation.objects.public().filter(source=models.OuterRef("pk")))
        )


def _already_reviewed(claim, proposed, reviewed, text):
    """Whether a curator has reviewed this claim already, read from the text as it was:
    the same stance, one of its sentences quoted, and the same site (or a site only one
    side knows: the curator may have named it). Offsets are not compared: a corrected
    typo or date moves them, and "on Sunday" dated may make another sentence lead."""
    sentences = {normalise_for_quote(proposed.quote)} | {
        normalise_for_quote(text[start:end]) for start, end in proposed.quotes
    }
    return any(
        stance == claim.stance
        and normalise_for_quote(quote) in sentences
        and (site_id == claim.site_id or site_id is None or claim.site_id is None)
        for site_id, stance, quote in reviewed
    )


def language_code(tag):
    """The language of a BCP 47 tag ("en-GB" → "en"), or None when it names none."""
    code = tag.split("-")[0].strip().lower()
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


def article_fields(article, given):
    """A source's fields from an article read by reports.articles, wherever `given` (what
    a curator or a command said) leaves them empty; the article's notes (dates that
    disagree) added to the note given. The one rule of every way in."""
    read = {
        "title": article.title,
        "published": article.published,
        "url": article.url,
        "publisher": article.publisher,
        "authors": "; ".join(article.authors)[:500],
        "language": article.language,
        "text": article.text,
    }
    fields = {field: given.get(field) or value for field, value in read.items()}
    note = given.get("note") or ""
    fields["note"] = " ".join([note, *(n for n in article.notes if n not in note)]).strip()
    return fields


class Source(Versioned):
    """A published report: an article, a statement, an imagery analysis."""

    kind = models.CharField(max_length=20, choices=SourceKind)
    title = models.CharField(max_length=500)
    publisher = models.CharField(
        max_length=200, blank=True, help_text="Leave empty when it is not known."
    )
    authors = models.CharField(max_length=500, blank=True, help_text="As printed; “;” between.")
    published = EDTFField(
        "publication date", blank=True, help_text="EDTF; 2016-03 when only the month is known."
    )
    published_lower = models.DateField(null=True, blank=True, editable=False, db_index=True)
    url = models.URLField("URL", max_length=1000, blank=True)
    archived_url = models.URLField("archived URL", max_length=1000, blank=True)
    accessed = models.DateField(null=True, blank=True)
    language = models.CharField(max_length=20, blank=True, help_text="BCP 47 tag: en, ar, fr …")
    text = models.TextField(
        blank=True, help_text="The full text, when we hold it: quotes are checked against it."
    )
    note = models.TextField(
        blank=True, help_text="For curators: how the source was found, what it relays."
    )
    # Derived from `text`, so that the same article brought in twice is recognised.
    fingerprint = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    record_key = models.SlugField(
        max_length=100, blank=True, default="", editable=False,
        help_text="Its key in the record's files (fixtures/record/): loading them again "
        "updates it rather than adding another.",
    )  # fmt: skip
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)
    history = HistoricalRecords()

    objects = SourceQuerySet.as_manager()

    class Meta:
        ordering = ["published_lower", "title", "id"]
        indexes = [search_index("title", "publisher", "authors", name="source_search")]
        constraints = [
            models.UniqueConstraint(
                fields=["url"],
                condition=~Q(url=""),
                name="source_url_unique_when_given",
                violation_error_message="Another source already has this URL.",
            ),
            models.UniqueConstraint(
                fields=["record_key"], condition=~Q(record_key=""), name="source_record_key_unique"
            ),
        ]

    def __str__(self):
        return f"{self.publisher or 'Unknown publisher'}: {self.title}"

    @transaction.atomic
    def save(self, *args, **kwargs):
        if self.pk and not in_workflow() and Source.objects.public().filter(pk=self.pk).exists():
            raise WorkflowBypass(
                "A source that published events cite changes only through heritage.workflow."
            )
        self.url = self.url.strip()
        self.published_lower = edtf_bounds(self.published)[0] if self.published else None
        self.fingerprint = text_fingerprint(self.text) if self.text.strip() else ""
        if kwargs.get("update_fields") is not None:
            # Derived from the fields saved: the duplicate check reads the fingerprint.
            kwargs["update_fields"] = {
                *kwargs["update_fields"],
                "fingerprint",
                "published_lower",
                "updated",
            }
        read_as = getattr(self, "_read_as", None)
        super().save(*args, **kwargs)
        self._read_as = (self.text, self.published, self.url, self.language)
        if read_as is not None and read_as != self._read_as:
            self.reread_claims()
        # Grades depend on each supporting source's kind and publisher.
        cited = Citation.objects.filter(source=self).values("event_id")
        DamageEvent.objects.filter(pk__in=cited).refresh_verification()

    @classmethod
    def from_db(cls, db, field_names, values, *args, **kwargs):
        source = super().from_db(db, field_names, values, *args, **kwargs)
        # What the claims were read from: a change to any of it reads them again.
        if {"text", "published", "url", "language"} <= set(field_names):
            source._read_as = (source.text, source.published, source.url, source.language)
        return source

    def get_absolute_url(self):
        return reverse("reports:source-detail", args=[self.pk])

    def clean(self):
        if self.pk and self.text:
            lost = [
                citation
                for citation in self.citations.exclude(quote="").select_related("event__site")
                if not self.contains_quote(citation.quote)
            ]
            if lost:
                raise ValidationError(
                    {
                        "text": "This text no longer contains what events quote from it: "
                        + "; ".join(f"“{c.quote}” ({c.event})" for c in lost)
                        + ". Correct the text, or those quotes first."
                    }
                )

    def propose_claims(self, gazetteer=None):
        """Read the text for damage claims and store each as a proposal for curators to
        review; returns the new ones. Pass a gazetteer when reading many sources in a
        row. A claim a curator has already reviewed (the same site, stance and sentence)
        is not proposed again."""
        from reports.intake import extract

        gazetteer = gazetteer or site_gazetteer()
        reviewed = list(
            self.claims.exclude(status=ClaimStatus.PROPOSED).values_list(
                "site_id", "stance", "quote"
            )
        )
        found = extract(
            self.text,
            gazetteer,
            published=publication_day(self.published),  # "on Sunday" needs the day
            language=language_code(self.language),
        )
        keys = {proposed.site_key for proposed in found if proposed.site_key}
        site_ids = dict(Site.objects.filter(slug__in=keys).values_list("slug", "pk"))
        claims = []
        for proposed in found:
            claim = Claim(
                source=self,
                site_id=site_ids.get(proposed.site_key),
                matched=proposed.matched[:200],
                quote=proposed.quote,
                start=proposed.start,
                end=proposed.end,
                level=proposed.level,
                date=proposed.date,
                stance=proposed.stance,
                further_quotes=[list(span) for span in proposed.quotes],
                confidence=round(proposed.confidence, 2),
                reason=proposed.reason[:300],
            )
            if not _already_reviewed(claim, proposed, reviewed, self.text):
                claims.append(claim)
        # One insert for them all, and their history (simple_history's own helper).
        return bulk_create_with_history(claims, Claim)

    def intake_notices(self):
        """What a curator should know about how its text was read."""
        notices = []
        code = language_code(self.language)
        if code and code != "en":
            notices.append(
                f"This text is in “{self.language}”: intake reads English, so it proposed "
                "no claims. Cite it by hand."
            )
        if self.text.strip() and not self.published:
            notices.append(
                "It has no publication date: dates such as “on Sunday” or “last week” were "
                "left undated. Give its date and its unreviewed claims are read again."
            )
        elif self.published.endswith("?"):
            notices.append(
                f"Its year was worked out from the text ({self.published}): the dateline "
                "gives none. Check it."
            )
        elif self.published and not publication_day(self.published):
            notices.append(
                f"Its publication date ({self.published}) is not a day: dates such as “on "
                "Sunday” were left undated."
            )
        return notices

    def reread_claims(self, gazetteer=None):
        """Its unreviewed claims read again from the text as it now is (a corrected
        date, text or URL changes what it says); reviewed ones stay as they are."""
        self.claims.filter(status=ClaimStatus.PROPOSED).delete()
        return self.propose_claims(gazetteer) if self.text.strip() else []

    def current_capture(self):
        return self.captures.current().order_by("-pk").first()

    def locator(self, start, end):
        """Where characters start–end of its text are, for a citation: the page too
        when the text is a PDF's as captured (the capture's page map counts in it)."""
        where = f"characters {start}–{end}"
        capture = self.current_capture()
        if capture and capture.pages and capture.text == self.text:
            page = capture.page_at(start)
            if page is not None:
                return f"page {page}, {where}"
        return where

    @property
    def publisher_key(self):
        """Who published it, for counting independent publishers; "" when unknown."""
        return self.publisher.strip().casefold()

    def contains_quote(self, quote):
        """Whether `quote` occurs in the stored text, ignoring differences of whitespace
        and of quote marks and dashes; "…" or "[…]" in the quote stands for omitted
        words, so each part must occur, in order. An elision may only drop words that do
        not turn the meaning: each part is at least ELIDED_PART_WORDS words long, and
        what it leaves out holds no negation ("the temple was … destroyed" is not in
        "the temple was not destroyed")."""
        haystack = normalise_for_quote(self.text)
        needles = [n for n in map(normalise_for_quote, ELISION.split(quote)) if n]
        if not needles:
            return False
        if len(needles) == 1:
            return needles[0] in haystack
        if any(len(n.split()) < ELIDED_PART_WORDS for n in needles):
            return False
        # Each place the first part occurs, then the rest in order; one alignment whose
        # left-out words hold no negation is enough.
        start = haystack.find(needles[0])
        while start >= 0:
            if _elided_without_negation(haystack, needles, start):
                return True
            start = haystack.find(needles[0], start + 1)
        return False


ELISION = re.compile(r"\s*(?:\[\s*(?:\.\.\.|…)\s*\]|\.\.\.|…)\s*")
# What each part of an elided quote must hold at least, in words: "T … d" quotes nothing.
ELIDED_PART_WORDS = 2
NEGATION = re.compile(
    r"\b(?:not|no|never|neither|nor|none|nothing|nobody|without|cannot|hardly|"
    r"den(?:y|ies|ied)|false(?:ly)?)\b|n't\b",
    re.IGNORECASE,
)


def _elided_without_negation(haystack, needles, start):
    position = start + len(needles[0])
    for needle in needles[1:]:
        found = haystack.find(needle, position)
        if found < 0 or NEGATION.search(haystack, position, found):
            return False
        position = found + len(needle)
    return True


QUOTE_MARKS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2039": "'",
        "\u203a": "'",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u02bc": "'",
        "\u00ad": None,
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
        # Bidirectional controls: invisible, and never part of what a source says.
        **dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")),
    }
)


def normalise_for_quote(text):
    text = unicodedata.normalize("NFKC", text or "").translate(QUOTE_MARKS)
    return " ".join(text.split())


# The last gazetteer built, with what it was built from: compiling every name costs
# seconds at 10,000 sites, reading them from the database a few milliseconds, so each
# save that reads a text again reuses it while the sites and names are as they were.
_GAZETTEER_CACHE = {}


def site_gazetteer():
    """Every site under every name it has, each placed in the place at the top of its
    parents (Palmyra for its monuments), for reading articles."""
    from reports.intake import Gazetteer

    sites = list(Site.objects.values_list("pk", "slug", "kind", "name", "parent_id"))
    by_pk = {pk: (slug, parent) for pk, slug, _, _, parent in sites}
    names = {}
    rows = list(SiteName.objects.values_list("site_id", "name").order_by("pk"))
    for site_id, name in rows:
        names.setdefault(site_id, []).append(name)
    stamp = hash((tuple(sites), tuple(rows)))
    if _GAZETTEER_CACHE.get("stamp") == stamp:
        return _GAZETTEER_CACHE["gazetteer"]

    def top(pk):
        seen = set()
        while by_pk[pk][1] is not None and pk not in seen:
            seen.add(pk)
            pk = by_pk[pk][1]
        return by_pk[pk][0]

    gazetteer = Gazetteer(
        (slug, kind, [name, *names.get(pk, [])], top(pk), parent and by_pk[parent][0])
        for pk, slug, kind, name, parent in sites
    )
    _GAZETTEER_CACHE.update(stamp=stamp, gazetteer=gazetteer)
    return gazetteer


class Stance(models.TextChoices):
    SUPPORTS = "supports", "Supports"
    CONTRADICTS = "contradicts", "Contradicts"
    MENTIONS = "mentions", "Mentions"


class Basis(models.TextChoices):
    """What the source's claim rests on."""

    REPORT = "report", "Report or statement"
    IMAGERY = "imagery", "Analysis of imagery"
    INSPECTION = "inspection", "Inspection on site"


class Certainty(models.TextChoices):
    """EAMENA's certainty of a claim."""

    NEGLIGIBLE = "negligible", "Negligible"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    DEFINITE = "definite", "Definite"


class CitationQuerySet(GuardedQuerySet):
    guarded = ("approved",)

    def public(self):
        """Citations the public sees: reviewed evidence of published events."""
        return self.filter(approved=True, event__state=State.PUBLISHED)


class Citation(Versioned):
    """One source's claim about one event, in its own words."""

    event = models.ForeignKey(DamageEvent, on_delete=models.CASCADE, related_name="citations")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="citations")
    quote = models.TextField(
        blank=True,
        help_text="The source's words, verbatim. “…” marks words left out. Checked against "
        "the source's stored text when it has one.",
    )
    locator = models.CharField(
        max_length=100, blank=True, help_text="Where in the source: paragraph, page, minute."
    )
    stance = models.CharField(max_length=20, choices=Stance, default=Stance.SUPPORTS)
    basis = models.CharField(
        max_length=20,
        choices=Basis,
        default=Basis.REPORT,
        help_text="Imagery or inspection confirms an event; a report alone does not.",
    )
    certainty = models.CharField(max_length=20, choices=Certainty, blank=True)
    claimed_level = models.CharField(max_length=20, choices=DamageLevel, blank=True)
    claimed_date = EDTFField(blank=True, help_text="The date this source gives, in EDTF.")
    claimed_lower = models.DateField(null=True, blank=True, editable=False)
    claimed_upper = models.DateField(null=True, blank=True, editable=False)
    note = models.TextField(blank=True)
    # Whether an editor has reviewed it (heritage/workflow.py): a citation of a draft is
    # reviewed when the event is published; one added to a published event waits in the
    # review queue, and the public record leaves it out until then.
    approved = models.BooleanField(default=False, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    # Indexed: every API answer's ETag reads the newest (api/conditional.py, data_stamp).
    updated = models.DateTimeField(auto_now=True, db_index=True)
    history = HistoricalRecords(bases=[HistoryBatch])

    objects = CitationQuerySet.as_manager()

    class Meta:
        ordering = ["event", "id"]

    def __str__(self):
        return f"{self.event} — {self.get_stance_display().lower()} in {self.source}"

    @transaction.atomic
    def save(self, *args, **kwargs):
        self.claimed_lower, self.claimed_upper = (
            edtf_bounds(self.claimed_date) if self.claimed_date else (None, None)
        )
        stored = None
        if not self._state.adding and self.pk:
            stored = Citation.objects.filter(pk=self.pk).values("event", "approved").first()
        previous_event = stored and stored["event"]
        if not in_workflow():
            published = DamageEvent.objects.filter(
                pk__in={self.event_id, previous_event}, state=State.PUBLISHED
            )
            if self.approved != bool(stored and stored["approved"]) or published.exists():
                raise WorkflowBypass(
                    "The evidence of a published event changes only through "
                    "heritage.workflow (a proposal that an editor reviews)."
                )
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {
                *kwargs["update_fields"],
                "claimed_lower",
                "claimed_upper",
                "updated",
            }
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:
            self.log_custody()
        # A citation moved to another event changes the grades of both.
        DamageEvent.objects.filter(pk__in={self.event_id, previous_event}).refresh_verification()

    def log_custody(self):
        """A `cited` entry in the custody log for the capture its quote is read from."""
        capture = Capture.objects.filter(source=self.source_id).current().order_by("-pk").first()
        if capture is None:
            return
        where = capture.locate(self.quote)
        CustodyEntry.objects.append(
            CustodyAction.CITED,
            getattr(self, "_history_user", None) or "",
            capture,
            {
                "citation": self.pk,
                "event": self.event_id,
                "quote_sha256": hashlib.sha256(self.quote.encode()).hexdigest(),
                "offsets": list(where) if where else None,
            },
        )

    def clean(self):
        source = self.source if self.source_id else None
        if source and source.text and self.quote and not source.contains_quote(self.quote):
            raise ValidationError(
                {
                    "quote": ValidationError(
                        "This quote does not occur in the stored text of “%(title)s”. Copy "
                        "it exactly from the source (differences in spacing and quote marks "
                        "do not matter; mark left-out words with “…”).",
                        code="quote_not_in_source",
                        params={"title": source.title},
                    )
                }
            )

    @property
    def is_direct_evidence(self):
        """Imagery analysis or a visit: the kind of evidence that confirms an event."""
        return self.basis in (Basis.IMAGERY, Basis.INSPECTION) or (
            self.source.kind == SourceKind.SATELLITE
        )

    def withdrawal_problem(self):
        """Why this citation, as stored, may not stop supporting its event (by deletion, a
        new stance or a move), or None: it is the last support of a published event."""
        stored = Citation.objects.filter(pk=self.pk).select_related("event__site").first()
        if not stored or stored.stance != Stance.SUPPORTS or not stored.approved:
            return None
        event = stored.event
        if event.state != State.PUBLISHED:
            return None
        others = event.citations.filter(stance=Stance.SUPPORTS, approved=True)
        if others.exclude(pk=stored.pk).exists():
            return None
        return (
            f"This is the only citation supporting “{event}”, which is published. Add "
            "another supporting citation, or return the event to draft, first."
        )


@receiver(pre_delete, sender=Citation)
def refuse_deleting_public_evidence(sender, instance, **kwargs):
    if instance.approved and not in_workflow():
        published = DamageEvent.objects.filter(pk=instance.event_id, state=State.PUBLISHED)
        if published.exists():
            raise WorkflowBypass(
                "The evidence of a published event is deleted only through heritage.workflow."
            )


@receiver(post_delete, sender=Citation)
def regrade_after_citation_deleted(sender, instance, **kwargs):
    # A signal rather than Citation.delete(): bulk deletes (the admin's delete action,
    # an event's cascade) never call delete() but do send post_delete for each row.
    DamageEvent.objects.filter(pk=instance.event_id).refresh_verification()


class ClaimStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Claim(models.Model):
    """A damage claim the register read in a source's text, for a curator to accept (as
    a citation), correct or reject. Nothing reaches the public without that review."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="claims")
    site = models.ForeignKey(
        Site,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="claims",
        help_text="Empty when the words name only a kind of place the curator must pick.",
    )
    matched = models.CharField(max_length=200, help_text="The words that named the site.")
    quote = models.TextField(help_text="The sentence, exactly as in the source's text.")
    start = models.PositiveIntegerField(help_text="Where the quote starts in the text.")
    end = models.PositiveIntegerField(help_text="Where it ends.")
    level = models.CharField(max_length=20, choices=DamageLevel, blank=True)
    date = EDTFField(blank=True, help_text="The date the wording implies, in EDTF.")
    confidence = models.FloatField(default=0.5)
    reason = models.CharField(max_length=300, blank=True)
    stance = models.CharField(
        max_length=20,
        choices=Stance,
        default=Stance.SUPPORTS,
        help_text="“Contradicts” for a denial that the damage happened.",
    )
    further_quotes = models.JSONField(
        default=list,
        blank=True,
        help_text="[start, end] of the text's other sentences saying the same.",
    )
    status = models.CharField(
        max_length=20, choices=ClaimStatus, default=ClaimStatus.PROPOSED, db_index=True
    )
    citation = models.OneToOneField(
        Citation, null=True, blank=True, on_delete=models.SET_NULL, related_name="claim"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["source", "start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lte=models.F("end")), name="claim_quote_offsets_in_order"
            ),
        ]

    def __str__(self):
        return f"{self.site or self.matched}: {self.quote[:80]}"

    @property
    def further_quote_texts(self):
        """The other sentences of the text saying the same, as the text now has them."""
        text = self.source.text
        return [text[start:end] for start, end in self.further_quotes if end <= len(text)]

    def implied_date(self):
        """The claim's date; undated, damage happened at the latest when the source
        reported it."""
        return self.date or (f"../{self.source.published}" if self.source.published else "")

    def candidate_events(self, events=None):
        """The events of the claim's site it might be evidence for, each with whether its
        dates overlap the claim's: overlapping ones first, then the closest in time. Only
        ever offered: accepting attaches the claim to one only when the curator chose it.
        `events`: the site's events, when a page has read them for many claims at once."""
        if self.site_id is None:
            return []
        if events is None:
            events = DamageEvent.objects.filter(site=self.site_id).order_by("-date_upper", "id")
        lower = upper = None
        if self.date:
            lower, upper = edtf_bounds(self.date)
        ranked = [
            (event, lower is not None and event.date_lower <= upper and event.date_upper >= lower)
            for event in events
        ]
        return sorted(ranked, key=lambda pair: not pair[1])

    @transaction.atomic
    def accept(self, user, event=None, reason=""):
        """Cite the source, as `user`, for `event` (one of the site's, chosen by the
        curator) or, by default, for a new draft event built from the claim. Through the
        workflow: on a published event the citation waits for an editor's review."""
        from heritage import workflow

        if self.status != ClaimStatus.PROPOSED:
            raise ValidationError("This claim has already been reviewed.")
        if self.site is None:
            raise ValidationError({"site": "Choose the site this claim is about first."})
        if self.source.text[self.start : self.end] != self.quote:
            raise ValidationError(
                "The source's text has changed since this claim was read: reject it, and "
                "read the source for claims again."
            )
        if event is not None and event.site_id != self.site_id:
            raise ValidationError({"event": "That event is of another site than the claim's."})
        if event is None and self.stance == Stance.CONTRADICTS:
            raise ValidationError(
                {"event": "A denial is evidence against an event: choose the event it denies."}
            )
        if event is None:
            date = self.implied_date()
            if not date:
                raise ValidationError(
                    {"date": "Give the claim a date first, or choose the event it is evidence for."}
                )
            event = DamageEvent(
                site=self.site,
                summary=self.quote[:200],
                date=date,
                level=self.level or DamageLevel.UNKNOWN,
            )
            event.full_clean(exclude=["date_lower", "date_upper"])
            workflow.save(event, user, f"Drafted from a claim read in source {self.source_id}")
        citation = Citation(
            event=event,
            source=self.source,
            quote=self.quote,
            locator=self.source.locator(self.start, self.end),
            stance=self.stance,
            claimed_level=self.level,
            claimed_date=self.date,
            note="Proposed by the register's reading of the text; accepted by a curator.",
        )
        citation.full_clean()
        reason = reason.strip() or f"Accepted a claim read in source {self.source_id}"
        workflow.save(citation, user, reason)
        self.citation, self.status = citation, ClaimStatus.ACCEPTED
        self._change_reason = reason
        self.save()
        return citation

    def reject(self, user=None, reason=""):
        if self.status != ClaimStatus.PROPOSED:
            raise ValidationError("This claim has already been reviewed.")
        self.status = ClaimStatus.REJECTED
        self._change_reason = reason.strip() or "Rejected"
        self.save()


class Immutable(Exception):
    """A change to evidence as captured, or to its custody log: refused on every path. A
    bug in the code that tried, never a user's mistake (curators supersede a capture)."""


class AppendOnlyQuerySet(models.QuerySet):
    """Rows that are written once: bulk updates and deletes are refused (the admin's
    bulk actions, `bulk_update`, a cascade's collector all come through here)."""

    def update(self, **kwargs):
        raise Immutable(f"{self.model._meta.verbose_name_plural} are never changed.")

    def delete(self):
        raise Immutable(f"{self.model._meta.verbose_name_plural} are never deleted.")

    def bulk_update(self, objs, fields, batch_size=None):
        # Refused before its transaction starts: it opens one without a savepoint.
        return self.update()

    def bulk_create(self, objs, *args, update_conflicts=False, **kwargs):
        if update_conflicts:  # an INSERT … ON CONFLICT DO UPDATE is an update
            return self.update()
        return super().bulk_create(objs, *args, **kwargs)

    _update = update


class AppendOnly(models.Model):
    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise Immutable(f"This {self._meta.verbose_name} is never changed once written.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise Immutable(f"This {self._meta.verbose_name} is never deleted.")


def capture_storage():
    """The captures' store, read from settings.STORAGES each time it is asked for (not
    fixed when the model is defined), so that a store moved in the settings is used."""
    from django.core.files.storage import storages

    return storages["captures"]


class CaptureMethod(models.TextChoices):
    UPLOAD = "upload", "Uploaded file"
    PASTE = "paste", "Pasted text"
    INGEST = "ingest", "manage.py ingest"
    IMPORT = "import", "Imported with the record"


class CaptureQuerySet(AppendOnlyQuerySet):
    def current(self):
        """Captures no newer one supersedes."""
        return self.filter(superseded_by__isnull=True)


class Capture(AppendOnly):
    """A source's original bytes as the register received them (an HTML page, a PDF, an
    image, a text, a web archive), with their SHA-256: the evidentiary copy, kept apart
    from the working copy (the source's text) and never changed. A newer capture
    supersedes it; both stay. Taken through reports.evidence.store."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="captures")
    file = models.FileField(storage=capture_storage, max_length=200, editable=False)
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True, editable=False)
    size = models.PositiveBigIntegerField(editable=False)
    media_type = models.CharField(max_length=100, editable=False)
    original_name = models.CharField(max_length=255, blank=True, editable=False)
    url = models.URLField("URL", max_length=1000, blank=True, editable=False)
    method = models.CharField(max_length=20, choices=CaptureMethod, editable=False)
    captured = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    captured_by = models.CharField(max_length=150, blank=True, editable=False)
    register_version = models.CharField(max_length=80, blank=True, editable=False)
    # The working copy read from these bytes, and its hash: quotes' offsets count in it.
    text = models.TextField(blank=True, editable=False)
    text_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    # PDFs: [start, end, page] of each page in `text`, for citation locators.
    pages = models.JSONField(default=list, blank=True, editable=False)
    supersedes = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
        editable=False,
    )

    objects = CaptureQuerySet.as_manager()

    class Meta:
        ordering = ["source", "captured", "id"]
        # Related lookups and Django's internals use the base manager: this one refuses.
        base_manager_name = "objects"

    def __str__(self):
        when = f"{self.captured:%Y-%m-%d %H:%M}"
        return f"{self.media_type} captured {when} UTC, SHA-256 {self.sha256[:12]}…"

    def facts(self):
        """What the custody log's `captured` entry records of it: a change to any of
        these in the database no longer matches the log (`manage.py verify_evidence`)."""
        return {
            "capture": self.pk,
            "source": self.source_id,
            "file": self.file.name,
            "sha256": self.sha256,
            "size": self.size,
            "media_type": self.media_type,
            "original_name": self.original_name,
            "url": self.url,
            "method": self.method,
            "captured": self.captured.isoformat(),
            "captured_by": self.captured_by,
            "register_version": self.register_version,
            "text_sha256": self.text_sha256,
            "pages": self.pages,
            "supersedes": self.supersedes_id,
        }

    def page_at(self, offset):
        """The page of a PDF capture that holds character `offset` of its text, or None."""
        for start, end, page in self.pages:
            if start <= offset < end:
                return page
        return None

    def locate(self, quote):
        """Where `quote` is in the capture's text, as (start, end), or None: exactly,
        else ignoring the spacing and quote marks Source.contains_quote ignores."""
        if not quote or not self.text:
            return None
        start = self.text.find(quote)
        if start >= 0:
            return start, start + len(quote)
        words = quote.translate(ONE_FOR_ONE).split()
        found = re.search(r"\s+".join(map(re.escape, words)), self.text.translate(ONE_FOR_ONE))
        return (found.start(), found.end()) if found else None

    def read_bytes(self):
        with capture_storage().open(self.file.name, "rb") as stored:
            return stored.read()


# Quote marks and dashes as normalise_for_quote reads them, one character for one, so
# that an offset found in a translated text is the offset in the text.
ONE_FOR_ONE = {k: v for k, v in QUOTE_MARKS.items() if v is not None and len(v) == 1}


@receiver(pre_delete, sender=Capture)
def refuse_deleting_a_capture(sender, instance, **kwargs):
    raise Immutable("A capture is never deleted: it is the evidence as received.")


class CustodyAction(models.TextChoices):
    CAPTURED = "captured", "Captured"
    EXTRACTED = "extracted", "Text extracted"
    CITED = "cited", "Cited"
    EXPORTED = "exported", "Exported"
    VERIFIED = "verified", "Verified"
    SUPERSEDED = "superseded", "Superseded"


GENESIS = "0" * 64


def custody_digest(position, at, action, actor, capture, detail, previous):
    """An entry's hash: SHA-256 of its fields as canonical JSON, the previous entry's
    hash among them, so that changing, removing or reordering any entry breaks every
    hash after it."""
    body = json.dumps(
        {
            "position": position,
            "at": at,
            "action": action,
            "actor": actor,
            "capture": capture,
            "detail": detail,
            "previous": previous,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode()).hexdigest()


class CustodyQuerySet(AppendOnlyQuerySet):
    @transaction.atomic
    def append(self, action, actor="", capture=None, detail=None):
        """A new entry at the end of the log. Writers queue on one lock, so each entry
        chains on the one before it even when two curators capture at once (on SQLite
        the write lock taken when the transaction starts does the same)."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CUSTODY_LOCK])
        last = self.order_by("-position").values("position", "hash").first()
        position = last["position"] + 1 if last else 1
        previous = last["hash"] if last else GENESIS
        at = timezone.now()
        entry = CustodyEntry(
            position=position,
            at=at,
            action=action,
            actor=getattr(actor, "username", actor) or "",
            capture=capture,
            detail=json.loads(json.dumps(detail or {}, default=str)),
            previous=previous,
        )
        entry.hash = entry.digest()
        entry.save()
        return entry

    def breaks(self):
        """Each entry that no longer matches the chain, as (position, why), read in
        batches: an edited entry (its hash is not its content's), a removed or moved one
        (positions not consecutive, or its `previous` not the hash before it)."""
        expected_position, previous = 1, GENESIS
        for entry in self.order_by("position").iterator(chunk_size=2000):
            if entry.position != expected_position:
                yield (
                    entry.position,
                    (f"expected entry {expected_position} here: entries are missing or moved"),
                )
            if entry.previous != previous:
                yield entry.position, "it does not chain on the entry before it"
            if entry.digest() != entry.hash:
                yield entry.position, "its content no longer matches its hash (edited)"
            expected_position, previous = entry.position + 1, entry.hash


# pg_advisory_xact_lock's key for appending to the custody log ("CUST" in ASCII).
CUSTODY_LOCK = 0x43555354


class CustodyEntry(AppendOnly):
    """One line of the evidence's custody log: captured, text extracted, cited,
    exported, verified, superseded; who and when. Append-only and hash-chained."""

    position = models.PositiveIntegerField(unique=True, editable=False)
    at = models.DateTimeField(editable=False)
    action = models.CharField(max_length=20, choices=CustodyAction, editable=False)
    actor = models.CharField(max_length=150, blank=True, editable=False)
    capture = models.ForeignKey(
        Capture,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="custody",
        editable=False,
    )
    detail = models.JSONField(default=dict, blank=True, editable=False)
    previous = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    objects = CustodyQuerySet.as_manager()

    class Meta:
        ordering = ["position"]
        verbose_name_plural = "custody entries"
        base_manager_name = "objects"

    def __str__(self):
        return f"{self.position}. {self.get_action_display()} {self.at:%Y-%m-%d %H:%M:%S} UTC"

    def digest(self):
        return custody_digest(
            self.position,
            self.at.isoformat(),
            self.action,
            self.actor,
            self.capture_id,
            self.detail,
            self.previous,
        )

    def as_dict(self):
        return {
            "position": self.position,
            "at": self.at.isoformat(),
            "action": self.action,
            "actor": self.actor,
            "capture": self.capture_id,
            "detail": self.detail,
            "previous": self.previous,
            "hash": self.hash,
        }


@receiver(pre_delete, sender=CustodyEntry)
def refuse_deleting_custody(sender, instance, **kwargs):
    raise Immutable("The custody log is append-only: no entry is ever deleted.")


@receiver(pre_save, sender=Capture)
@receiver(pre_save, sender=CustodyEntry)
def refuse_loading_over_evidence(sender, instance, raw=False, **kwargs):
    # `loaddata` saves raw, around save(): a fixture must not overwrite a stored row.
    if raw and sender._base_manager.filter(pk=instance.pk).exists():
        raise Immutable(f"A stored {sender._meta.verbose_name} is never overwritten.")
