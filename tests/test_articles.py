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
