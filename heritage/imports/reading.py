"""Spreadsheet files to rows: an XLSX workbook with one sheet per table, or one CSV file
per table (named after it: sites.csv, names.csv, sources.csv, events.csv,
citations.csv), given one by one or as a zip. Each cell is read as text and never
evaluated: a formula is refused, naming its cell. What is not a spreadsheet, and
what is past the limits (IMPORT_MAX_BYTES, IMPORT_MAX_UNPACKED, IMPORT_MAX_ROWS), is
refused before it is parsed, or as soon as the limit is reached, so an import's memory
is bounded whatever it is given."""

import contextlib
import csv
import dataclasses
import datetime
import io
import re
import zipfile
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath

from django.conf import settings

from heritage.dataset import FORMULA_PREFIXES
from heritage.imports.tables import TABLES

# Limits, each a setting (settings.IMPORT_*) with this default.
DEFAULTS = {
    "IMPORT_MAX_BYTES": 20 * 1024 * 1024,  # what one import may upload, all files together
    "IMPORT_MAX_UNPACKED": 200 * 1024 * 1024,  # what a zip or a workbook may unpack to
    "IMPORT_MAX_ROWS": 10_000,  # rows of all tables together
}
SURROGATES = re.compile("[\ud800-\udfff]")
# A workbook or zip of more members than this is not a spreadsheet of the register.
MAX_MEMBERS = 1_000
# Columns read from a sheet at most: a table has fewer than 15; a sheet claiming the
# last column of Excel (XFD) costs nothing more than one with these.
MAX_COLUMNS = 64
# Problems named before the reading stops: a file wrong throughout is named enough.
MAX_PROBLEMS = 100

# What other files begin with, to say what a file is rather than only what it is not.
SIGNATURES = [
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97–2003 (.xls) workbook: save it as .xlsx"),
]
ZIP_SIGNATURE = b"PK\x03\x04"
# Excel writes a character XML cannot hold (a carriage return, a control character) as
# _xHHHH_, and a literal "_x…_" as _x005F_x…_ (OOXML's ST_Xstring); openpyxl leaves both
# to its callers.
XSTRING = re.compile(r"_x([0-9A-Fa-f]{4})_")


def limit(name):
    return getattr(settings, name, DEFAULTS[name])


