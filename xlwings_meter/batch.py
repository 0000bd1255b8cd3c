"""Reading many photos: resolve, hash, de-duplicate, answer from the cache, read the rest.

The batch never loses a reading it paid for: each one is recorded in the cache (and so in its
journal) the moment it arrives, whatever stops the run afterwards: Ctrl+C, a refused key, an
exhausted credit, an exception.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from .cache import CacheEntry, ReadingCache, now_utc
from .engine import Engine
from .errors import (
    BatchStopError,
    NotAnImageError,
    OfflineError,
    PhotoMissingError,
    ServiceError,
    TransientServiceError,
    UnreachableError,
)
from .images import DEFAULT_MAX_SIDE, file_digest, load_photo, resolve_path
from .reading import Reading, ReadingStatus
from .sheets.base import Cell

DEFAULT_CONCURRENCY = 4
#: Photos in a row that could not reach the service, with none reached yet, before the batch
#: stops as offline instead of failing every remaining row one slow retry cycle at a time.
OFFLINE_AFTER = 3

#: Called as progress(done, total) each time a photo is settled.
Progress = Callable[[int, int], None]


@dataclass
class BatchResult:
    """What a batch produced: one reading per input cell, in order, and how it went."""

    readings: list[Reading]
    sent: int = 0  # photos sent to the engine in this run
    from_cache: int = 0  # photos answered from the cache
    stopped: BatchStopError | None = None  # why the batch stopped early, if it did
    interrupted: bool = False  # stopped by the user (Ctrl+C)
    unique_photos: int = 0
    bytes_uploaded: int = 0

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

    for i, cell in enumerate(cells):
        try:
            path = resolve_path(cell, folder)
            digest = file_digest(path)
        except PhotoMissingError as exc:
            readings[i] = Reading.failure(ReadingStatus.FILE_MISSING, str(exc))
            continue
        by_digest.setdefault(digest, []).append(i)
        paths.setdefault(digest, path)

    result = BatchResult(readings=[], unique_photos=len(by_digest))
    todo: list[str] = []
    for digest, rows in by_digest.items():
        entry = None if refresh else cache.get(digest)
        if entry is not None:
            cache.seen_at(digest, str(paths[digest]))
            _settle(readings, rows, entry.reading)
            result.from_cache += 1
        elif engine is None:
            _settle(readings, rows, Reading.failure(
                ReadingStatus.REJECTED, "Not read: cache only, and this photo is not in the cache"))
        else:
            todo.append(digest)

    total = len(by_digest)
    done = total - len(todo)
    if progress:
        progress(done, total)
    if todo and engine is not None:
        done = _read_uncached(todo, by_digest, paths, readings, engine, cache, result,
                              concurrency, max_side, progress, done, total)

    reason = _unread_reason(result)
    result.readings = [r if r is not None else Reading.failure(ReadingStatus.REJECTED, reason)
                       for r in readings]
    return result


def _read_uncached(
    todo: list[str],
    by_digest: dict[str, list[int]],
    paths: dict[str, Path],
    readings: list[Reading | None],
    engine: Engine,
    cache: ReadingCache,
    result: BatchResult,
    concurrency: int,
    max_side: int,
    progress: Progress | None,
    done: int,
    total: int,
) -> int:
    stop = threading.Event()
    lock = threading.Lock()
    reached = threading.Event()  # some photo got an answer: connection failures are per row
    unreachable = 0

    def read_one(digest: str) -> Reading:
        nonlocal unreachable
        if stop.is_set():
            raise _Skipped()
        path = paths[digest]
        try:
            photo = load_photo(path, digest, max_side)
        except (PhotoMissingError, NotAnImageError) as exc:
            status = (ReadingStatus.NOT_AN_IMAGE if isinstance(exc, NotAnImageError)
                      else ReadingStatus.FILE_MISSING)
            return Reading.failure(status, str(exc))
        if stop.is_set():
            raise _Skipped()
        with lock:
            result.sent += 1
            result.bytes_uploaded += len(photo.data)
        try:
            reading = engine.read(photo)
        except UnreachableError as exc:
            with lock:
                unreachable += 1
                offline = unreachable >= OFFLINE_AFTER and not reached.is_set()
            if offline:
                stop.set()
                raise OfflineError(
                    f"cannot reach the OCR service ({str(exc)[:1].lower()}{str(exc)[1:]}, "
                    f"{OFFLINE_AFTER} photos in a row); check the network connection"
                ) from exc
            return Reading.failure(ReadingStatus.FAILED, f"Failed: {exc}")
        except TransientServiceError as exc:
            return Reading.failure(ReadingStatus.FAILED, f"Failed: {exc}")
        except BatchStopError:
            stop.set()
            raise
        except ServiceError as exc:
            return Reading.failure(ReadingStatus.REJECTED, f"Rejected: {exc}")
        reached.set()
        cache.record(CacheEntry(digest, str(path), reading, now_utc(), engine.name))
        return reading

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="meter")
    futures: dict[Future[Reading], str] = {pool.submit(read_one, d): d for d in todo}
    pending = set(futures)
    try:
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in finished:
                done += _collect(fut, futures[fut], by_digest, readings, result)
                if progress:
                    progress(done, total)
            if result.stopped is not None:
                for fut in pending:
                    fut.cancel()
    except KeyboardInterrupt:
        result.interrupted = True
        stop.set()
        for fut in pending:
            fut.cancel()
    finally:
        # Requests already on the wire are paid for: wait for them and keep their readings.
        pool.shutdown(wait=True, cancel_futures=True)
    for fut in pending:
        if fut.done() and not fut.cancelled():
            done += _collect(fut, futures[fut], by_digest, readings, result)
    return done


def _collect(
    fut: Future[Reading],
    digest: str,
    by_digest: dict[str, list[int]],
    readings: list[Reading | None],
    result: BatchResult,
) -> int:
    if fut.cancelled():
        return 0
    exc = fut.exception()
    if isinstance(exc, _Skipped):
        return 0
    if isinstance(exc, BatchStopError):
        if result.stopped is None:
            result.stopped = exc
        return 0
    if exc is not None:
        raise exc
    _settle(readings, by_digest[digest], fut.result())
    return 1


def _settle(readings: list[Reading | None], rows: list[int], reading: Reading) -> None:
    for i in rows:
        readings[i] = reading


def _unread_reason(result: BatchResult) -> str:
    if result.stopped is not None:
        return f"Not read: the batch stopped ({result.stopped})"
    if result.interrupted:
        return "Not read: the run was stopped before this photo"
    return "Not read"


class _Skipped(Exception):
    """A queued photo that was not sent because the batch is stopping."""
