"""Reading the articles curators bring in: text, Markdown or HTML, safely."""

import pytest

from reports.articles import ArticleError, read_article, text_fingerprint

BODY = "Militants blew up the ancient temple on Sunday, a monitor said."


def test_plain_text_keeps_its_words_and_takes_its_title_from_the_first_line():
    article = read_article(f"Temple destroyed\n\n2 March 2017\n\n{BODY}".encode(), "a.txt")
    assert article.title == "Temple destroyed"
    assert article.published == "2017-03-02"
    assert BODY in article.text


@pytest.mark.parametrize(
    ("byline", "edtf"),
    [("Thursday, March 2", ""), ("March 2, 2017", "2017-03-02"), ("31 August 2015", "2015-08-31")],
)
def test_a_dated_byline_gives_the_publication_date(byline, edtf):
    assert read_article(f"Title\n{byline}\n{BODY}", "a.md").published == edtf


@pytest.mark.parametrize(
    "encoded",
    [
        BODY.replace("temple", "templé").encode("utf-8"),
        BODY.replace("temple", "templé").encode("utf-8-sig"),
        BODY.replace("temple", "templé").encode("utf-16"),
        BODY.replace("temple", "templé").encode("cp1252"),
    ],
)
def test_other_encodings_are_read(encoded):
    assert "templé" in read_article(encoded, "a.txt").text


def test_html_is_reduced_to_what_a_reader_sees():
    html = (
        "<html><head><title>Site title</title><style>p{color:red}</style>"
        '<script>alert("x")</script></head><body><nav>Home | News</nav>'
        f"<h1>Temple destroyed</h1><p>{BODY}</p><p>Second &amp; last.</p>"
        "<script>document.write('<p>injected</p>')</script><footer>Copyright</footer></body></html>"
    )
    article = read_article(html.encode(), "page.html")
    assert article.title == "Temple destroyed"
    assert BODY in article.text
    assert "Second & last." in article.text
    for hidden in ["alert", "color:red", "injected", "Home | News", "Copyright", "<"]:
        assert hidden not in article.text


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.txt", "no text"),
        (b"   \n\n  ", "blank.txt", "no text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.txt", "not text"),
        (b"%PDF-1.7 text", "report.pdf", "not an article"),
        (b"a" * (3 * 1024 * 1024), "huge.txt", "at most"),
        (b"<html><script>only()</script></html>", "scripts.html", "no text"),
        (b"A" * 9000 + b"\x00 hidden after the first 8 KB.", "late-nul.txt", "NUL"),
        (b"\xff\xfe" + "odd text".encode("utf-16-le") + b"x", "odd.txt", "could not"),
    ],
)
def test_what_is_not_an_article_is_refused_with_a_reason(data, name, message):
    with pytest.raises(ArticleError, match=message):
        read_article(data, name)


def test_the_same_text_twice_has_the_same_fingerprint():
    assert text_fingerprint(BODY) == text_fingerprint("  " + BODY.upper().replace(" ", "\n  "))
    assert text_fingerprint(BODY) != text_fingerprint(BODY + " Later.")


@pytest.mark.parametrize(
    ("head", "published"),
    [
        ("The Levant Courier, 12 May 2016", "2016-05-12"),
        ("Published: Tue 14 Jun 2016 09.12 BST", "2016-06-14"),
        ("Jun. 14, 2016 | 9:12 AM", "2016-06-14"),
        ("Updated 2016-06-14T08:12Z", "2016-06-14"),
        ("By Leila Haddad, The Desert Ledger, 6 March 2017", "2017-03-06"),
        ("Sunday, March 16, 2014", "2014-03-16"),
        ("DAMASCUS, Syria, Oct 5, 2015 (AFP) - Militants blew up the arch.", "2015-10-05"),
        ("Publié le lundi 5 octobre 2015 à 11h20", "2015-10-05"),
        ("الاثنين ٣١ آب ٢٠١٥", "2015-08-31"),
        ("Release date: 5 September 2015", "2015-09-05"),
    ],
)
def test_the_publication_date_is_read_in_the_shapes_sources_print_it(head, published):
    article = read_article(f"A headline\n\n{head}\n\n{BODY}", "a.txt")
    assert article.published == published


def test_a_published_date_beats_an_updated_one():
    text = f"Headline\nUpdated 2016-06-20T08:00Z\nPublished: Tue 14 Jun 2016 09.12 BST\n\n{BODY}"
    assert read_article(text, "a.txt").published == "2016-06-14"


def test_a_date_inside_the_story_is_not_the_publication_date():
    text = (
        "Headline\n\nIslamic State militants entered the city on 14 May 2015 and blew up the "
        "temple a few weeks later, residents told reporters who reached them by telephone."
    )
    assert read_article(text, "a.txt").published == ""


def test_a_yearless_wire_dateline_takes_the_story_year_marked_uncertain():
    text = (
        "Headline\n\nBEIRUT, March 27 (Reuters) - Government forces retook the city on "
        "Sunday from militants who seized it last May and blew up its temples in August 2015."
    )
    article = read_article(text, "a.txt")
    assert (article.published, article.publisher) == ("2016-03-27?", "Reuters")
    assert article.published_date.isoformat() == "2016-03-27"


