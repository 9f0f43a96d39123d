import contextlib
import contextvars
import datetime
import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.db.models.signals import post_delete, pre_delete, pre_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

from heritage.dates import EDTFField, edtf_bounds
from heritage.images import PictureField, reencode_image
from heritage.search import search_index
from heritage.text import BIDI_CONTROLS, without_bidi_controls

_in_workflow = contextvars.ContextVar("in_workflow", default=False)


@contextlib.contextmanager
def through_workflow():
    """Marks the saves and deletions inside as made by heritage.workflow, the one path
    allowed to change an event's state or anything the public sees. The models refuse
    such a change made any other way (WorkflowBypass), so a path that forgets the
    workflow fails loudly instead of publishing unreviewed."""
    token = _in_workflow.set(True)
    try:
        yield
    finally:
        _in_workflow.reset(token)


def in_workflow():
    return _in_workflow.get()


_history_batch = contextvars.ContextVar("history_batch", default="")


@contextlib.contextmanager
def history_batch():
    """Marks every version the history records inside (a deletion and its cascade) with
    one batch id, so that restoring brings back exactly what went together."""
    token = _history_batch.set(uuid.uuid4().hex)
    try:
        yield
    finally:
        _history_batch.reset(token)


class HistoryBatch(models.Model):
    """The batch id of a version (history_batch()); empty for versions recorded alone."""

    history_batch = models.CharField(max_length=32, blank=True, db_index=True)

    class Meta:
        abstract = True


@receiver(pre_save)
def drop_bidi_controls(sender, instance, raw=False, **kwargs):
    """Every text a record of the register holds, without bidirectional controls
    (heritage/text.py)."""
    if sender._meta.app_label not in ("heritage", "reports") or raw:
        return
    for field in sender._meta.concrete_fields:
        if isinstance(field, (models.CharField, models.TextField)):
            value = getattr(instance, field.attname)
            if isinstance(value, str) and BIDI_CONTROLS.search(value):
                setattr(instance, field.attname, without_bidi_controls(value))


@receiver(pre_create_historical_record)
def mark_history_batch(sender, history_instance, **kwargs):
    if hasattr(history_instance, "history_batch"):
        history_instance.history_batch = _history_batch.get()


class WorkflowBypass(Exception):
    """A change to an event's state, or to what the public sees, made around the
    workflow: a bug in the path that made it, never a user's mistake."""


class StaleRecord(ValidationError):
    """The record changed since it was read: saving would overwrite someone's edit."""


class Versioned(models.Model):
    """A record that carries a version, raised by every save: a save from a stale copy
    (someone saved in between) is refused with StaleRecord rather than overwriting the
    other person's edit. The check and the raise are one UPDATE, so two writers racing
    on PostgreSQL are ordered by its row lock and the second one is refused."""

    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True

    @transaction.atomic
    def save(self, *args, **kwargs):
        if not self._state.adding and self.pk is not None:
            rows = type(self)._default_manager.filter(pk=self.pk)
            moved = rows.filter(version=self.version).update(version=models.F("version") + 1)
            if not moved and rows.exists():
                raise StaleRecord(
                    "Someone else changed this record since you opened it. Reload it to "
                    "see their change, then make yours again.",
                    code="stale",
                )
            self.version += 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version"}
        super().save(*args, **kwargs)


