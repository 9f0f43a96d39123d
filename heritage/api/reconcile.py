"""OpenRefine reconciliation: the W3C Reconciliation Service API (version 0.2) at
/api/v1/reconcile/, matching a spreadsheet's monument names to the register's sites.

A plain GET answers the service manifest; `queries` (a form field of a POST, or a GET
parameter) is a JSON object of queries, each answered with candidates. Ids are site
slugs; the view template is the public site page, and /api/v1/reconcile/preview/?id=…
is a small card for OpenRefine to frame.

Only the public record is ever matched or shown: reviewed sites under their reviewed
names. A name matches under any of them, whatever its case, accents, hyphens, spacing or
punctuation; `match` is true only for the one candidate the query names exactly in that
sense (a slug counts too), when no other candidate is named so.
"""

import dataclasses
import json
import re
from collections import Counter, defaultdict

from django.urls import path, reverse
from django.utils.csp import CSP
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csp import csp_override
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import parsers, permissions, renderers, serializers
from rest_framework.exceptions import APIException, NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from heritage.api.renderers import FastJSONRenderer
from heritage.api.schema import ERROR
from heritage.models import DamageLevel, Site, SiteKind, SiteName
from reports.intake.text import normalise

MAX_QUERIES = 100
MAX_QUERY_LENGTH = 500
MAX_LIMIT = 100
DEFAULT_LIMIT = 5
MAX_PROPERTIES = 10
MAX_VALUES = 20
MAX_ID_LENGTH = 100

# Scores, 0–100, of a site under the best of its names. Only the first two name it (after
# folding), and only they may make a match.
NAMED = 100  # one of its names, or its slug
SPACED = 98  # one of its names but for spaces: "Baal Shamin" for "Baalshamin"
WORDS = 90  # its words in another order, or its name and a place it is in
FUZZY = 85  # at most, for the trigrams or some of the words it shares with the query
SHOWN = 35  # the least a candidate scores

# The properties a query may restrict by, each naming a place the site lies in, at any
# depth (a monument of Palmyra is in Palmyra, and in Syria): {id: (name, description)}.
PROPERTIES = {
    "parent": (
        "Place it lies in",
        "A place it lies in, at any depth (Palmyra, Syria), by a name or an id.",
    ),
    "country": ("Country", "The country it lies in, by a name or an id."),
}
QUERY_FIELDS = ("query", "type", "limit", "properties", "type_strict")
TYPE_STRICTNESS = ("any", "should", "all")

# Words a name means nothing by: "Temple de Bel" has the words of "Temple of Bel".
_LITTLE_WORDS = frozenset(
    {"the", "of", "a", "an", "and", "in", "at", "de", "du", "des", "la", "le"}
)
# Arabic letters written one for another, and the tatweel (a stretch, not a letter).
_ARABIC = str.maketrans({"ة": "ه", "ى": "ي", "ی": "ي", "ک": "ك", "ـ": None})
_NOT_WORD = re.compile(r"[\W_]+")
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,200}")


class InvalidQueries(APIException):
    """A 400 naming the field the service cannot read: `queries.q3.limit`."""

    status_code = 400
    default_code = "invalid"

    def __init__(self, field, detail):
        super().__init__({"detail": detail, "field": field})


def fold(text):
    """A name as matched: case-folded, accent-free (the project's intake folding),
    punctuation and hyphens as spaces, one space between words, no leading "the"."""
    words = _NOT_WORD.sub(" ", normalise(text.translate(_ARABIC))).split()
    if words[:1] == ["the"]:
        words = words[1:]
    return " ".join(words)


class Name:
    """A name folded every way it is compared: whole, without its spaces, as its words
    and as the trigrams of its letters."""

    __slots__ = ("site", "folded", "compact", "words", "trigrams")

    def __init__(self, site, text):
        self.site = site
        self.folded = fold(text)
        self.compact = self.folded.replace(" ", "")
        self.words = frozenset(self.folded.split()) - _LITTLE_WORDS
        padded = f"^{self.compact}$"
        self.trigrams = frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


