"""The readings cache on a hidden sheet of a real workbook file, and its crash journal."""

from __future__ import annotations

import threading
from pathlib import Path

import openpyxl
import pytest

from xlwings_meter.reading import NO_READING_MESSAGE, Reading, ReadingStatus
from xlwings_meter.workbook.cache import CACHE_SHEET, HEADERS, CacheEntry, ReadingCache
from xlwings_meter.workbook.files import FileBook
from xlwings_meter.workbook.journal import Journal
from xlwings_meter.workbook.sheet import Cell, SheetIO

DIGEST_A = "a" * 64
DIGEST_B = "b" * 64
BOX = ((0.1, 0.2), (0.15, 0.2), (0.15, 0.3), (0.1, 0.3))


def _entry(digest: str, value: str = "00935.781", path: str = "/photos/m1.jpg") -> CacheEntry:
    reading = Reading(ReadingStatus.READ, value=value, confidence=0.93, angle=-2.5, boxes=(BOX,))
    return CacheEntry(digest, path, reading, "2026-11-24T10:00:00Z", "aigen-v2")


@pytest.fixture
def book_path(tmp_path: Path) -> Path:
    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Photos"
    wb.save(path)
    return path


def _reopen(path: Path) -> ReadingCache:
    return ReadingCache(FileBook(path).hidden_sheet(CACHE_SHEET))


def test_entries_survive_a_save_exactly_and_the_sheet_is_hidden(book_path: Path) -> None:
    book = FileBook(book_path)
    cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
    cache.record(_entry(DIGEST_A))
    cache.record(CacheEntry(DIGEST_B, "/p/b.jpg", Reading.failure(ReadingStatus.NO_READING, "x"), "t", "aigen-v2"))
    cache.flush()
    book.save()

    wb = openpyxl.load_workbook(book_path)
    sheet = wb[CACHE_SHEET]
    assert sheet.sheet_state == "hidden"
    assert [c.value for c in sheet[1]] == list(HEADERS)
    assert sheet["C2"].value == "00935.781" and sheet["C2"].data_type == "s"  # text, zeros kept

    again = _reopen(book_path)
    a = again.get(DIGEST_A)
    assert a is not None and a.reading == _entry(DIGEST_A).reading
    assert a.reading.number == 935.781 and a.reading.boxes == (BOX,)
    assert (a.path, a.read_at, a.engine) == ("/photos/m1.jpg", "2026-11-24T10:00:00Z", "aigen-v2")
    b = again.get(DIGEST_B)
    assert b is not None and b.reading.status is ReadingStatus.NO_READING
    assert b.reading.message == NO_READING_MESSAGE


def test_failures_are_not_cached_so_they_are_tried_again(book_path: Path) -> None:
    book = FileBook(book_path)
    cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
    for status in (ReadingStatus.FAILED, ReadingStatus.REJECTED, ReadingStatus.NOT_AN_IMAGE):
        cache.record(CacheEntry(DIGEST_A, "/p", Reading.failure(status, "no"), "t", "e"))
    cache.flush()
    assert cache.get(DIGEST_A) is None
    book.save()
    assert len(_reopen(book_path)) == 0


def test_deleting_a_row_of_the_sheet_forgets_that_photo(book_path: Path) -> None:
    book = FileBook(book_path)
    cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
    cache.record(_entry(DIGEST_A))
    cache.record(_entry(DIGEST_B))
    cache.flush()
    book.save()

    wb = openpyxl.load_workbook(book_path)
    wb[CACHE_SHEET].delete_rows(2)
    wb.save(book_path)
    again = _reopen(book_path)
    assert again.get(DIGEST_A) is None and again.get(DIGEST_B) is not None


def test_rows_a_person_mangled_are_ignored_not_fatal(book_path: Path) -> None:
    book = FileBook(book_path)
    sheet = book.hidden_sheet(CACHE_SHEET)
    sheet.write_block(1, 1, [list(HEADERS),
                             ["not a hash", "/p", "1", 1, 0.9, 0, "[]", "read", "t", "e"],
                             [DIGEST_A, "/p", "12a", None, 0.9, 0, "[]", "read", "t", "e"],
                             [DIGEST_B, "/p", "17", 17, "high", 0, "[]", "read", "t", "e"],
                             ["c" * 64, "/p", "17", 17, 0.9, 0, "{broken", "read", "t", "e"],
                             ["d" * 64, "/p", "42", 42, 0.9, 0, "[]", "read", "t", "e"]])
    cache = ReadingCache(sheet)
    assert len(cache) == 1 and cache.get("d" * 64) is not None