class Reviewed(Versioned):
    """A reference record the public sees only once an editor has reviewed it (a site,
    one of its names or pictures, an actor): a new one waits in the review queue, and a
    change to a reviewed one is a proposal (heritage/workflow.py). The model refuses a
    change to a reviewed record made around the workflow."""

    approved = models.BooleanField(default=False, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not in_workflow():
            stored = None
            if not self._state.adding and self.pk is not None:
                stored = type(self)._default_manager.filter(pk=self.pk).values("approved").first()
            if self.approved or (stored and stored["approved"]):
                raise WorkflowBypass(
                    f"A reviewed {self._meta.verbose_name} changes only through heritage.workflow."
                )
        super().save(*args, **kwargs)


class GuardedQuerySet(models.QuerySet):
    """A queryset whose bulk writes cannot set what only the workflow sets (`guarded`
    fields: an event's state, a record's approval)."""

    guarded = ()

    def _check(self, fields):
        touched = set(fields) & set(self.guarded)
        if touched and not in_workflow():
            raise WorkflowBypass(
                f"{', '.join(sorted(touched))} change only through heritage.workflow."
            )

    def update(self, **kwargs):
        self._check(kwargs)
        return super().update(**kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        if any(self._bulk_guarded(obj) for obj in objs):
            self._check(self.guarded)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        self._check(fields)
        return super().bulk_update(objs, fields, *args, **kwargs)

    def _bulk_guarded(self, obj):
        return bool(getattr(obj, "approved", False))


def related_count(rows, field, counted="pk"):
    """How many of `rows` (a queryset) point at each row here through `field`, counting
    distinct `counted`. A correlated subquery rather than Count() over a join: without
    GROUP BY, a paginator's COUNT(*) drops it and the model's default ordering holds."""
    rows = (
        rows.filter(**{field: models.OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=models.Count(counted, distinct=counted != "pk"))
        .values("n")
    )
    return Coalesce(models.Subquery(rows), 0)


class DamageLevel(models.TextChoices):
    """EAMENA's overall damage severity."""

    NONE = "none", "No damage"
    SLIGHT = "slight", "Slight"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"
    DESTROYED = "destroyed", "Destroyed"
    UNKNOWN = "unknown", "Unknown"

    @classmethod
    def rank(cls, value):
        """Position on the scale (none 0 … destroyed 4); None for unknown or blank."""
        order = [cls.NONE, cls.SLIGHT, cls.MODERATE, cls.SEVERE, cls.DESTROYED]
        return order.index(value) if value in order else None

    @classmethod
    def worst(cls, first, second):
        """The worse of two levels; a known level beats unknown, and anything beats None."""
        if first is None or cls.rank(first) is None and cls.rank(second) is not None:
            return second
        if cls.rank(second) is None:
            return first
        return max(first, second, key=cls.rank)

    @classmethod
    def unosat_label(cls, value):
        return {
            cls.DESTROYED: "Destroyed",
            cls.SEVERE: "Severe damage",
            cls.MODERATE: "Moderate damage",
            cls.SLIGHT: "Possible damage",
        }.get(value, "")


class DamageExtent(models.TextChoices):
    """EAMENA's damage extent bins, in percent of the site."""

    NONE = "0", "0%"
    UP_TO_10 = "1-10", "1–10%"
    UP_TO_30 = "11-30", "11–30%"
    UP_TO_60 = "31-60", "31–60%"
    UP_TO_90 = "61-90", "61–90%"
    UP_TO_100 = "91-100", "91–100%"
    UNKNOWN = "unknown", "Unknown"


class Cause(models.TextChoices):
    """EAMENA cause types that occur in this record."""

    EXPLOSIVES = "explosives", "Explosives / heavy weaponry"
    DEMOLITION = "demolition", "Deliberate demolition"
    BULLDOZING = "bulldozing", "Bulldozing / levelling"
    SHELLING = "shelling", "Shelling / airstrike"
    GUNFIRE = "gunfire", "Gunfire"
    SMASHING = "smashing", "Breaking / smashing (iconoclasm)"
    LOOTING = "looting", "Looting / theft"
    FIRE = "fire", "Fire"
    UNKNOWN = "unknown", "Unknown"


class Grade(models.TextChoices):
    """How well an event is established, after Airwars' grading."""

    CONFIRMED = "confirmed", "Confirmed"
    FAIR = "fair", "Fair"
    WEAK = "weak", "Weak"
    CONTESTED = "contested", "Contested"
    DISCOUNTED = "discounted", "Discounted"
    UNSUPPORTED = "unsupported", "Unsupported"


GRADE_EXPLANATIONS = {
    Grade.CONFIRMED: "Supported by analysis of imagery or by inspection on site.",
    Grade.FAIR: "Supported by two or more sources from different publishers.",
    Grade.WEAK: "Supported by one publisher only.",
    Grade.CONTESTED: "A source contradicts it, or sources disagree on its date or extent, "
    "and no imagery settles it.",
    Grade.DISCOUNTED: "A curator judged it false.",
    Grade.UNSUPPORTED: "No source supports it yet.",
}


class SiteKind(models.TextChoices):
    # The places a monument lies in, from the largest (a site's parent chain).
    COUNTRY = "country", "Country"
    GOVERNORATE = "governorate", "Governorate"
    CITY = "city", "City"
    ARCHAEOLOGICAL_SITE = "archaeological-site", "Archaeological site"
    TEMPLE = "temple", "Temple"
    TOMB = "tomb", "Tomb"
    TOWER_TOMB = "tower-tomb", "Tower tomb"
    NECROPOLIS = "necropolis", "Necropolis"
    ARCH = "arch", "Arch"
    TETRAPYLON = "tetrapylon", "Tetrapylon"
    COLONNADE = "colonnade", "Colonnade"
    THEATRE = "theatre", "Theatre"
    STATUE = "statue", "Statue"
    MUSEUM = "museum", "Museum"
    SHRINE = "shrine", "Shrine"
    MOSQUE = "mosque", "Mosque"
    CHURCH = "church", "Church"
    CASTLE = "castle", "Castle"
    PRISON = "prison", "Prison"
    PALACE = "palace", "Palace"
    GATE = "gate", "Gate"
    MARKET = "market", "Market (souq)"
    MONASTERY = "monastery", "Monastery"
    OTHER = "other", "Other"


class LocationPrecision(models.TextChoices):
    EXACT = "exact", "Exact"
    APPROXIMATE = "approximate", "Approximate (a nearby or representative point)"
    # Never stored: what public outputs say of a sensitive site's point (Site.public_point).
    ROUNDED = "rounded", "Rounded to 0.1° (the exact location of a sensitive site is withheld)"


# How far a sensitive site's public point is from its exact one at most: about 11 km of
# latitude, enough to hide a trench or a store, not which valley it is in.
SENSITIVE_ROUNDING = Decimal("0.1")


class SiteQuerySet(GuardedQuerySet):
    guarded = ("approved",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._event_condition = Q()

    def _clone(self):
        clone = super()._clone()
        clone._event_condition = self._event_condition
        return clone

    def with_published_event(self, condition):
        """The sites with a published event meeting `condition` and every condition an
        earlier call here gave: filters about events (a cause, a grade, a period) each
        add theirs, and the sites kept have one event that meets them all at once. (Each
        call adds an EXISTS of all the conditions so far, which implies the earlier ones.)"""
        clone = self._clone()
        clone._event_condition = self._event_condition & condition
        events = DamageEvent.objects.published().filter(clone._event_condition)
        return clone.filter(models.Exists(events.filter(site=models.OuterRef("pk"))))

    def public(self):
        """Sites an editor has reviewed: the public sees no other."""
        return self.filter(approved=True)

    def with_record(self):
        """Each site with its published record summed up, as subqueries in the same
        query: `event_count`, and of its latest event `last_event` (its latest possible
        day, for sorting) and `last_event_date` (its EDTF date, for reading)."""
        published = DamageEvent.objects.published()
        latest = published.filter(site=models.OuterRef("pk")).latest_first()
        return self.annotate(
            last_event=models.Subquery(latest.values("date_upper")[:1]),
            last_event_date=models.Subquery(latest.values("date")[:1]),
            event_count=related_count(published, "site"),
        )

    def refresh_condition(self):
        """Store again the condition of every site here (after imports, fixtures), in id
        order: two writers locking the same sites lock them in the same order."""
        ids = []
        for site in self.order_by("pk"):
            site.refresh_condition(rebuild=False)
            ids.append(site.pk)
        _read_model().sites_changed(ids)

    def located(self):
        return self.filter(latitude__isnull=False, longitude__isnull=False)


class Site(Reviewed):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True, help_text="Used in the site's URLs.")
    kind = models.CharField(max_length=20, choices=SiteKind)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="The place that holds this one (Palmyra holds its monuments).",
    )
    latitude = models.DecimalField(
        max_digits=8,
        decimal_places=5,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
        help_text="WGS84 decimal degrees, −90 to 90. Leave empty rather than guess.",
    )
    longitude = models.DecimalField(
        max_digits=8,
        decimal_places=5,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
        help_text="WGS84 decimal degrees, −180 to 180.",
    )
    location_precision = models.CharField(
        max_length=20,
        choices=[c for c in LocationPrecision.choices if c[0] != LocationPrecision.ROUNDED],
        blank=True,
        default="",
    )
    sensitive = models.BooleanField(
        default=False,
        help_text="Looting risk, an unpublished excavation: its exact coordinates stay in "
        "the admin; everything public gives them rounded to 0.1°.",
    )
    # Derived from the published events by refresh_condition(), stored so that lists can
    # be filtered by it; never typed in.
    condition = models.CharField(
        "current condition",
        max_length=20,
        choices=DamageLevel,
        blank=True,
        editable=False,
        db_index=True,
    )
    description = models.TextField(blank=True)
    built = models.CharField(max_length=200, blank=True, help_text="When it was built, in words.")
    unesco_ref = models.CharField("UNESCO reference", max_length=20, blank=True)
    wikidata = models.CharField(
        "Wikidata ID",
        max_length=20,
        null=True,
        blank=True,
        unique=True,
        validators=[RegexValidator(r"^Q[1-9]\d*$", "A Wikidata ID looks like Q5747.")],
    )
    pleiades = models.CharField(
        "Pleiades ID",
        max_length=20,
        null=True,
        blank=True,
        unique=True,
        validators=[RegexValidator(r"^[1-9]\d*$", "A Pleiades ID is a number, like 668331.")],
    )
    created = models.DateTimeField(auto_now_add=True)
    # Indexed: every API answer's ETag reads the newest (api/conditional.py, data_stamp).
    updated = models.DateTimeField(auto_now=True, db_index=True)
    history = HistoricalRecords(excluded_fields=["condition"])

    objects = SiteQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            # Public lists of sites (the API, the GeoJSON of every site, the map) read
            # in name order from the index rather than sorted.
            models.Index(fields=["approved", "name", "id"], name="site_public_name"),
            # Full-text search on PostgreSQL: events by their site's name, sites by
            # their name and description.
            search_index("name", name="site_name_search"),
            search_index("name", "description", name="site_search"),
        ]
        constraints = [
            models.CheckConstraint(
                # Both branches name NULLs explicitly: a CHECK whose condition is NULL
                # passes, so a range test alone would let half a pair through.
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(
                    latitude__isnull=False,
                    longitude__isnull=False,
                    latitude__gte=-90,
                    latitude__lte=90,
                    longitude__gte=-180,
                    longitude__lte=180,
                ),
                name="site_coordinates_in_wgs84_range_and_paired",
                violation_error_message="Give both latitude and longitude, or neither.",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("heritage:site-detail", args=[self.slug])

    def clean(self):
        if self.parent_id and self.pk:
            ancestor = self.parent
            while ancestor is not None:
                if ancestor.pk == self.pk:
                    raise ValidationError({"parent": "A site cannot lie within itself."})
                ancestor = ancestor.parent

    @property
    def is_located(self):
        return self.latitude is not None and self.longitude is not None

    def public_point(self):
        """(latitude, longitude, precision) as the public may see them: a sensitive
        site's rounded to SENSITIVE_ROUNDING, its precision saying so. The one rule of
        every public output (pages, map, API, dump, feeds)."""
        if not self.is_located or not self.sensitive:
            return self.latitude, self.longitude, self.location_precision
        return (
            Decimal(self.latitude).quantize(SENSITIVE_ROUNDING),
            Decimal(self.longitude).quantize(SENSITIVE_ROUNDING),
            LocationPrecision.ROUNDED,
        )

    def condition_on(self, day):
        """The damage level the published events certainly over by `day` (their latest
        possible day is on or before it) left the site in; None before any."""
        return condition_after(self.events.published().filter(date_upper__lte=day))

    def current_condition(self):
        return condition_after(self.events.published())

    @transaction.atomic
    def refresh_condition(self, rebuild=True):
        """Store the condition the published events now imply, and the site's public
        document (heritage/readmodel.py) unless `rebuild` is false. An update, not a save: a
        derived value changing is not an edit for the history. The site's row is locked
        first: a writer publishing another of its events at the same moment waits, then
        reads this one's event too (on PostgreSQL, READ COMMITTED would otherwise let
        each read the events without the other's, and the last to write win)."""
        Site.objects.select_for_update(no_key=True).filter(pk=self.pk).exists()
        self.condition = self.current_condition() or ""
        Site.objects.filter(pk=self.pk).exclude(condition=self.condition).update(
            condition=self.condition, updated=timezone.now()
        )
        if rebuild:
            # Its count of events and latest event may have moved even when its
            # condition did not.
            _read_model().sites_changed([self.pk])


def _read_model():
    # Imported when first used: heritage.readmodel builds on these models.
    from heritage import readmodel

    return readmodel


def condition_after(events):
    """The damage level `events` leave a site in, read oldest first: damage only ever
    worsens it (a later, lesser or unknown report does not undo a destruction); only an
    event's stated condition after, such as a restoration's, can improve it. Events a
    curator discounted count for nothing. None when no event says anything. `events` is
    a queryset, or any records with the same attributes."""
    if isinstance(events, models.QuerySet):
        events = events.order_by("date_upper", "date_lower", "id")
    else:  # records already in memory (generate_demo), in the same order
        events = sorted(events, key=lambda event: (event.date_upper, event.date_lower, event.id))
    level = None
    for event in events:
        if event.grade == Grade.DISCOUNTED:
            continue
        if event.condition_after:
            level = event.condition_after
        elif event.kind != EventKind.RESTORATION:
            level = DamageLevel.worst(level, event.level)
    return level


RIGHT_TO_LEFT = {"ar", "fa", "he", "ps", "syr", "ur", "yi"}


class ReviewedQuerySet(GuardedQuerySet):
    guarded = ("approved",)

    def public(self):
        return self.filter(approved=True)


class SiteName(Reviewed):
    """Another name a site is known by: in Arabic, a transliteration, a former name."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="names")
    name = models.CharField(max_length=200)
    language = models.CharField(
        max_length=20,
        blank=True,
        help_text="BCP 47 tag: ar (Arabic script), ar-Latn (a transliteration), en, fr …",
    )
    history = HistoricalRecords()

    objects = ReviewedQuerySet.as_manager()

    class Meta:
        ordering = ["site", "language", "name"]
        indexes = [search_index("name", name="site_other_name_search")]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="site_name_unique_per_site"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_rtl(self):
        """Whether the name is written right to left: Arabic, unless transliterated."""
        tags = self.language.split("-")
        return tags[0].lower() in RIGHT_TO_LEFT and "latn" not in {t.lower() for t in tags}


def site_image_path(image, filename):
    return f"sites/{image.site.slug}/{filename}"


class SiteImage(Reviewed):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="images")
    # Width and height are recorded when a picture is re-encoded, not through Django's
    # width_field, which re-reads the stored file at every form save.
    image = PictureField(
        upload_to=site_image_path,
        help_text="JPEG, PNG or WebP. Stored re-encoded, without its EXIF metadata.",
    )
    width = models.PositiveIntegerField(editable=False, null=True)
    height = models.PositiveIntegerField(editable=False, null=True)
    caption = models.CharField(max_length=300)
    credit = models.CharField(max_length=200)
    licence = models.CharField(max_length=100, help_text="For example CC BY-SA 4.0.")
    taken = EDTFField("date taken", blank=True)
    history = HistoricalRecords()

    objects = ReviewedQuerySet.as_manager()

    class Meta:
        ordering = ["site", "taken", "id"]

    def __str__(self):
        return self.caption

    def save(self, *args, **kwargs):
        # Re-encode only a new upload: an untouched file was cleaned when it arrived.
        if self.image and not getattr(self.image, "_committed", True):
            cleaned = reencode_image(self.image)
            self.width, self.height = cleaned.image_size
            self.image = cleaned
        super().save(*args, **kwargs)

    def thumbnail_size(self, box=(240, 160)):
        """Width and height that fit the picture in `box`, keeping its proportions."""
        if not self.width or not self.height:
            return box
        scale = min(box[0] / self.width, box[1] / self.height, 1)
        return round(self.width * scale), round(self.height * scale)


class Actor(Reviewed):
    """Who carried out an event: an armed group, an army, an air force."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    history = HistoricalRecords()

    objects = ReviewedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class EventKind(models.TextChoices):
    DAMAGE = "damage", "Damage"
    LOOTING = "looting", "Looting"
    RESTORATION = "restoration", "Restoration"


class State(models.TextChoices):
    DRAFT = "draft", "Draft"
    REVIEW = "review", "In review"
    PUBLISHED = "published", "Published"


# An author field: who took a step, kept (as empty) when their account is deleted.
_AUTHOR = {"null": True, "blank": True, "on_delete": models.SET_NULL, "related_name": "+",
           "editable": False}  # fmt: skip


# Citations that stand as evidence beside their event: reviewed ones (approved) of a
# published event, and all of a draft's or of an event in review. A citation proposed
# for a published event waits in the review queue, out of the record.
REVIEWED_EVIDENCE = Q(approved=True) | ~Q(event__state=State.PUBLISHED)


class DamageEventQuerySet(GuardedQuerySet):
    guarded = ("state",)

    def _bulk_guarded(self, obj):
        return obj.state != State.DRAFT

    def published(self):
        return self.filter(state=State.PUBLISHED)

    def latest_first(self):
        """Most recent first, by the latest possible date, then the earliest."""
        return self.order_by("-date_upper", "-date_lower", "-id")

    def overlapping(self, start=None, end=None):
        """Events that may have happened between `start` and `end` (either may be None)."""
        queryset = self
        if start is not None:
            queryset = queryset.filter(date_upper__gte=start)
        if end is not None:
            queryset = queryset.filter(date_lower__lte=end)
        return queryset

    def for_admin_list(self):
        """What the curators' event list shows, in a fixed number of queries."""
        citation = self.model._meta.get_field("citations").related_model
        return self.select_related("site", "actor").annotate(
            citation_count=related_count(citation.objects.all(), "event")
        )

    def for_timeline(self):
        """What a public list of events shows: each with its site and actor, and its
        citations with their sources, in two queries however many events."""
        citation = self.model._meta.get_field("citations").related_model
        return self.select_related("site", "actor").prefetch_related(
            models.Prefetch(
                "citations",
                queryset=citation.objects.filter(REVIEWED_EVIDENCE).select_related("source"),
            )
        )

    def for_list(self, with_site=False):
        """What a public list of events shows of each (the event_article template tag),
        and nothing more; `with_site` for lists of many sites' events. Read the page
        with with_citation_rows()."""
        fields = [*LIST_FIELDS, "actor__name"]
        if with_site:
            fields += ["site__name", "site__slug"]
        return self.select_related("actor", *(["site"] if with_site else [])).only(*fields)

    def with_citation_rows(self):
        """These events, read, each with `citation_list`: what a list shows of its
        citations and their sources, as dicts, in one query however many events. Plain
        rows rather than prefetch_related(): with a thousand citations, making a
        Citation and a Source (with its whole text) of each takes longer than rendering
        the page."""
        citation = self.model._meta.get_field("citations").related_model
        events = list(self)
        cited = {event.pk: [] for event in events}
        if events:
            rows = citation.objects.filter(REVIEWED_EVIDENCE, event_id__in=list(cited))
            rows = rows.order_by("event", "id")
            for row in rows.values(*LIST_CITATION_COLUMNS):
                cited[row["event"]].append(row)
        for event in events:
            event.citation_list = cited[event.pk]
        return events

    def refresh_verification(self):
        """Recompute the stored grade and conflict flag of every event here, for when
        citations or sources changed in bulk (imports, fixtures), in id order: two writers
        locking the same events lock them in the same order."""
        ids = []
        for event in self.order_by("pk"):
            event.refresh_verification(rebuild=False)
            ids.append(event.pk)
        read_model = _read_model()
        for start in range(0, len(ids), 1000):
            read_model.events_changed(ids[start : start + 1000])


# Deletions recorded before history batches existed: citations deleted this close to
# their event's deletion are taken to have gone with it.
CASCADE_WINDOW = datetime.timedelta(seconds=5)

# What a public list shows of each event, and of each citation with its source.
LIST_FIELDS = [
    "site", "kind", "summary", "date", "level", "extent", "cause", "actor", "description",
    "grade", "grade_override", "grade_override_reason", "has_conflict",
]  # fmt: skip
LIST_CITATION_COLUMNS = [
    "id", "event", "source", "stance", "quote", "note", "locator", "basis", "claimed_level",
    "claimed_date", "source__title", "source__publisher", "source__published",
    "source__language", "source__url", "source__archived_url",
]  # fmt: skip


class DamageEvent(Versioned):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind, default=EventKind.DAMAGE)
    summary = models.CharField(
        max_length=200, help_text="What happened, in a line: “Cella blown up”."
    )
    date = EDTFField(help_text="When it happened (not when it was reported). ")
    date_lower = models.DateField(editable=False, db_index=True)
    date_upper = models.DateField(editable=False, db_index=True)
    level = models.CharField(
        "damage level", max_length=20, choices=DamageLevel, default=DamageLevel.UNKNOWN
    )
    extent = models.CharField(max_length=10, choices=DamageExtent, default=DamageExtent.UNKNOWN)
    cause = models.CharField(max_length=20, choices=Cause, default=Cause.UNKNOWN)
    actor = models.ForeignKey(
        Actor, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    condition_after = models.CharField(
        max_length=20,
        choices=DamageLevel,
        blank=True,
        help_text="The site's state after this event, when it differs from the damage level "
        "(after a restoration, say).",
    )
    description = models.TextField(blank=True)
    state = models.CharField(max_length=20, choices=State, default=State.DRAFT, db_index=True)
    grade_override = models.CharField(
        max_length=20,
        choices=[(g.value, g.label) for g in Grade if g != Grade.UNSUPPORTED],
        blank=True,
        help_text="Only when the evidence grade is wrong; say why below.",
    )
    grade_override_reason = models.TextField(blank=True)
    # Derived from the citations by refresh_verification(), stored so that lists can be
    # filtered and sorted by them; never typed in.
    grade = models.CharField(
        max_length=20, choices=Grade, default=Grade.UNSUPPORTED, editable=False, db_index=True
    )
    has_conflict = models.BooleanField("sources disagree", default=False, editable=False)
    # Who did what, for four eyes (heritage/workflow.py): the drafter, and the last
    # person to change its content or evidence before publication, may not publish it.
    drafted_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_AUTHOR, verbose_name="drafted by")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        **_AUTHOR,
        verbose_name="last changed by",
        help_text="The last person to change its content or evidence before publication.",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, **_AUTHOR, verbose_name="sent for review by"
    )
    submitted_at = models.DateTimeField("sent for review", null=True, blank=True, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, **_AUTHOR, verbose_name="published by"
    )
    published_at = models.DateTimeField("published", null=True, blank=True, editable=False)
    # Everyone who changed it or its evidence since it was last published (user ids):
    # none of them publishes it (four eyes).
    contributors = models.JSONField(default=list, blank=True, editable=False)
    record_key = models.SlugField(
        max_length=100, blank=True, default="", editable=False,
        help_text="Its key in the record's files (fixtures/record/): loading them again "
        "updates it rather than adding another.",
    )  # fmt: skip
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)
    history = HistoricalRecords(
        excluded_fields=["grade", "has_conflict", "contributors"], bases=[HistoryBatch]
    )

    objects = DamageEventQuerySet.as_manager()

    class Meta:
        ordering = ["date_lower", "date_upper", "id"]
        permissions = [("publish_damageevent", "Can review and publish damage events")]
        constraints = [
            models.UniqueConstraint(
                fields=["record_key"], condition=~Q(record_key=""), name="event_record_key_unique"
            )
        ]
        indexes = [
            models.Index(fields=["site", "state", "date_upper"]),
            # The public API's pages, read in order from the index rather than sorted:
            # published events by date or by last change.
            models.Index(fields=["state", "date_lower", "id"], name="event_state_date_id"),
            models.Index(
                fields=["state", "level", "date_lower", "id"], name="event_state_level_date_id"
            ),
            models.Index(fields=["state", "updated", "id"], name="event_state_updated_id"),
            # The home page's latest events (latest_first()).
            models.Index(
                fields=["state", "-date_upper", "-date_lower", "-id"], name="event_state_latest"
            ),
            search_index("summary", "description", name="event_search"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(date_lower__lte=models.F("date_upper")),
                name="event_date_bounds_in_order",
            ),
            models.CheckConstraint(
                condition=Q(grade_override="") | ~Q(grade_override_reason=""),
                name="event_grade_override_has_reason",
                violation_error_message="Say why you override the grade.",
            ),
        ]

    def __str__(self):
        return f"{self.site} · {self.summary} · {self.date}"

    @transaction.atomic
    def save(self, *args, **kwargs):
        # Atomic, as Citation.save is: the grade and the site's condition are read and
        # stored in the same transaction as the event, so a writer elsewhere cannot slip
        # between the reading and the storing and leave them stale.
        self.date_lower, self.date_upper = edtf_bounds(self.date)
        stored = None
        if not self._state.adding and self.pk is not None:
            stored = DamageEvent.objects.filter(pk=self.pk).values("site", "state").first()
        if not in_workflow():
            if (stored is None and self.state != State.DRAFT) or (
                stored and State.PUBLISHED in (stored["state"], self.state)
            ):
                raise WorkflowBypass(
                    "An event's state, and a published event, change only through "
                    "heritage.workflow."
                )
            if stored and stored["state"] != self.state:
                raise WorkflowBypass("An event's state changes only through heritage.workflow.")
        if stored is None:
            self.grade = self.grade_override or Grade.UNSUPPORTED
        else:
            evidence = list(self.evidence())
            self.grade = self.verification(evidence)
            self.has_conflict = self.citations_conflict(evidence)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {
                *kwargs["update_fields"], "date_lower", "date_upper", "grade", "has_conflict",
                "updated",
            }  # fmt: skip
        super().save(*args, **kwargs)
        # The condition of the site (and of the one it left, if it moved) may change.
        sites = {self.site_id, stored and stored["site"]}
        Site.objects.filter(pk__in=sites).refresh_condition()
        _read_model().events_changed([self.pk])

    def get_absolute_url(self):
        return f"{self.site.get_absolute_url()}#event-{self.pk}"

    def clean(self):
        if self.grade_override and not self.grade_override_reason.strip():
            raise ValidationError({"grade_override_reason": "Say why you override the grade."})

    def evidence_grade(self, citations=None):
        """The grade the citations earn, before any curator override (rules in the
        about page): imagery or inspection confirms; a contradiction or a conflict
        contests; two publishers make it fair, one weak; none leaves it unsupported."""
        citations = list(self.evidence() if citations is None else citations)
        supporting = [c for c in citations if c.stance == "supports"]
        if not supporting:
            return Grade.UNSUPPORTED
        if any(c.is_direct_evidence for c in supporting):
            return Grade.CONFIRMED
        if any(c.stance == "contradicts" for c in citations) or self.citations_conflict(citations):
            return Grade.CONTESTED
        # Sources of unknown publisher may all be one outlet's copies: together they
        # count as one publisher, and only when no known publisher supports it.
        publishers = {c.source.publisher_key for c in supporting}
        independent = len(publishers - {""}) or len(publishers)
        return Grade.FAIR if independent >= 2 else Grade.WEAK

    def verification(self, citations=None):
        """The grade this event shows: the curator's override, else the evidence grade."""
        return self.grade_override or self.evidence_grade(citations)

    def citations_conflict(self, citations=None):
        """Whether the citations disagree: claimed date intervals that do not all overlap,
        or claimed damage levels two or more steps apart."""
        citations = list(self.evidence() if citations is None else citations)
        dated = [c for c in citations if c.claimed_date]
        if dated and max(c.claimed_lower for c in dated) > min(c.claimed_upper for c in dated):
            return True
        ranks = [DamageLevel.rank(c.claimed_level) for c in citations]
        ranks = [r for r in ranks if r is not None]
        return bool(ranks) and max(ranks) - min(ranks) >= 2

    def evidence(self):
        """The citations this event's record rests on: once it is published, those an
        editor has reviewed (a proposed citation waits in the review queue); before,
        all of them, which publishing reviews."""
        citations = self.citations.select_related("source")
        return citations.filter(approved=True) if self.state == State.PUBLISHED else citations

    @transaction.atomic
    def refresh_verification(self, rebuild=True):
        """Store the grade and conflict flag the citations now imply, and the event's
        public document (heritage/readmodel.py) unless `rebuild` is false: a citation's
        or a source's change reaches the document through here. An update, not a
        save: a derived value changing is not an edit for the history. The event's row is
        locked first, so that two writers adding citations at once each read the other's
        (see Site.refresh_condition)."""
        DamageEvent.objects.select_for_update(no_key=True).filter(pk=self.pk).exists()
        citations = list(self.evidence())
        self.grade = self.verification(citations)
        self.has_conflict = self.citations_conflict(citations)
        # `updated` moves only when the grade or flag does, so incremental pulls see them.
        DamageEvent.objects.filter(pk=self.pk).exclude(
            grade=self.grade, has_conflict=self.has_conflict
        ).update(grade=self.grade, has_conflict=self.has_conflict, updated=timezone.now())
        if rebuild:
            _read_model().events_changed([self.pk])

    def publication_problem(self, stances=None):
        """Why this event cannot be published, or None. `stances` are those of the
        citations it will have (the admin passes its unsaved forms')."""
        if stances is None:
            stances = list(self.citations.values_list("stance", flat=True))
        if "supports" not in stances:
            return (
                "An event can only be published with at least one citation that supports "
                "it. Add the source that reports it, with its quote, first."
            )
        if self.site_id and not self.site.approved:
            return (
                "Its site has not been reviewed yet: approve the new site in the review "
                "queue first."
            )
        return None

    @classmethod
    def deleted(cls):
        """The record of each deleted event as it was when deleted, newest first."""
        records = cls.history.filter(history_type="-").exclude(id__in=cls.objects.values("pk"))
        newest = {}
        for record in records.select_related("history_user").order_by("-history_date"):
            newest.setdefault(record.id, record)
        return list(newest.values())


