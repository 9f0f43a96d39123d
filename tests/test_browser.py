"""The public pages and the admin in a real browser: Playwright driving the system
Chromium against pytest-django's live server, with the Palmyra record loaded.

Skipped when there is no Chromium (set CHROMIUM to its path) or no playwright. Each page
visited is saved as a full-page screenshot in $BROWSER_ARTIFACTS (test-results/browser/
by default); a failing test also leaves a screenshot of where it stopped."""

import os

# Playwright's sync API runs an asyncio event loop in this thread for as long as the
# browser is open. Django's ORM refuses to run while it sees a running event loop
# (SynchronousOnlyOperation, a guard against blocking async code), although the loop
# here only waits for the browser and never runs Django code. The tests query the
# database between browser steps, so they lift the guard. Set on import, before any test
# runs; it stays set for the rest of the run, where it only skips that check.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import secrets  # noqa: E402

import pytest  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips the tests then
    expect = None

from heritage.models import DamageEvent, Site, SiteName, State  # noqa: E402
from reports.models import Source  # noqa: E402

pytestmark = pytest.mark.browser


def test_a_visitor_finds_who_says_the_temple_of_bel_was_destroyed(
    live_palmyra, new_page, screenshot
):
    page = new_page()
    page.goto("/")
    screenshot(page, "home")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sites").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sites")
    screenshot(page, "sites")

    filters = page.get_by_role("search", name="Filter the sites")
    filters.get_by_label("Current condition").select_option(label="Destroyed")
    filters.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/sites/?*condition=destroyed*")
    results = page.locator("table.records")
    expect(results.get_by_role("link", name="Temple of Bel", exact=True)).to_be_visible()
    expect(results.get_by_role("link", name="Palmyra Castle")).to_have_count(0)
    screenshot(page, "sites-destroyed")

    results.get_by_role("link", name="Temple of Bel", exact=True).click()
    page.wait_for_url("**/sites/temple-of-bel/")
    event = page.locator("ol.timeline article.event", has_text="30 August 2015")
    expect(event.locator(".event-date")).to_have_text("30 August 2015")
    expect(event.locator(".event-facts .level")).to_have_text("Destroyed")
    expect(event.locator(".event-facts .grade")).to_have_text("Confirmed")
    screenshot(page, "temple-of-bel")

    source_link = event.locator("ol.citations .source a[href^='/sources/']").first
    title = source_link.inner_text()
    source_link.click()
    page.wait_for_url("**/sources/*/")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    bel = DamageEvent.objects.get(site__slug="temple-of-bel", date="2015-08-30")
    expect(page.locator("ol.cited-for")).to_contain_text(f"Temple of Bel: {bel.summary}")
    screenshot(page, "source")


def test_the_home_map_shows_one_marker_per_located_site(live_palmyra, new_page, screenshot):
    located = Site.objects.located().count()
    assert located > 0

    page = new_page()
    page.goto("/")
    # Leaflet draws each circle marker as an SVG path with the class the page gives it.
    expect(page.locator("#map path.marker")).to_have_count(located)
    expect(page.locator("#map .map-fallback")).to_have_count(0)
    screenshot(page, "home")


def log_in(new_page, django_user_model, role):
    """A fresh browser, logged in to the admin as a new user holding `role`."""
    password = secrets.token_urlsafe(24)
    user = django_user_model.objects.create_user(f"browser-{role}", password=password)
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name=role))
    page = new_page()
    page.goto("/admin/")
    page.wait_for_url("**/admin/login/**")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(user.username)
    return page, user


def test_a_curators_draft_reaches_the_public_only_when_another_editor_approves_it(
    live_palmyra, new_page, screenshot, django_user_model
):
    source = Source.objects.get(
        title__startswith="[Satellite imagery analysis confirming the destruction of the "
        "Temple of Baalshamin"
    )
    summary = f"Portico columns toppled (browser test {secrets.token_hex(4)})"

    curator, _ = log_in(new_page, django_user_model, "curator")
    curator.goto("/admin/heritage/damageevent/add/")
    choose_in_autocomplete(curator, "#id_site", "Baalshamin", "Temple of Baalshamin")
    curator.locator("#id_summary").fill(summary)
    curator.locator("#id_date").fill("2015-09")
    curator.locator("#id_level").select_option("moderate")
    curator.locator("#id_cause").select_option("explosives")
    choose_in_autocomplete(curator, "#id_citations-0-source", "UNOSAT Baalshamin", str(source))
    curator.locator("#id_citations-0-stance").select_option("supports")
    curator.locator("#id_citations-0-basis").select_option("imagery")
    screenshot(curator, "event-add")
    curator.locator("input[name=_continue]").click()
    expect(curator.locator(".messagelist .success")).to_be_visible()
    event = DamageEvent.objects.get(summary=summary)
    assert event.state == State.DRAFT

    # Sent for review from its page, with a reason; publishing is not offered to her.
    expect(curator.get_by_role("button", name="Publish")).to_be_disabled()
    curator.get_by_label("Reason for the step").fill("Imagery confirms it")
    curator.get_by_role("button", name="Send for review").click()
    expect(curator.locator(".messagelist .success")).to_contain_text("sent for review")
    screenshot(curator, "sent-for-review")

    public = new_page()  # a visitor: not logged in
    public.goto("/sites/temple-of-baalshamin/")
    expect(public.locator(f"#event-{event.pk}")).to_have_count(0)

    editor, _ = log_in(new_page, django_user_model, "editor")
    expect(editor.locator("#review-queue-counts")).to_contain_text("Events in review")
    editor.locator("#review-queue-counts caption a").click()
    editor.locator(f"#queue-event-{event.pk}").check()
    editor.get_by_label("Reason (one for all the selected)").fill("Checked the imagery")
    screenshot(editor, "review-queue")
    editor.get_by_role("button", name="Approve selected").click()
    expect(editor.locator(".messagelist .success")).to_contain_text("1 item(s) approved")
    event.refresh_from_db()
    assert event.state == State.PUBLISHED
    assert list(event.citations.values_list("source", "stance")) == [(source.pk, "supports")]

    public.goto("/sites/temple-of-baalshamin/")
    entry = public.locator(f"ol.timeline #event-{event.pk}")
    expect(entry.locator("h3")).to_have_text(summary)
    expect(entry.locator(".event-date")).to_have_text("September 2015")
    expect(entry.locator("ol.citations")).to_contain_text(source.title)
    screenshot(public, "temple-of-baalshamin")


