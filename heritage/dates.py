"""Dates written in the Extended Date/Time Format (EDTF, Library of Congress).

Events and claims are dated as vaguely as the evidence allows: `2015-08-30`, `2015-08~`
(about August 2015), `2016-12-26/2017-01-10` (between two satellite images),
`../2015-10-05` (on or before). Each value is stored as written and also as two real
dates, its earliest and latest possible day, so "what happened in September 2015" is an
interval-overlap query on indexed columns.
"""

import calendar
import datetime
import functools
import re

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import models
from edtf import parse_edtf, struct_time_to_date
from edtf.parser.edtf_exceptions import EDTFParseException
from edtf.parser.parser_classes import (
    Interval,
    UncertainOrApproximate,
    UnspecifiedIntervalSection,
)

# Open interval ends ("../2015-10-05") are stored as the widest dates both databases
# keep, so overlap queries need no NULL handling.
EARLIEST = datetime.date(1, 1, 1)
LATEST = datetime.date(9999, 12, 31)

HELP_TEXT = (
    "EDTF: 2015-08-30 · 2015-08 (sometime in August) · 2015-08~ (about August: July to "
    "September) · "
    "2016-12-26/2017-01-10 (between two dates) · ../2015-10-05 (on or before)."
)


# "About" (~) or "perhaps" (?) widens a date by this much either side, by its precision:
# `2015-08~` runs from July to September 2015. (The edtf package's own fuzzy bounds pad
# every component, turning "about August 2015" into two and a half years.)
PADDING = {
    "day": relativedelta(days=3),
    "month": relativedelta(months=1),
    "season": relativedelta(months=1),
    "year": relativedelta(years=1),
}


def _side_bounds(section):
    if isinstance(section, UnspecifiedIntervalSection):
        return EARLIEST, LATEST
    lower = struct_time_to_date(section.lower_strict())
    upper = struct_time_to_date(section.upper_strict())
    if isinstance(section, UncertainOrApproximate) and section.ua:
        padding = PADDING.get(getattr(section.date, "precision", None), relativedelta())
        lower, upper = (
            max(EARLIEST + padding, lower) - padding,
            min(LATEST - padding, upper) + padding,
        )
    return lower, upper


# The shapes nearly every date in the register takes: a year, month or day, perhaps
# "about" or "perhaps", alone or as either end of an interval ("../" for an open end).
# They are read here in microseconds; the edtf package's parser takes milliseconds a
# date, which a page of 200 events and 800 citations would pay some two thousand times.
# Anything else (seasons, unspecified digits, level 2) goes to the package.
SIMPLE_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?([~?%]?)")
OPEN = ".."


def _simple_section(text):
    """(lower, upper, precision, qualifier) of a simple date, or None."""
    match = SIMPLE_DATE.fullmatch(text)
    if not match:
        return None
    year, month, day, qualifier = match.groups()
    year = int(year)
    try:
        if day:
            lower = upper = datetime.date(year, int(month), int(day))
            precision = "day"
        elif month:
            lower = datetime.date(year, int(month), 1)
            upper = lower.replace(day=calendar.monthrange(year, lower.month)[1])
            precision = "month"
        else:
            lower, upper = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
            precision = "year"
    except ValueError:
        return None  # the package words the error
    return lower, upper, precision, qualifier


def _simple_parse(text):
    """The sections of a simple date or interval (OPEN for an open end), or None."""
    parts = text.split("/")
    if len(parts) > 2:
        return None
    sections = []
    for part in parts:
        if part == OPEN and len(parts) == 2:
            sections.append(OPEN)
            continue
        section = _simple_section(part)
        if section is None:
            return None
        sections.append(section)
    if sections == [OPEN, OPEN]:
        return None
    return sections


def _padded(section):
    lower, upper, precision, qualifier = section
    if qualifier:
        padding = PADDING[precision]
        lower = max(EARLIEST + padding, lower) - padding
        upper = min(LATEST - padding, upper) + padding
    return lower, upper


# The longest date the register reads: any date or interval it stores fits (EDTFField's
# max_length), and nothing longer reaches the parser, whose cost grows with its input.
MAX_LENGTH = 64


def edtf_bounds(value):
    """The earliest and latest day an EDTF string allows, or ValidationError if it is
    not EDTF or its interval runs backwards. Bounded: a value longer than MAX_LENGTH,
    or an EDTF set or list ({…}, […]: one of several dates, which no interval says), is
    refused before any parsing."""
    text = (value or "").strip()
    if not text:
        raise ValidationError("Enter a date.", code="required")
    if len(text) > MAX_LENGTH:
        raise ValidationError(
            "This date is %(length)s characters long; a date the register reads is at most "
            "%(limit)s.",
            code="too_long",
            params={"length": len(text), "limit": MAX_LENGTH},
        )
    if any(mark in text for mark in "{}[]"):
        raise ValidationError(
            "“%(value)s” is an EDTF set or list (one of several dates): give the period "
            "they fall in as an interval instead, such as 2015-08/2015-10.",
            code="edtf_set",
            params={"value": text[:40]},
        )
    sections = _simple_parse(text)
    if sections is not None:
        first, last = sections[0], sections[-1]
        lower = EARLIEST if first == OPEN else _padded(first)[0]
        upper = LATEST if last == OPEN else _padded(last)[1]
        return _in_order(text, lower, upper)
    return _parsed_bounds(text)


