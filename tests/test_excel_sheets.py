"""The sheet interface on both backends (a file, and fake Excel), and the cost of a batch in Excel calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_aigen import FakeAigen, Reply
from tests.photos import make_photo
from xlwings_meter.engines.aigen.client import AigenEngine
from xlwings_meter.engines.aigen.config import ClientSettings
from xlwings_meter.errors import ForeignDataError
from xlwings_meter.excel.book import (
    MAX_ADDRESS,
    ExcelBook,
    ExcelBusyError,
    format_areas,
)
from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.workbook.cache import CACHE_SHEET, CacheEntry, ReadingCache
from xlwings_meter.workbook.job import read_sheet

from .backends import SHEET, ExcelBackend


def _photos(folder: Path, n: int) -> list[list[str]]:
    return [[make_photo(folder / f"m{i}.jpg", seed=i, size=(64, 48)).name] for i in range(n)]


def test_the_job_fills_the_row_keeps_the_users_columns_and_pays_once(
    backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings
) -> None:
    make_photo(tmp_path / "m.jpg")
    backend.create([["m.jpg", None, None, None, None, "flat 4B"]],
                   header=("Image", None, None, None, None, "Note"))
    engine = AigenEngine(fast_settings)
    result = read_sheet(backend.book, engine)
    assert result.sent == 1
    assert backend.rows()[:2] == [["Image", "Value", "Confidence", "Angle", "Status", "Note"],
                                  ["m.jpg", 3245.01, 0.7603056856564113, 83.69637298583984, None, "flat 4B"]]
    backend.reopen()
    assert read_sheet(backend.book, engine).from_cache == 1
    assert len(aigen_server.calls) == 1


def test_foreign_data_is_refused_before_anything_is_sent(
    backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings
) -> None:
    make_photo(tmp_path / "m.jpg")
    backend.create([["m.jpg", "=C2*2"]], header=("Image", "Value"))
    with pytest.raises(ForeignDataError, match="B2 holds '=C2\\*2'"):
        read_sheet(backend.book, AigenEngine(fast_settings))
    assert aigen_server.calls == [] and CACHE_SHEET not in backend.book.sheet_names()


def test_text_stays_text_and_zeros_stay(backend, tmp_path: Path) -> None:
    book = backend.create([])
    sheet = book.hidden_sheet(CACHE_SHEET)
    cache = ReadingCache(sheet)
    reading = Reading(ReadingStatus.READ, value="00935.781", confidence=0.9, angle=0.0)
    cache.record(CacheEntry("a" * 64, "=not a formula.jpg", reading, "t", "aigen-v2"))
    cache.flush()
    again = ReadingCache(backend.reopen().hidden_sheet(CACHE_SHEET)).get("a" * 64)
    assert again is not None and again.reading.value == "00935.781" and again.path == "=not a formula.jpg"


def test_selected_rows_only_are_read_and_written(
    backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings
) -> None:
    backend.create(_photos(tmp_path, 5))
    read_sheet(backend.book, AigenEngine(fast_settings), rows=(3, 4))
    values = [row[1] for row in backend.rows()[1:]]
    assert values == [None, 3245.01, 3245.01, None, None] and len(aigen_server.calls) == 2


def test_a_batch_costs_the_same_excel_calls_for_200_rows_as_for_5(
    tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    costs = []
    for n in (5, 200):
        folder = tmp_path / str(n)
        folder.mkdir()
        excel = ExcelBackend(folder, monkeypatch)
        excel.create(_photos(folder, n))
        book = excel.book
        before = excel.excel.range_calls
        result = read_sheet(book, AigenEngine(fast_settings), concurrency=8)
        assert result.sent == n and all(r.status is ReadingStatus.READ for r in result.readings)
        costs.append(excel.excel.range_calls - before)
        assert len(excel.rows(CACHE_SHEET)) == n + 1
    assert costs[0] == costs[1], costs


def test_a_write_refused_while_excel_calculates_is_kept_for_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    excel = ExcelBackend(tmp_path, monkeypatch)
    book = excel.create([])
    cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
    cache.record(CacheEntry("b" * 64, "/p.jpg", Reading(ReadingStatus.READ, "12.5", 0.9, 0.0), "t", "e"))
    excel.excel.calculating = True
    with pytest.raises(ExcelBusyError):
        cache.flush()
    assert cache.pending == 1
    excel.excel.calculating = False
    cache.flush()
    assert excel.rows(CACHE_SHEET)[1][:3] == ["b" * 64, "/p.jpg", "12.5"] and cache.pending == 0


def test_a_flush_appends_below_rows_another_writer_added(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    excel = ExcelBackend(tmp_path, monkeypatch)
    book = excel.create([])
    mine, theirs = ReadingCache(book.hidden_sheet(CACHE_SHEET)), ReadingCache(book.hidden_sheet(CACHE_SHEET))
    for cache, digest in ((theirs, "c" * 64), (mine, "d" * 64)):
        cache.record(CacheEntry(digest, "/p.jpg", Reading(ReadingStatus.READ, "1", 0.9, 0.0), "t", "e"))
        cache.flush()
    assert [row[0] for row in excel.rows(CACHE_SHEET)[1:]] == ["c" * 64, "d" * 64]


def test_a_sheet_added_for_the_cache_is_hidden_and_the_users_sheet_stays_in_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    excel = ExcelBackend(tmp_path, monkeypatch)
    book = excel.create([])
    book.hidden_sheet(CACHE_SHEET)
    state = excel.excel.open_books[excel.fullname]
    assert [s.name for s in state.sheets] == [SHEET, CACHE_SHEET] and not state.sheets[1].visible
    assert state.active == 0 and book.sheet().name == SHEET


def test_unsaved_and_online_workbooks_have_no_folder() -> None:
    from xlwings_meter.excel.book import local_path

    assert local_path("Book1") is None
    assert local_path("https://contoso.sharepoint.com/sites/x/readings.xlsm") is None
    assert local_path("/Users/ann/readings.xlsm") == Path("/Users/ann/readings.xlsm")


def test_formats_are_grouped_into_addresses_excel_accepts() -> None:
    # 200 rows whose value formats alternate: the worst case, still a handful of calls.
    formats = [["0.00" if i % 2 else "0.000", "0.0%"] for i in range(200)]
    areas = format_areas(2, 2, formats)
    assert areas["0.0%"] == ["C2:C201"]
    assert all(len(a) <= MAX_ADDRESS for chunks in areas.values() for a in chunks)
    cells = {c for chunk in areas["0.00"] for c in chunk.split(",")}
    assert cells == {f"B{r}" for r in range(3, 202, 2)}
    assert sum(len(chunks) for chunks in areas.values()) <= 12


def test_busy_excel_makes_the_deferred_write_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xlwings_meter.excel.deferred import AfterCalculation

    excel = ExcelBackend(tmp_path, monkeypatch)
    book: ExcelBook = excel.create([])
    written: list[int] = []

    def write() -> None:
        book.in_this_thread().hidden_sheet(CACHE_SHEET).write_block(1, 1, [["x"]])
        written.append(1)

    excel.excel.calculating = True
    # idle() says yes too early (Excel started another calculation): the refusal is retried.
    later = AfterCalculation(write, idle=lambda: True, poll=0.01)
    later.request()
    assert not later.wait(0.1) and written == []
    excel.excel.calculating = False
    assert later.wait(2.0) and written == [1] and later.last_error is None
    assert excel.rows(CACHE_SHEET) == [["x"]]


def test_the_deferred_write_notices_a_closed_workbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xlwings_meter.excel.deferred import AfterCalculation

    excel = ExcelBackend(tmp_path, monkeypatch)
    book: ExcelBook = excel.create([])
    excel.excel.close(excel.fullname)
    later = AfterCalculation(lambda: book.in_this_thread().hidden_sheet(CACHE_SHEET), idle=lambda: True, poll=0.01)
    later.request()
    assert later.wait(2.0) and "no longer open" in str(later.last_error)


def test_requests_during_a_write_get_one_more_write(tmp_path: Path) -> None:
    import threading

    from xlwings_meter.excel.deferred import AfterCalculation

    gate, writes = threading.Event(), []

    def write() -> None:
        writes.append(1)
        if len(writes) == 1:
            gate.wait(2.0)

    later = AfterCalculation(write, idle=lambda: True, poll=0.01)
    later.request()
    while not writes:
        pass
    later.request()  # a reading recorded while the first write is under way
    gate.set()
    assert later.wait(2.0) and len(writes) == 2


def test_a_reading_service_error_mid_batch_is_written_too(
    tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    excel = ExcelBackend(tmp_path, monkeypatch)
    excel.create(_photos(tmp_path, 3))
    aigen_server.queue(Reply.success("1.5"))
    aigen_server.default = Reply.error(401)
    result = read_sheet(excel.book, AigenEngine(fast_settings), concurrency=1)
    assert result.stopped is not None
    rows = excel.rows()
    assert rows[1][1] == 1.5 and "stopped" in rows[2][4] and len(excel.rows(CACHE_SHEET)) == 2
