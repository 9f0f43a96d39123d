"""Schemathesis reads the API's OpenAPI schema and sends generated requests to every
operation: none may fail with a server error, and every answer must match the schema."""

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.config import SchemathesisConfig

from heritage.wsgi import application

# Every check Schemathesis has. A request the schema allows may still be refused for
# what no schema states: an id that does not exist (400), a date that is not EDTF (400),
# a record changed since the ETag sent (412); those count as answers to valid data.
config = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "412", "428"]
            }
        }
    }
)
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application, config=config)


@pytest.fixture
def editor_token(editor):
    return Token.objects.create(user=editor).key


@pytest.fixture
def one_connection():
    """Requests go through the real WSGI handler, which closes the database connection
    after each one; inside a test's transaction that would close the test's own. Django's
    test client unhooks the same signal for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_schema_documents_every_endpoint():
    paths = set(schema.raw_schema["paths"])
    for endpoint in ["sites", "events", "sources", "citations"]:
        assert f"/api/v1/{endpoint}/" in paths
    assert "/api/v1/sites/{slug}/" in paths


def test_every_format_an_operation_offers_is_documented_on_its_answer():
    """Schemathesis picks `format` values at random; an answer in a format the schema does
    not list fails it only on the runs that happen to pick that value. Checked here for
    every operation and every value at once."""
    media_types = {"json": "application/json", "csv": "text/csv"}
    media_types |= {
        "geojson": "application/geo+json",
        "csl": "application/vnd.citationstyles.csl+json",
    }
    undocumented = []
    for path, operations in schema.raw_schema["paths"].items():
        for method, operation in operations.items():
            offered = [
                value
                for parameter in operation.get("parameters", [])
                if parameter["name"] == "format"
                for value in parameter["schema"].get("enum", [])
            ]
            answers = [
                answer.get("content", {})
                for code, answer in operation["responses"].items()
                if code.startswith("2") and answer.get("content")
            ]
            for value in offered:
                if any(media_types[value] not in content for content in answers):
                    undocumented.append(f"{method.upper()} {path} ?format={value}")
    assert not undocumented


@schema.parametrize()
# Derandomized: the same examples on every run, so that a failure is the code's, not the
# draw's, and a passing run means the next one passes too.
@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, palmyra, editor_token, one_connection):
    cache.clear()  # generated requests must not be throttled
    case.call_and_validate(headers={"Authorization": f"Token {editor_token}"})


def test_the_schema_generates_and_validates_without_a_warning(tmp_path):
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "openapi: 3" in out.read_text()
