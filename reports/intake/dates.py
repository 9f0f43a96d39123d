"""Date phrases and what they mean, relative to the publication date."""

import calendar
import datetime
import re

from django.core.exceptions import ValidationError

from heritage.dates import edtf_bounds
from reports.intake.text import lower

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            (),
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a couple of": 2,
    "a few": 3,
    "several": 3,
}

_M = (
    r"(?P<month>january|february|march|april|may|june|july|august|september|october|"
    r"november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
)
_D = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_Y = r"(?P<year>(?:19|20)\d\d)"
_N = (
    r"(?P<n>\d+|a couple of|a few|several|one|two|three|four|five|six|seven|eight|nine|"
    r"ten|eleven|twelve|an?)"
)
_APPROX = r"(?P<approx>(?:about|around|approximately|circa|roughly|some time around|c\.)\s+)?"
_PART = (
    r"(?:(?P<part>early|mid|late|the end of|the beginning of|the start of|the middle of)[\s-]+)?"
)

_DATE_FORMS = [
    ("iso", r"\b(?P<year>(?:19|20)\d\d)-(?P<mm>[01]\d)-(?P<dd>[0-3]\d)\b"),
    ("dmy", rf"\b{_APPROX}(?:on\s+)?(?:the\s+)?{_D}(?:\s+of)?\s+{_M},?\s+{_Y}\b"),
    ("mdy", rf"\b{_APPROX}(?:on\s+)?{_M}\s+{_D},?\s+{_Y}\b"),
    ("my", rf"\b{_APPROX}(?:in\s+)?{_PART}{_M},?\s+{_Y}\b"),
    ("dm", rf"\b{_APPROX}(?:on\s+)?(?:the\s+)?{_D}(?:\s+of)?\s+{_M}\b"),
    ("md", rf"\b{_APPROX}on\s+{_M}\s+{_D}\b"),
    ("y", rf"\b{_APPROX}(?:in|during|since|by)\s+{_PART}{_Y}\b"),
    ("m", rf"\b{_APPROX}(?:in|during)\s+{_PART}{_M}\b"),
    ("yesterday", r"\b(?:yesterday|last night)\b"),
    ("today", r"\b(?:today|this morning|earlier today|tonight)\b"),
    (
        "weekday",
        r"\b(?:(?P<last>last|this past|on|early on|late on)\s+)(?P<weekday>monday|tuesday|"
        r"wednesday|thursday|friday|saturday|sunday)\b",
    ),
    ("ago", rf"\b{_APPROX}{_N}\s+(?P<unit>day|week|month|year)s?\s+ago\b"),
    ("last_week", r"\blast\s+week\b|\bpast\s+week\b"),
    ("weekend", r"\b(?:over|at|during)\s+the\s+weekend\b|\blast\s+weekend\b"),
    ("this_week", r"\bthis\s+week\b"),
    ("earlier_month", r"\bearlier\s+(?:this|in the)\s+month\b"),
    ("last_month", r"\blast\s+month\b"),
    ("this_month", r"\bthis\s+month\b"),
    ("last_year", r"\blast\s+year\b"),
]
_DATE_RE = re.compile(
    "|".join(
        "(?P<f_{}>{})".format(name, re.sub(r"\(\?P<\w+>", "(?:", p)) for name, p in _DATE_FORMS
    )
)
# Every date form holds one of these: a sentence with none has no date.
_MAYBE_DATE_RE = re.compile(
    r"\d|day|week|month|year|ago|tonight|night|morning|jan|feb|mar|apr|may|jun|jul|aug|sep"
    r"|oct|nov|dec"
)
# The same forms one by one, to read a form's named groups.
_FORM_RES = {name: re.compile(p) for name, p in _DATE_FORMS}


def _iso(day):
    return day.isoformat()


def day_interval(first, last):
    """EDTF for the days from `first` to `last`: one day, or an interval."""
    return _iso(first) if first == last else f"{_iso(first)}/{_iso(last)}"


def _month(year, month):
    return f"{year:04d}-{month:02d}"


def _part_of_month(year, month, part):
    last = calendar.monthrange(year, month)[1]
    if part in ("early", "the beginning of", "the start of"):
        return day_interval(datetime.date(year, month, 1), datetime.date(year, month, 10))
    if part in ("mid", "the middle of"):
        return day_interval(datetime.date(year, month, 11), datetime.date(year, month, 20))
    if part in ("late", "the end of"):
        return day_interval(datetime.date(year, month, 21), datetime.date(year, month, last))
    return _month(year, month)


