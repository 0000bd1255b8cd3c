"""Where the photo paths are and where the results go (pure: works on values, not sheets).

The results take the four columns right of the photo column: Value, Confidence, Angle,
Status. The tool writes into them only when they are headed as it heads them (or empty) and
hold no formula; a value a person typed there (a number, a note, "see photo") is theirs, and
the job leaves its row alone (see ``edits``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from pathlib import PurePath

from xlwings_meter.errors import ColumnNotFoundError, EmptyPhotoColumnError, ForeignDataError, NoHeaderError
from xlwings_meter.folder import PHOTO_SUFFIXES
from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.workbook.sheet import Cell, SheetIO

DEFAULT_HEADER = "Image"
RESULT_HEADERS = ("Value", "Confidence", "Angle", "Status")
#: With a Previous column, two more result columns follow Status.
RECONCILE_HEADERS = ("Consumption", "Check")
#: Columns a person fills, found by their header (any case) in the photo header's row.
PREVIOUS_HEADER, CORRECTED_HEADER = "Previous", "Corrected"
CONFIDENCE_FORMAT = "0.0%"
ANGLE_FORMAT = "0.0"
MAX_COLUMN = 16384  # XFD, Excel's last column
_LETTERS = re.compile(r"^[A-Za-z]{1,3}$")


def column_letter(index: int) -> str:
    """Excel's name of the 1-based column ``index`` (Excel itself stops at MAX_COLUMN, XFD).

    Not openpyxl.utils': importing any part of openpyxl loads all of it, and numpy with it,
    a fifth of a second that a command-line run reading its workbook with lxml does not need.

    >>> [column_letter(n) for n in (1, 26, 27, 52, 703, MAX_COLUMN)]
    ['A', 'Z', 'AA', 'AZ', 'AAA', 'XFD']
    """
    if not 1 <= index <= 18278:  # ZZZ: a message may name a column just past Excel's last
        raise ValueError(f"no column {index}: names go from A to ZZZ")
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def column_index(letters: str) -> int:
    """The 1-based index of the column named ``letters`` (any case; may be past Excel's last).

    >>> column_index("A"), column_index("az"), column_index("XFD")
    (1, 52, 16384)
    """
    if not _LETTERS.match(letters):
        raise ValueError(f"not a column name: {letters!r}")
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - ord("A") + 1
    return index


#: How far down a sheet a header is looked for (a title and notes may sit above it).
HEADER_ROWS = 20
_PATH_LIKE = re.compile(r"[\\/]|\.[A-Za-z0-9]{2,5}\s*$|^\s*=")


def find_photo_column(top: Sequence[Sequence[Cell]], wanted: str | None, sheet_name: str,
                      column_cells: Callable[[int], Sequence[Cell]]) -> tuple[int, int]:
    """(header row, column) of the photo paths, both 1-based.

    ``top`` holds the first rows of the sheet (up to HEADER_ROWS). The header ``wanted`` (any
    case; default "Image") is looked for there, row by row; a header match wins over a letter,
    so a column headed "ID" is found by ``--column ID``. For a column letter, the header is
    where it is: the last non-empty cell above the first photo path (a title may sit above it),
    else the first non-empty cell. ``column_cells(col)`` gives the whole column from row 1.
    Raises ColumnNotFoundError, or EmptyPhotoColumnError for a column with nothing in it.
    """
    target = (wanted or DEFAULT_HEADER).strip()
    for r, row in enumerate(top, start=1):
        for c, header in enumerate(row, start=1):
            if isinstance(header, str) and header.strip().casefold() == target.casefold():
                return r, c
    if wanted and _LETTERS.match(target) and column_index(target.upper()) <= MAX_COLUMN:
        col = column_index(target.upper())
        return header_row(column_cells(col), sheet_name, target.upper()), col
    raise ColumnNotFoundError(
        f"No column headed {target!r} in the first {HEADER_ROWS} rows of sheet {sheet_name!r}",
        sheet=sheet_name, column=target, named=bool(wanted))


def locate_photo_column(sheet: SheetIO, wanted: str | None) -> tuple[int, int, list[Cell]]:
    """(header row, column, the column's cells below the header to the last non-empty one).

    Reads the sheet as find_photo_column needs it: its first rows, and the column named by a
    letter when the header has to be found in it.
    """
    last_row, last_col = sheet.extent()
    top = sheet.read_block(1, 1, min(last_row, HEADER_ROWS), max(last_col, 1)) if last_row else []
    header, col = find_photo_column(
        top, wanted, sheet.name,
        lambda c: [r[0] for r in sheet.read_block(1, c, last_row, c)] if last_row else [])
    cells = [r[0] for r in sheet.read_block(header + 1, col, last_row, col)] if last_row > header else []
    return header, col, cells[: last_filled_row(cells)]


def header_row(cells: Sequence[Cell], sheet_name: str, letter: str) -> int:
    """The row (1-based) of a column's header: the non-empty cell just above its first path.

    Raises NoHeaderError when the first non-empty cell is itself a photo path (an image file
    name): there is no header, and the first photo would otherwise never be read.
    """
    filled = [i for i, v in enumerate(cells, start=1) if not _blank(v)]
    if not filled:
        raise EmptyPhotoColumnError(sheet_name, letter)
    first_path = next((i for i in filled if _PATH_LIKE.search(str(cells[i - 1]))), None)
    above = [i for i in filled if first_path is not None and i < first_path]
    first = str(cells[filled[0] - 1]).strip()
    if not above and PurePath(first).suffix.lower() in PHOTO_SUFFIXES:  # a photo, not a header
        raise NoHeaderError(sheet_name, letter, filled[0], first)
    return above[-1] if above else filled[0]


def _blank(v: Cell) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def last_filled_row(values: Sequence[Cell]) -> int:
    """Index (0-based) + 1 of the last non-blank value; 0 when all are blank."""
    for i in range(len(values) - 1, -1, -1):
        v = values[i]
        if v is not None and not (isinstance(v, str) and not v.strip()):
            return i + 1
    return 0


def header_column(row: Sequence[Cell], wanted: str) -> int | None:
    """The column (1-based) of the header ``wanted`` (a header in any case, or a letter) in a
    header row; None when there is none.

    >>> header_column(["Image", "previous "], "Previous"), header_column([], "D"), header_column([], "Nope")
    (2, 4, None)
    """
    for c, header in enumerate(row, start=1):
        key = header_key(header)
        if key is not None and key.casefold() == wanted.strip().casefold():
            return c
    if _LETTERS.match(wanted.strip()) and column_index(wanted.strip().upper()) <= MAX_COLUMN:
        return column_index(wanted.strip().upper())
    return None


def header_key(value: object) -> str | None:
    """A header cell as text to name it by: text stripped, a number as written ("2025", never
    "2025.0" as Excel hands it), a date as ISO ("2025-10-01"); None for an empty cell or TRUE/FALSE.

    >>> header_key(" Last "), header_key(2025.0), header_key(dt.datetime(2025, 10, 1)), header_key(None)
    ('Last', '2025', '2025-10-01', None)
    """
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return f"{value:.6f}".rstrip("0").rstrip(".")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return None


def total_row(photos: Sequence[Cell], results: Sequence[Sequence[Cell]]) -> int | None:
    """Index (0-based) of a total row under the list, else None: the first row whose result
    cells hold a formula (``=SUM(B2:B9)``, a table's total) and whose photo cell names no photo
    (empty, or a label such as "Total"). The list ends above it; it and what lies below are the
    person's and left alone.

    >>> total_row(["m1.jpg", "Total"], [[1.5, None], ["=SUM(B2:B2)", None]]), total_row(["m1.jpg"], [["=1"]])
    (1, None)
    """
    for i, (photo, row) in enumerate(zip(photos, results)):
        if any(isinstance(v, str) and v.startswith("=") for v in row):
            text = "" if photo is None else str(photo).strip()
            named = text.startswith("=") or bool(text and _PATH_LIKE.search(text))
            return None if named else i
    return None


def check_result_columns(block: Sequence[Sequence[Cell]], first_column: int, sheet_name: str,
                         first_row: int = 1, headers: Sequence[str] = RESULT_HEADERS) -> None:
    """Refuse (ForeignDataError) unless the result columns are empty or this tool's own:
    headed as the tool heads them, with no formula below (typed values are a person's edits).

    ``block`` holds rows ``first_row`` (the header row) to the last used row of the result
    columns right of the photo column (``headers`` says which); ``first_column`` is the 1-based
    index of its first column, for the message.
    """
    room = ("four empty columns right of the photo paths" if tuple(headers) == RESULT_HEADERS
            else f"{len(headers)} empty columns right of Status")
    for j, expected in enumerate(headers):
        letter = column_letter(first_column + j)
        header = block[0][j] if block else None
        below = [(i, row[j]) for i, row in enumerate(block[1:], start=first_row + 1)
                 if row[j] not in (None, "")]
        where = f"column {letter} of sheet {sheet_name!r}"
        if header in (None, ""):
            if below:
                raise ForeignDataError(
                    f"{where} holds data without a header (e.g. {letter}{below[0][0]}); "
                    f"the results need {room}: move that data or choose another column"
                )
            continue
        if expected in RECONCILE_HEADERS and isinstance(header, str) and header.strip().casefold() in (
                PREVIOUS_HEADER.casefold(), CORRECTED_HEADER.casefold()):
            raise ForeignDataError(
                f"{where} is headed {header!r}, where Consumption and Check go (the two columns "
                f"right of Status): move {header.strip()} right of them, or left of the photos"
            )
        if not isinstance(header, str) or header.strip() != expected:
            raise ForeignDataError(
                f"{where} is headed {header!r}, not {expected!r}: it is not this tool's output, "
                f"so it is left untouched; insert {room}"
            )
        for i, value in below:
            if isinstance(value, str) and value.startswith("="):
                raise ForeignDataError(
                    f"{letter}{i} holds {value!r}, which this tool did not write; nothing was changed: "
                    "move the formula out of the result columns (a total may stay under the last "
                    "photo, beside an empty or labelled photo cell such as Total)"
                )


def result_rows(readings: Sequence[Reading | None]) -> tuple[list[list[Cell]], list[list[str | None]]]:
    """The four result cells of each reading, and their number formats.

    The value is a number (so formulas work on it) formatted to show the digits as read;
    None (a row to clear) gives four empty cells.
    """
    values: list[list[Cell]] = []
    formats: list[list[str | None]] = []
    for r in readings:
        if r is None:
            values.append([None] * 4)
            formats.append([None] * 4)
        elif r.status is ReadingStatus.READ and r.number is not None:
            values.append([r.number, r.confidence, r.angle, None])
            formats.append([r.number_format, CONFIDENCE_FORMAT, ANGLE_FORMAT, None])
        else:
            values.append([None, None, None, r.message or "Not read"])
            formats.append([None, None, None, None])
    return values, formats


def result_widths(values: Sequence[Sequence[Cell]], formats: Sequence[Sequence[str | None]]) -> list[float]:
    """Column widths (in characters) that show every header and result whole, never as ###."""
    widths = [len(h) + 2.0 for h in RESULT_HEADERS]
    for row, fmts in zip(values, formats):
        for j, (value, fmt) in enumerate(zip(row, fmts)):
            if value is None:
                continue
            shown = len(str(value)) if isinstance(value, str) else len(fmt or "") + 1
            widths[j] = max(widths[j], min(shown, 60) + 2.0)
    return widths