def choose_in_autocomplete(page, select, search, choice):
    """Picks `choice` in the admin's select2 widget for `select`, searching for `search`."""
    page.locator(f"{select} + .select2").click()
    page.locator(".select2-container--open .select2-search__field").fill(search)
    page.locator(".select2-results__option", has_text=choice).click()
    expect(page.locator(f"{select} + .select2 .select2-selection__rendered")).to_have_text(choice)


def test_the_temple_of_bel_page_reads_on_a_phone(live_palmyra, new_page, screenshot):
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto("/sites/temple-of-bel/")
    screenshot(page, "temple-of-bel")

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways: {width}px wide on a 390px screen"
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    event = page.locator("ol.timeline article.event", has_text="30 August 2015")
    event.scroll_into_view_if_needed()
    expect(event.locator(".event-date")).to_be_visible()
    expect(event.locator(".event-date")).to_have_text("30 August 2015")
    expect(event.locator(".event-facts .level")).to_be_visible()
    expect(event.locator(".event-facts .level")).to_have_text("Destroyed")


def test_the_first_tab_on_the_home_page_reaches_the_skip_link(live_palmyra, new_page, screenshot):
    page = new_page()
    page.goto("/")
    page.keyboard.press("Tab")
    skip_link = page.locator(":focus")
    expect(skip_link).to_have_text("Skip to content")
    expect(skip_link).to_be_visible()
    expect(skip_link).to_be_in_viewport()
    screenshot(page, "home-skip-link")

    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()


def test_the_arabic_name_of_the_temple_of_bel_is_marked_arabic_right_to_left(
    live_palmyra, new_page, screenshot
):
    arabic = SiteName.objects.get(site__slug="temple-of-bel", language="ar").name

    page = new_page()
    page.goto("/sites/temple-of-bel/")
    name = page.get_by_role("list", name="Also known as").get_by_text(arabic, exact=True)
    expect(name).to_have_attribute("lang", "ar")
    expect(name).to_have_attribute("dir", "rtl")
    screenshot(page, "temple-of-bel")


def test_the_api_docs_and_the_admin_s_own_pages_run_under_the_security_policy(
    live_palmyra, new_page, screenshot, django_user_model
):
    password = secrets.token_urlsafe(24)
    user = django_user_model.objects.create_user("browser-admin", password=password)
    user.is_staff = user.is_superuser = True
    user.save()
    page = new_page()
    page.goto("/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Heritage damage register")
    screenshot(page, "api-docs")
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    bel = DamageEvent.objects.get(site__slug="temple-of-bel")
    for path in [
        f"/admin/heritage/damageevent/{bel.pk}/change/",
        f"/admin/heritage/damageevent/{bel.pk}/history/",
        "/admin/heritage/site/add/",
        "/admin/heritage/damageevent/deleted/",
        "/admin/reports/source/",
    ]:
        page.goto(path)
        expect(page.locator("#content")).to_be_visible()
    # The site form's slug fills itself in from the name: the admin's own scripts run.
    page.goto("/admin/heritage/site/add/")
    page.locator("#id_name").press_sequentially("Qasr al-Hayr")
    expect(page.locator("#id_slug")).to_have_value("qasr-al-hayr")
    screenshot(page, "admin-site-add")


def test_a_curator_downloads_an_events_evidence_bundle_that_verifies_offline(
    live_palmyra, new_page, screenshot, django_user_model, settings, tmp_path
):
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from django.core.management import call_command

    from reports.evidence import store
    from reports.evidence.signing import public_text

    key = Ed25519PrivateKey.generate()  # made for this test; no key is kept anywhere
    settings.EVIDENCE_SIGNING_KEY = base64.b64encode(
        key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    ).decode()
    event = DamageEvent.objects.filter(site__slug="temple-of-bel", state=State.PUBLISHED).first()
    source = event.citations.first().source
    capture = store.take(
        source,
        f"<html><body><p>{source.title}: the temple was destroyed.</p></body></html>".encode(),
        method="upload",
        name="report.html",
    )

    curator, _ = log_in(new_page, django_user_model, "curator")
    curator.goto(f"/admin/heritage/damageevent/{event.pk}/change/")
    screenshot(curator, "event-with-bundle-link")
    with curator.expect_download() as download:
        curator.get_by_role("button", name="Download the evidence bundle").click()
    bundle = tmp_path / download.value.suggested_filename
    download.value.save_as(bundle)
    assert bundle.name.startswith(f"event-{event.pk}-evidence-")
    call_command("verify_bundle", str(bundle), "--key", public_text(key.public_key()))
    import zipfile

    with zipfile.ZipFile(bundle) as opened:
        assert opened.read(f"captures/{capture.sha256}.html") == capture.read_bytes()