def test_a_new_path_for_a_known_photo_is_written_in_its_row(book_path: Path) -> None:
    book = FileBook(book_path)
    cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
    cache.record(_entry(DIGEST_A))
    cache.flush()
    cache.seen_at(DIGEST_A, "/elsewhere/renamed.jpg")
    cache.flush()
    book.save()
    wb = openpyxl.load_workbook(book_path)
    assert [wb[CACHE_SHEET]["B2"].value, wb[CACHE_SHEET].max_row] == ["/elsewhere/renamed.jpg", 2]


def test_the_journal_keeps_entries_a_crash_would_lose_and_skips_a_torn_line(tmp_path: Path) -> None:
    journal = Journal.beside(tmp_path / "book.xlsx")
    journal.append(_entry(DIGEST_A, path="/photos/Zähler 1.jpg"))
    journal.append(_entry(DIGEST_B))
    with open(journal.path, "a", encoding="utf-8") as fh:
        fh.write('{"Photo SHA-256": "ccc')  # the process died mid-line
    entries = journal.entries()
    assert [e.digest for e in entries] == [DIGEST_A, DIGEST_B]
    assert entries[0].path == "/photos/Zähler 1.jpg" and entries[0].reading.value == "00935.781"
    journal.remove()
    assert journal.entries() == [] and not journal.path.exists()


def test_the_journal_is_keyed_by_field_names_so_a_renamed_header_costs_no_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from xlwings_meter.workbook import cache as cache_module

    journal = Journal.beside(tmp_path / "book.xlsx")
    journal.append(_entry(DIGEST_A))
    line = json.loads(journal.path.read_text(encoding="utf-8"))
    assert line["v"] == 1 and line["digest"] == DIGEST_A and line["value"] == "00935.781"
    monkeypatch.setattr(cache_module, "HEADERS", tuple(h.upper() for h in cache_module.HEADERS))
    assert [e.reading.value for e in journal.entries()] == ["00935.781"]


def test_a_journal_from_before_the_versioned_format_is_still_read(tmp_path: Path) -> None:
    journal = Journal.beside(tmp_path / "book.xlsx")
    journal.path.write_text(
        '{"Photo SHA-256": "%s", "Path last seen": "/p/m.jpg", "Value as read": "0042.5", "Number": 42.5, '
        '"Confidence": 0.9, "Angle": 1.0, "Digit boxes": "[]", "Status": "read", '
        '"Read at (UTC)": "2026-11-01T10:00:00Z", "Engine": "aigen-v2"}\n'.replace("%s", DIGEST_A), encoding="utf-8")
    (entry,) = journal.entries()
    assert (entry.digest, entry.path, entry.reading.value, entry.engine) == (DIGEST_A, "/p/m.jpg", "0042.5", "aigen-v2")


def test_merge_adds_only_what_the_sheet_lacks(book_path: Path) -> None:
    book = FileBook(book_path)
    cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
    cache.record(_entry(DIGEST_A, value="1.5"))
    assert cache.merge([_entry(DIGEST_A, value="9.9"), _entry(DIGEST_B)]) == 1
    assert cache.get(DIGEST_A).reading.value == "1.5"  # type: ignore[union-attr]


def test_sync_takes_in_rows_another_process_wrote_and_forgets_rows_a_person_deleted(book_path: Path) -> None:
    book = FileBook(book_path)
    mine = ReadingCache(book.hidden_sheet(CACHE_SHEET))
    assert mine.sync() is False  # nothing changed: one look at the sheet, no reload

    other = ReadingCache(book.hidden_sheet(CACHE_SHEET))  # e.g. the button, in another Python
    other.record(_entry(DIGEST_A))
    other.record(_entry(DIGEST_B))
    other.flush()
    assert mine.get(DIGEST_A) is None
    assert mine.sync() is True and mine.get(DIGEST_A) is not None

    mine.record(_entry("c" * 64))  # not flushed yet: a reload must not lose it
    sheet = book.hidden_sheet(CACHE_SHEET)  # a person deletes photo A's row: the rest move up
    last_row, _ = sheet.extent()
    below = sheet.read_block(3, 1, last_row, len(HEADERS))
    sheet.write_block(2, 1, below + [[None] * len(HEADERS)])
    assert mine.sync() is True
    assert mine.get(DIGEST_A) is None and mine.get(DIGEST_B) is not None and mine.get("c" * 64) is not None
    mine.flush()
    assert mine.sync() is False  # its own rows do not count as a change


