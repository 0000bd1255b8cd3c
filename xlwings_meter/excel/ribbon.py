"""What the Meter ribbon's buttons run (the template's VBA calls these names through RunPython).

The same job as the command line (``job.read_sheet``) on the active sheet of the live workbook,
with the cache METERREAD uses. Messages go to a message box, progress to the status bar.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

import xlwings as xw

from xlwings_meter.errors import ColumnNotFoundError, ConfigError, MeterError
from xlwings_meter.excel.book import ExcelBook
from xlwings_meter.excel.session import excel_session
from xlwings_meter.excel.settings_box import describe
from xlwings_meter.reading import ReadingStatus, count_outcomes
from xlwings_meter.workbook.batch import BatchResult
from xlwings_meter.workbook.job import read_sheet
from xlwings_meter.workbook.journal import entries_saved_in
from xlwings_meter.workbook.settings import limits

TITLE = "Meter"
#: Seconds the button waits for a command-line run on the same workbook to finish.
BUTTON_LOCK_WAIT = 2.0
_AREA = re.compile(r"^\$?[A-Z]{0,3}\$?(\d*)(?::\$?[A-Z]{0,3}\$?(\d*))?$")
_LAST_ROW = 1_048_576


def read_meters() -> None:
    """Read the selected rows (two or more), or every photo of the sheet; cached photos are free."""
    _button(lambda book: run_read(book, refresh=False))


def reread_selection() -> None:
    """Read the selected rows again, ignoring the cache (costs credit)."""
    _button(lambda book: run_read(book, refresh=True))


def show_settings() -> None:
    """Where the key comes from (never the key), the endpoint, cache-only, the cache's size."""
    def text(book: Any) -> str:
        session = excel_session(book)
        return describe(session.reload_settings(), len(session.cache))

    _button(text)


def run_read(xl_book: Any, *, refresh: bool) -> str:
    """Run the batch on the active sheet; returns the message for the user."""
    session = excel_session(xl_book)
    settings = session.reload_settings()
    session.cache.sync()  # the sheet is the truth: rows deleted by hand are read again
    selection = xl_book.selection
    spans = row_spans(selection.address) if selection is not None else []
    if refresh and not any(last >= 2 for _, last in spans):
        return "Select the rows to read again (row 1 holds the headers)."
    if not refresh and sum(last - first + 1 for first, last in spans) < 2:
        spans = []  # one selected cell is where the cursor is, not a choice: read the whole sheet
    engine = session.engine()
    progress = StatusBar(xl_book.app)
    book = ExcelBook(xl_book)
    sheet = xl_book.sheets.active.name
    # While the command line reads this workbook's file, the button waits briefly, then says so.
    lock = session.journal.lock(BUTTON_LOCK_WAIT, "the Read meters button in Excel") if session.journal else nullcontext()
    with lock:
        if session.journal is not None and session.journal.workbook is not None:
            # A command-line run may have just read photos into the file on disk: Excel's copy
            # lacks them, and they are paid for.
            session.cache.merge(entries_saved_in(session.journal.workbook))
        chosen: list[tuple[int, int] | None] = list(spans) or [None]  # None: the whole sheet
        results = [
            read_sheet(book, engine, sheet_name=sheet, refresh=refresh, progress=progress,
                       cache=session.cache, rows=span, limits=limits(settings))
            for span in chosen
        ]
    return summary(results, cache_only=engine is None, warnings=settings.warnings)


