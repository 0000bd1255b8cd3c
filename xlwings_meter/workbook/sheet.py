"""The one small interface through which the core reads and writes a workbook.

Two implementations: `xlwings_meter.workbook.files` (a .xlsx/.xlsm file, part by part) and
`xlwings_meter.excel.book` (a live workbook, through xlwings). Everything above this layer
(cache, batch, output columns) is written once against these two protocols.

Rows and columns are 1-based, as in Excel. Blocks are whole rectangles so that a live Excel is
called a constant number of times per batch, not once per cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

Cell = str | float | int | bool | None


def plain(value: object) -> Cell:
    """A value as the core sees it: numbers, text and booleans as they are; dates and other
    cell types as text, whichever backend read them.

    >>> plain(3.5), plain(None), plain(__import__("datetime").date(2026, 1, 2))
    (3.5, None, '2026-01-02')
    """
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


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

    def dress(self, header: tuple[int, int], row: int, left: int, widths: Sequence[float]) -> None:
        """Style cells (row, left...) like cell ``header`` and widen their columns to ``widths``."""
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