def _parsed_bounds(text):
    """edtf_bounds() by the edtf package's parser: any EDTF at all."""
    try:
        parsed = parse_edtf(text)
    except (EDTFParseException, ValueError, TypeError) as error:
        raise ValidationError(
            "“%(value)s” is not a date in EDTF. " + HELP_TEXT,
            code="invalid_edtf",
            params={"value": text},
        ) from error
    try:
        if isinstance(parsed, Interval):
            lower, _ = _side_bounds(parsed.lower)
            _, upper = _side_bounds(parsed.upper)
        else:
            lower, upper = _side_bounds(parsed)
    except (ValueError, TypeError, OverflowError) as error:
        raise ValidationError(
            "“%(value)s” cannot be placed on a calendar. " + HELP_TEXT,
            code="invalid_edtf",
            params={"value": text},
        ) from error
    return _in_order(text, lower, upper)


def _in_order(text, lower, upper):
    if upper < lower:
        raise ValidationError(
            "“%(value)s” ends before it begins: the second date must not be earlier "
            "than the first.",
            code="edtf_backwards",
            params={"value": text},
        )
    return lower, upper


def validate_edtf(value):
    edtf_bounds(value)


class EDTFField(models.CharField):
    """An EDTF string, validated. The model keeps its bounds in two DateFields."""

    default_validators = [validate_edtf]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", MAX_LENGTH)
        kwargs.setdefault("help_text", HELP_TEXT)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return value.strip() if isinstance(value, str) else value


MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
SEASONS = {"21": "spring", "22": "summer", "23": "autumn", "24": "winter"}
QUALIFIERS = {"~": "about ", "?": "perhaps ", "%": "perhaps about "}


def _describe_day(day):
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _describe_section(section):
    qualifier = ""
    if isinstance(section, UncertainOrApproximate) and section.ua:
        qualifier = QUALIFIERS.get(str(section.ua), "")
        section = section.date
    lower = struct_time_to_date(section.lower_strict())
    upper = struct_time_to_date(section.upper_strict())
    season = SEASONS.get(str(getattr(section, "season", "")))
    if season:
        text = f"{season} {lower.year}"
    elif lower == upper:
        text = _describe_day(lower)
    elif (lower.month, lower.day, upper.month, upper.day) == (1, 1, 12, 31) and (
        lower.year == upper.year
    ):
        text = str(lower.year)
    elif (
        lower.day == 1
        and (lower.year, lower.month) == (upper.year, upper.month)
        and (upper + datetime.timedelta(days=1)).month != upper.month
    ):
        text = f"{MONTHS[lower.month - 1]} {lower.year}"
    else:
        text = f"sometime between {_describe_day(lower)} and {_describe_day(upper)}"
    return qualifier + text


def _describe_simple(section):
    lower, _, precision, qualifier = section
    text = {
        "day": lambda: _describe_day(lower),
        "month": lambda: f"{MONTHS[lower.month - 1]} {lower.year}",
        "year": lambda: str(lower.year),
    }[precision]()
    return QUALIFIERS.get(qualifier, "") + text


def describe_edtf(value):
    """An EDTF date as a reader says it: "30 August 2015", "about August 2015",
    "between 26 December 2016 and 10 January 2017", "on or before 5 October 2015".
    Text that is not EDTF comes back unchanged."""
    return _describe(value) if isinstance(value, str) else _described(value)


@functools.lru_cache(maxsize=8192)
def _describe(value):
    # Remembered: a page of events and citations says the same few dates many times.
    return _described(value)


def _described(value):
    sections = _simple_parse((value or "").strip()) if isinstance(value, str) else None
    if sections is not None:
        try:
            edtf_bounds(value)
        except ValidationError:
            return value
        if len(sections) == 1:
            return _describe_simple(sections[0])
        start, end = sections
        if start == OPEN:
            return f"on or before {_describe_simple(end)}"
        if end == OPEN:
            return f"on or after {_describe_simple(start)}"
        return f"between {_describe_simple(start)} and {_describe_simple(end)}"
    return _parsed_description(value)


def _parsed_description(value):
    """describe_edtf() by the edtf package's parser."""
    try:
        edtf_bounds(value)
        parsed = parse_edtf(value.strip())
        if not isinstance(parsed, Interval):
            return _describe_section(parsed)
        start, end = parsed.lower, parsed.upper
        if isinstance(start, UnspecifiedIntervalSection):
            return f"on or before {_describe_section(end)}"
        if isinstance(end, UnspecifiedIntervalSection):
            return f"on or after {_describe_section(start)}"
        return f"between {_describe_section(start)} and {_describe_section(end)}"
    except (ValidationError, ValueError, TypeError, AttributeError):
        return value