@receiver(pre_delete)
def refuse_deleting_a_reviewed_record(sender, instance, **kwargs):
    """A site, name, picture or actor the public sees is deleted only by an approved
    proposal (heritage/workflow.py), or with the site that holds it."""
    if isinstance(instance, Reviewed) and instance.approved and not in_workflow():
        raise WorkflowBypass(
            f"A reviewed {instance._meta.verbose_name} is deleted only through heritage.workflow."
        )


@receiver(pre_delete, sender=DamageEvent)
def refuse_deleting_a_published_event(sender, instance, **kwargs):
    if instance.state == State.PUBLISHED and not in_workflow():
        raise WorkflowBypass("A published event is deleted only through heritage.workflow.")


@receiver(post_delete, sender=DamageEvent)
def recondition_after_event_deleted(sender, instance, **kwargs):
    Site.objects.filter(pk=instance.site_id).refresh_condition()


class PendingChange(models.Model):
    """A change to what the public sees, waiting for an editor: a new citation on a
    published event, a changed or deleted one, a change to a published event or to a
    source one cites. The public keeps seeing the record as last reviewed (the live
    row) until an editor approves it (heritage/workflow.py applies it then)."""

    class Action(models.TextChoices):
        ADD = "add", "Add"
        CHANGE = "change", "Change"
        DELETE = "delete", "Delete"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Replaced by a later proposal"
        WITHDRAWN = "withdrawn", "Withdrawn by its author"

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    # The published event whose public record it changes; none for a source, which may
    # be cited by many.
    event = models.ForeignKey(
        "DamageEvent", null=True, blank=True, on_delete=models.CASCADE, related_name="proposals"
    )
    action = models.CharField(max_length=10, choices=Action)
    # Field name to proposed value, as the field writes it to text (value_to_string).
    changes = models.JSONField(default=dict, blank=True)
    # The target's version the proposal was made against: approving it after the record
    # changed otherwise is refused as stale.
    base_version = models.PositiveIntegerField(default=1)
    reason = models.TextField()
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_AUTHOR)
    # Everyone whose change it holds (user ids): a later proposal takes in an earlier
    # one's change, and none of their authors approves it (four eyes).
    authors = models.JSONField(default=list, blank=True)
    proposed_at = models.DateTimeField(default=timezone.now, editable=False)
    status = models.CharField(max_length=12, choices=Status, default=Status.PENDING, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_AUTHOR)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["proposed_at", "id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "status"]),
            models.Index(fields=["status", "proposed_at"]),
        ]
        constraints = [
            # One proposal waits per record: a later one replaces it (workflow.propose).
            models.UniqueConstraint(
                fields=["content_type", "object_id"],
                condition=Q(status="pending"),
                name="one_pending_change_per_record",
            ),
        ]

    def __str__(self):
        return f"{self.get_action_display()} {self.content_type.name} {self.object_id}"

    def proposed_values(self):
        """The proposed values as Python values, by field name."""
        model = self.content_type.model_class()
        return {
            name: model._meta.get_field(name).to_python(value)
            for name, value in self.changes.items()
        }


