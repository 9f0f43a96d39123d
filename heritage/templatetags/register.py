"""Template filters and tags of the public pages.

The markup of long lists (event_article with its citations, place_items) is written
here, in Python, rather than in templates: a site's page can list hundreds of events
and a thousand citations, the home page's map ten thousand places, and Django's
template engine spends some 100 µs over each event or citation, many times what the
whole page may take. Every value goes through escape(), as autoescaping would.
"""

from html import escape

from django import template
from django.utils.formats import localize
from django.utils.safestring import mark_safe

from heritage.dates import describe_edtf
from heritage.models import GRADE_EXPLANATIONS, Cause, DamageExtent, DamageLevel, EventKind, Grade
from heritage.shapes import url_parts
from reports.models import Basis, Stance

register = template.Library()

# get_FOO_display() builds its table of labels anew at each call.
BASES = dict(Basis.choices)
CAUSES = dict(Cause.choices)
EXTENTS = dict(DamageExtent.choices)
GRADES = dict(Grade.choices)
KINDS = dict(EventKind.choices)
LEVELS = dict(DamageLevel.choices)
STANCES = dict(Stance.choices)


@register.filter
def edtf_human(value):
    """An EDTF date as a reader says it: "about August 2015"."""
    if not value:
        return ""
    return describe_edtf(value)


@register.filter
def level_label(value):
    return LEVELS.get(value, "No event recorded")


@register.simple_tag
def place_items(points):
    """The map's places as a list, for those who cannot see the map: one <li> for each
    of views.map_points(), linked, with its condition and coordinates."""
    items = []
    for point in points:
        condition = escape(point["condition_label"] or "no event recorded")
        if point["approximate"]:
            condition += " (approximate position)"
        link = f'<a href="{escape(point["url"])}"><bdi>{escape(point["name"])}</bdi></a>'
        items.append(
            f"<li>{link}: {condition}, {_number(point['lat'])}, {_number(point['lon'])}</li>"
        )
    return mark_safe("".join(items))


def _number(value):
    """A coordinate as the template engine writes it (localize() of a float is its str()
    unless that has an exponent), without localize()'s cost."""
    text = str(value)
    return localize(value) if "e" in text else text


@register.simple_tag
def event_article(event, show_site=False, brief=False):
    """An event as the public pages show it: what happened, when, how bad, how well
    established, and each source's claim. `event` comes from
    DamageEventQuerySet.with_citation_rows(). `show_site` names its site, for lists of
    many sites' events; `brief` leaves out its description and folds its sources."""
    date = edtf_human(event.date)
    title = escape(event.summary)
    if show_site:
        site = event.site
        # <bdi>: a name in another script stays apart from the summary after it.
        title = (
            f'<a href="{escape(site.get_absolute_url())}"><bdi>{escape(site.name)}</bdi></a>: '
            f"{title}"
        )
    level = event.level or "none-recorded"
    damage = f'<span class="level level-{escape(level)}">{escape(level_label(event.level))}</span>'
    if event.extent != DamageExtent.UNKNOWN:
        extent = EXTENTS.get(event.extent, event.extent)
        damage += f' <span class="extent">({escape(extent)} of the site)</span>'
    facts = [("Damage", damage)]
    if event.kind != EventKind.DAMAGE:
        facts.append(("Kind", escape(KINDS.get(event.kind, event.kind))))
    facts.append(("Cause", escape(CAUSES.get(event.cause, event.cause))))
    if event.actor:
        facts.append(("By", escape(event.actor.name)))
    grade = escape(event.grade)
    facts.append(
        (
            "Grade",
            f'<span class="grade grade-{grade}">{escape(GRADES.get(event.grade, event.grade))}'
            f'</span> <span class="grade-why">{escape(GRADE_EXPLANATIONS.get(event.grade, ""))}'
            "</span>",
        )
    )

    html = [
        f'<article class="event" id="event-{event.pk}">',
        "<header>",
        f'<p class="event-date">{escape(date[:1].upper() + date[1:])}</p>',
        f"<h3>{title}</h3>",
        "</header>",
        '<dl class="event-facts">',
        *(f"<div><dt>{term}</dt><dd>{value}</dd></div>" for term, value in facts),
        "</dl>",
    ]
    if getattr(event, "preview_note", ""):
        html.append(f'<p class="preview-note" role="note">{escape(event.preview_note)}</p>')
    if event.has_conflict:
        html.append(
            '<p class="warning" role="note"><strong>Sources disagree</strong> on when this '
            "happened or how bad it was: compare the citations below.</p>"
        )
    if event.grade_override and event.grade_override_reason:
        reason = escape(event.grade_override_reason)
        html.append(f'<p class="override">Graded by a curator: {reason}</p>')
    if event.description and not brief:
        html.append(f'<p class="event-description">{escape(event.description)}</p>')
    citations = event.citation_list
    if citations:
        if brief:
            count = len(citations)
            html.append(f"<details><summary>{count} source{'' if count == 1 else 's'}</summary>")
        html.append('<ol class="citations" aria-label="Sources for this event">')
        source_page = url_parts("reports:source-detail")
        html.extend(_citation_item(citation, *source_page) for citation in citations)
        html.append("</ol>")
        if brief:
            html.append("</details>")
    html.append("</article>")
    return mark_safe("\n".join(html))


def _citation_item(citation, url_before, url_after):
    """One source's claim about the event: its words, who published it and when. A row
    of models.LIST_CITATION_COLUMNS."""
    stance, quote, note = citation["stance"], citation["quote"], citation["note"]
    parts = []
    if stance != Stance.SUPPORTS:
        parts.append(f'<strong class="stance">{escape(STANCES.get(stance, stance))}:</strong>')
    if quote:
        language = escape(citation["source__language"] or "en")
        parts.append(f'<q lang="{language}" dir="auto">{escape(quote)}</q>')
    elif note:
        parts.append(f'<span class="paraphrase">{escape(note)}</span>')

    said = [escape(citation["source__publisher"] or "publisher unknown")]
    if published := citation["source__published"]:
        said.append(escape(edtf_human(published)))
    if locator := citation["locator"]:
        said.append(escape(locator))
    links = ""
    if url := citation["source__url"]:
        links += f' <a href="{escape(url)}" rel="external noopener">Original</a>'
    if url := citation["source__archived_url"]:
        links += f' <a href="{escape(url)}" rel="external noopener">Archived copy</a>'
    title = escape(citation["source__title"])
    parts.append(
        f'<span class="source">— <a href="{url_before}{citation["source"]}{url_after}">{title}'
        f"</a>, {', '.join(said)}.{links}</span>"
    )

    claim = []
    if (basis := citation["basis"]) != Basis.REPORT:
        claim.append(f"Based on {escape(BASES.get(basis, basis).lower())}.")
    if level := citation["claimed_level"]:
        claim.append(f"Claims: {escape(LEVELS.get(level, level).lower())}.")
    if date := citation["claimed_date"]:
        claim.append(f"Dates it {escape(edtf_human(date))}.")
    if claim:
        parts.append(f'<span class="claim">{" ".join(claim)}</span>')
    if quote and note:
        parts.append(f'<span class="note">{escape(note)}</span>')

    item = f'<li class="citation stance-{escape(stance)}" id="citation-{citation["id"]}">'
    return f"{item}{' '.join(parts)}</li>"
