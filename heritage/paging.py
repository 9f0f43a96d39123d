"""Pages of the public lists (events, sites, sources, a source's citations), counted
only so far.

With a hundred thousand events, Django's paginator spent most of a search's time on
COUNT(*) of every match, for a number nobody reads past "more than a thousand".
"""

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class BoundedPaginator(Paginator):
    """Django's Paginator over the first `limit` rows of a queryset, and no further.

    The rows are counted no further than `limit` + 1: `count` is exact up to `limit`,
    and `more` says whether more match. A search reads at most a thousand and one
    matches to count them, however many there are.

    Pages are read by OFFSET, and only within those `limit` rows: the deepest page skips
    at most `limit` rows, and a page past them is not found, like one past the end. Not
    a keyset cursor, which would reach every row at the cost of the first page: the
    lists also sort by figures computed per row (a site's events, its latest one; a
    source's events) that no index holds, so a cursor would still sort every match for
    a deep page; and `?page=` links stay as they were. A longer list is narrowed by its
    filters, and the API's cursor pages and CSV give every row.
    """

    limit = 1000

    @cached_property
    def found(self):
        """The ids of the matching rows, in no order, no more than `limit` + 1.

        Ids rather than COUNT(*) over the same bounded subquery, which costs the same:
        when there are no more than `limit`, the page is read from them by id. A page
        read in its sort order stops at its last row, but that of a search with a few
        matches went through the whole sorted table looking for more (on 100,000
        events, 660 ms rather than 9).
        """
        # Unordered: the database finds matches the cheapest way, and stops at the limit.
        return list(self.object_list.order_by().values_list("pk", flat=True)[: self.limit + 1])

    @property
    def count(self):
        """How many rows the pages hold: every matching row, up to `limit`."""
        return min(len(self.found), self.limit)

    @property
    def more(self):
        """Whether more than `limit` rows match: more than the pages show."""
        return len(self.found) > self.limit

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        rows = self.object_list if self.more else self.object_list.filter(pk__in=self.found)
        return self._get_page(rows[bottom:top], number, self)