def _new_epoch():
    return uuid.uuid4().hex


class PublicStamp(models.Model):
    """The version of everything the public sees, raised in the transaction of each
    change to it (heritage/workflow.py: a publication, a withdrawal, an approval), and
    of no other: the API's anonymous validators come from it, so a curator's work on a
    draft never makes a reader's copy look stale, and a real change always does. The
    epoch changes when a backup is restored, so no validator from before comes back."""

    version = models.BigIntegerField(default=0)
    changed = models.DateTimeField(default=timezone.now)
    epoch = models.CharField(max_length=32, default=_new_epoch)

    def __str__(self):
        return f"Public record version {self.version}"

    @classmethod
    def bump(cls):
        now = timezone.now()
        if not cls.objects.filter(pk=1).update(version=models.F("version") + 1, changed=now):
            cls.objects.update_or_create(pk=1, defaults={"version": 1, "changed": now})
        # The dump follows the public record, rebuilt once this commits (heritage/tasks.py).
        from heritage.tasks import rebuild_dump_after_commit

        rebuild_dump_after_commit()

    @classmethod
    def new_epoch(cls):
        cls.objects.update_or_create(
            pk=1, defaults={"epoch": _new_epoch(), "changed": timezone.now()}
        )

    @classmethod
    def current(cls):
        """(version, epoch, when it last changed): one indexed read."""
        row = cls.objects.filter(pk=1).values_list("version", "epoch", "changed").first()
        return row or (0, "", None)


