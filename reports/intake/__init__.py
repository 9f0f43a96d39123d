"""Article intake: read an article and propose damage claims for a curator to review.

Pure Python (standard library only, no database access) so it is fast and testable.
The admin and `manage.py ingest` build a :class:`Gazetteer` once from the register's
sites and names, then call :func:`extract` on each article's text::

    gazetteer = Gazetteer(
        [("temple-of-bel", "temple", ["Temple of Bel", "Temple of Baal", "معبد بل"], "palmyra"),
         ("palmyra", "city", ["Palmyra", "Tadmur"])],
    )
    claims = extract(text, gazetteer, published=datetime.date(2015, 8, 31), language="en")

Each :class:`ProposedClaim` is one site and one event as the article tells it: the
surest sentence as the quote (with its offsets), the others saying the same as further
quotes, the level and date the wording implies (EDTF, as vague as the words), the
stance (a denial contradicts) and a confidence. A claim whose `site_key` is None names
only a kind of monument ("a shrine") nothing in the article resolves: it is left for
the curator.

The modules, by job: ``text`` (normalisation with offsets), ``gazetteer`` (names, kind
words, parts), ``sentences`` (paragraphs and sentences), ``wording`` (damage words,
what blocks them, levels), ``dates`` (date phrases), ``extract`` (mentions and claims),
``byline`` (what an article says of itself: date, publisher, authors, language).
docs/intake.md says what each decides, and how well it reads on unseen articles.
"""

from reports.intake.dates import find_dates
from reports.intake.extract import ProposedClaim, extract
from reports.intake.gazetteer import KIND_WORDS, Gazetteer
from reports.intake.sentences import split_sentences
from reports.intake.text import normalise

__all__ = [
    "ProposedClaim",
    "Gazetteer",
    "KIND_WORDS",
    "extract",
    "find_dates",
    "normalise",
    "split_sentences",
]