class ImportRefused(Exception):
    """The files cannot be imported; `problems` names each place at fault."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclasses.dataclass
class Row:
    """One row of a table: its cells as text, by column, and where it stands."""

    table: object
    file: str  # the file it came from, named in the history's reason
    place: str  # "sites.csv", or "register.xlsx, sheet sites"
    number: int  # as the spreadsheet numbers it: the heading is row 1
    data: dict
    letters: dict = None  # XLSX column letters, by column

    @property
    def key(self):
        return self.data.get("slug") or self.data.get("key") or ""

    def at(self, column=None):
        """Where a cell is, for a message: "sites.csv row 14, column latitude"."""
        if self.letters is None:
            where = f"{self.place} row {self.number}"
        else:
            where = f"{self.place}, row {self.number}"
        if column:
            where += f", column {column}"
            if self.letters and column in self.letters:
                where += f" ({self.letters[column]})"
        return where

    def __str__(self):
        return self.at()


@dataclasses.dataclass
class Upload:
    """A file to import: its name (which says what it holds) and its bytes, as a binary
    stream (seekable for a workbook or a zip)."""

    name: str
    stream: object


class _Reading:
    """The state of one reading: the tables found, the rows counted, the problems."""

    def __init__(self):
        self.tables = {}
        self.where = {}
        self.rows = self.blank = 0
        self.problems = []

    def problem(self, text):
        self.problems.append(text)
        if len(self.problems) >= MAX_PROBLEMS:
            raise ImportRefused([*self.problems, "… and the reading stopped there."])

    def table(self, name, place):
        table = TABLES.get(name.strip().lower())
        if table is None:
            self.problem(
                f"{place}: no table is called “{name}”; the tables are "
                f"{', '.join(TABLES)} (a sheet of a workbook, or a CSV file, for each)."
            )
            return None
        if table.name in self.where:
            self.problem(
                f"{place}: the table {table} is given twice (first in {self.where[table.name]})."
            )
            return None
        self.where[table.name] = place
        self.tables[table.name] = []
        return table

    def count(self, place, blank=False):
        """Count a row read; a blank one too, so that a million empty lines (or a sheet
        whose one row is numbered a million) cost no more than the rows allowed."""
        most = limit("IMPORT_MAX_ROWS")
        if blank:
            self.blank += 1
            if self.blank > most:
                raise ImportRefused(
                    [f"{place}: more than {most:,} blank rows (IMPORT_MAX_ROWS): not a table."]
                )
            return
        self.rows += 1
        if self.rows > most:
            raise ImportRefused(
                [
                    f"{place}: the files hold more than {most:,} rows, the most one import "
                    f"takes (IMPORT_MAX_ROWS). Split them, table by table or by place, and "
                    "import each part."
                ]
            )


def read(uploads):
    """The rows of these files by table name, or ImportRefused naming every problem."""
    uploads = list(uploads)
    reading = _Reading()
    total = sum(_size(upload) or 0 for upload in uploads)
    if total > limit("IMPORT_MAX_BYTES"):
        raise ImportRefused([too_large(", ".join(u.name for u in uploads), total)])
    for upload in uploads:
        name = PurePosixPath(upload.name.replace("\\", "/")).name
        suffix = PurePosixPath(name.lower()).suffix
        if _size(upload) == 0:
            reading.problem(f"{name}: the file is empty.")
        elif suffix == ".xlsx":
            _read_workbook(reading, name, upload.stream)
        elif suffix == ".zip":
            _read_zip(reading, name, upload.stream)
        elif suffix == ".csv":
            table = reading.table(PurePosixPath(name).stem, name)
            if table:
                _read_csv(reading, table, name, name, upload.stream)
        else:
            reading.problem(
                f"{name}: not a file the import reads. Give an .xlsx workbook (a sheet per "
                "table), CSV files named after their tables (sites.csv, names.csv, "
                "sources.csv, events.csv, citations.csv), or a .zip of those."
            )
    if not reading.problems and not any(reading.tables.values()):
        reading.problem(
            "No rows to import: "
            + (f"{', '.join(reading.where)} hold only headings." if reading.where else "no table.")
        )
    if reading.problems:
        raise ImportRefused(reading.problems)
    return reading.tables


def read_paths(paths):
    """The rows of the files at these paths, as read() reads them."""
    with contextlib.ExitStack() as files:
        return read(
            [Upload(Path(path).name, files.enter_context(open(path, "rb"))) for path in paths]
        )


def _size(upload):
    stream = upload.stream
    if hasattr(stream, "seekable") and stream.seekable():
        at = stream.tell()
        size = stream.seek(0, io.SEEK_END)
        stream.seek(at)
        return size
    return None


def size_text(size):
    if size < 1024 * 1024:
        return f"{size / 1024:,.0f} KB" if size >= 1024 else f"{size:,} bytes"
    return f"{size / 1_048_576:,.1f} MB".replace(".0 MB", " MB")


def too_large(name, size):
    most = limit("IMPORT_MAX_BYTES")
    return (
        f"{name}: {size_text(size)}, more than the {size_text(most)} one "
        "import takes (IMPORT_MAX_BYTES). Split it, and import each part."
    )


class _Bounded(io.RawIOBase):
    """A stream read to at most IMPORT_MAX_BYTES, for one given without a size."""

    def __init__(self, stream, name):
        self.stream, self.name, self.read_so_far = stream, name, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.stream.read(len(buffer))
        self.read_so_far += len(data)
        if self.read_so_far > limit("IMPORT_MAX_BYTES"):
            raise ImportRefused([too_large(self.name, self.read_so_far)])
        buffer[: len(data)] = data
        return len(data)


# A source's whole text may stand in one cell: longer than the csv module's default
# limit of 128 KB, never longer than the file (IMPORT_MAX_BYTES bounds that).
csv.field_size_limit(max(csv.field_size_limit(), DEFAULTS["IMPORT_MAX_BYTES"]))


def _read_csv(reading, table, file, place, stream):
    text = io.TextIOWrapper(
        io.BufferedReader(_Bounded(stream, place)), encoding="utf-8-sig", newline=""
    )
    number, header = 0, None
    try:
        for number, values in enumerate(csv.reader(text, strict=True), start=1):
            if header is None:
                header = _header(reading, table, place, values, None)
                if header is None:
                    return
                continue
            if not any(value.strip() for value in values):
                reading.count(place, blank=True)
                continue
            reading.count(place)
            row = Row(table, file, place, number, {})
            _fill(reading, row, header, values, [None] * len(values))
        if header is None:
            reading.problem(f"{place}: the file is empty (not even a heading).")
    except UnicodeDecodeError:
        reading.problem(
            f"{place} row {number + 1}: not text in UTF-8, so not a CSV file the import "
            "reads. Save it as “CSV UTF-8”."
        )
    except csv.Error as error:
        reading.problem(f"{place} row {number + 1}: not CSV the import reads ({error}).")


def _fill(reading, row, header, values, cells):
    """Set the row's cells from `values` (text, or a workbook's `cells`) under `header`,
    and keep it."""
    for position, value in enumerate(values):
        column = header[position] if position < len(header) else None
        if column:
            cell = cells[position]
            if cell is None:
                row.data[column] = _text(reading, row, column, value)
            else:
                row.data[column] = _cell(reading, row, column, cell)
        elif value not in (None, ""):
            letter = f" ({_letter(position)})" if row.letters is not None else ""
            reading.problem(
                f"{row.at()}: a value in column {position + 1}{letter}, which has no heading."
            )
    for column in header[len(values) :]:
        if column:
            row.data[column] = ""
    reading.tables[row.table.name].append(row)


def _header(reading, table, place, names, letters):
    """The columns, by position (None for an empty heading), or None if wrong."""
    columns = [(name or "").strip().lower() if isinstance(name, str) or name is None else None
               for name in names]  # fmt: skip
    problems = []
    for position, (name, column) in enumerate(zip(names, columns, strict=True)):
        if column is None:
            problems.append(f"the heading of column {position + 1} is not text ({name!r})")
        elif column and column not in table.columns:
            where = f" ({letters[position]})" if letters else ""
            problems.append(f"unknown column “{name}”{where}")
    named = [c for c in columns if c]
    for column in sorted({c for c in named if named.count(c) > 1}):
        problems.append(f"column “{column}” is given twice")
    for column in table.columns:
        if column not in named:
            problems.append(f"missing column “{column}”")
    if problems:
        reading.problem(
            f"{place}: {'; '.join(problems)}. The {table} table's columns are: "
            f"{', '.join(table.columns)}."
        )
        return None
    return columns


def _text(reading, row, column, value):
    """A CSV cell, or a workbook's text cell, as the text it holds; "" (and a problem)
    for a formula."""
    table = row.table
    if "\x00" in value:
        reading.problem(f"{row.at(column)}: a NUL character, which no text of the register holds.")
        return ""
    if SURROGATES.search(value):
        # A workbook's _xD800_ decodes to half a character, which no database stores.
        reading.problem(f"{row.at(column)}: half of a character (a lone surrogate), not text.")
        return ""
    if column in table.codes:
        value = value.strip()
    if value.lstrip("'").startswith(FORMULA_PREFIXES):
        if value.startswith("'"):
            # Text that only looks like a formula, marked as text as spreadsheets mark it
            # (the export writes it so).
            return value[1:]
        if column in table.numbers and _is_number(value):
            return value
        shown = value if len(value) <= 40 else value[:40] + "…"
        reading.problem(
            f"{row.at(column)}: “{shown}” is a formula, and the import never runs or keeps "
            "one. Type the value itself; text that begins with =, +, -, or @ starts with an "
            "apostrophe (')."
        )
        return ""
    return value


def _is_number(value):
    try:
        return Decimal(value).is_finite()
    except InvalidOperation:
        return False


# Zips and workbooks


def _open_zip(reading, name, stream, what):
    """The zip, its members' sizes checked before any is inflated; None if refused."""
    head = stream.read(8)
    stream.seek(0)
    if not head.startswith(ZIP_SIGNATURE):
        said = next((said for start, said in SIGNATURES if head.startswith(start)), None)
        reading.problem(
            f"{name}: not {what}"
            + (f": it is {said}." if said else f" (an {what.split()[-1]} file is a zip archive).")
        )
        return None
    try:
        archive = zipfile.ZipFile(stream)
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        reading.problem(f"{name}: not {what}: a damaged zip archive ({error}).")
        return None
    unpacked = sum(member.file_size for member in members)
    most = limit("IMPORT_MAX_UNPACKED")
    if len(members) > MAX_MEMBERS or unpacked > most:
        reading.problem(
            f"{name}: unpacks to {size_text(unpacked)} in {len(members):,} parts, "
            f"more than an import unpacks ({size_text(most)}, IMPORT_MAX_UNPACKED; "
            f"{MAX_MEMBERS:,} parts), so it is not opened."
        )
        return None
    return archive