@dataclasses.dataclass(frozen=True)
class Query:
    text: str | None
    kinds: frozenset | None
    limit: int
    properties: tuple  # ((pid, (value, …)), …)


@dataclasses.dataclass(frozen=True)
class Entry:
    pk: int
    slug: str
    name: str
    kind: str
    parent: int | None


def kind_label(kind):
    return str(SiteKind(kind).label) if kind in SiteKind.values else kind


class Register:
    """Every public site under every reviewed name, indexed for matching in memory:
    built from two queries, and kept while those read the same rows."""

    def __init__(self, sites, names):
        self.sites = {row[0]: Entry(*row) for row in sites}
        self.by_slug = {entry.slug: pk for pk, entry in self.sites.items()}
        self.names = []
        self.by_compact = defaultdict(list)
        self.by_word = defaultdict(list)
        self.by_trigram = defaultdict(list)
        words = defaultdict(set)
        for site_id, text in [(pk, entry.name) for pk, entry in self.sites.items()] + names:
            if site_id not in self.sites:
                continue  # a reviewed name of a site awaiting review
            name = Name(site_id, text)
            index = len(self.names)
            self.names.append(name)
            self.by_compact[name.compact].append(index)
            for word in name.words:
                self.by_word[word].append(index)
            for trigram in name.trigrams:
                self.by_trigram[trigram].append(index)
            words[site_id] |= name.words
        self.ancestors = {pk: self._ancestors(pk) for pk in self.sites}
        self.children = defaultdict(list)
        for pk, chain in self.ancestors.items():
            if chain:
                self.children[chain[0]].append(pk)
        self.countries = {pk for pk, entry in self.sites.items() if entry.kind == SiteKind.COUNTRY}
        # The words of the places each site lies in: "Temple of Bel, Palmyra" names it.
        self.place_words = {
            pk: frozenset(word for place in chain for word in words[place])
            for pk, chain in self.ancestors.items()
        }

    def _ancestors(self, pk):
        """The public places `pk` lies in, nearest first (a place awaiting review ends
        the chain: the public does not see it)."""
        chain, seen = [], {pk}
        parent = self.sites[pk].parent
        while parent in self.sites and parent not in seen:
            chain.append(parent)
            seen.add(parent)
            parent = self.sites[parent].parent
        return tuple(chain)

    def reconcile(self, query):
        admits, within = self.admission(query)
        if query.text is None:  # properties only: every site that has them, alike
            scores, exact = {pk: 50 for pk in within if admits(pk)}, set()
        else:
            scores, exact = self.scores(query.text, admits)
        ranked = sorted(scores, key=lambda pk: (-scores[pk], self.sites[pk].name, pk))
        matched = next(iter(exact)) if len(exact) == 1 else None
        return [self.candidate(pk, scores[pk], pk == matched) for pk in ranked[: query.limit]]

    def scores(self, text, admits):
        """Each admitted site's best score under any of its names, and the sites the
        query names exactly."""
        query = Name(None, text)
        scores, exact = {}, set()
        slug = self.by_slug.get(text.strip())
        if slug is not None and admits(slug):
            scores[slug] = NAMED
            exact.add(slug)
        if not query.compact:
            return scores, exact
        # Candidates: names with enough trigrams in common to score, with all their
        # words in the query or all the query's words, or with the same letters.
        shared = Counter()
        for trigram in query.trigrams:
            shared.update(self.by_trigram.get(trigram, ()))
        size, least = len(query.trigrams), SHOWN / FUZZY / 2
        found = {i for i, n in shared.items() if n >= least * (size + len(self.names[i].trigrams))}
        hits = Counter()
        for word in query.words:
            hits.update(self.by_word.get(word, ()))
        wanted = len(query.words)
        found.update(i for i, n in hits.items() if n in (wanted, len(self.names[i].words)))
        found.update(self.by_compact.get(query.compact, ()))
        for index in found:
            name = self.names[index]
            if not admits(name.site):
                continue
            dice = 2 * shared[index] / (size + len(name.trigrams))
            points = self.points(query, name, dice)
            if points < SHOWN:
                continue
            if points >= SPACED:
                exact.add(name.site)
            scores[name.site] = max(points, scores.get(name.site, 0))
        return scores, exact

    def points(self, query, name, dice):
        if query.folded == name.folded:
            return NAMED
        if query.compact == name.compact:
            return SPACED
        if query.words and query.words == name.words:
            return WORDS
        points = round(FUZZY * dice)
        common = query.words & name.words
        place = self.place_words[name.site]
        if common and name.words < query.words and query.words - name.words <= place:
            return WORDS
        if common and (name.words < query.words or query.words < name.words):
            share = len(common) / len(query.words | name.words)
            points = max(points, round(50 + (FUZZY - 50) * share))
        return points

    def admission(self, query):
        """Whether a site meets the query's type and properties (by its pk), and the
        sites that meet its properties."""
        within = set(self.sites)
        for pid, values in query.properties:
            # Any of the values: within every place one of them names.
            meets = set()
            for parts in (self.places(pid, value) for value in values):
                meets |= set.intersection(*(self.within(part) for part in parts))
            within &= meets

        def admits(pk):
            return pk in within and (query.kinds is None or self.sites[pk].kind in query.kinds)

        return admits, within

    def within(self, places):
        """The sites that lie in any of `places`, at any depth."""
        found, todo = set(), list(places)
        while todo:
            for child in self.children.get(todo.pop(), ()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found

    def places(self, pid, value):
        """The places a property value names, as sets a site must lie in one of each:
        "Palmyra, Syria" is two, {"id": "palmyra"} one. A part of a list the register
        does not know is passed over ("Palmyra, Homs Governorate"); none known, and
        nothing is admitted."""
        if isinstance(value, dict):
            named = self.named(value["id"]) | self.named(value.get("name", ""))
            parts = [named]
        elif isinstance(value, str):
            whole = self.named(value)
            parts = [whole] if whole else [self.named(part) for part in value.split(",")]
            parts = [part for part in parts if part] or [set()]
        else:
            parts = [set()]  # a number or a boolean names no place
        if pid == "country":
            parts = [part & self.countries for part in parts]
        return parts

    def named(self, text):
        """The sites `text` names exactly: by a name, after folding, or by slug."""
        compact = fold(text).replace(" ", "")
        sites = {self.names[i].site for i in self.by_compact.get(compact, ())} if compact else set()
        if text.strip() in self.by_slug:
            sites.add(self.by_slug[text.strip()])
        return sites

    def candidate(self, pk, score, match):
        entry = self.sites[pk]
        return {
            "id": entry.slug,
            "name": entry.name,
            "type": [{"id": entry.kind, "name": kind_label(entry.kind)}],
            "score": score,
            "match": match,
            "description": self.description(pk),
        }

    def description(self, pk):
        """ "temple in Palmyra, Syria": its kind and the places it lies in."""
        label = kind_label(self.sites[pk].kind)
        kind = label[:1].lower() + label[1:]
        places = ", ".join(self.sites[place].name for place in self.ancestors[pk])
        return f"{kind} in {places}" if places else kind


_kept = {}


def public_register():
    """The Register of the public record now. Two queries each time (sites, names),
    whatever the batch; the index is built again only when their rows changed."""
    sites = list(
        Site.objects.public().order_by("pk").values_list("pk", "slug", "name", "kind", "parent_id")
    )
    names = list(SiteName.objects.public().order_by("pk").values_list("site_id", "name"))
    rows = (sites, names)
    kept = _kept.get("register")
    if kept is None or kept[0] != rows:
        kept = (rows, Register(sites, names))
        _kept["register"] = kept
    return kept[1]


# Reading a batch


def _printable(text):
    # A name the client chose, made safe to write into JSON (a lone surrogate is not).
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def read_batch(text):
    """The batch of queries in `text`, {id: Query}; InvalidQueries names what is wrong."""
    if text is None:
        raise InvalidQueries("queries", "Send the queries as JSON in a field named `queries`.")
    try:
        batch = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidQueries("queries", "`queries` is not valid JSON.") from None
    if not isinstance(batch, dict):
        raise InvalidQueries(
            "queries", '`queries` is a JSON object of queries by id: {"q0": {"query": …}}.'
        )
    if len(batch) > MAX_QUERIES:
        raise InvalidQueries("queries", f"At most {MAX_QUERIES} queries in one batch.")
    for key in batch:
        if len(key) > MAX_ID_LENGTH or _printable(key) != key:
            raise InvalidQueries(
                "queries", f"A query's id is a text of at most {MAX_ID_LENGTH} characters."
            )
    return {key: read_query(f"queries.{key}", query) for key, query in batch.items()}


def read_query(field, raw):
    if not isinstance(raw, dict):
        raise InvalidQueries(
            field, 'A query is an object: {"query": …}, with `type`, `limit`, `properties`.'
        )
    for name in raw:
        if name not in QUERY_FIELDS:
            known = ", ".join(QUERY_FIELDS)
            unknown = f"{field}.{_printable(name)}"
            raise InvalidQueries(unknown, f"Unknown field: a query has {known}.")
    text = raw.get("query")
    if "query" in raw and not isinstance(text, str):
        raise InvalidQueries(f"{field}.query", "The query is a string.")
    if text is not None and len(text) > MAX_QUERY_LENGTH:
        raise InvalidQueries(f"{field}.query", f"At most {MAX_QUERY_LENGTH} characters.")
    if raw.get("type_strict", "any") not in TYPE_STRICTNESS:
        raise InvalidQueries(f"{field}.type_strict", f"One of {', '.join(TYPE_STRICTNESS)}.")
    properties = read_properties(f"{field}.properties", raw.get("properties", []))
    if text is None and not properties:
        raise InvalidQueries(f"{field}.query", "Give a query string, or properties to match.")
    return Query(
        text=text,
        kinds=read_types(f"{field}.type", raw.get("type", [])),
        limit=read_limit(f"{field}.limit", raw.get("limit", DEFAULT_LIMIT)),
        properties=properties,
    )


def read_types(field, types):
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or not all(isinstance(kind, str) for kind in types):
        raise InvalidQueries(field, "A type is a site kind, or a list of them.")
    if any(kind not in SiteKind.values for kind in types):
        raise InvalidQueries(
            field, f"Unknown type: the types are the site kinds, {', '.join(SiteKind.values)}."
        )
    return frozenset(types) or None


def read_limit(field, limit):
    if isinstance(limit, float) and limit.is_integer():
        limit = int(limit)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidQueries(field, f"The limit is a whole number from 1 to {MAX_LIMIT}.")
    return limit


def read_properties(field, properties):
    if not isinstance(properties, list) or len(properties) > MAX_PROPERTIES:
        raise InvalidQueries(field, f"Properties are a list of at most {MAX_PROPERTIES}.")
    read = []
    for number, item in enumerate(properties):
        here = f"{field}.{number}"
        if not isinstance(item, dict) or "pid" not in item or "v" not in item:
            raise InvalidQueries(here, 'A property is {"pid": …, "v": …}.')
        pid = item["pid"]
        if not isinstance(pid, str) or pid not in PROPERTIES:
            raise InvalidQueries(
                f"{here}.pid", f"Unknown property: the properties are {', '.join(PROPERTIES)}."
            )
        values = item["v"] if isinstance(item["v"], list) else [item["v"]]
        if not values or len(values) > MAX_VALUES or not all(map(_readable_value, values)):
            raise InvalidQueries(
                f"{here}.v",
                f"A value is a name, or an entity {{id, name}}, or a list of at most {MAX_VALUES}.",
            )
        read.append((pid, tuple(values)))
    return tuple(read)


def _readable_value(value):
    if isinstance(value, str):
        return len(value) <= MAX_QUERY_LENGTH
    if isinstance(value, dict):
        texts = [value.get("id"), value.get("name", "")]
        return all(isinstance(t, str) and len(t) <= MAX_QUERY_LENGTH for t in texts)
    return isinstance(value, int | float)


# The answers


def manifest(request):
    def address(name):
        return request.build_absolute_uri(reverse(name))

    sites = address("heritage:site-list")
    return {
        "versions": ["0.2"],
        "name": "Heritage damage register",
        "identifierSpace": sites,
        "schemaSpace": address("api:schema") + "#/components/schemas/Site",
        "documentation": address("api:docs"),
        "defaultTypes": [{"id": kind.value, "name": str(kind.label)} for kind in SiteKind],
        "view": {"url": sites + "{{id}}/"},
        "preview": {"url": address("api:reconcile-preview") + "?id={{id}}", **CARD_SIZE},
        "suggest": {
            "property": {
                "service_url": address("api:reconcile").rstrip("/"),
                "service_path": "/suggest/property/",
            }
        },
        "batchSize": MAX_QUERIES,
    }


def reconcile(text):
    queries = read_batch(text)
    register = public_register()
    return {key: {"result": register.reconcile(query)} for key, query in queries.items()}


MANIFEST_SCHEMA = {
    "type": "object",
    "description": "The service manifest (a GET without `queries`).",
    "required": ["versions", "name", "identifierSpace", "schemaSpace"],
    "properties": {
        "versions": {"type": "array", "items": {"type": "string"}},
        "name": {"type": "string"},
        "identifierSpace": {"type": "string"},
        "schemaSpace": {"type": "string"},
        "defaultTypes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
            },
        },
    },
}
RESULTS_SCHEMA = {
    "type": "object",
    "description": "For each query's id, its candidates, best first.",
    "additionalProperties": {
        "type": "object",
        "required": ["result"],
        "properties": {
            "result": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "name", "type", "score", "match"],
                    "properties": {
                        "id": {"type": "string", "description": "The site's slug."},
                        "name": {"type": "string"},
                        "description": {"type": "string"},
                        "score": {"type": "number", "minimum": 0, "maximum": 100},
                        "match": {"type": "boolean"},
                        "type": {"type": "array", "items": {"type": "object"}},
                    },
                },
            }
        },
    },
}
QUERIES_HELP = (
    'A JSON object of queries by id: {"q0": {"query": "Temple of Bel", "type": "temple", '
    '"limit": 5, "properties": [{"pid": "parent", "v": "Palmyra"}]}}. At most '
    f"{MAX_QUERIES} queries of {MAX_QUERY_LENGTH} characters; `limit` 1 to {MAX_LIMIT}; "
    "the types are the site kinds; the properties `parent` and `country`."
)
REFUSED = OpenApiResponse(ERROR, description="`queries` cannot be read: `field` names what.")


