"""A sheet the tool owns (the Review sheet) written into a live workbook through xlwings.

Cells go in one block and the links in one column of HYPERLINK formulas; each picture is one
``sheet.pictures.add`` (xlwings places one picture a call) from a temporary JPEG that Excel
copies into the workbook. This tool's old pictures (their name starts with a prefix) are deleted
first: a re-run never piles them up, and a picture always takes its new size, which
``update=True`` would not give (it keeps the old picture's size). A person's pictures stay.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from xlwings_meter.excel.book import ExcelSheet, excel_calls
from xlwings_meter.workbook.sheet import POINTS_PER_PIXEL, Page, link_target


def write_page(book: Any, name: str, page: Page, prefix: str) -> None:
    """Make sheet ``name`` of the xlwings Book ``book`` show ``page`` (see BookIO.write_page)."""
    sheets = book.sheets
    with excel_calls():
        sheet = next((s for s in sheets if s.name.casefold() == name.casefold()), None)
        if sheet is None:
            active = sheets.active
            sheet = sheets.add(name, after=sheets[len(sheets) - 1])
            active.activate()  # adding a sheet shows it; give the user back their sheet
        sheet.clear()
        for old in [p for p in sheet.pictures if str(p.name).startswith(prefix)]:
            old.delete()
        cells = [[None if (r, c) in page.links else v for c, v in enumerate(row, start=1)]
                 for r, row in enumerate(page.cells, start=1)]
        ExcelSheet(sheet).write_block(1, 1, cells, page.formats)
        last = len(page.cells)
        for c in sorted({c for _, c in page.links}):  # a column of links in one call, General so the formulas work
            column = sheet.range((2, c), (last, c))
            column.number_format = "General"
            column.value = [[hyperlink(page.links[(r, c)]) if (r, c) in page.links else page.cells[r - 1][c - 1]]
                            for r in range(2, last + 1)]
        for c, width in enumerate(page.widths, start=1):
            sheet.range((1, c)).column_width = width
        if page.row_height and last > 1:
            sheet.range((2, 1), (last, 1)).row_height = page.row_height
        with tempfile.TemporaryDirectory(prefix="xlwings-meter-") as folder:
            for n, pic in enumerate(page.pictures):
                path = Path(folder) / f"{n}.jpeg"
                path.write_bytes(pic.data)
                sheet.pictures.add(str(path), name=pic.name, anchor=sheet.range((pic.row, pic.col)),
                                   width=pic.width * POINTS_PER_PIXEL, height=pic.height * POINTS_PER_PIXEL)


def hyperlink(target: str) -> str:
    """A HYPERLINK formula to ``target`` that shows it, as a file's cell shows its link.

    >>> hyperlink('photos/a "b".jpg'), hyperlink("m #3.jpg")
    ('=HYPERLINK("photos/a ""b"".jpg","photos/a ""b"".jpg")', '=HYPERLINK("m %233.jpg","m #3.jpg")')
    """
    quoted = target.replace('"', '""')
    return f'=HYPERLINK("{link_target(quoted)}","{quoted}")'
