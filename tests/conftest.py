import glob
import os
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command


@pytest.fixture
def palmyra(db):
    """The tests' sample: Palmyra as first recorded (fixtures/palmyra.json)."""
    call_command("load_palmyra", verbosity=0)


def make_staff(django_user_model, role):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(role, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def editor(db, django_user_model):
    return make_staff(django_user_model, "editor")


@pytest.fixture
def curator(db, django_user_model):
    return make_staff(django_user_model, "curator")


@pytest.fixture(autouse=True)
def fresh_cache():
    """Anonymous API throttling counts in the cache; each test starts uncounted."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def pages_not_kept(settings):
    """Tests read each page's template context, which a page answered from the cache
    has not: pages are made afresh here, and tests/test_kept_pages.py keeps them."""
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def capture_store(settings, tmp_path):
    """Each test's captures in a folder of its own, never the checkout's var/captures."""
    location = tmp_path / "captures"
    settings.STORAGES = {
        **settings.STORAGES,
        "captures": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location), "file_permissions_mode": 0o444},
        },
    }
    return location


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


# Browser tests (tests/test_browser.py): Playwright driving the system Chromium against
# pytest-django's live server. Nothing here downloads a browser.

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: drives Chromium through the public pages and the admin (Playwright)"
    )


_test_failed = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Lets the page fixture know whether its test failed, to keep a screenshot of it.
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_test_failed] = True
    return report


def chromium_path():
    """$CHROMIUM, else Debian's /usr/bin/chromium, else `chromium` on the PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    default = "/usr/bin/chromium"
    if os.path.exists(default):
        return default
    return shutil.which("chromium") or default


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium per test module, or a skip when there is none to drive."""
    path = chromium_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.skip(f"no Chromium found at {path}; install Debian's chromium package")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed; install the dev dependencies (make install)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=BROWSER_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_artifacts(request):
    """Where screenshots go: $BROWSER_ARTIFACTS, else test-results/browser/ (gitignored).
    The test's screenshots from an earlier run are removed, so that none is stale."""
    root = Path(__file__).resolve().parent.parent
    folder = Path(os.environ.get("BROWSER_ARTIFACTS") or root / "test-results" / "browser")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{glob.escape(request.node.name)}--*.png"):
        old.unlink()
    return folder


@pytest.fixture
def live_palmyra(live_server, transactional_db):
    """The Palmyra record, served by the live server. Its database is transactional (the
    server runs in another thread), so the data is loaded anew for each test."""
    call_command("load_palmyra", verbosity=0)
    return live_server


@pytest.fixture
def new_page(request, chromium, live_server, browser_artifacts):
    """Opens pages in a fresh browser context (no cookies shared between tests) that
    reaches the live server only: map tiles and anything else outside it are refused at
    once, so no test waits on the network; an uncaught JavaScript error fails the test.
    Anything the content security policy blocks fails it too. Takes Playwright's
    new_context options: new_page(viewport={"width": 390, ...})."""
    contexts, script_errors = [], []

    def keep_local(route):
        if route.request.url.startswith(live_server.url + "/"):
            route.continue_()
        else:
            route.abort()

    def open_page(**options):
        options.setdefault("base_url", live_server.url)
        context = chromium.new_context(**options)
        context.set_default_timeout(10_000)
        context.route("**/*", keep_local)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: script_errors.append(f"{page.url}: {error}"))
        page.on("console", lambda message: blocked(page, message))
        return page

    def blocked(page, message):
        # What the content security policy refused: every browser test checks it.
        if message.type == "error" and "Content Security Policy" in message.text:
            script_errors.append(f"{page.url}: {message.text}")

    yield open_page

    failed = request.node.stash.get(_test_failed, False)
    for c, context in enumerate(contexts):
        if failed:
            for p, page in enumerate(context.pages):
                name = f"{request.node.name}--failed-{c}-{p}.png"
                try:
                    page.screenshot(path=browser_artifacts / name, full_page=True)
                except Exception as error:  # a crashed page: the failure says enough
                    print(f"No screenshot of the failure: {error}")
        context.close()
    assert not script_errors, "JavaScript errors on the pages:\n" + "\n".join(script_errors)


@pytest.fixture
def screenshot(request, browser_artifacts):
    """screenshot(page, "home") saves a full-page PNG named after the test and the page."""

    def save(page, name):
        path = browser_artifacts / f"{request.node.name}--{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return save
