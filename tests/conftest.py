import pytest
from django.core.management import call_command


@pytest.fixture
def palmyra(db):
    """The Palmyra record, as `make run` loads it."""
    call_command("load_palmyra", verbosity=0)


@pytest.fixture
def editor(db, django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("editor")
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name="editor"))
    return user


@pytest.fixture
def curator(db, django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("curator")
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name="curator"))
    return user


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client