class ReconcileView(APIView):
    """The reconciliation service (W3C Reconciliation Service API 0.2, for OpenRefine)."""

    # The public record only, the same for everyone: no login, so no CSRF token either.
    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    parser_classes = [parsers.FormParser]
    renderer_classes = [FastJSONRenderer]

    @extend_schema(
        summary="Reconciliation: the service manifest, or the candidates for `queries`",
        parameters=[OpenApiParameter("queries", OpenApiTypes.STR, description=QUERIES_HELP)],
        responses={
            200: OpenApiResponse(
                {"anyOf": [MANIFEST_SCHEMA, RESULTS_SCHEMA]},
                description="The manifest without `queries`; the candidates with it.",
            ),
            400: REFUSED,
        },
    )
    def get(self, request):
        if "queries" not in request.query_params:
            return Response(manifest(request))
        return Response(reconcile(request.query_params["queries"]))

    @extend_schema(
        summary="Reconciliation: the candidates for `queries` (OpenRefine's way)",
        request={
            "application/x-www-form-urlencoded": inline_serializer(
                "ReconciliationQueries", {"queries": serializers.CharField(help_text=QUERIES_HELP)}
            )
        },
        responses={200: OpenApiResponse(RESULTS_SCHEMA), 400: REFUSED},
    )
    def post(self, request):
        return Response(reconcile(request.data.get("queries")))


