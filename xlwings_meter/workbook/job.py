"""One "read the meters of this sheet" job, the same for a workbook file and a live Excel."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from xlwings_meter.engines.base import Engine
from xlwings_meter.workbook.batch import (
    DEFAULT_CONCURRENCY,
    BatchResult,
    Progress,
    read_photos,
)
from xlwings_meter.workbook.cache import CACHE_SHEET, CacheEntry, ReadingCache
from xlwings_meter.workbook.columns import (
    RESULT_HEADERS,
    check_result_columns,
    find_photo_column,
    last_filled_row,
    result_rows,
)
from xlwings_meter.workbook.sheet import BookIO, Cell


def read_sheet(
    book: BookIO,
    engine: Engine | None,
    *,
    sheet_name: str | None = None,
    column: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    refresh: bool = False,
    progress: Progress | None = None,
    recovered: Iterable[CacheEntry] = (),
    on_record: Callable[[CacheEntry], None] | None = None,
    rows: tuple[int, int] | None = None,
    cache: ReadingCache | None = None,
) -> BatchResult:
    """Read every photo listed under the photo column and write the results beside it.

    Checks that the result columns are free before anything is sent. Rows 2 to the last
    non-empty row are read; the results and the cache sheet are written even when the batch
    stopped early, so what was paid for is kept. ``engine`` None means cache only.
    ``rows`` (first, last) limits the job to those rows (Excel's "selected rows"); ``cache``
    is a cache already loaded for this workbook (Excel keeps one per open workbook).
    """
    sheet = book.sheet(sheet_name)
    last_row, last_col = sheet.extent()
    headers = sheet.read_block(1, 1, 1, max(last_col, 1))[0] if last_row else []
    col = find_photo_column(headers, column, sheet.name)
    first, last = (max(rows[0], 2), min(rows[1], last_row)) if rows else (2, last_row)
    cells = [row[0] for row in sheet.read_block(first, col, last, col)] if last >= first else []
    cells = cells[: last_filled_row(cells)]

    check_result_columns(sheet.read_block(1, col + 1, max(last_row, 1), col + 4), col + 1, sheet.name)

    if cache is None:
        cache = ReadingCache(book.hidden_sheet(CACHE_SHEET), on_record=on_record)
    cache.merge(recovered)
    try:
        result = read_photos(cells, book.folder, engine, cache, concurrency=concurrency,
                             refresh=refresh, progress=progress)
    finally:
        cache.flush()
    values, formats = result_rows(result.readings)
    if first == 2:
        header_row: list[list[Cell]] = [list(RESULT_HEADERS)]
        no_formats: list[list[str | None]] = [[None] * 4]
        sheet.write_block(1, col + 1, header_row + values, no_formats + formats)
    else:
        sheet.write_block(1, col + 1, [list(RESULT_HEADERS)])
        if values:
            sheet.write_block(first, col + 1, values, formats)
    return result