def _shift_month(year, month, delta):
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _resolve(form, match, published):
    """EDTF for one date expression, or "" when it cannot be placed."""
    groups = match.groupdict()
    approx = "~" if groups.get("approx") else ""
    try:
        if form == "iso":
            day = datetime.date(int(groups["year"]), int(groups["mm"]), int(groups["dd"]))
            return _iso(day) + approx
        if form in ("dmy", "mdy"):
            day = datetime.date(int(groups["year"]), _MONTHS[groups["month"]], int(groups["day"]))
            return _iso(day) + approx
        if form == "my":
            year, month = int(groups["year"]), _MONTHS[groups["month"]]
            if groups.get("part"):
                return _part_of_month(year, month, groups["part"])
            return _month(year, month) + approx
        if form == "y":
            return groups["year"] + approx
        if published is None:
            return ""
        if form in ("dm", "md"):
            month, day_number = _MONTHS[groups["month"]], int(groups["day"])
            day = datetime.date(published.year, month, day_number)
            if day > published:
                day = datetime.date(published.year - 1, month, day_number)
            return _iso(day) + approx
        if form == "m":
            month = _MONTHS[groups["month"]]
            year = published.year if month <= published.month else published.year - 1
            if groups.get("part"):
                return _part_of_month(year, month, groups["part"])
            return _month(year, month) + approx
        one_day = datetime.timedelta(days=1)
        if form == "yesterday":
            return _iso(published - one_day)
        if form == "today":
            return _iso(published)
        if form == "weekday":
            wanted = _WEEKDAYS.index(groups["weekday"])
            # The latest such day on or before publication: a Sunday paper's "on Sunday"
            # is that day; "last Sunday" is never the day itself.
            back = (published.weekday() - wanted) % 7
            if back == 0 and groups.get("last") in ("last", "this past"):
                back = 7
            return _iso(published - datetime.timedelta(days=back)) + approx
        if form == "ago":
            n = groups["n"]
            count = int(n) if n.isdigit() else _NUMBERS[n]
            unit = groups["unit"]
            if unit == "day":
                return _iso(published - datetime.timedelta(days=count)) + approx
            if unit == "week":
                centre = published - datetime.timedelta(days=7 * count)
                return day_interval(centre - 3 * one_day, centre + 3 * one_day)
            if unit == "month":
                return _month(*_shift_month(published.year, published.month, -count)) + approx
            return f"{published.year - count:04d}" + approx
        if form == "last_week":  # the Monday-to-Sunday week before publication's
            monday = published - datetime.timedelta(days=published.weekday() + 7)
            return day_interval(monday, monday + 6 * one_day)
        if form == "weekend":
            back = (published.weekday() - 6) % 7 or 7
            sunday = published - datetime.timedelta(days=back)
            return day_interval(sunday - one_day, sunday)
        if form == "this_week":
            monday = published - datetime.timedelta(days=published.weekday())
            return day_interval(monday, published)
        if form == "earlier_month":
            first = published.replace(day=1)
            if first == published:
                return _month(published.year, published.month)
            return day_interval(first, published - one_day)
        if form == "last_month":
            return _month(*_shift_month(published.year, published.month, -1))
        if form == "this_month":
            return _month(published.year, published.month)
        if form == "last_year":
            return f"{published.year - 1:04d}"
    except (ValueError, KeyError):
        return ""
    return ""


def find_dates(sentence, published=None):
    """[(start, end, edtf, words)] for each date expression in `sentence` (offsets into
    it); edtf is "" when a relative expression has no publication date to go by."""
    if isinstance(published, datetime.datetime):
        published = published.date()
    lowered = lower(sentence)
    found = []
    if not _MAYBE_DATE_RE.search(lowered):
        return found  # most sentences: one cheap look instead of every form
    for match in _DATE_RE.finditer(lowered):
        form = None
        for name, _ in _DATE_FORMS:
            if match.group(f"f_{name}") is not None:
                form = name
                break
        detail = _FORM_RES[form].match(lowered, match.start(), match.end())
        if detail is None:
            continue
        # (Read back only as far as a reporting verb and its object can reach, so a long
        # sentence of many dates costs its length, not its length squared.)
        if _REPORTING_RE.search(lowered, max(0, match.start() - 60), match.start()):
            continue  # "said on Friday": when it was said, not when it happened
        edtf = _resolve(form, detail, published)
        found.append((match.start(), match.end(), edtf, sentence[match.start() : match.end()]))
    return found


_REPORTING_RE = re.compile(
    r"\b(?:said|says|say|told(?: \w+)?|announced|reported|stated|added|confirmed|released|"
    r"published|posted|wrote|declared|claimed)\s*,?\s*$"
    # "a video released by the group on Thursday": when it came out, not what it shows
    r"|\b(?:released|published|posted|issued|broadcast|aired|uploaded)(?: \w+){1,4}\s*$"
)


def bounds(edtf):
    """(first day, last day) of an EDTF value, as the register reads it (heritage.dates),
    or None for "" or what is not EDTF."""
    if not edtf:
        return None
    try:
        return edtf_bounds(edtf)
    except ValidationError:
        return None


def overlap(first, second):
    """Whether two EDTF values could be the same time ("" overlaps anything)."""
    a, b = bounds(first), bounds(second)
    if a is None or b is None:
        return True
    return a[0] <= b[1] and b[0] <= a[1]


def days_in(sentence, published=None):
    """The days (day and month, the year written or the publication's) `sentence` names,
    as dates, in order."""
    days = []
    for start, _, edtf, _ in find_dates(sentence, published):
        found = bounds(edtf)
        if found and found[0] == found[1] and edtf[:10].count("-") == 2:
            days.append((start, found[0]))
    return [day for _, day in sorted(days)]
