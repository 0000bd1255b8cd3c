"""Reading many photos: resolve, hash, de-duplicate, answer from the cache, read the rest.

The batch never loses a reading it paid for: each one is recorded in the cache (and so in its
journal) the moment it arrives, whatever stops the run afterwards: Ctrl+C, a refused key, an
exhausted credit, an exception.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from xlwings_meter.engines.base import Engine
from xlwings_meter.errors import (
    BatchStopError,
    JournalError,
    OfflineError,
    PhotoError,
    ServiceError,
    TransientServiceError,
    UnreachableError,
)
from xlwings_meter.photos import (
    DEFAULT_MAX_SIDE,
    Photo,
    file_digest,
    load_photo,
    resolve_path,
)
from xlwings_meter.reading import Reading, ReadingStatus, failure_for
from xlwings_meter.reconcile import Summary
from xlwings_meter.workbook.cache import CacheEntry, ReadingCache, now_utc
from xlwings_meter.workbook.sheet import Cell

#: Photos in flight at once. Preparing a 12-megapixel photo costs 0.06 to 0.12 s of one core
#: (the machine's speed varies) and a reply about 0.3 s or more, so with one photo prepared per
#: core the rest wait for replies: at 8, 40 photos' first run waited for the service more than
#: for the cores. bench.cost's sweeps on this 2-core machine (four first runs per level, both
#: cores free, a photo prepared in 62 ms): 6 slower (3.2-3.3 s), 8 2.52-2.73 s, 12 2.17-2.49 s,
#: 16 2.26-2.53 s. 12 is where that plateau starts and asks the least of the service there; one
#: that finds it too fast answers 429 and is obeyed.
DEFAULT_CONCURRENCY = 12
#: Photos decoded and shrunk at once: one per core. More would only share the cores and delay
#: the first uploads; the other workers meanwhile wait for their replies, not for a core.
PREPARE_AT_ONCE = max(1, min(os.cpu_count() or 1, 8))
#: Photos in a row that could not reach the service, with none reached yet, before the batch
#: stops as offline instead of failing every remaining row one slow retry cycle at a time.
OFFLINE_AFTER = 3

#: What a photo the cache lacks gets when nothing may be sent (METER_CACHE_ONLY).
CACHE_ONLY_MISS = "Not read: cache only, and this photo is not in the cache"

#: Called as progress(done, total) each time a photo is settled.
Progress = Callable[[int, int], None]


@dataclass
class BatchResult:
    """What a batch produced: one reading per input cell, in order, and how it went."""

    readings: list[Reading]
    sent: int = 0  # photos uploaded at least once (for a local engine: read) in this run
    from_cache: int = 0  # photos answered from the cache
    stopped: BatchStopError | None = None  # why the batch stopped early, if it did
    interrupted: bool = False  # stopped by the user (Ctrl+C)
    uploads: int = 0  # requests that reached the service, each retry counted: what may be billed
    bytes_uploaded: int = 0  # the bodies of those requests
    on_this_machine: bool = False  # the engine reads locally: nothing was uploaded
    kept: list[int] = field(default_factory=list)  # sheet rows left alone: a person changed them
    kept_previous: int = 0  # photos whose refresh failed: their previous reading stays
    summary: Summary | None = None  # the sheet after the run (set by the sheet's job)
    summary_blocked: bool = False  # the summary block would have covered a person's cells
    review: str | None = None  # the Review sheet written (its name), if one was
    pictures: int = 0  # evidence pictures placed on it
    review_blocked: bool = False  # sheets of a person's hold both names the Review sheet may take
    remarks: list[str] = field(default_factory=list)  # more a run says it did or did not do

    @property
    def complete(self) -> bool:
        """True when every photo was settled (read, or failed for a reason of its own)."""
        return self.stopped is None and not self.interrupted


def read_photos(
    cells: Sequence[Cell],
    folder: Path | None,
    engine: Engine | None,
    cache: ReadingCache,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    refresh: bool = False,
    progress: Progress | None = None,
    max_side: int = DEFAULT_MAX_SIDE,
) -> BatchResult:
    """Read the photos named in ``cells`` (paths, relative to ``folder`` or absolute).

    Identical photos (same content) are read once. Cached final outcomes are reused unless
    ``refresh``. With ``engine`` None the batch is cache-only: misses say so and nothing is sent.
    """
    n = len(cells)
    readings: list[Reading | None] = [None] * n
    by_digest: dict[str, list[int]] = {}
    paths: dict[str, Path] = {}

    for i, found in enumerate(_hash_all(cells, folder)):
        if isinstance(found, Reading):
            readings[i] = found
            continue
        path, digest = found
        by_digest.setdefault(digest, []).append(i)
        paths.setdefault(digest, path)

    result = BatchResult(readings=[], on_this_machine=engine is not None and not engine.sends_photos)
    todo: list[str] = []
    engine_name = engine.name if engine is not None else None
    previous: dict[str, Reading] = {}  # what a refresh replaces, kept if the refresh fails
    for digest, rows in by_digest.items():
        entry = cache.get(digest, engine_name)
        if refresh and entry is not None:
            previous[digest] = entry.reading
            entry = None
        if entry is not None:
            cache.seen_at(digest, str(paths[digest]))
            _settle(readings, rows, entry.reading)
            result.from_cache += 1
        elif engine is None:
            _settle(readings, rows, Reading.failure(ReadingStatus.NOT_READ, CACHE_ONLY_MISS))
        else:
            todo.append(digest)

    total = len(by_digest)
    if progress:
        progress(total - len(todo), total)
    if todo and engine is not None:
        reader = PhotoReader(engine, cache, paths, max_side, result)

        def settled(digest: str, reading: Reading) -> None:
            if digest in previous and not reading.status.is_final:
                reading = previous.pop(digest)
                result.kept_previous += 1
            _settle(readings, by_digest[digest], reading)
            if progress:
                progress(total - len(todo) + reader.settled, total)

        reader.run(todo, concurrency, settled)

    for digest, reading in previous.items():  # a refresh cut short: the old reading stays
        if readings[by_digest[digest][0]] is None:
            _settle(readings, by_digest[digest], reading)
            result.kept_previous += 1
    unread = _unread(result)
    result.readings = [r if r is not None else unread for r in readings]
    return result


def _hash_all(cells: Sequence[Cell], folder: Path | None) -> list[tuple[Path, str] | Reading]:
    """Each cell's photo and its SHA-256, or the reason it has none; hashed on every core at
    once (hashlib lets go of the GIL), as a re-run of a cached sheet does little else."""

    def one(cell: Cell) -> tuple[Path, str] | Reading:
        try:
            path = resolve_path(cell, folder)
            return path, file_digest(path)
        except PhotoError as exc:
            return failure_for(exc)

    if len(cells) < 2:
        return [one(cell) for cell in cells]
    with ThreadPoolExecutor(max_workers=min(len(cells), PREPARE_AT_ONCE + 1), thread_name_prefix="hash") as pool:
        return list(pool.map(one, cells))


class PhotoReader:
    """Sends the photos the cache lacks, a few at a time, and stops them all at once.

    Every reading is recorded in the cache the moment it arrives. A batch stop (refused key,
    credit, no network, no journal) or Ctrl+C sets ``stop``: queued photos are not sent, and
    the engine sees the same event, so a retry or a Retry-After wait in flight ends too.
    The button's batch runs it over a list (``run``); METERREAD submits photos one by one as
    cells ask for them (``submit`` and ``outcome``), under the same rules.
    """

    def __init__(self, engine: Engine, cache: ReadingCache, paths: dict[str, Path], max_side: int,
                 result: BatchResult) -> None:
        self.engine = engine
        self.cache = cache
        self.paths = paths
        self.max_side = max_side
        self.result = result
        self.settled = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._reached = threading.Event()  # some photo got an answer: connection failures are per row
        self._unreachable = 0
        self._preparing = threading.BoundedSemaphore(PREPARE_AT_ONCE)

    def run(self, todo: list[str], concurrency: int, settled: Callable[[str, Reading], None]) -> None:
        """Read ``todo``, calling ``settled(digest, reading)`` as each photo is settled.

        Sets result.stopped or result.interrupted when the batch ends early. Ctrl+C anywhere in
        here, ``settled`` included, stops the batch the same way.
        """
        pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="meter")
        futures: dict[Future[Reading], str] = {}
        collected: set[Future[Reading]] = set()
        try:
            for digest in todo:
                futures[self.submit(pool, digest)] = digest
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in finished:
                    collected.add(fut)
                    self._collect(fut, futures[fut], settled)
                if self.stop.is_set():
                    for fut in pending:
                        fut.cancel()
        except KeyboardInterrupt:
            self.result.interrupted = True
        finally:
            self.stop.set()  # however this ends, nothing more is sent and no wait goes on
            # Requests already on the wire are paid for: wait for them and keep their readings.
            pool.shutdown(wait=True, cancel_futures=True)
        try:
            for fut, digest in futures.items():
                if fut not in collected:
                    self._collect(fut, digest, settled)
        except KeyboardInterrupt:  # a second Ctrl+C: the readings are in the cache already
            self.result.interrupted = True

    def submit(self, pool: Executor, digest: str) -> Future[Reading]:
        """Queue the photo ``self.paths[digest]`` on ``pool``; ``outcome`` reads the future."""
        return pool.submit(self._read_one, digest)

    def outcome(self, fut: Future[Reading]) -> Reading | None:
        """The reading of a finished photo; None if it was not read because the batch stopped.

        A stop (refused key, credit...) is recorded in ``result.stopped`` and stops the rest.
        """
        if fut.cancelled():
            return None
        exc = fut.exception()
        if isinstance(exc, _Skipped):
            return None
        if isinstance(exc, BatchStopError):
            self._stopped_by(exc)
            return None
        if exc is not None:
            raise exc
        return fut.result()

    def _collect(self, fut: Future[Reading], digest: str, settled: Callable[[str, Reading], None]) -> None:
        if not fut.done() or (reading := self.outcome(fut)) is None:
            return
        self.settled += 1
        settled(digest, reading)

    def _stopped_by(self, exc: BatchStopError) -> None:
        self.stop.set()
        with self._lock:
            if self.result.stopped is None:
                self.result.stopped = exc

    def _read_one(self, digest: str) -> Reading:
        if self.stop.is_set():
            raise _Skipped()
        path = self.paths[digest]
        try:
            with self._preparing:
                photo = load_photo(path, digest, self.max_side)
        except PhotoError as exc:
            return failure_for(exc)
        if self.stop.is_set():
            raise _Skipped()
        if not self.engine.sends_photos:
            with self._lock:
                self.result.sent += 1
        try:
            reading = self._ask(photo)
        except BatchStopError:
            self.stop.set()
            raise
        except TransientServiceError as exc:
            if self.stop.is_set() and not exc.may_have_been_charged:  # cut short: the batch is stopping
                raise _Skipped() from exc
            return failure_for(exc)
        except ServiceError as exc:
            return failure_for(exc)
        try:
            self.cache.record(CacheEntry(digest, str(path), reading, now_utc(), self.engine.name))
        except JournalError as exc:  # the reading is kept in memory; stop paying for more
            self._stopped_by(exc)
        return reading

    def _ask(self, photo: Photo) -> Reading:
        """The engine's reading; several photos that cannot connect, none reached, mean no network.

        A photo counts as sent once the engine reports its first upload (a refused connection
        or an unknown host uploads nothing), each upload counted too.
        """
        first = threading.Event()

        def uploaded(size: int) -> None:
            with self._lock:
                self.result.sent += not first.is_set()
                self.result.uploads += 1
                self.result.bytes_uploaded += size
            first.set()

        try:
            reading = self.engine.read(photo, cancel=self.stop, on_upload=uploaded)
        except UnreachableError as exc:
            with self._lock:
                self._unreachable += 1
                offline = self._unreachable >= OFFLINE_AFTER and not self._reached.is_set()
            if offline:  # this photo failed like the others: its row says so, and the batch stops
                self._stopped_by(OfflineError(
                    f"cannot reach the OCR service ({str(exc)[:1].lower()}{str(exc)[1:]}, "
                    f"for {OFFLINE_AFTER} photos); check the network connection"))
                return failure_for(exc)
            raise
        self._reached.set()
        return reading


def _settle(readings: list[Reading | None], rows: list[int], reading: Reading) -> None:
    for i in rows:
        readings[i] = reading


def _unread(result: BatchResult) -> Reading:
    if result.stopped is not None:
        return failure_for(result.stopped)
    return Reading.failure(ReadingStatus.NOT_READ, "Not read: the run was stopped before this photo"
                           if result.interrupted else "Not read")


class _Skipped(Exception):
    """A queued photo that was not sent because the batch is stopping."""
