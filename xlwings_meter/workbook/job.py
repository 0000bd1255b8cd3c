"""One "read the meters of this sheet" job, the same for a workbook file and a live Excel.

Everything that could stop the job is checked before the first photo is sent (the column,
the result columns, merged cells, a protected sheet), so nothing is paid for in vain. Rows a
person changed are left alone, and rows below the list that hold the tool's old results are
cleared with the list, so totals over the Value column stay right. With a Previous column the
sheet is then reconciled (``reconciling``): Consumption, Check, highlight, summary block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from xlwings_meter.engines.base import Engine
from xlwings_meter.errors import (
    ColumnNotFoundError,
    EmptyPhotoColumnError,
    ForeignDataError,
    MergedCellsError,
    NoRoomError,
    PhotoMissingError,
    ProtectedSheetError,
)
from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.reconcile import Limits
from xlwings_meter.workbook.batch import (
    DEFAULT_CONCURRENCY,
    BatchResult,
    Progress,
    read_photos,
)
from xlwings_meter.workbook.cache import CACHE_SHEET, CacheEntry, ReadingCache
from xlwings_meter.workbook.columns import (
    HEADER_ROWS,
    MAX_COLUMN,
    PREVIOUS_HEADER,
    RECONCILE_HEADERS,
    RESULT_HEADERS,
    check_result_columns,
    column_letter,
    find_photo_column,
    header_key,
    last_filled_row,
    result_rows,
    result_widths,
    total_row,
)
from xlwings_meter.workbook.edits import fingerprints, holds_reading, is_tool_row
from xlwings_meter.workbook.reconciling import (
    Layout,
    find_layout,
    reconcile_sheet,
    record_corrections,
    summary_block,
    write_summary,
)
from xlwings_meter.workbook.references import photo_cells
from xlwings_meter.workbook.remembered import PreviousColumns
from xlwings_meter.workbook.review import review_items, review_sheet_name, write_review
from xlwings_meter.workbook.sheet import BookIO, Cell, WorksheetIO, write_runs
from xlwings_meter.workbook.written import WrittenStatuses


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
    previous: str | None = None,
    limits: Limits | None = None,
    review: bool | None = None,
    pictures: bool = True,
) -> BatchResult:
    """Read every photo listed under the photo column and write the results beside it.

    The rows below the photo header, to the last non-empty one, are read; the results and
    the cache sheet are written even when the batch stopped early, so what was paid for is
    kept. ``engine`` None means cache only. ``rows`` (first, last) limits the job to those
    rows (Excel's "selected rows"); ``cache`` is a cache already loaded for this workbook
    (Excel keeps one per open workbook). Rows whose results a person changed are listed in
    the result's ``kept`` and not touched. ``previous`` names the Previous column (default:
    the column headed Previous, if any); ``limits`` say when a row is flagged. ``review``
    writes the Review sheet (default: when the sheet is reconciled, with a Previous column),
    with its evidence pictures unless ``pictures`` is False.
    """
    sheet = book.sheet(sheet_name)
    last_row, last_col = sheet.extent()
    top = sheet.read_block(1, 1, min(last_row, HEADER_ROWS), max(last_col, 1)) if last_row else []
    header, col = find_photo_column(
        top, column, sheet.name,
        lambda c: [r[0] for r in sheet.read_block(1, c, last_row, c)] if last_row else [])
    layout, remarks = _layout(sheet, header, col, previous, None if previous else _prior(book, cache, sheet.name))
    if col + layout.width > MAX_COLUMN:
        raise NoRoomError(sheet.name, f"{column_letter(col + 1)}:{column_letter(col + layout.width)}",
                          layout.width)
    last_row = _above_a_total(sheet, header, col, layout.width, last_row)
    first, last = header + 1, last_row
    if rows:
        first, last = max(rows[0], first), min(rows[1], last_row)
    refs: list[Cell | Reading] = [
        Reading.failure(ReadingStatus.FILE_MISSING, str(r)) if isinstance(r, PhotoMissingError) else r
        for r in photo_cells(sheet, first, last, col)]
    refs = refs[: last_filled_row([r if isinstance(r, (str, int, float)) or r is None else "x" for r in refs])]
    list_end = first + len(refs) - 1 if refs else header
    if not refs and not rows:  # an Image header over nothing: refused, as a column that is empty
        raise EmptyPhotoColumnError(sheet.name, column_letter(col))

    bottom = max(last_row, header)
    results = sheet.read_block(header, col + 1, bottom, col + layout.width)
    check_result_columns([row[:4] for row in results], col + 1, sheet.name, first_row=header)
    if layout.previous:
        check_result_columns([row[4:] for row in results], col + 5, sheet.name, first_row=header,
                             headers=RECONCILE_HEADERS)
    _check_obstacles(sheet, header, col, bottom, layout.width)

    if cache is None:
        cache = ReadingCache(book.hidden_sheet(CACHE_SHEET), on_record=on_record)
    cache.merge(recovered)
    # A reading a refresh replaced is still the tool's where another sheet shows it.
    known = fingerprints(r for e in cache.entries() for r in (e.reading, *e.earlier_readings()))
    written = WrittenStatuses(cache.sheet)
    statuses = written.texts()
    current = {header + i: row for i, row in enumerate(results)}
    scope_end = bottom if not rows else list_end  # below a selection, nothing is cleared
    kept = [r for r in range(first, scope_end + 1)
            if r in current and not is_tool_row(current[r], known, statuses)]

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
        elif r in kept and holds_reading(current.get(r, [])[:3], known):  # a note stays, the reading goes
            sheet.write_block(r, col + 1, [[None, None, None]])
            current[r] = [None, None, None, *current[r][3:]]
    _write_rows(sheet, col + 1, by_row, current)
    new_rows, _ = result_rows(list(by_row.values()))
    shown = {r: row[3] if len(row) > 3 else None for r, row in current.items()}
    shown.update((r, row[3]) for r, row in zip(by_row, new_rows))
    written.update(sheet.name, shown.values(), [row[3] for row in new_rows if isinstance(row[3], str)])
    values, formats = result_rows([r for r in by_row.values() if r is not None])
    sheet.dress((header, col), header, col + 1, result_widths(values, formats))
    if record_corrections(cache, sheet, layout, first, refs, book):
        cache.flush()
    end = list_end if not rows else header + last_filled_row(
        [row[0] for row in sheet.read_block(header + 1, col, last_row, col)] if last_row > header else [])
    reconciled = reconcile_sheet(sheet, layout, by_row, current, kept, end, scope_end, limits or Limits())
    result.kept = sorted(set(kept) | set(reconciled.kept))
    result.summary = reconciled.summary
    result.remarks = remarks
    if layout.previous:
        PreviousColumns(cache.sheet).remember(sheet.name, _header_text(sheet, header, layout.previous))
        block = summary_block(reconciled.summary, result.sent, result.from_cache, result.on_this_machine)
        result.summary_blocked = not write_summary(sheet, (header, col), block, HEADER_ROWS)
    if review if review is not None else bool(layout.previous):
        listed = refs if not rows else photo_cells(sheet, header + 1, end, col)
        readings_now = {r: by_row.get(r) or reconciled.readings.get(r) for r in range(header + 1, end + 1)}
        items = review_items(header + 1, listed, {r: x for r, x in readings_now.items() if x is not None},
                             reconciled.checks, cache.entries(), book.folder, reconciled.corrected)
        result.review, result.pictures = write_review(book, items, pictures)
        result.review_blocked = result.review is None
    elif (name := review_sheet_name(book)) and name.casefold() in {n.casefold() for n in book.sheet_names()}:
        result.remarks.append(f"sheet {name!r} is from an earlier run: not updated (--no-review); "
                              "delete it, or run with --review")
    return result


def _prior(book: BookIO, cache: ReadingCache | None, name: str) -> str | None:
    """The Previous column remembered for sheet ``name`` (never making a cache sheet to ask)."""
    if cache is None and CACHE_SHEET.casefold() not in {n.casefold() for n in book.sheet_names()}:
        return None
    return PreviousColumns(cache.sheet if cache is not None else book.hidden_sheet(CACHE_SHEET)).get(name)


def _layout(sheet: WorksheetIO, header: int, col: int, previous: str | None,
            prior: str | None) -> tuple[Layout, list[str]]:
    """The sheet's layout: with no ``previous`` named, the Previous column it was last
    reconciled with (``prior``, from --previous), so a plain run or the button updates what
    that run wrote; and what to tell the user about it."""
    if previous is None and prior is not None:
        try:
            layout = find_layout(sheet, header, col, prior)
            if layout.previous is not None:
                return layout, [f"consumption from column {prior!r}, as in the last run (--previous)"]
        except (ColumnNotFoundError, ForeignDataError):
            pass
    layout = find_layout(sheet, header, col, previous)
    if layout.previous is None:
        found = sheet.read_block(header, col + 5, header, col + 6)[0]
        if [str(v).strip().casefold() for v in found] == [h.casefold() for h in RECONCILE_HEADERS]:
            return layout, ["Consumption and Check are from an earlier run, not updated: no column is "
                            "headed Previous now (name the column with --previous)"]
    return layout, []


def _header_text(sheet: WorksheetIO, header: int, col: int) -> str | None:
    """The header of the Previous column, to remember (a number or date as header_key words it,
    so the next run finds it again; the letter for a column without a header); None for one a
    plain run finds itself."""
    text = header_key(sheet.read_block(header, col, header, col)[0][0])
    if text is None:
        return column_letter(col)
    return None if text.casefold() == PREVIOUS_HEADER.casefold() else text


def _above_a_total(sheet: WorksheetIO, header: int, col: int, width: int, last_row: int) -> int:
    """The last row the run works on: ``last_row``, or the row above a total under the list
    (``total_row``), which is left alone with everything below it."""
    if last_row <= header:
        return last_row
    photos = [r[0] for r in sheet.read_block(header + 1, col, last_row, col)]
    found = total_row(photos, sheet.read_block(header + 1, col + 1, last_row, col + width))
    return last_row if found is None else header + found


def _check_obstacles(sheet: WorksheetIO, header: int, col: int, bottom: int, width: int) -> None:
    """Refuse, before paying, result cells that cannot be written: merged, or protected."""
    protected, merged = sheet.obstacles(header, col + 1, bottom, col + width)
    if merged:
        raise MergedCellsError(sheet.name, merged[0])
    if protected:
        raise ProtectedSheetError(
            sheet.name, f"{column_letter(col + 1)}{header}:{column_letter(col + width)}{bottom}")


def _write_rows(sheet: WorksheetIO, left: int, by_row: dict[int, Reading | None],
                current: dict[int, list[Cell]]) -> None:
    """Write the rows, one block per run of consecutive rows (kept rows break a run). A row that
    already shows what it would get is not written: a number format a person gave it stays."""
    values, formats = result_rows(list(by_row.values()))
    write_runs(sheet, left, {r: (v, f) for r, v, f in zip(by_row, values, formats)
                             if [_blank_as_none(x) for x in current.get(r, [])[:4]] != v})


def _blank_as_none(value: Cell) -> Cell:
    return None if value == "" else value
