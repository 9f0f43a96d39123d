"""Full-text search, whichever database holds the register.

On PostgreSQL it is PostgreSQL's own search, with web-search syntax: `temple bel`
(both words), `"tower tombs"` (a phrase), `arch or theatre`, `temple -bel`, and English
stemming ("temples" finds "temple"). On SQLite every word must occur, in any case,
in one of the fields; quotes, `or` and `-` are read as plain words.
"""

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connections
from django.db.models import Exists, OuterRef, Q

MAX_WORDS = 12


def search(queryset, text, fields):
    """The rows of `queryset` whose `fields` (related lookups allowed) match `text`."""
    text = " ".join((text or "").split())
    if not text:
        return queryset
    model = queryset.model
    if connections[queryset.db].vendor == "postgresql":
        matches = model.objects.annotate(document=SearchVector(*fields, config="english"))
        matches = matches.filter(
            document=SearchQuery(text, search_type="websearch", config="english")
        )
        # A subquery keeps one row per match however many aliases matched.
        return queryset.filter(pk__in=matches.values("pk"))
    condition = Q()
    for word in text.replace('"', " ").split()[:MAX_WORDS]:
        any_field = Q()
        for field in fields:
            any_field |= contains(model, field, word)
        condition &= any_field
    # A plain condition, not a subquery: a page sorted by an index can then stop at its
    # last row instead of matching the whole table first.
    return queryset.filter(condition)


def contains(model, path, word):
    """`path` contains `word`, ignoring case. Across a one-to-many relation (a site's
    names) it is an EXISTS, which cannot repeat a row the way a join would."""
    parts = path.split("__")
    for depth, part in enumerate(parts[:-1]):
        field = model._meta.get_field(part)
        if field.one_to_many or field.many_to_many:
            outer = "__".join(parts[:depth]) or "pk"
            rest = "__".join(parts[depth + 1 :])
            related = field.related_model.objects.filter(
                **{field.field.name: OuterRef(outer), f"{rest}__icontains": word}
            )
            return Exists(related)
        model = field.related_model
    return Q(**{f"{path}__icontains": word})
