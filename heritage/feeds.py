"""Atom feeds of the public record's events, newest change first: every published
event at /feeds/events/, and a place's, with those of every place within it (Palmyra's
holds its monuments'), at /feeds/sites/<slug>/.

Feed readers poll often and mostly ask again for what they have: each answer carries
an ETag from the public record's version (heritage/kept.py), and a reader that sends it
back gets a 304 after one small query. A feed, once made, is kept in the cache under
that version for the next reader, whoever it is: a feed shows the public record only, the
same to a curator as to anyone.
"""

import hashlib
import re

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Greatest, NullIf
from django.http import HttpResponseNotAllowed
from django.http.request import split_domain_port
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.feedgenerator import Atom1Feed
from django.utils.http import quote_etag
from django.utils.text import Truncator

from heritage import kept
from heritage.dates import describe_edtf
from heritage.filters import PLACE_DEPTH
from heritage.models import DamageEvent, Site, related_count
from reports.models import Citation, Stance

# Entries in a feed at most: a reader polling often needs only what changed lately.
FEED_LENGTH = 50
AUTHOR = "Heritage damage register"
# A quote in an entry's summary is cut at about this many characters.
QUOTE_LENGTH = 300

# Characters XML 1.0 cannot hold (a PDF's form feed in a quote): Django's feed writer
# refuses them, which would fail the whole feed.
NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")

# What an entry shows of an event and its site.
ENTRY_FIELDS = [
    "summary", "date", "level", "grade", "published_at", "created", "site__name", "site__slug",
]  # fmt: skip


def feed_entries(sites=None):
    """The FEED_LENGTH published events changed last (of `sites`, a queryset of sites,
    when given), newest first, with what an entry shows, in two queries: each with its
    site, `changed` (the latest of its own `updated` and its public citations':
    approving a new citation leaves the event's row alone unless its grade moves),
    `supporting_sources` (how many sources support it publicly) and its first public
    supporting quote with who published it (`quote`, `quote_by`). Nothing a curator has
    not reviewed: proposed citations wait outside."""
    published = DamageEvent.objects.published()
    public = Citation.objects.public()
    cited = public
    if sites is not None:
        published = published.filter(site__in=sites)
        cited = public.filter(event__site__in=sites)
    # Only events changed since the FEED_LENGTH-th newest `updated` can be among the
    # FEED_LENGTH changed last (that many changed since, by their own rows alone): only
    # those are ranked, found through the indexes on `updated`, rather than every
    # published event. With 100,000 on PostgreSQL, 65 ms rather than a second: read
    # first, the threshold is a value the planner can estimate (as a subquery it planned
    # for half the table, and compiled the query for that).
    newest = published.order_by("-updated").values_list("updated", flat=True)
    threshold = list(newest[FEED_LENGTH - 1 : FEED_LENGTH])
    if threshold:
        since = threshold[0]
        recent = published.filter(updated__gte=since).values("pk")
        recent = recent.union(cited.filter(updated__gte=since).values("event"))
        published = published.filter(pk__in=recent)
    own = public.filter(event=OuterRef("pk"))
    newest_citation = own.order_by("-updated").values("updated")[:1]
    quoted = (
        own.filter(stance=Stance.SUPPORTS)
        .exclude(quote="")
        .order_by("id")
        .annotate(by=Coalesce(NullIf("source__publisher", Value("")), "source__title"))
    )
    return (
        published.select_related("site")
        .only(*ENTRY_FIELDS)
        .annotate(
            changed=Greatest("updated", Coalesce(Subquery(newest_citation), "updated")),
            supporting_sources=related_count(
                public.filter(stance=Stance.SUPPORTS), "event", counted="source"
            ),
            quote=Subquery(quoted.values("quote")[:1]),
            quote_by=Subquery(quoted.values("by")[:1]),
        )
        .order_by("-changed", "-id")[:FEED_LENGTH]
    )


def within(site):
    """`site` and the places within it, down the parent chain as deep as searches go up
    it (heritage/filters.py: country › governorate › place › monument)."""
    condition, path = Q(pk=site.pk), "parent"
    for _ in range(PLACE_DEPTH - 1):
        condition |= Q(**{path: site.pk})
        path += "__parent"
    return Site.objects.filter(condition).order_by().values("pk")


