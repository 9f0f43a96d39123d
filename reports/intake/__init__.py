"""Article intake: read an article and propose damage claims for a curator to review.

Pure Python (standard library only, no database access) so it is fast and testable.
The admin and `manage.py ingest` build a :class:`Gazetteer` once from the register's
sites and names, then call :func:`extract` on each article's text::

    gazetteer = Gazetteer(
        [("temple-of-bel", "temple", ["Temple of Bel", "Temple of Baal", "معبد بل"], "palmyra"),
         ("palmyra", "city", ["Palmyra", "Tadmur"])],
    )
    claims = extract(text, gazetteer, published=datetime.date(2015, 8, 31))

Each :class:`Claim` is one (sentence, site) pair: the sentence is the quote, with its
character offsets into the text, the damage level its wording implies, the date it
implies (EDTF, as vague as the words) and a confidence. A claim whose `site_key` is
None names only a kind of monument ("a shrine") that the article's place does not
make unambiguous: it is left for the curator.

Choices (documented here because a curator will ask):

* Damage level from the wording: destroyed / razed / levelled / blew up / dynamited /
  demolished / pulverised / bulldozed / smashed / flattened → ``destroyed``;
  heavily, badly, severely, extensively damaged, partly or largely destroyed, gutted,
  burned, torched → ``severe``; plain "damaged", "damage to", defaced, vandalised →
  ``moderate`` (the text says damage happened but not how much: moderate is the
  middle of the scale and matches how curators read "damaged", e.g. the Lion of Al-lat
  "found damaged but restorable"); slightly, lightly damaged, minor or superficial
  damage → ``slight``; looted, plundered, shelled, bombed, hit by shells →
  ``unknown`` (an act, not an outcome).
* Not claims: a site named without a damage word; restoration, reconstruction or
  repair news (even when it recalls the earlier damage in passing: the curator records
  restorations separately); predictions, threats and fears ("could be destroyed",
  "threatened to destroy", "vowed to", "may", "might", "would", "feared"); denials
  ("denied", "did not destroy", "no damage", "remains intact", "unharmed"); questions
  and conditionals ("if", "unless").
* A city (a site that other sites have as their place, or of kind ``city``) is
  claimed only when no other site or kind phrase is in the sentence: "the
  demolition of Tadmur prison in Palmyra" is a claim about the prison, not the city.
* Relative dates resolve against ``published``: "on Sunday" is the most recent
  Sunday strictly before the publication day; "yesterday", "today"; "last week" is the
  seven days ending the day before; "this week" runs from its Monday to the
  publication day; "N days ago" is a day, "N weeks ago" a seven-day interval, "N
  months ago" a month; "earlier this month" runs from the 1st to the day before; "last
  month", "this month", "last year". "About/around" adds EDTF ``~``. Without a
  publication date, relative words give "" (the curator decides).
"""

from reports.intake.dates import find_dates
from reports.intake.extract import Claim, extract
from reports.intake.gazetteer import KIND_WORDS, Gazetteer
from reports.intake.sentences import split_sentences
from reports.intake.text import normalise

__all__ = [
    "Claim",
    "Gazetteer",
    "KIND_WORDS",
    "extract",
    "find_dates",
    "normalise",
    "split_sentences",
]
