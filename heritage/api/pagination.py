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

    def get_page_size(self, request):
        # DRF falls back to the default on a page_size it cannot read, and shrinks one
        # too large: a client would never learn it asked for something else.
        asked = request.query_params.get(self.page_size_query_param, "")
        if asked == "":
            return self.page_size
        if not asked.isdigit() or not 1 <= int(asked) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [
                    f"Give a whole number of rows from 1 to {self.max_page_size}."]}
            )  # fmt: skip
        return int(asked)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] |= {"minimum": 1, "maximum": self.max_page_size}
        return parameters

    def get_ordering(self, request, queryset, view):
        return view.ordering

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