def _read_zip(reading, name, stream):
    archive = _open_zip(reading, name, stream, "a zip of CSV files")
    if archive is None:
        return
    with archive:
        for member in archive.infolist():
            path = PurePosixPath(member.filename)
            if member.is_dir() or path.name.startswith(".") or "__MACOSX" in path.parts:
                continue
            place = f"{name}, {path.name}"
            if path.suffix.lower() != ".csv":
                reading.problem(f"{place}: a zip of the register holds CSV files only.")
                continue
            table = reading.table(path.stem, place)
            if table:
                try:
                    with archive.open(member) as opened:
                        _read_csv(reading, table, name, place, opened)
                except (zipfile.BadZipFile, OSError, NotImplementedError) as error:
                    reading.problem(f"{place}: cannot be unpacked ({error}).")


def _read_workbook(reading, name, stream):
    archive = _open_zip(reading, name, stream, "an XLSX workbook")
    if archive is None:
        return
    archive.close()
    import openpyxl

    stream.seek(0)
    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=False,
                                          keep_links=False)  # fmt: skip
    except Exception as error:  # noqa: BLE001 (a damaged file fails anywhere in openpyxl)
        reading.problem(f"{name}: not an XLSX workbook the import reads ({_said(error)}).")
        return
    try:
        for sheet in workbook.worksheets:
            place = f"{name}, sheet {sheet.title}"
            table = reading.table(sheet.title, place)
            if table:
                _read_sheet(reading, table, name, place, sheet)
    except ImportRefused:
        raise
    except Exception as error:  # noqa: BLE001 (sheets are parsed as they are read)
        reading.problem(f"{name}: a sheet cannot be read ({_said(error)}).")
    finally:
        workbook.close()


