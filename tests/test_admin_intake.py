"""Curators bring articles in through the admin and review the claims read in them."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from heritage.models import DamageEvent, Site
from reports.models import Claim, Source

pytestmark = pytest.mark.usefixtures("palmyra")

ADD_URL = reverse("admin:reports_source_add")
ARTICLE_HTML = (
    "<html><head><title>Wire</title><script>steal()</script></head><body>"
    "<h1>Arch destroyed in Palmyra</h1><p>5 October 2015</p>"
    "<p>Islamic State militants blew up the Monumental Arch in Palmyra on Sunday, "
    "a monitor said.</p><p>Reporters were told <b>nothing</b> else.</p></body></html>"
)


def source_form(**fields):
    return {"kind": "news", "title": "", "publisher": "Wire", "authors": "", "published": "",
            "language": "en", "url": "", "archived_url": "", "accessed": "", "note": "",
            "text": ""} | fields  # fmt: skip


def test_an_uploaded_html_article_becomes_a_source_with_claims_to_review(editor_client):
    upload = SimpleUploadedFile("wire.html", ARTICLE_HTML.encode(), content_type="text/html")
    response = editor_client.post(ADD_URL, source_form(article_file=upload), follow=True)
    assert response.status_code == 200
    source = Source.objects.get(title="Arch destroyed in Palmyra")
    assert source.published == "2015-10-05"
    assert "steal" not in source.text
    assert "<b>" not in source.text
    claim = source.claims.get(site__slug="monumental-arch", quote__startswith="Islamic")
    assert (claim.level, claim.date) == ("destroyed", "2015-10-04")
    assert "review them" in " ".join(str(m) for m in response.context["messages"])


def test_pasted_html_is_reduced_to_its_words(editor_client):
    editor_client.post(ADD_URL, source_form(title="Pasted", text=ARTICLE_HTML))
    assert "steal" not in Source.objects.get(title="Pasted").text


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00"), "image could not be read"),
        (SimpleUploadedFile("report.pdf", b"%PDF-1.7"), "PDF could not be read"),
        (SimpleUploadedFile("tool.html", b"\x7fELF\x02\x01\x01" + bytes(64)), "not a kind"),
        (SimpleUploadedFile("empty.txt", b"   "), "no text"),
    ],
)
def test_a_file_that_is_not_an_article_is_refused_and_nothing_saved(editor_client, upload, message):
    before = Source.objects.count()
    response = editor_client.post(ADD_URL, source_form(title="X", article_file=upload))
    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors["article_file"])
    assert Source.objects.count() == before


def test_the_same_article_twice_is_refused(editor_client):
    editor_client.post(ADD_URL, source_form(title="First", text=ARTICLE_HTML))
    response = editor_client.post(ADD_URL, source_form(title="Again", text=ARTICLE_HTML))
    assert response.status_code == 200
    assert "already held" in str(response.context["adminform"].form.errors)


def review(client, source, claim, action, reason="", **fields):
    data = {"claim": claim.pk, action: action.title(), "reason": reason}
    data |= {f"claim-{claim.pk}-{k}": v for k, v in
             ({"site": claim.site.slug if claim.site else "", "stance": claim.stance,
               "level": claim.level, "date": claim.date} | fields).items()}  # fmt: skip
    return client.post(reverse("admin:reports_source_claims", args=[source.pk]), data)


def test_the_review_page_marks_each_claim_in_the_escaped_text(editor_client):
    editor_client.post(ADD_URL, source_form(title="Pasted", text=ARTICLE_HTML))
    source = Source.objects.get(title="Pasted")
    source.text += "\n<script>alert(1)</script> and the arch was blown up."
    Source.objects.filter(pk=source.pk).update(text=source.text)
    page = editor_client.get(reverse("admin:reports_source_claims", args=[source.pk]))
    html = page.content.decode()
    assert '<mark class="claim claim-proposed"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


def test_accepting_cites_the_chosen_event_and_rejecting_cites_nothing(editor_client):
    editor_client.post(ADD_URL, source_form(title="Pasted", text=ARTICLE_HTML))
    source = Source.objects.get(title="Pasted")
    claim = source.claims.get(site__slug="monumental-arch", quote__startswith="Islamic")
    arch = DamageEvent.objects.get(site__slug="monumental-arch")

    response = review(editor_client, source, claim, "accept", event=arch.pk, reason="Same event")
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.citation.event == arch
    assert not claim.citation.approved  # arch is published: the citation waits for review
    assert claim.status == "accepted"

    again = review(editor_client, source, claim, "reject")
    assert again.status_code == 302
    assert Claim.objects.get(pk=claim.pk).status == "accepted"


def test_a_curator_corrects_the_site_before_accepting(editor_client):
    editor_client.post(ADD_URL, source_form(title="Pasted", text=ARTICLE_HTML))
    source = Source.objects.get(title="Pasted")
    claim = source.claims.get(site__slug="monumental-arch", quote__startswith="Islamic")
    review(editor_client, source, claim, "accept", site="great-colonnade")
    claim.refresh_from_db()
    assert claim.citation.event.site.slug == "great-colonnade"
    assert claim.citation.event.state == "draft"


def test_an_unknown_site_slug_is_a_form_error(editor_client):
    editor_client.post(ADD_URL, source_form(title="Pasted", text=ARTICLE_HTML))
    source = Source.objects.get(title="Pasted")
    claim = source.claims.get(site__slug="monumental-arch", quote__startswith="Islamic")
    response = review(editor_client, source, claim, "accept", site="atlantis")
    assert response.status_code == 200
    assert Claim.objects.get(pk=claim.pk).status == "proposed"


def test_a_claim_accepted_as_shown_needs_no_retyping(editor_client):
    editor_client.post(ADD_URL, source_form(title="Pasted", text=ARTICLE_HTML))
    source = Source.objects.get(title="Pasted")
    claim = source.claims.get(site__slug="monumental-arch", quote__startswith="Islamic")
    url = reverse("admin:reports_source_claims", args=[source.pk])
    page = editor_client.get(url).content.decode()
    shown = {
        name: re.search(rf'name="claim-{claim.pk}-{name}"[^>]*value="([^"]*)"', page).group(1)
        for name in ("site", "date")
    }
    assert shown == {"site": "monumental-arch", "date": "2015-10-04"}
    data = {"claim": claim.pk, "accept": "Accept", f"claim-{claim.pk}-level": "destroyed"}
    data |= {f"claim-{claim.pk}-{name}": value for name, value in shown.items()}
    assert editor_client.post(url, data).status_code == 302
    assert Claim.objects.get(pk=claim.pk).status == "accepted"


def test_a_review_post_with_neither_button_changes_nothing(editor_client):
    editor_client.post(ADD_URL, source_form(title="Pasted", text=ARTICLE_HTML))
    source = Source.objects.get(title="Pasted")
    claim = source.claims.get(site__slug="monumental-arch", quote__startswith="Islamic")
    url = reverse("admin:reports_source_claims", args=[source.pk])
    response = editor_client.post(url, {"claim": claim.pk, f"claim-{claim.pk}-level": "destroyed",
                                        f"claim-{claim.pk}-site": "monumental-arch"})  # fmt: skip
    assert response.status_code == 200
    assert "Choose Accept or Reject" in response.content.decode()
    assert Claim.objects.get(pk=claim.pk).status == "proposed"


def test_accepting_a_claim_whose_text_changed_says_why_rather_than_failing(editor_client):
    editor_client.post(ADD_URL, source_form(title="Pasted", text=ARTICLE_HTML))
    source = Source.objects.get(title="Pasted")
    claim = source.claims.get(site__slug="monumental-arch", quote__startswith="Islamic")
    Source.objects.filter(pk=source.pk).update(text=source.text[:40])
    response = review(editor_client, source, claim, "accept")
    assert response.status_code == 200
    assert "text has changed" in response.content.decode()


PLAIN = (
    "Arch destroyed in Palmyra\n\nBy Nour Khalil, The Levant Courier, 5 October 2015\n\n"
    "Islamic State militants blew up the Monumental Arch in Palmyra on Sunday, a monitor said."
)


def test_pasted_text_needs_no_title_and_is_read_as_an_uploaded_file_is(editor_client):
    def fields(source):
        return (source.published, source.publisher, source.authors, source.text,
                [(c.site_id, c.level, c.date) for c in source.claims.all()])  # fmt: skip

    # Pasted, read, then undone: a source kept with its capture is never deleted.
    with transaction.atomic():
        editor_client.post(ADD_URL, source_form(publisher="", text=PLAIN))
        pasted = fields(Source.objects.get(title="Arch destroyed in Palmyra"))
        transaction.set_rollback(True)
    upload = SimpleUploadedFile("arch.txt", PLAIN.encode(), content_type="text/plain")
    editor_client.post(ADD_URL, source_form(publisher="", article_file=upload))
    uploaded = fields(Source.objects.get(title="Arch destroyed in Palmyra"))
    assert uploaded == pasted
    assert uploaded[:3] == ("2015-10-05", "The Levant Courier", "Nour Khalil")
    assert len(uploaded[4]) == 1


def test_the_same_text_pasted_twice_is_refused(editor_client):
    editor_client.post(ADD_URL, source_form(text=PLAIN))
    response = editor_client.post(ADD_URL, source_form(text=PLAIN.replace("\n\n", "\n \n")))
    assert "already held" in str(response.context["adminform"].form.errors)
    assert Source.objects.filter(title="Arch destroyed in Palmyra").count() == 1


def test_a_pasted_text_with_no_headline_asks_for_a_title(editor_client):
    response = editor_client.post(ADD_URL, source_form(text="x" * 300))
    assert "Give the source a title" in str(response.context["adminform"].form.errors)


def test_the_read_again_action_rereads_unreviewed_claims_only(editor_client, editor):
    editor_client.post(ADD_URL, source_form(text=PLAIN))
    source = Source.objects.get(title="Arch destroyed in Palmyra")
    claim = source.claims.get(site__slug="monumental-arch")
    claim.reject(editor, "Not this arch")
    Claim.objects.create(source=source, matched="stale", quote="x", start=0, end=1)
    changelist = reverse("admin:reports_source_changelist")
    response = editor_client.post(
        changelist, {"action": "read_for_claims", "_selected_action": [source.pk]}, follow=True
    )
    assert "1 source(s) read" in response.content.decode()
    assert not source.claims.filter(matched="stale").exists()
    claim.refresh_from_db()
    assert claim.status == "rejected"
    assert not source.claims.filter(status="proposed", site__slug="monumental-arch").exists()


def test_the_review_page_says_when_the_source_has_no_publication_date(editor_client):
    editor_client.post(ADD_URL, source_form(text=PLAIN.replace("5 October 2015", "")))
    source = Source.objects.get(title="Arch destroyed in Palmyra")
    page = editor_client.get(reverse("admin:reports_source_claims", args=[source.pk]))
    assert "no publication date" in page.content.decode()


def test_editing_another_field_leaves_the_text_as_written(editor_client):
    text = "Contact: press <press@example.org>.  Militants razed   Tadmur prison on Sunday."
    editor_client.post(ADD_URL, source_form(title="Spaced", text=text))
    source = Source.objects.get(title="Spaced")
    stored = source.text
    Source.objects.filter(pk=source.pk).update(text=text)  # as a curator typed it later
    source.refresh_from_db()
    change = reverse("admin:reports_source_change", args=[source.pk])
    form = source_form(title="Spaced", text=source.text, kind="monitor", publisher="Wire")
    response = editor_client.post(change, form | {"opened_version": source.version})
    assert response.status_code == 302, response.context["errors"]
    source.refresh_from_db()
    assert (source.kind, source.text) == ("monitor", text)
    assert stored != text  # (pasted when added, it was read as an article, spaces and all)


def test_the_review_page_reads_in_a_fixed_number_of_queries(
    editor_client, django_assert_num_queries
):
    editor_client.post(ADD_URL, source_form(text=PLAIN))
    source = Source.objects.get(title="Arch destroyed in Palmyra")
    url = reverse("admin:reports_source_claims", args=[source.pk])
    editor_client.get(url)  # (the session and permissions, read once)

    def page_queries():
        with CaptureQueriesContext(connection) as counted:
            assert editor_client.get(url).status_code == 200
        return len(counted.captured_queries)

    few = page_queries()
    for site in ("tadmur-prison", "temple-of-bel", "palmyra-museum", "tetrapylon"):
        Claim.objects.create(source=source, site=Site.objects.get(slug=site), matched="x",
                             quote=source.text[:5], start=0, end=5)  # fmt: skip
    assert page_queries() == few == 7


def test_an_uploaded_pdf_report_is_kept_and_a_claim_accepted_from_it_cites_its_page(
    editor_client,
):
    from tests.documents import lines, pdf

    report = pdf(
        lines("Damage assessment of Palmyra", "Published 5 September 2015"),
        lines("Imagery of 31 August 2015 was reviewed."),
        lines("The Temple of Bel in Palmyra was destroyed by explosives."),
        title=b"Palmyra damage assessment",
    )
    upload = SimpleUploadedFile("assessment.pdf", report, content_type="application/pdf")
    editor_client.post(ADD_URL, source_form(article_file=upload, kind="satellite"))
    source = Source.objects.get(title="Palmyra damage assessment")
    capture = source.captures.get()
    assert (capture.media_type, capture.method, capture.size) == (
        "application/pdf",
        "upload",
        len(report),
    )
    assert capture.text == source.text
    claim = source.claims.get(site__slug="temple-of-bel")
    assert capture.page_at(claim.start) == 3
    bel = DamageEvent.objects.filter(site__slug="temple-of-bel").first()
    review(editor_client, source, claim, "accept", event=bel.pk, reason="The report's page 3")
    claim.refresh_from_db()
    assert claim.citation.locator == f"page 3, characters {claim.start}–{claim.end}"


def test_a_pasted_article_is_kept_as_pasted(editor_client):
    editor_client.post(ADD_URL, source_form(title="Pasted", text=ARTICLE_HTML))
    capture = Source.objects.get(title="Pasted").captures.get()
    assert capture.method == "paste"
    assert capture.read_bytes() == ARTICLE_HTML.encode()


def test_a_web_archive_upload_reads_its_page_and_keeps_the_archive(editor_client):
    from tests.documents import warc

    archive = warc(("https://news.example/arch", "text/html", ARTICLE_HTML.encode()))
    upload = SimpleUploadedFile("arch.warc.gz", archive)
    editor_client.post(ADD_URL, source_form(article_file=upload))
    source = Source.objects.get(title="Arch destroyed in Palmyra")
    assert source.url == "https://news.example/arch"
    capture = source.captures.get()
    assert capture.media_type == "application/warc"
    assert capture.read_bytes() == archive
    assert source.claims.filter(site__slug="monumental-arch").exists()


def test_a_file_over_the_capture_limit_is_refused_before_it_is_read(editor_client, settings):
    settings.CAPTURE_MAX_BYTES = 1000
    upload = SimpleUploadedFile("wire.html", ARTICLE_HTML.encode() * 10)
    response = editor_client.post(ADD_URL, source_form(title="Big", article_file=upload))
    assert "CAPTURE_MAX_BYTES" in str(response.context["adminform"].form.errors["article_file"])
    assert not Source.objects.filter(title="Big").exists()


def test_a_new_file_for_a_published_source_is_refused_rather_than_kept_unreviewed(editor_client):
    source = Source.objects.filter(citations__approved=True).distinct().first()
    before = list(source.captures.all())
    upload = SimpleUploadedFile("later.html", ARTICLE_HTML.encode())
    url = reverse("admin:reports_source_change", args=[source.pk])
    form = source_form(
        kind=source.kind, title=source.title, publisher=source.publisher,
        published=source.published, language=source.language, url=source.url,
        text=source.text, article_file=upload, opened_version=source.version,
    )  # fmt: skip
    response = editor_client.post(url, form)
    assert response.status_code == 200
    errors = str(response.context["adminform"].form.errors["article_file"])
    assert "Published events cite this source" in errors
    assert list(source.captures.all()) == before
