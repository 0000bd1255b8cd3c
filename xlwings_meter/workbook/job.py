"""One "read the meters of this sheet" job, the same for a workbook file and a live Excel.

Everything that could stop the job is checked before the first photo is sent (the column,
the result columns, merged cells, a protected sheet), so nothing is paid for in vain. Rows a
person changed are left alone, and rows below the list that hold the tool's old results are
cleared with the list, so totals over the Value column stay right.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from xlwings_meter.engines.base import Engine
from xlwings_meter.errors import (
    MergedCellsError,
    PhotoMissingError,
    ProtectedSheetError,
)
from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.workbook.batch import (
    DEFAULT_CONCURRENCY,
    BatchResult,
    Progress,
    read_photos,
)
from xlwings_meter.workbook.cache import CACHE_SHEET, CacheEntry, ReadingCache
from xlwings_meter.workbook.columns import (
    HEADER_ROWS,
    RESULT_HEADERS,
    check_result_columns,
    column_letter,
    find_photo_column,
    last_filled_row,
    result_rows,
    result_widths,
)
from xlwings_meter.workbook.edits import fingerprints, is_tool_row
from xlwings_meter.workbook.references import photo_cells
from xlwings_meter.workbook.sheet import BookIO, Cell, WorksheetIO


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

    The rows below the photo header, to the last non-empty one, are read; the results and
    the cache sheet are written even when the batch stopped early, so what was paid for is
    kept. ``engine`` None means cache only. ``rows`` (first, last) limits the job to those
    rows (Excel's "selected rows"); ``cache`` is a cache already loaded for this workbook
    (Excel keeps one per open workbook). Rows whose results a person changed are listed in
    the result's ``kept`` and not touched.
    """
    sheet = book.sheet(sheet_name)
    last_row, last_col = sheet.extent()
    top = sheet.read_block(1, 1, min(last_row, HEADER_ROWS), max(last_col, 1)) if last_row else []
    header, col = find_photo_column(
        top, column, sheet.name,
        lambda c: [r[0] for r in sheet.read_block(1, c, last_row, c)] if last_row else [])
    first, last = header + 1, last_row
    if rows:
        first, last = max(rows[0], first), min(rows[1], last_row)
    refs: list[Cell | Reading] = [
        Reading.failure(ReadingStatus.FILE_MISSING, str(r)) if isinstance(r, PhotoMissingError) else r
        for r in photo_cells(sheet, first, last, col)]
    refs = refs[: last_filled_row([r if isinstance(r, (str, int, float)) or r is None else "x" for r in refs])]
    list_end = first + len(refs) - 1 if refs else header

    bottom = max(last_row, header)
    results = sheet.read_block(header, col + 1, bottom, col + 4)
    check_result_columns(results, col + 1, sheet.name, first_row=header)
    _check_obstacles(sheet, header, col, bottom)

    if cache is None:
        cache = ReadingCache(book.hidden_sheet(CACHE_SHEET), on_record=on_record)
    cache.merge(recovered)
    known = fingerprints(e.reading for e in cache.entries())
    current = {header + i: row for i, row in enumerate(results)}
    scope_end = bottom if not rows else list_end  # below a selection, nothing is cleared
    kept = [r for r in range(first, scope_end + 1)
            if r in current and not is_tool_row(current[r], known)]

    readings: list[Reading | None] = [None] * len(refs)
    todo = [i for i, ref in enumerate(refs) if first + i not in kept and not isinstance(ref, Reading)]
    for i, ref in enumerate(refs):
        if isinstance(ref, Reading) and first + i not in kept:
            readings[i] = ref
    try:
        result = read_photos([refs[i] for i in todo], book.folder, engine, cache,  # type: ignore[misc]
                             concurrency=concurrency, refresh=refresh, progress=progress)
    finally:
        cache.flush()
    for i, reading in zip(todo, result.readings):
        readings[i] = reading
    result.readings = [r for r in readings if r is not None]
    result.kept = kept

    sheet.write_block(header, col + 1, [list(RESULT_HEADERS)])
    by_row: dict[int, Reading | None] = {first + i: r for i, r in enumerate(readings) if r is not None}
    for r in range(list_end + 1, scope_end + 1):  # old results below the list go with it
        if r not in kept and any(v not in (None, "") for v in current.get(r, ())):
            by_row[r] = None
    _write_rows(sheet, col + 1, by_row)
    values, formats = result_rows([r for r in by_row.values() if r is not None])
    sheet.dress((header, col), header, col + 1, result_widths(values, formats))
    return result


def _check_obstacles(sheet: WorksheetIO, header: int, col: int, bottom: int) -> None:
    """Refuse, before paying, result cells that cannot be written: merged, or protected."""
    protected, merged = sheet.obstacles(header, col + 1, bottom, col + 4)
    if merged:
        raise MergedCellsError(sheet.name, merged[0])
    if protected:
        raise ProtectedSheetError(
            sheet.name, f"{column_letter(col + 1)}{header}:{column_letter(col + 4)}{bottom}")


def _write_rows(sheet: WorksheetIO, left: int, by_row: dict[int, Reading | None]) -> None:
    """Write the rows, one block per run of consecutive rows (kept rows break a run)."""
    run: list[int] = []
    for r in sorted(by_row) + [-1]:
        if run and r != run[-1] + 1:
            values, formats = result_rows([by_row[x] for x in run])
            sheet.write_block(run[0], left, values, formats)
            run = []
        run.append(r)
