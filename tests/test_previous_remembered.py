"""A sheet reconciled with --previous (a column not headed Previous) stays reconciled: a plain
run, or the Excel button, updates Consumption and Check from the same column; what it cannot
update (the column is gone, a Review sheet under --no-review) it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.workbook.job import read_sheet

from .backends import SHEET, ExcelBackend, FileBackend, cached_bill

HEADER = ("Image", None, None, None, None, None, None, "Last")


def _book(backend: FileBackend | ExcelBackend, folder: Path) -> None:
    reading = Reading(ReadingStatus.READ, value="01010.000", confidence=0.95, angle=0.5)
    cached_bill(backend, folder, HEADER, [(1000, reading)] * 3)


def test_a_plain_run_after_previous_named_reconciles_from_the_same_column_and_says_so(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _book(backend, tmp_path)
    read_sheet(backend.book, None, previous="Last")
    assert [r[5] for r in backend.rows()[1:4]] == [10, 10, 10]
    book = backend.reopen()
    book.sheet(SHEET).write_block(2, 8, [[1020]])  # a person fixes last month's reading
    result = read_sheet(book, None)  # the button: no --previous
    rows = backend.rows()
    assert [r[5] for r in rows[1:4]] == [-10, 10, 10]
    assert rows[1][6] == "negative consumption (-10)"
    assert result.summary is not None and result.summary.flagged == 1
    assert result.remarks == ["consumption from column 'Last', as in the last run (--previous)"]

    result = read_sheet(backend.reopen(), None, review=False)
    assert any("'Review' is from an earlier run: not updated (--no-review)" in r for r in result.remarks)

    book = backend.reopen()
    book.sheet(SHEET).write_block(1, 8, [["March"]])  # the column renamed: nothing to reconcile with
    result = read_sheet(book, None)
    assert any(r.startswith("Consumption and Check are from an earlier run, not updated") for r in result.remarks)


@pytest.mark.parametrize("heading", [2025, None], ids=["a year", "no header"])
def test_a_previous_column_headed_by_a_number_or_nothing_is_found_again(
        backend, tmp_path: Path, heading: int | None) -> None:  # type: ignore[no-untyped-def]
    _book(backend, tmp_path)
    backend.book.sheet(SHEET).write_block(1, 8, [[heading]])
    read_sheet(backend.book, None, previous="H")  # named by its letter
    book = backend.reopen()
    book.sheet(SHEET).write_block(2, 8, [[1020]])  # a person fixes last month's reading
    result = read_sheet(book, None)  # the button: no --previous
    assert [r[5] for r in backend.rows()[1:4]] == [-10, 10, 10]
    name = "2025" if heading else "H"
    assert result.remarks == [f"consumption from column {name!r}, as in the last run (--previous)"]
