"""The Previous column a sheet was reconciled with, remembered on the cache sheet.

A run with ``--previous Last`` (a column not headed Previous) writes Consumption and Check; a
later plain run, or the Excel button, must reconcile the same way rather than leave them, the
summary, the highlight and the Review sheet as they were. The record sits on the cache sheet
right of the readings' audit columns (T:U: the sheet, the header of its Previous column).
"""

from __future__ import annotations

from xlwings_meter.workbook.cache import AUDIT_COLUMN, AUDIT_HEADERS
from xlwings_meter.workbook.sheet import Cell, SheetIO

#: One empty column after the audit columns (O:Q) and the readings a refresh replaced (R).
PREVIOUS_RECORD_COLUMN = AUDIT_COLUMN + len(AUDIT_HEADERS) + 2
PREVIOUS_RECORD_HEADERS = ("Sheet", "Previous column (--previous)")


class PreviousColumns:
    """Which column each sheet was reconciled with, read once, written back whole."""

    def __init__(self, sheet: SheetIO) -> None:
        self._sheet = sheet
        last_row, _ = sheet.extent()
        col = PREVIOUS_RECORD_COLUMN
        block = sheet.read_block(2, col, last_row, col + 1) if last_row > 1 else []
        self._rows = {str(n): str(h) for n, h in block if isinstance(n, str) and isinstance(h, str) and h}
        self._height = len(block)

    def get(self, sheet_name: str) -> str | None:
        """The header of the Previous column ``sheet_name`` was last reconciled with, if any."""
        return self._rows.get(sheet_name)

    def remember(self, sheet_name: str, header: str | None) -> None:
        """Remember ``header`` for ``sheet_name`` (None: forget it)."""
        rows = {n: h for n, h in self._rows.items() if n != sheet_name}
        if header:
            rows[sheet_name] = header
        if rows == self._rows:
            return
        block: list[list[Cell]] = [[*PREVIOUS_RECORD_HEADERS]]
        block += [[n, h] for n, h in sorted(rows.items())]
        block += [[None, None]] * max(0, self._height + 1 - len(block))
        formats: list[list[str | None]] = [["@", "@"] if row[1] is not None else [None, None] for row in block]
        self._sheet.write_block(1, PREVIOUS_RECORD_COLUMN, block, formats)
        self._rows, self._height = rows, len(rows)
