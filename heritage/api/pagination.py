"""Cursor pages for every list of the API."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import (
    NotFound,
    ValidationError,
)
from rest_framework.pagination import Cursor, CursorPagination


class RecordPagination(CursorPagination):
    """Cursor pages: a deep page costs what the first does (no OFFSET), and rows added
    meanwhile neither repeat nor vanish. Sorted by the `ordering` parameter where the
    view offers it, always ending on the primary key so that every row has one place."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_ordering(self, request, queryset, view):
        return view.cursor_orderings[request.query_params.get("ordering", "")]

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        # b64decode() skips what is not base64, so an altered cursor ("' OR 1=1 --", "%")
        # can read as no position at all, and would answer the first page as if it were
        # the one asked for. No cursor we hand out reads so.
        if request.query_params.get(self.cursor_query_param) and cursor == Cursor(0, False, None):
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except (NotFound, DjangoValidationError, ValueError, TypeError, OverflowError) as error:
            # A cursor is only ever one we handed out: anything else was altered.
            raise ValidationError(
                {"cursor": ["Invalid cursor: follow `next` as given."]}
            ) from error
