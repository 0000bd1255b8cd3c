"""Reconciling a sheet after its readings are written: Consumption and Check beside Status, the
highlight rules, the audit of corrections on the cache sheet, and the summary.

The pure part (consumption, flags, rule formulas, the summary) is ``xlwings_meter.reconcile``;
this module reads the cells it needs (Previous, Corrected, the results as they now are) and
writes what it computed, never into a cell a person owns: the Previous and Corrected columns
are only read, and a note a person typed into Consumption or Check is kept (with its row's other cell).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from xlwings_meter.errors import ColumnNotFoundError, ForeignDataError, PhotoError
from xlwings_meter.photos import file_digest, resolve_path
from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.reconcile import (
    NOT_COMPUTED,
    RULE_MARK,
    Check,
    Columns,
    Limits,
    RowInput,
    Summary,
    consumption_limit,
    highlight_rules,
    is_flag_text,
    number,
    reconcile,
    summarize,
    typed_number,
)
from xlwings_meter.workbook.cache import ReadingCache, now_utc
from xlwings_meter.workbook.columns import (
    CORRECTED_HEADER,
    PREVIOUS_HEADER,
    RECONCILE_HEADERS,
    column_letter,
    header_column,
)
from xlwings_meter.workbook.sheet import BookIO, Cell, WorksheetIO, write_runs

CONSUMPTION_FORMAT = "#,##0.000"
#: The first cell of the summary block on the photo sheet: how a re-run finds it.
SUMMARY_TITLE = "Meter summary"
KEPT_LABEL = "changed by hand"
LAST_LABEL = "Answered from the cache"
TOTAL_LABEL = "Total consumption"
_ORDER = [s.label for s in ReadingStatus] + [KEPT_LABEL]


@dataclass
class Layout:
    """Where a photo sheet's columns are (1-based): the photos, Previous and Corrected."""

    header: int
    photo: int
    previous: int | None = None
    corrected: int | None = None

    @property
    def width(self) -> int:
        """How many result columns follow the photo column: 4, or 6 with Consumption and Check."""
        return 6 if self.previous else 4


def find_layout(sheet: WorksheetIO, header: int, photo: int, previous: str | None) -> Layout:
    """The Previous column (``previous``: a header or letter; default a column headed Previous)
    and the Corrected column of the photo header's row. Raises ColumnNotFoundError for a
    ``previous`` named but not there."""
    _, last_col = sheet.extent()
    row = sheet.read_block(header, 1, header, max(last_col, 1))[0]
    found = header_column(row, previous or PREVIOUS_HEADER)
    if previous and found is None:
        raise ColumnNotFoundError(f"No column headed {previous!r} in row {header} of sheet {sheet.name!r}",
                                  sheet=sheet.name, column=previous, named=True)
    if found is not None and photo <= found <= photo + 6 and previous:
        raise ForeignDataError(
            f"--previous {previous}: column {column_letter(found)} is the photo column or one of the "
            f"six result columns right of it; name the column of last period's readings")
    corrected = next((c for c, v in enumerate(row, start=1)
                      if isinstance(v, str) and v.strip().casefold() == CORRECTED_HEADER.casefold()), None)
    return Layout(header, photo, found, corrected)


@dataclass
class Reconciled:
    """What reconciling a sheet found: rows it left alone, and the summary."""

    kept: list[int] = field(default_factory=list)  # rows whose Consumption or Check holds a note
    summary: Summary = field(default_factory=Summary)
    readings: dict[int, Reading] = field(default_factory=dict)  # each row's reading, as written or shown
    checks: dict[int, Check] = field(default_factory=dict)  # each row's Check (with a Previous column)
    corrected: dict[int, Cell] = field(default_factory=dict)  # each row's Corrected cell