def _said(error):
    return f"{type(error).__name__}: {error}"[:200]


def _read_sheet(reading, table, file, place, sheet):
    # The sheet's own claim of its size is not believed: rows are read as they come,
    # and no wider than MAX_COLUMNS.
    sheet.reset_dimensions()
    header = None
    for number, cells in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS), start=1):
        values = [cell.value for cell in cells]
        while values and values[-1] is None:
            values.pop()
        if not any(value is not None for value in values):
            reading.count(place, blank=True)
            continue
        if header is None:
            letters = [_letter(n) for n in range(len(values))]
            header = _header(reading, table, place, values, letters)
            if header is None:
                return
            letters = dict(zip(header, letters, strict=True))
            continue
        reading.count(place)
        row = Row(table, file, place, number, {}, letters)
        _fill(reading, row, header, values, cells)
    if header is None:
        reading.problem(f"{place}: the sheet is empty (not even a heading).")


def _letter(position):
    from openpyxl.utils import get_column_letter

    return get_column_letter(position + 1)


def _cell(reading, row, column, cell):
    """A workbook's cell as text: numbers, flags and days written out, formulas and
    error values refused."""
    value, kind = cell.value, cell.data_type
    if value is None:
        return ""
    if kind == "f" or not isinstance(value, (str, int, float, bool, datetime.datetime)):
        shown = str(value)[:40]
        reading.problem(
            f"{row.at(column)}: “{shown}” is a formula, and the import never runs or keeps "
            "one: type the value itself."
        )
        return ""
    if kind == "e":
        reading.problem(f"{row.at(column)}: an error value ({value}), not a value.")
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        if column in row.table.dates and "d" in (cell.number_format or "").lower():
            return value.date().isoformat()
        reading.problem(
            f"{row.at(column)}: a date cell ({value:%Y-%m-%d}), which holds a day only. "
            "Type the EDTF date as text (2015-08 for a month, 2015-08~ for about then): "
            "format the column as Text, or start the date with an apostrophe (')."
        )
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return _text(reading, row, column, XSTRING.sub(lambda m: chr(int(m[1], 16)), value))
