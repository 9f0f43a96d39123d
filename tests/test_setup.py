"""What `make run` does to a new database: roles, the demo curator, the Palmyra data."""

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import RequestFactory

from heritage.models import Site
from tests.helpers import edit

pytestmark = pytest.mark.django_db


def test_a_new_database_has_the_curator_and_editor_roles():
    curator = set(Group.objects.get(name="curator").permissions.values_list("codename", flat=True))
    editor = set(Group.objects.get(name="editor").permissions.values_list("codename", flat=True))
    assert {"add_damageevent", "change_damageevent", "add_citation", "add_source"} <= curator
    assert "publish_damageevent" not in curator
    assert "delete_source" not in curator
    assert curator < editor
    assert "publish_damageevent" in editor


def test_setup_roles_restores_a_role_that_lost_its_permissions():
    Group.objects.get(name="editor").permissions.clear()
    call_command("setup_roles", stdout=StringIO())
    assert (
        Group.objects.get(name="editor").permissions.filter(codename="publish_damageevent").exists()
    )


def demo_password():
    out = StringIO()
    call_command("demo_curator", stdout=out)
    return re.search(r"with the password (\S+)", out.getvalue()).group(1)


def test_the_demo_curator_gets_a_new_random_password_at_each_start():
    first, second = demo_password(), demo_password()
    assert first != second
    assert len(second) >= 16
    # A request, as the admin's login gives: the lockout (django-axes) counts by address.
    login = RequestFactory().post("/admin/login/")
    assert authenticate(login, username="demo-curator", password=first) is None
    user = authenticate(login, username="demo-curator", password=second)
    assert user.is_staff
    assert user.has_perm("heritage.publish_damageevent")
    assert not user.is_superuser


def test_the_demo_curator_can_log_into_the_admin(client):
    password = demo_password()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "demo-curator", "password": password}
    )
    assert response.status_code == 302
    assert client.get("/admin/heritage/damageevent/").status_code == 200


def test_loading_palmyra_twice_leaves_curators_edits_alone():
    call_command("load_palmyra", stdout=StringIO())
    bel = Site.objects.get(slug="temple-of-bel")
    edit(bel, description="Edited by a curator.")
    out = StringIO()
    call_command("load_palmyra", stdout=out)
    assert "not loaded again" in out.getvalue()
    bel.refresh_from_db()
    assert bel.description == "Edited by a curator."


def test_the_palmyra_rows_start_with_a_first_version_in_history(palmyra):
    bel = Site.objects.get(slug="temple-of-bel")
    assert bel.history.count() == 1


def test_sqlite_connections_queue_writers_instead_of_failing(settings, tmp_path):
    from django.db import connection
    from django.db.backends.sqlite3.base import DatabaseWrapper

    if connection.vendor != "sqlite":
        pytest.skip("SQLite settings only apply on SQLite")
    database = dict(settings.DATABASES["default"], NAME=str(tmp_path / "register.sqlite3"))
    wrapper = DatabaseWrapper(database, alias="probe")
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA busy_timeout")
            assert cursor.fetchone()[0] >= 5000
        assert wrapper.transaction_mode == "IMMEDIATE"
    finally:
        wrapper.close()
