"""Where the photo paths are and where the results go (pure: works on values, not sheets).

The results take the four columns right of the photo column: Value, Confidence, Angle,
Status. The tool writes into them only when they are empty or hold its own output, judged by
their header and by the kind of every value below it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from openpyxl.utils import column_index_from_string, get_column_letter

from xlwings_meter.errors import ColumnNotFoundError, ForeignDataError
from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.workbook.sheet import Cell

DEFAULT_HEADER = "Image"
RESULT_HEADERS = ("Value", "Confidence", "Angle", "Status")
CONFIDENCE_FORMAT = "0.0%"
ANGLE_FORMAT = "0.0"
MAX_COLUMN = 16384  # XFD, Excel's last column
_LETTERS = re.compile(r"^[A-Za-z]{1,3}$")


def find_photo_column(headers: Sequence[Cell], wanted: str | None, sheet_name: str) -> int:
    """The 1-based column of photo paths: the header ``wanted`` (any case), or a column letter.

    With ``wanted`` None, the column headed "Image". A header match wins over a letter, so a
    column headed "ID" is found by ``--column ID``.
    """
    target = (wanted or DEFAULT_HEADER).strip()
    for i, header in enumerate(headers, start=1):
        if isinstance(header, str) and header.strip().casefold() == target.casefold():
            return i
    if wanted and _LETTERS.match(target) and column_index_from_string(target.upper()) <= MAX_COLUMN:
        return column_index_from_string(target.upper())
    raise ColumnNotFoundError(f"No column headed {target!r} in row 1 of sheet {sheet_name!r}",
                              sheet=sheet_name, column=target, named=bool(wanted))


def last_filled_row(values: Sequence[Cell]) -> int:
    """Index (0-based) + 1 of the last non-blank value; 0 when all are blank."""
    for i in range(len(values) - 1, -1, -1):
        v = values[i]
        if v is not None and not (isinstance(v, str) and not v.strip()):
            return i + 1
    return 0


def check_result_columns(block: Sequence[Sequence[Cell]], first_column: int, sheet_name: str) -> None:
    """Refuse (ForeignDataError) unless the four result columns are empty or this tool's own.

    ``block`` holds rows 1..last used row of the four columns right of the photo column;
    ``first_column`` is the 1-based index of its first column, for the message.
    """
    for j, expected in enumerate(RESULT_HEADERS):
        letter = get_column_letter(first_column + j)
        header = block[0][j] if block else None
        below = [(i, row[j]) for i, row in enumerate(block[1:], start=2) if row[j] not in (None, "")]
        where = f"column {letter} of sheet {sheet_name!r}"
        if header in (None, ""):
            if below:
                raise ForeignDataError(
                    f"{where} holds data without a header (e.g. {letter}{below[0][0]}); "
                    f"the results need the four columns right of the photos: move that data or "
                    f"choose another column"
                )
            continue
        if not isinstance(header, str) or header.strip() != expected:
            raise ForeignDataError(
                f"{where} is headed {header!r}, not {expected!r}: it is not this tool's output, "
                f"so it is left untouched; insert four empty columns right of the photo paths"
            )
        for i, value in below:
            if not _looks_like_ours(expected, value):
                raise ForeignDataError(
                    f"{letter}{i} holds {value!r}, which this tool did not write; "
                    f"nothing was changed"
                )


def _looks_like_ours(header: str, value: Cell) -> bool:
    if isinstance(value, str) and value.startswith("="):
        return False
    if header == "Status":
        return isinstance(value, str)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def result_rows(readings: Sequence[Reading]) -> tuple[list[list[Cell]], list[list[str | None]]]:
    """The four result cells of each reading, and their number formats.

    The value is a number (so formulas work on it) formatted to show the digits as read.
    """
    values: list[list[Cell]] = []
    formats: list[list[str | None]] = []
    for r in readings:
        if r.status is ReadingStatus.READ and r.number is not None:
            values.append([r.number, r.confidence, r.angle, None])
            formats.append([r.number_format, CONFIDENCE_FORMAT, ANGLE_FORMAT, None])
        else:
            values.append([None, None, None, r.message or "Not read"])
            formats.append([None, None, None, None])
    return values, formats