def reconcile_sheet(sheet: WorksheetIO, layout: Layout, by_row: dict[int, Reading | None],
                    current: Mapping[int, Sequence[Cell]], kept: Sequence[int], end: int, clear_to: int,
                    limits: Limits) -> Reconciled:
    """Write Consumption and Check for rows ``layout.header + 1`` to ``end`` and the highlight
    rules, clear old ones down to ``clear_to``; returns the summary of those rows.

    ``by_row`` holds this run's reading of a row; any other row is taken as its cells show it
    (``current``: Value, Confidence, Angle, Status, and with a Previous column, Consumption, Check).
    """
    first, col = layout.header + 1, layout.photo
    rows = list(range(first, end + 1))
    readings = [by_row.get(r) or shown_reading(current.get(r, ())) for r in rows]
    corrected = _column(sheet, layout.corrected, first, end)
    out = Reconciled(readings=dict(zip(rows, readings)), corrected=dict(zip(rows, corrected)))
    statuses = sorted((KEPT_LABEL if r in kept else reading.status.label for r, reading in zip(rows, readings)),
                      key=_ORDER.index)
    if not layout.previous:
        out.summary = summarize(statuses, None, sum(1 for v in corrected if typed_number(v) is not None))
        return out
    inputs = [RowInput(reading, previous, fix) for reading, previous, fix
              in zip(readings, _column(sheet, layout.previous, first, end), corrected)]
    checks = reconcile(inputs, limits)
    out.checks = dict(zip(rows, checks))
    writes: dict[int, tuple[list[Cell], list[str | None]]] = {}
    for r, check in zip(rows, checks):
        if _tools(current.get(r, ())):
            writes[r] = _cells(check)
        else:
            out.kept.append(r)
    # The total adds what the Consumption cells will show: a row left alone counts as its cell stands
    shown = dict(zip(rows, _column(sheet, col + 5, first, end)))
    for r in range(end + 1, clear_to + 1):  # old results below the list go with it
        cells = current.get(r, ())
        if any(v not in (None, "") for v in cells[4:6]) and _tools(cells):
            writes[r] = ([None, None], [None, None])
    write_runs(sheet, col + 5, writes)
    sheet.write_block(layout.header, col + 5, [list(RECONCILE_HEADERS)])
    texts = [len(c.text) for c in checks]
    sheet.dress((layout.header, col), layout.header, col + 5, [14.0, min(max(texts + [5]), 60) + 2.0])
    letters = Columns(column_letter(col), column_letter(col + 1), column_letter(col + 2),
                      column_letter(layout.previous),
                      column_letter(layout.corrected) if layout.corrected else None)
    formulas = [f for _, f in highlight_rules(letters, first, consumption_limit(inputs, limits), limits)]
    sheet.highlight((first, col, max(end, first), col + 5 + 1), formulas if rows else [], RULE_MARK)
    out.summary = summarize(statuses, checks, sum(1 for v in corrected if typed_number(v) is not None),
                            {r - first: shown[r] for r in out.kept})
    return out


def record_corrections(cache: ReadingCache, sheet: WorksheetIO, layout: Layout, first: int,
                       refs: Sequence[object], book: BookIO) -> int:
    """Keep on the cache sheet each correction typed in Corrected (who, when) beside the machine's
    reading of that photo, and forget one taken back; returns how many entries changed.

    ``refs`` are the photo cells of rows ``first``... Only photos the cache knows are recorded; a
    photo is hashed only where there is a correction to record or one on record to take back."""
    if not layout.corrected or not refs:
        return 0
    corrected = _column(sheet, layout.corrected, first, first + len(refs) - 1)
    on_record = {e.path for e in cache.entries() if e.corrected}
    user, folder = book.user_name(), book.folder
    changed = 0
    for ref, fix in zip(refs, corrected):
        text = "" if fix is None else str(fix).strip()
        if isinstance(ref, Reading) or ref in (None, ""):
            continue
        try:
            path = resolve_path(ref, folder)
            if not text and str(path) not in on_record:
                continue
            digest = file_digest(path)
        except PhotoError:
            continue
        shown = _plain(typed) if (typed := typed_number(fix)) is not None else text
        changed += cache.correct(digest, shown, user, now_utc())
    return changed


def summary_block(summary: Summary, sent: int, from_cache: int, on_this_machine: bool) -> list[list[Cell]]:
    """The summary as rows of (label, value), its title first."""
    rows: list[list[Cell]] = [[SUMMARY_TITLE, f"updated {now_utc().replace('T', ' ').rstrip('Z')} UTC"],
                              ["Rows", summary.rows]]
    rows += [[label.capitalize(), n] for label, n in summary.statuses.items()]
    if summary.corrected:
        rows.append(["Corrected by hand", summary.corrected])
    if summary.consumption is not None:
        rows.append([TOTAL_LABEL + _left_alone(summary), summary.consumption])
        rows.append(["Flagged rows", summary.flagged])
        rows += [[f"Flagged: {kind}", n] for kind, n in summary.flags.items() if n]
    rows.append(["Photos read on this machine" if on_this_machine else "Photos paid for (this run)", sent])
    rows.append([LAST_LABEL, from_cache])
    return rows


def _left_alone(summary: Summary) -> str:
    """What the total label says of rows left alone (in the label: the block keeps its height)."""
    if not summary.left_alone:
        return ""
    s = "s" if summary.left_alone != 1 else ""
    return f" ({summary.left_alone} row{s} left alone" + (
        f", {summary.left_out} not a number not counted)" if summary.left_out else ")")


