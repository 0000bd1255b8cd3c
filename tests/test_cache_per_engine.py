"""Outcomes belong to their engine and are all kept: reading a photo with another engine never
throws away the reading already paid for, in a file and in Excel."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tests.fake_aigen import FakeAigen
from tests.photos import make_photo
from xlwings_meter.engines.aigen.client import AigenEngine
from xlwings_meter.engines.aigen.config import ClientSettings
from xlwings_meter.photos import file_digest
from xlwings_meter.reading import NO_READING_MESSAGE, Reading, ReadingStatus
from xlwings_meter.workbook.cache import CACHE_SHEET, HEADERS, CacheEntry, ReadingCache
from xlwings_meter.workbook.files import FileBook
from xlwings_meter.workbook.job import read_sheet

A = "a" * 64


def _entry(engine: str, value: str | None, at: str = "2026-01-01T00:00:00Z") -> CacheEntry:
    reading = (Reading(ReadingStatus.READ, value=value, confidence=0.9, angle=0.0) if value
               else Reading.failure(ReadingStatus.NO_READING, NO_READING_MESSAGE))
    return CacheEntry(A, "m.jpg", reading, at, engine)


def test_each_engines_outcome_for_a_photo_is_kept_in_a_row_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    openpyxl.Workbook().save(path)
    with FileBook(path) as book:
        cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
        cache.record(_entry("AIGEN", "12.5"))
        cache.flush()
        cache.record(_entry("local", None))
        cache.flush()
        book.save()
    with FileBook(path) as book:
        again = ReadingCache(book.hidden_sheet(CACHE_SHEET))
        assert again.get(A, "AIGEN").reading.value == "12.5"  # type: ignore[union-attr]
        assert again.get(A, "local").reading.status is ReadingStatus.NO_READING  # type: ignore[union-attr]
        assert again.get(A, "other") is None
    rows = list(openpyxl.load_workbook(path)[CACHE_SHEET].iter_rows(min_row=2, max_col=10, values_only=True))
    assert sorted(r[9] for r in rows) == ["AIGEN", "local"]


def test_a_cache_from_before_engines_were_recorded_still_serves_every_engine(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.create_sheet(CACHE_SHEET)
    ws.append(list(HEADERS))
    ws.append([A, "m.jpg", "12.5", 12.5, 0.9, 0.0, "[]", "read", "2025-01-01T00:00:00Z", None])
    wb.save(path)
    with FileBook(path) as book:
        cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
        assert cache.get(A, "AIGEN").reading.value == "12.5"  # type: ignore[union-attr]
        cache.record(_entry("local", "99"))  # a new engine's own reading wins for that engine only
        assert cache.get(A, "local").reading.value == "99"  # type: ignore[union-attr]
        assert cache.get(A, "AIGEN").reading.value == "12.5"  # type: ignore[union-attr]


def test_a_correction_is_of_the_photo_whichever_engine_read_it(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    openpyxl.Workbook().save(path)
    with FileBook(path) as book:
        cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
        cache.record(_entry("AIGEN", "12.5"))
        assert cache.correct(A, "13", "Ann", "2026-01-02T00:00:00Z")
        cache.record(_entry("local", "11"))  # read again by another engine: the correction stays
        cache.flush()
        book.save()
    with FileBook(path) as book:
        again = ReadingCache(book.hidden_sheet(CACHE_SHEET))
        assert again.get(A, "AIGEN").corrected == "13" and again.get(A, "local").corrected == "13"  # type: ignore[union-attr]


@pytest.mark.slow  # runs the offline engine
def test_switching_engines_and_back_pays_for_nothing_again(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    from xlwings_meter.engines.local.engine import LocalEngine

    aigen = AigenEngine(fast_settings)
    photos = [make_photo(tmp_path / f"m{i}.jpg", seed=i) for i in range(2)]
    book = backend.create([[p.name] for p in photos])
    read_sheet(book, aigen)
    book = backend.reopen()
    read_sheet(book, LocalEngine())
    book = backend.reopen()
    paid = len(aigen_server.calls)

    result = read_sheet(book, aigen)
    assert len(aigen_server.calls) == paid == 2 and result.from_cache == 2
    got = backend.rows()
    assert [got[1][1], got[2][1]] == [3245.01, 3245.01]  # AIGEN's readings shown again
    cache = ReadingCache(backend.reopen().hidden_sheet(CACHE_SHEET))
    assert {e.engine for e in cache.entries() if e.digest == file_digest(photos[0])} == {AigenEngine.name, LocalEngine.name}
