import datetime

import pytest
from django.core.exceptions import ValidationError

from heritage.dates import EARLIEST, LATEST, describe_edtf, edtf_bounds

D = datetime.date


@pytest.mark.parametrize(
    ("value", "lower", "upper"),
    [
        ("2015-08-30", D(2015, 8, 30), D(2015, 8, 30)),
        ("2015-08", D(2015, 8, 1), D(2015, 8, 31)),
        ("2015-08~", D(2015, 7, 1), D(2015, 9, 30)),
        ("2015-08-30?", D(2015, 8, 27), D(2015, 9, 2)),
        ("2015~", D(2014, 1, 1), D(2016, 12, 31)),
        ("2016-12-26~/2017-01-10", D(2016, 12, 23), D(2017, 1, 10)),
        ("2016-02", D(2016, 2, 1), D(2016, 2, 29)),
        ("2015", D(2015, 1, 1), D(2015, 12, 31)),
        ("2016-12-26/2017-01-10", D(2016, 12, 26), D(2017, 1, 10)),
        ("2015-05/2016-03-27", D(2015, 5, 1), D(2016, 3, 27)),
        ("../2015-10-05", EARLIEST, D(2015, 10, 5)),
        ("2015-06/..", D(2015, 6, 1), LATEST),
        (" 2015-08-30 ", D(2015, 8, 30), D(2015, 8, 30)),
    ],
)
def test_it_bounds_an_edtf_date_by_its_earliest_and_latest_day(value, lower, upper):
    assert edtf_bounds(value) == (lower, upper)


@pytest.mark.parametrize("value", ["30 August 2015", "2015-02-30", "2015-13", "soon", "15-8-30"])
def test_it_refuses_what_is_not_edtf_and_says_how_to_write_it(value):
    with pytest.raises(ValidationError) as caught:
        edtf_bounds(value)
    message = caught.value.messages[0]
    assert "is not a date in EDTF" in message or "cannot be placed" in message
    assert "2016-12-26/2017-01-10" in message


def test_it_refuses_an_interval_that_ends_before_it_begins():
    with pytest.raises(ValidationError, match="ends before it begins"):
        edtf_bounds("2017-01-10/2016-12-26")


def test_it_refuses_an_empty_date():
    with pytest.raises(ValidationError, match="Enter a date"):
        edtf_bounds("  ")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2015-08-30", "30 August 2015"),
        ("2015-08", "August 2015"),
        ("2015", "2015"),
        ("2015-08~", "about August 2015"),
        ("2015-08-30?", "perhaps 30 August 2015"),
        ("2015%", "perhaps about 2015"),
        ("2015-21", "spring 2015"),
        ("2016-12-26/2017-01-10", "between 26 December 2016 and 10 January 2017"),
        ("2015-05/2016-03-27", "between May 2015 and 27 March 2016"),
        ("../2015-10-05", "on or before 5 October 2015"),
        ("2015-06/..", "on or after June 2015"),
        ("201X", "sometime between 1 January 2010 and 31 December 2019"),
        ("[2015-08-01,2015-08-05]", "[2015-08-01,2015-08-05]"),  # a list: refused, as is
        ("not a date", "not a date"),
    ],
)
def test_it_says_a_date_as_a_reader_would(value, words):
    assert describe_edtf(value) == words


def simple_dates():
    """Every shape the quick reader takes, at awkward places in the calendar."""
    days = ["2015-08-30", "2016-02-29", "2015-12-31", "2015-01-01", "1999-03-03", "0999-09-09"]
    months = ["2015-08", "2016-02", "2015-12", "2015-01", "1900-02"]
    years = ["2015", "2000", "0001", "9999"]
    singles = [d + q for d in days + months + years for q in ("", "~", "?", "%")]
    intervals = [f"{a}/{b}" for a in singles[::3] for b in singles[1::4]]
    opens = [f"../{d}" for d in singles[::2]] + [f"{d}/.." for d in singles[1::2]]
    return singles + intervals + opens


def reading(read, value):
    """What `read` makes of `value`: its bounds, or the code of its error."""
    try:
        return read(value)
    except ValidationError as error:
        return error.code


def test_the_quick_reader_agrees_with_the_edtf_package_on_every_simple_shape():
    from heritage.dates import _parsed_bounds, _parsed_description, _simple_parse

    for value in simple_dates():
        assert _simple_parse(value) is not None, value
        assert reading(edtf_bounds, value) == reading(_parsed_bounds, value), value
        assert describe_edtf(value) == _parsed_description(value), value


@pytest.mark.parametrize(
    "value", ["2015-02-30", "2015-13", "2015-21", "201X", "2015-08-3", "../..", "2015/2016/2017"]
)
def test_what_the_quick_reader_cannot_read_goes_to_the_edtf_package(value):
    from heritage.dates import _parsed_bounds, _simple_parse

    assert _simple_parse(value) is None
    assert reading(edtf_bounds, value) == reading(_parsed_bounds, value)