def write_summary(sheet: WorksheetIO, header: tuple[int, int], block: list[list[Cell]], top_rows: int) -> bool:
    """Write the summary block where it was (found by its title in the first ``top_rows``
    rows), else right of everything the sheet holds, in the header row, moved right of any
    picture or chart there. Never over a person's cells: returns False, writing nothing, when
    the block would grow into one. Its columns are not widened under a picture or chart."""
    last_row, last_col = sheet.extent()
    top = sheet.read_block(1, 1, min(last_row, top_rows), max(last_col, 1)) if last_row else []
    at = next(((r, c) for r, row in enumerate(top, start=1) for c, v in enumerate(row, start=1)
               if v == SUMMARY_TITLE), None)
    old = 0
    drawn = sheet.drawn()
    if at is None:
        at = (header[0], _clear_of(drawn, header[0], header[0] + len(block) - 1, last_col + 2))
    else:
        below = sheet.read_block(at[0], at[1], max(last_row, at[0]), at[1] + 1)
        labels = [label for label, _ in below]
        old = next((i for i, label in enumerate(labels) if label in (None, "")), len(labels))
        if LAST_LABEL in labels[:old]:  # the block ends with its last label: a person's cell may follow
            old = labels.index(LAST_LABEL) + 1
        grown = sheet.read_block(at[0] + old, at[1], at[0] + len(block) - 1, at[1] + 1) if len(block) > old else []
        if any(v not in (None, "") for row in grown for v in row):
            return False
    cleared: list[list[Cell]] = [[None, None]] * max(0, old - len(block))
    # General elsewhere: the block's rows move as lines come and go, a count must not keep the format
    formats = [[None, CONSUMPTION_FORMAT if str(row[0]).startswith(TOTAL_LABEL) else "General"] for row in block]
    sheet.write_block(at[0], at[1], block + cleared, formats + [[None, None]] * len(cleared))
    if not any(lo <= at[1] + 1 and hi >= at[1] for _, lo, _, hi in drawn):  # widening would stretch it
        sheet.dress(header, at[0], at[1], [max(len(str(r[0])) for r in block) + 2.0, 24.0])
    return True


def _clear_of(drawn: Sequence[tuple[int, int, int, int]], top: int, bottom: int, col: int) -> int:
    """The first column from ``col`` where the block's two columns, rows ``top`` to ``bottom``,
    lie under no picture or chart."""
    while hit := [hi for t, lo, b, hi in drawn if t <= bottom and b >= top and lo <= col + 1 and hi >= col]:
        col = max(hit) + 1
    return col


def shown_reading(cells: Sequence[Cell]) -> Reading:
    """The reading a row's result cells show (a row this run did not write, or a person's)."""
    value, confidence, angle, status = (list(cells) + [None] * 4)[:4]
    shown = number(value) if not isinstance(value, str) else None
    if shown is not None and shown >= 0:
        return Reading(ReadingStatus.READ, value=_plain(shown), confidence=number(confidence), angle=number(angle))
    return Reading.failure(ReadingStatus.NOT_READ, str(status or "Not read"))


def _cells(check: Check) -> tuple[list[Cell], list[str | None]]:
    consumption = None if check.consumption is None else round(check.consumption, 6)
    return [consumption, check.text or None], [CONSUMPTION_FORMAT, None]


def _tools(cells: Sequence[Cell]) -> bool:
    """True when a row's Consumption and Check cells are as this tool writes them: a number or
    nothing, and flags or nothing. Text in Consumption, or a note in Check, is a person's."""
    consumption, check = (list(cells[4:6]) + [None, None])[:2]
    return not (isinstance(consumption, str) and consumption.strip()) and is_flag_text(check)


def _column(sheet: WorksheetIO, col: int | None, first: int, end: int) -> list[Cell]:
    if col is None or end < first:
        return [None] * max(0, end - first + 1)
    shown = [row[0] for row in sheet.read_shown(first, col, end, col)]
    if all(v is not None for v in shown) or getattr(sheet, "computed", False):
        return shown
    # A formula a file holds without its value (never computed): flagged, not taken for empty
    typed = [row[0] for row in sheet.read_block(first, col, end, col)]
    return [NOT_COMPUTED if v is None and isinstance(t, str) and t.startswith("=") else v
            for v, t in zip(shown, typed)]


def _plain(value: float) -> str:
    """A number as a reading's text: 935.1 -> "935.1", 12.0 -> "12"."""
    return f"{value:.6f}".rstrip("0").rstrip(".")
