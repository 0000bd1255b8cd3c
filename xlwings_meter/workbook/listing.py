"""Building a workbook's photo column from a folder of photos (``read FOLDER --into WORKBOOK``)."""

from __future__ import annotations

import os
from pathlib import Path

from xlwings_meter.errors import PhotoMissingError, WorkbookError
from xlwings_meter.folder import photos_in
from xlwings_meter.photos import resolve_path
from xlwings_meter.workbook.columns import DEFAULT_HEADER, locate_photo_column
from xlwings_meter.workbook.reconciling import SUMMARY_TITLE
from xlwings_meter.workbook.sheet import BookIO, Cell, WorksheetIO

TAKEN_HEADER = "Taken"
#: The header row of a workbook made from a folder: the results go right of Image as always.
NEW_HEADERS = (TAKEN_HEADER, DEFAULT_HEADER)


def add_folder(book: BookIO, folder: Path, *, sheet_name: str | None = None, column: str | None = None) -> int:
    """Append the photos of ``folder`` that the photo column does not list yet; returns how many.

    They come in the order they were taken (see :mod:`xlwings_meter.folder`), below the last
    row that holds anything (a meter's row waiting for its photo is not a free row); rows
    already there are left as they are. A column headed ``Taken`` gets each
    photo's capture time. Paths are relative to the workbook's folder when the photos are in it.
    """
    sheet = book.sheet(sheet_name)
    header, col, cells = locate_photo_column(sheet, column)
    _, last_col = sheet.extent()
    headers = sheet.read_block(header, 1, header, max(last_col, 1))[0]
    listed = {p for cell in cells if (p := _resolved(cell, book.folder)) is not None}
    new = [p for p in photos_in(folder) if p.path.resolve() not in listed]
    if not new:
        return 0
    top = max(header + 1 + len(cells), _last_filled(sheet, header) + 1)
    sheet.write_block(top, col, [[_as_cell(p.path, book.folder)] for p in new])
    taken = next((i for i, h in enumerate(headers, start=1)
                  if isinstance(h, str) and h.strip().casefold() == TAKEN_HEADER.casefold()), None)
    if taken is not None:
        times: list[list[Cell]] = [[p.taken.strftime("%Y-%m-%d %H:%M:%S") if p.taken else None] for p in new]
        sheet.write_block(top, taken, times)
    return len(new)


def _last_filled(sheet: WorksheetIO, header: int) -> int:
    """The last row of the list holding anything, in any column but the summary block's."""
    last_row, last_col = sheet.extent()
    if last_row <= header:
        return header
    rows = sheet.read_block(header, 1, last_row, max(last_col, 1))
    skip = {c for c, v in enumerate(rows[0]) if v == SUMMARY_TITLE}
    skip |= {c + 1 for c in skip}
    filled = [r for r, row in enumerate(rows, start=header)
              if any(v not in (None, "") for c, v in enumerate(row) if c not in skip)]
    return max(filled, default=header)


def new_listing_book(path: Path) -> None:
    """Make an empty workbook for a folder's photos: one sheet, headed Taken and Image."""
    import openpyxl

    if path.suffix.lower() != ".xlsx":
        raise WorkbookError(f"{path.name}: a new workbook is made as .xlsx; for the Excel buttons, write "
                            "the template with xlwings-meter template and name it with --into")
    if not path.parent.is_dir():
        raise WorkbookError(f"No folder {path.parent}")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Meters"
    ws.append(list(NEW_HEADERS))
    try:
        wb.save(path)
    except OSError as exc:  # a folder one may only read
        raise WorkbookError(f"Cannot create {path} ({exc.strerror or exc}): name a workbook in a "
                            "folder you may write with --into") from exc


def _resolved(cell: Cell, folder: Path | None) -> Path | None:
    try:
        return resolve_path(cell, folder).resolve()
    except PhotoMissingError:
        return None


def _as_cell(path: Path, folder: Path | None) -> str:
    path = path.resolve()
    if folder is not None and path.is_relative_to(folder.resolve()):
        return os.path.relpath(path, folder.resolve())
    return str(path)