def test_a_posted_on_line_at_the_end_dates_an_opinion_piece():
    text = f"Headline\n\n{BODY}\n\nSecond paragraph.\n\nPosted on 12 April 2016 by Tomas Berg"
    article = read_article(text, "a.txt")
    assert (article.published, article.authors) == ("2016-04-12", ["Tomas Berg"])


@pytest.mark.parametrize(
    ("head", "publisher", "authors"),
    [
        ("By SAMI RAHAL and HADI SAEED\nAssociated Press", "Associated Press",
         ["Sami Rahal", "Hadi Saeed"]),
        ("By Leila Haddad, The Desert Ledger, 6 March 2017", "The Desert Ledger",
         ["Leila Haddad"]),
        ("By Hassan Qudsi, Middle East correspondent", "", ["Hassan Qudsi"]),
        ("From our correspondent in Beirut", "", []),
        ("PRESS RELEASE — Heritage Watch Syria", "Heritage Watch Syria", []),
        ("Prepared by the Orbital Heritage Observatory", "Orbital Heritage Observatory", []),
    ],
)  # fmt: skip
def test_the_publisher_and_authors_are_read_from_the_byline(head, publisher, authors):
    article = read_article(f"A headline\n\n{head}\n\n{BODY}", "a.txt")
    assert (article.publisher, article.authors) == (publisher, authors)


def test_reuters_credits_its_reporters_and_writers_not_its_editors():
    credits = "(Reporting by Lina Sarraf; Writing by Omar Fahmy; Editing by Tom Hale)"
    text = f"Headline\n\n{BODY}\n\n{credits}"
    assert read_article(text, "a.txt").authors == ["Lina Sarraf", "Omar Fahmy"]


def test_an_html_page_says_its_date_publisher_and_authors_in_its_metadata():
    html = (
        '<html lang="en"><head><title>T | Paper</title>'
        '<meta property="og:site_name" content="The Northern Tribune">'
        '<meta property="article:published_time" content="2018-01-28T14:05:00+03:00">'
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Temple hit",'
        ' "datePublished": "2018-01-28T14:05:00+03:00", "author": [{"name": "Rami Aziz"}],'
        ' "publisher": {"name": "The Northern Tribune"}}</script></head>'
        f"<body><article><h1>Temple hit</h1><p>{BODY}</p></article>"
        '<aside><a href="/x">Related: Temple of Bel blown up</a></aside></body></html>'
    )
    article = read_article(html.encode(), "page.html")
    assert (article.published, article.publisher, article.authors, article.language) == (
        "2018-01-28",
        "The Northern Tribune",
        ["Rami Aziz"],
        "en",
    )
    assert "Related" not in article.text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (BODY + " The ruins were empty and the town was quiet.", "en"),
        (
            "Les militants ont détruit le temple et les colonnes de la cité antique dans la nuit.",
            "fr",
        ),
        ("دمر مسلحو تنظيم الدولة معبد بل في مدينة تدمر الأثرية يوم الأحد", "ar"),
    ],
)
def test_the_language_is_told_from_the_text(text, language):
    assert read_article(f"Title\n\n{text}", "a.txt").language == language


def test_a_numeric_dateline_reads_day_first():
    text = f"Headline\n\nBEIRUT – AFP – 1.10.2012 – {BODY}"
    assert read_article(text, "a.txt").published == "2012-10-01"


@pytest.mark.parametrize(
    ("head", "authors"),
    [
        ("By Kareem Shaheen in Beirut", ["Kareem Shaheen"]),
        ("By Kareem Shaheen in Istanbul and Ian Black", ["Kareem Shaheen", "Ian Black"]),
        ("By Agence France-Presse", []),
    ],
)
def test_where_a_reporter_wrote_from_and_agency_credits_are_not_names(head, authors):
    assert read_article(f"Headline\n\n{head}\n\n{BODY}", "a.txt").authors == authors


def test_a_published_date_beats_an_updated_one_on_the_same_line():
    text = f"Headline\n\nUpdated 2 April 2016 | Published 1 April 2016\n\n{BODY}"
    assert read_article(text, "a.txt").published == "2016-04-01"


def test_an_absurd_number_of_years_is_no_year():
    text = f"Headline\n\nBEIRUT, March 27 (Reuters) - Syria's {'9' * 5000}-year war. {BODY}"
    assert read_article(text, "a.txt").published == ""


def test_a_page_of_unclosed_tags_reaches_the_parser_as_text(monkeypatch):
    from reports import articles

    fed = []
    monkeypatch.setattr(articles._Readable, "feed", lambda self, data: fed.append(data))
    articles.html_to_text("<p>Temple</p>" + "<a " * 5000 + "<b>bold</b>")
    (html,) = fed
    # Every "<" the parser sees is closed within reach: it reads the page once.
    for at in (i for i, char in enumerate(html) if char == "<"):
        assert 0 <= html.find(">", at) - at <= articles.TAG_REACH
    # (those far from any ">" became text; the last few before "<b>" stay tags)
    assert 5000 - articles.TAG_REACH // 2 < html.count("&lt;") < 5000
