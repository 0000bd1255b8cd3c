"""The photos METERREAD's cells ask for that the cache lacks: sent a few at a time, each once.

xlwings runs METERREAD in its own worker threads, one call per cell, outside Excel's
calculation. The calls arrive one by one, so their photos are fed one by one to the button's
:class:`~xlwings_meter.workbook.batch.PhotoReader`: the same bounded concurrency, the same stop
rules (a refused key or exhausted credit stops every photo not yet sent, and each waiting cell
says why), the same journal, written the moment a reading arrives. A photo already on its way
is joined, never sent again: by another cell, or by a recalculation of the same one.

While photos are on their way the status bar counts them, as the button does, and a watcher
notices the workbook being closed: what has not been sent then is not sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from xlwings_meter.engines.base import Engine
from xlwings_meter.errors import BatchStopError, WorkbookClosedError
from xlwings_meter.photos import DEFAULT_MAX_SIDE
from xlwings_meter.reading import Reading, failure_for
from xlwings_meter.workbook.batch import DEFAULT_CONCURRENCY, BatchResult, PhotoReader
from xlwings_meter.workbook.cache import ReadingCache

#: Seconds between two looks at the status bar's count and whether the workbook is still open.
WATCH_POLL = 0.25
#: Seconds between two status bar updates (each one is a call to Excel).
STATUS_EVERY = 0.5


def status_text(done: int, total: int) -> str:
    """What the status bar says while METERREAD's photos are read.

    >>> status_text(3, 50)
    'Reading meters (METERREAD): 3 of 50 photos'
    """
    return f"Reading meters (METERREAD): {done} of {total} photos"


def settled(reading: Reading | None = None, exc: BaseException | None = None) -> Future[Reading]:
    """A future that already holds ``reading`` (or raises ``exc``)."""
    fut: Future[Reading] = Future()
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(reading)  # type: ignore[arg-type]
    return fut


class InFlight:
    """The photos of one workbook on their way to the engine, by content (SHA-256).

    ``on_read`` is called after each photo is settled (the session asks for a cache-sheet
    write); ``status`` gets the status bar's text, then False when nothing is left; ``is_open``
    says whether the workbook ``name`` is still open, and ``on_closed`` runs once when it is not.
    Then every photo not sent raises WorkbookClosedError: the cell has no one to show it to,
    and xlwings keeps no answer for it, so the reopened workbook asks again.
    """

    def __init__(
        self,
        cache: ReadingCache,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_read: Callable[[], None] = lambda: None,
        status: Callable[[str | bool], None] | None = None,
        is_open: Callable[[], bool] | None = None,
        on_closed: Callable[[], None] = lambda: None,
        max_side: int = DEFAULT_MAX_SIDE,
        name: str = "The workbook",
    ) -> None:
        self.cache = cache
        self.name = name
        self.concurrency = concurrency
        self._on_read = on_read
        self._status = status
        self._is_open = is_open
        self._on_closed = on_closed
        self._max_side = max_side
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._reader: PhotoReader | None = None
        self._pending: dict[str, Future[Reading]] = {}
        self._awaiting_reason: list[Future[Reading]] = []
        self._watcher: threading.Thread | None = None
        self._done = self._total = 0
        #: Why sending stopped (refused key, no credit...): photos asked for later are not sent.
        self.stopped: BatchStopError | None = None
        self.closed = False

    def read(self, digest: str, path: Path, engine: Engine) -> Future[Reading]:
        """The reading of the photo ``path`` (content ``digest``): joined, cached, or sent."""
        with self._lock:
            pending = self._pending.get(digest)
            if pending is not None:
                return pending
            # Recorded in the cache before its future settles: a photo just read is found here.
            entry = self.cache.get(digest, engine.name)
            if entry is not None:
                return settled(entry.reading)
            if self.closed:
                return settled(exc=WorkbookClosedError(self.name))
            if self.stopped is not None:
                return settled(failure_for(self.stopped))
            reader = self._reader_for(engine)
            reader.paths[digest] = path
            mine: Future[Reading] = Future()
            self._pending[digest] = mine
            self._total += 1
            assert self._pool is not None
            sent = reader.submit(self._pool, digest)
            self._watch()
        sent.add_done_callback(lambda fut: self._settle(reader, digest, fut, mine))
        return mine

    def joined(self, digest: str) -> Future[Reading] | None:
        """The reading of a photo already on its way, if it is."""
        with self._lock:
            return self._pending.get(digest)

    def resume(self) -> None:
        """Forget a stop (the user changed the settings): the next photos are sent again."""
        with self._lock:
            self.stopped = None
            if self._reader is not None and self._reader.stop.is_set():
                self._reader = None

    def close(self) -> None:
        """The workbook was closed: send nothing more. Photos on the wire are still kept."""
        with self._lock:
            self.closed = True
            reader, pool = self._reader, self._pool
        if reader is not None:
            reader.stop.set()  # queued photos are skipped, retries and waits end
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    @property
    def pending(self) -> int:
        """How many photos are on their way."""
        with self._lock:
            return len(self._pending)

    def _reader_for(self, engine: Engine) -> PhotoReader:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=max(1, self.concurrency),
                                            thread_name_prefix="meterread")
        # A stopped reader stays until resume(): photos asked for meanwhile are skipped by it too.
        if self._reader is None or (self._reader.engine is not engine and not self._reader.stop.is_set()):
            self._reader = PhotoReader(engine, self.cache, {}, self._max_side, BatchResult(readings=[]))
        return self._reader

    def _settle(self, reader: PhotoReader, digest: str, sent: Future[Reading], mine: Future[Reading]) -> None:
        try:
            reading = reader.outcome(sent)
        except BaseException as exc:  # an engine bug: that cell shows it, the others go on
            self._finish(digest, mine, exc=exc)
            return
        if reading is not None:
            self._finish(digest, mine, reading)
            return
        with self._lock:
            if reader.result.stopped is not None and self.stopped is None:
                self.stopped = reader.result.stopped
            if reader.result.stopped is None and not self.closed:
                # Skipped by a stop whose reason has not been collected yet: it will be.
                self._awaiting_reason.append(mine)
                self._pending.pop(digest, None)
                self._done += 1
                return
            waiting, self._awaiting_reason = self._awaiting_reason, []
        for fut in waiting:
            self._not_sent(reader, fut)
        with self._lock:
            self._pending.pop(digest, None)
            self._done += 1
        self._not_sent(reader, mine)

    def _not_sent(self, reader: PhotoReader, fut: Future[Reading]) -> None:
        """Settle a cell whose photo was not sent: the stop's reason, or the workbook closed."""
        if reader.result.stopped is not None:
            fut.set_result(failure_for(reader.result.stopped))
        else:
            fut.set_exception(WorkbookClosedError(self.name))

    def _finish(self, digest: str, mine: Future[Reading], reading: Reading | None = None,
                exc: BaseException | None = None) -> None:
        with self._lock:
            self._pending.pop(digest, None)
            self._done += 1
        try:
            self._on_read()  # a paid reading must reach the sheet whatever happens next
        finally:
            if exc is not None:
                mine.set_exception(exc)
            else:
                mine.set_result(reading)  # type: ignore[arg-type]

    # --- the watcher: status bar and a closed workbook --------------------------------------

    def _watch(self) -> None:
        """Start the watcher if it is not running (called under the lock)."""
        if self._watcher is None and (self._status is not None or self._is_open is not None):
            self._watcher = threading.Thread(target=self._run_watcher, name="meterread-watch", daemon=True)
            self._watcher.start()

    def _run_watcher(self) -> None:
        shown: tuple[int, int] | None = None
        last = float("-inf")
        while True:
            time.sleep(WATCH_POLL)
            if self._is_open is not None and not self.closed and not self._still_open():
                self.close()
                self._on_closed()
            with self._lock:
                done, total = self._done, self._total
                if not self._pending or self.closed:
                    self._watcher = None
                    self._done = self._total = 0
                    break
            if self._status is not None and (done, total) != shown and time.monotonic() - last >= STATUS_EVERY:
                shown, last = (done, total), time.monotonic()
                self._show(status_text(done, total))
        for _ in range(round(5 / WATCH_POLL)):  # give the status bar back, even if Excel is busy a moment
            if self.closed or self._show(False):
                break
            time.sleep(WATCH_POLL)

    def _still_open(self) -> bool:
        assert self._is_open is not None
        try:
            return self._is_open()
        except Exception:  # Excel busy: ask again at the next look
            return True

    def _show(self, text: str | bool) -> bool:
        """Put ``text`` in the status bar; False if Excel refused (busy, or closing)."""
        if self._status is None:
            return True
        try:
            self._status(text)
        except Exception:  # Excel busy or closing: the next update will do
            return False
        return True