class BackupMark(models.Model):
    """A row `manage.py backup` writes before it copies the database, so that the copy
    carries it: `manage.py restore` refuses a file without one, which is no backup of
    the register's, whatever tables it has. The rows are also the log of backups taken."""

    taken = models.DateTimeField(default=timezone.now)
    token = models.CharField(max_length=32, default=_new_epoch)

    class Meta:
        ordering = ["taken"]

    def __str__(self):
        return f"Backup of {self.taken:%Y-%m-%d %H:%M:%S} UTC"


class EventDocument(models.Model):
    """A published event's public form, stored beside it (heritage/readmodel.py): its
    API JSON, with addresses relative to the host, and its line of the events CSV. Kept in
    the transaction of every change to the event or to what it shows, so that a list
    page is one indexed query that joins these, with no Python per row."""

    event = models.OneToOneField(
        DamageEvent, primary_key=True, on_delete=models.CASCADE, related_name="document"
    )
    # The version of heritage.readmodel.SHAPE it was built with: an older one is rebuilt
    # when read rather than shown.
    shape = models.PositiveSmallIntegerField()
    # New at each rebuild: what answers made from it are kept under (heritage/kept.py).
    token = models.CharField(max_length=32)
    json = models.TextField()
    csv = models.TextField()

    def __str__(self):
        return f"Public document of event {self.event_id}"


