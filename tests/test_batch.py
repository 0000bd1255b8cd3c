"""The batch against the real client and the fake service: de-duplication, concurrency, stops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fake_aigen import FakeAigen, Reply
from tests.photos import make_photo
from xlwings_meter.engines.aigen.client import AigenEngine
from xlwings_meter.engines.aigen.config import ClientSettings
from xlwings_meter.errors import JournalError
from xlwings_meter.photos import file_digest
from xlwings_meter.reading import ReadingStatus
from xlwings_meter.workbook.batch import read_photos
from xlwings_meter.workbook.cache import CACHE_SHEET, ReadingCache
from xlwings_meter.workbook.files import FileBook
from xlwings_meter.workbook.journal import Journal

from .workbooks import photo_book


@pytest.fixture
def cache(tmp_path: Path) -> ReadingCache:
    return ReadingCache(FileBook(photo_book(tmp_path / "book.xlsx", [])).hidden_sheet(CACHE_SHEET))


def _photos(folder: Path, n: int) -> list[str]:
    return [make_photo(folder / f"m{i}.jpg", seed=i).name for i in range(n)]


def test_identical_photos_are_sent_once_and_every_row_gets_the_reading(
    tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings, cache: ReadingCache
) -> None:
    original = make_photo(tmp_path / "a.jpg", seed=1)
    (tmp_path / "copy of a.jpg").write_bytes(original.read_bytes())
    cells = ["a.jpg", "copy of a.jpg", str(original)]
    result = read_photos(cells, tmp_path, AigenEngine(fast_settings), cache)
    assert len(aigen_server.calls) == 1 and result.sent == 1
    assert [r.value for r in result.readings] == ["3245.010"] * 3


def test_concurrency_is_bounded(tmp_path: Path, aigen_server: FakeAigen, cache: ReadingCache,
                                fast_settings: ClientSettings) -> None:
    aigen_server.default = Reply.success().delayed(0.15)
    settings = ClientSettings(url=fast_settings.url, key=fast_settings.key, read_timeout=5.0)
    result = read_photos(_photos(tmp_path, 9), tmp_path, AigenEngine(settings), cache, concurrency=3)
    assert result.sent == 9 and all(r.status is ReadingStatus.READ for r in result.readings)
    assert aigen_server.max_in_flight == 3


def test_progress_is_reported_up_to_the_total(tmp_path: Path, aigen_server: FakeAigen,
                                              fast_settings: ClientSettings, cache: ReadingCache) -> None:
    seen: list[tuple[int, int]] = []
    read_photos(_photos(tmp_path, 4) + ["missing.jpg"], tmp_path, AigenEngine(fast_settings), cache,
                progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 4) and seen[-1] == (4, 4)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_refused_key_stops_the_batch_and_keeps_what_was_read(
    tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings, cache: ReadingCache
) -> None:
    cells = _photos(tmp_path, 6)
    aigen_server.queue(Reply.success("1.5"), Reply.success("2.5"))
    aigen_server.default = Reply.error(401)
    result = read_photos(cells, tmp_path, AigenEngine(fast_settings), cache, concurrency=1)
    assert result.stopped is not None and "key" in str(result.stopped)
    assert [r.value for r in result.readings[:2]] == ["1.5", "2.5"]
    assert all(r.status is ReadingStatus.NOT_READ for r in result.readings[2:])
    assert "batch stopped" in result.readings[5].message
    assert len(aigen_server.calls) == 3  # the refusal stops it at once: nothing more is sent
    assert len(cache) == 2


def test_failures_are_per_row_and_the_batch_goes_on(
    tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings, cache: ReadingCache
) -> None:
    cells = _photos(tmp_path, 3)
    aigen_server.on(tmp_path / cells[0], Reply.error(503))
    aigen_server.on(tmp_path / cells[1], Reply.no_detection())
    result = read_photos(cells, tmp_path, AigenEngine(fast_settings), cache)
    statuses = [r.status for r in result.readings]
    assert statuses == [ReadingStatus.FAILED, ReadingStatus.NO_READING, ReadingStatus.READ]
    assert "503" in result.readings[0].message
    assert len(aigen_server.calls_for(tmp_path / cells[0])) == fast_settings.max_charged_attempts
    assert cache.get(file_digest(tmp_path / cells[0])) is None  # a failure is tried again
    assert cache.get(file_digest(tmp_path / cells[1])) is not None  # "no reading" is final


def test_cache_only_sends_nothing(tmp_path: Path, aigen_server: FakeAigen, cache: ReadingCache) -> None:
    result = read_photos(_photos(tmp_path, 2), tmp_path, None, cache)
    assert aigen_server.calls == []
    assert all("cache only" in r.message for r in result.readings)


def test_a_journal_that_cannot_be_written_stops_the_batch_and_keeps_the_paid_reading(
    tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings
) -> None:
    journal = Journal(tmp_path / "folder that is gone" / "journal")  # as on a full or read-only disk
    book = FileBook(photo_book(tmp_path / "book.xlsx", []))
    cache = ReadingCache(book.hidden_sheet(CACHE_SHEET), on_record=journal.append)
    cells = _photos(tmp_path, 4)
    result = read_photos(cells, tmp_path, AigenEngine(fast_settings), cache, concurrency=1)
    assert isinstance(result.stopped, JournalError) and "cannot write the journal" in str(result.stopped)
    assert len(aigen_server.calls) == 1  # nothing more is paid for without a safe copy
    assert cache.get(file_digest(tmp_path / cells[0])) is not None  # and the one paid for is kept
    assert result.readings[0].value == "3245.010"  # in its row too
    assert all(r.status is ReadingStatus.NOT_READ for r in result.readings[1:])


def test_a_stop_ends_the_waits_of_photos_already_in_flight(
    tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings, cache: ReadingCache
) -> None:
    import time
    from dataclasses import replace

    cells = _photos(tmp_path, 4)
    aigen_server.default = Reply.error(429, retry_after=30)  # three photos are told to wait 30 s...
    aigen_server.on(tmp_path / cells[0], Reply.error(401).delayed(0.3))  # ...then the key is refused
    engine = AigenEngine(replace(fast_settings, max_retry_after=60, read_timeout=5))  # real waits
    started = time.monotonic()
    result = read_photos(cells, tmp_path, engine, cache, concurrency=4)
    assert time.monotonic() - started < 5
    assert result.stopped is not None and "key" in str(result.stopped)
    # Nobody retried after the stop. (A photo may not have been sent at all: after two 429s the
    # batch keeps fewer requests on the wire, and one still waiting for a place gives up.)
    digests = [c.image_sha256 for c in aigen_server.calls]
    assert len(set(digests)) == len(digests) and len(aigen_server.calls_for(tmp_path / cells[0])) == 1
    assert all(r.status is ReadingStatus.NOT_READ for r in result.readings)


def test_ctrl_c_while_a_reading_is_being_settled_stops_the_batch_cleanly(
    tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings, cache: ReadingCache
) -> None:
    def progress(done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt  # the user presses Ctrl+C as the first reading lands

    result = read_photos(_photos(tmp_path, 5), tmp_path, AigenEngine(fast_settings), cache,
                         concurrency=1, progress=progress)
    assert result.interrupted and result.readings[0].value == "3245.010"
    assert len(cache) >= 1 and len(aigen_server.calls) <= 2  # at most the one already on the wire


def test_ctrl_c_as_several_readings_land_together_keeps_every_paid_row(tmp_path: Path, cache: ReadingCache) -> None:
    import threading

    from xlwings_meter.reading import Reading

    class TogetherEngine:  # three answers that land at the same instant, which a server can't promise
        name = "together"
        sends_photos = True

        def __init__(self) -> None:
            self.barrier = threading.Barrier(3)

        def read(self, photo: object, cancel: object = None, on_upload: Any = None) -> Reading:
            self.barrier.wait(5)
            on_upload(100)  # as the Engine contract asks of an engine that sends photos
            return Reading(ReadingStatus.READ, value="7.0", confidence=1.0, angle=0.0)

    def progress(done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt  # Ctrl+C while the first of them is being written down

    cells = _photos(tmp_path, 3)
    result = read_photos(cells, tmp_path, TogetherEngine(), cache, concurrency=3, progress=progress)
    assert result.interrupted and result.sent == 3 and len(cache) == 3
    assert [r.value for r in result.readings] == ["7.0"] * 3  # every paid reading is in its row


def test_a_service_that_answers_too_fast_slows_the_whole_batch(
    tmp_path: Path, aigen_server: FakeAigen, cache: ReadingCache, fast_settings: ClientSettings
) -> None:
    """A service that takes 3 requests at once, and a batch of 12 at once: each thread obeying
    only its own 429 kept the others coming. After a 429 the batch keeps fewer on the wire."""
    aigen_server.default = Reply.success().delayed(0.1)
    aigen_server.at_once = 3
    settings = ClientSettings(url=fast_settings.url, key=fast_settings.key, read_timeout=5.0,
                              max_429_retries=8)
    result = read_photos(_photos(tmp_path, 30), tmp_path, AigenEngine(settings), cache, concurrency=12)
    assert all(r.status is ReadingStatus.READ for r in result.readings) and result.stopped is None
    refused = sum(c.status == 429 for c in aigen_server.calls)
    # The first wave (12 at once: 9 refused) teaches the batch the pace; then few probes past it.
    assert refused <= 9 + 30 // 10 + 3, refused
