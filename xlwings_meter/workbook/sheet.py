"""The one small interface through which the core reads and writes a workbook.

Two implementations: `xlwings_meter.workbook.files` (a .xlsx/.xlsm file, part by part) and
`xlwings_meter.excel.book` (a live workbook, through xlwings). Everything above this layer
(cache, batch, output columns) is written once against these two protocols.

Rows and columns are 1-based, as in Excel. Blocks are whole rectangles so that a live Excel is
called a constant number of times per batch, not once per cell.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

Cell = str | float | int | bool | None
#: The highlight of a flagged row (Excel's "light red fill with dark red text"), as RGB.
FLAG_FILL = (255, 199, 206)
FLAG_FONT = (156, 0, 6)
#: A pixel of a picture in Excel's points (at 96 dots an inch, a point being 1/72 inch).
POINTS_PER_PIXEL = 0.75


def plain(value: object) -> Cell:
    """A value as the core sees it: numbers, text and booleans as they are; dates and other
    cell types as text, whichever backend read them.

    >>> plain(3.5), plain(None), plain(__import__("datetime").date(2026, 1, 2))
    (3.5, None, '2026-01-02')
    """
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def link_target(path: str) -> str:
    """A photo's path as a link's target: a link is a URI, where "#" starts a place inside the
    file ("meter #3.jpg" would open "meter "), so "%" and "#" are escaped; the rest stays.

    >>> link_target("odd dir/meter #3 100%.jpg")
    'odd dir/meter %233 100%25.jpg'
    """
    return path.replace("%", "%25").replace("#", "%23")


def login_name() -> str:
    """Who runs this, as the system knows them (the audit of a correction names them)."""
    try:
        return getpass.getuser()
    except Exception:  # no login name known (a bare container, a service account)
        return "unknown user"


@dataclass(frozen=True)
class Picture:
    """A JPEG placed on a sheet with its top-left corner in cell (row, col), at its pixel size."""

    name: str  # unique on the sheet; a re-run replaces the picture of the same name
    data: bytes
    width: int
    height: int
    row: int
    col: int
    key: str = ""  # what it was made from (photo file, reading): an equal key, an equal picture


@dataclass
class Page:
    """A sheet the tool owns wholly and writes anew on every run: cells from A1, links, pictures."""

    cells: list[list[Cell]]
    formats: list[list[str | None]]
    widths: list[float]  # of columns A, B..., in characters
    row_height: float | None = None  # of every row but the first, in points
    links: dict[tuple[int, int], str] = field(default_factory=dict)  # cell -> file or web address
    pictures: list[Picture] = field(default_factory=list)


class SheetIO(Protocol):
    """One worksheet."""

    name: str

    def extent(self) -> tuple[int, int]:
        """(last used row, last used column); (0, 0) for an empty sheet."""
        ...

    def read_block(self, top: int, left: int, bottom: int, right: int) -> list[list[Cell]]:
        """Values of the rectangle, row by row; empty cells are None, formulas give their text."""
        ...

    def write_block(
        self,
        top: int,
        left: int,
        values: Sequence[Sequence[Cell]],
        number_formats: Sequence[Sequence[str | None]] | None = None,
    ) -> None:
        """Write a rectangle of values with ``values[0][0]`` at (top, left).

        ``number_formats``, same shape, sets each cell's format first (None leaves it as is);
        a format of "@" (text) makes a string like "00935.781" stay text.
        """
        ...


class WorksheetIO(SheetIO, Protocol):
    """A worksheet the results are written into: what a person sees in it, and what may stop a run."""

    def read_shown(self, top: int, left: int, bottom: int, right: int) -> list[list[Cell]]:
        """What the rectangle shows: like read_block, but a formula gives its computed value."""
        ...

    def links(self, top: int, left: int, bottom: int, right: int) -> dict[tuple[int, int], str]:
        """Targets of hyperlinks put on cells of the rectangle (Insert > Link), by (row, column)."""
        ...

    def obstacles(self, top: int, left: int, bottom: int, right: int) -> tuple[bool, list[str]]:
        """(the sheet is protected, addresses of merged areas overlapping the rectangle)."""
        ...

    def drawn(self) -> list[tuple[int, int, int, int]]:
        """The cells (top, left, bottom, right) each picture or chart on the sheet lies over."""
        ...

    def dress(self, header: tuple[int, int], row: int, left: int, widths: Sequence[float]) -> None:
        """Style cells (row, left...) like cell ``header`` and widen their columns to ``widths``."""
        ...

    def highlight(self, area: tuple[int, int, int, int], formulas: Sequence[str], mark: str) -> None:
        """Replace the conditional-formatting rules whose formula holds ``mark`` (this tool's,
        wherever they are on the sheet) by one rule per formula (without "=") over ``area``
        (top, left, bottom, right), each filling a true row with FLAG_FILL. A person's own
        rules stay as they are."""
        ...


class BookIO(Protocol):
    """One workbook."""

    #: The workbook's folder, against which relative photo paths are resolved (None if unsaved).
    folder: Path | None

    def sheet_names(self) -> list[str]:
        """Names of every sheet, in order, hidden ones included."""
        ...

    def sheet(self, name: str | None = None) -> WorksheetIO:
        """The named sheet, or the first visible one. Raises ColumnNotFoundError if absent."""
        ...

    def hidden_sheet(self, name: str) -> SheetIO:
        """The named sheet, created hidden at the end of the workbook if it does not exist."""
        ...

    def user_name(self) -> str:
        """Who is making changes: Excel's user name, or the login name for a file."""
        ...

    def page_pictures(self, name: str) -> dict[str, Picture]:
        """The pictures sheet ``name`` holds that carry a key, by key (a file's; Excel gives none)."""
        ...

    def write_page(self, name: str, page: Page, prefix: str) -> None:
        """Make sheet ``name`` (visible, added at the end if absent) show ``page``: its old cells
        and the pictures whose name starts with ``prefix`` go; other sheets are not touched."""
        ...


def write_runs(sheet: SheetIO, left: int, rows: dict[int, tuple[list[Cell], list[str | None]]]) -> None:
    """Write rows of cells (row -> (values, number formats)), one block per run of consecutive
    rows: a row left out (a person's) breaks a run and is not touched."""
    run: list[int] = []
    for r in sorted(rows) + [-1]:
        if run and r != run[-1] + 1:
            sheet.write_block(run[0], left, [rows[x][0] for x in run], [rows[x][1] for x in run])
            run = []
        run.append(r)
