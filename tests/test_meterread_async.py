"""=METERREAD in (fake) Excel through xlwings' asynchronous mechanism: Excel never waits for a photo.

Each test fills a column with METERREAD formulas and lets the fake UDF server calculate them as
Excel and xlwings would (tests/xlwings_udf_server.py), against the fake service at 0.3 s a
reply. The cells see what a user sees: ``#N/A waiting...`` at once, then the readings.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.fake_aigen import FakeAigen, Reply
from tests.photos import make_photo
from xlwings_meter.excel import inflight
from xlwings_meter.excel import session as session_module
from xlwings_meter.workbook.batch import DEFAULT_CONCURRENCY
from xlwings_meter.workbook.cache import CACHE_SHEET
from xlwings_meter.workbook.journal import Journal

from .backends import SHEET, ExcelBackend
from .xlwings_udf_server import PENDING, Formula, UdfServer

LATENCY = 0.3
N = 50
REFUSED = "Not read: the batch stopped (The AIGEN service refused the API key (HTTP 401)"


@pytest.fixture
def excel(tmp_path: Path, aigen_env: FakeAigen, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(session_module, "AFTER_CALCULATION_POLL", 0.01)
    monkeypatch.setattr(inflight, "STATUS_EVERY", 0.0)  # every change reaches the status bar
    monkeypatch.setattr(inflight, "WATCH_POLL", 0.05)
    backend = ExcelBackend(tmp_path, monkeypatch)
    yield backend
    backend.udf.close()


def column_of_meterreads(backend: ExcelBackend, photos: list[str]) -> list[Formula]:
    """B2:B51 = METERREAD(A2) ... beside a column of photo names, as a user fills it down."""
    backend.create([[p] for p in photos])
    return [Formula(backend.fullname, SHEET, f"$B${row}", "METERREAD", (p, "value"))
            for row, p in enumerate(photos, start=2)]


def distinct_photos(folder: Path, n: int = N) -> list[str]:
    return [make_photo(folder / f"m{i:02d}.jpg", size=(160, 120), seed=i).name for i in range(n)]


def eventually(condition, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def shown(backend: ExcelBackend, cells: list[Formula]) -> list[object]:
    return [backend.udf.shown[c] for c in cells]


@pytest.mark.timing
@pytest.mark.slow  # 50 photos at 0.3 s
def test_fifty_photos_the_calculation_returns_at_once_and_the_cells_fill_in_concurrently(
    excel: ExcelBackend, tmp_path: Path, aigen_env: FakeAigen
) -> None:
    aigen_env.default = Reply.success("17.250").delayed(LATENCY)
    cells = column_of_meterreads(excel, distinct_photos(tmp_path))

    start = time.monotonic()
    frozen = excel.udf.calculate(cells)
    session = session_module.SESSIONS._sessions[excel.fullname]
    # The call Excel made has returned and not one reading has arrived yet: Excel is usable.
    assert shown(excel, cells) == [PENDING] * N
    assert len(session.cache) == 0 and frozen < LATENCY
    assert excel.udf.settle(30.0)
    elapsed = time.monotonic() - start

    assert shown(excel, cells) == [17.25] * N
    assert len(aigen_env.calls) == N
    # The button's bound, not one at a time; xlwings' own worker threads (CPUs + 4) bound it too.
    assert aigen_env.max_in_flight == min(DEFAULT_CONCURRENCY, excel.udf.com_executor._max_workers)
    sequential = N * LATENCY
    assert elapsed < 0.6 * sequential, f"{elapsed:.1f} s for {N} photos; sequential would be {sequential:.0f} s"
    # Progress in the status bar while they came in, then the status bar back to Excel.
    history = excel.excel.status_bar_history
    assert any(isinstance(h, str) and h.startswith("Reading meters (METERREAD):") for h in history)
    assert eventually(lambda: history[-1] is False)
    # The readings reach the cache sheet once Excel is done calculating.
    excel.after_calculation()
    assert len(excel.rows(CACHE_SHEET)) == N + 1


def test_while_photos_are_read_the_status_bar_counts_them(
    excel: ExcelBackend, tmp_path: Path, aigen_env: FakeAigen
) -> None:
    aigen_env.default = Reply.success().delayed(LATENCY)
    cells = column_of_meterreads(excel, distinct_photos(tmp_path, 8))
    excel.udf.calculate(cells)
    assert excel.udf.settle(30.0)
    texts = [h for h in excel.excel.status_bar_history if isinstance(h, str)]
    assert texts and all(re.fullmatch(r"Reading meters \(METERREAD\): \d+ of \d+ photos", h) for h in texts)
    counts = [tuple(int(n) for n in re.findall(r"\d+", h)) for h in texts]
    # Cells arrive as xlwings runs them, so the total grows to 8 while the count goes up.
    assert [d for d, _ in counts] == sorted(d for d, _ in counts) and counts[0][0] < 8
    assert [t for _, t in counts] == sorted(t for _, t in counts) and counts[-1][1] == 8
    assert eventually(lambda: excel.excel.status_bar_history[-1] is False)


def test_fifty_cells_over_one_photo_send_one_request(
    excel: ExcelBackend, tmp_path: Path, aigen_env: FakeAigen
) -> None:
    aigen_env.default = Reply.success("17.250").delayed(LATENCY)
    make_photo(tmp_path / "m.jpg")
    cells = column_of_meterreads(excel, ["m.jpg"] * N)
    excel.udf.calculate(cells)
    assert excel.udf.settle(30.0)
    assert shown(excel, cells) == [17.25] * N
    assert len(aigen_env.calls) == 1


def test_a_recalculation_while_requests_are_in_flight_joins_them(
    excel: ExcelBackend, tmp_path: Path, aigen_env: FakeAigen
) -> None:
    aigen_env.default = Reply.success("17.250").delayed(LATENCY)
    cells = column_of_meterreads(excel, distinct_photos(tmp_path, 12))
    excel.udf.calculate(cells)
    excel.udf.calculate(cells)  # F9 while the first photos are on their way
    excel.udf.calculate(cells)  # and again
    assert excel.udf.settle(30.0)
    assert shown(excel, cells) == [17.25] * 12
    assert len(aigen_env.calls) == 12
    assert excel.udf.async_runs >= 24  # xlwings did run the function again for those cells


def test_a_refused_key_in_the_middle_stops_every_pending_cell_and_each_says_why(
    excel: ExcelBackend, tmp_path: Path, aigen_env: FakeAigen
) -> None:
    aigen_env.queue(*[Reply.success("17.250").delayed(LATENCY)] * 8)
    aigen_env.default = Reply.error(401).delayed(LATENCY)
    cells = column_of_meterreads(excel, distinct_photos(tmp_path))
    excel.udf.calculate(cells)
    assert excel.udf.settle(30.0)

    texts = shown(excel, cells)
    read = [t for t in texts if t == 17.25]
    refused = [t for t in texts if isinstance(t, str) and t.startswith(REFUSED)]
    assert len(read) == 8 and len(read) + len(refused) == N
    assert len(aigen_env.calls) <= 8 + DEFAULT_CONCURRENCY  # what was on the wire, nothing after
    assert aigen_env.valid_key not in "".join(refused)
    # A recalculation sends nothing either, until the user acts (Settings, the button).
    excel.udf.calculate(cells)
    assert excel.udf.settle(30.0)
    calls = len(aigen_env.calls)
    assert len([t for t in shown(excel, cells) if t == 17.25]) == 8
    assert len(aigen_env.calls) == calls


@pytest.mark.slow  # 50 photos at 0.3 s
def test_closing_the_workbook_cancels_what_was_not_sent_and_keeps_what_was_paid(
    excel: ExcelBackend, tmp_path: Path, aigen_env: FakeAigen
) -> None:
    # xlwings on a big machine runs up to 32 cells at once: most of them wait in the queue.
    excel.udf.close()
    excel.udf = UdfServer(excel.excel, excel.udf.module, workers=32)
    aigen_env.default = Reply.success("17.250").delayed(LATENCY)
    cells = column_of_meterreads(excel, distinct_photos(tmp_path))
    excel.udf.calculate(cells)
    session = session_module.SESSIONS._sessions[excel.fullname]
    assert eventually(lambda: len(aigen_env.calls) >= DEFAULT_CONCURRENCY)
    assert eventually(lambda: session.in_flight.pending > 2 * DEFAULT_CONCURRENCY)
    at_close = len(aigen_env.calls)
    excel.excel.close(excel.fullname)  # without saving: the readings never reach its sheet
    assert excel.udf.settle(30.0)
    time.sleep(3 * LATENCY)  # let anything still queued show itself

    # On the wire when it closed, or sent before the watcher noticed: nothing from the queue.
    assert len(aigen_env.calls) <= at_close + 2 * DEFAULT_CONCURRENCY
    assert excel.fullname not in session_module.SESSIONS  # the session is let go
    paid = [c for c in aigen_env.calls if c.status == 200]
    assert len(Journal.beside(Path(excel.fullname)).entries()) == len(paid)  # none of them lost
    assert not any(v == "Not read" or (isinstance(v, str) and "closed" in v)
                   for v in excel.udf.cache.values())  # xlwings keeps no answer for the closed cells

    excel.excel.open(excel.fullname)  # opened again: what was paid is not paid again
    excel.udf.calculate(cells)
    assert excel.udf.settle(60.0)
    assert shown(excel, cells) == [17.25] * N
    assert len(aigen_env.calls) == N


def test_a_workbook_closed_with_nothing_in_flight_lets_go_of_its_session(
    excel: ExcelBackend, tmp_path: Path, aigen_env: FakeAigen
) -> None:
    make_photo(tmp_path / "m.jpg")
    cells = column_of_meterreads(excel, ["m.jpg"])
    excel.udf.calculate(cells)
    assert excel.udf.settle(10.0) and excel.fullname in session_module.SESSIONS
    excel.excel.close(excel.fullname)
    other = str(tmp_path / "other.xlsm")
    excel.excel.create(other, {SHEET: [["Image"]]})
    session_module.excel_session(excel.excel.book(other))  # another workbook's first use
    assert excel.fullname not in session_module.SESSIONS and other in session_module.SESSIONS


def test_fifty_cells_missing_at_once_look_at_the_cache_sheet_once_not_fifty_times(
    excel: ExcelBackend, tmp_path: Path, aigen_env: FakeAigen
) -> None:
    cells = column_of_meterreads(excel, distinct_photos(tmp_path))
    make_photo(tmp_path / "earlier.jpg", seed=99)
    assert excel.meterread("earlier.jpg") == 3245.01  # read earlier: the cache sheet has a row
    excel.after_calculation()
    excel.excel.calls.clear()
    excel.excel.calculating = True  # Excel stays busy: no cache-sheet write reads it meanwhile
    excel.udf.calculate(cells)
    assert excel.udf.settle(30.0)
    assert shown(excel, cells) == [3245.01] * N
    # Before paying, a cell looks for its photo on the sheet (another Python may have read it):
    # one look per second at most, not one per cell (each look reads the whole sheet).
    assert excel.excel.calls["range.value"] <= 5