def test_sync_notices_a_deleted_row_and_an_appended_one_though_the_row_count_is_the_same(book_path: Path) -> None:
    book = FileBook(book_path)
    mine = ReadingCache(book.hidden_sheet(CACHE_SHEET))
    mine.record(_entry(DIGEST_A))
    mine.flush()
    assert mine.sync() is False

    sheet = book.hidden_sheet(CACHE_SHEET)
    sheet.write_block(2, 1, [[None] * len(HEADERS)])  # a person deletes A's row (the last) to have it read again...
    sheet.write_block(2, 1, [_entry(DIGEST_B).to_row()])  # ...and the button appends B meanwhile
    assert mine.sync() is True
    assert mine.get(DIGEST_A) is None and mine.get(DIGEST_B) is not None


def test_sync_does_not_wait_for_a_flush_stuck_behind_a_busy_excel_and_keeps_its_entry(book_path: Path) -> None:
    import time

    busy = _BusyExcelSheet(FileBook(book_path).hidden_sheet(CACHE_SHEET))
    cache = ReadingCache(busy)  # type: ignore[arg-type]
    cache.record(_entry(DIGEST_A))
    flush = threading.Thread(target=cache.flush)
    flush.start()
    assert busy.writing.wait(5)
    started = time.monotonic()
    cache.sync()  # METERREAD about to pay: it must not hang on the stuck write
    assert time.monotonic() - started < 1
    assert cache.get(DIGEST_A) is not None
    busy.release.set()
    flush.join(5)
    assert cache.get(DIGEST_A) is not None and cache.pending == 0


def test_a_sync_skipped_during_a_flush_still_learns_what_the_sheet_has(book_path: Path) -> None:
    sheet = FileBook(book_path).hidden_sheet(CACHE_SHEET)
    busy = _BusyExcelSheet(sheet, header_passes=True)
    cache = ReadingCache(busy)  # type: ignore[arg-type]
    cache.record(_entry(DIGEST_A))
    flush = threading.Thread(target=cache.flush)
    flush.start()
    assert busy.writing.wait(5)
    sheet.write_block(2, 1, [_entry(DIGEST_B).to_row()])  # the button, in another Python, wrote B
    assert cache.sync() is False  # skipped, but not blind:
    assert cache.get(DIGEST_B) is not None and cache.get(DIGEST_A) is not None
    busy.release.set()
    flush.join(5)


def test_a_damaged_saved_cache_sheet_means_nothing_is_known_saved_not_a_crash(
    tmp_path: Path, book_path: Path
) -> None:
    import zipfile

    from xlwings_meter.workbook.journal import entries_saved_in

    good = book_path
    book = FileBook(good)
    cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
    cache.record(_entry(DIGEST_A))
    cache.flush()
    book.save()
    assert [e.digest for e in entries_saved_in(good)] == [DIGEST_A]
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, data[: len(data) // 2] if item.filename.endswith("sheet2.xml") else data)
    assert entries_saved_in(bad) == []


class _BusyExcelSheet:
    """A cache sheet whose writes wait until ``release`` is set, as an Excel busy calculating
    keeps refusing them; ``writing`` is set when a write starts waiting."""

    def __init__(self, sheet: SheetIO, header_passes: bool = False) -> None:
        self._sheet = sheet
        self._header_passes = header_passes
        self.name = sheet.name
        self.writing, self.release = threading.Event(), threading.Event()

    def extent(self) -> tuple[int, int]:
        return self._sheet.extent()

    def read_block(self, *args: int) -> list[list[Cell]]:
        return self._sheet.read_block(*args)

    def write_block(self, top: int, *args: object, **kwargs: object) -> None:
        if not (self._header_passes and top == 1):
            self.writing.set()
            self.release.wait(5)
        self._sheet.write_block(top, *args, **kwargs)  # type: ignore[arg-type]
