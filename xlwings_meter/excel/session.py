"""One open workbook as METERREAD and the button share it, for as long as Python runs.

The cache sheet is read once, when the workbook is first used; from then on every recalculation
answers from memory. A photo not in the cache is sent once, however many cells ask for it at
the same time. New readings reach the hidden sheet after the calculation (``AfterCalculation``),
and meanwhile sit in a journal file beside the workbook, so a crash or closing without saving
does not mean paying again: the readings the saved file lacks are merged at the next load.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from xlwings_meter.engines import make_engine
from xlwings_meter.engines.base import Engine
from xlwings_meter.errors import BatchStopError, PhotoMissingError
from xlwings_meter.excel.book import ExcelBook
from xlwings_meter.excel.deferred import AfterCalculation
from xlwings_meter.photos import file_digest, resolve_path
from xlwings_meter.reading import Reading, ReadingStatus, failure_for
from xlwings_meter.workbook.batch import read_photos
from xlwings_meter.workbook.cache import CACHE_SHEET, ReadingCache
from xlwings_meter.workbook.journal import Journal
from xlwings_meter.workbook.settings import WorkbookSettings, read_workbook_settings
from xlwings_meter.workbook.sheet import BookIO, Cell, SheetIO

#: Seconds between two looks at whether Excel has finished calculating.
AFTER_CALCULATION_POLL = 0.2


class BookSession:
    """The cache, engine and pending writes of one workbook.

    ``book_here`` gives the workbook as usable from the calling thread (COM objects belong to
    a thread); ``idle`` says whether Excel has finished calculating. Both default to a file.
    """

    def __init__(
        self,
        book: BookIO,
        *,
        journal: Journal | None = None,
        book_here: Callable[[], BookIO] | None = None,
        idle: Callable[[], bool] = lambda: True,
        engine_factory: Callable[[str], Engine] = make_engine,
    ) -> None:
        self.book = book
        self.settings: WorkbookSettings = read_workbook_settings(book)
        self.journal = journal
        self._book_here = book_here or (lambda: book)
        self._engine_factory = engine_factory
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._in_flight: dict[str, Future[Reading]] = {}
        self._digests: dict[tuple[str, int, int], str] = {}
        #: Why sending stopped (refused key, no credit): misses answer with it, nothing is sent.
        self.stopped: BatchStopError | None = None
        self.cache = ReadingCache(_CacheSheet(self._book_here),
                                  on_record=journal.append if journal else None)
        self.later = AfterCalculation(self.cache.flush, idle, poll=AFTER_CALCULATION_POLL)
        # Readings since the workbook was last saved may be missing from its cache sheet (it was
        # closed without saving, or Excel crashed): put them back. Never delete the journal
        # here: the sheet seen now may itself be unsaved.
        if journal is not None and self.cache.merge(journal.unsaved()):
            self.later.request()

    def reload_settings(self) -> WorkbookSettings:
        """Read the xlwings.conf sheet again and forget a stop: the user acted."""
        self.settings = read_workbook_settings(self._book_here())
        self.stopped = None
        return self.settings

    def engine(self) -> Engine | None:
        """The engine, made on first use; None in cache-only mode. Raises ConfigError (no key)."""
        if self.settings.cache_only:
            return None
        with self._lock:
            if self._engine is None:
                self._engine = self._engine_factory(self.settings.engine)
            return self._engine

    def read(self, cell: Cell) -> Reading:
        """The reading of the photo named in ``cell``: from memory, or sent once and remembered.

        Raises ConfigError when a photo must be sent and there is no usable key.
        """
        try:
            path = resolve_path(cell, self.book.folder)
            digest = self._digest(path)
        except PhotoMissingError as exc:
            return failure_for(exc)
        entry = self.cache.get(digest)
        if entry is not None:
            return entry.reading
        with self._lock:
            pending = self._in_flight.get(digest)
            if pending is None:
                mine = self._in_flight[digest] = Future()
        if pending is not None:  # another cell asked for the same photo: wait for its answer
            return pending.result()
        try:
            # About to pay: first see whether someone else (the button, in another Python
            # process) has read this photo since the cache sheet was loaded.
            if self.cache.sync() and (entry := self.cache.get(digest)) is not None:
                mine.set_result(entry.reading)
                return entry.reading
            reading = self._read_uncached(str(path))
            mine.set_result(reading)
            return reading
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        finally:
            with self._lock:
                del self._in_flight[digest]

    def _read_uncached(self, path: str) -> Reading:
        if self.stopped is not None:
            return failure_for(self.stopped)
        result = read_photos([path], None, self.engine(), self.cache, concurrency=1)
        if result.sent:  # paid for: it must reach the sheet, even if sending stops now
            self.later.request()
        if result.stopped is not None:
            self.stopped = result.stopped
            if result.readings[0].status is ReadingStatus.NOT_READ:
                return failure_for(result.stopped)
        return result.readings[0]

    def _digest(self, path: os.PathLike[str]) -> str:
        """The photo's SHA-256, hashed once per file version: a recalculation only stats it."""
        try:
            st = os.stat(path)
        except OSError:
            return file_digest(path)  # type: ignore[arg-type]  # raises PhotoMissingError
        key = (os.fspath(path), st.st_size, st.st_mtime_ns)
        digest = self._digests.get(key)
        if digest is None:
            digest = self._digests[key] = file_digest(path)  # type: ignore[arg-type]
        return digest


class _CacheSheet:
    """The cache sheet as a session uses it, from whichever thread.

    It is created only when first written: a worksheet function may not add a sheet while Excel
    calculates, so until the first write an absent sheet reads as empty.
    """

    name = CACHE_SHEET

    def __init__(self, book_here: Callable[[], BookIO]) -> None:
        self._book_here = book_here

    def _existing(self) -> SheetIO | None:
        book = self._book_here()
        return book.hidden_sheet(CACHE_SHEET) if CACHE_SHEET in book.sheet_names() else None

    def extent(self) -> tuple[int, int]:
        sheet = self._existing()
        return sheet.extent() if sheet else (0, 0)

    def read_block(self, top: int, left: int, bottom: int, right: int) -> list[list[Cell]]:
        sheet = self._existing()
        return sheet.read_block(top, left, bottom, right) if sheet else []

    def write_block(self, top: int, left: int, values: Sequence[Sequence[Cell]],
                    number_formats: Sequence[Sequence[str | None]] | None = None) -> None:
        self._book_here().hidden_sheet(CACHE_SHEET).write_block(top, left, values, number_formats)


class Sessions:
    """Every workbook's session in this Python process, by the workbook's full name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, BookSession] = {}

    def get(self, key: str, build: Callable[[], BookSession]) -> BookSession:
        """The session of workbook ``key``, built on first use."""
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                session = self._sessions[key] = build()
            return session

    def forget(self, key: str) -> None:
        """Drop a workbook's session (it was closed)."""
        with self._lock:
            self._sessions.pop(key, None)


SESSIONS = Sessions()
_latest: dict[str, ExcelBook] = {}


def excel_session(xl_book: object) -> BookSession:
    """The session of a workbook open in Excel (an xlwings Book), shared by UDFs and the button.

    Each call brings the freshest COM objects for the calling thread: after a workbook is closed
    and opened again, the old ones are dead but the readings in memory are still true.
    """
    book = ExcelBook(xl_book)
    key = book.fullname
    _latest[key] = book

    def here() -> ExcelBook:
        return _latest[key].in_this_thread()

    return SESSIONS.get(key, lambda: BookSession(
        book,
        journal=Journal.beside(book.path) if book.path else None,
        book_here=here,
        idle=lambda: here().excel_is_idle(),
    ))
