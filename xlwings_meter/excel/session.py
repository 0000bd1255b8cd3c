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
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from xlwings_meter.engines import engine_label, make_engine
from xlwings_meter.engines.base import Engine
from xlwings_meter.errors import BatchStopError, PhotoError
from xlwings_meter.excel import book as excel_book
from xlwings_meter.excel.book import ExcelBook
from xlwings_meter.excel.deferred import AfterCalculation
from xlwings_meter.excel.inflight import InFlight, settled
from xlwings_meter.photos import file_digest, resolve_path
from xlwings_meter.reading import Reading, ReadingStatus, failure_for
from xlwings_meter.workbook.batch import CACHE_ONLY_MISS
from xlwings_meter.workbook.cache import CACHE_SHEET, ReadingCache
from xlwings_meter.workbook.journal import Journal
from xlwings_meter.workbook.settings import WorkbookSettings, read_workbook_settings
from xlwings_meter.workbook.sheet import BookIO, Cell, SheetIO

#: Seconds between two looks at whether Excel has finished calculating.
AFTER_CALCULATION_POLL = 0.2
#: Seconds between two looks at the cache sheet for photos read elsewhere, before paying.
SYNC_EVERY = 1.0


class BookSession:
    """The cache, engine, photos in flight and pending writes of one workbook.

    ``book_here`` gives the workbook as usable from the calling thread (COM objects belong to
    a thread); ``idle`` says whether Excel has finished calculating. Both default to a file.
    ``status``, ``is_open`` and ``on_closed`` are the status bar, whether the workbook is still
    open, and what to do once it is not (see :class:`InFlight`); a file has none of them.
    """

    def __init__(
        self,
        book: BookIO,
        *,
        journal: Journal | None = None,
        book_here: Callable[[], BookIO] | None = None,
        idle: Callable[[], bool] = lambda: True,
        engine_factory: Callable[[str], Engine] = make_engine,
        status: Callable[[str | bool], None] | None = None,
        is_open: Callable[[], bool] | None = None,
        on_closed: Callable[[], None] = lambda: None,
    ) -> None:
        self.book = book
        self.settings: WorkbookSettings = read_workbook_settings(book)
        self.journal = journal
        self._book_here = book_here or (lambda: book)
        self._engine_factory = engine_factory
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._digests: dict[tuple[str, int, int], str] = {}
        self._last_sync = float("-inf")
        self.cache = ReadingCache(_CacheSheet(self._book_here),
                                  on_record=journal.append if journal else None)
        self.later = AfterCalculation(self.cache.flush, idle, poll=AFTER_CALCULATION_POLL)
        self.in_flight = InFlight(self.cache, on_read=self.later.request, status=status,
                                  is_open=is_open, on_closed=on_closed,
                                  name=getattr(book, "fullname", None) or "The workbook")
        # Readings since the workbook was last saved may be missing from its cache sheet (it was
        # closed without saving, or Excel crashed): put them back. Never delete the journal
        # here: the sheet seen now may itself be unsaved.
        if journal is not None and self.cache.merge(journal.unsaved()):
            self.later.request()

    @property
    def stopped(self) -> BatchStopError | None:
        """Why sending stopped (refused key, no credit): misses answer with it, nothing is sent."""
        return self.in_flight.stopped

    def reload_settings(self) -> WorkbookSettings:
        """Read the xlwings.conf sheet again and forget a stop: the user acted."""
        self.settings = read_workbook_settings(self._book_here())
        self.in_flight.resume()
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

        Waits for the reading (METERREAD runs in xlwings' worker threads, never in Excel's
        calculation). Raises ConfigError when a photo must be sent and there is no usable key,
        WorkbookClosedError when the workbook was closed before its photo was sent.
        """
        return self.reading_of(cell).result()

    def reading_of(self, cell: Cell) -> Future[Reading]:
        """The reading of the photo named in ``cell``, as a future: settled at once when the
        cache knows the photo (or the cell names none), else the photo's place in the queue,
        joined by every other cell asking for the same photo meanwhile.
        """
        try:
            path = resolve_path(cell, self.book.folder)
            digest = self._digest(path)
        except PhotoError as exc:
            return settled(failure_for(exc))
        label = self._engine_label()
        entry = self.cache.get(digest, label)
        if entry is not None:
            return settled(entry.reading)
        joined = self.in_flight.joined(digest)
        if joined is not None:
            return joined
        # About to pay: first see whether someone else (the button, in another Python process)
        # has read this photo since the cache sheet was loaded. That reads the whole sheet, so
        # fifty cells missing at once look once, not fifty times.
        with self._lock:
            look = time.monotonic() - self._last_sync >= SYNC_EVERY
            if look:
                self._last_sync = time.monotonic()
        if look and self.cache.sync() and (entry := self.cache.get(digest, label)) is not None:
            return settled(entry.reading)
        engine = self.engine()
        if engine is None:
            return settled(Reading.failure(ReadingStatus.NOT_READ, CACHE_ONLY_MISS))
        return self.in_flight.read(digest, path, engine)

    def _engine_label(self) -> str | None:
        """Whose cached outcomes this workbook may use: the chosen engine's only (one engine's
        "no reading" is never served as another's); in cache-only mode, any engine's."""
        return None if self.settings.cache_only else engine_label(self.settings.engine)

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

    def forget(self, key: str, session: BookSession | None = None) -> None:
        """Drop a workbook's session (it was closed); only ``session`` if given, not a newer one."""
        with self._lock:
            if session is None or self._sessions.get(key) is session:
                self._sessions.pop(key, None)

    def keep_only(self, open_keys: set[str]) -> list[str]:
        """Drop the sessions of workbooks no longer open; returns their keys."""
        with self._lock:
            gone = [key for key in self._sessions if key not in open_keys]
            for key in gone:
                del self._sessions[key]
        return gone

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._sessions


SESSIONS = Sessions()
_latest: dict[str, ExcelBook] = {}


def open_workbook_names() -> set[str]:
    """The full names of the workbooks open in Excel, as seen from the calling thread."""
    return {book.fullname for book in excel_book.open_books()}


def excel_session(xl_book: object) -> BookSession:
    """The session of a workbook open in Excel (an xlwings Book), shared by UDFs and the button.

    Each call brings the freshest COM objects for the calling thread: after a workbook is closed
    and opened again, the old ones are dead but the readings in memory are still true. A
    session is released when its workbook is found closed: by the watcher while photos are on
    their way (what is not sent yet is then not sent), or when another workbook is first used.
    """
    book = ExcelBook(xl_book)
    key = book.fullname
    _latest[key] = book

    def here() -> ExcelBook:
        return _latest[key].in_this_thread()

    def status(text: str | bool) -> None:
        here().xl.app.status_bar = text

    if key not in SESSIONS:  # a workbook's first use: let go of those closed meanwhile
        for gone in SESSIONS.keep_only(open_workbook_names() | {key}):
            _latest.pop(gone, None)

    def build() -> BookSession:
        session = BookSession(
            book,
            journal=Journal.beside(book.path) if book.path else None,
            book_here=here,
            idle=lambda: here().excel_is_idle(),
            status=status,
            is_open=lambda: key in open_workbook_names(),
            on_closed=lambda: SESSIONS.forget(key, session),
        )
        return session

    return SESSIONS.get(key, build)
