"""How the OpenAPI schema describes what the API really answers."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse


class RegisterSchema(AutoSchema):
    """Documents what a list really answers: only its JSON is a page of rows; CSV,
    GeoJSON and CSL-JSON hold every matching row, unwrapped. And, on each operation,
    the errors it may answer besides its own answers."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        errors = {"GET": READ_ERRORS, "POST": WRITE_ERRORS}.get(method, CHANGE_ERRORS)
        if method != "GET":
            # A write answers in JSON whatever `format` says (RegisterViewSet).
            operation["parameters"] = [
                p for p in operation.get("parameters", []) if p["name"] != "format"
            ]
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and not parameter.get("required"):
                # An empty filter is no filter: the HTML form sends every field, empty
                # or not, through the same FilterSet.
                parameter["allowEmptyValue"] = True
        if method in ("PUT", "PATCH", "DELETE"):
            operation.setdefault("parameters", []).append(IF_MATCH)
        responses = operation.setdefault("responses", {})
        for code, answer in errors.items():
            responses.setdefault(code, answer)
        return operation

    def get_auth(self):
        # Reads are open to everyone (RecordPermission): say so, as drf-spectacular does
        # for its own read-only permissions, with an empty requirement.
        auths = super().get_auth()
        if self.method in ("GET", "HEAD", "OPTIONS") and {} not in auths:
            auths.append({})
        return auths

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


ERROR = {
    "type": "object",
    "description": "What went wrong: `detail`, or each field's (or parameter's) messages.",
    "additionalProperties": True,
}


def _error(description):
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


# The refusals every operation of a kind may answer, as they are answered: the same
# JSON error body whatever format was asked for (RegisterViewSet.handle_exception).
READ_ERRORS = {
    "400": _error("A parameter is not valid; the body names it."),
    "401": _error("The token or session given is not valid."),
    "404": _error("No such record, page or format, or not one you may see."),
    "429": _error("Too many requests: wait for the time in Retry-After."),
}
WRITE_ERRORS = READ_ERRORS | {
    "202": {
        "description": "Taken as a proposal: a change to the published record waits in "
        "the review queue for an editor, who is not you, to approve it.",
        "content": {
            "application/json": {
                "schema": ERROR
                | {"description": "The proposal: its id, what it changes, and where it waits."}
            }
        },
    },
    "403": _error("Your role may not make this change, or take this step."),
    "409": _error("The workflow refuses it as things stand (a record cited, a step taken)."),
    "412": _error("The record changed since the version you name (If-Match) was read."),
    "413": _error("The request body is too large."),
}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "schema": {"type": "string"},
    "description": "The ETag of the record as you read it: the change is refused (412) "
    "if it has changed since.",
}
CHANGE_ERRORS = WRITE_ERRORS | {
    "428": _error(
        "A change to an existing record must say which version it was read at "
        "(If-Match with its ETag)."
    ),  # fmt: skip
}
