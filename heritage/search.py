"""Full-text search, whichever database holds the register.

On PostgreSQL it is PostgreSQL's own search, with web-search syntax: `temple bel`
(both words), `"tower tombs"` (a phrase), `arch or theatre`, `temple -bel`, and English
stemming ("temples" finds "temple"). The query must match one record's own text: an
event's summary and description, or one of its site's names. On SQLite every word must
occur, in any case, in one of the fields; quotes, `or` and `-` are read as plain words.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connections, migrations
from django.db.models import Exists, OuterRef, Q

MAX_WORDS = 12
CONFIG = "english"


def search(queryset, text, fields):
    """The rows of `queryset` whose `fields` (related lookups allowed) match `text`."""
    text = " ".join((text or "").split())
    if not text:
        return queryset
    model = queryset.model
    if connections[queryset.db].vendor == "postgresql":
        # One document per table (an event's own text, its site's name, each other
        # name), each found through its GIN index (search_index) rather than by
        # building a document for every row of every table.
        query = SearchQuery(text, search_type="websearch", config=CONFIG)
        condition = Q()
        for (link, owner, key), names in documents(model, fields).items():
            matches = (
                reviewed(owner.objects.all())
                .annotate(search_document=SearchVector(*names, config=CONFIG))
                .filter(search_document=query)
                .values(key)
            )
            condition |= Q(**{f"{link}__in" if link else "pk__in": matches})
        return queryset.filter(condition)
    condition = Q()
    for word in text.replace('"', " ").split()[:MAX_WORDS]:
        any_field = Q()
        for field in fields:
            any_field |= contains(model, field, word)
        condition &= any_field
    # A plain condition, not a subquery: a page sorted by an index can then stop at its
    # last row instead of matching the whole table first.
    return queryset.filter(condition)


def documents(model, fields):
    """`fields` grouped by the table that holds them: {(link from `model`, owning
    model, the owner's column that `link` matches): [its fields, in order]}."""
    groups = {}
    for path in fields:
        parts, owner, key, link = path.split("__"), model, "pk", []
        for depth, part in enumerate(parts[:-1]):
            field = owner._meta.get_field(part)
            if field.one_to_many or field.many_to_many:
                owner, key = field.related_model, field.field.name
                parts = parts[depth + 1 :]
                break
            owner = field.related_model
            link.append(part)
        groups.setdefault(("__".join(link), owner, key), []).append(parts[-1])
    return groups


def reviewed(rows):
    """Of another table's rows that a search reads (a site's other names), only those an
    editor has reviewed: a name waiting for review finds nothing yet."""
    if any(f.name == "approved" for f in rows.model._meta.concrete_fields):
        return rows.filter(approved=True)
    return rows


def search_index(*fields, name):
    """The GIN index of the document search() builds from these `fields` of one table,
    in this order. Made on PostgreSQL only (see AddSearchIndex)."""
    return GinIndex(SearchVector(*fields, config=CONFIG), name=name)


class AddSearchIndex(migrations.AddIndex):
    """A search_index() in a migration: created on PostgreSQL, skipped elsewhere (SQLite
    has no to_tsvector, and search() reads it word by word)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class BesideSearchIndexes:
    """Mixin for a migration operation that makes SQLite rebuild a table (adding or
    altering a column does): the rebuild recreates every index of the model's state,
    search indexes included, which SQLite cannot make. Elsewhere than PostgreSQL the
    operation runs against states without them."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            from_state, to_state = _unsearched(from_state), _unsearched(to_state)
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            from_state, to_state = _unsearched(from_state), _unsearched(to_state)
        super().database_backwards(app_label, schema_editor, from_state, to_state)


def _unsearched(state):
    state = state.clone()
    for model in state.models.values():
        indexes = model.options.get("indexes", [])
        model.options["indexes"] = [i for i in indexes if not isinstance(i, GinIndex)]
    state.__dict__.pop("apps", None)  # rendered again from the models as changed
    return state


class AddField(BesideSearchIndexes, migrations.AddField):
    pass


class AlterField(BesideSearchIndexes, migrations.AlterField):
    pass


def contains(model, path, word):
    """`path` contains `word`, ignoring case. Across a one-to-many relation (a site's
    names) it is an EXISTS, which cannot repeat a row the way a join would."""
    parts = path.split("__")
    for depth, part in enumerate(parts[:-1]):
        field = model._meta.get_field(part)
        if field.one_to_many or field.many_to_many:
            outer = "__".join(parts[:depth]) or "pk"
            rest = "__".join(parts[depth + 1 :])
            related = reviewed(field.related_model.objects.all()).filter(
                **{field.field.name: OuterRef(outer), f"{rest}__icontains": word}
            )
            return Exists(related)
        model = field.related_model
    return Q(**{f"{path}__icontains": word})
