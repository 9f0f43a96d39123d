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

from heritage.dataset import csv_line, iso_bound
from heritage.models import (
    DamageLevel,
)


class FastJSONRenderer(renderers.JSONRenderer):
    """JSON by orjson, several times faster than the standard library on a page of a
    few hundred rows; what orjson does not know (lazy translations, Decimals) goes
    through DRF's own encoder. An `indent` asked for in Accept takes DRF's path."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        return orjson.dumps(data, default=self.encoder_class().default)


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


def stream_csv(header, rows, filename):
    """A CSV response sent as `rows` are read, so that no export is held in memory."""

    def lines():
        yield "\ufeff"  # a byte-order mark: spreadsheets then read the file as UTF-8
        yield csv_line(header)
        for row in rows:
            yield csv_line(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class GeoJSONRenderer(FastJSONRenderer):
    media_type = "application/geo+json"
    format = "geojson"


def site_feature(site, request):
    """A site as an RFC 7946 Feature: [longitude, latitude], null where not located."""
    located = site.latitude is not None and site.longitude is not None
    condition = getattr(site, "condition", None)
    return {
        "type": "Feature",
        "id": site.slug,
        "geometry": {"type": "Point", "coordinates": [float(site.longitude), float(site.latitude)]}
        if located
        else None,
        "properties": {
            "slug": site.slug,
            "name": site.name,
            "kind": site.kind,
            "parent": site.parent.slug if site.parent_id else None,
            "location_precision": site.location_precision or None,
            "condition": condition,
            "unosat_label": DamageLevel.unosat_label(condition) or None,
            "event_count": getattr(site, "event_count", 0),
            "last_event": iso_bound(getattr(site, "last_event", None)),
            "page": request.build_absolute_uri(site.get_absolute_url()),
        },
    }
