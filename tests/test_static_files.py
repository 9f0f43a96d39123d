"""With DEBUG off, the register serves its own static files, Leaflet's included."""

import pytest
from django.core.management import call_command
from django.test import Client


@pytest.mark.parametrize("path", ["heritage/site.css", "heritage/map.js", "leaflet/leaflet.js"])
def test_collected_static_files_are_served_without_a_web_server(settings, tmp_path, path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    response = Client().get(f"/static/{path}")  # a new client, so WhiteNoise sees the files
    assert response.status_code == 200
    assert b"".join(response.streaming_content)
    assert response.headers["Cache-Control"]