# The preview: a card OpenRefine frames, of at most this size.

CARD_SIZE = {"width": 400, "height": 100}
CARD_STYLE = mark_safe(
    "body{margin:0;padding:6px 8px;font:14px/1.4 system-ui,sans-serif;overflow:hidden}"
    "h1{font-size:16px;margin:0 0 2px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}"
    "p{margin:0}"
)
CARD = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{}</title>'
    "<style>{}</style></head><body>"
    '<h1><a href="{}" target="_blank" rel="noopener">{}</a></h1><p>{}</p><p>Condition: {}</p>'
    "</body></html>"
)
# Framed by OpenRefine, wherever it runs: no script, no request of its own, inline style.
CARD_POLICY = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.UNSAFE_INLINE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.NONE],
    "frame-ancestors": ["*"],
}


class CardRenderer(renderers.BaseRenderer):
    media_type = "text/html"
    format = "html"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode()
        # A refusal (not found, throttled): its words, as HTML.
        detail = data.get("detail", "") if isinstance(data, dict) else ""
        return format_html('<!DOCTYPE html><html lang="en"><p>{}</p></html>', detail).encode()


class PreviewView(APIView):
    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    renderer_classes = [CardRenderer]

    @extend_schema(
        summary="Reconciliation: a site's preview card (HTML)",
        parameters=[OpenApiParameter("id", OpenApiTypes.STR, required=True, description="A slug.")],
        responses={
            (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="The card."),
            (404, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="No public site."),
        },
    )
    def get(self, request):
        slug = request.query_params.get("id", "")
        # The parent chain in the same query, as deep as places usually go.
        found = (
            Site.objects.public().select_related("parent__parent__parent").filter(slug=slug)
            if _SLUG.fullmatch(slug)
            else Site.objects.none()
        )
        site = found.first()
        if site is None:
            raise NotFound("No public site has this id.")
        places, place, seen = [], site.parent, {site.pk}
        while place is not None and place.approved and place.pk not in seen:
            places.append(place.name)
            seen.add(place.pk)
            place = place.parent
        label = kind_label(site.kind)
        where = f"{label} in {', '.join(places)}" if places else label
        condition = dict(DamageLevel.choices).get(site.condition) or "no report published"
        page = request.build_absolute_uri(site.get_absolute_url())
        return Response(format_html(CARD, site.name, CARD_STYLE, page, site.name, where, condition))


