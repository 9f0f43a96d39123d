"""How the OpenAPI schema describes what the API really answers."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse


class RegisterSchema(AutoSchema):
    """Documents what a list really answers: only its JSON is a page of rows; CSV,
    GeoJSON and CSL-JSON hold every matching row, unwrapped."""

    def _get_response_for_code(
        self, serializer, status_code, media_types=None, direction="response"
    ):
        self._unpaged = bool(media_types) and "application/json" not in media_types
        try:
            return super()._get_response_for_code(serializer, status_code, media_types, direction)
        finally:
            self._unpaged = False

    def _is_list_view(self, serializer=None):
        return not getattr(self, "_unpaged", False) and super()._is_list_view(serializer)


CSV_RESPONSE = OpenApiResponse(OpenApiTypes.STR, description="Every matching row, as CSV.")
CSV_RECORD = OpenApiResponse(
    OpenApiTypes.STR, description="The record as one CSV row, in the list's columns."
)

GEOJSON_FEATURE = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "string"},
        "geometry": {
            "type": "object",
            "nullable": True,
            "description": "A Point at [longitude, latitude]; null when not located.",
            "properties": {
                "type": {"type": "string", "enum": ["Point"]},
                "coordinates": {"type": "array", "items": {"type": "number"}},
            },
        },
        "properties": {"type": "object", "additionalProperties": True},
    },
}
GEOJSON_COLLECTION = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": GEOJSON_FEATURE},
    },
}