def row_spans(address: str) -> list[tuple[int, int]]:
    """The rows an Excel selection covers, as sorted (first, last) spans, overlaps merged.

    >>> row_spans("$A$2:$C$5,$B$4:$B$9,$A$12")
    [(2, 9), (12, 12)]
    >>> row_spans("$A:$A"), row_spans("$3:$4")
    ([(1, 1048576)], [(3, 4)])
    """
    spans: list[tuple[int, int]] = []
    for area in address.replace(" ", "").split(","):
        match = _AREA.match(area.split("!")[-1])
        if not match:
            continue
        top, bottom = match.groups()  # "" for a whole column ("$A:$A"); bottom None for one cell
        first = int(top) if top else 1
        last = first if bottom is None else int(bottom) if bottom else _LAST_ROW
        spans.append((min(first, last), max(first, last)))
    merged: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def summary(results: Sequence[BatchResult], *, cache_only: bool, warnings: Sequence[str] = ()) -> str:
    """The message after a batch: what each row got, what was paid for, why it stopped."""
    readings = [r for result in results for r in result.readings]
    sent = sum(r.sent for r in results)
    uploads = sum(r.uploads for r in results)
    cached = sum(r.from_cache for r in results)
    if any(r.on_this_machine for r in results):
        how = "read on this machine (nothing was sent)"
    else:
        how = "sent to the service" + (f" ({uploads} uploads, retries included)" if uploads > sent else "")
    lines = [
        f"{len(readings)} row{'s' if len(readings) != 1 else ''}: {count_outcomes(readings)}.",
        f"{sent} photo{'s' if sent != 1 else ''} {how}, {cached} answered from the cache.",
    ]
    sheet = next((r.summary for r in reversed(results) if r.summary is not None), None)
    lines += [f"{line[:1].upper()}{line[1:]}." for line in (sheet.lines() if sheet else [])]
    if cache_only:
        lines.append("Cache only (METER_CACHE_ONLY on the xlwings.conf sheet): nothing was sent.")
    stopped = next((r.stopped for r in results if r.stopped is not None), None)
    if stopped is not None:
        lines.append(f"Stopped: {stopped}. Everything read so far is kept; click Read meters again "
                     "to read the rest.")
    if any(r.status is ReadingStatus.FAILED for r in readings):
        lines.append("Rows that failed (service unavailable) will be tried again at the next Read meters.")
    kept = sorted(r for result in results for r in result.kept)
    if kept:
        lines.append(f"Left alone (changed by hand, your edits win): row{'s' if len(kept) != 1 else ''} "
                     f"{', '.join(map(str, kept))}. Clear those cells to have the photos read again.")
    previous = sum(r.kept_previous for r in results)
    if previous:
        lines.append(f"{previous} photo{'s' if previous != 1 else ''} could not be read again: "
                     "the previous reading is kept.")
    lines += [f"{r[:1].upper()}{r[1:]}." for result in results for r in result.remarks]
    return "\n".join(lines + [f"Warning: {w}" for w in warnings])


def button_error_text(exc: BaseException) -> str:
    """The message when the button could not run at all (nothing was written)."""
    if isinstance(exc, ColumnNotFoundError) and exc.column is not None:
        return (f"{exc}. Put the header Image just above the photo paths (in one of the first 20 rows), "
                "then click Read meters again.")
    if isinstance(exc, ConfigError):
        return f"{exc}.\nSettings/Help shows where the key is looked for."
    if isinstance(exc, MeterError):
        return str(exc)
    return (f"Something went wrong inside xlwings-meter ({type(exc).__name__}). "
            "Readings already paid for are kept in the workbook's cache.")


class StatusBar:
    """Progress in Excel's status bar, at most every ``every`` seconds (each update is a call)."""

    def __init__(self, app: Any, every: float = 0.5, clock: Callable[[], float] = time.monotonic) -> None:
        self._app = app
        self._every = every
        self._clock = clock
        self._last = float("-inf")

    def __call__(self, done: int, total: int) -> None:
        now = self._clock()
        if done == total or now - self._last >= self._every:
            self._last = now
            self._app.status_bar = f"Reading meters: {done} of {total} photos"


def _button(action: Callable[[Any], str]) -> None:
    book = xw.Book.caller()
    try:
        message = action(book)
    except Exception as exc:  # a message box, never a traceback
        message = button_error_text(exc)
    finally:
        try:
            book.app.status_bar = False  # give the status bar back to Excel
        except Exception:
            pass
    book.app.alert(message, title=TITLE)