# Suggesting properties: what OpenRefine offers as "relevant details from other columns".

SUGGESTIONS_SCHEMA = {
    "type": "object",
    "required": ["result"],
    "properties": {
        "result": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                },
            },
        }
    },
}


class PropertySuggestView(APIView):
    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    renderer_classes = [FastJSONRenderer]

    @extend_schema(
        summary="Reconciliation: the properties a query may use, by the start of a name",
        parameters=[
            OpenApiParameter("prefix", OpenApiTypes.STR, description="The start of an id or name."),
            OpenApiParameter("cursor", OpenApiTypes.INT, description="How many to skip."),
        ],
        responses={200: OpenApiResponse(SUGGESTIONS_SCHEMA), 400: REFUSED},
    )
    def get(self, request):
        cursor = request.query_params.get("cursor", "0")
        if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 9):
            raise InvalidQueries("cursor", "The cursor is how many suggestions to skip: 0, 1, …")
        prefix = fold(request.query_params.get("prefix", ""))
        found = [
            {"id": pid, "name": name, "description": description}
            for pid, (name, description) in PROPERTIES.items()
            if fold(pid).startswith(prefix) or fold(name).startswith(prefix)
        ]
        return Response({"result": found[int(cursor) :]})


reconcile_view = ReconcileView.as_view()
preview_view = csp_override(CARD_POLICY)(xframe_options_exempt(PreviewView.as_view()))

# Included under api/v1/reconcile/ (heritage/urls.py), in the API's namespace.
urlpatterns = [
    path("", reconcile_view, name="reconcile"),
    path("preview/", preview_view, name="reconcile-preview"),
    path("suggest/property/", PropertySuggestView.as_view(), name="reconcile-suggest-property"),
]
