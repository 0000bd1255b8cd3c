"""The exact Status texts the tool wrote, remembered on the cache sheet.

A Status cell holding only text is the tool's when the tool wrote exactly that text into a sheet
of this workbook; any other text is a person's note, however it begins ("Not read by Ann: meter
hidden", "File not found, asked tenant") and is kept. The record sits on the cache sheet, right
of the readings (columns L:M: the sheet written to, the text), one row per distinct text still
shown. A text is recognised whichever sheet it was written into, so renaming or copying a sheet
never turns the tool's messages into a person's notes: the sheet's name only says which rows a
run of that sheet may forget.
"""

from __future__ import annotations

from collections.abc import Iterable

from xlwings_meter.workbook.cache import HEADERS
from xlwings_meter.workbook.sheet import Cell, SheetIO

#: First column of the record: one empty column after the readings' columns.
RECORD_COLUMN = len(HEADERS) + 2
RECORD_HEADERS = ("Sheet", "Status written by xlwings-meter")


class WrittenStatuses:
    """The record of Status texts the tool wrote, by sheet, read once and written back whole."""

    def __init__(self, sheet: SheetIO) -> None:
        self._sheet = sheet
        last_row, _ = sheet.extent()
        block = sheet.read_block(2, RECORD_COLUMN, last_row, RECORD_COLUMN + 1) if last_row > 1 else []
        self._rows = [(str(name), str(text)) for name, text in block
                      if isinstance(name, str) and isinstance(text, str) and text]
        self._height = len(block)

    def texts(self) -> set[str]:
        """Every Status text the tool wrote into a sheet of this workbook (still shown there
        when it last ran on that sheet, under whatever name the sheet had then)."""
        return {text for _, text in self._rows}

    def update(self, sheet_name: str, shown: Iterable[Cell], written: Iterable[str]) -> None:
        """Remember the texts just ``written`` into ``sheet_name``; of those written before (into
        any sheet: it may have been renamed or copied), keep under its name the ones its Status
        column still ``shown``s (as it is after this run's writes). Other sheets' rows stay."""
        still = {v for v in shown if isinstance(v, str)}
        texts = sorted((self.texts() & still) | set(written))
        rows = [(n, t) for n, t in self._rows if n != sheet_name] + [(sheet_name, t) for t in texts]
        if rows == self._rows:
            return
        block: list[list[Cell]] = [[*RECORD_HEADERS]]
        block += [[n, t] for n, t in rows]
        block += [[None, None]] * max(0, self._height + 1 - len(block))  # clear what is gone
        formats: list[list[str | None]] = [["@", "@"] if row[1] is not None else [None, None] for row in block]
        self._sheet.write_block(1, RECORD_COLUMN, block, formats)
        self._rows, self._height = rows, len(rows)
