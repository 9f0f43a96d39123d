"""Full-text search, whichever database holds the register.

On PostgreSQL it is PostgreSQL's own search, with web-search syntax: `temple bel`
(both words), `"tower tombs"` (a phrase), `arch or theatre`, `temple -bel`, and English
stemming ("temples" finds "temple"). On SQLite every word must occur, in any case,
in one of the fields; quotes, `or` and `-` are read as plain words.
"""

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connections
from django.db.models import Q

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
    else:
        condition = Q()
        for word in text.replace('"', " ").split()[:MAX_WORDS]:
            any_field = Q()
            for field in fields:
                any_field |= Q(**{f"{field}__icontains": word})
            condition &= any_field
        matches = model.objects.filter(condition)
    # A subquery keeps one row per match however many aliases matched.
    return queryset.filter(pk__in=matches.values("pk"))
