"""Every public page passes axe-core's WCAG 2.1 A and AA rules (contrast included), on a
desktop and on a phone, in the system Chromium."""

import os

# Playwright's sync API keeps an event loop running; see tests/test_browser.py.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest  # noqa: E402

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    "/sites/",
    "/sites/?condition=destroyed&date_after=soon",
    "/sites/temple-of-bel/",
    "/sites/tower-tombs/",
    "/events/",
    "/sources/",
    "/sources/1/",
    "/about/",
]
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.mark.parametrize(
    "viewport",
    [{"width": 1280, "height": 900}, {"width": 390, "height": 844}],
    ids=["desktop", "phone"],
)
def test_every_public_page_passes_wcag_2_1_aa(live_palmyra, new_page, viewport):
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    axe = axe_module.Axe()
    page = new_page(viewport=viewport)
    found = {}
    for path in PAGES:
        page.goto(live_palmyra.url + path)
        violations = axe.run(page, options=RULES).response["violations"]
        if violations:
            found[path] = [(v["id"], v["nodes"][0]["target"]) for v in violations]
    assert found == {}
