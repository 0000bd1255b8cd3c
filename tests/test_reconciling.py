"""Previous readings, consumption, flags, highlight, corrections and the summary, in a workbook
file and in (fake) Excel: what an accountant sees after Read meters."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import openpyxl

from tests.fake_aigen import FakeAigen
from tests.photos import make_photo
from xlwings_meter.engines.aigen.client import AigenEngine
from xlwings_meter.engines.aigen.config import ClientSettings
from xlwings_meter.photos import file_digest
from xlwings_meter.reading import NO_READING_MESSAGE, Reading, ReadingStatus
from xlwings_meter.reconcile import RULE_MARK, Limits
from xlwings_meter.workbook.cache import CACHE_SHEET, CacheEntry, ReadingCache
from xlwings_meter.workbook.job import read_sheet
from xlwings_meter.workbook.reconciling import SUMMARY_TITLE

from .backends import SHEET, ExcelBackend, FileBackend

HEADER = ("Image", None, None, None, None, None, None, "Previous", "Corrected")
#: (value read, confidence, previous): a plain row, the meter going backwards, an unsure
#: reading, no reading, a leading drum lost.
ROWS = [("00935.781", 0.95, 900.5), ("00890.000", 0.97, 900), ("01000.000", 0.55, 990),
        (None, None, 500), ("00035.100", 0.96, 1234.5)]


def _book(backend: FileBackend | ExcelBackend, folder: Path) -> None:
    """Five photos, their readings already in the cache (nothing is sent: engine None)."""
    rows = []
    entries = []
    for i, (value, confidence, previous) in enumerate(ROWS):
        photo = make_photo(folder / f"m{i}.jpg", seed=i, size=(64, 48))
        rows.append([photo.name, None, None, None, None, None, None, previous])
        reading = (Reading(ReadingStatus.READ, value=value, confidence=confidence, angle=0.5) if value
                   else Reading.failure(ReadingStatus.NO_READING, NO_READING_MESSAGE))
        entries.append(CacheEntry(file_digest(photo), str(photo), reading, "2026-11-01T10:00:00Z", "aigen-v2"))
    book = backend.create(rows, header=HEADER)
    cache = ReadingCache(book.hidden_sheet(CACHE_SHEET))
    cache.merge(entries)
    cache.flush()
    backend.reopen()


def _rules(backend: FileBackend | ExcelBackend) -> list[str]:
    """The conditional-formatting formulas of the photo sheet, as Excel would list them."""
    if isinstance(backend, ExcelBackend):
        state = backend.excel.sheet_state(backend.fullname, SHEET)
        assert all(r.fill == 255 + 199 * 256 + 206 * 65536 and not r.stop_if_true for r in state.rules)
        return [r.formula.lstrip("=") for r in state.rules]
    backend.reopen()
    ws = openpyxl.load_workbook(backend.path)[SHEET]
    return [f for cf in ws.conditional_formatting for rule in cf.rules for f in rule.formula]


def _summary(rows: list[list[Any]]) -> dict[Any, Any]:
    (r, c), = [(r, c) for r, row in enumerate(rows) for c, v in enumerate(row) if v == SUMMARY_TITLE]
    found = {}
    for row in rows[r + 1:]:
        if c >= len(row) or row[c] is None:
            break
        found[row[c]] = row[c + 1]
    return found


def test_consumption_and_each_flag_follow_status_and_flagged_rows_are_highlighted(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _book(backend, tmp_path)
    result = read_sheet(backend.book, None)
    rows = backend.rows()
    assert rows[0][:9] == ["Image", "Value", "Confidence", "Angle", "Status", "Consumption", "Check",
                           "Previous", "Corrected"]
    assert [round(r[5], 3) if r[5] is not None else None for r in rows[1:6]] == [35.281, -10, 10, None, -1199.4]
    assert [r[6] for r in rows[1:6]] == [
        None, "negative consumption (-10)", "confidence 55% under 80%", "no reading",
        "negative consumption (-1199.4); 2 digits, the previous reading has 4 (a lost or extra drum?)"]
    assert [r[7] for r in rows[1:6]] == [900.5, 900, 990, 500, 1234.5]  # the person's column, as typed
    rules = _rules(backend)
    assert len(rules) == 4 and all(RULE_MARK in f for f in rules)  # no limit: too few rows for a median
    assert any(f.startswith("AND(ISNUMBER($H2),ISNUMBER(IF(ISNUMBER($I2),$I2,$B2)),"
                            "IF(ISNUMBER($I2),$I2,$B2)-$H2<0)") for f in rules)
    assert result.summary is not None and result.summary.flagged == 4
    assert _summary(backend.rows()) == {
        "Rows": 5, "Read": 4, "No reading": 1, "Total consumption": -1164.119, "Flagged rows": 4,
        "Flagged: negative consumption": 2, "Flagged: low confidence": 1,
        "Flagged: digit count unlike the previous reading": 1, "Flagged: no reading": 1,
        "Photos paid for (this run)": 0, "Answered from the cache": 5}

    again = read_sheet(backend.reopen(), None, limits=Limits(max_consumption=20))
    assert again.summary is not None and again.summary.flags["consumption above the limit"] == 1  # 35.281
    rows = backend.rows()
    assert sum(v == SUMMARY_TITLE for row in rows for v in row) == 1  # updated, never duplicated
    assert len(_rules(backend)) == 5  # the fixed limit adds its rule; the old ones are replaced


def test_a_correction_wins_is_never_overwritten_and_is_kept_on_the_cache_sheet(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _book(backend, tmp_path)
    read_sheet(backend.book, None)
    rows = backend.rows()
    book = backend.reopen()
    book.sheet(SHEET).write_block(6, 9, [[1235.1]])  # a person reads the photo of row 6: 1235.1
    book.sheet(SHEET).write_block(5, 9, [[501.25]])  # and the one the machine could not read
    read_sheet(book, None)
    rows = backend.rows()
    assert [r[8] for r in rows[1:6]] == [None, None, None, 501.25, 1235.1]  # as typed
    assert round(rows[5][5], 3) == 0.6 and rows[5][6] is None  # consumption from the correction
    assert round(rows[4][5], 3) == 1.25 and rows[4][6] is None and rows[4][1] is None
    entries = {e.path.rsplit("/", 1)[-1]: e for e in ReadingCache(backend.book.hidden_sheet(CACHE_SHEET)).entries()}
    user = "Ann Accountant" if isinstance(backend, ExcelBackend) else getpass.getuser()
    fixed = entries["m4.jpg"]
    assert (fixed.reading.value, fixed.corrected, fixed.corrected_by) == ("00035.100", "1235.1", user)
    assert fixed.corrected_at.startswith("20") and entries["m3.jpg"].corrected == "501.25"
    assert backend.rows(CACHE_SHEET)[0][10:13] == ["Corrected to", "Corrected by", "Corrected at (UTC)"]
    summary = _summary(rows)
    assert summary["Corrected by hand"] == 2 and "Flagged: no reading" not in summary


def test_refresh_never_discards_a_correction(
        backend, tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings) -> None:  # type: ignore[no-untyped-def]
    make_photo(tmp_path / "m.jpg")
    backend.create([["m.jpg", None, None, None, None, None, None, 3000]], header=HEADER)
    engine = AigenEngine(fast_settings)
    read_sheet(backend.book, engine)
    book = backend.reopen()
    book.sheet(SHEET).write_block(2, 9, [[3246]])
    read_sheet(book, engine)
    read_sheet(backend.reopen(), engine, refresh=True)
    assert len(aigen_server.calls) == 2  # the refresh did read the photo again
    row = backend.rows()[1]
    assert (row[1], row[5], row[8]) == (3245.01, 246, 3246)
    (entry,) = ReadingCache(backend.reopen().hidden_sheet(CACHE_SHEET)).entries()
    assert entry.corrected == "3246" and entry.read_at > "2026"


def test_a_persons_note_in_check_and_cells_under_the_summary_are_never_overwritten(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _book(backend, tmp_path)
    read_sheet(backend.book, None)
    rows = backend.rows()
    (r, c), = [(r, c) for r, row in enumerate(rows) for c, v in enumerate(row) if v == SUMMARY_TITLE]
    height = len(_summary(rows)) + 1
    book = backend.reopen()
    book.sheet(SHEET).write_block(3, 7, [["called the tenant: meter replaced"]])
    book.sheet(SHEET).write_block(r + 1 + height, c + 1, [["Ann's total"]])  # just below the block
    book.sheet(SHEET).write_block(2, 8, [[None]])  # row 2 loses its previous reading: a row less
    result = read_sheet(book, None)
    rows = backend.rows()
    assert rows[2][6] == "called the tenant: meter replaced" and 3 in result.kept
    assert rows[r + height][c] == "Ann's total" and not result.summary_blocked
    backend.reopen().sheet(SHEET).write_block(3, 7, [[None]])
    result = read_sheet(backend.book, None, limits=Limits(max_consumption=5))  # one flag kind more
    assert result.summary_blocked and backend.rows()[r + height][c] == "Ann's total"
