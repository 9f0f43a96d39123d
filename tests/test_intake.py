"""Articles become sources with proposed claims; curators accept or reject each."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from heritage.models import DamageEvent, PendingChange, Site, SiteName
from reports.articles import text_fingerprint
from reports.models import Claim, ClaimStatus, Source, site_gazetteer

pytestmark = pytest.mark.usefixtures("palmyra")

ARTICLE = (
    "Temple of Baalshamin blown up\n\n24 August 2015\n\n"
    "Islamic State militants blew up the Temple of Baalshamin in Palmyra on Sunday, "
    "the head of Syria's antiquities said.\n\n"
    "The Temple of Bel, the city's largest, still stands, he added.\n"
)


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "report.txt").write_text(ARTICLE)
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "copy.md").write_text(ARTICLE.replace("\n\n", "\n  \n"))
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    return tmp_path


def body_claim():
    return Claim.objects.get(site__slug="temple-of-baalshamin", quote__startswith="Islamic State")


def ingest(*paths):
    out = io.StringIO()
    call_command("ingest", *map(str, paths), stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_an_article_becomes_a_source_with_claims_for_review(folder):
    output = ingest(folder / "report.txt")
    source = Source.objects.get(title="Temple of Baalshamin blown up")
    assert (source.published, source.kind) == ("2015-08-24", "news")
    claims = list(source.claims.all())
    # the headline and the sentence both say it; the Temple of Bel "still stands"
    assert {c.site.slug for c in claims if c.site} == {"temple-of-baalshamin"}
    claim = body_claim()
    assert source.text[claim.start : claim.end] == claim.quote
    assert (claim.level, claim.date, claim.status) == ("destroyed", "2015-08-23", "proposed")
    assert "1 article(s) added" in output


def test_the_same_article_twice_is_recognised_by_its_text(folder):
    output = ingest(folder)  # the folder holds it twice, spaced differently
    assert "already held" in output
    assert Source.objects.filter(title="Temple of Baalshamin blown up").count() == 1


def test_an_unreadable_file_stops_the_command_with_a_reason_after_the_rest(tmp_path):
    (tmp_path / "good.txt").write_text(ARTICLE)
    (tmp_path / "bad.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(CommandError, match="could not be read") as refused:
        ingest(tmp_path)
    assert refused.value.returncode == 2
    assert Source.objects.filter(title="Temple of Baalshamin blown up").exists()


def test_a_path_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        ingest(tmp_path / "missing.txt")


def test_accepting_a_claim_makes_a_new_draft_unless_the_curator_chooses_an_event(folder, editor):
    ingest(folder / "report.txt")
    claim = body_claim()
    published = DamageEvent.objects.get(site__slug="temple-of-baalshamin")
    # Its dates overlap the claim's: offered first, never taken without being chosen.
    assert claim.candidate_events()[0] == (published, True)
    citation = claim.accept(editor)
    assert citation.event != published
    assert (citation.event.state, citation.event.date) == ("draft", "2015-08-23")
    claim.refresh_from_db()
    assert (claim.status, claim.citation) == (ClaimStatus.ACCEPTED, citation)
    with pytest.raises(ValidationError, match="already been reviewed"):
        claim.accept(editor)


def test_an_undated_claim_is_never_matched_to_an_event_by_itself(folder, editor):
    ingest(folder / "report.txt")
    claim = body_claim()
    claim.date = ""
    claim.save()
    assert not any(overlaps for _, overlaps in claim.candidate_events())
    citation = claim.accept(editor)
    assert citation.event.state == "draft"
    assert citation.event.date == "../2015-08-24"


def test_a_claim_with_no_matching_event_makes_a_draft_nobody_sees_yet(folder, curator):
    ingest(folder / "report.txt")
    claim = body_claim()
    claim.site = Site.objects.get(slug="great-colonnade")
    claim.save()
    citation = claim.accept(curator)
    assert citation.event.site.slug == "great-colonnade"
    assert citation.event.state == "draft"
    assert citation.event.date == "2015-08-23"


def test_a_rejected_claim_cites_nothing(folder):
    ingest(folder / "report.txt")
    claim = body_claim()
    claim.reject()
    claim.refresh_from_db()
    assert (claim.status, claim.citation) == ("rejected", None)


def test_a_claim_naming_no_site_must_get_one_before_it_is_accepted(editor):
    source = Source.objects.create(kind="news", title="T", text="x" * 20)
    claim = Claim.objects.create(source=source, matched="a temple", quote="x", start=0, end=1)
    with pytest.raises(ValidationError, match="Choose the site"):
        claim.accept(editor)


def test_a_50_mb_file_is_refused_without_being_read(tmp_path):
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("ingest", str(huge), stdout=io.StringIO(), stderr=err)
    assert "50.0 MB" in err.getvalue()


def test_a_claim_accepted_onto_a_published_event_waits_for_review(folder, curator):
    ingest(folder / "report.txt")
    claim = body_claim()
    published = DamageEvent.objects.get(site__slug="temple-of-baalshamin")
    public = (published.grade, published.has_conflict, published.citations.public().count())
    citation = claim.accept(curator, event=published, reason="A second report")
    assert not citation.approved
    published.refresh_from_db()
    assert (published.grade, published.has_conflict, published.citations.public().count()) == public
    assert PendingChange.objects.get(status="pending").object_id == citation.pk


def test_a_claim_cannot_be_accepted_onto_another_sites_event(folder, curator):
    ingest(folder / "report.txt")
    claim = body_claim()
    bel = DamageEvent.objects.get(site__slug="temple-of-bel")
    with pytest.raises(ValidationError, match="another site"):
        claim.accept(curator, event=bel)
    assert Claim.objects.get(pk=claim.pk).status == "proposed"


def test_a_claim_whose_text_has_changed_is_not_accepted(folder, editor):
    ingest(folder / "report.txt")
    claim = body_claim()
    Source.objects.filter(pk=claim.source_id).update(text="Something else entirely.")
    claim.refresh_from_db()
    with pytest.raises(ValidationError, match="text has changed"):
        claim.accept(editor)


WIRE = (
    "Militants blow up Palmyra arch\n\n"
    "By Nour Khalil, The Levant Courier, 5 October 2015\n\n"
    "Islamic State militants blew up the Monumental Arch in Palmyra on Sunday, "
    "activists said.\n\n"
    "Officials denied that the Temple of Bel had been damaged.\n"
)


def test_ingest_keeps_what_the_article_says_of_itself(tmp_path):
    (tmp_path / "wire.txt").write_text(WIRE)
    ingest(tmp_path / "wire.txt")
    source = Source.objects.get(title="Militants blow up Palmyra arch")
    assert (source.published, source.publisher, source.authors, source.language) == (
        "2015-10-05",
        "The Levant Courier",
        "Nour Khalil",
        "en",
    )
    claim = source.claims.get(site__slug="monumental-arch")
    assert (claim.level, claim.date, claim.stance) == ("destroyed", "2015-10-04", "supports")
    assert claim.further_quote_texts == ["Militants blow up Palmyra arch"]


def test_a_denial_is_proposed_as_a_contradiction_and_cited_so(tmp_path, editor):
    (tmp_path / "wire.txt").write_text(WIRE)
    ingest(tmp_path / "wire.txt")
    denial = Claim.objects.get(site__slug="temple-of-bel")
    assert denial.stance == "contradicts"
    with pytest.raises(ValidationError, match="choose the event it denies"):
        denial.accept(editor)
    event = DamageEvent.objects.filter(site__slug="temple-of-bel").first()
    citation = denial.accept(editor, event=event, reason="The ministry's denial")
    assert citation.stance == "contradicts"


def test_an_article_in_another_language_is_kept_with_no_claims(tmp_path):
    (tmp_path / "fr.txt").write_text(
        "Palmyre : l'arc détruit\n\nPublié le lundi 5 octobre 2015\n\n"
        "Les djihadistes ont détruit l'Arc de triomphe de Palmyre dimanche, selon le "
        "directeur des antiquités, qui a confirmé la nouvelle à la presse."
    )
    ingest(tmp_path / "fr.txt")
    source = Source.objects.get(title="Palmyre : l'arc détruit")
    assert (source.language, source.published, source.claims.count()) == ("fr", "2015-10-05", 0)


def test_correcting_the_date_rereads_the_unreviewed_claims_and_keeps_the_reviewed(folder, editor):
    ingest(folder / "report.txt")
    source = Source.objects.get(title="Temple of Baalshamin blown up")
    reviewed = body_claim()
    reviewed.reject(editor, "Checked")
    before = {c.pk for c in source.claims.filter(status="proposed")}
    source.published = "2015-08-31"  # a Monday: "on Sunday" is now the 30th
    source.save()
    reviewed.refresh_from_db()
    assert (reviewed.status, reviewed.date) == ("rejected", "2015-08-23")
    proposed = source.claims.filter(status="proposed")
    assert not before & {c.pk for c in proposed}  # read again, not left stale
    assert not proposed.filter(site__slug="temple-of-baalshamin", start=reviewed.start).exists()


def test_correcting_the_text_rereads_the_claims(folder):
    ingest(folder / "report.txt")
    source = Source.objects.get(title="Temple of Baalshamin blown up")
    source.text = "Islamic State militants razed Tadmur prison on Sunday."
    source.save()
    assert [(c.site.slug, c.date) for c in source.claims.all()] == [("tadmur-prison", "2015-08-23")]


def test_editing_only_the_note_reads_nothing_again(folder):
    ingest(folder / "report.txt")
    source = Source.objects.get(title="Temple of Baalshamin blown up")
    claims = list(source.claims.values_list("pk", flat=True))
    source.note = "Found through the monitor's newsletter."
    source.save()
    assert list(source.claims.values_list("pk", flat=True)) == claims


def test_an_undated_article_is_said_to_be_so_and_its_relative_dates_stay_undated(tmp_path):
    (tmp_path / "undated.txt").write_text(
        "Prison razed\n\nIslamic State militants razed Tadmur prison on Sunday, activists said."
    )
    output = ingest(tmp_path / "undated.txt")
    source = Source.objects.get(title="Prison razed")
    assert source.published == ""
    assert source.claims.get().date == ""
    assert "no publication date" in output
    assert any("no publication date" in notice for notice in source.intake_notices())


def test_when_the_byline_and_the_page_disagree_the_byline_wins_and_the_other_is_noted(tmp_path):
    (tmp_path / "page.html").write_text(
        '<html><head><meta property="article:published_time" content="2016-06-20T08:00Z">'
        "</head><body><h1>Gate demolished</h1><p>Published: Tue 14 Jun 2016 09.12 BST</p>"
        "<p>Militants razed Tadmur prison on Sunday, a monitor said.</p></body></html>"
    )
    ingest(tmp_path / "page.html")
    source = Source.objects.get(title="Gate demolished")
    assert source.published == "2016-06-14"
    assert "2016-06-20" in source.note
    assert source.claims.get().date == "2016-06-12"


def test_an_article_in_another_language_says_why_it_has_no_claims(tmp_path):
    (tmp_path / "fr.txt").write_text(
        "Palmyre : la prison rasée\n\nPublié le lundi 1 juin 2015\n\n"
        "Les djihadistes ont rasé la prison de Tadmur samedi, selon les militants de la "
        "ville, qui ont publié des photos de la destruction sur les réseaux sociaux."
    )
    output = ingest(tmp_path / "fr.txt")
    assert "intake reads English" in output


def test_a_reviewed_claim_is_not_proposed_again_when_a_date_moves_its_lead(tmp_path, editor):
    (tmp_path / "undated.txt").write_text(
        "Prison razed\n\n"
        "Militants razed Tadmur prison, activists said. "
        "They razed Tadmur prison on Sunday, a resident added."
    )
    ingest(tmp_path / "undated.txt")
    source = Source.objects.get(title="Prison razed")
    claim = source.claims.get()
    claim.reject(editor, "Not news")
    source.published = "2015-08-31"  # "on Sunday" is now dated: another sentence leads
    source.save()
    assert list(source.claims.values_list("status", flat=True)) == ["rejected"]


def test_a_reviewed_claim_is_not_proposed_again_when_a_typo_moves_its_offsets(folder, editor):
    ingest(folder / "report.txt")
    source = Source.objects.get(title="Temple of Baalshamin blown up")
    for claim in source.claims.all():
        claim.reject(editor, "Checked")
    source.text = "Correction. " + source.text
    source.save()
    assert not source.claims.filter(status="proposed").exists()


def test_saving_only_the_text_keeps_the_duplicate_check_true(folder):
    ingest(folder / "report.txt")
    source = Source.objects.get(title="Temple of Baalshamin blown up")
    source.text = "A wholly different text about the Tadmur prison."
    source.save(update_fields=["text"])
    source.refresh_from_db()
    assert source.fingerprint == text_fingerprint(source.text)


def test_the_gazetteer_is_built_again_only_when_the_sites_or_names_change():
    first = site_gazetteer()
    assert site_gazetteer() is first
    SiteName.objects.create(site=Site.objects.get(slug="tadmur-prison"), name="Tadmor jail")
    assert site_gazetteer() is not first


def test_ingest_reads_pdf_reports_and_web_archives_and_keeps_each_as_received(tmp_path):
    from reports.models import CustodyEntry
    from tests.documents import lines, pdf, warc

    report = pdf(
        lines("Palmyra: damage seen on imagery", "Published 2 September 2015"),
        lines("The Temple of Bel in Palmyra was destroyed by explosives."),
        title=b"Palmyra: damage seen on imagery",
    )
    page = f"<html><head><title>Baalshamin</title></head><body><p>{ARTICLE}</p></body></html>"
    (tmp_path / "assessment.pdf").write_bytes(report)
    (tmp_path / "baalshamin.warc.gz").write_bytes(
        warc(("https://news.example/baalshamin", "text/html", page.encode()))
    )
    out = ingest(tmp_path)
    assert "2 article(s) added" in out
    pdf_source = Source.objects.get(title="Palmyra: damage seen on imagery")
    captured = pdf_source.captures.get()
    assert (captured.method, captured.media_type) == ("ingest", "application/pdf")
    claim = pdf_source.claims.get(site__slug="temple-of-bel")
    assert captured.page_at(claim.start) == 2
    web = Source.objects.get(url="https://news.example/baalshamin")
    assert web.captures.get().read_bytes() == (tmp_path / "baalshamin.warc.gz").read_bytes()
    assert web.claims.filter(site__slug="temple-of-baalshamin").exists()
    call_command("verify_evidence", stdout=io.StringIO())
    assert CustodyEntry.objects.last().action == "verified"


def test_a_file_ingest_cannot_read_leaves_no_source_capture_or_log_entry(tmp_path):
    from reports.models import Capture, CustodyEntry

    (tmp_path / "locked.pdf").write_bytes(b"%PDF-1.4\n" + bytes(100))
    with pytest.raises(CommandError):
        ingest(tmp_path)
    assert not Capture.objects.exists()
    assert not CustodyEntry.objects.exists()
    assert not Source.objects.filter(title__icontains="locked").exists()