class SiteDocument(models.Model):
    """A public site's public form (heritage/readmodel.py): its API JSON, addresses
    relative to the host, and its line of the sites CSV. What maps show of it is in
    SiteFeature."""

    site = models.OneToOneField(
        Site, primary_key=True, on_delete=models.CASCADE, related_name="document"
    )
    shape = models.PositiveSmallIntegerField()
    token = models.CharField(max_length=32)
    json = models.TextField()
    csv = models.TextField()

    def __str__(self):
        return f"Public document of site {self.site_id}"


class SiteFeature(models.Model):
    """What maps show of a public site, kept with its SiteDocument: its GeoJSON feature,
    and its point on the public map as JSON safe inside a <script> element (empty when
    it is not located). A table of their own: the map and the GeoJSON of every site
    read ten thousand of them, and SQLite reads whole rows."""

    site = models.OneToOneField(
        Site, primary_key=True, on_delete=models.CASCADE, related_name="feature"
    )
    shape = models.PositiveSmallIntegerField()
    feature = models.TextField()
    point = models.TextField(blank=True, default="")

    def __str__(self):
        return f"Map feature of site {self.site_id}"


class ChangeAction(models.TextChoices):
    PUBLISHED = "published", "Published"
    CHANGED = "changed", "Changed"
    UNPUBLISHED = "unpublished", "Unpublished"
    DELETED = "deleted", "Deleted"


class Change(models.Model):
    """One change to the public record of an event or a citation, in the order the
    changes were committed: the change feed (/api/v1/changes/). Written by the read model
    (heritage/changes.py) in the transaction of the change, from the difference between
    what the public saw before and after it, so every path that changes an event's
    public form writes one, and nothing unpublished ever does."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)
    record_type = models.CharField(max_length=10)  # "event" or "citation"
    record_id = models.PositiveBigIntegerField()
    event_id_of = models.PositiveBigIntegerField(
        help_text="The event: itself, or the event a citation is evidence for."
    )
    action = models.CharField(max_length=20, choices=ChangeAction)
    # The record as the public saw it after the change (null when it left the record),
    # with addresses relative to the host (heritage.readmodel.absolute).
    json = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["record_type", "id"], name="change_type_id")]

    def __str__(self):
        return f"{self.id}: {self.record_type} {self.record_id} {self.action}"