def xml_text(text):
    return NOT_IN_XML.sub(" ", text or "")


class TextSummaryAtom(Atom1Feed):
    """Atom whose entry summaries are plain text: Django writes them as HTML, which a
    reader renders, so the words of a summary or a quote could be taken for markup."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"] is not None:
            handler.addQuickElement("summary", item["description"], {"type": "text"})


class EventFeed(Feed):
    """What both feeds share: the entries, and answering with an ETag, a 304 or a kept
    copy."""

    feed_type = TextSummaryAtom
    author_name = AUTHOR

    def __call__(self, request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        version = kept.public_version()
        etag = quote_etag(hashlib.sha256(f"feed|{version}".encode()).hexdigest()[:32])
        not_modified = get_conditional_response(request, etag=etag)
        if not_modified is not None:
            not_modified["ETag"] = etag
            return not_modified
        if settings.PAGE_CACHE_SECONDS <= 0:
            return self.make(request, etag, *args, **kwargs)
        # Under its address without the query string, which the feed does not read.
        key = kept.answer_key("feed", request.build_absolute_uri(request.path), version)
        stored, claimed = kept.fetch_or_claim(key)
        if stored is not None:
            return kept.kept_response(stored)
        try:
            response = self.make(request, etag, *args, **kwargs)
            kept.keep(key, (response.content, dict(response.items())), settings.PAGE_CACHE_SECONDS)
        finally:
            if claimed:
                kept.release(key)
        return response

    def make(self, request, etag, *args, **kwargs):
        response = super().__call__(request, *args, **kwargs)
        response["ETag"] = etag
        return response

    def get_feed(self, obj, request):
        feed = super().get_feed(obj, request)
        # The feed's id is its own address, not the page's it mirrors (Django's default).
        feed.feed["id"] = feed.feed["feed_url"]
        # Each entry's id is a tag URI (RFC 4151) that stays the event's through every
        # edit, a move to another site or a new slug for its site (its link changes
        # then): the host, the day the event was recorded, its id. Made here, where the
        # request is: the feed object serves every request, so it holds none of them.
        host = split_domain_port(request.get_host())[0]
        for item in feed.items:
            item["unique_id"] = f"tag:{host},{item['tag_specific']}"
        return feed

    def item_title(self, event):
        return xml_text(f"{event.site.name}: {event.summary}")

    def item_link(self, event):
        return event.get_absolute_url()

    def item_extra_kwargs(self, event):
        return {"tag_specific": f"{event.created:%Y-%m-%d}:event/{event.pk}"}

    def item_updateddate(self, event):
        return event.changed

    def item_pubdate(self, event):
        return event.published_at

    def item_description(self, event):
        date = describe_edtf(event.date)
        sources = event.supporting_sources
        parts = [
            f"{date[:1].upper()}{date[1:]}.",
            f"Damage level: {event.get_level_display().lower()}.",
            f"Verification grade: {event.get_grade_display().lower()}.",
            f"{sources} supporting source{'' if sources == 1 else 's'}.",
        ]
        if event.quote:
            quote = Truncator(" ".join(event.quote.split())).chars(QUOTE_LENGTH)
            parts.append(f"“{quote}” ({event.quote_by})")
        return xml_text(" ".join(parts))

    def item_categories(self, event):
        return [event.get_level_display(), event.get_grade_display()]


class AllEventsFeed(EventFeed):
    title = "Heritage damage register: damage events"
    subtitle = "Damage events newly published or changed in the register, newest first."

    def link(self):
        return reverse("heritage:event-list")

    def items(self):
        return feed_entries()


class SiteEventsFeed(EventFeed):
    def get_object(self, request, slug):
        # Only a site an editor has reviewed (as SiteDetailView): any other is a 404.
        return Site.objects.public().only("name", "slug").get(slug=slug)

    def title(self, site):
        return xml_text(f"{site.name}: damage events")

    def subtitle(self, site):
        return xml_text(
            f"Damage events at {site.name} and the places within it, newly published or "
            "changed in the Heritage damage register, newest first."
        )

    def link(self, site):
        return site.get_absolute_url()

    def items(self, site):
        return feed_entries(within(site))
