"""How the API writes its answers (JSON, CSV, GeoJSON) and reads bodies (JSON only)."""

import orjson
from django.http import StreamingHttpResponse
from rest_framework import (
    parsers,
    renderers,
)
from rest_framework.exceptions import (
    ParseError,
)

from heritage.dataset import csv_line


class Documents:
    """JSON text already made (the read model's documents), to be put in an answer as
    it is rather than parsed and written again."""

    def __init__(self, text):
        self.text = text


class Encoder(renderers.JSONRenderer.encoder_class):
    """DRF's encoder, which also writes Documents (for indented JSON and the browsable
    API, which take DRF's path)."""

    def default(self, obj):
        if isinstance(obj, Documents):
            return orjson.loads(obj.text)
        return super().default(obj)


def _fast_default(obj):
    if isinstance(obj, Documents):
        return orjson.Fragment(obj.text)
    return Encoder().default(obj)


class FastJSONRenderer(renderers.JSONRenderer):
    """JSON by orjson, several times faster than the standard library on a page of a
    few hundred rows; stored documents go in as they are; what orjson does not know
    (lazy translations, Decimals) goes through DRF's own encoder. An `indent` asked for
    in Accept takes DRF's path."""

    encoder_class = Encoder

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        return orjson.dumps(data, default=_fast_default)


class JSONParser(parsers.JSONParser):
    """Writes are JSON objects, and only JSON is read: a form, multipart or text body is a
    415 rather than read field by field (where bytes that are not UTF-8 would quietly
    become U+FFFD). JSON nested deeper than Python's parser goes ("[[[[…") is a 400,
    where it was a RecursionError and a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - nested too deeply.") from error


class CSVRenderer(renderers.BaseRenderer):
    """Lets content negotiation choose CSV (`?format=csv` or `Accept: text/csv`). Lists
    stream their rows themselves (RegisterViewSet.list); this renders the rest, such as
    an error, as key,value lines."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        rows = data.items() if isinstance(data, dict) else enumerate(data or [])
        return "".join(csv_line([key, value]) for key, value in rows).encode()


def stream_csv(header, lines, filename):
    """A CSV response sent as its `lines` (CSV text, one row each) are made, so that no
    export is held in memory."""

    def body():
        yield "\ufeff"  # a byte-order mark: spreadsheets then read the file as UTF-8
        yield csv_line(header)
        yield from lines

    response = StreamingHttpResponse(body(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class GeoJSONRenderer(FastJSONRenderer):
    media_type = "application/geo+json"
    format = "geojson"
